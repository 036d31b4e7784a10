"""The Klein HTTP API: JSON access to keys, any command, INFO, health and metrics.

Every request goes through the same command table and shard actors as RESP:
an internal :class:`~redislite.protocol.Client` per request runs
``client.dispatch(argv)`` (arity, NOAUTH, OOM, READONLY, LOADING... all apply),
and several commands for one request (TYPE + GET + TTL) run in one reactor
turn, so they are atomic like a MULTI.

The app is a class taking its collaborators in the constructor, with the
safety checks in :meth:`HttpApi._guard` and every error turned into JSON in one
place (:meth:`HttpApi.handle_errors`), as Tahoe-LAFS's storage HTTP server does.
Safety rules: bearer token (http-token, the requirepass password, or
``<user>:<password>`` of an ACL user whose commands then pass the ACL checks;
compared in constant time) on every route but health; body cap (http-max-body) enforced
while reading, never spooled to disk (:class:`CappedRequest`); JSON
Content-Type on writes; CORS headers only with http-cors-origin; Host header
allow-list when bound beyond loopback; dangerous commands refused unless
http-allow-dangerous.
"""

import base64
import binascii
import hmac
import io
import json
import math

from klein import Klein
from twisted.web.server import Request, Site
from werkzeug.exceptions import HTTPException

from .. import info as _info
from ..errors import ReplyError
from ..observability import logging as _logging
from ..observability import metrics as _metrics
from ..protocol import Client
from ..resp.encoder import Double, Map, NullArray, Raw, Status, Verbatim
from . import assets, openapi

JSON_TYPE = b"application/json"


def _status_of(error):
    """403 for an ACL refusal (NOPERM), 400 for any other error reply."""
    return 403 if error.message.startswith("NOPERM") else 400

#: Refused unless http-allow-dangerous: data wipes, config, shutdown, debug, replication.
DANGEROUS = frozenset((b"flushall", b"flushdb", b"config", b"shutdown", b"debug", b"replicaof",
                       b"slaveof", b"sync", b"psync", b"replconf", b"failover", b"module", b"acl",
                       b"save", b"bgsave", b"bgrewriteaof", b"cluster", b"client"))
#: Connection-state commands that mean nothing on a one-request client.
CONNECTION_ONLY = frozenset((b"subscribe", b"psubscribe", b"ssubscribe", b"unsubscribe",
                             b"punsubscribe", b"sunsubscribe", b"multi", b"exec", b"discard",
                             b"watch", b"unwatch", b"select", b"hello", b"auth", b"reset",
                             b"quit", b"monitor"))
_LOOPBACK = ("127.", "::1", "localhost")
_TYPES = ("string", "list", "hash", "set", "zset")


