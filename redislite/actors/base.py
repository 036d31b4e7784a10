"""Actor basics.

Every actor runs on the reactor thread and handles one message at a time, to
completion, so its state needs no locks.  ``ask`` runs a message now and
returns its value: under the GIL there is no parallel CPU to gain, and a
Deferred per command would cost more than the command (see ARCHITECTURE.md).
``tell`` queues a message to run on a later reactor turn, for background work
(expiry cycles, persistence).  The boundary is what would let a shard move to
a worker process later: messages are small tuples, replies are values.
"""

from ..errors import ReplyError


class Actor:
    def __init__(self, reactor):
        self.reactor = reactor
        self._mailbox = []
        self._scheduled = False

    def ask(self, op, *args):
        """Run ``op(self, *args)`` now; a raised ReplyError becomes the reply value."""
        try:
            return op(self, *args)
        except ReplyError as e:
            return e

    def tell(self, op, *args):
        """Queue ``op(self, *args)`` for a later reactor turn (fire and forget)."""
        self._mailbox.append((op, args))
        if not self._scheduled:
            self._scheduled = True
            self.reactor.callLater(0, self._drain)

    def _drain(self):
        self._scheduled = False
        box, self._mailbox = self._mailbox, []
        for op, args in box:
            op(self, *args)
