"""The Klein HTTP API.  It goes through the same command table and shard
actors as RESP (an internal :class:`~redislite.protocol.Client` per request)."""

import json

from klein import Klein


class HttpApi:
    app = Klein()

    def __init__(self, server):
        self.server = server

    @app.route("/api/v1/health", methods=["GET"])
    def health(self, request):
        request.setHeader(b"Content-Type", b"application/json")
        return json.dumps({"status": "ok"})

    def resource(self):
        return self.app.resource()
