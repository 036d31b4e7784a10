"""TLS against real processes: RedisLite and redis-server 7.0 (the oracle) side by side.

One throw-away PKI (tests/tls_certs.py) per module.  Both servers listen on a
plain port and a TLS port with the same certificate; redis-cli and redis-py
talk TLS to both and the outputs are compared.  Also: client certificate
enforcement, plain text on the TLS port, a TLS-only RedisLite (--port 0), the
Twisted path of TLS connections (pipelining, big replies, pub/sub, blocking
commands, many clients at once), HTTPS for the API, txredisapi, replication
over TLS in both directions, and a bad certificate stopping the server.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import pytest_twisted
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from redislite.testing import ServerProcess, free_port
from tests.compat.differential import require_redis_server
from tests.tls_certs import make_certs

pytestmark = pytest.mark.integration

REDIS_CLI = "redis-cli"


class TlsServerProcess(ServerProcess):
    """A server whose readiness is checked over TLS (for --port 0)."""

    def __init__(self, *a, tls_port, certs, **kw):
        super().__init__(*a, **kw)
        self.tls_port = tls_port
        self.certs = certs

    def _ping(self):
        try:
            with tls_socket(self.certs, self.tls_port, timeout=1.0) as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                return s.recv(64) or None
        except (OSError, ssl.SSLError):
            return None


def tls_socket(certs, port, cert=True, timeout=5.0, max_version=None):
    ctx = ssl.create_default_context(cafile=certs.ca)
    if max_version is not None:
        ctx.maximum_version = max_version
    if cert:
        ctx.load_cert_chain(certs.client_cert, certs.client_key)
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def tls_client(certs, port, cert=True, **kw):
    kw.setdefault("socket_timeout", 10)
    kw.setdefault("retry", Retry(NoBackoff(), 0))    # a refused handshake fails at once
    if cert:
        kw.update(ssl_certfile=certs.client_cert, ssl_keyfile=certs.client_key)
    return redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=certs.ca, **kw)


def cli(certs, port, *args, cert=True, stdin=None):
    out = subprocess.run([REDIS_CLI, "-h", "127.0.0.1", "-p", str(port), *certs.cli_args(cert), *args],
                         input=stdin, capture_output=True, timeout=20)
    return out.stdout + out.stderr


def read_until_closed(sock, limit=1 << 16):
    data = b""
    try:
        while len(data) < limit:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, ssl.SSLError, socket.timeout):
        pass
    return data


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    require_redis_server()
    return make_certs(tmp_path_factory.mktemp("pki"))


def _start(server):
    try:
        server.start()
    except Exception:
        server.cleanup()
        raise
    return server


@pytest.fixture(scope="module")
def servers(certs):
    """(redislite, oracle): each with .port (plain) and .tls_port."""
    lite_tls, oracle_tls, http = free_port(), free_port(), free_port()
    lite = ServerProcess("redislite", args=["--tls-port", lite_tls, "--http-port", http,
                                            "--http-tls", "yes", *certs.server_args()],
                         env={"REDISLITE_REPL_DISKLESS_SYNC_DELAY": "0"})
    lite.tls_port, lite.http_port = lite_tls, http
    oracle = ServerProcess("redis", args=["--tls-port", oracle_tls, "--repl-diskless-sync-delay", "0",
                                          *certs.server_args()])
    oracle.tls_port = oracle_tls
    _start(lite)
    try:
        _start(oracle)
    except Exception:
        lite.cleanup()
        raise
    try:
        yield lite, oracle
    finally:
        lite.cleanup()
        oracle.cleanup()


@pytest.fixture
def both(servers):
    for s in servers:
        c = s.client()
        c.flushall()
        c.close()
    return servers


def test_redis_cli_session_matches_redis(certs, both):
    script = b"\n".join([
        b"PING", b"SET greeting hello", b"GET greeting", b"APPEND greeting ,world",
        b"GET greeting", b"INCRBY counter 41", b"INCR counter", b"RPUSH list a b c", b"LRANGE list 0 -1",
        b"HSET h f1 v1 f2 v2", b"HGETALL h", b"LPUSH greeting x", b"NOSUCHCOMMAND 1",
        b"EXISTS greeting counter nokey", b"MULTI", b"INCR counter", b"EXEC", b"DBSIZE",
    ]) + b"\n"
    outputs = [cli(certs, s.tls_port, stdin=script) for s in both]
    assert outputs[0] == outputs[1]
    assert b"hello,world" in outputs[0] and b"WRONGTYPE" in outputs[0]
    # one-shot commands with arguments, RESP3 included
    for args in (["SET", "k", "v"], ["GET", "k"], ["-3", "PING"]):
        assert cli(certs, both[0].tls_port, *args) == cli(certs, both[1].tls_port, *args)


def test_config_get_tls_matches_redis(both):
    lite, oracle = (s.client(decode_responses=True) for s in both)
    try:
        ours, theirs = lite.config_get("tls-*"), oracle.config_get("tls-*")
        assert ours.pop("tls-port") == str(both[0].tls_port)
        assert theirs.pop("tls-port") == str(both[1].tls_port)
        assert ours == theirs
        assert ours["tls-auth-clients"] == "yes" and ours["tls-replication"] == "no"
    finally:
        lite.close()
        oracle.close()


def test_config_set_of_tls_settings_matches_redis(certs, both):
    """With TLS in use, settings that do not load are refused with Redis's error and the
    old ones kept; good ones apply to the next connection."""
    raws = [s.raw() for s in both]
    try:
        for args in (("tls-cert-file", "/nonexistent.crt"), ("tls-protocols", "TLSv9"),
                     ("tls-ca-cert-file", ""), ("tls-key-file", certs.client_key),
                     ("tls-ciphers", "NO-SUCH-CIPHER"), ("tls-dh-params-file", "/nonexistent.dh")):
            replies = [r.call("CONFIG", "SET", *args) for r in raws]
            assert replies[0] == replies[1] and replies[0].startswith(b"-ERR CONFIG SET failed"), args
            assert [r.call("CONFIG", "GET", args[0]) for r in raws][0] != b"*0\r\n"
        for r in raws:
            assert r.call("CONFIG", "SET", "tls-protocols", "TLSv1.3") == b"+OK\r\n"
        for s in both:
            with pytest.raises(ssl.SSLError):   # TLSv1.2 no longer offered by the server
                tls_socket(certs, s.tls_port, max_version=ssl.TLSVersion.TLSv1_2).close()
    finally:
        for r in raws:
            assert r.call("CONFIG", "SET", "tls-protocols", "") == b"+OK\r\n"
            r.close()
    for s in both:
        with tls_socket(certs, s.tls_port, max_version=ssl.TLSVersion.TLSv1_2) as sock:
            assert sock.version() == "TLSv1.2"
            sock.sendall(b"PING\r\n")
            assert sock.recv(64) == b"+PONG\r\n"


def test_redis_py_ssl(certs, both):
    for s in both:
        c = tls_client(certs, s.tls_port)
        try:
            assert c.ping() is True
            assert c.set("k", "v") and c.get("k") == b"v"
            assert c.connection_pool.get_connection().__class__.__name__ == "SSLConnection"
        finally:
            c.close()
    r3 = tls_client(certs, both[0].tls_port, protocol=3)
    try:
        assert r3.hset("h", mapping={"a": "1"}) == 1 and r3.hgetall("h") == {b"a": b"1"}
    finally:
        r3.close()


def test_client_certificates_enforced_like_redis(certs, both):
    for s in both:
        no_cert = tls_client(certs, s.tls_port, cert=False)
        with pytest.raises(redis.ConnectionError):
            no_cert.ping()
        no_cert.close()
        intruder = redis.Redis(host="127.0.0.1", port=s.tls_port, ssl=True, ssl_ca_certs=certs.ca,
                               ssl_certfile=certs.other_cert, ssl_keyfile=certs.other_key,
                               socket_timeout=5, retry=Retry(NoBackoff(), 0))
        with pytest.raises(redis.ConnectionError):
            intruder.ping()                 # a certificate from a CA we do not trust
        intruder.close()
    for s in both:
        out = cli(certs, s.tls_port, "PING", cert=False)     # "Error: ..." (TLS 1.3) or
        assert b"PONG" not in out and (b"Error" in out or b"Could not connect" in out)  # (TLS 1.2)
    # tls-auth-clients is read for each new connection: CONFIG SET applies at once
    plain = [s.client() for s in both]
    try:
        for c in plain:
            assert c.config_set("tls-auth-clients", "optional")
        for s in both:
            no_cert = tls_client(certs, s.tls_port, cert=False)
            assert no_cert.ping() is True
            no_cert.close()
            with_cert = tls_client(certs, s.tls_port)
            assert with_cert.ping() is True
            with_cert.close()
    finally:
        for c in plain:
            c.config_set("tls-auth-clients", "yes")
            c.close()
    no_cert = tls_client(certs, both[0].tls_port, cert=False)
    with pytest.raises(redis.ConnectionError):
        no_cert.ping()
    no_cert.close()


def test_plain_text_on_the_tls_port_is_dropped(certs, both):
    lite = both[0]
    keeper = tls_client(certs, lite.tls_port)
    try:
        assert keeper.set("kept", "1")
        for s in both:
            with socket.create_connection(("127.0.0.1", s.tls_port), timeout=5) as raw:
                raw.sendall(b"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$4\r\nevil\r\n$1\r\n1\r\n")
                reply = read_until_closed(raw)
            assert b"PONG" not in reply and b"+OK" not in reply
        # an HTTP request as well (cross-protocol)
        with socket.create_connection(("127.0.0.1", lite.tls_port), timeout=5) as raw:
            raw.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nFLUSHALL\n")
            read_until_closed(raw)
        assert keeper.get("kept") == b"1" and keeper.exists("evil") == 0
        with lite.raw() as plain:
            assert plain.call("GET", "kept") == b"$1\r\n1\r\n"
    finally:
        keeper.close()


def test_twisted_path_pipelining_big_replies_pubsub_blocking(certs, both):
    port = both[0].tls_port
    # one read carrying 3000 commands, answered in order
    with tls_socket(certs, port) as s:
        n = 3000
        s.sendall(b"".join(b"*2\r\n$4\r\nINCR\r\n$3\r\nctr\r\n" for _ in range(n)))
        want = b"".join(b":%d\r\n" % i for i in range(1, n + 1))
        got = b""
        while len(got) < len(want):
            chunk = s.recv(65536)
            assert chunk
            got += chunk
        assert got == want
    c = tls_client(certs, port)
    try:
        big = os.urandom(3 * 1024 * 1024)
        assert c.set("big", big) and c.get("big") == big
        c.rpush("bl", *[b"x" * 1000] * 2000)
        assert len(c.lrange("bl", 0, -1)) == 2000           # ~2 MB array reply
        # pub/sub over TLS, published from a plain client and a TLS client
        sub = tls_client(certs, port).pubsub()
        sub.subscribe("chan")
        assert sub.get_message(timeout=5)["type"] == "subscribe"
        plain = both[0].client()
        for i in range(200):
            (plain if i % 2 else c).publish("chan", b"m%d" % i)
        got = []
        deadline = time.monotonic() + 10
        while len(got) < 200 and time.monotonic() < deadline:
            m = sub.get_message(timeout=1)
            if m and m["type"] == "message":
                got.append(m["data"])
        assert got == [b"m%d" % i for i in range(200)]
        sub.close()
        # a blocked TLS client woken by a plain client, and a timeout
        waiter = tls_client(certs, port)
        result = {}
        t = threading.Thread(target=lambda: result.setdefault("r", waiter.blpop("q", timeout=5)))
        t.start()
        deadline = time.monotonic() + 5
        while plain.info("clients")["blocked_clients"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        plain.rpush("q", "job")
        t.join(10)
        assert result["r"] == (b"q", b"job")
        assert waiter.blpop("empty", timeout=0.1) is None
        waiter.close()
        plain.close()
    finally:
        c.close()


def test_resp3_own_messages_and_pipelines_in_order_like_redis(certs, both):
    """Replies and push messages written during a TLS client's own read, and messages
    from other clients between its reads, arrive in Redis's order, byte for byte."""
    from redislite.testing import RespFramer

    def frames(sock, count):
        framer, out = RespFramer(), []
        while len(out) < count:
            framer.feed(sock.recv(65536))
            while (f := framer.next_frame()) is not None:
                out.append(f)
        return out

    seen = []
    for s in both:
        with tls_socket(certs, s.tls_port) as a, tls_socket(certs, s.tls_port) as b:
            a.sendall(b"HELLO 3\r\n")
            frames(a, 1)                                    # server-specific fields
            a.sendall(b"SUBSCRIBE ch\r\nPUBLISH ch own\r\nPING\r\nSET k v\r\nGET k\r\n")
            got = frames(a, 5)
            b.sendall(b"PUBLISH ch one\r\nPUBLISH ch two\r\n")
            got += frames(a, 2)
            a.sendall(b"UNSUBSCRIBE ch\r\nPING\r\n")
            got += frames(a, 2)
            seen.append(got)
    assert seen[0] == seen[1]
    assert seen[0][1].startswith(b">3\r\n$7\r\nmessage") and seen[0][2] == b":1\r\n"


