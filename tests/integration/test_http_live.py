"""The HTTP API on a real listening server (``python -m redislite``), next to
redis-py on the RESP port: data written on one side is read on the other,
/metrics parses and moves, the body cap answers before the body is sent, and
the server's JSON log lines parse."""

import json
import socket
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from redislite.testing import RawClient, ServerProcess, free_port

TOKEN = "live-token"


@pytest.fixture(scope="module")
def live():
    http_port = free_port()
    server = ServerProcess("redislite", args=["--http-port", str(http_port), "--logformat", "json",
                                              "--loglevel", "verbose", "--http-token", TOKEN,
                                              "--http-max-body", "64kb"])
    server.start()
    server.http = "http://127.0.0.1:%d" % http_port
    try:
        yield server
    finally:
        server.stop()
        server.cleanup()


def call(live, method, path, body=None, token=TOKEN, headers=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(live.http + path, data=data, method=method)
    if body is not None or raw is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def jcall(live, method, path, body=None, **kw):
    code, headers, content = call(live, method, path, body, **kw)
    return code, json.loads(content)


def test_resp_writes_are_readable_over_http(live):
    r = live.client()
    r.set("from:resp", "hello", ex=100)
    code, body = jcall(live, "GET", "/api/v1/keys/from:resp")
    assert code == 200 and body["value"] == "hello" and body["type"] == "string"
    assert 99 <= body["ttl"] <= 100
    r.rpush("list:resp", "a", "b")
    code, body = jcall(live, "GET", "/api/v1/keys/list:resp")
    assert body["value"] == ["a", "b"] and body["type"] == "list"
    r.set(b"bin:\xff", b"\x00\xff")
    import base64
    code, body = jcall(live, "GET", "/api/v1/keys/%s?encoding=base64" % base64.b64encode(b"bin:\xff").decode())
    assert base64.b64decode(body["value"]) == b"\x00\xff"


def test_http_writes_are_readable_over_resp(live):
    r = live.client()
    assert jcall(live, "PUT", "/api/v1/keys/from:http", {"value": "world", "ttl": 50})[0] == 200
    assert r.get("from:http") == b"world" and 49 <= r.ttl("from:http") <= 50
    assert jcall(live, "POST", "/api/v1/keys/ctr/incr", {"by": 5})[1]["value"] == 5
    assert r.incr("ctr") == 6
    assert jcall(live, "POST", "/api/v1/command", {"args": ["RPUSH", "q", "x", "y"]}) == (200, {"result": 2})
    assert r.lrange("q", 0, -1) == [b"x", b"y"]
    assert jcall(live, "DELETE", "/api/v1/keys/from:http")[0] == 200
    assert r.exists("from:http") == 0


def test_metrics_parse_and_move(live):
    def scrape():
        code, headers, content = call(live, "GET", "/metrics")
        assert code == 200
        fams = {f.name: f for f in text_string_to_metric_families(content.decode())}
        calls = {s.labels["cmd"]: s.value for s in fams["redislite_command_calls"].samples
                 if s.name.endswith("_total")}
        return fams, calls
    r = live.client()
    _, before = scrape()
    for i in range(25):
        r.set("m%d" % i, "v")
    r.get("m1")
    fams, after = scrape()
    assert after["set"] - before.get("set", 0) == 25
    assert after["get"] - before.get("get", 0) == 1
    hist = {s.labels["le"]: s.value for s in fams["redislite_command_duration_seconds"].samples
            if s.name.endswith("_bucket") and s.labels["cmd"] == "set"}
    assert hist["+Inf"] == after["set"]
    connected = [s.value for s in fams["redislite_connected_clients"].samples][0]
    assert connected >= 1
    net_in = [s.value for s in fams["redislite_net_input_bytes"].samples if s.name.endswith("_total")][0]
    assert net_in > 0
    code, body = jcall(live, "GET", "/api/v1/metrics")
    assert body["commands"]["set"]["latency_usec"]["p99"] > 0


def test_busy_poll_runs_on_a_live_server_and_config_set_turns_it_off(live):
    """The lean poll spins (reactor_tuning.wait) between the commands of one
    request/response connection, and CONFIG SET busy-poll-usec 0 stops it at once."""
    import os
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("busy polling is off on a single CPU")

    def spins():
        code, headers, content = call(live, "GET", "/metrics")
        fams = {f.name: f for f in text_string_to_metric_families(content.decode())}
        return {s.labels["result"]: s.value for s in fams["redislite_busy_poll_spins"].samples
                if s.name.endswith("_total")}

    def requests(n):
        with RawClient(live.host, live.port) as c:
            for i in range(n):
                assert c.call("GET", "k") == b"$-1\r\n"

    r = live.client()
    assert r.config_get("busy-poll-usec") == {"busy-poll-usec": "50"}
    before = spins()
    requests(2000)
    after = spins()
    assert after["found"] > before["found"]
    try:
        r.config_set("busy-poll-usec", 0)
        before = spins()
        requests(500)
        assert spins() == before
    finally:
        r.config_set("busy-poll-usec", 50)


def test_auth_and_health(live):
    assert call(live, "GET", "/api/v1/info", token=None)[0] == 401
    assert call(live, "GET", "/metrics", token="nope")[0] == 401
    assert call(live, "GET", "/api/v1/health", token=None)[0] == 200
    assert jcall(live, "GET", "/api/v1/ready")[1]["ready"] is True


def test_body_cap_answers_before_the_body(live):
    """A declared 1 GB body gets 413 at once; nothing is read, nothing spooled."""
    host, port = live.http[len("http://"):].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"PUT /api/v1/keys/huge HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Authorization: Bearer " + TOKEN.encode() + b"\r\nContent-Length: 1000000000\r\n\r\n{")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 413 ")
    assert json.loads(data.split(b"\r\n\r\n", 1)[1])["error"] == "request body too large"
    assert call(live, "PUT", "/api/v1/keys/big", raw=b'{"value": "' + b"x" * 70000 + b'"}')[0] == 413
    assert live.client().exists("huge", "big") == 0


def test_dangerous_refused_live(live):
    r = live.client()
    r.set("survivor", "1")
    code, body = jcall(live, "POST", "/api/v1/command", {"args": ["FLUSHALL"]})
    assert code == 403 and r.get("survivor") == b"1"


def test_openapi_and_docs_live(live):
    code, doc = jcall(live, "GET", "/api/v1/openapi.json")
    assert code == 200 and "/api/v1/keys/{key}" in doc["paths"]
    code, headers, page = call(live, "GET", "/api/v1/docs")
    assert code == 200 and b"<script" in page


def test_json_log_lines_parse(live):
    with live.raw() as raw:
        assert raw.call("AUTH", "nobody", "wrong").startswith(b"-WRONGPASS")
    deadline = time.time() + 5
    while True:
        lines = [x for x in live.log_tail(lines=100000, whole=True).splitlines() if x.strip()]
        recs = [json.loads(x) for x in lines]
        events = {r["event"] for r in recs}
        if {"server.start", "server.config", "client.connect", "auth.failed"} <= events or time.time() > deadline:
            break
        time.sleep(0.1)
    assert {"server.start", "server.config", "client.connect", "client.disconnect", "auth.failed",
            "http.request"} <= events
    for rec in recs:
        assert {"timestamp", "level", "event"} <= set(rec)
    start = [r for r in recs if r["event"] == "server.start"][0]
    assert start["port"] == live.port
    config = [r for r in recs if r["event"] == "server.config"][0]
    assert config["changed"]["http-token"] == "(redacted)"
    assert TOKEN not in "\n".join(lines)
