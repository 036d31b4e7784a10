"""Core pieces with no network: router, encoder, keyspace (linear hashing, SCAN
guarantee, sampling), shard expiry cycle and the write-event bus."""

import random

import pytest
from twisted.internet import task

from redislite.actors.clock import Now
from redislite.actors.messages import EventBus
from redislite.actors.router import Router, key_slot
from redislite.actors.shard import Shard
from redislite.errors import ReplyError
from redislite.resp.encoder import (OK, Double, Map, NullArray, Push, Raw, Set, Verbatim, encode)
from redislite.storage.keyspace import BUCKET_LOAD


def make_shard(clock=None):
    clock = clock or task.Clock()
    clock.advance(1_700_000_000)
    now = Now(clock)
    return Shard(0, clock, now, EventBus(), databases=4), clock


# -- router ---------------------------------------------------------------------
def test_key_slot_matches_redis_cluster():
    # Values from CLUSTER KEYSLOT on Redis.
    assert key_slot(b"123456789") == 0x31C3 & 16383
    assert key_slot(b"foo") == 12182
    assert key_slot(b"{user1000}.following") == key_slot(b"{user1000}.followers") == key_slot(b"user1000")
    assert key_slot(b"foo{}{bar}") == key_slot(b"foo{}{bar}")  # empty tag: whole key
    assert key_slot(b"foo{}{bar}") != key_slot(b"bar")
    assert key_slot(b"foo{{bar}}zap") == key_slot(b"{bar")


def test_router_groups_keys_by_shard_and_keeps_positions():
    shards = [object() for _ in range(4)]
    r = Router(shards)
    keys = [b"k%d" % i for i in range(50)]
    groups = r.group(keys)
    seen = sorted(pos for entries in groups.values() for pos, _ in entries)
    assert seen == list(range(50))
    for shard, entries in groups.items():
        assert all(r.shard_for(k) is shard for _, k in entries)


# -- encoder --------------------------------------------------------------------
@pytest.mark.parametrize("value,resp2,resp3", [
    (b"ab", b"$2\r\nab\r\n", b"$2\r\nab\r\n"),
    (None, b"$-1\r\n", b"_\r\n"),
    (NullArray, b"*-1\r\n", b"_\r\n"),
    (-5, b":-5\r\n", b":-5\r\n"),
    (123456789012, b":123456789012\r\n", b":123456789012\r\n"),
    (OK, b"+OK\r\n", b"+OK\r\n"),
    (ReplyError("ERR a\r\nb"), b"-ERR a  b\r\n", b"-ERR a  b\r\n"),
    (Map([(b"a", 1)]), b"*2\r\n$1\r\na\r\n:1\r\n", b"%1\r\n$1\r\na\r\n:1\r\n"),
    (Set([b"x"]), b"*1\r\n$1\r\nx\r\n", b"~1\r\n$1\r\nx\r\n"),
    (Push([b"x"]), b"*1\r\n$1\r\nx\r\n", b">1\r\n$1\r\nx\r\n"),
    (Double(1.5), b"$3\r\n1.5\r\n", b",1.5\r\n"),
    (Double(float("inf")), b"$3\r\ninf\r\n", b",inf\r\n"),
    (Verbatim("a:1"), b"$3\r\na:1\r\n", b"=7\r\ntxt:a:1\r\n"),
    (Raw(b"+x\r\n", b"+y\r\n"), b"+x\r\n", b"+y\r\n"),
    ([[b"a"], []], b"*2\r\n*1\r\n$1\r\na\r\n*0\r\n", b"*2\r\n*1\r\n$1\r\na\r\n*0\r\n"),
    (b"x" * 2000, b"$2000\r\n" + b"x" * 2000 + b"\r\n", b"$2000\r\n" + b"x" * 2000 + b"\r\n"),
])
def test_encoder(value, resp2, resp3):
    assert encode(value, False) == resp2
    assert encode(value, True) == resp3


# -- keyspace ---------------------------------------------------------------------
def test_linear_hashing_grows_one_bucket_at_a_time_and_keeps_every_key():
    shard, _ = make_shard()
    ks = shard.dbs[0]
    n = 5000
    for i in range(n):
        ks.set(b"key:%d" % i, b"v%d" % i)
        assert len(ks.buckets) <= ks.count // BUCKET_LOAD + 1
    assert len(ks) == n
    for i in range(n):
        assert ks.lookup_read(b"key:%d" % i) == b"v%d" % i
    assert sum(len(b) for b in ks.buckets) == n
    for i in range(0, n, 2):
        assert ks.delete(b"key:%d" % i)
    assert len(ks) == n // 2
    assert not ks.delete(b"key:0")


def _full_scan(ks, count, mutate=None):
    seen = []
    cursor = 0
    steps = 0
    while True:
        cursor = ks.scan(cursor, count, lambda k, v: seen.append(k))
        steps += 1
        if mutate:
            mutate(steps)
        if cursor == 0:
            return seen


