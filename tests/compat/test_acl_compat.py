"""ACL users against a real redis-server 7.0: the same commands, byte-identical replies.

Both servers run here with an ``--aclfile`` of their own (ACL SAVE/LOAD need one),
so user changes never leak into the session-wide servers other modules share.

One normalisation only: Redis prints the single-command tail of a rule string
(after ``+@all``/``-@all`` and the categories) in the order of its command dict,
which is seeded at random per process (two redis-server runs disagree), so that
tail is compared as a sorted token list. Everything else, bulk lengths included,
must match exactly; ACL LOG's age and client-info values are the other
time/connection dependent fields and are compared by shape.
"""
from __future__ import annotations

import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis import HealthCheck

from redislite.testing import RawClient, ServerProcess
from tests.compat.differential import Pair, decode, normalise_hello, require_redis_server


def _norm_segment(seg: bytes) -> bytes:
    tokens = seg.split(b" ")
    for i, t in enumerate(tokens):
        if t in (b"+@all", b"-@all"):
            j = i + 1
            while j < len(tokens) and tokens[j][:2] in (b"+@", b"-@"):
                j += 1
            return b" ".join(tokens[:j] + sorted(tokens[j:]))
    return seg


def norm_rules(s: bytes) -> bytes:
    """Sort the single-command tail of every selector in a rule string (same length)."""
    if b"+@all" not in s and b"-@all" not in s:
        return s
    pieces = s.split(b" (")
    out = [_norm_segment(pieces[0])]
    for p in pieces[1:]:
        closed = p.endswith(b")")
        body = _norm_segment(p[:-1] if closed else p)
        out.append(body + (b")" if closed else b""))
    return b" (".join(out)


def norm_reply(raw: bytes) -> bytes:
    """Rewrite every bulk string of a RESP reply through :func:`norm_rules` (lengths unchanged)."""
    out = bytearray()
    pos = 0
    n = len(raw)
    while pos < n:
        t = raw[pos:pos + 1]
        end = raw.index(b"\r\n", pos)
        out += raw[pos:end + 2]
        if t in (b"$", b"=") and raw[pos + 1:end] != b"-1":
            size = int(raw[pos + 1:end])
            out += norm_rules(raw[end + 2:end + 2 + size]) + b"\r\n"
            pos = end + 2 + size + 2
        else:
            pos = end + 2
    return bytes(out)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    require_redis_server()
    procs = []
    for kind in ("redis", "redislite"):
        d = tmp_path_factory.mktemp("acl-" + kind)
        (d / "users.acl").write_text("")
        procs.append(ServerProcess(kind, workdir=str(d), args=["--aclfile", str(d / "users.acl")]))
    for p in procs:
        p.start()
    try:
        yield procs
    finally:
        for p in procs:
            p.stop()


def _reset(client: RawClient) -> None:
    users = decode(client.call("ACL", "USERS"))
    for u in users:
        if u != b"default":
            client.call("ACL", "DELUSER", u)
    client.call("ACL", "SETUSER", "default", "reset", "on", "nopass", "~*", "&*", "+@all")
    client.call("ACL", "LOG", "RESET")
    client.call("FLUSHALL")


class AclPair(Pair):
    def same(self, *args):
        o, s = self.both(*args)
        if norm_reply(o) != norm_reply(s):
            self._fail("Replies differ", args, o[:2000], s[:2000])
        return o

    def connect_more(self):
        return AclPair(RawClient(self.oracle.host, self.oracle.port),
                       RawClient(self.subject.host, self.subject.port))


@pytest.fixture
def acl_pair(servers):
    oracle, subject = servers
    p = AclPair(oracle.raw(), subject.raw())
    for c in (p.oracle, p.subject):
        _reset(c)
    opened = [p]
    p.opened = opened
    yield p
    for q in opened:
        q.close()


def more(p: AclPair) -> AclPair:
    q = p.connect_more()
    p.opened.append(q)
    return q


