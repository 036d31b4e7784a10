"""Differential tests of the hash family against a real redis-server 7.0.15.

Replies are compared byte for byte in RESP2 and RESP3.  Hashes Redis keeps as a
listpack iterate in insertion order on both sides, so HGETALL & co. are
compared exactly there; hashtable-encoded hashes are compared as multisets.
HRANDFIELD is random: its shape, sizes, membership and the negative-count
repetition semantics are compared, not the members drawn.
"""
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import rule

from tests.compat.differential import DifferentialMachine, decode, keys, small_ints, values

pytestmark = pytest.mark.compat

LONG = "f" * 65
NOT_HASHES = ("SET", "RPUSH", "SADD")


@pytest.fixture(params=["resp2", "resp3"])
def p(pair, request):
    pair.is_resp3 = request.param == "resp3"
    if pair.is_resp3:
        pair.resp3()
    return pair


@pytest.fixture
def limits(pair):
    """Restore the listpack limits the test changes (the servers are shared by the session)."""
    yield pair
    for name, value in (("hash-max-listpack-entries", "512"), ("hash-max-listpack-value", "64")):
        pair.same("CONFIG", "SET", name, value)


def run(p, *commands):
    for cmd in commands:
        p.same(*cmd)


def other_type(p, key, kind):
    """Make *key* a string, list or set on both sides."""
    if kind == "SET":
        p.same("SET", key, "x")
    else:
        p.same(kind, key, "x")


# --- basic commands ------------------------------------------------------------------------------
def test_hset_hget_family(p):
    run(p,
        ("HGET", "h", "f"), ("HSET", "h", "f", "v"), ("HGET", "h", "f"), ("HGET", "h", "nope"),
        ("HSET", "h", "f", "v2", "g", "w", "f", "v3"), ("HGETALL", "h"), ("HKEYS", "h"), ("HVALS", "h"),
        ("HLEN", "h"), ("HEXISTS", "h", "f"), ("HEXISTS", "h", "zz"), ("HSTRLEN", "h", "f"),
        ("HSTRLEN", "h", "zz"), ("HMGET", "h", "f", "zz", "g", "f"), ("HMSET", "h", "a", "1", "b", ""),
        ("HGETALL", "h"), ("HSETNX", "h", "a", "x"), ("HSETNX", "h", "c", "x"), ("HGETALL", "h"),
        ("HSETNX", "new", "f", "v"), ("HGETALL", "new"), ("hset", "h", "", ""), ("HGET", "h", ""),
        ("HSET", "bin", b"\x00\xff\r\n", b"\r\n\x00"), ("HGETALL", "bin"),
        ("HSTRLEN", "bin", b"\x00\xff\r\n"), ("HSET", "n", "i", "-12"), ("HSTRLEN", "n", "i"),
        ("HSET", "n", "big", "9223372036854775808"), ("HGET", "n", "big"))


def test_missing_keys(p):
    run(p, ("HGET", "no", "f"), ("HMGET", "no", "a", "b"), ("HLEN", "no"), ("HSTRLEN", "no", "f"),
        ("HEXISTS", "no", "f"), ("HKEYS", "no"), ("HVALS", "no"), ("HGETALL", "no"), ("HDEL", "no", "f"),
        ("HRANDFIELD", "no"), ("HRANDFIELD", "no", "3"), ("HRANDFIELD", "no", "-3", "WITHVALUES"),
        ("HSCAN", "no", "0"), ("HSCAN", "no", "0", "COUNT", "0"), ("HSCAN", "no", "0", "TYPE", "x"),
        ("EXISTS", "no"))


def test_hdel(p):
    run(p, ("HSET", "h", "a", "1", "b", "2", "c", "3"), ("HDEL", "h", "zz"), ("HDEL", "h", "a", "a", "zz"),
        ("HGETALL", "h"), ("HDEL", "h", "b", "c", "d"), ("EXISTS", "h"), ("HDEL", "h", "b"),
        ("HSET", "h", "a", "1"), ("HDEL", "h", "a", "b"), ("TYPE", "h"))


