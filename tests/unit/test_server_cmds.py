"""Server commands on the unit-level server (task.Clock, no network):
INFO, CONFIG, TIME and COMMAND."""

import os

import pytest
import redis
from twisted.internet import task

from redislite import errors, info as info_mod
from redislite.commands import load_all, registry
from redislite.config import Config
from redislite.errors import ReplyError
from redislite.protocol import Client
from redislite.resp.encoder import Map, Raw, Status, Verbatim, encode
from redislite.server import Server

load_all()


@pytest.fixture
def clock():
    c = task.Clock()
    c.advance(1_700_000_000.25)
    return c


@pytest.fixture
def server(clock):
    return Server(Config.defaults(), clock)


@pytest.fixture
def client(server):
    c = Client(server)
    server.add_client(c)
    return c


def parse_info(text):
    """{section title: [(field, value)]} from INFO text."""
    out, current = {}, None
    for line in text.split("\r\n"):
        if line.startswith("# "):
            current = out.setdefault(line[2:], [])
        elif line:
            k, _, v = line.partition(":")
            current.append((k, v))
    return out


# -- TIME -------------------------------------------------------------------------------
def test_time_uses_the_injected_clock(client, clock):
    assert client.call("TIME") == [b"1700000000", b"250000"]
    clock.advance(1.5)
    assert client.call("TIME") == [b"1700000001", b"750000"]
    assert client.call("TIME", "x") == ReplyError("ERR wrong number of arguments for 'time' command")


# -- INFO -------------------------------------------------------------------------------
def test_info_default_sections_and_format(client):
    reply = client.call("INFO")
    assert type(reply) is Verbatim
    assert list(parse_info(reply)) == ["Server", "Clients", "Memory", "Persistence", "Stats",
                                       "Replication", "CPU", "Modules", "Errorstats", "Cluster",
                                       "Keyspace"]
    assert reply.startswith("# Server\r\nredis_version:7.0.15\r\nredislite_version:")
    assert "\r\n\r\n# Clients\r\n" in reply
    assert encode(reply, True).startswith(b"=%d\r\ntxt:# Server" % (len(reply) + 4))
    assert encode(reply, False).startswith(b"$%d\r\n# Server" % len(reply))


def test_info_section_selection(client):
    assert list(parse_info(client.call("INFO", "all"))) == [
        "Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules",
        "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace"]
    assert list(parse_info(client.call("INFO", "everything"))) == list(parse_info(client.call("INFO", "all")))
    assert list(parse_info(client.call("INFO", "KEYSPACE", "cpu"))) == ["CPU", "Keyspace"]
    assert client.call("INFO", "nosuch") == ""
    assert client.call("INFO", "modules") == "# Modules\r\n"
    assert client.call("INFO", "cluster") == "# Cluster\r\ncluster_enabled:0\r\n"
    assert list(parse_info(client.call("INFO", "server", "default"))) == list(parse_info(client.call("INFO")))


def test_info_keyspace_and_stats(server, client, clock):
    assert client.call("INFO", "keyspace") == "# Keyspace\r\n"
    client.call("SET", "a", "1")
    client.call("SET", "b", "1")
    client.call("PEXPIRE", "a", "100000")
    client.call("SELECT", "3")
    client.call("SET", "c", "1")
    text = client.call("INFO", "keyspace")
    assert text.startswith("# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=100000\r\n")
    assert "db3:keys=1,expires=0,avg_ttl=0\r\n" in text
    client.call("GET", "c")
    client.call("GET", "nosuch")
    stats = dict(parse_info(client.call("INFO", "stats"))["Stats"])
    assert stats["keyspace_hits"] == "1" and stats["keyspace_misses"] == "1"
    client.call("SELECT", "0")
    clock.advance(200)
    server.now.refresh()
    client.call("GET", "a")  # lazily expired
    stats = dict(parse_info(client.call("INFO", "stats"))["Stats"])
    assert stats["expired_keys"] == "1"


def test_info_commandstats_and_errorstats(client):
    client.call("CONFIG", "RESETSTAT")  # command counters live in the process-wide table
    client.call("PING")
    client.call("PING")
    client.call("SELECT", "99")
    client.call("CONFIG", "GET", "maxmemory")
    client.call("NOSUCH")
    text = client.call("INFO", "commandstats")
    stats = dict(parse_info(text)["Commandstats"])
    assert stats["cmdstat_ping"].startswith("calls=2,usec=")
    assert stats["cmdstat_ping"].endswith(",rejected_calls=0,failed_calls=0")
    assert stats["cmdstat_select"].endswith("failed_calls=1")
    assert "cmdstat_config|get" in stats
    errs = dict(parse_info(client.call("INFO", "errorstats"))["Errorstats"])
    assert errs == {"errorstat_ERR": "count=2"}