RULE_SCRIPT = [
    ("ACL", "SETUSER", "alice"),
    ("ACL", "GETUSER", "alice"),
    ("ACL", "SETUSER", "bob", "on", ">p1", "~foo*", "%R~bar", "%W~baz", "%R~baz", "&ch*", "+get",
     "+@hash", "-hset", "+config|get", "+select|0", "(+set ~x*)"),
    ("ACL", "GETUSER", "bob"),
    ("ACL", "SETUSER", "c", "+@all", "-@dangerous", "-get"),
    ("ACL", "SETUSER", "d", "+@read", "+@write", "-@string"),
    ("ACL", "SETUSER", "e", "+@all", "-@all", "+client", "-client|kill", "+acl", "-acl|setuser"),
    ("ACL", "SETUSER", "f", "+select|0", "+select|1", "+SELECT|0", "+debug|x"),
    ("ACL", "SETUSER", "f", "nocommands", "+select|2", "+get", "-get"),
    ("ACL", "SETUSER", "g", "~*", "~x"),
    ("ACL", "SETUSER", "g", "&*", "&x"),
    ("ACL", "SETUSER", "g", "#abc"),
    ("ACL", "SETUSER", "g", "#" + "A" * 64),
    ("ACL", "SETUSER", "g", "<nopw"),
    ("ACL", "SETUSER", "g", "!" + "a" * 64),
    ("ACL", "SETUSER", "g", "+nosuch"),
    ("ACL", "SETUSER", "g", "+@nosuch"),
    ("ACL", "SETUSER", "g", "foo"),
    ("ACL", "SETUSER", "g", "%RX~a"),
    ("ACL", "SETUSER", "g", "%RR~a"),
    ("ACL", "SETUSER", "g", "%~a"),
    ("ACL", "SETUSER", "g", "%R"),
    ("ACL", "SETUSER", "g", "(foo"),
    ("ACL", "SETUSER", "g", "x", "(foo", "bar"),
    ("ACL", "SETUSER", "g", "+client|id|x"),
    ("ACL", "SETUSER", "g", "+config|"),
    ("ACL", "SETUSER", "g", "-select|0"),
    ("ACL", "SETUSER", "g", ""),
    ("ACL", "SETUSER", "g", "skip-sanitize-payload", "nopass", "on", "allkeys", "allchannels",
     "allcommands"),
    ("ACL", "GETUSER", "g"),
    ("ACL", "SETUSER", "g", "reset"),
    ("ACL", "SETUSER", "g", "(~a", "+get)", "(&x +publish)", "clearselectors", "(~b +set)", "()",
     "( ~c )"),
    ("ACL", "GETUSER", "g"),
    ("ACL", "SETUSER", "h", "on", ">a", ">b", ">a", "<b", "#" + "0" * 64, "resetpass", ">c"),
    ("ACL", "SETUSER", "i", "%R~k1", "%W~k1", "%RW~k2", "%wr~k3", "~k4", "%R~k4"),
    ("ACL", "SETUSER", "a b"),
    ("ACL", "SETUSER", "def", "+@all", "-@all", "+@all"),
    ("ACL", "LIST"),
    ("ACL", "USERS"),
    ("ACL", "DELUSER", "g", "nosuch"),
    ("ACL", "DELUSER", "default"),
    ("ACL", "CAT"),
    ("ACL", "CAT", "nosuch"),
    ("ACL", "WHOAMI"),
    ("ACL", "WHOAMI", "x"),
    ("ACL", "DRYRUN", "bob", "hget", "foo1", "f"),
    ("ACL", "DRYRUN", "bob", "hget", "zz", "f"),
    ("ACL", "DRYRUN", "bob", "hset", "foo", "f", "v"),
    ("ACL", "DRYRUN", "bob", "get", "foo"),
    ("ACL", "DRYRUN", "bob", "set", "x1", "v"),
    ("ACL", "DRYRUN", "bob", "set", "x1"),
    ("ACL", "DRYRUN", "bob", "nosuch"),
    ("ACL", "DRYRUN", "nosuch", "get", "x"),
    ("ACL", "DRYRUN", "bob", "config", "get", "x"),
    ("ACL", "DRYRUN", "bob", "config", "set", "x", "y"),
    ("ACL", "DRYRUN", "bob", "select", "0"),
    ("ACL", "DRYRUN", "bob", "select", "1"),
    ("ACL", "DRYRUN", "i", "get", "k1"),
    ("ACL", "DRYRUN", "i", "set", "k1", "v"),
    ("ACL", "DRYRUN", "i", "set", "k1", "v", "get"),
    ("ACL", "DRYRUN", "i", "lmove", "k2", "k1", "left", "right"),
    ("ACL", "DRYRUN", "i", "lmove", "k1", "k2", "left", "right"),
    ("ACL", "DRYRUN", "i", "mset", "k1", "v", "k9", "v"),
    ("ACL", "DRYRUN", "i", "zunionstore", "k1", "2", "k2", "k4"),
    ("ACL", "DRYRUN", "i", "sort", "k4", "store", "k1"),
    ("ACL", "DRYRUN", "i", "bitfield", "k4", "get", "u8", "0"),
    ("ACL", "DRYRUN", "i", "bitfield", "k1", "get", "u8", "0"),
    ("ACL", "GENPASS", "0"),
    ("ACL", "GENPASS", "abc"),
    ("ACL", "GENPASS", "4097"),
    ("ACL", "LOG", "x"),
    ("ACL", "LOG", "-5"),
    ("ACL", "LOG"),
    ("ACL", "NOSUCH"),
    ("ACL", "HELP"),
    ("ACL", "SAVE"),
    ("ACL", "LIST"),
]


