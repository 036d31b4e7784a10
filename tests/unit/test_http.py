"""The Klein HTTP API through treq's StubTreq: in memory, no reactor spinning.

Each test builds a unit-level Server on task.Clock, an HttpApi over it, and
talks HTTP to it; RESP-side checks use an internal Client on the same server,
so both sides go through the same command table and shards.
"""

import base64
import json

import pytest
from treq.testing import StubTreq
from twisted.internet import task
from twisted.python.failure import Failure

from redislite.commands import load_all, registry
from redislite.commands import introspection  # noqa: F401
from redislite.config import Config
from redislite.http import app as http_app
from redislite.http.app import CappedRequest, HttpApi
from redislite.http.openapi import document
from redislite.observability import latency
from redislite.protocol import Client
from redislite.server import Server

load_all()
BASE = "http://localhost:8080"
JSON_HDR = {"Content-Type": ["application/json"]}


def _sync(d):
    """The result of a Deferred that has already fired (StubTreq is synchronous)."""
    out = []
    d.addBoth(out.append)
    assert out, "the deferred did not fire synchronously"
    if isinstance(out[0], Failure):
        out[0].raiseException()
    return out[0]


class Api:
    """A server, its HTTP API behind StubTreq, and a RESP-side client."""

    def __init__(self, changes=None, bind="127.0.0.1", capped=True):
        self.clock = task.Clock()
        self.clock.advance(1_700_000_000)
        cfg = Config.defaults()
        if changes:
            cfg = cfg.with_changes(changes)
        self.server = Server(cfg, self.clock)
        latency.attach(self.server)
        self.api = HttpApi(self.server, bind=bind)
        self.stub = StubTreq(self.api.resource())
        if capped:
            # what service.py's Site uses: bodies capped as they arrive, never spooled
            factory = self.stub._agent._serverFactory
            factory.requestFactory = CappedRequest
            factory.max_body = self.api.max_body
        self.resp = Client(self.server)

    def request(self, method, path, body=None, headers=None, raw=None, token=None):
        hdrs = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", ["application/json"])
        if token is not None:
            hdrs["Authorization"] = ["Bearer " + token]
        resp = _sync(self.stub.request(method, BASE + path, headers=hdrs, data=data))
        content = _sync(resp.content())
        return resp, content

    def json(self, method, path, body=None, **kw):
        resp, content = self.request(method, path, body, **kw)
        assert resp.headers.getRawHeaders("content-type")[0].startswith("application/json"), content
        return resp.code, json.loads(content)


@pytest.fixture
def api():
    return Api()


# -- keys -----------------------------------------------------------------------------------
def test_string_round_trip_both_ways(api):
    api.resp.call("SET", "greeting", "hello")
    code, body = api.json("GET", "/api/v1/keys/greeting")
    assert code == 200 and body == {"key": "greeting", "type": "string", "value": "hello", "ttl": -1}
    code, body = api.json("PUT", "/api/v1/keys/k2", {"value": "from http", "ttl": 100})
    assert code == 200 and body["stored"] is True
    assert api.resp.call("GET", "k2") == b"from http"
    assert api.resp.call("TTL", "k2") == 100
    code, body = api.json("GET", "/api/v1/keys/k2")
    assert body["ttl"] == 100 and body["type"] == "string"


def test_missing_key_is_404(api):
    code, body = api.json("GET", "/api/v1/keys/nope")
    assert code == 404 and "error" in body
    code, body = api.json("DELETE", "/api/v1/keys/nope")
    assert code == 404


def test_delete(api):
    api.resp.call("SET", "d", "1")
    code, body = api.json("DELETE", "/api/v1/keys/d")
    assert code == 200 and body == {"key": "d", "deleted": 1}
    assert api.resp.call("EXISTS", "d") == 0


def test_put_conditions_and_fractional_ttl(api):
    assert api.json("PUT", "/api/v1/keys/c", {"value": "1", "condition": "xx"})[0] == 412
    assert api.resp.call("EXISTS", "c") == 0
    assert api.json("PUT", "/api/v1/keys/c", {"value": "1", "condition": "nx"})[0] == 200
    assert api.json("PUT", "/api/v1/keys/c", {"value": "2", "condition": "nx"})[0] == 412
    assert api.json("PUT", "/api/v1/keys/c", {"value": 3, "condition": "xx", "ttl": 1.5})[0] == 200
    assert api.resp.call("GET", "c") == b"3"
    assert api.resp.call("PTTL", "c") == 1500


