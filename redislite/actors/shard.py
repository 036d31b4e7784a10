"""A shard: the only owner of its keys in every database.

It holds one :class:`Keyspace` per database, the TTL heaps inside them, the
LRU/LFU state, and runs its own time-budgeted active expire cycle on the
injected clock.  Commands reach it as ``execute(op, db, argv)`` and get back a
value or a :class:`ReplyError` value; it never sees RESP.
"""

import time as _time

from twisted.internet import task

from ..errors import ReplyError
from ..storage.keyspace import Keyspace
from ..storage import eviction
from .base import Actor

#: Active expiry: Redis runs 10 cycles/s and spends at most 25% of CPU on them.
EXPIRE_HZ = 10
EXPIRE_BUDGET = 0.025
EXPIRE_BATCH = 20000


class Shard(Actor):
    def __init__(self, index, reactor, now, bus, databases=16):
        super().__init__(reactor)
        self.index = index
        self.time = now
        self.bus = bus
        self.lfu = False
        #: (hash-max-listpack-entries, -value), kept current by Server.config_changed
        self.hash_limits = (128, 64)
        self.zset_limits = (128, 64)   # zset-max-listpack-entries / -value, likewise
        self.max_intset = 512          # set-max-intset-entries, likewise
        self.lfu_log_factor = 10
        self.lfu_decay_time = 1
        self.replica_mode = False
        #: DEBUG SET-ACTIVE-EXPIRE 0 turns the active cycle off (lazy expiry stays)
        self.active_expire = True
        self.no_touch = False
        self.stats_expired = 0
        self.stats_evicted = 0
        self.expire_listeners = []
        #: clients blocked on keys this shard owns: (db, key) -> deque of blocking.Waiter
        self.waiters = {}
        self.ready_keys = []
        #: keyspace-notification hook: fn(db, class_char, event, key) or None
        self.notifier = None
        #: fn(db, key) on every key modification (client tracking); see Keyspace.observe()
        self.on_modified = []
        self.dbs = [Keyspace(self, i) for i in range(databases)]
        self._expire_loop = None
        #: emit(db, argv): publish a write event in deterministic form (see
        #: actors.messages); the bus's own method, bound once (a hot path)
        self.emit = bus.publish

    # -- the actor interface ---------------------------------------------------
    def execute(self, op, db, argv):
        """Run a shard op on database *db*; errors come back as values."""
        try:
            return op(self.dbs[db], argv)
        except ReplyError as e:
            return e

    def notify_expired(self, db, key):
        for fn in self.expire_listeners:
            fn(db, key)

    def on_swapdb(self, a, b):
        """SWAPDB swapped two of our keyspaces: waiters on either may now be served."""
        if self.waiters:
            from ..blocking import signal_waited_keys
            signal_waited_keys(self, a)
            signal_waited_keys(self, b)

    # -- expiry ------------------------------------------------------------------
    def start(self):
        if self._expire_loop is None:
            self._expire_loop = task.LoopingCall(self.active_expire_cycle)
            self._expire_loop.clock = self.reactor
            self._expire_loop.start(1.0 / EXPIRE_HZ, now=False)

    def stop(self):
        if self._expire_loop is not None and self._expire_loop.running:
            self._expire_loop.stop()
        self._expire_loop = None

    def active_expire_cycle(self):
        """Pop due keys from each db's heap until the time budget is spent."""
        if self.replica_mode or not self.active_expire:
            return 0
        now_ms = self.time.refresh()
        deadline = _time.perf_counter() + EXPIRE_BUDGET
        over = lambda: _time.perf_counter() > deadline
        total = 0
        for ks in self.dbs:
            if ks.heap and ks.heap[0][0] < now_ms:
                total += ks.expire_due(now_ms, over, EXPIRE_BATCH)
                if over():
                    break
        return total

    # -- LRU / LFU -------------------------------------------------------------------
    def lfu_touch(self, packed):
        return eviction.lfu_touch(packed, self.time.ms, self.lfu_log_factor, self.lfu_decay_time)

    def used_memory(self):
        return sum(ks.mem for ks in self.dbs)

    def key_count(self):
        return sum(ks.count for ks in self.dbs)
