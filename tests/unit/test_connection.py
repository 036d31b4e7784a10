"""Connection commands on the unit-level server (task.Clock, no network):
PING, ECHO, QUIT, SELECT, HELLO, AUTH, RESET and CLIENT *."""

import pytest
from twisted.internet import task
from twisted.internet.testing import StringTransport

from redislite import errors
from redislite.commands import connection, load_all
from redislite.config import Config, config_set
from redislite.errors import ReplyError
from redislite.protocol import Client, RedisProtocol
from redislite.resp.encoder import Map, Status, Verbatim, encode
from redislite.server import Server

load_all()


@pytest.fixture
def clock():
    c = task.Clock()
    c.advance(1_700_000_000)
    return c


@pytest.fixture
def server(clock):
    return Server(Config.defaults(), clock)


def make_client(server):
    c = Client(server)
    server.add_client(c)
    return c


@pytest.fixture
def client(server):
    return make_client(server)


def with_password(server, pw="secret"):
    server.apply_config(config_set(server.config, [("requirepass", pw)]))


def connect(server):
    proto = RedisProtocol(server)
    transport = StringTransport()
    proto.makeConnection(transport)
    return proto, transport


def wire(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


# -- PING / ECHO / QUIT / SELECT ----------------------------------------------------------
def test_ping_and_echo(client):
    assert client.call("PING") == Status("PONG")
    assert client.call("PING", "hi") == b"hi"
    assert client.call("PING", "a", "b") == ReplyError("ERR wrong number of arguments for 'ping' command")
    assert client.call("ECHO", "x") == b"x"
    assert client.call("ECHO") == ReplyError("ERR wrong number of arguments for 'echo' command")


def test_ping_in_resp2_subscribed_context_is_an_array(client):
    client.channels = {b"ch": None}
    client.subscribed = True        # as SUBSCRIBE sets it (commands/pubsub.py)
    assert client.call("PING") == [b"pong", b""]
    assert client.call("PING", "m") == [b"pong", b"m"]
    client.resp3 = True
    assert client.call("PING") == Status("PONG")


def test_quit_replies_ok_then_closes(server):
    proto, t = connect(server)
    proto.dataReceived(wire("QUIT") + wire("PING"))
    assert t.value() == b"+OK\r\n"
    assert t.disconnecting


def test_select(client):
    assert client.call("SELECT", "15") == Status("OK")
    assert client.db == 15
    for bad in ("16", "-1"):
        assert client.call("SELECT", bad) == ReplyError(errors.DB_INDEX_OUT_OF_RANGE)
    for bad in ("x", "1.5", "01", "+1", " 1", ""):
        assert client.call("SELECT", bad) == ReplyError(errors.NOT_INTEGER)
    for big in ("2147483648", "-2147483649", "4294967296"):
        assert client.call("SELECT", big) == ReplyError(errors.INT32_RANGE)
    assert client.db == 15


def test_select_routes_keys_to_that_db(client):
    client.call("SELECT", "2")
    client.call("SET", "k", "v")
    client.call("SELECT", "0")
    assert client.call("EXISTS", "k") == 0
    client.call("SELECT", "2")
    assert client.call("EXISTS", "k") == 1


# -- HELLO ------------------------------------------------------------------------------
def hello_map(client, proto):
    return Map([("server", "redis"), ("version", "7.0.15"), ("proto", proto), ("id", client.id),
                ("mode", "standalone"), ("role", "master"), ("modules", [])])


def test_hello_switches_protocol(client):
    assert client.call("HELLO") == hello_map(client, 2)
    assert client.call("HELLO", "3") == hello_map(client, 3)
    assert client.resp3
    assert encode(client.call("HELLO"), True).startswith(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n")
    assert client.call("HELLO", "2") == hello_map(client, 2)
    assert not client.resp3


def test_hello_errors(client):
    for v in ("1", "0", "4", "-1"):
        assert client.call("HELLO", v) == ReplyError(errors.PROTO_VERSION)
    assert client.call("HELLO", "x") == ReplyError(errors.HELLO_PROTO_NOT_INT)
    assert client.call("HELLO", "3", "AUTH", "default") == \
        ReplyError("ERR Syntax error in HELLO option 'AUTH'")
    assert client.call("HELLO", "3", "SETNAME") == ReplyError("ERR Syntax error in HELLO option 'SETNAME'")
    assert client.call("HELLO", "3", "foo") == ReplyError("ERR Syntax error in HELLO option 'foo'")
    assert client.call("HELLO", "3", "SETNAME", "a b") == ReplyError(errors.CLIENT_NAME_SPACES)
    assert not client.resp3  # nothing changed on error


def test_hello_setname_and_auth(server, client):
    assert client.call("HELLO", "2", "setname", "app") == hello_map(client, 2)
    assert client.call("CLIENT", "GETNAME") == b"app"
    assert client.call("HELLO", "2", "AUTH", "default", "anything") == hello_map(client, 2)
    assert client.call("HELLO", "2", "AUTH", "nobody", "x") == ReplyError(errors.WRONGPASS)


def test_hello_requires_auth_when_password_set(server):
    with_password(server)
    c = make_client(server)
    assert c.call("HELLO", "3") == ReplyError(errors.HELLO_NOAUTH)
    assert c.call("HELLO", "3", "AUTH", "default", "wrong") == ReplyError(errors.WRONGPASS)
    # auth succeeds, then the bad name fails: stays authenticated, protocol unchanged
    assert c.call("HELLO", "3", "AUTH", "default", "secret", "SETNAME", "a b") == \
        ReplyError(errors.CLIENT_NAME_SPACES)
    assert c.authenticated and not c.resp3
    assert c.call("HELLO", "3", "SETNAME", "n") == hello_map(c, 3)


# -- AUTH -------------------------------------------------------------------------------
def test_auth_without_password(client):
    assert client.call("AUTH", "x") == ReplyError(errors.AUTH_NOT_CONFIGURED)
    assert client.call("AUTH", "default", "x") == Status("OK")
    assert client.call("AUTH", "default", "") == Status("OK")
    assert client.call("AUTH", "someone", "x") == ReplyError(errors.WRONGPASS)
    assert client.call("AUTH", "a", "b", "c") == ReplyError(errors.SYNTAX)
    assert client.call("AUTH") == ReplyError("ERR wrong number of arguments for 'auth' command")


def test_auth_with_password(server):
    with_password(server)
    c = make_client(server)
    assert c.call("PING") == ReplyError(errors.NOAUTH)
    assert c.call("AUTH", "wrong") == ReplyError(errors.WRONGPASS)
    assert c.call("AUTH", "default", "wrong") == ReplyError(errors.WRONGPASS)
    assert c.call("AUTH", "secret") == Status("OK")
    assert c.call("PING") == Status("PONG")
    # a failed AUTH does not log an authenticated client out
    assert c.call("AUTH", "default", "wrong") == ReplyError(errors.WRONGPASS)
    assert c.call("PING") == Status("PONG")


def test_auth_over_the_protocol_clears_the_parser_gate(server):
    with_password(server)
    proto, t = connect(server)
    proto.dataReceived(wire("AUTH", "secret") + wire("PING"))
    assert t.value() == b"+OK\r\n+PONG\r\n"
    assert proto.parser.auth_required is False


# -- RESET ------------------------------------------------------------------------------
def test_reset_restores_connection_state(client):
    client.call("SELECT", "3")
    client.call("HELLO", "3", "SETNAME", "n")
    client.call("CLIENT", "NO-EVICT", "on")
    seen = []
    connection.on_reset(seen.append)
    try:
        assert client.call("RESET") == Status("RESET")
    finally:
        connection.RESET_HOOKS.remove(seen.append)
    assert seen == [client]
    assert client.db == 0 and not client.resp3 and client.name is None
    assert client.no_evict  # Redis 7.0 keeps NO-EVICT across RESET
    assert client.authenticated


def test_reset_deauthenticates_when_a_password_is_set(server):
    with_password(server)
    proto, t = connect(server)
    proto.dataReceived(wire("AUTH", "secret") + wire("RESET") + wire("PING"))
    assert t.value() == b"+OK\r\n+RESET\r\n-NOAUTH Authentication required.\r\n"
    assert not proto.authenticated


# -- CLIENT ------------------------------------------------------------------------------
def test_client_id_setname_getname(client):
    assert client.call("CLIENT", "ID") == client.id
    assert client.call("CLIENT", "GETNAME") is None
    assert client.call("CLIENT", "SETNAME", "a~!") == Status("OK")
    assert client.call("CLIENT", "GETNAME") == b"a~!"
    for bad in ("a b", "a\nb", "caf\xe9", "\x7f"):
        assert client.call("CLIENT", "SETNAME", bad) == ReplyError(errors.CLIENT_NAME_SPACES)
    assert client.call("CLIENT", "GETNAME") == b"a~!"
    assert client.call("CLIENT", "SETNAME", "") == Status("OK")
    assert client.call("CLIENT", "GETNAME") is None
    assert client.call("CLIENT", "ID", "x") == \
        ReplyError("ERR wrong number of arguments for 'client|id' command")


def test_client_setinfo_and_no_touch_are_unknown_in_7_0(client):
    assert client.call("CLIENT", "SETINFO", "LIB-NAME", "x") == \
        ReplyError("ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.")
    assert client.call("CLIENT", "NO-TOUCH", "on") == \
        ReplyError("ERR unknown subcommand 'NO-TOUCH'. Try CLIENT HELP.")


def test_client_list_line_format(server, clock, client):
    client.addr, client.laddr, client.fd = "127.0.0.1:5000", "127.0.0.1:6379", 9
    client.call("CLIENT", "SETNAME", "me")
    client.call("SELECT", "2")
    clock.advance(5)
    reply = client.call("CLIENT", "INFO")
    assert type(reply) is Verbatim
    assert reply == (
        "id=%d addr=127.0.0.1:5000 laddr=127.0.0.1:6379 fd=9 name=me age=5 idle=5 flags=N db=2 "
        "sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 "
        "obl=0 oll=0 omem=0 tot-mem=2048 events=r cmd=client|info user=default redir=-1 resp=2\n"
        % client.id)
    fields = [kv.split("=")[0] for kv in reply.split()]
    assert fields == ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub",
                      "psub", "ssub", "multi", "qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs",
                      "rbp", "obl", "oll", "omem", "tot-mem", "events", "cmd", "user", "redir",
                      "resp"]
    assert encode(reply, True).startswith(b"=%d\r\ntxt:id=" % (len(reply) + 4))


def test_client_list_filters(server, client):
    other = make_client(server)
    listed = client.call("CLIENT", "LIST")
    assert listed.count("\n") == 2
    assert "id=%d " % other.id in listed
    only = client.call("CLIENT", "LIST", "ID", str(other.id), "999", str(other.id))
    assert only.count("\n") == 2 and "id=%d " % client.id not in only
    assert client.call("CLIENT", "LIST", "ID", "999") == ""
    assert client.call("CLIENT", "LIST", "ID", "x") == ReplyError(errors.INVALID_CLIENT_ID)
    assert client.call("CLIENT", "LIST", "TYPE", "normal").count("\n") == 2
    for t in ("master", "replica", "slave", "pubsub", "PUBSUB"):
        assert client.call("CLIENT", "LIST", "TYPE", t) == ""
    assert client.call("CLIENT", "LIST", "TYPE", "foo") == ReplyError("ERR Unknown client type 'foo'")
    for bad in (("TYPE",), ("ID",), ("FOO",), ("TYPE", "normal", "x")):
        assert client.call("CLIENT", "LIST", *bad) == ReplyError(errors.SYNTAX)
    other.channels = {b"c": None}
    assert "id=%d " % other.id in client.call("CLIENT", "LIST", "TYPE", "pubsub")
    assert "flags=P " in client.call("CLIENT", "LIST", "TYPE", "pubsub")


def test_client_flags(client):
    client.call("CLIENT", "NO-EVICT", "on")
    assert "flags=e " in client.call("CLIENT", "INFO")
    client.call("CLIENT", "NO-EVICT", "OFF")
    assert "flags=N " in client.call("CLIENT", "INFO")
    assert client.call("CLIENT", "NO-EVICT", "maybe") == ReplyError(errors.SYNTAX)


def test_client_kill_filters_and_errors(server):
    me, me_t = connect(server)
    other, other_t = connect(server)
    c = Client(server)
    assert c.call("CLIENT", "KILL", "ID", "x") == ReplyError(errors.CLIENT_ID_POSITIVE)
    assert c.call("CLIENT", "KILL", "ID", "0") == ReplyError(errors.CLIENT_ID_POSITIVE)
    assert c.call("CLIENT", "KILL", "TYPE", "foo") == ReplyError("ERR Unknown client type 'foo'")
    assert c.call("CLIENT", "KILL", "USER", "nobody") == ReplyError("ERR No such user 'nobody'")
    assert c.call("CLIENT", "KILL", "SKIPME", "maybe") == ReplyError(errors.SYNTAX)
    assert c.call("CLIENT", "KILL", "MAXAGE", "1") == ReplyError(errors.SYNTAX)
    assert c.call("CLIENT", "KILL", "ID", "1", "TYPE") == ReplyError(errors.SYNTAX)
    assert c.call("CLIENT", "KILL", "1.2.3.4:5") == ReplyError(errors.NO_SUCH_CLIENT)
    assert c.call("CLIENT", "KILL", "ID") == ReplyError(errors.NO_SUCH_CLIENT)  # old form, addr "ID"
    assert c.call("CLIENT", "KILL", "ID", "999") == 0
    assert c.call("CLIENT", "KILL", "ID", str(other.id)) == 1
    assert other_t.disconnecting and not me_t.disconnecting


def test_client_kill_skipme_and_old_form_on_self(server):
    proto, t = connect(server)
    other, other_t = connect(server)
    proto.dataReceived(wire("CLIENT", "KILL", "TYPE", "normal"))
    assert t.value() == b":1\r\n" and other_t.disconnecting and not t.disconnecting
    t.clear()
    proto.dataReceived(wire("CLIENT", "KILL", "USER", "default", "SKIPME", "no") + wire("PING"))
    assert t.value() == b":1\r\n" and t.disconnecting
    third, third_t = connect(server)
    third.dataReceived(wire("CLIENT", "KILL", third.addr) + wire("PING"))
    assert third_t.value() == b"+OK\r\n" and third_t.disconnecting


def test_client_kill_by_addr_and_laddr(server):
    a, a_t = connect(server)
    b, b_t = connect(server)
    c = Client(server)
    assert c.call("CLIENT", "KILL", "LADDR", "9.9.9.9:1") == 0
    assert c.call("CLIENT", "KILL", "ADDR", a.addr, "LADDR", a.laddr) >= 1
    assert a_t.disconnecting


def test_client_help(client):
    lines = client.call("CLIENT", "HELP")
    assert lines[0] == Status("CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
    assert lines[-1] == Status("    Prints this help.")
    assert len(lines) == 48
    assert client.call("CLIENT") == ReplyError("ERR wrong number of arguments for 'client' command")
    assert client.call("CLIENT", "FOO") == ReplyError("ERR unknown subcommand 'FOO'. Try CLIENT HELP.")