def test_rules_getuser_list_dryrun_and_errors(acl_pair):
    for cmd in RULE_SCRIPT:
        acl_pair.same(*cmd)
    assert len(decode(acl_pair.oracle.call("ACL", "GENPASS", "5"))) == 2
    assert len(decode(acl_pair.subject.call("ACL", "GENPASS", "5"))) == 2


def test_resp3_getuser_and_log(acl_pair):
    acl_pair.resp3()
    acl_pair.same("ACL", "SETUSER", "bob", "on", "nopass", "~foo*", "&c", "+get", "(+set ~x*)")
    acl_pair.same("ACL", "GETUSER", "bob")
    acl_pair.same("ACL", "GETUSER", "default")
    acl_pair.same("ACL", "LOG")


ENFORCEMENT = [
    ("ACL", "SETUSER", "u1", "on", "nopass", "~k*", "%R~r*", "+get", "+set", "+eval", "+multi", "+exec",
     "+publish", "+subscribe", "&c1", "+acl|whoami", "+bitfield", "+select|0", "+client|id"),
    ("AUTH", "u1", "x"),
    ("auth", "u1", "x"),
    ("GET", "k1"),
    ("get", "zz"),
    ("set", "zz", "1"),
    ("set", "k1", "1"),
    ("get", "r1"),
    ("set", "r1", "1"),
    ("set", "k1", "1", "get"),
    ("del", "k"),
    ("client", "list"),
    ("select", "0"),
    ("select", "1"),
    ("publish", "c2", "x"),
    ("publish", "c1", "x"),
    ("eval", "return redis.call('get','zz')", "0"),
    ("eval", "return redis.pcall('get','zz')", "0"),
    ("eval", "return redis.call('del','k1')", "0"),
    ("eval", "return redis.pcall('publish','c9', 'm')", "0"),
    ("eval", "return redis.acl_check_cmd('get','zz')", "0"),
    ("eval", "return redis.acl_check_cmd('get','k1')", "0"),
    ("eval", "return redis.acl_check_cmd('del','k1')", "0"),
    ("eval", "return redis.acl_check_cmd('nosuch')", "0"),
    ("multi",),
    ("get", "zz"),
    ("get", "k1"),
    ("exec",),
    ("multi",),
    ("get", "k1"),
    ("exec",),
    ("acl", "whoami"),
    ("acl", "list"),
    ("bitfield", "zz", "get", "u8", "0"),
    ("ping",),
    ("AUTH", "nosuch", "x"),
    ("AUTH", "x"),
    ("HELLO", "2", "AUTH", "nosuch", "x"),
    ("multi",),
    ("AUTH", "nosuch", "y"),
    ("exec",),
    ("subscribe", "c1", "c2"),
]


