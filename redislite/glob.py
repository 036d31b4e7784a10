"""Glob matching with the exact semantics of Redis 7.0's ``stringmatchlen``.

Used by KEYS, SCAN MATCH, CONFIG GET and PSUBSCRIBE.  Redis's matcher is a
byte-wise recursive backtracker; we get the same answers faster by compiling a
pattern once:

* Every pattern element except ``*`` consumes exactly one byte, so a pattern is
  a list of fixed-length *segments* separated by stars.  Each segment becomes a
  star-free regular expression (a sequence of byte classes), so Python's ``re``
  never backtracks over a ``.*``.
* Class membership (``[...]``) is decided by running Redis's own class-parsing
  loop once per byte value (0..255), so the quirks carry over exactly: ranges
  are compared as *signed* chars, reversed ranges are swapped, ``\\x`` inside a
  class ignores ``nocase``, an unclosed class extends to the end of the pattern,
  and ``[a-]`` is the range ``a``..``]``.
* A subject matches iff the first segment matches at the start, the last at the
  end, and the middle ones in order in between; taking the leftmost position
  for each middle segment is optimal because segments have fixed length.  That
  is the same pruning Redis's ``skipLongerMatches`` performs, so pathological
  patterns (``*a*a*a...b``) cost one linear scan per segment.
* A long middle segment that is not a plain literal (``*[ab][ab]...[ab]c*``,
  ``*???...?c*``) would make ``re`` try every start position for up to the
  segment's length: O(subject x segment), as Redis's own matcher (10,000 keys
  of 1 KB and a 500-class segment take Redis ~30 s).  Those are searched with
  the bit-parallel Shift-And algorithm instead: one pass over the subject with
  a bit per pattern position.

* Compiling runs on the reactor before KEYS/SCAN look at a single key, so its
  work is linear in the pattern: class sets are unions of cached item sets,
  Shift-And masks are built as bitmaps, and runs longer than ``REGEX_MAX`` get
  no regex (``re`` compiles in Python): plain bytes are found with
  ``bytes.find``/``startswith``, anchored runs are walked with an early exit.
  100 KB of pattern compiles in 0.05-0.14 s. It took up to 2.8 s, and 1 s
  for 16,000 ``?`` between stars, growing with the square.

Two Redis edge cases are kept on purpose:

* an empty subject matches only the empty pattern (``*`` does not match ``b""``;
  KEYS and SCAN special-case the bare ``*`` before calling the matcher, see
  :func:`is_match_all`);
* the nesting limit of 7.0.15: past 1000 nested stars Redis gives up, so a
  pattern whose 1001st star is followed by anything never matches.

``tests/unit/test_glob.py`` checks all of this against a line-by-line port of
the C code with hypothesis, and the real server confirmed the quirks above.
"""

import functools
import re
from typing import Callable

__all__ = ["compile_pattern", "match", "is_match_all", "has_special", "MATCH_ALL",
           "MAX_NESTING"]

#: The pattern KEYS/SCAN treat as "every key" without consulting the matcher.
MATCH_ALL = b"*"

#: Redis 7.0.15 ``stringmatchlen_impl``: ``if (nesting > 1000) return 0;``.
MAX_NESTING = 1000

_SPECIAL = re.compile(rb"[*?\[\\]")
_STAR = None  # token marking a star in the element list


def is_match_all(pattern: bytes) -> bool:
    """True for the bare ``*`` that KEYS and SCAN short-circuit (empty key included)."""
    return pattern == MATCH_ALL


def has_special(pattern: bytes) -> bool:
    """True if *pattern* contains any glob metacharacter (including ``\\``)."""
    return _SPECIAL.search(pattern) is not None


def _signed(b: int) -> int:
    return b - 256 if b > 127 else b


def _lower(c: int) -> int:
    """C-locale ``tolower`` on a (possibly negative) char value."""
    return c + 32 if 65 <= c <= 90 else c


def _literal_set(b: int, nocase: bool) -> frozenset:
    if nocase and (65 <= b <= 90 or 97 <= b <= 122):
        return frozenset((b | 0x20, b & ~0x20))
    return frozenset((b,))


