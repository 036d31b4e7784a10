"""Hostile input on a live server: each case gets Redis's exact answer, memory
stays bounded, and another client is served throughout.

Every case is sent to the real redis-server and to RedisLite; the bytes each
sends back before closing must be identical."""

import os
import socket
import time

import pytest

from redislite.testing import RawClient

pytestmark = pytest.mark.compat


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def exchange(server, payload, chunk=None, timeout=3.0):
    """Send payload (optionally in chunks) and read until the server closes or goes quiet."""
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
                break
            if not data:
                break
            out += data
        return out
    finally:
        s.close()


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
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_input_gets_redis_answer(redis_server, redislite_server, name):
    payload = CASES[name]
    expected = exchange(redis_server, payload)
    got = exchange(redislite_server, payload)
    assert got == expected
    # other clients are still served
    assert RawClient(redislite_server.host, redislite_server.port).call("PING") == b"+PONG\r\n"


def test_one_byte_trickle_matches_redis(redis_server, redislite_server):
    payload = b"*3\r\n$3\r\nSET\r\n$5\r\ntrick\r\n$" + b"2000\r\n" + b"x" * 2000 + b"\r\n*2\r\n$3\r\nGET\r\n$5\r\ntrick\r\n"
    assert exchange(redislite_server, payload, chunk=1) == exchange(redis_server, payload, chunk=1)


def test_ten_thousand_pipelined_commands_in_one_write(redis_server, redislite_server):
    payload = b"*2\r\n$3\r\nDEL\r\n$11\r\nhostile:ctr\r\n" + b"".join(
        b"*2\r\n$4\r\nINCR\r\n$11\r\nhostile:ctr\r\n" for _ in range(10000))
    a = exchange(redis_server, payload, timeout=10)
    b = exchange(redislite_server, payload, timeout=10)
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
