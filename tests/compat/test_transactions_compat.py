"""MULTI/EXEC/WATCH against a real redis-server, byte for byte, with a second
connection per side to race the WATCHes.

WATCH edge cases that need precise timing (keys already expired at WATCH time)
are in tests/unit/test_transactions.py on task.Clock; they were checked on the
real server by hand (see the module docstring of commands/transactions.py).
"""

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule

from redislite.testing import RawClient
from tests.compat.differential import DifferentialMachine, keys, values

pytestmark = pytest.mark.compat


class Two:
    """A second connection on each side, driven in lock step with ``pair``."""

    def __init__(self, pair):
        self.pair = pair
        self.oracle = RawClient(pair.oracle.host, pair.oracle.port)
        self.subject = RawClient(pair.subject.host, pair.subject.port)

    def same(self, *args):
        o, s = self.oracle.call(*args), self.subject.call(*args)
        assert o == s, (args, o, s)
        return o

    def close(self):
        self.oracle.close()
        self.subject.close()


@pytest.fixture
def two(pair):
    t = Two(pair)
    yield t
    t.close()


def test_multi_exec_discard_errors(pair):
    pair.run_script([
        ("EXEC",), ("DISCARD",),
        ("MULTI",), ("MULTI",), ("SET", "a", "1"), ("EXEC",),
        ("MULTI",), ("WATCH", "x"), ("EXEC",),
        ("MULTI",), ("NOSUCH",), ("SET", "a", "1"), ("EXEC",),
        ("MULTI",), ("GET",), ("EXEC",),
        ("MULTI",), ("SET", "a", "1", "2", "3"), ("EXEC",),
        ("MULTI",), ("SET", "a", "b"), ("LPUSH", "a", "x"), ("INCR", "a"), ("EXEC",),
        ("MULTI",), ("DISCARD",), ("DISCARD",),
        ("MULTI",), ("UNWATCH",), ("EXEC",),
        ("MULTI",), ("EXEC",),
        ("multi",), ("set", "A", "1"), ("Exec",),
        ("WATCH",), ("MULTI", "x"),
        # a refused EXEC discards the transaction (rejectCommand -> execCommandAbort)
        ("MULTI",), ("SET", "a", "1"), ("EXEC", "x"), ("EXEC",), ("GET", "a"),
    ])


def test_blocking_and_scripts_inside_exec(pair):
    pair.run_script([
        ("MULTI",), ("BLPOP", "q", "0"), ("EXEC",),
        ("MULTI",), ("EVAL", "return redis.call('set','a','9')", "0"), ("GET", "a"), ("EXEC",),
        ("MULTI",), ("SELECT", "3"), ("SET", "z", "1"), ("EXEC",),
        ("GET", "z"), ("SELECT", "0"),
    ])


def test_reset_clears_multi(pair):
    pair.same("MULTI")
    pair.same("SET", "a", "1")
    pair.same("RESET")
    pair.same("EXEC")
    pair.same("GET", "a")


def test_exec_reply_follows_hello_inside_the_transaction(pair):
    pair.same("MULTI")
    pair.same("PING")
    pair.same("EXEC")
    pair.resp3()
    pair.same("MULTI")
    pair.same("SET", "a", "1")
    pair.same("WATCH", "a")
    pair.same("EXEC")
    pair.same("WATCH", "a")
    pair.same("SET", "a", "2")
    pair.same("MULTI")
    pair.same("EXEC")        # RESP3 null for a failed WATCH


def test_watch_races(pair, two):
    steps = [
        (1, "WATCH", "a"), (2, "SET", "a", "5"), (1, "MULTI"), (1, "EXEC"),
        (1, "WATCH", "a"), (1, "MULTI"), (1, "PING"), (1, "EXEC"),
        (1, "WATCH", "a"), (2, "SET", "a", "6"), (1, "MULTI"), (1, "GET", "a"), (1, "UNWATCH"), (1, "EXEC"),
        (1, "WATCH", "a"), (2, "SET", "a", "7"), (1, "UNWATCH"), (1, "MULTI"), (1, "GET", "a"), (1, "EXEC"),
        (1, "WATCH", "nokey"), (2, "DEL", "nokey"), (1, "MULTI"), (1, "EXEC"),
        (1, "WATCH", "nokey"), (2, "SET", "nokey", "1"), (2, "DEL", "nokey"), (1, "MULTI"), (1, "EXEC"),
        (1, "SET", "k", "1"), (1, "WATCH", "k"), (1, "SET", "k", "2"), (1, "MULTI"), (1, "EXEC"),
        (1, "WATCH", "k"), (2, "INCRBY", "k", "0"), (1, "MULTI"), (1, "EXEC"),
        (1, "WATCH", "k"), (2, "TOUCH", "k"), (1, "MULTI"), (1, "EXEC"),
        (1, "WATCH", "k"), (2, "GET", "k"), (1, "MULTI"), (1, "EXEC"),
        (1, "WATCH", "k"), (2, "EXPIRE", "k", "100"), (1, "MULTI"), (1, "EXEC"),
        (1, "WATCH", "k"), (2, "PERSIST", "k"), (1, "MULTI"), (1, "EXEC"),
        (1, "WATCH", "k"), (2, "PERSIST", "k"), (1, "MULTI"), (1, "EXEC"),
        (1, "WATCH", "k"), (2, "APPEND", "k", ""), (1, "MULTI"), (1, "EXEC"),
        (1, "WATCH", "k"), (2, "EXPIRE", "k", "0"), (1, "MULTI"), (1, "EXEC"),
        (1, "SET", "k", "v"), (1, "WATCH", "k"), (2, "EVAL", "redis.call('set', KEYS[1], 'x')", "1", "k"),
        (1, "MULTI"), (1, "EXEC"),
        (1, "WATCH", "k"), (2, "MULTI"), (2, "SET", "k", "y"), (2, "EXEC"), (1, "MULTI"), (1, "EXEC"),
        (1, "WATCH", "k"), (2, "MULTI"), (2, "SET", "k", "y"), (2, "DISCARD"), (1, "MULTI"), (1, "EXEC"),
    ]
    for who, *cmd in steps:
        (pair.same if who == 1 else two.same)(*cmd)


