"""benchmarks/floor.py, the CPython floor the benchmarks compare against, answers
the benchmark workloads' commands byte for byte as redis-server does, so that
redis-benchmark's counts on it measure the same work."""

import subprocess

import pytest

from redislite.testing import RawClient, ServerProcess

WORKLOAD = [
    ("PING",), ("GET", "k"), ("SET", "k", "xxx"), ("GET", "k"), ("SET", "k", "yy"), ("GET", "k"),
    ("INCR", "n"), ("INCR", "n"), ("LPUSH", "l", "a"), ("LPUSH", "l", "b", "c"), ("RPUSH", "l", "z"),
    ("LPOP", "l"), ("RPOP", "l"), ("LPOP", "nolist"), ("SADD", "s", "a"), ("SADD", "s", "a", "b"),
    ("HSET", "h", "f", "v"), ("HSET", "h", "f", "w", "g", "x"),
]


@pytest.fixture
def floor():
    with ServerProcess("floor") as server:
        yield server


def test_floor_answers_the_workload_commands_as_redis_does(redis_server, floor):
    ref = RawClient(redis_server.host, redis_server.port)
    got = RawClient(floor.host, floor.port)
    ref.call("FLUSHALL")
    for argv in WORKLOAD:
        assert got.call(*argv) == ref.call(*argv), argv


def test_redis_benchmark_runs_pipelined_against_the_floor(floor):
    out = subprocess.run(["redis-benchmark", "-p", str(floor.port), "-c", "4", "-n", "2000", "-P", "16",
                          "-t", "set,get,lpush,lpop,sadd,hset,incr", "--csv"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    rows = [line.split(",")[0].strip('"') for line in out.splitlines()[1:]]
    assert rows == ["SET", "GET", "INCR", "LPUSH", "LPOP", "SADD", "HSET"]
    assert RawClient(floor.host, floor.port).call("GET", "key:__rand_int__").startswith(b"$3\r\n")  # its SETs landed
