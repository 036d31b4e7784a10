"""Server commands against real Redis 7.0.15: INFO, CONFIG, TIME and COMMAND.

INFO values differ between servers by nature, so INFO is checked for its
shape: section order, and, in every section, Redis's field names in Redis's
order (ours may add fields, e.g. redislite_version).  COMMAND lists only what
RedisLite supports, so COMMAND INFO/DOCS are compared command by command.
"""

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redislite.commands.registry import META
from tests.compat.differential import decode

pytestmark = pytest.mark.compat

STATIC_SECTIONS = ("Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
                   "Modules", "Errorstats", "Cluster")


@pytest.fixture(params=["resp2", "resp3"])
def proto_pair(request, pair):
    if request.param == "resp3":
        pair.resp3()
    return pair


def info_sections(raw):
    value = decode(raw)
    text = value.decode() if isinstance(value, bytes) else str(value)
    if text.startswith("txt:"):
        text = text[4:]
    out, current = {}, None
    for line in text.split("\r\n"):
        if line.startswith("# "):
            current = out.setdefault(line[2:], [])
        elif line:
            current.append(line.split(":", 1)[0])
    return out


def supported_names(pair):
    """Top-level commands RedisLite supports (the subject's COMMAND LIST, no subcommands)."""
    return [n.decode() for n in decode(pair.subject.call("COMMAND", "LIST")) if b"|" not in n]


def supported_subcommands(pair):
    return [n.decode() for n in decode(pair.subject.call("COMMAND", "LIST")) if b"|" in n]


# -- INFO ---------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [(), ("default",), ("all",), ("everything",), ("cpu", "keyspace"),
                                  ("KEYSPACE", "CPU"), ("server", "default"), ("commandstats",),
                                  ("latencystats",), ("errorstats", "stats")])
def test_info_section_order(proto_pair, args):
    o, s = proto_pair.both("INFO", *args)
    assert o[:1] == s[:1]  # $ in RESP2, = (verbatim) in RESP3
    assert list(info_sections(o)) == list(info_sections(s))


def test_info_fields_in_redis_order(pair):
    pair.same("CONFIG", "RESETSTAT")   # session servers have different error histories
    pair.same("GET")                   # one error of each kind on both sides
    pair.same("SET", "k", "v")
    pair.same("PEXPIRE", "k", "100000")
    o, s = (info_sections(x) for x in pair.both("INFO", "everything"))
    for section in STATIC_SECTIONS:
        ours = [f for f in s[section] if f in set(o[section])]
        assert ours == o[section], section
    extra = [f for f in s["Server"] if f not in set(o["Server"])]
    assert extra == ["redislite_version"]


@pytest.mark.parametrize("args", [("nosuch",), ("modules",), ("cluster",), ("nosuch", "other"),
                                  ("MODULES", "nosuch")])
def test_info_constant_sections(proto_pair, args):
    proto_pair.same("INFO", *args)


def test_info_keyspace(proto_pair):
    proto_pair.same("INFO", "keyspace")
    proto_pair.same("SET", "a", "1")
    proto_pair.same("SELECT", "7")
    proto_pair.same("SET", "b", "1")
    proto_pair.same("SET", "c", "1")
    proto_pair.same("INFO", "keyspace")
    proto_pair.same("PEXPIRE", "c", "1000000")
    o, s = (decode(x) for x in proto_pair.both("INFO", "keyspace"))
    o, s = (str(x.decode() if isinstance(x, bytes) else x) for x in (o, s))
    assert s.split("avg_ttl=")[0] == o.split("avg_ttl=")[0]
    # Redis's avg_ttl is an estimate updated by its expire cycle (0 until it has run)
    ttl_o, ttl_s = (int(x.split("db7:keys=2,expires=1,avg_ttl=")[1].split("\r\n")[0]) for x in (o, s))
    assert 0 <= ttl_o <= 1000000 and 0 <= ttl_s <= 1000000


def test_info_errorstats_and_commandstats(pair):
    pair.same("CONFIG", "RESETSTAT")
    for args in (("SELECT", "99"), ("HELLO", "4"), ("AUTH", "a", "b"), ("PING",), ("PING", "x"),
                 ("ECHO", "x"), ("CONFIG", "GET", "maxmemory"), ("CLIENT", "SETNAME", "a b"),
                 ("NOSUCHCOMMAND",)):
        pair.same(*args)
    pair.same("INFO", "errorstats")
    o, s = (decode(x).decode() for x in pair.both("INFO", "commandstats"))

    def calls(text):
        out = {}
        for line in text.split("\r\n")[1:]:
            if line:
                name, _, rest = line.partition(":")
                f = dict(kv.split("=") for kv in rest.split(","))
                out[name] = (f["calls"], f["failed_calls"])
        return out
    assert calls(o) == calls(s)


