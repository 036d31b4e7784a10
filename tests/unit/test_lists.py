"""Unit tests for the list family (redislite/commands/lists.py, storage/types/list.py).

No network: a task.Clock drives time and timeouts, several ``Client`` objects
stand in for connections (a blocked client's reply lands in ``client.pushed``).
Expected replies were taken from a real redis-server 7.0.15; the same cases
run differentially in tests/compat/test_lists_compat.py, and the write events
are what Redis 7.0 writes to its AOF for the same input.
"""

import random

import pytest
from twisted.internet import task

from redislite import blocking, errors
from redislite.commands import load_all
from redislite.commands.keys import duplicate_value, object_encoding
from redislite.config import Config
from redislite.errors import ReplyError
from redislite.protocol import Client
from redislite.resp.encoder import OK, NullArray, Status, encode
from redislite.server import Server
from redislite.storage.keyspace import KEY_OVERHEAD, sizeof_bytes, value_memory
from redislite.storage.types.list import ListValue

load_all()

T0 = 1_700_000_000
WRONGTYPE = ReplyError(errors.WRONGTYPE)
SYNTAX = ReplyError(errors.SYNTAX)
NOT_INT = ReplyError(errors.NOT_INTEGER)
POSITIVE = ReplyError(errors.OUT_OF_RANGE_POSITIVE)
BLOCKED = blocking.BLOCKED


class Env:
    def __init__(self, shards=None):
        self.clock = task.Clock()
        self.clock.advance(T0)
        self.srv = Server(Config.defaults(), self.clock, shards=shards)
        self.events = []
        self.srv.bus.subscribe(lambda db, argv: self.events.append((db, argv)))
        self.notes = []
        for shard in self.srv.shards:
            shard.notifier = lambda db, cls, event, key: self.notes.append((cls, event, key))
        self.c = self.client()

    def client(self):
        c = Client(self.srv)
        self.srv.add_client(c)
        return c

    def call(self, *args):
        return self.c.call(*args)

    def run(self, client, *args):
        """A top-level command as the protocol runs it (serves waiters afterwards)."""
        return client.dispatch([a if isinstance(a, bytes) else str(a).encode() for a in args])

    def ks(self, key, db=0):
        key = key.encode() if isinstance(key, str) else key
        return self.srv.router.shard_for(key).dbs[db]

    def take_events(self):
        out, self.events[:] = list(self.events), []
        return out

    def advance(self, seconds):
        self.clock.advance(seconds)
        self.srv.now.refresh()


@pytest.fixture(params=[1, 4], ids=["1shard", "4shards"])
def env(request):
    return Env(shards=request.param)


def L(*items):
    return [i.encode() if isinstance(i, str) else i for i in items]


def check_memory(env):
    """Every keyspace's incremental ``mem`` equals a recount (keys + values)."""
    for shard in env.srv.shards:
        for ks in shard.dbs:
            total = 0
            for k, v in ks.iter_items():
                total += sizeof_bytes(k) + KEY_OVERHEAD + value_memory(v)
                if isinstance(v, ListValue):
                    assert v.mem == ListValue(v.items).mem
            assert ks.mem == total


# ---------------------------------------------------------------------------
# the value class
# ---------------------------------------------------------------------------

def test_value_class_basics():
    lst = ListValue()
    assert lst.TYPE == "list" and lst.encoding() == "quicklist" and len(lst) == 0
    lst.push(L("a", "b", "c"), True)
    assert list(lst) == L("c", "b", "a")
    lst.push(L("x"), False)
    assert lst.get(0) == b"c" and lst.get(-1) == b"x" and lst.get(4) is None and lst.get(-5) is None
    assert lst.set(-1, b"y") and not lst.set(4, b"z")
    assert lst.pop(True) == b"c" and lst.pop(False) == b"y"
    assert lst.pop_many(5, False) == L("a", "b")
    assert lst.mem == ListValue().mem
    dup = ListValue(L("a", "b"))
    cp = dup.copy()
    cp.push_one(b"c", False)
    assert list(dup) == L("a", "b") and list(cp) == L("a", "b", "c") and cp.mem > dup.mem


