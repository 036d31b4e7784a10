"""MEMORY against a real redis-server 7.0.

Help, errors, option parsing and the reply shapes are byte-exact. The byte
counts are each server's own: RedisLite's MEMORY USAGE must instead equal
what the key adds to its INFO ``used_memory`` (the figure eviction works
from), and MEMORY STATS must list Redis's fields in Redis's order and types.
"""

import pytest

from tests.compat.differential import decode

pytestmark = pytest.mark.compat


@pytest.mark.parametrize("args", [
    ("MEMORY",), ("MEMORY", "FOO"), ("memory", "help"), ("MEMORY", "HELP", "x"),
    ("MEMORY", "USAGE"), ("MEMORY", "STATS", "x"), ("MEMORY", "DOCTOR", "x"),
    ("MEMORY", "PURGE", "x"), ("MEMORY", "MALLOC-STATS", "x"),
    ("MEMORY", "USAGE", "nokey"), ("MEMORY", "USAGE", "nokey", "SAMPLES", "0"),
    ("MEMORY", "USAGE", "nokey", "samples", "-1"), ("MEMORY", "USAGE", "nokey", "SAMPLES"),
    ("MEMORY", "USAGE", "nokey", "SAMPLES", "x"), ("MEMORY", "USAGE", "nokey", "SAMPLES", "+1"),
    ("MEMORY", "USAGE", "nokey", "SAMPLES", "5", "x"), ("MEMORY", "USAGE", "nokey", "FOO", "1"),
    ("MEMORY", "USAGE", "nokey", "SAMPLES", "1", "SAMPLES", "2"),
    ("MEMORY", "PURGE"),
])
def test_memory_help_errors_and_missing_keys(pair, args):
    pair.same(*args)


def test_options_are_checked_before_the_key(pair):
    pair.same("SET", "k", "v")
    pair.same("MEMORY", "USAGE", "k", "SAMPLES", "-5")
    pair.same("MEMORY", "USAGE", "k", "SAMPLES", "99999999999999999999")
    o, s = pair.both("MEMORY", "USAGE", "k", "SAMPLES", "0")
    assert o[:1] == s[:1] == b":"


def _used_memory(client):
    info = decode(client.call("INFO", "memory")).decode()
    return int(next(line.split(":")[1] for line in info.splitlines()
                    if line.startswith("used_memory:")))


@pytest.mark.parametrize("build", [
    [("SET", "k", "x" * 100)],
    [("RPUSH", "k") + tuple("e%d" % i for i in range(300))],
    [("HSET", "k") + tuple(x for i in range(200) for x in ("f%d" % i, "v%d" % i))],
    [("SADD", "k") + tuple(str(i) for i in range(600))],
    [("SADD", "k") + tuple("m%d" % i for i in range(50))],
    [("ZADD", "k") + tuple(x for i in range(300) for x in (str(i), "m%d" % i))],
    [("PFADD", "k") + tuple("e%d" % i for i in range(1000))],
], ids=["string", "list", "hash", "intset", "set", "zset", "hll"])
def test_usage_is_what_the_key_adds_to_used_memory(pair, build):
    subject = pair.subject
    before = _used_memory(subject)
    for args in build:
        pair.same(*args)
    o, s = pair.both("MEMORY", "USAGE", "k")
    assert o[:1] == s[:1] == b":"
    usage = decode(s)
    assert usage > 0
    assert _used_memory(subject) - before == usage
    pair.same("DEL", "k")
    assert _used_memory(subject) == before


def test_stats_fields_order_and_types(pair):
    pair.same("SET", "a", "1")
    pair.same("SELECT", "3")
    pair.same("SET", "b", "2")
    for resp3 in (False, True):
        if resp3:
            pair.resp3()
        o, s = pair.both("MEMORY", "STATS")
        assert o[:1] == s[:1] == (b"%" if resp3 else b"*")
        ov, sv = decode(o), decode(s)
        if not resp3:
            ov, sv = dict(zip(ov[::2], ov[1::2])), dict(zip(sv[::2], sv[1::2]))
        assert list(ov) == list(sv)
        for name, value in ov.items():
            assert type(sv[name]) is type(value), name
        for db in (b"db.0", b"db.3"):
            inner_o, inner_s = ov[db], sv[db]
            assert (list(inner_o) if resp3 else inner_o[::2]) == (list(inner_s) if resp3 else inner_s[::2])
        assert sv[b"keys.count"] == ov[b"keys.count"] == 2
        assert sv[b"total.allocated"] == _used_memory(pair.subject)


def test_doctor_on_an_empty_instance(pair):
    # Both servers were just flushed: under 5 MB, the doctor declines.
    if _used_memory(pair.oracle) >= 5 * 1024 * 1024:
        pytest.skip("the oracle holds more than 5 MB after FLUSHALL")
    pair.same("MEMORY", "DOCTOR")
    pair.resp3()
    pair.same("MEMORY", "DOCTOR")


def test_malloc_stats_is_a_bulk_report(pair):
    # Debian's Redis prints jemalloc's report; RedisLite answers as Redis built on libc.
    o, s = pair.both("MEMORY", "MALLOC-STATS")
    assert o[:1] == s[:1] == b"$"
    assert decode(s) == b"Stats not supported for the current allocator"