def test_redis_py_info_parses(redislite_server, redis_server):
    ours = redislite_server.client().info("everything")
    theirs = redis_server.client().info("everything")
    assert ours["redis_version"] == theirs["redis_version"] == "7.0.15"
    for field in ("connected_clients", "used_memory", "role", "maxmemory_policy", "uptime_in_seconds",
                  "keyspace_hits", "total_commands_processed", "used_cpu_sys"):
        assert type(ours[field]) is type(theirs[field]), field
    assert ours["role"] == "master"


# -- CONFIG -------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ("GET", "maxmemory"), ("GET", "maxmemory", "maxmemory"), ("GET", "MAXMEMORY"), ("GET", "nosuch"),
    ("GET",), ("SET",), ("SET", "maxmemory"),
    ("SET", "maxmemory", "1", "maxclients"), ("SET", "nosuch", "1"), ("SET", "maxmemory", "x"),
    ("SET", "maxmemory", "10", "maxmemory", "20"), ("SET", "maxmemory", "0", "maxmemory-policy", "bad"),
    ("SET", "maxmemory", "0", "nosuch", "1"), ("REWRITE",), ("REWRITE", "x"), ("RESETSTAT", "x"),
    ("HELP",), ("HELP", "x"), ("FOO",), ("get", "databases"),
])
def test_config_misc(proto_pair, args):
    proto_pair.same("CONFIG", *args)


def test_config_bare(pair):
    pair.same("CONFIG")


@pytest.mark.parametrize("patterns", [("maxmemory*",), ("*max*",), ("m?xclients",), ("[m]axclients",),
                                      ("maxmemory-policy", "maxclients"), ("max*", "maxclients"),
                                      ("maxclients", "MAXCLIENTS", "nosuch")])
def test_config_get_patterns(proto_pair, patterns):
    """Redis replies in its hash table's order, so compare ignoring order."""
    proto_pair.same_unordered("CONFIG", "GET", *patterns, pairs=True)


def test_config_get_all_is_a_superset(pair):
    """RedisLite has a few parameters of its own (shards, http-port...)."""
    o, s = (decode(x) for x in pair.both("CONFIG", "GET", "*"))
    assert set(o[::2]) <= set(s[::2])


def test_config_set_round_trip(proto_pair):
    try:
        proto_pair.same("CONFIG", "SET", "maxmemory", "100mb", "maxmemory-policy", "allkeys-lru")
        proto_pair.same("CONFIG", "GET", "maxmemory")
        proto_pair.same("CONFIG", "GET", "maxmemory-policy")
        proto_pair.same("CONFIG", "SET", "maxmemory", "1", "maxmemory-policy", "bogus")
        proto_pair.same("CONFIG", "GET", "maxmemory")  # unchanged: all or nothing
        proto_pair.same("INFO", "nosuch")
    finally:
        proto_pair.same("CONFIG", "SET", "maxmemory", "0", "maxmemory-policy", "noeviction")


def test_config_resetstat(pair):
    pair.same("PING")
    pair.same("SELECT", "99")
    pair.same("CONFIG", "RESETSTAT")
    pair.same("INFO", "errorstats")
    o, s = (decode(x).decode() for x in pair.both("INFO", "commandstats"))
    # Redis lists commands in its dict's (random) order
    assert sorted(l.split(":")[0] for l in o.split("\r\n")) == sorted(l.split(":")[0] for l in s.split("\r\n"))


# -- TIME ---------------------------------------------------------------------------------
def test_time(proto_pair):
    o, s = proto_pair.both("TIME")
    (os_, ou), (ss, su) = decode(o), decode(s)
    assert abs((int(os_) + int(ou) / 1e6) - (int(ss) + int(su) / 1e6)) < 2
    assert abs(int(ss) - time.time()) < 5
    assert 0 <= int(su) < 1_000_000
    proto_pair.same("TIME", "x")


# -- COMMAND ------------------------------------------------------------------------------
def is_container(name):
    return bool(META["commands"][name]["subcommands"])


def canon_info(entry):
    """A COMMAND INFO entry with its subcommands sorted: Redis lists them in its
    dict's order, which is randomised per process."""
    entry = list(entry)
    entry[9] = sorted(entry[9], key=lambda e: e[0])
    return entry


def canon_docs(docs):
    """Docs (RESP2 flat list or RESP3 dict) with subcommands in name order."""
    if isinstance(docs, dict):
        return {k: (canon_docs_map(v) if k == b"subcommands" else v) for k, v in docs.items()}
    out = list(docs)
    for i in range(0, len(out), 2):
        if out[i] == b"subcommands":
            sub = out[i + 1]
            out[i + 1] = sorted((sub[j], canon_docs(sub[j + 1])) for j in range(0, len(sub), 2))
    return out


