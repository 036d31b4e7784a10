"""One database's slice of keys inside one shard.

Layout, chosen for memory and for SCAN/sampling (see docs/ARCHITECTURE.md):

* keys live in a list of small dicts ("buckets") grown by **linear hashing**:
  one bucket splits at a time, so growth never stalls the reactor, and the
  bucket index gives Redis's SCAN guarantee (reverse-binary cursor) and O(1)
  random sampling for RANDOMKEY and eviction, neither of which a plain dict
  offers;
* ``expires`` maps volatile keys to absolute ms; a per-db min-heap of
  ``(when, key)`` feeds the active expire cycle (stale entries are skipped);
* ``access`` maps every key to its LRU clock (seconds) or packed LFU state.
  The int object is shared per second (``TimeCache.lru``), so it costs one
  dict entry per key.

String values are ``bytes`` (``bytearray`` once modified in place, which is
Redis's "raw" encoding); other types are objects with a ``TYPE`` attribute.
"""

import heapq
import random

from .. import errors
from ..errors import ReplyError

BUCKET_LOAD = 16          # average keys per bucket before a split
KEY_OVERHEAD = 96         # dict entries in bucket + access map, per key (estimate)
_WRONGTYPE = ReplyError(errors.WRONGTYPE)
#: ``shard.replica_mode``: False on a master; True on a replica (logically
#: expired keys are hidden from reads, never deleted: the master's DEL does
#: that); MASTER_VIEW while a replica applies its master's stream, where an
#: expired key is still live, as Redis's expireIfNeeded answers for
#: server.master, so a command the master ran before the key expired there
#: gives the same result here (replication/replica.py sets it).
MASTER_VIEW = 2


def sizeof_bytes(b):
    """Approximate CPython allocation for a bytes object of this length."""
    return (33 + len(b) + 7) & ~7


def value_memory(value):
    t = type(value)
    if t is bytes:
        return (33 + len(value) + 7) & ~7
    if t is bytearray:
        return 57 + len(value)
    return value.memory()


def entry_memory(key, value):
    """What one key adds to ``used_memory``: its name, the per-key dict entries and
    its value (MEMORY USAGE reports it).  Keyspace.set adds the same, inlined."""
    return sizeof_bytes(key) + KEY_OVERHEAD + value_memory(value)


def type_name(value):
    t = type(value)
    if t is bytes or t is bytearray:
        return "string"
    return value.TYPE


