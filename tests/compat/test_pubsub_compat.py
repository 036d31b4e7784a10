"""Pub/Sub and client tracking, byte for byte against a real redis-server 7.0.

Each side gets extra connections (subscribers, publishers) next to the pair's
own.  Out-of-band frames are collected with a PING fence: a subscriber's PING
reply comes after every message already queued for it, on both servers.
Where Redis's order comes from its hash tables (UNSUBSCRIBE with no argument,
several patterns matching one message) frames are compared as multisets.
"""
from __future__ import annotations

import socket
import time

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import rule

from redislite.testing import RawClient
from tests.compat.differential import DifferentialMachine

pytestmark = pytest.mark.compat

_PONG2 = b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"


class Duo:
    """One extra connection on each server, driven in lockstep."""

    def __init__(self, pair):
        self.o = RawClient(pair.oracle.host, pair.oracle.port)
        self.s = RawClient(pair.subject.host, pair.subject.port)

    def call(self, *args, frames=1):
        self.o.send(*args)
        o = [self.o.read_reply() for _ in range(frames)]
        self.s.send(*args)
        s = [self.s.read_reply() for _ in range(frames)]
        return o, s

    def same(self, *args, frames=1, unordered=False):
        o, s = self.call(*args, frames=frames)
        if unordered:
            assert sorted(o) == sorted(s), (args, o, s)
        else:
            assert o == s, (args, o, s)
        return o

    def id_pair(self):
        o, s = self.call("CLIENT", "ID")
        return int(o[0][1:-2]), int(s[0][1:-2])

    def fence(self, marker=None):
        """Frames queued before a PING's reply, on each side."""
        out = []
        for c in (self.o, self.s):
            c.send("PING", "fence") if marker else c.send("PING")
            got = []
            while True:
                f = c.read_reply()
                if f in (_PONG2, b"+PONG\r\n", b"$5\r\nfence\r\n", b"+fence\r\n") or \
                        f == b"*2\r\n$4\r\npong\r\n$5\r\nfence\r\n":
                    break
                got.append(f)
            out.append(got)
        return out

    def pushes_same(self, unordered=False):
        o, s = self.fence()
        if unordered:
            assert sorted(o) == sorted(s), (o, s)
        else:
            assert o == s, (o, s)
        return o

    def close(self):
        self.o.close()
        self.s.close()


@pytest.fixture
def duo(pair):
    made = []

    def make():
        d = Duo(pair)
        made.append(d)
        return d
    yield make
    for d in made:
        d.close()


# -- subscribe / unsubscribe replies -----------------------------------------------------------
@pytest.mark.parametrize("resp3", [False, True])
def test_subscribe_unsubscribe_sequences(pair, duo, resp3):
    a = duo()
    if resp3:
        a.call("HELLO", "3")
    a.same("UNSUBSCRIBE")
    a.same("PUNSUBSCRIBE")
    a.same("SUNSUBSCRIBE")
    a.same("UNSUBSCRIBE", "x", "y", frames=2)
    a.same("SUBSCRIBE", "a", "b", "a", frames=3)
    a.same("PSUBSCRIBE", "p*", "p*", "q", frames=3)
    a.same("SSUBSCRIBE", "s1", "s2", frames=2)
    a.same("PING")
    a.same("PING", "hello")
    a.same("GET", "x")
    a.same("SET", "x", "1")
    a.same("UNSUBSCRIBE", "b", "nope", frames=2)
    a.same("PUNSUBSCRIBE", frames=2, unordered=True)
    a.same("UNSUBSCRIBE")          # only "a" left
    a.same("PING")                 # still in pub/sub mode: shard channels remain
    a.same("GET", "x")
    a.same("SUNSUBSCRIBE", "s2")
    a.same("SUNSUBSCRIBE")
    a.same("PING")
    a.same("GET", "x")


