"""Unit tests for redislite/commands/keys.py: no network, a task.Clock for time.

Values are planted straight into the owning Keyspace (``env.put``) so these
tests do not depend on the string family; ``Box`` stands in for a container
type (TYPE, OBJECT ENCODING and COPY's deep copy).
"""

import random

import pytest
from twisted.internet import task

from redislite.commands import load_all
from redislite.commands.keys import (duplicate_value, object_encoding, parse_scan_cursor,
                                     parse_scan_options, scan_keyspace_cursor)
from redislite.config import Config
from redislite.errors import ReplyError
from redislite.protocol import Client
from redislite.resp.encoder import OK, Status
from redislite.server import Server

load_all()

T0 = 1_700_000_000
T0_MS = T0 * 1000


class Box:
    """A minimal container value: what the container families provide."""

    TYPE = "list"

    def __init__(self, items=()):
        self.items = list(items)

    def encoding(self):
        return "listpack"

    def copy(self):
        return Box(self.items)

    def memory(self):
        return 64 + 8 * len(self.items)


class Env:
    def __init__(self, shards=None, **config):
        self.clock = task.Clock()
        self.clock.advance(T0)
        cfg = Config.defaults()
        if config:
            cfg = cfg.with_changes({k.replace("_", "-"): str(v) for k, v in config.items()})
        self.srv = Server(cfg, self.clock, shards=shards)
        self.events = []
        self.srv.bus.subscribe(lambda db, argv: self.events.append((db, argv)))
        self.c = Client(self.srv)

    def call(self, *args):
        return self.c.call(*args)

    def ks(self, key, db=0):
        key = key.encode() if isinstance(key, str) else key
        return self.srv.router.shard_for(key).dbs[db]

    def put(self, key, value, db=0, px=None):
        key = key.encode() if isinstance(key, str) else key
        value = value.encode() if isinstance(value, str) else value
        ks = self.ks(key, db)
        ks.set(key, value)
        if px is not None:
            ks.set_expire(key, self.srv.now.ms + px)
        return ks

    def get(self, key, db=0):
        key = key.encode() if isinstance(key, str) else key
        return self.ks(key, db).peek(key)

    def advance(self, seconds):
        self.clock.advance(seconds)
        self.srv.now.refresh()

    def take_events(self):
        ev, self.events[:] = list(self.events), []
        return ev


@pytest.fixture
def env():
    return Env()


def keys_on_distinct_shards(env, n=2, prefix="k"):
    """Key names owned by *n* different shards."""
    out, seen = [], set()
    for i in range(1000):
        k = ("%s%d" % (prefix, i)).encode()
        s = env.srv.router.shard_for(k)
        if s not in seen:
            seen.add(s)
            out.append(k)
            if len(out) == n:
                return out
    raise AssertionError("not enough shards")


def err(text):
    return ReplyError(text)


# ---------------------------------------------------------------------------
# DEL / UNLINK / EXISTS / TOUCH / TYPE
# ---------------------------------------------------------------------------

def test_del_counts_existing_keys_and_emits_one_del_each(env):
    a, b = keys_on_distinct_shards(env)
    env.put(a, "1")
    env.put(b, "2")
    assert env.call("DEL", a, b"nokey", b, a) == 2
    assert env.take_events() == [(0, (b"DEL", a)), (0, (b"DEL", b))]
    assert env.call("DEL", a) == 0
    assert env.take_events() == []


def test_unlink_emits_unlink(env):
    env.put("a", "1")
    assert env.call("UNLINK", "a", "b") == 1
    assert env.take_events() == [(0, (b"UNLINK", b"a"))]


def test_del_of_expired_key_counts_zero_and_only_expiry_del(env):
    env.put("a", "1", px=1000)
    env.advance(2)
    assert env.call("DEL", "a") == 0
    assert env.take_events() == [(0, (b"DEL", b"a"))]
    assert env.srv.stat("stats_expired") == 1


def test_exists_counts_duplicates_and_honours_expiry(env):
    env.put("a", "1")
    env.put("b", "2", px=500)
    assert env.call("EXISTS", "a", "a", "b", "nokey") == 3
    env.advance(1)
    assert env.call("EXISTS", "a", "b") == 1
    assert env.take_events() == [(0, (b"DEL", b"b"))]


def test_exists_does_not_touch_but_touch_does(env):
    ks = env.put("a", "1")
    stamp = ks.access[b"a"]
    env.advance(30)
    assert env.call("EXISTS", "a") == 1
    assert ks.access[b"a"] == stamp
    assert env.call("OBJECT", "IDLETIME", "a") == 30
    assert env.call("TOUCH", "a", "nokey", "a") == 2
    assert env.call("OBJECT", "IDLETIME", "a") == 0
    assert env.take_events() == []


