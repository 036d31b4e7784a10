"""Unit tests of the hash family and its value class, on a task.Clock server (no network)."""
import random


from redislite.commands import load_all
from redislite.errors import ReplyError
from redislite.resp.encoder import Map, encode
from redislite.storage.keyspace import KEY_OVERHEAD, sizeof_bytes, value_memory
from redislite.storage.types.hash import HashValue, Table

load_all()
LIMITS = (512, 64)


def err(reply):
    assert isinstance(reply, ReplyError), reply
    return reply.message


def check_memory(srv):
    """Incrementally maintained memory equals a recount from scratch."""
    for shard in srv.shards:
        for ks in shard.dbs:
            total = sum(sizeof_bytes(k) + KEY_OVERHEAD + value_memory(v) for k, v in ks.iter_items())
            assert ks.mem == total
            for _, v in ks.iter_items():
                if isinstance(v, HashValue):
                    assert v.mem == _recount(v)


def _recount(h):
    from redislite.storage.types.hash import BASE_OVERHEAD, entry_memory
    return BASE_OVERHEAD + sum(entry_memory(f, v) for f, v in h.items())


# --- Table ----------------------------------------------------------------------------------------
def test_table_order_updates_and_deletes():
    t = Table()
    for k in (b"c", b"a", b"b"):
        assert t.put(k, k.upper())
    assert not t.put(b"a", b"new")
    assert t.remove(b"c") == b"C"
    assert t.remove(b"c") is None
    t.put(b"c", b"again")
    assert list(t.iter_items()) == [(b"a", b"new"), (b"b", b"B"), (b"c", b"again")]


def test_table_compacts_and_random_slots_are_live():
    t = Table()
    for i in range(1000):
        t.put(b"%d" % i, b"v")
    for i in range(0, 1000, 3):
        t.remove(b"%d" % i)
    assert t.holes * 2 <= len(t.keys)
    for i in range(1, 1000, 3):
        t.remove(b"%d" % i)
    assert len(t) == 333
    assert len(t.keys) < 1000          # compacted at least once
    assert {t.keys[i] for i in t.live_slots()} == {b"%d" % i for i in range(2, 1000, 3)}
    for _ in range(200):
        assert t.keys[t.random_slot()] is not None
    for k in list(t.pos):
        assert t.keys[t.pos[k]] == k


def test_table_scan_guarantee_under_churn():
    """Keys present for the whole iteration are returned, whatever happens in between."""
    rng = random.Random(7)
    t = Table()
    for i in range(3000):
        t.put(b"k%d" % i, b"")
    stable = {b"k%d" % i for i in range(3000) if i % 7 == 0}
    cursor, seen, n = 0, set(), 0
    while True:
        cursor, slots = t.scan(cursor, 25)
        seen.update(t.keys[i] for i in slots)
        for _ in range(30):                  # delete non-stable keys, add a few new ones
            k = b"k%d" % rng.randrange(3000)
            if k not in stable:
                t.remove(k)
        for _ in range(5):
            t.put(b"new%d" % n, b"")
            n += 1
        if cursor == 0:
            break
    assert stable <= seen


def test_table_scan_bounds_tombstone_walk():
    t = Table()
    for i in range(100):
        t.put(b"%d" % i, b"")
    for i in range(40):                      # 40 holes at the front (< half: no compaction)
        t.remove(b"%d" % i)
    cursor, slots = t.scan(0, 1)
    assert slots == [] and cursor != 0        # gave up after 10 * COUNT slots, like Redis
    total = []
    while True:
        cursor, slots = t.scan(cursor, 1)
        total += slots
        if cursor == 0:
            break
    assert len(total) == 60