def _log_shape(raw: bytes):
    entries = decode(raw)
    out = []
    for e in entries:
        d = dict(zip(e[::2], e[1::2]))
        assert set(d) == {b"count", b"reason", b"context", b"object", b"username", b"age-seconds",
                          b"client-info"}
        info = dict(f.split(b"=", 1) for f in d[b"client-info"].split(b" ") if b"=" in f)
        out.append((d[b"count"], d[b"reason"], d[b"context"], d[b"object"], d[b"username"],
                    info[b"user"], info[b"cmd"], info[b"flags"], info[b"multi"], info[b"db"]))
    return out


def test_enforcement_texts_and_acl_log(acl_pair):
    user = more(acl_pair)
    acl_pair.same(*ENFORCEMENT[0])
    for cmd in ENFORCEMENT[1:]:
        user.same(*cmd)
    o, s = acl_pair.both("ACL", "LOG")
    assert _log_shape(o) == _log_shape(s)
    assert len(_log_shape(o)) >= 8


def test_exec_after_rules_changed(acl_pair):
    user = more(acl_pair)
    acl_pair.same("ACL", "SETUSER", "u3", "on", "nopass", "~*", "+@all", "&*")
    for cmd in (("AUTH", "u3", "x"), ("MULTI",), ("GET", "k"), ("SET", "k", "v"), ("PUBLISH", "ch", "m")):
        user.same(*cmd)
    acl_pair.same("ACL", "SETUSER", "u3", "-set", "resetchannels")
    user.same("EXEC")
    user.same("MULTI")
    user.same("GET", "k")
    acl_pair.same("ACL", "SETUSER", "u3", "resetkeys", "~z")
    user.same("EXEC")
    o, s = acl_pair.both("ACL", "LOG")
    assert _log_shape(o) == _log_shape(s)


def test_default_user_password_requirepass_and_noauth(acl_pair):
    acl_pair.same("AUTH", "x")
    acl_pair.same("CONFIG", "SET", "requirepass", "s3cret")
    acl_pair.same("ACL", "LIST")
    fresh = more(acl_pair)
    fresh.same("GET", "k")
    fresh.same("HELLO", "3")
    fresh.same("AUTH", "wrong")
    fresh.same("AUTH", "s3cret")
    fresh.same("ACL", "WHOAMI")
    acl_pair.same("ACL", "SETUSER", "default", ">other")
    acl_pair.same("CONFIG", "SET", "requirepass", "")
    acl_pair.same("ACL", "LIST")
    acl_pair.same("ACL", "SETUSER", "default", "resetpass", ">pw", "-flushall")
    second = more(acl_pair)
    second.same("PING")
    second.same("AUTH", "default", "pw")
    second.same("FLUSHALL")
    second.same("RESET")
    second.same("PING")
    acl_pair.same("ACL", "SETUSER", "default", "nopass", "+flushall")


def test_deluser_and_client_kill_user_close_connections(acl_pair):
    acl_pair.same("ACL", "SETUSER", "k", "on", "nopass", "+@all")
    victims = [more(acl_pair) for _ in range(2)]
    for v in victims:
        v.same("AUTH", "k", "x")
    acl_pair.same("CLIENT", "KILL", "USER", "nosuch")
    acl_pair.same("CLIENT", "KILL", "USER", "k", "SKIPME", "yes")
    for side in ("oracle", "subject"):
        assert getattr(victims[0], side).read_until_closed() == b""
    acl_pair.same("ACL", "DELUSER", "k")
    for side in ("oracle", "subject"):
        assert getattr(victims[1], side).read_until_closed() == b""
    me = more(acl_pair)
    acl_pair.same("ACL", "SETUSER", "self", "on", "nopass", "+@all")
    me.same("AUTH", "self", "x")
    me.same("ACL", "DELUSER", "self")
    for side in ("oracle", "subject"):
        assert getattr(me, side).read_until_closed() == b""


def test_pubsub_clients_killed_when_channels_revoked(acl_pair):
    acl_pair.same("ACL", "SETUSER", "ps", "on", "nopass", "+@all", "&x", "&y", "&p*")
    sub = more(acl_pair)
    sub.same("AUTH", "ps", "x")
    sub.same("SUBSCRIBE", "x")
    sub.same("PSUBSCRIBE", "p*")
    sub.same("PSUBSCRIBE", "q*")
    acl_pair.same("ACL", "SETUSER", "ps", "&z")           # a superset keeps the subscriber
    sub.same("PING")
    acl_pair.same("ACL", "SETUSER", "ps", "resetchannels", "&y", "&p*")
    for side in ("oracle", "subject"):
        assert getattr(sub, side).read_until_closed() == b""


