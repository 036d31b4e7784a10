"""Differential tests of PFADD/PFCOUNT/PFMERGE/PFDEBUG against redis-server 7.0.

The HLL is a Redis-format string, so besides replies the *bytes* (GET) must be
identical: same sparse opcodes, same promotion point, same cached cardinality.
Redis's own bytes are loaded into RedisLite with SET and counted there.
"""
import random

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule

from tests.compat.differential import DifferentialMachine, decode, keys
from tests.compat.test_bitmaps_compat import compare_events

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


def elements(rng, n, prefix="e"):
    return [("%s%d" % (prefix, rng.randrange(10 ** 12))).encode() for _ in range(n)]


def test_pfadd_pfcount_basic(p):
    run(p, ("PFADD", "h", "a", "b", "c"), ("PFADD", "h", "a"), ("PFCOUNT", "h"), ("GET", "h"),
        ("PFCOUNT", "h"), ("PFADD", "h"), ("PFADD", "new"), ("GET", "new"), ("PFCOUNT", "new"),
        ("PFCOUNT", "nokey"), ("PFCOUNT", "nokey", "nokey2"), ("PFCOUNT", "h", "new", "nokey"),
        ("OBJECT", "ENCODING", "h"), ("PFADD", "h", ""), ("PFADD", "h", b"\x00\xff" * 9), ("GET", "h"),
        ("STRLEN", "h"), ("PFDEBUG", "ENCODING", "h"), ("PFDEBUG", "DECODE", "h"))


@pytest.mark.parametrize("n", [1, 5, 60, 400, 1200, 2100, 5000])
def test_pfadd_same_bytes_as_redis(p, n):
    """Element by element (and in batches) the GET bytes stay identical, across promotion."""
    rng = random.Random(n)
    els = elements(rng, n)
    cmds = []
    for i in range(0, len(els), 7):
        cmds.append(("PFADD", "one", *els[i:i + 7]))
        if i % 70 == 0:
            cmds.append(("GET", "one"))
            cmds.append(("PFCOUNT", "one"))
    for e in els[: min(n, 600)]:
        cmds.append(("PFADD", "single", e))
    cmds += [("GET", "one"), ("PFCOUNT", "one"), ("GET", "one"), ("GET", "single"), ("PFCOUNT", "single"),
             ("PFDEBUG", "ENCODING", "one"), ("PFCOUNT", "one", "single")]
    sweep(p, cmds)


def test_redis_bytes_load_here(p):
    """SET the bytes Redis produced; counting and adding continue identically."""
    rng = random.Random(11)
    for n in (3, 300, 3000, 40000):
        els = elements(rng, n)
        for i in range(0, n, 500):
            p.oracle.call("PFADD", "src", *els[i:i + 500])
        raw = decode(p.oracle.call("GET", "src"))
        p.subject.call("DEL", "src")
        run(p, ("SET", "copy", raw), ("PFCOUNT", "copy"), ("GET", "copy"), ("PFADD", "copy", "zz", "yy"),
            ("PFCOUNT", "copy"), ("GET", "copy"), ("PFCOUNT", "copy", "nokey"), ("OBJECT", "ENCODING", "copy"))
        p.oracle.call("DEL", "src")


def test_pfmerge(p):
    rng = random.Random(2)
    small, mid, big = elements(rng, 20, "s"), elements(rng, 900, "m"), elements(rng, 6000, "b")
    cmds = [("PFADD", "{h}s", *small), ("PFADD", "{h}m", *mid), ("PFADD", "{h}b", *big),
            ("PFADD", "x", *small[:5])]
    for dest in ("{h}d1", "{h}s", "x"):
        cmds += [("PFMERGE", dest, "{h}s", "{h}m"), ("GET", dest), ("PFCOUNT", dest),
                 ("PFMERGE", dest, "{h}b"), ("GET", dest), ("PFCOUNT", dest),
                 ("PFMERGE", dest, "nokey"), ("GET", dest)]
    cmds += [("PFMERGE", "only"), ("GET", "only"), ("PFMERGE", "only2", "nokey"), ("GET", "only2"),
             ("PFCOUNT", "{h}s", "{h}m", "{h}b"), ("PFCOUNT", "{h}s", "{h}m"), ("PFCOUNT", "x", "{h}b"),
             ("PFMERGE", "{h}m", "{h}m"), ("GET", "{h}m"), ("PFDEBUG", "ENCODING", "{h}d1"),
             ("PFMERGE", "sp", "{h}s", "x"), ("GET", "sp"), ("PFDEBUG", "DECODE", "sp")]
    sweep(p, cmds)


def test_pfmerge_sparse_dest_promotes(p):
    rng = random.Random(8)
    cmds = []
    for i in range(12):
        cmds.append(("PFADD", "src%d" % i, *elements(rng, 150)))
        cmds += [("PFMERGE", "acc", "src%d" % i), ("GET", "acc"), ("PFCOUNT", "acc")]
    cmds += [("PFMERGE", "all", *["src%d" % i for i in range(12)]), ("GET", "all")]
    sweep(p, cmds)


