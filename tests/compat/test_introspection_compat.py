"""SLOWLOG, LATENCY, MONITOR and CLIENT LIST against a real redis-server 7.0.

Byte-exact where Redis is deterministic (help texts, errors, empty states);
where replies hold times, durations, ids or peer ports, both sides are decoded
and compared after masking just those fields.
"""

import re

import pytest

from redislite.testing import RawClient
from tests.compat.differential import decode

pytestmark = pytest.mark.compat


def _both_decoded(pair, *args):
    o, s = pair.both(*args)
    return decode(o), decode(s)


@pytest.fixture
def slowlog_all(pair):
    """Log every command on both servers; restore the defaults afterwards."""
    pair.same("CONFIG", "SET", "slowlog-log-slower-than", "0")
    pair.same("SLOWLOG", "RESET")
    yield pair
    pair.same("CONFIG", "SET", "slowlog-log-slower-than", "10000")
    pair.same("CONFIG", "SET", "slowlog-max-len", "128")
    pair.same("SLOWLOG", "RESET")


# -- SLOWLOG ----------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ("SLOWLOG", "HELP"), ("slowlog", "help", "x"), ("SLOWLOG",), ("SLOWLOG", "FOO"),
    ("SLOWLOG", "GET", "abc"), ("SLOWLOG", "GET", "-2"), ("SLOWLOG", "GET", "+1"),
    ("SLOWLOG", "GET", "99999999999999999999"), ("SLOWLOG", "GET", "1", "2"),
    ("slowlog", "GeT", "1", "2"), ("SLOWLOG", "LEN", "x"), ("SLOWLOG", "RESET", "x"),
    ("SLOWLOG", "GET", "0"),
])
def test_slowlog_errors_and_help(pair, args):
    pair.same(*args)


def test_slowlog_len_and_reset(slowlog_all):
    pair = slowlog_all
    pair.same("SLOWLOG", "LEN")               # the RESET itself: 1
    for i in range(5):
        pair.same("SET", "k", str(i))
    pair.same("SLOWLOG", "LEN")
    pair.same("CONFIG", "SET", "slowlog-max-len", "3")
    pair.same("PING")
    pair.same("SLOWLOG", "LEN")
    pair.same("SLOWLOG", "RESET")
    pair.same("SLOWLOG", "LEN")
    pair.same("SLOWLOG", "GET", "0")


def test_slowlog_entry_shape(slowlog_all):
    pair = slowlog_all
    pair.same("CLIENT", "SETNAME", "worker")
    pair.same("SET", "long", "x" * 300)
    pair.same("MGET", *["k%d" % i for i in range(40)])
    pair.same("AUTH", "secret")               # fails (no password) but is logged, redacted
    pair.both("HELLO", "2", "AUTH", "default", "secret")   # reply holds the client id
    pair.same("MULTI")
    pair.same("SET", "a", "1")
    pair.same("INCR", "a")
    pair.same("EXEC")                         # EXEC is skip_slowlog; its commands are logged
    o, s = _both_decoded(pair, "SLOWLOG", "GET", "-1")
    assert len(o) == len(s)
    for eo, es in zip(o, s):
        assert len(eo) == len(es) == 6
        assert eo[3] == es[3]                             # arguments, trimmed and redacted alike
        assert eo[5] == es[5]                             # client name (as it was after the command)
        assert re.fullmatch(rb"127\.0\.0\.1:\d+", es[4])  # client addr
        assert isinstance(es[0], int) and isinstance(es[1], int) and isinstance(es[2], int)
    assert [e[0] for e in s] == sorted((e[0] for e in s), reverse=True)
    assert [e[0] - s[-1][0] for e in s] == [e[0] - o[-1][0] for e in o]   # consecutive ids
    assert s[0][5] == b"worker"
    o, s = _both_decoded(pair, "SLOWLOG", "GET", "2")
    assert [e[3] for e in o] == [e[3] for e in s] and len(s) == 2


def test_slowlog_threshold(slowlog_all):
    pair = slowlog_all
    pair.same("CONFIG", "SET", "slowlog-log-slower-than", "-1")
    pair.same("SLOWLOG", "RESET")
    pair.same("SET", "a", "1")
    pair.same("SLOWLOG", "LEN")
    pair.same("CONFIG", "SET", "slowlog-log-slower-than", "10000000")
    pair.same("SET", "a", "1")
    pair.same("SLOWLOG", "LEN")


# -- LATENCY -------------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ("LATENCY", "HELP"), ("LATENCY",), ("LATENCY", "FOO"), ("LATENCY", "LATEST"),
    ("LATENCY", "HISTORY", "command"), ("LATENCY", "HISTORY", "nosuch"), ("LATENCY", "HISTORY"),
    ("LATENCY", "RESET"), ("LATENCY", "RESET", "command", "fast-command"), ("LATENCY", "DOCTOR"),
    ("LATENCY", "GRAPH", "command"), ("LATENCY", "GRAPH"), ("LATENCY", "HISTOGRAM", "nosuch"),
    ("LATENCY", "LATEST", "x"), ("LATENCY", "DOCTOR", "x"),
])
def test_latency_deterministic_replies(pair, args):
    pair.same(*args)