@pytest.mark.parametrize("body", [
    {"value": "x", "type": "stream"}, {"value": "x", "condition": "maybe"}, {"value": "x", "ttl": 0},
    {"value": "x", "ttl": -1}, {"value": "x", "ttl": "10"}, {"type": "string"}, {"value": None},
    {"value": ["a"], "type": "string"}, {"value": [], "type": "list"}, {"value": {}, "type": "hash"},
])
def test_put_validation(api, body):
    code, out = api.json("PUT", "/api/v1/keys/v", body)
    assert code == 400 and out["error"]
    assert api.resp.call("EXISTS", "v") == 0


def _needs(name):
    if registry.lookup(name.encode()) is None:
        pytest.skip("%s is not bound yet (#3 data types)" % name.upper())


def test_put_and_get_list(api):
    _needs("rpush")
    code, _ = api.json("PUT", "/api/v1/keys/l", {"type": "list", "value": ["a", "b", "c"], "ttl": 50})
    assert code == 200
    assert api.resp.call("LRANGE", "l", "0", "-1") == [b"a", b"b", b"c"]
    assert api.json("GET", "/api/v1/keys/l")[1] == {"key": "l", "type": "list", "value": ["a", "b", "c"],
                                                    "ttl": 50}
    # PUT replaces the whole value
    api.json("PUT", "/api/v1/keys/l", {"type": "list", "value": ["z"]})
    assert api.resp.call("LRANGE", "l", "0", "-1") == [b"z"] and api.resp.call("TTL", "l") == -1


def test_put_and_get_hash(api):
    _needs("hset")
    assert api.json("PUT", "/api/v1/keys/h", {"type": "hash", "value": {"f": "v", "n": 1}})[0] == 200
    code, body = api.json("GET", "/api/v1/keys/h")
    assert body["type"] == "hash" and body["value"] == {"f": "v", "n": "1"}


def test_put_and_get_set(api):
    _needs("sadd")
    assert api.json("PUT", "/api/v1/keys/s", {"type": "set", "value": ["a", "b", "a"]})[0] == 200
    code, body = api.json("GET", "/api/v1/keys/s")
    assert body["type"] == "set" and sorted(body["value"]) == ["a", "b"]


def test_put_and_get_zset(api):
    _needs("zadd")
    assert api.json("PUT", "/api/v1/keys/z", {"type": "zset", "value": {"a": 2, "b": 1.5}})[0] == 200
    code, body = api.json("GET", "/api/v1/keys/z")
    assert body["type"] == "zset" and list(body["value"].items()) == [("b", 1.5), ("a", 2.0)]
    assert api.json("PUT", "/api/v1/keys/z2", {"type": "zset", "value": [["m", 1], {"member": "n", "score": 2}]})[0] == 200


def test_put_nx_on_collection_keeps_existing_value(api):
    _needs("rpush")
    api.resp.call("SET", "x", "keep")
    assert api.json("PUT", "/api/v1/keys/x", {"type": "list", "value": ["a"], "condition": "nx"})[0] == 412
    assert api.resp.call("GET", "x") == b"keep"


def _b64(raw):
    return base64.b64encode(raw).decode()


def test_base64_values_and_keys(api):
    raw_val = b"\x00\x01\xfe\xff"
    api.resp.call("SET", "bin", raw_val)
    # a value that is not UTF-8 needs ?encoding=base64
    assert api.json("GET", "/api/v1/keys/bin")[0] == 406
    code, body = api.json("GET", "/api/v1/keys/%s?encoding=base64" % _b64(b"bin"))
    assert code == 200 and base64.b64decode(body["value"]) == raw_val
    code, body = api.json("PUT", "/api/v1/keys/%s?encoding=base64" % _b64(b"new"), {"value": _b64(raw_val)})
    assert code == 200 and api.resp.call("GET", "new") == raw_val
    assert api.json("PUT", "/api/v1/keys/bmV3?encoding=base64", {"value": "!!!"})[0] == 400
    # binary keys; standard base64 may contain '/' and '+', which <path:key> accepts
    raw_key = b"\xfb\xff\xbf"
    assert "/" in _b64(raw_key) and "+" in _b64(raw_key)
    api.resp.execute([b"SET", raw_key, b"v"])
    code, body = api.json("GET", "/api/v1/keys/%s?encoding=base64" % _b64(raw_key))
    assert code == 200 and body["value"] == _b64(b"v")
    assert api.json("GET", "/api/v1/keys/bin?encoding=rot13")[0] == 400


