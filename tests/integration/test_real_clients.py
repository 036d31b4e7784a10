"""Real clients against a real RedisLite process on a loopback port:
redis-py (RESP2 and RESP3), redis-cli and txredisapi."""

import subprocess

import pytest
import pytest_twisted
import redis

pytestmark = pytest.mark.integration


@pytest.fixture
def r2(redislite_server):
    c = redislite_server.client()
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def r3(redislite_server):
    c = redis.Redis(host=redislite_server.host, port=redislite_server.port, protocol=3)
    c.flushall()
    yield c
    c.close()


def test_redis_py_strings_keys_and_ttl(r2):
    assert r2.ping() is True
    assert r2.set("a", "1") is True
    assert r2.get("a") == b"1"
    assert r2.incr("a", 5) == 6
    assert r2.set("b", "x", ex=100) is True
    assert 99 <= r2.ttl("b") <= 100
    assert r2.mset({"c": "3", "{t}d": "4"}) is True
    assert r2.mget(["a", "c", "{t}d", "missing"]) == [b"6", b"3", b"4", None]
    assert sorted(r2.keys("*")) == [b"a", b"b", b"c", b"{t}d"]
    assert r2.exists("a", "b", "nope") == 2
    assert r2.delete("a", "b") == 2
    assert r2.dbsize() == 2
    assert r2.type("c") == b"string"
    r2.set("text", "abc")
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        r2.incr("text")


def test_redis_py_scan_iter_returns_every_key_once(r2):
    keys = {("key:%d" % i).encode() for i in range(1000)}
    pipe = r2.pipeline(transaction=False)
    for k in keys:
        pipe.set(k, b"v")
    pipe.execute()
    seen = list(r2.scan_iter(count=37))
    assert set(seen) == keys
    assert len(seen) == len(keys)


def test_redis_py_resp3(r3):
    assert r3.ping() is True
    r3.set("k", "v")
    assert r3.get("k") == b"v"
    assert r3.get("missing") is None
    info = r3.info("server")
    assert info["redis_version"] == "7.0.15"
    assert r3.incrbyfloat("f", 1.5) == 1.5


def test_redis_py_pipeline_of_many_commands(r2):
    pipe = r2.pipeline(transaction=False)
    for i in range(5000):
        pipe.set("p%d" % i, i)
    assert all(pipe.execute())
    pipe = r2.pipeline(transaction=False)
    for i in range(5000):
        pipe.get("p%d" % i)
    assert pipe.execute() == [str(i).encode() for i in range(5000)]


def test_redis_cli(redislite_server):
    def cli(*args):
        return subprocess.run(["redis-cli", "-h", redislite_server.host, "-p", str(redislite_server.port),
                               *args], capture_output=True, text=True, timeout=20).stdout

    assert cli("SET", "cli-key", "hello world") == "OK\n"
    assert cli("GET", "cli-key") == "hello world\n"
    assert cli("--no-raw", "GET", "cli-key") == '"hello world"\n'
    assert cli("STRLEN", "cli-key") == "11\n"
    assert "wrong number of arguments for 'get' command" in cli("GET")
    # redis-cli pipes stdin commands through its own parser and prints each reply
    out = subprocess.run(["redis-cli", "-p", str(redislite_server.port)], input="INCR n\nINCR n\nGET n\n",
                         capture_output=True, text=True, timeout=20).stdout
    assert out.split() == ["1", "2", "2"]


@pytest_twisted.inlineCallbacks
def test_txredisapi(redislite_server):
    import txredisapi
    conn = yield txredisapi.Connection(redislite_server.host, redislite_server.port, reconnect=False)
    try:
        yield conn.set("tx", "value")
        value = yield conn.get("tx")
        assert value == "value"
        n = yield conn.incr("txn")
        assert n == 1
        yield conn.expire("tx", 50)
        ttl = yield conn.ttl("tx")
        assert 49 <= ttl <= 50
        deleted = yield conn.delete("tx")
        assert deleted == 1
    finally:
        yield conn.disconnect()
