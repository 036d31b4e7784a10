"""Connection commands against real Redis 7.0.15: PING, ECHO, QUIT, SELECT, HELLO,
AUTH, RESET and CLIENT *, in RESP2 and RESP3, byte for byte."""

import contextlib

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule

from redislite.testing import RawClient
from tests.compat.differential import DifferentialMachine, decode, normalise_hello

pytestmark = pytest.mark.compat


@pytest.fixture(params=["resp2", "resp3"])
def proto_pair(request, pair):
    if request.param == "resp3":
        pair.resp3()
    return pair


def fresh(client):
    return RawClient(client.host, client.port, client.timeout)


def subject_supports(pair, name):
    """Whether RedisLite implements *name* yet (COMMAND INFO answers nil otherwise)."""
    return pair.subject.call("COMMAND", "INFO", name) not in (b"*1\r\n$-1\r\n", b"*1\r\n_\r\n")


def client_info(raw):
    """CLIENT INFO / one CLIENT LIST line -> ordered [(field, value)]."""
    text = decode(raw)
    text = text.decode() if isinstance(text, bytes) else str(text)
    if text.startswith("txt:"):
        text = text[4:]
    return [tuple(kv.split("=", 1)) for kv in text.strip().split(" ")]


# -- PING / ECHO / SELECT -----------------------------------------------------------------
def test_ping_echo(proto_pair):
    for args in (("PING",), ("PING", "hello"), ("PING", ""), ("PING", "a", "b"), ("ping",),
                 ("ECHO", "x"), ("ECHO", ""), ("ECHO",), ("ECHO", "a", "b"), ("ECHO", b"\x00\xff")):
        proto_pair.same(*args)


@pytest.mark.parametrize("index", ["0", "15", "16", "-1", "x", "1.5", "01", "+1", " 1", "",
                                   "2147483647", "2147483648", "-2147483649", "4294967296",
                                   "9223372036854775808", "99999999999999999999"])
def test_select(pair, index):
    pair.same("SELECT", index)


def test_select_arity(pair):
    pair.same("SELECT")
    pair.same("SELECT", "1", "2")


def test_select_isolates_databases(pair):
    pair.same("SELECT", "5")
    pair.same("SET", "k", "v")
    pair.same("DBSIZE")
    pair.same("SELECT", "0")
    pair.same("DBSIZE")
    pair.same("EXISTS", "k")


# -- QUIT ---------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [("QUIT",), ("QUIT", "extra", "args"), ("quit",)])
def test_quit_replies_ok_and_closes(pair, args):
    out = []
    for side in (pair.oracle, pair.subject):
        with contextlib.closing(fresh(side)) as c:
            c.send(*args)
            c.send("PING")  # must not be answered
            out.append(c.read_until_closed())
    assert out[0] == out[1] == b"+OK\r\n"


# -- HELLO --------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    (), ("2",), ("3",), ("3", "SETNAME", "app"), ("2", "setname", "x"),
    ("3", "AUTH", "default", "anything"), ("2", "AUTH", "default", ""),
    ("3", "AUTH", "default", "p", "SETNAME", "n"), ("3", "SETNAME", "n", "AUTH", "default", "p"),
    ("3", "SETNAME", "a", "SETNAME", "b"),
])
def test_hello_replies(pair, args):
    o, s = pair.both("HELLO", *args)
    assert normalise_hello(o) == normalise_hello(s), (o, s)
    pair.same("CLIENT", "GETNAME")


@pytest.mark.parametrize("args", [
    ("1",), ("0",), ("4",), ("-1",), ("x",), ("3.0",), ("",), ("9223372036854775808",),
    ("3", "AUTH"), ("3", "AUTH", "default"), ("3", "SETNAME"), ("3", "FOO"), ("3", "foo", "bar"),
    ("3", "SETNAME", "a b"), ("3", "SETNAME", "a\nb"), ("2", "AUTH", "nobody", "x"),
    ("4", "AUTH", "nobody", "x"), ("x", "AUTH"), ("3", "AUTH", "nobody", "x", "SETNAME", "a b"),
])
def test_hello_errors(pair, args):
    pair.same("HELLO", *args)
    pair.same("CLIENT", "GETNAME")
    pair.same("PING")  # still RESP2: errors change nothing


def test_hello_ids_are_client_ids(pair):
    for side in (pair.oracle, pair.subject):
        cid = decode(side.call("CLIENT", "ID"))
        reply = decode(side.call("HELLO", "3"))
        assert reply[b"id"] == cid


# -- AUTH / requirepass -------------------------------------------------------------------
@pytest.mark.parametrize("args", [("x",), ("default", "x"), ("default", ""), ("someone", "x"),
                                  ("a", "b", "c"), ()])
def test_auth_without_password(pair, args):
    pair.same("AUTH", *args)


@contextlib.contextmanager
def password(pair, pw="s3cret"):
    pair.same("CONFIG", "SET", "requirepass", pw)
    try:
        yield
    finally:
        for side in (pair.oracle, pair.subject):
            with contextlib.closing(fresh(side)) as c:
                c.call("AUTH", pw)
                c.call("CONFIG", "SET", "requirepass", "")


