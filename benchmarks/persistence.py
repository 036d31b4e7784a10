"""Persistence benchmark: RedisLite and redis-server side by side, in the same run.

    python -m benchmarks.persistence [--keys 1000000] [--set-seconds 5] [--json out.json]

Measures
1. SET ops/s (redis-benchmark, 50 clients, no pipelining) without AOF, with
   ``appendonly yes appendfsync everysec`` and with ``appendfsync always``;
2. SAVE time and load time (start until PING stops answering -LOADING) of a
   ``--keys`` snapshot, on the same data for both servers;
3. PING latency p50/p99/max from one client while a BGSAVE of that data runs.

Prints a table and (with --json) writes the figures.  The machine's load
average is recorded, since a busy box inflates every number.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from redislite.testing import ServerProcess  # noqa: E402


def set_ops(kind, args, seconds, tmp):
    s = ServerProcess(kind, args=args, workdir=tempfile.mkdtemp(dir=tmp)).start().wait_until_loaded()
    try:
        n = max(20000, int(seconds * 20000))
        out = subprocess.run(["redis-benchmark", "-p", str(s.port), "-t", "set", "-n", str(n), "-c", "50",
                              "-q", "--csv"], capture_output=True, text=True, timeout=600).stdout
        line = [ln for ln in out.splitlines() if ln.startswith('"SET"')][0]
        return float(line.split(",")[1].strip('"'))
    finally:
        s.kill()


def fill(s, keys):
    r = s.client()
    pipe = r.pipeline(transaction=False)
    for i in range(keys):
        pipe.set("key:%d" % i, "value:%d" % i)
        if i % 10000 == 9999:
            pipe.execute()
    pipe.execute()


def save_load(kind, keys, tmp):
    d = tempfile.mkdtemp(dir=tmp)
    s = ServerProcess(kind, workdir=d).start().wait_until_loaded()
    fill(s, keys)
    r = s.client()
    t = time.perf_counter()
    r.save()
    save_s = time.perf_counter() - t
    s.kill()
    size = os.path.getsize(os.path.join(d, "dump.rdb"))
    t = time.perf_counter()
    s.start()
    s.wait_until_loaded(600)
    load_s = time.perf_counter() - t
    assert s.client().dbsize() == keys
    return s, d, save_s, load_s, size


def ping_during_bgsave(s):
    import redis
    r = redis.Redis(host=s.host, port=s.port)
    r.bgsave()
    lat = []
    deadline = time.time() + 600
    while time.time() < deadline:
        t = time.perf_counter()
        r.ping()
        lat.append((time.perf_counter() - t) * 1000)
        if len(lat) % 50 == 0 and not r.info("persistence")["rdb_bgsave_in_progress"]:
            break
    lat.sort()
    return {"samples": len(lat), "p50_ms": lat[len(lat) // 2], "p99_ms": lat[int(len(lat) * 0.99)],
            "max_ms": lat[-1]}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--set-seconds", type=float, default=5)
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="bench-persist-")
    res = {"keys": a.keys, "loadavg_start": os.getloadavg()}
    try:
        for kind in ("redislite", "redis"):
            res[kind] = {
                "set_ops_no_aof": set_ops(kind, [], a.set_seconds, tmp),
                "set_ops_everysec": set_ops(kind, ["--appendonly", "yes", "--appendfsync", "everysec"],
                                            a.set_seconds, tmp),
                "set_ops_always": set_ops(kind, ["--appendonly", "yes", "--appendfsync", "always"],
                                          a.set_seconds, tmp),
            }
            s, d, save_s, load_s, size = save_load(kind, a.keys, tmp)
            try:
                res[kind].update(save_s=save_s, load_s=load_s, rdb_bytes=size,
                                 ping_during_bgsave=ping_during_bgsave(s))
            finally:
                s.kill()
        res["loadavg_end"] = os.getloadavg()
        lite, red = res["redislite"], res["redis"]
        res["ratios"] = {
            "everysec_vs_no_aof": lite["set_ops_everysec"] / lite["set_ops_no_aof"],
            "load_vs_redis": lite["load_s"] / red["load_s"],
            "save_vs_redis": lite["save_s"] / red["save_s"],
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(res, indent=2))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)
    return res


if __name__ == "__main__":
    main()