def _parse_class(p: bytes, i: int, nocase: bool):
    """Parse a class starting just after ``[``; return (allowed byte set, next index).

    Mirrors the C loop, including reading the NUL terminator past the end.
    """
    n = len(p)

    def at(k):
        return p[k] if k < n else 0

    negate = at(i) == 0x5E  # '^'
    if negate:
        i += 1
    items = []  # ('esc', byte) | ('range', lo, hi) | ('lit', byte)
    while True:
        left = n - i
        c = at(i)
        if c == 0x5C and left >= 2:  # '\\'
            i += 1
            items.append(("esc", p[i]))
        elif c == 0x5D:  # ']'
            break
        elif left <= 0:
            i -= 1
            break
        elif left >= 3 and p[i + 1] == 0x2D:  # '-'
            start, end = _signed(p[i]), _signed(p[i + 2])
            if start > end:
                start, end = end, start
            items.append(("range", start, end))
            i += 2
        else:
            items.append(("lit", p[i]))
        i += 1
    allowed = set()
    for item in items:
        kind = item[0]
        if kind == "esc":
            allowed.add(item[1])        # an escape ignores nocase, as in Redis
        elif kind == "range":
            allowed |= _range_set(item[1], item[2], nocase)
        else:
            allowed |= _literal_set(item[1], nocase)
    if negate:
        return _ANY - allowed, i + 1
    return frozenset(allowed), i + 1


@functools.lru_cache(maxsize=4096)
def _range_set(start: int, end: int, nocase: bool) -> frozenset:
    """The bytes a class range admits (signed chars, both ends lowered with nocase)."""
    if nocase:
        start, end = _lower(start), _lower(end)
        return frozenset(b for b in range(256) if start <= _lower(_signed(b)) <= end)
    return frozenset(b for b in range(256) if start <= _signed(b) <= end)


def _tokenize(p: bytes, nocase: bool) -> list:
    """Split a pattern into elements: ``_STAR`` or a frozenset of allowed bytes."""
    tokens = []
    i, n = 0, len(p)
    while i < n:
        c = p[i]
        if c == 0x2A:  # '*'
            if not tokens or tokens[-1] is not _STAR:
                tokens.append(_STAR)
            i += 1
        elif c == 0x3F:  # '?'
            tokens.append(_ANY)
            i += 1
        elif c == 0x5B:  # '['
            allowed, i = _parse_class(p, i + 1, nocase)
            tokens.append(allowed)
        else:
            if c == 0x5C and n - i >= 2:
                i += 1
            tokens.append(_literal_set(p[i], nocase))
            i += 1
    return tokens


_ANY = frozenset(range(256))