def canon_docs_map(sub):
    return {k: canon_docs(v) for k, v in sub.items()}


def same_info(pair, *names):
    o, s = pair.both("COMMAND", "INFO", *names)
    if o != s:
        do, ds = decode(o), decode(s)
        assert [None if e is None else canon_info(e) for e in do] == \
               [None if e is None else canon_info(e) for e in ds], names


def same_docs(pair, *names):
    o, s = pair.both("COMMAND", "DOCS", *names)
    if o != s:
        do, ds = decode(o), decode(s)
        if isinstance(do, dict):
            assert {k: canon_docs(v) for k, v in do.items()} == {k: canon_docs(v) for k, v in ds.items()}
        else:
            assert [canon_docs(v) if i % 2 else v for i, v in enumerate(do)] == \
                   [canon_docs(v) if i % 2 else v for i, v in enumerate(ds)], names


def test_command_info_per_command(proto_pair):
    names = supported_names(proto_pair) + supported_subcommands(proto_pair)
    assert "ping" in names and "command" in names
    for name in names:
        if "|" in name or not is_container(name):
            proto_pair.same("COMMAND", "INFO", name)
            proto_pair.same("COMMAND", "INFO", name.upper())
        else:
            same_info(proto_pair, name)
    proto_pair.same("COMMAND", "INFO", "nosuch", "ping", "nosuch|x", "config|nosuch", "ping|x")


def test_command_docs_per_command(proto_pair):
    for name in supported_names(proto_pair) + supported_subcommands(proto_pair):
        if "|" in name or not is_container(name):
            proto_pair.same("COMMAND", "DOCS", name)
        else:
            same_docs(proto_pair, name)
    proto_pair.same("COMMAND", "DOCS", "nosuch")
    proto_pair.same("COMMAND", "DOCS", "ping", "nosuch", "echo", "config|get")


def test_command_whole_lists_are_subsets(proto_pair):
    o, s = proto_pair.both("COMMAND")
    ours, theirs = decode(s), decode(o)
    assert len(ours) == decode(proto_pair.subject.call("COMMAND", "COUNT"))
    assert len(ours) <= len(theirs)
    theirs_by_name = {e[0]: canon_info(e) for e in theirs}
    for entry in ours:
        assert theirs_by_name[entry[0]] == canon_info(entry)
    o, s = (set(decode(x)) for x in proto_pair.both("COMMAND", "LIST"))
    assert s <= o
    o, s = (set(decode(x)) for x in proto_pair.both("COMMAND", "LIST", "FILTERBY", "ACLCAT", "connection"))
    assert s <= o and b"ping" in s
    o, s = (set(decode(x)) for x in proto_pair.both("COMMAND", "LIST", "FILTERBY", "PATTERN", "c*"))
    assert s <= o and b"client|list" in s


@pytest.mark.parametrize("args", [
    ("COUNT", "x"), ("LIST", "FILTERBY"), ("LIST", "FILTERBY", "foo", "bar"), ("LIST", "x"),
    ("LIST", "FILTERBY", "pattern", "a", "b"), ("LIST", "FILTERBY", "pattern", "zz*"),
    ("LIST", "FILTERBY", "aclcat", "nosuch"), ("LIST", "FILTERBY", "module", "x"),
    ("LIST", "FILTERBY", "pattern", "ping"), ("LIST", "FILTERBY", "PATTERN", "PING"),
    ("HELP",), ("HELP", "x"), ("FOO",), ("GETKEYS",), ("GETKEYSANDFLAGS",),
])
def test_command_misc(proto_pair, args):
    proto_pair.same("COMMAND", *args)


