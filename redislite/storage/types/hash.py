"""The hash value, and :class:`Table`, the slot table hashes and sets share.

Why a table and not a plain dict: HRANDFIELD/SRANDMEMBER/SPOP need a random
element in O(1), and HSCAN/SSCAN need a cursor that survives writes between
calls (every element present for the whole iteration is returned).  A dict
offers neither.  :class:`Table` keeps

* ``keys`` (and ``vals`` for hashes): insertion-ordered slot lists; a deleted
  slot becomes ``None`` (a tombstone), an update replaces the value in place;
* ``pos``: key -> slot index, for O(1) lookups;
* ``seqs``: the sequence number each slot got when it was appended (strictly
  increasing).  A scan cursor is a sequence number, not a slot index, so it
  stays valid when :meth:`Table._compact` squeezes the tombstones out (done
  once they are more than half the slots: amortised O(1) per delete).

The slot order is exactly a listpack's order (append on insert, update in
place, delete closes the gap), so HGETALL/HKEYS/HSCAN on a hash that Redis
keeps as a listpack come out in Redis's own order.

``HashValue.encoding()`` is ``listpack`` until the hash first exceeds
``hash-max-listpack-entries`` fields or gets a field/value longer than
``hash-max-listpack-value`` bytes (the callers apply Redis's checks with the
limits they read from the config), then ``hashtable`` for good: Redis never
converts a hash back.  Both encodings use the same table, so converting costs
nothing.
"""

import random
from array import array
from bisect import bisect_left

__all__ = ["Table", "HashValue", "DEFAULT_LIMITS", "limits_from", "entry_memory"]

#: Redis 7.0.15's compiled defaults (hash-max-listpack-entries, hash-max-listpack-value).
DEFAULT_LIMITS = (512, 64)

#: Per-entry overhead estimate: dict entry + list slot(s) + seq number.
ENTRY_OVERHEAD = 72
BASE_OVERHEAD = 240
_COMPACT_MIN = 16


def limits_from(config):
    """``(hash-max-listpack-entries, hash-max-listpack-value)`` from a Config."""
    return (config["hash-max-listpack-entries"], config["hash-max-listpack-value"])


def _bytes_mem(b):
    return (33 + len(b) + 7) & ~7


def entry_memory(key, value=None):
    """Estimated bytes one entry costs (key, optional value, overhead)."""
    m = _bytes_mem(key) + ENTRY_OVERHEAD
    if value is not None:
        m += _bytes_mem(value)
    return m


class Table:
    """Insertion-ordered keys (optionally with values): O(1) get/set/delete,
    O(1) expected random slot, and a scan cursor that survives compaction."""

    __slots__ = ("pos", "keys", "vals", "seqs", "holes", "next_seq")

    def __init__(self, with_values=True):
        self.pos = {}
        self.keys = []
        self.vals = [] if with_values else None
        self.seqs = array("q")
        self.holes = 0
        self.next_seq = 1

    def __len__(self):
        return len(self.pos)

    def __contains__(self, key):
        return key in self.pos

    def get(self, key):
        i = self.pos.get(key)
        return None if i is None else self.vals[i]

    def put(self, key, value):
        """Insert or update; returns True when *key* is new."""
        i = self.pos.get(key)
        if i is not None:
            self.vals[i] = value
            return False
        self._append(key)
        self.vals.append(value)
        return True

    def add(self, key):
        """Insert a key (tables without values); True when new."""
        if key in self.pos:
            return False
        self._append(key)
        return True

    def _append(self, key):
        self.pos[key] = len(self.keys)
        self.keys.append(key)
        self.seqs.append(self.next_seq)
        self.next_seq += 1

    def remove(self, key):
        """Delete *key*; returns its slot's value (or True for key-only tables), None if absent."""
        i = self.pos.pop(key, None)
        if i is None:
            return None
        self.keys[i] = None
        if self.vals is not None:
            value = self.vals[i]
            self.vals[i] = None
        else:
            value = True
        self.holes += 1
        if not self.pos:
            self.keys.clear()
            if self.vals is not None:
                self.vals.clear()
            del self.seqs[:]
            self.holes = 0
        elif self.holes > _COMPACT_MIN and self.holes * 2 > len(self.keys):
            self._compact()
        return value

    def _compact(self):
        keys, vals, seqs = self.keys, self.vals, self.seqs
        live = [i for i, k in enumerate(keys) if k is not None]
        self.keys = [keys[i] for i in live]
        if vals is not None:
            self.vals = [vals[i] for i in live]
        self.seqs = array("q", [seqs[i] for i in live])
        self.pos = {k: i for i, k in enumerate(self.keys)}
        self.holes = 0

    # -- iteration -------------------------------------------------------------------
    def iter_keys(self):
        for k in self.keys:
            if k is not None:
                yield k

    def iter_items(self):
        for k, v in zip(self.keys, self.vals):
            if k is not None:
                yield k, v

    def live_slots(self):
        """Slot indexes of live entries, in order (O(slots))."""
        return [i for i, k in enumerate(self.keys) if k is not None]

    def random_slot(self):
        """A uniformly random live slot (tombstones are at most half the slots)."""
        keys = self.keys
        n = len(keys)
        rnd = random.randrange
        while True:
            i = rnd(n)
            if keys[i] is not None:
                return i

    def scan(self, cursor, count):
        """One scan step: ``(next_cursor, [slot, ...])``.

        Visits up to *count* live slots from the first slot whose sequence
        number is >= *cursor*, and at most ``10 * count`` slots in all (Redis
        bounds the empty buckets one call walks the same way).  The next cursor
        is the sequence number of the next slot, or 0 at the end.
        """
        keys = self.keys
        n = len(keys)
        i = bisect_left(self.seqs, cursor) if cursor else 0
        out = []
        budget = max(count, 1) * 10
        while i < n and len(out) < count and budget > 0:
            if keys[i] is not None:
                out.append(i)
            i += 1
            budget -= 1
        while i < n and keys[i] is None and budget > 0:
            i += 1
            budget -= 1
        return (self.seqs[i] if i < n else 0), out

    def copy(self):
        t = Table(self.vals is not None)
        t.keys = [k for k in self.keys if k is not None]
        if self.vals is not None:
            t.vals = [v for k, v in zip(self.keys, self.vals) if k is not None]
        t.seqs = array("q", range(1, len(t.keys) + 1))
        t.next_seq = len(t.keys) + 1
        t.pos = {k: i for i, k in enumerate(t.keys)}
        return t