def test_many_tls_and_plain_clients_at_once(certs, both):
    """Several sockets ready in one poll: the held-replies pass must not touch TLS transports."""
    lite = both[0]
    errors, per_client, clients = [], 300, 8

    def work(i):
        try:
            c = tls_client(certs, lite.tls_port) if i % 2 else lite.client()
            for _ in range(per_client // 10):
                p = c.pipeline(transaction=False)
                for _ in range(10):
                    p.incr("shared")
                p.execute()
            assert c.get("shared") is not None
            c.close()
        except Exception as e:          # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    c = lite.client()
    assert int(c.get("shared")) == per_client * clients
    c.close()


def test_https_api(certs, servers):
    lite = servers[0]
    ctx = ssl.create_default_context(cafile=certs.ca)
    url = "https://127.0.0.1:%d/api/v1/health" % lite.http_port
    with urllib.request.urlopen(url, context=ctx, timeout=10) as resp:
        assert resp.status == 200
        json.loads(resp.read())
    req = urllib.request.Request("https://localhost:%d/api/v1/command" % lite.http_port,
                                 data=json.dumps({"args": ["PING"]}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        assert b"PONG" in resp.read()
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen("http://127.0.0.1:%d/api/v1/health" % lite.http_port, timeout=5).read()


def test_tls_only_server(certs, tmp_path):
    tls_port = free_port()
    server = TlsServerProcess("redislite", args=["--port", "0", "--tls-port", tls_port,
                                                 *certs.server_args()],
                              tls_port=tls_port, certs=certs, workdir=str(tmp_path))
    _start(server)
    try:
        c = tls_client(certs, tls_port)
        assert c.set("only", "tls") and c.get("only") == b"tls"
        assert c.config_get("port") == {"port": "0"}
        c.close()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    finally:
        server.cleanup()


def test_bad_certificate_stops_the_server_with_one_line(certs, tmp_path):
    argv = [sys.executable, "-m", "redislite", "--port", "0", "--http-port", "0", "--dir", str(tmp_path),
            "--tls-port", str(free_port()), "--tls-cert-file", str(tmp_path / "missing.crt"),
            "--tls-key-file", certs.server_key, "--tls-ca-cert-file", certs.ca]
    out = subprocess.run(argv, capture_output=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])))
    assert out.returncode != 0
    last = (out.stdout + out.stderr).decode().strip().splitlines()[-1]
    assert last.endswith("tls-cert-file: Failed to load certificate: %s: No such file or directory"
                         % (tmp_path / "missing.crt"))


