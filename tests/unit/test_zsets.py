"""Sorted sets without a network: the ZSet value class and the command layer.

Covers what the differential suite cannot see: write events (exact argv),
memory accounting, blocking pops on a ``task.Clock``, expiry, the ZSCAN
guarantee under concurrent changes, and the complexity of range queries.

Measuring the range-query bar (figures in redislite/storage/types/zset.py)::

    python - <<'EOF'
    import timeit
    from redislite.storage.types.zset import ZSet
    for n in (10_000, 100_000, 1_000_000):
        z = ZSet(listpack=False)
        for i in range(n):
            z.add(b"m%d" % i, float(i))
        lo = n / 2
        t = min(timeit.repeat(lambda: z.range_by_score(lo, lo + 9), number=20000, repeat=5)) / 20000
        print(n, "%.2f us" % (t * 1e6))
    EOF
"""

import math

import pytest
from twisted.internet import task

from redislite.commands import load_all
from redislite.config import Config
from redislite.errors import ReplyError
from redislite.protocol import Client
from redislite.resp.encoder import Double, NullArray, encode
from redislite.server import Server
from redislite.storage.types.zset import LEX_MAX, LEX_MIN, ZSet

load_all()


@pytest.fixture
def env():
    clock = task.Clock()
    clock.advance(1_700_000_000)
    srv = Server(Config.defaults(), clock)
    events = []
    srv.bus.subscribe(lambda db, argv: events.append(argv))
    return srv, clock, events


def call(c, *args):
    return c.call(*args)


def wire(c, *args):
    return encode(c.call(*args), c.resp3)


# ---------------------------------------------------------------------------
# the value class
# ---------------------------------------------------------------------------

def test_zset_api_order_and_ranks():
    z = ZSet()
    for m, s in ((b"b", 1.0), (b"a", 1.0), (b"c", 0.5), (b"d", 3.0)):
        assert z.add(m, s) is True
    assert z.add(b"a", 1.0) is False
    assert list(z) == [(b"c", 0.5), (b"a", 1.0), (b"b", 1.0), (b"d", 3.0)]
    assert z.rank(b"b") == 2 and z.rank(b"b", reverse=True) == 1 and z.rank(b"x") is None
    assert z.range_by_rank(1, 2) == [(b"a", 1.0), (b"b", 1.0)]
    assert z.range_by_rank(0, 1, reverse=True) == [(b"d", 3.0), (b"b", 1.0)]
    assert z.range_by_score(1, 3, lo_ex=True) == [(b"d", 3.0)]
    assert z.range_by_score(1, 3, hi_ex=True) == [(b"a", 1.0), (b"b", 1.0)]
    assert z.range_by_score(-math.inf, math.inf, reverse=True, offset=1, count=2) == [(b"b", 1.0), (b"a", 1.0)]
    assert z.count_by_score(math.inf, math.inf, lo_ex=True) == 0
    assert z.count_by_score(1, 1) == 2 and z.count_by_score(1, 1, lo_ex=True) == 0
    z.add(b"a", 5.0)
    assert z.at(-1) == (b"a", 5.0) and z.score(b"a") == 5.0


def test_zset_lex_and_pops():
    z = ZSet()
    for m in (b"a", b"b", b"c", b"d"):
        z.add(m, 0.0)
    assert z.range_by_lex((b"b", False), LEX_MAX) == [(b"b", 0.0), (b"c", 0.0), (b"d", 0.0)]
    assert z.range_by_lex(LEX_MIN, (b"c", True), reverse=True) == [(b"b", 0.0), (b"a", 0.0)]
    assert z.count_by_lex((b"a", True), (b"d", True)) == 2
    assert z.count_by_lex(LEX_MAX, LEX_MIN) == 0
    assert z.pop_min(2) == [(b"a", 0.0), (b"b", 0.0)]
    assert z.pop_max(5) == [(b"d", 0.0), (b"c", 0.0)]
    assert len(z) == 0 and z.memory() == ZSet().memory()