def test_hset_keeps_ttl_and_hsetnx_creates(p):
    run(p, ("HSET", "h", "a", "1"), ("EXPIRE", "h", "100"), ("HSET", "h", "b", "2"), ("TTL", "h"),
        ("HDEL", "h", "a"), ("TTL", "h"), ("HINCRBY", "h", "c", "1"), ("TTL", "h"))


@pytest.mark.parametrize("args", [
    ("HSET",), ("HSET", "h"), ("HSET", "h", "f"), ("HSET", "h", "f", "v", "g"), ("HMSET", "h", "f"),
    ("HMSET", "h", "f", "v", "g"), ("HSETNX", "h", "f"), ("HSETNX", "h", "f", "v", "x"), ("HGET", "h"),
    ("HGET", "h", "f", "g"), ("HMGET", "h"), ("HDEL", "h"), ("HLEN",), ("HLEN", "h", "x"),
    ("HSTRLEN", "h"), ("HEXISTS", "h"), ("HKEYS",), ("HVALS", "h", "x"), ("HGETALL",),
    ("HINCRBY", "h", "f"), ("HINCRBY", "h", "f", "1", "2"), ("HINCRBYFLOAT", "h", "f"),
    ("HRANDFIELD",), ("HSCAN", "h"),
])
def test_arity(pair, args):
    pair.same(*args)


@pytest.mark.parametrize("kind", NOT_HASHES)
def test_wrongtype(p, kind):
    other_type(p, "k", kind)
    run(p, ("HSET", "k", "f", "v"), ("HMSET", "k", "f", "v"), ("HSETNX", "k", "f", "v"), ("HGET", "k", "f"),
        ("HMGET", "k", "f"), ("HDEL", "k", "f"), ("HLEN", "k"), ("HSTRLEN", "k", "f"),
        ("HEXISTS", "k", "f"), ("HKEYS", "k"), ("HVALS", "k"), ("HGETALL", "k"), ("HINCRBY", "k", "f", "1"),
        ("HINCRBY", "k", "f", "x"), ("HINCRBYFLOAT", "k", "f", "1"), ("HINCRBYFLOAT", "k", "f", "inf"),
        ("HRANDFIELD", "k"), ("HRANDFIELD", "k", "0"), ("HRANDFIELD", "k", "x"), ("HRANDFIELD", "k", "1", "x"),
        ("HSCAN", "k", "0"), ("HSCAN", "k", "x"), ("HSCAN", "k", "0", "COUNT", "0"), ("TYPE", "k"))
    # other families on a hash
    run(p, ("HSET", "h", "f", "v"), ("GET", "h"), ("LPUSH", "h", "x"), ("SADD", "h", "x"), ("SCARD", "h"),
        ("TYPE", "h"))


# --- counters --------------------------------------------------------------------------------------
def test_hincrby(p):
    run(p,
        ("HINCRBY", "h", "f", "5"), ("HINCRBY", "h", "f", "-7"), ("HGET", "h", "f"),
        ("HINCRBY", "h", "f", "x"), ("HINCRBY", "h", "f", " 1"), ("HINCRBY", "h", "f", "+1"),
        ("HINCRBY", "h", "f", "1.0"), ("HINCRBY", "h", "f", "9223372036854775808"),
        ("HINCRBY", "nokey", "f", "x"), ("EXISTS", "nokey"),
        ("HSET", "h", "max", "9223372036854775807", "min", "-9223372036854775808"),
        ("HINCRBY", "h", "max", "1"), ("HINCRBY", "h", "max", "0"), ("HINCRBY", "h", "max", "-1"),
        ("HINCRBY", "h", "min", "-1"), ("HINCRBY", "h", "min", "9223372036854775807"),
        ("HINCRBY", "h", "min", "-9223372036854775808"),
        ("HSET", "h", "s", "abc", "z", "007", "m", "-0", "sp", " 7", "fl", "1.5", "e", ""),
        ("HINCRBY", "h", "s", "1"), ("HINCRBY", "h", "z", "1"), ("HINCRBY", "h", "m", "1"),
        ("HINCRBY", "h", "sp", "1"), ("HINCRBY", "h", "fl", "1"), ("HINCRBY", "h", "e", "1"),
        ("HGETALL", "h"))


