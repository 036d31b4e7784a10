"""Metrics, latency histograms, SLOWLOG, LATENCY and MONITOR on the unit-level server.

A scripted workload runs through an internal Client on task.Clock; the
Prometheus text is parsed with prometheus_client's own parser and the figures
are checked against what the workload did.
"""

import re

import pytest
from hypothesis import given, strategies as st
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import task

from redislite.commands import introspection  # noqa: F401
from redislite.commands import load_all, registry
from redislite.commands.server import reset_stats
from redislite.config import Config
from redislite.errors import ReplyError
from redislite.observability import latency as lat
from redislite.observability.metrics import Metrics, metrics_json
from redislite.protocol import Client
from redislite.resp.encoder import Map, Raw, Verbatim
from redislite.server import Server

load_all()


@pytest.fixture
def clock():
    c = task.Clock()
    c.advance(1_700_000_000)
    return c


def make_server(clock, **changes):
    cfg = Config.defaults()
    if changes:
        cfg = cfg.with_changes({k.replace("_", "-"): v for k, v in changes.items()})
    srv = Server(cfg, clock)
    lat.attach(srv)
    reset_stats(srv)   # the command table's counters are process-wide
    return srv


@pytest.fixture
def server(clock):
    return make_server(clock)


@pytest.fixture
def client(server):
    c = Client(server)
    server.add_client(c)
    return c


def scrape(server, accept=""):
    body, ctype = Metrics(server).render(accept)
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    return families, ctype


def value(families, name, **labels):
    for fam in families.values():
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


