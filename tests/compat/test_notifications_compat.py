"""Keyspace notifications per command, byte for byte against a real redis-server 7.0.

A subscriber on ``__key*__:*`` (both servers) is fenced with PING after every
command, so the exact message sequence each command fires is compared,
including ``new`` (n), ``keymiss`` (m), ``expired`` (x) and ``evicted`` (e).
"""
from __future__ import annotations

import time

import pytest

from tests.compat.test_pubsub_compat import Duo

pytestmark = pytest.mark.compat

_ALL = "KEA"


@pytest.fixture
def events(pair):
    """(subscriber Duo, set_flags) with notify-keyspace-events restored afterwards."""
    sub = Duo(pair)

    def set_flags(flags):
        pair.same("CONFIG", "SET", "notify-keyspace-events", flags)
        pair.same("CONFIG", "GET", "notify-keyspace-events")

    sub.same("PSUBSCRIBE", "__key*__:*")
    try:
        yield sub, set_flags
    finally:
        for c in (pair.oracle, pair.subject):
            c.call("CONFIG", "SET", "notify-keyspace-events", "")
            c.call("CONFIG", "SET", "maxmemory", "0")
            c.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
        sub.close()


def run(pair, sub, commands):
    for cmd in commands:
        pair.same(*cmd)
        o, s = sub.fence()
        assert o == s, (cmd, o, s)


STRING_SCRIPT = [
    ("SET", "s", "1"), ("SET", "s", "2", "EX", "100"), ("SET", "s", "3", "NX"),
    ("SET", "s", "4", "XX", "GET"), ("SET", "new", "v", "GET"), ("SET", "s", "5", "KEEPTTL"),
    ("SET", "s", "6", "PXAT", "99999999999999"), ("SETNX", "s", "x"), ("SETNX", "nx", "x"),
    ("SETEX", "ex", "100", "v"), ("PSETEX", "px", "100000", "v"), ("GETSET", "s", "7"),
    ("GETSET", "gs", "1"), ("GETDEL", "gs"), ("GETDEL", "gs"), ("GET", "missing"),
    ("GETEX", "s", "EX", "50"), ("GETEX", "s", "PERSIST"), ("GETEX", "s", "PERSIST"),
    ("GETEX", "s"), ("GETEX", "missing"), ("GETEX", "px", "PXAT", "1"),
    ("APPEND", "ap", "x"), ("APPEND", "ap", "yz"), ("APPEND", "ap", ""),
    ("SETRANGE", "sr", "0", ""), ("SETRANGE", "sr", "2", "ab"), ("SETRANGE", "sr", "0", ""),
    ("SETRANGE", "sr", "1", "Z"), ("INCR", "n"), ("DECR", "n"), ("INCRBY", "n", "5"),
    ("DECRBY", "n", "2"), ("INCRBYFLOAT", "f", "1.5"), ("INCR", "ap"),
    ("MSET", "m1", "1", "m2", "2", "m1", "3"), ("MSETNX", "m3", "1", "m1", "2"),
    ("MSETNX", "m4", "1", "m5", "2"), ("MGET", "m1", "zz", "m4"), ("STRLEN", "zz"),
    ("GETRANGE", "zz", "0", "1"), ("SUBSTR", "m1", "0", "1"),
    ("SET", "s", "v", "EX", "0"), ("SET", "bad", "v", "BADOPT"),
]

KEYS_SCRIPT = [
    ("SET", "a", "1"), ("SET", "b", "2"), ("SET", "{t}c", "3"), ("DEL", "a", "zz", "b"),
    ("UNLINK", "{t}c", "zz"), ("EXISTS", "zz", "zz"), ("TYPE", "zz"), ("TTL", "zz"),
    ("PTTL", "zz"), ("EXPIRETIME", "zz"), ("OBJECT", "ENCODING", "zz"), ("TOUCH", "zz"),
    ("SET", "r", "1"), ("RENAME", "r", "r2"), ("RENAME", "r2", "r2"), ("SET", "r3", "x"),
    ("RENAME", "r2", "r3"), ("RENAMENX", "r3", "r4"), ("SET", "r5", "1"),
    ("RENAMENX", "r4", "r5"), ("RENAME", "nope", "x"),
    ("COPY", "r4", "c1"), ("COPY", "r4", "c1"), ("COPY", "r4", "c1", "REPLACE"),
    ("COPY", "r4", "c1", "DB", "2"), ("COPY", "zz", "c9"),
    ("MOVE", "c1", "3"), ("MOVE", "c1", "3"), ("MOVE", "zz", "3"),
    ("EXPIRE", "r4", "100"), ("PEXPIRE", "r4", "50000", "GT"), ("PEXPIRE", "r4", "200000", "GT"), ("EXPIRE", "r4", "10", "NX"),
    ("EXPIREAT", "r4", "99999999999"), ("PEXPIREAT", "r4", "99999999999999"),
    ("PERSIST", "r4"), ("PERSIST", "r4"), ("EXPIRE", "zz", "10"), ("EXPIRE", "r4", "-1"),
    ("SET", "p", "1"), ("PEXPIREAT", "p", "1"), ("SELECT", "3"), ("SET", "indb3", "1"),
    ("DEL", "c1"), ("SELECT", "0"), ("FLUSHDB",), ("SET", "x", "1"), ("FLUSHALL",),
    ("SWAPDB", "0", "1"),
]


