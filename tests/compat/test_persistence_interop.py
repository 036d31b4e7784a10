"""Data directories move both ways between RedisLite and a real redis-server 7.0.

Every test builds its data on one server through the protocol, takes a
protocol-level snapshot (every key, type, value and TTL in every database),
stops that server, starts the other one on the same directory and compares.
No DEBUG command is used.  Redis's side covers its compact encodings
(listpack/quicklist, intset, listpack hashes and zsets), big encodings
(hashtable, skiplist, multi-node quicklists) and LZF-compressed strings.
"""

import os

import pytest
import redis

from redislite.testing import ServerProcess

pytestmark = pytest.mark.compat

TTL_SLACK_MS = 15000      # the processes start slowly on a busy CI box
FUNCTION = "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 42 end)"


def snapshot(server, dbs=16):
    """{(db, key): (type, value, pttl)} through the protocol."""
    out = {}
    for db in range(dbs):
        r = redis.Redis(host=server.host, port=server.port, db=db)
        for key in r.scan_iter(count=1000):
            t = r.type(key).decode()
            if t == "string":
                v = r.get(key)
            elif t == "list":
                v = r.lrange(key, 0, -1)
            elif t == "set":
                v = sorted(r.smembers(key))
            elif t == "hash":
                v = sorted(r.hgetall(key).items())
            elif t == "zset":
                v = r.zrange(key, 0, -1, withscores=True)
            else:
                v = None
            out[(db, key)] = (t, v, r.pttl(key))
    return out


def assert_same(a, b):
    assert sorted(a) == sorted(b), "key sets differ: %s" % (set(a) ^ set(b))
    for k in a:
        ta, va, pa = a[k]
        tb, vb, pb = b[k]
        assert (ta, va) == (tb, vb), k
        if pa < 0 or pb < 0:
            assert pa == pb, k
        else:
            assert abs(pa - pb) <= TTL_SLACK_MS, (k, pa, pb)


def populate(r, with_function=True):
    """Every type, small (compact encodings) and big, TTLs, three databases."""
    r.set("str", "hello")
    r.set("int", 12345)
    r.set("negint", -7)
    r.set("bigint", 2 ** 40)
    r.set("lzf", "abcdefgh" * 200)                 # compressible: LZF in Redis's dump
    r.set("bin", bytes(range(256)) * 3)
    r.set("ttl", "v", px=600000)
    r.rpush("list:small", "a", 1, "c", -5, 70000)
    r.rpush("list:big", *["element-%d-%s" % (i, "x" * (i % 40)) for i in range(3000)])
    r.rpush("list:hugeelem", "y" * 20000, "z")
    r.sadd("set:int", *range(0, 100, 3))
    r.sadd("set:str", "a", "b", "c")
    r.sadd("set:big", *["m%d" % i for i in range(1000)])
    r.hset("hash:small", mapping={"f1": "v1", "n": 12, "neg": -300})
    r.hset("hash:big", mapping={"field%d" % i: "value%d" % i for i in range(1000)})
    r.hset("hash:longval", mapping={"f": "q" * 100})
    r.zadd("zset:small", {"a": 1, "b": 2.5, "c": -3, "inf": float("inf")})
    r.zadd("zset:big", {"m%d" % i: i / 7 for i in range(500)})
    r.expire("hash:small", 300)
    r2 = redis.Redis(host=r.connection_pool.connection_kwargs["host"],
                     port=r.connection_pool.connection_kwargs["port"], db=3)
    r2.set("db3", "three", ex=1000)
    r2.lpush("db3list", "x")
    r15 = redis.Redis(host=r.connection_pool.connection_kwargs["host"],
                      port=r.connection_pool.connection_kwargs["port"], db=15)
    r15.set("last-db", "15")
    if with_function:
        r.function_load(FUNCTION)


def _function_ok(server):
    try:
        return server.client().fcall("myfunc", 0) == 42
    except redis.ResponseError:
        return False