def test_exists_counts_keyspace_hits_and_misses(env):
    env.put("a", "1")
    h, m = env.srv.keyspace_hits(), env.srv.keyspace_misses()
    env.call("EXISTS", "a", "x")
    assert (env.srv.keyspace_hits() - h, env.srv.keyspace_misses() - m) == (1, 1)


def test_type(env):
    env.put("s", "v")
    env.put("l", Box([b"x"]))
    assert env.call("TYPE", "s") == Status("string")
    assert env.call("TYPE", "l") == Status("list")
    assert env.call("TYPE", "nokey") == Status("none")
    env.put("e", "v", px=10)
    env.advance(1)
    assert env.call("TYPE", "e") == Status("none")


# ---------------------------------------------------------------------------
# KEYS / SCAN / RANDOMKEY / DBSIZE
# ---------------------------------------------------------------------------

def test_keys_patterns_across_shards(env):
    for k in ("hello", "hallo", "hxllo", "world", ""):
        env.put(k, "v")
    assert sorted(env.call("KEYS", "*")) == [b"", b"hallo", b"hello", b"hxllo", b"world"]
    assert sorted(env.call("KEYS", "h?llo")) == [b"hallo", b"hello", b"hxllo"]
    assert sorted(env.call("KEYS", "h[ae]llo")) == [b"hallo", b"hello"]
    assert env.call("KEYS", "w*") == [b"world"]
    assert env.call("KEYS", "nomatch*") == []


def test_keys_hides_expired_keys_without_deleting_them(env):
    env.put("a", "1", px=100)
    env.put("b", "1")
    env.advance(1)
    assert env.call("KEYS", "*") == [b"b"]
    assert env.call("DBSIZE") == 2
    assert env.take_events() == []


def test_keys_expiry_boundary_is_strict_like_key_is_expired(env):
    env.put("a", "1", px=1000)
    env.advance(1)                      # now == expire time: still alive in Redis
    assert env.call("KEYS", "*") == [b"a"]
    env.advance(0.001)
    assert env.call("KEYS", "*") == []


def test_dbsize_sums_shards_per_db(env):
    for i in range(50):
        env.put("k%d" % i, "v")
    env.put("other", "v", db=3)
    assert env.call("DBSIZE") == 50
    env.c.db = 3
    assert env.call("DBSIZE") == 1


def full_scan(env, *opts, count=None):
    cursor = b"0"
    seen = []
    steps = 0
    while True:
        args = ["SCAN", cursor] + list(opts) + (["COUNT", count] if count else [])
        cursor, batch = env.call(*args)
        seen.extend(batch)
        steps += 1
        if cursor == b"0":
            return seen, steps


@pytest.mark.parametrize("shards", [1, 3, 4])
def test_scan_full_iteration_returns_every_key(shards):
    env = Env(shards=shards)
    names = {b"key:%d" % i for i in range(700)}
    for k in names:
        env.put(k, "v")
    seen, steps = full_scan(env, count=25)
    assert set(seen) == names
    assert steps > 10


def test_scan_small_db_comes_back_whole(env):
    for i in range(5):
        env.put("k%d" % i, "v")
    cursor, keys = env.call("SCAN", "0")
    assert cursor == b"0" and len(keys) == 5


def test_scan_cursor_encodes_shard(env):
    for i in range(400):
        env.put("k%d" % i, "v")
    n = len(env.srv.shards)
    cursor, keys = scan_keyspace_cursor(env.srv, 0, 0, 10)
    assert cursor != 0 and len(keys) >= 10
    # the shard "digit" advances only after shard 0's slice is done
    assert cursor % n == 0


def test_scan_survives_writes_and_bucket_splits_during_iteration():
    rnd = random.Random(7)
    for shards in (1, 4):
        env = Env(shards=shards)
        stable = [b"stable:%d" % i for i in range(300)]
        doomed = [b"doomed:%d" % i for i in range(300)]
        for k in stable + doomed:
            env.put(k, "v")
        seen = set()
        cursor = b"0"
        added = 0
        while True:
            cursor, batch = env.call("SCAN", cursor, "COUNT", "7")
            seen.update(batch)
            # grow a lot (forcing linear-hashing splits) and delete some keys
            for _ in range(40):
                env.put(b"new:%d" % added, "v")
                added += 1
            if doomed:
                env.call("DEL", doomed.pop(rnd.randrange(len(doomed))))
            if cursor == b"0":
                break
        assert set(stable) <= seen
        assert all(k.startswith((b"stable", b"doomed", b"new")) for k in seen)
        assert sum(len(ks.buckets) for s in env.srv.shards for ks in s.dbs[:1]) > 4 * shards


