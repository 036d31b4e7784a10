"""Unit tests of the bitmap commands and LCS on a task.Clock server, no network.

Reply-for-reply equality with Redis is checked live by
tests/compat/test_bitmaps_compat.py; here: reference implementations,
write events, memory accounting, multi-shard coordination and the work
(counted, not timed) of the big cases.
"""
import random

import pytest
from twisted.internet import task

from redislite import errors
from redislite.commands import load_all
from redislite.commands.bitmaps import _lcs_length, _lcs_rows
from redislite.config import Config
from redislite.errors import ReplyError
from redislite.protocol import Client
from redislite.resp.encoder import Map
from redislite.server import Server
from redislite.storage.keyspace import KEY_OVERHEAD, sizeof_bytes, value_memory
from tests.workcount import steps

load_all()


class Env:
    def __init__(self, shards=None):
        self.clock = task.Clock()
        self.clock.advance(1_700_000_000)
        self.srv = Server(Config.defaults(), self.clock, shards=shards)
        self.events = []
        self.srv.bus.subscribe(lambda db, argv: self.events.append(argv))
        self.c = Client(self.srv)

    def call(self, *args):
        return self.c.call(*args)

    def take_events(self):
        out, self.events[:] = list(self.events), []
        return out

    def stored(self, key):
        key = key.encode()
        return self.srv.router.shard_for(key).dbs[0].peek(key)

    def mem_consistent(self):
        for shard in self.srv.shards:
            for ks in shard.dbs:
                expect = sum(sizeof_bytes(k) + KEY_OVERHEAD + value_memory(v) for k, v in ks.iter_items())
                assert ks.mem == expect


@pytest.fixture
def env():
    return Env()


# --- SETBIT / GETBIT ------------------------------------------------------------------------
def test_setbit_grows_raw_and_propagates_only_changes(env):
    assert env.call("SETBIT", "k", "7", "1") == 0
    assert type(env.stored("k")) is bytearray
    assert env.call("SETBIT", "k", "7", "1") == 1
    assert env.call("SETBIT", "k", "7", "0") == 1
    assert env.call("SETBIT", "k", "100", "0") == 0          # grows: propagated although the bit is 0
    assert env.call("GET", "k") == bytes(13)
    assert env.take_events() == [(b"SETBIT", b"k", b"7", b"1"), (b"SETBIT", b"k", b"7", b"0"),
                                 (b"SETBIT", b"k", b"100", b"0")]
    assert env.call("OBJECT", "ENCODING", "k") == b"raw"
    env.mem_consistent()


def test_setbit_errors(env):
    assert env.call("SETBIT", "k", "4294967296", "1") == ReplyError(errors.BIT_OFFSET)
    assert env.call("SETBIT", "k", "-1", "1") == ReplyError(errors.BIT_OFFSET)
    assert env.call("SETBIT", "k", "0", "2") == ReplyError(errors.BIT_VALUE)
    assert env.call("GETBIT", "k", "4294967296") == ReplyError(errors.BIT_OFFSET)
    env.call("RPUSH", "l", "x")
    assert env.call("SETBIT", "l", "0", "1") == ReplyError(errors.WRONGTYPE)
    assert env.call("EXISTS", "k") == 0 and env.take_events() == [(b"RPUSH", b"l", b"x")]


def test_offset_limit_follows_proto_max_bulk_len(env):
    env.call("CONFIG", "SET", "proto-max-bulk-len", "1048576")
    assert env.call("SETBIT", "k", str(8 * 1048576), "1") == ReplyError(errors.BIT_OFFSET)
    assert env.call("SETBIT", "k", str(8 * 1048576 - 1), "1") == 0
    assert env.call("STRLEN", "k") == 1048576
    env.mem_consistent()


def test_setbit_on_expired_key_starts_fresh(env):
    env.call("SET", "k", "\xff", "PX", "100")
    env.clock.advance(1)
    env.srv.now.refresh()
    assert env.call("SETBIT", "k", "1", "0") == 0
    assert env.call("GET", "k") == b"\x00" and env.call("PTTL", "k") == -1


# --- BITCOUNT / BITPOS -----------------------------------------------------------------------
def ref_bits(v):
    return [(byte >> (7 - i)) & 1 for byte in v for i in range(8)]


def ref_range(n, start, end):
    if start < 0:
        start += n
    if end < 0:
        end += n
    start, end = max(start, 0), min(max(end, 0), n - 1)
    return start, end


