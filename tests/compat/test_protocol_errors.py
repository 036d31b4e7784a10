"""Pin the request parser's behaviour to a real redis-server (the oracle).

For each raw input we compute what RequestParser implies (the replies of the
commands before the error, then the error reply, then a close) and assert the
real server sends exactly those bytes.  Inputs only carry commands whose
replies are trivial to predict (PING, ECHO, AUTH).

Skipped when ``redis-server`` is not on PATH, unless REDISLITE_REQUIRE_REDIS=1.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from redislite.resp.parser import ProtocolError, RequestParser

REDIS = shutil.which("redis-server")
if REDIS is None:
    if os.environ.get("REDISLITE_REQUIRE_REDIS") == "1":
        raise RuntimeError("redis-server not on PATH and REDISLITE_REQUIRE_REDIS=1")
    pytest.skip("redis-server not on PATH", allow_module_level=True)

PASSWORD = b"s3cret"
QUERY_LIMIT = 1024 * 1024     # the server's client-query-buffer-limit, mirrored in the parser


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(extra):
    workdir = tempfile.mkdtemp(prefix="redislite-proto-")
    for _attempt in range(5):
        port = _free_port()
        proc = subprocess.Popen(
            [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", workdir, "--client-query-buffer-limit", "1mb"] + extra,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return proc, port, workdir
            except OSError:
                time.sleep(0.02)
        proc.kill()
        proc.wait()
    raise RuntimeError("could not start redis-server")


@pytest.fixture(scope="module")
def servers():
    """Two throwaway servers: one open, one with requirepass (unauthenticated limits)."""
    started = [_start([]), _start(["--requirepass", PASSWORD.decode()])]
    yield {"open": started[0][1], "auth": started[1][1]}
    for proc, _port, workdir in started:
        proc.terminate()
        proc.wait(5)
        shutil.rmtree(workdir, ignore_errors=True)


def exchange(port, chunks, expect_len=None, timeout=1.0):
    """Send chunks, read until the server closes (or ``expect_len`` bytes / timeout).

    Returns (bytes received, closed?)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(timeout)
    out = b""
    try:
        for c in chunks:
            s.sendall(c)
            time.sleep(0.005)
        while expect_len is None or len(out) < expect_len:
            d = s.recv(65536)
            if not d:
                return out, True
            out += d
        # Got everything expected: make sure nothing more arrives and it stays open.
        s.settimeout(0.05)
        extra = s.recv(65536)
        return out + extra, not extra
    except socket.timeout:
        return out, False
    except (ConnectionResetError, BrokenPipeError):
        return out, True
    finally:
        s.close()


def _bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)


def reply_for(argv, authed):
    """What Redis answers to the few commands these inputs use."""
    name = argv[0].lower()
    if name == b"auth":
        if len(argv) == 2 and argv[1] == PASSWORD:
            return b"+OK\r\n", True
        return b"-WRONGPASS invalid username-password pair or user is disabled.\r\n", authed
    if not authed:
        return b"-NOAUTH Authentication required.\r\n", authed
    if name == b"ping" and len(argv) <= 2:
        return (b"+PONG\r\n" if len(argv) == 1 else _bulk(argv[1])), authed
    if name == b"echo" and len(argv) == 2:
        return _bulk(argv[1]), authed
    assert name in (b"ping", b"echo"), argv
    return b"-ERR wrong number of arguments for '%s' command\r\n" % name, authed


def predict(chunks, auth=False, **limits):
    """Run our parser (and a toy executor) over the chunks: (expected bytes, closed?)."""
    p = RequestParser(max_query_buffer=QUERY_LIMIT, **limits)
    authed = not auth
    p.auth_required = not authed
    out = b""
    try:
        for c in chunks:
            cmds = p.feed(c)
            while True:
                for argv in cmds:
                    r, authed = reply_for(argv, authed)
                    p.auth_required = not authed
                    out += r
                if not p.resume_needed:
                    break
                cmds = p.feed(b"")
    except ProtocolError as e:
        if e.silent:
            return b"", True      # Redis drops even the earlier replies of that read
        for argv in e.commands:
            r, authed = reply_for(argv, authed)
            out += r
        return out + e.reply, True
    return out, False


def check(port, chunks, auth=False):
    expected, closes = predict(chunks, auth)
    got, closed = exchange(port, chunks, expect_len=None if closes else len(expected),
                           timeout=2.0 if closes else 0.5)
    assert (got, closed) == (expected, closes)
    return expected


PING = b"*1\r\n$4\r\nPING\r\n"

ERROR_CASES = [
    # invalid multibulk length (string2ll strictness, INT_MAX)
    b"*-0\r\n", b"*01\r\n", b"*+1\r\n", b"* 1\r\n", b"*\r\n", b"*-\r\n", b"*1_0\r\n",
    b"*-99999999999999999999\r\n", b"*2147483648\r\n", b"*3000000000\r\n",
    # invalid bulk length
    b"*1\r\n$-1\r\n", b"*1\r\n$-10\r\n", b"*1\r\n$04\r\n", b"*1\r\n$+4\r\n", b"*1\r\n$\r\n",
    b"*1\r\n$2147483648\r\n", b"*1\r\n$536870913\r\n", b"*1\r\n$-0\r\n",
    # expected '$'
    b"*1\r\n:4\r\n", b"*1\r\n+4\r\n", b"*1\r\n\r\n", b"*1\r\n\n4\r\n", b"*1\r\n\xff4\r\n",
    b"*2\r\n$4\r\nECHO\r\n*1\r\n",
    # unbalanced quotes
    b'ECHO "a\r\n', b"ECHO 'a\r\n", b'ECHO "a"b\r\n', b"ECHO 'a'b\r\n", b'ECHO "a\\"\r\n',
    # too big headers / inline lines (sent without their delimiter)
    b"x" * 70000, b"*" + b"1" * 70000, b"*1\r\n" + b"$" * 70000, b"PI\x00NG" + b"x" * 70000,
]


