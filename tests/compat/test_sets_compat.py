"""Differential tests of the set family against a real redis-server 7.0.15.

Replies are compared byte for byte in RESP2 and RESP3.  Redis's order is
deterministic for intsets (ascending), and for results it builds as intsets,
so those are compared exactly; hashtable-encoded replies are compared as
multisets.  SPOP/SRANDMEMBER are random: shapes, sizes, membership and
repetition semantics are compared, not the members drawn.  The keys are spread
over RedisLite's shards, so the multi-key commands run across shards.
"""

import pytest

from tests.compat.differential import aof_events as _aof_events
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import rule

from tests.compat.differential import DifferentialMachine, decode

pytestmark = pytest.mark.compat

NOT_SETS = ("SET", "RPUSH", "HSET")


@pytest.fixture(params=["resp2", "resp3"])
def p(pair, request):
    pair.is_resp3 = request.param == "resp3"
    if pair.is_resp3:
        pair.resp3()
    return pair


@pytest.fixture
def limits(pair):
    yield pair
    pair.same("CONFIG", "SET", "set-max-intset-entries", "512")


def run(p, *commands):
    for cmd in commands:
        p.same(*cmd)


def other_type(p, key, kind):
    if kind == "SET":
        p.same("SET", key, "x")
    elif kind == "HSET":
        p.same("HSET", key, "f", "v")
    else:
        p.same(kind, key, "x")


def unordered(p, *commands):
    for cmd in commands:
        p.same_unordered(*cmd)


# --- basic commands ------------------------------------------------------------------------------
def test_intset_basics(p):
    run(p,
        ("SADD", "s", "3", "1", "2", "-5", "10", "2"), ("SMEMBERS", "s"), ("SCARD", "s"),
        ("OBJECT", "ENCODING", "s"), ("SISMEMBER", "s", "2"), ("SISMEMBER", "s", "02"),
        ("SISMEMBER", "s", "x"), ("SMISMEMBER", "s", "1", "x", "10", "-5", "+1"), ("SREM", "s", "2", "7", "x"),
        ("SMEMBERS", "s"), ("SADD", "s", "9223372036854775807", "-9223372036854775808"), ("SMEMBERS", "s"),
        ("OBJECT", "ENCODING", "s"), ("SSCAN", "s", "0"), ("SSCAN", "s", "123"), ("SRANDMEMBER", "s", "100"),
        ("SADD", "s", "-0"), ("OBJECT", "ENCODING", "s"), ("SCARD", "s"))
    unordered(p, ("SMEMBERS", "s"))


def test_hashtable_basics(p):
    run(p, ("SADD", "s", "a", "b", "c", "a"), ("SCARD", "s"), ("OBJECT", "ENCODING", "s"),
        ("SISMEMBER", "s", "a"), ("SISMEMBER", "s", "z"), ("SMISMEMBER", "s", "a", "z", "c"),
        ("SREM", "s", "a", "z"), ("SADD", "s", "", b"\x00\r\n"), ("SISMEMBER", "s", ""), ("SCARD", "s"))
    unordered(p, ("SMEMBERS", "s"))
    run(p, ("SREM", "s", "b", "c", "", b"\x00\r\n"), ("EXISTS", "s"), ("SMEMBERS", "s"))


def test_missing_keys(p):
    run(p, ("SMEMBERS", "no"), ("SCARD", "no"), ("SISMEMBER", "no", "a"), ("SMISMEMBER", "no", "a", "b"),
        ("SREM", "no", "a"), ("SPOP", "no"), ("SPOP", "no", "2"), ("SPOP", "no", "0"),
        ("SRANDMEMBER", "no"), ("SRANDMEMBER", "no", "3"), ("SRANDMEMBER", "no", "-3"),
        ("SSCAN", "no", "0"), ("SSCAN", "no", "0", "COUNT", "0"), ("SINTER", "no"), ("SINTER", "no", "no2"),
        ("SUNION", "no"), ("SDIFF", "no", "no2"), ("SINTERCARD", "2", "no", "no2"), ("SMOVE", "no", "d", "a"),
        ("SINTERSTORE", "d", "no"), ("SUNIONSTORE", "d", "no"), ("SDIFFSTORE", "d", "no"), ("EXISTS", "d"))