def test_auth_with_password(pair):
    with password(pair):
        o, s = fresh(pair.oracle), fresh(pair.subject)
        try:
            script = [
                ("PING",), ("CLIENT", "ID"), ("SELECT", "1"), ("ECHO", "x"), ("HELLO",), ("HELLO", "3"),
                ("HELLO", "2", "SETNAME", "x"), ("HELLO", "4"), ("HELLO", "x"),
                ("HELLO", "3", "AUTH", "default", "wrong"), ("AUTH", "wrong"), ("AUTH", "default", "wrong"),
                ("AUTH", "nobody", "s3cret"), ("AUTH", "s3cret", "x", "y"), ("PING",), ("AUTH", "s3cret"),
                ("PING",), ("AUTH", "default", "wrong"), ("PING",), ("RESET",), ("PING",),
                ("HELLO", "2", "AUTH", "default", "s3cret", "SETNAME", "a b"), ("CLIENT", "GETNAME"),
                ("PING",), ("RESET",), ("AUTH", "default", "s3cret"), ("PING",),
            ]
            for args in script:
                ro, rs = o.call(*args), s.call(*args)
                assert normalise_hello(ro) == normalise_hello(rs), (args, ro, rs)
            for side in (o, s):  # QUIT needs no auth
                fresh_c = fresh(side)
                fresh_c.send("QUIT")
                assert fresh_c.read_until_closed() == b"+OK\r\n"
        finally:
            o.close()
            s.close()


def test_hello_auth_then_resp3(pair):
    with password(pair):
        o, s = fresh(pair.oracle), fresh(pair.subject)
        try:
            ro = o.call("HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "n")
            rs = s.call("HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "n")
            assert normalise_hello(ro) == normalise_hello(rs)
            for args in (("CLIENT", "GETNAME"), ("PING",), ("RESET",), ("PING",)):
                assert o.call(*args) == s.call(*args), args
        finally:
            o.close()
            s.close()


# -- RESET --------------------------------------------------------------------------------
def test_reset(pair):
    pair.same("SELECT", "4")
    pair.same("CLIENT", "SETNAME", "before")
    pair.same("CLIENT", "NO-EVICT", "on")
    in_multi = subject_supports(pair, "multi")  # TODO: always, once MULTI lands (transactions issue)
    if in_multi:
        pair.same("MULTI")
    pair.same("RESET")
    pair.same("CLIENT", "GETNAME")
    pair.same("DBSIZE")
    if in_multi:
        pair.same("EXEC")  # the transaction was discarded
    o, s = (dict(client_info(x)) for x in pair.both("CLIENT", "INFO"))
    for field in ("db", "flags", "multi", "name", "resp", "cmd", "user"):
        assert o[field] == s[field], field


def test_reset_from_resp3(pair):
    pair.resp3()
    pair.same("RESET")
    pair.same("PING", "x")
    pair.same("RESET", "x")


# -- CLIENT -------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ("ID", "x"), ("SETNAME",), ("SETNAME", "a", "b"), ("GETNAME", "x"), ("INFO", "x"), ("KILL",),
    ("HELP", "x"), ("NO-EVICT",), ("NO-EVICT", "maybe"), ("NO-EVICT", "on"), ("NO-EVICT", "OFF"),
    ("NO-EVICT", "on", "x"), ("FOO",), ("SETINFO", "LIB-NAME", "x"), ("SETINFO", "LIB-VER", "1"),
    ("NO-TOUCH", "on"), ("HELP",),
])
def test_client_misc(proto_pair, args):
    proto_pair.same("CLIENT", *args)


def test_client_bare(pair):
    pair.same("CLIENT")


@pytest.mark.parametrize("name", ["app", "a~!", "", "a b", "a\nb", "caf\xe9", "\x7f", "x" * 200,
                                  "tab\tx", "-", "0"])
def test_client_setname_getname(proto_pair, name):
    proto_pair.same("CLIENT", "SETNAME", name)
    proto_pair.same("CLIENT", "GETNAME")


@pytest.mark.parametrize("args", [
    ("TYPE",), ("TYPE", "foo"), ("ID",), ("ID", "x"), ("ID", "99999"), ("ID", "0"), ("ID", "-1"),
    ("ID", "1", "x"), ("FOO",), ("TYPE", "normal", "x"), ("TYPE", "master"), ("TYPE", "replica"),
    ("TYPE", "slave"), ("TYPE", "pubsub"), ("type", "MASTER"),
])
def test_client_list_errors_and_empty_filters(proto_pair, args):
    proto_pair.same("CLIENT", "LIST", *args)


def test_client_info_fields_match(proto_pair):
    proto_pair.same("CLIENT", "SETNAME", "me")
    proto_pair.same("SELECT", "3")
    for args in (("CLIENT", "INFO"), ("CLIENT", "LIST", "TYPE", "normal")):
        o, s = (client_info(x) for x in proto_pair.both(*args))
        assert [k for k, _ in o] == [k for k, _ in s]
        o, s = dict(o), dict(s)
        for field in ("name", "db", "flags", "sub", "psub", "ssub", "multi", "events", "cmd",
                      "user", "redir", "resp", "obl", "oll", "omem"):
            assert o[field] == s[field], field
        # whole seconds on each server's clock: the two connections were made and asked at
        # slightly different instants, so one may have crossed a second boundary
        for field in ("age", "idle"):
            assert abs(int(o[field]) - int(s[field])) <= 1, (field, o[field], s[field])