def test_save_and_load(acl_pair, servers):
    paths = [os.path.join(p.workdir, "users.acl") for p in servers]
    acl_pair.same("ACL", "SETUSER", "bob", "on", ">p1", "~foo*", "%R~bar", "&c*", "+get", "+@hash",
                  "(+set ~x*)")
    acl_pair.same("ACL", "SETUSER", "amy", "off", "nopass", "+@all", "-@dangerous")
    acl_pair.same("ACL", "SAVE")
    texts = [open(p, "rb").read() for p in paths]
    assert [norm_rules(line) for line in texts[0].split(b"\n")] == \
        [norm_rules(line) for line in texts[1].split(b"\n")]
    user = more(acl_pair)
    user.same("AUTH", "bob", "p1")
    for p in paths:
        with open(p, "ab") as fh:
            fh.write(b"user carl on nopass ~* +@read\n")
    acl_pair.same("ACL", "LOAD")
    acl_pair.same("ACL", "LIST")
    for side in ("oracle", "subject"):
        assert getattr(user, side).read_until_closed() == b""
    for p in paths:
        with open(p, "wb") as fh:
            fh.write(b"user z on +nosuch\nbad line\nuser z on\nuser w (~a +get\n"
                     b"user v on +get +nosuch2 >x <y\n")
    o, s = acl_pair.both("ACL", "LOAD")
    assert o.replace(paths[0].encode(), b"F") == s.replace(paths[1].encode(), b"F")
    assert o.startswith(b"-ERR ")
    acl_pair.same("ACL", "LIST")


# -- hypothesis: random SETUSER rule sequences ---------------------------------------------
_COMMANDS = ["get", "set", "del", "hset", "hget", "client", "client|id", "client|kill", "config|get",
             "config", "select", "publish", "subscribe", "acl|whoami", "lpush", "zadd", "xadd", "sort",
             "debug", "info", "flushall", "eval", "multi"]
_CATS = ["all", "read", "write", "string", "hash", "list", "set", "sortedset", "stream", "admin",
         "fast", "slow", "dangerous", "keyspace", "pubsub", "connection", "scripting", "geo",
         "bitmap", "blocking", "transaction", "hyperloglog", "nosuch"]
_PATTERNS = ["*", "a*", "b", "k?", "[ab]*", "x"]
_rule = st.one_of(
    st.sampled_from(["on", "off", "nopass", "resetpass", "allkeys", "resetkeys", "allchannels",
                     "resetchannels", "allcommands", "nocommands", "reset", "clearselectors",
                     "sanitize-payload", "skip-sanitize-payload", ">pw1", ">pw2", "<pw1", "", "bogus"]),
    st.builds(lambda s, c: s + c, st.sampled_from(["+", "-"]), st.sampled_from(_COMMANDS)),
    st.builds(lambda s, c: s + "@" + c, st.sampled_from(["+", "-"]), st.sampled_from(_CATS)),
    st.builds(lambda c, a: "+" + c + "|" + a, st.sampled_from(["select", "debug", "config"]),
              st.sampled_from(["0", "1", "get", "x"])),
    st.builds(lambda p, pat: p + pat, st.sampled_from(["~", "%R~", "%W~", "%RW~", "&"]),
              st.sampled_from(_PATTERNS)),
    st.builds(lambda a, b: "(%s %s)" % (a, b), st.sampled_from(["~a*", "%R~b", "&c", "+get", "+@read"]),
              st.sampled_from(["+set", "-@all", "~x", "allkeys", "+@write"])),
)
_DRY = [("get", "a1"), ("set", "b", "v"), ("set", "a1", "v", "get"), ("hset", "k1", "f", "v"),
        ("client", "id"), ("client", "kill", "1.1.1.1:1"), ("select", "1"), ("select", "0"),
        ("publish", "c", "m"), ("subscribe", "c", "x"), ("config", "get", "x"), ("debug", "x"),
        ("lpush", "x", "1"), ("flushall",), ("info",)]


