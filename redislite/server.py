"""The server core: shards, router, write-event bus, clients and counters.

One :class:`Server` per process.  It is reactor-agnostic (the reactor/clock is
injected) so unit tests build it on ``task.Clock`` with no network.  The
Twisted wiring (listeners, HTTP, persistence) lives in ``service.py``.
"""

import os
import time as _time
from operator import attrgetter as _attrgetter

from twisted.internet import task

from . import __version__
from .actors.clock import Now
from .actors.messages import EventBus
from .replication.state import ReplicationState
from .actors.router import Router
from .actors.shard import Shard
from .storage import eviction
from .storage.types.hash import limits_from
from .storage.types.set import max_intset_from
from .storage.types.zset import limits_from as zset_limits_from
from . import clientlimits
from . import memtrim
from . import reactor_tuning
from .clientlimits import Pause, normal_output_threshold, timeout_exempt
from .observability import logging as _logging
from . import notifications

#: Python process baseline counted in used_memory (Redis reports ~0.9 MB empty).
BASE_MEMORY = 900 * 1024


class Server:
    #: fn(client, payload) -> True when it holds the reply until the AOF is fsynced
    #: (appendfsync always; set by the persistence actor, None = zero cost).
    before_reply = None
    #: the persistence actor (redislite.persistence), None when not wired
    persistence = None
    #: the master side of replication (redislite/replication/master.py), None until used
    repl_master = None

    def __init__(self, config, reactor, shards=None):
        self.reactor = reactor
        self.now = Now(reactor)
        self.bus = EventBus()
        self.config = config
        self.start_time = reactor.seconds()
        self.start_mono = _time.monotonic()
        nshards = shards or config["shards"]
        self.databases = config["databases"]
        self.shards = [Shard(i, reactor, self.now, self.bus, self.databases) for i in range(nshards)]
        #: (shard, db, key) that got elements while clients wait on them (blocking.py)
        self.ready_keys = []
        self.blocked_clients = 0
        self.lua_eval = None        # the EVAL engine, made on first use (commands/scripting.py)
        for shard in self.shards:
            shard.ready_keys = self.ready_keys
        self.router = Router(self.shards)
        self.clients = {}
        self._last_client_id = 0
        self.run_id = os.urandom(20).hex()
        self.version = __version__
        # counters for INFO stats
        self.total_connections = 0
        self.rejected_connections = 0
        self.total_commands = 0
        self.net_input_bytes = 0
        self.net_output_bytes = 0
        self.error_stats = {}
        self.keyspace_hits_base = 0
        self.replica_of = None
        #: replication ids, offset and backlog shared by master.py and replica.py
        self.repl = ReplicationState(config["repl-backlog-size"])
        # Refusal gates checked by the protocol (see RedisProtocol._gates); setting
        # any of them through the properties below turns on the one flag it reads.
        self._write_error = None     # ReplyError (MISCONF) while saves are failing
        self._read_only = False      # a read-only replica
        self._loading = False        # loading a dataset: -LOADING
        self._busy_error = None      # ReplyError (BUSY) while a script runs too long
        self._stale_error = None     # ReplyError (MASTERDOWN): replica link down, serve-stale-data no
        self._noreplicas_error = None  # ReplyError (NOREPLICAS): min-replicas-to-write not met
        self._pause_type = 0         # CLIENT PAUSE: 1 WRITE, 2 ALL (redislite/clientlimits.py)
        self.pause = Pause(self)
        self.gated = False
        #: fn(client, spec, argv, usec, reply) after every executed command
        #: (MONITOR, SLOWLOG, latency stats, metrics, client tracking); empty = free.
        self.command_observers = []
        #: fn(client, spec, argv, reply) after a command replied with an error
        self.error_hooks = []
        #: ``spec, usec`` pairs not yet folded into the latency histograms
        #: (observability/latency.py); None while latency tracking is off
        self.lat_pending = None
        #: commands at least this slow go to Introspection.outlier (slow log, latency monitor)
        self.outlier_usec = float("inf")
        self.introspection = None
        #: fn(client) when a client leaves the registry (disconnect, CLIENT KILL):
        #: pub/sub and tracking drop its subscriptions.
        self.disconnect_hooks = []
        self._cron = None
        self.config_file = getattr(config, "path", None)
        self.used_memory_peak = 0
        self.trimmer = memtrim.Trimmer(memtrim.thread_runner(reactor))
        self.apply_config(config)

    # -- configuration ------------------------------------------------------------
    def apply_config(self, config):
        """Cache the hot-path settings of a (new) validated Config."""
        self.config = config
        self.maxmemory = config["maxmemory"]
        self.maxmemory_policy = config["maxmemory-policy"]
        self.maxmemory_samples = config["maxmemory-samples"]
        requirepass = config["requirepass"] or None
        acl = getattr(self, "acl", None)
        if acl is None:
            from .acl import Acl
            self.acl = Acl(self, config)       # the users (redislite/acl.py)
        else:
            acl.configure(config)
            if requirepass != self.requirepass:
                # CONFIG SET requirepass sets the default user's password (as Redis)
                acl.update_default_password(
                    requirepass.encode("utf-8", "surrogateescape") if requirepass else None)
                acl.user_changed(b"default")
        self.requirepass = requirepass
        self.maxclients = config["maxclients"]
        self.proto_max_bulk_len = config["proto-max-bulk-len"]
        self.client_query_buffer_limit = config["client-query-buffer-limit"]
        self.timeout = config["timeout"]
        reactor_tuning.BUSY.configure(config["busy-poll-usec"])
        self.trimmer.enabled = config["jemalloc-bg-thread"]
        #: smallest client-output-buffer-limit of the normal class, None when unlimited (protocol._write)
        self.obuf_normal_at = normal_output_threshold(config)
        if self.introspection is not None:
            self.introspection.refresh()
        if self.persistence is not None:
            self.persistence.config_changed(config)   # appendonly / appendfsync / save
        for client in self.clients.values():
            parser = getattr(client, "parser", None)
            if parser is not None:
                parser.max_bulk_len = self.proto_max_bulk_len
                parser.max_query_buffer = self.client_query_buffer_limit
        lfu = self.maxmemory_policy.endswith("lfu")
        hash_limits = limits_from(config)
        max_intset = max_intset_from(config)
        zset_limits = zset_limits_from(config)
        for shard in self.shards:
            # the encoding limits, read by shard ops and by the families' helpers
            # (commands/hashes.hash_limits, sets.max_intset, zsets._limits)
            shard.hash_limits = hash_limits
            shard.max_intset = max_intset
            shard.zset_limits = zset_limits
            shard.lfu = lfu
            shard.lfu_log_factor = config["lfu-log-factor"]
            shard.lfu_decay_time = config["lfu-decay-time"]
        notifications.configure(self)
        link = self.repl.link
        if link is not None:
            link.config_changed(config)   # replica-read-only, replica-serve-stale-data (replication/replica.py)
        if self.repl_master is not None:
            self.repl_master.config_changed(config)   # backlog size, output limits, min-replicas

    def start(self):
        maxclients, notes = clientlimits.adjust_open_files_limit(self.maxclients)
        reduced = maxclients != self.maxclients
        if reduced:
            # Redis's adjustOpenFilesLimit: CONFIG GET maxclients shows the reduced value.
            self.config = self.config.with_changes({"maxclients": str(maxclients)})
            self.maxclients = maxclients
        for note in notes:
            _logging.event("server.maxclients", level="warning" if reduced else "info", message=note)
        for shard in self.shards:
            shard.start()
        if self._cron is None:
            self._cron = task.LoopingCall(self.cron)
            self._cron.clock = self.reactor
            self._cron.start(1.0, now=False)
            self.trimmer.start(self.used_memory())

    def stop(self):
        for shard in self.shards:
            shard.stop()
        if self._cron is not None and self._cron.running:
            self._cron.stop()
        self._cron = None

    def cron(self):
        """Once a second: idle clients (clients_cron), then the heap trim check (memtrim)."""
        self.clients_cron()
        self.trimmer.tick(self.used_memory())

    def clients_cron(self):
        """Once a second: close clients idle for longer than ``timeout`` (as Redis's clientsCron;
        replicas, monitors, the master, blocked and pub/sub clients are exempt)."""
        if not self.timeout:
            return 0
        now = self.reactor.seconds()
        closed = 0
        for client in list(self.clients.values()):
            if now - client.last_interaction > self.timeout and not timeout_exempt(client):
                client.close()
                closed += 1
        return closed

    # -- refusal gates --------------------------------------------------------------
    def _regate(self):
        self.gated = bool(self._write_error is not None or self._read_only or self._loading
                          or self._busy_error is not None or self._stale_error is not None
                          or self._noreplicas_error is not None or self._pause_type)

    def _gate(name):
        attr = "_" + name

        def set_(self, value):
            setattr(self, attr, value)
            self._regate()
        # a C-level getter: these are read per script call (about 190 -> 80 ns a read)
        return property(_attrgetter(attr), set_)

    write_error = _gate("write_error")
    read_only = _gate("read_only")
    loading = _gate("loading")
    busy_error = _gate("busy_error")
    stale_error = _gate("stale_error")
    noreplicas_error = _gate("noreplicas_error")
    pause_type = _gate("pause_type")
    del _gate

    def default_user_has_password(self):
        """Whether the default user needs a password (protected mode; the ACL system
        replaces this with the default user's nopass flag)."""
        return not self.acl.default.nopass

    # -- clients ---------------------------------------------------------------------
    def next_client_id(self):
        self._last_client_id += 1
        return self._last_client_id

    def unissue_client_id(self, cid):
        """A connection refused by maxclients: Redis refuses it before creating the
        client, so the id is not used up (the next client gets it)."""
        if cid == self._last_client_id:
            self._last_client_id -= 1

    def add_client(self, client):
        self.clients[client.id] = client
        self.total_connections += 1

    def remove_client(self, client):
        if self.clients.pop(client.id, None) is not None:
            for fn in self.disconnect_hooks:
                fn(client)

    # -- memory --------------------------------------------------------------------
    def used_memory(self):
        total = BASE_MEMORY
        for shard in self.shards:
            for ks in shard.dbs:
                total += ks.mem
        if total > self.used_memory_peak:
            self.used_memory_peak = total
        return total

    def make_room(self):
        """Evict per policy until under maxmemory; False means OOM.  No eviction while
        clients are paused (Redis's isSafeToPerformEvictions: the dataset stays static)."""
        if self._pause_type:
            return True
        return eviction.perform_evictions(self)

    # -- aggregate stats ----------------------------------------------------------
    def stat(self, name):
        return sum(getattr(s, name) for s in self.shards)

    def keyspace_hits(self):
        return sum(ks.hits for s in self.shards for ks in s.dbs)

    def keyspace_misses(self):
        return sum(ks.misses for s in self.shards for ks in s.dbs)

    def db_sizes(self, db):
        """(keys, keys with TTL) for database *db* across shards."""
        keys = expires = 0
        for s in self.shards:
            ks = s.dbs[db]
            keys += ks.count
            expires += len(ks.expires)
        return keys, expires

    def count_error(self, message):
        code = message.split(" ", 1)[0]
        self.error_stats[code] = self.error_stats.get(code, 0) + 1
