"""The set value: an intset (sorted int64s) or a hashtable (a :class:`Table`).

Redis 7.0 has exactly these two set encodings (listpack sets came in 7.2).  A
set is an intset while every member is an integer as Redis's
``isSdsRepresentableAsLongLong`` sees it (strict string2ll: no leading zeros,
no ``+``, no spaces, no ``-0``, int64 range) and it holds at most
``set-max-intset-entries`` members; the first non-integer member or one member
too many converts it to a hashtable for good (removing members never converts
back).  Callers pass that limit in, read from the config.

The intset is a sorted Python list of ints, as Redis's is a sorted array:
membership is a bisect, insertion and removal move the tail (O(n), as
``intsetAdd``/``intsetRemove``), iteration is ascending -- which is why
SMEMBERS of an intset is sorted in Redis, and here.  The hashtable is a
:class:`~redislite.storage.types.hash.Table` without values: O(1) membership,
O(1) random member (SPOP/SRANDMEMBER) and a compaction-proof SSCAN cursor.
"""

import random
from bisect import bisect_left

from ...commands.args import to_int
from .hash import Table, entry_memory

__all__ = ["SetValue", "DEFAULT_MAX_INTSET", "max_intset_from"]

#: Redis 7.0's set-max-intset-entries default.
DEFAULT_MAX_INTSET = 512
#: setTypeAdd caps the limit "due to intset internals".
_INTSET_CAP = 1 << 30
BASE_OVERHEAD = 120
INT_OVERHEAD = 40          # int object + list slot


def max_intset_from(config):
    return config["set-max-intset-entries"]


class SetValue:
    """A Redis set of bytes members."""

    TYPE = "set"
    __slots__ = ("ints", "t", "mem")

    def __init__(self, intset=True):
        self.ints = [] if intset else None
        self.t = None if intset else Table(False)
        self.mem = BASE_OVERHEAD

    @classmethod
    def create(cls, first_member):
        """setTypeCreate: an intset when the first member is an integer, else a hashtable."""
        return cls(to_int(first_member) is not None)

    @classmethod
    def build(cls, members, max_intset):
        """A new set from an iterable, as Redis builds result sets: start as an
        intset and setTypeAdd each member (so the encoding follows the rules)."""
        s = cls(True)
        for m in members:
            s.add(m, max_intset)
        return s

    def __len__(self):
        ints = self.ints
        return len(ints) if ints is not None else len(self.t.pos)

    def __repr__(self):
        return "SetValue(%s, %r)" % (self.encoding(), self.members())

    def encoding(self):
        return "intset" if self.ints is not None else "hashtable"

    def memory(self):
        return self.mem

    def copy(self):
        s = SetValue(self.ints is not None)
        if self.ints is not None:
            s.ints = list(self.ints)
        else:
            s.t = self.t.copy()
        s.mem = self.mem
        return s

    # -- conversion ------------------------------------------------------------------
    def _to_hashtable(self):
        t = Table(False)
        for i in self.ints:
            t.add(b"%d" % i)
        self.mem = BASE_OVERHEAD + sum(entry_memory(k) for k in t.keys)
        self.ints = None
        self.t = t

    # -- membership -------------------------------------------------------------------
    def __contains__(self, member):
        ints = self.ints
        if ints is None:
            return member in self.t.pos
        v = to_int(member)
        if v is None:
            return False
        i = bisect_left(ints, v)
        return i < len(ints) and ints[i] == v

    def add(self, member, max_intset=DEFAULT_MAX_INTSET):
        """setTypeAdd: True when *member* is new.  May convert to a hashtable."""
        ints = self.ints
        if ints is not None:
            v = to_int(member)
            if v is not None:
                i = bisect_left(ints, v)
                if i < len(ints) and ints[i] == v:
                    return False
                ints.insert(i, v)
                self.mem += INT_OVERHEAD
                if len(ints) > min(max_intset, _INTSET_CAP):
                    self._to_hashtable()
                return True
            self._to_hashtable()
        if self.t.add(member):
            self.mem += entry_memory(member)
            return True
        return False

    def remove(self, member):
        """setTypeRemove: True when *member* was there."""
        ints = self.ints
        if ints is None:
            if self.t.remove(member) is None:
                return False
            self.mem -= entry_memory(member)
            return True
        v = to_int(member)
        if v is None:
            return False
        i = bisect_left(ints, v)
        if i < len(ints) and ints[i] == v:
            del ints[i]
            self.mem -= INT_OVERHEAD
            return True
        return False

    # -- iteration --------------------------------------------------------------------
    def members(self):
        """Every member in setTypeNext order (ascending for an intset)."""
        ints = self.ints
        if ints is not None:
            return [b"%d" % i for i in ints]
        return [k for k in self.t.keys if k is not None]

    def __iter__(self):
        ints = self.ints
        if ints is not None:
            return (b"%d" % i for i in ints)
        return self.t.iter_keys()

    def random_member(self):
        """setTypeRandomElement on a non-empty set."""
        ints = self.ints
        if ints is not None:
            return b"%d" % ints[random.randrange(len(ints))]
        t = self.t
        return t.keys[t.random_slot()]

    def scan(self, cursor, count):
        """(next_cursor, members): an intset comes back whole with cursor 0, as
        Redis's scanGenericCommand returns non-hashtable encodings."""
        if self.ints is not None:
            return 0, self.members()
        t = self.t
        nxt, slots = t.scan(cursor, count)
        keys = t.keys
        return nxt, [keys[i] for i in slots]
