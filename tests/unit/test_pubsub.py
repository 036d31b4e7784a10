"""Pub/Sub on the unit-level server (task.Clock, no network): replies, delivery,
subscribed-mode gate, RESET/disconnect cleanup and output buffer limits."""

import hiredis
import pytest
from twisted.internet import task
from twisted.internet.abstract import FileDescriptor
from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactor
from twisted.internet.testing import StringTransport

from redislite.commands import load_all
from redislite.config import Config, config_set
from redislite.protocol import Client, RedisProtocol
from redislite.pubsub import get_hub
from redislite.resp.encoder import encode
from redislite.server import Server
from tests.workcount import steps

load_all()


def frames(data, resp3=False):
    """Decode every RESP frame in *data* (push frames come back as lists)."""
    r = hiredis.Reader()
    r.feed(data)
    out = []
    while True:
        v = r.gets()
        if v is False:
            return out
        out.append(v)


@pytest.fixture
def srv():
    clock = task.Clock()
    clock.advance(1_700_000_000)
    return Server(Config.defaults(), clock)


def mk(srv):
    c = Client(srv)
    srv.add_client(c)
    return c


def call(c, *args):
    return encode(c.call(*args), c.resp3)


def pushed(c):
    data = b"".join(encode(v, c.resp3) for v in c.pushed)
    c.pushed.clear()
    return data


def test_subscribe_replies_carry_running_count(srv):
    a = mk(srv)
    assert frames(call(a, "SUBSCRIBE", "a", "b", "a")) == [
        [b"subscribe", b"a", 1], [b"subscribe", b"b", 2], [b"subscribe", b"a", 2]]
    assert frames(call(a, "PSUBSCRIBE", "x*")) == [[b"psubscribe", b"x*", 3]]
    assert frames(call(a, "SSUBSCRIBE", "s")) == [[b"ssubscribe", b"s", 1]]
    assert a.subscribed


def test_unsubscribe_with_nothing_subscribed_sends_null(srv):
    a = mk(srv)
    assert call(a, "UNSUBSCRIBE") == b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
    assert call(a, "PUNSUBSCRIBE") == b"*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n"
    assert call(a, "SUNSUBSCRIBE") == b"*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n"
    a.resp3 = True
    assert call(a, "UNSUBSCRIBE") == b">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n"
    assert not a.subscribed


def test_unsubscribe_all_and_named(srv):
    a = mk(srv)
    call(a, "SUBSCRIBE", "a", "b")
    assert frames(call(a, "UNSUBSCRIBE", "zz", "a")) == [
        [b"unsubscribe", b"zz", 2], [b"unsubscribe", b"a", 1]]
    assert frames(call(a, "UNSUBSCRIBE")) == [[b"unsubscribe", b"b", 0]]
    assert not a.subscribed


def test_shard_subscription_keeps_pubsub_mode(srv):
    """Redis clears CLIENT_PUBSUB only when channels+patterns+shard channels is 0."""
    a = mk(srv)
    call(a, "SUBSCRIBE", "a")
    call(a, "SSUBSCRIBE", "s")
    call(a, "UNSUBSCRIBE")
    assert a.subscribed
    assert frames(call(a, "PING")) == [[b"pong", b""]]
    assert call(a, "GET", "x").startswith(b"-ERR Can't execute 'get'")
    call(a, "SUNSUBSCRIBE")
    assert not a.subscribed
    assert call(a, "PING") == b"+PONG\r\n"


def test_publish_delivers_channel_then_patterns(srv):
    a, b, p = mk(srv), mk(srv), mk(srv)
    call(a, "SUBSCRIBE", "news")
    call(b, "PSUBSCRIBE", "n*", "*s")
    assert p.call("PUBLISH", "news", "hi") == 3
    assert frames(pushed(a)) == [[b"message", b"news", b"hi"]]
    assert frames(pushed(b)) == [[b"pmessage", b"n*", b"news", b"hi"],
                                 [b"pmessage", b"*s", b"news", b"hi"]]
    assert p.call("PUBLISH", "other", "x") == 0
    assert p.call("SPUBLISH", "news", "x") == 0


