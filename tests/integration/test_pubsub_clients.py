"""Real clients on a real RedisLite process: redis-py's PubSub (get_message loop
and run_in_thread), keyspace notifications through it, and redis-py's
server-assisted client-side cache (RESP3 + CLIENT TRACKING)."""

import threading
import time

import pytest
import redis
from redis.cache import CacheConfig

pytestmark = pytest.mark.integration


@pytest.fixture
def r(redislite_server):
    c = redislite_server.client()
    c.flushall()
    yield c
    c.close()


def _collect(p, n, timeout=5.0):
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        m = p.get_message(timeout=0.1)
        if m is not None:
            out.append(m)
    return out


@pytest.mark.parametrize("protocol", [2, 3])
def test_pubsub_get_message_loop(redislite_server, r, protocol):
    sub = redis.Redis(host=redislite_server.host, port=redislite_server.port, protocol=protocol)
    p = sub.pubsub()
    try:
        p.subscribe("news", "sport")
        p.psubscribe("n*")
        assert [m["type"] for m in _collect(p, 3)] == ["subscribe", "subscribe", "psubscribe"]
        assert r.publish("news", "hello") == 2
        assert r.publish("sport", b"\x00\xff") == 1
        got = _collect(p, 3)
        assert [(m["type"], m["channel"], m["data"]) for m in got] == [
            ("message", b"news", b"hello"), ("pmessage", b"news", b"hello"),
            ("message", b"sport", b"\x00\xff")]
        assert got[1]["pattern"] == b"n*"
        assert r.pubsub_numsub("news", "sport") == [(b"news", 1), (b"sport", 1)]
        assert r.pubsub_numpat() == 1
        assert sorted(r.pubsub_channels()) == [b"news", b"sport"]
        p.unsubscribe()
        p.punsubscribe()
        _collect(p, 3)
        assert r.publish("news", "x") == 0
    finally:
        p.close()
        sub.close()


def test_pubsub_run_in_thread_and_keyspace_events(redislite_server, r):
    r.config_set("notify-keyspace-events", "KEA")
    got = []
    done = threading.Event()

    def handler(message):
        got.append((message["channel"], message["data"]))
        if message["data"] == b"del":
            done.set()

    p = r.pubsub()
    p.psubscribe(**{"__keyspace@0__:*": handler})
    worker = p.run_in_thread(sleep_time=0.01, daemon=True)
    try:
        time.sleep(0.2)
        r.set("watched", "1", ex=100)
        r.append("watched", "2")
        r.delete("watched")
        assert done.wait(5)
        assert got == [(b"__keyspace@0__:watched", b"set"), (b"__keyspace@0__:watched", b"expire"),
                       (b"__keyspace@0__:watched", b"append"), (b"__keyspace@0__:watched", b"del")]
    finally:
        worker.stop()
        worker.join(5)
        p.close()
        r.config_set("notify-keyspace-events", "")


def test_redis_py_client_side_cache(redislite_server, r, monkeypatch):
    # redis-py 8 enables its cache only for servers announcing 7.4+, a client-side
    # policy: what it uses (HELLO 3, CLIENT TRACKING ON, invalidate pushes) is 7.0's.
    # RedisLite announces 7.0.15 like the Redis it mirrors, so lower the floor here.
    from redis.connection import CacheProxyConnection
    monkeypatch.setattr(CacheProxyConnection, "MIN_ALLOWED_VERSION", "7.0.0")
    cached = redis.Redis(host=redislite_server.host, port=redislite_server.port, protocol=3,
                         cache_config=CacheConfig())
    try:
        r.set("cc", "v1")
        assert cached.get("cc") == b"v1"
        cache = cached.get_cache()
        assert cache.size == 1                    # the GET reply is cached
        assert cached.get("cc") == b"v1"          # served locally
        r.set("cc", "v2")                         # another client writes: invalidate push
        deadline = time.monotonic() + 5
        value = cached.get("cc")
        while value != b"v2" and time.monotonic() < deadline:
            time.sleep(0.02)
            value = cached.get("cc")
        assert value == b"v2"
        info = r.client_list()
        assert any(c.get("resp") == "3" for c in info)
    finally:
        cached.close()


def test_slow_subscriber_does_not_hold_up_publisher(redislite_server, r):
    """A subscriber that never reads is dropped at the pubsub hard limit; PUBLISH continues."""
    import socket
    r.config_set("client-output-buffer-limit", "pubsub 512kb 0 0")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((redislite_server.host, redislite_server.port))
    sock.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nsl\r\n")
    try:
        deadline = time.monotonic() + 10
        while r.pubsub_numsub("sl") != [(b"sl", 1)]:
            assert time.monotonic() < deadline, "the SUBSCRIBE was never registered"
            time.sleep(0.01)
        pipe = r.pipeline(transaction=False)
        for _ in range(10000):       # 10 MB: more than the kernel's socket buffers hold
            pipe.publish("sl", "x" * 1024)
        # Not timed: the publisher is not held up if every PUBLISH is answered (the
        # client's socket timeout guards a hang) and, once the subscriber is dropped,
        # the rest are delivered to no one.
        results = pipe.execute()
        dropped = results.index(0)
        assert dropped > 0 and set(results[:dropped]) == {1} and set(results[dropped:]) == {0}
        assert r.pubsub_numsub("sl") == [(b"sl", 0)]
    finally:
        sock.close()
        r.config_set("client-output-buffer-limit",
                     "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")
