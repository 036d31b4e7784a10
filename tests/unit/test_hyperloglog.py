"""Unit tests of the HLL format (storage/hll.py) and the PF* commands, no network.

Expected bytes and counts were taken from redis-server 7.0.15; the differential
suite (tests/compat/test_hyperloglog_compat.py) compares many more cases live.
"""
import random

import pytest

from redislite import errors
from redislite.commands import load_all
from redislite.errors import ReplyError
from redislite.resp.encoder import OK, Status
from redislite.storage import hll
from redislite.storage.keyspace import KEY_OVERHEAD, sizeof_bytes, value_memory

from tests.unit.test_bitmaps import Env as BitmapEnv
from tests.workcount import steps

load_all()


class Env(BitmapEnv):
    """The bitmap tests' server-on-a-Clock environment, plus the HLL memory check."""

    def mem_consistent(self):
        for shard in self.srv.shards:
            for ks in shard.dbs:
                expect = sum(sizeof_bytes(k) + KEY_OVERHEAD + value_memory(v) for k, v in ks.iter_items())
                assert ks.mem == expect


@pytest.fixture
def env():
    return Env()


def items(n, start=0):
    return [b"item:%d" % i for i in range(start, start + n)]


# --- format ------------------------------------------------------------------------------
def test_murmur_and_pattern_match_redis():
    # PFADD h a; PFADD h b in Redis 7.0 gives Z:12711 v:2,1 Z:3068 v:1,1 Z:603
    assert sorted([hll.pat_len(b"a"), hll.pat_len(b"b")]) == [(12711, 2), (15780, 1)]
    buf = hll.new_sparse()
    assert hll.add(buf, b"a", 3000) == 1 and hll.add(buf, b"b", 3000) == 1
    hll.invalidate(buf)
    assert bytes(buf) == b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80q\xa6\x84K\xfb\x80BZ"
    assert hll.decode_sparse(buf) == b"Z:12711 v:2,1 Z:3068 v:1,1 Z:603"
    assert hll.add(buf, b"a", 3000) == 0


def test_murmur_block_and_tail_lengths():
    # every tail length and several blocks: the hash is stable and 64-bit
    seen = {hll.murmur64a(bytes(range(n))) for n in range(40)}
    assert len(seen) == 40 and all(0 <= h < 1 << 64 for h in seen)


@pytest.mark.parametrize("n,card,size", [(10, 10, 48), (1000, 1002, 1892), (20000, 20021, 12304)])
def test_counts_match_redis(n, card, size):
    buf = hll.new_sparse()
    for e in items(n):
        hll.add(buf, e, 3000)
    assert hll.count(buf) == card
    assert len(buf) == size


def test_dense_pack_roundtrip_and_registers():
    rng = random.Random(1)
    raw = bytes(rng.randrange(64) for _ in range(hll.REGISTERS))
    buf = bytearray(b"HYLL\x00" + bytes(11)) + hll.raw_to_dense_regs(raw)
    assert len(buf) == hll.DENSE_SIZE
    assert bytes(hll.dense_to_raw(buf)) == raw
    for i in (0, 1, 2, 3, 4, 5, 16382, 16383):
        assert hll.dense_get(buf, i) == raw[i]
    hll.dense_set(buf, 16383, 63)
    assert hll.dense_get(buf, 16383) == 63 and hll.dense_get(buf, 16382) == raw[16382]


def test_raw_max_is_elementwise():
    rng = random.Random(2)
    a = bytes(rng.randrange(64) for _ in range(hll.REGISTERS))
    b = bytes(rng.randrange(64) for _ in range(hll.REGISTERS))
    assert bytes(hll.raw_max(a, b)) == bytes(max(x, y) for x, y in zip(a, b))


def test_promotion_by_size_and_by_value():
    buf = hll.new_sparse()
    for e in items(400):
        hll.add(buf, e, 200)
    assert buf[4] == hll.DENSE and len(buf) == hll.DENSE_SIZE
    buf = hll.new_sparse()
    assert hll.sparse_set(buf, 5, 40, 3000)[0] == 1        # > 32 cannot be sparse
    assert buf[4] == hll.DENSE and hll.dense_get(buf, 5) == 40


def test_validity_checks():
    assert hll.is_valid(hll.new_sparse())
    assert not hll.is_valid(b"HYLL")
    assert not hll.is_valid(b"HYLX" + bytes(14))
    assert not hll.is_valid(b"HYLL\x02" + bytes(13))
    assert not hll.is_valid(b"HYLL\x00" + bytes(13))
    assert hll.count(bytearray(b"HYLL\x01" + bytes(11) + b"\x7f\xfe")) is None   # 16383 registers


