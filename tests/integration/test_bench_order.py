"""benchmarks.run alternates the servers test by test, one ``-t`` test per
redis-benchmark invocation.  That is only the same workload as one ``-t`` list if
the tests still run in redis-benchmark's own order (GET reads what SET wrote,
LPOP pops what LPUSH pushed), so the order is checked against the real binary."""

import subprocess

from benchmarks.run import BENCHMARK_ORDER, split_tests

# Every single-word test redis-benchmark 7.0 knows, given out of order.
SHUFFLED = "zpopmin,mset,get,hset,incr,lpop,set,rpush,ping_mbulk,spop,zadd,sadd,rpop,lpush,ping_inline"


def _rows(port, tests):
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-c", "2", "-n", "200", "-t", tests, "--csv"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return [line.split(",")[0].strip('"').split(" ")[0].lower() for line in out.splitlines()[1:]]


def test_split_tests_keeps_redis_benchmarks_own_order(redis_server):
    assert split_tests(SHUFFLED) == _rows(redis_server.port, SHUFFLED)


def test_split_tests_keeps_unknown_names_last_and_drops_blanks():
    assert split_tests(" zadd, ,set,custom,get ") == ["set", "get", "zadd", "custom"]
    assert split_tests("") == []
    assert set(BENCHMARK_ORDER) >= set(SHUFFLED.split(","))