def test_unsubscribe_all_many_channels(pair, duo):
    a = duo()
    a.same("SUBSCRIBE", *[f"ch{i}" for i in range(10)], frames=10)
    o, s = a.call("UNSUBSCRIBE", frames=10)
    # The order is Redis's dict order; the counts go 9..0 whatever the order.
    assert [f.rsplit(b"\r\n:", 1)[1] for f in o] == [f.rsplit(b"\r\n:", 1)[1] for f in s]
    assert sorted(o) != [] and sorted(x.rsplit(b":", 1)[0] for x in o) == \
        sorted(x.rsplit(b":", 1)[0] for x in s)
    a.same("PING")


def test_subscribed_mode_gate_and_reset(pair, duo):
    a = duo()
    a.same("SUBSCRIBE", "c")
    for cmd in (("GET", "k"), ("PUBLISH", "c", "x"), ("PUBSUB", "NUMSUB"), ("HELLO",),
                ("CLIENT", "ID"), ("MULTI",), ("SELECT", "1")):
        a.same(*cmd)
    a.same("PING", "a", "b")
    a.same("RESET")
    a.same("PING")
    a.same("GET", "k")


def test_arity_and_pubsub_errors(pair):
    for cmd in (("SUBSCRIBE",), ("PSUBSCRIBE",), ("SSUBSCRIBE",), ("PUBLISH", "c"),
                ("PUBLISH", "c", "m", "x"), ("SPUBLISH", "c"), ("PUBSUB",), ("PUBSUB", "FOO"),
                ("PUBSUB", "HELP"), ("PUBSUB", "help", "x"), ("PUBSUB", "NUMPAT", "x"),
                ("PUBSUB", "CHANNELS", "a", "b"), ("PUBSUB", "SHARDCHANNELS", "a", "b"),
                ("PUBSUB", "numsub"), ("PUBSUB", "SHARDNUMSUB"), ("PUBSUB", "CHANNELS"),
                ("PUBSUB", "NUMPAT"), ("PUBLISH", "nobody", "m"), ("SPUBLISH", "nobody", "m")):
        pair.same(*cmd)


def test_publish_delivery_and_introspection(pair, duo):
    a, b, p = duo(), duo(), duo()
    a.same("SUBSCRIBE", "news", "sport", frames=2)
    b.same("SUBSCRIBE", "news")
    b.same("PSUBSCRIBE", "n*")
    a.same("SSUBSCRIBE", "shard")
    p.same("PUBLISH", "news", "hello")
    p.same("PUBLISH", "sport", "")
    p.same("PUBLISH", "nothing", "m")
    p.same("PUBLISH", "n", b"bin\x00\xff")
    p.same("SPUBLISH", "shard", "s")
    p.same("SPUBLISH", "news", "s")
    a.pushes_same()
    b.pushes_same()
    pair.same_unordered("PUBSUB", "CHANNELS")
    pair.same_unordered("PUBSUB", "CHANNELS", "s*")
    pair.same("PUBSUB", "CHANNELS", "[")
    pair.same("PUBSUB", "NUMSUB", "news", "sport", "none", "news")
    pair.same("PUBSUB", "NUMPAT")
    pair.same("PUBSUB", "SHARDCHANNELS")
    pair.same("PUBSUB", "SHARDNUMSUB", "shard", "news")


def test_many_patterns_and_channels(pair, duo):
    a, p = duo(), duo()
    a.same("PSUBSCRIBE", "*", "a*", "?b*", "[a-c]b", "a\\*", frames=5)
    a.same("SUBSCRIBE", "ab", "a*", frames=2)
    for ch in ("ab", "a*", "cb", "", "xyz"):
        p.same("PUBLISH", ch, "m")
    a.pushes_same(unordered=True)
    pair.same("PUBSUB", "NUMPAT")


