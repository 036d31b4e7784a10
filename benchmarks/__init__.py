"""Shared helpers for the RedisLite benchmark suite.

Both scripts (``benchmarks.run`` and ``benchmarks.memory``) compare a
*candidate* server with a *reference* server started side by side on
loopback.  The helpers here keep the two scripts agreeing on how servers are
named, started and described.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

# Persistence off on the reference (redislite.testing does the same): a
# background RDB save forks and eats the second core in the middle of a run,
# which would flatter RedisLite.
REDIS_DEFAULT_ARGS = ["--save", "", "--appendonly", "no"]

KINDS = ("redislite", "redis", "fakeredis", "floor")


# --------------------------------------------------------------------------
# Server processes
# --------------------------------------------------------------------------

def _free_port() -> int:
    """Ask the kernel for an unused loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _find_redis_server() -> str:
    path = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(path):
        raise RuntimeError("redis-server not found")
    return path


class _FallbackServerProcess:
    """Stand-in with the same API as ``redislite.testing.ServerProcess``.

    Used only while that module does not exist yet (or is broken), so the
    suite can be exercised against redis-server on its own.
    """

    def __init__(self, kind, port=None, args=None, workdir=None):
        if kind not in KINDS:
            raise ValueError(f"unknown server kind {kind!r}")
        self.kind = kind
        self.port = port or _free_port()
        self.args = list(args or [])
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix=f"bench-{kind}-")
        self.proc = None
        self._log = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def _command(self):
        if self.kind == "redis":
            return [_find_redis_server(), "--port", str(self.port), "--bind", "127.0.0.1",
                    *REDIS_DEFAULT_ARGS, "--dir", self.workdir, *self.args]
        return [sys.executable, "-m", "redislite", "--port", str(self.port),
                "--bind", "127.0.0.1", "--http-port", "0", "--dir", self.workdir, *self.args]

    def start(self, timeout=20.0):
        self._log = open(os.path.join(self.workdir, "server.log"), "wb")
        self.proc = subprocess.Popen(self._command(), stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=str(REPO_ROOT))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}; "
                                   f"see {self._log.name}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"{self.kind} did not answer PING within {timeout}s")

    def stop(self, timeout=10.0):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log:
            self._log.close()
            self._log = None
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stop()

    def client(self, **kw):
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)


def server_process_class():
    """Return ``redislite.testing.ServerProcess``, or the fallback."""
    try:
        from redislite.testing import ServerProcess  # type: ignore
        return ServerProcess, "redislite.testing"
    except Exception:  # noqa: BLE001 - any import problem means "not ready yet"
        return _FallbackServerProcess, "benchmarks fallback"


#: Like with like: ServerProcess starts redis-server with ``--save ""``, so
#: RedisLite runs without save points too.  Otherwise every write test pays
#: BGSAVE forks (60 s / 10,000 changes) on one side only: measured, that cut
#: RedisLite's unpipelined ZADD and HSET throughput by about 40%.  Extra args
#: come after, so ``--redislite-args "--save '60 10000'"`` still applies.
SAME_AS_REDIS = {"redislite": ["--save", ""]}


def paired_ratios(raw, rounds, candidate, reference, **match):
    """Per-round candidate/reference ops/s ratios for the raw rows matching *match*
    (e.g. ``test="SET", pipeline=16``): their spread shows how far to trust a median."""
    out = []
    for rnd in range(rounds):
        rows = [r for r in raw if r["round"] == rnd and all(r.get(k) == v for k, v in match.items())]
        c = [r["rps"] for r in rows if r["server"] == candidate]
        f = [r["rps"] for r in rows if r["server"] == reference]
        if c and f and f[0]:
            out.append(round(c[0] / f[0], 4))
    return out


def start_server(kind: str, extra_args=()):
    """Start one server on a free loopback port and wait until it PINGs."""
    cls, _ = server_process_class()
    return cls(kind, port=None, args=SAME_AS_REDIS.get(kind, []) + list(extra_args)).start()


def stop_server(proc) -> None:
    """Stop a server and remove its temporary working directory."""
    proc.stop()
    cleanup = getattr(proc, "cleanup", None)
    if cleanup is not None:
        cleanup()


# --------------------------------------------------------------------------
# Candidate / reference naming
# --------------------------------------------------------------------------

@dataclass
class Side:
    """One server under test: a unique label and the kind to start."""
    label: str
    kind: str
    extra_args: list = field(default_factory=list)


def plan_sides(servers: list[str], redislite_args: list[str], redis_args: list[str]) -> list[Side]:
    """Turn ``--servers`` into labelled sides.

    The first side is the candidate and the last the reference; ratios are
    candidate/reference.  ``--servers redis`` alone becomes a self-test of
    two independent redis-server processes ("redis-a" vs "redis"), whose
    ratio should sit near 1.0 and so shows the noise floor of the machine.
    """
    for s in servers:
        if s not in KINDS:
            raise SystemExit(f"unknown server {s!r}; choose from {', '.join(KINDS)}")
    if servers == ["redis"]:
        return [Side("redis-a", "redis", redis_args), Side("redis", "redis", redis_args)]
    sides, seen = [], {}
    for s in servers:
        n = seen.get(s, 0)
        seen[s] = n + 1
        label = s if n == 0 else f"{s}#{n + 1}"
        sides.append(Side(label, s, redislite_args if s == "redislite" else redis_args))
    return sides


# --------------------------------------------------------------------------
# Machine description and small utilities
# --------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _redis_version() -> str:
    try:
        out = subprocess.run([_find_redis_server(), "--version"], capture_output=True,
                             text=True, timeout=10).stdout
        m = re.search(r"v=(\S+)", out)
        return m.group(1) if m else out.strip()
    except Exception:  # noqa: BLE001
        return "unknown"


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:  # noqa: BLE001
        return "unknown"


def machine_info() -> dict:
    """What a reader needs to judge whether two result files are comparable."""
    mem_total = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "mem_total_bytes": mem_total,
        "platform": platform.platform(),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "redis_server_version": _redis_version(),
        "git_commit": _git_commit(),
        "server_process": server_process_class()[1],
        # Other work on a shared box shows here; alternation spreads it over
        # both servers, but a high figure still means wider spreads.
        "loadavg": list(os.getloadavg()),
    }


def loop_ns(iterations: int = 300_000, repeat: int = 3) -> float:
    """ns per empty ``for`` iteration in this interpreter, best of ``repeat``.

    A probe of the host, not of a server: on a shared VM it swings 2-3x from
    one minute to the next (23-64 ns seen), and the interpreter-bound server
    slows with it while redis-server, bound by syscalls, barely moves. Taken
    before each round, it lets a reader see which rounds ran on a slow host."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(iterations):
            pass
        best = min(best, time.perf_counter() - t)
    return round(best / iterations * 1e9, 1)


def read_rss(pid: int) -> int:
    """Resident set size in bytes, from /proc/PID/status VmRSS."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def timestamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S")


def split_args(s: str | None) -> list[str]:
    return shlex.split(s) if s else []
