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

    __slots__ = ("subscribers", "dirty")

    def __init__(self):
        self.subscribers = []
        self.dirty = 0

    def subscribe(self, fn):
        """``fn(db, argv)`` is called for every write event."""
        self.subscribers.append(fn)

    def unsubscribe(self, fn):
        self.subscribers.remove(fn)

    def publish(self, db, argv):
        self.dirty += 1
        for fn in self.subscribers:
            fn(db, argv)