# --- commands ---------------------------------------------------------------------------
def test_pfadd_pfcount_cache(env):
    assert env.call("PFADD", "h", "a", "b", "c") == 1
    assert env.call("PFADD", "h", "a") == 0
    assert env.take_events() == [(b"PFADD", b"h", b"a", b"b", b"c")]
    assert env.call("PFCOUNT", "h") == 3
    assert env.take_events() == [(b"PFCOUNT", b"h")]          # the cache was refreshed
    assert env.call("PFCOUNT", "h") == 3
    assert env.take_events() == []
    raw = env.call("GET", "h")
    assert raw[8:16] == (3).to_bytes(8, "little")
    assert env.call("PFADD", "empty") == 1 and env.call("PFCOUNT", "empty") == 0
    env.mem_consistent()


def test_pfcount_many_does_not_modify(env):
    env.call("PFADD", "{x}a", *items(50))
    env.call("PFADD", "{x}b", *items(50, 25))
    before = env.call("GET", "{x}a")
    env.take_events()
    assert env.call("PFCOUNT", "{x}a", "{x}b", "nokey") == 75
    assert env.call("GET", "{x}a") == before and env.take_events() == []


def test_pfmerge_across_shards():
    env = Env(shards=4)
    names = ["k%d" % i for i in range(8)]
    for i, name in enumerate(names):
        env.call("PFADD", name, *items(100, i * 50))
    assert len({env.srv.router.shard_for(n.encode()) for n in names}) > 1
    assert env.call("PFMERGE", "dest", *names) == OK
    assert env.call("PFCOUNT", "dest") == env.call("PFCOUNT", *names)
    ev = [e for e in env.take_events() if e[0] == b"PFMERGE"]
    assert ev == [(b"PFMERGE", b"dest", *[n.encode() for n in names])]
    env.mem_consistent()


def test_pfmerge_same_bytes_as_sequential_adds(env):
    env.call("PFADD", "a", *items(300))
    env.call("PFMERGE", "m", "a")
    env.call("PFADD", "dense", *items(5000))
    env.call("PFMERGE", "m2", "dense", "a")
    # merging a dense HLL gives a dense destination with the same registers
    assert env.call("PFDEBUG", "ENCODING", "m2") == Status("dense")
    assert env.call("PFCOUNT", "m2") == env.call("PFCOUNT", "dense", "a")


def test_errors_and_wrongtype(env):
    env.call("SET", "s", "not an hll")
    env.call("RPUSH", "l", "x")
    assert env.call("PFADD", "s", "a") == ReplyError(errors.HLL_WRONGTYPE)
    assert env.call("PFCOUNT", "l") == ReplyError(errors.WRONGTYPE)
    assert env.call("PFMERGE", "d", "s") == ReplyError(errors.HLL_WRONGTYPE)
    assert env.call("EXISTS", "d") == 0
    env.call("SET", "bad", b"HYLL\x01" + bytes(10) + b"\x80\x7f\xfe")  # stale cache
    assert env.call("PFCOUNT", "bad") == ReplyError(errors.HLL_INVALID)
    assert env.call("PFDEBUG", "GETREG", "nokey") == ReplyError(errors.PFDEBUG_NO_KEY)
    assert env.call("PFDEBUG", "NOPE", "bad") == ReplyError(errors.PFDEBUG_UNKNOWN % "NOPE")
    assert env.call("PFSELFTEST") == OK


def test_pfadd_keeps_ttl_and_expiry(env):
    env.call("PFADD", "h", "a")
    env.call("PEXPIRE", "h", "1000")
    env.call("PFADD", "h", "b")
    assert 0 < env.call("PTTL", "h") <= 1000
    env.clock.advance(2)
    env.srv.now.refresh()
    assert env.call("PFCOUNT", "h") == 0
    assert env.call("PFADD", "h", "z") == 1 and env.call("PTTL", "h") == -1


def test_pfadd_and_pfcount_on_dense_do_not_walk_the_registers():
    """One element into a dense HLL is a hash and one register; the count builds its
    histogram with C byte operations. Counted in steps (lines + calls), not timed: a
    walk over the 16384 registers would take at least 16384 steps."""
    buf = hll.new_sparse()
    for e in items(20000):
        hll.add(buf, e, 3000)
    assert buf[4] == hll.DENSE
    per = [steps(hll.add, buf, e, 3000)[1] for e in items(2000, 10 ** 6)]
    assert max(per) <= 64, max(per)           # 41-45 with Python 3.11
    card, work = steps(hll.count, buf)
    assert card == hll.count(buf) and 21000 < card < 23000
    assert work <= hll.REGISTERS // 16, work  # 352 with Python 3.11
