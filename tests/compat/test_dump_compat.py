"""DUMP and RESTORE against a real redis-server 7.0.

Errors, option parsing, TTL/IDLETIME handling and short-string payloads are
byte-exact. Containers DUMP in different (valid) RDB encodings on the two
servers, so they are checked by moving each value across, both ways, and
comparing what each server then holds; the payloads Redis writes use its
compact encodings (listpack, intset, quicklist), so RESTORE reads those.
"""

import time

import pytest

from redislite.testing import RawClient
from tests.compat.differential import aof_events, decode

pytestmark = pytest.mark.compat

BUILD = {
    "string": [("SET", "k", "hello world")],
    "int": [("SET", "k", "-1234567")],
    "long": [("SET", "k", "abc" * 200)],
    "list-small": [("RPUSH", "k", "a", "b", "3", "-7")],
    "list-big": [("RPUSH", "k") + tuple("element-%d" % i for i in range(300))],
    "hash-small": [("HSET", "k", "f1", "v1", "f2", "2")],
    "hash-big": [("HSET", "k") + tuple(x for i in range(200) for x in ("f%d" % i, "v" * (i % 70)))],
    "intset": [("SADD", "k", "1", "-5", "70000", "9223372036854775807")],
    "set-small": [("SADD", "k", "a", "b", "c")],
    "set-big": [("SADD", "k") + tuple("m%d" % i for i in range(600))],
    "zset-small": [("ZADD", "k", "1", "a", "2.5", "b", "-inf", "c")],
    "zset-big": [("ZADD", "k") + tuple(x for i in range(300) for x in ("%d.25" % i, "m%d" % i))],
    "hll": [("PFADD", "k") + tuple("e%d" % i for i in range(50))],
}
READ = {
    "string": ("GET", "k2"), "list": ("LRANGE", "k2", "0", "-1"), "hash": ("HGETALL", "k2"),
    "set": ("SMEMBERS", "k2"), "zset": ("ZRANGE", "k2", "0", "-1", "WITHSCORES"),
}


def _read(pair, kind):
    cmd = READ[kind]
    if kind in ("hash", "set"):
        return pair.same_unordered(*cmd, pairs=kind == "hash")
    return pair.same(*cmd)


@pytest.mark.parametrize("name", sorted(BUILD))
def test_values_cross_between_the_servers_both_ways(pair, name):
    for cmd in BUILD[name]:
        pair.same(*cmd)
    kind = decode(pair.same("TYPE", "k")).decode()
    theirs, ours = (decode(x) for x in pair.both("DUMP", "k"))
    # Redis's payload into RedisLite, RedisLite's into Redis: each holds what the other had
    assert pair.subject.call("RESTORE", "k2", "0", theirs) == b"+OK\r\n"
    assert pair.oracle.call("RESTORE", "k2", "0", ours) == b"+OK\r\n"
    pair.same("TYPE", "k2")
    _read(pair, kind)
    pair.same("DEL", "k2")
    # and each server restores its own
    assert pair.subject.call("RESTORE", "k2", "0", ours) == b"+OK\r\n"
    assert pair.oracle.call("RESTORE", "k2", "0", theirs) == b"+OK\r\n"
    _read(pair, kind)


@pytest.mark.parametrize("value", ["bar", "12345", "-1", "x" * 20, "", "9223372036854775807"])
def test_short_strings_dump_byte_for_byte(pair, value):
    pair.same("SET", "k", value)
    pair.same("DUMP", "k")


def test_long_strings_dump_byte_for_byte_without_compression(pair):
    pair.same("CONFIG", "SET", "rdbcompression", "no")
    try:
        pair.same("SET", "k", "abc" * 100)
        pair.same("DUMP", "k")
    finally:
        pair.same("CONFIG", "SET", "rdbcompression", "yes")


def _payload(pair, value="v"):
    pair.same("SET", "src", value)
    return decode(pair.same("DUMP", "src"))


