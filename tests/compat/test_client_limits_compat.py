"""Client limits against redis-server 7.0.15: protected mode, maxclients, idle
timeout, tcp-keepalive, normal-class output-buffer limits, the query buffer of
a blocked client, CLIENT KILL / PAUSE / UNPAUSE and the pre-auth limits.

Each side is a dedicated server process (these tests change maxclients,
timeout, limits and pause every client), and every case runs the same steps
on both and compares the bytes.
"""
from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time

import pytest

from redislite.testing import RawClient, ServerProcess, encode_command
from tests.compat.differential import ORACLE_ARGS, require_redis_server

KINDS = ("redis", "redislite")
PASSWORD = "s3cret"


@pytest.fixture(scope="module")
def servers():
    """Bound to every interface, so the machine's own address reaches them too
    (protected mode keeps every peer but 127.0.0.1/::1 out)."""
    require_redis_server()
    started = {k: ServerProcess(k, host="0.0.0.0", args=list(ORACLE_ARGS) if k == "redis" else [])
               for k in KINDS}
    for s in started.values():
        s.start()
    yield started
    for s in started.values():
        s.stop()
        s.cleanup()


@pytest.fixture
def auth_servers(servers):
    """The same servers with ``requirepass`` set for the test."""
    for s in servers.values():
        with s.raw() as c:
            assert c.call("CONFIG", "SET", "requirepass", PASSWORD) == b"+OK\r\n"
    yield servers
    for s in servers.values():
        with s.raw() as c:
            assert c.call("AUTH", PASSWORD) == b"+OK\r\n"
            assert c.call("CONFIG", "SET", "requirepass", "") == b"+OK\r\n"


@pytest.fixture
def admin(servers):
    """One admin connection per side; settings changed by a test are put back."""
    conns = {k: s.raw() for k, s in servers.items()}
    yield conns
    for k, c in conns.items():
        c.close()
        fresh = servers[k].raw()
        fresh.call("CLIENT", "UNPAUSE")
        for name, value in (("maxclients", "10000"), ("timeout", "0"), ("protected-mode", "yes"),
                            ("client-output-buffer-limit", "normal 0 0 0"),
                            ("client-query-buffer-limit", "1gb"), ("tcp-keepalive", "300")):
            assert fresh.call("CONFIG", "SET", name, value) == b"+OK\r\n"
        fresh.call("CLIENT", "KILL", "TYPE", "normal")
        fresh.close()


def both(servers, fn):
    """fn(kind, server) on the oracle, then RedisLite; returns {kind: result}."""
    return {k: fn(k, servers[k]) for k in KINDS}


def assert_same(results, what=""):
    assert results["redis"] == results["redislite"], what


def same(servers, fn):
    """``both``, asserting the two results are equal; returns that result."""
    results = both(servers, fn)
    assert_same(results)
    return results["redis"]


