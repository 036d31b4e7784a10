"""TLS from the ``tls-*`` parameters: the RESP listener, replication and HTTPS.

OpenSSL contexts are built as Redis 7.0's ``tls.c`` builds them
(``tlsConfigure`` / ``createSSLContext``): the same required files, the same
protocol names, verify modes and options, and the same failure texts in the
one-line errors.  Twisted takes them through its old-style context-factory
interface (an object with ``getContext()``), which ``listenSSL`` and
``connectSSL`` wrap in TLS memory-BIO transports.

Public API::

    in_use(cfg) -> bool                  tls-port, tls-replication or http-tls set
    check(cfg)                           the startup check; raises TlsError (one line)
    apply_check(cfg, names)              CONFIG SET: (name, Redis's error) or None
    server_context(cfg, auth=None)       OpenSSL.SSL.Context for accepted connections
    client_context(cfg)                  OpenSSL.SSL.Context for our link to a master
    ServerContextFactory(get_config, auth=None)   getContext() for a listener; rebuilt
                                         when the tls-* parameters change (CONFIG SET)
    ClientContextFactory(cfg)            getContext() for connectSSL
    resp_tls_factory(factory, ctx, clock)   the RESP listener's TLS wrapper (listenTCP it)
    ssl_reason(exc)                      OpenSSL's reason text of an error

Redis verifies a peer against the CA only (no host name check), on both sides;
so do we.  A plain-text client on the TLS port fails the handshake and is
dropped; nothing it sent reaches the command layer.
"""

from __future__ import annotations

from twisted.internet.interfaces import IOpenSSLContextFactory
from twisted.logger import Logger
from zope.interface import implementer

from .config import ConfigError

__all__ = ["TlsError", "in_use", "check", "server_context", "client_context",
           "ServerContextFactory", "ClientContextFactory", "parse_protocols", "TLS_PARAMS",
           "apply_check", "ssl_reason", "resp_tls_factory"]

log = Logger(namespace="redislite.tls")

#: The parameters a context is built from (a change rebuilds the listener's context).
TLS_PARAMS = ("tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-client-cert-file",
              "tls-client-key-file", "tls-client-key-file-pass", "tls-dh-params-file",
              "tls-ca-cert-file", "tls-ca-cert-dir", "tls-protocols", "tls-ciphers",
              "tls-ciphersuites", "tls-prefer-server-ciphers", "tls-session-caching",
              "tls-session-cache-timeout", "tls-auth-clients", "tls-replication")

ERR_PROTOCOLS = ("Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', "
                 "'TLSv1.2' and 'TLSv1.3'.")
ERR_NO_CERT = "No tls-cert-file configured!"
ERR_NO_KEY = "No tls-key-file configured!"
ERR_NO_CA = ("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, "
             "tls-replication or tls-auth-clients are enabled!")

_PROTOCOL_NAMES = ("tlsv1", "tlsv1.1", "tlsv1.2", "tlsv1.3")


class TlsError(ConfigError):
    """TLS cannot be configured: one line, Redis's text where it has one."""


def in_use(cfg) -> bool:
    """Whether the server needs TLS at all (the files are only read then)."""
    return bool(cfg["tls-port"] or cfg["tls-replication"] or cfg.get("http-tls"))


def parse_protocols(text: str) -> frozenset:
    """Redis's ``parseProtocolsConfig``: names, any case; empty means TLSv1.2 and TLSv1.3."""
    if not text:
        return frozenset(("tlsv1.2", "tlsv1.3"))
    out = set()
    for word in text.split(" "):
        if not word:
            continue
        word = word.lower()
        if word not in _PROTOCOL_NAMES:
            raise TlsError("tls-protocols: " + ERR_PROTOCOLS)
        out.add(word)
    if not out:
        raise TlsError("tls-protocols: " + ERR_PROTOCOLS)
    return frozenset(out)


def ssl_reason(exc) -> str:
    """The first reason in OpenSSL's error queue ('no start line', 'key values mismatch')."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    if isinstance(exc, ValueError):
        return str(exc).split(".")[0]     # cryptography's text ('Bad decrypt', ...)
    for entry in getattr(exc, "args", [()])[0] or ():
        if isinstance(entry, tuple) and entry and entry[-1]:
            return str(entry[-1])
    return str(exc) or type(exc).__name__


def _readable(path: str) -> None:
    """OSError with the system's text (OpenSSL only says 'system lib')."""
    with open(path, "rb"):
        pass