@pytest.mark.parametrize("bad", ERROR_CASES, ids=lambda b: repr(b[:24]))
def test_error_after_pings(servers, bad):
    expected = check(servers["open"], [b"PING\r\n" + PING + bad])
    assert expected.startswith(b"+PONG\r\n+PONG\r\n-ERR Protocol error: ")


OK_CASES = [
    b"*0\r\n*-1\r\n*-10\r\n*-9223372036854775808\r\n" + PING,
    b"*1\rX$4\rYPING\r\n",                       # byte after '\r' unchecked
    b"*1\r\n$4\r\nPINGXY",                        # CRLF after payload unchecked
    b"*2\r\n$4\r\nECHO\r\n$1\r\nxyz\r\nPING\r\n",    # "yz" skipped, "\r\n" empty inline
    b"PING\r\n\r\n\n   \r\nPING\n",
    b"ECHO a\rb\r\n", b"ECHO a\x0bb\r\n", b"ECHO POST\r\n",
    b'ECHO "\\x41\\x4g\\n\\q"\r\n', b"ECHO 'a\\'b\\n'\r\n", b'ECHO ab"cd"\r\n', b"ECHO ''\r\n",
    b"ECHO \xff\x85\r\n",
]


@pytest.mark.parametrize("data", OK_CASES, ids=lambda b: repr(b[:24]))
def test_accepted_quirks(servers, data):
    check(servers["open"], [data])


WAITING_CASES = [
    b"*2147483647\r\n", b"*1\r\n$536870912\r\n", b"*1\r\n:4", b"PING\r\nPI\x00NG\r\nPING\r\n",
    b"*1\r\n$\x004\r\n" + PING, b"*1\x00\r\n" + PING, b"PING\r\n" + b"x" * 65536,
]


@pytest.mark.parametrize("data", WAITING_CASES, ids=lambda b: repr(b[:24]))
def test_incomplete_stays_open(servers, data):
    expected, closes = predict([data])
    assert not closes
    got, closed = exchange(servers["open"], [data], timeout=0.3)
    assert (got, closed) == (expected, False)


@pytest.mark.parametrize("probe", [
    b"POST / HTTP/1.1\r\n", b"Host: x\r\n", b"host:\r\n", b"PoSt\r\n", b'"POST"\r\n',
    b"*1\r\n$4\r\nPOST\r\n", b"*2\r\n$5\r\nHOST:\r\n$1\r\nx\r\n",
])
def test_cross_protocol_probe_closes_silently(servers, probe):
    assert check(servers["open"], [b"PING\r\n" + PING + probe + b"PING\r\n"]) == b""


def test_query_buffer_limit_closes_silently(servers):
    chunks = [b"*1\r\n$2000000\r\n"] + [b"x" * 65536] * 20
    assert predict(chunks) == (b"", True)
    got, closed = exchange(servers["open"], chunks, timeout=2.0)
    assert (got, closed) == (b"", True)


@pytest.mark.parametrize("data", [
    b"*11\r\n", b"*1\r\n$16385\r\n", b"*2\r\n$4\r\nAUTH\r\n$16385\r\n", PING + b"*11\r\n",
    b"*3000000000\r\n", b"*1\r\n$536870913\r\n",
])
def test_unauthenticated_limits(servers, data):
    check(servers["auth"], [data], auth=True)


def test_unauthenticated_ok_at_limits(servers):
    data = b"*10\r\n" + b"$4\r\nPING\r\n" * 10 + b"PING a b c d e f g h i j k l\r\n"
    check(servers["auth"], [data], auth=True)


@pytest.mark.parametrize("password", [PASSWORD, b"wrong"])
def test_auth_lifts_limits_within_one_read(servers, password):
    data = (b"*2\r\n$4\r\nAUTH\r\n" + _bulk(password) + b"*11\r\n" + b"$4\r\nPING\r\n" * 11
            + b"*2\r\n$4\r\nPING\r\n$16385\r\n" + b"x" * 16385 + b"\r\n")
    check(servers["auth"], [data], auth=True)


_INLINE_TOKENS = [b"a", b"b", b" ", b"\t", b'"', b"'", b"\\", b"\\x4", b"\\x41", b"\\n", b"\\'",
                  b'\\"', b"\r", b"\x0b", b"\xff", b"x y"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(_INLINE_TOKENS), max_size=8))
def test_inline_splitting_matches_redis(servers, tokens):
    """ECHO <random quoting>: same arguments (or same quote error) as sdssplitargs."""
    check(servers["open"], [b"ECHO " + b"".join(tokens) + b"\r\nPING\r\n"])
