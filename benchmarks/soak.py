"""Soak run (issue #9): a bounded mixed load on a RedisLite master with AOF and a replica.

    python -m benchmarks.soak                       # 10 minutes, 100 connections, ~3000 ops/s
    python -m benchmarks.soak --minutes 1 --sample 10 --out /tmp/soak   # a short check

Not part of the test run.  What it does:

* starts a RedisLite master (``appendonly yes``, ``appendfsync everysec``, so
  the AOF grows and is rewritten in the background) and a RedisLite replica
  attached to it, both as real processes on 127.0.0.1;
* ``--procs`` load processes open ``--conns`` connections between them, each a
  closed loop paced to ``--rate`` ops/s in total: strings (SET/GET/MGET/INCR/
  DEL), keys with a TTL (SET EX, EXPIRE), lists (LPUSH+LTRIM, LRANGE, RPOP),
  hashes (HSET, HGETALL, HINCRBY), sorted sets (ZADD, ZRANGE, ZINCRBY, ZREM),
  PUBLISH to channels that ``--subscribers`` connections listen to, and
  MULTI/EXEC transactions.  The keyspace is bounded (lists trimmed, fixed key
  and member names) so the data set reaches a plateau during the warm-up;
* every ``--sample`` seconds it reads the master's and the replica's RSS
  (/proc/PID/status), INFO (memory, replication offsets, persistence) and the
  load average; latencies (send to reply, ms), ops and errors are rolled up
  per minute;
* at the end: the load stops, the TTLs run out (the master expires them and
  streams DELs), the replica catches up to the master's offset, and the two
  data sets are compared: DBSIZE and a digest of every key's type, value and
  TTL deadline read through the protocol.  Pub/sub deliveries must equal the
  sum of PUBLISH replies.

Output: ``soak.json`` and ``soak.md`` (a table per minute and the bars) in
``--out`` (default docs/perf).  Bars: RSS after the warm-up within 10% of its
value at the end of the warm-up, no errors, p99 stable, master and replica
identical.  The machine may be shared: the load average is recorded per
sample, and the load generator competes with both servers for the CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import multiprocessing as mp
import os
import random
import shutil
import sys
import tempfile
import time
from array import array

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import machine_info, read_rss  # noqa: E402
from redislite.testing import ServerProcess  # noqa: E402

STRINGS = 20000
LISTS = HASHES = ZSETS = COUNTERS = 1000
TMP_KEYS = 5000
CHANNELS = 10
MAX_TTL = 10            # seconds: the end waits this long for every TTL to run out
LIST_MAX = 50


# -- the load -----------------------------------------------------------------------------------
def _bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)


def encode(argv):
    out = [b"*%d\r\n" % len(argv)]
    for a in argv:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(_bulk(a))
    return b"".join(out)


def pick(rnd):
    """One unit of work: (kind, [argv, ...]) sent as one pipeline; the unit's latency is
    the time to its last reply."""
    r = rnd.random() * 100
    s = b"s:%d" % rnd.randrange(STRINGS)
    if r < 14:
        return "set", [[b"SET", s, b"v" * rnd.randrange(20, 150)]]
    if r < 28:
        return "get", [[b"GET", s]]
    if r < 31:
        return "mget", [[b"MGET"] + [b"s:%d" % rnd.randrange(STRINGS) for _ in range(10)]]
    if r < 36:
        return "incr", [[b"INCR", b"c:%d" % rnd.randrange(COUNTERS)]]
    if r < 41:
        return "setex", [[b"SET", b"tmp:%d" % rnd.randrange(TMP_KEYS), b"t" * 40, b"EX",
                          rnd.randrange(1, MAX_TTL + 1)]]
    if r < 44:
        return "expire", [[b"EXPIRE", b"c:%d" % rnd.randrange(COUNTERS), rnd.randrange(1, MAX_TTL + 1)]]
    if r < 46:
        return "del", [[b"DEL", s]]
    lk = b"l:%d" % rnd.randrange(LISTS)
    if r < 52:
        return "lpush", [[b"LPUSH", lk, b"e%d" % rnd.randrange(1000), b"f%d" % rnd.randrange(1000)],
                         [b"LTRIM", lk, 0, LIST_MAX - 1]]
    if r < 56:
        return "lrange", [[b"LRANGE", lk, 0, 9]]
    if r < 58:
        return "rpop", [[b"RPOP", lk]]
    hk = b"h:%d" % rnd.randrange(HASHES)
    if r < 64:
        return "hset", [[b"HSET", hk, b"f%d" % rnd.randrange(20), rnd.randrange(10 ** 6)]]
    if r < 67:
        return "hgetall", [[b"HGETALL", hk]]
    if r < 70:
        return "hincrby", [[b"HINCRBY", hk, b"n", 1]]
    zk = b"z:%d" % rnd.randrange(ZSETS)
    if r < 76:
        return "zadd", [[b"ZADD", zk, rnd.randrange(-1000, 1000) / 8, b"m%d" % rnd.randrange(LIST_MAX)]]
    if r < 79:
        return "zrange", [[b"ZRANGE", zk, 0, 9, b"WITHSCORES"]]
    if r < 82:
        return "zincrby", [[b"ZINCRBY", zk, 0.5, b"m%d" % rnd.randrange(LIST_MAX)]]
    if r < 83:
        return "zrem", [[b"ZREM", zk, b"m%d" % rnd.randrange(LIST_MAX)]]
    if r < 90:
        return "publish", [[b"PUBLISH", b"soak:%d" % rnd.randrange(CHANNELS), b"p" * 32]]
    n = rnd.randrange(COUNTERS)
    return "multi", [[b"MULTI"], [b"INCR", b"c:%d" % n], [b"LPUSH", lk, n], [b"LTRIM", lk, 0, LIST_MAX - 1],
                     [b"HINCRBY", hk, b"tx", 1], [b"EXEC"]]


class _Period:
    __slots__ = ("lat", "ops", "errors")

    def __init__(self):
        self.lat = array("f")
        self.ops = 0
        self.errors = 0


def _is_error(reply):
    import hiredis
    if isinstance(reply, hiredis.ReplyError):
        return True
    if isinstance(reply, list):
        return any(_is_error(x) for x in reply)
    return False


async def _load_conn(host, port, rnd, rate, t0, period, stop_at, periods, totals, errors_seen):
    import hiredis
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection(host, port)
    parser = hiredis.Reader()
    interval = 1.0 / rate
    last_period = max(0, int(-(-(stop_at - t0) // period)) - 1)   # replies after stop_at count there
    due = t0 + rnd.random() * interval        # every connection starts at t0
    try:
        while True:
            now = time.time()
            if now >= stop_at:
                return
            if due > now:
                await asyncio.sleep(due - now)
            due += interval
            if due < time.time() - 1.0:       # far behind (a stall): don't burst to catch up
                due = time.time()
            kind, cmds = pick(rnd)
            writer.write(b"".join(encode(c) for c in cmds))
            start = time.perf_counter()
            replies = []
            while len(replies) < len(cmds):
                got = parser.gets()
                if got is False:
                    data = await reader.read(65536)
                    if not data:
                        raise ConnectionError("server closed the connection")
                    parser.feed(data)
                    continue
                replies.append(got)
            lat = (time.perf_counter() - start) * 1000.0
            idx = min(int((time.time() - t0) // period), last_period)
            p = periods.get(idx)
            if p is None:
                p = periods[idx] = _Period()
            p.lat.append(lat)
            p.ops += 1
            if any(_is_error(x) for x in replies):
                p.errors += 1
                if len(errors_seen) < 10:
                    errors_seen.append("%s: %r" % (kind, replies))
            elif kind == "publish":
                totals["published_to"] += replies[0]
    finally:
        writer.close()
    del loop


async def _subscriber(host, port, channels, stop_at, totals):
    import hiredis
    reader, writer = await asyncio.open_connection(host, port)
    parser = hiredis.Reader()
    writer.write(encode([b"SUBSCRIBE"] + channels))
    try:
        while True:
            remaining = stop_at - time.time()
            if remaining <= 0:
                return
            try:
                data = await asyncio.wait_for(reader.read(65536), remaining)
            except asyncio.TimeoutError:
                return
            if not data:
                raise ConnectionError("subscriber connection closed")
            parser.feed(data)
            while True:
                msg = parser.gets()
                if msg is False:
                    break
                if msg[0] == b"message":
                    totals["received"] += 1
    finally:
        writer.close()


def _worker(wid, host, port, conns, subs, rate, t0, period, stop_at, drain, out):
    rnd = random.Random(wid * 7919 + 1)
    periods = {}
    totals = {"published_to": 0, "received": 0}
    errors_seen = []

    async def main():
        chans = [b"soak:%d" % i for i in range(CHANNELS)]
        tasks = [asyncio.ensure_future(_subscriber(host, port, chans, stop_at + drain, totals))
                 for _ in range(subs)]
        await asyncio.sleep(0.5)              # subscribed before the first PUBLISH
        per_conn = rate / conns
        tasks += [asyncio.ensure_future(_load_conn(host, port, random.Random(rnd.random()), per_conn,
                                                   t0, period, stop_at, periods, totals, errors_seen))
                  for _ in range(conns)]
        res = await asyncio.gather(*tasks, return_exceptions=True)
        for r in res:
            if isinstance(r, BaseException):
                errors_seen.append("connection: %r" % (r,))
                totals.setdefault("conn_errors", 0)
                totals["conn_errors"] = totals.get("conn_errors", 0) + 1
    asyncio.run(main())
    out.put((wid, {i: (p.lat.tobytes(), p.ops, p.errors) for i, p in periods.items()}, totals,
             errors_seen))


# -- statistics ---------------------------------------------------------------------------------
def percentile(sorted_xs, q):
    """Nearest-rank percentile of an ascending sequence (None when empty)."""
    if not sorted_xs:
        return None
    k = max(0, min(len(sorted_xs) - 1, math.ceil(q / 100.0 * len(sorted_xs)) - 1))
    return sorted_xs[k]


def rss_flatness(samples, warmup_s):
    """(reference RSS: the first sample at or after the warm-up, the largest relative
    excursion of any later sample from it).  None when no sample follows the warm-up."""
    after = [s for s in samples if s["t"] >= warmup_s]
    if not after:
        return None, None
    ref = after[0]["master_rss"]
    worst = max(abs(s["master_rss"] - ref) / ref for s in after)
    return ref, worst


def p99_stability(minutes, warmup_min):
    """max / min of the per-minute p99 after the warm-up (1.0 = perfectly stable)."""
    xs = [m["p99_ms"] for m in minutes if m["minute"] >= warmup_min and m["p99_ms"]]
    if len(xs) < 2:
        return None
    return max(xs) / min(xs)


# -- the servers --------------------------------------------------------------------------------
def _info(server):
    from redislite.testing import RawClient
    with RawClient(server.host, server.port, 30) as c:
        raw = c.call("INFO", "everything")
    out = {}
    for line in raw.decode(errors="replace").split("\r\n"):
        if ":" in line and not line.startswith(("$", "#")):
            k, v = line.split(":", 1)
            out[k] = v
    return out


def dump_digest(server):
    """(keys per db, sha256 over every key's db, name, type, value and PEXPIRETIME), read
    through the protocol with the replication tests' key-by-key snapshot."""
    from tests.integration.test_replication_replica import snapshot
    data = snapshot(server)
    h = hashlib.sha256()
    counts = {}
    for (db, key), (kind, value, pexpiretime) in sorted(data.items()):
        counts[db] = counts.get(db, 0) + 1
        if isinstance(value, dict):             # field order may differ between two servers
            value = sorted(value.items())
        h.update(repr((db, key, kind, value, pexpiretime)).encode())
    return counts, h.hexdigest()


def prefill(server):
    """Every bounded key at its steady size, so the data set starts near its plateau (random
    SETs alone would take ~8 minutes to touch each of the 20,000 string names)."""
    import redis
    r = redis.Redis(host=server.host, port=server.port, socket_timeout=60)
    rnd = random.Random(5)
    for start in range(0, STRINGS, 2000):
        p = r.pipeline(transaction=False)
        for i in range(start, min(STRINGS, start + 2000)):
            p.set(b"s:%d" % i, b"v" * rnd.randrange(20, 150))
        p.execute()
    p = r.pipeline(transaction=False)
    for i in range(LISTS):
        p.lpush(b"l:%d" % i, *[b"e%d" % rnd.randrange(1000) for _ in range(LIST_MAX)])
        p.hset(b"h:%d" % i, mapping={b"f%d" % j: rnd.randrange(10 ** 6) for j in range(20)})
        p.zadd(b"z:%d" % i, {b"m%d" % j: rnd.randrange(-1000, 1000) / 8 for j in range(LIST_MAX)})
        p.set(b"c:%d" % i, rnd.randrange(1000))
        if len(p) >= 400:
            p.execute()
    p.execute()


def _wait_caught_up(master, replica, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m, r = _info(master), _info(replica)
        if r.get("master_link_status") == "up" and \
                r.get("slave_repl_offset") == m.get("master_repl_offset"):
            return True
        time.sleep(0.2)
    return False


def run(args):
    period = 60.0
    tmp = tempfile.mkdtemp(prefix="soak-", dir=args.tmp)
    master = ServerProcess("redislite", args=["--appendonly", "yes", "--appendfsync", "everysec"],
                           workdir=os.path.join(tmp, "master"),
                           env={"REDISLITE_REPL_DISKLESS_SYNC_DELAY": "0"})
    master.start().wait_until_loaded()
    replica = ServerProcess("redislite", args=["--replicaof", "%s %d" % (master.host, master.port)],
                            workdir=os.path.join(tmp, "replica"))
    replica.start().wait_until_loaded()
    result = {"args": vars(args), "machine": machine_info(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                      time.gmtime())}
    try:
        deadline = time.time() + 30
        while _info(replica).get("master_link_status") != "up":
            assert time.time() < deadline, "the replica never connected"
            time.sleep(0.1)
        prefill(master)
        duration = args.minutes * 60.0
        t0 = time.time() + 1.0
        stop_at = t0 + duration
        drain = 2.0
        q = mp.Queue()
        procs = []
        for w in range(args.procs):
            conns = args.conns // args.procs + (1 if w < args.conns % args.procs else 0)
            subs = args.subscribers // args.procs + (1 if w < args.subscribers % args.procs else 0)
            p = mp.Process(target=_worker, args=(w, master.host, master.port, conns, subs,
                                                 args.rate * conns / args.conns, t0, period,
                                                 stop_at, drain, q), daemon=True)
            p.start()
            procs.append(p)
        samples = []
        while time.time() < stop_at:
            time.sleep(max(0.0, min(args.sample, stop_at - time.time())))
            ri, mi = _info(replica), _info(master)      # replica first: lag >= 0
            s = {"t": round(time.time() - t0, 1),
                 "master_rss": read_rss(master.pid), "replica_rss": read_rss(replica.pid),
                 "used_memory": int(mi["used_memory"]), "keys": sum(
                     int(v.split(",")[0].split("=")[1]) for k, v in mi.items() if k.startswith("db")),
                 "lag_bytes": int(mi["master_repl_offset"]) - int(ri.get("slave_repl_offset", 0)),
                 "link": ri.get("master_link_status"),
                 "clients": int(mi["connected_clients"]),
                 "aof_size": int(mi.get("aof_current_size", 0)),
                 "aof_rewrites": int(mi.get("aof_rewrites", 0)),
                 "loadavg": os.getloadavg()[0]}
            samples.append(s)
            print("t=%5.0fs rss master %.1f MB replica %.1f MB keys %d lag %d B load %.2f" % (
                s["t"], s["master_rss"] / 2 ** 20, s["replica_rss"] / 2 ** 20, s["keys"],
                s["lag_bytes"], s["loadavg"]), flush=True)
        got = [q.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(30)
        # merge the workers' periods
        merged = {}
        totals = {"published_to": 0, "received": 0, "conn_errors": 0}
        errors_seen = []
        for _, periods, tot, errs in got:
            for i, (lat, ops, errors) in periods.items():
                m = merged.setdefault(i, [array("f"), 0, 0])
                m[0].frombytes(lat)
                m[1] += ops
                m[2] += errors
            for k in totals:
                totals[k] += tot.get(k, 0)
            errors_seen += errs
        minutes = []
        for i in sorted(merged):
            lat, ops, errors = merged[i]
            xs = sorted(lat)
            in_min = [s for s in samples if i * period <= s["t"] < (i + 1) * period + 0.5]
            last = in_min[-1] if in_min else None
            minutes.append({
                "minute": i + 1, "ops": ops, "ops_per_s": round(ops / min(period, duration - i * period), 1),
                "p50_ms": round(percentile(xs, 50), 3), "p99_ms": round(percentile(xs, 99), 3),
                "p999_ms": round(percentile(xs, 99.9), 3), "max_ms": round(xs[-1], 3),
                "errors": errors,
                "master_rss_mb": round(last["master_rss"] / 2 ** 20, 1) if last else None,
                "replica_rss_mb": round(last["replica_rss"] / 2 ** 20, 1) if last else None,
                "keys": last["keys"] if last else None,
                "lag_bytes_max": max((s["lag_bytes"] for s in in_min), default=None),
                "loadavg": round(max((s["loadavg"] for s in in_min), default=0), 2),
            })
        # the end: TTLs run out, the replica catches up, the data sets are compared
        time.sleep(MAX_TTL + 2)
        caught_up = _wait_caught_up(master, replica)
        mcount, mdigest = dump_digest(master)
        caught_up = _wait_caught_up(master, replica) and caught_up   # DELs the master's reads expired
        rcount, rdigest = dump_digest(replica)
        mi, ri = _info(master), _info(replica)
        logs_bad = []
        for s in (master, replica):
            text = s.log_tail(whole=True)
            logs_bad += [line for line in text.splitlines()
                         if "Traceback" in line or "Unhandled" in line][:5]
        warmup_s = args.warmup * 60.0
        ref, worst = rss_flatness(samples, warmup_s)
        stability = p99_stability(minutes, args.warmup + 1)
        total_errors = sum(m["errors"] for m in minutes) + totals["conn_errors"] + len(logs_bad)
        result.update({
            "duration_s": duration, "minutes": minutes, "samples": samples,
            "pubsub": totals, "errors_seen": errors_seen, "server_log_problems": logs_bad,
            "end": {"caught_up": caught_up, "master_keys": mcount, "replica_keys": rcount,
                    "master_digest": mdigest, "replica_digest": rdigest,
                    "master_repl_offset": int(mi["master_repl_offset"]),
                    "replica_repl_offset": int(ri.get("slave_repl_offset", -1)),
                    "aof_rewrites": int(mi.get("aof_rewrites", 0)),
                    "sync_full": int(mi.get("sync_full", 0)),
                    "sync_partial_ok": int(mi.get("sync_partial_ok", 0)),
                    "total_ops": sum(m["ops"] for m in minutes)},
            "bars": {
                "rss_reference_mb": round(ref / 2 ** 20, 1) if ref else None,
                "rss_max_excursion_pct": round(worst * 100, 1) if worst is not None else None,
                "rss_flat": worst is not None and worst <= 0.10,
                "errors": total_errors, "no_errors": total_errors == 0,
                "p99_max_over_min": round(stability, 2) if stability else None,
                "pubsub_all_delivered": totals["received"] == totals["published_to"],
                "datasets_match": caught_up and mcount == rcount and mdigest == rdigest,
            },
            "loadavg_end": list(os.getloadavg()),
        })
    finally:
        for s in (replica, master):
            try:
                s.stop()
            except Exception:
                s.kill()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return result


def markdown(res):
    a = res["args"]
    b = res["bars"]
    e = res["end"]
    lines = [
        "# Soak run",
        "",
        "`python -m benchmarks.soak --minutes %s --conns %s --procs %s --rate %s --subscribers %s`"
        % (a["minutes"], a["conns"], a["procs"], a["rate"], a["subscribers"]),
        "",
        "Started %s (UTC), commit %s, %s CPUs, load average at the end %s. A RedisLite master "
        "(`appendonly yes`, `appendfsync everysec`) and a RedisLite replica; the load generator "
        "runs on the same machine. See benchmarks/soak.py for the mix."
        % (res["started"], res["machine"].get("git_commit"), res["machine"].get("nproc"),
           " / ".join("%.2f" % x for x in res["loadavg_end"])),
        "",
        "| minute | ops/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | master RSS MB | replica RSS MB "
        "| keys | max lag bytes | load avg |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in res["minutes"]:
        lines.append("| %d | %.0f | %.2f | %.2f | %.2f | %.1f | %d | %s | %s | %s | %s | %.2f |" % (
            m["minute"], m["ops_per_s"], m["p50_ms"], m["p99_ms"], m["p999_ms"], m["max_ms"],
            m["errors"], m["master_rss_mb"], m["replica_rss_mb"], m["keys"], m["lag_bytes_max"],
            m["loadavg"]))
    ps = res["pubsub"]
    lines += [
        "",
        "| bar | result |",
        "|---|---|",
        "| RSS flat within 10%% after the %s-minute warm-up | %s (reference %s MB, largest excursion %s%%) |"
        % (a["warmup"], "yes" if b["rss_flat"] else "**no**", b["rss_reference_mb"],
           b["rss_max_excursion_pct"]),
        "| no errors | %s (%d: command errors, dropped connections, tracebacks in the logs) |"
        % ("yes" if b["no_errors"] else "**no**", b["errors"]),
        "| p99 stable | max/min of the per-minute p99 after the warm-up: %s |" % b["p99_max_over_min"],
        "| master and replica match | %s (keys %s / %s, digest %s..., offsets %d / %d) |"
        % ("yes" if b["datasets_match"] else "**no**", e["master_keys"], e["replica_keys"],
           e["master_digest"][:12], e["master_repl_offset"], e["replica_repl_offset"]),
        "| pub/sub: every message delivered | %s (%d received, %d PUBLISH receivers) |"
        % ("yes" if b["pubsub_all_delivered"] else "**no**", ps["received"], ps["published_to"]),
        "",
        "Total %d operations; AOF rewrites during the run: %d; replica full syncs %d, partial %d."
        % (e["total_ops"], e["aof_rewrites"], e["sync_full"], e["sync_partial_ok"]),
    ]
    if res["errors_seen"] or res["server_log_problems"]:
        lines += ["", "First errors:", ""] + ["    " + x for x in
                                               (res["errors_seen"] + res["server_log_problems"])[:10]]
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--conns", type=int, default=100, help="load connections in total")
    ap.add_argument("--procs", type=int, default=2, help="load generator processes")
    ap.add_argument("--rate", type=float, default=3000.0, help="target ops/s in total")
    ap.add_argument("--subscribers", type=int, default=10)
    ap.add_argument("--sample", type=float, default=10.0, help="seconds between RSS/INFO samples")
    ap.add_argument("--warmup", type=float, default=None,
                    help="minutes excluded from the RSS and p99 bars (default: 2, or 20%% of a short run)")
    ap.add_argument("--out", default=os.path.join("docs", "perf"))
    ap.add_argument("--tmp", default=None, help="where the servers' directories go")
    ap.add_argument("--keep", action="store_true", help="keep the servers' directories")
    args = ap.parse_args(argv)
    if args.warmup is None:
        args.warmup = 2.0 if args.minutes >= 10 else round(args.minutes * 0.2, 2)
    res = run(args)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "soak.json"), "w") as f:
        json.dump(res, f, indent=1)
    md = markdown(res)
    with open(os.path.join(args.out, "soak.md"), "w") as f:
        f.write(md)
    print(md)
    return 0 if all(res["bars"][k] for k in ("rss_flat", "no_errors", "datasets_match",
                                            "pubsub_all_delivered")) else 1


if __name__ == "__main__":
    sys.exit(main())
