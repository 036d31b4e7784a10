"""Differential tests of SETBIT/GETBIT/BITCOUNT/BITPOS/BITOP/BITFIELD/LCS against redis-server 7.0.

Replies are compared byte for byte in RESP2 and RESP3; range-heavy commands are
swept exhaustively over small strings in pipelines; write events are compared
with what Redis itself appends to its AOF.
"""
import random
import time

import pytest

from tests.compat.differential import aof_events
from hypothesis import strategies as st
from hypothesis.stateful import rule

from tests.compat.differential import DifferentialMachine, decode, keys

pytestmark = pytest.mark.compat


@pytest.fixture(params=["resp2", "resp3"])
def p(pair, request):
    if request.param == "resp3":
        pair.resp3()
    return pair


def run(p, *commands):
    for cmd in commands:
        p.same(*cmd)


def sweep(p, commands, batch=400):
    commands = list(commands)
    for i in range(0, len(commands), batch):
        p.same_pipeline(commands[i:i + batch])


def nonstring(p, key):
    o, s = p.both("RPUSH", key, "x")
    assert o == s == b":1\r\n", (o, s)


VALUES = [b"", b"\x00", b"\xff", b"\x80", b"\x01", b"\xff\xf0\x00", b"\x00\x0f\xff\x00",
          b"\x00\x00\x00\x01", b"\xff\xff\xff\xfe", b"foobar", bytes(range(0, 256, 17))]


# --- SETBIT / GETBIT ---------------------------------------------------------------------
def test_setbit_getbit_basic(p):
    run(p, ("SETBIT", "k", "7", "1"), ("GET", "k"), ("SETBIT", "k", "7", "1"), ("SETBIT", "k", "7", "0"),
        ("GETBIT", "k", "7"), ("SETBIT", "k", "100", "1"), ("GET", "k"), ("STRLEN", "k"),
        ("GETBIT", "k", "100"), ("GETBIT", "k", "101"), ("GETBIT", "k", "100000"),
        ("GETBIT", "nokey", "0"), ("SETBIT", "k", "0", "0"), ("OBJECT", "ENCODING", "k"))


@pytest.mark.parametrize("args", [
    ("-1", "1"), ("x", "1"), ("1.5", "1"), (" 1", "1"), ("+1", "1"), ("01", "1"), ("", "1"),
    ("4294967296", "1"), ("9223372036854775808", "1"), ("#1", "1"),
    ("0", "2"), ("0", "-1"), ("0", "x"), ("0", ""), ("0", "01"), ("0", " 1"), ("x", "x"),
    ("4294967296", "x"), ("0", "9223372036854775808"),
])
def test_setbit_errors(p, args):
    p.same("SETBIT", "k", *args)
    p.same("EXISTS", "k")


@pytest.mark.parametrize("offset", ["-1", "x", "4294967296", "4294967295", "#1", "", "1 "])  # no 512 MB SETBIT here
def test_getbit_errors(p, offset):
    run(p, ("SET", "k", "abc"), ("GETBIT", "k", offset), ("GETBIT", "nokey", offset))


def test_setbit_on_existing_encodings(p):
    # SETBIT makes the value raw even when it changes nothing (dbUnshareStringValue).
    run(p, ("SET", "i", "123"), ("OBJECT", "ENCODING", "i"), ("SETBIT", "i", "0", "0"),
        ("OBJECT", "ENCODING", "i"), ("GET", "i"), ("SET", "e", "abc"), ("SETBIT", "e", "1", "1"),
        ("GET", "e"), ("OBJECT", "ENCODING", "e"), ("GETBIT", "i", "2"), ("GETBIT", "i", "3"),
        ("SET", "n", "-5"), ("GETBIT", "n", "2"), ("SETBIT", "n", "30", "1"), ("GET", "n"))


def test_setbit_keeps_ttl(p):
    run(p, ("SET", "k", "a", "EX", "100"), ("SETBIT", "k", "100", "1"))
    o, s = p.both("TTL", "k")
    assert abs(decode(o) - decode(s)) <= 1 and decode(o) > 0