@pytest.mark.parametrize("seed", range(5))
def test_bitcount_against_reference(env, seed):
    rng = random.Random(seed)
    v = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 30)))
    env.call("SET", "k", v)
    bits = ref_bits(v)
    assert env.call("BITCOUNT", "k") == sum(bits)
    for _ in range(200):
        s, e = rng.randrange(-300, 300), rng.randrange(-300, 300)
        if s < 0 and e < 0 and s > e:
            expect = 0
        else:
            a, b = ref_range(len(bits), s, e)
            expect = sum(bits[a:b + 1])
        assert env.call("BITCOUNT", "k", s, e, "BIT") == expect


def test_bitpos_end_given_semantics(env):
    env.call("SET", "k", b"\xff\xff\xff")
    assert env.call("BITPOS", "k", "0") == 24                 # the right is zero padded
    assert env.call("BITPOS", "k", "0", "0") == 24
    assert env.call("BITPOS", "k", "0", "0", "-1") == -1      # not with an explicit end
    assert env.call("BITPOS", "k", "0", "0", "-1", "BIT") == -1
    assert env.call("BITPOS", "nokey", "0") == 0 and env.call("BITPOS", "nokey", "1") == -1
    assert env.call("BITPOS", "k", "2") == ReplyError(errors.BIT_ARG)


def test_bitcount_and_bitpos_are_not_per_byte_loops(env):
    """Counted in steps (lines + calls), not timed: over 64 MB a per-byte Python loop
    would take 64M steps; chunked C operations take a few per chunk."""
    big = bytearray(64 * 1024 * 1024)
    big[-1] = 1
    ks = env.srv.router.shard_for(b"big").dbs[0]
    ks.set(b"big", big)
    bound = len(big) // 4096                  # 414, 6266 and 452 with Python 3.11
    for cmd, expected in ((("BITCOUNT", "big"), 1), (("BITPOS", "big", "1"), len(big) * 8 - 1),
                          (("BITCOUNT", "big", "1", "-2"), 0)):
        reply, work = steps(env.call, *cmd)
        assert reply == expected
        assert work <= bound, (cmd, work)


# --- BITOP ------------------------------------------------------------------------------------
def test_bitop_across_shards_and_events():
    env = Env(shards=4)
    keys = ["a%d" % i for i in range(6)]
    rng = random.Random(3)
    vals = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 20))) for _ in keys]
    for k, v in zip(keys, vals):
        env.call("SET", k, v)
    assert len({env.srv.router.shard_for(k.encode()) for k in keys}) > 1
    env.take_events()
    n = max(map(len, vals))
    padded = [int.from_bytes(v.ljust(n, b"\0"), "big") for v in vals]
    acc = padded[0]
    for x in padded[1:]:
        acc ^= x
    assert env.call("BITOP", "XOR", "dest", *keys) == n
    assert env.call("GET", "dest") == acc.to_bytes(n, "big")
    assert type(env.stored("dest")) is bytearray
    assert env.take_events() == [(b"BITOP", b"XOR", b"dest", *[k.encode() for k in keys])]
    assert env.call("BITOP", "AND", "dest", "missing") == 0
    assert env.call("EXISTS", "dest") == 0
    assert env.take_events() == [(b"BITOP", b"AND", b"dest", b"missing")]
    assert env.call("BITOP", "AND", "dest", "missing") == 0
    assert env.take_events() == []
    env.mem_consistent()


def test_bitop_errors(env):
    env.call("RPUSH", "l", "x")
    assert env.call("BITOP", "NOT", "d", "a", "b") == ReplyError(errors.BITOP_NOT_ONE_KEY)
    assert env.call("BITOP", "NAND", "d", "a") == ReplyError(errors.SYNTAX)
    assert env.call("BITOP", "OR", "d", "a", "l") == ReplyError(errors.WRONGTYPE)


