"""Keyspace notifications on the unit-level server (task.Clock): configuration,
channel formats, class filtering, expired/evicted/new/keymiss, and zero cost
when disabled."""

import pytest
from twisted.internet import task

from redislite.commands import load_all
from redislite.config import Config, config_set
from redislite.protocol import Client
from redislite.server import Server

load_all()


@pytest.fixture
def srv():
    clock = task.Clock()
    clock.advance(1_700_000_000)
    return Server(Config.defaults(), clock)


def set_flags(srv, flags):
    srv.apply_config(config_set(srv.config, [("notify-keyspace-events", flags)]))


def listener(srv):
    c = Client(srv)
    srv.add_client(c)
    c.call("PSUBSCRIBE", "__key*__:*")
    return c


def messages(c):
    """(channel, message) of every pmessage received so far."""
    import hiredis
    from redislite.resp.encoder import encode
    out = []
    for v in c.pushed:
        r = hiredis.Reader()
        r.feed(encode(v))
        kind, _pat, ch, msg = r.gets()
        assert kind == b"pmessage"
        out.append((ch, msg))
    c.pushed.clear()
    return out


def test_disabled_by_default_costs_nothing(srv):
    assert all(s.notifier is None for s in srv.shards)
    set_flags(srv, "KEA")
    assert all(s.notifier is not None for s in srv.shards)
    set_flags(srv, "")
    assert all(s.notifier is None for s in srv.shards)
    assert all(not s.expire_listeners for s in srv.shards)
    set_flags(srv, "KE")          # no class: nothing would ever be published
    assert all(s.notifier is None for s in srv.shards)
    set_flags(srv, "A")           # no K/E: the same
    assert all(s.notifier is None for s in srv.shards)


def test_keyspace_then_keyevent(srv):
    set_flags(srv, "KEA")
    sub = listener(srv)
    w = Client(srv)
    w.call("SET", "k", "v", "EX", "10")
    assert messages(sub) == [
        (b"__keyspace@0__:k", b"set"), (b"__keyevent@0__:set", b"k"),
        (b"__keyspace@0__:k", b"expire"), (b"__keyevent@0__:expire", b"k")]
    w.call("SELECT", "7")
    w.call("INCRBY", "n", "2")
    assert messages(sub) == [(b"__keyspace@7__:n", b"incrby"), (b"__keyevent@7__:incrby", b"n")]


def test_class_filtering(srv):
    set_flags(srv, "Kg")
    sub = listener(srv)
    w = Client(srv)
    w.call("SET", "k", "v")               # '$' not enabled
    w.call("EXPIRE", "k", "100")          # 'g'
    w.call("DEL", "k")
    assert messages(sub) == [(b"__keyspace@0__:k", b"expire"), (b"__keyspace@0__:k", b"del")]


def test_new_and_keymiss_need_their_letters(srv):
    set_flags(srv, "KEA")
    sub = listener(srv)
    w = Client(srv)
    w.call("GET", "missing")
    w.call("SET", "fresh", "1")
    assert [m for m in messages(sub) if m[1] in (b"new", b"keymiss")] == []
    set_flags(srv, "Enm")
    w.call("GET", "missing")
    w.call("SET", "fresh2", "1")
    w.call("SET", "fresh2", "2")          # exists: no 'new'
    w.call("OBJECT", "ENCODING", "missing")  # LOOKUP_NONOTIFY
    w.call("EXISTS", "missing")
    assert messages(sub) == [(b"__keyevent@0__:keymiss", b"missing"),
                             (b"__keyevent@0__:new", b"fresh2"),
                             (b"__keyevent@0__:keymiss", b"missing")]


def test_expired_lazy_and_active(srv):
    set_flags(srv, "Ex")
    sub = listener(srv)
    w = Client(srv)
    w.call("SET", "a", "1", "PX", "100")
    w.call("SET", "b", "1", "PX", "100")
    srv.reactor.advance(0.2)
    srv.now.refresh()
    assert w.call("GET", "a") is None                 # lazy
    for shard in srv.shards:
        shard.active_expire_cycle()                   # active
    assert sorted(messages(sub)) == [(b"__keyevent@0__:expired", b"a"),
                                     (b"__keyevent@0__:expired", b"b")]
    set_flags(srv, "")
    w.call("SET", "c", "1", "PX", "1")
    srv.reactor.advance(0.1)
    srv.now.refresh()
    w.call("GET", "c")
    assert messages(sub) == []


def test_evicted(srv):
    set_flags(srv, "Ee")
    sub = listener(srv)
    w = Client(srv)
    for i in range(50):
        w.call("SET", "key:%d" % i, "x" * 1000)
    used = srv.used_memory()
    srv.apply_config(config_set(srv.config, [("maxmemory", str(used - 20_000)),
                                             ("maxmemory-policy", "allkeys-lru")]))
    w.call("SET", "one-more", "x")
    evicted = messages(sub)
    assert evicted and all(ch == b"__keyevent@0__:evicted" for ch, _ in evicted)


def test_rename_copy_move_events(srv):
    set_flags(srv, "Egn")
    sub = listener(srv)
    w = Client(srv)
    w.call("SET", "a", "1")
    w.call("SET", "b", "2")
    messages(sub)
    w.call("RENAME", "a", "b")
    assert messages(sub) == [(b"__keyevent@0__:new", b"b"), (b"__keyevent@0__:rename_from", b"a"),
                             (b"__keyevent@0__:rename_to", b"b")]
    w.call("COPY", "b", "c", "DB", "2")
    assert messages(sub) == [(b"__keyevent@2__:new", b"c"), (b"__keyevent@2__:copy_to", b"c")]
    w.call("MOVE", "b", "3")
    assert messages(sub) == [(b"__keyevent@3__:new", b"b"), (b"__keyevent@0__:move_from", b"b"),
                             (b"__keyevent@3__:move_to", b"b")]


def test_notifier_is_shared_with_family_hook_contract(srv):
    """Families call ks.notify(cls, event, key); anything unknown to a class set is ignored."""
    set_flags(srv, "KEl")
    sub = listener(srv)
    ks = srv.shards[0].dbs[0]
    ks.notify("l", "lpush", b"L")
    ks.notify("h", "hset", b"H")
    assert messages(sub) == [(b"__keyspace@0__:L", b"lpush"), (b"__keyevent@0__:lpush", b"L")]