HINCRBYFLOAT_CASES = [
    "1.5", "0.1", "-0.1", "1e3", "1E-3", "0x10", "inf", "-inf", "+inf", "infinity", "nan", "-nan", "", " 1",
    "1 ", "abc", "1e5000", "-1e5000", "1e4931", "5.0e-324", "3.0e-4951", "1_0", "9223372036854775807",
    "100000000000000000000000",
]


@pytest.mark.parametrize("incr", HINCRBYFLOAT_CASES)
def test_hincrbyfloat_increments(pair, incr):
    run(pair, ("HINCRBYFLOAT", "h", "f", incr), ("EXISTS", "h"), ("HINCRBYFLOAT", "h", "f", incr),
        ("HGETALL", "h"), ("OBJECT", "ENCODING", "h"))


def test_hincrbyfloat_values(p):
    run(p,
        ("HSET", "h", "a", "10.5", "b", "1e3", "c", "abc", "d", "inf", "e", "5.0", "f", "0x1p3",
         "g", " 1", "i", "9223372036854775807", "j", "-0"),
        ("HINCRBYFLOAT", "h", "a", "0.1"), ("HINCRBYFLOAT", "h", "b", "1"), ("HINCRBYFLOAT", "h", "c", "1"),
        ("HINCRBYFLOAT", "h", "d", "1"), ("HINCRBYFLOAT", "h", "e", "0"), ("HINCRBYFLOAT", "h", "e", "1e-20"),
        ("HINCRBYFLOAT", "h", "f", "1"), ("HINCRBYFLOAT", "h", "g", "1"), ("HINCRBYFLOAT", "h", "i", "1"),
        ("HINCRBYFLOAT", "h", "j", "0"), ("HINCRBYFLOAT", "h", "a", "1e308"),
        ("HINCRBYFLOAT", "h", "a", "1e4932"), ("HINCRBYFLOAT", "h", "z", "1e4932"),
        ("HINCRBYFLOAT", "h", "z", "1e4932"), ("OBJECT", "ENCODING", "h"))
    p.same_unordered("HGETALL", "h", pairs=True)


# --- encodings ---------------------------------------------------------------------------------------
def test_encoding_by_value_length(p, limits):
    run(p,
        ("HSET", "a", "f", "x" * 64), ("OBJECT", "ENCODING", "a"), ("HSET", "a", "f", "x" * 65),
        ("OBJECT", "ENCODING", "a"), ("HDEL", "a", "f"), ("EXISTS", "a"),
        ("HSET", "b", LONG, "1"), ("OBJECT", "ENCODING", "b"),
        ("HSET", "c", "a", "1"), ("HSETNX", "c", "a", LONG), ("OBJECT", "ENCODING", "c"),
        ("HSETNX", "c", "b", LONG), ("OBJECT", "ENCODING", "c"),
        ("HINCRBY", "d", LONG, "1"), ("OBJECT", "ENCODING", "d"),
        ("HINCRBYFLOAT", "e", "f", "1e70"), ("OBJECT", "ENCODING", "e"),
        ("HSET", "g", "a", "1", "b", "2"), ("HMSET", "g", "c", "3", "a", LONG), ("OBJECT", "ENCODING", "g"),
        ("CONFIG", "SET", "hash-max-listpack-value", "0"), ("HSET", "z", "", ""), ("OBJECT", "ENCODING", "z"),
        ("HSET", "y", "a", ""), ("OBJECT", "ENCODING", "y"))