def test_value_memory_tracks_every_mutation():
    rnd = random.Random(7)
    lst = ListValue()
    for _ in range(2000):
        op = rnd.randrange(8)
        v = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 40)))
        n = len(lst)
        if op == 0:
            lst.push([v, v + b"x"], rnd.random() < 0.5)
        elif op == 1 and n:
            lst.pop(rnd.random() < 0.5)
        elif op == 2:
            lst.pop_many(rnd.randrange(4), rnd.random() < 0.5)
        elif op == 3 and n:
            lst.set(rnd.randrange(-n, n), v)
        elif op == 4 and n:
            lst.insert(lst.get(rnd.randrange(n)), v, rnd.random() < 0.5)
        elif op == 5 and n:
            lst.remove(lst.get(rnd.randrange(n)), rnd.randrange(-2, 3))
        elif op == 6 and n:
            a = rnd.randrange(n)
            lst.trim(a // 2, (n - a) // 3)
        else:
            lst.push_one(v, rnd.random() < 0.5)
        assert lst.mem == ListValue(lst.items).mem


def test_range_walks_from_either_end():
    lst = ListValue([str(i).encode() for i in range(1000)])
    for a, b in [(0, 999), (0, 0), (999, 999), (10, 20), (900, 950), (499, 501), (1, 998)]:
        assert lst.range(a, b) == [str(i).encode() for i in range(a, b + 1)]


def test_positions_match_redis_loop():
    lst = ListValue(L("a", "b", "c", "a", "b", "c", "a"))
    assert lst.positions(b"a", 1, None, 0) == 0
    assert lst.positions(b"a", -1, None, 0) == 6
    assert lst.positions(b"a", 2, 0, 0) == [3, 6]
    assert lst.positions(b"a", -2, 2, 0) == [3, 0]
    assert lst.positions(b"a", 1, 0, 3) == [0]
    assert lst.positions(b"a", -1, 0, 1) == [6]
    assert lst.positions(b"z", 1, None, 0) is None
    assert lst.positions(b"a", 4, 1, 0) == []
    # RANK LONG_MIN: -rank overflows in C, every match qualifies and COUNT never stops it
    assert lst.positions(b"a", -(1 << 63), None, 0) == 6
    assert lst.positions(b"a", -(1 << 63), 1, 0) == [6, 3, 0]
    assert lst.positions(b"a", -(1 << 63), 1, 2) == [6]
    assert lst.positions(b"a", (1 << 63) - 1, 1, 0) == []


# ---------------------------------------------------------------------------
# commands: replies and errors (from redis-server 7.0.15)
# ---------------------------------------------------------------------------

def test_push_pop_len(env):
    assert env.call("LPUSH", "l", "a", "b") == 2
    assert env.call("RPUSH", "l", "c") == 3
    assert env.call("LPUSHX", "l", "z") == 4
    assert env.call("RPUSHX", "nokey", "z") == 0
    assert env.call("EXISTS", "nokey") == 0
    assert env.call("LRANGE", "l", "0", "-1") == L("z", "b", "a", "c")
    assert env.call("LLEN", "l") == 4 and env.call("LLEN", "nokey") == 0
    assert env.call("LPOP", "l") == b"z"
    assert env.call("RPOP", "l", "2") == L("c", "a")
    assert env.call("LPOP", "l", "0") == []
    assert env.call("LPOP", "l", "5") == L("b")
    assert env.call("EXISTS", "l") == 0
    assert env.call("LPOP", "l") is None
    assert env.call("LPOP", "l", "0") is NullArray
    assert env.call("RPOP", "l", "1") is NullArray
    assert env.call("LPOP", "l", "-1") == POSITIVE
    assert env.call("LPOP", "l", "abc") == POSITIVE
    assert env.call("LPOP", "l", "1", "2") == ReplyError("ERR wrong number of arguments for 'lpop' command")
    assert env.call("RPOP", "l", "1", "2") == ReplyError("ERR wrong number of arguments for 'rpop' command")
    check_memory(env)


def test_reads(env):
    env.call("RPUSH", "l", "a", "b", "c")
    assert env.call("LINDEX", "l", "-1") == b"c"
    assert env.call("LINDEX", "l", "3") is None
    assert env.call("LINDEX", "l", "x") == NOT_INT
    assert env.call("LINDEX", "nokey", "x") is None      # key looked up before the index is parsed
    assert env.call("LRANGE", "nokey", "x", "1") == NOT_INT  # LRANGE parses first
    assert env.call("LRANGE", "l", "-100", "100") == L("a", "b", "c")
    assert env.call("LRANGE", "l", "2", "1") == []
    assert env.call("LRANGE", "l", "-1", "-2") == []
    assert env.call("LRANGE", "l", str(-(1 << 63)), str((1 << 63) - 1)) == L("a", "b", "c")
    assert env.call("OBJECT", "ENCODING", "l") == b"quicklist"
    assert env.call("TYPE", "l") == Status("list")


def test_lset_linsert_lrem_ltrim(env):
    assert env.call("LSET", "nokey", "x", "v") == ReplyError("ERR no such key")
    env.call("RPUSH", "l", "a", "b", "a", "c")
    assert env.call("LSET", "l", "x", "v") == NOT_INT
    assert env.call("LSET", "l", "4", "v") == ReplyError("ERR index out of range")
    assert env.call("LSET", "l", "-4", "A") == OK
    assert env.call("LINSERT", "l", "middle", "a", "b") == SYNTAX
    assert env.call("LINSERT", "nokey", "BEFORE", "a", "b") == 0
    assert env.call("LINSERT", "l", "before", "zz", "b") == -1
    assert env.call("LINSERT", "l", b"after\x00junk", "a", "X") == 5
    assert env.call("LRANGE", "l", "0", "-1") == L("A", "b", "a", "X", "c")
    assert env.call("LREM", "l", "x", "a") == NOT_INT
    assert env.call("LREM", "nokey", "1", "a") == 0
    env.call("RPUSH", "r", "a", "b", "a", "c", "a")
    assert env.call("LREM", "r", "-2", "a") == 2
    assert env.call("LRANGE", "r", "0", "-1") == L("a", "b", "c")
    assert env.call("LTRIM", "r", "x", "1") == NOT_INT
    assert env.call("LTRIM", "nokey", "0", "1") == OK
    assert env.call("LTRIM", "r", "1", "-1") == OK
    assert env.call("LRANGE", "r", "0", "-1") == L("b", "c")
    assert env.call("LTRIM", "r", "5", "1") == OK
    assert env.call("EXISTS", "r") == 0
    check_memory(env)


def test_lpos_options(env):
    env.call("RPUSH", "l", "a", "b", "c", "a", "b", "c", "a")
    rank0 = ReplyError(errors.LPOS_RANK_ZERO)
    assert env.call("LPOS", "l", "a", "RANK", "0") == rank0
    assert env.call("LPOS", "nokey", "a", "RANK", "0") == rank0
    assert env.call("LPOS", "l", "a", "COUNT", "x") == ReplyError("ERR COUNT can't be negative")
    assert env.call("LPOS", "l", "a", "MAXLEN", "-1") == ReplyError("ERR MAXLEN can't be negative")
    assert env.call("LPOS", "l", "a", "RANK", "x") == NOT_INT
    assert env.call("LPOS", "l", "a", "RANK") == SYNTAX
    assert env.call("LPOS", "l", "a", "FOO", "1") == SYNTAX
    assert env.call("LPOS", "l", "a", "RANK", str(-(1 << 63)), "COUNT", "1") == [6, 3, 0]
    assert env.call("LPOS", "l", "a", "count", "1", "rank", "-2") == [3]
    assert env.call("LPOS", "l", "a", "COUNT", "1", "COUNT", "0") == [0, 3, 6]
    assert env.call("LPOS", "nokey", "a") is None
    assert env.call("LPOS", "nokey", "a", "COUNT", "1") == []


def test_wrongtype(env):
    env.call("SET", "s", "x")
    env.call("RPUSH", "l", "a")
    for args in [("LPUSH", "s", "a"), ("LPUSHX", "s", "a"), ("LPOP", "s", "0"), ("LLEN", "s"),
                 ("LRANGE", "s", "0", "1"), ("LINDEX", "s", "x"), ("LSET", "s", "x", "a"),
                 ("LINSERT", "s", "BEFORE", "a", "b"), ("LREM", "s", "0", "a"), ("LTRIM", "s", "0", "1"),
                 ("LPOS", "s", "a"), ("LMOVE", "s", "l", "LEFT", "LEFT"), ("LMOVE", "l", "s", "LEFT", "LEFT"),
                 ("LMPOP", "2", "nokey", "s", "LEFT"), ("BLPOP", "nokey", "s", "0"),
                 ("BLMOVE", "s", "l", "LEFT", "LEFT", "0"), ("BLMPOP", "0", "1", "s", "LEFT")]:
        assert env.call(*args) == WRONGTYPE, args
    assert env.call("LRANGE", "l", "0", "-1") == L("a")
    assert env.take_events()[-1] == (0, (b"RPUSH", b"l", b"a"))


def test_lmove_and_rpoplpush(env):
    env.call("RPUSH", "a", "1", "2", "3")
    assert env.call("LMOVE", "a", "b", "up", "LEFT") == SYNTAX
    assert env.call("LMOVE", "nokey", "b", "LEFT", "RIGHT") is None
    assert env.call("LMOVE", "a", "b", "left", "right") == b"1"
    assert env.call("RPOPLPUSH", "a", "b") == b"3"
    assert env.call("LRANGE", "b", "0", "-1") == L("3", "1")
    assert env.call("LMOVE", "a", "a", "LEFT", "RIGHT") == b"2"     # one element onto itself
    assert env.call("LRANGE", "a", "0", "-1") == L("2")
    assert env.call("LMOVE", "a", "{b}c", "RIGHT", "LEFT") == b"2"
    assert env.call("EXISTS", "a") == 0
    check_memory(env)


def test_lmpop_parsing_and_replies(env):
    numkeys = ReplyError("ERR numkeys should be greater than 0")
    count = ReplyError("ERR count should be greater than 0")
    assert env.call("LMPOP", "0", "l", "LEFT") == numkeys
    assert env.call("LMPOP", "x", "l", "LEFT") == numkeys
    assert env.call("LMPOP", "2", "l", "LEFT") == SYNTAX
    assert env.call("LMPOP", str((1 << 63) - 1), "l", "LEFT") == SYNTAX
    assert env.call("LMPOP", "1", "l", "UP") == SYNTAX
    assert env.call("LMPOP", "1", "l", "LEFT", "COUNT") == SYNTAX
    assert env.call("LMPOP", "1", "l", "LEFT", "COUNT", "0") == count
    assert env.call("LMPOP", "1", "l", "LEFT", "COUNT", "1", "COUNT", "1") == SYNTAX
    assert env.call("LMPOP", "1", "l", "LEFT") is NullArray
    env.call("RPUSH", "l", "a", "b", "c")
    assert env.call("LMPOP", "2", "nokey", "l", "RIGHT", "COUNT", "2") == [b"l", L("c", "b")]
    assert env.call("LMPOP", "1", "l", "LEFT", "count", "9") == [b"l", L("a")]
    assert env.call("EXISTS", "l") == 0


def test_expired_list_is_replaced(env):
    env.call("RPUSH", "l", "a")
    env.call("PEXPIRE", "l", "100")
    env.advance(0.2)
    assert env.call("LPUSHX", "l", "x") == 0
    assert env.call("LPUSH", "l", "x") == 1
    assert env.call("PTTL", "l") == -1
    evs = env.take_events()
    assert (0, (b"DEL", b"l")) in evs and evs[-1] == (0, (b"LPUSH", b"l", b"x"))


def test_copy_is_deep(env):
    env.call("RPUSH", "l", "a", "b")
    ks = env.ks("l")
    v = ks.lookup_read(b"l")
    dup = duplicate_value(v)
    assert dup is not v and dup.items is not v.items and list(dup) == list(v)
    assert object_encoding(dup) == "quicklist"


# ---------------------------------------------------------------------------
# write events and notifications
# ---------------------------------------------------------------------------

def test_write_events(env):
    env.call("RPUSH", "l", "a", "b", "c", "d")
    env.call("LPUSHX", "nokey", "x")           # nothing
    env.call("LPOP", "l", "0")                 # nothing
    env.call("LPOP", "nokey", "2")             # nothing
    env.call("RPOP", "l", "1")
    env.call("LSET", "l", "0", "A")
    env.call("LSET", "l", "9", "A")            # error: nothing
    env.call("LINSERT", "l", "AFTER", "A", "x")
    env.call("LINSERT", "l", "AFTER", "zz", "x")  # nothing
    env.call("LREM", "l", "0", "zz")           # nothing
    env.call("LREM", "l", "1", "x")
    env.call("LTRIM", "l", "0", "-1")          # nothing removed: nothing
    env.call("LTRIM", "l", "1", "-1")
    env.call("LMOVE", "l", "m", "left", "RIGHT")
    env.call("RPOPLPUSH", "m", "m")
    env.call("LMPOP", "2", "nokey", "l", "LEFT", "COUNT", "7")
    env.call("RPUSH", "q", "1", "2")
    env.call("BLPOP", "q", "0")
    env.call("BLMPOP", "0", "1", "q", "RIGHT", "COUNT", "3")
    env.call("RPUSH", "q", "1")
    env.call("BLMOVE", "q", "m", "right", "left", "0")
    env.call("BRPOPLPUSH", "m", "q", "0")
    assert [e[1] for e in env.take_events()] == [
        (b"RPUSH", b"l", b"a", b"b", b"c", b"d"),
        (b"RPOP", b"l", b"1"),
        (b"LSET", b"l", b"0", b"A"),
        (b"LINSERT", b"l", b"AFTER", b"A", b"x"),
        (b"LREM", b"l", b"1", b"x"),
        (b"LTRIM", b"l", b"1", b"-1"),
        (b"LMOVE", b"l", b"m", b"left", b"RIGHT"),
        (b"RPOPLPUSH", b"m", b"m"),
        (b"LPOP", b"l", b"1"),
        (b"RPUSH", b"q", b"1", b"2"),
        (b"LPOP", b"q"),
        (b"RPOP", b"q", b"1"),
        (b"RPUSH", b"q", b"1"),
        (b"LMOVE", b"q", b"m", b"right", b"left"),
        (b"RPOPLPUSH", b"m", b"q"),
    ]


def test_keyspace_notifications(env):
    env.call("RPUSH", "l", "a", "b")
    env.call("LPUSH", "l", "c")
    env.call("LSET", "l", "0", "x")
    env.call("LINSERT", "l", "BEFORE", "x", "y")
    env.call("LREM", "l", "1", "y")
    env.call("LTRIM", "l", "0", "-1")
    env.call("LMOVE", "l", "m", "LEFT", "RIGHT")
    env.call("RPOP", "l", "5")
    assert env.notes == [
        ("l", "rpush", b"l"), ("l", "lpush", b"l"), ("l", "lset", b"l"), ("l", "linsert", b"l"),
        ("l", "lrem", b"l"), ("l", "ltrim", b"l"), ("l", "rpush", b"m"), ("l", "lpop", b"l"),
        ("l", "rpop", b"l"), ("g", "del", b"l"),
    ]


def test_watch_is_signalled(env):
    class Watcher:
        watch_dirty = False
    w = Watcher()
    env.call("RPUSH", "l", "a", "b")
    ks = env.ks("l")
    for args in [("RPUSH", "l", "c"), ("LSET", "l", "0", "z"), ("LPOP", "l"), ("LTRIM", "l", "0", "-1"),
                 ("LREM", "l", "0", "b"), ("LINSERT", "l", "BEFORE", "c", "q"), ("LMOVE", "l", "l", "LEFT", "LEFT")]:
        ks.observe()
        ks.watched[b"l"] = {w}
        w.watch_dirty = False
        env.call(*args)
        assert w.watch_dirty, args
    ks.watched[b"l"] = {w}
    w.watch_dirty = False
    env.call("LREM", "l", "0", "nothing")
    env.call("LINSERT", "l", "BEFORE", "nothing", "q")
    assert not w.watch_dirty


# ---------------------------------------------------------------------------
# blocking
# ---------------------------------------------------------------------------

def test_blpop_blocks_and_is_served(env):
    a = env.client()
    assert env.run(a, "BLPOP", "k1", "k2", "0") is BLOCKED
    assert env.srv.blocked_clients == 1
    assert env.run(env.c, "RPUSH", "k2", "x", "y") == 2
    assert a.pushed == [[b"k2", b"x"]]
    assert env.call("LRANGE", "k2", "0", "-1") == L("y")
    assert env.srv.blocked_clients == 0
    assert [e[1] for e in env.take_events()] == [(b"RPUSH", b"k2", b"x", b"y"), (b"LPOP", b"k2")]
    check_memory(env)


def test_fifo_across_clients_and_keys(env):
    a, b, c = env.client(), env.client(), env.client()
    env.run(a, "BRPOP", "q", "0")
    env.run(b, "BLPOP", "other", "q", "0")
    env.run(c, "BLPOP", "q", "0")
    env.run(env.c, "RPUSH", "q", "1", "2")
    assert a.pushed == [[b"q", b"2"]] and b.pushed == [[b"q", b"1"]] and c.pushed == []
    assert env.call("EXISTS", "q") == 0
    env.run(env.c, "LPUSH", "other", "z")
    assert c.pushed == []
    assert env.call("LLEN", "other") == 1
    env.run(env.c, "LPUSH", "q", "3")
    assert c.pushed == [[b"q", b"3"]]


def test_timeouts_on_the_clock(env):
    a, b, c = env.client(), env.client(), env.client()
    env.run(a, "BLPOP", "k", "0.5")
    env.run(b, "BLMOVE", "k", "d", "LEFT", "LEFT", "1.5")
    env.run(c, "BLMPOP", "0", "1", "k", "LEFT")   # 0: forever
    env.advance(0.49)
    assert a.pushed == []
    env.advance(0.02)
    assert a.pushed == [NullArray]
    env.advance(1.0)
    assert b.pushed == [NullArray]
    env.advance(10_000)
    assert c.pushed == []
    env.run(env.c, "RPUSH", "k", "v")
    assert c.pushed == [[b"k", [b"v"]]]
    assert encode(NullArray) == b"*-1\r\n" and encode(NullArray, True) == b"_\r\n"


def test_timeout_parse_errors(env):
    assert env.call("BLPOP", "k", "x") == ReplyError("ERR timeout is not a float or out of range")
    assert env.call("BLPOP", "k", "-1") == ReplyError("ERR timeout is negative")
    assert env.call("BLMPOP", "x", "1", "k", "LEFT", "COUNT", "0") == ReplyError(errors.LIST_COUNT_POSITIVE)
    env.call("SET", "s", "v")
    assert env.call("BLMPOP", "-1", "1", "s", "LEFT") == ReplyError("ERR timeout is negative")
    assert env.call("BLMOVE", "s", "d", "UP", "LEFT", "x") == SYNTAX


def test_disconnect_cancels_the_wait(env):
    a, b = env.client(), env.client()
    env.run(a, "BLPOP", "k", "5")
    env.run(b, "BLPOP", "k", "0")
    blocking.cancel(a)
    env.run(env.c, "RPUSH", "k", "v1", "v2")
    assert a.pushed == [] and b.pushed == [[b"k", b"v1"]]
    assert env.call("LRANGE", "k", "0", "-1") == L("v2")
    env.advance(10)
    assert a.pushed == []


def test_blmove_chains_into_waiting_keys(env):
    a, b, c = env.client(), env.client(), env.client()
    env.run(a, "BLPOP", "{z}dst", "0")
    env.run(b, "BRPOPLPUSH", "mid", "{z}dst", "0")
    env.run(c, "BLMOVE", "src", "mid", "RIGHT", "LEFT", "0")
    env.take_events()
    env.run(env.c, "RPUSH", "src", "1", "2")
    assert c.pushed == [b"2"] and b.pushed == [b"2"] and a.pushed == [[b"{z}dst", b"2"]]
    assert env.call("LRANGE", "src", "0", "-1") == L("1")
    assert env.call("EXISTS", "mid", "{z}dst") == 0
    assert [e[1] for e in env.take_events()] == [
        (b"RPUSH", b"src", b"1", b"2"),
        (b"LMOVE", b"src", b"mid", b"RIGHT", b"LEFT"),
        (b"RPOPLPUSH", b"mid", b"{z}dst"),
        (b"LPOP", b"{z}dst"),
    ]
    check_memory(env)


def test_blmove_wrongtype_destination_ends_the_wait(env):
    a, b = env.client(), env.client()
    env.run(a, "BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
    env.run(b, "BLPOP", "src", "0")
    env.call("SET", "dst", "x")
    env.run(env.c, "RPUSH", "src", "v")
    assert a.pushed == [WRONGTYPE]
    assert b.pushed == [[b"src", b"v"]]          # the next waiter still gets the element


def test_waiter_ignores_key_of_another_type(env):
    a = env.client()
    env.run(a, "BLPOP", "k", "0")
    env.run(env.c, "SET", "k", "str")
    assert a.pushed == [] and env.srv.blocked_clients == 1
    env.call("DEL", "k")
    env.run(env.c, "RPUSH", "k", "v")
    assert a.pushed == [[b"k", b"v"]]


def test_no_block_in_exec_or_scripts(env):
    """Inside MULTI/EXEC block() answers at once: null array, but a null bulk for BLMOVE."""
    env.c.no_block = True
    assert env.run(env.c, "BLPOP", "k", "0") is NullArray
    assert env.run(env.c, "BLMPOP", "0", "1", "k", "LEFT") is NullArray
    assert env.run(env.c, "BLMOVE", "k", "d", "LEFT", "LEFT", "0") is None
    assert env.run(env.c, "BRPOPLPUSH", "k", "d", "0") is None
    env.c.no_block = False
    assert env.srv.blocked_clients == 0


def test_push_then_pop_in_one_command_batch_wakes_after(env):
    """Waiters are served after the top-level command: a push undone by the same
    transaction (simulated by running ops with execute, as EXEC does) serves nobody."""
    a = env.client()
    env.run(a, "BLPOP", "k", "0")
    env.c.execute([b"RPUSH", b"k", b"x"])
    env.c.execute([b"LPOP", b"k"])
    assert a.pushed == []
    env.run(env.c, "PING")
    assert a.pushed == [] and env.srv.blocked_clients == 1


def test_client_unblock(env):
    a = env.client()
    env.run(a, "BLMOVE", "k", "d", "LEFT", "LEFT", "0")
    assert env.call("CLIENT", "UNBLOCK", str(a.id)) == 1
    assert a.pushed == [NullArray]
    env.run(a, "BLPOP", "k", "0")
    assert env.call("CLIENT", "UNBLOCK", str(a.id), "ERROR") == 1
    assert a.pushed[-1] == ReplyError("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    assert env.call("CLIENT", "UNBLOCK", str(a.id)) == 0


def test_served_in_other_db(env):
    a = env.client()
    a.db = 3
    env.run(a, "BLPOP", "k", "0")
    env.run(env.c, "RPUSH", "k", "db0")
    assert a.pushed == []
    env.c.db = 3
    env.run(env.c, "RPUSH", "k", "db3")
    assert a.pushed == [[b"k", b"db3"]]
    assert env.take_events()[-1] == (3, (b"LPOP", b"k"))


def test_one_modification_signal_per_key_and_command(env):
    """WATCH / client tracking hear about each touched key once (Redis's signalModifiedKey)."""
    seen = []
    for shard in env.srv.shards:
        shard.on_modified.append(lambda db, key: seen.append(key))
        for ks in shard.dbs:
            ks.observe()
    cases = [
        (("RPUSH", "l", "a", "b", "c"), [b"l"]), (("LPUSH", "l", "z"), [b"l"]), (("LPOP", "l"), [b"l"]),
        (("LSET", "l", "0", "q"), [b"l"]), (("LREM", "l", "1", "q"), [b"l"]), (("LTRIM", "l", "0", "0"), [b"l"]),
        (("LMOVE", "l", "m", "LEFT", "LEFT"), [b"m", b"l"]), (("RPOP", "m", "3"), [b"m"]),
        (("LPOP", "m"), []), (("LREM", "nokey", "0", "x"), []),
    ]
    for args, expected in cases:
        seen.clear()
        env.call(*args)
        assert seen == expected, args


def test_retry_prefers_the_ready_key(env):
    """Redis serves a waiter from the key that became ready (serveClientsBlockedOnListKey);
    the retry takes it when blocking.py passes it, else scans the keys in order."""
    from redislite.commands.lists import _retry_pop
    env.call("RPUSH", "ka", "a")
    env.call("RPUSH", "kb", "b")
    retry = _retry_pop(env.c, [b"ka", b"kb"], True, None)
    assert retry(b"kb") == [b"kb", b"b"]
    assert retry() == [b"ka", b"a"]
    assert retry() is None
