"""A multi-process, multi-connection asyncio load generator for RESP servers.

For workloads ``redis-benchmark`` cannot express (a SET/GET/DEL mix, SETs
with a TTL).  Each worker process opens its share of the connections and
keeps one request in flight per connection (closed loop, like
``redis-benchmark -P 1``).  The loop is callback-driven: a reply arriving in
``data_received`` is parsed by ``hiredis.Reader``, its latency recorded and
the next pre-encoded command written from the same callback, with no future
or coroutine switch per request, so the client costs a few microseconds per
request.  Whether that is enough is *measured*, not assumed: see
``benchmarks.suite``'s generator check, which runs the same SET/GET mix
through this module and through ``redis-benchmark`` against redis-server.

    from benchmarks.loadgen import run_load
    res = run_load(port, workload="mixed", ops=100_000, conns=50, procs=2)
    res["ops_per_s"], res["latency_ms"]["p99"], res["errors"]
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import random
import time
from array import array

import hiredis

from benchmarks.memory import key as key_name

# Fractions of SET, GET and DEL per workload (the rest of the argument list
# is fixed per workload below).
WORKLOADS = {
    "mixed": ((b"SET", 0.5), (b"GET", 0.3), (b"DEL", 0.2)),  # issue #8
    "setget": ((b"SET", 0.5), (b"GET", 0.5)),  # the generator check against redis-benchmark
    "setpx": ((b"SET", 1.0),),  # SET k v PX ttl: keys that expire
}


def _bulk(b: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(b), b)


def encode_commands(workload: str, n: int, *, keyspace: int, value_size: int, seed: int,
                    ttl_ms: int | None = None, sequential_from: int | None = None) -> list[bytes]:
    """``n`` RESP-encoded commands of ``workload``, keys ``key:%012d`` (as
    redis-benchmark's ``-r`` and benchmarks.memory use), drawn at random from
    ``keyspace`` names, or numbered from ``sequential_from`` if given."""
    rnd = random.Random(seed)
    mix = WORKLOADS[workload]
    names = [m for m, _ in mix]
    weights = [w for _, w in mix]
    value = _bulk(b"x" * value_size)
    px = _bulk(b"PX") + _bulk(str(ttl_ms).encode()) if ttl_ms else b""
    ops = rnd.choices(names, weights, k=n)
    out = []
    for i, op in enumerate(ops):
        k = key_name(sequential_from + i if sequential_from is not None else rnd.randrange(keyspace))
        if op == b"SET":
            if px:
                out.append(b"*5\r\n$3\r\nSET\r\n" + _bulk(k) + value + px)
            else:
                out.append(b"*3\r\n$3\r\nSET\r\n" + _bulk(k) + value)
        else:
            out.append(b"*2\r\n" + _bulk(op) + _bulk(k))
    return out


class _Conn(asyncio.Protocol):
    """One connection: sends its commands one at a time, timing each reply."""

    def __init__(self, commands, lat: array, done: asyncio.Future, stats: dict):
        self.commands = commands
        self.i = 0
        self.lat = lat
        self.done = done
        self.stats = stats
        self.reader = hiredis.Reader()
        self.t = 0.0
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def start(self):
        if not self.commands:
            self.done.set_result(None)
            return
        self.t = time.perf_counter()
        self.transport.write(self.commands[0])

    def data_received(self, data):
        reader = self.reader
        reader.feed(data)
        while True:
            reply = reader.gets()
            if reply is False:
                return
            now = time.perf_counter()
            self.lat.append(now - self.t)
            if isinstance(reply, hiredis.ReplyError):
                self.stats["errors"] += 1
            self.i += 1
            if self.i >= len(self.commands):
                self.transport.close()
                if not self.done.done():
                    self.done.set_result(None)
                return
            self.t = now
            self.transport.write(self.commands[self.i])

    def connection_lost(self, exc):
        if not self.done.done():
            self.stats["conn_errors"] += 1
            self.done.set_result(None)


async def _worker_main(port, per_conn, barrier_wait, result):
    loop = asyncio.get_running_loop()
    lat = array("d")
    stats = {"errors": 0, "conn_errors": 0}
    conns = []
    for cmds in per_conn:
        done = loop.create_future()
        _, proto = await loop.create_connection(lambda c=cmds, d=done: _Conn(c, lat, d, stats),
                                                "127.0.0.1", port)
        conns.append(proto)
    await loop.run_in_executor(None, barrier_wait)
    t0 = time.perf_counter()
    for c in conns:
        c.start()
    await asyncio.gather(*(c.done for c in conns))
    t1 = time.perf_counter()
    result.update(t0=t0, t1=t1, lat=lat.tobytes(), **stats)


def _worker(port, per_conn, barrier, pipe):
    result = {}
    try:
        asyncio.run(_worker_main(port, per_conn, barrier.wait, result))
    except Exception as e:  # noqa: BLE001 - reported to the parent
        result = {"failure": f"{type(e).__name__}: {e}"}
        try:
            barrier.abort()
        except Exception:  # noqa: BLE001
            pass
    pipe.send(result)
    pipe.close()


def latency_summary(seconds) -> dict:
    """min/avg/p50/p95/p99/max in milliseconds of a sequence of seconds."""
    xs = sorted(seconds)
    if not xs:
        return {k: None for k in ("min", "avg", "p50", "p95", "p99", "max")}
    n = len(xs)

    def pct(p):
        return xs[min(n - 1, int(p / 100 * n))] * 1000

    return {"min": xs[0] * 1000, "avg": sum(xs) / n * 1000, "p50": pct(50), "p95": pct(95),
            "p99": pct(99), "max": xs[-1] * 1000}


def run_load(port: int, *, workload: str = "mixed", ops: int = 100_000, conns: int = 50,
             procs: int = 2, keyspace: int = 100_000, value_size: int = 3, ttl_ms: int | None = None,
             sequential: bool = False, seed: int = 1, timeout: float = 600.0) -> dict:
    """Run ``ops`` requests of ``workload`` over ``conns`` connections spread
    over ``procs`` processes; return ops/s, latency summary (ms) and errors.

    Commands are encoded before the clock starts; the clock runs from the
    first worker's start to the last worker's end (all start together at a
    barrier once every connection is open)."""
    procs = max(1, min(procs, conns))
    cmds = encode_commands(workload, ops, keyspace=keyspace, value_size=value_size, seed=seed,
                           ttl_ms=ttl_ms, sequential_from=0 if sequential else None)
    # Round-robin the commands over the connections, the connections over the processes.
    per_conn = [cmds[i::conns] for i in range(conns)]
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(procs)
    workers = []
    for p in range(procs):
        parent, child = ctx.Pipe(duplex=False)
        w = ctx.Process(target=_worker, args=(port, per_conn[p::procs], barrier, child), daemon=True)
        w.start()
        child.close()
        workers.append((w, parent))
    results = []
    deadline = time.monotonic() + timeout
    for w, parent in workers:
        if parent.poll(max(0.0, deadline - time.monotonic())):
            results.append(parent.recv())
        else:
            results.append({"failure": f"timeout after {timeout}s"})
        w.join(5)
        if w.is_alive():
            w.kill()
            w.join()
    failures = [r["failure"] for r in results if "failure" in r]
    if failures:
        raise RuntimeError(f"load generator failed: {failures}")
    lat = array("d")
    for r in results:
        lat.frombytes(r["lat"])
    # perf_counter is CLOCK_MONOTONIC on Linux: comparable across processes.
    elapsed = max(r["t1"] for r in results) - min(r["t0"] for r in results)
    return {
        "tool": "loadgen",
        "workload": workload,
        "ops": len(lat),
        "requested_ops": ops,
        "conns": conns,
        "procs": procs,
        "elapsed_s": elapsed,
        "ops_per_s": len(lat) / elapsed if elapsed > 0 else None,
        "latency_ms": latency_summary(lat),
        "errors": sum(r["errors"] for r in results),
        "conn_errors": sum(r["conn_errors"] for r in results),
    }