# --- HashValue ---------------------------------------------------------------------------------------
def test_hashvalue_encoding_rules():
    h = HashValue()
    assert h.encoding() == "listpack"
    h.set(b"f", b"x" * 64, LIMITS)
    assert h.encoding() == "listpack"
    h.set(b"f", b"x" * 65, LIMITS)
    assert h.encoding() == "hashtable"
    h.delete(b"f")
    assert h.encoding() == "hashtable"    # never converts back
    h = HashValue()
    h.try_conversion([b"a", b"y" * 65], 64)
    assert h.encoding() == "hashtable"
    h = HashValue()
    for i in range(3):
        h.set(b"%d" % i, b"", (2, 64))
    assert h.encoding() == "hashtable"


def test_hashvalue_copy_is_deep():
    h = HashValue()
    h.set(b"a", b"1", LIMITS)
    h2 = h.copy()
    h2.set(b"a", b"2", LIMITS)
    h2.set(b"b", b"3", LIMITS)
    assert dict(h.items()) == {b"a": b"1"}
    assert h2.encoding() == h.encoding() and dict(h2.items()) == {b"a": b"2", b"b": b"3"}


# --- commands -------------------------------------------------------------------------------------
def test_basic_commands(c, srv):
    assert c.call("HSET", "h", "a", "1", "b", "2") == 2
    assert c.call("HSET", "h", "a", "3") == 0
    assert c.call("HMSET", "h", "c", "4").text == "OK"
    assert c.call("HGET", "h", "a") == b"3"
    assert c.call("HGET", "h", "zz") is None
    assert c.call("HMGET", "h", "a", "zz") == [b"3", None]
    assert c.call("HMGET", "nokey", "a") == [None]
    assert c.call("HLEN", "h") == 3
    assert c.call("HSTRLEN", "h", "a") == 1
    assert c.call("HEXISTS", "h", "b") == 1
    assert c.call("HKEYS", "h") == [b"a", b"b", b"c"]
    assert c.call("HVALS", "h") == [b"3", b"2", b"4"]
    reply = c.call("HGETALL", "h")
    assert type(reply) is Map and list(reply) == [(b"a", b"3"), (b"b", b"2"), (b"c", b"4")]
    assert encode(c.call("HGETALL", "nokey"), True) == b"%0\r\n"
    assert encode(c.call("HGETALL", "nokey"), False) == b"*0\r\n"
    assert c.call("HSETNX", "h", "a", "x") == 0
    assert c.call("HSETNX", "h", "d", "x") == 1
    assert c.call("HDEL", "h", "a", "zz", "a") == 1
    assert c.call("HDEL", "h", "b", "c", "d") == 3
    assert c.call("EXISTS", "h") == 0
    check_memory(srv)


def test_errors(c):
    assert err(c.call("HSET", "h", "a", "1", "b")) == "ERR wrong number of arguments for 'hset' command"
    assert err(c.call("HMSET", "h", "a", "1", "b")) == "ERR wrong number of arguments for 'hmset' command"
    c.call("SET", "s", "x")
    for cmd in (("HSET", "s", "a", "1"), ("HMSET", "s", "a", "1"), ("HGET", "s", "a"), ("HDEL", "s", "a"),
                ("HGETALL", "s"), ("HINCRBY", "s", "a", "1"), ("HRANDFIELD", "s", "2"), ("HSCAN", "s", "0")):
        assert err(c.call(*cmd)).startswith("WRONGTYPE"), cmd
    assert err(c.call("HSCAN", "s", "x")) == "ERR invalid cursor"


def test_hincrby(c, events):
    assert c.call("HINCRBY", "h", "n", "5") == 5
    assert c.call("HINCRBY", "h", "n", "-7") == -2
    assert err(c.call("HINCRBY", "h", "n", "x")) == "ERR value is not an integer or out of range"
    assert err(c.call("HINCRBY", "nokey", "n", "x")).startswith("ERR value")
    assert c.call("EXISTS", "nokey") == 0
    c.call("HSET", "h", "m", "9223372036854775807", "s", "abc", "z", "01")
    assert err(c.call("HINCRBY", "h", "m", "1")) == "ERR increment or decrement would overflow"
    assert err(c.call("HINCRBY", "h", "s", "1")) == "ERR hash value is not an integer"
    assert err(c.call("HINCRBY", "h", "z", "1")) == "ERR hash value is not an integer"
    assert events == [(b"HINCRBY", b"h", b"n", b"5"), (b"HINCRBY", b"h", b"n", b"-7"),
                      (b"HSET", b"h", b"m", b"9223372036854775807", b"s", b"abc", b"z", b"01")]


