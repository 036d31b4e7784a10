"""redislite/tls.py: contexts from the tls-* parameters, Redis's checks and texts, reloads."""

import pytest
from OpenSSL import SSL

from redislite import tls
from redislite.config import Config
from tests.tls_certs import KEY_PASSPHRASE, make_certs


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs"))


def cfg(certs, **kw):
    values = {"tls-port": "6380", "tls-cert-file": certs.server_cert,
              "tls-key-file": certs.server_key, "tls-ca-cert-file": certs.ca}
    values.update({k.replace("_", "-"): v for k, v in kw.items()})
    return Config.defaults().with_changes(values)


def test_defaults_do_not_use_tls():
    assert not tls.in_use(Config.defaults())
    assert tls.in_use(Config.defaults().with_changes({"tls-replication": "yes"}))
    assert tls.in_use(Config.defaults().with_changes({"http-tls": "yes"}))


@pytest.mark.parametrize("text,expected", [
    ("", {"tlsv1.2", "tlsv1.3"}),
    ("TLSv1.3", {"tlsv1.3"}),
    ("tlsv1.2  TLSV1.3", {"tlsv1.2", "tlsv1.3"}),
    ("TLSv1 TLSv1.1", {"tlsv1", "tlsv1.1"}),
])
def test_protocols(text, expected):
    assert tls.parse_protocols(text) == expected


@pytest.mark.parametrize("text", ["TLSv1.4", "SSLv3", "TLSv1.2,TLSv1.3", " "])
def test_bad_protocols_give_redis_text(text):
    with pytest.raises(tls.TlsError) as e:
        tls.parse_protocols(text)
    assert str(e.value) == "tls-protocols: " + tls.ERR_PROTOCOLS


def test_server_context_verify_modes(certs):
    yes = tls.server_context(cfg(certs))
    assert yes.get_verify_mode() == SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT
    assert tls.server_context(cfg(certs, tls_auth_clients="optional")).get_verify_mode() == SSL.VERIFY_PEER
    assert tls.server_context(cfg(certs, tls_auth_clients="no")).get_verify_mode() == SSL.VERIFY_NONE
    # HTTPS never asks for a client certificate, whatever tls-auth-clients says
    assert tls.server_context(cfg(certs), auth="no").get_verify_mode() == SSL.VERIFY_NONE


def test_session_cache_and_options(certs):
    ctx = tls.server_context(cfg(certs, tls_session_cache_timeout="77"))
    assert ctx.get_session_cache_mode() == SSL.SESS_CACHE_SERVER and ctx.get_timeout() == 77
    off = tls.server_context(cfg(certs, tls_session_caching="no"))
    assert off.get_session_cache_mode() == SSL.SESS_CACHE_OFF
    pref = tls.server_context(cfg(certs, tls_prefer_server_ciphers="yes"))
    assert pref.set_options(0) & SSL.OP_CIPHER_SERVER_PREFERENCE
    only13 = tls.server_context(cfg(certs, tls_protocols="TLSv1.3"))
    assert only13.set_options(0) & SSL.OP_NO_TLSv1_2


@pytest.mark.parametrize("changes,needle", [
    ({"tls-cert-file": ""}, "tls-cert-file: No tls-cert-file configured!"),
    ({"tls-key-file": ""}, "tls-key-file: No tls-key-file configured!"),
    ({"tls-ca-cert-file": ""}, "tls-ca-cert-file: Either tls-ca-cert-file or tls-ca-cert-dir must be "
                               "specified when tls-cluster, tls-replication or tls-auth-clients are enabled!"),
    ({"tls-cert-file": "/nonexistent.crt"},
     "tls-cert-file: Failed to load certificate: /nonexistent.crt: No such file or directory"),
    ({"tls-ciphers": "NO-SUCH-CIPHER"}, "tls-ciphers: Failed to configure ciphers: NO-SUCH-CIPHER"),
    ({"tls-ciphersuites": "TLS_NOPE"}, "tls-ciphersuites: Failed to configure ciphersuites: TLS_NOPE"),
    ({"tls-dh-params-file": "/nonexistent.dh"},
     "tls-dh-params-file: Failed to load /nonexistent.dh: No such file or directory"),
])
def test_check_errors_are_one_line_naming_the_option(certs, changes, needle):
    with pytest.raises(tls.TlsError) as e:
        tls.check(cfg(certs, **{k.replace("-", "_"): v for k, v in changes.items()}))
    assert str(e.value) == needle


def test_wrong_files(certs):
    with pytest.raises(tls.TlsError, match=r"^tls-cert-file: Failed to load certificate: .*: no start line$"):
        tls.check(cfg(certs, tls_cert_file=certs.server_key))
    with pytest.raises(tls.TlsError, match=r"^tls-key-file: Failed to load private key: .*client.key: "):
        tls.check(cfg(certs, tls_key_file=certs.client_key))       # not the certificate's key
    with pytest.raises(tls.TlsError, match=r"^tls-ca-cert-file: Failed to configure CA"):
        tls.check(cfg(certs, tls_ca_cert_file=certs.dir / "missing.pem"))


