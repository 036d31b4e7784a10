"""redis-py's own recipes against a real RedisLite process: Lock (Lua scripts
registered with register_script, relying on NOSCRIPT -> EVAL fallback),
transactional pipelines with a WATCH retry loop, and register_script.

EVALSHA and MULTI/EXEC throughput against redis-server is the benchmarks'
business (``python -m benchmarks.pubsub --tests evalsha-incr,multi-10set``).
"""

import threading
import time

import pytest
import redis
from redis.exceptions import LockError, LockNotOwnedError, WatchError

pytestmark = pytest.mark.integration


@pytest.fixture
def r(redislite_server):
    c = redislite_server.client()
    c.flushall()
    c.script_flush()
    yield c
    c.close()


@pytest.fixture
def r_other(redislite_server):
    c = redislite_server.client()
    yield c
    c.close()


def test_lock_acquire_extend_release(r):
    lock = r.lock("resource", timeout=10)
    assert lock.acquire(blocking=False) is True
    assert lock.owned() is True
    assert 9000 <= r.pttl("resource") <= 10000
    assert lock.extend(5) is True
    assert 14000 <= r.pttl("resource") <= 15000
    assert lock.extend(30, replace_ttl=True) is True
    assert 29000 <= r.pttl("resource") <= 30000
    assert lock.reacquire() is True
    assert 9000 <= r.pttl("resource") <= 10000
    lock.release()
    assert r.exists("resource") == 0
    with pytest.raises(LockError):
        lock.release()


def test_lock_contention_between_two_clients(r, r_other):
    first = r.lock("res", timeout=5)
    second = r_other.lock("res", timeout=5, blocking_timeout=0.2)
    assert first.acquire() is True
    t0 = time.monotonic()
    assert second.acquire() is False
    assert time.monotonic() - t0 >= 0.09      # it did wait (redis-py sleeps 0.1 s per try)
    # the second client cannot release or extend a lock it does not own
    second.local.token = b"not-mine"
    with pytest.raises(LockNotOwnedError):
        second.release()
    second.local.token = b"not-mine"          # release() forgot it
    with pytest.raises(LockNotOwnedError):
        second.extend(1)
    second.local.token = None
    first.release()
    assert second.acquire() is True
    second.release()


def test_lock_blocks_until_released_by_other_thread(redislite_server):
    a, b = redislite_server.client(), redislite_server.client()
    a.delete("shared")
    lock_a = a.lock("shared", timeout=5, thread_local=False)
    assert lock_a.acquire()
    releasing = threading.Event()

    def release():
        releasing.set()
        lock_a.release()

    threading.Timer(0.2, release).start()
    # blocking_timeout is a hang guard only (generous for a loaded machine): what is
    # checked is the order, not the time. B got the lock after A began releasing it.
    lock_b = b.lock("shared", timeout=5, blocking_timeout=20, sleep=0.05)
    assert lock_b.acquire() is True
    assert releasing.is_set()
    assert a.get("shared") == lock_b.local.token
    lock_b.release()
    a.close()
    b.close()


def test_lock_as_context_manager_and_expiry(r):
    with r.lock("ctx", timeout=0.2) as lock:
        assert lock.locked()
    assert not r.exists("ctx")
    lock = r.lock("gone", timeout=0.1)
    lock.acquire()
    time.sleep(0.25)
    with pytest.raises(LockNotOwnedError):
        lock.release()


def test_transactional_pipeline_with_watch_retry(r, r_other):
    r.set("counter", 0)
    attempts = 0

    def increment(pipe):
        nonlocal attempts
        attempts += 1
        value = int(pipe.get("counter"))
        if attempts == 1:
            r_other.set("counter", 100)      # a racing writer invalidates the first try
        pipe.multi()
        pipe.set("counter", value + 1)

    result = r.transaction(increment, "counter")
    assert result == [True]
    assert attempts == 2
    assert r.get("counter") == b"101"


def test_pipeline_watch_error_and_manual_retry(r, r_other):
    r.set("k", "1")
    with r.pipeline() as pipe:
        pipe.watch("k")
        r_other.set("k", "2")
        pipe.multi()
        pipe.set("k", "3")
        with pytest.raises(WatchError):
            pipe.execute()
    with r.pipeline(transaction=True) as pipe:
        pipe.set("a", 1).incr("a").get("a").lpush("a", "x")
        result = pipe.execute(raise_on_error=False)
    assert result[:3] == [True, 2, b"2"]
    assert isinstance(result[3], redis.ResponseError)


def test_concurrent_watch_counters(redislite_server):
    """Several threads incrementing through WATCH/MULTI never lose an update."""
    c = redislite_server.client()
    c.set("ctr", 0)
    per_thread, threads = 30, 4

    def worker():
        cl = redislite_server.client()
        for _ in range(per_thread):
            cl.transaction(lambda p: (lambda v: (p.multi(), p.set("ctr", v + 1)))(int(p.get("ctr"))), "ctr")
        cl.close()
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert int(c.get("ctr")) == per_thread * threads
    c.close()


def test_register_script(r):
    incr_by = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    assert incr_by(keys=["n"], args=[5]) == 5           # NOSCRIPT -> SCRIPT LOAD/EVAL fallback
    assert incr_by(keys=["n"], args=[2]) == 7           # now EVALSHA hits
    assert r.script_exists(incr_by.sha) == [True]
    r.script_flush()
    assert incr_by(keys=["n"], args=[1]) == 8           # reloaded after SCRIPT FLUSH
    with r.pipeline() as pipe:
        incr_by(keys=["n"], args=[10], client=pipe)
        pipe.get("n")
        assert pipe.execute() == [18, b"18"]
    fail = r.register_script("return redis.call('nosuch')")
    with pytest.raises(redis.ResponseError, match="Unknown Redis command called from script"):
        fail()


def test_functions_through_redis_py(r):
    r.function_flush()
    code = "#!lua name=lib\nredis.register_function('hi', function(keys, args) return 'hi ' .. args[1] end)"
    assert r.function_load(code) == "lib" or r.function_load(code, replace=True) in ("lib", b"lib")
    assert r.fcall("hi", 0, "you") == b"hi you"
    dump = r.function_dump()
    r.function_flush()
    assert r.function_restore(dump) in (True, b"OK")
    assert r.fcall("hi", 0, "again") == b"hi again"
