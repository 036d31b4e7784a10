"""ZADD's single-pair fast path and ScoreList's tie shortcuts, against a real redis-server 7.0.

``zadd`` parses an all-digit score with one ``float()`` and skips the option
lookup; ``ScoreList.move``/``add`` place a member inside a run of two equal
scores with one compare and bisect only longer runs.  These tests drive those
branches on big skiplist zsets (many sublists) whose scores repeat, and
compare the full order, ranks and encodings with Redis's.
"""

import random

import pytest

pytestmark = pytest.mark.compat

# all-digit scores: overflow to inf is an error, leading zeros are fine
DIGIT_SCORES = ["0", "000", "007", "9" * 308, "9" * 309, "1" + "0" * 400, "18446744073709551617",
                "123456789012345678901234567890"]


def test_digit_scores_and_option_words(pair):
    for score in DIGIT_SCORES:
        pair.same("ZADD", "z", score, "m")
        pair.same("ZSCORE", "z", "m")
    for args in (("nx", "m"), ("NX", "m"), ("ch", "m"), ("incr", "m"), ("x", "m"), ("", "m"), ("-0", "m"),
                 ("+5", "m"), ("5.0", "m")):
        pair.same("ZADD", "z", *args)
        pair.same("ZRANGE", "z", "0", "-1", "WITHSCORES")
    pair.same("SET", "str", "v")
    pair.same("ZADD", "str", "1", "m")      # WRONGTYPE after a parsed score
    pair.same("ZADD", "str", "x", "m")      # the score error comes first


def _check(pair, key, r, members):
    pair.same("ZRANGE", key, "0", "-1", "WITHSCORES")
    pair.same("ZCARD", key)
    for m in r.sample(members, 20):
        pair.same("ZRANK", key, m)
        pair.same("ZSCORE", key, m)


@pytest.mark.parametrize("nscores", [3, 40, 1500])
def test_single_pair_updates_with_ties(pair, nscores):
    """Random single-pair ZADDs into a skiplist zset of ~1000 members whose
    scores repeat (runs of hundreds, of a few, of one or two)."""
    r = random.Random(nscores)
    members = ["m%04d" % i for i in range(1200)]
    key = "t%d" % nscores
    cmds = [("ZADD", key, str(r.randrange(nscores)), r.choice(members)) for _ in range(3000)]
    for a in range(0, len(cmds), 500):
        pair.same_pipeline(cmds[a:a + 500])
    pair.same("OBJECT", "ENCODING", key)
    _check(pair, key, r, members)
    # members moving within and between runs, to the ends, to and from -inf/+inf
    cmds = [("ZADD", key, r.choice((str(r.randrange(nscores)), "-1", str(nscores), "inf", "-inf")),
             r.choice(members)) for _ in range(2000)]
    for a in range(0, len(cmds), 500):
        pair.same_pipeline(cmds[a:a + 500])
    _check(pair, key, r, members)
    pair.same("ZRANGEBYSCORE", key, "1", "2", "WITHSCORES")
    pair.same("ZREVRANGE", key, "0", "30", "WITHSCORES")


def test_fast_path_converts_like_redis(pair):
    """Single-pair adds cross zset-max-listpack-entries and -value as Redis does."""
    for i in range(129):
        pair.same("ZADD", "c", str(i % 5), "m%03d" % i)
        if i in (127, 128):
            pair.same("OBJECT", "ENCODING", "c")
    pair.same("ZADD", "v", "1", "a")
    pair.same("ZADD", "v", "2", "b" * 65)
    pair.same("OBJECT", "ENCODING", "v")
    pair.same("ZADD", "v", "0", "a")
    pair.same("ZRANGE", "v", "0", "-1", "WITHSCORES")
    pair.same("ZRANGE", "c", "0", "-1", "WITHSCORES")