def test_scan_match_and_type(env):
    for i in range(30):
        env.put("user:%d" % i, "v")
        env.put("item:%d" % i, Box())
    seen, _ = full_scan(env, "MATCH", "user:*", count=5)
    assert len(seen) == 30 and all(k.startswith(b"user:") for k in seen)
    seen, _ = full_scan(env, "TYPE", "LIST")
    assert sorted(seen) == sorted(b"item:%d" % i for i in range(30))
    seen, _ = full_scan(env, "TYPE", "list", "MATCH", "item:1*")
    assert len(seen) == 11
    seen, _ = full_scan(env, "TYPE", "nosuchtype")
    assert seen == []
    seen, _ = full_scan(env, "MATCH", "*")
    assert len(seen) == 60


def test_scan_deletes_expired_keys_it_visits(env):
    env.put("a", "1", px=10)
    env.put("b", "1", px=10)
    env.put("c", "1")
    env.advance(1)
    assert env.call("SCAN", "0", "MATCH", "a") == [b"0", []]
    assert env.call("DBSIZE") == 2
    assert env.take_events() == [(0, (b"DEL", b"a"))]
    assert env.call("SCAN", "0") == [b"0", [b"c"]]
    assert env.call("DBSIZE") == 1


def test_scan_type_none_returns_expired_keys_like_redis(env):
    env.put("a", "1", px=10)
    env.put("c", "1")
    env.advance(1)
    assert env.call("SCAN", "0", "TYPE", "none") == [b"0", [b"a"]]
    assert env.call("DBSIZE") == 1


@pytest.mark.parametrize("raw,value", [
    (b"0", 0), (b"", 0), (b"17", 17), (b"+5", 5), (b"007", 7), (b"-0", 0),
    (b"-1", 2 ** 64 - 1), (b"18446744073709551615", 2 ** 64 - 1),
    (b"-18446744073709551615", 1),
])
def test_parse_scan_cursor_accepts(raw, value):
    assert parse_scan_cursor(raw) == value


@pytest.mark.parametrize("raw", [b" 5", b"5 ", b"5x", b"-", b"+", b"0x10", b"18446744073709551616",
                                 b"\t1", b"--1", b"1.0"])
def test_parse_scan_cursor_rejects(raw, env):
    with pytest.raises(ReplyError) as e:
        parse_scan_cursor(raw)
    assert e.value.message == "ERR invalid cursor"
    assert env.call("SCAN", raw) == err("ERR invalid cursor")


@pytest.mark.parametrize("args,reply", [
    (["COUNT", "0"], "ERR syntax error"),
    (["COUNT", "-1"], "ERR syntax error"),
    (["COUNT", "x"], "ERR value is not an integer or out of range"),
    (["COUNT"], "ERR syntax error"),
    (["MATCH"], "ERR syntax error"),
    (["TYPE"], "ERR syntax error"),
    (["FOO", "bar"], "ERR syntax error"),
    (["COUNT", "5", "bogus"], "ERR syntax error"),
])
def test_scan_option_errors(env, args, reply):
    assert env.call("SCAN", "0", *args) == err(reply)


def test_parse_scan_options_for_other_families():
    count, matcher, typ = parse_scan_options([b"HSCAN", b"k", b"0", b"count", b"3", b"MATCH", b"f*"], 3)
    assert count == 3 and matcher(b"foo") and not matcher(b"bar") and typ is None
    with pytest.raises(ReplyError):
        parse_scan_options([b"HSCAN", b"k", b"0", b"TYPE", b"string"], 3)
    assert parse_scan_options([b"SCAN", b"0", b"MATCH", b"*"], 2) == (10, None, None)


def test_randomkey(env):
    assert env.call("RANDOMKEY") is None
    names = [b"k%d" % i for i in range(40)]
    for k in names:
        env.put(k, "v")
    seen = {env.call("RANDOMKEY") for _ in range(600)}
    assert seen <= set(names) and len(seen) > 30


def test_randomkey_skips_and_deletes_expired(env):
    for i in range(20):
        env.put("gone%d" % i, "v", px=10)
    env.put("live", "v")
    env.advance(1)
    for _ in range(20):
        assert env.call("RANDOMKEY") == b"live"
    for i in range(20):
        env.put("gone%d" % i, "v", px=10)
    env.call("DEL", "live")
    env.advance(1)
    assert env.call("RANDOMKEY") is None
    assert env.call("DBSIZE") == 0


