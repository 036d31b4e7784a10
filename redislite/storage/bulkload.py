"""Bulk insertion of decoded keys into the shards' keyspaces (snapshot loading).

Why this exists: ``Keyspace.set`` is the path for commands, and per key it
looks up the old value, checks blocked clients, keyspace notifications, WATCH
and LFU, and grows the linear-hashing table one bucket at a time (each split
rehashes ~16 keys, so a key is moved about twice over a load from empty).
Loading a 1,000,000-key RDB through ``set``/``set_expire`` spent more time
there than in decoding the file (see docs/persistence.md, "Measured").  A load
fills keyspaces that nothing observes yet (clients get ``-LOADING``), so this
module inserts a whole batch of decoded keys in one loop and sizes the bucket
table up front from the RDB's RESIZEDB hint, keeping every invariant that
``Keyspace.set`` / ``Keyspace.set_expire`` maintain:

* ``buckets``/``level``/``split``: the linear-hashing table.  A key goes to the
  bucket ``Keyspace._bucket`` would pick; afterwards ``ks._grow()`` runs while
  ``count > len(buckets) * BUCKET_LOAD``, the condition ``set`` checks, so
  the table ends exactly as a key-by-key load leaves it.  :func:`presize`
  gives an *empty* keyspace the table ``set`` would have built after the
  expected number of keys (``len(buckets) == ceil(n / BUCKET_LOAD)``, with
  ``len(buckets) == level + split`` as always), so no key is rehashed;
* ``count`` and ``mem`` (``sizeof_bytes(key) + KEY_OVERHEAD +
  value_memory(value)`` per new key; the bytes formula is inlined);
* ``expires`` and the ``heap`` of ``(when, key)`` (``set_expire``);
* ``access``: the LRU clock of the load, or the LFU initial value;
* a key already present is replaced as ``set`` does (its old TTL dropped).

A keyspace that is observed (WATCH/tracking: ``watched`` set), has clients
blocked on its shard, or sends "new key" notifications takes the plain
``set``/``set_expire`` path, so none of those hooks is ever skipped.

Keep this in step with keyspace.py: tests/unit/test_rdb.py loads the same
data both ways and compares every field.
"""

import heapq
from binascii import crc_hqx

from ..actors.router import key_slot
from .keyspace import BUCKET_LOAD, KEY_OVERHEAD, value_memory

__all__ = ["BulkLoader", "presize", "insert"]


