"""redislite.config without a server: kinds, units, precedence, files, generated files.

Expected texts come from redis-server 7.0.15 (see tests/compat/test_config_compat.py,
which checks the same behaviour against the real server).
"""

import os
from pathlib import Path

import pytest

from redislite import config as C
from redislite.config import Config, ConfigError, build_config, config_set, parse_config_file
from redislite.errors import ReplyError

ROOT = Path(__file__).resolve().parents[2]


def set_err(pairs, cfg=None, **kw):
    with pytest.raises(ReplyError) as info:
        config_set(cfg or Config.defaults(), pairs, **kw)
    return info.value.message


def failed(name, detail):
    return "ERR CONFIG SET failed (possibly related to argument '%s') - %s" % (name, detail)


# --- the table ------------------------------------------------------------------

def test_table_is_consistent():
    assert len(C.PARAMS) > 180
    for name, p in C.PARAMS.items():
        assert name == p.name and name == name.lower() and p.effect in C.EFFECTS
        assert p.kind in ("bool", "int", "memory", "octal", "enum", "string", "special")
        if p.kind in ("int", "memory", "octal"):
            assert p.minimum is not None and p.maximum is not None
    assert C.ALIASES["slaveof"] == "replicaof" and C.ALIASES["lua-time-limit"] == "busy-reply-threshold"
    assert C.lookup("SLAVEOF") is C.PARAMS["replicaof"] and C.lookup("nosuch") is None
    assert set(C.REDISLITE_ONLY) == {"shards", "busy-poll-usec", "http-port", "http-bind", "logformat", "metrics",
                                    "http-token", "http-max-body", "http-cors-origin",
                                    "http-allow-dangerous", "http-allowed-hosts", "http-tls"}


def test_defaults_typed_and_text():
    d = Config.defaults()
    assert d is Config.defaults()
    assert d["port"] == 6379 and d["databases"] == 16 and d["shards"] == 4
    assert d["protected-mode"] is True and d.get_text("protected-mode") == "yes"
    assert d["maxmemory"] == 0 and d["maxmemory-policy"] == "noeviction"
    assert d["maxmemory-samples"] == 5 and d["requirepass"] == "" and d["maxclients"] == 10000
    assert d["timeout"] == 0 and d["http-port"] == 8080 and d["http-bind"] == "127.0.0.1"
    assert d["proto-max-bulk-len"] == 512 * 1024 * 1024
    assert d.get_text("proto-max-bulk-len") == "536870912"
    assert d["client-query-buffer-limit"] == 1024 ** 3
    assert d["bind"] == ("127.0.0.1",) and d["save"] == () and d.get_text("save") == ""
    assert d["dir"] == "." and d.get_text("dir") == os.path.abspath(".")
    assert d["replicaof"] is None and d.get_text("slaveof") == ""
    assert d["logformat"] == "text" and d["metrics"] is True
    assert d.get_text("client-output-buffer-limit") == \
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    assert d["latency-tracking-info-percentiles"] == (50.0, 99.0, 99.9)
    with pytest.raises(KeyError):
        d["nosuch"]
    with pytest.raises(attr_errors()):
        d._values = {}


def attr_errors():
    import attr
    return (attr.exceptions.FrozenInstanceError, AttributeError)


def test_documented_differences_from_redis():
    diffs = {p.name: p.redis_default for p in C.PARAMS.values() if p.redis_default is not None}
    assert diffs == {"bind": "* -::*", "save": "3600 1 300 100 60 10000"}


# --- memory units -------------------------------------------------------------------

@pytest.mark.parametrize("text,value", [
    ("0", 0), ("100", 100), ("10k", 10000), ("10K", 10000), ("10kb", 10240), ("1m", 10 ** 6),
    ("1mb", 1 << 20), ("1MB", 1 << 20), ("1g", 10 ** 9), ("1gb", 1 << 30), ("1Gb", 1 << 30),
    ("10b", 10), ("10B", 10), ("01", 1), ("", 0), ("k", 0),
    ("18446744073709551616", 2 ** 64 - 1), ("20000000000gb", 3028092406290448384),
    ("17179869184gb", 0),
])
def test_memtoull(text, value):
    assert C.memtoull(text) == value