def test_ca_only_needed_when_clients_or_master_are_verified(certs):
    tls.check(cfg(certs, tls_ca_cert_file="", tls_auth_clients="no"))
    with pytest.raises(tls.TlsError, match="tls-ca-cert-file: Either"):
        tls.check(cfg(certs, tls_ca_cert_file="", tls_auth_clients="no", tls_replication="yes"))
    tls.check(cfg(certs, tls_ca_cert_file="", tls_ca_cert_dir=str(certs.dir)))


def test_encrypted_key_needs_its_passphrase(certs):
    # Never a terminal prompt: a missing or wrong passphrase is an error line.
    for bad in ("", "wrong"):
        with pytest.raises(tls.TlsError, match="tls-key-file: Failed to load private key"):
            tls.check(cfg(certs, tls_key_file=certs.server_key_encrypted, tls_key_file_pass=bad))
    tls.check(cfg(certs, tls_key_file=certs.server_key_encrypted, tls_key_file_pass=KEY_PASSPHRASE))


def test_client_context_prefers_the_client_certificate(certs):
    c = cfg(certs, tls_port="0", tls_replication="yes")
    tls.check(c)
    with pytest.raises(tls.TlsError, match="tls-client-cert-file: Failed to load certificate"):
        tls.client_context(c.with_changes({"tls-client-cert-file": "/nope.crt",
                                           "tls-client-key-file": certs.client_key}))
    # only one of the pair set: tls-cert-file is used, as Redis does
    tls.client_context(c.with_changes({"tls-client-cert-file": "/nope.crt"}))
    ctx = tls.ClientContextFactory(c.with_changes({"tls-client-cert-file": certs.client_cert,
                                                   "tls-client-key-file": certs.client_key}))
    assert ctx.getContext().get_verify_mode() & SSL.VERIFY_PEER


def test_listener_context_follows_config_set_and_keeps_the_old_one_on_errors(certs):
    holder = {"cfg": cfg(certs)}
    factory = tls.ServerContextFactory(lambda: holder["cfg"])
    first = factory.getContext()
    assert factory.getContext() is first                        # unchanged: no rebuild
    holder["cfg"] = holder["cfg"].with_changes({"tls-auth-clients": "no"})
    second = factory.getContext()
    assert second is not first and second.get_verify_mode() == SSL.VERIFY_NONE
    holder["cfg"] = holder["cfg"].with_changes({"tls-cert-file": "/gone.crt"})
    assert factory.getContext() is second                       # logged, previous context kept
    assert factory.getContext() is second                       # and not retried per connection
    holder["cfg"] = holder["cfg"].with_changes({"tls-cert-file": certs.server_cert,
                                                "tls-session-caching": "no"})
    assert factory.getContext().get_session_cache_mode() == SSL.SESS_CACHE_OFF
    holder["cfg"] = cfg(certs)                                  # back to the first settings
    assert factory.getContext().get_verify_mode() == SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT


def test_config_set_refuses_tls_settings_that_do_not_load(certs):
    from redislite.config import config_set
    from redislite.errors import ReplyError

    err = ("ERR CONFIG SET failed (possibly related to argument '%s') - "
           "Unable to update TLS configuration. Check server logs.")
    off = Config.defaults()
    assert config_set(off, [("tls-cert-file", "/nope")])["tls-cert-file"] == "/nope"   # TLS off: stored
    for name, value in (("tls-port", "7000"), ("tls-replication", "yes")):
        with pytest.raises(ReplyError) as e:
            config_set(off, [(name, value)])
        assert e.value.message == err % name
    on = cfg(certs)
    for pairs, name in (([("tls-cert-file", "/nope")], "tls-cert-file"),
                        ([("tls-protocols", "bogus")], "tls-protocols"),
                        ([("tls-ca-cert-file", "")], "tls-ca-cert-file"),
                        ([("maxmemory", "1mb"), ("tls-key-file", certs.client_key)], "tls-key-file")):
        with pytest.raises(ReplyError) as e:
            config_set(on, pairs)
        assert e.value.message == err % name
    assert config_set(on, [("tls-auth-clients", "no"), ("tls-ca-cert-file", "")])["tls-auth-clients"] == "no"
    assert config_set(on, [("tls-cert-file", certs.server_cert)]) == on     # unchanged: not re-applied


