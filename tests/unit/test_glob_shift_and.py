"""The Shift-And search redislite/glob.py uses for long middle segments
(``*[ab][ab]...c*``) against the line-by-line port of Redis's stringmatchlen
in tests/unit/test_glob.py, and the work it does on the pattern that takes Redis
itself ~30 s over 10,000 one-kilobyte keys."""

from hypothesis import given, settings, strategies as st

from redislite import glob
from tests.unit.test_glob import ref_match
from tests.workcount import steps

ELEMENTS = [b"a", b"b", b"?", b"[ab]", b"[^a]", b"[a-c]", b"\\a"]


@st.composite
def long_segment_patterns(draw):
    seg = b"".join(draw(st.lists(st.sampled_from(ELEMENTS), min_size=glob.SHIFT_AND_MIN,
                                 max_size=glob.SHIFT_AND_MIN + 20)))
    head = draw(st.sampled_from((b"", b"a", b"?", b"[ab]")))
    tail = draw(st.sampled_from((b"", b"b", b"?", b"a*b")))
    extra = draw(st.sampled_from((b"", b"*c*", b"*?*")))
    return head + b"*" + seg + extra + b"*" + tail


@settings(max_examples=150, deadline=None)
@given(long_segment_patterns(), st.binary(min_size=0, max_size=160).map(lambda b: bytes(x % 4 + 97 for x in b)),
       st.booleans())
def test_long_middle_segments_match_reference(pattern, subject, nocase):
    assert glob.match(pattern, subject, nocase) == ref_match(pattern, subject, nocase)


def test_long_middle_segment_matches_where_it_should():
    pattern = b"*" + b"[ab]" * 60 + b"c*"
    assert glob.match(pattern, b"x" + b"ab" * 30 + b"c")
    assert glob.match(pattern, b"ab" * 40 + b"c" + b"zz")
    assert not glob.match(pattern, b"ab" * 29 + b"c")
    assert glob.match(b"*" + b"?" * 50 + b"c*x", b"q" * 60 + b"c" + b"x")


def test_quadratic_glob_is_linear():
    """10,000 keys of 1 KB against a 500-class middle segment: Redis takes ~30 s.
    Counted in steps (lines + calls), not timed: the Shift-And scan does a few steps
    per subject byte whatever the segment's length, where trying the segment at every
    position would do ~500 per byte."""
    keys = [b"a" * 1000 + b"%d" % i for i in range(2000)]
    for pattern in (b"*" + b"[ab]" * 500 + b"c*", b"*" + b"?" * 500 + b"c*x"):
        matcher = glob.compile_pattern(pattern)
        assert not any(matcher(k) for k in keys)
        short, short_work = steps(matcher, keys[0])
        long, long_work = steps(matcher, b"a" * 10000 + b"0")
        assert short is False and long is False
        assert short_work <= 4 * len(keys[0]) + 100, short_work      # 3 per byte + 22 (Python 3.11)
        assert long_work <= 10 * short_work + 100, (short_work, long_work)