def test_bit_wrongtype(p):
    nonstring(p, "l")
    run(p, ("SETBIT", "l", "0", "1"), ("SETBIT", "l", "x", "1"), ("SETBIT", "l", "0", "x"),
        ("GETBIT", "l", "0"), ("GETBIT", "l", "x"), ("BITCOUNT", "l"), ("BITCOUNT", "l", "x", "y"),
        ("BITPOS", "l", "1"), ("BITPOS", "l", "2"), ("BITPOS", "l", "x"), ("BITPOS", "l", "0", "x"),
        ("BITOP", "AND", "d", "l"), ("BITOP", "OR", "d", "nokey", "l"), ("BITOP", "NOT", "d", "l"),
        ("BITFIELD", "l", "GET", "u8", "0"), ("BITFIELD", "l", "SET", "u8", "0", "1"),
        ("BITFIELD_RO", "l", "GET", "u8", "0"), ("BITFIELD", "l"), ("BITFIELD", "l", "bad"),
        ("LCS", "l", "nokey"), ("LCS", "nokey", "l"), ("LCS", "l", "l", "LEN", "IDX"),
        ("SET", "s", "x"), ("BITOP", "AND", "l", "s"), ("TYPE", "l"), ("GET", "l"))


def test_arity(p):
    run(p, ("SETBIT", "k", "1"), ("GETBIT", "k"), ("BITCOUNT",), ("BITPOS", "k"), ("BITOP", "AND", "d"),
        ("BITFIELD",), ("BITFIELD_RO",), ("LCS", "a"), ("SETBIT", "k", "1", "1", "1"),
        ("GETBIT", "k", "1", "1"))


# --- BITCOUNT / BITPOS ------------------------------------------------------------------------
def test_bitcount_syntax(p):
    run(p, ("SET", "s", "foobar"), ("BITCOUNT", "s"), ("BITCOUNT", "s", "0"), ("BITCOUNT", "s", "0", "1", "2"),
        ("BITCOUNT", "s", "0", "1", "bit", "x"), ("BITCOUNT", "s", "a", "1"), ("BITCOUNT", "s", "1", "a"),
        ("BITCOUNT", "s", "-1", "-2", "junk"), ("BITCOUNT", "s", "1", "2", "junk"),
        ("BITCOUNT", "s", "1", "2", "BiT"), ("BITCOUNT", "s", "1", "2", "bYtE"),
        ("BITCOUNT", "s", "1", "2", b"bit\x00x"), ("BITCOUNT", "nokey", "a"), ("BITCOUNT", "nokey", "0", "1", "x", "y"),
        ("BITCOUNT", "s", "-9223372036854775808", "9223372036854775807", "BIT"),
        ("BITCOUNT", "s", "0", "9223372036854775808"))


def test_bitcount_sweep(p):
    cmds = []
    for i, v in enumerate(VALUES):
        k = "v%d" % i
        cmds.append(("SET", k, v))
        cmds.append(("BITCOUNT", k))
        for start in range(-12, 13):
            for end in range(-12, 13):
                cmds.append(("BITCOUNT", k, start, end))
                cmds.append(("BITCOUNT", k, start, end, "BIT"))
        for start, end in ((-100, 100), (0, -100), (-100, -90), (5, 3), (0, 10 ** 6)):
            cmds.append(("BITCOUNT", k, start, end, "BYTE"))
            cmds.append(("BITCOUNT", k, start * 8, end * 8, "BIT"))
    sweep(p, cmds)