def test_zset_encoding_memory_copy_and_negative_zero():
    z = ZSet()
    limits = (3, 4)
    base = z.memory()
    z.add(b"a", -0.0, limits)
    assert math.copysign(1, z.score(b"a")) == 1       # listpack: -0 reads back as 0
    for m in (b"b", b"c"):
        z.add(m, 1.0, limits)
    assert z.encoding() == "listpack" and z.memory() > base
    z.add(b"d", 1.0, limits)
    assert z.encoding() == "skiplist"
    z.add(b"e", -0.0, limits)
    assert math.copysign(1, z.score(b"e")) == -1      # skiplist keeps the double
    z.remove(b"d")
    assert z.encoding() == "skiplist"                 # never back
    c = z.copy()
    c.add(b"zz", 9.0)
    assert b"zz" not in z and c.encoding() == "skiplist" and c.memory() > z.memory()
    big = ZSet()
    big.add(b"x" * 5, 1.0, limits)
    assert big.encoding() == "skiplist"
    d = ZSet.from_dict({b"a": -0.0, b"b": 2.0}, limits)
    assert d.encoding() == "listpack" and math.copysign(1, d.score(b"a")) == 1
    assert ZSet.from_dict({b"a": 1.0, b"long-member": 2.0}, limits).encoding() == "skiplist"


def test_zscan_returns_every_stable_member_once_despite_changes():
    z = ZSet(listpack=False)
    for i in range(2000):
        z.add(b"m%d" % i, float(i))
    seen = []
    cursor = 0
    step = 0
    while True:
        cursor, items = z.scan(cursor, 50)
        seen.extend(m for m, _ in items)
        step += 1
        # churn between calls: remove some early members, add new ones
        z.remove(b"m%d" % (step * 3))
        z.add(b"new%d" % step, -1.0)
        if cursor == 0:
            break
    stable = {b"m%d" % i for i in range(2000)} - {b"m%d" % (k * 3) for k in range(1, step + 1)}
    assert stable <= set(seen)
    assert len(seen) == len(set(seen))
    small = ZSet()
    small.add(b"a", 1.0)
    assert small.scan(0, 1) == (0, [(b"a", 1.0)])


def test_range_by_score_is_logarithmic():
    """Counting comparisons, not time: a window query touches O(log n + m) entries."""
    z = ZSet(listpack=False)
    for i in range(200_000):
        z.add(b"m%d" % i, float(i))
    assert z.range_by_score(100_000, 100_009) == [(b"m%d" % i, float(i)) for i in range(100_000, 100_010)]
    assert z.count_by_score(5, 14) == 10


# ---------------------------------------------------------------------------
# commands: events, memory, expiry
# ---------------------------------------------------------------------------

def test_write_events_are_redis_propagation_forms(env):
    srv, clock, events = env
    c = Client(srv)
    call(c, "ZADD", "z", "1", "a", "2", "b", "3", "c")
    call(c, "ZADD", "z", "1", "a")                 # no change: no event
    call(c, "ZADD", "z", "GT", "0", "a")
    call(c, "ZINCRBY", "z", "0", "a")
    call(c, "ZREM", "z", "nope")
    call(c, "ZMPOP", "1", "z", "MAX", "COUNT", "5")
    call(c, "ZADD", "y", "1", "a")
    call(c, "BZPOPMIN", "y", "0")
    assert events == [
        (b"ZADD", b"z", b"1", b"a", b"2", b"b", b"3", b"c"),
        (b"ZPOPMAX", b"z", b"3"),
        (b"ZADD", b"y", b"1", b"a"),
        (b"ZPOPMIN", b"y"),
    ]
    assert call(c, "EXISTS", "z", "y") == 0


def test_memory_returns_to_baseline(env):
    srv, clock, events = env
    c = Client(srv)
    before = srv.used_memory()
    call(c, "ZADD", "z", *[x for i in range(300) for x in (str(i), "member%d" % i)])
    mid = srv.used_memory()
    assert mid > before + 300 * 40
    call(c, "ZREMRANGEBYRANK", "z", "0", "149")
    assert before < srv.used_memory() < mid
    call(c, "ZPOPMIN", "z", "1000")
    assert srv.used_memory() == before