def test_scan_visits_every_key_once_without_changes():
    shard, _ = make_shard()
    ks = shard.dbs[0]
    keys = {b"k%d" % i for i in range(3000)}
    for k in keys:
        ks.set(k, b"x")
    seen = _full_scan(ks, 10)
    assert sorted(seen) == sorted(keys)


def test_scan_never_skips_keys_present_throughout_while_table_grows_and_shrinks():
    shard, _ = make_shard()
    ks = shard.dbs[0]
    stable = {b"stable%d" % i for i in range(500)}
    for k in stable:
        ks.set(k, b"x")
    rnd = random.Random(7)
    added = []

    def mutate(step):
        for _ in range(50):          # forces many bucket splits during the scan
            k = b"new%d" % len(added)
            ks.set(k, b"y")
            added.append(k)
        for _ in range(10):
            if added:
                ks.delete(added.pop(rnd.randrange(len(added))))

    seen = set(_full_scan(ks, 5, mutate))
    assert stable <= seen


def test_random_key_and_sample_only_return_live_keys():
    shard, _ = make_shard()
    ks = shard.dbs[0]
    assert ks.random_key() is None
    for i in range(100):
        ks.set(b"k%d" % i, b"v")
    for _ in range(50):
        assert ks.random_key() in {b"k%d" % i for i in range(100)}
    assert len(ks.sample(5)) == 5


def test_lazy_and_active_expiry_emit_del_and_count():
    shard, clock = make_shard()
    events = []
    shard.bus.subscribe(lambda db, argv: events.append((db, argv)))
    ks = shard.dbs[1]
    now = shard.time.ms
    ks.set(b"a", b"1")
    ks.set_expire(b"a", now + 1000)
    ks.set(b"b", b"1")
    ks.set_expire(b"b", now + 1000)
    ks.set(b"c", b"1")
    clock.advance(1.5)
    shard.time.refresh()
    assert ks.lookup_read(b"a") is None              # lazy
    assert shard.active_expire_cycle() == 1          # b, by the active cycle
    assert ks.lookup_read(b"c") == b"1"
    assert shard.stats_expired == 2
    assert events == [(1, (b"DEL", b"a")), (1, (b"DEL", b"b"))]
    assert len(ks) == 1 and not ks.expires


def test_active_cycle_runs_on_the_injected_clock():
    shard, clock = make_shard()
    ks = shard.dbs[0]
    for i in range(100):
        ks.set(b"k%d" % i, b"v")
        ks.set_expire(b"k%d" % i, shard.time.ms + 500)
    shard.start()
    try:
        clock.advance(0.4)
        assert len(ks) == 100
        clock.advance(0.2)   # the 0.6 s tick finds them due
        assert len(ks) == 0
    finally:
        shard.stop()


def test_rewritten_ttls_do_not_grow_the_heap_without_bound():
    shard, _ = make_shard()
    ks = shard.dbs[0]
    ks.set(b"k", b"v")
    for i in range(10000):
        ks.set_expire(b"k", shard.time.ms + 100000 + i)
    assert len(ks.heap) <= 2 * len(ks.expires) + 1025


def test_memory_estimate_grows_and_shrinks():
    shard, _ = make_shard()
    ks = shard.dbs[0]
    assert ks.mem == 0
    ks.set(b"k", b"v" * 100)
    grown = ks.mem
    assert grown > 100
    ks.set(b"k", b"v")
    assert ks.mem < grown
    ks.delete(b"k")
    assert ks.mem == 0


def test_shard_execute_returns_errors_as_values():
    shard, _ = make_shard()

    def op(ks, argv):
        raise ReplyError("ERR boom")

    assert shard.execute(op, 0, [b"x"]) == ReplyError("ERR boom")


def test_bus_bracket_holds_for_subscribers_only():
    bus = EventBus()
    bus.hold()
    bus.publish(0, (b"SET", b"a", b"1"))
    assert bus._held is None            # nobody to deliver to: nothing buffered
    seen = []
    bus.subscribe(lambda db, argv: seen.append(argv))
    bus.publish(0, (b"SET", b"b", b"2"))    # a subscriber arrived inside the bracket
    bus.publish(1, (b"DEL", b"c"))
    assert seen == []
    bus.release()
    assert seen == [(b"MULTI",), (b"SET", b"b", b"2"), (b"DEL", b"c"), (b"EXEC",)]
    assert bus.dirty == 3
    # an empty bracket leaves nothing held; a single event goes out alone
    bus.hold()
    bus.release()
    assert bus._held is None
    bus.hold()
    bus.hold()
    bus.publish(0, (b"INCR", b"n"))
    bus.release()
    assert seen[-1] == (b"EXEC",)           # nested: still held
    bus.release()
    assert seen[-1] == (b"INCR", b"n")
