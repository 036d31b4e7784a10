"""Structured logs: every line parses (JSON) or splits (text) into timestamp,
level, event type and fields; levels and formats follow the live config."""

import io
import json

import pytest
from twisted.internet import task
from twisted.logger import Logger, LogLevel, globalLogPublisher
from twisted.python.failure import Failure

from redislite.commands import load_all
from redislite.config import Config
from redislite.observability import latency as lat
from redislite.observability import logging as slog
from redislite.protocol import Client
from redislite.server import Server

load_all()


@pytest.fixture
def captured():
    """Events emitted on the global publisher during the test."""
    events = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


def _ours(events, name):
    return [e for e in events if e.get("redislite_event") == name]


def observer(fmt="json", level="debug"):
    stream = io.StringIO()
    cfg = Config.defaults().with_changes({"logformat": fmt, "loglevel": level})
    return slog.StructuredObserver(stream, cfg), stream


def test_json_lines_parse(captured):
    obs, stream = observer("json")
    slog.event("persistence.save", level="info", keys=10, seconds=0.25, path="/tmp/x", raw=b"\xffb",
               nested={"a": [1, 2]}, obj=object)
    for ev in captured:
        obs(ev)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    assert rec["event"] == "persistence.save" and rec["level"] == "info"
    assert rec["keys"] == 10 and rec["seconds"] == 0.25 and rec["nested"] == {"a": [1, 2]}
    assert rec["raw"] == "\ufffdb" and rec["obj"].startswith("<class")
    assert rec["timestamp"].endswith("Z") and "T" in rec["timestamp"]


def test_field_named_like_the_envelope(captured):
    obs, stream = observer("json")
    slog.event("client.disconnect", level="verbose", name="worker", event="x", timestamp=1)
    for ev in captured:
        obs(ev)
    rec = json.loads(stream.getvalue())
    assert rec["event"] == "client.disconnect" and rec["name"] == "worker"
    assert rec["field_event"] == "x" and rec["field_timestamp"] == 1


def test_twisted_events_and_failures_are_structured_too():
    obs, stream = observer("json")
    log = Logger(namespace="twisted.web", observer=obs)
    log.info("Site starting on {port}", port=8080)
    try:
        1 / 0
    except ZeroDivisionError:
        log.failure("boom", Failure())
    recs = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert recs[0]["event"] == "twisted" and recs[0]["message"] == "Site starting on 8080"
    assert recs[0]["namespace"] == "twisted.web" and recs[0]["level"] == "info"
    assert recs[1]["level"] == "critical" and "ZeroDivisionError" in recs[1]["traceback"]


def test_text_format():
    obs, stream = observer("text")
    log = Logger(namespace="redislite", observer=obs)
    log.emit(LogLevel.info, "{redislite_event}", redislite_event="server.start", redislite_level="info",
             redislite_fields={"port": 6379, "bind": ["127.0.0.1"], "note": "two words", "empty": ""})
    line = stream.getvalue()
    ts, level, name, rest = line.rstrip("\n").split(" ", 3)
    assert ts.endswith("Z") and level == "info" and name == "server.start"
    assert rest == 'port=6379 bind=["127.0.0.1"] note="two words" empty=""'


def test_level_filter_follows_loglevel():
    obs, stream = observer("json", level="notice")
    log = Logger(namespace="redislite", observer=obs)
    for lvl in ("debug", "verbose", "info", "warning"):
        log.emit(slog._TWISTED_LEVEL[lvl], "{redislite_event}", redislite_event="e." + lvl,
                 redislite_level=slog._NAME[lvl], redislite_fields={})
    assert [json.loads(x)["event"] for x in stream.getvalue().splitlines()] == ["e.info", "e.warning"]


def test_bound_server_config_is_read_live():
    obs, stream = observer("json", level="debug")
    clock = task.Clock()
    srv = Server(Config.defaults(), clock)
    obs.bind(srv)
    log = Logger(namespace="x", observer=obs)
    log.info("one")
    c = Client(srv)
    c.call("CONFIG", "SET", "logformat", "json")
    log.info("two")
    c.call("CONFIG", "SET", "logformat", "text", "loglevel", "warning")
    log.info("hidden")
    log.warn("three")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].endswith(" info twisted one")                # defaults: text, notice
    assert json.loads(lines[1])["message"] == "two"             # CONFIG SET logformat json
    assert lines[2].endswith(" warning twisted three")          # text again; info now filtered


def test_cycle_reporter_aggregates(captured):
    clock = task.Clock()
    srv = Server(Config.defaults(), clock)
    c = Client(srv)
    for i in range(50):
        c.call("SET", "k%d" % i, "v", "PX", "10")
    rep = slog.CycleReporter(srv, interval=10)
    rep.start()
    clock.advance(1)
    srv.now.refresh()
    for shard in srv.shards:
        shard.active_expire_cycle()
    clock.advance(10)
    rep.stop()
    evs = _ours(captured, "keys.expired")
    assert len(evs) == 1 and evs[0]["redislite_fields"]["count"] == 50
    assert rep.report() == (0, 0)       # nothing new, no line


def test_slow_and_auth_events_from_the_service(captured):
    from redislite import service
    clock = task.Clock()
    srv = Server(Config.defaults().with_changes({"requirepass": "pw", "slowlog-log-slower-than": "0"}), clock)
    hub = lat.attach(srv)
    hub.slow_listeners.append(service._on_slow)
    hub.auth_listeners.append(service._on_auth_failed)
    c = Client(srv)
    c.addr = "1.2.3.4:5"
    c.call("AUTH", "wrong")
    c.call("AUTH", "pw")
    c.call("PING")
    fails = _ours(captured, "auth.failed")
    assert len(fails) == 1 and fails[0]["redislite_fields"]["addr"] == "1.2.3.4:5"
    assert fails[0]["redislite_level"] == "warning"
    slow = _ours(captured, "command.slow")
    assert {e["redislite_fields"]["command"] for e in slow} >= {"ping"}
    assert all("pw" not in json.dumps(e["redislite_fields"]) for e in slow)


def test_service_start_stop_events(captured, tmp_path):
    from redislite.service import make_service
    clock = task.Clock()
    cfg = Config.defaults().with_changes({"port": "0", "http-port": "0", "requirepass": "hunter2"})
    top = make_service(cfg, reactor=clock)
    top.startService()
    top.stopService()
    start = _ours(captured, "server.start")[0]["redislite_fields"]
    assert start["port"] == 0 and start["databases"] == 16
    changed = _ours(captured, "server.config")[0]["redislite_fields"]["changed"]
    assert changed["requirepass"] == "(redacted)" and "hunter2" not in json.dumps(changed)
    assert _ours(captured, "server.stop")


def test_tap_installs_the_structured_logger(tmp_path):
    from twisted.application import app as tapp
    from twisted.scripts.twistd import ServerOptions
    log = tmp_path / "redislite.log"
    opts = ServerOptions()
    opts.parseOptions(["--nodaemon", "--pidfile=", "redislite", "--port", "0", "--http-port", "0",
                       "--logformat", "json", "--logfile", str(log)])
    factory = opts["logger"]
    assert factory is slog.twistd_observer
    obs = factory()
    Logger(namespace="t", observer=obs).info("hello {who}", who="world")
    rec = json.loads(log.read_text().splitlines()[0])
    assert rec["event"] == "twisted" and rec["message"] == "hello world"
    assert isinstance(tapp.AppLogger(opts), tapp.AppLogger)