@pytest.mark.parametrize("args", [
    ("SADD", "s"), ("SREM", "s"), ("SMEMBERS",), ("SMEMBERS", "s", "x"), ("SISMEMBER", "s"),
    ("SISMEMBER", "s", "a", "b"), ("SMISMEMBER", "s"), ("SCARD",), ("SPOP",), ("SPOP", "s", "1", "2"),
    ("SRANDMEMBER",), ("SRANDMEMBER", "s", "1", "2"), ("SMOVE", "a", "b"), ("SINTER",), ("SINTERCARD", "1"),
    ("SINTERSTORE", "d"), ("SUNION",), ("SUNIONSTORE", "d"), ("SDIFF",), ("SDIFFSTORE", "d"), ("SSCAN", "s"),
])
def test_arity(pair, args):
    pair.same(*args)


@pytest.mark.parametrize("kind", NOT_SETS)
def test_wrongtype(p, kind):
    other_type(p, "k", kind)
    p.same("SADD", "s", "1")
    run(p, ("SADD", "k", "a"), ("SREM", "k", "a"), ("SMEMBERS", "k"), ("SISMEMBER", "k", "a"),
        ("SMISMEMBER", "k", "a"), ("SCARD", "k"), ("SPOP", "k"), ("SPOP", "k", "1"), ("SPOP", "k", "0"),
        ("SPOP", "k", "-1"), ("SRANDMEMBER", "k"), ("SRANDMEMBER", "k", "1"), ("SRANDMEMBER", "k", "0"),
        ("SRANDMEMBER", "k", "x"), ("SSCAN", "k", "0"), ("SSCAN", "k", "x"),
        ("SINTER", "s", "k"), ("SINTER", "no", "k"), ("SINTER", "k", "no"), ("SINTERCARD", "2", "no", "k"),
        ("SINTERSTORE", "d", "s", "k"), ("SUNION", "s", "k"), ("SUNION", "no", "k"), ("SUNIONSTORE", "d", "k"),
        ("SDIFF", "no", "k"), ("SDIFF", "s", "k"), ("SDIFFSTORE", "d", "s", "k"), ("EXISTS", "d"),
        ("SMOVE", "k", "s", "1"), ("SMOVE", "s", "k", "1"), ("SMOVE", "no", "k", "1"), ("SMOVE", "k", "no", "1"),
        ("SMEMBERS", "s"), ("TYPE", "k"))
    # the STORE commands overwrite a destination of any type
    run(p, ("SINTERSTORE", "k", "s"), ("TYPE", "k"), ("SMEMBERS", "k"))
    other_type(p, "k", kind)
    run(p, ("SUNIONSTORE", "k", "s"), ("TYPE", "k"))
    other_type(p, "k", kind)
    run(p, ("SDIFFSTORE", "k", "s"), ("TYPE", "k"))
    other_type(p, "k", kind)
    run(p, ("SDIFFSTORE", "k", "s", "s"), ("EXISTS", "k"))


# --- encodings ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("member", ["1", "-1", "0", "-0", "01", "+1", " 1", "1 ", "1.0", "9223372036854775807",
                                    "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
                                    "", "a", "00"])
def test_intset_member_rules(pair, member):
    run(pair, ("SADD", "s", member), ("OBJECT", "ENCODING", "s"), ("SADD", "t", "5", member),
        ("OBJECT", "ENCODING", "t"), ("SISMEMBER", "t", member))
    pair.same_unordered("SMEMBERS", "t")     # exact when both are intsets


def test_intset_limit(p, limits):
    run(p, ("CONFIG", "SET", "set-max-intset-entries", "3"), ("SADD", "s", "1", "2", "3"),
        ("OBJECT", "ENCODING", "s"), ("SADD", "s", "3"), ("OBJECT", "ENCODING", "s"), ("SADD", "s", "4"),
        ("OBJECT", "ENCODING", "s"), ("SREM", "s", "4", "3"), ("OBJECT", "ENCODING", "s"),
        ("SADD", "t", "1", "a"), ("SREM", "t", "a"), ("OBJECT", "ENCODING", "t"),
        ("CONFIG", "SET", "set-max-intset-entries", "0"), ("SADD", "z", "1"), ("OBJECT", "ENCODING", "z"),
        ("CONFIG", "SET", "set-max-intset-entries", "3"),
        ("SADD", "a", "1", "2", "3", "4", "5"), ("SADD", "b", "1", "2"),
        ("SINTERSTORE", "d", "a", "b"), ("OBJECT", "ENCODING", "d"), ("SMEMBERS", "d"),
        ("SUNIONSTORE", "d", "b", "b"), ("OBJECT", "ENCODING", "d"),
        ("SDIFFSTORE", "d", "a", "b"), ("OBJECT", "ENCODING", "d"))