def test_randomkey_with_many_expired_keys():
    env = Env(shards=1)
    for i in range(3000):
        env.put("k%d" % i, "v", px=10)
    env.advance(1)
    assert env.call("RANDOMKEY") is None
    assert env.call("DBSIZE") == 0
    env.put("live", "v")
    for i in range(3000):
        env.put("k%d" % i, "v", px=10)
    env.advance(1)
    assert env.call("RANDOMKEY") == b"live"


def test_randomkey_sparse_table():
    env = Env(shards=1)
    for i in range(20000):
        env.put("k%d" % i, "v")
    for i in range(1, 20000):
        env.call("DEL", "k%d" % i)
    assert env.call("RANDOMKEY") == b"k0"


def test_randomkey_on_replica_returns_expired_key_after_tries(env):
    ks = env.put("a", "v", px=10)
    env.advance(1)
    ks.shard.replica_mode = True
    try:
        assert env.call("RANDOMKEY") == b"a"
    finally:
        ks.shard.replica_mode = False


# ---------------------------------------------------------------------------
# FLUSHDB / FLUSHALL / SWAPDB
# ---------------------------------------------------------------------------

def test_flushdb_and_flushall(env):
    for i in range(20):
        env.put("k%d" % i, "v")
        env.put("k%d" % i, "v", db=1)
    env.take_events()
    assert env.call("FLUSHDB") == OK
    assert env.call("DBSIZE") == 0
    env.c.db = 1
    assert env.call("DBSIZE") == 20
    assert env.call("FLUSHALL", "async") == OK
    assert env.call("DBSIZE") == 0
    assert env.call("FLUSHDB", "SYNC") == OK
    assert env.take_events() == [(0, (b"FLUSHDB",)), (1, (b"FLUSHALL", b"ASYNC")),
                                 (1, (b"FLUSHDB", b"SYNC"))]


@pytest.mark.parametrize("cmd", ["FLUSHDB", "FLUSHALL"])
def test_flush_syntax(env, cmd):
    assert env.call(cmd, "foo") == err("ERR syntax error")
    assert env.call(cmd, "async", "sync") == err("ERR syntax error")
    assert env.take_events() == []


def test_flush_clears_ttl_heap(env):
    env.put("a", "v", px=100)
    env.call("FLUSHALL")
    env.put("a", "v")
    env.advance(1)
    for s in env.srv.shards:
        s.active_expire_cycle()
    assert env.get("a") == b"v"


def test_swapdb_swaps_every_shard_and_fixes_indexes(env):
    names = [b"k%d" % i for i in range(30)]
    for k in names:
        env.put(k, "zero")
    env.put("one", "1", db=1, px=5000)
    env.take_events()
    assert env.call("SWAPDB", "0", "1") == OK
    assert env.call("DBSIZE") == 1
    assert env.call("KEYS", "*") == [b"one"]
    env.c.db = 1
    assert env.call("DBSIZE") == 30
    for s in env.srv.shards:
        for i, ks in enumerate(s.dbs):
            assert ks.index == i
    assert env.take_events() == [(0, (b"SWAPDB", b"0", b"1"))]
    # expiry in the swapped db emits DEL with the new db number
    env.advance(10)
    total = sum(s.active_expire_cycle() for s in env.srv.shards)
    assert total == 1
    assert env.take_events() == [(0, (b"DEL", b"one"))]


def test_swapdb_errors(env):
    assert env.call("SWAPDB", "x", "1") == err("ERR invalid first DB index")
    assert env.call("SWAPDB", "0", "x") == err("ERR invalid second DB index")
    assert env.call("SWAPDB", "16", "x") == err("ERR invalid second DB index")
    assert env.call("SWAPDB", "2147483648", "0") == err("ERR invalid first DB index")
    assert env.call("SWAPDB", "0", "16") == err("ERR DB index is out of range")
    assert env.call("SWAPDB", "-1", "0") == err("ERR DB index is out of range")
    assert env.take_events() == []
    assert env.call("SWAPDB", "3", "3") == OK
    assert env.take_events() == [(0, (b"SWAPDB", b"3", b"3"))]


def test_swapdb_keeps_watches_with_db_number(env):
    class W:
        watch_dirty = False
    w = W()
    ks0 = env.ks("a", 0)
    ks0.watched = {b"a": [w]}
    env.put("a", "v", db=1)
    w.watch_dirty = False
    env.call("SWAPDB", "0", "1")
    assert w.watch_dirty
    assert env.ks("a", 0).watched == {b"a": [w]}
    assert env.ks("a", 1).watched is None


