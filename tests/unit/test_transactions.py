"""MULTI/EXEC/DISCARD/WATCH/UNWATCH on a unit-level server (task.Clock, no network).

Texts and the WATCH edge cases (expired keys, FLUSH*, SWAPDB, own writes)
were checked against redis-server 7.0.15; tests/compat/test_transactions_compat.py
compares them byte for byte.
"""

import pytest
from twisted.internet import task

from redislite.commands import load_all
from redislite.config import Config
from redislite.errors import ReplyError
from redislite.protocol import Client
from redislite.resp.encoder import OK, QUEUED, NullArray, Status
from redislite.server import Server

load_all()


@pytest.fixture
def srv():
    clock = task.Clock()
    clock.advance(1_700_000_000)
    s = Server(Config.defaults(), clock)
    s.clock = clock
    return s


@pytest.fixture
def events(srv):
    ev = []
    srv.bus.subscribe(lambda db, argv: ev.append((db, argv)))
    return ev


def err(text):
    return ReplyError(text)


def test_multi_exec_discard_basics(srv):
    c = Client(srv)
    assert c.call("EXEC") == err("ERR EXEC without MULTI")
    assert c.call("DISCARD") == err("ERR DISCARD without MULTI")
    assert c.call("MULTI") == OK
    assert c.call("MULTI") == err("ERR MULTI calls can not be nested")
    assert c.call("SET", "a", "1") == QUEUED
    assert c.call("GET", "a") == QUEUED
    assert c.call("EXEC") == [OK, b"1"]
    assert c.multi is None
    c.call("MULTI")
    c.call("SET", "a", "2")
    assert c.call("DISCARD") == OK
    assert c.call("GET", "a") == b"1"
    c.call("MULTI")
    assert c.call("EXEC") == []


def test_queueing_error_aborts_runtime_error_does_not(srv):
    c = Client(srv)
    c.call("MULTI")
    assert c.call("NOSUCH").message.startswith("ERR unknown command")
    c.call("SET", "a", "1")
    assert c.call("EXEC") == err("EXECABORT Transaction discarded because of previous errors.")
    assert c.call("GET", "a") is None
    c.call("MULTI")
    assert c.call("GET") == err("ERR wrong number of arguments for 'get' command")
    assert c.call("EXEC").message.startswith("EXECABORT")
    c.call("MULTI")
    c.call("SET", "a", "b")
    c.call("INCR", "a")
    c.call("SET", "c", "d")
    assert c.call("EXEC") == [OK, err("ERR value is not an integer or out of range"), OK]


def test_watch_inside_multi_is_refused_but_does_not_abort(srv):
    c = Client(srv)
    c.call("MULTI")
    assert c.call("WATCH", "x") == err("ERR WATCH inside MULTI is not allowed")
    assert c.call("EXEC") == []


def test_watch_other_client_write_fails_exec(srv):
    a, b = Client(srv), Client(srv)
    a.call("SET", "k", "1")
    assert a.call("WATCH", "k") == OK
    b.call("SET", "k", "2")
    a.call("MULTI")
    a.call("SET", "k", "3")
    assert a.call("EXEC") is NullArray
    assert a.call("GET", "k") == b"2"
    # the watch is gone after EXEC: the next transaction runs
    a.call("MULTI")
    a.call("SET", "k", "3")
    assert a.call("EXEC") == [OK]


def test_watch_own_write_and_noop_writes(srv):
    a, b = Client(srv), Client(srv)
    a.call("SET", "k", "1")
    a.call("WATCH", "k")
    a.call("SET", "k", "2")
    a.call("MULTI")
    assert a.call("EXEC") is NullArray
    a.call("WATCH", "k")
    b.call("INCRBY", "k", "0")        # Redis signals even when nothing changes
    a.call("MULTI")
    assert a.call("EXEC") is NullArray
    a.call("WATCH", "missing")
    b.call("DEL", "missing")          # deleting nothing is no change
    a.call("MULTI")
    assert a.call("EXEC") == []


def test_unwatch_and_unwatch_inside_multi(srv):
    a, b = Client(srv), Client(srv)
    a.call("WATCH", "k")
    b.call("SET", "k", "1")
    assert a.call("UNWATCH") == OK
    a.call("MULTI")
    assert a.call("EXEC") == []
    a.call("WATCH", "k")
    b.call("SET", "k", "2")
    a.call("MULTI")
    assert a.call("UNWATCH") == QUEUED    # queued: too late to save this EXEC
    assert a.call("EXEC") is NullArray


