"""The replication state both sides share: ids, offset, backlog.

This is the seam between the master side (``master.py``: PSYNC, REPLCONF,
the stream to replicas) and the replica side (``replica.py``: the link to our
own master).  As in Redis, a replica proxies its master's stream byte for
byte to its own replicas, so both sides feed the same backlog through
:meth:`ReplicationState.feed` and the offsets stay identical along a chain.
"""

import os
from collections import deque

#: Redis's CONFIG_RUN_ID_SIZE
REPLID_LEN = 40


def new_replid():
    return os.urandom(REPLID_LEN // 2).hex()


class Backlog:
    """A byte ring holding the last ``size`` bytes of the stream.

    ``first_offset`` is the stream offset of the first byte held (Redis's
    ``repl_backlog_first_byte_offset``, offsets counted from 1).

    Appends are O(len(data)): small writes accumulate in a ``bytearray`` tail
    that is sealed into an immutable chunk every :data:`SEAL` bytes, and
    trimming drops whole chunks from a deque plus a skip count into the oldest
    one, so a busy stream of 40-byte commands never copies the ring.
    """

    __slots__ = ("size", "chunks", "skip", "tail", "histlen", "first_offset", "end_offset")

    #: bytes gathered in the tail before it becomes a chunk (Redis's 16 KB blocks)
    SEAL = 16384

    def __init__(self, size, end_offset=0):
        self.size = size
        self.chunks = deque()     # sealed bytes, oldest first; chunks[0][skip:] is held
        self.skip = 0
        self.tail = bytearray()   # newest bytes, not sealed yet
        self.histlen = 0
        self.end_offset = end_offset          # offset of the last byte held
        self.first_offset = end_offset + 1

    def append(self, data):
        n = len(data)
        tail = self.tail
        tail += data
        self.histlen += n
        self.end_offset += n
        if len(tail) >= self.SEAL:
            self.chunks.append(bytes(tail))
            self.tail = bytearray()
        if self.histlen > self.size:
            self._trim()

    def resize(self, size):
        self.size = size
        if self.histlen > size:
            self._trim()

    def _trim(self):
        drop = self.histlen - self.size
        chunks = self.chunks
        while drop > 0 and chunks:
            avail = len(chunks[0]) - self.skip
            if avail <= drop:
                chunks.popleft()
                self.skip = 0
                drop -= avail
                self.histlen -= avail
            else:
                self.skip += drop
                self.histlen -= drop
                drop = 0
        if drop > 0:                       # only the tail is left
            del self.tail[:drop]
            self.histlen -= drop
        self.first_offset = self.end_offset - self.histlen + 1

    def covers(self, offset):
        """True when the stream from *offset* (the next byte a replica needs) is held."""
        return self.first_offset <= offset <= self.end_offset + 1

    def since(self, offset):
        """The held bytes from stream offset *offset* on (``covers(offset)`` must hold)."""
        skip = self.skip + offset - self.first_offset
        parts = []
        for chunk in self.chunks:
            if skip >= len(chunk):
                skip -= len(chunk)
                continue
            parts.append(chunk[skip:] if skip else chunk)
            skip = 0
        parts.append(bytes(self.tail[skip:]) if skip else bytes(self.tail))
        return b"".join(parts)


class ReplicationState:
    """``server.repl``: who we are in the replication topology.

    * ``role``: ``"master"`` or ``"slave"`` (Redis's words in ROLE/INFO);
    * ``replid``/``replid2``/``second_repl_offset``: the PSYNC2 ids;
    * ``master_repl_offset``: bytes of stream produced (master) or applied (replica);
    * ``backlog``: created when the first replica attaches (``repl_backlog_active``);
    * ``replicas``: replica connections attached to us (master side fills it);
    * ``link``: our link to our own master, or None (replica side fills it);
    * ``listeners``: ``fn(data)`` called by :meth:`feed` (the master side
      registers one that writes to every online replica).
    """

    def __init__(self, backlog_size=1 << 20):
        #: fn() called when ``role`` or ``backlog`` changes (the master side keeps its
        #: bus subscription to the stream only while there is a stream to feed)
        self.stream_hooks = []
        self.role = "master"
        self.replid = new_replid()
        self.replid2 = "0" * REPLID_LEN
        self.master_repl_offset = 0
        self.second_repl_offset = -1
        self.backlog_size = backlog_size
        self.backlog = None
        self.replicas = []
        self.link = None
        self.listeners = []

    def _stream_attr(name):
        """An attribute whose every change calls the stream hooks."""
        attr = "_" + name

        def set_(self, value):
            setattr(self, attr, value)
            for fn in self.stream_hooks:
                fn()
        return property(lambda self: getattr(self, attr), set_)

    role = _stream_attr("role")
    backlog = _stream_attr("backlog")
    del _stream_attr

    def create_backlog(self):
        if self.backlog is None:
            self.backlog = Backlog(self.backlog_size, self.master_repl_offset)
        return self.backlog

    def free_backlog(self):
        self.backlog = None

    def feed(self, data):
        """Append stream bytes: advance the offset, keep them in the backlog, fan out."""
        self.master_repl_offset += len(data)
        if self.backlog is not None:
            self.backlog.append(data)
        for fn in self.listeners:
            fn(data)

    def shift_replid(self):
        """A replica becomes a master (REPLICAOF NO ONE): Redis's shiftReplicationId.

        Replicas of the old master can still PSYNC with the old id up to here.
        """
        self.replid2 = self.replid
        self.second_repl_offset = self.master_repl_offset + 1
        self.replid = new_replid()

    def adopt(self, replid, offset):
        """After +FULLRESYNC: take the master's id and offset, restart the backlog."""
        self.replid = replid
        self.replid2 = "0" * REPLID_LEN
        self.second_repl_offset = -1
        self.master_repl_offset = offset
        if self.backlog is not None:
            self.backlog = Backlog(self.backlog_size, offset)