def test_requiring_client_certificates_without_a_ca_fails_closed(certs):
    """CONFIG SET tls-auth-clients yes while no CA is set (allowed, as in Redis): the
    listener must then refuse every client, never keep accepting clients without one."""
    from redislite.config import config_set

    holder = {"cfg": cfg(certs, tls_auth_clients="no", tls_ca_cert_file="")}
    factory = tls.ServerContextFactory(lambda: holder["cfg"])
    assert factory.getContext().get_verify_mode() == SSL.VERIFY_NONE
    holder["cfg"] = config_set(holder["cfg"], [("tls-auth-clients", "yes")])
    ctx = factory.getContext()
    assert ctx.get_verify_mode() == SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT
    assert ctx.get_cert_store() is not None


def test_a_failed_rebuild_still_applies_tls_auth_clients(certs, tmp_path):
    import shutil
    cert = tmp_path / "server.crt"
    shutil.copy(certs.server_cert, cert)
    holder = {"cfg": cfg(certs, tls_auth_clients="no", tls_cert_file=str(cert))}
    factory = tls.ServerContextFactory(lambda: holder["cfg"])
    first = factory.getContext()
    cert.unlink()                                   # gone from disk since startup
    holder["cfg"] = holder["cfg"].with_changes({"tls-auth-clients": "yes"})
    assert factory.getContext() is first            # cannot rebuild: previous context kept...
    assert first.get_verify_mode() == SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT   # ...but strict


# --- handshakes in memory (pyOpenSSL memory BIOs, no sockets) ----------------------------

def _client_ctx(certs, cert=True, other=False, max_version=None):
    ctx = SSL.Context(SSL.TLS_METHOD)
    if cert:
        ctx.use_certificate_chain_file(certs.other_cert if other else certs.client_cert)
        ctx.use_privatekey_file(certs.other_key if other else certs.client_key)
    ctx.load_verify_locations(certs.ca)
    ctx.set_verify(SSL.VERIFY_PEER)
    if max_version is not None:
        ctx.set_max_proto_version(max_version)
    return ctx


def handshake(server_ctx, client_ctx):
    """None when both sides complete the handshake and exchange data, else the error."""
    server = SSL.Connection(server_ctx, None)
    server.set_accept_state()
    client = SSL.Connection(client_ctx, None)
    client.set_connect_state()
    try:
        for _ in range(50):
            for a, b in ((client, server), (server, client)):
                try:
                    a.do_handshake()
                except SSL.WantReadError:
                    pass
                try:
                    b.bio_write(a.bio_read(65536))
                except SSL.WantReadError:
                    pass
        client.send(b"PING\r\n")
        server.bio_write(client.bio_read(65536))
        assert server.recv(100) == b"PING\r\n"
    except SSL.Error as e:
        return tls.ssl_reason(e)
    return None


def test_handshakes_per_tls_auth_clients(certs):
    yes = tls.server_context(cfg(certs))
    assert handshake(yes, _client_ctx(certs)) is None
    assert handshake(yes, _client_ctx(certs, cert=False)) == "peer did not return a certificate"
    assert handshake(yes, _client_ctx(certs, other=True)) == "certificate verify failed"
    optional = tls.server_context(cfg(certs, tls_auth_clients="optional"))
    assert handshake(optional, _client_ctx(certs, cert=False)) is None
    assert handshake(optional, _client_ctx(certs, other=True)) == "certificate verify failed"
    no = tls.server_context(cfg(certs, tls_auth_clients="no"))
    assert handshake(no, _client_ctx(certs, other=True)) is None


def test_ca_cert_dir_is_a_hashed_directory(certs, tmp_path):
    import shutil
    import subprocess
    shutil.copy(certs.ca, tmp_path / "ca.pem")
    subprocess.run(["openssl", "rehash", str(tmp_path)], check=True, capture_output=True)
    ctx = tls.server_context(cfg(certs, tls_ca_cert_file="", tls_ca_cert_dir=str(tmp_path)))
    assert handshake(ctx, _client_ctx(certs)) is None
    assert handshake(ctx, _client_ctx(certs, other=True)) == "certificate verify failed"


def test_protocols_restrict_the_handshake(certs):
    only13 = tls.server_context(cfg(certs, tls_protocols="TLSv1.3"))
    assert handshake(only13, _client_ctx(certs, max_version=SSL.TLS1_2_VERSION)) is not None
    assert handshake(only13, _client_ctx(certs)) is None
    only12 = tls.server_context(cfg(certs, tls_protocols="TLSv1.2", tls_ciphers="ECDHE-ECDSA-AES128-GCM-SHA256"))
    assert handshake(only12, _client_ctx(certs)) is None


def test_replica_side_verifies_the_master(certs):
    """The replica's context checks the master's certificate against the CA (no host name)."""
    replica = tls.client_context(cfg(certs, tls_port="0", tls_replication="yes"))
    assert handshake(tls.server_context(cfg(certs)), replica) is None
    impostor = tls.server_context(cfg(certs, tls_cert_file=certs.other_cert, tls_key_file=certs.other_key))
    assert handshake(impostor, replica) == "certificate verify failed"
