"""redislite.glob against a line-by-line port of Redis 7.0.15's stringmatchlen.

The reference below is deliberately naive: it walks the pattern with C-style
indices (reading a NUL past the end, as Redis does on an sds), recurses per
star, and keeps skipLongerMatches and the nesting limit.  The fast compiled
matcher must agree with it on every input hypothesis can think of.  The
expected values in the table tests were confirmed with ``KEYS`` on a real
redis-server 7.0.15.
"""

import sys

import pytest
from hypothesis import given, settings, strategies as st

from redislite import glob
from redislite.glob import compile_pattern, match
from tests.workcount import calls, steps


# --- reference: stringmatchlen_impl, transcribed ---------------------------

def _sc(b):
    return b - 256 if b > 127 else b


def _tolower(c):
    return c + 32 if 65 <= c <= 90 else c


def ref_match(pattern: bytes, string: bytes, nocase=False) -> bool:
    skip = [False]
    return _ref(pattern, 0, len(pattern), string, 0, len(string), nocase, skip, 0)


def _ref(p, pi, plen, s, si, slen, nocase, skip, nesting):
    def P(k):
        return _sc(p[k]) if k < len(p) else 0

    def S(k):
        return _sc(s[k]) if k < len(s) else 0

    if nesting > 1000:
        return False
    while plen and slen:
        c = P(pi)
        if c == ord("*"):
            while plen and P(pi + 1) == ord("*"):
                pi += 1
                plen -= 1
            if plen == 1:
                return True
            while slen:
                if _ref(p, pi + 1, plen - 1, s, si, slen, nocase, skip, nesting + 1):
                    return True
                if skip[0]:
                    return False
                si += 1
                slen -= 1
            skip[0] = True
            return False
        elif c == ord("?"):
            si += 1
            slen -= 1
        elif c == ord("["):
            pi += 1
            plen -= 1
            neg = P(pi) == ord("^")
            if neg:
                pi += 1
                plen -= 1
            m = False
            while True:
                if P(pi) == ord("\\") and plen >= 2:
                    pi += 1
                    plen -= 1
                    if P(pi) == S(si):
                        m = True
                elif P(pi) == ord("]"):
                    break
                elif plen == 0:
                    pi -= 1
                    plen += 1
                    break
                elif plen >= 3 and P(pi + 1) == ord("-"):
                    start, end, ch = P(pi), P(pi + 2), S(si)
                    if start > end:
                        start, end = end, start
                    if nocase:
                        start, end, ch = _tolower(start), _tolower(end), _tolower(ch)
                    pi += 2
                    plen -= 2
                    if start <= ch <= end:
                        m = True
                else:
                    if not nocase:
                        if P(pi) == S(si):
                            m = True
                    elif _tolower(P(pi)) == _tolower(S(si)):
                        m = True
                pi += 1
                plen -= 1
            if neg:
                m = not m
            if not m:
                return False
            si += 1
            slen -= 1
        else:
            if c == ord("\\") and plen >= 2:
                pi += 1
                plen -= 1
            if not nocase:
                if P(pi) != S(si):
                    return False
            elif _tolower(P(pi)) != _tolower(S(si)):
                return False
            si += 1
            slen -= 1
        pi += 1
        plen -= 1
        if slen == 0:
            while P(pi) == ord("*"):
                pi += 1
                plen -= 1
            break
    return plen == 0 and slen == 0


# --- property tests ---------------------------------------------------------

PATTERN_BYTES = st.sampled_from(list(b"ab*?[]^-\\Az\x00\x80\xff"))
SUBJECT_BYTES = st.sampled_from(list(b"abAB-]^\\[z\x00\x80\xff*?"))
patterns = st.lists(PATTERN_BYTES, max_size=10).map(bytes)
subjects = st.lists(SUBJECT_BYTES, max_size=10).map(bytes)


@settings(max_examples=1200, deadline=None)
@given(patterns, subjects, st.booleans())
def test_matches_reference(pattern, subject, nocase):
    assert match(pattern, subject, nocase) == ref_match(pattern, subject, nocase), (pattern, subject)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"b", b"*", b"?", b"[ab]", b"[^a]"]), max_size=8).map(b"".join),
       st.lists(st.sampled_from(list(b"ab")), max_size=30).map(bytes))
