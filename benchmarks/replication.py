"""Replication benchmark: master/replica pairs side by side, in the same run.

    python -m benchmarks.replication [--keys 1000000] [--seconds 10] [--pairs lite-redis,...]
                                     [--json out.json]

Pairs (master-replica): ``lite-redis`` (a RedisLite master, a real redis-server
replica), ``lite-lite`` (RedisLite both ends) and ``redis-redis`` (the
reference).  Every master starts its snapshot at once (diskless, no delay).

1. **Lag under load.**  ``redis-benchmark -c 50 -t set -r 100000`` runs against
   the master for ``--seconds``; about 15 times a second we read the replica's
   ``slave_repl_offset`` then the master's ``master_repl_offset`` (the offset
   difference, bytes), and time a probe: ``SET`` on the master, then ``GET`` on
   the replica until it shows (the lag in seconds, polled every 0.5 ms).
   Reported: median / p99 / max of both, the stream rate, and how long the
   replica takes to catch up once the load stops.
2. **Full sync of ``--keys`` keys.**  The master is filled (a raw pipeline of
   SETs, 16-byte keys and values); the time from ``REPLICAOF`` sent to a running
   replica until its link is up with every key loaded.

The machine is shared and has 2 cores: the load generator, the master and the
replica compete for them, so compare pairs within one run.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from redislite.testing import RawClient, ServerProcess  # noqa: E402

PAIRS = {"lite-redis": ("redislite", "redis"), "lite-lite": ("redislite", "redislite"),
         "redis-redis": ("redis", "redis")}


def start_master(kind, tmp):
    d = tempfile.mkdtemp(dir=tmp)
    if kind == "redis":
        s = ServerProcess("redis", args=["--repl-diskless-sync-delay", "0"], workdir=d)
    else:
        s = ServerProcess("redislite", env={"REDISLITE_REPL_DISKLESS_SYNC_DELAY": "0"}, workdir=d)
    return s.start().wait_until_loaded(600)


def start_replica(kind, master, tmp):
    """A replica process, pointed at *master* with REPLICAOF once it serves (so the time
    measured from there excludes the process start)."""
    s = ServerProcess(kind, workdir=tempfile.mkdtemp(dir=tmp)).start(600).wait_until_loaded(600)
    with RawClient(s.host, s.port, 60) as c:
        assert c.call("REPLICAOF", master.host, master.port) == b"+OK\r\n"
    return s


def info(raw):
    out = {}
    for line in raw.call("INFO", "replication").decode().split("\r\n"):
        k, sep, v = line.partition(":")
        if sep:
            out[k] = v
    return out


def wait_synced(master, replica, keys=None, timeout=900.0):
    """Until the replica's link is up (and it holds *keys* keys)."""
    rm, rr = RawClient(master.host, master.port, 60), RawClient(replica.host, replica.port, 60)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                ir = info(rr)
                if ir.get("master_link_status") == "up" and "state=online" in info(rm).get("slave0", ""):
                    if keys is None or rr.call("DBSIZE") == b":%d\r\n" % keys:
                        return
            except (OSError, ConnectionError):
                pass
            time.sleep(0.01)
        raise RuntimeError("replica did not sync within %ss" % timeout)
    finally:
        rm.close()
        rr.close()


def fill(server, keys):
    """SET key:%012d val:%012d for every key through one raw pipelined connection."""
    sock = socket.create_connection((server.host, server.port))
    sock.settimeout(600)
    want = keys * len(b"+OK\r\n")
    got = [0]

    def drain():
        while got[0] < want:
            data = sock.recv(1 << 20)
            if not data:
                break
            got[0] += len(data)

    t = threading.Thread(target=drain, daemon=True)
    t.start()
    batch = 10000
    for start in range(0, keys, batch):
        out = []
        for i in range(start, min(keys, start + batch)):
            out.append(b"*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$16\r\nval:%012d\r\n" % (i, i))
        sock.sendall(b"".join(out))
    t.join(600)
    sock.close()
    assert got[0] == want, "fill: %d of %d reply bytes" % (got[0], want)