def test_default_intset_limit(pair):
    members = [str(i) for i in range(512)]
    run(pair, ("SADD", "s", *members), ("OBJECT", "ENCODING", "s"), ("SMEMBERS", "s"),
        ("SADD", "s", "512"), ("OBJECT", "ENCODING", "s"), ("SCARD", "s"))
    pair.same_unordered("SMEMBERS", "s")
    o, s = pair.both("SPOP", "s", "505")
    assert len(decode(o)) == len(decode(s)) == 505
    run(pair, ("OBJECT", "ENCODING", "s"), ("SCARD", "s"))


def test_sdiff_algorithm_decides_encoding(pair, limits):
    """Algorithm 2 copies the first set before removing: it converts when the first set is big."""
    run(pair, ("CONFIG", "SET", "set-max-intset-entries", "4"),
        ("SADD", "a", "1", "2", "3", "4", "5", "6"), ("SADD", "b", "1", "2", "3", "4", "5"),
        ("SADD", "c", "1"), ("SDIFFSTORE", "d", "a", "b"), ("OBJECT", "ENCODING", "d"), ("SMEMBERS", "d"),
        ("SDIFFSTORE", "d", "a", "c"), ("OBJECT", "ENCODING", "d"),
        ("SDIFFSTORE", "d", "a", "b", "c", "no"), ("OBJECT", "ENCODING", "d"),
        ("SADD", "x2", "1", "2"), ("SADD", "y2", "9"), ("SADD", "z2", "8"),
        ("SDIFFSTORE", "d", "a", "x2", "y2", "z2"), ("OBJECT", "ENCODING", "d"),
        ("SDIFFSTORE", "d", "a", "x2", "y2"), ("OBJECT", "ENCODING", "d"), ("SMEMBERS", "d"),
        ("SADD", "big", *[str(i) for i in range(50)]), ("SDIFFSTORE", "d", "a", "big"), ("EXISTS", "d"),
        ("SDIFFSTORE", "d", "c", "big"), ("EXISTS", "d"), ("SADD", "x", "a", "1"), ("SDIFFSTORE", "d", "x", "x"),
        ("SDIFFSTORE", "d", "x", "c"), ("OBJECT", "ENCODING", "d"))
    pair.same_unordered("SMEMBERS", "d")


# --- multi-key -----------------------------------------------------------------------------------------
def test_set_algebra_intsets(p):
    run(p, ("SADD", "a", "1", "2", "3", "4"), ("SADD", "b", "3", "4", "5"), ("SADD", "{t}c", "4", "9"),
        ("SINTER", "a", "b"), ("SINTER", "a", "b", "{t}c"), ("SINTER", "a", "a"), ("SINTER", "a", "no"),
        ("SUNION", "a", "b", "{t}c", "no"), ("SDIFF", "a", "b"), ("SDIFF", "a", "no", "{t}c"), ("SDIFF", "a", "a"),
        ("SINTERCARD", "2", "a", "b"), ("SINTERCARD", "3", "a", "b", "{t}c"), ("SINTERCARD", "1", "a"),
        ("SINTERCARD", "2", "a", "b", "LIMIT", "1"), ("SINTERCARD", "2", "a", "b", "limit", "0"),
        ("SINTERCARD", "1", "a", "LIMIT", "2", "LIMIT", "3"),
        ("SINTERSTORE", "d", "a", "b"), ("SMEMBERS", "d"), ("OBJECT", "ENCODING", "d"),
        ("SUNIONSTORE", "d", "a", "b"), ("SMEMBERS", "d"), ("SDIFFSTORE", "d", "a", "b"), ("SMEMBERS", "d"),
        ("SINTERSTORE", "d", "a", "no"), ("EXISTS", "d"), ("SUNIONSTORE", "a", "a", "b"), ("SMEMBERS", "a"))