def test_keys_with_slashes(api):
    api.resp.call("SET", "a/b/c", "1")
    assert api.json("GET", "/api/v1/keys/a/b/c")[1]["value"] == "1"


def test_db_parameter(api):
    api.resp.call("SELECT", "3")
    api.resp.call("SET", "in3", "yes")
    assert api.json("GET", "/api/v1/keys/in3")[0] == 404
    assert api.json("GET", "/api/v1/keys/in3?db=3")[1]["value"] == "yes"
    assert api.json("GET", "/api/v1/keys/in3?db=16")[0] == 400
    assert api.json("GET", "/api/v1/keys/in3?db=x")[0] == 400


def test_scan(api):
    for i in range(30):
        api.resp.call("SET", "user:%d" % i, "x")
    api.resp.call("SET", "other", "x")
    seen, cursor = set(), "0"
    for _ in range(100):
        code, body = api.json("GET", "/api/v1/keys?match=user:*&count=7&cursor=" + cursor)
        assert code == 200
        seen.update(body["keys"])
        cursor = body["cursor"]
        if cursor == "0":
            break
    assert seen == {"user:%d" % i for i in range(30)}
    code, body = api.json("GET", "/api/v1/keys?type=string&count=1000")
    assert len(body["keys"]) == 31
    code, body = api.json("GET", "/api/v1/keys?cursor=abc")
    assert code == 400 and body["error"] == "ERR invalid cursor"


def test_expire_persist(api):
    api.resp.call("SET", "e", "1")
    code, body = api.json("POST", "/api/v1/keys/e/expire", {"ttl": 30})
    assert code == 200 and body == {"key": "e", "ttl": 30}
    assert api.json("POST", "/api/v1/keys/e/expire", {"ttl": 2.5})[1]["ttl"] in (2, 3)
    assert api.resp.call("PTTL", "e") == 2500
    assert api.json("POST", "/api/v1/keys/e/expire", {"persist": True})[1]["ttl"] == -1
    assert api.json("POST", "/api/v1/keys/none/expire", {"ttl": 5})[0] == 404
    assert api.json("POST", "/api/v1/keys/none/expire", {"persist": True})[0] == 404
    assert api.json("POST", "/api/v1/keys/e/expire", {"ttl": "x"})[0] == 400
    # the HTTP write is propagated as Redis propagates it (absolute time)
    events = []
    api.server.bus.subscribe(lambda db, argv: events.append(argv))
    api.json("POST", "/api/v1/keys/e/expire", {"ttl": 10})
    assert events and events[-1][0].upper() == b"PEXPIREAT"


def test_expiry_via_clock(api):
    api.json("PUT", "/api/v1/keys/t", {"value": "1", "ttl": 5})
    api.clock.advance(6)
    assert api.json("GET", "/api/v1/keys/t")[0] == 404


def test_incr_decr(api):
    assert api.json("POST", "/api/v1/keys/n/incr", {})[1] == {"key": "n", "value": 1}
    assert api.json("POST", "/api/v1/keys/n/incr", {"by": 10})[1]["value"] == 11
    assert api.json("POST", "/api/v1/keys/n/decr", {"by": 2})[1]["value"] == 9
    assert api.json("POST", "/api/v1/keys/n/decr", {})[1]["value"] == 8
    assert api.json("POST", "/api/v1/keys/n/incr", {"by": 0.5})[1]["value"] == 8.5
    assert api.resp.call("GET", "n") == b"8.5"
    code, body = api.json("POST", "/api/v1/keys/n/incr", {"by": 1})
    assert code == 400 and body["error"] == "ERR value is not an integer or out of range"
    assert api.json("POST", "/api/v1/keys/n/incr", {"by": "1"})[0] == 400
    # incr with no body at all still needs the JSON content type
    assert api.request("POST", "/api/v1/keys/m/incr", headers=JSON_HDR)[0].code == 200


