"""The list value (Redis's quicklist).

Layout: one ``collections.deque`` of ``bytes``.  Pushes and pops at either end
are O(1) like the quicklist; indexing the middle (LINDEX, LSET, the start of
an LRANGE) walks deque blocks of 64 slots from the nearer end, O(n/64), where
the quicklist walks nodes, O(n) -- the same shape.  Measured in-process on
this box (``timeit``): push/pop ~60 ns, ``d[n // 2]`` ~30 us at n = 10 M.

``encoding()`` is always ``quicklist``: Redis 7.0.15 creates every list as a
quicklist (OBJECT ENCODING answers ``quicklist`` even for one element; the
``listpack`` list encoding only arrived in Redis 7.2), so no threshold applies.

Public API (used by the list commands, SORT and COPY):

* ``len(l)``, ``iter(l)``, ``l.items`` (the deque, read-only for callers);
* ``l.push(values, head)``, ``l.pop(head)`` -> one value, ``l.pop_many(n, head)``;
* ``l.get(index)`` -> value or None, ``l.set(index, value)`` -> bool
  (indexes may be negative, as in Redis);
* ``l.range(start, stop)`` with normalised inclusive bounds;
* ``l.insert(pivot, value, after)`` -> bool, ``l.remove(value, count)`` -> removed,
  ``l.trim(left, right)``, ``l.positions(value, rank, count, maxlen)``;
* ``l.memory()``, ``l.copy()``, ``l.encoding()``, ``TYPE = "list"``.

Mutating methods keep ``memory()`` current; the caller reports the change to
the keyspace with ``ks.value_resized(old, new)``.
"""

from collections import deque
from itertools import islice

#: Per-element overhead estimate: the deque slot (8 bytes, blocks of 64).
ELEMENT_OVERHEAD = 8
#: The object, its deque header and first block.
BASE_OVERHEAD = 700

_U64 = 1 << 64


def element_memory(value):
    """Approximate CPython allocation of a bytes element plus its deque slot."""
    return ((33 + len(value) + 7) & ~7) + ELEMENT_OVERHEAD


def _wrap64(v):
    """Two's-complement int64 wrap-around, for C arithmetic Redis leaves unchecked."""
    v &= _U64 - 1
    return v - _U64 if v >= 1 << 63 else v