def test_resp3_push_frames(srv):
    a, p = mk(srv), mk(srv)
    a.resp3 = True
    assert call(a, "SUBSCRIBE", "c") == b">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"
    p.call("PUBLISH", "c", "m")
    assert pushed(a) == b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n"
    # RESP3 clients are not gated in pub/sub mode
    assert call(a, "GET", "x") == b"_\r\n"
    assert call(a, "PING") == b"+PONG\r\n"


def test_sharded_pubsub(srv):
    a, p = mk(srv), mk(srv)
    call(a, "SSUBSCRIBE", "s1", "s2")
    assert p.call("SPUBLISH", "s1", "m") == 1
    assert frames(pushed(a)) == [[b"smessage", b"s1", b"m"]]
    assert p.call("PUBLISH", "s1", "m") == 0
    assert p.call("PUBSUB", "SHARDCHANNELS") == [b"s1", b"s2"]
    assert p.call("PUBSUB", "SHARDNUMSUB", "s1", "x") == [b"s1", 1, b"x", 0]
    assert frames(call(a, "SUNSUBSCRIBE", "s1")) == [[b"sunsubscribe", b"s1", 1]]


def test_pubsub_introspection(srv):
    a, b, p = mk(srv), mk(srv), mk(srv)
    call(a, "SUBSCRIBE", "abc", "abd", "x")
    call(b, "SUBSCRIBE", "abc")
    call(a, "PSUBSCRIBE", "p*")
    call(b, "PSUBSCRIBE", "p*", "q*")
    assert sorted(p.call("PUBSUB", "CHANNELS")) == [b"abc", b"abd", b"x"]
    assert sorted(p.call("PUBSUB", "CHANNELS", "ab?")) == [b"abc", b"abd"]
    assert p.call("PUBSUB", "NUMSUB", "abc", "x", "none") == [b"abc", 2, b"x", 1, b"none", 0]
    assert p.call("PUBSUB", "NUMSUB") == []
    assert p.call("PUBSUB", "NUMPAT") == 2
    assert p.call("PUBSUB", "CHANNELS", "a", "b").message == (
        "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.")
    assert p.call("PUBSUB", "NUMPAT", "x").message == (
        "ERR wrong number of arguments for 'pubsub|numpat' command")


def test_reset_and_disconnect_clean_up(srv):
    a, b, p = mk(srv), mk(srv), mk(srv)
    call(a, "SUBSCRIBE", "c")
    call(a, "PSUBSCRIBE", "*")
    call(b, "SUBSCRIBE", "c")
    assert p.call("RESET").text == "RESET"
    assert call(a, "RESET") == b"+RESET\r\n"
    assert not a.subscribed and not a.channels and not a.patterns
    assert p.call("PUBSUB", "NUMSUB", "c") == [b"c", 1]
    assert p.call("PUBSUB", "NUMPAT") == 0
    srv.remove_client(b)            # what connectionLost / CLIENT KILL do
    assert p.call("PUBSUB", "NUMSUB", "c") == [b"c", 0]
    assert p.call("PUBSUB", "CHANNELS") == []


def test_pathological_pattern_does_not_backtrack(srv):
    """PUBLISH against ``*a*a...*b`` (a backtracker's work grows as a power of the
    channel's length). Counted in steps (lines + calls), not timed: the work does not
    grow with the channel's length."""
    a, p = mk(srv), mk(srv)
    call(a, "PSUBSCRIBE", "*a" * 50 + "b")
    for _ in range(20):
        assert p.call("PUBLISH", "a" * 5000, "m") == 0
    short, short_work = steps(p.call, "PUBLISH", "a" * 500, "m")
    long, long_work = steps(p.call, "PUBLISH", "a" * 50000, "m")
    assert short == long == 0 and not a.pushed
    assert long_work <= short_work + 50, (short_work, long_work)    # equal (523) with Python 3.11


# -- protocol level: self-delivery order and output buffer limits ----------------------------
class _Transport(StringTransport):
    """A StringTransport that looks like a TCP transport holding unsent bytes."""

    def __init__(self):
        super().__init__()
        self.dataBuffer = b""
        self._tempDataLen = 0
        self.aborted = False

    def write(self, data):
        super().write(data)
        if self.stalled:
            self._tempDataLen += len(data)

    def abortConnection(self):
        self.aborted = True

    stalled = False


