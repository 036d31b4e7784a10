"""Argument parsing as strict as Redis's (util.c string2ll / string2ld).

Python's int() and float() accept " 12", "+12", "1_2" and "nan"; Redis does
not, and the differential suite would catch every difference.
"""

import math

from .. import errors
from ..errors import ReplyError

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
_NOT_INT = ReplyError(errors.NOT_INTEGER)
_NOT_FLOAT = ReplyError(errors.NOT_FLOAT)
_DIGITS = frozenset(b"0123456789")


def to_int(b):
    """Parse like string2ll: optional '-', no leading zeros, no '+' or spaces, int64 range.
    Returns None when *b* is not such an integer."""
    n = len(b)
    if n == 0 or n > 20:
        return None
    if n == 1:
        c = b[0]
        return c - 48 if 48 <= c <= 57 else None
    start = 1 if b[0] == 45 else 0
    first = b[start:start + 1]
    if not first or not (b"1" <= first <= b"9"):
        return None
    if not _DIGITS.issuperset(b[start + 1:]):
        return None
    v = int(b)
    if v < INT64_MIN or v > INT64_MAX:
        return None
    return v


def parse_int(b, error=_NOT_INT):
    """A strict int64 argument, or raise the given ReplyError (default: not an integer)."""
    v = to_int(b)
    if v is None:
        raise error if isinstance(error, ReplyError) else ReplyError(error)
    return v


def parse_nonneg(b, message):
    v = parse_int(b)
    if v < 0:
        raise ReplyError(message)
    return v


def to_float(b, allow_nan=False):
    """Parse like strtod/strtold with Redis's checks, or None.  Accepts inf,
    infinity, exponents and hex floats; rejects spaces, '_' and (unless asked) nan."""
    if not b or b[0] in b" \t\r\n\v\f" or b[-1] in b" \t\r\n\v\f" or b"_" in b:
        return None
    try:
        s = b.decode("ascii")
    except UnicodeDecodeError:
        return None
    try:
        v = float(s)
    except ValueError:
        low = s.lower()
        if "0x" in low:
            try:
                v = float.fromhex(s)
            except ValueError:
                return None
        else:
            return None
    if v != v and not allow_nan:
        return None
    return v


def parse_float(b, error=_NOT_FLOAT):
    v = to_float(b)
    if v is None:
        raise error if isinstance(error, ReplyError) else ReplyError(error)
    return v


def is_finite(v):
    return not (math.isinf(v) or math.isnan(v))


def upper(b):
    """Option keyword comparison helper: argument bytes upper-cased."""
    return b.upper()