@pytest.mark.parametrize("text", ["-1", "-0", "1bb", " 1", "+1", "1.5mb", "1e3", "0x10", "5kbx",
                                  "1" * 128])
def test_memtoull_rejects(text):
    assert C.memtoull(text) is None


def test_memory_parameters():
    cfg = config_set(Config.defaults(), [("maxmemory", "100mb")])
    assert cfg["maxmemory"] == 100 * 1024 * 1024 and cfg.get_text("maxmemory") == "104857600"
    assert set_err([("maxmemory", "-1")]) == failed("maxmemory", "argument must be a memory value")
    assert set_err([("proto-max-bulk-len", "1k")]) == failed(
        "proto-max-bulk-len", "argument must be between 1048576 and 9223372036854775807 inclusive")
    assert set_err([("proto-max-bulk-len", "18446744073709551615")]).endswith(
        "argument must be between 1048576 and 9223372036854775807 inclusive")


def test_percent_memory():
    cfg = config_set(Config.defaults(), [("maxmemory-clients", "10%")])
    assert cfg["maxmemory-clients"] == -10 and cfg.get_text("maxmemory-clients") == "10%"
    assert set_err([("maxmemory-clients", "101%")]) == failed(
        "maxmemory-clients", "percentage argument must be less or equal to 100")
    assert set_err([("maxmemory-clients", "-5")]) == failed(
        "maxmemory-clients", "argument must be a memory or percent value")


# --- kinds ----------------------------------------------------------------------------

def test_bool():
    assert config_set(Config.defaults(), [("activerehashing", "NO")])["activerehashing"] is False
    assert set_err([("activerehashing", "1")]) == failed(
        "activerehashing", "argument must be 'yes' or 'no'")


def test_int():
    assert config_set(Config.defaults(), [("slowlog-log-slower-than", "-1")])[
        "slowlog-log-slower-than"] == -1
    for bad in ("+1", " 1", "01", "1.5", "99999999999999999999", ""):
        assert set_err([("timeout", bad)]) == failed(
            "timeout", "argument couldn't be parsed into an integer"), bad
    assert set_err([("maxclients", "-1")]) == failed(
        "maxclients", "argument must be between 1 and 4294967295 inclusive")
    assert set_err([("list-max-listpack-size", "-99999999999")]).endswith(
        "between -2147483648 and 2147483647 inclusive")


def test_hz_is_clamped_and_backlog_has_a_minimum():
    assert config_set(Config.defaults(), [("hz", "1000")])["hz"] == 500
    assert config_set(Config.defaults(), [("hz", "0")])["hz"] == 1
    assert config_set(Config.defaults(), [("repl-backlog-size", "1")])["repl-backlog-size"] == 16384
    assert Config.defaults().with_changes({"repl-backlog-size": "1"})["repl-backlog-size"] == 1


def test_enum():
    cfg = config_set(Config.defaults(), [("maxmemory-policy", "ALLKEYS-LRU")])
    assert cfg["maxmemory-policy"] == "allkeys-lru"
    assert set_err([("maxmemory-policy", "foo")]) == failed(
        "maxmemory-policy", "argument(s) must be one of the following: volatile-lru, volatile-lfu, "
        "volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction")
    assert config_set(Config.defaults(), [("oom-score-adj", "relative")]).get_text("oom-score-adj") == "yes"


def test_flag_enum_shutdown():
    def text(v):
        return config_set(Config.defaults(), [("shutdown-on-sigint", v)]).get_text("shutdown-on-sigint")
    assert text("force now") == "now force"
    assert text("NOW force save") == "save now force"
    assert text("default now") == "now" and text("default") == "default"
    assert set_err([("shutdown-on-sigint", "save nosave")]) == failed(
        "shutdown-on-sigint", "shutdown options SAVE and NOSAVE can't be used simultaneously")
    assert "must be one of the following: default, save" in set_err([("shutdown-on-sigint", "")])