def connect(srv):
    proto = RedisProtocol(srv)
    t = _Transport()
    proto.makeConnection(t)
    return proto, t


def cmd(*args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def test_message_to_self_keeps_reply_order(srv):
    a, t = connect(srv)
    a.dataReceived(cmd(b"HELLO", b"3") + cmd(b"SUBSCRIBE", b"c"))
    t.clear()
    a.dataReceived(cmd(b"GET", b"x") + cmd(b"PUBLISH", b"c", b"self") + cmd(b"PING"))
    assert t.value() == (b"_\r\n>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$4\r\nself\r\n:1\r\n+PONG\r\n")


def _limits(srv, text):
    srv.apply_config(config_set(srv.config, [("client-output-buffer-limit", text)]))


def test_hard_output_limit_drops_slow_subscriber(srv):
    _limits(srv, "pubsub 10kb 0 0")
    sub, t = connect(srv)
    sub.dataReceived(cmd(b"SUBSCRIBE", b"c"))
    t.stalled = True
    pub = mk(srv)
    for i in range(100):
        pub.call("PUBLISH", "c", "x" * 200)
        if t.aborted:
            break
    assert t.aborted and sub.closing
    assert 10 * 1024 <= t._tempDataLen < 11 * 1024
    assert pub.call("PUBSUB", "NUMSUB", "c") == [b"c", 0]
    assert pub.call("PUBLISH", "c", "more") == 0
    assert sub.id not in srv.clients


def test_soft_output_limit_needs_time(srv):
    _limits(srv, "pubsub 0 1kb 5")
    clock = srv.reactor
    sub, t = connect(srv)
    sub.dataReceived(cmd(b"SUBSCRIBE", b"c"))
    t.stalled = True
    pub = mk(srv)
    for _ in range(20):
        pub.call("PUBLISH", "c", "x" * 200)
    assert not t.aborted                  # over the soft limit, but not for 5 s yet
    clock.advance(5)
    pub.call("PUBLISH", "c", "x")
    assert not t.aborted                  # exactly 5 s: Redis needs more than that
    clock.advance(1)
    pub.call("PUBLISH", "c", "x")
    assert t.aborted


def test_soft_limit_clock_resets_when_drained(srv):
    _limits(srv, "pubsub 0 1kb 5")
    clock = srv.reactor
    sub, t = connect(srv)
    sub.dataReceived(cmd(b"SUBSCRIBE", b"c"))
    t.stalled = True
    pub = mk(srv)
    for _ in range(10):
        pub.call("PUBLISH", "c", "x" * 200)
    clock.advance(3)
    t._tempDataLen = 0                     # the subscriber caught up
    pub.call("PUBLISH", "c", "x")
    clock.advance(3)
    for _ in range(10):
        pub.call("PUBLISH", "c", "x" * 200)
    assert not t.aborted


def test_normal_class_has_no_limit_by_default(srv):
    sub, t = connect(srv)
    sub.dataReceived(cmd(b"HELLO", b"3") + cmd(b"CLIENT", b"TRACKING", b"on"))
    t.stalled = True
    t._tempDataLen = 1 << 30
    assert get_hub(srv).check_output_limit(sub) is False


def test_info_stats_counts(srv):
    a = mk(srv)
    call(a, "SUBSCRIBE", "c1", "c2")
    call(a, "PSUBSCRIBE", "p*")
    call(a, "SSUBSCRIBE", "s")
    info = mk(srv).call("INFO", "stats")
    text = info if isinstance(info, str) else info.decode()
    assert "pubsub_channels:2" in text and "pubsub_patterns:1" in text
    assert "pubsubshard_channels:1" in text


# -- the fan-out's direct path (plain TCP transports) -------------------------------------
class _TCPTransport(FileDescriptor):
    """Twisted's own write buffering (FileDescriptor) over a fake socket.

    ``budget`` is what the "kernel" still accepts (None: everything), so a
    partial send and a stalled reader can be played; ``sends`` counts send()s.
    """

    def __init__(self):
        super().__init__(reactor=MemoryReactor())
        self.connected = True
        self.sent = bytearray()
        self.sends = 0
        self.budget = None
        self.aborted = False

    def writeSomeData(self, data):
        data = bytes(data)
        n = len(data) if self.budget is None else min(self.budget, len(data))
        if self.budget is not None:
            self.budget -= n
        self.sends += 1
        self.sent += data[:n]
        return n

    def abortConnection(self):
        self.aborted = True

    def getPeer(self):
        return IPv4Address("TCP", "127.0.0.1", 40000)

    def getHost(self):
        return IPv4Address("TCP", "127.0.0.1", 6379)

    def fileno(self):
        return -1

    def writing(self):
        return self in self.reactor.writers


def connect_tcp(srv, *setup):
    proto = RedisProtocol(srv)
    t = _TCPTransport()
    proto.makeConnection(t)
    proto._direct = True           # as connectionMade sets it for a tcp.Connection
    for args in setup:
        proto.dataReceived(cmd(*args))
    t.sent.clear()
    t.sends = 0
    return proto, t


def _msg(channel, payload, resp3=False):
    return b"%s3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
        b">" if resp3 else b"*", len(channel), channel, len(payload), payload)