def test_bitpos_syntax(p):
    run(p, ("SET", "s", b"\xff\xf0\x00"), ("BITPOS", "s", "2"), ("BITPOS", "s", "-1"), ("BITPOS", "s", "x"),
        ("BITPOS", "s", "01"), ("BITPOS", "s", "1", "x"), ("BITPOS", "s", "1", "0", "x"),
        ("BITPOS", "s", "1", "0", "1", "x"), ("BITPOS", "s", "1", "0", "1", "bit", "x"),
        ("BITPOS", "s", "0", "0", "-1", "BIT"), ("BITPOS", "s", "0", "0", "-1", "byte"),
        ("BITPOS", "nokey", "1"), ("BITPOS", "nokey", "0"), ("BITPOS", "nokey", "1", "x"),
        ("BITPOS", "nokey", "0", "1", "2", "3", "4"), ("BITPOS", "nokey", "2"),
        ("BITPOS", "s", "1", "0", "1", "2", "3"), ("BITPOS", "s", "0", "1", "x", "junk"),
        ("BITPOS", "s", "0", "x", "1", "junk"))


def test_bitpos_sweep(p):
    cmds = []
    for i, v in enumerate(VALUES):
        k = "v%d" % i
        cmds.append(("SET", k, v))
        for bit in (0, 1):
            cmds.append(("BITPOS", k, bit))
            for start in range(-12, 13):
                cmds.append(("BITPOS", k, bit, start))
                cmds.append(("BITPOS", k, bit, start * 3))
                for end in range(-12, 13):
                    cmds.append(("BITPOS", k, bit, start, end))
                    cmds.append(("BITPOS", k, bit, start, end, "BIT"))
                    cmds.append(("BITPOS", k, bit, start * 2, end * 3, "BIT"))
    sweep(p, cmds)


def test_bitpos_long_strings(p):
    # Long runs of 0x00 / 0xff exercise the whole-buffer scan.
    for v in (b"\x00" * 5000 + b"\x10", b"\xff" * 5000 + b"\xfe", b"\xff" * 5000, b"\x00" * 5000):
        run(p, ("SET", "k", v), ("BITPOS", "k", 1), ("BITPOS", "k", 0), ("BITPOS", "k", 0, 3, -1),
            ("BITPOS", "k", 1, 4000), ("BITPOS", "k", 0, -2, -1), ("BITPOS", "k", 1, 7, 40007, "BIT"),
            ("BITPOS", "k", 0, 9, -1, "BIT"), ("BITCOUNT", "k"), ("BITCOUNT", "k", 3, -3),
            ("BITCOUNT", "k", 5, 39999, "BIT"))


# --- BITOP ---------------------------------------------------------------------------------------
def test_bitop(p):
    run(p, ("SET", "a", b"\xff\x0f\x33"), ("SET", "b", b"\x0f\xf0"), ("SET", "{t}x", "foobar"),
        ("BITOP", "AND", "d", "a", "b"), ("GET", "d"), ("BITOP", "or", "d", "a", "b"), ("GET", "d"),
        ("BITOP", "Xor", "d", "a", "b", "a"), ("GET", "d"), ("BITOP", "NOT", "d", "a"), ("GET", "d"),
        ("OBJECT", "ENCODING", "d"), ("BITOP", "AND", "d", "a", "nokey"), ("GET", "d"),
        ("BITOP", "AND", "d", "nokey", "a"), ("GET", "d"), ("BITOP", "OR", "d", "nokey"), ("EXISTS", "d"),
        ("BITOP", "OR", "d", "nokey"), ("BITOP", "NOT", "d", "a", "b"), ("BITOP", "NOT", "d"),
        ("BITOP", "NAND", "d", "a"), ("BITOP", b"and\x00x", "d", "a"), ("BITOP", "AND", "{t}y", "{t}x", "a"),
        ("GET", "{t}y"), ("SET", "e", ""), ("BITOP", "OR", "d", "e"), ("EXISTS", "d"),
        ("BITOP", "NOT", "d", "e"), ("SET", "d", "x", "EX", "100"), ("BITOP", "OR", "d", "a"), ("TTL", "d"),
        ("BITOP", "AND", "a", "a", "b"), ("GET", "a"), ("SET", "i", "12"), ("BITOP", "XOR", "d", "i", "a"),
        ("GET", "d"), ("OBJECT", "ENCODING", "d"))