def test_encoding_by_entries(p, limits):
    run(p,
        ("CONFIG", "SET", "hash-max-listpack-entries", "2"), ("HSET", "h", "a", "1", "b", "2"),
        ("OBJECT", "ENCODING", "h"), ("HSET", "h", "a", "3"), ("OBJECT", "ENCODING", "h"),
        ("HSET", "h", "c", "3"), ("OBJECT", "ENCODING", "h"), ("HDEL", "h", "c", "b"),
        ("OBJECT", "ENCODING", "h"), ("HSET", "i", "a", "1", "b", "2", "c", "3"), ("OBJECT", "ENCODING", "i"),
        ("CONFIG", "SET", "hash-max-listpack-entries", "0"), ("HSET", "j", "a", "1"),
        ("OBJECT", "ENCODING", "j"), ("HSETNX", "k", "a", "1"), ("OBJECT", "ENCODING", "k"),
        ("HINCRBY", "l", "a", "1"), ("OBJECT", "ENCODING", "l"))


def test_default_entry_limit(pair):
    fields = []
    for i in range(512):
        fields += ["f%d" % i, "%d" % i]
    run(pair, ("HSET", "h", *fields), ("OBJECT", "ENCODING", "h"), ("HLEN", "h"))
    pair.same("HGETALL", "h")          # still a listpack: insertion order on both sides
    run(pair, ("HSET", "h", "one-more", "x"), ("OBJECT", "ENCODING", "h"), ("HLEN", "h"))
    pair.same_unordered("HGETALL", "h", pairs=True)
    pair.same_unordered("HKEYS", "h")
    pair.same_unordered("HVALS", "h")
    run(pair, ("COPY", "h", "h2"), ("OBJECT", "ENCODING", "h2"), ("HLEN", "h2"), ("HGET", "h2", "f7"))


def test_listpack_order_after_updates_and_deletes(p):
    run(p, ("HSET", "h", "c", "1", "a", "2", "b", "3"), ("HSET", "h", "a", "new", "d", "4"),
        ("HDEL", "h", "c"), ("HSET", "h", "c", "again"), ("HGETALL", "h"), ("HKEYS", "h"), ("HVALS", "h"),
        ("HSCAN", "h", "0"), ("HRANDFIELD", "h", "100"), ("HRANDFIELD", "h", "4", "WITHVALUES"))


# --- HRANDFIELD ------------------------------------------------------------------------------------
HRANDFIELD_ERRORS = [
    ("x",), ("1.5",), ("",), ("-9223372036854775808",), ("9223372036854775808",), ("1", "withvalue"),
    ("1", "WITHVALUES", "x"), ("x", "WITHVALUES"), ("-9223372036854775808", "WITHVALUES"),
    ("-4611686018427387904", "WITHVALUES"), ("4611686018427387904", "WITHVALUES"),
    ("4611686018427387904", "nope"), ("0",), ("0", "withvalues"), ("-0", "WITHVALUES"),
    (b"1", b"withvalues\x00junk"),
]


@pytest.mark.parametrize("args", HRANDFIELD_ERRORS)
def test_hrandfield_errors_and_empty(p, args):
    p.same("HSET", "h", "f", "v")
    p.same("HRANDFIELD", "h", *args)
    p.same("HRANDFIELD", "nokey", *args)


def _shape(raw, resp3, withvalues):
    """Decode an HRANDFIELD count reply into a list of fields (and values)."""
    items = decode(raw)
    if withvalues and resp3:
        assert all(isinstance(x, list) and len(x) == 2 for x in items), raw
        return [tuple(x) for x in items]
    if withvalues:
        assert len(items) % 2 == 0
        return list(zip(items[::2], items[1::2]))
    return items