def test_fanout_appends_shared_frames_and_flushes_once_per_turn(srv):
    subs = [connect_tcp(srv, (b"SUBSCRIBE", b"c")) for _ in range(3)]
    s3, t3 = connect_tcp(srv, (b"HELLO", b"3"), (b"SUBSCRIBE", b"c"))
    pub, tp = connect_tcp(srv)
    pub.dataReceived(b"".join(cmd(b"PUBLISH", b"c", b"m%d" % i) for i in range(5)))
    assert tp.sent == b":4\r\n" * 5
    for _, t in subs + [(s3, t3)]:
        assert t.sent == b"" and t._tempDataLen > 0      # buffered until the turn ends
        assert t.sends == 0 and not t.writing()
    frames2 = [_msg(b"c", b"m%d" % i) for i in range(5)]
    assert subs[0][1]._tempDataBuffer[0] is subs[1][1]._tempDataBuffer[0]   # one bytes object
    srv.reactor.advance(0)
    for _, t in subs:
        assert t.sent == b"".join(frames2) and t.sends == 1
        assert t._tempDataLen == 0 and t._tempDataBuffer == [] and not t.writing()
    assert t3.sent == b"".join(_msg(b"c", b"m%d" % i, True) for i in range(5))


def test_fanout_keeps_order_with_the_subscribers_own_replies(srv):
    sub, t = connect_tcp(srv, (b"HELLO", b"3"), (b"SUBSCRIBE", b"c"))
    pub, _ = connect_tcp(srv)
    pub.dataReceived(cmd(b"PUBLISH", b"c", b"first"))
    sub.dataReceived(cmd(b"PING"))                  # same turn, before the flush
    pub.dataReceived(cmd(b"PUBLISH", b"c", b"second"))
    srv.reactor.advance(0)
    assert t.sent == _msg(b"c", b"first", True) + b"+PONG\r\n" + _msg(b"c", b"second", True)


def test_fanout_to_self_goes_with_the_reply(srv):
    a, t = connect_tcp(srv, (b"HELLO", b"3"), (b"SUBSCRIBE", b"c"))
    b, tb = connect_tcp(srv, (b"SUBSCRIBE", b"c"))
    a.dataReceived(cmd(b"PUBLISH", b"c", b"self") + cmd(b"PING"))
    assert t.sent == _msg(b"c", b"self", True) + b":2\r\n+PONG\r\n"
    srv.reactor.advance(0)
    assert tb.sent == _msg(b"c", b"self")


def test_fanout_partial_send_leaves_the_rest_to_twisted(srv):
    sub, t = connect_tcp(srv, (b"SUBSCRIBE", b"c"))
    pub, _ = connect_tcp(srv)
    t.budget = 10
    pub.dataReceived(cmd(b"PUBLISH", b"c", b"a" * 100) + cmd(b"PUBLISH", b"c", b"b" * 100))
    srv.reactor.advance(0)
    want = _msg(b"c", b"a" * 100) + _msg(b"c", b"b" * 100)
    assert t.sent == want[:10] and t.writing()
    pub.dataReceived(cmd(b"PUBLISH", b"c", b"z"))        # queues behind the unsent rest
    sub.dataReceived(cmd(b"PING"))
    srv.reactor.advance(0)
    t.budget = None
    t.doWrite()
    # PING in RESP2 subscribed mode answers [pong, ""]
    assert t.sent == want + _msg(b"c", b"z") + b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    assert not t.writing()