def raw_socket(server, source=None, timeout=2.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source is not None:
        s.bind((source, 0))
    s.connect(("127.0.0.1" if server.host == "0.0.0.0" else server.host, server.port))
    return s


def read_until_closed(s, timeout=3.0):
    """Everything until EOF (``<closed>``), or what came within *timeout* (``<open>``)."""
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return out + b"<closed>"
        if not d:
            return out + b"<closed>"
        out += d
    return out + b"<open>"


def reply_within(client: RawClient, seconds: float) -> bytes | None:
    client.sock.settimeout(seconds)
    try:
        return client.read_reply()
    except TimeoutError:
        return None
    finally:
        client.sock.settimeout(client.timeout)


def no_reply_within(client: RawClient, seconds: float) -> bool:
    return reply_within(client, seconds) is None


def wait_for_count(client: RawClient, marker: bytes, want: int, timeout: float = 5.0) -> int:
    """How many CLIENT LIST lines hold *marker*, polled until it is *want* or the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        n = client.call("CLIENT", "LIST").count(marker)
        if n == want or time.monotonic() > deadline:
            return n
        time.sleep(0.05)


def info_field(client: RawClient, section: str, field: str) -> int:
    text = client.call("INFO", section).decode()
    return int(re.search(r"^%s:(\d+)" % field, text, re.M).group(1))


# -- protected mode -----------------------------------------------------------------------------
def _non_loopback_ipv4():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.254", 9))       # no packet is sent for a UDP connect
        ip = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if ip.startswith("127.") else ip


def _ping_from(server, source):
    s = raw_socket(server, source)
    try:
        s.sendall(b"PING\r\n")
        return read_until_closed(s, 0.5)
    finally:
        s.close()


def test_protected_mode_denies_a_peer_that_is_not_127_0_0_1(servers, admin):
    # Redis compares the peer's address text: 127.0.0.2 is not "local".
    def run(kind, server):
        before = info_field(admin[kind], "stats", "rejected_connections")
        reply = _ping_from(server, "127.0.0.2")
        return reply, info_field(admin[kind], "stats", "rejected_connections") - before
    results = both(servers, run)
    assert_same(results)
    reply, rejected = results["redis"]
    assert reply.startswith(b"-DENIED Redis is running in protected mode") and reply.endswith(b"<closed>")
    assert rejected == 1
    assert both(servers, lambda k, s: _ping_from(s, "127.0.0.1")) == {k: b"+PONG\r\n<open>" for k in KINDS}


def test_protected_mode_off_lets_the_peer_in(servers, admin):
    for c in admin.values():
        assert c.call("CONFIG", "SET", "protected-mode", "no") == b"+OK\r\n"
    assert both(servers, lambda k, s: _ping_from(s, "127.0.0.2")) == {k: b"+PONG\r\n<open>" for k in KINDS}


def test_protected_mode_does_not_apply_with_a_password(auth_servers):
    results = both(auth_servers, lambda k, s: _ping_from(s, "127.0.0.2"))
    assert results == {k: b"-NOAUTH Authentication required.\r\n<open>" for k in KINDS}


def test_protected_mode_from_the_machines_own_address(servers):
    """Through the machine's own non-loopback address (the bind address does not
    matter in 7.0: both servers listen on every interface here)."""
    ip = _non_loopback_ipv4()
    if ip is None:
        pytest.skip("this machine has no non-loopback IPv4 address")

    def run(kind, server):
        s = socket.create_connection((ip, server.port), timeout=2)
        s.sendall(b"PING\r\n")
        return read_until_closed(s, 1.0)
    reply = same(servers, run)
    assert reply.startswith(b"-DENIED ") and reply.endswith(b"<closed>")


# -- maxclients -----------------------------------------------------------------------------------
def test_maxclients_error_then_close(servers, admin):
    def run(kind, server):
        c = admin[kind]
        n = info_field(c, "clients", "connected_clients")
        assert c.call("CONFIG", "SET", "maxclients", str(n + 2)) == b"+OK\r\n"
        before = info_field(c, "stats", "rejected_connections")
        held = [server.raw() for _ in range(2)]
        for h in held:
            assert h.call("PING") == b"+PONG\r\n"
        extra = raw_socket(server)
        extra.sendall(b"PING\r\n")
        refused = read_until_closed(extra)
        extra.close()
        rejected = info_field(c, "stats", "rejected_connections") - before
        held[0].close()
        deadline = time.monotonic() + 5
        while info_field(c, "clients", "connected_clients") > n + 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        again = server.raw()
        ok = again.call("PING")
        # the refused connection used no client id (Redis refuses before createClient)
        id_gap = int(again.call("CLIENT", "ID")[1:-2]) - int(held[1].call("CLIENT", "ID")[1:-2])
        for h in held[1:] + [again]:
            h.close()
        return refused, rejected, ok, id_gap
    refused, rejected, ok, id_gap = same(servers, run)
    assert refused in (b"-ERR max number of clients reached\r\n<closed>", b"<closed>")
    assert (rejected, ok, id_gap) == (1, b"+PONG\r\n", 1)


# -- idle timeout and keepalive --------------------------------------------------------------------
def test_timeout_closes_idle_clients_but_not_subscribers_or_blocked(servers, admin):
    for c in admin.values():
        assert c.call("CONFIG", "SET", "timeout", "1") == b"+OK\r\n"
    conns = {}
    for kind, server in servers.items():
        idle, sub, blocked = server.raw(), server.raw(), server.raw()
        sub.call("SUBSCRIBE", "ch")
        blocked.send("BLPOP", "nothing", "0")
        conns[kind] = (idle, sub, blocked)
    time.sleep(3.2)

    def run(kind, server):
        idle, sub, blocked = conns[kind]
        closed = idle.read_until_closed(timeout=3.0)
        checker = server.raw()                  # the admin connection timed out too
        assert checker.call("LPUSH", "nothing", "x") == b":1\r\n"
        served = blocked.read_reply()
        assert checker.call("PUBLISH", "ch", "m") == b":1\r\n"
        message = sub.read_reply()
        for c in (sub, blocked, checker):
            c.close()
        return closed, served, message
    assert same(servers, run)[0] == b""


def _keepalive_seconds(port, peer_port):
    """The keepalive timer of the server's side of one connection, from ss(8)."""
    out = subprocess.run(["ss", "-tnoH", "state", "established",
                          "( sport = :%d and dport = :%d )" % (port, peer_port)],
                         capture_output=True, text=True).stdout
    timers = re.findall(r"timer:\(keepalive,(?:(\d+)min)?(\d+)(?:\.\d+)?(m?s)", out)
    if not timers:
        return None
    minutes, value, unit = timers[-1]
    secs = int(minutes or 0) * 60 + (int(value) if unit == "sec" or unit == "s" else 0)
    return secs


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2) to read socket timers")
def test_tcp_keepalive_is_set_on_accepted_sockets(servers, admin):
    for c in admin.values():
        assert c.call("CONFIG", "SET", "tcp-keepalive", "60") == b"+OK\r\n"

    def run(kind, server):
        c = server.raw()
        c.call("PING")
        secs = _keepalive_seconds(server.port, c.sock.getsockname()[1])
        c.close()
        return secs is not None and 50 <= secs <= 60
    assert both(servers, run) == {k: True for k in KINDS}


