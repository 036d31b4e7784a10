"""Client limits on a live RedisLite process: a client that pipelines big GETs
and never reads costs bounded memory once a normal output limit is set, and a
paused server keeps serving reads and holds a flood of writes.

The figures behind the bounds (100k GETs of a 100 KB value, never read, with
``normal 32mb 16mb 10``): RSS stays at its baseline (~60 MB) and the client is
dropped; redis-server 7.0.15 goes from 12 to 45 MB.  Without a limit both grow
past 1.3 GB, as Redis does (normal 0 0 0 is Redis's default).
"""
import socket
import time

import pytest

from redislite.testing import ServerProcess

pytestmark = pytest.mark.integration


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def server():
    srv = ServerProcess("redislite").start()
    yield srv
    srv.stop()
    srv.cleanup()


def test_slow_reader_is_dropped_and_memory_stays_bounded(server):
    admin = server.raw()
    assert admin.call("SET", "big", "x" * 100_000) == b"+OK\r\n"
    assert admin.call("CONFIG", "SET", "client-output-buffer-limit", "normal 32mb 16mb 10") == b"+OK\r\n"
    try:
        base = peak = rss_mb(server.pid)
        s = socket.create_connection((server.host, server.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(1.0)
        chunk = b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n" * 1000     # 100 MB of replies per chunk
        sent = 0
        for _ in range(20):                                 # up to 2 GB of replies if nothing stopped it
            try:
                s.sendall(chunk)
            except OSError:
                break
            sent += 1000
            peak = max(peak, rss_mb(server.pid))
        deadline = time.monotonic() + 5
        while admin.call("CLIENT", "LIST").count(b"cmd=get") and time.monotonic() < deadline:
            time.sleep(0.05)
        peak = max(peak, rss_mb(server.pid))
        assert admin.call("CLIENT", "LIST").count(b"cmd=get") == 0
        assert peak - base < 120, (base, peak, sent)
        assert admin.call("PING") == b"+PONG\r\n"
        s.close()
    finally:
        admin.call("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0")
        admin.close()


def test_paused_writes_wait_while_reads_flow(server):
    admin, writer, reader = server.raw(), server.raw(), server.raw()
    try:
        assert admin.call("CLIENT", "PAUSE", "10000", "WRITE") == b"+OK\r\n"
        writer.send_raw(b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n" * 5000)
        for _ in range(50):
            assert reader.call("GET", "n") == b"$-1\r\n"
        assert admin.call("INFO", "clients").count(b"blocked_clients:1") == 1
        assert admin.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
        replies = [writer.read_reply() for _ in range(5000)]
        assert replies[0] == b":1\r\n" and replies[-1] == b":5000\r\n"
        assert reader.call("GET", "n") == b"$4\r\n5000\r\n"
    finally:
        admin.call("CLIENT", "UNPAUSE")
        for c in (admin, writer, reader):
            c.close()