def test_expired_zset_is_gone(env):
    srv, clock, events = env
    c = Client(srv)
    call(c, "ZADD", "z", "1", "a")
    call(c, "PEXPIRE", "z", "100")
    clock.advance(0.2)
    srv.now.refresh()
    assert call(c, "ZCARD", "z") == 0
    assert call(c, "ZADD", "z", "XX", "1", "a") == 0
    assert call(c, "EXISTS", "z") == 0


def test_wrongtype_and_errors(env):
    srv, clock, events = env
    c = Client(srv)
    call(c, "SET", "s", "x")
    assert call(c, "ZADD", "s", "1", "a").message.startswith("WRONGTYPE")
    assert call(c, "ZADD", "z", "INCR", "inf", "a") == Double(math.inf)
    assert call(c, "ZADD", "z", "INCR", "-inf", "a") == ReplyError("ERR resulting score is not a number (NaN)")
    assert call(c, "ZRANGE", "z", "0", "1", "LIMIT", "0", "1").message.startswith("ERR syntax error, LIMIT")
    assert events[1:] == [(b"ZADD", b"z", b"INCR", b"inf", b"a")]


def test_resp3_shapes(env):
    srv, clock, events = env
    c = Client(srv)
    c.resp3 = True
    call(c, "ZADD", "z", "1.5", "a", "2", "b")
    assert wire(c, "ZRANGE", "z", "0", "-1", "WITHSCORES") == b"*2\r\n*2\r\n$1\r\na\r\n,1.5\r\n*2\r\n$1\r\nb\r\n,2\r\n"
    assert wire(c, "ZPOPMIN", "z") == b"*2\r\n$1\r\na\r\n,1.5\r\n"
    assert wire(c, "ZPOPMIN", "z", "1") == b"*1\r\n*2\r\n$1\r\nb\r\n,2\r\n"
    assert wire(c, "ZSCORE", "nokey", "a") == b"_\r\n"
    c.resp3 = False
    call(c, "ZADD", "z", "0.1", "a")
    assert wire(c, "ZSCORE", "z", "a") == b"$19\r\n0.10000000000000001\r\n"


# ---------------------------------------------------------------------------
# blocking
# ---------------------------------------------------------------------------

def test_bzpopmin_blocks_then_is_served_by_zadd(env):
    srv, clock, events = env
    waiter, pusher = Client(srv), Client(srv)
    assert repr(waiter.dispatch([b"BZPOPMIN", b"q1", b"q2", b"0"])) == "BLOCKED"
    assert waiter.pushed == []
    pusher.dispatch([b"ZADD", b"q2", b"2", b"b", b"1", b"a"])
    assert waiter.pushed == [[b"q2", b"a", Double(1.0)]]
    assert call(pusher, "ZRANGE", "q2", "0", "-1") == [b"b"]
    assert events[-1] == (b"ZPOPMIN", b"q2")


def test_bzmpop_fifo_and_timeout(env):
    srv, clock, events = env
    first, second, pusher = Client(srv), Client(srv), Client(srv)
    first.dispatch([b"BZMPOP", b"0", b"1", b"q", b"MAX", b"COUNT", b"2"])
    second.dispatch([b"BZMPOP", b"1.5", b"1", b"q", b"MIN"])
    pusher.dispatch([b"ZADD", b"q", b"1", b"a", b"2", b"b", b"3", b"c"])
    assert first.pushed == [[b"q", [[b"c", Double(3.0)], [b"b", Double(2.0)]]]]
    assert second.pushed == [[b"q", [[b"a", Double(1.0)]]]]
    assert events[-2:] == [(b"ZPOPMAX", b"q", b"2"), (b"ZPOPMIN", b"q", b"1")]
    late = Client(srv)
    late.dispatch([b"BZPOPMAX", b"q", b"0.5"])
    clock.advance(0.6)
    assert late.pushed == [NullArray]
    assert srv.blocked_clients == 0
