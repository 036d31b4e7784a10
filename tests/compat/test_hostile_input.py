"""Hostile input on a live server: each case gets Redis's exact answer, memory
stays bounded, and another client is served throughout.

Every case is sent to the real redis-server and to RedisLite; the bytes each
sends back before closing must be identical.  A bystander client connected for
the whole module must get PONG after every case, and RedisLite's RSS may grow
by less than ``RSS_BOUND_KB`` (256 MB) over the module (the biggest case sends
a 7 MB request of 1,048,577 arguments).  The command-level CVE inputs are in
test_cve_inputs.py, protocol fuzzing in test_fuzz_live.py."""

import contextlib
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from redislite.testing import RawClient, encode_command

pytestmark = pytest.mark.compat

RSS_BOUND_KB = 256 * 1024


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def exchange(server, payload, chunk=None, timeout=3.0, until=None):
    """Send payload (optionally in chunks) and read until the server closes or goes quiet.

    With ``until`` (a test on the bytes read so far) a quiet spell does not end
    the read: big requests can take a server longer than the 0.5 s quiet window
    to parse on a loaded CI machine, so those cases wait for their whole answer
    (up to ``timeout``) instead."""
    s = socket.create_connection((server.host, server.port), timeout=timeout)
    try:
        if chunk:
            for i in range(0, len(payload), chunk):
                s.sendall(payload[i:i + chunk])
        else:
            s.sendall(payload)
        s.settimeout(0.5)
        out = b""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                data = s.recv(1 << 16)
            except socket.timeout:
                if until is None:
                    break
                continue
            if not data:
                break
            out += data
            if until is not None and until(out):
                break
        return out
    finally:
        s.close()


def exchange_both(oracle, subject, payload, timeout=3.0):
    """exchange() with both servers at once (most cases end on a quiet timeout)."""
    with ThreadPoolExecutor(2) as pool:
        expected, got = pool.map(lambda server: exchange(server, payload, timeout=timeout), (oracle, subject))
    return expected, got


CASES = {
    "garbage": b"\x00\xff\xfe garbage \x01\r\n",
    "huge-multibulk-count": b"*3000000000\r\n",
    "negative-bulk": b"*1\r\n$-10\r\n",
    "declared-2gb-bulk": b"*1\r\n$2147483648\r\n",
    "bulk-not-dollar": b"*2\r\n$3\r\nGET\r\n:12\r\n",
    "bad-multibulk": b"*abc\r\n",
    "unbalanced-quotes": b'SET "a b\r\n',
    "http-post": b"POST / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "host-header": b"Host: localhost\r\n",
    "inline-ok": b"SET k v\r\nGET k\r\n",
    "empty-multibulk": b"*0\r\n*-1\r\nPING\r\n",
    # cross-protocol scripting: HTTP sent to the RESP port is dropped
    "http-get": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "http-post-body": b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 9\r\n\r\nSET k v\r\n",
    "post-lowercase": b"post /x\r\n",
    "host-multibulk": b"*2\r\n$5\r\nHost:\r\n$1\r\nx\r\n",
    "ping-then-post": b"PING\r\nPOST / HTTP/1.1\r\n",
    "ping-then-host": b"*1\r\n$4\r\nPING\r\nHost: x\r\n",
    # counts and lengths at the edges
    "multibulk-1048577": b"*1048577\r\n",
    "multibulk-int-max": b"*2147483647\r\n",
    "bulk-llong-max": b"*1\r\n$9223372036854775807\r\n",
    "bulk-past-llong": b"*1\r\n$9223372036854775808\r\n",
    "multibulk-plus": b"*+1\r\n",
    "inline-nul": b"PI\x00NG\r\n",
    "inline-lf-only": b"PING\nPING\n",
    "inline-escapes": b'ECHO "a\\x41\\n" \'b\\\'c\'\r\nECHO "\\xZZ"\r\nECHO "a"b\r\n',
    # unknown names and arguments are echoed as raw bytes, cut at 128 bytes (not characters)
    "unknown-not-utf8": b"*2\r\n$4\r\nf\xffoo\r\n$3\r\na\xfeb\r\n",
    "unknown-multibyte-cut": b"*2\r\n$200\r\n" + b"\xc3\xa9" * 100 + b"\r\n$200\r\n" + b"\xc3\xa9" * 100 + b"\r\n",
    "unknown-subcommand-not-utf8": b"*2\r\n$6\r\nCONFIG\r\n$4\r\ng\xffet\r\n",
}