# ---------------------------------------------------------------------------
# RENAME / RENAMENX / COPY / MOVE
# ---------------------------------------------------------------------------

def test_rename_across_shards_keeps_ttl(env):
    a, b = keys_on_distinct_shards(env)
    env.put(a, "v", px=10_000)
    assert env.call("RENAME", a, b) == OK
    assert env.get(a) is None and env.get(b) == b"v"
    assert env.call("PTTL", b) == 10_000
    assert env.take_events() == [(0, (b"RENAME", a, b))]


def test_rename_overwrites_destination_and_its_ttl(env):
    a, b = keys_on_distinct_shards(env)
    env.put(a, "src")
    env.put(b, Box([b"x"]), px=5000)
    assert env.call("RENAME", a, b) == OK
    assert env.get(b) == b"src" and env.call("TTL", b) == -1
    assert env.call("DBSIZE") == 1


def test_rename_errors_and_same_key(env):
    assert env.call("RENAME", "nokey", "x") == err("ERR no such key")
    assert env.call("RENAMENX", "nokey", "nokey") == err("ERR no such key")
    env.put("a", "v")
    assert env.call("RENAME", "a", "a") == OK
    assert env.call("RENAMENX", "a", "a") == 0
    assert env.take_events() == []


def test_renamenx(env):
    a, b = keys_on_distinct_shards(env)
    env.put(a, "1")
    env.put(b, "2")
    assert env.call("RENAMENX", a, b) == 0
    assert env.get(a) == b"1"
    env.call("DEL", b)
    env.take_events()
    assert env.call("RENAMENX", a, b) == 1
    assert env.take_events() == [(0, (b"RENAMENX", a, b))]


def test_rename_expired_source_and_expired_destination(env):
    a, b = keys_on_distinct_shards(env)
    env.put(a, "1", px=10)
    env.put(b, "2", px=10)
    env.advance(1)
    assert env.call("RENAME", a, b) == err("ERR no such key")
    assert env.take_events() == [(0, (b"DEL", a))]
    env.put(a, "1")
    assert env.call("RENAMENX", a, b) == 1
    assert env.take_events() == [(0, (b"DEL", b)), (0, (b"RENAMENX", a, b))]


def test_copy_is_deep_and_keeps_ttl(env):
    a, b = keys_on_distinct_shards(env)
    box = Box([b"x"])
    env.put(a, box, px=3000)
    assert env.call("COPY", a, b) == 1
    copied = env.get(b)
    assert copied is not box and copied.items == [b"x"]
    copied.items.append(b"y")
    assert box.items == [b"x"]
    assert env.call("PTTL", b) == 3000
    assert env.take_events() == [(0, (b"COPY", a, b))]


def test_copy_keeps_string_encoding():
    assert duplicate_value(b"abc") == b"abc"
    raw = bytearray(b"abc")
    dup = duplicate_value(raw)
    assert type(dup) is bytearray and dup == raw and dup is not raw


def test_copy_options(env):
    env.put("a", "v")
    env.put("b", "old")
    assert env.call("COPY", "a", "b") == 0
    assert env.call("COPY", "a", "b", "REPLACE") == 1
    assert env.get("b") == b"v"
    assert env.call("COPY", "a", "a", "db", "1") == 1
    assert env.get("a", db=1) == b"v"
    assert env.call("COPY", "a", "a", "DB", "1") == 0
    assert env.call("COPY", "a", "c", "replace", "db", "2", "db", "1") == 1
    assert env.get("c", db=1) == b"v" and env.get("c", db=2) is None
    assert env.call("COPY", "nokey", "x") == 0
    assert env.take_events() == [
        (0, (b"COPY", b"a", b"b", b"REPLACE")),
        (0, (b"COPY", b"a", b"a", b"DB", b"1")),
        (0, (b"COPY", b"a", b"c", b"DB", b"1", b"REPLACE")),
    ]


@pytest.mark.parametrize("args,reply", [
    (["a", "a"], "ERR source and destination objects are the same"),
    (["a", "a", "db", "0"], "ERR source and destination objects are the same"),
    (["a", "b", "db", "x"], "ERR value is not an integer or out of range"),
    (["a", "b", "db", "16"], "ERR DB index is out of range"),
    (["a", "b", "db", "-1"], "ERR DB index is out of range"),
    (["a", "b", "db", "2147483648"],
     "ERR value is out of range, value must between -2147483648 and 2147483647"),
    (["a", "b", "db"], "ERR syntax error"),
    (["a", "b", "foo"], "ERR syntax error"),
    (["nokey", "b", "db", "99"], "ERR DB index is out of range"),
])
def test_copy_errors(env, args, reply):
    env.put("a", "v")
    assert env.call("COPY", *args) == err(reply)