class Keyspace:
    __slots__ = ("shard", "index", "buckets", "level", "split", "count", "expires", "heap",
                 "access", "mem", "watched", "time", "hits", "misses")

    def __init__(self, shard, index):
        self.shard = shard
        self.index = index
        self.time = shard.time
        self.watched = None
        self.hits = self.misses = 0
        self._reset()

    def _reset(self):
        self.buckets = [{}]
        self.level = 1        # bucket count at the start of this round (power of two)
        self.split = 0        # next bucket to split
        self.count = 0
        self.expires = {}
        self.heap = []
        self.access = {}
        self.mem = 0

    # -- hashing ---------------------------------------------------------
    def _bucket(self, key):
        h = hash(key)
        i = h & (self.level - 1)
        if i < self.split:
            i = h & (2 * self.level - 1)
        return self.buckets[i]

    def _grow(self):
        level = self.level
        p = self.split
        lo, hi = {}, {}
        for k, v in self.buckets[p].items():
            if hash(k) & level:
                hi[k] = v
            else:
                lo[k] = v
        self.buckets[p] = lo
        self.buckets.append(hi)
        p += 1
        if p == level:
            self.level = level * 2
            p = 0
        self.split = p

    def __len__(self):
        return self.count

    # -- lookups -----------------------------------------------------------
    def lookup_read(self, key):
        """Value for a read: lazy expiry, LRU/LFU touch and hit/miss stats."""
        h = hash(key)
        i = h & (self.level - 1)
        if i < self.split:
            i = h & (2 * self.level - 1)
        v = self.buckets[i].get(key)
        if v is None:
            self.misses += 1
            if self.shard.notifier is not None and getattr(self.shard.notifier, "key_misses", False):
                self.shard.notifier(self.index, "m", "keymiss", key)
            return None
        if self.expires and key in self.expires and self.expires[key] < self.time.ms:
            if self._expire_now(key):
                self.misses += 1
                if self.shard.notifier is not None and getattr(self.shard.notifier, "key_misses", False):
                    self.shard.notifier(self.index, "m", "keymiss", key)
                return None
        self.hits += 1
        self.touch(key)
        return v

    def lookup_write(self, key):
        """Value for a write: lazy expiry, no stats.

        Every container write starts here, so _bucket and touch are inlined."""
        h = hash(key)
        i = h & (self.level - 1)
        if i < self.split:
            i = h & (2 * self.level - 1)
        v = self.buckets[i].get(key)
        if v is None:
            return None
        if self.expires and key in self.expires and self.expires[key] < self.time.ms:
            if self._expire_now(key):
                return None
        shard = self.shard
        if shard.lfu:
            self.access[key] = shard.lfu_touch(self.access.get(key))
        elif not shard.no_touch:
            self.access[key] = self.time.lru
        return v

    def peek(self, key):
        """Value without side effects other than honouring expiry (for TYPE-less checks)."""
        v = self._bucket(key).get(key)
        if v is None:
            return None
        if self.expires and key in self.expires and self.expires[key] < self.time.ms:
            mode = self.shard.replica_mode
            if mode:
                return v if mode == MASTER_VIEW else None
            self._expire_now(key)
            return None
        return v

    def exists(self, key):
        return self.peek(key) is not None

    def get_string(self, key):
        """Read a string value (bytes) or None; WRONGTYPE for other types.

        GET's whole storage cost: a live key without a TTL is looked up,
        counted and LRU/LFU-stamped here (lookup_read and touch, inlined);
        misses and volatile keys take lookup_read."""
        h = hash(key)
        i = h & (self.level - 1)
        if i < self.split:
            i = h & (2 * self.level - 1)
        v = self.buckets[i].get(key)
        if v is None or (self.expires and key in self.expires):
            v = self.lookup_read(key)
            if v is None:
                return None
        else:
            self.hits += 1
            shard = self.shard
            if shard.lfu:
                self.access[key] = shard.lfu_touch(self.access.get(key))
            elif not shard.no_touch:
                self.access[key] = self.time.lru
        t = type(v)
        if t is bytes:
            return v
        if t is bytearray:
            return bytes(v)
        raise _WRONGTYPE

    def get_typed(self, key, cls, write=False):
        """Read a value of container class *cls* (or None), raising WRONGTYPE otherwise."""
        v = self.lookup_write(key) if write else self.lookup_read(key)
        if v is None or type(v) is cls:
            return v
        raise _WRONGTYPE

    def touch(self, key):
        shard = self.shard
        if shard.lfu:
            self.access[key] = shard.lfu_touch(self.access.get(key))
        elif not shard.no_touch:
            self.access[key] = self.time.lru

    # -- writes ----------------------------------------------------------
    def set(self, key, value, keep_ttl=False):
        """Store *value* under *key*, replacing any value (and TTL unless keep_ttl).

        This is SET's whole storage cost, so the common cases are inlined:
        the bucket lookup, a bytes value's size, the LRU stamp."""
        h = hash(key)
        i = h & (self.level - 1)
        if i < self.split:
            i = h & (2 * self.level - 1)
        bucket = self.buckets[i]
        old = bucket.get(key)
        bucket[key] = value
        shard = self.shard
        vm = ((40 + len(value)) & ~7) if type(value) is bytes else value_memory(value)
        if old is None:
            # A new list/zset may serve clients blocked on it (Redis signals in dbAdd):
            # covers RENAME, COPY, MOVE and SMOVE-like paths as well as pushes.
            if shard.waiters and type(value) is not bytes and type(value) is not bytearray \
                    and (self.index, key) in shard.waiters:
                shard.ready_keys.append((shard, self.index, key))
            self.count += 1
            self.mem += ((40 + len(key)) & ~7) + KEY_OVERHEAD + vm
            if self.count > len(self.buckets) * BUCKET_LOAD:
                self._grow()
            if shard.notifier is not None and getattr(shard.notifier, "new_keys", False):
                shard.notifier(self.index, "n", "new", key)   # class 'n' (dbAdd)
            if shard.lfu:
                self.access[key] = shard.lfu_touch(None)
            else:
                self.access[key] = self.time.lru
        else:
            self.mem += vm - (((40 + len(old)) & ~7) if type(old) is bytes else value_memory(old))
            if not keep_ttl and self.expires and key in self.expires:
                del self.expires[key]
            if shard.lfu:
                self.access[key] = shard.lfu_touch(self.access.get(key))
            else:
                self.access[key] = self.time.lru
        if self.watched is not None:
            self.signal_modified(key)

    def replace_string(self, key, old, value):
        """Overwrite the string *old* that :meth:`lookup_write` just returned
        for *key* (INCR and friends): the TTL and the LRU/LFU stamp it set stay,
        so only the value, the memory estimate and WATCH change."""
        h = hash(key)
        i = h & (self.level - 1)
        if i < self.split:
            i = h & (2 * self.level - 1)
        self.buckets[i][key] = value
        self.mem += ((40 + len(value)) & ~7) - (((40 + len(old)) & ~7) if type(old) is bytes
                                                 else value_memory(old))
        if self.watched is not None:
            self.signal_modified(key)

    def add_new(self, key, value):
        """Store a key known to be absent (after a lookup returned None)."""
        self.set(key, value)

    def delete(self, key):
        """Remove *key*; returns True if it existed (expired keys count as absent)."""
        bucket = self._bucket(key)
        v = bucket.pop(key, None)
        if v is None:
            return False
        self._forget(key, v)
        if self.expires and key in self.expires:
            when = self.expires.pop(key)
            if when < self.time.ms and not self.shard.replica_mode:
                self.shard.stats_expired += 1
                self.shard.emit(self.index, (b"DEL", key))
                self.shard.notify_expired(self.index, key)
                return False
        return True

    def pop(self, key):
        """Remove and return (value, expire_ms_or_None); None if absent."""
        v = self.lookup_write(key)
        if v is None:
            return None
        when = self.expires.get(key)
        self.delete(key)
        return v, when

    def _forget(self, key, value):
        self.count -= 1
        self.mem -= entry_memory(key, value)
        self.access.pop(key, None)
        if self.watched is not None:
            self.signal_modified(key)

    def value_resized(self, old_mem, new_mem):
        """Container ops report in-place size changes here (keeps used_memory honest)."""
        self.mem += new_mem - old_mem

    def signal_modified(self, key):
        """Invalidate WATCHes on *key* and tell modification hooks.

        Writers call it only when ``self.watched is not None``, so it costs
        nothing until something observes this keyspace (see :meth:`observe`).
        """
        watched = self.watched
        if watched:
            clients = watched.get(key)
            if clients:
                for c in clients:
                    c.watch_dirty = True
        for fn in self.shard.on_modified:
            fn(self.index, key)

    def observe(self):
        """Turn on signal_modified calls for this keyspace (WATCH, client tracking).
        ``watched`` maps key -> set of clients watching it."""
        if self.watched is None:
            self.watched = {}

    def notify(self, cls, event, key):
        """Keyspace notification hook (notify-keyspace-events); free when unset."""
        fn = self.shard.notifier
        if fn is not None:
            fn(self.index, cls, event, key)

    def clear(self):
        """FLUSHDB for this slice.  Returns the number of keys removed."""
        n = self.count
        if self.watched:
            for key in list(self.watched):
                # stored at all (no lazy expiry here: it would emit a DEL before FLUSHDB)
                if self._bucket(key).get(key) is not None:
                    self.signal_modified(key)
        self._reset()
        return n

    # -- expiry ----------------------------------------------------------
    def get_expire(self, key):
        return self.expires.get(key) if self.expires else None

    def set_expire(self, key, when_ms):
        self.expires[key] = when_ms
        heapq.heappush(self.heap, (when_ms, key))
        if len(self.heap) > 2 * len(self.expires) + 1024:
            self._compact_heap()
        if self.watched is not None:
            self.signal_modified(key)

    def persist(self, key):
        if self.expires and self.expires.pop(key, None) is not None:
            if self.watched is not None:
                self.signal_modified(key)
            return True
        return False

    def _compact_heap(self):
        # Stale entries (TTL changed or key gone) pile up when TTLs are rewritten
        # often; rebuilding keeps the heap within 2x of the live volatile keys.
        self.heap = [(w, k) for k, w in self.expires.items()]
        heapq.heapify(self.heap)

    def _expire_now(self, key):
        """Delete an expired key and propagate DEL.  Replicas only hide it (True),
        except from their master's commands (MASTER_VIEW: the key is still live)."""
        mode = self.shard.replica_mode
        if mode:
            return mode != MASTER_VIEW
        bucket = self._bucket(key)
        v = bucket.pop(key, None)
        if v is None:
            return False
        del self.expires[key]
        self._forget(key, v)
        self.shard.stats_expired += 1
        self.shard.emit(self.index, (b"DEL", key))
        self.shard.notify_expired(self.index, key)
        return True

    def expire_due(self, now_ms, deadline_check, limit):
        """Active expiry: pop due heap entries; returns how many keys expired."""
        heap = self.heap
        expires = self.expires
        n = 0
        checked = 0
        while heap and heap[0][0] < now_ms:
            when, key = heapq.heappop(heap)
            if expires.get(key) == when:
                if self._expire_now(key):
                    n += 1
            checked += 1
            if checked >= limit or (checked & 15 == 0 and deadline_check()):
                break
        return n

    # -- iteration / sampling ------------------------------------------------
    def scan(self, cursor, count, visit):
        """One SCAN step over this slice, Redis's reverse-binary cursor.

        Calls ``visit(key, value)`` for every key in the visited buckets and
        returns the next cursor (0 when done).  A key present for the whole scan
        is visited at least once, even if buckets split in between.
        """
        visited = 0
        buckets_left = max(count, 1) * 10   # as Redis: bound the empty buckets walked per call
        while True:
            level = self.level
            mask = level - 1
            i = cursor & mask
            buckets = [self.buckets[i]]
            if i < self.split:
                buckets.append(self.buckets[i + level])
            for b in buckets:
                for k, v in list(b.items()):
                    visit(k, v)
                    visited += 1
            # reverse-binary increment over `mask` bits
            cursor |= ~mask
            cursor = _rev(cursor & 0xFFFFFFFFFFFFFFFF)
            cursor = (cursor + 1) & 0xFFFFFFFFFFFFFFFF
            cursor = _rev(cursor)
            buckets_left -= 1
            if cursor == 0 or visited >= count or buckets_left <= 0:
                return cursor

    def iter_keys(self):
        for b in self.buckets:
            yield from b

    def iter_items(self):
        for b in self.buckets:
            yield from b.items()

    def random_key(self, tries=64):
        """A random live key (None if empty): pick a random non-empty bucket, then a key."""
        if not self.count:
            return None
        buckets = self.buckets
        for _ in range(tries * 4):
            b = buckets[random.randrange(len(buckets))]
            if b:
                n = len(b)
                k = next(iter(b)) if n == 1 else _nth(b, random.randrange(n))
                if self.exists(k):
                    return k
                if not self.count:
                    return None
        for b in self.buckets:
            for k in list(b):
                if self.exists(k):
                    return k
        return None

    def sample(self, n):
        """Up to *n* random keys (may repeat) for eviction, O(n)."""
        out = []
        if not self.count:
            return out
        buckets = self.buckets
        for _ in range(n * 4):
            b = buckets[random.randrange(len(buckets))]
            if b:
                out.append(_nth(b, random.randrange(len(b))))
                if len(out) >= n:
                    break
        return out

    def sample_volatile(self, n):
        """Up to *n* keys with a TTL: taken from heap positions (random-ish, O(n))."""
        heap = self.heap
        out = []
        for _ in range(n * 2):
            if not heap:
                break
            when, key = heap[random.randrange(len(heap))]
            if self.expires.get(key) == when:
                out.append(key)
                if len(out) >= n:
                    break
        return out


def _nth(d, i):
    it = iter(d)
    for _ in range(i):
        next(it)
    return next(it)


def _rev(v):
    """Reverse the bits of a 64-bit unsigned integer."""
    return int(format(v, "064b")[::-1], 2)