class ApiError(Exception):
    """An HTTP error answered as ``{"error": message, ...}``."""

    def __init__(self, status, message, **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


class CappedRequest(Request):
    """A Request whose body is capped while it arrives and kept in memory.

    Twisted's default spools bodies over 100 kB to a temporary file; here the
    body always goes to a BytesIO and a body over ``http-max-body`` (declared
    or streamed) gets a 413 at once and the connection closes."""

    _rejected = False

    def __init__(self, channel, *args, **kw):
        # A JSON API: never parse form bodies into request.args (Twisted would,
        # and answer malformed multipart with its own non-JSON 400).
        kw.setdefault("parsePOSTFormSubmission", False)
        super().__init__(channel, *args, **kw)

    def _limit(self):
        site = getattr(self.channel, "site", None)
        fn = getattr(site, "max_body", None)
        return fn() if fn is not None else 16 * 1024 * 1024

    def gotLength(self, length):
        self.content = io.BytesIO()
        if length is not None and length > self._limit():
            self._reject()

    def handleContentChunk(self, data):
        if self._rejected:
            return
        if self.content.tell() + len(data) > self._limit():
            self._reject()
            return
        self.content.write(data)

    def _reject(self):
        self._rejected = True
        self.content = io.BytesIO()
        body = json.dumps({"error": "request body too large", "max_bytes": self._limit()}).encode()
        transport = self.channel.transport
        transport.write(b"HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        transport.loseConnection()

    def requestReceived(self, command, path, version):
        if self._rejected:
            return
        super().requestReceived(command, path, version)


class _Site(Site):
    """Access lines as structured ``http.request`` events (verbose level)."""

    def log(self, request):
        _logging.event("http.request", level="verbose", method=request.method.decode("latin-1"),
                       path=request.uri.decode("latin-1"), status=request.code,
                       bytes=request.sentLength, peer=_peer(request))


# -- reply values -> JSON ---------------------------------------------------------------
class _Encoding:
    def __init__(self, b64):
        self.b64 = b64

    def out(self, data):
        if self.b64:
            return base64.b64encode(bytes(data)).decode("ascii")
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(406, "value is not valid UTF-8; ask with ?encoding=base64")

    def inp(self, value, what="value"):
        """A JSON scalar as command-argument bytes."""
        if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
            raise ApiError(400, "%s must be a string or a number" % what)
        if isinstance(value, (int, float)):
            if isinstance(value, float) and not math.isfinite(value):
                raise ApiError(400, "%s must be finite" % what)
            return repr(value).encode() if isinstance(value, float) else b"%d" % value
        if self.b64:
            try:
                return base64.b64decode(value.encode("ascii"), validate=True)
            except (binascii.Error, ValueError, UnicodeEncodeError):
                raise ApiError(400, "%s is not valid base64" % what)
        return value.encode("utf-8", "surrogateescape")

    def to_json(self, v):
        t = type(v)
        if t is bytes or t is bytearray:
            return self.out(v)
        if v is None or v is NullArray:
            return None
        if t is int:
            return v
        if isinstance(v, ReplyError):
            return {"error": v.message}
        if isinstance(v, Status):
            return v.text
        if isinstance(v, Verbatim) or t is str:
            return str(v)
        if isinstance(v, Double) or t is float:
            f = float(v)
            return f if math.isfinite(f) else ("inf" if f > 0 else "-inf" if f < 0 else "nan")
        if isinstance(v, bool):
            return bool(v)
        if isinstance(v, int):
            return int(v)
        if isinstance(v, Map):
            return {self._key(k): self.to_json(x) for k, x in v}
        if isinstance(v, Raw):
            return self.to_json(_decode_raw(v.resp2))
        if isinstance(v, (list, tuple)):
            return [self.to_json(x) for x in v]
        return str(v)

    def _key(self, k):
        k = self.to_json(k)
        return k if isinstance(k, str) else json.dumps(k)


def _decode_raw(data):
    import hiredis
    reader = hiredis.Reader()
    reader.feed(data)
    return reader.gets()


# -- the app -----------------------------------------------------------------------------
class HttpApi:
    app = Klein()

    def __init__(self, server, bind=None):
        self.server = server
        self.bind = bind if bind is not None else _cfg(server, "http-bind", "127.0.0.1")
        self.metrics = _metrics.Metrics(server)

    def resource(self):
        return self.app.resource()

    def site(self):
        """A Site whose requests cap their bodies (see :class:`CappedRequest`)."""
        site = _Site(self.resource(), requestFactory=CappedRequest)
        site.max_body = self.max_body
        site.noisy = False
        site.displayTracebacks = False
        return site

    def max_body(self):
        return _cfg(self.server, "http-max-body", 16 * 1024 * 1024)

    # -- safety ---------------------------------------------------------------------
    def _guard(self, request, auth=True, write=False):
        """Every rule but the body cap's streaming half, in one place."""
        self._cors(request)
        self._check_host(request)
        if auth:
            self._check_auth(request)
        if write:
            length = request.getHeader(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.max_body():
                raise ApiError(413, "request body too large", max_bytes=self.max_body())
            ctype = (request.getHeader(b"content-type") or b"").split(b";")[0].strip().lower()
            if ctype != JSON_TYPE:
                raise ApiError(415, "Content-Type must be application/json")

    def _cors(self, request):
        allowed = _cfg(self.server, "http-cors-origin", "")
        if not allowed:
            return
        origins = allowed.split()
        origin = (request.getHeader(b"origin") or b"").decode("latin-1")
        if "*" in origins:
            request.setHeader(b"Access-Control-Allow-Origin", b"*")
        elif origin and origin in origins:
            request.setHeader(b"Access-Control-Allow-Origin", origin.encode("latin-1"))
            request.setHeader(b"Vary", b"Origin")

    def _check_host(self, request):
        bind = self.bind or ""
        if any(bind.startswith(p) for p in _LOOPBACK):
            return
        allowed = _cfg(self.server, "http-allowed-hosts", "").split()
        if "*" in allowed:
            return
        if not allowed:
            allowed = ["localhost", "127.0.0.1", "::1"]
            if bind not in ("0.0.0.0", "::", "*", ""):
                allowed.append(bind)
        host = _host_name((request.getHeader(b"host") or b"").decode("latin-1"))
        if host.lower() not in {h.lower() for h in allowed}:
            raise ApiError(403, "Host header not allowed")

    def tokens(self):
        out = []
        token = _cfg(self.server, "http-token", "")
        if token:
            out.append(token.encode("utf-8", "surrogateescape"))
        pw = self.server.requirepass
        if pw:
            out.append(pw if isinstance(pw, bytes) else str(pw).encode("utf-8", "surrogateescape"))
        return out

    def _check_auth(self, request):
        """Bearer token -> the ACL user the request runs as (``request.acl_user``).

        ``http-token`` or the requirepass password: the default user.  Another
        password of the default user (ACL SETUSER default >pw): the default user.
        ``<user>:<password>``: that ACL user, whose commands then go through the
        same ACL checks as over RESP.  With no token configured and a default
        user without password, requests run as the default user."""
        request.acl_user = None
        acl = self.server.acl
        tokens = self.tokens()
        required = bool(tokens) or acl.default_needs_auth()
        header = request.getHeader(b"authorization") or b""
        scheme, _, given = header.partition(b" ")
        ok = False
        if scheme.lower() == b"bearer":
            given = given.strip()
            for t in tokens:
                # compare every token, so timing says nothing about which one matched
                ok = hmac.compare_digest(given, t) | ok
            if not ok and not acl.default.nopass and acl.check_credentials(b"default", given):
                ok = True
            if not ok:
                name, sep, password = given.partition(b":")
                user = acl.check_credentials(name, password) if sep else None
                if user is not None:
                    request.acl_user = user
                    ok = True
        if required and not ok:
            _logging.event("http.auth_failed", level="warn", peer=_peer(request),
                           path=request.path.decode("latin-1"))
            request.setHeader(b"WWW-Authenticate", b'Bearer realm="redislite"')
            raise ApiError(401, "authentication required")

    # -- helpers ---------------------------------------------------------------------
    def _client(self, request):
        server = self.server
        c = Client(server)
        c.authenticated = True
        user = getattr(request, "acl_user", None)
        if user is not None:
            server.acl.attach(c, user)     # Bearer <user>:<password>
        c.no_block = True
        c.addr = _peer(request)
        host = request.getHost()
        c.laddr = "%s:%s" % (getattr(host, "host", "?"), getattr(host, "port", 0))
        db = _arg(request, "db")
        if db is not None:
            if not db.isdigit() or int(db) >= server.databases:
                raise ApiError(400, "db must be between 0 and %d" % (server.databases - 1))
            c.db = int(db)
        server.now.refresh()
        return c

    def _run(self, client, *argv):
        """One command through the protocol's checks; errors become ApiError(400)."""
        reply = self._call(client, argv)
        if isinstance(reply, ReplyError):
            raise ApiError(_status_of(reply), reply.message)
        return reply

    def _call(self, client, argv):
        argv = [a if isinstance(a, (bytes, bytearray)) else str(a).encode() for a in argv]
        reply = client.dispatch(argv)
        self.server.total_commands += 1
        return reply

    @staticmethod
    def _encoding(request):
        enc = _arg(request, "encoding")
        if enc not in (None, "utf8", "utf-8", "base64"):
            raise ApiError(400, "encoding must be utf8 or base64")
        return _Encoding(enc == "base64")

    def _key(self, request, key, enc):
        return enc.inp(key, "key")

    def _body(self, request, required=True):
        data = request.content.read() if request.content is not None else b""
        if len(data) > self.max_body():
            raise ApiError(413, "request body too large", max_bytes=self.max_body())
        if not data:
            if required:
                raise ApiError(400, "a JSON object body is required")
            return {}
        try:
            body = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "body is not valid JSON")
        if not isinstance(body, dict):
            raise ApiError(400, "body must be a JSON object")
        return body

    # -- keys ------------------------------------------------------------------------
    @app.route("/api/v1/keys/<path:key>", methods=["GET"])
    def get_key(self, request, key):
        self._guard(request)
        enc = self._encoding(request)
        c = self._client(request)
        k = self._key(request, key, enc)
        t = self._run(c, b"TYPE", k).text
        if t == "none":
            raise ApiError(404, "no such key")
        if t == "string":
            value = enc.to_json(self._run(c, b"GET", k))
        elif t == "list":
            value = enc.to_json(self._run(c, b"LRANGE", k, b"0", b"-1"))
        elif t == "hash":
            value = _pairs_to_dict(enc, self._run(c, b"HGETALL", k))
        elif t == "set":
            value = enc.to_json(self._run(c, b"SMEMBERS", k))
        elif t == "zset":
            value = _zset_to_dict(enc, self._run(c, b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"))
        else:
            raise ApiError(501, "type %s is not served here; use /api/v1/command" % t, type=t)
        ttl = self._run(c, b"TTL", k)
        if ttl == -2:
            raise ApiError(404, "no such key")
        return self._json(request, 200, {"key": key, "type": t, "value": value, "ttl": ttl})

    @app.route("/api/v1/keys/<path:key>", methods=["PUT"])
    def put_key(self, request, key):
        self._guard(request, write=True)
        enc = self._encoding(request)
        body = self._body(request)
        t = body.get("type", "string")
        if t not in _TYPES:
            raise ApiError(400, "type must be one of %s" % ", ".join(_TYPES))
        if "value" not in body:
            raise ApiError(400, "value is required")
        cond = body.get("condition")
        if cond is not None and cond not in ("nx", "xx"):
            raise ApiError(400, "condition must be nx or xx")
        ttl_args = _ttl_args(body.get("ttl"))
        c = self._client(request)
        k = self._key(request, key, enc)
        value = body["value"]
        if t == "string":
            argv = [b"SET", k, enc.inp(value)] + ttl_args + ([cond.upper().encode()] if cond else [])
            if self._run(c, *argv) is None:
                raise ApiError(412, "condition %s not met" % cond)
            return self._json(request, 200, {"key": key, "type": t, "stored": True})
        write = _collection_write(enc, t, k, value)
        # Everything below runs in this reactor turn: check, replace, expire are atomic.
        exists = self._run(c, b"EXISTS", k)
        if (cond == "nx" and exists) or (cond == "xx" and not exists):
            raise ApiError(412, "condition %s not met" % cond)
        self._run(c, b"DEL", k)
        self._run(c, *write)
        if ttl_args:
            ms = ttl_args[1] if ttl_args[0] == b"PX" else b"%d" % (int(ttl_args[1]) * 1000)
            self._run(c, b"PEXPIRE", k, ms)
        return self._json(request, 200, {"key": key, "type": t, "stored": True})

    @app.route("/api/v1/keys/<path:key>", methods=["DELETE"])
    def delete_key(self, request, key):
        self._guard(request)
        enc = self._encoding(request)
        c = self._client(request)
        if not self._run(c, b"DEL", self._key(request, key, enc)):
            raise ApiError(404, "no such key")
        return self._json(request, 200, {"key": key, "deleted": 1})

    @app.route("/api/v1/keys", methods=["GET"])
    def scan_keys(self, request):
        self._guard(request)
        enc = self._encoding(request)
        c = self._client(request)
        argv = [b"SCAN", (_arg(request, "cursor") or "0").encode()]
        for name in ("match", "count", "type"):
            v = _arg(request, name)
            if v is not None:
                argv += [name.upper().encode(),
                         enc.inp(v, name) if name == "match" else v.encode("utf-8", "surrogateescape")]
        cursor, keys = self._run(c, *argv)
        return self._json(request, 200, {"cursor": bytes(cursor).decode("ascii"),
                                         "keys": enc.to_json(keys)})

    @app.route("/api/v1/keys/<path:key>/expire", methods=["POST"])
    def expire_key(self, request, key):
        self._guard(request, write=True)
        enc = self._encoding(request)
        body = self._body(request)
        c = self._client(request)
        k = self._key(request, key, enc)
        if body.get("persist"):
            if not self._run(c, b"EXISTS", k):
                raise ApiError(404, "no such key")
            self._run(c, b"PERSIST", k)
        else:
            ttl = body.get("ttl")
            if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not math.isfinite(ttl):
                raise ApiError(400, "ttl (seconds) or persist: true is required")
            if isinstance(ttl, int):
                done = self._run(c, b"EXPIRE", k, b"%d" % ttl)
            else:
                done = self._run(c, b"PEXPIRE", k, b"%d" % round(ttl * 1000))
            if not done:
                raise ApiError(404, "no such key")
        return self._json(request, 200, {"key": key, "ttl": self._run(c, b"TTL", k)})

    @app.route("/api/v1/keys/<path:key>/incr", methods=["POST"])
    def incr_key(self, request, key):
        return self._incr(request, key, 1)

    @app.route("/api/v1/keys/<path:key>/decr", methods=["POST"])
    def decr_key(self, request, key):
        return self._incr(request, key, -1)

    def _incr(self, request, key, sign):
        self._guard(request, write=True)
        enc = self._encoding(request)
        body = self._body(request, required=False)
        by = body.get("by", 1)
        if isinstance(by, bool) or not isinstance(by, (int, float)) or \
                (isinstance(by, float) and not math.isfinite(by)):
            raise ApiError(400, "by must be a number")
        c = self._client(request)
        k = self._key(request, key, enc)
        if isinstance(by, float):
            value = float(self._run(c, b"INCRBYFLOAT", k, repr(by * sign).encode()))
        elif sign > 0:
            value = self._run(c, b"INCRBY", k, b"%d" % by)
        else:
            value = self._run(c, b"DECRBY", k, b"%d" % by)
        return self._json(request, 200, {"key": key, "value": value})

    # -- any command ------------------------------------------------------------------
    @app.route("/api/v1/command", methods=["POST"])
    def command(self, request):
        self._guard(request, write=True)
        enc = self._encoding(request)
        body = self._body(request)
        args = body.get("args")
        if not isinstance(args, list) or not args:
            raise ApiError(400, "args must be a non-empty array")
        argv = [enc.inp(a, "argument") if i else _command_name(a) for i, a in enumerate(args)]
        name = argv[0].lower()
        if name in CONNECTION_ONLY:
            raise ApiError(400, "ERR '%s' is not available over HTTP" % name.decode("latin-1"))
        if name in DANGEROUS and not _cfg(self.server, "http-allow-dangerous", False):
            raise ApiError(403, "ERR '%s' is refused over HTTP (set http-allow-dangerous yes)"
                           % name.decode("latin-1"))
        c = self._client(request)
        reply = self._call(c, argv)
        if isinstance(reply, ReplyError):
            return self._json(request, _status_of(reply), {"error": reply.message})
        return self._json(request, 200, {"result": enc.to_json(reply)})

    # -- server state ------------------------------------------------------------------
    @app.route("/api/v1/info", methods=["GET"])
    def info(self, request):
        self._guard(request)
        return self._json(request, 200, info_json(self.server, _info.requested_sections([])))

    @app.route("/api/v1/info/<section>", methods=["GET"])
    def info_section(self, request, section):
        self._guard(request)
        name = section.lower()
        if name not in _info.ALL_SECTIONS and name not in ("all", "everything", "default"):
            raise ApiError(404, "no such INFO section: %s" % section)
        return self._json(request, 200, info_json(self.server, _info.requested_sections([name])))

    @app.route("/api/v1/health", methods=["GET"])
    def health(self, request):
        self._cors(request)
        return self._json(request, 200, {"status": "ok"})

    @app.route("/api/v1/ready", methods=["GET"])
    def ready(self, request):
        self._guard(request)
        server = self.server
        repl = dict(_info.section_replication(server))
        reasons = []
        if server.loading:
            reasons.append("loading")
        if repl.get("role") == "slave" and repl.get("master_link_status") != "up":
            reasons.append("master link down")
        body = {"ready": not reasons, "loading": bool(server.loading), "role": repl.get("role")}
        if reasons:
            body["reasons"] = reasons
        return self._json(request, 503 if reasons else 200, body)

    @app.route("/api/v1/replication", methods=["GET"])
    def replication(self, request):
        self._guard(request)
        repl = dict(_info.section_replication(self.server))
        out = {k: _metrics._num(v) for k, v in repl.items()}
        out["replicas"] = [dict(f, addr=addr) for addr, f in _metrics.replicas(repl)]
        return self._json(request, 200, out)

    @app.route("/api/v1/metrics", methods=["GET"])
    def metrics_json(self, request):
        self._guard(request)
        return self._json(request, 200, _metrics.metrics_json(self.server))

    @app.route("/metrics", methods=["GET"])
    def metrics(self, request):
        self._guard(request)
        if not _cfg(self.server, "metrics", True):
            raise ApiError(404, "metrics are disabled (metrics no)")
        accept = (request.getHeader(b"accept") or b"").decode("latin-1")
        body, ctype = self.metrics.render(accept)
        request.setHeader(b"Content-Type", ctype.encode())
        return body

    # -- docs -----------------------------------------------------------------------
    @app.route("/api/v1/openapi.json", methods=["GET"])
    def openapi(self, request):
        self._guard(request)
        return self._json(request, 200, openapi.document())

    @app.route("/api/v1/docs", methods=["GET"])
    def docs(self, request):
        self._guard(request)
        spec = json.dumps(openapi.document()).replace("</", "<\\/")
        request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
        return (assets.PAGE % {"spec": spec}).encode("utf-8")

    @app.route("/api/v1/docs/assets/<name>", methods=["GET"])
    def docs_asset(self, request, name):
        self._guard(request)
        asset = assets.ASSETS.get(name)
        if asset is None:
            raise ApiError(404, "no such asset")
        text, ctype = asset
        request.setHeader(b"Content-Type", ctype.encode())
        return text.encode("utf-8")

    @app.route("/", branch=True, methods=["OPTIONS"])
    def preflight(self, request):
        """CORS preflight: answered without a token (browsers never send one here)."""
        self._cors(request)
        if _cfg(self.server, "http-cors-origin", ""):
            request.setHeader(b"Access-Control-Allow-Methods", b"GET, PUT, POST, DELETE, OPTIONS")
            request.setHeader(b"Access-Control-Allow-Headers", b"Authorization, Content-Type")
            request.setHeader(b"Access-Control-Max-Age", b"600")
        request.setResponseCode(204)
        return b""

    # -- output and errors ------------------------------------------------------------------
    @staticmethod
    def _json(request, status, obj):
        request.setResponseCode(status)
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"Cache-Control", b"no-store")
        request.setHeader(b"X-Content-Type-Options", b"nosniff")
        return json.dumps(obj, allow_nan=False).encode("utf-8")

    @app.handle_errors
    def handle_errors(self, request, failure):
        """The one place errors become responses: JSON, never a traceback."""
        exc = failure.value
        self._cors(request)
        if isinstance(exc, ApiError):
            return self._json(request, exc.status, dict({"error": exc.message}, **exc.extra))
        if isinstance(exc, HTTPException):
            code = exc.code or 500
            if code == 405:
                allow = [m for m in (getattr(exc, "valid_methods", None) or []) if m != "OPTIONS"]
                if not allow:    # only the catch-all CORS preflight route matched: no such path
                    return self._json(request, 404, {"error": "not found"})
                request.setHeader(b"Allow", ", ".join(allow + ["OPTIONS"]).encode())
            return self._json(request, code, {"error": (exc.name or "error").lower()})
        _logging.event("http.error", level="error", path=request.path.decode("latin-1"),
                       error=repr(exc), traceback=failure.getTraceback())
        return self._json(request, 500, {"error": "internal error"})


# -- module helpers ----------------------------------------------------------------------------
def _cfg(server, name, default):
    try:
        return server.config[name]
    except (KeyError, TypeError):
        return default


def _arg(request, name):
    vals = request.args.get(name.encode())
    return vals[0].decode("utf-8", "surrogateescape") if vals else None


def _peer(request):
    p = request.getClientAddress()
    return "%s:%s" % (getattr(p, "host", "?"), getattr(p, "port", 0))


def _host_name(host):
    """``example.com:8080`` -> ``example.com``; ``[::1]:8080`` -> ``::1``."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def _command_name(a):
    if not isinstance(a, str) or not a:
        raise ApiError(400, "the command name must be a non-empty string")
    return a.encode("utf-8", "surrogateescape")


def _ttl_args(ttl):
    if ttl is None:
        return []
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not math.isfinite(ttl) or ttl <= 0:
        raise ApiError(400, "ttl must be a positive number of seconds")
    if isinstance(ttl, int):
        return [b"EX", b"%d" % ttl]
    return [b"PX", b"%d" % max(1, round(ttl * 1000))]


def _collection_write(enc, t, k, value):
    """The argv that writes a whole list/hash/set/zset (validated before anything changes)."""
    if t in ("list", "set"):
        if not isinstance(value, list) or not value:
            raise ApiError(400, "value must be a non-empty array for a %s" % t)
        items = [enc.inp(v) for v in value]
        return [b"RPUSH" if t == "list" else b"SADD", k] + items
    if t == "hash":
        if not isinstance(value, dict) or not value:
            raise ApiError(400, "value must be a non-empty object for a hash")
        argv = [b"HSET", k]
        for f, v in value.items():
            argv += [enc.inp(f, "field"), enc.inp(v)]
        return argv
    # zset: {"member": score} or [[member, score], ...] or [{"member":, "score":}, ...]
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list):
        pairs = []
        for item in value:
            if isinstance(item, dict) and "member" in item and "score" in item:
                pairs.append((item["member"], item["score"]))
            elif isinstance(item, list) and len(item) == 2:
                pairs.append((item[0], item[1]))
            else:
                raise ApiError(400, "zset items must be [member, score] or {member, score}")
    else:
        pairs = []
    if not pairs:
        raise ApiError(400, "value must be a non-empty object member -> score for a zset")
    argv = [b"ZADD", k]
    for m, s in pairs:
        if isinstance(s, bool) or not isinstance(s, (int, float)):
            raise ApiError(400, "zset scores must be numbers")
        argv += [repr(float(s)).encode() if isinstance(s, float) else b"%d" % s, enc.inp(m, "member")]
    return argv


def _pairs_to_dict(enc, reply):
    if isinstance(reply, Map):
        return {enc.to_json(k): enc.to_json(v) for k, v in reply}
    return {enc.to_json(reply[i]): enc.to_json(reply[i + 1]) for i in range(0, len(reply), 2)}


def _zset_to_dict(enc, reply):
    """member -> score, in score order (JSON objects keep insertion order)."""
    if reply and isinstance(reply[0], (list, tuple)):
        pairs = [(m, s) for m, s in reply]
    else:
        pairs = [(reply[i], reply[i + 1]) for i in range(0, len(reply), 2)]
    out = {}
    for m, s in pairs:
        score = float(s) if not isinstance(s, float) else s
        out[enc.to_json(m)] = score if math.isfinite(score) else ("inf" if score > 0 else "-inf")
    return out


def _section_value(name, field, value):
    if name in ("commandstats", "keyspace", "latencystats", "errorstats") or \
            (name == "replication" and field.startswith("slave") and field[5:].isdigit()):
        return _metrics.parse_kv(value)
    return _metrics._num(value)


def info_json(server, sections):
    """INFO as {section: {field: value}}, reusing info.py's builders (numbers as numbers)."""
    out = {}
    for name in _info.SECTION_ORDER:
        if name in sections:
            out[name] = {k: _section_value(name, k, v) for k, v in _info.BUILDERS[name](server)}
    return out