def test_watch_flush_and_swapdb(pair, two):
    steps = [
        (1, "SET", "k", "v"), (1, "WATCH", "k"), (2, "FLUSHALL"), (1, "MULTI"), (1, "EXEC"),
        (1, "WATCH", "k"), (2, "FLUSHALL"), (1, "MULTI"), (1, "EXEC"),
        (1, "SET", "k", "v"), (1, "WATCH", "k"), (2, "FLUSHDB"), (1, "MULTI"), (1, "EXEC"),
        (1, "SET", "k", "v"), (1, "WATCH", "k"), (2, "SELECT", "1"), (2, "FLUSHDB"), (1, "MULTI"), (1, "EXEC"),
        (2, "SELECT", "0"),
        (1, "SET", "k", "v"), (1, "WATCH", "k"), (2, "SWAPDB", "0", "1"), (1, "MULTI"), (1, "EXEC"),
        (1, "FLUSHALL"), (1, "WATCH", "k"), (2, "SELECT", "1"), (2, "SET", "k", "1"), (2, "SELECT", "0"),
        (2, "SWAPDB", "0", "1"), (1, "MULTI"), (1, "EXEC"),
        (1, "FLUSHALL"), (1, "WATCH", "k"), (2, "SELECT", "2"), (2, "SET", "k", "1"), (2, "SELECT", "0"),
        (2, "SWAPDB", "2", "3"), (1, "MULTI"), (1, "EXEC"),
        (1, "SELECT", "4"), (1, "WATCH", "k"), (1, "SELECT", "0"), (2, "SELECT", "4"), (2, "SET", "k", "1"),
        (1, "MULTI"), (1, "EXEC"),
    ]
    for who, *cmd in steps:
        (pair.same if who == 1 else two.same)(*cmd)


def test_watch_key_expiring_after_watch(pair, two):
    import time
    pair.same("SET", "k", "v", "PX", "100")
    pair.same("WATCH", "k")
    time.sleep(0.2)
    pair.same("MULTI")
    pair.same("EXEC")


class TxMachine(DifferentialMachine):
    """Transactions interleaved with a second client's writes on a tiny key set."""

    def __init__(self, pair):
        super().__init__(pair)
        self.two = Two(pair)
        self.in_multi = False

    def teardown(self):
        self.two.close()

    @rule(ks=st.lists(keys, min_size=1, max_size=3))
    def watch(self, ks):
        self.pair.same("WATCH", *ks)

    @rule()
    def unwatch(self):
        self.pair.same("UNWATCH")

    @rule()
    def multi(self):
        self.pair.same("MULTI")
        self.in_multi = True

    @rule()
    def exec_(self):
        self.pair.same("EXEC")
        self.in_multi = False

    @rule()
    def discard(self):
        self.pair.same("DISCARD")
        self.in_multi = False

    @rule(k=keys, v=values)
    def set_(self, k, v):
        self.pair.same("SET", k, v)

    @rule(k=keys)
    def incr(self, k):
        self.pair.same("INCR", k)

    @rule(k=keys)
    def get(self, k):
        self.pair.same("GET", k)

    @rule(k=keys, v=values)
    def other_set(self, k, v):
        self.two.same("SET", k, v)

    @rule(k=keys)
    def other_del(self, k):
        self.two.same("DEL", k)

    @rule(k=keys)
    def other_expire(self, k):
        self.two.same("EXPIRE", k, "100")


def test_transactions_fuzz(pair):
    TxMachine.run(pair)