# -- /command ----------------------------------------------------------------------------------
def test_command(api):
    assert api.json("POST", "/api/v1/command", {"args": ["INCR", "n"]}) == (200, {"result": 1})
    assert api.json("POST", "/api/v1/command", {"args": ["SET", "k", 12]}) == (200, {"result": "OK"})
    assert api.json("POST", "/api/v1/command", {"args": ["MGET", "k", "nope"]}) == (
        200, {"result": ["12", None]})
    assert api.json("POST", "/api/v1/command", {"args": ["GET"]}) == (
        400, {"error": "ERR wrong number of arguments for 'get' command"})
    assert api.json("POST", "/api/v1/command", {"args": ["NOSUCH", "a"]}) == (
        400, {"error": "ERR unknown command 'NOSUCH', with args beginning with: 'a' "})
    code, body = api.json("POST", "/api/v1/command", {"args": ["INFO", "server"]})
    assert code == 200 and "redis_version:7.0.15" in body["result"]
    code, body = api.json("POST", "/api/v1/command", {"args": ["COMMAND", "INFO", "get"]})
    assert code == 200 and body["result"][0][0] == "get"
    for bad in ({}, {"args": []}, {"args": "GET x"}, {"args": [1]}, {"args": ["GET", None]}):
        assert api.json("POST", "/api/v1/command", bad)[0] == 400


def test_command_base64(api):
    code, body = api.json("POST", "/api/v1/command?encoding=base64",
                          {"args": ["SET", _b64(b"\xffk"), _b64(b"\x00")]})
    assert code == 200 and body == {"result": "OK"}
    assert api.resp.execute([b"GET", b"\xffk"]) == b"\x00"
    code, body = api.json("POST", "/api/v1/command?encoding=base64", {"args": ["GET", _b64(b"\xffk")]})
    assert base64.b64decode(body["result"]) == b"\x00"


@pytest.mark.parametrize("args", [["FLUSHALL"], ["flushdb"], ["CONFIG", "SET", "maxmemory", "1"],
                                  ["SHUTDOWN"], ["DEBUG", "SLEEP", "0"], ["REPLICAOF", "NO", "ONE"],
                                  ["SLAVEOF", "NO", "ONE"], ["SYNC"], ["PSYNC", "?", "-1"], ["FAILOVER"],
                                  ["CLIENT", "KILL", "ID", "1"]])
def test_dangerous_commands_refused(api, args):
    api.resp.call("SET", "keep", "1")
    code, body = api.json("POST", "/api/v1/command", {"args": args})
    assert code == 403 and "http-allow-dangerous" in body["error"]
    assert api.resp.call("GET", "keep") == b"1"
    assert api.server.config["maxmemory"] == 0


def test_dangerous_allowed_when_enabled():
    a = Api({"http-allow-dangerous": "yes"})
    a.resp.call("SET", "k", "1")
    assert a.json("POST", "/api/v1/command", {"args": ["FLUSHALL"]}) == (200, {"result": "OK"})
    assert a.resp.call("DBSIZE") == 0
    assert a.json("POST", "/api/v1/command", {"args": ["CONFIG", "GET", "maxmemory"]})[1] == {
        "result": {"maxmemory": "0"}}


@pytest.mark.parametrize("name", ["SUBSCRIBE", "MULTI", "EXEC", "WATCH", "SELECT", "MONITOR", "AUTH", "HELLO"])
def test_connection_commands_refused(api, name):
    assert api.json("POST", "/api/v1/command", {"args": [name, "x"]})[0] == 400


def test_blocking_command_returns_at_once(api):
    _needs("blpop")
    assert api.json("POST", "/api/v1/command", {"args": ["BLPOP", "q", "0"]}) == (200, {"result": None})


