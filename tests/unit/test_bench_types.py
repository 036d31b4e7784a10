"""benchmarks/types.py without running a benchmark: argument parsing, the
commands it sends, the summary/growth arithmetic and the printed report."""
import io

import pytest

from benchmarks import plan_sides
from benchmarks import types as bt


def test_defaults_and_quick():
    a = bt.parse_args([])
    assert (a.rounds, a.requests, a.range_requests, a.clients) == (3, 100000, 50000, 50)
    assert a.size_list == [10000, 100000, 1000000]
    assert a.range_list == ["zrange", "zrangebyscore"]
    assert a.tests == "lpush,lpop,sadd,hset,zadd"
    q = bt.parse_args(["--quick"])
    assert (q.rounds, q.requests, q.range_requests, q.size_list) == (2, 10000, 10000, [10000, 100000])
    s = bt.parse_args(["--tests", "", "--range-tests", "zrangebyscore-fixed", "--sizes", "100,2000"])
    assert (s.tests, s.range_list, s.size_list) == ("", ["zrangebyscore-fixed"], [100, 2000])


@pytest.mark.parametrize("argv", [["--range-tests", "zrevrange"], ["--sizes", "10,1000"]])
def test_bad_arguments_exit(argv, capsys):
    with pytest.raises(SystemExit) as e:
        bt.parse_args(argv)
    assert e.value.code == 2
    assert "--" in capsys.readouterr().err


def test_labels_and_commands():
    assert [bt.size_label(n) for n in (10000, 100000, 1000000, 2500, 1234)] == \
        ["10k", "100k", "1m", "2500", "1234"]
    assert bt.member(42) == b"m:0000042"
    assert bt.range_command("zrange", 1000000, 7) == (["ZRANGE", "z:1m", 7, 16], None, "zrange")
    assert bt.range_command("zrangebyscore", 10000, 7) == (
        ["ZRANGEBYSCORE", "z:10k", "__rand_int__", "+inf", "LIMIT", 0, 10], 9991, "zrangebyscore")
    assert bt.range_command("zrangebyscore-fixed", 10000, 7) == (
        ["ZRANGEBYSCORE", "z:10k", 7, 16], None, "zrangebyscore")


def test_window_starts_are_seeded_and_in_range():
    a = bt.parse_args(["--sizes", "20,1000", "--rounds", "5"])
    starts = bt.window_starts(a)
    assert starts == bt.window_starts(a)
    assert set(starts) == {(r, n) for r in range(5) for n in (20, 1000)}
    assert all(0 <= s <= n - bt.WINDOW for (_, n), s in starts.items())
    assert starts != bt.window_starts(bt.parse_args(["--sizes", "20,1000", "--rounds", "5", "--seed", "2"]))


def _raw(a, sides):
    """Synthetic rounds: redislite half Redis's ops/s, 1.5x slower at the big size."""
    raw = []
    for rnd in range(a.rounds):
        for test in a.range_list:
            for n in a.size_list:
                for s in sides:
                    rps = 10000.0 if s.label == "redis" else 5000.0
                    if n == max(a.size_list) and s.label == "redislite":
                        rps /= 1.5
                    raw.append({"round": rnd, "test": test, "size": n, "server": s.label,
                                "rps": rps + rnd, "p50_ms": 50 / rps, "usec_per_call": 1e6 / rps / 10,
                                "command": f"cmd {test} {n}"})
    return raw


def test_summary_growth_and_report():
    a = bt.parse_args(["--sizes", "10000,1000000", "--rounds", "3"])
    sides = plan_sides(a.server_list, [], [])
    ranges = bt.summarise_ranges(a, sides, _raw(a, sides))
    e = ranges["summary"][0]
    assert (e["test"], e["size"], e["key"]) == ("zrange", 10000, "z:10k")
    assert e["redislite"]["median_rps"] == 5001.0 and e["redis"]["median_rps"] == 10001.0
    assert e["ratio"] == pytest.approx(0.5, rel=1e-3) and len(e["round_ratios"]) == 3
    g = ranges["growth"][1]
    assert (g["test"], g["from"], g["to"]) == ("zrangebyscore", 10000, 1000000)
    assert g["redislite"]["time_per_request"] == pytest.approx(1.5, rel=1e-3)
    assert g["redislite"]["p50"] == pytest.approx(1.5) and g["redislite"]["meets_bar"]
    assert g["redis"]["time_per_request"] == pytest.approx(1.0)

    result = {"servers": [{"label": s.label} for s in sides], "candidate": "redislite",
              "reference": "redis", "params": {"window": 10, "rounds": 3, "clients": 50,
                                               "range_requests": 50000},
              "machine": {"loadavg_start": [4.0], "loadavg": [5.0]}, "writes": [],
              "ranges": ranges["summary"], "growth": ranges["growth"],
              "preload_s": {"redislite": {"10000": 0.1, "1000000": 9.0}}}
    out = io.StringIO()
    bt.print_report(result, out=out)
    text = out.getvalue()
    assert "loadavg 4.0 -> 5.0" in text
    assert "growth 10k -> 1m" in text
    lines = [l for l in text.splitlines() if l.startswith("zrangebyscore")]
    assert lines[1].split()[:3] == ["zrangebyscore", "1m", "3,334"]
    assert lines[-1].split()[1] == "1.50x"
    assert "redislite 10k 0.1, 1m 9.0" in text
