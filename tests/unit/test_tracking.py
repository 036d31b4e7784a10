"""Client tracking on the unit-level server (task.Clock): remembered keys,
invalidation on writes/expiry/flush, BCAST batching, OPTIN/OPTOUT, NOLOOP,
REDIRECT and cleanup."""

import hiredis
import pytest
from twisted.internet import task

from redislite.commands import load_all
from redislite.config import Config
from redislite.protocol import Client
from redislite.resp.encoder import encode
from redislite.server import Server

load_all()


@pytest.fixture
def srv():
    clock = task.Clock()
    clock.advance(1_700_000_000)
    return Server(Config.defaults(), clock)


def mk(srv, resp3=True):
    c = Client(srv)
    c.resp3 = resp3
    srv.add_client(c)
    return c


def pushes(c):
    out = []
    for v in c.pushed:
        r = hiredis.Reader()
        r.feed(encode(v, c.resp3))
        out.append(r.gets())
    c.pushed.clear()
    return out


def test_default_mode_invalidates_once(srv):
    a, w = mk(srv), mk(srv)
    assert a.call("CLIENT", "TRACKING", "ON").text == "OK"
    a.call("GET", "k")
    a.call("MGET", "x", "y")
    w.call("SET", "k", "1")
    w.call("SET", "k", "2")                     # not read again: no second message
    w.call("MSET", "x", "1", "y", "2")
    assert pushes(a) == [[b"invalidate", [b"k"]], [b"invalidate", [b"x"]],
                         [b"invalidate", [b"y"]]]
    assert srv.tracker.info() == (0, 0, 0)


def test_writes_by_the_tracking_client_itself(srv):
    a = mk(srv)
    a.call("CLIENT", "TRACKING", "ON")
    a.call("GET", "k")
    a.call("SET", "k", "1")                     # plain Client: delivered via send()
    assert pushes(a) == [[b"invalidate", [b"k"]]]
    a.call("CLIENT", "TRACKING", "ON", "NOLOOP")
    a.call("GET", "k")
    a.call("SET", "k", "2")
    assert pushes(a) == []


def test_expiry_and_flush_invalidate(srv):
    a, w = mk(srv), mk(srv)
    a.call("CLIENT", "TRACKING", "ON")
    w.call("SET", "e", "1", "PX", "50")
    a.call("GET", "e")
    srv.reactor.advance(0.1)
    for shard in srv.shards:
        shard.active_expire_cycle()
    assert pushes(a) == []                      # outside a command: next reactor turn
    srv.reactor.advance(0)
    assert pushes(a) == [[b"invalidate", [b"e"]]]
    a.call("GET", "z")
    w.call("FLUSHALL")
    assert pushes(a) == [[b"invalidate", None]]
    w.call("SET", "z", "1")                     # the table was dropped by the flush
    assert pushes(a) == []


def test_optin_optout(srv):
    a, w = mk(srv), mk(srv)
    a.call("CLIENT", "TRACKING", "ON", "OPTIN")
    a.call("GET", "no")
    a.call("CLIENT", "CACHING", "YES")
    a.call("GET", "yes")
    a.call("GET", "no2")
    w.call("MSET", "no", "1", "yes", "1", "no2", "1")
    assert pushes(a) == [[b"invalidate", [b"yes"]]]
    a.call("CLIENT", "TRACKING", "OFF")
    a.call("CLIENT", "TRACKING", "ON", "OPTOUT")
    a.call("CLIENT", "CACHING", "NO")
    a.call("GET", "skip")
    a.call("GET", "keep")
    w.call("MSET", "skip", "1", "keep", "1")
    assert pushes(a) == [[b"invalidate", [b"keep"]]]


def test_bcast_batches_per_turn_sorted(srv):
    a, w = mk(srv), mk(srv)
    a.call("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "u:", "PREFIX", "o:")
    w.call("SET", "u:2", "1")
    w.call("SET", "u:1", "1")
    w.call("SET", "o:1", "1")
    w.call("SET", "other", "1")
    assert pushes(a) == []
    srv.reactor.advance(0)
    assert pushes(a) == [[b"invalidate", [b"o:1"]], [b"invalidate", [b"u:1", b"u:2"]]]
    assert a.call("CLIENT", "TRACKINGINFO")[0][1] == [b"on", b"bcast"]


def test_bcast_noloop_filters_own_keys(srv):
    a, w = mk(srv), mk(srv)
    a.call("CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP")
    a.call("SET", "mine", "1")
    w.call("SET", "theirs", "1")
    srv.reactor.advance(0)
    assert pushes(a) == [[b"invalidate", [b"theirs"]]]


def test_redirect_resp2_pubsub_and_broken(srv):
    a = mk(srv, resp3=False)
    t = mk(srv, resp3=False)
    w = mk(srv)
    t.call("SUBSCRIBE", "__redis__:invalidate")
    t.pushed.clear()
    assert a.call("CLIENT", "TRACKING", "ON", "REDIRECT", t.id).text == "OK"
    assert a.call("CLIENT", "GETREDIR") == t.id
    a.call("GET", "k")
    w.call("SET", "k", "1")
    assert pushes(t) == [[b"message", b"__redis__:invalidate", [b"k"]]]
    a.call("GET", "k")
    srv.remove_client(t)
    w.call("SET", "k", "2")
    info = a.call("CLIENT", "TRACKINGINFO")
    assert info[0][1] == [b"on", b"broken_redirect"]
    assert pushes(a) == []                      # RESP2: nowhere to say it


def test_disconnect_and_reset_disable(srv):
    a, b, w = mk(srv), mk(srv), mk(srv)
    a.call("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "p")
    b.call("CLIENT", "TRACKING", "ON")
    assert srv.tracker.tracking_clients == 2
    srv.remove_client(a)
    b.call("RESET")
    assert srv.tracker.tracking_clients == 0
    assert srv.tracker.prefixes == {}
    assert b.call("CLIENT", "GETREDIR") == -1


def test_no_cost_until_enabled(srv):
    assert srv.command_observers == [] or all(
        getattr(fn, "__self__", None).__class__.__name__ != "Tracker" for fn in srv.command_observers)
    assert not hasattr(srv, "tracker") or srv.__dict__.get("tracker") is None