class ListValue:
    __slots__ = ("items", "mem")

    TYPE = "list"

    def __init__(self, values=()):
        self.items = deque(values)
        mem = BASE_OVERHEAD
        for v in self.items:
            mem += ((33 + len(v) + 7) & ~7) + ELEMENT_OVERHEAD
        self.mem = mem

    def __len__(self):
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def __repr__(self):
        return "ListValue(%r)" % (list(self.items),)

    # -- the value-class protocol --------------------------------------------
    def encoding(self):
        return "quicklist"

    def memory(self):
        return self.mem

    def copy(self):
        new = ListValue.__new__(ListValue)
        new.items = deque(self.items)     # bytes are immutable: sharing them is a deep copy
        new.mem = self.mem
        return new

    # -- ends ---------------------------------------------------------------
    def push(self, values, head):
        """Push each value in turn (LPUSH a b c leaves c first, as Redis)."""
        items = self.items
        add = items.appendleft if head else items.append
        mem = 0
        for v in values:
            add(v)
            mem += ((33 + len(v) + 7) & ~7) + ELEMENT_OVERHEAD
        self.mem += mem

    def push_one(self, value, head):
        if head:
            self.items.appendleft(value)
        else:
            self.items.append(value)
        self.mem += ((33 + len(value) + 7) & ~7) + ELEMENT_OVERHEAD

    def pop(self, head):
        """Remove and return one element from the head or the tail (the list is non-empty)."""
        v = self.items.popleft() if head else self.items.pop()
        self.mem -= ((33 + len(v) + 7) & ~7) + ELEMENT_OVERHEAD
        return v

    def pop_many(self, n, head):
        """Up to *n* elements in pop order (RPOP 2 on [a b c] gives [c b])."""
        items = self.items
        n = min(n, len(items))
        take = items.popleft if head else items.pop
        out = [take() for _ in range(n)]
        mem = 0
        for v in out:
            mem += ((33 + len(v) + 7) & ~7) + ELEMENT_OVERHEAD
        self.mem -= mem
        return out

    # -- by index ---------------------------------------------------------
    def get(self, index):
        items = self.items
        n = len(items)
        if index < 0:
            index += n
        if 0 <= index < n:
            return items[index]
        return None

    def set(self, index, value):
        items = self.items
        n = len(items)
        if index < 0:
            index += n
        if not 0 <= index < n:
            return False
        old = items[index]
        items[index] = value
        self.mem += ((33 + len(value) + 7) & ~7) - ((33 + len(old) + 7) & ~7)
        return True

    def range(self, start, stop):
        """Elements start..stop inclusive (0 <= start <= stop < len), walked from the nearer end."""
        items = self.items
        n = len(items)
        if start == 0 and stop == n - 1:
            return list(items)
        if start > n - 1 - stop:
            # nearer to the tail: walk backwards and reverse the slice
            out = list(islice(reversed(items), n - 1 - stop, n - start))
            out.reverse()
            return out
        return list(islice(items, start, stop + 1))

    # -- searches and edits ----------------------------------------------
    def insert(self, pivot, value, after):
        """Insert next to the first *pivot* from the head; False when there is none."""
        items = self.items
        for i, v in enumerate(items):
            if v == pivot:
                items.insert(i + 1 if after else i, value)
                self.mem += ((33 + len(value) + 7) & ~7) + ELEMENT_OVERHEAD
                return True
        return False

    def remove(self, value, count):
        """LREM: drop up to |count| matches from the head (count > 0), the tail
        (count < 0) or all of them (0); returns how many were removed."""
        items = self.items
        limit = abs(count) if count else len(items)
        if count < 0:
            source = reversed(items)
        else:
            source = iter(items)
        kept = []
        removed = 0
        for v in source:
            if removed < limit and v == value:
                removed += 1
            else:
                kept.append(v)
        if removed:
            if count < 0:
                kept.reverse()
            self.items = deque(kept)
            self.mem -= removed * (((33 + len(value) + 7) & ~7) + ELEMENT_OVERHEAD)
        return removed

    def trim(self, left, right):
        """Drop *left* elements from the head and *right* from the tail."""
        items = self.items
        mem = 0
        for _ in range(left):
            v = items.popleft()
            mem += ((33 + len(v) + 7) & ~7) + ELEMENT_OVERHEAD
        for _ in range(right):
            v = items.pop()
            mem += ((33 + len(v) + 7) & ~7) + ELEMENT_OVERHEAD
        self.mem -= mem

    def positions(self, value, rank, count, maxlen):
        """LPOS: indexes of matches, following Redis 7.0.15's loop exactly.

        *rank* (non-zero) picks the first match to report and, when negative,
        searches from the tail; *count* None means "no COUNT" (one index or
        None), 0 means all.  ``-rank`` of LONG_MIN overflows in C and stays
        negative, so every match qualifies and the COUNT test (done in wrapped
        int64 arithmetic) never stops the scan: Redis 7.0.15 answers that way.
        """
        items = self.items
        n = len(items)
        if rank < 0:
            rank = _wrap64(-rank)      # stays LONG_MIN for LONG_MIN, as in C
            it = reversed(items)
            backwards = True
        else:
            it = iter(items)
            backwards = False
        if maxlen:
            it = islice(it, maxlen)
        out = []
        matches = 0
        for i, v in enumerate(it):
            if v == value:
                matches += 1
                if matches >= rank:
                    idx = n - i - 1 if backwards else i
                    if count is None:
                        return idx
                    out.append(idx)
                    if count and _wrap64(matches - rank + 1) >= count:
                        break
        return None if count is None else out
