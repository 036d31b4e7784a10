"""benchmarks/soak.py's pure parts: the command mix, percentiles and the bars."""

import random

import hiredis

from benchmarks import soak


def test_every_unit_of_the_mix_is_valid_resp_with_bounded_keys():
    rnd = random.Random(1)
    kinds = set()
    for _ in range(5000):
        kind, cmds = soak.pick(rnd)
        kinds.add(kind)
        reader = hiredis.Reader()
        reader.feed(b"".join(soak.encode(c) for c in cmds))
        for c in cmds:
            assert reader.gets() == [a if isinstance(a, bytes) else str(a).encode() for a in c]
        for c in cmds:
            if len(c) > 1 and c[0] not in (b"MGET", b"PUBLISH"):
                prefix, n = c[1].split(b":")
                bound = {b"s": soak.STRINGS, b"c": soak.COUNTERS, b"tmp": soak.TMP_KEYS,
                         b"l": soak.LISTS, b"h": soak.HASHES, b"z": soak.ZSETS}[prefix]
                assert 0 <= int(n) < bound
            if c[0] in (b"EXPIRE", b"SET") and b"EX" in c[2:] or c[0] == b"EXPIRE":
                assert 1 <= int(c[-1]) <= soak.MAX_TTL
    assert kinds >= {"set", "get", "lpush", "hset", "zadd", "publish", "multi", "expire", "setex"}
    # every LPUSH is followed by a trim, so lists stay bounded
    for _ in range(500):
        _, cmds = soak.pick(rnd)
        for i, c in enumerate(cmds):
            if c[0] == b"LPUSH":
                assert cmds[i + 1][:2] == [b"LTRIM", c[1]]


def test_percentile_nearest_rank():
    xs = list(range(1, 101))
    assert soak.percentile(xs, 50) == 50
    assert soak.percentile(xs, 99) == 99
    assert soak.percentile(xs, 100) == 100
    assert soak.percentile([7.0], 99) == 7.0
    assert soak.percentile([], 50) is None


def test_rss_flatness_and_p99_stability():
    samples = [{"t": t, "master_rss": rss} for t, rss in
               [(10, 50), (60, 100), (120, 100), (180, 105), (240, 96)]]
    ref, worst = soak.rss_flatness(samples, 60)
    assert ref == 100 and abs(worst - 0.05) < 1e-9
    assert soak.rss_flatness(samples, 1000) == (None, None)
    minutes = [{"minute": 1, "p99_ms": 50.0}, {"minute": 2, "p99_ms": 2.0},
               {"minute": 3, "p99_ms": 3.0}]
    assert soak.p99_stability(minutes, 2) == 1.5
    assert soak.p99_stability(minutes, 3) is None
