"""Deterministic measures of work, for the tests that bound a complexity.

A timed assertion fails on a loaded 2-core CI machine; performance is measured by
the benchmarks (benchmarks/), never by a stopwatch inside a test. What a test can
assert instead is how much the code *does*, which no amount of load can move:

- :func:`calls` counts the Python and C functions a call makes (``sys.setprofile``);
- :func:`steps` adds the Python lines it executes (``sys.settrace``), so that a
  loop made of subscripts and arithmetic, which makes no call, is counted too.

Neither sees the work done inside one C call (a regex scan, a big-int operation,
a memmove): a test that needs to bound that must count it another way (see
tests/compat/test_harness_selfcheck.py, which counts the bytes a buffer moves).

Both hooks are per thread: only work done on the calling thread is counted.
"""

import sys


def calls(fn, *args, **kwargs):
    """``(fn(*args, **kwargs), how many Python and C functions it called)``."""
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        if event == "call" or event == "c_call":
            count += 1

    old = sys.getprofile()
    sys.setprofile(profile)
    try:
        result = fn(*args, **kwargs)
    finally:
        sys.setprofile(old)
    return result, count


def steps(fn, *args, **kwargs):
    """``(fn(*args, **kwargs), Python lines executed + Python and C calls made)``."""
    count = 0

    def line(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return line

    def trace(frame, event, arg):
        return line

    def profile(frame, event, arg):
        nonlocal count
        if event == "call" or event == "c_call":
            count += 1

    old_trace, old_profile = sys.gettrace(), sys.getprofile()
    sys.settrace(trace)
    sys.setprofile(profile)
    try:
        result = fn(*args, **kwargs)
    finally:
        sys.setprofile(old_profile)
        sys.settrace(old_trace)
    return result, count
