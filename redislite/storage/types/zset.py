"""The sorted set value (Redis's zset).

Layout: ``scores`` is a dict member -> score (O(1) ZSCORE / membership) and
``sl`` a :class:`~.zsorted.ScoreList` of the (score, member) pairs in the
order of Redis's skiplist (score, then memcmp of the member; Python ``bytes``
compare with memcmp).  It is a list of sublists like sortedcontainers'
SortedList (which it replaced), but the scores live in ``array('d')``s, so a
bisect reads contiguous doubles instead of one tuple and one float object per
probe; members are only compared inside a run of equal scores.  Rank and
score/lex ranges are bisects (O(log n)) plus the m results copied a sublist
slice at a time, i.e. O(log n + m) like the skiplist.

Measured in-process (best of 7-9 with ``time.thread_time``; the ZSet.add
script is in tests/unit/test_zsorted.py's docstring; 2-core host, figures
swing ~2x with the load, the ratios are what count), before -> after:

    ZSet.add, random member and score (63k -> 99k members)   12.2 -> 4.8-5.1 us
    rank of a random member (63k)                              6.5 -> 3.8 us
    range_by_score, ~63 results (63k)                         63   -> 10 us
    range_by_score, window of 10:  10k / 1M members            2.6 / 2.9 us (1.1x)
    ZADD through the protocol (StringTransport, one request per read,
      63k-member set; SET on the same server for scale)       23.7 -> 15.7 us (SET 8.0-8.6)
    a small score move that keeps its neighbours (in place)    7.5 -> 5.2 us

ZADD gets there by: the scores bisected as doubles; the update as one fused
ScoreList.move (old place, new place; written in place when the new score
stays strictly between its neighbours); one dict lookup per member; and
ZADD/ZINCRBY as shard ops (limits from ``shard.zset_limits``).

Later (2026-11-26), redis-benchmark's ZADD shape (one pair, integer score,
63k-member set, random members and scores), before -> after: the zadd
handler called directly 5.67 -> 4.82 us, through the protocol
(RedisProtocol.dataReceived, one command per read) 11.98 -> 10.49 us, best
of 9 x 4 rounds timed with time.thread_time as the script in
tests/unit/test_zsorted.py; callgrind, fresh random commands at -P 16:
53.7k -> 47.7k instructions per ZADD.  From: an
all-digit score parsed by one float() with no option lookup, the handler
calling ScoreList.move directly, a tie of two equal scores resolved by one
member compare, and the sublist maxima kept as a list of floats.

A score window starting at offset 0 is two score bisects (no positional
index needed); LIMIT offsets and rank queries use positions (a Fenwick tree
over the sublist lengths, built on the first positional query).

``encoding()`` reports ``listpack`` until the zset first exceeds
``zset-max-listpack-entries`` members or gets a member longer than
``zset-max-listpack-value`` bytes, then ``skiplist`` for good (Redis never
converts a key back).  Callers pass the thresholds as ``limits=(entries,
value)`` (see :func:`limits_from`) because values cannot reach the config.

Public API (used by the zset, GEO and SORT commands):

* ``len(z)``, ``member in z``, ``iter(z)`` -> ``(member, score)`` ascending,
  ``z.score(m)``, ``z.rank(m, reverse=False)``;
* ``z.add(m, score, limits=None)`` -> True when m is new (updates otherwise);
  ``z.insert(m, score, limits)`` / ``z.rescore(m, old, score)`` for callers
  that already looked m up (ZADD); ``z.remove(m)`` -> bool,
  ``z.maybe_convert(limits, maxlen)``;
* ``z.range_by_rank(start, stop, reverse=False)`` with already-normalised
  inclusive indices, ``z.range_by_score(lo, hi, lo_ex, hi_ex, reverse,
  offset, count)``, ``z.count_by_score(...)``, ``z.range_by_lex(lo, hi,
  reverse, offset, count)``, ``z.count_by_lex(lo, hi)`` -- results are lists of
  ``(member, score)``; lex bounds come from :func:`parse_lex_bound`;
* ``z.desc()`` (all pairs, highest first), ``z.walk_by_score(lo, hi)``
  (iterator over lo <= score < hi, for GEO's box scans);
* ``z.pop_min(count)`` / ``z.pop_max(count)``;
* ``z.scan(cursor, count)`` -> (next cursor, [(member, score)]);
* ``z.memory()``, ``z.copy()``, ``z.encoding()``, ``TYPE = "zset"``.

Mutating methods keep ``memory()`` current; the caller reports the change to
the keyspace with ``ks.value_resized(old, new)``.
"""

