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

While traffic is dense the poll also spins briefly before it sleeps
(``BUSY``, the ``busy-poll-usec`` parameter): see :class:`BusyPoll`.
"""

import errno
import os
import sys
import time
import types

_clock = time.perf_counter

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


class BusyPoll:
    """Spin on a non-blocking poll for up to ``window`` seconds before sleeping.

    A request/response client (one connection, no pipelining) sends its
    next command tens of microseconds after our reply.  Sleeping in
    ``epoll_wait`` in between costs a scheduler wake-up per request and
    leaves a cold interpreter (caches, branch predictors) to run it: on the
    2-core bench host a GET on one connection took ~20 us more CPU than
    the same GET under load.  So, as busy-polling network stacks do, the
    poll first asks again without blocking for a short window.

    The spin is only tried while it pays: ``warm`` is set when the last
    wait ended with events within twice the window, and cleared when a
    wait was longer, so an idle or sparsely used server sleeps as before
    (it spends at most one window per wake-up finding that out).  It is
    off with ``busy-poll-usec 0`` and on machines with a single CPU, where
    spinning would take the CPU from the very client we wait for.
    """

    window = 0.0
    warm = False
    #: spins that found events / that ran out and slept (``redislite_busy_poll_spins``)
    found = 0
    empty = 0

    def configure(self, usec):
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self.window = usec / 1e6 if cpus > 1 else 0.0
        if not self.window:
            self.warm = False


BUSY = BusyPoll()


def wait(poll, maxevents, timeout, window, busy=BUSY, clock=_clock):
    """``poll(timeout, maxevents)`` (seconds, -1 for none), spinning first
    for up to ``window`` seconds with ``poll(0)`` while ``busy.warm``."""
    start = clock()
    if busy.warm:
        bounded = 0 <= timeout <= window
        end = start + (timeout if bounded else window)
        while True:
            ready = poll(0, maxevents)
            if ready:
                busy.found += 1
                return ready
            now = clock()
            if now >= end:
                break
        busy.empty += 1
        if bounded:
            return ready            # the reactor's own timeout came first
        if timeout > 0:
            timeout = max(0.0, timeout - (now - start))
    ready = poll(timeout, maxevents)
    busy.warm = bool(ready) and clock() - start < 2 * window
    return ready


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
    busy = BUSY
    hold = os.environ.get("REDISLITE_HOLD_REPLIES", "1") != "0"

    def doPoll(self, timeout):
        for fn in before_poll:
            fn()
        if timeout is None:
            timeout = -1
        try:
            window = busy.window
            if window and timeout != 0:
                ready = wait(self._poller.poll, len(self._selectables), timeout, window)
            else:
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
