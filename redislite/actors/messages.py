"""Messages that cross actor boundaries.

Kept as plain tuples (cheap to build, immutable):

* a command message to a shard is ``(op, db, argv)``;
* a write event is ``(db, argv)`` where ``argv`` is a tuple of bytes in its
  deterministic form (absolute PXAT/PEXPIREAT times, SET for INCRBYFLOAT, DEL
  for expiry and eviction), ready for the AOF and the replication stream.
"""


class EventBus:
    """Fan-out of write events from the shards to persistence and replication.

    Shards publish in execution order; since every command runs to completion
    in one reactor turn, the order seen by subscribers is the global order.
    """

    __slots__ = ("subscribers", "_all", "dirty", "_held", "_depth", "muted")

    def __init__(self):
        self.subscribers = []   # the active ones, in subscription order
        self._all = []          # [fn, active] in subscription order
        self.dirty = 0
        self._held = None    # events buffered inside a transaction bracket
        self._depth = 0
        self.muted = False   # redis.set_repl(REPL_NONE): drop the script's events

    def subscribe(self, fn, active=True):
        """``fn(db, argv)`` is called for every write event while active."""
        self._all.append([fn, active])
        self._refresh()

    def unsubscribe(self, fn):
        self._all = [e for e in self._all if e[0] != fn]
        self._refresh()

    def activate(self, fn, active):
        """Switch a subscriber on or off, keeping its place in the order: a
        subscriber with nothing to do (no replication stream) costs no call per write."""
        for e in self._all:
            if e[0] == fn:
                e[1] = active
        self._refresh()

    def _refresh(self):
        self.subscribers = [fn for fn, active in self._all if active]
        if self._depth and self._held is None and self.subscribers:
            # a subscriber arrived inside a bracket (a replica attaching while a busy
            # script serves other clients): from here on the bracket's events are held
            self._held = []

    def publish(self, db, argv):
        self.dirty += 1
        held = self._held
        if held is not None:
            if not self.muted:
                held.append((db, argv))
            return
        for fn in self.subscribers:
            fn(db, argv)

    # -- transaction bracket (EXEC, scripts) ------------------------------------
    def hold(self):
        """Start buffering events: the writes of one EXEC or script reach the
        subscribers together at :meth:`release`.  Brackets nest (EVAL inside EXEC).
        With no subscriber nothing is buffered (nobody would receive it)."""
        if self._depth == 0 and self.subscribers:
            self._held = []
        self._depth += 1

    def release(self):
        """Close a bracket; the outermost one publishes what it buffered.

        As Redis 7.0's propagatePendingCommands, more than one event is wrapped
        in ``MULTI`` ... ``EXEC`` (MULTI in the first event's db) so the AOF and
        replicas apply them atomically; a single event goes out alone.
        """
        self._depth -= 1
        if self._depth:
            return
        held = self._held
        self.muted = False
        if held is None:
            return
        self._held = None
        if not held:
            return
        if len(held) > 1:
            held = [(held[0][0], (b"MULTI",))] + held + [(held[-1][0], (b"EXEC",))]
        subscribers = self.subscribers
        for db, argv in held:
            for fn in subscribers:
                fn(db, argv)
