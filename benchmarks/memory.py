"""Memory per key: RedisLite vs redis-server.

For each server, in a fresh process: read RSS (/proc/PID/status VmRSS) and
INFO ``used_memory``, load N string keys (16-byte names, 16-byte values) with
non-transactional redis-py pipelines, read both again, and report the
growth per key.  RSS is what the operating system pays; ``used_memory`` is
what the server believes it allocated.  For a Python server they can differ
a lot (arena fragmentation, the interpreter's free lists), which is why both
are shown.

    python -m benchmarks.memory                      # 1,000,000 keys
    python -m benchmarks.memory --servers redis --keys 50000   # self-test
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import redis

from benchmarks import (RESULTS_DIR, machine_info, plan_sides, read_rss, split_args,
                        start_server, stop_server, timestamp)

KEY_LEN = 16
VALUE_LEN = 16


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--keys", type=int, default=1_000_000)
    p.add_argument("--batch", type=int, default=10_000, help="commands per pipeline")
    p.add_argument("--servers", default="redislite,redis",
                   help="first is the candidate, last the reference; 'redis' alone = self-test")
    p.add_argument("--redislite-args", default="")
    p.add_argument("--redis-args", default="")
    p.add_argument("--settle", type=float, default=1.0,
                   help="seconds to wait after loading before measuring")
    p.add_argument("--timeout", type=float, default=900.0,
                   help="give up loading one server after this many seconds")
    p.add_argument("--json", dest="json_out", default=None)
    a = p.parse_args(argv)
    a.server_list = [s.strip() for s in a.servers.split(",") if s.strip()]
    return a


def key(i: int) -> bytes:
    """``key:`` + 12 digits = 16 bytes, like redis-benchmark's __rand_int__ keys."""
    return b"key:%012d" % i


def value(i: int) -> bytes:
    return b"val:%012d" % i


def used_memory(client) -> int | None:
    """INFO used_memory, or None if the server does not report it."""
    try:
        info = client.info("memory")
    except redis.RedisError:
        try:
            info = client.info()
        except redis.RedisError:
            return None
    v = info.get("used_memory")
    return int(v) if v is not None else None


def snapshot(proc, client) -> dict:
    return {"rss": read_rss(proc.pid), "used_memory": used_memory(client)}


def measure(side, a) -> dict:
    proc = start_server(side.kind, side.extra_args)
    print(f"started {side.label} ({side.kind}) on 127.0.0.1:{proc.port} pid {proc.pid}",
          file=sys.stderr)
    try:
        client = redis.Redis(host="127.0.0.1", port=proc.port, socket_timeout=120)
        time.sleep(a.settle)
        before = snapshot(proc, client)
        t0 = time.monotonic()
        deadline = t0 + a.timeout
        for start in range(0, a.keys, a.batch):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{side.label}: loading exceeded {a.timeout}s")
            pipe = client.pipeline(transaction=False)
            for i in range(start, min(start + a.batch, a.keys)):
                pipe.set(key(i), value(i))
            pipe.execute()
        load_s = time.monotonic() - t0
        time.sleep(a.settle)
        after = snapshot(proc, client)
        dbsize = client.dbsize()
        client.close()
    finally:
        stop_server(proc)
    if dbsize != a.keys:
        print(f"warning: {side.label} DBSIZE {dbsize} != {a.keys}", file=sys.stderr)

    def per_key(field):
        if before[field] is None or after[field] is None:
            return None
        return (after[field] - before[field]) / a.keys

    res = {"label": side.label, "kind": side.kind, "before": before, "after": after,
           "dbsize": dbsize, "load_seconds": round(load_s, 3),
           "load_keys_per_s": round(a.keys / load_s) if load_s else None,
           "rss_bytes_per_key": per_key("rss"), "used_memory_bytes_per_key": per_key("used_memory")}
    print(f"{side.label}: loaded {a.keys} keys in {load_s:.1f}s; "
          f"RSS {before['rss']}->{after['rss']}; used_memory {before['used_memory']}->"
          f"{after['used_memory']}", file=sys.stderr)
    return res


def fmt(x, spec=",.1f"):
    return "-" if x is None else format(x, spec)


def print_table(result, out=sys.stdout):
    sides = result["servers"]
    cand, ref = result["candidate"], result["reference"]
    print(f"\n{result['params']['keys']:,} keys, {KEY_LEN}-byte names, {VALUE_LEN}-byte values; "
          f"{result['machine']['nproc']} cores, redis {result['machine']['redis_server_version']}, "
          f"python {result['machine']['python_version']}", file=out)
    head = ["server", "RSS before", "RSS after", "RSS B/key", "used_memory B/key", "load keys/s"]
    rows = [[s["label"], fmt(s["before"]["rss"], ","), fmt(s["after"]["rss"], ","),
             fmt(s["rss_bytes_per_key"]), fmt(s["used_memory_bytes_per_key"]),
             fmt(s["load_keys_per_s"], ",")] for s in sides]
    if result.get("ratio"):
        r = result["ratio"]
        rows.append([f"{cand}/{ref}", "", "", fmt(r["rss_bytes_per_key"], ".2f"),
                     fmt(r["used_memory_bytes_per_key"], ".2f"), fmt(r["load_keys_per_s"], ".3f")])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    for row in [head, ["-" * w for w in widths], *rows]:
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths))), file=out)


def main(argv=None) -> int:
    a = parse_args(argv)
    sides = plan_sides(a.server_list, split_args(a.redislite_args), split_args(a.redis_args))
    # One server at a time: the load is the measurement's only tenant.
    measured = [measure(s, a) for s in sides]
    result = {
        "kind": "memory",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": sys.argv,
        "params": {"keys": a.keys, "batch": a.batch, "key_len": KEY_LEN, "value_len": VALUE_LEN,
                   "redislite_args": a.redislite_args, "redis_args": a.redis_args},
        "candidate": sides[0].label,
        "reference": sides[-1].label,
        "machine": machine_info(),
        "servers": measured,
    }
    if len(measured) > 1:
        c, r = measured[0], measured[-1]

        def ratio(field):
            return c[field] / r[field] if c[field] and r[field] else None

        result["ratio"] = {f: ratio(f) for f in
                           ("rss_bytes_per_key", "used_memory_bytes_per_key", "load_keys_per_s")}
    print_table(result)
    out = Path(a.json_out) if a.json_out else RESULTS_DIR / f"memory-{timestamp()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nresults written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