def test_fanout_skips_closing_and_pattern_subscribers_get_pmessage(srv):
    a, ta = connect_tcp(srv, (b"PSUBSCRIBE", b"n*"))
    b, tb = connect_tcp(srv, (b"SUBSCRIBE", b"news"))
    b.closing = True                                  # e.g. CLIENT KILL, not yet disconnected
    pub, tp = connect_tcp(srv)
    pub.dataReceived(cmd(b"PUBLISH", b"news", b"hi"))
    assert tp.sent == b":2\r\n"
    srv.reactor.advance(0)
    assert ta.sent == b"*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
    assert tb.sent == b""


def test_fanout_hard_limit_drops_a_stalled_subscriber(srv):
    _limits(srv, "pubsub 10kb 0 0")
    sub, t = connect_tcp(srv, (b"SUBSCRIBE", b"c"))
    ok, tok = connect_tcp(srv, (b"SUBSCRIBE", b"c"))
    t.budget = 0                                      # the kernel takes nothing
    pub = mk(srv)
    for i in range(100):
        pub.call("PUBLISH", "c", "x" * 200)
        if i % 10 == 9:
            srv.reactor.advance(0)
        if t.aborted:
            break
    assert t.aborted and sub.closing
    assert 10 * 1024 <= t._tempDataLen + len(t.dataBuffer) < 11 * 1024
    assert pub.call("PUBSUB", "NUMSUB", "c") == [b"c", 1]
    assert get_hub(srv).limit_disconnections == 1
    srv.reactor.advance(0)
    assert not tok.aborted and tok.sent.count(b"message") == i + 1


def test_fanout_single_message_over_the_hard_limit(srv):
    _limits(srv, "pubsub 1kb 0 0")
    sub, t = connect_tcp(srv, (b"SUBSCRIBE", b"c"))
    pub = mk(srv)
    assert pub.call("PUBLISH", "c", "x" * 2000) == 1
    assert t.aborted


def test_fanout_soft_limit_clock_and_reset(srv):
    _limits(srv, "pubsub 0 1kb 5")
    clock = srv.reactor
    sub, t = connect_tcp(srv, (b"SUBSCRIBE", b"c"))
    t.budget = 0
    pub = mk(srv)
    for _ in range(10):
        pub.call("PUBLISH", "c", "x" * 200)
    hub = get_hub(srv)
    assert sub.obuf_soft_since is not None and sub in hub._soft
    clock.advance(3)
    t.budget = None
    t.doWrite()                                     # the subscriber caught up
    pub.call("PUBLISH", "c", "x")                   # below the soft limit: the clock stops
    assert sub.obuf_soft_since is None and sub not in hub._soft
    t.budget = 0
    clock.advance(3)
    for _ in range(10):
        pub.call("PUBLISH", "c", "x" * 200)
    assert not t.aborted
    clock.advance(6)
    pub.call("PUBLISH", "c", "x")
    assert t.aborted and sub not in hub._soft


def test_fanout_flushes_from_the_before_poll_hook(srv):
    hooks = srv.reactor._before_poll = []      # as reactor_tuning installs on epoll
    sub, t = connect_tcp(srv, (b"SUBSCRIBE", b"c"))
    assert hooks == [get_hub(srv).flush]
    pub, _ = connect_tcp(srv)
    pending = len(srv.reactor.getDelayedCalls())
    pub.dataReceived(cmd(b"PUBLISH", b"c", b"a") + cmd(b"PUBLISH", b"c", b"b"))
    assert len(srv.reactor.getDelayedCalls()) == pending     # no callLater per turn
    assert t.sent == b""
    for fn in hooks:
        fn()
    assert t.sent == _msg(b"c", b"a") + _msg(b"c", b"b") and t.sends == 1
