"""The OpenAPI 3 description of the HTTP API (served at ``/api/v1/openapi.json``).

Written as data next to the routes; ``tests/unit/test_http.py`` checks that
every Klein route is documented here and every documented path exists.
"""

from .. import __version__

_JSON = "application/json"


def _ref(name):
    return {"$ref": "#/components/schemas/%s" % name}


def _resp(desc, schema=None, content_type=_JSON):
    r = {"description": desc}
    if schema is not None:
        r["content"] = {content_type: {"schema": schema}}
    return r


_ERR = _resp("Error", _ref("Error"))
_COMMON_ERRORS = {"401": _resp("Missing or wrong bearer token", _ref("Error")),
                  "403": _resp("Host header not allowed", _ref("Error"))}
_WRITE_ERRORS = dict(_COMMON_ERRORS, **{
    "400": _resp("Bad request or Redis error", _ref("Error")),
    "413": _resp("Body larger than http-max-body", _ref("Error")),
    "415": _resp("Content-Type is not application/json", _ref("Error"))})

_KEY = {"name": "key", "in": "path", "required": True, "schema": {"type": "string"},
        "description": "The key (base64 when encoding=base64)."}
_ENCODING = {"name": "encoding", "in": "query", "required": False,
             "schema": {"type": "string", "enum": ["utf8", "base64"]},
             "description": "base64: keys, values and members travel base64-encoded (binary-safe)."}
_DB = {"name": "db", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0},
       "description": "Database number (default 0)."}


def _body(schema):
    return {"required": True, "content": {_JSON: {"schema": schema}}}