def test_move(env):
    env.put("a", "v", px=7000)
    assert env.call("MOVE", "a", "1") == 1
    assert env.get("a") is None and env.get("a", db=1) == b"v"
    assert env.take_events() == [(0, (b"MOVE", b"a", b"1"))]
    env.c.db = 1
    assert env.call("PTTL", "a") == 7000
    env.put("a", "zero", db=0)
    assert env.call("MOVE", "a", "0") == 0
    assert env.call("MOVE", "nokey", "0") == 0
    assert env.take_events() == []


@pytest.mark.parametrize("arg,reply", [
    ("0", "ERR source and destination objects are the same"),
    ("x", "ERR value is not an integer or out of range"),
    ("16", "ERR DB index is out of range"),
    ("-1", "ERR DB index is out of range"),
    ("4294967296", "ERR value is out of range, value must between -2147483648 and 2147483647"),
])
def test_move_errors(env, arg, reply):
    env.put("a", "v")
    assert env.call("MOVE", "a", arg) == err(reply)


# ---------------------------------------------------------------------------
# OBJECT
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("value,enc", [
    (b"1", "int"), (b"-1", "int"), (b"9223372036854775807", "int"),
    (b"-9223372036854775808", "int"), (b"9223372036854775808", "embstr"),
    (b"12345678901234567890", "embstr"), (b"00", "embstr"), (b"-0", "embstr"), (b"+1", "embstr"),
    (b" 1", "embstr"), (b"", "embstr"), (b"a" * 44, "embstr"), (b"a" * 45, "raw"),
    (bytearray(b"1"), "raw"), (bytearray(b"ab"), "raw"),
])
def test_object_encoding_strings(value, enc):
    assert object_encoding(value) == enc


def test_object_encoding_command(env):
    env.put("a", "12")
    env.put("l", Box())
    assert env.call("OBJECT", "ENCODING", "a") == b"int"
    assert env.call("OBJECT", "encoding", "l") == b"listpack"
    assert env.call("OBJECT", "ENCODING", "nokey") is None


def test_object_refcount(env):
    env.put("a", "1")
    env.put("b", "10000")
    env.put("c", "x")
    env.put("d", bytearray(b"5"))
    assert env.call("OBJECT", "REFCOUNT", "a") == 2147483647
    assert env.call("OBJECT", "REFCOUNT", "b") == 1
    assert env.call("OBJECT", "REFCOUNT", "c") == 1
    assert env.call("OBJECT", "REFCOUNT", "d") == 1
    assert env.call("OBJECT", "REFCOUNT", "nokey") is None
    env2 = Env(maxmemory="100mb", maxmemory_policy="allkeys-lru")
    env2.put("a", "1")
    assert env2.call("OBJECT", "REFCOUNT", "a") == 1


def test_object_idletime_and_freq(env):
    env.put("a", "v")
    env.advance(42)
    assert env.call("OBJECT", "IDLETIME", "a") == 42
    assert env.call("OBJECT", "IDLETIME", "a") == 42   # OBJECT does not touch
    assert env.call("OBJECT", "IDLETIME", "nokey") is None
    assert env.call("OBJECT", "FREQ", "nokey") is None
    r = env.call("OBJECT", "FREQ", "a")
    assert r.message.startswith("ERR An LFU maxmemory policy is not selected")


def test_object_freq_under_lfu():
    env = Env(maxmemory_policy="allkeys-lfu")
    env.put("a", "v")
    assert env.call("OBJECT", "FREQ", "a") == 5
    for _ in range(200):
        env.call("TOUCH", "a")
    assert env.call("OBJECT", "FREQ", "a") > 5
    r = env.call("OBJECT", "IDLETIME", "a")
    assert r.message.startswith("ERR An LFU maxmemory policy is selected, idle time not tracked")
    env.advance(3600)   # one decay period per minute
    assert env.call("OBJECT", "FREQ", "a") == 0


