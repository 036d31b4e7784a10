"""Twisted service wiring: the server core, RESP listeners, the HTTP API and observability."""

from twisted.application import internet, service

from .observability import latency as _latency
from .observability import logging as _logging
from .protocol import RedisFactory, RedisProtocol
from .server import Server


class CoreService(service.Service):
    """Starts and stops the shard actors with the application, and says so in the log."""

    def __init__(self, server):
        self.server = server
        self.reporter = _logging.CycleReporter(server)

    def startService(self):
        super().startService()
        self.server.start()
        self.reporter.start()
        cfg = self.server.config
        _logging.event("server.start", level="info", version=self.server.version,
                       port=cfg["port"], bind=list(cfg["bind"]), http_port=cfg["http-port"],
                       http_bind=cfg["http-bind"], shards=len(self.server.shards),
                       databases=self.server.databases, run_id=self.server.run_id)
        changed = {}
        defaults = type(cfg).defaults()
        for name, _ in cfg.items():
            text = cfg.get_text(name)
            if text != defaults.get_text(name):
                changed[name] = "(redacted)" if _sensitive(name) else text
        _logging.event("server.config", level="info", changed=changed,
                       config_file=self.server.config_file or "")

    def stopService(self):
        self.reporter.stop()
        self.server.stop()
        _logging.event("server.stop", level="info",
                       uptime_seconds=int(self.server.reactor.seconds() - self.server.start_time))
        return super().stopService()


class ReplicationService(service.Service):
    """The master side of replication (redislite/replication/master.py): its cron runs
    with the application; stopping kills a full-sync child still running."""

    def __init__(self, server):
        from .replication.master import master_of
        self.master = master_of(server)

    def startService(self):
        super().startService()
        self.master.start()

    def stopService(self):
        self.master.stop()
        return super().stopService()


def _sensitive(name):
    from .config import PARAMS
    p = PARAMS.get(name)
    return p is not None and "sensitive" in p.flags


class LoggedProtocol(RedisProtocol):
    """RedisProtocol that logs connects and disconnects (verbose level, as Redis)."""

    def connectionMade(self):
        super().connectionMade()
        if not self.closing:
            _logging.event("client.connect", level="verbose", id=self.id, addr=self.addr, laddr=self.laddr)

    def connectionLost(self, reason=None):
        super().connectionLost(reason)
        err = getattr(reason, "value", None)
        if type(err).__module__ == "OpenSSL.SSL":
            from .tls import ssl_reason
            # Redis: "Error accepting a client connection: <OpenSSL reason>" (no certificate,
            # an untrusted one, plain text on the TLS port ...)
            _logging.event("client.tls_error", level="warn", id=self.id, addr=self.addr,
                           error=ssl_reason(err))
        _logging.event("client.disconnect", level="verbose", id=self.id, addr=self.addr,
                       name=(self.name or b"").decode("utf-8", "replace"))


class LoggedFactory(RedisFactory):
    noisy = False

    def buildProtocol(self, addr):
        # Keep whatever RedisFactory sets up; only add the logging methods.
        proto = super().buildProtocol(addr)
        if type(proto) is RedisProtocol:
            proto.__class__ = LoggedProtocol
        return proto


def _on_slow(client, spec, argv, usec):
    _logging.event("command.slow", level="verbose", command=spec.fullname, usec=int(usec),
                   argc=len(argv), addr=getattr(client, "addr", "?"))


def _on_auth_failed(client, argv, reply):
    if not reply.message.startswith("WRONGPASS"):
        return
    _logging.event("auth.failed", level="warn", addr=getattr(client, "addr", "?"),
                   command=argv[0].decode("latin-1").lower(), error=reply.message)


def make_service(config, reactor=None, config_file=None):
    if reactor is None:
        from twisted.internet import reactor
    # Import command modules so their handlers are bound in the table.
    from . import commands  # noqa: F401
    from .commands import introspection  # noqa: F401  (SLOWLOG/LATENCY/MONITOR)
    from .commands import load_all
    load_all()
    from .reactor_tuning import install as _lean_poll
    _lean_poll(reactor)
    top = service.MultiService()
    server = Server(config, reactor)
    if config_file:
        server.config_file = config_file
    top.server = server
    hub = _latency.attach(server)
    hub.slow_listeners.append(_on_slow)
    hub.auth_listeners.append(_on_auth_failed)
    _logging.bind_server(server)
    CoreService(server).setServiceParent(top)
    from . import persistence
    persistence.wire(top, server, config)    # recovery, then the persistence actor (docs/persistence.md)
    ReplicationService(server).setServiceParent(top)   # PSYNC, the stream, WAIT (docs/replication.md)
    from .replication import replica
    replica.wire(top, server, config)        # --replicaof: the link starts once the data is loaded
    port, tls_port = config["port"], config["tls-port"]
    if port or tls_port:
        factory = LoggedFactory(server)
        if tls_port:
            from .tls import ServerContextFactory, resp_tls_factory
            tls_ctx = ServerContextFactory(lambda: server.config)   # docs/tls.md
            tls_factory = resp_tls_factory(factory, tls_ctx, reactor)
        for addr in config["bind"]:
            addr = addr.lstrip("-")
            if addr == "*":
                addr = "0.0.0.0"
            if port:
                internet.TCPServer(port, factory, interface=addr).setServiceParent(top)
            if tls_port:
                internet.TCPServer(tls_port, tls_factory, interface=addr).setServiceParent(top)
    http_port = config["http-port"]
    if http_port:
        from .http.app import HttpApi
        api = HttpApi(server, bind=config["http-bind"])
        top.http = api
        if config["http-tls"]:
            from .tls import ServerContextFactory
            https_ctx = ServerContextFactory(lambda: server.config, auth="no")
            internet.SSLServer(http_port, api.site(), https_ctx,
                               interface=config["http-bind"]).setServiceParent(top)
        else:
            internet.TCPServer(http_port, api.site(), interface=config["http-bind"]).setServiceParent(top)
    return top
