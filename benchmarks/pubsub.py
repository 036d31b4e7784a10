"""Pub/Sub, scripting and transaction throughput, RedisLite next to redis-server.

The scenarios of issue #7, each run against both servers in one invocation,
alternating the servers round by round (the order reversed every other round)
and reporting medians:

``publish-1`` / ``publish-100``
    One publisher sends pipelined ``PUBLISH bench <64 bytes>`` batches
    (``--pipeline`` per batch, one batch in flight, as ``redis-benchmark -P``)
    while 1 or 100 subscribers, in a separate process, read and count every
    message (each ``message`` frame is counted, not just bytes).  The figure is
    PUBLISH/s end to end: from the first send until the last subscriber has
    received the last message, so output still queued in the server counts.
    ``--publisher redis-benchmark`` uses ``redis-benchmark -c 1 -P N`` as the
    publisher instead, to show the Python publisher is not the limit.
``evalsha-incr`` / ``evalsha-setget``
    ``redis-benchmark -c 50 EVALSHA <sha> 1 <test>:__rand_int__ ...`` for
    ``return redis.call('INCR', KEYS[1])`` and a SET-then-GET script.
``incr``
    Plain ``INCR`` with the same redis-benchmark parameters: the reference
    that shows what the script layer costs on each server.
``multi-10set``
    50 connections (in a separate process) each sending ``MULTI``, 10 ``SET``
    and ``EXEC`` as one write, waiting for the exact 150-byte reply, and again.
    Figure: transactions/s.  ``--check-loadgen`` also runs this load generator
    with a single ``SET`` per request next to ``redis-benchmark -t set`` with
    the same 50 connections, to show the generator can outrun the servers.

For every measurement the server's CPU use (from /proc) is recorded: a server
near 100% of a core is the bottleneck; one well below means the load
generator is.

    python -m benchmarks.pubsub                       # all scenarios, 3 rounds
    python -m benchmarks.pubsub --tests publish-100,evalsha-incr --rounds 5
    python -m benchmarks.pubsub --publisher redis-benchmark --check-loadgen
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import select
import socket
import statistics
import subprocess
import sys
import time

from benchmarks import RESULTS_DIR, machine_info, start_server, stop_server, timestamp
from redislite.testing import encode_command as _cmd

ALL_TESTS = ("publish-1", "publish-100", "incr", "evalsha-incr", "evalsha-setget", "multi-10set")
SCRIPTS = {
    "evalsha-incr": b"return redis.call('INCR', KEYS[1])",
    "evalsha-setget": b"redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])",
}
_CLK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid):
    """utime + stime of *pid* in seconds (threads included)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK


def _recv_exact_frames(sock, marker, count, timeout=10.0):
    """Read until *marker* has been seen *count* times (setup replies)."""
    sock.settimeout(timeout)
    buf = b""
    while buf.count(marker) < count:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed during setup: %r" % buf)
        buf += chunk
    sock.settimeout(None)
    return buf


# -- PUBLISH fan-out ---------------------------------------------------------------

_MARK = b"$7\r\nmessage\r\n"