@pytest.mark.parametrize("resp3", [False, True])
def test_message_to_self_in_a_pipeline(pair, duo, resp3):
    a = duo()
    if resp3:
        a.call("HELLO", "3")
        a.same("SUBSCRIBE", "me")
        cmds = [("GET", "x"), ("PUBLISH", "me", "self"), ("PING",)]
        o = a.o.pipeline(cmds)
        s = a.s.pipeline(cmds)
        o += [a.o.read_reply()]
        s += [a.s.read_reply()]
        assert o == s
    else:
        a.same("SUBSCRIBE", "me")
        a.same("PING")


def test_subscribe_inside_multi(pair, duo):
    a = duo()
    a.same("MULTI")
    a.same("SUBSCRIBE", "m1", "m2")
    a.same("PING")
    a.same("EXEC")
    a.same("PING")
    a.same("RESET")
    a.same("MULTI")
    a.same("SSUBSCRIBE", "m1")
    a.same("EXEC")


def test_disconnect_removes_subscriptions(pair, duo):
    a = duo()
    a.same("SUBSCRIBE", "gone")
    a.same("PSUBSCRIBE", "gone*")
    a.close()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        o, s = pair.both("PUBSUB", "NUMSUB", "gone")
        if o == s and pair.same("PUBSUB", "NUMPAT") == b":0\r\n":
            break
        time.sleep(0.02)
    pair.same("PUBSUB", "NUMSUB", "gone")
    pair.same("PUBSUB", "NUMPAT")


def test_client_kill_removes_subscriptions_at_once(pair, duo):
    a = duo()
    oid, sid = a.id_pair()
    a.same("SUBSCRIBE", "k")
    assert pair.oracle.call("CLIENT", "KILL", "ID", oid) == pair.subject.call("CLIENT", "KILL", "ID", sid)
    pair.same("PUBSUB", "NUMSUB", "k")
    pair.same("PUBLISH", "k", "m")


class PubSubMachine(DifferentialMachine):
    """A subscriber and a publisher on each side, random (un)subscriptions and publishes."""

    channels = st.sampled_from(["c1", "c2", "c3", "news.a", "news.b"])
    patterns = st.sampled_from(["c*", "news.*", "*.b", "c[12]"])

    def __init__(self, pair):
        super().__init__(pair)
        self.sub = Duo(pair)
        self.pub = Duo(pair)

    def teardown(self):
        self.sub.close()
        self.pub.close()

    @rule(ch=channels)
    def subscribe(self, ch):
        self.sub.same("SUBSCRIBE", ch)

    @rule(ch=channels)
    def unsubscribe(self, ch):
        self.sub.same("UNSUBSCRIBE", ch)

    @rule(pat=patterns)
    def psubscribe(self, pat):
        self.sub.same("PSUBSCRIBE", pat)

    @rule(pat=patterns)
    def punsubscribe(self, pat):
        self.sub.same("PUNSUBSCRIBE", pat)

    @rule(ch=channels, msg=st.sampled_from(["m", "", "x y"]))
    def publish(self, ch, msg):
        self.pub.same("PUBLISH", ch, msg)
        self.sub.pushes_same(unordered=True)

    @rule(ch=channels)
    def numsub(self, ch):
        self.pub.same("PUBSUB", "NUMSUB", ch)
        self.pub.same("PUBSUB", "NUMPAT")


def test_pubsub_state_machine(pair):
    # every step is several loopback round trips on four connections: keep it short
    PubSubMachine.run(pair, settings(settings.default, max_examples=15, stateful_step_count=20))


# -- output buffer limits ---------------------------------------------------------------------
def _slow_subscriber(host, port):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, port))
    sock.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nslow\r\n")
    return sock