# -- output buffer limit, normal class ---------------------------------------------------------------
def _stalled_reader(server, commands):
    s = raw_socket(server)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(commands)
    return s


def _gets(n):
    return b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n" * n


def test_hard_limit_drops_a_client_that_does_not_read(servers, admin):
    def run(kind, server):
        c = admin[kind]
        assert c.call("SET", "big", "x" * 100_000) == b"+OK\r\n"
        assert c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0") == b"+OK\r\n"
        s = _stalled_reader(server, _gets(200))       # 20 MB of replies
        listed = wait_for_count(c, b"cmd=get", 0)
        received = read_until_closed(s)               # the batch's replies are dropped, none sent
        s.close()
        return listed, received, c.call("PING")
    assert same(servers, run) == (0, b"<closed>", b"+PONG\r\n")


def test_soft_limit_drops_after_its_seconds(servers, admin):
    def run(kind, server):
        c = admin[kind]
        assert c.call("SET", "big", "x" * 100_000) == b"+OK\r\n"
        assert c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 0 500kb 1") == b"+OK\r\n"
        s = _stalled_reader(server, _gets(100))       # 10 MB queued: past soft, no hard limit
        time.sleep(0.4)
        early = c.call("CLIENT", "LIST").count(b"cmd=get")
        time.sleep(1.8)
        s.sendall(_gets(1))                        # Redis checks the limit when a reply is added
        time.sleep(0.4)
        late = c.call("CLIENT", "LIST").count(b"cmd=get")
        s.close()
        return early, late
    assert same(servers, run) == (1, 0)


def test_no_limit_by_default_keeps_a_slow_reader(servers, admin):
    def run(kind, server):
        c = admin[kind]
        assert c.call("SET", "big", "x" * 100_000) == b"+OK\r\n"
        s = _stalled_reader(server, _gets(50))
        time.sleep(0.4)
        listed = c.call("CLIENT", "LIST").count(b"cmd=get")
        s.close()
        return listed
    assert both(servers, run) == {k: 1 for k in KINDS}