def test_specials():
    d = Config.defaults()
    assert config_set(d, [("save", "900 1 300 10")])["save"] == ((900, 1), (300, 10))
    assert config_set(d, [("save", "+10 +5")]).get_text("save") == "10 5"
    for bad in ("900 1 300", "0 1", "1 -1", "10 0x1", " "):
        assert set_err([("save", bad)]) == failed("save", "Invalid save parameters"), bad
    cfg = config_set(d, [("client-output-buffer-limit", "pubsub 1 2 3 replica 4mb 5kb 6")])
    assert cfg.get_text("client-output-buffer-limit") == "normal 0 0 0 slave 4194304 5120 6 pubsub 1 2 3"
    assert set_err([("client-output-buffer-limit", "master 1 2 3")]).endswith(
        "Invalid client class specified in buffer limit configuration.")
    assert config_set(d, [("notify-keyspace-events", "KEA")]).get_text("notify-keyspace-events") == "AKE"
    assert config_set(d, [("notify-keyspace-events", "mnE")]).get_text("notify-keyspace-events") == "nEm"
    assert config_set(d, [("notify-keyspace-events", "Ex")])["notify-keyspace-events"] == \
        C.NOTIFY_KEYEVENT | C.NOTIFY_EXPIRED
    assert set_err([("notify-keyspace-events", "KE A")]).endswith(
        "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    cfg = config_set(d, [("latency-tracking-info-percentiles", "50 99.99 100.0 0.001 1e1")])
    assert cfg.get_text("latency-tracking-info-percentiles") == "50 99.99 100 0.001 10"
    assert set_err([("oom-score-adj-values", "1 2")]).endswith("wrong number of arguments")
    assert d.with_changes({"bind": "127.0.0.1 ::1"})["bind"] == ("127.0.0.1", "::1")
    assert d.with_changes({"replicaof": "localhost 6380"})["replicaof"] == ("localhost", 6380)
    assert d.with_changes({"unixsocketperm": "700"}).get_text("unixsocketperm") == "700"


def test_string_validators():
    assert set_err([("cluster-announce-hostname", "a_b")]).endswith(
        "Hostnames may only contain alphanumeric characters, hyphens or dots")
    assert set_err([("proc-title-template", "{title}")]).endswith(
        "template format is invalid or contains unknown variables")
    assert config_set(Config.defaults(), [("proc-title-template", "a{{b}")])


# --- CONFIG SET protocol-level errors ------------------------------------------------------

def test_config_set_errors():
    assert set_err([("nosuch", "1")]) == "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"
    assert set_err([("DAEMONIZE", "yes")]) == failed("DAEMONIZE", "can't set immutable config")
    assert set_err([("dir", "/tmp")]) == failed("dir", "can't set protected config")
    assert set_err([("MAXMEMORY", "1"), ("maxmemory", "2")]) == failed("maxmemory", "duplicate parameter")
    assert set_err([("SLAVE-PRIORITY", "x")]) == failed(
        "slave-priority", "argument couldn't be parsed into an integer")
    assert set_err([("daemonize", "yes"), ("nosuch", "1")]) == failed("daemonize", "can't set immutable config")
    assert set_err([("appendonly", "yes")], loading=True) == "LOADING Redis is loading the dataset in memory"
    assert set_err([("shards", "8")]) == failed("shards", "can't set immutable config")
    cfg = config_set(Config.defaults(), [("slave-priority", "1"), ("replica-priority", "2")])
    assert cfg["replica-priority"] == 2


def test_protected_configs():
    local = Config.defaults().with_changes({"enable-protected-configs": "local"})
    assert set_err([("dir", "/")], cfg=local) == failed("dir", "can't set protected config")
    assert config_set(local, [("dir", "/")], local_client=True)["dir"] == "/"
    assert set_err([("dir", "/nonexistent-dir")], cfg=local, local_client=True) == failed(
        "dir", "No such file or directory")


def test_config_set_is_all_or_nothing():
    d = Config.defaults()
    with pytest.raises(ReplyError):
        config_set(d, [("hz", "20"), ("maxmemory", "bad")])
    assert d["hz"] == 10


# --- CONFIG GET --------------------------------------------------------------------------------

def test_config_get():
    d = Config.defaults()
    assert dict(d.config_get(["maxmemory*"])) == {
        "maxmemory": "0", "maxmemory-clients": "0", "maxmemory-eviction-tenacity": "10",
        "maxmemory-policy": "noeviction", "maxmemory-samples": "5"}
    assert d.config_get(["PORT", "port", "Port"]) == [("PORT", "6379")]
    assert d.config_get(["maxmemory*", "MAXMEMORY"]) == d.config_get(["maxmemory*"])
    assert d.config_get(["nosuch"]) == []
    assert ("slaveof", "") in d.config_get(["slave*"])
    assert d.config_get(["use-exit-on-panic"]) == [("use-exit-on-panic", "no")]
    assert d.config_get(["use-exit-*"]) == []
    assert d.config_get([b"hz"]) == [("hz", "10")]
    names = [n for n, _ in d.config_get(["*"])]
    assert len(names) == len(set(names)) == len(C.PARAMS) + len(C.ALIASES) - \
        sum(p.hidden for p in C.PARAMS.values())


# --- files ------------------------------------------------------------------------------------

def test_sdssplitargs():
    split = C.sdssplitargs
    assert split('save 900 1') == ["save", "900", "1"]
    assert split('  a   "b c"  \'d e\'') == ["a", "b c", "d e"]
    assert split(r'x "a\tb\x41\n\"" ') == ["x", "a\tbA\n\""]
    assert split(r"x 'it\'s'") == ["x", "it's"]
    assert split('x ab"cd"') == ["x", "abcd"]
    assert split('x ""') == ["x", ""]
    assert split('x "abc') is None and split("x 'abc") is None and split('x "a"b') is None


def test_parse_config_file():
    text = '# comment\n\n  maxmemory 100mb  \r\nSAVE 900 1\nsave 300 10\n\t# indented comment\n' \
           'requirepass "with space"\nbind 127.0.0.1 ::1\n'
    assert parse_config_file(text) == [
        ("maxmemory", ["100mb"]), ("save", ["900", "1"]), ("save", ["300", "10"]),
        ("requirepass", ["with space"]), ("bind", ["127.0.0.1", "::1"])]
    with pytest.raises(ConfigError, match="Unbalanced quotes"):
        parse_config_file('requirepass "abc\n')


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_file_semantics(tmp_path):
    inc = write(tmp_path, "inc.conf", "save 60 10000\ntimeout 5\n")
    path = write(tmp_path, "redis.conf", "save 900 1\nsave 300 10\nmaxmemory 1gb\nhz 1000\n"
                 "lua-time-limit 100\nlist-max-ziplist-entries 512\nmaxmemory 2gb\n"
                 "include %s\n" % inc)
    cfg = build_config({}, {}, path)
    assert cfg["save"] == ((900, 1), (300, 10), (60, 10000))
    assert cfg["maxmemory"] == 2 << 30 and cfg["hz"] == 500 and cfg["timeout"] == 5
    assert cfg["busy-reply-threshold"] == 100
    assert build_config({}, {}, write(tmp_path, "b.conf", 'save ""\n'))["save"] == ()
    assert build_config({}, {}, write(tmp_path, "g.conf", "include %s/in*.conf\n" % tmp_path))[
        "timeout"] == 5


@pytest.mark.parametrize("text,message", [
    ("maxmemory-policy foo\n", "x.conf:1: maxmemory-policy: invalid value 'foo' (expected one of: "
                               "volatile-lru, volatile-lfu, volatile-random, volatile-ttl, "
                               "allkeys-lru, allkeys-lfu, allkeys-random, noeviction)"),
    ("\nmaxmemory lots\n", "x.conf:2: maxmemory: invalid value 'lots' (expected a memory value"),
    ("port 1 2\n", "x.conf:1: port: wrong number of arguments"),
    ("nosuch 1\n", "x.conf:1: Bad directive or wrong number of arguments: 'nosuch 1'"),
    ("rename-command FLUSHALL x\n", "'rename-command' is not supported by RedisLite"),
    ("save 900\n", "save: invalid value '900' (Invalid save parameters; expected pairs"),
    ("protected-mode maybe\n", "protected-mode: invalid value 'maybe' (expected yes or no)"),
    ("include /nonexistent/redis.conf\n", "can't open config file '/nonexistent/redis.conf'"),
])
def test_file_errors(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        build_config({}, {}, write(tmp_path, "x.conf", text))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


# --- precedence -------------------------------------------------------------------------------

def test_precedence(tmp_path):
    path = write(tmp_path, "p.conf", "maxmemory 1mb\ntimeout 10\nhz 20\nsave 900 1\n")
    env = {"REDISLITE_MAXMEMORY": "2mb", "REDISLITE_TIMEOUT": "11", "REDISLITE_SAVE": "60 5",
           "REDISLITE_REQUIRE_REDIS": "1", "PATH": "/bin"}
    cfg = build_config({"maxmemory": "3mb"}, env, path)
    assert cfg["maxmemory"] == 3 << 20     # command line
    assert cfg["timeout"] == 11            # environment
    assert cfg["save"] == ((60, 5),)       # environment replaces the file's save lines
    assert cfg["hz"] == 20                 # file
    assert cfg["databases"] == 16          # default
    assert build_config(None, None, None) == Config.defaults()


def test_env_names_and_errors():
    assert C.env_var_name("maxmemory-policy") == "REDISLITE_MAXMEMORY_POLICY"
    assert C.PARAMS["server_cpulist"].env_var == "REDISLITE_SERVER_CPULIST"
    cfg = build_config({}, {"REDISLITE_MAXMEMORY_POLICY": "allkeys-lfu", "REDISLITE_SHARDS": "8"}, None)
    assert cfg["maxmemory-policy"] == "allkeys-lfu" and cfg["shards"] == 8
    with pytest.raises(ConfigError, match=r"shards: invalid value '0' \(expected an integer between 1 and 1024\)"):
        build_config({}, {"REDISLITE_SHARDS": "0"}, None)
    with pytest.raises(ConfigError, match="logformat: invalid value 'xml' \\(expected one of: text, json\\)"):
        build_config({"logformat": "xml"}, {}, None)
    with pytest.raises(ConfigError, match="unknown configuration parameter 'nosuch'"):
        build_config({"nosuch": "1"}, {}, None)
    assert build_config({"SLAVEOF": "127.0.0.1 6380"}, {}, None)["replicaof"] == ("127.0.0.1", 6380)


def test_with_changes_validates_everything():
    d = Config.defaults()
    with pytest.raises(ConfigError, match="http-port: invalid value '70000'"):
        d.with_changes({"http-port": "70000"})
    new = d.with_changes({"daemonize": "yes", "http-port": "0"})  # startup may set immutables
    assert new["daemonize"] is True and new["http-port"] == 0 and d["daemonize"] is False
    assert new != d and d == Config.defaults()


# --- generated files ------------------------------------------------------------------------

def test_env_example_is_up_to_date():
    committed = (ROOT / ".env.example").read_text()
    assert committed == C.env_example(), "regenerate: python -c 'from redislite.config import env_example; print(env_example(), end=\"\")' > .env.example"
    for p in C.PARAMS.values():
        assert "#%s=" % p.env_var in committed


def test_configuration_doc_is_up_to_date():
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == C.config_doc(), "regenerate: python -c 'from redislite.config import config_doc; print(config_doc(), end=\"\")' > docs/configuration.md"
    stored = [p.name for p in C.PARAMS.values() if p.effect == C.STORED]
    assert all("- `%s`" % n in committed for n in stored)


def test_env_example_defaults_round_trip():
    """Every default shown in .env.example is accepted back as an environment value."""
    env = {p.env_var: p.default for p in C.PARAMS.values()}
    assert build_config({}, env, None) == Config.defaults()
