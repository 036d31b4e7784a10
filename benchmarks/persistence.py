"""Persistence benchmark: RedisLite and redis-server side by side, in the same run.

    python -m benchmarks.persistence [--keys 1000000] [--rounds 3] [--variants plain,mixed]
                                     [--set-requests 100000] [--set-rounds N] [--json out.json]

Measures, alternating the two servers in every round (medians reported):

1. SET ops/s: ``redis-benchmark -c 50 -t set -n 100000 -r 100000`` without
   AOF, with ``--appendonly yes --appendfsync everysec`` and with ``always``
   (RedisLite's everysec/no-AOF ratio is issue #4's 0.8x bar);
2. load: the *same* RDB file (written by redis-server from ``--keys`` keys)
   copied into a fresh directory for each start; "restart" is from the
   process start until PING stops answering -LOADING (what a user waits),
   "load" is the figure each server logs ("DB loaded from disk: X seconds"),
   which leaves out Python's start-up.  Variants: ``plain`` (16-byte keys and
   values) and ``mixed`` (strings plain/int/LZF, small hashes, lists, sets,
   zsets, a TTL on half the keys);
3. SAVE time of that data on each server (loaded from the same file);
4. PING latency (p50/p99/max) from one client pinging in a loop while a
   BGSAVE of that data runs.

Prints a table and the JSON (``--json`` also writes it).  The machine and its
load average are recorded: other jobs on a shared box inflate every figure.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import machine_info  # noqa: E402
from redislite.testing import ServerProcess  # noqa: E402

KINDS = ("redislite", "redis")
SET_CONFIGS = {
    "no_aof": [],
    "everysec": ["--appendonly", "yes", "--appendfsync", "everysec"],
    "always": ["--appendonly", "yes", "--appendfsync", "always"],
}
_LOADED = {
    "redis": re.compile(r"DB loaded from disk: ([\d.]+) seconds"),
    "redislite": re.compile(r"DB loaded from disk: .*?([\d.]+) seconds"),
}


def _resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def dataset(variant, keys):
    """The commands that build the data set, as RESP (fed to redis-cli --pipe)."""
    out = []
    expire_at = int((time.time() + 86400) * 1000)
    for i in range(keys):
        k = b"k%015d" % i
        r = i % 10 if variant == "mixed" else 0
        if r in (0, 1, 2, 9):
            out.append(_resp(b"SET", k, b"v%015d" % i))
        elif r == 3:
            out.append(_resp(b"SET", k, b"%d" % (i * 7919 % 2000000000 - 1000000000)))
        elif r == 4:
            out.append(_resp(b"SET", k, (b"payload-%d-" % i) * 6))          # LZF-compressed
        elif r == 5:
            out.append(_resp(b"HSET", k, b"f1", b"a%d" % i, b"f2", b"%d" % i, b"f3", b"hello"))
        elif r == 6:
            out.append(_resp(b"RPUSH", k, b"a", b"b%d" % i, b"c"))
        elif r == 7:
            out.append(_resp(b"SADD", k, b"1", b"2", b"%d" % i))
        else:
            out.append(_resp(b"ZADD", k, b"1", b"m1", b"2.5", b"m%d" % i))
        if variant == "mixed" and i % 2 == 0:
            out.append(_resp(b"PEXPIREAT", k, b"%d" % (expire_at + i)))
    return b"".join(out)


def make_rdb(variant, keys, tmp):
    """A dump.rdb written by redis-server; returns its path."""
    d = tempfile.mkdtemp(prefix="src-%s-" % variant, dir=tmp)
    s = ServerProcess("redis", workdir=d).start()
    try:
        subprocess.run(["redis-cli", "-p", str(s.port), "--pipe"], input=dataset(variant, keys),
                       check=True, capture_output=True, timeout=900)
        r = s.client()
        assert r.dbsize() == keys, r.dbsize()
        r.save()
    finally:
        s.kill()
    return os.path.join(d, "dump.rdb")


def start_on(kind, rdb, tmp, args=()):
    """A server of *kind* started on a copy of *rdb*; returns (server, restart seconds)."""
    d = tempfile.mkdtemp(prefix="%s-" % kind, dir=tmp)
    shutil.copy(rdb, os.path.join(d, "dump.rdb"))
    s = ServerProcess(kind, args=list(args), workdir=d)
    t = time.perf_counter()
    s.start(120)
    s.wait_until_loaded(1800)
    return s, time.perf_counter() - t


def logged_load_seconds(s):
    m = _LOADED[s.kind].search(s.log_tail(400))
    return float(m.group(1)) if m else None


def set_ops(kind, cfg, requests, tmp):
    s = ServerProcess(kind, args=SET_CONFIGS[cfg], workdir=tempfile.mkdtemp(dir=tmp)).start(60)
    s.wait_until_loaded()
    try:
        out = subprocess.run(["redis-benchmark", "-h", s.host, "-p", str(s.port), "-c", "50", "-t", "set",
                              "-n", str(requests), "-r", "100000", "-q", "--csv"],
                             capture_output=True, text=True, timeout=1800).stdout
        line = [ln for ln in out.splitlines() if ln.startswith('"SET"')][0]
        return float(line.split(",")[1].strip('"'))
    finally:
        s.kill()
        shutil.rmtree(s.workdir, ignore_errors=True)


def ping_during_bgsave(s):
    import redis
    r = redis.Redis(host=s.host, port=s.port)
    lat = []
    t0 = time.perf_counter()
    r.bgsave()
    while True:
        t = time.perf_counter()
        r.ping()
        lat.append((time.perf_counter() - t) * 1000)
        if len(lat) % 50 == 0 and not r.info("persistence")["rdb_bgsave_in_progress"]:
            break
        if time.perf_counter() - t0 > 1800:
            raise RuntimeError("BGSAVE did not finish")
    lat.sort()
    return {"samples": len(lat), "p50_ms": lat[len(lat) // 2], "p99_ms": lat[int(len(lat) * 0.99)],
            "max_ms": lat[-1], "bgsave_s": time.perf_counter() - t0}


def _order(rnd):
    """Alternate which server goes first, so drifting background load hits both."""
    return KINDS if rnd % 2 == 0 else KINDS[::-1]


def _med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def run(a):
    tmp = tempfile.mkdtemp(prefix="bench-persist-")
    res = {"keys": a.keys, "rounds": a.rounds, "set_rounds": a.set_rounds or a.rounds,
           "machine": machine_info(),
           "command": "python -m benchmarks.persistence " + " ".join(a.argv)}
    raw = res["raw"] = {}
    try:
        # 1. SET throughput, every configuration in every round
        for rnd in range(a.set_rounds or a.rounds):
            for kind in _order(rnd):
                for cfg in SET_CONFIGS:
                    raw.setdefault("set_%s" % cfg, {}).setdefault(kind, []).append(
                        set_ops(kind, cfg, a.set_requests, tmp))
            print("set round", rnd, {k: v for k, v in raw.items() if k.startswith("set_")},
                  "load %.1f" % os.getloadavg()[0], file=sys.stderr, flush=True)
        # 2-4. load, save, PING during BGSAVE on the same file
        for variant in a.variants:
            rdb = make_rdb(variant, a.keys, tmp)
            res["rdb_bytes_%s" % variant] = os.path.getsize(rdb)
            for rnd in range(a.rounds):
                for kind in _order(rnd):
                    s, restart = start_on(kind, rdb, tmp)
                    try:
                        assert s.client().dbsize() == a.keys
                        raw.setdefault("restart_s_%s" % variant, {}).setdefault(kind, []).append(restart)
                        raw.setdefault("load_s_%s" % variant, {}).setdefault(kind, []).append(
                            logged_load_seconds(s))
                        if variant == "plain":
                            t = time.perf_counter()
                            s.client().save()
                            raw.setdefault("save_s", {}).setdefault(kind, []).append(time.perf_counter() - t)
                            raw.setdefault("ping_bgsave", {}).setdefault(kind, []).append(ping_during_bgsave(s))
                    finally:
                        s.kill()
                        shutil.rmtree(s.workdir, ignore_errors=True)
                print(variant, "round", rnd, "load %.1f" % os.getloadavg()[0], file=sys.stderr, flush=True)
        res["loadavg_end"] = list(os.getloadavg())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary = res["median"] = {}
    for name, per_kind in raw.items():
        for kind, xs in per_kind.items():
            if name == "ping_bgsave":
                summary.setdefault("ping_p99_ms_during_bgsave", {})[kind] = _med([x["p99_ms"] for x in xs])
                summary.setdefault("ping_max_ms_during_bgsave", {})[kind] = max(x["max_ms"] for x in xs)
                summary.setdefault("bgsave_s", {})[kind] = _med([x["bgsave_s"] for x in xs])
            else:
                summary.setdefault(name, {})[kind] = _med(xs)
    lite = {k: v.get("redislite") for k, v in summary.items()}
    red = {k: v.get("redis") for k, v in summary.items()}
    ratios = res["ratios"] = {"everysec_vs_no_aof": lite["set_everysec"] / lite["set_no_aof"],
                              "redis_everysec_vs_no_aof": red["set_everysec"] / red["set_no_aof"]}
    for variant in a.variants:
        for what in ("restart_s", "load_s"):
            k = "%s_%s" % (what, variant)
            if lite.get(k) and red.get(k):
                ratios["%s_vs_redis" % k] = lite[k] / red[k]
    if lite.get("save_s") and red.get("save_s"):
        ratios["save_vs_redis"] = lite["save_s"] / red["save_s"]
    return res


def table(res):
    med = res["median"]
    rows = [("SET ops/s, no AOF", "set_no_aof", "%.0f"), ("SET ops/s, AOF everysec", "set_everysec", "%.0f"),
            ("SET ops/s, AOF always", "set_always", "%.0f")]
    for v in ("plain", "mixed"):
        if "load_s_%s" % v in med:
            rows += [("load %s: restart until served (s)" % v, "restart_s_%s" % v, "%.2f"),
                     ("load %s: logged load time (s)" % v, "load_s_%s" % v, "%.2f")]
    rows += [("SAVE (s)", "save_s", "%.2f"), ("BGSAVE (s)", "bgsave_s", "%.2f"),
             ("PING p99 during BGSAVE (ms)", "ping_p99_ms_during_bgsave", "%.1f"),
             ("PING max during BGSAVE (ms)", "ping_max_ms_during_bgsave", "%.1f")]
    out = ["| %d keys, median of %d rounds (SET: %d) | RedisLite | redis-server | ratio |"
           % (res["keys"], res["rounds"], res.get("set_rounds", res["rounds"])),
           "|---|---|---|---|"]
    for label, key, fmt in rows:
        if key not in med:
            continue
        lite, red = med[key].get("redislite"), med[key].get("redis")
        ratio = "%.2fx" % (lite / red) if lite and red else ""
        out.append("| %s | %s | %s | %s |" % (label, fmt % lite if lite is not None else "-",
                                              fmt % red if red is not None else "-", ratio))
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--set-requests", type=int, default=100000)
    ap.add_argument("--set-rounds", type=int, default=0, help="rounds of the SET runs (default: --rounds)")
    ap.add_argument("--variants", default="plain,mixed")
    ap.add_argument("--json")
    argv = sys.argv[1:] if argv is None else argv
    a = ap.parse_args(argv)
    a.argv = argv
    a.variants = [v for v in a.variants.split(",") if v]
    res = run(a)
    print(json.dumps(res, indent=2))
    print()
    print(table(res))
    print("\neverysec / no AOF (RedisLite): %.2f" % res["ratios"]["everysec_vs_no_aof"])
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)
    return res


if __name__ == "__main__":
    main()