class HashValue:
    """A Redis hash: field -> value (bytes), listpack or hashtable encoded."""

    TYPE = "hash"
    __slots__ = ("t", "ht", "mem")

    def __init__(self):
        self.t = Table(True)
        self.ht = False
        self.mem = BASE_OVERHEAD

    def __len__(self):
        return len(self.t.pos)

    def __contains__(self, field):
        return field in self.t.pos

    def __repr__(self):
        return "HashValue(%r)" % (dict(self.t.iter_items()),)

    def encoding(self):
        return "hashtable" if self.ht else "listpack"

    def memory(self):
        return self.mem

    def copy(self):
        h = HashValue()
        h.t = self.t.copy()
        h.ht = self.ht
        h.mem = self.mem
        return h

    # -- reads ------------------------------------------------------------------------
    def get(self, field):
        t = self.t
        i = t.pos.get(field)
        return None if i is None else t.vals[i]

    def items(self):
        return self.t.iter_items()

    def fields(self):
        return self.t.iter_keys()

    def values(self):
        t = self.t
        return [v for k, v in zip(t.keys, t.vals) if k is not None]

    # -- writes -------------------------------------------------------------------------
    def try_conversion(self, args, max_value):
        """hashTypeTryConversion: any argument longer than the value limit makes it a hashtable."""
        if not self.ht:
            for a in args:
                if len(a) > max_value:
                    self.ht = True
                    return

    def set(self, field, value, limits):
        """hashTypeSet: insert or update; 1 when the field is new, else 0 (HSET's reply).

        Applies the listpack checks Redis makes here: a field or value longer
        than the value limit converts first (HINCRBY* reach this without
        try_conversion), too many entries convert after.
        """
        t = self.t
        pos = t.pos
        i = pos.get(field)
        if not self.ht and (len(field) > limits[1] or len(value) > limits[1]):
            self.ht = True
        # HSET's storage cost: the sizes (_bytes_mem, entry_memory) and Table._append inlined
        if i is not None:
            vals = t.vals
            n = len(vals[i])
            vals[i] = value
            if n != len(value):
                self.mem += ((40 + len(value)) & ~7) - ((40 + n) & ~7)
            return 0
        keys = t.keys
        pos[field] = len(keys)
        keys.append(field)
        t.seqs.append(t.next_seq)
        t.next_seq += 1
        t.vals.append(value)
        self.mem += ((40 + len(field)) & ~7) + ((40 + len(value)) & ~7) + ENTRY_OVERHEAD
        if not self.ht and len(pos) > limits[0]:
            self.ht = True
        return 1

    def delete(self, field):
        """hashTypeDelete: True when the field existed."""
        value = self.t.remove(field)
        if value is None:
            return False
        self.mem -= entry_memory(field, value)
        return True

    # -- sampling / scanning --------------------------------------------------------------
    def random_item(self):
        t = self.t
        i = t.random_slot()
        return t.keys[i], t.vals[i]

    def scan(self, cursor, count):
        """(next_cursor, [(field, value)]): a listpack hash comes back whole with cursor 0,
        as Redis's scanGenericCommand returns non-hashtable encodings in one go."""
        t = self.t
        if not self.ht:
            return 0, list(t.iter_items())
        nxt, slots = t.scan(cursor, count)
        keys, vals = t.keys, t.vals
        return nxt, [(keys[i], vals[i]) for i in slots]