def test_redis_rdb_loads_into_redislite(tmp_path):
    d = str(tmp_path)
    src = ServerProcess("redis", workdir=d).start()
    populate(src.client())
    src.client().save()
    expected = snapshot(src)
    src.kill()
    dst = ServerProcess("redislite", workdir=d).start().wait_until_loaded()
    try:
        assert_same(expected, snapshot(dst))
        assert _function_ok(dst)
    finally:
        dst.kill()


def test_redis_appendonlydir_loads_into_redislite(tmp_path):
    d = str(tmp_path)
    src = ServerProcess("redis", workdir=d, args=["--appendonly", "yes"]).start()
    r = src.client()
    populate(r)
    r.bgrewriteaof()                                     # base (RDB preamble) + new incr
    for _ in range(100):
        if not r.info("persistence")["aof_rewrite_in_progress"]:
            break
        import time
        time.sleep(0.05)
    r.incrby("int", 5)
    r.rpush("list:small", "after-rewrite")
    r.execute_command("MULTI")
    r.execute_command("SET", "in-multi", "1")
    r.execute_command("EXEC")
    r.delete("set:str")
    expected = snapshot(src)
    src.kill()                                           # appendfsync everysec, but we read the page cache
    dst = ServerProcess("redislite", workdir=d, args=["--appendonly", "yes"]).start().wait_until_loaded()
    try:
        assert_same(expected, snapshot(dst))
    finally:
        dst.kill()


def test_redislite_rdb_loads_into_redis(tmp_path):
    d = str(tmp_path)
    src = ServerProcess("redislite", workdir=d).start().wait_until_loaded()
    populate(src.client())
    src.client().save()
    expected = snapshot(src)
    src.kill()
    dst = ServerProcess("redis", workdir=d).start()
    try:
        assert_same(expected, snapshot(dst))
        assert _function_ok(dst)
    finally:
        dst.kill()


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_redislite_appendonlydir_loads_into_redis(tmp_path, preamble):
    d = str(tmp_path)
    args = ["--appendonly", "yes", "--aof-use-rdb-preamble", preamble]
    src = ServerProcess("redislite", workdir=d, args=args).start().wait_until_loaded()
    r = src.client()
    populate(r, with_function=preamble == "yes")
    r.bgrewriteaof()
    import time
    for _ in range(200):
        if not r.info("persistence")["aof_rewrite_in_progress"]:
            break
        time.sleep(0.05)
    r.incrby("int", 5)
    r.rpush("list:small", "after-rewrite")
    r.set("ttl2", "v", ex=500)
    expected = snapshot(src)
    src.stop()
    dst = ServerProcess("redis", workdir=d, args=["--appendonly", "yes",
                                                  "--aof-use-rdb-preamble", preamble]).start()
    try:
        assert_same(expected, snapshot(dst))
    finally:
        dst.kill()


def test_command_replies_match_redis(tmp_path):
    """SAVE/BGSAVE/BGREWRITEAOF/LASTSAVE/SHUTDOWN argument handling, byte for byte."""
    cases = [("SAVE",), ("SAVE", "x"), ("BGSAVE", "x"), ("BGSAVE", "SCHEDULE", "x"),
             ("LASTSAVE", "x"), ("SHUTDOWN", "foo"), ("SHUTDOWN", "SAVE", "NOSAVE"),
             ("SHUTDOWN", "NOSAVE", "ABORT"), ("SHUTDOWN", "ABORT"), ("BGREWRITEAOF", "x")]
    replies = {}
    for kind in ("redis", "redislite"):
        s = ServerProcess(kind, workdir=str(tmp_path / kind)).start().wait_until_loaded()
        try:
            with s.raw() as c:
                replies[kind] = [c.call(*args) for args in cases]
        finally:
            s.kill()
    assert replies["redis"] == replies["redislite"]


def test_info_persistence_field_names_match_redis(tmp_path):
    names = {}
    for kind in ("redis", "redislite"):
        s = ServerProcess(kind, workdir=str(tmp_path / kind), args=["--appendonly", "yes"]).start()
        s.wait_until_loaded()
        try:
            names[kind] = list(s.client().info("persistence").keys())
        finally:
            s.kill()
    assert names["redis"] == names["redislite"]