def _load_key(path: str, password: str):
    """A PEM private key (PKCS#8, PKCS#1 or SEC1), decrypted with *password*.

    As with OpenSSL's password callback, a passphrase given for a key that is
    not encrypted is ignored, and a missing one for an encrypted key is an
    error (never a prompt on the terminal)."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    with open(path, "rb") as f:
        data = f.read()
    try:
        return load_pem_private_key(data, password.encode() if password else None)
    except TypeError as e:
        if password and "not encrypted" in str(e):
            return load_pem_private_key(data, None)
        raise ValueError(str(e)) from None


def _base_context(cfg, protocols, client: bool):
    """``createSSLContext``: options, certificate chain, key, CA, ciphers."""
    from OpenSSL import SSL

    if client and cfg["tls-client-cert-file"] and cfg["tls-client-key-file"]:
        cert, key = cfg["tls-client-cert-file"], cfg["tls-client-key-file"]
        password = cfg["tls-client-key-file-pass"]
        cert_name, key_name = "tls-client-cert-file", "tls-client-key-file"
    else:
        cert, key, password = cfg["tls-cert-file"], cfg["tls-key-file"], cfg["tls-key-file-pass"]
        cert_name, key_name = "tls-cert-file", "tls-key-file"
    ctx = SSL.Context(SSL.TLS_METHOD)
    opts = SSL.OP_NO_SSLv2 | SSL.OP_NO_SSLv3 | SSL.OP_DONT_INSERT_EMPTY_FRAGMENTS | SSL.OP_NO_COMPRESSION
    for name, flag in (("tlsv1", SSL.OP_NO_TLSv1), ("tlsv1.1", SSL.OP_NO_TLSv1_1),
                       ("tlsv1.2", SSL.OP_NO_TLSv1_2), ("tlsv1.3", SSL.OP_NO_TLSv1_3)):
        if name not in protocols:
            opts |= flag
    ctx.set_options(opts)
    ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT)
    try:
        _readable(cert)
        ctx.use_certificate_chain_file(cert.encode())
    except (SSL.Error, OSError) as e:
        raise TlsError("%s: Failed to load certificate: %s: %s" % (cert_name, cert, ssl_reason(e))) from None
    try:
        pkey = _load_key(key, password)
        try:
            ctx.use_privatekey(pkey)
        except TypeError:           # pyOpenSSL before cryptography keys were accepted
            from OpenSSL.crypto import PKey
            ctx.use_privatekey(PKey.from_cryptography_key(pkey))
        ctx.check_privatekey()
    except (SSL.Error, OSError, ValueError) as e:
        raise TlsError("%s: Failed to load private key: %s: %s" % (key_name, key, ssl_reason(e))) from None
    ca_file, ca_dir = cfg["tls-ca-cert-file"], cfg["tls-ca-cert-dir"]
    if ca_file or ca_dir:
        try:
            if ca_file:
                _readable(ca_file)
            ctx.load_verify_locations(ca_file.encode() if ca_file else None,
                                      ca_dir.encode() if ca_dir else None)
        except (SSL.Error, OSError) as e:
            raise TlsError("tls-ca-cert-file: Failed to configure CA certificate(s) file/directory: %s"
                           % ssl_reason(e)) from None
    if cfg["tls-ciphers"]:
        try:
            ctx.set_cipher_list(cfg["tls-ciphers"].encode())
        except SSL.Error:
            raise TlsError("tls-ciphers: Failed to configure ciphers: %s" % cfg["tls-ciphers"]) from None
    if cfg["tls-ciphersuites"]:
        try:
            ctx.set_tls13_ciphersuites(cfg["tls-ciphersuites"].encode())
        except SSL.Error:
            raise TlsError("tls-ciphersuites: Failed to configure ciphersuites: %s"
                           % cfg["tls-ciphersuites"]) from None
    return ctx


def _require(cfg, need_ca: bool):
    if not cfg["tls-cert-file"]:
        raise TlsError("tls-cert-file: " + ERR_NO_CERT)
    if not cfg["tls-key-file"]:
        raise TlsError("tls-key-file: " + ERR_NO_KEY)
    if need_ca and not cfg["tls-ca-cert-file"] and not cfg["tls-ca-cert-dir"]:
        raise TlsError("tls-ca-cert-file: " + ERR_NO_CA)


def server_context(cfg, auth: str | None = None, require_ca: bool = True):
    """The context for accepted connections (Redis's ``tlsConfigure`` server side).

    ``auth`` overrides ``tls-auth-clients`` (the HTTPS listener passes "no").
    ``require_ca=False`` builds without a CA when none is set (every client
    certificate then fails), which is where Redis ends up after CONFIG SET
    tls-auth-clients yes with no CA: fail closed."""
    from OpenSSL import SSL

    auth = cfg["tls-auth-clients"] if auth is None else auth
    _require(cfg, require_ca and (auth != "no" or cfg["tls-replication"]))
    protocols = parse_protocols(cfg["tls-protocols"])
    ctx = _base_context(cfg, protocols, client=False)
    if cfg["tls-session-caching"]:
        ctx.set_session_cache_mode(SSL.SESS_CACHE_SERVER)
        ctx.set_timeout(cfg["tls-session-cache-timeout"])
        ctx.set_session_id(b"redis")
    else:
        ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    opts = SSL.OP_SINGLE_DH_USE | SSL.OP_NO_RENEGOTIATION
    if cfg["tls-prefer-server-ciphers"]:
        opts |= SSL.OP_CIPHER_SERVER_PREFERENCE
    ctx.set_options(opts)
    dh = cfg["tls-dh-params-file"]
    if dh:
        try:
            _readable(dh)
            ctx.load_tmp_dh(dh.encode())
        except (SSL.Error, OSError) as e:
            raise TlsError("tls-dh-params-file: Failed to load %s: %s" % (dh, ssl_reason(e))) from None
    ctx.set_verify(_verify_mode(auth))
    return ctx


def _verify_mode(auth: str) -> int:
    """connCreateAcceptedTLS: the verify mode for tls-auth-clients."""
    from OpenSSL import SSL

    if auth == "no":
        return SSL.VERIFY_NONE
    if auth == "optional":
        return SSL.VERIFY_PEER
    return SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT


def client_context(cfg):
    """The context of our connection to a TLS master: our client (or server)
    certificate, and the master's certificate verified against the CA."""
    _require(cfg, True)
    return _base_context(cfg, parse_protocols(cfg["tls-protocols"]), client=True)


def check(cfg) -> None:
    """The startup check: every context the configuration asks for can be built."""
    if cfg["tls-port"] or cfg["tls-replication"]:
        server_context(cfg)
        if cfg["tls-replication"]:
            client_context(cfg)
    if cfg.get("http-tls"):
        server_context(cfg, auth="no")


#: The parameters whose CONFIG SET Redis applies with applyTlsCfg (or applyTLSPort).
_APPLIED = frozenset(TLS_PARAMS + ("tls-port", "tls-cluster", "tls-session-cache-size")) - {"tls-auth-clients"}
ERR_APPLY = "Unable to update TLS configuration. Check server logs."


def apply_check(cfg, names):
    """CONFIG SET of tls-* parameters: (name, error) when TLS is in use and the new
    settings do not load (Redis answers so and restores the old values), else None."""
    for name in names:
        if name not in _APPLIED:
            continue
        if name == "tls-port" and not cfg["tls-port"]:
            continue
        if cfg["tls-port"] or cfg["tls-replication"] or cfg["tls-cluster"]:
            try:
                server_context(cfg)
                if cfg["tls-replication"]:
                    client_context(cfg)
            except TlsError as e:
                log.warn("Failed applying new configuration. Possibly related to new {name} "
                         "setting. Restoring previous settings. {err}", name=name, err=str(e))
                return name, ERR_APPLY
        return None
    return None


def _key(cfg):
    return tuple(cfg.get_text(name) for name in TLS_PARAMS)


@implementer(IOpenSSLContextFactory)
class ServerContextFactory:
    """``getContext()`` for a TLS listener, called by Twisted for each new connection.

    After CONFIG SET of a ``tls-*`` parameter the next connection rebuilds the
    context (certificate rotation, auth mode...); if the new settings do not
    load, the error is logged once and the previous context stays in use.
    """

    def __init__(self, get_config, auth: str | None = None):
        self._get_config = get_config
        self._auth = auth
        cfg = get_config()
        self._ctx = server_context(cfg, auth)
        self._built, self._failed = _key(cfg), None

    def getContext(self):
        cfg = self._get_config()
        key = _key(cfg)
        if key != self._built and key != self._failed:
            try:
                self._ctx = server_context(cfg, self._auth, require_ca=False)
                self._built = key
                log.info("TLS configuration reloaded")
            except TlsError as e:
                self._failed = key
                log.error("Failed to update TLS configuration, keeping the previous one: {err}",
                          err=str(e))
                # but never looser about client certificates than tls-auth-clients now says
                self._ctx.set_verify(_verify_mode(self._auth or cfg["tls-auth-clients"]))
        return self._ctx


@implementer(IOpenSSLContextFactory)
class ClientContextFactory:
    """``getContext()`` for ``connectSSL`` to a master (built once per connection attempt)."""

    def __init__(self, cfg):
        self._ctx = client_context(cfg)

    def getContext(self):
        return self._ctx


# --- the TLS transport of the RESP listener ---------------------------------------------

def _resp_tls_protocol_class():
    from twisted.protocols.tls import TLSMemoryBIOProtocol

    class RespTLSTransport(TLSMemoryBIOProtocol):
        """TLS for RESP connections: replies go out at the end of the read that made them.

        Twisted's default TLS transport (``BufferingTLSTransport``) holds every
        write to a ``callLater(0)`` of its own, to turn many small writes into
        few TLS records.  RedisLite already answers a whole read with one
        write, so for replies that only adds a reactor turn and a DelayedCall
        per request.  Here the writes made while this connection's read is
        handled are joined and handed to OpenSSL when the read ends; writes
        from elsewhere (pub/sub messages published by other clients, the
        replication stream, a blocked client woken by another one) are still
        gathered per reactor turn, so a subscriber gets one TLS record per
        turn, not one per message (without that gathering, a delivery costs
        about 4x the CPU).  Measured (server CPU, loaded 2-core machine,
        redis-benchmark GET -c 10 over TLS): 75-82 us per unpipelined request
        against 88-95 us with Twisted's transport, p50 latency ~15% lower;
        pub/sub deliveries 5-9 us either way.
        """

        _held = None            # list of pending writes, or None
        _held_len = 0
        _reading = False
        _flush_call = None
        MAX_HELD = 64000        # as Twisted's aggregator: flush at once past this

        def dataReceived(self, data):
            self._reading = True
            try:
                TLSMemoryBIOProtocol.dataReceived(self, data)
            finally:
                self._reading = False
                if self._held is not None:
                    self._flush()

        def write(self, data):
            held = self._held
            if held is None:
                held = self._held = []
                if not self._reading:
                    self._flush_call = self.factory.clock.callLater(0, self._flush)
            held.append(data)
            self._held_len += len(data)
            if self._held_len >= self.MAX_HELD:
                self._flush()

        def writeSequence(self, seq):
            self.write(b"".join(seq))

        def _flush(self):
            call, self._flush_call = self._flush_call, None
            if call is not None and call.active():
                call.cancel()
            held, self._held = self._held, None
            self._held_len = 0
            if held:
                TLSMemoryBIOProtocol.write(self, held[0] if len(held) == 1 else b"".join(held))

        def loseConnection(self):
            if self._held is not None:
                self._flush()
            TLSMemoryBIOProtocol.loseConnection(self)

        def connectionLost(self, reason):
            call, self._flush_call = self._flush_call, None
            if call is not None and call.active():
                call.cancel()
            self._held = None
            TLSMemoryBIOProtocol.connectionLost(self, reason)

    return RespTLSTransport


_RESP_TLS = None


def resp_tls_factory(wrapped_factory, context_factory, clock):
    """A TLS server factory for the RESP listener (``listenTCP`` it): Twisted's
    TLSMemoryBIOFactory, as ``listenSSL`` builds it, with :class:`RespTLSTransport`."""
    global _RESP_TLS
    from twisted.protocols.tls import TLSMemoryBIOFactory

    if _RESP_TLS is None:
        _RESP_TLS = _resp_tls_protocol_class()
    factory = TLSMemoryBIOFactory(context_factory, False, wrapped_factory)
    factory.protocol = _RESP_TLS
    factory.clock = clock
    return factory