@pytest_twisted.inlineCallbacks
def test_txredisapi_over_tls(certs, servers):
    import txredisapi
    from twisted.internet import ssl as tssl

    from redislite.config import Config
    from redislite.tls import client_context

    ctx = client_context(Config.defaults().with_changes({
        "tls-cert-file": certs.client_cert, "tls-key-file": certs.client_key,
        "tls-ca-cert-file": certs.ca}))

    class Factory(tssl.ClientContextFactory):
        def getContext(self):
            return ctx

    conn = yield txredisapi.Connection("127.0.0.1", servers[0].tls_port, reconnect=False,
                                       ssl_context_factory=Factory())
    try:
        yield conn.set("tx", "over-tls")
        value = yield conn.get("tx")
        assert value == "over-tls"
    finally:
        yield conn.disconnect()


def _wait(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_redislite_replica_of_a_tls_redis_master(certs, both, tmp_path):
    _, oracle = both
    master = tls_client(certs, oracle.tls_port)
    master.mset({"a": "1", "b": "2"})
    replica_tls = free_port()
    replica = ServerProcess("redislite", workdir=str(tmp_path),
                            args=["--tls-replication", "yes", "--tls-port", replica_tls, "--replicaof",
                                  "127.0.0.1:%d" % oracle.tls_port, *certs.server_args(),
                                  "--tls-client-cert-file", certs.client_cert,
                                  "--tls-client-key-file", certs.client_key])
    _start(replica)
    try:
        r = replica.client()
        assert _wait(lambda: r.info("replication")["master_link_status"] == "up"), replica.log_tail()
        # announced as Redis does: the TLS port when replicating over TLS
        assert master.info("replication")["slave0"]["port"] == replica_tls
        master.set("after", "sync")
        assert _wait(lambda: r.get("after") == b"sync")
        assert r.mget("a", "b") == [b"1", b"2"]
        r.close()
    finally:
        master.close()
        replica.cleanup()


def test_redis_replica_of_a_tls_redislite_master(certs, both, tmp_path):
    lite, _ = both
    master = tls_client(certs, lite.tls_port)
    master.mset({"x": "1", "y": "2"})
    replica = ServerProcess("redis", workdir=str(tmp_path),
                            args=["--tls-replication", "yes", "--replicaof", "127.0.0.1",
                                  str(lite.tls_port), *certs.server_args()])
    _start(replica)
    try:
        r = replica.client()
        assert _wait(lambda: r.info("replication")["master_link_status"] == "up"), replica.log_tail()
        master.set("after", "sync")
        assert _wait(lambda: r.get("after") == b"sync")
        assert r.mget("x", "y") == [b"1", b"2"]
        assert master.info("replication")["connected_slaves"] == 1
        r.close()
    finally:
        master.close()
        replica.cleanup()


def test_redislite_replica_of_a_tls_redislite_master_with_a_big_snapshot(certs, both, tmp_path):
    """The disk-target full sync through TLS (a pull producer on a TLS transport), the
    replica pausing its TLS link while it loads, then the stream and a partial resync."""
    lite, _ = both
    master = tls_client(certs, lite.tls_port)
    p = master.pipeline(transaction=False)
    for i in range(5000):
        p.set("key:%d" % i, "v%d" % i)
    p.execute()
    big = os.urandom(1024 * 1024)     # (the snapshot's CRC-64 is what costs time here)
    master.set("big", big)
    replica = ServerProcess("redislite", workdir=str(tmp_path),
                            args=["--tls-replication", "yes", "--replicaof",
                                  "127.0.0.1:%d" % lite.tls_port, *certs.server_args()])
    _start(replica)
    try:
        r = replica.client()
        assert _wait(lambda: r.info("replication")["master_link_status"] == "up", 30), replica.log_tail()
        master.incr("counter")
        assert _wait(lambda: r.get("counter") == b"1")
        assert r.dbsize() == 5002 and r.get("big") == big and r.get("key:4999") == b"v4999"
        # the link drops (CLIENT KILL on the master): the replica comes back with PSYNC
        full = master.info("stats")["sync_full"]
        master.client_kill_filter(_type="replica")
        master.set("after-kill", "1")
        assert _wait(lambda: r.get("after-kill") == b"1", 20), replica.log_tail()
        stats = master.info("stats")
        assert stats["sync_full"] == full and stats["sync_partial_ok"] >= 1
        r.close()
    finally:
        master.close()
        replica.cleanup()