def test_object_help_and_errors(env):
    help_ = env.call("OBJECT", "HELP")
    assert help_[0] == Status("OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
    assert help_[-1] == Status("    Prints this help.") and len(help_) == 15
    assert env.call("OBJECT", "foo") == err("ERR unknown subcommand 'foo'. Try OBJECT HELP.")
    assert env.call("OBJECT", "ENCODING") == err(
        "ERR wrong number of arguments for 'object|encoding' command")


# ---------------------------------------------------------------------------
# EXPIRE family
# ---------------------------------------------------------------------------

def test_expire_sets_absolute_time_and_propagates_pexpireat(env):
    env.put("a", "v")
    assert env.call("EXPIRE", "a", "100") == 1
    assert env.call("TTL", "a") == 100
    assert env.call("PTTL", "a") == 100_000
    assert env.call("EXPIRETIME", "a") == T0 + 100
    assert env.call("PEXPIRETIME", "a") == T0_MS + 100_000
    assert env.call("PEXPIRE", "a", "5000") == 1
    assert env.call("EXPIREAT", "a", str(T0 + 50)) == 1
    assert env.call("PEXPIREAT", "a", str(T0_MS + 60_000)) == 1
    assert env.take_events() == [
        (0, (b"PEXPIREAT", b"a", b"%d" % (T0_MS + 100_000))),
        (0, (b"PEXPIREAT", b"a", b"%d" % (T0_MS + 5000))),
        (0, (b"PEXPIREAT", b"a", b"%d" % (T0_MS + 50_000))),
        (0, (b"PEXPIREAT", b"a", b"%d" % (T0_MS + 60_000))),
    ]


def test_expire_on_missing_key(env):
    assert env.call("EXPIRE", "nokey", "10") == 0
    assert env.call("TTL", "nokey") == -2
    assert env.call("PTTL", "nokey") == -2
    assert env.call("EXPIRETIME", "nokey") == -2
    assert env.call("PEXPIRETIME", "nokey") == -2
    assert env.call("PERSIST", "nokey") == 0
    assert env.take_events() == []


def test_ttl_without_expire(env):
    env.put("a", "v")
    for cmd in ("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"):
        assert env.call(cmd, "a") == -1


@pytest.mark.parametrize("ms,ttl", [(1499, 1), (1500, 2), (500, 1), (499, 0), (1, 0)])
def test_ttl_rounds_like_redis(env, ms, ttl):
    env.put("a", "v")
    env.call("PEXPIRE", "a", ms)
    assert env.call("TTL", "a") == ttl


def test_past_times_delete_and_propagate_del(env):
    for cmd, arg in (("EXPIRE", "-1"), ("EXPIRE", "0"), ("PEXPIRE", "0"), ("EXPIREAT", "100"),
                     ("PEXPIREAT", str(T0_MS))):
        env.put("a", "v")
        env.take_events()
        assert env.call(cmd, "a", arg) == 1
        assert env.get("a") is None
        assert env.take_events() == [(0, (b"DEL", b"a"))], cmd
    assert env.srv.stat("stats_expired") == 0


def test_expire_nx_xx_gt_lt(env):
    env.put("a", "v")
    assert env.call("EXPIRE", "a", "100", "XX") == 0
    assert env.call("EXPIRE", "a", "100", "GT") == 0      # no TTL counts as infinite
    assert env.call("EXPIRE", "a", "100", "NX") == 1
    assert env.call("EXPIRE", "a", "200", "nx") == 0
    assert env.call("EXPIRE", "a", "50", "gt") == 0
    assert env.call("EXPIRE", "a", "200", "GT", "xx") == 1
    assert env.call("EXPIRE", "a", "300", "LT") == 0
    assert env.call("EXPIRE", "a", "150", "lt") == 1
    assert env.call("EXPIRE", "a", "150", "LT") == 0   # equal is not less
    assert env.call("TTL", "a") == 150
    env.call("PERSIST", "a")
    assert env.call("EXPIRE", "a", "1000", "LT") == 1     # no TTL: LT succeeds
    events = [argv for _, argv in env.take_events()]
    assert events[0] == (b"PEXPIREAT", b"a", b"%d" % (T0_MS + 100_000), b"NX")
    assert events[1] == (b"PEXPIREAT", b"a", b"%d" % (T0_MS + 200_000), b"GT", b"xx")
    assert events[2] == (b"PEXPIREAT", b"a", b"%d" % (T0_MS + 150_000), b"lt")
    assert events[3] == (b"PERSIST", b"a")
    assert events[4] == (b"PEXPIREAT", b"a", b"%d" % (T0_MS + 1_000_000), b"LT")


@pytest.mark.parametrize("args,reply", [
    (["EXPIRE", "a", "1", "NX", "XX"], "ERR NX and XX, GT or LT options at the same time are not compatible"),
    (["EXPIRE", "a", "1", "NX", "GT"], "ERR NX and XX, GT or LT options at the same time are not compatible"),
    (["EXPIRE", "a", "1", "lt", "nx"], "ERR NX and XX, GT or LT options at the same time are not compatible"),
    (["EXPIRE", "a", "1", "GT", "LT"], "ERR GT and LT options at the same time are not compatible"),
    (["EXPIRE", "a", "1", "foo"], "ERR Unsupported option foo"),
    (["EXPIRE", "a", "x", "foo"], "ERR Unsupported option foo"),
    (["EXPIRE", "a", "x"], "ERR value is not an integer or out of range"),
    (["EXPIRE", "a", " 1"], "ERR value is not an integer or out of range"),
    (["EXPIRE", "a", "9223372036854775807"], "ERR invalid expire time in 'expire' command"),
    (["EXPIRE", "a", "9223372036854775"], "ERR invalid expire time in 'expire' command"),
    (["EXPIRE", "a", "-9223372036854776"], "ERR invalid expire time in 'expire' command"),
    (["PEXPIRE", "a", "9223372036854775807"], "ERR invalid expire time in 'pexpire' command"),
    (["EXPIREAT", "a", "9223372036854776"], "ERR invalid expire time in 'expireat' command"),
    (["PEXPIRE", "nokey", "9223372036854775807"], "ERR invalid expire time in 'pexpire' command"),
])
def test_expire_errors(env, args, reply):
    env.put("a", "v")
    assert env.call(*args) == err(reply)
    assert env.take_events() == []


def test_expire_extreme_values(env):
    env.put("a", "v")
    assert env.call("PEXPIREAT", "a", "9223372036854775807") == 1
    assert env.call("PEXPIRETIME", "a") == 9223372036854775807
    assert env.call("EXPIRETIME", "a") == 9223372036854776
    assert env.call("EXPIREAT", "a", "9223372036854775") == 1
    assert env.call("EXPIRE", "a", "-9223372036854775") == 1
    assert env.get("a") is None


def test_persist(env):
    env.put("a", "v", px=1000)
    assert env.call("PERSIST", "a") == 1
    assert env.call("PERSIST", "a") == 0
    assert env.call("TTL", "a") == -1
    assert env.take_events() == [(0, (b"PERSIST", b"a"))]
    env.advance(5)
    assert env.get("a") == b"v"


def test_lazy_expiry_with_clock(env):
    env.put("a", "v")
    env.call("PEXPIRE", "a", "1500")
    env.take_events()
    env.advance(1)
    assert env.call("PTTL", "a") == 500
    env.advance(0.501)
    assert env.call("TTL", "a") == -2
    assert env.take_events() == [(0, (b"DEL", b"a"))]
    assert env.srv.stat("stats_expired") == 1


def test_active_expiry_with_clock(env):
    for i in range(100):
        env.put("k%d" % i, "v")
        env.call("EXPIRE", "k%d" % i, 10 if i % 2 else 1000)
    env.take_events()
    env.advance(11)
    expired = sum(s.active_expire_cycle() for s in env.srv.shards)
    assert expired == 50
    assert env.srv.stat("stats_expired") == 50
    assert env.call("DBSIZE") == 50
    assert sorted(argv for _, argv in env.take_events()) == sorted(
        (b"DEL", b"k%d" % i) for i in range(1, 100, 2))


def test_expire_overrides_and_set_expire_rewrite_keeps_latest(env):
    env.put("a", "v")
    env.call("EXPIRE", "a", "10")
    env.call("EXPIRE", "a", "1000")
    env.advance(20)
    assert sum(s.active_expire_cycle() for s in env.srv.shards) == 0
    assert env.call("TTL", "a") == 980


def test_replica_mode_does_not_delete_on_past_expire(env):
    ks = env.put("a", "v")
    ks.shard.replica_mode = True
    assert env.call("EXPIRE", "a", "-1") == 1
    assert env.take_events() == [(0, (b"PEXPIREAT", b"a", b"%d" % (T0_MS - 1000)))]
    ks.shard.replica_mode = False


@pytest.mark.parametrize("cmd,n", [
    ("DEL", 1), ("UNLINK", 1), ("EXISTS", 1), ("TOUCH", 1), ("TYPE", 1), ("TYPE", 3),
    ("KEYS", 1), ("KEYS", 3), ("SCAN", 1), ("RANDOMKEY", 2), ("RENAME", 2), ("RENAMENX", 4),
    ("COPY", 2), ("MOVE", 2), ("DBSIZE", 2), ("SWAPDB", 2), ("EXPIRE", 2), ("PEXPIRE", 2),
    ("EXPIREAT", 2), ("PEXPIREAT", 2), ("TTL", 1), ("PTTL", 3), ("EXPIRETIME", 1),
    ("PEXPIRETIME", 3), ("PERSIST", 1),
])
def test_arity(env, cmd, n):
    r = env.call(cmd, *["a"] * (n - 1))
    assert r == err("ERR wrong number of arguments for '%s' command" % cmd.lower())