def document():
    """The OpenAPI document as a dict."""
    key_params = [_KEY, _ENCODING, _DB]
    paths = {
        "/api/v1/keys/{key}": {
            "get": {"summary": "Read a key of any type", "operationId": "getKey",
                    "parameters": key_params,
                    "responses": dict(_COMMON_ERRORS, **{
                        "200": _resp("The key", _ref("KeyValue")),
                        "404": _resp("No such key", _ref("Error"))})},
            "put": {"summary": "Write a key (replaces its value)", "operationId": "putKey",
                    "parameters": key_params, "requestBody": _body(_ref("PutKey")),
                    "responses": dict(_WRITE_ERRORS, **{
                        "200": _resp("Stored", {"type": "object"}),
                        "412": _resp("The nx/xx condition was not met", _ref("Error"))})},
            "delete": {"summary": "Delete a key", "operationId": "deleteKey",
                       "parameters": key_params,
                       "responses": dict(_COMMON_ERRORS, **{
                           "200": _resp("Deleted", {"type": "object"}),
                           "404": _resp("No such key", _ref("Error"))})},
        },
        "/api/v1/keys": {
            "get": {"summary": "List keys with SCAN", "operationId": "scanKeys",
                    "parameters": [
                        {"name": "match", "in": "query", "schema": {"type": "string"}},
                        {"name": "type", "in": "query", "schema": {"type": "string"}},
                        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                        {"name": "count", "in": "query", "schema": {"type": "integer"}},
                        _ENCODING, _DB],
                    "responses": dict(_COMMON_ERRORS, **{
                        "200": _resp("A page of keys and the next cursor ('0' at the end)",
                                     _ref("ScanPage")),
                        "400": _ERR})},
        },
        "/api/v1/keys/{key}/expire": {
            "post": {"summary": "Set (ttl) or remove (persist) a key's expiry",
                     "operationId": "expireKey", "parameters": key_params,
                     "requestBody": _body({"type": "object", "properties": {
                         "ttl": {"type": "number", "description": "seconds; fractions use PEXPIRE"},
                         "persist": {"type": "boolean"}}}),
                     "responses": dict(_WRITE_ERRORS, **{
                         "200": _resp("Applied", {"type": "object"}),
                         "404": _resp("No such key", _ref("Error"))})},
        },
        "/api/v1/keys/{key}/incr": {
            "post": {"summary": "INCRBY / INCRBYFLOAT", "operationId": "incrKey",
                     "parameters": key_params,
                     "requestBody": _body({"type": "object", "properties": {"by": {"type": "number"}}}),
                     "responses": dict(_WRITE_ERRORS, **{"200": _resp("New value", {"type": "object"})})},
        },
        "/api/v1/keys/{key}/decr": {
            "post": {"summary": "DECRBY (or INCRBYFLOAT with a negated fraction)",
                     "operationId": "decrKey", "parameters": key_params,
                     "requestBody": _body({"type": "object", "properties": {"by": {"type": "number"}}}),
                     "responses": dict(_WRITE_ERRORS, **{"200": _resp("New value", {"type": "object"})})},
        },
        "/api/v1/command": {
            "post": {"summary": "Run any allowed command through the command table",
                     "operationId": "runCommand", "parameters": [_ENCODING, _DB],
                     "requestBody": _body(_ref("Command")),
                     "responses": dict(_WRITE_ERRORS, **{
                         "200": _resp("The reply", {"type": "object",
                                                    "properties": {"result": {}}})})},
        },
        "/api/v1/info": {
            "get": {"summary": "INFO (default sections) as JSON", "operationId": "info",
                    "responses": dict(_COMMON_ERRORS, **{"200": _resp("Sections", {"type": "object"})})},
        },
        "/api/v1/info/{section}": {
            "get": {"summary": "One INFO section (or all, everything, default)", "operationId": "infoSection",
                    "parameters": [{"name": "section", "in": "path", "required": True,
                                    "schema": {"type": "string"}}],
                    "responses": dict(_COMMON_ERRORS, **{
                        "200": _resp("Sections", {"type": "object"}),
                        "404": _resp("Unknown section", _ref("Error"))})},
        },
        "/api/v1/health": {
            "get": {"summary": "Liveness (never needs a token)", "operationId": "health", "security": [],
                    "responses": {"200": _resp("Alive", {"type": "object"})}},
        },
        "/api/v1/ready": {
            "get": {"summary": "Readiness: not loading, replica link up", "operationId": "ready",
                    "responses": dict(_COMMON_ERRORS, **{
                        "200": _resp("Ready", {"type": "object"}),
                        "503": _resp("Not ready", {"type": "object"})})},
        },
        "/api/v1/replication": {
            "get": {"summary": "INFO replication as JSON", "operationId": "replication",
                    "responses": dict(_COMMON_ERRORS, **{"200": _resp("Replication", {"type": "object"})})},
        },
        "/api/v1/metrics": {
            "get": {"summary": "Metrics as JSON with p50/p95/p99/p99.9 per command",
                    "operationId": "metricsJson",
                    "responses": dict(_COMMON_ERRORS, **{"200": _resp("Metrics", {"type": "object"})})},
        },
        "/metrics": {
            "get": {"summary": "Prometheus metrics (text format; OpenMetrics when Accept asks)",
                    "operationId": "metrics",
                    "responses": dict(_COMMON_ERRORS, **{
                        "200": _resp("Metrics", {"type": "string"}, "text/plain"),
                        "404": _resp("metrics is set to no", _ref("Error"))})},
        },
        "/api/v1/openapi.json": {
            "get": {"summary": "This document", "operationId": "openapi",
                    "responses": dict(_COMMON_ERRORS, **{"200": _resp("OpenAPI 3 document", {"type": "object"})})},
        },
        "/api/v1/docs": {
            "get": {"summary": "Human-readable API documentation (no external assets)",
                    "operationId": "docs",
                    "responses": dict(_COMMON_ERRORS, **{"200": _resp("HTML", {"type": "string"}, "text/html")})},
        },
        "/api/v1/docs/assets/{name}": {
            "get": {"summary": "Script and style of the docs page, served by the package",
                    "operationId": "docsAsset",
                    "parameters": [{"name": "name", "in": "path", "required": True,
                                    "schema": {"type": "string", "enum": ["docs.js", "docs.css"]}}],
                    "responses": dict(_COMMON_ERRORS, **{
                        "200": _resp("Asset", {"type": "string"}, "text/plain"),
                        "404": _resp("No such asset", _ref("Error"))})},
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "RedisLite HTTP API", "version": __version__,
                 "description": "JSON access to a RedisLite server. Every request runs through the "
                                "same command table and shard actors as RESP clients."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "http-token or the requirepass password (the default "
                                                          "user), or <user>:<password> of an ACL user"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"],
                          "properties": {"error": {"type": "string"}}},
                "KeyValue": {"type": "object", "required": ["key", "type", "value", "ttl"], "properties": {
                    "key": {"type": "string"},
                    "type": {"type": "string", "enum": ["string", "list", "hash", "set", "zset"]},
                    "value": {"description": "string; list of strings; object; list; object member->score"},
                    "ttl": {"type": "integer", "description": "seconds left, -1 without expiry"}}},
                "PutKey": {"type": "object", "required": ["value"], "properties": {
                    "type": {"type": "string", "enum": ["string", "list", "hash", "set", "zset"],
                             "default": "string"},
                    "value": {},
                    "ttl": {"type": "number", "exclusiveMinimum": True, "minimum": 0},
                    "condition": {"type": "string", "enum": ["nx", "xx"]}}},
                "ScanPage": {"type": "object", "properties": {
                    "cursor": {"type": "string"}, "keys": {"type": "array", "items": {"type": "string"}}}},
                "Command": {"type": "object", "required": ["args"], "properties": {
                    "args": {"type": "array", "minItems": 1,
                             "items": {"oneOf": [{"type": "string"}, {"type": "number"}]}}}},
            },
        },
    }
