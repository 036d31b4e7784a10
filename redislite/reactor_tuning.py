"""A leaner epoll poll loop for the RESP hot path.

Twisted's ``EPollReactor.doPoll`` wraps every ready socket in
``log.callWithLogger`` and two context layers, which only set the legacy
logging "system" name; ``_doReadOrWrite`` already catches exceptions and
disconnects the failing selectable.  Under an unpipelined load that wrapping
costs a few microseconds per request, a large share of our budget, so on
epoll we install a poll that calls ``_doReadOrWrite`` directly, hands a
readable RESP socket straight to its protocol (``FAST_READERS``), and holds
the replies of one poll iteration to its end (``HELD``).  Disable it all with
``REDISLITE_FAST_POLL=0``, the reply holding alone with
``REDISLITE_HOLD_REPLIES=0``.
"""

import errno
import os
import sys
import types

#: fd -> fn() for plain TCP RESP connections: reads and handles one chunk,
#: returning False when Twisted's own path must take over (EOF, an error).
#: RedisProtocol registers itself here while connected (see protocol.py).
FAST_READERS = {}

#: fn() run at the start of every poll, before the reactor sleeps (Redis's
#: beforeSleep).  The persistence actor writes a turn's AOF buffer here
#: instead of paying a callLater(0) and an extra loop iteration per turn.
#: ``reactor._before_poll`` points at this list once the lean poll is installed.
BEFORE_POLL = []


class HeldReplies:
    """Replies held to the end of the poll iteration (Redis's beforeSleep
    handleClientsWithPendingWrites): while ``active``, ``RedisProtocol._write``
    appends a reply to its transport's own buffer (so anything queued there,
    pub/sub frames included, keeps its order) and lists the protocol in
    ``pending``; :func:`flush` then sends each buffer with one ``send()``.
    """

    active = False
    pending = []


HELD = HeldReplies()


def flush(protocols):
    """One send() per protocol's transport for what its write buffer holds.

    A partial send leaves the rest in Twisted's buffer with the transport
    registered as a writer, exactly the state ``doWrite`` leaves; closing or
    already-draining transports are left to Twisted.
    """
    for p in protocols:
        t = p.transport
        if t is None or not t._tempDataLen or not t.connected:
            continue            # already sent (doWrite, an earlier entry), or gone
        if t.dataBuffer or t.disconnecting:
            t.startWriting()    # Twisted is already draining this one
            continue
        buf = t._tempDataBuffer
        data = buf[0] if len(buf) == 1 else b"".join(buf)
        try:
            sent = p._send(data)
        except OSError:
            t.startWriting()    # doWrite sees the error and closes
            continue
        t._tempDataBuffer = []
        t._tempDataLen = 0
        if sent < len(data):
            t.dataBuffer = data
            t.offset = sent
            t.startWriting()


def install(reactor):
    """Install the lean poll on an EPollReactor; returns True when installed."""
    if os.environ.get("REDISLITE_FAST_POLL", "1") == "0":
        return False
    try:
        from twisted.internet.epollreactor import EPollReactor
    except ImportError:
        return False
    if not isinstance(reactor, EPollReactor):
        return False
    do_read_or_write = reactor._doReadOrWrite
    disconnect = reactor._disconnectSelectable
    fast_readers = FAST_READERS
    from select import EPOLLIN
    from twisted.python import failure, log

    before_poll = BEFORE_POLL
    held = HELD
    hold = os.environ.get("REDISLITE_HOLD_REPLIES", "1") != "0"

    def doPoll(self, timeout):
        for fn in before_poll:
            fn()
        if timeout is None:
            timeout = -1
        try:
            ready = self._poller.poll(timeout, len(self._selectables))
        except OSError as err:
            if err.errno == errno.EINTR:
                return
            raise
        selectables = self._selectables
        if hold and len(ready) > 1:
            held.active = True
        for fd, event in ready:
            selectable = selectables.get(fd)
            if selectable is not None:
                if event == EPOLLIN:
                    fast = fast_readers.get(fd)
                    if fast is not None:
                        # Twisted's _doReadOrWrite -> doRead -> _dataReceived, minus the layers.
                        try:
                            if fast():
                                continue
                        except BaseException:
                            log.err()
                            disconnect(selectable, failure.Failure(sys.exc_info()[1]), True)
                            continue
                do_read_or_write(selectable, fd, event)
        if held.active:
            held.active = False
            pending = held.pending
            if pending:
                held.pending = []
                flush(pending)

    reactor.doPoll = types.MethodType(doPoll, reactor)
    reactor.doIteration = reactor.doPoll
    reactor._before_poll = BEFORE_POLL
    return True