def presize(ks, expected):
    """Give an *empty* keyspace the bucket table ``set`` builds for *expected* keys."""
    if ks.count or expected <= BUCKET_LOAD:
        return
    nb = -(-expected // BUCKET_LOAD)
    if nb <= len(ks.buckets):
        return
    level = 1 << (nb.bit_length() - 1)
    ks.buckets = [{} for _ in range(nb)]
    ks.level = level
    ks.split = nb - level


def _plain(ks):
    """True when inserting must go through Keyspace.set (something observes it)."""
    shard = ks.shard
    notifier = shard.notifier
    return (ks.watched is not None or bool(shard.waiters)
            or (notifier is not None and getattr(notifier, "new_keys", False)))


def insert(ks, keys, values, expires=()):
    """Insert ``keys[i] -> values[i]`` into *ks*.

    *expires* is ``[(when_ms, key)]`` for the keys of this batch that carry a
    TTL, in the order of *keys* and holding the very same key objects (the
    decoder builds both), which is how a TTL is matched to its key.
    """
    if _plain(ks):
        _one_by_one(ks, keys, values, expires)
        return
    buckets = ks.buckets
    level = ks.level
    split = ks.split
    lo = level - 1
    hi = 2 * level - 1
    mem = 0
    added = 0
    for key, value in zip(keys, values):
        h = hash(key)
        i = h & lo
        if i < split:
            i = h & hi
        b = buckets[i]
        if key in b:
            break           # a duplicate: the rest goes through set() (below)
        b[key] = value
        added += 1
        # sizeof_bytes(key) + value_memory(value), bytes inlined (+ KEY_OVERHEAD below)
        if type(value) is bytes:
            mem += ((len(key) + 40) & ~7) + ((len(value) + 40) & ~7)
        else:
            mem += ((len(key) + 40) & ~7) + value_memory(value)
    rest = None
    if added < len(keys):
        done = keys[:added]
        e = 0
        for key in done:
            if e < len(expires) and expires[e][1] is key:
                e += 1
        rest = (keys[added:], values[added:], expires[e:])
        expires = expires[:e]
    else:
        done = keys
    shard = ks.shard
    ks.count += added
    ks.mem += mem + KEY_OVERHEAD * added
    ks.access.update(dict.fromkeys(done, shard.lfu_touch(None) if shard.lfu else ks.time.lru))
    if expires:
        exp = ks.expires
        heap = ks.heap
        push = heapq.heappush
        for item in expires:
            exp[item[1]] = item[0]
            push(heap, item)
        if len(heap) > 2 * len(exp) + 1024:
            ks._compact_heap()
    limit = BUCKET_LOAD
    while ks.count > len(ks.buckets) * limit:
        ks._grow()
    if rest is not None:
        _one_by_one(ks, *rest)


def _one_by_one(ks, keys, values, expires):
    """The exact Keyspace.set / set_expire sequence (observed keyspaces, duplicates)."""
    it = iter(expires)
    nxt = next(it, None)
    for key, value in zip(keys, values):
        ks.set(key, value)
        if nxt is not None and nxt[1] is key:
            ks.set_expire(key, nxt[0])
            nxt = next(it, None)


class BulkLoader:
    """Routes batches of decoded keys to their shards (as ``Router.shard_for``)
    and inserts them with :func:`insert`.

    ``hint(db, n)`` passes the RDB's RESIZEDB count for *db*; the first batch
    of that db then presizes each (still empty) shard keyspace for its share,
    estimated from how that batch spread over the shards (so hash tags that
    pile keys on one shard are sized for, too).
    """

    def __init__(self, server):
        self.shards = server.shards
        self.n = n = len(self.shards)
        self.hints = {}
        # shard index by CRC16 value (or by slot, which is < 16384): Router.shard_for
        self.table = [(c & 16383) % n for c in range(65536)] if n > 1 else None
        self.zeros = []

    def hint(self, db, keys):
        """RESIZEDB: *db* holds about *keys* keys (expired ones included)."""
        self.hints[db] = [keys, 0, 0, set()]       # expected, inserted, dropped, shards seen

    def _slots(self, keys):
        """CRC16 (or hash slot, with {tags}) per key: table indexes for _route."""
        if b"{" in b"".join(keys):
            return [key_slot(k) for k in keys]
        zeros = self.zeros
        if len(zeros) < len(keys):
            zeros = self.zeros = [0] * len(keys)
        return map(crc_hqx, keys, zeros)

    def _route(self, keys, values, expires):
        n = self.n
        table = self.table
        pk = [[] for _ in range(n)]
        pv = [[] for _ in range(n)]
        pe = [[] for _ in range(n)]
        ka = [lst.append for lst in pk]
        va = [lst.append for lst in pv]
        for key, value, c in zip(keys, values, self._slots(keys)):
            s = table[c]
            ka[s](key)
            va[s](value)
        if expires:
            for item, c in zip(expires, self._slots([k for _, k in expires])):
                pe[table[c]].append(item)
        return list(zip(pk, pv, pe))

    def _presize(self, db, hint, parts):
        """Size each keyspace of *db* when it gets its first batch (if still empty).

        CRC16 spreads keys evenly over the shards, so each gets ``expected / n``
        (RedisLite writes its snapshots shard after shard, so a batch says
        nothing about the spread).  The estimate is scaled by the share of
        keys kept so far (expired keys are skipped) and kept four standard
        deviations low, so the last buckets grow as usual and the table ends
        exactly as a key-by-key load leaves it (growing the last 10% cost ~5%
        of a 1M-key load).  With {hash tags} piling keys on a shard,
        that shard grows as usual and the others get a sparser table.
        """
        expected, inserted, dropped, seen = hint      # inserted: before this batch
        n = self.n
        kept = inserted + sum(len(k) for k, _, _ in parts)
        expected = expected * kept // (kept + dropped)
        share = expected / n
        # 4 standard deviations of a shard's binomial share below the mean
        # (0.9 at 1,500 keys a shard, 0.99 at 250,000)
        low = max(0.5, 1 - 4 / share ** 0.5) if share > 16 else 0.5
        for i, (k, _, _) in enumerate(parts):
            if k and i not in seen:
                seen.add(i)
                presize(self.shards[i].dbs[db], min(int(share * low), expected - inserted))

    def insert(self, db, keys, values, expires=(), dropped=0):
        """Insert a batch into *db*; *dropped* is how many keys the decoder skipped
        while reading it (expired), which scales a pending size hint."""
        shards = self.shards
        if self.n == 1:
            parts = [(keys, values, expires)]
        else:
            parts = self._route(keys, values, expires)
        hint = self.hints.get(db)
        if hint is not None:
            hint[2] += dropped
            if len(hint[3]) < self.n:
                self._presize(db, hint, parts)
            hint[1] += len(keys)
        for shard, (k, v, e) in zip(shards, parts):
            if k:
                insert(shard.dbs[db], k, v, e)
