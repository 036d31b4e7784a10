"""redislite/memtrim.py: when the background heap trim runs, and when it does not."""

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock

from redislite import memtrim
from redislite.config import Config
from redislite.server import Server

MB = 1024 * 1024


class Heap:
    """A scripted process: ``rss`` is what /proc says, ``trim`` gives back ``releasable``."""

    def __init__(self, rss):
        self.value = rss
        self.releasable = 0
        self.trims = 0
        self.threads = []

    def rss(self):
        return self.value

    def trim(self, pad):
        assert pad == 0
        self.trims += 1
        self.value -= self.releasable
        self.releasable = 0
        return 1

    def in_thread(self, fn):
        """Run at once, as the worker thread would, and remember that it was asked."""
        self.threads.append(fn)
        return defer.succeed(fn())


def trimmer(heap, used=0):
    t = memtrim.Trimmer(heap.in_thread, trim=heap.trim, rss=heap.rss)
    t.start(used)
    return t


def test_trims_in_a_thread_once_the_overhead_grows_a_step():
    heap = Heap(60 * MB)
    t = trimmer(heap)
    heap.value += 31 * MB                     # under the 32 MB step: nothing
    assert t.tick(0) is False and heap.trims == 0
    heap.value += 2 * MB
    heap.releasable = 30 * MB
    assert t.tick(0) is True
    assert heap.trims == 1 and len(heap.threads) == 1 and t.trims == 1
    assert t.base == 60 * MB and not t.running   # the base never rises (see the peak test)
    assert t.tick(0) is False                 # back within a step of it


def test_data_growth_alone_never_trims():
    heap = Heap(60 * MB)
    t = trimmer(heap, used=10 * MB)
    for _ in range(20):                       # RSS and the dataset grow together
        heap.value += 50 * MB
        assert t.tick(heap.value - 50 * MB) is False
    assert heap.trims == 0


def test_step_is_an_eighth_of_a_large_process():
    heap = Heap(1024 * MB)
    t = trimmer(heap, used=900 * MB)
    heap.value += 100 * MB                    # 100 MB < 1124 MB / 8
    assert t.tick(900 * MB) is False
    heap.value += 60 * MB
    assert t.tick(900 * MB) is True


def test_a_trim_that_gives_back_little_is_retried_less_and_less_often():
    heap = Heap(60 * MB)
    t = trimmer(heap)
    heap.value += 200 * MB                    # still in use: nothing to give back
    assert t.tick(0) is True
    waits = []
    for _ in range(3):
        n = 0
        while not t.tick(0):                  # each False tick is a second of the cron
            n += 1
            assert n < 100
        waits.append(n)
    assert waits == [5, 10, 20]
    assert heap.trims == 4
    heap.releasable = 190 * MB                # freed at last: the next trim works ...
    n = 0
    while not t.tick(0):
        n += 1
    assert heap.value == 70 * MB and t.backoff == memtrim.Trimmer.FIRST_HOLD   # ... and resets the back-off


def test_off_when_disabled_without_a_thread_pool_or_while_one_runs():
    heap = Heap(60 * MB)
    t = trimmer(heap)
    heap.value += 100 * MB
    t.enabled = False
    assert t.tick(0) is False
    t.enabled = True
    t.running = True
    assert t.tick(0) is False
    t.running = False
    assert memtrim.Trimmer(None, trim=heap.trim, rss=heap.rss).tick(0) is False
    assert heap.trims == 0


def test_a_lower_overhead_becomes_the_base():
    heap = Heap(100 * MB)
    t = trimmer(heap)
    heap.value = 70 * MB                      # given back by itself (munmap of big blocks)
    assert t.tick(0) is False and t.base == 70 * MB
    heap.value = 103 * MB
    assert t.tick(0) is True


def test_this_platform_has_the_real_pieces():
    rss = memtrim.read_rss()
    assert isinstance(rss, int) and rss > 0
    trim = memtrim.glibc_trim()
    assert trim is not None and trim(0) in (0, 1)


def test_server_follows_jemalloc_bg_thread_and_stays_off_on_a_clock():
    server = Server(Config.defaults(), MemoryReactorClock())
    assert server.trimmer.enabled is True
    assert server.trimmer.trim is None        # task.Clock has no thread pool: never trims
    server.apply_config(server.config.with_changes({"jemalloc-bg-thread": "no"}))
    assert server.trimmer.enabled is False
    assert server.cron() is None              # the cron's tick is harmless there


def test_a_futile_trim_is_retried_at_once_when_the_overhead_moves_a_step():
    heap = Heap(60 * MB)
    t = trimmer(heap)
    heap.value += 250 * MB                    # a script's peak: its garbage is still alive
    assert t.tick(0) is True and t.hold == 5
    heap.value -= 200 * MB                    # collected, mostly unmapped; 50 MB kept by malloc
    heap.releasable = 40 * MB
    assert t.tick(0) is True                  # no waiting out the back-off
    assert heap.value == 70 * MB and t.base == 60 * MB


def test_a_trim_during_a_peak_does_not_raise_the_base():
    heap = Heap(60 * MB)
    t = trimmer(heap)
    heap.value += 250 * MB
    heap.releasable = 40 * MB                 # half a script's garbage collected so far
    assert t.tick(0) is True and t.base == 60 * MB
    heap.value = 110 * MB                     # the rest collected; malloc keeps 50 MB
    heap.releasable = 35 * MB
    assert t.tick(0) is True and heap.value == 75 * MB


def test_memory_purge_trims_at_once_whatever_the_overhead_and_the_setting():
    heap = Heap(60 * MB)
    t = trimmer(heap)
    t.enabled = False                         # jemalloc-bg-thread no: the cron stays off...
    heap.releasable = 5 * MB                  # ...and 5 MB is far under a step
    assert t.tick(0) is False and heap.trims == 0
    assert t.purge() is True                  # MEMORY PURGE trims anyway, in the worker thread
    assert heap.trims == 1 and len(heap.threads) == 1 and heap.value == 55 * MB
    assert not t.running and t.trims == 1


def test_memory_purge_never_runs_two_trims_at_once_nor_without_a_thread():
    heap = Heap(60 * MB)
    pending = defer.Deferred()
    t = memtrim.Trimmer(lambda fn: pending, trim=heap.trim, rss=heap.rss)
    assert t.purge() is True and t.running
    assert t.purge() is False                 # the first is still in its thread
    pending.callback(None)
    assert not t.running
    assert memtrim.Trimmer(None, trim=heap.trim, rss=heap.rss).purge() is False
