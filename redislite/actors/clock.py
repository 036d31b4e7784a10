"""The time every command sees, refreshed once per batch from the injected clock.

Redis snapshots time per command so one command never sees a key both alive
and expired; we refresh per read batch (one reactor turn), which gives the same
guarantee for pipelines and makes tests deterministic with ``task.Clock``.
``lru`` is the LRU clock in seconds; the same int object is reused while the
second does not change, so tagging a key with it allocates nothing.
"""


class Now:
    __slots__ = ("clock", "ms", "lru", "no_touch", "_sec_lo", "_sec_hi")

    def __init__(self, clock):
        self.clock = clock
        self.ms = 0
        self.lru = 0
        self.no_touch = False
        self._sec_lo = self._sec_hi = 0     # ms bounds of the second ``lru`` stands for
        self.refresh()

    def refresh(self):
        # The epsilon absorbs float error when a clock is advanced in decimal
        # steps (1700000001.501 * 1000 == 1700000001500.9998).
        ms = int(self.clock.seconds() * 1000 + 1e-4)
        self.ms = ms
        if not self._sec_lo <= ms < self._sec_hi:
            # a new second (or the clock went back): ms // 1000 only then, a big-int
            # division the once-per-read refresh otherwise pays every time
            sec = ms // 1000
            self.lru = sec
            self._sec_lo = sec * 1000
            self._sec_hi = self._sec_lo + 1000
        return ms