def test_http_commands_go_through_the_protocol_checks():
    a = Api({"maxmemory": "1"})
    code, body = a.json("PUT", "/api/v1/keys/k", {"value": "x"})
    assert code == 400 and body["error"].startswith("OOM ")
    a.server.loading = True
    code, body = a.json("GET", "/api/v1/keys/k")
    assert code == 400 and body["error"].startswith("LOADING")


def test_commands_are_counted(api):
    api.server.introspection.fold()     # the counters include the pending samples once folded
    before = registry.lookup(b"set").calls
    api.json("PUT", "/api/v1/keys/k", {"value": "x"})
    api.server.introspection.fold()
    assert registry.lookup(b"set").calls == before + 1
    assert api.server.total_commands >= 1


# -- info, health, ready, replication, metrics ----------------------------------------------------
def test_info(api):
    api.resp.call("SET", "a", "1")
    code, body = api.json("GET", "/api/v1/info")
    assert code == 200 and body["server"]["redis_version"] == "7.0.15"
    assert body["keyspace"]["db0"]["keys"] == 1
    assert "commandstats" not in body
    code, body = api.json("GET", "/api/v1/info/commandstats")
    assert list(body) == ["commandstats"] and body["commandstats"]["cmdstat_set"]["calls"] >= 1
    code, body = api.json("GET", "/api/v1/info/all")
    assert "latencystats" in body and "latency_percentiles_usec_set" in body["latencystats"]
    assert set(body["latencystats"]["latency_percentiles_usec_set"]) == {"p50", "p99", "p99.9"}
    assert api.json("GET", "/api/v1/info/nosuch")[0] == 404
    assert isinstance(api.json("GET", "/api/v1/info/stats")[1]["stats"]["total_connections_received"], int)


def test_health_and_ready(api):
    assert api.json("GET", "/api/v1/health") == (200, {"status": "ok"})
    code, body = api.json("GET", "/api/v1/ready")
    assert code == 200 and body["ready"] is True and body["role"] == "master"
    api.server.loading = True
    code, body = api.json("GET", "/api/v1/ready")
    assert code == 503 and body["ready"] is False and "loading" in body["reasons"]


def test_ready_follows_the_replica_link(api, monkeypatch):
    from redislite import info as info_mod
    monkeypatch.setattr(info_mod, "section_replication",
                        lambda server: [("role", "slave"), ("master_link_status", "down")])
    code, body = api.json("GET", "/api/v1/ready")
    assert code == 503 and body["reasons"] == ["master link down"]
    monkeypatch.setattr(info_mod, "section_replication",
                        lambda server: [("role", "slave"), ("master_link_status", "up")])
    assert api.json("GET", "/api/v1/ready")[0] == 200


def test_replication(api):
    code, body = api.json("GET", "/api/v1/replication")
    assert code == 200 and body["role"] == "master" and body["replicas"] == []
    assert body["connected_slaves"] == 0


def test_metrics_json(api):
    for _ in range(20):
        api.resp.call("SET", "a", "1")
    api.resp.call("GET", "a")
    code, body = api.json("GET", "/api/v1/metrics")
    assert code == 200
    s = body["commands"]["set"]
    assert s["calls"] >= 20 and set(s["latency_usec"]) == {"p50", "p95", "p99", "p99.9"}
    assert 0 < s["latency_usec"]["p50"] <= s["latency_usec"]["p99.9"]
    assert body["keyspace"] == {"db0": {"keys": 1, "expires": 0}}
    assert body["stats"]["keyspace_hits"] == 1


def test_prometheus_endpoint(api):
    from prometheus_client.parser import text_string_to_metric_families
    api.resp.call("SET", "a", "1")
    resp, content = api.request("GET", "/metrics")
    assert resp.code == 200 and resp.headers.getRawHeaders("content-type")[0].startswith("text/plain")
    names = {f.name for f in text_string_to_metric_families(content.decode())}
    assert {"redislite_command_calls", "redislite_command_duration_seconds", "redislite_db_keys"} <= names
    resp, content = api.request("GET", "/metrics", headers={"Accept": ["application/openmetrics-text"]})
    assert resp.headers.getRawHeaders("content-type")[0].startswith("application/openmetrics-text")
    assert content.rstrip().endswith(b"# EOF")


