"""Give freed heap memory back to the operating system after a transient peak.

Redis runs jemalloc's background thread (``jemalloc-bg-thread yes``), which
returns dirty pages to the OS a few seconds after they are freed, so RSS comes
back down after a big Lua script, a huge reply or a mass delete.  CPython's
large blocks come from glibc malloc, which keeps freed memory in its heap
unless it happens to lie at the very top: a 64 MB ``string.rep`` in a script
left ~50 MB of RSS behind for good, reusable by later allocations but never
given back (measured 2026-11-26; ``malloc_trim(0)`` then gave back ~34 MB).

:class:`Trimmer` plays jemalloc's background thread.  Once a second (the
server cron) it reads the process RSS and the dataset estimate
(``used_memory``); their difference is the overhead.  When the overhead has
grown by a step (the larger of 32 MB and RSS/8) over the lowest it has been
(at start, or after a trim), it runs ``malloc_trim(0)`` in a worker thread,
never on the reactor (the call walks the heap's free chunks).  Data that
grows moves RSS and ``used_memory`` together, so a bulk load triggers
nothing.  A trim that gives back less than a quarter step (the memory was
still in use: a script's garbage not yet collected, big client buffers) is
retried after 5 s, then 10, 20... up to 5 minutes, so a legitimately large
overhead costs almost nothing; but at once when the overhead moves a step
away from where that trim found it (the garbage collected, or new garbage).
Steady state costs one read of ``/proc/self/statm`` a second.  It follows
``jemalloc-bg-thread`` and does nothing where glibc's ``malloc_trim`` is
missing (musl, macOS).
"""

import ctypes
import ctypes.util
import os

from twisted.internet import threads

#: smallest growth (bytes) of the overhead over its base that triggers a trim
MIN_STEP = 32 * 1024 * 1024
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def read_rss():
    """Resident bytes of this process (the second field of /proc/self/statm), or None
    without /proc (INFO's used_memory_rss falls back to getrusage's peak then)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def glibc_trim():
    """``malloc_trim`` from the C library, or None where there is none."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def thread_runner(reactor):
    """``fn -> Deferred`` running fn in *reactor*'s thread pool, or None for a reactor
    without one (``task.Clock`` in tests: the trimmer then stays off)."""
    if not hasattr(reactor, "getThreadPool"):
        return None
    return lambda fn: threads.deferToThreadPool(reactor, reactor.getThreadPool(), fn)


class Trimmer:
    """See the module docstring.  ``trim`` and ``rss`` are injectable for tests;
    ``in_thread(fn)`` returns a Deferred of ``fn()`` run off the reactor (None: never trim)."""

    #: seconds between attempts after a trim that gave back little: doubles up to MAX_HOLD
    FIRST_HOLD = 5
    MAX_HOLD = 300

    def __init__(self, in_thread, trim=None, rss=read_rss):
        self.trim = (glibc_trim() if trim is None else trim) if in_thread is not None else None
        self.rss = rss
        self.in_thread = in_thread
        self.enabled = True
        self.running = False
        self.trims = 0           # trims run
        self.base = None         # the lowest overhead (RSS - used_memory) seen: at start, after trims
        self.hold = 0            # ticks to wait before the next attempt
        self.futile_at = 0       # the overhead when a trim last gave back little
        self.backoff = self.FIRST_HOLD

    def start(self, used):
        """Take the overhead of a server that has just started as the first base."""
        rss = self.rss()
        self.base = None if rss is None else rss - used

    def tick(self, used):
        """The cron's call, with the dataset estimate: start a trim in a thread when the
        overhead grew a step since the last one.  Returns True when it started one."""
        if not self.enabled or self.running or self.trim is None:
            return False
        rss = self.rss()
        if rss is None:
            return False
        over = rss - used
        if self.base is None or over < self.base:
            self.base = over     # a lower overhead (given back by itself): trim from there
            return False
        step = max(MIN_STEP, rss // 8)
        if self.hold:
            if abs(over - self.futile_at) < step:
                self.hold -= 1
                return False
            self.hold = 0        # a step more or less since the futile trim: new garbage, or freed
        if over - self.base < step:
            return False
        self._start(self._done, rss, used, step, over)
        return True

    def purge(self):
        """MEMORY PURGE: trim now, whatever the overhead and ``jemalloc-bg-thread``
        (Redis purges jemalloc's dirty pages on request either way).  Returns
        True when a trim started; none starts while one runs."""
        if self.running or self.trim is None:
            return False
        self._start(self._purged)
        return True

    def _start(self, done, *args):
        """``malloc_trim(0)`` in the worker thread; ``done(result, *args)`` after it."""
        self.running = True
        trim = self.trim
        self.in_thread(lambda: trim(0)).addBoth(done, *args)

    def _purged(self, result):
        self.running = False
        self.trims += 1
        return None

    def _done(self, result, rss_before, used, step, over):
        self.running = False
        self.trims += 1
        rss = self.rss()
        if rss is None:
            return None
        if rss_before - rss < step // 4:
            # little came back: the memory was in use; try again later, less often each time
            self.hold = self.backoff
            self.backoff = min(self.backoff * 2, self.MAX_HOLD)
            self.futile_at = over
        else:
            # Never a higher base: a trim during a peak (a script's garbage half collected)
            # gives back something yet leaves a level that is not the process's own.
            self.base = min(self.base, rss - used)
            self.backoff = self.FIRST_HOLD
        return None
