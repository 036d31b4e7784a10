"""Persistence: RDB snapshots, the multi-part AOF and recovery (see docs/persistence.md).

``wire(top, server, config)`` is the one call ``service.make_service`` makes:
it checks the data directory (refusing to start over files it cannot read,
before anything listens), and adds a service that loads the data while clients
get -LOADING, then starts the actor; stopping the service flushes and fsyncs
the AOF and saves per config, so twistd never drops an acknowledged write.
"""

import os
import sys
import time

from twisted.application import service
from twisted.internet import task
from twisted.logger import Logger

from .actor import Persistence
from .recovery import Loader, LoadError, plan

log = Logger(namespace="redislite.persistence")

__all__ = ["wire", "Persistence", "PersistenceService", "LoadError", "load_now"]


class PersistenceService(service.Service):
    def __init__(self, server, the_plan):
        self.server = server
        self.plan = the_plan
        self.actor = server.persistence

    def startService(self):
        super().startService()
        server = self.server
        if self.plan.kind is None:
            self.actor.start()
            return
        loader = Loader(server, server.config, self.plan, log=lambda m: log.warn(m))
        self.actor.loader = loader
        server.loading = True
        log.info("Loading {kind} data from {files}", kind=self.plan.kind,
                 files=", ".join(p for p, _ in self.plan.files))
        # Twisted's default cooperator reschedules with callLater(1e-8), which epoll
        # rounds up to a 1 ms sleep after every 10 ms of work (~10% of a load's
        # wall time): callLater(0) polls without sleeping.
        reactor = server.reactor
        coop = task.Cooperator(scheduler=lambda step: reactor.callLater(0, step))
        d = coop.cooperate(loader.run()).whenDone()
        d.addCallbacks(self._loaded, self._failed)

    def _loaded(self, _):
        server = self.server
        loader = self.actor.loader
        finish_load(server, loader)
        log.info("DB loaded from disk: {keys} keys, {cmds} commands, {secs:.3f} seconds "
                 "({cpu:.3f} s CPU)", keys=loader.keys_loaded, cmds=loader.commands,
                 secs=time.time() - loader.started, cpu=time.process_time() - loader.started_cpu)
        self.actor.start(self.plan.manifest)

    def _failed(self, failure):
        err = failure.value
        msg = str(err) if isinstance(err, LoadError) else failure.getTraceback()
        sys.stderr.write("# Fatal error loading the data set: %s\n" % msg)
        sys.stderr.flush()
        os._exit(1)

    def stopService(self):
        if self.running and not self.server.loading:
            self.actor.stop()
        return super().stopService()


def finish_load(server, loader):
    server.loading = False
    server.bus.dirty = 0
    server.persistence.loader = None
    server.persistence.load_stats = (loader.keys_loaded, loader.keys_expired)


def wire(top, server, config):
    """Attach persistence to the application; refuse a data directory we cannot read."""
    try:
        the_plan = plan(config)
    except LoadError as e:
        sys.stderr.write("# Fatal error: %s\n" % e)
        sys.stderr.flush()
        raise SystemExit(1)
    server.persistence = Persistence(server)
    svc = PersistenceService(server, the_plan)
    svc.setServiceParent(top)
    return svc


def load_now(server):
    """Synchronous recovery + start (tests, tools)."""
    the_plan = plan(server.config)
    if getattr(server, "persistence", None) is None:
        server.persistence = Persistence(server)
    loader = Loader(server, server.config, the_plan).load()
    finish_load(server, loader)
    server.persistence.start(the_plan.manifest)
    return loader