def test_errors_in_redis_order(pair):
    good = _payload(pair)
    pair.same("SET", "busy", "x")
    for args in [
        ("DUMP",), ("DUMP", "a", "b"), ("DUMP", "nokey"), ("RESTORE", "a", "0"),
        ("RESTORE", "busy", "0", good), ("RESTORE", "busy", "x", good),
        ("RESTORE", "new", "x", good), ("RESTORE", "new", "-1", good),
        ("RESTORE", "new", "0", b"short"), ("RESTORE", "new", "0", good[:-8] + b"\0" * 8),
        ("RESTORE", "new", "0", good[:-10] + b"\x0b\x00" + good[-8:]),
        ("RESTORE", "new", "0", good, "BOGUS"), ("RESTORE", "new", "0", good, "IDLETIME"),
        ("RESTORE", "new", "0", good, "IDLETIME", "x"), ("RESTORE", "new", "0", good, "IDLETIME", "-1"),
        ("RESTORE", "new", "0", good, "FREQ", "256"), ("RESTORE", "new", "0", good, "FREQ", "-1"),
        ("RESTORE", "new", "0", good, "IDLETIME", "1", "FREQ", "1"),
        ("RESTORE", "new", "0", good, "FREQ", "1", "IDLETIME", "1"),
        ("RESTORE", "busy", "-1", good, "REPLACE", "BOGUS"),
        ("RESTORE", "busy", "-1", good, "REPLACE"),
        ("EXISTS", "new"), ("GET", "busy"),
    ]:
        pair.same(*args)


def test_bad_data_format(pair):
    # A well-framed payload whose body is not a value: Redis's "Bad data format".
    from redislite.persistence.rdb import dump_payload
    for body in (b"\x63", b"\x00", b"\x00\x05ab", b"\x02\x00", b"\x01\x01\x01a\x01b",
                 b"\x00\x03barX"):
        pair.same("RESTORE", "new", "0", dump_payload(body))
    pair.same("EXISTS", "new")


def test_ttl_absttl_replace_and_idletime(pair):
    good = _payload(pair, "value")
    pair.same("RESTORE", "t", "100000", good)
    pair.same("TTL", "t")
    far = str(int(time.time() * 1000) + 3_600_000)
    pair.same("RESTORE", "a", far, good, "ABSTTL")
    pair.same("PEXPIRETIME", "a")
    # already expired: nothing is created, and a replaced key is deleted
    pair.same("RESTORE", "gone", "1", good, "ABSTTL")
    pair.same("EXISTS", "gone")
    pair.same("SET", "old", "x")
    pair.same("RESTORE", "old", "1", good, "REPLACE", "ABSTTL")
    pair.same("EXISTS", "old")
    pair.same("SET", "old", "x")
    pair.same("RESTORE", "old", "0", good, "replace")
    pair.same("GET", "old")
    pair.same("TTL", "old")
    pair.same("RESTORE", "idle", "0", good, "IDLETIME", "1000")
    pair.same("OBJECT", "IDLETIME", "idle")
    pair.same("RESTORE", "idle2", "0", good, "FREQ", "10")
    pair.same("OBJECT", "IDLETIME", "idle2")


def test_restore_wakes_a_blocked_pop(pair, redis_server, redislite_server):
    pair.same("RPUSH", "src", "x", "y")
    payload = decode(pair.oracle.call("DUMP", "src"))      # Redis's quicklist encoding, for both
    with RawClient(redis_server.host, redis_server.port) as bo, \
            RawClient(redislite_server.host, redislite_server.port) as bs:
        bo.send("BLPOP", "dst", "5")
        bs.send("BLPOP", "dst", "5")
        time.sleep(0.2)
        pair.same("RESTORE", "dst", "0", payload)
        assert bo.read_reply() == bs.read_reply() == b"*2\r\n$3\r\ndst\r\n$1\r\nx\r\n"
    pair.same("LRANGE", "dst", "0", "-1")


def test_restore_propagates_as_redis_does(aof_redis):
    """A relative TTL goes out absolute with ABSTTL appended; the rest as sent."""
    from tests.compat.test_lists_compat import _unit_server
    from redislite.protocol import Client
    srv, ours = _unit_server()
    me = Client(srv)
    with RawClient(aof_redis.host, aof_redis.port) as rc:
        rc.call("FLUSHALL")
        rc.call("SET", "src", "v")
        payload = decode(rc.call("DUMP", "src"))
        _, start = aof_events(aof_redis, 0)
        del ours[:]
        for cmd in (("RESTORE", "a", "0", payload), ("RESTORE", "a", "0", payload, "REPLACE"),
                    ("RESTORE", "b", "50000", payload), ("RESTORE", "c", "99999999999999", payload, "ABSTTL")):
            assert rc.call(*cmd) == b"+OK\r\n"
            assert me.call(*cmd) is not None
        theirs, _ = aof_events(aof_redis, start)
    ours = [argv for _, argv in ours]
    theirs = [argv for _, argv in theirs]
    assert [a[:2] for a in ours] == [a[:2] for a in theirs]
    assert ours[0] == theirs[0] and ours[1] == theirs[1] and ours[3] == theirs[3]
    # the relative TTL became each server's own absolute time, plus ABSTTL
    assert ours[2][3:] == theirs[2][3:] == (payload, b"ABSTTL")
    assert abs(int(ours[2][2]) - int(theirs[2][2])) < 60_000