GETKEYS_CASES = [
    ("nosuch",), ("nosuch", "x"), ("get",), ("get", "a"), ("GET", "x"), ("get", "a", "b"),
    ("ping",), ("ping", "x"), ("mset", "a", "1", "b", "2"), ("mset", "a", "1", "b"),
    ("config", "get", "x"), ("config", "nosuch"), ("config", "get"), ("client", "list"), ("client",),
    ("object", "encoding", "k"), ("object", "help"), ("sort", "k", "store", "d"), ("sort", "k"),
    ("sort", "k", "store"), ("sort", "k", "limit", "0", "1", "store", "d"),
    ("sort", "k", "by", "store", "get", "x"), ("sort", "k", "store", "a", "store", "b"),
    ("sort_ro", "k", "by", "x"), ("eval", "s", "2", "a", "b"), ("eval", "s", "3", "a", "b"),
    ("eval", "s", "x"), ("eval", "s", "-1"), ("eval", "s", "0"), ("fcall", "f", "1", "a"),
    ("fcall", "f", "0"), ("zunionstore", "d", "2", "a", "b"), ("zunionstore", "d", "x", "a"),
    ("zunionstore", "d", "5", "a"), ("zinter", "2", "a", "b"), ("zinter", "0", "a", "b"),
    ("lmpop", "2", "a", "b", "left"), ("lmpop", "0", "a", "left"), ("blmpop", "0", "1", "a", "left"),
    ("xread", "streams", "a", "b", "0", "0"), ("xread", "streams", "a", "b", "0"),
    ("xread", "count", "1", "streams", "a", "0"), ("xreadgroup", "group", "g", "c", "streams", "a", "0"),
    ("migrate", "h", "p", "", "0", "5", "keys", "a", "b"), ("migrate", "h", "p", "k", "0", "5"),
    ("migrate", "h", "p", "k", "0", "5", "keys", "a"), ("migrate", "h", "p", "", "0", "5", "auth", "keys", "keys", "a"),
    ("georadius", "k", "0", "0", "1", "m", "store", "d"), ("georadius", "k", "0", "0", "1", "m", "store"),
    ("georadius", "k", "0", "0", "1", "m", "storedist", "d"), ("georadius", "", "3", "x", "0", "STOREDIST", "STOREDIST"),
    ("migrate", "h", "p", "", "0", "5", "copy", "KEYS"), ("zadd", "k", "1"), ("blpop", "a", "b", "0"),
    ("set", "k", "v", "get"), ("set", "k", "v", "ex", "10"), ("memory", "usage", "k"),
    ("pfdebug", "x", "k"), ("debug", "x"), ("spublish", "c", "m"), ("ssubscribe", "a", "b"),
    ("bitfield", "k", "get", "u8", "0"), ("bitfield", "k", "set", "u8", "0", "1"),
    ("bitfield", "k", "overflow", "wrap", "get", "u8", "0"), ("bitfield", "k", "get"),
    ("bitfield_ro", "k", "get", "u8", "0"), ("rename", "a", "b"), ("smove", "a", "b", "m"),
    ("lmove", "a", "b", "left", "right"), ("copy", "a", "b"), ("sintercard", "2", "a", "b"),
    ("zrangestore", "d", "s", "0", "1"), ("bitop", "and", "d", "a", "b"), ("exists", "a", "b", "c"),
    ("watch", "a", "b"), ("xadd", "s", "*", "f", "v"), ("xautoclaim", "s", "g", "c", "0", "0"),
    ("geosearchstore", "d", "s", "frommember", "m", "byradius", "1", "m"), ("pfmerge", "d", "a", "b"),
    ("zmpop", "1", "a", "min"), ("bzmpop", "0", "2", "a", "b", "max"), ("zintercard", "1", "a"),
    ("subscribe", "c"), ("publish", "c", "m"), ("eval_ro", "s", "1", "k"), ("evalsha", "x", "1", "k"),
    ("function", "load", "x"), ("xinfo", "stream", "s"), ("xgroup", "create", "s", "g", "$"),
    ("cluster", "keyslot", "k"), ("lcs", "a", "b"), ("georadiusbymember", "k", "m", "1", "m", "store", "d"),
    ("georadius_ro", "k", "0", "0", "1", "m"), ("xclaim", "s", "g", "c", "0", "id"),
]


@pytest.mark.parametrize("args", GETKEYS_CASES, ids=lambda a: " ".join(a)[:40])
def test_command_getkeys(pair, args):
    pair.same("COMMAND", "GETKEYS", *args)
    pair.same("COMMAND", "GETKEYSANDFLAGS", *args)


def test_command_getkeysandflags_resp3(pair):
    pair.resp3()
    for args in (("set", "k", "v"), ("sort", "k", "store", "d"), ("mset", "a", "1", "b", "2")):
        pair.same("COMMAND", "GETKEYSANDFLAGS", *args)


_NAMES = sorted({n.split("|")[0] for n in META["commands"]})
_ARGS = st.sampled_from((b"k", b"a", b"0", b"1", b"2", b"3", b"-1", b"x", b"", b"STORE", b"KEYS",
                         b"STREAMS", b"GET", b"SET", b"LIMIT", b"BY", b"LEFT", b"MIN", b"COUNT",
                         b"AUTH", b"STOREDIST", b"WEIGHTS", b"OVERFLOW", b"INCRBY"))


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(_NAMES), args=st.lists(_ARGS, max_size=7),
       sub=st.sampled_from((b"get", b"help", b"usage", b"encoding", b"create", b"load", b"stream",
                            b"keyslot", b"x")))
def test_command_getkeys_fuzz(pair, name, args, sub):
    """COMMAND GETKEYS/GETKEYSANDFLAGS over every Redis 7.0 command with random arguments."""
    cmd = [name.encode()]
    if META["commands"][name]["subcommands"]:
        cmd.append(sub)
    pair.same("COMMAND", "GETKEYS", *cmd, *args)
    pair.same("COMMAND", "GETKEYSANDFLAGS", *cmd, *args)