# -- histogram arithmetic ------------------------------------------------------------------
@given(st.integers(min_value=0, max_value=2 ** 40))
def test_bucket_bounds_contain_the_value(ns):
    lo, hi = lat.bucket_bounds(lat.bucket_index(ns))
    assert lo <= ns <= hi
    assert hi - lo <= max(1, ns // 16)        # about 3% precision


def test_bucket_indexes_are_contiguous_and_ordered():
    prev_hi = -1
    for i in range(0, 2000):
        lo, hi = lat.bucket_bounds(i)
        assert lo == prev_hi + 1 and hi >= lo
        assert lat.bucket_index(lo) == i and lat.bucket_index(hi) == i
        prev_hi = hi


def test_fold_buckets_like_record(server, client):
    hub = server.introspection
    spec = registry.lookup(b"get")
    for usec in (0.0005, 0.05, 1.0, 3.3, 17.9, 250.0, 12345.6, 5e7):
        hub.reset_histograms()
        server.lat_pending.append(lat.sample(spec, usec))
        h = {}
        lat.record(h, usec)
        assert hub.hists[spec] == h


def test_executed_commands_land_in_the_histogram_once_folded(server, client):
    for _ in range(3):
        client.call("SET", "k", "v")
    assert server.lat_pending          # recorded inline, folded on read
    assert lat.total(server.introspection.hists[registry.lookup(b"set")]) == 3
    assert not server.lat_pending


def test_fold_counts_calls_and_usec(server, client):
    # Client.execute leaves a command's calls and usec to the fold of its samples
    spec = registry.lookup(b"set")
    server.introspection.fold()
    calls, usec = spec.calls, spec.usec
    server.lat_pending.extend([lat.sample(spec, 2.5), lat.sample(spec, 40.0), lat.sample(spec, 2.5)])
    server.introspection.fold()
    assert spec.calls == calls + 3
    assert spec.usec == pytest.approx(usec + 45.0, abs=1e-6)


def test_run_past_the_histogram_range_keeps_its_whole_time(server, client):
    # a sample stays inside its spec's span: the part past MAX_USEC goes straight to usec
    get = registry.lookup(b"get")
    nxt = lat._SPECS[int(get.lat_base // lat.SPAN) + 1]
    hub = server.introspection
    hub.fold()
    assert server.outlier_usec <= lat.MAX_USEC
    calls, usec, next_calls = get.calls, get.usec, nxt.calls
    clamped = hub.outlier(client, get, [b"GET", b"k"], lat.MAX_USEC + 2_500_000)
    assert clamped == lat.MAX_USEC
    server.lat_pending.append(get.lat_base + clamped)
    hub.fold()
    assert get.calls == calls + 1 and nxt.calls == next_calls
    assert get.usec == pytest.approx(usec + lat.MAX_USEC + 2_500_000)


def test_percentiles():
    h = {}
    for usec in range(1, 1001):          # 1..1000 us
        lat.record(h, usec)
    p = lat.percentiles_usec(h, (50.0, 99.0, 99.9, 100.0))
    assert 500 <= p[50.0] <= 500 * 1.04
    assert 990 <= p[99.0] <= 990 * 1.04
    assert 999 <= p[99.9] <= 1000 * 1.04
    assert lat.value_at_percentile({}, 50) == 0


def test_cumulative_and_log2_cdf():
    h = {}
    for usec in (0.5, 1.5, 3, 3, 70, 2000):
        lat.record(h, usec)
    assert lat.cumulative(h, [1_000, 10_000, 100_000, 10 ** 9]) == [1, 4, 5, 6]
    cdf = lat.log2_cdf(h)
    assert [c for _, c in cdf] == sorted(c for _, c in cdf) and cdf[-1][1] == 6
    assert cdf[0] == (1, 1)                  # Redis's first bucket: 1024 ns reported as 1
    assert [b for b, _ in cdf] == sorted(b for b, _ in cdf)


# -- Prometheus ----------------------------------------------------------------------------------
def test_scripted_workload(server, client, clock):
    for i in range(10):
        client.call("SET", "k%d" % i, "v")
    client.call("SET", "t1", "v", "EX", "100")
    client.call("SET", "t2", "v", "PX", "50")
    client.call("GET", "k1")
    client.call("GET", "k2")
    client.call("GET", "missing")
    client.call("INCR", "k1")                # fails: not an integer
    client.call("GET")                       # rejected: arity
    client.call("SELECT", "2")
    client.call("SET", "other", "v")
    server.net_input_bytes, server.net_output_bytes = 1234, 5678

    fams, ctype = scrape(server)
    assert ctype.startswith("text/plain")
    assert value(fams, "redislite_command_calls_total", cmd="set") == 13
    assert value(fams, "redislite_command_calls_total", cmd="get") == 3
    assert value(fams, "redislite_command_failed_calls_total", cmd="incr") == 1
    assert value(fams, "redislite_command_rejected_calls_total", cmd="get") == 1
    assert value(fams, "redislite_command_duration_seconds_count", cmd="set") == 13
    assert value(fams, "redislite_command_duration_seconds_bucket", cmd="set", le="+Inf") == 13
    buckets = [s.value for s in fams["redislite_command_duration_seconds"].samples
               if s.name.endswith("_bucket") and s.labels["cmd"] == "set"]
    assert buckets == sorted(buckets)
    assert value(fams, "redislite_db_keys", db="0") == 12
    assert value(fams, "redislite_db_keys", db="2") == 1
    assert value(fams, "redislite_db_keys_expiring", db="0") == 2
    assert value(fams, "redislite_keyspace_hits_total") == 2
    assert value(fams, "redislite_keyspace_misses_total") == 1
    assert value(fams, "redislite_net_input_bytes_total") == 1234
    assert value(fams, "redislite_net_output_bytes_total") == 5678
    assert value(fams, "redislite_errors_total", error="ERR") == 2
    assert value(fams, "redislite_connected_clients") == 1
    assert value(fams, "redislite_replication_role", role="master") == 1
    assert value(fams, "redislite_uptime_seconds") == 0
    assert value(fams, "redislite_memory_used_bytes") > 0
    assert value(fams, "redislite_memory_max_bytes") == 0
    for name in ("redislite_rdb_last_bgsave_ok", "redislite_aof_last_write_ok", "redislite_loading",
                 "redislite_replication_offset", "redislite_rdb_seconds_since_last_save"):
        assert value(fams, name) is not None, name

    # the values move as time passes and commands run
    clock.advance(1)
    server.now.refresh()
    for shard in server.shards:
        shard.active_expire_cycle()
    client.call("GET", "k3")
    fams, _ = scrape(server)
    assert value(fams, "redislite_expired_keys_total") == 1
    assert value(fams, "redislite_db_keys_expiring", db="0") == 1
    assert value(fams, "redislite_command_calls_total", cmd="get") == 4
    assert value(fams, "redislite_uptime_seconds") == 1


def test_busy_poll_spins_are_counted(server, monkeypatch):
    from redislite import reactor_tuning
    monkeypatch.setattr(reactor_tuning.BUSY, "found", 7)
    monkeypatch.setattr(reactor_tuning.BUSY, "empty", 3)
    fams, _ = scrape(server)
    assert value(fams, "redislite_busy_poll_spins_total", result="found") == 7
    assert value(fams, "redislite_busy_poll_spins_total", result="empty") == 3


def test_no_key_names_in_labels(server, client):
    client.call("SET", "secret-key-name", "v")
    body, _ = Metrics(server).render()
    assert b"secret-key-name" not in body


def test_openmetrics_when_asked(server, client):
    client.call("PING")
    body, ctype = Metrics(server).render("application/openmetrics-text; version=1.0.0")
    assert ctype.startswith("application/openmetrics-text") and body.endswith(b"# EOF\n")


def test_metrics_off_records_no_histograms(clock):
    srv = make_server(clock, metrics="no", latency_tracking="no")
    c = Client(srv)
    c.call("SET", "a", "1")
    assert srv.introspection.hists == {}
    assert registry.lookup(b"set").calls == 1   # the command table's own counters stay


def test_metrics_json_percentiles(server, client):
    for _ in range(50):
        client.call("SET", "a", "1")
    m = metrics_json(server)
    pct = m["commands"]["set"]["latency_usec"]
    assert pct["p50"] <= pct["p95"] <= pct["p99"] <= pct["p99.9"]
    assert m["commands"]["set"]["calls"] == 50


# -- INFO latencystats ------------------------------------------------------------------------------
_LAT_LINE = re.compile(r"^latency_percentiles_usec_[a-z|_-]+:p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}$")


def test_info_latencystats_format(server, client):
    client.call("SET", "a", "1")
    client.call("CONFIG", "SET", "maxmemory", "0")
    text = client.call("INFO", "latencystats")
    assert isinstance(text, Verbatim) and text.startswith("# Latencystats\r\n")
    lines = text.split("\r\n")[1:-1]
    assert lines and all(_LAT_LINE.match(line) for line in lines), lines
    assert any(line.startswith("latency_percentiles_usec_config|set:") for line in lines)


def test_latencystats_follows_config(server, client):
    client.call("SET", "a", "1")
    client.call("CONFIG", "SET", "latency-tracking-info-percentiles", "0 50 99.99 100")
    line = [x for x in client.call("INFO", "latencystats").split("\r\n") if "usec_set:" in x][0]
    assert re.match(r"^latency_percentiles_usec_set:p0=[\d.]+,p50=[\d.]+,p99.99=[\d.]+,p100=[\d.]+$", line)
    client.call("CONFIG", "SET", "latency-tracking", "no")
    assert client.call("INFO", "latencystats") == "# Latencystats\r\n"


# -- SLOWLOG ----------------------------------------------------------------------------------------
def test_slowlog_entries(server, client, clock):
    client.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
    client.call("CLIENT", "SETNAME", "worker")
    client.addr = "10.0.0.1:5555"
    client.call("SET", "a", "x" * 200)
    client.call("AUTH", "nopass-configured")
    client.call("MGET", *["k%d" % i for i in range(40)])
    entries = client.call("SLOWLOG", "GET", "-1")
    mget, auth, set_ = entries[0], entries[1], entries[2]
    assert set_[1] == 1_700_000_000 and isinstance(set_[2], int)
    assert set_[3] == [b"SET", b"a", b"x" * 128 + b"... (72 more bytes)"]
    assert set_[4:] == [b"10.0.0.1:5555", b"worker"]
    assert auth[3] == [b"AUTH", b"(redacted)"]
    assert len(mget[3]) == 32 and mget[3][-1] == b"... (10 more arguments)"
    assert [e[0] for e in entries] == sorted((e[0] for e in entries), reverse=True)
    assert client.call("SLOWLOG", "GET", "1")[0][3] == [b"SLOWLOG", b"GET", b"-1"]
    assert client.call("SLOWLOG", "GET", "0") == []


def test_slowlog_len_reset_maxlen_and_threshold(server, client):
    client.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
    client.call("CONFIG", "SET", "slowlog-max-len", "3")
    for i in range(10):
        client.call("SET", "k", str(i))
    assert client.call("SLOWLOG", "LEN") == 3
    last_id = client.call("SLOWLOG", "GET")[0][0]
    client.call("SLOWLOG", "RESET")
    assert client.call("SLOWLOG", "LEN") == 1         # the RESET itself is logged after it ran
    assert client.call("SLOWLOG", "GET")[0][0] > last_id    # ids keep growing across RESET
    client.call("CONFIG", "SET", "slowlog-log-slower-than", "-1")
    client.call("SLOWLOG", "RESET")
    client.call("SET", "k", "v")
    assert client.call("SLOWLOG", "LEN") == 0
    client.call("CONFIG", "SET", "slowlog-log-slower-than", "10000000")
    client.call("SET", "k", "v")
    assert client.call("SLOWLOG", "LEN") == 0


def test_slowlog_skips_exec_and_errors(server, client):
    client.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
    assert client.call("SLOWLOG", "GET", "x") == ReplyError("ERR count should be greater than or equal to -1")
    assert client.call("SLOWLOG", "GET", "-2") == ReplyError("ERR count should be greater than or equal to -1")
    assert client.call("SLOWLOG", "GET", "1", "2") == ReplyError(
        "ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.")
    assert client.call("SLOWLOG", "LEN", "x") == ReplyError("ERR wrong number of arguments for 'slowlog|len' command")
    assert client.call("SLOWLOG", "HELP")[0].text.startswith("SLOWLOG <subcommand>")


def test_slow_listener_called(server, client):
    seen = []
    server.introspection.slow_listeners.append(lambda c, spec, argv, usec: seen.append(spec.fullname))
    client.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
    client.call("PING")
    assert seen[-1] == "ping"


# -- LATENCY ------------------------------------------------------------------------------------------
def test_latency_monitor(server, client, clock):
    assert client.call("LATENCY", "LATEST") == []
    assert client.call("LATENCY", "DOCTOR").startswith("I'm sorry, Dave")
    hub = server.introspection
    client.call("CONFIG", "SET", "latency-monitor-threshold", "1000000")
    assert client.call("LATENCY", "DOCTOR").startswith("Dave, no latency spike")
    spec = registry.lookup(b"set")
    hub.latency_sample(spec, 5_000)
    hub.latency_sample(spec, 3_000)         # same second: keeps the max
    clock.advance(1)
    hub.latency_sample(spec, 2_000)
    hub.latency_sample(registry.lookup(b"get"), 7_000)
    latest = client.call("LATENCY", "LATEST")
    assert [b"command", 1_700_000_001, 2, 5] in latest and [b"fast-command", 1_700_000_001, 7, 7] in latest
    assert client.call("LATENCY", "HISTORY", "command") == [[1_700_000_000, 5], [1_700_000_001, 2]]
    assert client.call("LATENCY", "HISTORY", "nosuch") == []
    assert "command" in client.call("LATENCY", "DOCTOR")
    assert "command" in client.call("LATENCY", "GRAPH", "command")
    assert client.call("LATENCY", "GRAPH", "nosuch") == ReplyError("ERR No samples available for event 'nosuch'")
    assert client.call("LATENCY", "RESET", "command", "nosuch") == 1
    assert client.call("LATENCY", "RESET") == 1
    assert client.call("LATENCY", "LATEST") == []


def test_latency_threshold_from_observer(server, client, monkeypatch):
    client.call("CONFIG", "SET", "latency-monitor-threshold", "1")
    hub = server.introspection
    hub.outlier(client, registry.lookup(b"keys"), [b"KEYS", b"*"], 2500.0)
    assert client.call("LATENCY", "HISTORY", "command") == [[1_700_000_000, 2]]
    assert hub.latency.events


def test_latency_histogram(server, client):
    for _ in range(5):
        client.call("SET", "a", "1")
    client.call("CONFIG", "SET", "maxmemory", "0")
    reply = client.call("LATENCY", "HISTOGRAM", "set", "nosuch", "config")
    assert isinstance(reply, Map)
    names = [k for k, _ in reply]
    assert names[0] == b"set" and b"config|set" in names and b"nosuch" not in names
    entry = dict(reply)[b"set"]
    assert entry[0] == (b"calls", 5) and entry[1][0] == b"histogram_usec"
    assert entry[1][1][-1][1] == 5
    assert client.call("LATENCY", "HISTOGRAM", "nosuch") == []
    assert client.call("LATENCY", "HELP")[0].text.startswith("LATENCY <subcommand>")


# -- MONITOR ------------------------------------------------------------------------------------------
def test_monitor_lines(server, clock):
    mon = Client(server)
    server.add_client(mon)
    mon.addr = "127.0.0.1:1000"
    assert mon.call("MONITOR").text == "OK"
    assert mon.kind == "monitor"
    c = Client(server)
    c.addr = "127.0.0.1:2000"
    c.execute([b"SET", b"k", b'v\x01"\\\n \xff\x7f~'])
    c.call("SELECT", "2")
    c.call("GET")                    # rejected: not fed
    c.call("CONFIG", "GET", "x")     # admin: not fed
    c.call("AUTH", "a", "b")
    c.call("CLIENT", "SETNAME", "x")
    lines = [r.resp2 for r in mon.pushed]
    assert all(isinstance(r, Raw) for r in mon.pushed)
    assert lines == [
        b'+1700000000.000000 [0 127.0.0.1:2000] "SET" "k" "v\\x01\\"\\\\\\n \\xff\\x7f~"\r\n',
        b'+1700000000.000000 [2 127.0.0.1:2000] "SELECT" "2"\r\n',
        b'+1700000000.000000 [2 127.0.0.1:2000] "AUTH" "(redacted)" "(redacted)"\r\n',
        b'+1700000000.000000 [2 127.0.0.1:2000] "CLIENT" "SETNAME" "x"\r\n',
    ]
    # a second MONITOR gets no reply at all; RESET leaves monitor mode
    again = mon.call("MONITOR")
    assert isinstance(again, Raw) and again.resp2 == b"" and again.resp3 == b""
    mon.call("RESET")
    assert mon.kind == "normal" and not server.introspection.monitors
    mon.pushed.clear()
    c.call("PING")
    assert mon.pushed == []


def test_monitor_time_format(clock):
    assert lat.monitor_line(1.5, 0, "a:1", [b"x"]) == b'+1.500000 [0 a:1] "x"'
    assert lat.monitor_line(1_700_000_000.000001, 15, "lua", [b""]) == b'+1700000000.000001 [15 lua] ""'


def test_monitor_refused_in_exec(server):
    c = Client(server)
    c.no_block = True
    assert c.call("MONITOR") == ReplyError("ERR MONITOR isn't allowed for DENY BLOCKING client")


def test_closed_monitor_is_dropped(server):
    mon = Client(server)
    mon.call("MONITOR")
    mon.closing = True
    Client(server).call("PING")
    assert not server.introspection.monitors


def test_catrepr_matches_sdscatrepr():
    assert lat.catrepr(b"abc") == b'"abc"'
    assert lat.catrepr(b"") == b'""'
    assert lat.catrepr(b'\\"\n\r\t\x07\x08\x00\x1f\x7f\x80') == \
        b'"\\\\\\"\\n\\r\\t\\a\\b\\x00\\x1f\\x7f\\x80"'


# -- docs/operations.md -----------------------------------------------------------------------
def test_operations_doc_dashboard_uses_real_metrics(server, client):
    import json
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "operations.md")
    text = open(path, encoding="utf-8").read()
    dashboard = json.loads(text.split("```json\n", 1)[1].split("```", 1)[0])
    client.call("SET", "a", "1")
    client.call("GET")                     # an error, so redislite_errors_total has a sample
    body, _ = Metrics(server).render()
    fams = list(text_string_to_metric_families(body.decode()))
    exported = {s.name for f in fams for s in f.samples} | {f.name for f in fams}
    used = set()
    for panel in dashboard["panels"]:
        for t in panel["targets"]:
            used.update(re.findall(r"redislite_[a-z_]+", t["expr"]))
    assert used and used <= exported, used - exported
    documented = set(re.findall(r"`(redislite_[a-z_]+)`", text))
    families = {f.name for f in text_string_to_metric_families(body.decode())}
    assert {n[:-6] if n.endswith("_total") else n for n in documented} >= families - {"redislite_master_link_up"}