def _subscriber_process(host, port, nsubs, channel, expected, resp3, conn):
    """Hold *nsubs* subscriber connections; count every message frame on each.

    Reports (time the last message arrived, per-subscriber counts, own CPU s).
    """
    socks = []
    for _ in range(nsubs):
        s = socket.create_connection((host, port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        if resp3:
            s.sendall(_cmd(b"HELLO", b"3"))
            _recv_exact_frames(s, b"proto", 1)
        s.sendall(_cmd(b"SUBSCRIBE", channel))
        _recv_exact_frames(s, b"subscribe\r\n", 1)
        s.setblocking(False)
        socks.append(s)
    ep = select.epoll()
    by_fd = {}
    for i, s in enumerate(socks):
        ep.register(s.fileno(), select.EPOLLIN)
        by_fd[s.fileno()] = i
    counts = [0] * nsubs
    tails = [b""] * nsubs
    keep = len(_MARK) - 1
    total, want = 0, expected * nsubs
    conn.send("ready")
    deadline = time.monotonic() + 600
    last = None
    while total < want and time.monotonic() < deadline:
        for fd, _ in ep.poll(1.0):
            i = by_fd[fd]
            try:
                data = socks[i].recv(1 << 18)
            except BlockingIOError:
                continue
            if not data:
                ep.unregister(fd)
                continue
            data = tails[i] + data
            n = data.count(_MARK)
            tails[i] = data[-keep:]
            counts[i] += n
            total += n
            last = time.perf_counter()
    usage = os.times()
    conn.send((last, counts, usage.user + usage.system))
    for s in socks:
        s.close()


def _python_publisher(host, port, channel, messages, pipeline, nsubs, payload, inflight=1):
    """Send *messages* PUBLISHes in batches of *pipeline*, at most *inflight* batches
    unanswered; every reply must be ``:nsubs``."""
    pub = socket.create_connection((host, port))
    pub.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reply = b":%d\r\n" % nsubs
    batch = _cmd(b"PUBLISH", channel, payload) * pipeline
    sent = received = 0
    buf = b""
    t0 = time.perf_counter()
    while received < messages:
        while sent < messages and sent - received < inflight * pipeline:
            pub.sendall(batch)
            sent += pipeline
        data = buf + pub.recv(1 << 16)
        if len(data) == len(buf):
            raise RuntimeError("the server closed the publisher's connection")
        received += data.count(reply)
        buf = data[-(len(reply) - 1):]
    if received != messages:
        raise RuntimeError("unexpected PUBLISH replies (want %r each)" % reply)
    pub.close()
    return t0, sent


def _spawn(target, *args):
    """Run *target*(*args, conn) in a forked process; wait for its "ready"."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=target, args=args + (child,))
    proc.start()
    if not parent.poll(60) or parent.recv() != "ready":
        proc.kill()
        raise RuntimeError("%s did not get ready" % target.__name__)
    return proc, parent


def _collect(proc, parent, timeout, what):
    """The child's result message (waiting at most *timeout* s); the child is reaped."""
    if not parent.poll(timeout):
        proc.kill()
        raise RuntimeError("%s did not finish in time" % what)
    result = parent.recv()
    proc.join(10)
    return result


def bench_publish(server, nsubs, a):
    """PUBLISH/s to *nsubs* subscribers, end to end; plus CPU shares."""
    channel = b"bench"
    payload = b"x" * 64
    messages = a.messages if nsubs > 1 else a.messages * 5
    messages -= messages % a.pipeline
    proc, parent = _spawn(_subscriber_process, server.host, server.port, nsubs, channel,
                          messages, a.resp3)
    cpu0 = _cpu_seconds(server.pid)
    own0 = os.times()
    if a.publisher == "redis-benchmark":
        t0 = time.perf_counter()
        subprocess.run(["redis-benchmark", "-h", server.host, "-p", str(server.port), "-c", "1",
                        "-P", str(a.pipeline), "-n", str(messages), "-q",
                        "PUBLISH", channel, payload], check=True, capture_output=True,
                       timeout=a.timeout)
    else:
        t0, _ = _python_publisher(server.host, server.port, channel, messages, a.pipeline,
                                  nsubs, payload, a.inflight)
    last, counts, reader_cpu = _collect(proc, parent, a.timeout, "the subscribers' counting")
    cpu1 = _cpu_seconds(server.pid)
    own1 = os.times()
    # the publisher: this process, or redis-benchmark (a waited-for child)
    pub_cpu = (own1.user + own1.system + own1.children_user + own1.children_system
               - own0.user - own0.system - own0.children_user - own0.children_system - reader_cpu)
    if counts != [messages] * nsubs:
        raise RuntimeError("subscribers counted %s, want %d each" % (sorted(set(counts)), messages))
    elapsed = last - t0
    return {"ops": messages / elapsed, "elapsed_s": round(elapsed, 3), "messages": messages,
            "server_cpu": round((cpu1 - cpu0) / elapsed, 3),
            "subscriber_process_cpu": round(reader_cpu / elapsed, 3),
            "publisher_cpu": round(pub_cpu / elapsed, 3)}


# -- MULTI/EXEC of 10 SETs ------------------------------------------------------------

def _txn_block(rng, keyspace, nsets):
    if nsets == 0:   # --check-loadgen: one plain SET per request
        return _cmd(b"SET", b"txn:%012d" % rng.randrange(keyspace), b"xxx")
    parts = [_cmd(b"MULTI")]
    for _ in range(nsets):
        parts.append(_cmd(b"SET", b"txn:%012d" % rng.randrange(keyspace), b"xxx"))
    parts.append(_cmd(b"EXEC"))
    return b"".join(parts)


def _txn_reply(nsets):
    if nsets == 0:
        return b"+OK\r\n"
    return b"+OK\r\n" + b"+QUEUED\r\n" * nsets + b"*%d\r\n" % nsets + b"+OK\r\n" * nsets


def _txn_process(host, port, clients, total, nsets, keyspace, conn):
    """*clients* connections, each: send a block, wait for its exact reply, repeat."""
    rng = random.Random(7)
    blocks = [_txn_block(rng, keyspace, nsets) for _ in range(256)]
    expect = _txn_reply(nsets)
    rlen = len(expect)
    socks = [socket.create_connection((host, port)) for _ in range(clients)]
    for s in socks:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
    ep = select.epoll()
    by_fd = {s.fileno(): i for i, s in enumerate(socks)}
    for s in socks:
        ep.register(s.fileno(), select.EPOLLIN)
    bufs = [b""] * clients
    conn.send("ready")
    conn.recv()
    issued = done = 0
    t0 = time.perf_counter()
    for s in socks:
        if issued < total:
            s.sendall(blocks[issued & 255])
            issued += 1
    bad = 0
    while done < total:
        for fd, _ in ep.poll(5.0):
            i = by_fd[fd]
            s = socks[i]
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            if not data:
                raise RuntimeError("server closed a transaction connection")
            buf = bufs[i] + data
            while len(buf) >= rlen:
                if buf[:rlen] != expect:
                    bad += 1
                buf = buf[rlen:]
                done += 1
                if issued < total:
                    s.setblocking(True)
                    s.sendall(blocks[issued & 255])
                    s.setblocking(False)
                    issued += 1
            bufs[i] = buf
    elapsed = time.perf_counter() - t0
    usage = os.times()
    conn.send((elapsed, bad, usage.user + usage.system))
    for s in socks:
        s.close()


def bench_txn(server, a, nsets=10, total=None):
    total = total or a.transactions
    proc, parent = _spawn(_txn_process, server.host, server.port, a.clients, total, nsets,
                          a.keyspace)
    cpu0 = _cpu_seconds(server.pid)
    parent.send("go")
    elapsed, bad, gen_cpu = _collect(proc, parent, a.timeout, "the transactions")
    cpu1 = _cpu_seconds(server.pid)
    if bad:
        raise RuntimeError("%d replies differed from %r" % (bad, _txn_reply(nsets)))
    return {"ops": total / elapsed, "elapsed_s": round(elapsed, 3),
            "server_cpu": round((cpu1 - cpu0) / elapsed, 3),
            "loadgen_cpu": round(gen_cpu / elapsed, 3)}


# -- redis-benchmark driven (EVALSHA, SET check) ---------------------------------------

def _redis_benchmark(server, a, args, requests):
    cmd = ["redis-benchmark", "-h", server.host, "-p", str(server.port), "-c", str(a.clients),
           "-n", str(requests), "-r", str(a.keyspace), "-P", str(a.eval_pipeline), "--csv"] + args
    cpu0 = _cpu_seconds(server.pid)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout)
    elapsed = time.perf_counter() - t0
    cpu1 = _cpu_seconds(server.pid)
    if proc.returncode != 0:
        raise RuntimeError("redis-benchmark failed: %s" % proc.stderr.strip())
    rows = [line.split('","') for line in proc.stdout.splitlines()[1:] if line.strip()]
    rps = float(rows[-1][1].strip('"'))
    return {"ops": rps, "elapsed_s": round(elapsed, 3),
            "server_cpu": round((cpu1 - cpu0) / elapsed, 3), "command": " ".join(cmd)}


def bench_evalsha(server, test, a):
    script = SCRIPTS[test]
    c = socket.create_connection((server.host, server.port))
    c.sendall(_cmd(b"SCRIPT", b"LOAD", script))
    sha = _recv_exact_frames(c, b"\r\n", 2).split(b"\r\n")[1]
    # Redis counts error replies as requests: check the script answers right first.
    c.sendall(_cmd(b"EVALSHA", sha, b"1", b"bench:check:" + test.encode(), b"xxx"))
    got = _recv_exact_frames(c, b"\r\n", 1)
    c.close()
    if got[:1] not in b":$":
        raise RuntimeError("%s: EVALSHA answered %r" % (server.kind, got))
    # each scenario its own keys: SET+GET and MULTI leave strings INCR would refuse
    args = ["EVALSHA", sha.decode(), "1", "%s:__rand_int__" % test]
    if test == "evalsha-setget":
        args.append("xxx")
    return _redis_benchmark(server, a, args, a.requests)


# -- driver ------------------------------------------------------------------------------

def measure(server, test, a):
    if test == "publish-1":
        return bench_publish(server, 1, a)
    if test == "publish-100":
        return bench_publish(server, 100, a)
    if test.startswith("evalsha-"):
        return bench_evalsha(server, test, a)
    if test == "incr":
        return _redis_benchmark(server, a, ["INCR", "incr:__rand_int__"], a.requests)
    if test == "multi-10set":
        return bench_txn(server, a)
    if test == "loadgen-set":
        return bench_txn(server, a, nsets=0, total=a.transactions * 4)
    if test == "redis-benchmark-set":
        return _redis_benchmark(server, a, ["-t", "set"], a.transactions * 4)
    raise SystemExit("unknown test %r" % test)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.pubsub", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tests", default=",".join(ALL_TESTS), help="comma list of " + ", ".join(ALL_TESTS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--messages", type=int, default=20000,
                    help="PUBLISHes to 100 subscribers per round (5x that to 1 subscriber)")
    ap.add_argument("--pipeline", type=int, default=50, help="PUBLISH batch size")
    ap.add_argument("--inflight", type=int, default=1,
                    help="PUBLISH batches sent before waiting for replies (1: as redis-benchmark -P)")
    ap.add_argument("--publisher", choices=("python", "redis-benchmark"), default="python")
    ap.add_argument("--resp3", action="store_true", help="subscribers speak RESP3 (HELLO 3)")
    ap.add_argument("--requests", type=int, default=100000, help="EVALSHA requests per round")
    ap.add_argument("--eval-pipeline", type=int, default=1, help="redis-benchmark -P for EVALSHA")
    ap.add_argument("--transactions", type=int, default=20000, help="MULTI/EXEC blocks per round")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--keyspace", type=int, default=100000)
    ap.add_argument("--check-loadgen", action="store_true",
                    help="also run loadgen-set and redis-benchmark-set (SET, same clients)")
    ap.add_argument("--servers", default="redislite,redis")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--json", dest="json_out", default=None)
    a = ap.parse_args(argv)
    a.test_list = [t for t in a.tests.split(",") if t]
    if a.check_loadgen:
        a.test_list += ["loadgen-set", "redis-benchmark-set"]
    a.server_list = [s for s in a.servers.split(",") if s]
    return a


def main(argv=None):
    a = parse_args(argv)
    load0 = list(os.getloadavg())
    servers = {}
    raw = []
    try:
        for kind in a.server_list:
            servers[kind] = start_server(kind)
        for rnd in range(a.rounds):
            order = a.server_list if rnd % 2 == 0 else list(reversed(a.server_list))
            for test in a.test_list:
                for kind in order:
                    res = measure(servers[kind], test, a)
                    raw.append({"round": rnd, "test": test, "server": kind, **res})
                    print("round %d/%d %-20s %-10s %10.0f ops/s  server cpu %.0f%%" % (
                        rnd + 1, a.rounds, test, kind, res["ops"], 100 * res["server_cpu"]),
                        file=sys.stderr)
    finally:
        for s in servers.values():
            stop_server(s)
    summary = []
    cand, ref = a.server_list[0], a.server_list[-1]
    for test in a.test_list:
        entry = {"test": test}
        for kind in a.server_list:
            rows = [r for r in raw if r["test"] == test and r["server"] == kind]
            entry[kind] = {"median_ops": statistics.median(r["ops"] for r in rows),
                           "rounds": [round(r["ops"]) for r in rows],
                           "median_server_cpu": statistics.median(r["server_cpu"] for r in rows)}
        if cand != ref:
            entry["ratio"] = entry[cand]["median_ops"] / entry[ref]["median_ops"]
            entry["round_ratios"] = [
                round(c["ops"] / r["ops"], 3) for c, r in zip(
                    [x for x in raw if x["test"] == test and x["server"] == cand],
                    [x for x in raw if x["test"] == test and x["server"] == ref])]
        summary.append(entry)
    machine = machine_info()
    machine["loadavg_start"] = load0
    result = {"kind": "pubsub-scripting", "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "argv": sys.argv, "params": {k: v for k, v in vars(a).items()},
              "machine": machine, "summary": summary, "raw": raw}
    out = a.json_out or str(RESULTS_DIR / ("pubsub-%s.json" % timestamp()))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    print("\nmedian of %d alternating rounds; %d cores (%s); loadavg %.2f -> %.2f; %s publisher, "
          "PUBLISH batches of %d" % (a.rounds, machine["nproc"], machine["cpu_model"], load0[0],
                                     machine["loadavg"][0], a.publisher, a.pipeline))
    head = "| test | " + " | ".join("%s ops/s (cpu)" % k for k in a.server_list)
    print(head + (" | %s/%s | per round |" % (cand, ref) if cand != ref else " |"))
    print("|---" * (len(a.server_list) + 1 + (2 if cand != ref else 0)) + "|")
    for e in summary:
        cells = ["%.0f (%.0f%%)" % (e[k]["median_ops"], 100 * e[k]["median_server_cpu"])
                 for k in a.server_list]
        line = "| %s | %s |" % (e["test"], " | ".join(cells))
        if cand != ref:
            line += " %.2f | %s |" % (e["ratio"], " ".join("%.2f" % x for x in e["round_ratios"]))
        print(line)
    print("\nresults written to %s" % out)


if __name__ == "__main__":
    main()