def test_hincrbyfloat(c, events):
    assert c.call("HINCRBYFLOAT", "h", "f", "10.5") == b"10.5"
    assert c.call("HINCRBYFLOAT", "h", "f", "0.1") == b"10.6"     # long double, like Redis
    assert err(c.call("HINCRBYFLOAT", "h", "f", "inf")) == "ERR value is NaN or Infinity"
    assert err(c.call("HINCRBYFLOAT", "h", "f", "nan")) == "ERR value is not a valid float"
    assert err(c.call("HINCRBYFLOAT", "nokey", "f", "-inf")) == "ERR value is NaN or Infinity"
    c.call("HSET", "h", "s", "abc", "i", "inf")
    assert err(c.call("HINCRBYFLOAT", "h", "s", "1")) == "ERR hash value is not a float"
    assert err(c.call("HINCRBYFLOAT", "h", "i", "1")) == "ERR increment would produce NaN or Infinity"
    assert events[:2] == [(b"HSET", b"h", b"f", b"10.5"), (b"HSET", b"h", b"f", b"10.6")]
    assert c.call("HINCRBYFLOAT", "h", "g", "1e70")
    assert c.call("OBJECT", "ENCODING", "h") == b"hashtable"    # hashTypeSet's length check


def test_events_and_notifications(c, srv, events):
    notes = []
    for shard in srv.shards:
        shard.notifier = lambda db, cls, ev, key: notes.append((cls, ev, key))
    c.call("HSET", "h", "a", "1")
    c.call("HSET", "h", "a", "1")            # propagated even when nothing changed
    c.call("HSETNX", "h", "a", "1")          # nothing
    c.call("HDEL", "h", "zz")                # nothing
    c.call("HDEL", "h", "zz", "a")
    assert events == [(b"HSET", b"h", b"a", b"1"), (b"HSET", b"h", b"a", b"1"), (b"HDEL", b"h", b"zz", b"a")]
    assert notes == [("h", "hset", b"h"), ("h", "hset", b"h"), ("h", "hdel", b"h"), ("g", "del", b"h")]


def test_encodings_follow_config(c):
    c.call("HSET", "h", "a", "1")
    assert c.call("OBJECT", "ENCODING", "h") == b"listpack"
    c.call("CONFIG", "SET", "hash-max-listpack-entries", "1")
    c.call("HSET", "h", "a", "2")
    assert c.call("OBJECT", "ENCODING", "h") == b"listpack"
    c.call("HSET", "h", "b", "2")
    assert c.call("OBJECT", "ENCODING", "h") == b"hashtable"
    c.call("CONFIG", "SET", "hash-max-listpack-value", "3")
    c.call("HSETNX", "g", "abcd", "1")
    assert c.call("OBJECT", "ENCODING", "g") == b"hashtable"
    c.call("COPY", "h", "h2")
    assert c.call("OBJECT", "ENCODING", "h2") == b"hashtable"
    assert c.call("HGETALL", "h2") == c.call("HGETALL", "h")


def test_expired_hash_is_gone(c, srv, events):
    c.call("HSET", "h", "a", "1")
    c.call("PEXPIRE", "h", "100")
    srv.clock.advance(1)
    srv.now.refresh()
    del events[:]
    assert c.call("HGET", "h", "a") is None
    assert events == [(b"DEL", b"h")]
    assert c.call("HSET", "h", "b", "2") == 1
    assert c.call("TTL", "h") == -1