def test_latency_doctor_resp3(pair):
    pair.resp3()
    pair.same("LATENCY", "DOCTOR")


def test_latency_histogram_shape(pair):
    pair.same("SET", "a", "1")
    pair.same("GET", "a")
    o, s = _both_decoded(pair, "LATENCY", "HISTOGRAM", "set", "get", "nosuch")
    assert [x for x in o[::2]] == [x for x in s[::2]] == [b"set", b"get"] or \
        sorted(o[::2]) == sorted(s[::2])
    for entry in s[1::2]:
        assert entry[0] == b"calls" and entry[1] >= 1 and entry[2] == b"histogram_usec"
        buckets = entry[3]
        assert len(buckets) % 2 == 0 and buckets[-1] == entry[1]
        edges = buckets[::2]
        assert edges == sorted(edges)


# -- INFO latencystats ---------------------------------------------------------------------------
def test_info_latencystats_format(pair):
    pair.same("SET", "a", "1")
    pat = re.compile(rb"^latency_percentiles_usec_set:p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}\r$", re.M)
    o, s = pair.both("INFO", "latencystats")
    assert pat.search(o) and pat.search(s)
    assert s.split(b"\r\n")[1] == o.split(b"\r\n")[1] == b"# Latencystats"


# -- MONITOR ---------------------------------------------------------------------------------------
_MON = re.compile(rb"^\+\d+\.\d{6} \[(\d+) (127\.0\.0\.1:\d+|lua)\] (.*)\r\n$", re.S)


def _monitor_lines(client, n):
    lines = []
    for _ in range(n):
        frame = client.read_reply()
        m = _MON.match(frame)
        assert m, frame
        lines.append((m.group(1), m.group(3)))
    return lines


def test_monitor_lines_match(pair):
    mons = {}
    for name in ("oracle", "subject"):
        side = getattr(pair, name)
        mons[name] = RawClient(side.host, side.port)
        assert mons[name].call("MONITOR") == b"+OK\r\n"
    try:
        pair.same("SET", "k", b'v\x01"\\\n \xff\x7f~\x00')
        pair.same("SELECT", "2")
        pair.same("SET", "12", "345")
        pair.same("GET")                       # arity error: not fed
        pair.same("NOSUCH")                    # unknown: not fed
        pair.same("CONFIG", "GET", "maxmemory")   # admin: not fed
        pair.same("AUTH", "x")                 # fails, fed redacted
        pair.same("AUTH", "x", "y")
        pair.both("HELLO", "2", "AUTH", "a", "b")
        pair.same("INCR", "k")                 # fails at run time: fed
        pair.same("SELECT", "0")
        pair.same("CLIENT", "SETNAME", "mon-test")
        pair.same("MULTI")
        pair.same("SET", "a", "b")
        pair.same("EXEC")
        pair.same("PING")
        o = _monitor_lines(mons["oracle"], 13)
        s = _monitor_lines(mons["subject"], 13)
        assert s == o
    finally:
        for m in mons.values():
            m.close()


def test_monitor_in_multi(pair):
    pair.same("MULTI")
    pair.same("MONITOR")
    pair.same("EXEC")


def test_monitor_client_sees_its_own_commands_after_the_reply(pair):
    for name in ("oracle", "subject"):
        side = getattr(pair, name)
        with RawClient(side.host, side.port) as m:
            assert m.call("MONITOR") == b"+OK\r\n"
            assert m.call("PING") == b"+PONG\r\n"
            assert _MON.match(m.read_reply()).group(3) == b'"PING"'


def test_a_monitor_is_refused_the_keyspace_until_reset(pair):
    """Redis's CLIENT_SLAVE rule: reads, writes and may-replicate commands get an error
    (keeps a monitor from slipping past CLIENT PAUSE); RESET makes it a normal client."""
    seen = {}
    for name in ("oracle", "subject"):
        side = getattr(pair, name)
        with RawClient(side.host, side.port) as m:
            m.call("MONITOR")
            got = [m.call(*argv) for argv in (("GET", "k"), ("SET", "k", "v"), ("PUBLISH", "c", "m"),
                                              ("PFCOUNT", "h"), ("EVAL", "return 1", "0"), ("DBSIZE",))]
            got.append(m.call("RESET"))
            got.append(m.call("GET", "k"))
            seen[name] = got
    assert seen["subject"] == seen["oracle"]
    assert seen["oracle"][0] == b"-ERR Replica can't interact with the keyspace\r\n"


def test_client_list_for_a_monitor(pair):
    fields = {}
    for name in ("oracle", "subject"):
        side = getattr(pair, name)
        with RawClient(side.host, side.port) as m, RawClient(side.host, side.port) as c:
            m.call("CLIENT", "SETNAME", "watcher")
            m.call("MONITOR")
            listing = decode(c.call("CLIENT", "LIST")).decode()
            line = [x for x in listing.splitlines() if "name=watcher" in x][0]
            kv = dict(p.split("=", 1) for p in line.split(" "))
            fields[name] = {k: kv[k] for k in ("flags", "cmd", "db", "sub", "psub", "multi", "resp", "obl",
                                               "oll", "omem", "user", "redir")}
    assert fields["subject"] == fields["oracle"]