def test_prometheus_disabled():
    a = Api({"metrics": "no"})
    assert a.json("GET", "/metrics")[0] == 404


# -- docs -----------------------------------------------------------------------------------------
def _routes():
    out = set()
    for rule in HttpApi.app.url_map.iter_rules():
        path = rule.rule.replace("<path:", "{").replace("<", "{").replace(">", "}")
        for m in rule.methods - {"HEAD", "OPTIONS"}:
            out.add((path, m.lower()))
    return out


def test_openapi_matches_routes(api):
    code, doc = api.json("GET", "/api/v1/openapi.json")
    assert code == 200 and doc["openapi"].startswith("3.")
    documented = {(path, m) for path, item in doc["paths"].items() for m in item}
    assert _routes() == documented
    for path, item in doc["paths"].items():
        params = {p["name"] for op in item.values() for p in op.get("parameters", []) if p["in"] == "path"}
        assert params == {seg[1:-1] for seg in path.split("/") if seg.startswith("{")}, path
        for op in item.values():
            for code_, r in op["responses"].items():
                assert code_.isdigit() and r["description"]
    assert doc == json.loads(json.dumps(document()))


def test_docs_page_is_self_contained(api):
    resp, page = api.request("GET", "/api/v1/docs")
    assert resp.code == 200 and resp.headers.getRawHeaders("content-type")[0].startswith("text/html")
    assert b"https://" not in page and b"http://" not in page
    assert b'src="/api/v1/docs/assets/docs.js"' in page and b'href="/api/v1/docs/assets/docs.css"' in page
    assert b"</script>" in page and page.count(b"</script>") == 2   # embedded JSON cannot close the tag
    for name, ctype in (("docs.js", "application/javascript"), ("docs.css", "text/css")):
        resp, asset = api.request("GET", "/api/v1/docs/assets/" + name)
        assert resp.code == 200 and resp.headers.getRawHeaders("content-type")[0].startswith(ctype)
        assert b"https://" not in asset and b"http://" not in asset
    assert api.request("GET", "/api/v1/docs/assets/evil.js")[0].code == 404


# -- safety -----------------------------------------------------------------------------------------
_PROTECTED = (("GET", "/api/v1/keys/k", None), ("PUT", "/api/v1/keys/k", {"value": "1"}),
              ("DELETE", "/api/v1/keys/k", None), ("GET", "/api/v1/keys", None),
              ("POST", "/api/v1/command", {"args": ["PING"]}), ("GET", "/metrics", None),
              ("GET", "/api/v1/info", None), ("GET", "/api/v1/info/server", None),
              ("GET", "/api/v1/ready", None), ("GET", "/api/v1/replication", None),
              ("GET", "/api/v1/metrics", None), ("GET", "/api/v1/openapi.json", None),
              ("GET", "/api/v1/docs", None), ("GET", "/api/v1/docs/assets/docs.js", None),
              ("POST", "/api/v1/keys/k/incr", {}), ("POST", "/api/v1/keys/k/decr", {}),
              ("POST", "/api/v1/keys/k/expire", {"ttl": 100}))


def test_token_required_everywhere_but_health():
    a = Api({"http-token": "s3cret"})
    for method, path, body in _PROTECTED:
        resp, content = a.request(method, path, body)
        assert resp.code == 401, (method, path)
        assert resp.headers.getRawHeaders("www-authenticate") == ['Bearer realm="redislite"']
        assert json.loads(content) == {"error": "authentication required"}
        assert a.request(method, path, body, token="wrong")[0].code == 401
        assert a.request(method, path, body, token="s3cret2")[0].code == 401
        assert a.request(method, path, body, headers={"Authorization": ["Basic czNjcmV0"]})[0].code == 401
        assert a.request(method, path, body, headers={"Authorization": ["s3cret"]})[0].code == 401
        assert a.request(method, path, body, token="s3cret")[0].code in (200, 404), (method, path)
    assert a.json("GET", "/api/v1/health") == (200, {"status": "ok"})
    # the PUT never ran without the token; the authorized one did
    assert a.resp.call("GET", "k") == b"101" or a.resp.call("EXISTS", "k") == 1