@pytest.mark.parametrize("flags", ["KEA", "KEAnm", "K$", "Eg", "Ex", "Kgn", "Em", "A", "E$g"])
def test_string_commands(pair, events, flags):
    sub, set_flags = events
    set_flags(flags)
    run(pair, sub, STRING_SCRIPT)


@pytest.mark.parametrize("flags", ["KEA", "KEAnm", "Kg", "En", "Em"])
def test_keys_commands(pair, events, flags):
    sub, set_flags = events
    set_flags(flags)
    run(pair, sub, KEYS_SCRIPT)


def test_no_events_when_disabled(pair, events):
    sub, set_flags = events
    set_flags("")
    run(pair, sub, [("SET", "a", "1"), ("DEL", "a"), ("GET", "a")])
    set_flags("KE")       # keyspace/keyevent but no class: nothing either
    run(pair, sub, [("SET", "a", "1"), ("DEL", "a")])
    set_flags("g$")       # classes but no K/E: nothing
    run(pair, sub, [("SET", "a", "1"), ("DEL", "a")])


def test_expired_lazy_and_active(pair, events):
    """Keys expire lazily (GET) or in the active cycle, whichever comes first on each
    server: the events seen over the whole run must be the same multiset."""
    sub, set_flags = events
    set_flags("KEAn")
    run(pair, sub, [("SET", "k1", "1", "PX", "400"), ("SET", "k2", "1", "PX", "400"),
                    ("SET", "k3", "1")])
    time.sleep(0.45)
    got_o, got_s = [], []
    for cmd in (("GET", "k1"), ("SET", "k2", "again")):
        pair.same(*cmd)
        o, s = sub.fence()
        got_o += o
        got_s += s
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not (
            sum(b"__keyevent@0__:expired" in f for f in got_o) == 2
            and sum(b"__keyevent@0__:expired" in f for f in got_s) == 2):
        time.sleep(0.05)
        o, s = sub.fence()
        got_o += o
        got_s += s
    assert sorted(got_o) == sorted(got_s)
    assert sum(b"__keyevent@0__:expired" in f for f in got_s) == 2


def test_evicted(pair, events):
    """Which key is evicted is random on both sides: compare the shape of the events."""
    sub, set_flags = events
    set_flags("Ee")
    for side, c in (("oracle", pair.oracle), ("subject", pair.subject)):
        c.call("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
        used = int(c.call("INFO", "memory").split(b"used_memory:")[1].split(b"\r\n")[0])
        c.call("CONFIG", "SET", "maxmemory", str(used + 200_000))
        for i in range(300):
            c.call("SET", "key:%d" % i, "x" * 1000)
    o, s = sub.fence()
    assert o and s
    for frames in (o, s):
        for f in frames:
            assert b"$22\r\n__keyevent@0__:evicted\r\n" in f, f


def test_keyspace_channel_subscription(pair, events):
    """A plain SUBSCRIBE to one key's channel, in another db."""
    sub, set_flags = events
    set_flags("K$g")
    other = Duo(pair)
    try:
        other.same("SUBSCRIBE", "__keyspace@5__:watched")
        run(pair, sub, [("SELECT", "5"), ("SET", "watched", "1"), ("APPEND", "watched", "2"),
                        ("DEL", "watched"), ("SELECT", "0"), ("SET", "watched", "x")])
        other.pushes_same()
    finally:
        other.close()