@pytest.mark.parametrize("size", [5, 200, 600])
@pytest.mark.parametrize("withvalues", [False, True])
def test_hrandfield_shapes(p, size, withvalues):
    fields = []
    for i in range(size):
        fields += ["f%d" % i, "v%d" % i]
    p.same("HSET", "h", *fields)
    p.same("OBJECT", "ENCODING", "h")
    truth = {b"f%d" % i: b"v%d" % i for i in range(size)}
    extra = ("WITHVALUES",) if withvalues else ()
    for count in (1, -1, 2, 3, -3, size // 3, size // 3 + 1, size - 1, size, size + 5, -(size * 2)):
        o, s = p.both("HRANDFIELD", "h", count, *extra)
        assert o[:1] == s[:1] == b"*", (o[:20], s[:20])
        got_o = _shape(o, p.is_resp3, withvalues)
        got_s = _shape(s, p.is_resp3, withvalues)
        assert len(got_o) == len(got_s) == (min(count, size) if count > 0 else -count)
        for entry in got_s:
            if withvalues:
                assert truth[entry[0]] == entry[1]
            else:
                assert entry in truth
        if count > 0:
            assert len(set(got_s)) == len(got_s)
    # the whole-hash case keeps the listpack order on both sides
    if size <= 512:
        p.same("HRANDFIELD", "h", size + 1, *extra)


def test_hrandfield_listpack_unique_sample_keeps_order(pair):
    fields = []
    for i in range(30):
        fields += ["f%02d" % i, "v"]
    pair.same("HSET", "h", *fields)
    for _ in range(20):
        o, s = pair.both("HRANDFIELD", "h", "5")
        for raw in (o, s):
            got = decode(raw)
            assert got == sorted(got) and len(set(got)) == 5


def test_hrandfield_single(p):
    p.same("HSET", "h", "only", "v")
    run(p, ("HRANDFIELD", "h"), ("HRANDFIELD", "h", "1"), ("HRANDFIELD", "h", "1", "WITHVALUES"),
        ("HRANDFIELD", "h", "-3", "withvalues"), ("HRANDFIELD", "h", "-2"), ("HRANDFIELD", "h", "10"))


# --- HSCAN ------------------------------------------------------------------------------------------
HSCAN_CASES = [
    ("0",), ("7",), ("0", "COUNT", "1"), ("0", "count", "0"), ("0", "COUNT", "-1"), ("0", "COUNT", "x"),
    ("0", "MATCH", "a*"), ("0", "MATCH", "*"), ("0", "MATCH", "[ab]"), ("0", "MATCH", "a", "MATCH", "b"),
    ("0", "MATCH"), ("0", "COUNT"), ("0", "TYPE", "hash"), ("0", "NOVALUES"), ("x",), ("-1",), ("",),
    (" 0",), ("18446744073709551616",), ("0", "COUNT", "1", "COUNT", "x"),
    (b"0", b"count\x00x", b"1"), (b"0", b"match\x00", b"a"),
]


@pytest.mark.parametrize("args", HSCAN_CASES)
def test_hscan_small(p, args):
    p.same("HSET", "h", "a", "1", "b", "2", "ab", "3", "", "4", "10", "5")
    p.same("HSCAN", "h", *args)


def _scan_all(client, cmd, key, *opts):
    cursor, seen, calls = b"0", [], 0
    while True:
        reply = decode(client.call(cmd, key, cursor, *opts))
        cursor, items = reply
        seen.extend(items)
        calls += 1
        if cursor == b"0":
            return seen, calls
        assert calls < 10000


def test_hscan_hashtable_full_iteration(pair):
    fields = []
    for i in range(1000):
        fields += ["f%d" % i, "%d" % i]
    pair.same("HSET", "h", *fields)
    pair.same("OBJECT", "ENCODING", "h")
    for opts in ((), ("COUNT", "100"), ("MATCH", "f1*", "COUNT", "50")):
        results = []
        for client in (pair.oracle, pair.subject):
            seen, calls = _scan_all(client, "HSCAN", "h", *opts)
            results.append(dict(zip(seen[::2], seen[1::2])))
        assert results[0] == results[1]


def test_hscan_survives_writes(pair):
    """Every field present for the whole scan is returned, despite deletes and inserts."""
    fields = []
    for i in range(2000):
        fields += ["f%d" % i, "v"]
    pair.same("HSET", "h", *fields)
    client = pair.subject
    cursor, seen, step = b"0", set(), 0
    while True:
        cursor, items = decode(client.call("HSCAN", "h", cursor, "COUNT", "50"))
        seen.update(items[::2])
        # delete a batch of fields (never the f1xxx ones) and add new ones
        dels = ["f%d" % i for i in range(step * 40, step * 40 + 40) if not str(i).startswith("1")]
        if dels:
            client.call("HDEL", "h", *dels)
        client.call("HSET", "h", "new%d" % step, "x")
        step += 1
        if cursor == b"0":
            break
    for i in range(2000):
        if str(i).startswith("1"):
            assert b"f%d" % i in seen


# --- write events against Redis's AOF ----------------------------------------------------------------
EVENT_SCRIPTS = {
    "hset": [("HSET", "h", "a", "1", "b", "2"), ("HSET", "h", "a", "1"), ("HMSET", "h", "c", "3"),
             ("HSETNX", "h", "a", "x"), ("HSETNX", "h", "d", "4"), ("HDEL", "h", "zz"),
             ("HDEL", "h", "zz", "a"), ("HDEL", "h", "b", "c", "d"), ("HDEL", "h", "x")],
    "incr": [("HINCRBY", "h", "n", "5"), ("HINCRBY", "h", "n", "x"), ("HINCRBYFLOAT", "h", "f", "1.5"),
             ("HINCRBYFLOAT", "h", "f", "0.1"), ("HINCRBYFLOAT", "h", "f", "inf"),
             ("HSET", "h", "s", "abc"), ("HINCRBYFLOAT", "h", "s", "1"), ("HINCRBY", "h", "s", "1"),
             ("HINCRBYFLOAT", "h", "g", "1e3")],
}


@pytest.mark.parametrize("name", sorted(EVENT_SCRIPTS))
def test_write_events_match_redis_aof(aof_redis, name):
    from tests.compat.test_sets_compat import compare_events
    compare_events(aof_redis, EVENT_SCRIPTS[name], {b"HSET", b"HMSET", b"HSETNX", b"HDEL", b"HINCRBY", b"DEL"})




# --- state machine ------------------------------------------------------------------------------------
hfields = st.sampled_from((b"f0", b"f1", b"f2", b"f3", b"", b"1"))
hkeys = st.sampled_from((b"h0", b"h1", b"{t}h", b"k0"))


class HashMachine(DifferentialMachine):
    @rule(k=hkeys, pairs=st.lists(st.tuples(hfields, values), min_size=1, max_size=4))
    def hset(self, k, pairs):
        self.pair.same("HSET", k, *[x for fv in pairs for x in fv])

    @rule(k=hkeys, f=hfields, v=values)
    def hsetnx(self, k, f, v):
        self.pair.same("HSETNX", k, f, v)

    @rule(k=hkeys, fs=st.lists(hfields, min_size=1, max_size=3))
    def hdel(self, k, fs):
        self.pair.same("HDEL", k, *fs)

    @rule(k=hkeys, f=hfields, n=st.one_of(small_ints, st.sampled_from((b"x", b"9223372036854775807"))))
    def hincrby(self, k, f, n):
        self.pair.same("HINCRBY", k, f, n)

    @rule(k=hkeys, f=hfields, n=st.sampled_from((b"1.5", b"-0.25", b"1e3", b"x", b"inf", b"0")))
    def hincrbyfloat(self, k, f, n):
        self.pair.same("HINCRBYFLOAT", k, f, n)

    @rule(k=hkeys, f=hfields)
    def reads(self, k, f):
        for cmd in (("HGET", k, f), ("HEXISTS", k, f), ("HSTRLEN", k, f), ("HLEN", k), ("HMGET", k, f, b"f1"),
                    ("HGETALL", k), ("HKEYS", k), ("HVALS", k), ("HSCAN", k, b"0"),
                    ("OBJECT", "ENCODING", k), ("TYPE", k)):
            self.pair.same(*cmd)

    @rule(k=hkeys)
    def hrandfield_whole(self, k):
        self.pair.same("HRANDFIELD", k, "10", "WITHVALUES")

    @rule(k=hkeys, v=values)
    def make_string(self, k, v):
        self.pair.same("SET", k, v)

    @rule(k=hkeys)
    def delete(self, k):
        self.pair.same("DEL", k)


def test_hash_state_machine(pair):
    # a smaller budget than the profile's: every step is ~10 round trips to two servers
    HashMachine.run(pair, settings(settings(), max_examples=min(settings().max_examples, 15),
                                   stateful_step_count=25))
