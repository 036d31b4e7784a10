"""The ordered half of a sorted set: (score, member) pairs in Redis's order.

A list of sublists, as ``sortedcontainers.SortedList``, but each sublist keeps
its scores in an ``array('d')`` next to a plain list of the members, and the
sublists' last scores in a list of floats (a few hundred, so always in cache;
a bisect over a list allocates no float per probe as an array's does).
Finding a pair bisects the contiguous score arrays (no object per probe to
fetch from memory) and only compares members inside a run of equal scores
(a run of two, the usual tie, costs one compare), which is what made ZADD's
update (remove + re-insert) cheap on a big set (figures in zset.py).

Order: score (``-0.0 == 0.0``), then member by memcmp (``bytes`` order), as
zslInsert.  Scores are floats, stored bit for bit (``-0.0`` stays ``-0.0``).

Positions (rank, index access) use a Fenwick tree over the sublist lengths,
built on the first positional query and then kept up to date by every insert
or delete (O(log k) for k sublists) until a sublist splits or merges, which
drops it again.  A workload of plain ZADDs therefore never pays for it.

Pairs come out as ``(member, score)`` (the ZSet API's order).
"""

from array import array
from bisect import bisect_left, bisect_right
from itertools import accumulate
from operator import itemgetter

#: Sublists hold between LOAD/2 and 2*LOAD pairs.  ZSet.add updating random
#: members of a 63k-99k set, best of 5 in 3 rounds: LOAD 128: 3.8-4.9 us,
#: 250: 4.1-4.9, 500: 4.3-4.7, 1000: 4.6-5.9 (smaller sublists: less memmove
#: per insert/delete; more of them: bigger Fenwick rebuilds after a split).
#: 128 saves callgrind instructions on ZADD (46.0k against 48.2k through the
#: protocol, 63k members) but no measurable time (ZADD handler best of 9 x 3:
#: 4.96 us at 128, 4.75 at 500), and every split drops the Fenwick tree, whose
#: rebuild touches every sublist: new members with ZRANK in between, 400k
#: members, cost 19.2 us per pair at 128 against 9.2 at 500.
LOAD = 500

_last = itemgetter(-1)


def _chunks(scores, members, load):
    """Sublists of *load* pairs from parallel sorted sequences."""
    S, M = [], []
    for a in range(0, len(members), load):
        S.append(array("d", scores[a:a + load]))
        M.append(members[a:a + load])
    return S, M


