"""Instructions per command, counted by callgrind: an A/B that machine noise cannot move.

On a shared 2-core host, ops/s and even CPU seconds per request swing 2x from
one minute to the next, so small hot-path changes drown in the noise.
Callgrind counts the instructions the interpreter executes instead, which is
the same number on every run for the same code and inputs.

Each measurement runs one worker process under ``valgrind --tool=callgrind``
with instrumentation off: it wires a server exactly as ``make_service`` does
(with ``MemoryReactorClock``), runs pipelined batches once to warm up
(keys exist, caches filled), then counts only a second pass of fresh
batches (new random keys, members and scores) through
``RedisProtocol.dataReceived`` (parse, dispatch, shard op, encode; no
sockets).  The result is callgrind's instruction total divided by
the number of commands.

    python -m benchmarks.instructions --tests set,get,hset --pipeline 16
    python -m benchmarks.instructions --trees /tmp/old-checkout,. --tests zadd

``--trees`` lists source trees (each holding a ``redislite/`` package); the
worker imports RedisLite from each in turn, so an old commit checked out with
``git worktree add`` needs no copy of this file.  Needs Debian's valgrind.
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

WORKLOADS = {
    # name: (argv builder, from a random.Random and a key); redis-benchmark's shapes
    "ping": lambda r, k: (b"PING",),
    "set": lambda r, k: (b"SET", k, b"xxx"),
    "get": lambda r, k: (b"GET", k),
    "incr": lambda r, k: (b"INCR", k),
    "lpush": lambda r, k: (b"LPUSH", b"mylist", b"xxx"),
    "lpop": lambda r, k: (b"LPOP", b"mylist"),
    "sadd": lambda r, k: (b"SADD", b"myset", k),
    "hset": lambda r, k: (b"HSET", b"myhash", k, b"xxx"),
    "zadd": lambda r, k: (b"ZADD", b"myzset", b"%d" % r.randrange(100000), k),
    # benchmarks.pubsub's evalsha-incr (the worker SCRIPT LOADs the body first)
    "evalsha": lambda r, k: (b"EVALSHA", _SCRIPT_SHA, b"1", k),
    # benchmarks.types' range reads, on the sorted set SETUP builds
    "zrangebyscore": lambda r, k: (b"ZRANGEBYSCORE", b"z", b"%d" % r.randrange(9990), b"+inf",
                                   b"LIMIT", b"0", b"10"),
    "lrange": lambda r, k: (b"LRANGE", b"biglist", b"0", b"9"),
}
#: commands run before the warm-up, for the workloads that read existing data
SETUP = {
    "zrangebyscore": [(b"ZADD", b"z") + tuple(x for i in range(a, a + 500)
                                                for x in (b"%d" % i, b"m:%07d" % i))
                      for a in range(0, 10000, 500)],
    "lrange": [(b"RPUSH", b"biglist") + tuple(b"element:%d" % i for i in range(100))],
    # GET reads existing keys, as redis-benchmark's GET after its SET test does
    # (before 2026-11-26 every counted GET missed)
    "get": [(b"MSET",) + tuple(x for i in range(a, a + 1000) for x in (b"key:%012d" % i, b"xxx"))
            for a in range(0, 100000, 1000)],
    # LPOP pops what redis-benchmark's LPUSH left, not an empty list: enough
    # for the warm-up and the counted pass at the default 1024 batches of 16
    "lpop": [(b"RPUSH", b"mylist") + (b"xxx",) * 1000] * 40,
}
_SCRIPT = b"return redis.call('INCR', KEYS[1])"
_SCRIPT_SHA = hashlib.sha1(_SCRIPT).hexdigest().encode()


def _resp(argv):
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)


# -- worker (runs under callgrind) ------------------------------------------------------

def worker(a):
    sys.path.insert(0, os.path.abspath(a.src))
    import random
    from twisted.internet.testing import MemoryReactorClock
    from redislite import protocol
    from redislite.config import Config
    from redislite.service import make_service

    class Transport:
        """Enough of a TCP transport for RedisProtocol; replies are counted, not kept."""
        dataBuffer = b""
        _tempDataLen = 0
        disconnecting = False
        connected = True

        def __init__(self):
            self.written = 0
            self._tempDataBuffer = []

        def write(self, data):
            self.written += len(data)

        def writeSomeData(self, data):
            self.written += len(data)
            return len(data)

        def getPeer(self):
            return None

        getHost = getPeer

        def loseConnection(self):
            pass

    reactor = MemoryReactorClock()
    reactor.advance(time.time())
    cfg = Config.defaults().with_changes({"dir": a.dir, "http-port": "0", "port": "0", "save": ""})
    top = make_service(cfg, reactor)
    top.startService()
    proto = protocol.RedisProtocol(top.server)
    proto.transport = Transport()
    proto.connectionMade()
    proto._direct = True        # replies go out through _send, as on a plain TCP connection
    build = WORKLOADS[a.test]
    proto.dataReceived(_resp((b"SCRIPT", b"LOAD", _SCRIPT)))
    for argv in SETUP.get(a.test, ()):
        proto.dataReceived(_resp(argv))

    def make_batches(seed):
        rnd = random.Random(seed)
        return [b"".join(_resp(build(rnd, b"key:%012d" % rnd.randrange(100000)))
                         for _ in range(a.pipeline)) for _ in range(a.batches)]

    # The counted pass draws fresh keys, members and scores: replaying the
    # warm-up's commands would count mostly no-op writes (a ZADD of the score
    # a member already has, an HSET of the same value).
    for b in make_batches(1):
        proto.dataReceived(b)
    batches = make_batches(2)
    print("READY", flush=True)
    while not os.path.exists(a.go):
        time.sleep(0.02)
    for b in batches:
        proto.dataReceived(b)
    print("DONE", flush=True)
    sys.stdin.read()        # the driver turns counting off, then closes our stdin: exit and dump


# -- driver ------------------------------------------------------------------------------

def _wait_for(proc, word, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("worker exited before %s" % word)
        if line.strip() == word:
            return
    raise RuntimeError("worker: no %s within %ss" % (word, timeout))


def measure(tree, test, pipeline, batches, scratch, timeout):
    """Instructions per command for *test* with RedisLite imported from *tree*."""
    out = os.path.join(scratch, "cg.out")
    go = os.path.join(scratch, "go")
    for f in (out, go):
        if os.path.exists(f):
            os.remove(f)
    cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=" + out,
           os.path.realpath(sys.executable), os.path.abspath(__file__), "--worker", "--src", tree,
           "--test", test, "--pipeline", str(pipeline), "--batches", str(batches), "--go", go,
           "--dir", scratch]
    env = dict(os.environ, PYTHONHASHSEED="0")     # same dict layouts on every run
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
    try:
        _wait_for(proc, "READY", timeout)
        subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], **quiet)
        open(go, "w").close()
        _wait_for(proc, "DONE", timeout)
        subprocess.run(["callgrind_control", "-i", "off", str(proc.pid)], **quiet)
        proc.stdin.close()
        proc.wait(timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    total = None
    with open(out) as fh:
        for line in fh:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    if total is None:
        raise RuntimeError("no instruction total in %s" % out)
    return total / (pipeline * batches)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trees", default=".", help="comma-separated source trees (default: this one)")
    ap.add_argument("--tests", default="set,get", help="from: " + ",".join(WORKLOADS))
    ap.add_argument("--pipeline", type=int, default=16, help="commands per read")
    ap.add_argument("--batches", type=int, default=1024,
                    help="reads counted (default 1024: 16384 commands at -P 16, two latency folds)")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--keep", metavar="DIR",
                    help="keep each callgrind profile as DIR/<test>-<tree number>.callgrind "
                         "(for callgrind_annotate: where the instructions go)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--src", help=argparse.SUPPRESS)
    ap.add_argument("--test", help=argparse.SUPPRESS)
    ap.add_argument("--go", help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        return worker(a)
    tests = [t for t in a.tests.split(",") if t]
    unknown = [t for t in tests if t not in WORKLOADS]
    if unknown:
        ap.error("unknown test(s): %s" % ",".join(unknown))
    trees = [os.path.abspath(t) for t in a.trees.split(",")]
    print("instructions per command (callgrind), pipeline %d, %d commands counted"
          % (a.pipeline, a.pipeline * a.batches))
    with tempfile.TemporaryDirectory(prefix="rl-instr-") as scratch:
        for test in tests:
            first = None
            for tree in trees:
                ir = measure(tree, test, a.pipeline, a.batches, scratch, a.timeout)
                if a.keep:
                    os.makedirs(a.keep, exist_ok=True)
                    shutil.copy(os.path.join(scratch, "cg.out"),
                                os.path.join(a.keep, "%s-%d.callgrind" % (test, trees.index(tree))))
                first = first or ir
                print("%-6s %-40s %9.0f  (%.3f of the first tree)" % (test, tree, ir, ir / first),
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