def test_long_subjects_match_reference(pattern, subject):
    assert match(pattern, subject) == ref_match(pattern, subject)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), st.booleans(), st.booleans())
def test_every_byte_in_ranges(lo, hi, c, neg, nocase):
    pattern = b"[" + (b"^" if neg else b"") + bytes([lo]) + b"-" + bytes([hi]) + b"]"
    subject = bytes([c])
    assert match(pattern, subject, nocase) == ref_match(pattern, subject, nocase)


# --- confirmed against redis-server 7.0.15 with KEYS -------------------------

KEYS = [b"a", b"b", b"\x10", b"\xff", b"\x80", b"]", b"^", b"\\", b"-", b"A", b"Z", b"z",
        b"ab", b"", b"[", b"x"]

# pattern -> keys redis-server 7.0.15 returned (KEYS; the empty key only via KEYS *)
SERVER_KEYS = {
    b"[a-\xff]": {b"\x10", b"-", b"A", b"Z", b"[", b"\\", b"]", b"^", b"a", b"\xff"},
    b"[\xff-a]": {b"\x10", b"-", b"A", b"Z", b"[", b"\\", b"]", b"^", b"a", b"\xff"},
    b"[a-]": {b"]", b"^", b"a"},
    b"[a-": {b"-", b"a"},
    b"[a": {b"a"},
    b"[": set(),
    b"[]": set(),
    b"[]a]": set(),
    b"[^]": {b"\x10", b"-", b"A", b"Z", b"[", b"\\", b"]", b"^", b"a", b"b", b"x", b"z",
             b"\x80", b"\xff"},
    b"\\": {b"\\"},
    b"a\\": set(),
    b"[\\]": {b"]"},
    b"[\\": {b"\\"},
    b"[a-\\]": {b"\\", b"]", b"^", b"a"},
    b"**": set(KEYS) - {b""},
    b"?": set(KEYS) - {b"", b"ab"},
    b"[^a]": set(KEYS) - {b"", b"ab", b"a"},
    b"[z-a]": {b"a", b"b", b"x", b"z"},
    b"[!a]": {b"a"},
}


@pytest.mark.parametrize("pattern", sorted(SERVER_KEYS))
def test_patterns_confirmed_with_real_server(pattern):
    assert {k for k in KEYS if match(pattern, k)} == SERVER_KEYS[pattern]


def test_empty_subject_only_matches_empty_pattern():
    # PSUBSCRIBE * does not receive PUBLISH "" on redis-server 7.0.15.
    assert match(b"", b"")
    assert not match(b"*", b"")
    assert not match(b"?", b"")
    assert glob.is_match_all(b"*") and not glob.is_match_all(b"**")


def test_nesting_limit_as_redis_7_0_15():
    subject = b"a" * 1100
    assert match(b"*a" * 1000, subject)
    assert match(b"*a" * 1000 + b"*", subject)  # the 1001st star is the last element
    assert not match(b"*a" * 1001, subject)
    assert match(b"a*" * 1001, subject)
    assert not match(b"a*" * 1002, subject)
    assert not match(b"**a" * 1001, subject)


def test_nesting_limit_matches_reference():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(10000)
    try:
        for pattern in (b"*a" * 1001, b"*a" * 1000 + b"*", b"a*" * 1002, b"*?" * 1003 + b"b"):
            assert match(pattern, b"a" * 1100) == ref_match(pattern, b"a" * 1100), pattern[:10]
    finally:
        sys.setrecursionlimit(old)


def test_pathological_pattern_does_not_backtrack():
    # A backtracker (Redis's own matcher) explores ~subject**stars positions for these;
    # the compiled matcher makes a fixed number of calls whatever the subject's length
    # (each segment is one linear scan inside re), and compiling is linear in the pattern.
    for pattern in (b"*a*a*a*a*a*a*a*a*a*a*b", b"*a" * 50 + b"b", b"a*" * 200 + b"b",
                    b"*?*?*?*?*?*?*?*?b"):
        compile_pattern.cache_clear()
        matcher, compiling = calls(compile_pattern, pattern)
        assert compiling <= 20 * len(pattern) + 100
        short = calls(matcher, b"a" * 1000)
        long = calls(matcher, b"a" * 100000)
        assert short[0] is False and long[0] is False
        assert long[1] == short[1] <= 4 * len(pattern) + 20