import math
import random

from sortedcontainers import SortedKeyList

from .zsorted import ScoreList

#: Redis 7.0 defaults, used when a caller passes no limits.
DEFAULT_LIMITS = (128, 64)

#: Per-member overhead estimate (kept as it was with the tuple-based list so
#: MEMORY USAGE reports do not move).  The member bytes are counted separately.
MEMBER_OVERHEAD = 160
BASE_OVERHEAD = 200

_INF = math.inf
_SCAN_MASK = 0x7FFFFFFFFFFFFFFF

# lex bound markers: parse_lex_bound returns one of these or (value, exclusive)
LEX_MIN = "-"
LEX_MAX = "+"


def limits_from(config):
    """``(zset-max-listpack-entries, zset-max-listpack-value)`` from a Config."""
    return (config["zset-max-listpack-entries"], config["zset-max-listpack-value"])


def _msize(member):
    return ((33 + len(member) + 7) & ~7) + MEMBER_OVERHEAD


def parse_lex_bound(arg):
    """A ZRANGEBYLEX bound: ``-``/``+`` or ``(value, exclusive)``; None if invalid."""
    if arg == b"-":
        return LEX_MIN
    if arg == b"+":
        return LEX_MAX
    if arg[:1] == b"[":
        return (bytes(arg[1:]), False)
    if arg[:1] == b"(":
        return (bytes(arg[1:]), True)
    return None


def lex_gte_min(member, lo):
    if lo is LEX_MIN:
        return True
    if lo is LEX_MAX:
        return False
    return member > lo[0] if lo[1] else member >= lo[0]


def lex_lte_max(member, hi):
    if hi is LEX_MAX:
        return True
    if hi is LEX_MIN:
        return False
    return member < hi[0] if hi[1] else member <= hi[0]


def _lex_cmp(a, b):
    """sdscmplex: compare two lex bounds' strings, with -/+ as the extremes."""
    a = a if a is LEX_MIN or a is LEX_MAX else a[0]
    b = b if b is LEX_MIN or b is LEX_MAX else b[0]
    if a is b:
        return 0
    if a is LEX_MIN or b is LEX_MAX:
        return -1
    if a is LEX_MAX or b is LEX_MIN:
        return 1
    return (a > b) - (a < b)


def _lex_in_range(sl, lo, hi):
    """zslIsInLexRange: the range is not empty by itself, the last member is
    >= min and the first is <= max (checked on the ends, as Redis does)."""
    c = _lex_cmp(lo, hi)
    if c > 0 or (c == 0 and ((lo is not LEX_MIN and lo is not LEX_MAX and lo[1])
                             or (hi is not LEX_MIN and hi is not LEX_MAX and hi[1]))):
        return False
    return lex_gte_min(sl.last()[0], lo) and lex_lte_max(sl.first()[0], hi)