# -- query buffer ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["blocked", "paused"])
def test_query_buffer_limit_drops_a_waiting_client_that_keeps_sending(servers, admin, how):
    """A blocked (BLPOP) or paused (CLIENT PAUSE) client's later commands wait in its
    query buffer, which client-query-buffer-limit bounds: past it the client is dropped."""
    first, marker = {"blocked": ((b"BLPOP", b"none", b"0"), b"cmd=blpop"),
                     "paused": ((b"SET", b"k", b"v"), b"cmd=set")}[how]

    def run(kind, server):
        c = admin[kind]
        assert c.call("CONFIG", "SET", "client-query-buffer-limit", "1mb") == b"+OK\r\n"
        if how == "paused":
            assert c.call("CLIENT", "PAUSE", "20000", "WRITE") == b"+OK\r\n"
        s = raw_socket(server)
        s.sendall(encode_command(*first))
        assert wait_for_count(c, marker, 1) == 1            # waiting
        try:
            for _ in range(60):
                s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n" * 1000)   # 1.6 MB queued
        except OSError:
            pass
        listed = wait_for_count(c, marker, 0)
        c.call("CLIENT", "UNPAUSE")
        s.close()
        return listed, c.call("EXISTS", "k")
    assert same(servers, run) == (0, b":0\r\n")


def test_query_buffer_limit_is_not_hit_by_a_long_pipeline(servers, admin):
    """Commands are consumed as they arrive: 1.6 MB of them under a 1 MB limit is fine."""
    def run(kind, server):
        c = admin[kind]
        assert c.call("CONFIG", "SET", "client-query-buffer-limit", "1mb") == b"+OK\r\n"
        p = server.raw()
        replies = p.pipeline([("INCR", "n")] * 52000)    # 1.1 MB
        p.close()
        return replies[-1], c.call("GET", "n")
    assert same(servers, run) == (b":52000\r\n", b"$5\r\n52000\r\n")


def test_query_buffer_limit_big_bulk(servers, admin):
    def run(kind, server):
        c = admin[kind]
        assert c.call("CONFIG", "SET", "client-query-buffer-limit", "1mb") == b"+OK\r\n"
        s = raw_socket(server)
        try:
            s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n" + b"x" * 1_500_000)
        except OSError:
            pass
        reply = read_until_closed(s)
        s.close()
        return reply, c.call("EXISTS", "k")
    assert same(servers, run) == (b"<closed>", b":0\r\n")


# -- CLIENT KILL -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ("CLIENT", "KILL"), ("CLIENT", "KILL", "1.2.3.4:5"), ("CLIENT", "KILL", "ID"),
    ("CLIENT", "KILL", "ID", "x"), ("CLIENT", "KILL", "ID", "0"), ("CLIENT", "KILL", "ID", "-1"),
    ("CLIENT", "KILL", "ID", "999999"), ("CLIENT", "KILL", "TYPE", "foo"),
    ("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "maybe"), ("CLIENT", "KILL", "USER", "nobody"),
    ("CLIENT", "KILL", "FOO", "bar"), ("CLIENT", "KILL", "ADDR", "1.2.3.4:5"),
    ("CLIENT", "KILL", "LADDR", "1.2.3.4:5"), ("CLIENT", "KILL", "TYPE", "master"),
    ("CLIENT", "KILL", "TYPE", "replica"), ("CLIENT", "KILL", "TYPE", "slave"),
    ("CLIENT", "KILL", "ID", "99", "TYPE"), ("CLIENT", "KILL", "MAXAGE", "10"),
])
def test_client_kill_errors(servers, admin, args):
    assert_same(both(servers, lambda k, s: admin[k].call(*args)), args)


def test_client_kill_filters(servers, admin):
    def run(kind, server):
        c = admin[kind]
        subscriber, plain, other = server.raw(), server.raw(), server.raw()
        subscriber.call("SUBSCRIBE", "ch")
        plain_id = int(plain.call("CLIENT", "ID")[1:-2])
        other_addr = re.search(rb"addr=(\S+)", other.call("CLIENT", "INFO")).group(1).decode()
        own_laddr = re.search(rb"laddr=(\S+)", c.call("CLIENT", "INFO")).group(1).decode()
        out = [c.call("CLIENT", "KILL", "TYPE", "pubsub"),
               subscriber.read_until_closed(),
               c.call("CLIENT", "KILL", "ID", str(plain_id), "TYPE", "pubsub"),
               c.call("CLIENT", "KILL", "ID", str(plain_id)),
               plain.read_until_closed(),
               c.call("CLIENT", "KILL", other_addr),           # old form
               other.read_until_closed(),
               c.call("CLIENT", "KILL", "LADDR", own_laddr, "SKIPME", "yes"),
               c.call("CLIENT", "KILL", "USER", "default", "TYPE", "normal")]
        c.send("CLIENT", "KILL", "LADDR", own_laddr, "SKIPME", "no")
        out.append(c.sock.recv(100))
        out.append(c.read_until_closed())
        return out
    out = same(servers, run)
    assert out[0] == b":1\r\n" and out[-2] == b":1\r\n"