def test_nocase():
    assert match(b"HELLO*", b"hello world", nocase=True)
    assert match(b"[A-C]x", b"bX", nocase=True)
    assert not match(b"[A-C]x", b"bX")
    # an escape inside a class ignores nocase, as in Redis
    assert not match(b"[\\A]", b"a", nocase=True)
    assert match(b"[\\A]", b"A", nocase=True)
    assert match(b"\\A", b"a", nocase=True)
    assert match(b"maxmemory*", b"MAXMEMORY-policy", nocase=True)


def test_fast_paths():
    assert match(b"abc", b"abc") and not match(b"abc", b"abcd")
    assert match(b"user:*", b"user:1") and match(b"user:*", b"user:")
    assert not match(b"user:*", b"use")
    assert match(b"***", b"x") and not match(b"***", b"")
    assert match(b"ABC", b"abc", nocase=True)
    assert match(b"12", b"12", nocase=True)


def test_compile_is_cached_and_bounded():
    assert compile_pattern(b"a*b") is compile_pattern(b"a*b")
    assert compile_pattern.cache_info().maxsize == 1024


# --- compiling long patterns: work linear in the pattern ---------------------

def test_compiling_is_linear_in_the_pattern():
    # Compilation runs on the reactor before KEYS/SCAN look at a single key, so its
    # cost is what a client's pattern alone can make the server do. Class-heavy and
    # long middle segments used to cost 2.8 s (100 KB of "[a]") and a second
    # (16,000 "?" between stars: Shift-And masks built quadratically).
    for unit, head, tail in ((b"[a]", b"", b""), (b"?", b"*", b"x*"), (b"[^a]", b"*", b"*"),
                             (b"[a-z0-9]", b"", b"*"), (b"[\x00-\x7f]", b"*", b"b*")):
        work = []
        for n in (500, 2000):
            compile_pattern.cache_clear()
            pattern = head + unit * n + tail
            matcher, w = steps(compile_pattern, pattern)
            assert matcher(b"\x01" * 10) is False
            work.append(w)
        assert work[1] < 5 * work[0], (unit, work)      # 4x the pattern, not 16x the work


def test_long_shift_and_segments_match_reference():
    for pattern in (b"*" + b"?" * 60 + b"x*", b"*" + b"[^a]" * 50 + b"b*", b"*a" + b"[ab]" * 49 + b"c*",
                    b"*" + b"[\x00-\x7f]" * 50 + b"*"):
        for subject in (b"a" * 70 + b"x", b"b" * 60 + b"x", b"a" + b"ab" * 30 + b"c", b"\xff" * 70,
                        b"q" * 80 + b"b", b"\x80" + b"a" * 50 + b"b"):
            assert match(pattern, subject) == ref_match(pattern, subject), (pattern[:8], subject[:8])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"b", b"?", b"[ab]", b"[^a]", b"\\*", b"[A-B]"]), min_size=1, max_size=4),
       st.integers(260, 300), st.sampled_from([b"", b"*", b"*x*", b"*" + b"ab" * 30 + b"*"]),
       st.lists(st.sampled_from(list(b"abAB*x")), min_size=0, max_size=40).map(bytes), st.booleans())
def test_long_runs_without_regex_match_reference(unit, repeat, middle, noise, nocase):
    # runs past REGEX_MAX (anchored runs are walked) and long literal middles (bytes.find)
    run = b"".join(unit) * repeat
    assert len(glob._tokenize(run, nocase)) > glob.REGEX_MAX
    subject_run = b"".join(b"a" if u in (b"a", b"?", b"[ab]") else b"A" if u == b"[A-B]" else
                           b"b" if u in (b"b", b"[^a]") else b"*" for u in unit) * repeat
    for pattern in (run, run + middle + run, middle + run, run + middle):
        for subject in (subject_run, subject_run + noise + subject_run, noise + subject_run,
                        subject_run[:-1] + b"x", b"x" + subject_run[1:]):
            assert match(pattern, subject, nocase) == ref_match(pattern, subject, nocase), \
                (pattern[:20], len(pattern), subject[:20], len(subject))