class ScoreList:
    """Sorted (score, member) pairs; see the module docstring."""

    __slots__ = ("_S", "_M", "_maxs", "_len", "_fen")

    def __init__(self):
        self._S = []            # per sublist: array('d') of scores
        self._M = []            # per sublist: list of members (bytes)
        self._maxs = []         # last score of each sublist (floats)
        self._len = 0
        self._fen = None        # Fenwick tree over len(self._M[p]), or None

    @classmethod
    def from_sorted(cls, scores, members):
        """Built from two parallel sequences already in order."""
        sl = cls()
        sl._S, sl._M = _chunks(scores, list(members), LOAD)
        sl._maxs = [s[-1] for s in sl._S]
        sl._len = len(sl._M) and sum(map(len, sl._M))
        return sl

    @classmethod
    def from_pairs(cls, pairs):
        """Built from unordered (score, member) tuples."""
        pairs = sorted(pairs)
        return cls.from_sorted([p[0] for p in pairs], [p[1] for p in pairs])

    def copy(self):
        sl = ScoreList()
        sl._S = [array("d", s) for s in self._S]
        sl._M = [list(m) for m in self._M]
        sl._maxs = list(self._maxs)
        sl._len = self._len
        return sl

    def __len__(self):
        return self._len

    def clear(self):
        self.__init__()

    # -- finding -------------------------------------------------------------------
    def _find(self, s, m):
        """(p, i): where (s, m) is or would be inserted (bisect_left order).

        p is always a valid sublist (the list is not empty); i may equal
        len(sublist p) when (s, m) sorts after everything.
        """
        maxs = self._maxs
        p = bisect_left(maxs, s)
        k = len(maxs)
        if p == k:
            p -= 1
            return p, len(self._M[p])
        if maxs[p] == s:
            # sublists ending on this score: the first whose last member >= m
            q = bisect_right(maxs, s, p)
            p = bisect_left(self._M, m, p, q, key=_last)
            if p == k:
                p -= 1
                return p, len(self._M[p])
        S = self._S[p]
        i = bisect_left(S, s)
        if i < len(S) and S[i] == s:
            i = bisect_left(self._M[p], m, i, bisect_right(S, s, i))
        return p, i

    def _find_score(self, s, right=False):
        """(p, i) of the first pair with score >= s (> s if *right*)."""
        maxs = self._maxs
        if right:
            p = bisect_right(maxs, s)
        else:
            p = bisect_left(maxs, s)
        if p == len(maxs):
            return p, 0
        S = self._S[p]
        return p, (bisect_right(S, s) if right else bisect_left(S, s))

    # -- changes ---------------------------------------------------------------------
    def add(self, s, m):
        """Insert the pair (s, m), which must be absent.

        ZADD's insert and the second half of :meth:`move`, so _find and the
        insert are written out here; a tie on the score usually means a run
        of two, placed without bisecting the members."""
        maxs = self._maxs
        k = len(maxs)
        if not k:
            self._S = [array("d", (s,))]
            self._M = [[m]]
            self._maxs = [s]
            self._len = 1
            self._fen = None
            return
        M_ = self._M
        p = bisect_left(maxs, s)
        if p < k and maxs[p] == s:
            p = bisect_left(M_, m, p, bisect_right(maxs, s, p), key=_last)
        if p == k:
            p -= 1
            S = self._S[p]
            M = M_[p]
            i = len(M)
        else:
            S = self._S[p]
            M = M_[p]
            i = bisect_left(S, s)
            if S[i] == s and M[i] < m:      # i < len(S): S[-1] == maxs[p] >= s
                # m sorts after the run's first member: next place, or a bisect if the run goes on
                i += 1
                if i < len(S) and S[i] == s:
                    i = bisect_left(M, m, i, bisect_right(S, s, i))
        S.insert(i, s)
        M.insert(i, m)
        self._len += 1
        n = len(M)
        if i == n - 1:
            maxs[p] = s
        if n > 2 * LOAD:
            self._split(p)
        else:
            fen = self._fen
            if fen is not None:
                k = len(fen)
                while p < k:
                    fen[p] += 1
                    p |= p + 1

    def _split(self, p):
        """Sublist p is too long: its second part becomes sublist p + 1."""
        S = self._S[p]
        M = self._M[p]
        self._S.insert(p + 1, S[LOAD:])
        self._M.insert(p + 1, M[LOAD:])
        del S[LOAD:]
        del M[LOAD:]
        self._maxs.insert(p, S[-1])
        self._fen = None

    def remove(self, s, m):
        """Remove the pair (s, m), which must be present; returns the stored member."""
        p, i = self._find(s, m)
        return self._delete(p, i)

    def move(self, old, new, m):
        """Re-score the present member *m* from *old* to *new* (ZADD's update).

        The hot path of ZADD on a big set, so written out: find the old pair
        (members compared only when several share its score, and a run of two
        needs one compare), delete it in place unless its sublist gets small
        enough to merge, then :meth:`add` at the new place.
        """
        maxs = self._maxs
        M_ = self._M
        p = bisect_left(maxs, old)
        if maxs[p] == old:
            p = bisect_left(M_, m, p, bisect_right(maxs, old, p), key=_last)
        S = self._S[p]
        M = M_[p]
        i = bisect_left(S, old)
        n = len(M)
        if i + 1 < n and S[i + 1] == old and M[i] != m:
            # m is in this run of equal scores, after its first member
            i += 1
            if i + 1 < n and S[i + 1] == old:
                i = bisect_left(M, m, i, bisect_right(S, old, i))
        if 0 < i < n - 1 and S[i - 1] < new < S[i + 1]:
            # still strictly between its neighbours (a small change, as ZINCRBY
            # on a leaderboard): only the score changes
            S[i] = new
            return
        if n <= (LOAD >> 1) + 1 and len(M_) > 1:
            m = self._delete(p, i)
        else:
            m = M.pop(i)
            del S[i]
            n -= 1
            if i == n and n:
                maxs[p] = S[-1]
            fen = self._fen
            if fen is not None:
                k = len(fen)
                q = p
                while q < k:
                    fen[q] -= 1
                    q |= q + 1
            if not n:
                # the only sublist held only this pair
                S.append(new)
                M.append(m)
                maxs[p] = new
                if fen is not None:
                    q = p
                    while q < k:
                        fen[q] += 1
                        q |= q + 1
                return
            self._len -= 1
        self.add(new, m)

    def _delete(self, p, i):
        S = self._S[p]
        M = self._M[p]
        stored = M.pop(i)
        del S[i]
        self._len -= 1
        n = len(M)
        if n > LOAD >> 1:
            if i == n:
                self._maxs[p] = S[-1]
            fen = self._fen
            if fen is not None:
                k = len(fen)
                while p < k:
                    fen[p] -= 1
                    p |= p + 1
        elif len(self._M) > 1:
            # merge with a neighbour, then split again if too long
            if not p:
                p = 1
            a = p - 1
            self._S[a].extend(self._S[p])
            self._M[a].extend(self._M[p])
            del self._S[p]
            del self._M[p]
            del self._maxs[p]
            self._maxs[a] = self._S[a][-1]
            self._fen = None
            if len(self._M[a]) > 2 * LOAD:
                self._split(a)
        elif n:
            self._maxs[p] = S[-1]
        else:
            self.clear()
        return stored

    # -- positions -------------------------------------------------------------------
    def _tree(self):
        fen = self._fen
        if fen is None:
            # node i covers sublists (i & (i + 1)) .. i: a difference of prefix sums
            pre = [0]
            pre += accumulate(map(len, self._M))
            fen = self._fen = [pre[i + 1] - pre[i & (i + 1)] for i in range(len(self._M))]
        return fen

    def _before(self, p):
        """Number of pairs in sublists 0..p-1."""
        fen = self._tree()
        t = 0
        while p:
            t += fen[p - 1]
            p &= p - 1
        return t

    def _pos(self, idx):
        """(p, i) of global position idx (0 <= idx < len)."""
        fen = self._tree()
        k = len(fen)
        p = 0
        bit = 1 << (k.bit_length() - 1)
        while bit:
            q = p + bit
            if q <= k and fen[q - 1] <= idx:
                p = q
                idx -= fen[q - 1]
            bit >>= 1
        return p, idx

    def index(self, s, m):
        """Rank of the present pair (s, m)."""
        p, i = self._find(s, m)
        return self._before(p) + i

    def bisect_score(self, s, right=False):
        """Global position of the first score >= s (> s if *right*)."""
        p, i = self._find_score(s, right)
        if p == len(self._M):
            return self._len
        return self._before(p) + i

    def bisect(self, s, m, right=False):
        """Global bisect_left (bisect_right if *right*) of the pair (s, m)."""
        if not self._len:
            return 0
        p, i = self._find(s, m)
        M = self._M[p]
        if right and i < len(M) and M[i] == m and self._S[p][i] == s:
            i += 1
        return self._before(p) + i

    def at(self, idx):
        """(member, score) at global position idx (Python index rules)."""
        if idx < 0:
            idx += self._len
        if not 0 <= idx < self._len:
            raise IndexError("index out of range")
        if idx < len(self._M[0]):
            return self._M[0][idx], self._S[0][idx]
        last = self._M[-1]
        if idx >= self._len - len(last):
            i = idx - self._len + len(last)
            return last[i], self._S[-1][i]
        p, i = self._pos(idx)
        return self._M[p][i], self._S[p][i]

    def first(self):
        return self._M[0][0], self._S[0][0]

    def last(self):
        return self._M[-1][-1], self._S[-1][-1]

    # -- walking ---------------------------------------------------------------------
    def __iter__(self):
        for M, S in zip(self._M, self._S):
            yield from zip(M, S)

    def iter_desc(self):
        for M, S in zip(reversed(self._M), reversed(self._S)):
            yield from zip(reversed(M), reversed(S))

    def _span(self, p, i, q, j, reverse=False, count=-1):
        """(member, score) list from (p, i) up to (q, j) exclusive, ascending or
        from the top; at most *count* pairs if count >= 0.  Built a sublist
        slice at a time."""
        M_, S_ = self._M, self._S
        out = []
        if count == 0:
            return out
        if not reverse:
            k = len(M_)
            while p < k and p <= q:
                b = j if p == q else len(M_[p])
                if count >= 0 and b - i > count - len(out):
                    b = i + count - len(out)
                if b > i:
                    out += zip(M_[p][i:b], S_[p][i:b])
                    if len(out) == count:
                        break
                p += 1
                i = 0
            return out
        if q == len(M_):
            q -= 1
            j = len(M_[q]) if q >= 0 else 0
        while q >= p and q >= 0:
            a = i if q == p else 0
            if count >= 0 and j - a > count - len(out):
                a = j - count + len(out)
            if j > a:
                seg = list(zip(M_[q][a:j], S_[q][a:j]))
                seg.reverse()
                out += seg
                if len(out) == count:
                    break
            q -= 1
            j = len(M_[q]) if q >= 0 else 0
        return out

    def _locate(self, idx):
        """(p, i) of global position idx, 0 <= idx <= len (len gives (k, 0))."""
        if idx < len(self._M[0]):
            return 0, idx
        return self._pos(idx)

    def slice(self, i, j, reverse=False):
        """Positions [i, j) as a list of (member, score), ascending or reversed."""
        if i >= j:
            return []
        if j - i == 1:
            return [self.at(i)]
        p, a = self._locate(i)
        q, b = self._locate(j)
        return self._span(p, a, q, b, reverse)

    def score_range(self, lo, hi, reverse=False, count=-1):
        """(member, score) with lo <= score < hi (hi None: no upper bound), ascending
        or from the top, at most *count*; two bisects, no positional index."""
        if not self._len or (hi is not None and hi <= lo):
            return []
        p, i = self._find_score(lo)
        if hi is None:
            q, j = len(self._M), 0
        else:
            q, j = self._find_score(hi)
        return self._span(p, i, q, j, reverse, count)

    def score_walk(self, lo, hi):
        """Iterator of (member, score) with lo <= score < hi, ascending, a
        sublist slice at a time (GEO's box scans stop early)."""
        if not self._len or hi <= lo:
            return
        p, i = self._find_score(lo)
        q, j = self._find_score(hi)
        M_, S_ = self._M, self._S
        k = len(M_)
        while p < k and p <= q:
            b = j if p == q else len(M_[p])
            yield from zip(M_[p][i:b], S_[p][i:b])
            p += 1
            i = 0

    def delete_span(self, i, j):
        """Remove positions [i, j); returns the removed (member, score) ascending.

        A slice deletion per touched sublist (whole ones in between dropped at
        once), then the two ends are tidied: O(k + m) memory moves, no
        per-pair Python work beyond building the result."""
        if i >= j:
            return []
        out = self.slice(i, j)
        if j - i == self._len:
            self.clear()
            return out
        p, a = self._locate(i)
        q, b = self._locate(j)
        S_, M_ = self._S, self._M
        if p == q:
            del S_[p][a:b]
            del M_[p][a:b]
        else:
            del S_[p][a:]
            del M_[p][a:]
            if q < len(M_):
                del S_[q][:b]
                del M_[q][:b]
            del S_[p + 1:q]
            del M_[p + 1:q]
            del self._maxs[p + 1:q]
        self._len -= j - i
        self._fen = None
        if p + 1 < len(M_):
            self._tidy(p + 1)
        self._tidy(p)
        return out

    def _tidy(self, p):
        """After a span deletion: drop sublist p if empty, else fix its max and
        merge it into a neighbour when it got small."""
        S_, M_ = self._S, self._M
        if not M_[p]:
            del S_[p]
            del M_[p]
            del self._maxs[p]
            return
        self._maxs[p] = S_[p][-1]
        if len(M_[p]) <= LOAD >> 1 and len(M_) > 1:
            a = p - 1 if p else 0
            S_[a].extend(S_[a + 1])
            M_[a].extend(M_[a + 1])
            del S_[a + 1]
            del M_[a + 1]
            del self._maxs[a + 1]
            self._maxs[a] = S_[a][-1]
            if len(M_[a]) > 2 * LOAD:
                self._split(a)