# -- CLIENT PAUSE / UNPAUSE --------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ("CLIENT", "PAUSE"), ("CLIENT", "PAUSE", "x"), ("CLIENT", "PAUSE", "-1"), ("CLIENT", "PAUSE", "1.5"),
    ("CLIENT", "PAUSE", "10", "foo"), ("CLIENT", "PAUSE", "x", "foo"), ("CLIENT", "PAUSE", "10", "write", "x"),
    ("CLIENT", "Pause", "10", "all", "x"), ("CLIENT", "PAUSE", "9223372036854775808"),
    ("CLIENT", "UNPAUSE", "x"), ("CLIENT", "UNPAUSE"), ("CLIENT", "PAUSE", "0"), ("CLIENT", "PAUSE", "0", "WRITE"),
])
def test_client_pause_errors(servers, admin, args):
    assert_same(both(servers, lambda k, s: admin[k].call(*args)), args)


def test_pause_write_holds_writes_until_unpause(servers, admin):
    def run(kind, server):
        c = admin[kind]
        c.call("SET", "k", "v")
        reader, writer = server.raw(), server.raw()
        out = [c.call("CLIENT", "PAUSE", "20000", "WRITE"), reader.call("GET", "k")]
        writer.send("SET", "k", "w")
        writer.send("GET", "k")                         # queued behind the paused SET
        out.append(no_reply_within(writer, 0.3))
        listed = [line for line in c.call("CLIENT", "LIST").split(b"\n") if b"cmd=set" in line]
        out.append([re.search(rb"flags=(\S+)", line).group(1) for line in listed])
        out.append(info_field(c, "clients", "blocked_clients"))
        out.append(reader.call("GET", "k"))
        out.append(c.call("CLIENT", "UNPAUSE"))
        out.append(writer.read_reply())
        out.append(writer.read_reply())
        reader.close()
        writer.close()
        return out
    assert same(servers, run)[2:] == [True, [b"b"], 1, b"$1\r\nv\r\n", b"+OK\r\n", b"+OK\r\n", b"$1\r\nw\r\n"]


@pytest.mark.parametrize("args,paused", [
    (("PUBLISH", "ch", "m"), True), (("SPUBLISH", "ch", "m"), True), (("EVAL", "return 1", "0"), True),
    (("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"), True), (("PFCOUNT", "h"), True),
    (("FCALL", "f", "0"), True), (("EVAL_RO", "return 1", "0"), False), (("SORT_RO", "l"), False),
    (("PING",), False), (("DEL", "nokey"), True), (("BLPOP", "l", "0.01"), True), (("SCRIPT", "FLUSH"), False),
    (("CONFIG", "SET", "maxmemory", "0"), False), (("EXPIRE", "k", "100"), True), (("WAIT", "0", "0"), False),
])
def test_pause_write_may_replicate_commands(servers, admin, args, paused):
    def run(kind, server):
        c = admin[kind]
        other = server.raw()
        c.call("CLIENT", "PAUSE", "20000", "WRITE")
        other.send(*args)
        reply = reply_within(other, 0.4)
        held = reply is None
        c.call("CLIENT", "UNPAUSE")
        if held:
            reply = other.read_reply()
        other.close()
        return held, reply
    held, _reply = same(servers, run)
    assert held is paused