def percentile(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def lag_under_load(master_kind, replica_kind, seconds, tmp):
    master = start_master(master_kind, tmp)
    replica = start_replica(replica_kind, master, tmp)
    try:
        wait_synced(master, replica)
        rm, rr = RawClient(master.host, master.port, 30), RawClient(replica.host, replica.port, 30)
        bench = subprocess.Popen(["redis-benchmark", "-h", master.host, "-p", str(master.port), "-c", "50",
                                  "-t", "set", "-n", "100000000", "-r", "100000", "-q"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples = []          # (offset difference, seconds until a write is visible)
        cmds0 = None
        t_start = time.monotonic()
        n = 0
        try:
            while time.monotonic() - t_start < seconds:
                # offsets: the replica first, so the master's, read after, is never behind it
                ro = int(info(rr).get("slave_repl_offset", 0))
                now = time.monotonic()
                mo = int(info(rm)["master_repl_offset"])
                if cmds0 is None:
                    cmds0 = (now, mo)
                # seconds: a probe written on the master, polled on the replica
                n += 1
                value = b"%d" % n
                rm.call("SET", "__lag_probe", value)
                t_acked = time.monotonic()
                while rr.call("GET", "__lag_probe") != b"$%d\r\n%s\r\n" % (len(value), value):
                    if time.monotonic() - t_acked > 30:
                        raise RuntimeError("the replica never saw the probe")
                    time.sleep(0.0005)
                lag_s = time.monotonic() - t_acked
                if now - t_start > 1.0:           # skip the benchmark's connection ramp-up
                    samples.append((mo - ro, lag_s))
                time.sleep(0.05)
        finally:
            bench.terminate()
            bench.wait()
        t_end = time.monotonic()
        mo_end = int(info(rm)["master_repl_offset"])
        stream_rate = (mo_end - cmds0[1]) / (t_end - cmds0[0])
        t0 = time.monotonic()
        while int(info(rr).get("slave_repl_offset", 0)) < int(info(rm)["master_repl_offset"]):
            time.sleep(0.005)
        catch_up = time.monotonic() - t0
        sets = int(_stat(rm, "total_commands_processed"))
        rm.close()
        rr.close()
        diffs = [d for d, _ in samples]
        lags = [s for _, s in samples]
        return {
            "samples": len(samples),
            "stream_bytes_per_s": round(stream_rate),
            "master_commands_total": sets,
            "offset_diff_bytes": {"median": percentile(diffs, 0.5), "p99": percentile(diffs, 0.99),
                                  "max": max(diffs) if diffs else None},
            "lag_seconds": {"median": percentile(lags, 0.5), "p99": percentile(lags, 0.99),
                            "max": max(lags) if lags else None},
            "catch_up_after_load_s": round(catch_up, 3),
        }
    finally:
        replica.kill()
        master.kill()


def _stat(raw, name):
    for line in raw.call("INFO", "stats").decode().split("\r\n"):
        if line.startswith(name + ":"):
            return line.split(":", 1)[1]
    return "0"


def full_sync(master_kind, replica_kind, keys, tmp):
    master = start_master(master_kind, tmp)
    try:
        t = time.perf_counter()
        fill(master, keys)
        fill_s = time.perf_counter() - t
        replica = ServerProcess(replica_kind, workdir=tempfile.mkdtemp(dir=tmp))
        replica.start(600).wait_until_loaded(600)
        try:
            with RawClient(replica.host, replica.port, 60) as c:
                t = time.perf_counter()
                assert c.call("REPLICAOF", master.host, master.port) == b"+OK\r\n"
            wait_synced(master, replica, keys)
            sync_s = time.perf_counter() - t
        finally:
            replica.kill()
        return {"fill_s": round(fill_s, 2), "full_sync_s": round(sync_s, 3)}
    finally:
        master.kill()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the SET load")
    ap.add_argument("--pairs", default="lite-redis,lite-lite,redis-redis")
    ap.add_argument("--skip-lag", action="store_true")
    ap.add_argument("--skip-sync", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="bench-repl-")
    res = {"keys": a.keys, "seconds": a.seconds, "loadavg_start": os.getloadavg(), "pairs": {}}
    try:
        for name in a.pairs.split(","):
            mk, rk = PAIRS[name]
            out = res["pairs"][name] = {}
            if not a.skip_lag:
                out["lag"] = lag_under_load(mk, rk, a.seconds, tmp)
                print(name, "lag", json.dumps(out["lag"]), flush=True)
            if not a.skip_sync:
                out["sync"] = full_sync(mk, rk, a.keys, tmp)
                print(name, "sync", json.dumps(out["sync"]), flush=True)
        res["loadavg_end"] = os.getloadavg()
        ref = res["pairs"].get("redis-redis", {}).get("sync")
        if ref:
            res["full_sync_vs_redis"] = {n: round(p["sync"]["full_sync_s"] / ref["full_sync_s"], 2)
                                         for n, p in res["pairs"].items() if "sync" in p}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(res, indent=2))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)
    return res


if __name__ == "__main__":
    main()
