"""Data-type benchmark: lists, sets, hashes and sorted sets, RedisLite vs redis-server.

    python -m benchmarks.types                   # the full run (6-9 minutes on 2 busy cores)
    python -m benchmarks.types --quick           # smoke test: small sets, few requests, 2 rounds
    python -m benchmarks.types --servers redis   # self-test: two redis-servers (noise floor)

Run it with ``-m`` from the repository root: ``python benchmarks/types.py``
would put ``benchmarks/`` first on ``sys.path`` and shadow the standard
``types`` module.

Both servers are started once (``benchmarks.start_server``, i.e.
``redislite.testing.ServerProcess``) and preloaded; then every round runs
each test against each server in turn, the order reversed every other round,
and the figures are medians over the rounds.

1. **Writes and pops** (issue #3's bar: RedisLite >= 0.5x Redis for each):
   ``redis-benchmark -c 50 -n 100000 -r 100000 -t TEST -P 1 --csv`` for each of
   lpush, lpop, sadd, hset and zadd in turn (``benchmarks.run.split_tests``: the
   servers alternate test by test), through ``benchmarks.run.redis_benchmark`` and
   summarised by ``benchmarks.run.summarise``, exactly as
   ``python -m benchmarks.run -t ... -P 1``.
2. **Range reads** on sorted sets of ``--sizes`` members (default 10k, 100k
   and 1M; key ``z:10k`` etc., member ``m:%07d`` with score ``i``), loaded
   with pipelined ``ZADD``s of ``--batch`` members each:

   * ``zrangebyscore``: ``ZRANGEBYSCORE z:N __rand_int__ +inf LIMIT 0 10``
     with ``-r N-9``, a random window of 10 members by score on every request;
   * ``zrange``: ``ZRANGE z:N S S+9``, a window of 10 by rank.  redis-benchmark
     draws every ``__rand_int__`` independently, so "S and S+9" cannot be
     randomised per request; S is drawn per (round, size) from ``--seed``
     and is the same for both servers;
   * ``zrangebyscore-fixed`` (not run by default): ``ZRANGEBYSCORE z:N S S+9``,
     the literal form, S as for ``zrange``.

   Each run is ``redis-benchmark -c 50 -n 50000 -P 1 --csv CMD...``.
   Reported per size and server: ops/s; redis-benchmark's p50 latency (which,
   with 50 clients, is mostly time queued behind the other 49); and the
   server's own time per call, the ``INFO commandstats`` usec delta over the
   run.  The growth factor from the smallest to the largest size is given for
   all three (issue #3's bar: time grows < 3x from 10k to 1M members).

Output: a table, and JSON in ``benchmarks/results/types-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

from benchmarks import (RESULTS_DIR, machine_info, median, paired_ratios, plan_sides, split_args, start_server,
                        stop_server, timestamp)
from benchmarks.run import print_table, redis_benchmark, sanity_check, split_tests, summarise

WRITE_TESTS = "lpush,lpop,sadd,hset,zadd"
RANGE_TESTS = ("zrange", "zrangebyscore", "zrangebyscore-fixed")
DEFAULT_RANGE_TESTS = "zrange,zrangebyscore"
DEFAULT_SIZES = "10000,100000,1000000"
WINDOW = 10
WRITE_BAR = 0.5     # issue #3: each write test >= 0.5x Redis's ops/s
GROWTH_BAR = 3.0    # issue #3: ZRANGEBYSCORE time grows < 3x from 10k to 1M members


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.types", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke test: sizes 10000,100000, 10000 requests, 2 rounds")
    p.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 3)")
    p.add_argument("--clients", "-c", type=int, default=50)
    p.add_argument("--tests", "-t", default=WRITE_TESTS,
                   help=f"redis-benchmark -t list for part 1, '' to skip (default {WRITE_TESTS})")
    p.add_argument("--requests", "-n", type=int, default=None,
                   help="requests per part-1 invocation (default 100000)")
    p.add_argument("--keyspace", "-r", type=int, default=100000,
                   help="redis-benchmark -r for part 1 (default 100000)")
    p.add_argument("--range-tests", default=DEFAULT_RANGE_TESTS,
                   help=f"comma list of {', '.join(RANGE_TESTS)}; '' to skip part 2 "
                        f"(default {DEFAULT_RANGE_TESTS})")
    p.add_argument("--sizes", default=None,
                   help=f"sorted-set sizes, comma list (default {DEFAULT_SIZES})")
    p.add_argument("--range-requests", type=int, default=None,
                   help="requests per range invocation (default 50000)")
    p.add_argument("--batch", type=int, default=1000, help="members per preload ZADD")
    p.add_argument("--seed", type=int, default=1, help="seed of the fixed windows' starts")
    p.add_argument("--servers", default="redislite,redis",
                   help="first is the candidate, last the reference; 'redis' alone = self-test")
    p.add_argument("--redislite-args", default="", help="extra args for python -m redislite")
    p.add_argument("--redis-args", default="", help="extra args for redis-server")
    p.add_argument("--timeout", type=float, default=600.0,
                   help="seconds before one redis-benchmark invocation is killed")
    p.add_argument("--json", dest="json_out", default=None, help="write results here")
    a = p.parse_args(argv)
    a.rounds = a.rounds or (2 if a.quick else 3)
    a.requests = a.requests or (10000 if a.quick else 100000)
    a.range_requests = a.range_requests or (10000 if a.quick else 50000)
    a.sizes = a.sizes or ("10000,100000" if a.quick else DEFAULT_SIZES)
    a.size_list = [int(x) for x in a.sizes.split(",") if x.strip()]
    if any(n < 2 * WINDOW for n in a.size_list):
        p.error(f"--sizes: every size must be at least {2 * WINDOW}")
    a.range_list = [t.strip() for t in a.range_tests.split(",") if t.strip()]
    for t in a.range_list:
        if t not in RANGE_TESTS:
            p.error(f"--range-tests: unknown test {t!r}; choose from {', '.join(RANGE_TESTS)}")
    a.server_list = [s.strip() for s in a.servers.split(",") if s.strip()]
    # benchmarks.run.summarise reads these
    a.pipelines = [1]
    a.pipeline = "1"
    return a


def size_label(n: int) -> str:
    """10000 -> '10k', 1000000 -> '1m', anything else as it is."""
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def zkey(n: int) -> str:
    return f"z:{size_label(n)}"


def member(i: int) -> bytes:
    return b"m:%07d" % i


def range_command(test: str, n: int, start: int):
    """(redis-benchmark arguments, -r keyspace, cmdstat name) of one range test.

    ``start`` is the first rank/score of the fixed windows; the random
    ZRANGEBYSCORE draws its own with ``-r n - WINDOW + 1`` (so every window
    holds exactly WINDOW members).
    """
    key = zkey(n)
    if test == "zrange":
        return ["ZRANGE", key, start, start + WINDOW - 1], None, "zrange"
    if test == "zrangebyscore":
        return (["ZRANGEBYSCORE", key, "__rand_int__", "+inf", "LIMIT", 0, WINDOW],
                n - WINDOW + 1, "zrangebyscore")
    if test == "zrangebyscore-fixed":
        return ["ZRANGEBYSCORE", key, start, start + WINDOW - 1], None, "zrangebyscore"
    raise ValueError(f"unknown range test {test!r}")


def window_starts(a) -> dict:
    """{(round, size): start} for the fixed windows, identical for every server."""
    rng = random.Random(a.seed)
    return {(rnd, n): rng.randrange(0, n - WINDOW + 1) for rnd in range(a.rounds) for n in a.size_list}


# --------------------------------------------------------------------------
# Preload and checks
# --------------------------------------------------------------------------

def preload(proc, sizes, batch) -> dict:
    """ZADD z:N with members m:0000000.. (score i) in pipelined batches; {size: seconds}."""
    c = proc.client(socket_timeout=600)
    took = {}
    try:
        for n in sizes:
            key = zkey(n)
            c.delete(key)
            t0 = time.monotonic()
            pipe = c.pipeline(transaction=False)
            for lo in range(0, n, batch):
                hi = min(n, lo + batch)
                args = []
                for i in range(lo, hi):
                    args += (i, member(i))
                pipe.execute_command("ZADD", key, *args)
                if len(pipe) >= 50:
                    pipe.execute()
            pipe.execute()
            took[n] = round(time.monotonic() - t0, 2)
            got = c.zcard(key)
            if got != n:
                raise SystemExit(f"{proc.kind}: ZCARD {key} is {got} after loading {n} members")
    finally:
        c.close()
    return took


def sample_reply(proc, test, n, start):
    """The reply to one instance of the range test (``__rand_int__`` -> ``start``)."""
    args, _, _ = range_command(test, n, start)
    args = [f"{start:012d}" if x == "__rand_int__" else x for x in args]
    c = proc.client(socket_timeout=60)
    try:
        return c.execute_command(*args)
    finally:
        c.close()


def check_ranges(procs: dict, a) -> None:
    """Every range command answers the same WINDOW members on every server.

    redis-benchmark counts error replies as completed requests, so a server
    that rejects the command would otherwise look fast.
    """
    for test in a.range_list:
        for n in a.size_list:
            start = n // 2
            want = [member(i) for i in range(start, start + WINDOW)]
            for label, proc in procs.items():
                got = sample_reply(proc, test, n, start)
                if got != want:
                    raise SystemExit(f"{label}: {test} on {zkey(n)} answered {got!r}, not {want!r}")


def cmdstat(proc, name: str):
    """(calls, usec) of one command from INFO commandstats, (0, 0) before its first call."""
    c = proc.client(socket_timeout=60)
    try:
        info = c.info("commandstats")
    finally:
        c.close()
    row = info.get(f"cmdstat_{name}") or {}
    return int(row.get("calls", 0)), int(row.get("usec", 0))


def run_range(proc, test, n, start, a) -> dict:
    args, keyspace, stat = range_command(test, n, start)
    calls0, usec0 = cmdstat(proc, stat)
    res = redis_benchmark(proc.port, clients=a.clients, requests=a.range_requests,
                          keyspace=keyspace, command=args, timeout=a.timeout)
    calls1, usec1 = cmdstat(proc, stat)
    (row,) = res["rows"].values()
    calls = calls1 - calls0
    return {"rps": row["rps"], "p50_ms": row.get("p50_latency_ms"),
            "avg_ms": row.get("avg_latency_ms"), "p99_ms": row.get("p99_latency_ms"),
            "calls": calls, "usec_per_call": (usec1 - usec0) / calls if calls else None,
            "elapsed_s": res["elapsed_s"], "command": res["command"]}


# --------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------

def run(a) -> dict:
    if not shutil.which("redis-benchmark"):
        raise SystemExit("redis-benchmark not found on PATH")
    sides = plan_sides(a.server_list, split_args(a.redislite_args), split_args(a.redis_args))
    loadavg_start = list(os.getloadavg())
    starts = window_starts(a)
    procs, preload_s = {}, {}
    write_raw, range_raw = [], []
    try:
        for s in sides:
            procs[s.label] = start_server(s.kind, s.extra_args)
            print(f"started {s.label} ({s.kind}) on 127.0.0.1:{procs[s.label].port} "
                  f"pid {procs[s.label].pid}", file=sys.stderr)
            sanity_check(s.label, procs[s.label])
        if a.range_list:
            for s in sides:
                preload_s[s.label] = preload(procs[s.label], a.size_list, a.batch)
                print(f"preloaded {s.label}: " + ", ".join(
                    f"{zkey(n)} {t}s" for n, t in preload_s[s.label].items()), file=sys.stderr)
            check_ranges(procs, a)
        for rnd in range(a.rounds):
            order = sides if rnd % 2 == 0 else list(reversed(sides))
            tag = f"round {rnd + 1}/{a.rounds}"
            for tests in split_tests(a.tests):
                for s in order:
                    res = redis_benchmark(procs[s.label].port, clients=a.clients, requests=a.requests,
                                          keyspace=a.keyspace, tests=tests, timeout=a.timeout)
                    for test, row in res["rows"].items():
                        write_raw.append({"round": rnd, "pipeline": 1, "server": s.label,
                                          "test": test, **row})
                    print(f"{tag} {s.label:<10} " + " ".join(
                        f"{t}={r['rps']:.0f}" for t, r in res["rows"].items())
                        + f" ({res['elapsed_s']}s)", file=sys.stderr)
            for test in a.range_list:
                for n in a.size_list:
                    for s in order:
                        r = run_range(procs[s.label], test, n, starts[(rnd, n)], a)
                        range_raw.append({"round": rnd, "test": test, "size": n,
                                          "server": s.label, **r})
                        usec = r["usec_per_call"]
                        print(f"{tag} {test:<19} {zkey(n):<7} {s.label:<10} {r['rps']:>9.0f} ops/s "
                              f"p50 {r['p50_ms']} ms, "
                              f"{'-' if usec is None else f'{usec:.1f}'} us/call", file=sys.stderr)
    finally:
        for p in procs.values():
            try:
                stop_server(p)
            except Exception as e:  # noqa: BLE001
                print(f"warning: stop failed: {e}", file=sys.stderr)
    machine = machine_info()
    machine["loadavg_start"] = loadavg_start
    writes = summarise(a, sides, write_raw)["summary"] if write_raw else []
    for e in writes:
        e["meets_bar"] = e.get("ratio") is not None and e["ratio"] >= WRITE_BAR
    ranges = summarise_ranges(a, sides, range_raw)
    return {
        "kind": "types",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": sys.argv,
        "params": {"rounds": a.rounds, "clients": a.clients, "tests": a.tests,
                   "requests": a.requests, "keyspace": a.keyspace, "range_tests": a.range_list,
                   "sizes": a.size_list, "range_requests": a.range_requests, "batch": a.batch,
                   "seed": a.seed, "window": WINDOW,
                   "redislite_args": a.redislite_args, "redis_args": a.redis_args},
        "candidate": sides[0].label,
        "reference": sides[-1].label,
        "servers": [{"label": s.label, "kind": s.kind, "extra_args": s.extra_args} for s in sides],
        "machine": machine,
        "preload_s": {k: {str(n): t for n, t in v.items()} for k, v in preload_s.items()},
        "writes": writes,
        "ranges": ranges["summary"],
        "growth": ranges["growth"],
        "raw": {"writes": write_raw, "ranges": range_raw},
    }


def _ratio(x, y):
    return x / y if x and y else None


def summarise_ranges(a, sides, raw) -> dict:
    """Medians per (test, size, server), ratios, and growth smallest -> largest size."""
    cand, ref = sides[0].label, sides[-1].label
    summary = []
    for test in a.range_list:
        for n in a.size_list:
            entry = {"test": test, "size": n, "key": zkey(n)}
            for s in sides:
                rows = [r for r in raw if r["test"] == test and r["size"] == n and r["server"] == s.label]
                entry[s.label] = {
                    "median_rps": median([r["rps"] for r in rows]),
                    "median_p50_ms": median([r["p50_ms"] for r in rows]),
                    "median_usec_per_call": median([r["usec_per_call"] for r in rows]),
                    "rounds_rps": [r["rps"] for r in rows],
                    "rounds_p50_ms": [r["p50_ms"] for r in rows],
                    "rounds_usec_per_call": [r["usec_per_call"] for r in rows],
                    "commands": sorted({r["command"] for r in rows}),
                }
            if len(sides) > 1:
                entry["ratio"] = _ratio(entry[cand]["median_rps"], entry[ref]["median_rps"])
                entry["round_ratios"] = paired_ratios(raw, a.rounds, cand, ref, test=test, size=n)
            summary.append(entry)
    growth = []
    if raw and len(a.size_list) > 1:
        small, large = min(a.size_list), max(a.size_list)
        for test in a.range_list:
            lo = next(e for e in summary if e["test"] == test and e["size"] == small)
            hi = next(e for e in summary if e["test"] == test and e["size"] == large)
            g = {"test": test, "from": small, "to": large}
            for s in sides:
                x, y = lo[s.label], hi[s.label]
                g[s.label] = {
                    # time per request = 1/ops: its growth is the fall in ops/s
                    "time_per_request": _ratio(x["median_rps"], y["median_rps"]),
                    "p50": _ratio(y["median_p50_ms"], x["median_p50_ms"]),
                    "usec_per_call": _ratio(y["median_usec_per_call"], x["median_usec_per_call"]),
                }
                g[s.label]["meets_bar"] = (g[s.label]["time_per_request"] is not None
                                           and g[s.label]["time_per_request"] < GROWTH_BAR)
            growth.append(g)
    return {"summary": summary, "growth": growth}


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

def _fmt(x, spec):
    return "-" if x is None else format(x, spec)


def _table(head, rows, out, left=(0,)):
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]

    def line(cells):
        return "  ".join(str(c).ljust(w) if i in left else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))
    print(line(head), file=out)
    print(line(["-" * w for w in widths]), file=out)
    for r in rows:
        print(line(r), file=out)


def print_report(result: dict, out=sys.stdout) -> None:
    labels = [s["label"] for s in result["servers"]]
    cand, ref = result["candidate"], result["reference"]
    pair = len(labels) > 1
    p, m = result["params"], result["machine"]
    if result["writes"]:
        # benchmarks.run's own table (header line with the machine and load average)
        print_table({**result, "summary": result["writes"]}, out=out)
        if pair:
            bad = [e["test"] for e in result["writes"] if not e["meets_bar"]]
            print(f"bar: each >= {WRITE_BAR}x {ref}: " + ("met" if not bad else
                  "NOT met by " + ", ".join(bad)), file=out)
    if result["ranges"]:
        print(f"\nrange reads: window of {p['window']}, median of {p['rounds']} alternating rounds, "
              f"-c {p['clients']} -n {p['range_requests']} -P 1; loadavg "
              f"{m.get('loadavg_start', [0])[0]:.1f} -> {m['loadavg'][0]:.1f}", file=out)
        head = ["test", "size"]
        for l in labels:
            head += [f"{l} ops/s", "p50 ms", "us/call"]
        if pair:
            head += [f"{cand}/{ref}", "per-round"]
        rows = []
        for e in result["ranges"]:
            row = [e["test"], size_label(e["size"])]
            for l in labels:
                row += [_fmt(e[l]["median_rps"], ",.0f"), _fmt(e[l]["median_p50_ms"], ".3f"),
                        _fmt(e[l]["median_usec_per_call"], ".1f")]
            if pair:
                row += [_fmt(e["ratio"], ".3f"), " ".join(f"{x:.2f}" for x in e["round_ratios"])]
            rows.append(row)
        _table(head, rows, out, left=(0, len(head) - 1) if pair else (0,))
    if result["growth"]:
        g0 = result["growth"][0]
        print(f"\ngrowth {size_label(g0['from'])} -> {size_label(g0['to'])} "
              f"(bar for {cand}: time per request < {GROWTH_BAR:g}x)", file=out)
        head = ["test"]
        for l in labels:
            head += [f"{l} time/req", "p50", "us/call"]
        rows = []
        for g in result["growth"]:
            row = [g["test"]]
            for l in labels:
                row += [_fmt(g[l]["time_per_request"], ".2f") + "x", _fmt(g[l]["p50"], ".2f") + "x",
                        _fmt(g[l]["usec_per_call"], ".2f") + "x"]
            rows.append(row)
        _table(head, rows, out)
    if result.get("preload_s"):
        print("\npreload (s): " + "; ".join(
            f"{l} " + ", ".join(f"{size_label(int(n))} {t}" for n, t in v.items())
            for l, v in result["preload_s"].items()), file=out)


def main(argv=None) -> int:
    a = parse_args(argv)
    result = run(a)
    print_report(result)
    out = Path(a.json_out) if a.json_out else RESULTS_DIR / f"types-{timestamp()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nresults written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
