"""Twisted service wiring: the server core, RESP listeners and the HTTP API."""

from twisted.application import internet, service
from twisted.web.server import Site

from .protocol import RedisFactory
from .server import Server


class CoreService(service.Service):
    """Starts and stops the shard actors with the application."""

    def __init__(self, server):
        self.server = server

    def startService(self):
        super().startService()
        self.server.start()

    def stopService(self):
        self.server.stop()
        return super().stopService()


def make_service(config, reactor=None, config_file=None):
    if reactor is None:
        from twisted.internet import reactor
    # Import command modules so their handlers are bound in the table.
    from . import commands  # noqa: F401
    from .commands import load_all
    load_all()
    top = service.MultiService()
    server = Server(config, reactor)
    if config_file:
        server.config_file = config_file
    top.server = server
    CoreService(server).setServiceParent(top)
    from . import persistence
    persistence.wire(top, server, config)    # recovery, then the persistence actor (docs/persistence.md)
    port = config["port"]
    if port:
        factory = RedisFactory(server)
        for addr in config["bind"]:
            addr = addr.lstrip("-")
            if addr == "*":
                addr = "0.0.0.0"
            internet.TCPServer(port, factory, interface=addr).setServiceParent(top)
    http_port = config["http-port"]
    if http_port:
        from .http.app import HttpApi
        site = Site(HttpApi(server).resource())
        site.noisy = False
        internet.TCPServer(http_port, site, interface=config["http-bind"]).setServiceParent(top)
    return top