# --- BITFIELD ---------------------------------------------------------------------------------
def test_bitfield_semantics(env):
    assert env.call("BITFIELD", "k", "SET", "i8", "0", "-100", "GET", "u8", "0") == [0, 156]
    assert env.call("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "-100") == [-128]
    assert env.call("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-1") == [None]
    assert env.call("BITFIELD", "k", "INCRBY", "i8", "0", "-1") == [127]      # WRAP
    assert env.call("BITFIELD", "k", "OVERFLOW", "SAT", "SET", "u8", "#1", "-5") == [0]
    assert env.call("BITFIELD", "k", "GET", "u8", "8") == [255]               # SAT of a negative: max
    assert env.call("BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i1", "3", "-9223372036854775808",
                    "GET", "i1", "3") == [-1, 0]                              # Redis's int64 wrap quirk
    assert env.call("BITFIELD_RO", "k", "SET", "u8", "0", "1") == ReplyError(errors.BITFIELD_RO_GET_ONLY)
    assert env.call("BITFIELD", "k", "GET", "u64", "0") == ReplyError(errors.BITFIELD_TYPE)
    assert env.call("BITFIELD", "k", "OVERFLOW", "x") == ReplyError(errors.BITFIELD_OVERFLOW)


def test_bitfield_events(env):
    env.call("BITFIELD", "k", "SET", "u8", "0", "0")                          # created
    env.call("BITFIELD", "k", "SET", "u8", "0", "0")                          # no change
    env.call("BITFIELD", "k", "GET", "u8", "0")
    env.call("BITFIELD", "n", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "10")  # created, nothing written
    assert env.call("GET", "n") == b"\x00"
    assert env.take_events() == [(b"BITFIELD", b"k", b"SET", b"u8", b"0", b"0")]
    env.mem_consistent()


# --- LCS --------------------------------------------------------------------------------------
def redis_lcs(a, b, minmatchlen=0, withmatchlen=False):
    """Redis 7.0's lcsCommand, transcribed naively (full DP table), as the reference."""
    alen, blen = len(a), len(b)
    L = [[0] * (blen + 1) for _ in range(alen + 1)]
    for i in range(1, alen + 1):
        for j in range(1, blen + 1):
            L[i][j] = L[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(L[i - 1][j], L[i][j - 1])
    idx = L[alen][blen]
    result = bytearray(idx)
    matches = []
    i, j = alen, blen
    ast, aend, bst, bend = alen, 0, 0, 0
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result[idx - 1] = a[i - 1]
            if ast == alen:
                ast = aend = i - 1
                bst = bend = j - 1
            elif ast == i and bst == j:
                ast -= 1
                bst -= 1
            else:
                emit = True
            if ast == 0 or bst == 0:
                emit = True
            idx, i, j = idx - 1, i - 1, j - 1
        else:
            if L[i - 1][j] > L[i][j - 1]:
                i -= 1
            else:
                j -= 1
            if ast != alen:
                emit = True
        if emit:
            ml = aend - ast + 1
            if minmatchlen == 0 or ml >= minmatchlen:
                matches.append([[ast, aend], [bst, bend]] + ([ml] if withmatchlen else []))
            ast = alen
    return bytes(result), matches, L[alen][blen]


@pytest.mark.parametrize("seed", range(8))
def test_lcs_matches_redis_algorithm(env, seed):
    rng = random.Random(seed)
    for _ in range(40):
        alphabet = rng.choice([b"ab", b"abc", b"acgt", bytes(range(40))])
        a = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        b = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        env.call("SET", "{x}a", a)
        env.call("SET", "{x}b", b)
        text, matches, n = redis_lcs(a, b, 2, True)
        assert env.call("LCS", "{x}a", "{x}b") == text
        assert env.call("LCS", "{x}a", "{x}b", "LEN") == n == _lcs_length(a, b)
        assert env.call("LCS", "{x}a", "{x}b", "IDX", "MINMATCHLEN", "2", "WITHMATCHLEN") == Map(
            [(b"matches", matches), (b"len", n)])


def test_lcs_rows_encode_increments():
    a, b = b"ohmytext", b"mynewtext"
    rows = _lcs_rows(a, b)
    _, _, _ = redis_lcs(a, b)
    for i, row in enumerate(rows, 1):
        prefix = [j - bin(row & ((1 << j) - 1)).count("1") for j in range(len(b) + 1)]
        assert prefix[-1] == _lcs_length(a[:i], b)


def test_lcs_errors_and_limit(env):
    env.call("RPUSH", "l", "x")
    assert env.call("LCS", "l", "nokey") == ReplyError(errors.LCS_NOT_STRINGS)
    assert env.call("LCS", "a", "b", "LEN", "IDX") == ReplyError(errors.LCS_LEN_AND_IDX)
    env.call("SET", "{y}a", "x" * 20000)
    env.call("SET", "{y}b", "y" * 20000)
    assert env.call("LCS", "{y}a", "{y}b") == ReplyError(errors.LCS_TOO_BIG)


def test_lcs_large_is_linear_in_python_steps(env):
    """The LCS table is computed a row at a time with big-int bit operations (each row
    one C operation over len(b) bits), then walked back along one path. Counted in
    steps (lines + calls), not timed: linear in the strings' length, where a per-cell
    Python loop would take 64M steps for two 8000-byte strings."""
    rng = random.Random(1)
    work = {}
    for n in (800, 8000):
        a = bytes(rng.choice(b"acgt") for _ in range(n))
        b = bytes(rng.choice(b"acgt") for _ in range(n))
        env.call("SET", "{z}a", a)
        env.call("SET", "{z}b", b)
        r, work[n] = steps(env.call, "LCS", "{z}a", "{z}b", "IDX")
        assert r[1] == (b"len", _lcs_length(a, b))
    assert work[8000] <= 40 * 8000, work      # ~26 steps per byte with Python 3.11
    assert work[8000] <= 10 * work[800] + 1000, work