def test_token_compared_in_constant_time(monkeypatch):
    calls = []
    real = http_app.hmac.compare_digest
    monkeypatch.setattr(http_app.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    a = Api({"http-token": "tok", "requirepass": "pw"})
    assert a.request("GET", "/api/v1/info", token="pw")[0].code == 200
    assert sorted(b for _, b in calls) == [b"pw", b"tok"]   # every token compared, no early exit


def test_requirepass_is_a_bearer_token():
    a = Api({"requirepass": "pw"})
    assert a.request("GET", "/api/v1/info")[0].code == 401
    assert a.request("GET", "/api/v1/info", token="pw")[0].code == 200
    # HTTP clients are authenticated by the bearer token, not by AUTH
    assert a.json("POST", "/api/v1/command", {"args": ["SET", "a", "1"]}, token="pw") == (200, {"result": "OK"})
    b = Api({"requirepass": "pw", "http-token": "tok"})
    assert b.request("GET", "/api/v1/info", token="pw")[0].code == 200
    assert b.request("GET", "/api/v1/info", token="tok")[0].code == 200
    assert b.request("GET", "/api/v1/info", token="tokx")[0].code == 401


def test_body_cap_413_while_reading():
    a = Api({"http-max-body": "1kb"})
    resp, content = a.request("PUT", "/api/v1/keys/big", {"value": "x" * 2000})
    assert resp.code == 413 and json.loads(content)["error"] == "request body too large"
    assert a.resp.call("EXISTS", "big") == 0
    assert a.json("PUT", "/api/v1/keys/small", {"value": "x" * 500})[0] == 200


def test_body_cap_413_in_the_app_too():
    """Behind a plain Site (no capped request factory) the app still refuses."""
    a = Api({"http-max-body": "1kb"}, capped=False)
    resp, content = a.request("PUT", "/api/v1/keys/big", {"value": "x" * 2000})
    assert resp.code == 413 and a.resp.call("EXISTS", "big") == 0


def test_capped_request_never_spools_to_disk():
    import io
    from twisted.web.test.requesthelper import DummyChannel
    from twisted.web.resource import Resource
    from twisted.web.server import Site
    ch = DummyChannel()
    ch.site = Site(Resource())
    ch.site.max_body = lambda: 10 ** 7
    req = CappedRequest(ch)
    req.gotLength(5 * 10 ** 6)          # Twisted's Request would use a temporary file above 100 kB
    assert isinstance(req.content, io.BytesIO) and not req._rejected
    req.gotLength(None)                 # chunked: still memory, capped while it streams
    for _ in range(9):
        req.handleContentChunk(b"x" * 10 ** 6)
    assert not req._rejected and req.content.tell() == 9 * 10 ** 6
    req.handleContentChunk(b"x" * (10 ** 6 + 1))
    assert req._rejected and req.content.tell() == 0
    written = ch.transport.written.getvalue()
    assert written.startswith(b"HTTP/1.1 413 ") and b"Connection: close" in written


def test_writes_need_json_content_type(api):
    for ctype in (None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        headers = {"Content-Type": [ctype]} if ctype else {}
        for method, path in (("PUT", "/api/v1/keys/k"), ("POST", "/api/v1/command"),
                             ("POST", "/api/v1/keys/k/expire"), ("POST", "/api/v1/keys/k/incr"),
                             ("POST", "/api/v1/keys/k/decr")):
            resp, content = api.request(method, path, raw=b'{"value": "1", "args": ["SET", "k", "1"]}',
                                        headers=headers)
            assert resp.code == 415, (ctype, method, path)
            assert json.loads(content) == {"error": "Content-Type must be application/json"}
    assert api.resp.call("EXISTS", "k") == 0
    hdr = {"Content-Type": ["application/json; charset=utf-8"]}
    assert api.request("PUT", "/api/v1/keys/k", raw=b'{"value": "1"}', headers=hdr)[0].code == 200


def test_bad_json_bodies(api):
    for raw in (b"not json", b"[1, 2]", b"\xff\xfe", b""):
        resp, content = api.request("PUT", "/api/v1/keys/k", raw=raw, headers=JSON_HDR)
        assert resp.code == 400 and "error" in json.loads(content)


def test_no_cors_headers_by_default(api):
    for method, path in (("GET", "/api/v1/health"), ("GET", "/api/v1/info"), ("OPTIONS", "/api/v1/keys/k"),
                         ("GET", "/api/v1/keys/none")):
        resp, _ = api.request(method, path, headers={"Origin": ["http://evil.example"]})
        assert not [h for h, _ in resp.headers.getAllRawHeaders() if h.lower().startswith(b"access-control")]


def test_cors_when_configured():
    a = Api({"http-cors-origin": "https://app.example"})
    resp, _ = a.request("GET", "/api/v1/health", headers={"Origin": ["https://app.example"]})
    assert resp.headers.getRawHeaders("access-control-allow-origin") == ["https://app.example"]
    resp, _ = a.request("GET", "/api/v1/health", headers={"Origin": ["https://other.example"]})
    assert resp.headers.getRawHeaders("access-control-allow-origin") is None
    resp, _ = a.request("OPTIONS", "/api/v1/command", headers={"Origin": ["https://app.example"]})
    assert resp.code == 204
    assert "Authorization" in resp.headers.getRawHeaders("access-control-allow-headers")[0]
    # error responses carry the header too, so the browser can read them
    resp, _ = a.request("GET", "/api/v1/keys/none", headers={"Origin": ["https://app.example"]})
    assert resp.code == 404 and resp.headers.getRawHeaders("access-control-allow-origin")
    star = Api({"http-cors-origin": "*"})
    assert star.request("GET", "/api/v1/health")[0].headers.getRawHeaders("access-control-allow-origin") == ["*"]


def test_host_check_when_bound_beyond_loopback():
    a = Api(bind="0.0.0.0")
    assert a.request("GET", "/api/v1/info", headers={"Host": ["evil.example"]})[0].code == 403
    assert a.request("GET", "/api/v1/info", headers={"Host": ["evil.example:8080"]})[0].code == 403
    assert a.request("PUT", "/api/v1/keys/k", {"value": "1"}, headers={"Host": ["evil.example"]})[0].code == 403
    assert a.resp.call("EXISTS", "k") == 0
    assert a.request("GET", "/api/v1/info", headers={"Host": ["localhost:8080"]})[0].code == 200
    assert a.request("GET", "/api/v1/info", headers={"Host": ["127.0.0.1"]})[0].code == 200
    assert a.request("GET", "/api/v1/info", headers={"Host": ["[::1]:8080"]})[0].code == 200
    # health is for load balancers and probes, which use whatever host they like
    assert a.request("GET", "/api/v1/health", headers={"Host": ["10.1.2.3:8080"]})[0].code == 200
    b = Api({"http-allowed-hosts": "redis.internal Api.Example"}, bind="10.0.0.5")
    assert b.request("GET", "/api/v1/info", headers={"Host": ["redis.internal:8080"]})[0].code == 200
    assert b.request("GET", "/api/v1/info", headers={"Host": ["api.example"]})[0].code == 200
    assert b.request("GET", "/api/v1/info", headers={"Host": ["localhost"]})[0].code == 403
    c = Api(bind="10.0.0.5")
    assert c.request("GET", "/api/v1/info", headers={"Host": ["10.0.0.5:8080"]})[0].code == 200
    d = Api({"http-allowed-hosts": "*"}, bind="0.0.0.0")
    assert d.request("GET", "/api/v1/info", headers={"Host": ["anything"]})[0].code == 200
    # loopback binds skip the check (the default)
    assert Api().request("GET", "/api/v1/info", headers={"Host": ["evil.example"]})[0].code == 200


def test_errors_are_json_without_tracebacks(api, monkeypatch):
    code, body = api.json("GET", "/api/v1/nosuch")
    assert code == 404 and body == {"error": "not found"}
    resp, content = api.request("PATCH", "/api/v1/keys/k")
    assert resp.code == 405 and json.loads(content) == {"error": "method not allowed"}

    def boom(*a):
        raise RuntimeError("secret internals")
    monkeypatch.setattr(http_app, "info_json", boom)
    resp, content = api.request("GET", "/api/v1/info")
    assert resp.code == 500 and json.loads(content) == {"error": "internal error"}
    assert b"Traceback" not in content and b"secret" not in content