@settings(max_examples=int(os.environ.get("ACL_FUZZ_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rules=st.lists(st.lists(_rule, min_size=1, max_size=6), min_size=1, max_size=4))
def test_fuzz_setuser_sequences(acl_pair, rules):
    for c in (acl_pair.oracle, acl_pair.subject):
        c.call("ACL", "DELUSER", "fz")
    for batch in rules:
        acl_pair.same("ACL", "SETUSER", "fz", *batch)
        acl_pair.same("ACL", "GETUSER", "fz")
    o, s = acl_pair.both("ACL", "LIST")
    assert norm_reply(o) == norm_reply(s), (rules, o, s)
    for cmd in _DRY:
        acl_pair.same("ACL", "DRYRUN", "fz", *cmd)


# -- hypothesis: what a random user may run, executed for real ---------------------------------
_KEYS = ["a1", "a2", "b", "k1", "x"]
_perm_rule = st.one_of(
    st.builds(lambda p, pat: p + pat, st.sampled_from(["~", "%R~", "%W~", "&"]),
              st.sampled_from(["a*", "b", "k?", "x", "*"])),
    st.builds(lambda s, c: s + c, st.sampled_from(["+", "-"]),
              st.sampled_from(["@read", "@write", "@string", "@list", "@keyspace", "@pubsub", "@scripting",
                               "get", "set", "del", "eval", "publish", "rename", "lmove", "sort"])),
    st.sampled_from(["allkeys", "allchannels", "(~b +get)", "(%W~a* +set)", "(&c* +publish)"]),
)
_key = st.sampled_from(_KEYS)
_user_cmd = st.one_of(
    st.builds(lambda k: ["GET", k], _key),
    st.builds(lambda k: ["SET", k, "v"], _key),
    st.builds(lambda k: ["SET", k, "v", "GET"], _key),
    st.builds(lambda k: ["INCR", k], _key),
    st.builds(lambda a, b: ["MSET", a, "1", b, "2"], _key, _key),
    st.builds(lambda a, b: ["MGET", a, b], _key, _key),
    st.builds(lambda a, b: ["DEL", a, b], _key, _key),
    st.builds(lambda a, b: ["RENAME", a, b], _key, _key),
    st.builds(lambda a, b: ["COPY", a, b], _key, _key),
    st.builds(lambda a, b: ["LMOVE", a, b, "LEFT", "RIGHT"], _key, _key),
    st.builds(lambda k: ["LPUSH", k, "1"], _key),
    st.builds(lambda a, b: ["SORT", a, "STORE", b], _key, _key),
    st.builds(lambda a, b: ["ZUNIONSTORE", a, "1", b], _key, _key),
    st.builds(lambda k: ["EXISTS", k], _key),
    st.builds(lambda k: ["TYPE", k], _key),
    st.builds(lambda k: ["BITFIELD", k, "GET", "u8", "0"], _key),
    st.builds(lambda c: ["PUBLISH", c, "m"], st.sampled_from(["c1", "x", "b"])),
    st.builds(lambda k: ["EVAL", "return redis.pcall('get', KEYS[1])", "1", k], _key),
    st.builds(lambda k: ["EVAL", "return redis.pcall('set', KEYS[1], 'v')", "1", k], _key),
    st.builds(lambda k: ["EVAL", "return redis.acl_check_cmd('set', KEYS[1], 'v')", "1", k], _key),
    st.just(["PING"]),
)


@settings(max_examples=int(os.environ.get("ACL_FUZZ_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rules=st.lists(_perm_rule, min_size=1, max_size=6),
       cmds=st.lists(_user_cmd, min_size=1, max_size=10))
def test_fuzz_user_commands(acl_pair, rules, cmds):
    for c in (acl_pair.oracle, acl_pair.subject):
        c.call("FLUSHALL")
        c.call("ACL", "DELUSER", "fu")
    acl_pair.same("ACL", "SETUSER", "fu", "on", "nopass", *rules)
    user = getattr(acl_pair, "fuzz_user", None)
    if user is None:
        user = acl_pair.fuzz_user = more(acl_pair)
    user.same("AUTH", "fu", "x")
    for cmd in cmds:
        user.same(*cmd)
    user.same("AUTH", "default", "x")


def test_sort_by_get_patterns_need_full_read_access(acl_pair):
    acl_pair.same("ACL", "SETUSER", "so", "on", "nopass", "~k*", "+sort", "+eval", "(%W~* +sort)")
    acl_pair.same("ACL", "SETUSER", "so2", "on", "nopass", "~k*", "%R~*", "+sort")
    user = more(acl_pair)
    for cmd in (("AUTH", "so", "x"), ("SORT", "k", "BY", "w*"), ("SORT", "k", "BY", "nosort"),
                ("SORT", "k", "GET", "#"), ("SORT", "k", "GET", "#", "BY", "x*"),
                ("EVAL", "return redis.pcall('sort', KEYS[1], 'GET', '#')", "1", "k"), ("AUTH", "so2", "x"),
                ("SORT", "k", "GET", "#", "BY", "x*")):
        user.same(*cmd)


def test_setuser_redacted_in_slowlog(acl_pair):
    acl_pair.same("CONFIG", "SET", "slowlog-log-slower-than", "0")
    try:
        acl_pair.same("SLOWLOG", "RESET")
        acl_pair.same("ACL", "SETUSER", "sx", "on", ">pw")
        o, s = acl_pair.both("SLOWLOG", "GET", "2")
        entry = lambda raw: [e[3] for e in decode(raw)]   # noqa: E731 (the argv of each entry)
        assert entry(o) == entry(s)
        assert [b"acl", b"setuser", b"(redacted)", b"(redacted)", b"(redacted)"] in \
            [[a.lower() if i < 2 else a for i, a in enumerate(e)] for e in entry(s)]
    finally:
        acl_pair.same("CONFIG", "SET", "slowlog-log-slower-than", "10000")


def test_real_clients_log_in_as_acl_users(acl_pair, servers):
    """redis-py (HELLO 3 AUTH user pass) and redis-cli --user/--pass, on both servers."""
    import subprocess

    import redis
    acl_pair.same("ACL", "SETUSER", "app", "on", ">app-pw", "~app:*", "+@read", "+@write",
                  "-@dangerous", "+@connection")
    for server in servers:
        c = redis.Redis(host=server.host, port=server.port, username="app", password="app-pw", protocol=3)
        assert c.set("app:x", "1") is True and c.get("app:x") == b"1"
        with pytest.raises(redis.exceptions.NoPermissionError, match="keys used as arguments"):
            c.get("other")
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis.Redis(host=server.host, port=server.port, username="app", password="no").ping()
        c.close()
    outputs = [subprocess.run(["redis-cli", "-h", s.host, "-p", str(s.port), "--user", "app", "--pass",
                               "app-pw", "--no-auth-warning", "FLUSHALL"],
                              capture_output=True, timeout=20).stdout for s in servers]
    assert outputs[0] == outputs[1] and b"NOPERM" in outputs[0]


def test_cat_members_per_category(acl_pair):
    """ACL CAT <category>: Redis lists them in its (randomly seeded) dict order."""
    for cat in decode(acl_pair.same("ACL", "CAT")):
        acl_pair.same_unordered("ACL", "CAT", cat)
    acl_pair.same("ACL", "CAT", "NoSuch")


def test_channel_patterns_match_literally_for_psubscribe(acl_pair):
    acl_pair.same("ACL", "SETUSER", "cp", "on", "nopass", "+@all", "resetchannels", "&p*", "&lit")
    for cmd in (("PSUBSCRIBE", "p1"), ("PSUBSCRIBE", "p*", "lit"), ("SUBSCRIBE", "p1", "pq"),
                ("SSUBSCRIBE", "lit"), ("SSUBSCRIBE", "other"), ("PUBLISH", "p9", "m"),
                ("SPUBLISH", "nope", "m"), ("UNSUBSCRIBE", "zzz")):
        user = more(acl_pair)
        o, s = user.both("HELLO", "3", "AUTH", "cp", "x")
        assert normalise_hello(o) == normalise_hello(s)
        user.same(*cmd)