def test_set_algebra_mixed(p):
    run(p, ("SADD", "a", "x", "y", "1", "2"), ("SADD", "b", "y", "2", "z"), ("SADD", "i", "2", "1", "7"))
    unordered(p, ("SINTER", "a", "b"), ("SUNION", "a", "b"), ("SDIFF", "a", "b"), ("SDIFF", "b", "a", "i"),
              ("SUNION", "a", "i"))
    run(p, ("SINTER", "i", "a"), ("SINTERCARD", "2", "a", "b"), ("SINTERSTORE", "d", "a", "i"),
        ("OBJECT", "ENCODING", "d"), ("SMEMBERS", "d"), ("SDIFFSTORE", "d", "a", "b"), ("OBJECT", "ENCODING", "d"),
        ("SUNIONSTORE", "d", "a", "b"), ("SCARD", "d"), ("SDIFFSTORE", "d", "i", "a"), ("SMEMBERS", "d"),
        ("OBJECT", "ENCODING", "d"))


def test_store_replaces_ttl_and_deletes(p):
    run(p, ("SADD", "a", "1"), ("SET", "d", "x", "EX", "100"), ("SUNIONSTORE", "d", "a"), ("TTL", "d"),
        ("EXPIRE", "d", "100"), ("SINTERSTORE", "d", "a", "a"), ("TTL", "d"), ("SDIFFSTORE", "d", "a", "a"),
        ("EXISTS", "d"), ("SET", "d", "x"), ("SINTERSTORE", "d", "a", "no"), ("EXISTS", "d"))


SINTERCARD_CASES = [
    ("0", "a"), ("-1", "a"), ("x", "a"), ("", "a"), ("2", "a"), ("9223372036854775807", "a"),
    ("9223372036854775808", "a"), ("1", "a", "LIMIT"), ("1", "a", "LIMIT", "-1"), ("1", "a", "LIMIT", "x"),
    ("1", "a", "LIMIT", "9223372036854775808"), ("1", "a", "foo", "1"), ("1", "a", "b"), ("1", "a", "LIMIT", "1"),
    ("2", "a", "b", "LIMIT", "100"), (b"1", b"a", b"limit\x00x", b"1"), ("1", "a", "LIMIT", " 1"),
]


@pytest.mark.parametrize("args", SINTERCARD_CASES)
def test_sintercard_args(pair, args):
    run(pair, ("SADD", "a", "1", "2", "3"), ("SADD", "b", "2", "3"), ("SINTERCARD", *args))


def test_smove(p):
    run(p, ("SADD", "a", "1", "2", "x"), ("SADD", "{t}b", "2"), ("SMOVE", "a", "{t}b", "1"), ("SMEMBERS", "{t}b"),
        ("SMOVE", "a", "{t}b", "2"), ("SMEMBERS", "a"), ("SMOVE", "a", "{t}b", "zz"), ("SMOVE", "a", "a", "x"),
        ("SMOVE", "a", "a", "zz"), ("SMOVE", "a", "c", "x"), ("SMEMBERS", "c"), ("OBJECT", "ENCODING", "c"),
        ("SMOVE", "{t}b", "c", "1"), ("OBJECT", "ENCODING", "c"), ("EXISTS", "a"), ("SMOVE", "a", "c", "x"),
        ("SADD", "i", "5"), ("SMOVE", "c", "i", "x"), ("OBJECT", "ENCODING", "i"))
    unordered(p, ("SMEMBERS", "c"), ("SMEMBERS", "i"))


def test_smove_keeps_ttl(p):
    run(p, ("SADD", "a", "1", "2"), ("SADD", "b", "3"), ("EXPIRE", "a", "100"), ("EXPIRE", "b", "200"),
        ("SMOVE", "a", "b", "1"), ("TTL", "a"), ("TTL", "b"))


# --- SPOP / SRANDMEMBER -----------------------------------------------------------------------------
SPOP_ERRORS = [("-1",), ("x",), ("",), ("1.5",), ("-9223372036854775808",), ("9223372036854775808",), ("0",),
               ("1", "2")]
