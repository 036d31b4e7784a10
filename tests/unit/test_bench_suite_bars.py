"""benchmarks.suite.bars: the key-scaling bar and the context lines beside it."""

import pytest

from benchmarks import suite


def _row(test, side, keys, ops):
    return {"scenario": "keys", "test": test, "side": side, "clients": 50, "pipeline": 1,
            "keys": keys, "ops_per_s": ops}


def test_key_scaling_bar_and_the_host_drift_beside_it():
    # The host slowed by a quarter between the levels: Redis dropped as much as RedisLite.
    summary = [_row("SET", "redislite", 10_000, 40_000), _row("SET", "redislite", 10_000_000, 30_000),
               _row("SET", "redis", 10_000, 80_000), _row("SET", "redis", 10_000_000, 60_000),
               _row("GET", "redislite", 10_000, 50_000), _row("GET", "redislite", 10_000_000, 45_000),
               _row("GET", "redis", 10_000, 100_000), _row("GET", "redis", 10_000_000, 100_000)]
    got = {b["what"]: b for b in suite.bars(summary, [])}
    scaling = got["SET ops/s at 10,000,000 keys / at 10,000 (redislite)"]
    assert scaling["value"] == pytest.approx(0.75) and scaling["ok"] is False
    assert got["GET ops/s at 10,000,000 keys / at 10,000 (redislite)"]["ok"] is True
    drift = got["context: SET ops/s at 10,000,000 keys / at 10,000 (redis)"]
    assert drift["value"] == pytest.approx(0.75) and drift["ok"] is None and drift["bar"] == "-"
    assert got["context: SET redislite/redis at 10,000,000 keys / at 10,000"]["value"] == pytest.approx(1.0)
    assert got["context: GET redislite/redis at 10,000,000 keys / at 10,000"]["value"] == pytest.approx(0.9)


def test_a_value_just_under_its_bar_does_not_print_as_the_bar():
    # 8,460/10,000 misses a 0.85 bar; two decimals printed it as "0.85 ... NOT MET".
    (b,) = [b for b in suite.bars([_row("SET", "redislite", 10_000, 10_000),
                                   _row("SET", "redislite", 10_000_000, 8_460)], [])
            if b["what"].startswith("SET ops/s at 10,000,000")]
    assert b["ok"] is False
    assert suite.bar_value(b["value"]) == "0.846"
    assert suite.bar_value(0) == "0" and suite.bar_value(None) == "-"