def test_client_list_and_info_reply_type(proto_pair):
    o, s = proto_pair.both("CLIENT", "INFO")
    assert o[:1] == s[:1]
    o, s = proto_pair.both("CLIENT", "LIST", "ID", "99999")
    assert o == s


def test_client_list_by_id(pair):
    ids = [decode(side.call("CLIENT", "ID")) for side in (pair.oracle, pair.subject)]
    for side, cid in zip((pair.oracle, pair.subject), ids):
        lines = decode(side.call("CLIENT", "LIST", "ID", str(cid), "99999", str(cid))).decode()
        assert lines.count("\n") == 2 and lines.startswith("id=%d " % cid)


@pytest.mark.parametrize("args", [
    ("1.2.3.4:5",), ("ID",), ("ID", "x"), ("ID", "0"), ("ID", "-1"), ("ID", "999999"),
    ("ID", "9223372036854775808"), ("TYPE", "foo"), ("TYPE", "normal", "SKIPME", "maybe"),
    ("FOO", "bar"), ("ADDR", "1.2.3.4:5"), ("LADDR", "1.2.3.4:5"), ("USER", "nobody"),
    ("MAXAGE", "10"), ("TYPE", "master"), ("TYPE", "pubsub"), ("TYPE", "replica"),
    ("ID", "1", "TYPE"), ("ADDR", "1.2.3.4:5", "SKIPME", "no"), ("skipme", "YES", "id", "999999"),
])
def test_client_kill_errors_and_misses(proto_pair, args):
    proto_pair.same("CLIENT", "KILL", *args)


def test_client_kill_another_connection(pair):
    for mode in ("id", "addr", "old"):
        victims = [fresh(pair.oracle), fresh(pair.subject)]
        try:
            replies = []
            for killer, victim in zip((pair.oracle, pair.subject), victims):
                info = dict(client_info(victim.call("CLIENT", "INFO")))
                if mode == "id":
                    replies.append(killer.call("CLIENT", "KILL", "ID", info["id"]))
                elif mode == "addr":
                    replies.append(killer.call("CLIENT", "KILL", "ADDR", info["addr"], "SKIPME", "yes"))
                else:
                    replies.append(killer.call("CLIENT", "KILL", info["addr"]))
                assert victim.read_until_closed() == b""
            assert replies[0] == replies[1], (mode, replies)
        finally:
            for v in victims:
                v.close()


def test_client_kill_self(pair):
    for args in (("USER", "default", "SKIPME", "no"), ("TYPE", "normal", "SKIPME", "no")):
        out = []
        for side in (pair.oracle, pair.subject):
            with contextlib.closing(fresh(side)) as c:
                info = dict(client_info(c.call("CLIENT", "INFO")))
                c.send("CLIENT", "KILL", "ID", info["id"], *args)
                out.append(c.read_until_closed())
        assert out[0] == out[1] == b":1\r\n"
    out = []
    for side in (pair.oracle, pair.subject):
        with contextlib.closing(fresh(side)) as c:
            info = dict(client_info(c.call("CLIENT", "INFO")))
            pair_reply = c.call("CLIENT", "KILL", "ID", info["id"])  # SKIPME yes by default
            out.append(pair_reply)
    assert out[0] == out[1] == b":0\r\n"


# -- a small state machine ----------------------------------------------------------------
names = st.sampled_from((b"app", b"", b"a b", b"x~", b"\xff"))
dbs = st.sampled_from((b"0", b"1", b"15", b"16", b"-1", b"x"))


class ConnectionMachine(DifferentialMachine):
    @rule(db=dbs)
    def select(self, db):
        self.pair.same("SELECT", db)

    @rule(k=st.sampled_from((b"k0", b"k1")), v=st.sampled_from((b"1", b"x")))
    def set_key(self, k, v):
        self.pair.same("SET", k, v)

    @rule(msg=st.one_of(st.none(), st.binary(max_size=5)))
    def ping(self, msg):
        self.pair.same(*(("PING",) if msg is None else ("PING", msg)))

    @rule(msg=st.binary(max_size=5))
    def echo(self, msg):
        self.pair.same("ECHO", msg)

    @rule(name=names)
    def setname(self, name):
        self.pair.same("CLIENT", "SETNAME", name)
        self.pair.same("CLIENT", "GETNAME")

    @rule(ver=st.sampled_from((b"2", b"3", b"4")), name=st.one_of(st.none(), names))
    def hello(self, ver, name):
        args = ("HELLO", ver) if name is None else ("HELLO", ver, "SETNAME", name)
        o, s = self.pair.both(*args)
        assert normalise_hello(o) == normalise_hello(s), (args, o, s)

    @rule()
    def reset(self):
        self.pair.same("RESET")


def test_connection_fuzz(pair):
    ConnectionMachine.run(pair)