@contextlib.contextmanager
def watched_bystander(server, bound_kb, what):
    """A client connected before the first case (the cases check it is still
    served); when the cases end, the server's RSS must have grown by less than
    ``bound_kb``."""
    before = rss_kb(server.pid)
    client = RawClient(server.host, server.port, timeout=20)
    yield client
    client.close()
    if server.running:
        grown = rss_kb(server.pid) - before
        print("\nRedisLite RSS over the %s: %d kB -> %d kB" % (what, before, before + grown))
        assert grown < bound_kb, "RedisLite RSS grew by %d kB over the %s" % (grown, what)


@pytest.fixture(scope="module")
def bystander(redislite_server):
    """Connected before the first case, used after each: other clients are served."""
    with watched_bystander(redislite_server, RSS_BOUND_KB, "hostile inputs") as client:
        yield client


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_input_gets_redis_answer(redis_server, redislite_server, bystander, name):
    expected, got = exchange_both(redis_server, redislite_server, CASES[name])
    assert got == expected
    assert bystander.call("PING") == b"+PONG\r\n"


@contextlib.contextmanager
def config_on_both(servers, name, value, restore):
    """``CONFIG SET name value`` on every server for one test, ``restore`` after."""
    admins = [RawClient(s.host, s.port) for s in servers]
    for c in admins:
        assert c.call("CONFIG", "SET", name, value) == b"+OK\r\n"
    try:
        yield value
    finally:
        for c in admins:
            c.call("CONFIG", "SET", name, restore)
            c.close()


@pytest.fixture
def requirepass(redis_server, redislite_server):
    """requirepass set on both servers for one test (undone after)."""
    with config_on_both((redis_server, redislite_server), "requirepass", "s3cret", "") as pw:
        yield pw


PRE_AUTH = {
    "multibulk-1e9": b"*1000000000\r\n",
    "multibulk-11": b"*11\r\n",
    "multibulk-10": b"*10\r\n",
    "bulk-2e9": b"*1\r\n$2000000000\r\n",
    "bulk-16385": b"*1\r\n$16385\r\n",
    "bulk-16384": b"*1\r\n$16384\r\n",
    "inline-11-args": b"ECHO 1 2 3 4 5 6 7 8 9 10 11\r\n",
    "inline-70k": b"PING " + b"a" * 70000 + b"\r\n",
    "ping": encode_command("PING"),
    "wrong-auth-then-11": encode_command("AUTH", "nope") + b"*11\r\n",
    "auth-then-1e9": encode_command("AUTH", "s3cret") + b"*1000000000\r\n",
    "auth-then-2e9-bulk": encode_command("AUTH", "s3cret") + b"*1\r\n$2000000000\r\n",
    "auth-then-big-ok": encode_command("AUTH", "s3cret") + encode_command("ECHO", "x" * 20000),
    "http-get": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(PRE_AUTH))
def test_huge_headers_before_auth_get_redis_answer(redis_server, redislite_server, bystander, requirepass, name):
    """CVE-2021-32675: before AUTH, more than 10 arguments or a bulk over 16 KB is refused."""
    before = rss_kb(redislite_server.pid)
    expected, got = exchange_both(redis_server, redislite_server, PRE_AUTH[name])
    assert got == expected
    assert bystander.call("PING") == b"+PONG\r\n"
    assert rss_kb(redislite_server.pid) - before < 32 * 1024