class ZSet:
    """A sorted set: dict member->score plus a ScoreList of (score, member)."""

    TYPE = "zset"
    __slots__ = ("scores", "sl", "mem", "listpack", "_scan")

    def __init__(self, listpack=True):
        self.scores = {}
        self.sl = ScoreList()
        self.mem = BASE_OVERHEAD
        self.listpack = listpack
        self._scan = None   # hash-ordered index, built on the first ZSCAN of a skiplist zset

    # -- the value-class protocol -------------------------------------------------
    def encoding(self):
        return "listpack" if self.listpack else "skiplist"

    def memory(self):
        return self.mem

    def copy(self):
        z = ZSet(self.listpack)
        z.scores = dict(self.scores)
        z.sl = self.sl.copy()
        z.mem = self.mem
        return z

    def __len__(self):
        return len(self.scores)

    def __contains__(self, member):
        return member in self.scores

    def __iter__(self):
        return iter(self.sl)

    def desc(self):
        """All (member, score) pairs from the highest down."""
        return list(self.sl.iter_desc())

    def walk_by_score(self, lo, hi):
        """Iterator of (member, score) with lo <= score < hi, ascending."""
        return self.sl.score_walk(lo, hi)

    def __repr__(self):
        return "ZSet(%r)" % list(self)

    # -- point operations --------------------------------------------------------------
    def score(self, member):
        return self.scores.get(member)

    def add(self, member, score, limits=None):
        """Insert or update *member*; True if it is new.  Converts per *limits*.

        An existing member is re-sorted only when the score compares
        different (so ``-0`` over ``0`` changes nothing, as zsetAdd).
        """
        old = self.scores.get(member)
        if old is None:
            self.insert(member, score, limits)
            return True
        if old != score:
            self.rescore(member, old, score)
        return False

    def insert(self, member, score, limits=None):
        """Add *member*, known to be absent (callers that already looked it up).
        Returns the bytes it adds to ``memory()``."""
        scores = self.scores
        if self.listpack:
            entries, maxval = limits or DEFAULT_LIMITS
            if len(scores) + 1 > entries or len(member) > maxval:
                self.listpack = False
            elif score == 0:
                score = 0.0     # a listpack keeps scores as text: -0 reads back as 0
        scores[member] = score
        self.sl.add(score, member)
        size = ((40 + len(member)) & ~7) + MEMBER_OVERHEAD       # _msize, inlined
        self.mem += size
        if self._scan is not None:
            self._scan.add(member)
        return size

    def rescore(self, member, old, score):
        """Move the present *member* from score *old* (its current one) to
        *score*, which compares different.  The size does not change."""
        if score == 0 and self.listpack:
            score = 0.0
        self.sl.move(old, score, member)
        self.scores[member] = score

    @classmethod
    def from_dict(cls, scores, limits=None):
        """A zset built in bulk from member->score (ZUNIONSTORE...): listpack
        only if it fits the limits, as zsetConvertToListpackIfNeeded."""
        entries, maxval = limits or DEFAULT_LIMITS
        z = cls(listpack=False)
        mem = BASE_OVERHEAD
        maxlen = 0
        for m in scores:
            n = len(m)
            if n > maxlen:
                maxlen = n
            mem += _msize(m)
        if len(scores) <= entries and maxlen <= maxval:
            z.listpack = True
            scores = {m: (0.0 if s == 0 else s) for m, s in scores.items()}
        else:
            scores = dict(scores)
        z.scores = scores
        z.sl = ScoreList.from_pairs((s, m) for m, s in scores.items())
        z.mem = mem
        return z

    def remove(self, member):
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self.sl.remove(score, member)
        self.mem -= _msize(member)
        if self._scan is not None:
            self._scan.remove(member)
        return True

    def maybe_convert(self, limits, maxlen=None):
        """Apply the listpack limits to the whole set (for results built in bulk)."""
        if self.listpack:
            entries, maxval = limits or DEFAULT_LIMITS
            if maxlen is None:
                maxlen = max((len(m) for m in self.scores), default=0)
            if len(self.scores) > entries or maxlen > maxval:
                self.listpack = False

    def rank(self, member, reverse=False):
        score = self.scores.get(member)
        if score is None:
            return None
        r = self.sl.index(score, member)
        return len(self.scores) - 1 - r if reverse else r

    def at(self, index):
        """(member, score) at rank *index* (ascending, Python index rules)."""
        return self.sl.at(index)

    # -- ranges ---------------------------------------------------------------------------
    def range_by_rank(self, start, stop, reverse=False):
        """Ranks start..stop inclusive (0 <= start <= stop < len), ascending or from the top."""
        if reverse:
            n = len(self.sl)
            return self.sl.slice(n - 1 - stop, n - start, True)
        return self.sl.slice(start, stop + 1)

    def _score_bounds(self, lo, hi, lo_ex, hi_ex):
        """[i, j) index span of the scores within the bounds."""
        sl = self.sl
        if lo_ex:
            if lo == _INF:
                return 0, 0
            i = sl.bisect_score(math.nextafter(lo, _INF))
        else:
            i = sl.bisect_score(lo)
        if hi_ex:
            j = sl.bisect_score(hi)
        else:
            if hi == _INF:
                j = len(sl)
            else:
                j = sl.bisect_score(math.nextafter(hi, _INF))
        if j < i:
            j = i
        return i, j

    def count_by_score(self, lo, hi, lo_ex=False, hi_ex=False):
        i, j = self._score_bounds(lo, hi, lo_ex, hi_ex)
        return j - i

    def range_by_score(self, lo, hi, lo_ex=False, hi_ex=False, reverse=False, offset=0, count=-1):
        """Members with lo <= score <= hi (ascending, or descending with *reverse*)."""
        if offset == 0:
            # a walk from a bisect, without the positional index
            if lo_ex:
                if lo == _INF:
                    return []
                lo = math.nextafter(lo, _INF)
            if not hi_ex:
                if hi == _INF:
                    hi = None
                else:
                    hi = math.nextafter(hi, _INF)
            return self.sl.score_range(lo, hi, reverse, count)
        i, j = self._score_bounds(lo, hi, lo_ex, hi_ex)
        return self._slice(i, j, reverse, offset, count)

    def _slice(self, i, j, reverse, offset, count):
        if offset < 0:
            return []
        if reverse:
            j -= offset
        else:
            i += offset
        if i >= j:
            return []
        if count >= 0 and j - i > count:
            if reverse:
                i = j - count
            else:
                j = i + count
        return self.sl.slice(i, j, reverse)

    def _lex_bounds(self, lo, hi):
        """[i, j) span for a lex range.

        When all scores are equal (the only case Redis defines) this is a
        bisect.  With mixed scores a listpack zset reproduces Redis's linear
        scan exactly (it is at most a few hundred entries); a skiplist zset
        binary-searches the (undefined) order.
        """
        sl = self.sl
        n = len(sl)
        if not n or not _lex_in_range(sl, lo, hi):
            return 0, 0
        first = sl.first()[1]
        if first == sl.last()[1]:
            if lo is LEX_MIN:
                i = 0
            elif lo is LEX_MAX:
                return 0, 0
            elif lo[1]:
                i = sl.bisect(first, lo[0], True)
            else:
                i = sl.bisect(first, lo[0])
            if hi is LEX_MAX:
                j = n
            elif hi is LEX_MIN:
                return 0, 0
            elif hi[1]:
                j = sl.bisect(first, hi[0])
            else:
                j = sl.bisect(first, hi[0], True)
            return i, max(i, j)
        if self.listpack:
            members = [m for m, _ in sl]
            i = 0
            while i < n and not lex_gte_min(members[i], lo):
                i += 1
            j = i
            while j < n and lex_lte_max(members[j], hi):
                j += 1
            return i, j
        # skiplist with mixed scores: order undefined, stay O(log^2 n)
        a, b = 0, n
        while a < b:
            mid = (a + b) // 2
            if lex_gte_min(sl.at(mid)[0], lo):
                b = mid
            else:
                a = mid + 1
        i = a
        a, b = i, n
        while a < b:
            mid = (a + b) // 2
            if lex_lte_max(sl.at(mid)[0], hi):
                a = mid + 1
            else:
                b = mid
        return i, a

    def _lex_bounds_rev(self, lo, hi):
        """As _lex_bounds, but a listpack with mixed scores scans from the tail (zzlLastInLexRange)."""
        sl = self.sl
        n = len(sl)
        if n and self.listpack and sl.first()[1] != sl.last()[1]:
            if not _lex_in_range(sl, lo, hi):
                return 0, 0
            members = [m for m, _ in sl]
            j = n
            while j > 0 and not lex_lte_max(members[j - 1], hi):
                j -= 1
            i = j
            while i > 0 and lex_gte_min(members[i - 1], lo):
                i -= 1
            return i, j
        return self._lex_bounds(lo, hi)

    def count_by_lex(self, lo, hi):
        i, j = self._lex_bounds(lo, hi)
        return j - i

    def range_by_lex(self, lo, hi, reverse=False, offset=0, count=-1):
        i, j = self._lex_bounds_rev(lo, hi) if reverse else self._lex_bounds(lo, hi)
        return self._slice(i, j, reverse, offset, count)

    # -- removal by range / pops ------------------------------------------------------------
    def _remove_span(self, i, j):
        """Remove ranks [i, j); returns the removed (member, score) pairs ascending."""
        if i >= j:
            return []
        out = self.sl.delete_span(i, j)
        scores = self.scores
        scan = self._scan
        mem = 0
        for m, _ in out:
            del scores[m]
            mem += _msize(m)
            if scan is not None:
                scan.remove(m)
        self.mem -= mem
        return out

    def remove_range_by_rank(self, start, stop):
        return self._remove_span(start, stop + 1)

    def remove_range_by_score(self, lo, hi, lo_ex=False, hi_ex=False):
        return self._remove_span(*self._score_bounds(lo, hi, lo_ex, hi_ex))

    def remove_range_by_lex(self, lo, hi):
        return self._remove_span(*self._lex_bounds(lo, hi))

    def pop_min(self, count=1):
        """Remove and return up to *count* lowest (member, score) pairs, lowest first."""
        return self._remove_span(0, min(count, len(self.sl)))

    def pop_max(self, count=1):
        """Remove and return up to *count* highest pairs, highest first."""
        n = len(self.sl)
        out = self._remove_span(n - min(count, n), n)
        out.reverse()
        return out

    # -- random / scan ------------------------------------------------------------------------
    def random_pairs(self, count, unique=True):
        """*count* random (member, score) pairs: distinct if *unique*, else with repeats."""
        n = len(self.sl)
        if unique:
            idx = random.sample(range(n), min(count, n))
        else:
            idx = [random.randrange(n) for _ in range(count)]
        at = self.sl.at
        return [at(k) for k in idx]

    def scan(self, cursor, count):
        """One ZSCAN step -> (next cursor, pairs).

        A listpack zset is returned whole (cursor 0), as Redis does.  A
        skiplist zset is walked in member-hash order with the hash as cursor,
        so a member present for the whole scan is returned exactly once even
        if the set changes between calls.  The hash index is built on the
        first ZSCAN of a big set (one O(n) step) and maintained afterwards.
        """
        if self.listpack:
            return 0, list(self)
        idx = self._scan
        if idx is None:
            idx = self._scan = SortedKeyList(self.scores, key=_scan_key)
        i = idx.bisect_key_left(cursor)
        n = len(idx)
        out = []
        scores = self.scores
        last = None
        while i < n:
            m = idx[i]
            h = _scan_key(m)
            if len(out) >= count and h != last:
                return h, out
            out.append((m, scores[m]))
            last = h
            i += 1
        return 0, out


def _scan_key(member):
    # +1 keeps every key >= 1, so a returned cursor is never the "done" 0
    return (hash(member) & _SCAN_MASK) + 1