def test_sparse_max_bytes_config(p):
    rng = random.Random(6)
    els = elements(rng, 500)
    for limit in ("0", "40", "300", "100000"):
        p.same("CONFIG", "SET", "hll-sparse-max-bytes", limit)
        cmds = [("DEL", "h")] + [("PFADD", "h", e) for e in els[:300]] + [("GET", "h"), ("PFCOUNT", "h")]
        cmds += [("PFMERGE", "m%s" % limit, "h"), ("GET", "m%s" % limit)]
        sweep(p, cmds)
    p.same("CONFIG", "SET", "hll-sparse-max-bytes", "3000")


HEADER = b"HYLL"
CORRUPT = [
    b"", b"HYLL", b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",     # too short
    b"HYLX\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff",     # magic
    b"HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff",     # encoding
    b"HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff",     # dense, wrong size
    b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xfe",     # 16383 registers
    b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff\x00",  # 16385 registers
    b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",              # no opcodes
    b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f",          # truncated XZERO
    b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\x7f\xfa",  # VAL 32 x4 then XZERO
    b"HYLL\x01\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x7f\xff",     # cached card 5, valid
    b"HYLL\x01\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x80\x7f\xff",     # stale cache
    b"HYLL\x00" + bytes(12300),                                           # dense, all zero
    b"HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80" + bytes(range(256)) * 48,  # dense, registers up to 63
    b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + b"\x3f" * 256,           # 256 ZERO:64
    b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + b"\xff" * 4096,          # all VAL 32
    b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + b"\xff" * 4097,          # too many VALs
]


@pytest.mark.parametrize("value", CORRUPT, ids=range(len(CORRUPT)))
def test_corrupt_and_foreign_values(p, value):
    run(p, ("SET", "c", value), ("PFCOUNT", "c"), ("GET", "c"), ("PFCOUNT", "c", "nokey"),
        ("PFMERGE", "d", "c"), ("GET", "d"), ("PFMERGE", "c", "nokey"), ("GET", "c"),
        ("SET", "c", value), ("PFADD", "c", "a", "b", "c", "d", "e", "f"), ("GET", "c"),
        ("SET", "c", value), ("PFDEBUG", "DECODE", "c"), ("PFDEBUG", "ENCODING", "c"),
        ("PFDEBUG", "GETREG", "c"), ("GET", "c"), ("SET", "c", value), ("PFDEBUG", "TODENSE", "c"),
        ("GET", "c"), ("PFDEBUG", "TODENSE", "c"), ("OBJECT", "ENCODING", "c"))


def test_not_an_hll(p):
    run(p, ("SET", "s", "foobar"), ("PFADD", "s", "a"), ("PFCOUNT", "s"), ("PFCOUNT", "s", "nokey"),
        ("PFCOUNT", "nokey", "s"), ("PFMERGE", "s"), ("PFMERGE", "d", "s"), ("EXISTS", "d"),
        ("PFMERGE", "s", "nokey"), ("PFDEBUG", "ENCODING", "s"), ("SET", "i", "12345"), ("PFADD", "i"))
    o, s = p.both("RPUSH", "l", "x")
    assert o == s
    run(p, ("PFADD", "l", "a"), ("PFADD", "l"), ("PFCOUNT", "l"), ("PFCOUNT", "l", "s"), ("PFCOUNT", "nokey", "l"),
        ("PFMERGE", "l"), ("PFMERGE", "d", "l"), ("PFMERGE", "l", "nokey"), ("PFDEBUG", "GETREG", "l"),
        ("PFADD", "h", "a"), ("PFCOUNT", "h", "l"), ("PFMERGE", "l", "h"), ("PFMERGE", "h", "l"))


def test_pfdebug(p):
    run(p, ("PFADD", "h", "a", "b"), ("PFDEBUG", "ENCODING", "h"), ("PFDEBUG", "decode", "h"),
        ("PFDEBUG", "FOO", "h"), ("PFDEBUG", "FOO", "nokey"), ("PFDEBUG", "GETREG", "nokey"),
        ("PFDEBUG", "TODENSE", "h"), ("PFDEBUG", "TODENSE", "h"), ("PFDEBUG", "DECODE", "h"),
        ("GET", "h"), ("PFDEBUG", "GETREG", "h"), ("PFADD", "h2", "x"), ("PFDEBUG", "GETREG", "h2"),
        ("PFDEBUG", "ENCODING", "h2"), ("PFDEBUG", "ENCODING"), ("PFDEBUG", "ENCODING", "h", "x"),
        ("PFDEBUG", b"encoding\x00x", "h"), ("PFSELFTEST",), ("PFSELFTEST", "x"))