def test_bitop_overwrites_other_types(p):
    nonstring(p, "l")
    run(p, ("SET", "a", "x"), ("BITOP", "OR", "l", "a"), ("TYPE", "l"), ("GET", "l"))
    nonstring(p, "l2")
    run(p, ("BITOP", "OR", "l2", "nokey"), ("EXISTS", "l2"))


def test_bitop_random(p):
    rng = random.Random(5)
    cmds = []
    for _ in range(60):
        names = []
        for n in range(rng.randrange(1, 5)):
            name = "r%d" % n
            cmds.append(("SET", name, bytes(rng.randrange(256) for _ in range(rng.randrange(0, 70)))))
            names.append(name)
        op = rng.choice(["AND", "OR", "XOR", "NOT"])
        srcs = names[:1] if op == "NOT" else names + (["missing"] if rng.random() < 0.2 else [])
        cmds += [("BITOP", op, "dst", *srcs), ("GET", "dst")]
    sweep(p, cmds)


# --- BITFIELD ---------------------------------------------------------------------------------------
def test_bitfield_basic(p):
    run(p, ("BITFIELD", "k", "SET", "u8", "0", "255", "GET", "u8", "0", "GET", "i8", "0"),
        ("BITFIELD", "k", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2", "102", "1"),
        ("GET", "k"), ("BITFIELD", "k", "GET", "u4", "#1", "GET", "i4", "#3", "set", "i5", "#2", "-3"),
        ("BITFIELD", "k"), ("BITFIELD", "nokey"), ("BITFIELD", "nokey", "GET", "i64", "0"),
        ("EXISTS", "nokey"), ("BITFIELD_RO", "k", "GET", "u8", "0", "GET", "u63", "3"),
        ("BITFIELD_RO", "k"), ("BITFIELD", "k", "get", "i64", "1", "GET", "u63", "1"),
        ("BITFIELD", "k2", "SET", "i64", "0", "-1", "GET", "u63", "0", "GET", "u63", "1"),
        ("OBJECT", "ENCODING", "k"))


@pytest.mark.parametrize("args", [
    ("GET", "u8"), ("GET",), ("SET", "u8", "0"), ("INCRBY", "u8", "0"), ("FOO", "u8", "0"),
    ("GET", "u64", "0"), ("GET", "i65", "0"), ("GET", "i0", "0"), ("GET", "u0", "0"), ("GET", "I8", "0"),
    ("GET", "U8", "0"), ("GET", "8", "0"), ("GET", "", "0"), ("GET", "i", "0"), ("GET", "i-1", "0"),
    ("GET", "i08", "0"), ("GET", b"i8\x00x", "0"), ("GET", "u8", "-1"), ("GET", "u8", "x"),
    ("GET", "u8", "#-1"), ("GET", "u8", "#x"), ("GET", "u8", "##1"), ("GET", "u8", "#"),
    ("GET", "u8", "4294967295"), ("GET", "u8", "4294967296"), ("GET", "u8", "#536870911"),
    ("GET", "u8", "#536870912"), ("GET", "i64", "#1152921504606846976"),
    ("GET", "i64", "#9223372036854775807"), ("GET", "u1", "#4294967296"),
    ("SET", "u8", "0", "x"), ("SET", "u8", "0", "1.5"), ("INCRBY", "u8", "0", ""),
    ("OVERFLOW",), ("OVERFLOW", "FOO"), ("OVERFLOW", "sat", "GET"), ("OVERFLOW", b"fail\x00z", "GET", "u8", "0"),
    ("GET", "u8", "0", "SET", "u8", "0"), ("GET", "u8", "0", "BAD", "u8", "0"),
    ("SET", "u8", "0", "1", "GET", "u99", "0"), ("SET", "u8", "x", "1", "GET", "u99", "0"),
    ("INCRBY", "i8", "0", "9223372036854775808"), ("gEt", "U8", "0"),
])
def test_bitfield_errors(p, args):
    run(p, ("SET", "k", "abc"), ("BITFIELD", "k", *args), ("BITFIELD_RO", "k", *args), ("GET", "k"),
        ("BITFIELD", "nokey", *args), ("EXISTS", "nokey"))


def test_bitfield_ro_rejects_writes(p):
    run(p, ("BITFIELD_RO", "k", "SET", "u8", "0", "1"), ("BITFIELD_RO", "k", "GET", "u8", "0", "INCRBY", "u8", "0", "1"),
        ("BITFIELD_RO", "k", "OVERFLOW", "FAIL"), ("BITFIELD_RO", "k", "SET", "u8", "0", "x"),
        ("EXISTS", "k"))


def test_bitfield_overflow_sweep(p):
    """Every overflow mode at the edges of signed/unsigned widths, SET and INCRBY."""
    cmds = []
    edges = [0, 1, -1, 2, -2, 7, -8, 8, 127, 128, -128, -129, 255, 256, 2 ** 31, -2 ** 31,
             2 ** 62, 2 ** 63 - 1, -2 ** 63, 2 ** 63 - 2, -2 ** 63 + 1]
    for typ in ("i1", "i2", "i4", "i7", "i8", "i16", "i63", "i64", "u1", "u2", "u7", "u8", "u16", "u62", "u63"):
        for mode in ("WRAP", "SAT", "FAIL"):
            for start in (0, 1, -1, 2 ** 62, -2 ** 63, 2 ** 63 - 1):
                cmds.append(("BITFIELD", "bf", "OVERFLOW", "WRAP", "SET", typ, "3", start))
                for incr in edges:
                    cmds.append(("BITFIELD", "bf", "OVERFLOW", mode, "INCRBY", typ, "3", incr, "GET", typ, "3"))
                    cmds.append(("BITFIELD", "bf", "OVERFLOW", mode, "SET", typ, "3", incr, "GET", typ, "3"))
    sweep(p, cmds + [("GET", "bf")])


def test_bitfield_unaligned(p):
    rng = random.Random(9)
    cmds = [("SET", "u", bytes(rng.randrange(256) for _ in range(20)))]
    for _ in range(400):
        typ = rng.choice("iu") + str(rng.randrange(1, 64))
        off = rng.randrange(0, 180)
        cmds.append(("BITFIELD", "u", "GET", typ, off))
        cmds.append(("BITFIELD", "u", "SET", typ, off, rng.randrange(-2 ** 63, 2 ** 63)))
        cmds.append(("BITFIELD", "u", "INCRBY", typ, "#%d" % rng.randrange(0, 4), rng.randrange(-300, 300)))
        cmds.append(("BITFIELD_RO", "u", "GET", typ, off + 100))
    sweep(p, cmds + [("GET", "u"), ("STRLEN", "u")])


def test_bitfield_fail_creates_key(p):
    run(p, ("BITFIELD", "n", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "10"), ("GET", "n"),
        ("BITFIELD", "n", "OVERFLOW", "FAIL", "SET", "u2", "100", "10"), ("GET", "n"))


# --- LCS -----------------------------------------------------------------------------------------------
def test_lcs(p):
    run(p, ("MSET", "{l}a", "ohmytext", "{l}b", "mynewtext"), ("LCS", "{l}a", "{l}b"),
        ("LCS", "{l}a", "{l}b", "LEN"), ("LCS", "{l}a", "{l}b", "IDX"),
        ("LCS", "{l}a", "{l}b", "IDX", "MINMATCHLEN", "4"), ("LCS", "{l}a", "{l}b", "IDX", "WITHMATCHLEN"),
        ("LCS", "{l}a", "{l}b", "idx", "minmatchlen", "2", "withmatchlen"),
        ("LCS", "{l}a", "{l}b", "MINMATCHLEN", "-5", "IDX"), ("LCS", "{l}a", "{l}b", "LEN", "WITHMATCHLEN"),
        ("LCS", "{l}a", "{l}b", "LEN", "IDX"), ("LCS", "{l}a", "{l}b", "IDX", "LEN"),
        ("LCS", "{l}a", "{l}b", "MINMATCHLEN"), ("LCS", "{l}a", "{l}b", "MINMATCHLEN", "x"),
        ("LCS", "{l}a", "{l}b", "FOO"), ("LCS", "{l}a", "nokey"), ("LCS", "nokey", "{l}a", "IDX"),
        ("LCS", "nokey", "nokey2", "IDX", "WITHMATCHLEN"), ("LCS", "{l}a", "{l}a", "IDX"),
        ("LCS", "a", "{l}b"), ("LCS", "{l}a", "{l}b", "WITHMATCHLEN"),
        ("LCS", "{l}a", "{l}b", "IDX", "MINMATCHLEN", "9223372036854775807"))


def test_lcs_random(p):
    rng = random.Random(3)
    cmds = []
    for _ in range(150):
        alphabet = rng.choice([b"ab", b"abc", b"acgt", bytes(range(256))])
        a = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        b = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        cmds += [("SET", "x", a), ("SET", "y", b), ("LCS", "x", "y"), ("LCS", "x", "y", "LEN"),
                 ("LCS", "x", "y", "IDX", "WITHMATCHLEN"), ("LCS", "y", "x", "IDX", "MINMATCHLEN", "2")]
    sweep(p, cmds)


def test_lcs_large(p):
    rng = random.Random(4)
    a = bytes(rng.choice(b"acgt") for _ in range(1500))
    b = bytes(rng.choice(b"acgt") for _ in range(1200))
    run(p, ("SET", "x", a), ("SET", "y", b), ("LCS", "x", "y", "LEN"), ("LCS", "x", "y"),
        ("LCS", "x", "y", "IDX", "MINMATCHLEN", "5", "WITHMATCHLEN"))
    big = b"z" * 12000
    run(p, ("SET", "x", big), ("SET", "y", big), ("LCS", "x", "y", "LEN"), ("SET", "y", b"z" * 11000),
        ("LCS", "x", "y", "LEN"))


# --- write events against what Redis appends to its AOF -----------------------------------------------
FAMILY_EVENTS = {b"SETBIT", b"BITOP", b"BITFIELD", b"DEL", b"SET"}

EVENT_SCRIPTS = {
    "setbit": [("SETBIT", "a", "7", "1"), ("SETBIT", "a", "7", "1"), ("SETBIT", "a", "7", "0"),
               ("SETBIT", "a", "100", "0"), ("SETBIT", "a", "3", "0"), ("SETBIT", "a", "x", "0"),
               ("SET", "b", "1"), ("SETBIT", "b", "0", "0"), ("GETBIT", "a", "7")],
    "bitop": [("SET", "a", "abc"), ("BITOP", "AND", "d", "a", "nokey"), ("BITOP", "OR", "e", "nokey"),
              ("BITOP", "OR", "d", "nokey"), ("BITOP", "NOT", "d", "a"), ("BITOP", "XOR", "d", "a", "a"),
              ("BITOP", "NOT", "d", "a", "a")],
    "bitfield": [("BITFIELD", "a", "SET", "u8", "0", "0"), ("BITFIELD", "a", "SET", "u8", "0", "0"),
                 ("BITFIELD", "a", "GET", "u8", "0", "INCRBY", "u8", "0", "0"),
                 ("BITFIELD", "a", "INCRBY", "u8", "0", "1"), ("BITFIELD", "b", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "10"),
                 ("BITFIELD", "a", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300", "SET", "u8", "8", "1"),
                 ("BITFIELD", "a", "GET", "u8", "0"), ("BITFIELD_RO", "a", "GET", "u8", "0"),
                 ("BITFIELD", "a", "SET", "u8", "x", "1")],
}






def compare_events(aof_redis, script, family):
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
    with RawClient(aof_redis.host, aof_redis.port) as rc:
        rc.call("SELECT", "0")
        rc.call("FLUSHALL")
        _, start = aof_events(aof_redis, 0)
        del ours[:]
        for cmd in script:
            expected = rc.call(*cmd)
            got = me.call(*cmd)
            assert (expected[:1] == b"-") == (getattr(got, "message", None) is not None), (cmd, expected, got)
        theirs, _ = aof_events(aof_redis, start)

    def norm(events):
        return [(db, tuple(a.upper() if i == 1 and argv[0] == b"BITOP" else a for i, a in enumerate(argv)))
                for db, argv in events if argv[0] in family]
    assert norm(ours) == norm(theirs)


@pytest.mark.parametrize("name", sorted(EVENT_SCRIPTS))
def test_write_events_match_redis_aof(aof_redis, name):
    compare_events(aof_redis, EVENT_SCRIPTS[name], FAMILY_EVENTS)


# --- state machine ----------------------------------------------------------------------------------------
offsets = st.one_of(st.integers(0, 40), st.sampled_from([100, 4095, -1, 2 ** 32])).map(lambda i: str(i).encode())
ranges = st.integers(-6, 6).map(lambda i: str(i).encode())
bf_types = st.sampled_from([b"u1", b"u3", b"u8", b"i5", b"i8", b"i16", b"u63", b"i64", b"u64"])
bf_values = st.integers(-(2 ** 63), 2 ** 63 - 1).map(lambda i: str(i).encode())
bits = st.sampled_from([b"0", b"1"])
units = st.sampled_from([(), (b"BIT",), (b"BYTE",)])


class BitMachine(DifferentialMachine):
    @rule(k=keys, off=offsets, b=bits)
    def setbit(self, k, off, b):
        self.pair.same("SETBIT", k, off, b)

    @rule(k=keys, off=offsets)
    def getbit(self, k, off):
        self.pair.same("GETBIT", k, off)

    @rule(k=keys, v=st.binary(max_size=6))
    def set(self, k, v):
        self.pair.same("SET", k, v)

    @rule(k=keys)
    def get(self, k):
        self.pair.same("GET", k)

    @rule(k=keys, r=st.lists(ranges, min_size=0, max_size=2), u=units)
    def bitcount(self, k, r, u):
        self.pair.same("BITCOUNT", k, *r, *(u if len(r) == 2 else ()))

    @rule(k=keys, b=bits, r=st.lists(ranges, min_size=0, max_size=2), u=units)
    def bitpos(self, k, b, r, u):
        self.pair.same("BITPOS", k, b, *r, *(u if len(r) == 2 else ()))

    @rule(op=st.sampled_from([b"AND", b"OR", b"XOR", b"NOT"]), d=keys, srcs=st.lists(keys, min_size=1, max_size=3))
    def bitop(self, op, d, srcs):
        self.pair.same("BITOP", op, d, *srcs)

    @rule(k=keys, t=bf_types, off=st.integers(0, 50).map(lambda i: str(i).encode()), v=bf_values,
          mode=st.sampled_from([b"WRAP", b"SAT", b"FAIL"]), sub=st.sampled_from([b"SET", b"INCRBY", b"GET"]))
    def bitfield(self, k, t, off, v, mode, sub):
        args = (sub, t, off) if sub == b"GET" else (sub, t, off, v)
        self.pair.same("BITFIELD", k, "OVERFLOW", mode, *args)

    @rule(a=keys, b=keys, opt=st.sampled_from([(), (b"LEN",), (b"IDX",), (b"IDX", b"WITHMATCHLEN")]))
    def lcs(self, a, b, opt):
        self.pair.same("LCS", a, b, *opt)

    @rule(k=keys)
    def push(self, k):
        self.pair.same("RPUSH", k, "x")


def test_bitmaps_state_machine(pair):
    BitMachine.run(pair)