def _set_regex(allowed: frozenset) -> bytes:
    if allowed == _ANY:
        return b"."
    if not allowed:
        return b"(?!)"
    if len(allowed) == 1:
        return re.escape(bytes(allowed))
    parts = []
    vals = sorted(allowed)
    start = prev = vals[0]
    for v in vals[1:] + [None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        if start == prev:
            parts.append(b"\\x%02x" % start)
        else:
            parts.append(b"\\x%02x-\\x%02x" % (start, prev))
        if v is not None:
            start = prev = v
    return b"[" + b"".join(parts) + b"]"


def _regex(tokens: list):
    """A star-free token run as one compiled regex (a sequence of byte classes)."""
    return re.compile(b"".join(_set_regex(t) for t in tokens), re.DOTALL)


def _plain(tokens: list):
    """The run's bytes when every token admits exactly one byte, else None."""
    if all(len(t) == 1 for t in tokens):
        return bytes(min(t) for t in tokens)
    return None


#: star-free runs longer than this are matched without compiling a regex
#: (``re`` compiles in Python, about 5 us per element: 0.3-0.6 s for 100 KB)
REGEX_MAX = 256


def _anchored(tokens: list):
    """``at(s, pos) -> bool``: does the star-free run match ``s`` at ``pos``?
    (``s`` holds at least the run's length from ``pos``; None for an empty run.)"""
    if not tokens:
        return None
    literal = _plain(tokens)
    if literal is not None:
        return lambda s, pos: s.startswith(literal, pos)
    if len(tokens) <= REGEX_MAX:
        match = _regex(tokens).match
        return lambda s, pos: match(s, pos) is not None
    run = tuple(tokens)
    length = len(run)

    def at(s: bytes, pos: int) -> bool:
        # a walk with an early exit: a subject differing in its first byte costs one step
        for allowed, b in zip(run, s[pos:pos + length]):
            if b not in allowed:
                return False
        return True
    return at


def _never(subject: bytes) -> bool:
    return False


#: middle segments at least this long that are not plain literals use Shift-And
SHIFT_AND_MIN = 48


def _shift_and(tokens: list):
    """A ``search(s, pos, end)`` for a star-free token run: the start of its
    leftmost occurrence inside ``s[pos:end]``, or -1 (Shift-And: bit j of the
    state says the last j + 1 bytes match the first j + 1 tokens).

    The 256 masks are built as bitmaps, one bit set per (token, byte) pair, in
    work linear in the pattern: a token that admits more than half the bytes
    (``?``, ``[^a]``) sets its bit in a shared row and clears it in the rows of
    the bytes it refuses, so no token costs more than 128 steps.  (OR-ing
    ``1 << j`` into Python ints cost time quadratic in the run's length:
    ``KEYS *????...x*`` with 16,000 ``?`` took a second to compile.)"""
    size = (len(tokens) + 7) >> 3
    rows = [None] * 256         # byte -> bytearray of the positions admitting it
    shared = bytearray(size)    # positions admitting almost every byte
    refused = {}                # byte -> bytearray of shared positions refusing it
    for j, allowed in enumerate(tokens):
        k = j >> 3
        bit = 1 << (j & 7)
        if len(allowed) > 128:
            shared[k] |= bit
            if len(allowed) < 256:
                for b in _ANY - allowed:
                    row = refused.get(b)
                    if row is None:
                        row = refused[b] = bytearray(size)
                    row[k] |= bit
            continue
        for b in allowed:
            row = rows[b]
            if row is None:
                row = rows[b] = bytearray(size)
            row[k] |= bit
    common = int.from_bytes(shared, "little")
    masks = []
    for b in range(256):
        m = common
        row = rows[b]
        if row is not None:
            m |= int.from_bytes(row, "little")
        row = refused.get(b)
        if row is not None:
            m &= ~int.from_bytes(row, "little")
        masks.append(m)
    length = len(tokens)
    hit = 1 << (length - 1)

    def search(s: bytes, pos: int, end: int) -> int:
        state = 0
        for k in range(pos, end):
            state = ((state << 1) | 1) & masks[s[k]]
            if state & hit:
                return k - length + 1
        return -1

    return search


def _regex_search(rx):
    def search(s: bytes, pos: int, end: int) -> int:
        m = rx.search(s, pos, end)
        return -1 if m is None else m.start()
    return search


def _literal_search(literal: bytes):
    """A middle run of plain bytes: ``bytes.find`` within ``s[pos:end]``."""
    def search(s: bytes, pos: int, end: int) -> int:
        return s.find(literal, pos, end)
    return search


def _build(pattern: bytes, nocase: bool) -> Callable[[bytes], bool]:
    if not pattern:
        return lambda s: not s
    if not has_special(pattern):
        if not nocase:
            return pattern.__eq__
        if not re.search(rb"[A-Za-z]", pattern):
            return pattern.__eq__
    if pattern.strip(b"*") == b"":
        return bool  # any non-empty subject
    if not nocase and pattern.endswith(b"*") and not has_special(pattern.rstrip(b"*")):
        prefix = pattern.rstrip(b"*")
        return lambda s: s.startswith(prefix)

    tokens = _tokenize(pattern, nocase)
    stars = [k for k, t in enumerate(tokens) if t is _STAR]
    if len(stars) > MAX_NESTING and stars[MAX_NESTING] != len(tokens) - 1:
        return _never
    if not stars:
        whole, length = _anchored(tokens), len(tokens)
        return lambda s: len(s) == length and whole(s, 0)

    bounds = [-1] + stars + [len(tokens)]
    runs = [tokens[bounds[k] + 1:bounds[k + 1]] for k in range(len(bounds) - 1)]
    first_at, first_len = _anchored(runs[0]), len(runs[0])
    last_at, last_len = _anchored(runs[-1]), len(runs[-1])
    middle = []
    for run in runs[1:-1]:
        if not run:
            continue
        literal = _plain(run)
        if literal is not None:
            middle.append((_literal_search(literal), len(run)))
        elif len(run) >= SHIFT_AND_MIN:
            middle.append((_shift_and(run), len(run)))
        else:
            middle.append((_regex_search(_regex(run)), len(run)))

    def matcher(s: bytes) -> bool:
        if not s:
            return False
        end = len(s) - last_len
        if end < first_len:
            return False
        if first_at is not None and not first_at(s, 0):
            return False
        pos = first_len
        for search, ln in middle:
            start = search(s, pos, end)
            if start < 0:
                return False
            pos = start + ln
        return last_at is None or last_at(s, end)

    return matcher


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: bytes, nocase: bool = False) -> Callable[[bytes], bool]:
    """Return a predicate ``subject -> bool`` equivalent to Redis's ``stringmatchlen``.

    Cached (bounded LRU) because SCAN/KEYS/PSUBSCRIBE reuse the same few patterns.
    """
    return _build(bytes(pattern), bool(nocase))


def match(pattern: bytes, subject: bytes, nocase: bool = False) -> bool:
    """``stringmatchlen(pattern, subject, nocase)``; note ``match(b"*", b"")`` is False."""
    return compile_pattern(pattern, nocase)(subject)