def test_arity(p):
    run(p, ("PFADD",), ("PFCOUNT",), ("PFMERGE",), ("PFDEBUG",), ("PFDEBUG", "GETREG"))


def test_pfcount_cache_and_encoding(p):
    run(p, ("PFADD", "h", "a"), ("SET", "copy", "x"), ("PFCOUNT", "h"))
    raw = decode(p.oracle.call("GET", "h"))
    run(p, ("SET", "e", raw), ("OBJECT", "ENCODING", "e"), ("PFCOUNT", "e"), ("OBJECT", "ENCODING", "e"),
        ("SET", "e2", raw), ("PFADD", "e2", "a"), ("OBJECT", "ENCODING", "e2"),
        ("SET", "e3", raw), ("PFCOUNT", "e3", "nokey"), ("OBJECT", "ENCODING", "e3"))


def test_pfadd_keeps_ttl(p):
    run(p, ("PFADD", "h", "a"), ("EXPIRE", "h", "100"), ("PFADD", "h", "b", "c"), ("PFMERGE", "h", "h"),
        ("PFCOUNT", "h"))
    o, s = p.both("TTL", "h")
    assert abs(decode(o) - decode(s)) <= 1 and decode(o) > 0


# --- write events ---------------------------------------------------------------------------------------
FAMILY_EVENTS = {b"PFADD", b"PFCOUNT", b"PFMERGE", b"PFDEBUG", b"DEL", b"SET"}
EVENT_SCRIPTS = {
    "pfadd": [("PFADD", "a", "x", "y"), ("PFADD", "a", "x"), ("PFADD", "b"), ("PFADD", "b"),
              ("SET", "s", "str"), ("PFADD", "s", "x")],
    "pfcount": [("PFADD", "a", "x", "y"), ("PFCOUNT", "a"), ("PFCOUNT", "a"), ("PFADD", "b", "z"),
                ("PFCOUNT", "a", "b"), ("PFADD", "a", "w"), ("PFCOUNT", "a"), ("PFCOUNT", "nokey")],
    "pfmerge": [("PFADD", "a", "x"), ("PFMERGE", "c", "a"), ("PFMERGE", "c"), ("PFMERGE", "c", "a"),
                ("PFMERGE", "d", "nokey"), ("SET", "s", "str"), ("PFMERGE", "c", "s")],
    "pfdebug": [("PFADD", "a", "x"), ("PFDEBUG", "ENCODING", "a"), ("PFDEBUG", "TODENSE", "a"),
                ("PFDEBUG", "TODENSE", "a"), ("PFADD", "b", "x"), ("PFDEBUG", "GETREG", "b"),
                ("PFDEBUG", "GETREG", "b")],
}


@pytest.mark.parametrize("name", sorted(EVENT_SCRIPTS))
def test_write_events_match_redis_aof(aof_redis, name):
    compare_events(aof_redis, EVENT_SCRIPTS[name], FAMILY_EVENTS)


# --- state machine ------------------------------------------------------------------------------------------
members = st.lists(st.sampled_from([b"a", b"b", b"c", b"", b"x" * 20] + [b"m%d" % i for i in range(40)]),
                   max_size=6)


class HllMachine(DifferentialMachine):
    @rule(k=keys, els=members)
    def pfadd(self, k, els):
        self.pair.same("PFADD", k, *els)

    @rule(k=keys, n=st.integers(20, 200), seed=st.integers(0, 10 ** 6))
    def pfadd_many(self, k, n, seed):
        self.pair.same("PFADD", k, *elements(random.Random(seed), n))

    @rule(ks=st.lists(keys, min_size=1, max_size=3))
    def pfcount(self, ks):
        self.pair.same("PFCOUNT", *ks)

    @rule(d=keys, ks=st.lists(keys, max_size=3))
    def pfmerge(self, d, ks):
        self.pair.same("PFMERGE", d, *ks)

    @rule(k=keys)
    def get(self, k):
        self.pair.same("GET", k)

    @rule(k=keys, tail=st.sampled_from([b"x", b"\x00", b"\x80", b"\x7f\xff"]))
    def append(self, k, tail):
        self.pair.same("APPEND", k, tail)

    @rule(k=keys, off=st.sampled_from([b"4", b"15", b"16", b"17", b"30"]), v=st.binary(min_size=1, max_size=2))
    def setrange(self, k, off, v):
        self.pair.same("SETRANGE", k, off, v)

    @rule(k=keys, sub=st.sampled_from([b"ENCODING", b"DECODE", b"TODENSE"]))
    def pfdebug(self, k, sub):
        self.pair.same("PFDEBUG", sub, k)

    @rule(k=keys)
    def push(self, k):
        self.pair.same("RPUSH", k, "x")


def test_hyperloglog_state_machine(pair):
    HllMachine.run(pair)