SRANDMEMBER_ERRORS = [("x",), ("",), ("1.5",), ("-9223372036854775808",), ("9223372036854775808",), ("0",),
                      ("-0",), ("1", "2")]


@pytest.mark.parametrize("args", SPOP_ERRORS)
def test_spop_args(p, args):
    run(p, ("SADD", "s", "1", "2"), ("SPOP", "s", *args), ("SPOP", "no", *args), ("SCARD", "s"))


@pytest.mark.parametrize("args", SRANDMEMBER_ERRORS)
def test_srandmember_args(p, args):
    run(p, ("SADD", "s", "1", "2"), ("SRANDMEMBER", "s", *args), ("SRANDMEMBER", "no", *args))


def _members(raw):
    return decode(raw)


@pytest.mark.parametrize("kind", ["intset", "hashtable", "bigint"])
def test_spop_and_srandmember_shapes(p, kind):
    if kind == "intset":
        members = [b"%d" % i for i in range(40)]
    elif kind == "bigint":
        members = [b"%d" % i for i in range(700)]
    else:
        members = [b"m%d" % i for i in range(40)]
    size = len(members)
    truth = set(members)
    p.same("SADD", "s", *members)
    for count in (1, 2, size // 3, size // 3 + 1, size - 1, size, size + 3):
        o, s = p.both("SRANDMEMBER", "s", count)
        assert o[:1] == s[:1] == b"*"
        got_o, got_s = _members(o), _members(s)
        assert len(got_o) == len(got_s) == min(count, size)
        assert len(set(got_s)) == len(got_s) and set(got_s) <= truth
        if count >= size and kind == "intset":
            assert o == s        # the whole intset, ascending
    for count in (-1, -5, -(size * 3)):
        o, s = p.both("SRANDMEMBER", "s", count)
        got_s = _members(s)
        assert len(_members(o)) == len(got_s) == -count and set(got_s) <= truth
    o, s = p.both("SRANDMEMBER", "s")
    assert decode(s) in truth
    # SPOP: pop everything in steps, comparing sizes and what is left
    oracle_left, subject_left = set(truth), set(truth)
    for count in (None, 3, size // 2, 1, size):
        args = ("SPOP", "s") if count is None else ("SPOP", "s", count)
        o, s = p.both(*args)
        if count is None:
            popped_o, popped_s = [decode(o)], [decode(s)]
        else:
            assert o[:1] == s[:1] == (b"~" if p.is_resp3 else b"*")
            popped_o, popped_s = decode(o), decode(s)
        assert len(popped_o) == len(popped_s)
        assert set(popped_s) <= subject_left and len(set(popped_s)) == len(popped_s)
        oracle_left -= set(popped_o)
        subject_left -= set(popped_s)
        p.same("SCARD", "s")
        p.same("OBJECT", "ENCODING", "s")
    p.same("EXISTS", "s")


def test_spop_case3_replies_in_set_order(pair):
    """When few members remain, Redis returns the popped ones by iterating the set: ascending for an intset."""
    pair.same("SADD", "s", *[str(i) for i in range(20)])
    o, s = pair.both("SPOP", "s", "18")
    for raw in (o, s):
        got = [int(x) for x in decode(raw)]
        assert got == sorted(got) and len(got) == 18
    pair.same("SCARD", "s")
    pair.same("OBJECT", "ENCODING", "s")


def test_spop_case3_may_change_encoding(pair):
    """The survivors go to a new set built member by member: a hashtable of ints can become an intset."""
    pair.same("SADD", "s", *[str(i) for i in range(600)])
    pair.same("OBJECT", "ENCODING", "s")
    pair.same("SPOP", "s", "0")
    o, s = pair.both("SPOP", "s", "590")
    assert len(decode(o)) == len(decode(s)) == 590
    run(pair, ("SCARD", "s"), ("OBJECT", "ENCODING", "s"))


def test_spop_keeps_ttl(p):
    run(p, ("SADD", "s", *[str(i) for i in range(20)]), ("EXPIRE", "s", "100"))
    for args in (("SPOP", "s", "2"), ("SPOP", "s", "17"), ("SPOP", "s")):
        p.both(*args)
        run(p, ("TTL", "s"), ("SCARD", "s"))


# --- SSCAN -------------------------------------------------------------------------------------------
SSCAN_CASES = [
    ("0",), ("9",), ("0", "COUNT", "1"), ("0", "COUNT", "0"), ("0", "MATCH", "1*"), ("0", "MATCH", "*"),
    ("0", "MATCH", "[12]"), ("0", "TYPE", "set"), ("0", "COUNT"), ("x",), ("-1",), ("",), (" 1",),
    (b"0", b"COUNT\x00z", b"2"),
]


@pytest.mark.parametrize("args", SSCAN_CASES)
def test_sscan_intset(p, args):
    p.same("SADD", "s", "3", "1", "12", "2", "-1")
    p.same("SSCAN", "s", *args)


def _scan_all(client, key, *opts):
    cursor, seen = b"0", []
    for _ in range(10000):
        cursor, items = decode(client.call("SSCAN", key, cursor, *opts))
        seen.extend(items)
        if cursor == b"0":
            return seen
    raise AssertionError("SSCAN did not finish")


def test_sscan_hashtable(pair):
    pair.same("SADD", "s", *["m%d" % i for i in range(1000)])
    for opts in ((), ("COUNT", "7"), ("MATCH", "m1*", "COUNT", "100")):
        assert set(_scan_all(pair.oracle, "s", *opts)) == set(_scan_all(pair.subject, "s", *opts))
    pair.same("SADD", "small", "a", "b", "c")
    o, s = pair.both("SSCAN", "small", "0")
    assert decode(o)[0] == decode(s)[0] == b"0" and sorted(decode(o)[1]) == sorted(decode(s)[1])


# --- write events against Redis's AOF ----------------------------------------------------------------


def compare_events(server, script, family, random_pops=False):
    """Run *script* on the AOF-writing Redis and on an in-process RedisLite and
    compare the write events (names upper-cased, MULTI/EXEC dropped: a
    multi-event command is wrapped by the persistence layer)."""
    import time
    from twisted.internet import task
    from redislite.commands import load_all
    from redislite.config import Config
    from redislite.protocol import Client
    from redislite.server import Server
    from redislite.testing import RawClient

    load_all()
    clock = task.Clock()
    clock.advance(time.time())
    srv = Server(Config.defaults(), clock)
    ours = []
    srv.bus.subscribe(lambda db, argv: ours.append((db, argv)))
    me = Client(srv)
    with RawClient(server.host, server.port) as rc:
        rc.call("SELECT", "0")
        rc.call("FLUSHALL")
        _, start = _aof_events(server, 0)
        del ours[:]
        for cmd in script:
            expected = rc.call(*cmd)
            got = me.call(*cmd)
            if not random_pops:
                assert expected[:1] != b"-" or getattr(got, "message", None), (cmd, expected, got)
        theirs, _ = _aof_events(server, start)

    def norm(events):
        return [(db, argv) for db, argv in events if argv[0] in family]
    return norm(ours), norm(theirs)




SET_EVENTS = {b"SADD", b"SREM", b"SMOVE", b"SINTERSTORE", b"SUNIONSTORE", b"SDIFFSTORE", b"DEL"}
EVENT_SCRIPTS = {
    "sadd_srem": [("SADD", "s", "1", "2", "1"), ("SADD", "s", "1"), ("SADD", "s", "a"), ("SREM", "s", "zz"),
                  ("SREM", "s", "1", "zz"), ("SREM", "s", "2", "a", "b"), ("SREM", "s", "x")],
    "smove": [("SADD", "a", "1", "2"), ("SMOVE", "a", "b", "1"), ("SMOVE", "a", "a", "2"), ("SMOVE", "a", "b", "9"),
              ("SADD", "b", "2"), ("SMOVE", "a", "b", "2"), ("SMOVE", "no", "b", "1")],
    "store": [("SADD", "a", "1", "2"), ("SADD", "b", "2", "3"), ("SINTERSTORE", "d", "a", "b"),
              ("SINTERSTORE", "d", "a", "no"), ("SINTERSTORE", "d", "a", "no"), ("SUNIONSTORE", "d", "a", "b"),
              ("SDIFFSTORE", "d", "a", "a"), ("SDIFFSTORE", "d", "a", "a"), ("SDIFFSTORE", "e", "a", "b")],
}


@pytest.mark.parametrize("name", sorted(EVENT_SCRIPTS))
def test_write_events_match_redis_aof(aof_redis, name):
    ours, theirs = compare_events(aof_redis, EVENT_SCRIPTS[name], SET_EVENTS)
    assert ours == theirs


def test_spop_events_match_redis_aof(aof_redis):
    """SPOP's propagation: one SREM per member, DEL when the count takes the whole set."""
    script = [("SADD", "s", *[str(i) for i in range(20)]), ("SPOP", "s"), ("SPOP", "s", "2"),
              ("SPOP", "s", "15"), ("SPOP", "s", "0"), ("SPOP", "s", "100"), ("SPOP", "s", "1"),
              ("SADD", "t", "a"), ("SPOP", "t"), ("SADD", "u", "a", "b"), ("SPOP", "u", "2")]
    ours, theirs = compare_events(aof_redis, script, SET_EVENTS, random_pops=True)

    def shape(events):
        # the members popped are random: compare names, keys and counts
        return [(db, argv[0], argv[1], len(argv)) for db, argv in events]
    assert shape(ours) == shape(theirs)


# --- state machine ------------------------------------------------------------------------------------
skeys = st.sampled_from((b"s0", b"s1", b"{t}a", b"{t}b", b"k0"))
members = st.sampled_from((b"1", b"2", b"3", b"-7", b"01", b"a", b"b", b"", b"9223372036854775807"))


class SetMachine(DifferentialMachine):
    unordered_commands = DifferentialMachine.unordered_commands | {b"SINTER", b"SUNION", b"SDIFF", b"SSCAN"}

    def compare(self, *cmd):
        """Exact when the reply is an intset's, as a multiset otherwise."""
        o, s = self.pair.both(*cmd)
        if o != s:
            self.pair.same_unordered(*cmd)

    @rule(k=skeys, ms=st.lists(members, min_size=1, max_size=4))
    def sadd(self, k, ms):
        self.pair.same("SADD", k, *ms)

    @rule(k=skeys, ms=st.lists(members, min_size=1, max_size=3))
    def srem(self, k, ms):
        self.pair.same("SREM", k, *ms)

    @rule(k=skeys, m=members)
    def reads(self, k, m):
        for cmd in (("SISMEMBER", k, m), ("SMISMEMBER", k, m, b"1"), ("SCARD", k), ("OBJECT", "ENCODING", k),
                    ("TYPE", k)):
            self.pair.same(*cmd)
        o, _ = self.pair.both("OBJECT", "ENCODING", k)
        if o == b"$6\r\nintset\r\n":
            self.pair.same("SMEMBERS", k)
            self.pair.same("SSCAN", k, "0")
        else:
            self.pair.same_unordered("SMEMBERS", k)

    @rule(a=skeys, b=skeys, m=members)
    def smove(self, a, b, m):
        self.pair.same("SMOVE", a, b, m)

    @rule(ks=st.lists(skeys, min_size=1, max_size=3), op=st.sampled_from(("SINTER", "SUNION", "SDIFF")))
    def algebra(self, ks, op):
        self.pair.same_unordered(op, *ks)
        self.pair.same("SINTERCARD", len(ks), *ks)

    @rule(d=skeys, ks=st.lists(skeys, min_size=1, max_size=3),
          op=st.sampled_from(("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE")))
    def store(self, d, ks, op):
        self.pair.same(op, d, *ks)

    @rule(k=skeys)
    def spop_all(self, k):
        o, _ = self.pair.both("OBJECT", "ENCODING", k)
        if o == b"$6\r\nintset\r\n":
            self.pair.same("SPOP", k, "1000")     # CASE 1 replies with the whole intset, ascending

    @rule(k=skeys, v=st.sampled_from((b"x", b"1")))
    def make_string(self, k, v):
        self.pair.same("SET", k, v)


def test_set_state_machine(pair):
    # a smaller budget than the profile's: every step is ~10 round trips to two servers
    SetMachine.run(pair, settings(settings(), max_examples=min(settings().max_examples, 15),
                                   stateful_step_count=25))