def test_watch_key_that_expires_fails_exec(srv):
    a = Client(srv)
    a.call("SET", "k", "v", "PX", "100")
    a.call("WATCH", "k")
    srv.clock.advance(0.2)
    srv.now.refresh()
    a.call("MULTI")
    assert a.call("EXEC") is NullArray


def test_watch_already_expired_key(srv):
    a, b = Client(srv), Client(srv)
    for other in (None, ("GET", "k"), ("SET", "k", "1")):
        srv.shards[0].dbs[0].clear()
        for s in srv.shards:
            s.dbs[0].clear()
        a.call("SET", "k", "v", "PX", "10")
        srv.clock.advance(0.05)
        srv.now.refresh()
        a.call("WATCH", "k")                # already logically expired
        if other:
            b.call(*other)
        a.call("MULTI")
        expected = NullArray if other and other[0] == "SET" else []
        assert a.call("EXEC") == expected, other


def test_flush_and_swapdb_touch_watched_keys(srv):
    a, b = Client(srv), Client(srv)
    a.call("SET", "k", "v")
    a.call("WATCH", "k")
    b.call("FLUSHALL")
    a.call("MULTI")
    assert a.call("EXEC") is NullArray
    a.call("WATCH", "k")                    # missing key: a flush changes nothing
    b.call("FLUSHDB")
    a.call("MULTI")
    assert a.call("EXEC") == []
    a.call("SET", "k", "v")
    a.call("WATCH", "k")
    b.call("SELECT", "1")
    b.call("FLUSHDB")                       # another db
    a.call("MULTI")
    assert a.call("EXEC") == []
    a.call("WATCH", "k")
    b.call("SELECT", "0")
    b.call("SWAPDB", "0", "1")
    a.call("MULTI")
    assert a.call("EXEC") is NullArray


def test_reset_clears_transaction_state(srv):
    a, b = Client(srv), Client(srv)
    a.call("WATCH", "k")
    a.call("MULTI")
    assert a.call("RESET") == Status("RESET")
    assert a.multi is None
    b.call("SET", "k", "1")
    a.call("MULTI")
    assert a.call("EXEC") == []


def test_disconnect_drops_watches(srv):
    a = Client(srv)
    srv.add_client(a)
    a.call("WATCH", "k1", "k2")
    watched = sum(len(ks.watched or ()) for s in srv.shards for ks in s.dbs)
    assert watched == 2
    srv.remove_client(a)
    assert sum(len(ks.watched or ()) for s in srv.shards for ks in s.dbs) == 0


def test_exec_propagates_one_multi_exec_block(srv, events):
    c = Client(srv)
    c.call("MULTI")
    c.call("SET", "a", "1")
    c.call("GET", "a")
    c.call("EXEC")
    assert events == [(0, (b"SET", b"a", b"1"))]           # one write: not wrapped (Redis 7.0)
    events.clear()
    c.call("MULTI")
    c.call("SET", "a", "1")
    c.call("SET", "b", "2")
    c.call("EXEC")
    assert [e[1][0] for e in events] == [b"MULTI", b"SET", b"SET", b"EXEC"]
    events.clear()
    c.call("MULTI")
    c.call("GET", "a")
    c.call("EXEC")
    assert events == []


def test_exec_includes_lazy_expiry_dels_in_the_block(srv, events):
    c = Client(srv)
    c.call("SET", "e", "1", "PX", "1")
    srv.clock.advance(0.01)
    srv.now.refresh()
    events.clear()
    c.call("MULTI")
    c.call("GET", "e")
    c.call("SET", "f", "1")
    c.call("EXEC")
    assert [e[1] for e in events] == [(b"MULTI",), (b"DEL", b"e"), (b"SET", b"f", b"1"), (b"EXEC",)]


def test_blocking_command_inside_exec_returns_at_once(srv):
    c = Client(srv)
    c.call("MULTI")
    c.call("BLPOP", "q", "0")
    reply = c.call("EXEC")
    assert reply == [NullArray] or reply == [None] or isinstance(reply[0], ReplyError)
