"""ZADD's and HSET's single-pair fast paths keep the same books as the general path.

The fast paths (commands/zsets.py ``zadd``, commands/hashes.py ``hset``) do
their own memory accounting: ZSet.insert returns the bytes it adds, an
update of a hash field only re-counts when the value's length changes.
Random single-pair writes on big keys must leave every incremental figure
equal to a recount from scratch, the zset's order equal to a sort of its
scores, and the same replies and write events as the general path
(``_op_zadd``/``_op_hset``, reached here with a two-pair ZADD/HSET).
"""

import math
import random

from redislite.commands import load_all
from redislite.storage.keyspace import KEY_OVERHEAD, sizeof_bytes, value_memory
from redislite.storage.types.hash import BASE_OVERHEAD as HASH_BASE, HashValue, entry_memory
from redislite.storage.types.zset import BASE_OVERHEAD as ZSET_BASE, MEMBER_OVERHEAD, ZSet

load_all()


def _recount(v):
    if isinstance(v, HashValue):
        return HASH_BASE + sum(entry_memory(f, x) for f, x in v.items())
    return ZSET_BASE + sum(((40 + len(m)) & ~7) + MEMBER_OVERHEAD for m in v.scores)


def _check_books(srv):
    for shard in srv.shards:
        for ks in shard.dbs:
            items = list(ks.iter_items())
            assert ks.mem == sum(sizeof_bytes(k) + KEY_OVERHEAD + value_memory(v) for k, v in items)
            for _, v in items:
                assert v.mem == _recount(v)
                if isinstance(v, ZSet):
                    assert list(v) == sorted(v.scores.items(), key=lambda p: (p[1], p[0]))
                    assert len(v.sl) == len(v.scores)


def test_zadd_single_pairs_keep_order_and_memory(c, srv, events):
    r = random.Random(7)
    members = [b"m%05d" % i for i in range(3000)]
    replies = []
    for n in range(6000):
        score = r.choice((b"%d" % r.randrange(50), b"%d" % r.randrange(5000), b"-3", b"2.5", b"-0"))
        replies.append(c.call("ZADD", "z", score, r.choice(members)))
        if n % 1500 == 0:
            _check_books(srv)
    _check_books(srv)
    assert c.call("OBJECT", "ENCODING", "z") == b"skiplist"
    assert sum(replies) == c.call("ZCARD", "z")
    assert events and all(e[0].upper() == b"ZADD" for e in events)
    # members longer than zset-max-listpack-value, and the -0 of a listpack
    c.call("ZADD", "lp", "-0", "a")
    assert math.copysign(1, c.call("ZSCORE", "lp", "a")) == 1
    c.call("ZADD", "lp", "1", b"x" * 65)
    assert c.call("OBJECT", "ENCODING", "lp") == b"skiplist"
    c.call("ZADD", "lp", "-0", "a")
    c.call("ZADD", "lp", "-0", "b")
    assert math.copysign(1, c.call("ZSCORE", "lp", "b")) == -1
    _check_books(srv)


def test_zadd_fast_and_general_paths_agree(c, srv, events):
    r = random.Random(3)
    for _ in range(2000):
        m, s = b"m%d" % r.randrange(300), b"%d" % r.randrange(40)
        a = c.call("ZADD", "fast", s, m)
        b = c.call("ZADD", "slow", s, m, s, m)      # two pairs: _op_zadd
        assert a == b
    assert c.call("ZRANGE", "fast", "0", "-1", "WITHSCORES") == c.call("ZRANGE", "slow", "0", "-1", "WITHSCORES")
    fast = [e for e in events if e[1] == b"fast"]
    slow = [e for e in events if e[1] == b"slow"]
    assert len(fast) == len(slow) > 0
    _check_books(srv)


def test_hset_single_pairs_keep_memory(c, srv, events):
    r = random.Random(11)
    fields = [b"f%04d" % i for i in range(1500)]
    created = 0
    for n in range(5000):
        value = b"v" * r.choice((1, 3, 3, 3, 7, 8, 9, 16, 17, 30))
        created += c.call("HSET", "h", r.choice(fields), value)
        if n % 1000 == 0:
            _check_books(srv)
    assert created == c.call("HLEN", "h")
    assert c.call("OBJECT", "ENCODING", "h") == b"hashtable"
    assert len(events) == 5000 and all(e[0] == b"HSET" for e in events)
    _check_books(srv)
    # an update that crosses the value limit converts a listpack hash
    c.call("HSET", "small", "a", "x")
    c.call("HSET", "small", "a", "y" * 65)
    assert c.call("OBJECT", "ENCODING", "small") == b"hashtable"
    _check_books(srv)