def test_info_server_clients_memory_values(server, client):
    s = parse_info(client.call("INFO", "server", "clients", "memory", "replication"))
    server_f = dict(s["Server"])
    assert server_f["redis_mode"] == "standalone" and server_f["run_id"] == server.run_id
    assert server_f["process_id"] == str(os.getpid())
    assert dict(s["Clients"])["connected_clients"] == "1"
    mem = dict(s["Memory"])
    assert mem["used_memory"] == str(server.used_memory())
    assert mem["maxmemory_policy"] == "noeviction"
    repl = dict(s["Replication"])
    assert repl["role"] == "master" and repl["connected_slaves"] == "0"
    assert repl["master_repl_offset"] == "0"


def test_info_builders_are_data_for_the_http_api(server):
    sections = info_mod.collect(server, {"server", "keyspace"})
    assert [t for t, _ in sections] == ["Server", "Keyspace"]
    assert sections[0][1][0] == ("redis_version", "7.0.15")


def test_redis_py_parses_our_info(client):
    from redis._parsers.helpers import parse_info as rp_parse
    client.call("CONFIG", "RESETSTAT")  # command counters live in the process-wide table
    client.call("PING")
    client.call("SET", "k", "v")
    parsed = rp_parse(client.call("INFO", "everything"))
    assert parsed["redis_version"] == "7.0.15"
    assert parsed["connected_clients"] == 1
    assert parsed["cmdstat_ping"]["calls"] == 1
    assert parsed["db0"] == {"keys": 1, "expires": 0, "avg_ttl": 0}


# -- CONFIG -------------------------------------------------------------------------------
def test_config_get_set(server, client):
    assert client.call("CONFIG", "GET", "maxmemory") == Map([("maxmemory", "0")])
    assert client.call("CONFIG", "GET", "nosuch") == Map([])
    assert client.call("CONFIG", "SET", "maxmemory", "1mb", "maxmemory-policy", "allkeys-lru") == \
        Status("OK")
    assert server.maxmemory == 1048576 and server.maxmemory_policy == "allkeys-lru"
    got = dict(client.call("CONFIG", "GET", "maxmemory", "maxmemory-policy"))
    assert got == {"maxmemory": "1048576", "maxmemory-policy": "allkeys-lru"}


def test_config_set_is_atomic(server, client):
    reply = client.call("CONFIG", "SET", "maxmemory", "5", "maxmemory-policy", "bad")
    assert isinstance(reply, ReplyError) and "maxmemory-policy" in reply.message
    assert server.maxmemory == 0
    assert client.call("CONFIG", "SET", "maxmemory", "1", "maxclients") == ReplyError(errors.SYNTAX)
    assert client.call("CONFIG", "SET", "nosuch", "1") == \
        ReplyError("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'")


def test_config_resetstat(server, client):
    client.call("SET", "a", "1")
    client.call("GET", "a")
    client.call("SELECT", "99")
    assert client.call("CONFIG", "RESETSTAT") == Status("OK")
    stats = dict(parse_info(client.call("INFO", "stats"))["Stats"])
    assert stats["keyspace_hits"] == "0" and stats["total_error_replies"] == "0"
    cmd = dict(parse_info(client.call("INFO", "commandstats"))["Commandstats"])
    assert set(cmd) == {"cmdstat_config|resetstat", "cmdstat_info"}  # counted after running, as Redis
    assert registry.lookup(b"get").calls == 0