def _closed(sock, timeout=5.0):
    """True once the server has closed it (we read what it sent until EOF)."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            data = sock.recv(1 << 20)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return True
        if not data:
            return True
    return False


def test_slow_subscriber_is_dropped_at_the_hard_limit(pair, redislite_server):
    """A subscriber that never reads: both servers drop it; PUBLISH goes on."""
    for c in (pair.oracle, pair.subject):
        assert c.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 0 0") == b"+OK\r\n"
    socks = []
    try:
        for c in (pair.oracle, pair.subject):
            sock = _slow_subscriber(c.host, c.port)
            socks.append(sock)
            deadline = time.monotonic() + 10
            while c.call("PUBSUB", "NUMSUB", "slow") != b"*2\r\n$4\r\nslow\r\n:1\r\n":
                assert time.monotonic() < deadline, "the SUBSCRIBE was never registered"
                time.sleep(0.01)
            payload = "x" * 1024
            # Not timed: PUBLISH is not held up if every pipeline is answered (the
            # client's read timeout guards a hang) and, once the subscriber is dropped,
            # the messages go to no one.
            for i in range(200):           # 200 x 20 x 1 KB = 4 MB offered to the subscriber
                replies = c.pipeline([("PUBLISH", "slow", payload)] * 20)
                if replies[-1] == b":0\r\n":
                    break
            assert replies[-1] == b":0\r\n", "subscriber was not dropped"
            assert c.call("PUBSUB", "NUMSUB", "slow") == b"*2\r\n$4\r\nslow\r\n:0\r\n"
            assert _closed(sock)
        # the subject's memory stayed bounded (hard limit + kernel buffers, not 4 MB x copies)
        rss = _rss_kb(redislite_server.pid)
        if rss is not None:
            assert rss < 400_000
    finally:
        for c in (pair.oracle, pair.subject):
            c.call("CONFIG", "SET", "client-output-buffer-limit",
                   "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")
        for s in socks:
            s.close()


def _rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# -- client tracking ------------------------------------------------------------------------------
_TRACKING_CMDS = [
    ("CLIENT", "TRACKINGINFO"), ("CLIENT", "GETREDIR"), ("CLIENT", "CACHING", "YES"),
    ("CLIENT", "TRACKING", "ON"), ("CLIENT", "TRACKINGINFO"), ("CLIENT", "GETREDIR"),
    ("CLIENT", "CACHING", "YES"), ("CLIENT", "CACHING", "NO"), ("CLIENT", "CACHING", "maybe"),
    ("CLIENT", "TRACKING", "maybe"), ("CLIENT", "TRACKING", "ON", "PREFIX", "a"),
    ("CLIENT", "TRACKING", "ON", "BCAST"), ("CLIENT", "TRACKING", "ON", "REDIRECT", "99999"),
    ("CLIENT", "TRACKING", "ON", "REDIRECT", "x"), ("CLIENT", "TRACKING", "ON", "REDIRECT", "-1"),
    ("CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"), ("CLIENT", "TRACKING", "ON", "OPTIN"),
    ("CLIENT", "TRACKING", "ON", "FOO"), ("CLIENT", "TRACKING", "ON", "PREFIX"),
    ("CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"), ("CLIENT", "TRACKING", "OFF"),
    ("CLIENT", "TRACKING", "ON", "BCAST", "OPTIN", "OPTOUT"),
    ("CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT", "PREFIX", "x"),
    ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "ab", "PREFIX", "a"),
    ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "", "PREFIX", "bc"),
    ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "ab"),
    ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "abc"),
    ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "x", "PREFIX", "a\x00b"),
    ("CLIENT", "TRACKINGINFO"), ("CLIENT", "TRACKING", "ON", "OPTIN"),
    ("CLIENT", "TRACKING", "OFF"), ("CLIENT", "TRACKING", "ON", "OPTOUT", "NOLOOP"),
    ("CLIENT", "TRACKINGINFO"), ("CLIENT", "CACHING", "NO"), ("CLIENT", "TRACKINGINFO"),
    ("CLIENT", "TRACKING", "ON", "OPTIN"), ("CLIENT", "TRACKING", "off", "bcast"),
    ("CLIENT", "TRACKING"), ("CLIENT", "TRACKING", "OFF", "BADOPT"), ("CLIENT", "CACHING"),
    ("CLIENT", "CACHING", "YES", "x"), ("CLIENT", "GETREDIR", "x"), ("CLIENT", "TRACKINGINFO", "x"),
    ("CLIENT", "TRACKING", "on", "noloop", "optin"), ("CLIENT", "CACHING", "yes"),
    ("CLIENT", "TRACKINGINFO"), ("CLIENT", "TRACKING", "off"),
]


@pytest.mark.parametrize("resp3", [False, True])
def test_tracking_options_and_errors(pair, resp3):
    if resp3:
        pair.resp3()
    for cmd in _TRACKING_CMDS:
        pair.same(*cmd)


def test_tracking_prefix_overlap_double_reply(pair):
    """Redis 7.0 replies an error AND +OK when the overlap is past the first prefix."""
    o, s = pair.both("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "b",
                     "PREFIX", "bc")
    assert o == s
    assert pair.oracle.read_reply() == pair.subject.read_reply() == b"+OK\r\n"
    pair.same("CLIENT", "TRACKINGINFO")


def test_tracking_redirect_ids(pair, duo):
    a, target = duo(), duo()
    oid, sid = target.id_pair()
    assert pair.oracle.call("CLIENT", "TRACKING", "ON", "REDIRECT", oid) == \
        pair.subject.call("CLIENT", "TRACKING", "ON", "REDIRECT", sid) == b"+OK\r\n"
    assert pair.oracle.call("CLIENT", "GETREDIR") == b":%d\r\n" % oid
    assert pair.subject.call("CLIENT", "GETREDIR") == b":%d\r\n" % sid
    o = pair.oracle.call("CLIENT", "TRACKING", "ON", "REDIRECT", oid, "REDIRECT", oid)
    s = pair.subject.call("CLIENT", "TRACKING", "ON", "REDIRECT", sid, "REDIRECT", sid)
    assert o == s


def test_tracking_default_mode_resp3(pair, duo):
    a, w = duo(), duo()
    a.call("HELLO", "3")
    a.same("CLIENT", "TRACKING", "ON")
    # Replies and invalidations on the same connection, fenced by PING.
    for cmd in (("GET", "k"), ("SET", "k", "1"), ("GET", "k"), ("MGET", "k", "j"),
                ("SET", "k", "2"), ("SET", "j", "2"), ("GET", "k"), ("STRLEN", "j"),
                ("APPEND", "k", "x"), ("GET", "k")):
        a.o.send(*cmd)
        a.s.send(*cmd)
        a.pushes_same()
    # another client's writes
    w.same("SET", "j", "3")
    w.same("SET", "k", "3")
    w.same("EXPIRE", "k", "100")
    a.pushes_same()
    a.same("GET", "k")
    w.same("DEL", "k")
    w.same("DEL", "k")
    a.pushes_same()
    a.same("GET", "k")
    w.same("FLUSHDB")
    a.pushes_same()
    a.same("GET", "k")
    w.same("FLUSHALL")
    a.pushes_same()


def test_tracking_pipeline_self_invalidation_order(pair, duo):
    a = duo()
    a.call("HELLO", "3")
    a.same("CLIENT", "TRACKING", "ON")
    cmds = [("GET", "p"), ("SET", "p", "1"), ("GET", "p"), ("SET", "p", "2"), ("PING",)]
    o = a.o.pipeline(cmds) + [a.o.read_reply(), a.o.read_reply()]
    s = a.s.pipeline(cmds) + [a.s.read_reply(), a.s.read_reply()]
    assert o == s


def test_tracking_optin_optout_noloop(pair, duo):
    a, w = duo(), duo()
    a.call("HELLO", "3")
    a.same("CLIENT", "TRACKING", "ON", "OPTIN")
    a.same("GET", "not-cached")
    a.same("CLIENT", "CACHING", "YES")
    a.same("GET", "cached")
    a.same("GET", "not-cached-2")
    w.same("MSET", "not-cached", "1", "cached", "1", "not-cached-2", "1")
    a.pushes_same()
    a.same("CLIENT", "TRACKING", "OFF")
    a.same("CLIENT", "TRACKING", "ON", "OPTOUT", "NOLOOP")
    a.same("GET", "x1")
    a.same("CLIENT", "CACHING", "NO")
    a.same("GET", "x2")
    a.same("GET", "x3")
    a.same("SET", "x3", "mine")       # NOLOOP: no invalidation for our own write
    w.same("MSET", "x1", "1", "x2", "2", "x3", "3")
    a.pushes_same()
    # CLIENT CACHING survives CLIENT subcommands and MULTI queueing
    a.same("CLIENT", "TRACKING", "OFF")
    a.same("CLIENT", "TRACKING", "ON", "OPTIN")
    a.same("CLIENT", "CACHING", "YES")
    a.same("CLIENT", "GETREDIR")
    a.same("MULTI")
    a.same("GET", "m1")
    a.same("GET", "m2")
    a.same("EXEC")
    a.same("GET", "m3")
    w.same("MSET", "m1", "1", "m2", "2", "m3", "3")
    a.pushes_same()


def test_tracking_bcast(pair, duo):
    a, w = duo(), duo()
    a.call("HELLO", "3")
    a.same("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "obj:")
    w.same("SET", "user:1", "a")
    a.pushes_same()
    cmds = [("SET", "user:3", "x"), ("SET", "user:2", "y"), ("SET", "obj:1", "z"),
            ("SET", "other", "q"), ("DEL", "user:3")]
    assert w.o.pipeline(cmds) == w.s.pipeline(cmds)
    time.sleep(0.05)
    a.pushes_same()
    a.same("SET", "user:9", "self")      # without NOLOOP our own writes come back
    time.sleep(0.05)
    a.pushes_same()
    a.same("CLIENT", "TRACKING", "OFF")
    a.same("CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP")
    a.same("SET", "mine", "1")
    w.same("SET", "theirs", "1")
    time.sleep(0.05)
    a.pushes_same()


def test_tracking_redirect_resp2_pubsub(pair, duo):
    w, t2 = duo(), duo()
    oid, sid = t2.id_pair()          # before SUBSCRIBE: CLIENT ID is refused in RESP2 pub/sub mode
    t2.same("SUBSCRIBE", "__redis__:invalidate")
    assert pair.oracle.call("CLIENT", "TRACKING", "ON", "REDIRECT", oid) == \
        pair.subject.call("CLIENT", "TRACKING", "ON", "REDIRECT", sid) == b"+OK\r\n"
    pair.same("GET", "rk")
    w.same("SET", "rk", "1")
    t2.pushes_same()
    pair.same("GET", "rk")
    w.same("FLUSHALL")
    t2.pushes_same()
    # the redirect target goes away: the RESP2 client cannot be told, the flag shows it
    pair.same("GET", "rk")
    t2.close()
    time.sleep(0.1)
    w.same("SET", "rk", "2")
    _same_trackinginfo(pair, oid, sid)
    pair.same("PING")


def _same_trackinginfo(pair, oid, sid):
    o, s = pair.both("CLIENT", "TRACKINGINFO")
    assert o.replace(b":%d\r\n" % oid, b":ID\r\n") == s.replace(b":%d\r\n" % sid, b":ID\r\n")


def test_tracking_redirect_broken_resp3(pair, duo):
    t = duo()
    oid, sid = t.id_pair()
    pair.resp3()
    assert pair.oracle.call("CLIENT", "TRACKING", "ON", "REDIRECT", oid) == \
        pair.subject.call("CLIENT", "TRACKING", "ON", "REDIRECT", sid) == b"+OK\r\n"
    pair.same("GET", "bk")
    t.close()
    time.sleep(0.1)
    w = duo()
    w.same("SET", "bk", "1")
    o = pair.oracle.read_reply()
    s = pair.subject.read_reply()
    assert o == b">2\r\n$21\r\ntracking-redir-broken\r\n:%d\r\n" % oid
    assert s == b">2\r\n$21\r\ntracking-redir-broken\r\n:%d\r\n" % sid
    _same_trackinginfo(pair, oid, sid)