def test_unauthenticated_declared_huge_bulk_does_not_buffer(redis_server, redislite_server, bystander,
                                                            requirepass):
    """A 100 MB bulk header (under proto-max-bulk-len) before AUTH is refused
    at the header; the 1 MB of payload the client goes on sending is never
    buffered (the connection is closed)."""
    before = rss_kb(redislite_server.pid)
    replies = []
    for server in (redis_server, redislite_server):
        s = socket.create_connection((server.host, server.port), timeout=5)
        try:
            s.sendall(b"*1\r\n$100000000\r\n")
            replies.append(s.recv(1024))
            try:
                s.sendall(b"x" * (1 << 20))
            except OSError:     # reset or broken pipe: the server has closed
                pass
        finally:
            s.close()
    assert replies[1] == replies[0] == b"-ERR Protocol error: unauthenticated bulk length\r\n"
    assert bystander.call("PING") == b"+PONG\r\n"
    assert rss_kb(redislite_server.pid) - before < 32 * 1024


def test_a_million_arguments_in_one_command(redis_server, redislite_server, bystander):
    """*1048577: one ECHO with 1,048,576 one-byte arguments (a 7 MB request)."""
    payload = b"*1048577\r\n$4\r\nECHO\r\n" + b"$1\r\na\r\n" * 1048576
    one_line = lambda out: out.endswith(b"\r\n")
    expected = exchange(redis_server, payload, timeout=30, until=one_line)
    got = exchange(redislite_server, payload, timeout=30, until=one_line)
    assert got == expected == b"-ERR wrong number of arguments for 'echo' command\r\n"
    assert bystander.call("PING") == b"+PONG\r\n"


def test_del_of_100k_keys_and_100k_pipelined_dels(redis_server, redislite_server, bystander):
    keys = [b"hk:%d" % i for i in range(100000)]
    replies = []
    for server in (redis_server, redislite_server):
        c = RawClient(server.host, server.port, timeout=60)
        try:
            c.call("FLUSHALL")
            for i in range(0, len(keys), 20000):
                assert c.call("MSET", *[x for k in keys[i:i + 20000] for x in (k, b"v")]) == b"+OK\r\n"
            one = c.call("DEL", *keys[:50000])
            piped = c.pipeline([("DEL", k) for k in keys[40000:]])
            replies.append((one, piped.count(b":1\r\n"), piped.count(b":0\r\n"), c.call("DBSIZE")))
            c.call("FLUSHALL")
        finally:
            c.close()
    assert replies[1] == replies[0] == (b":50000\r\n", 50000, 10000, b":0\r\n")
    assert bystander.call("PING") == b"+PONG\r\n"


def test_one_byte_trickle_matches_redis(redis_server, redislite_server):
    payload = b"*3\r\n$3\r\nSET\r\n$5\r\ntrick\r\n$" + b"2000\r\n" + b"x" * 2000 + b"\r\n*2\r\n$3\r\nGET\r\n$5\r\ntrick\r\n"
    assert exchange(redislite_server, payload, chunk=1) == exchange(redis_server, payload, chunk=1)


def test_ten_thousand_pipelined_commands_in_one_write(redis_server, redislite_server):
    payload = b"*2\r\n$3\r\nDEL\r\n$11\r\nhostile:ctr\r\n" + b"".join(
        b"*2\r\n$4\r\nINCR\r\n$11\r\nhostile:ctr\r\n" for _ in range(10000))
    all_replies = lambda out: out.count(b"\r\n") >= 10001
    a = exchange(redis_server, payload, timeout=10, until=all_replies)
    b = exchange(redislite_server, payload, timeout=10, until=all_replies)
    assert b == a
    assert b.count(b"\r\n") == 10001


def test_declared_huge_bulk_is_rejected_before_buffering(redislite_server):
    before = rss_kb(redislite_server.pid)
    s = socket.create_connection((redislite_server.host, redislite_server.port))
    try:
        # Redis accepts a 512 MB bulk header; send part of the payload and stop.
        s.sendall(b"*2\r\n$3\r\nGET\r\n$536870912\r\n")
        s.sendall(b"x" * (4 << 20))
        assert RawClient(redislite_server.host, redislite_server.port).call("PING") == b"+PONG\r\n"
    finally:
        s.close()
    time.sleep(0.2)
    assert RawClient(redislite_server.host, redislite_server.port).call("PING") == b"+PONG\r\n"
    # 4 MB of payload must not have turned into hundreds of MB
    assert rss_kb(redislite_server.pid) - before < 64 * 1024