def test_config_rewrite_and_help(server, client, tmp_path):
    assert client.call("CONFIG", "REWRITE") == ReplyError(errors.CONFIG_NO_FILE)
    path = tmp_path / "redis.conf"
    path.write_text("# my file\nmaxmemory 100\nunknown-line kept\n")
    server.config_file = str(path)
    client.call("CONFIG", "SET", "maxmemory", "200", "maxclients", "50")
    assert client.call("CONFIG", "REWRITE") == Status("OK")
    text = path.read_text()
    assert "# my file\nmaxmemory 200\nunknown-line kept\n" in text
    assert "maxclients 50" in text
    helptext = client.call("CONFIG", "HELP")
    assert helptext[0] == Status("CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
    assert len(helptext) == 11


# -- COMMAND -------------------------------------------------------------------------------
def test_command_count_info_docs(client):
    n = len(registry.supported())
    assert client.call("COMMAND", "COUNT") == n
    everything = client.call("COMMAND")
    assert type(everything) is Raw and everything.resp2.startswith(b"*%d\r\n" % n)
    ping = registry.lookup(b"ping")
    assert client.call("COMMAND", "INFO", "PING", "nosuch").resp2 == \
        b"*2\r\n" + ping.info_wire[0] + b"$-1\r\n"
    client.resp3 = True
    assert client.call("COMMAND", "INFO", "ping", "nosuch").resp3 == \
        b"*2\r\n" + ping.info_wire[1] + b"_\r\n"
    assert client.call("COMMAND", "DOCS", "ping", "nosuch").resp3 == \
        b"%1\r\n$4\r\nping\r\n" + ping.docs_wire[1]
    client.resp3 = False
    assert client.call("COMMAND", "DOCS", "ping").resp2 == b"*2\r\n$4\r\nping\r\n" + ping.docs_wire[0]
    cfg_get = registry.lookup(b"config").subcommands[b"get"]
    assert client.call("COMMAND", "INFO", "config|get").resp2 == b"*1\r\n" + cfg_get.info_wire[0]


def test_command_list(client):
    names = client.call("COMMAND", "LIST")
    assert b"ping" in names and b"client|list" in names and b"config|get" in names
    assert client.call("COMMAND", "LIST", "FILTERBY", "pattern", "client|*") == \
        [n for n in names if n.startswith(b"client|")]
    assert b"ping" in client.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", "Connection")
    assert client.call("COMMAND", "LIST", "FILTERBY", "aclcat", "nosuch") == []
    assert client.call("COMMAND", "LIST", "FILTERBY", "module", "x") == []
    for bad in (("FILTERBY",), ("FILTERBY", "foo", "bar"), ("x",), ("FILTERBY", "pattern", "a", "b")):
        assert client.call("COMMAND", "LIST", *bad) == ReplyError(errors.SYNTAX)


@pytest.mark.parametrize("args, expected", [
    (("get", "a"), [b"a"]),
    (("mset", "a", "1", "b", "2"), [b"a", b"b"]),
    (("mset", "a", "1", "b"), [b"a", b"b"]),
    (("lmpop", "2", "a", "b", "left"), [b"a", b"b"]),
    (("xread", "streams", "a", "b", "0"), [b"a"]),
    (("sort", "k", "store", "d"), [b"k", b"d"]),
    (("sort", "k", "store"), [b"k"]),
    (("eval", "s", "3", "a", "b"), []),
    (("eval", "s", "x"), []),
    (("zunionstore", "d", "2", "a", "b"), [b"d", b"a", b"b"]),
    (("migrate", "h", "p", "", "0", "5", "keys", "a", "b"), [b"a", b"b"]),
    (("object", "encoding", "k"), [b"k"]),
    (("get", "a", "b"), ReplyError(errors.GETKEYS_BAD_ARITY)),
    (("nosuch", "x"), ReplyError(errors.GETKEYS_INVALID_COMMAND)),
    (("config", "nosuch"), ReplyError(errors.GETKEYS_INVALID_COMMAND)),
    (("config", "get", "x"), ReplyError(errors.GETKEYS_NO_KEYS)),
    (("spublish", "c", "m"), ReplyError(errors.GETKEYS_NO_KEYS)),
    (("zunionstore", "d", "5", "a"), ReplyError(errors.GETKEYS_BAD_ARGS)),
    (("zinter", "0", "a", "b"), ReplyError(errors.GETKEYS_BAD_ARGS)),
])
def test_command_getkeys(client, args, expected):
    assert client.call("COMMAND", "GETKEYS", *args) == expected


def test_command_getkeysandflags(client):
    def flags(*args):
        return [[k, [s.text for s in f]] for k, f in client.call("COMMAND", "GETKEYSANDFLAGS", *args)]
    assert flags("set", "k", "v") == [[b"k", ["OW", "update"]]]
    assert flags("set", "k", "v", "GET") == [[b"k", ["RW", "access", "update"]]]
    assert flags("bitfield", "k", "get", "u8", "0") == [[b"k", ["RO", "access"]]]
    assert flags("bitfield", "k", "set", "u8", "0", "1") == [[b"k", ["RW", "access", "update"]]]
    assert flags("sort", "k", "store", "d") == [[b"k", ["RO", "access"]], [b"d", ["OW", "update"]]]
    assert flags("get", "a") == [[b"a", ["RO", "access"]]]


def test_command_help_and_errors(client):
    lines = client.call("COMMAND", "HELP")
    assert len(lines) == 21 and lines[-1] == Status("    Prints this help.")
    assert client.call("COMMAND", "FOO") == ReplyError("ERR unknown subcommand 'FOO'. Try COMMAND HELP.")
    assert client.call("COMMAND", "COUNT", "x") == \
        ReplyError("ERR wrong number of arguments for 'command|count' command")