def test_pause_write_and_multi(servers, admin):
    def run(kind, server):
        c = admin[kind]
        reads, writes = server.raw(), server.raw()
        out = [c.call("CLIENT", "PAUSE", "20000", "WRITE"),
               reads.call("MULTI"), reads.call("GET", "x"), reads.call("EXEC"),
               writes.call("MULTI")]
        writes.send("SET", "x", "1")            # queueing a write waits as well
        out.append(no_reply_within(writes, 0.25))
        waiting = [line for line in c.call("CLIENT", "LIST").split(b"\n") if b"cmd=set" in line]
        out.append([re.search(rb"flags=(\S+) .* multi=(\S+)", line).groups() for line in waiting])
        out.append(c.call("CLIENT", "UNPAUSE"))
        out.append(writes.read_reply())
        out.append(writes.call("EXEC"))
        reads.close()
        writes.close()
        return out
    assert same(servers, run)[-5:] == [True, [(b"xb", b"0")], b"+OK\r\n", b"+QUEUED\r\n", b"*1\r\n+OK\r\n"]


def test_pause_all_holds_everything_until_the_timeout(servers, admin):
    def run(kind, server):
        c = admin[kind]
        a, b = server.raw(), server.raw()
        out = [c.call("CLIENT", "PAUSE", "700", "ALL")]
        a.send("PING")
        b.send("CLIENT", "UNPAUSE")                     # paused too: ALL means all
        out.append(no_reply_within(a, 0.3))
        out.append(no_reply_within(b, 0.01))
        a.sock.settimeout(5)
        out.append(a.read_reply())
        out.append(b.read_reply())
        out.append(c.call("PAUSE" if False else "PING"))
        a.close()
        b.close()
        return out
    assert same(servers, run) == [b"+OK\r\n", True, True, b"+PONG\r\n", b"+OK\r\n", b"+PONG\r\n"]


def test_pause_keeps_expired_keys_until_it_ends(servers, admin):
    """While paused the dataset is static: an expired key reads as missing but is
    not deleted (no expired_keys), and the deletion happens after UNPAUSE."""
    def run(kind, server):
        c = admin[kind]
        c.call("FLUSHALL")
        c.call("SET", "t", "v", "PX", "100")
        before = info_field(c, "stats", "expired_keys")
        c.call("CLIENT", "PAUSE", "20000", "WRITE")
        time.sleep(0.4)
        out = [c.call("GET", "t"), c.call("DBSIZE"), info_field(c, "stats", "expired_keys") - before]
        c.call("CLIENT", "UNPAUSE")
        out.append(c.call("GET", "t"))
        out.append(info_field(c, "stats", "expired_keys") - before)
        return out
    assert same(servers, run) == [b"$-1\r\n", b":1\r\n", 0, b"$-1\r\n", 1]


# -- pre-auth limits (CVE-2021-32675) ---------------------------------------------------------------------
def _exchange(server, data):
    s = raw_socket(server)
    try:
        s.sendall(data)
        return read_until_closed(s, 0.5)
    finally:
        s.close()


def _bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)


@pytest.mark.parametrize("data", [
    b"*11\r\n", b"*1\r\n$16385\r\n", b"*2\r\n$4\r\nPING\r\n$16385\r\n",
    b"*10\r\n" + b"$4\r\nPING\r\n" * 10,
    b"*1\r\n$16384\r\n" + b"x" * 16384 + b"\r\n",
    # after RESET the connection is unauthenticated again, with the limits back
    b"*2\r\n$4\r\nAUTH\r\n" + _bulk(PASSWORD.encode()) + b"*1\r\n$5\r\nRESET\r\n*11\r\n",
    # AUTH user pass in the same read lifts them for what follows
    b"*3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n" + _bulk(PASSWORD.encode())
    + b"*2\r\n$4\r\nECHO\r\n$20000\r\n" + b"y" * 20000 + b"\r\n",
    # a wrong password does not
    b"*2\r\n$4\r\nAUTH\r\n$5\r\nwrong\r\n*12\r\n",
], ids=["multibulk-11", "bulk-16385", "bulk-16385-2nd-arg", "multibulk-10-ok", "bulk-16384-ok",
        "reset-rearms", "auth-user-lifts", "wrong-password-keeps"])
def test_unauthenticated_limits(auth_servers, data):
    results = both(auth_servers, lambda k, s: _exchange(s, data))
    assert results["redis"] == results["redislite"], (results["redis"][:200], results["redislite"][:200])