def test_hrandfield(c):
    assert c.call("HRANDFIELD", "nokey") is None
    assert c.call("HRANDFIELD", "nokey", "3") == []
    fields = []
    for i in range(20):
        fields += ["f%02d" % i, "v%d" % i]
    c.call("HSET", "h", *fields)
    keys = {b"f%02d" % i for i in range(20)}
    assert c.call("HRANDFIELD", "h") in keys
    assert c.call("HRANDFIELD", "h", "0") == []
    assert c.call("HRANDFIELD", "h", "100") == sorted(keys)            # whole hash, listpack order
    assert len(c.call("HRANDFIELD", "h", "-50")) == 50
    got = c.call("HRANDFIELD", "h", "5")                              # CASE 4: ordered subset
    assert got == sorted(got) and len(set(got)) == 5
    got = c.call("HRANDFIELD", "h", "15")                             # CASE 3: unique
    assert len(set(got)) == 15 and set(got) <= keys
    flat = c.call("HRANDFIELD", "h", "2", "WITHVALUES")
    assert len(flat) == 4 and flat[1] == b"v%d" % int(flat[0][1:])
    c.resp3 = True
    pairs = c.call("HRANDFIELD", "h", "-3", "WITHVALUES")
    assert len(pairs) == 3 and all(len(p) == 2 for p in pairs)
    c.resp3 = False
    assert err(c.call("HRANDFIELD", "h", "-9223372036854775808")).endswith("9223372036854775807")
    assert err(c.call("HRANDFIELD", "h", "4611686018427387904", "WITHVALUES")) == "ERR value is out of range"
    assert err(c.call("HRANDFIELD", "h", "1", "WITHVALUE")) == "ERR syntax error"
    assert c.call(b"HRANDFIELD", b"h", b"1", b"withvalues\x00junk")   # strcasecmp stops at NUL


def test_hrandfield_hashtable_samples(c):
    c.call("CONFIG", "SET", "hash-max-listpack-entries", "4")
    for i in range(100):
        c.call("HSET", "h", "f%d" % i, "v")
    assert c.call("OBJECT", "ENCODING", "h") == b"hashtable"
    for count in (5, 40, 99, 100, 150):
        got = c.call("HRANDFIELD", "h", count)
        assert len(got) == min(count, 100) and len(set(got)) == len(got)


def test_hscan(c):
    c.call("HSET", "h", "a", "1", "b", "2", "ab", "3")
    assert c.call("HSCAN", "h", "99") == [b"0", [b"a", b"1", b"b", b"2", b"ab", b"3"]]
    assert c.call("HSCAN", "h", "0", "MATCH", "a*") == [b"0", [b"a", b"1", b"ab", b"3"]]
    assert c.call("HSCAN", "nokey", "0", "COUNT", "0") == [b"0", []]
    assert err(c.call("HSCAN", "h", "0", "COUNT", "0")) == "ERR syntax error"
    assert err(c.call("HSCAN", "h", "0", "TYPE", "hash")) == "ERR syntax error"
    assert c.call(b"HSCAN", b"h", b"0", b"count\x00x", b"1")[0] == b"0"
    c.call("CONFIG", "SET", "hash-max-listpack-entries", "4")
    for i in range(200):
        c.call("HSET", "big", "f%d" % i, "%d" % i)
    cursor, seen, calls = b"0", {}, 0
    while True:
        cursor, items = c.call("HSCAN", "big", cursor, "COUNT", "10")
        seen.update(zip(items[::2], items[1::2]))
        calls += 1
        if cursor == b"0":
            break
    assert calls > 10 and seen == {b"f%d" % i: b"%d" % i for i in range(200)}


def test_cross_shard_keys_and_memory(c, srv):
    for i in range(50):
        c.call("HSET", "h%d" % i, "a", "1", "b", "x" * 100)
        c.call("HINCRBY", "h%d" % i, "n", "3")
        c.call("HDEL", "h%d" % i, "a")
    check_memory(srv)
    for i in range(50):
        c.call("HDEL", "h%d" % i, "b", "n")
    check_memory(srv)
    assert c.call("DBSIZE") == 0
