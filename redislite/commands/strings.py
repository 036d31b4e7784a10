"""The string family: GET/SET and options, counters, ranges, APPEND, MGET/MSET.

Behaviour follows Redis 7.0's ``t_string.c`` reply for reply, including its
odd corners (option keywords compared as C strings, so ``"NX\\0junk"`` is NX;
SETRANGE type-checks before it looks at an empty value).  Writes emit the
deterministic form Redis propagates: relative TTLs become ``SET k v PXAT ms`` /
``PEXPIREAT``, INCRBYFLOAT becomes ``SET k v KEEPTTL``, GETDEL becomes DEL.

INCRBYFLOAT computes in x87 80-bit ``long double`` as Redis does, emulated
exactly with integers (see ``_ld_*``): a Python float would print 10.5 + 0.1 as
``10.59999999999999964`` where Redis prints ``10.6``.
"""

import re

from .. import errors
from ..errors import ReplyError
from ..resp.encoder import OK
from ..storage.keyspace import value_memory
from .args import INT64_MAX, INT64_MIN, to_int
from .registry import command

_WRONGTYPE = ReplyError(errors.WRONGTYPE)
_SYNTAX = ReplyError(errors.SYNTAX)
_NOT_INT = ReplyError(errors.NOT_INTEGER)
_NOT_FLOAT = ReplyError(errors.NOT_FLOAT)
_OVERFLOW = ReplyError(errors.OVERFLOW)
_DECR_OVERFLOW = ReplyError(errors.DECR_OVERFLOW)
_NAN_INF = ReplyError(errors.INCR_NAN_INF)
_OFFSET = ReplyError(errors.OFFSET_OUT_OF_RANGE)
_TOO_LONG = ReplyError(errors.STRING_TOO_LONG)

_STR_TYPES = (bytes, bytearray)


def _string_value(v):
    """A stored value as a string for reading, or WRONGTYPE (None passes through)."""
    t = type(v)
    if t is bytes or v is None:
        return v
    if t is bytearray:
        return bytes(v)
    raise _WRONGTYPE


def _emit(ks, *argv):
    ks.shard.emit(ks.index, argv)


# --- SET / GETEX option parsing ----------------------------------------------------------
NX, XX, GET, KEEPTTL, PERSIST, EX, PX, EXAT, PXAT = (1 << i for i in range(9))
_EXPIRE_FLAGS = EX | PX | EXAT | PXAT
_EXPIRE_OPTS = {b"EX": EX, b"PX": PX, b"EXAT": EXAT, b"PXAT": PXAT}
_SECONDS = EX | EXAT
_RELATIVE = EX | PX


def _parse_options(argv, j, is_set):
    """parseExtendedStringArgumentsOrReply: returns (flags, expire_arg or None).

    Redis compares keywords as C strings, so anything after a NUL byte is
    ignored; a repeated EX (the same unit) is allowed and the last one wins.
    """
    flags = 0
    expire = None
    n = len(argv)
    while j < n:
        opt = argv[j]
        if b"\0" in opt:
            opt = opt[:opt.index(b"\0")]
        opt = opt.upper()
        if opt == b"NX" and is_set and not flags & XX:
            flags |= NX
        elif opt == b"XX" and is_set and not flags & NX:
            flags |= XX
        elif opt == b"GET" and is_set:
            flags |= GET
        elif opt == b"KEEPTTL" and is_set and not flags & (PERSIST | _EXPIRE_FLAGS):
            flags |= KEEPTTL
        elif opt == b"PERSIST" and not is_set and not flags & (_EXPIRE_FLAGS | KEEPTTL):
            flags |= PERSIST
        else:
            bit = _EXPIRE_OPTS.get(opt)
            if (bit is None or j + 1 >= n
                    or flags & (KEEPTTL | PERSIST | (_EXPIRE_FLAGS & ~bit))):
                raise _SYNTAX
            flags |= bit
            j += 1
            expire = argv[j]
        j += 1
    return flags, expire


def _expire_at(ks, flags, arg, name):
    """getExpireMillisecondsOrReply: the absolute expiry in ms, or the Redis error."""
    v = to_int(arg)
    if v is None:
        raise _NOT_INT
    seconds = flags & _SECONDS
    if v <= 0 or (seconds and v > INT64_MAX // 1000):
        raise ReplyError(errors.INVALID_EXPIRE % name)
    if seconds:
        v *= 1000
    if flags & _RELATIVE:
        v += ks.time.ms
        if v > INT64_MAX:  # Redis's signed addition wraps negative here
            raise ReplyError(errors.INVALID_EXPIRE % name)
    return v


def _set_generic(ks, key, value, flags, when, ok_reply, abort_reply):
    """setGenericCommand after option parsing; *when* is the absolute expiry or None."""
    old = None
    if flags & GET:
        old = _string_value(ks.lookup_read(key))
        found = old is not None
    else:
        found = ks.lookup_write(key) is not None
    if (flags & NX and found) or (flags & XX and not found):
        return old if flags & GET else abort_reply
    ks.set(key, value, keep_ttl=bool(flags & KEEPTTL))
    ks.notify("$", "set", key)
    if when is not None:
        ks.set_expire(key, when)
        ks.notify("g", "expire", key)
        _emit(ks, b"SET", key, value, b"PXAT", b"%d" % when)
    elif flags & (NX | XX | KEEPTTL):
        # Redis propagates the command without GET; NX/XX/KEEPTTL stay.
        _emit(ks, b"SET", key, value, *[name for bit, name in
                                         ((NX, b"NX"), (XX, b"XX"), (KEEPTTL, b"KEEPTTL"))
                                         if flags & bit])
    else:
        _emit(ks, b"SET", key, value)
    return old if flags & GET else ok_reply


# --- GET family ------------------------------------------------------------------------
@command("get", shard_op=True)
def get(ks, argv):
    return ks.get_string(argv[1])


@command("set", shard_op=True)
def set_(ks, argv):
    if len(argv) == 3 and not (ks.expires and argv[1] in ks.expires):
        # Plain SET of a key without TTL: nothing to parse, nothing to expire first.
        key = argv[1]
        ks.set(key, argv[2])
        shard = ks.shard
        if shard.notifier is not None:
            shard.notifier(ks.index, "$", "set", key)
        shard.emit(ks.index, (b"SET", key, argv[2]))
        return OK
    flags, expire = _parse_options(argv, 3, True)
    when = _expire_at(ks, flags, expire, "set") if expire is not None else None
    return _set_generic(ks, argv[1], argv[2], flags, when, OK, None)


@command("setnx", shard_op=True)
def setnx(ks, argv):
    key = argv[1]
    if ks.lookup_write(key) is not None:
        return 0
    ks.set(key, argv[2])
    ks.notify("$", "set", key)
    _emit(ks, b"SETNX", key, argv[2])
    return 1


@command("setex", shard_op=True)
def setex(ks, argv):
    when = _expire_at(ks, EX, argv[2], "setex")
    return _set_generic(ks, argv[1], argv[3], 0, when, OK, None)


@command("psetex", shard_op=True)
def psetex(ks, argv):
    when = _expire_at(ks, PX, argv[2], "psetex")
    return _set_generic(ks, argv[1], argv[3], 0, when, OK, None)


@command("getset", shard_op=True)
def getset(ks, argv):
    key, value = argv[1], argv[2]
    old = ks.get_string(key)
    ks.set(key, value)
    ks.notify("$", "set", key)
    _emit(ks, b"SET", key, value)
    return old


@command("getdel", shard_op=True)
def getdel(ks, argv):
    key = argv[1]
    old = ks.get_string(key)
    if old is not None and ks.delete(key):
        ks.notify("g", "del", key)
        _emit(ks, b"DEL", key)
    return old


@command("getex", shard_op=True)
def getex(ks, argv):
    flags, expire = _parse_options(argv, 2, False)
    key = argv[1]
    v = _string_value(ks.lookup_read(key))
    if v is None:
        return None
    if expire is not None:
        when = _expire_at(ks, flags, expire, "getex")
        if flags & (EXAT | PXAT) and when <= ks.time.ms and not ks.shard.replica_mode:
            # checkAlreadyExpired: an absolute time in the past deletes the key
            if ks.delete(key):
                ks.notify("g", "del", key)
                _emit(ks, b"DEL", key)
        else:
            ks.set_expire(key, when)
            ks.notify("g", "expire", key)
            _emit(ks, b"PEXPIREAT", key, b"%d" % when)
    elif flags & PERSIST and ks.persist(key):
        ks.notify("g", "persist", key)
        _emit(ks, b"PERSIST", key)
    return v


@command("strlen", shard_op=True)
def strlen(ks, argv):
    v = ks.lookup_read(argv[1])
    if v is None:
        return 0
    if type(v) not in _STR_TYPES:
        raise _WRONGTYPE
    return len(v)


def _getrange(ks, argv):
    start = to_int(argv[2])
    end = to_int(argv[3]) if start is not None else None
    if end is None:
        raise _NOT_INT
    v = ks.lookup_read(argv[1])
    if v is None:
        return b""
    if type(v) not in _STR_TYPES:
        raise _WRONGTYPE
    n = len(v)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if end < 0:
        end = 0
    if end >= n:
        end = n - 1
    if start > end or n == 0:
        return b""
    return bytes(memoryview(v)[start:end + 1]) if type(v) is bytearray else v[start:end + 1]


command("getrange", shard_op=True)(_getrange)
command("substr", shard_op=True)(_getrange)


# --- in-place edits: APPEND, SETRANGE ------------------------------------------------------
def _make_raw(ks, key, v):
    """The stored value as a bytearray we may grow in place (Redis's raw encoding)."""
    if type(v) is bytearray:
        return v
    raw = bytearray(v)
    ks.set(key, raw, keep_ttl=True)
    return raw


def _op_append(ks, args):
    key, tail, limit = args
    v = ks.lookup_write(key)
    if v is None:
        ks.set(key, tail)
        ks.notify("$", "append", key)
        _emit(ks, b"APPEND", key, tail)
        return len(tail)
    if type(v) not in _STR_TYPES:
        raise _WRONGTYPE
    if len(v) + len(tail) > limit:
        raise _TOO_LONG
    raw = _make_raw(ks, key, v)
    if tail:
        before = value_memory(raw)
        raw += tail
        ks.value_resized(before, value_memory(raw))
        _emit(ks, b"APPEND", key, tail)
    ks.signal_modified(key)
    ks.notify("$", "append", key)
    return len(raw)


@command("append")
def append(client, argv):
    """A coordinator only to read proto-max-bulk-len; the work is one shard op."""
    server = client.server
    return server.router.shard_for(argv[1]).execute(
        _op_append, client.db, (argv[1], argv[2], server.proto_max_bulk_len))


def _op_setrange(ks, args):
    key, offset_arg, value, limit = args
    offset = to_int(offset_arg)
    if offset is None:
        raise _NOT_INT
    if offset < 0:
        raise _OFFSET
    v = ks.lookup_write(key)
    if v is None:
        if not value:
            return 0
        if offset + len(value) > limit:
            raise _TOO_LONG
        raw = bytearray(offset)
        raw += value
        ks.set(key, raw)
    else:
        if type(v) not in _STR_TYPES:
            raise _WRONGTYPE
        if not value:
            return len(v)
        if offset + len(value) > limit:
            raise _TOO_LONG
        raw = _make_raw(ks, key, v)
        before = value_memory(raw)
        pad = offset - len(raw)
        if pad > 0:
            raw += bytes(pad)
        raw[offset:offset + len(value)] = value
        ks.value_resized(before, value_memory(raw))
        ks.signal_modified(key)
    ks.notify("$", "setrange", key)
    _emit(ks, b"SETRANGE", key, offset_arg, value)
    return len(raw)


@command("setrange")
def setrange(client, argv):
    server = client.server
    return server.router.shard_for(argv[1]).execute(
        _op_setrange, client.db, (argv[1], argv[2], argv[3], server.proto_max_bulk_len))


# --- counters ------------------------------------------------------------------------------
def _incr(ks, key, delta, event):
    v = ks.lookup_write(key)
    if v is None:
        cur = 0
    else:
        if type(v) not in _STR_TYPES:
            raise _WRONGTYPE
        cur = to_int(v)
        if cur is None:
            raise _NOT_INT
    new = cur + delta
    if new > INT64_MAX or new < INT64_MIN:
        raise _OVERFLOW
    if v is None:
        ks.set(key, b"%d" % new, keep_ttl=True)   # a replica's hidden expired key keeps its TTL
    else:
        ks.replace_string(key, v, b"%d" % new)
    shard = ks.shard
    if shard.notifier is not None:
        shard.notifier(ks.index, "$", "incrby", key)
    shard.emit(ks.index, event)
    return new


@command("incr", shard_op=True)
def incr(ks, argv):
    return _incr(ks, argv[1], 1, (b"INCR", argv[1]))


@command("decr", shard_op=True)
def decr(ks, argv):
    return _incr(ks, argv[1], -1, (b"DECR", argv[1]))


@command("incrby", shard_op=True)
def incrby(ks, argv):
    delta = to_int(argv[2])
    if delta is None:
        raise _NOT_INT
    return _incr(ks, argv[1], delta, (b"INCRBY", argv[1], argv[2]))


@command("decrby", shard_op=True)
def decrby(ks, argv):
    delta = to_int(argv[2])
    if delta is None:
        raise _NOT_INT
    if delta == INT64_MIN:
        raise _DECR_OVERFLOW
    return _incr(ks, argv[1], -delta, (b"DECRBY", argv[1], argv[2]))


@command("incrbyfloat", shard_op=True)
def incrbyfloat(ks, argv):
    key = argv[1]
    v = ks.lookup_write(key)
    if v is None:
        cur = (0, 0)
    else:
        if type(v) not in _STR_TYPES:
            raise _WRONGTYPE
        cur = ld_parse(v)
        if cur is None:
            raise _NOT_FLOAT
    inc = ld_parse(argv[2])
    if inc is None:
        raise _NOT_FLOAT
    total = ld_add(cur, inc)
    if total is None:
        raise _NAN_INF
    text = ld_format(total)
    ks.set(key, text, keep_ttl=True)
    ks.notify("$", "incrbyfloat", key)
    _emit(ks, b"SET", key, text, b"KEEPTTL")
    return text


# --- multi-key coordinators ----------------------------------------------------------------
def _op_mget(ks, keys):
    out = []
    for k in keys:
        v = ks.lookup_read(k)
        t = type(v)
        out.append(v if t is bytes else bytes(v) if t is bytearray else None)
    return out


@command("mget")
def mget(client, argv):
    router = client.server.router
    keys = argv[1:]
    if router.count == 1:
        return router.shards[0].execute(_op_mget, client.db, keys)
    result = [None] * len(keys)
    for shard, items in router.group(keys).items():
        values = shard.execute(_op_mget, client.db, [k for _, k in items])
        for (pos, _), value in zip(items, values):
            result[pos] = value
    return result


def _op_mset(ks, pairs):
    for key, value in pairs:
        ks.lookup_write(key)  # expire it first, as setKey's lookup does (emits DEL)
        ks.set(key, value)
        ks.notify("$", "set", key)
    return None


def _op_any_exists(ks, keys):
    for k in keys:
        if ks.lookup_write(k) is not None:
            return True
    return False


def _by_shard(router, argv):
    """{shard: [(key, value), ...]} for MSET-style argv, preserving argument order."""
    groups = {}
    for i in range(1, len(argv), 2):
        groups.setdefault(router.shard_for(argv[i]), []).append((argv[i], argv[i + 1]))
    return groups


def _mset_generic(client, argv, nx):
    """Atomic across shards: every op runs in this one synchronous call chain."""
    if len(argv) % 2 == 0:
        raise errors.wrong_arity("msetnx" if nx else "mset")
    router = client.server.router
    db = client.db
    groups = _by_shard(router, argv)
    if nx:
        for shard, pairs in groups.items():
            if shard.execute(_op_any_exists, db, [k for k, _ in pairs]):
                return 0
    if len(groups) == 1:
        for shard, pairs in groups.items():
            shard.execute(_op_mset, db, pairs)
    else:
        # Key by key in argument order, so keyspace notifications come in Redis's order.
        for i in range(1, len(argv), 2):
            router.shard_for(argv[i]).execute(_op_mset, db, ((argv[i], argv[i + 1]),))
    # One event for the whole command keeps it atomic in the AOF / replica stream.
    router.shard_for(argv[1]).emit(db, (b"MSETNX" if nx else b"MSET",) + tuple(argv[1:]))
    return 1 if nx else OK


@command("mset")
def mset(client, argv):
    return _mset_generic(client, argv, False)


@command("msetnx")
def msetnx(client, argv):
    return _mset_generic(client, argv, True)


# --- x87 long double emulation ---------------------------------------------------------------
# A finite long double is kept as (m, e): the exact value m * 2**e, with |m| < 2**64.
# Zero is (0, 0); the sign of zero never shows (Redis prints it as "0").
_LD_BITS = 64              # significand bits, explicit integer bit included
_LD_MIN_E = -16445         # exponent of the smallest subnormal's unit
_LD_MAX_BITS = 16384       # values >= 2**16384 overflow to infinity
_MAX_LD_CHARS = 5 * 1024   # MAX_LONG_DOUBLE_CHARS: string2ld refuses longer input
_DEC = re.compile(rb"([+-]?)(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]+))?")
_HEX = re.compile(rb"([+-]?)0[xX](?:([0-9a-fA-F]+)(?:\.([0-9a-fA-F]*))?|\.([0-9a-fA-F]+))"
                  rb"(?:[pP]([+-]?[0-9]+))?")
_INF = re.compile(rb"[+-]?(?:inf|infinity)", re.IGNORECASE)
_INF_VALUE = "inf"
_CHUNK = 3000
_CHUNK_POW = 10 ** _CHUNK


def _ld_div(num, den, e):
    """floor(num / (den * 2**e)), the remainder, and the divisor it is relative to."""
    if e >= 0:
        d = den << e
        q, r = divmod(num, d)
        return q, r, d
    q, r = divmod(num << -e, den)
    return q, r, den


def _ld_round(num, den):
    """Round num/den (den > 0) to long double, ties to even: (m, e), None on overflow."""
    if num == 0:
        return (0, 0)
    neg = num < 0
    if neg:
        num = -num
    # num/den lies in [2**(nb-db-1), 2**(nb-db+1)), so q has 64 or 65 bits here
    e = max(num.bit_length() - den.bit_length() - _LD_BITS, _LD_MIN_E)
    q, r, d = _ld_div(num, den, e)
    if q >> _LD_BITS:
        e += 1
        q, r, d = _ld_div(num, den, e)
    r2 = r << 1
    if r2 > d or (r2 == d and q & 1):
        q += 1
        if q >> _LD_BITS:
            q >>= 1
            e += 1
    if q == 0:
        return (0, 0)
    if q.bit_length() + e > _LD_MAX_BITS:
        return None
    return (-q if neg else q, e)


def _big_int(digits):
    """int() of a long ASCII digit string without Python's 4300-digit conversion limit."""
    if len(digits) <= _CHUNK:
        return int(digits) if digits else 0
    n = 0
    for i in range(0, len(digits), _CHUNK):
        part = digits[i:i + _CHUNK]
        n = n * 10 ** len(part) + int(part)
    return n


def _big_str(n):
    """str() of a non-negative int without the 4300-digit limit (divide and conquer)."""
    if n < _CHUNK_POW:
        return str(n)
    hi, lo = divmod(n, _CHUNK_POW)
    return _big_str(hi) + str(lo).rjust(_CHUNK, "0")


def _exponent(sign_digits):
    """An exponent field, saturated far outside any representable range."""
    if sign_digits is None:
        return 0
    neg = sign_digits[:1] == b"-"
    digits = sign_digits.lstrip(b"+-").lstrip(b"0")
    v = 10 ** 9 if len(digits) > 9 else int(digits or b"0")
    return -v if neg else v


def ld_parse(s):
    """string2ld: strtold on the whole string, as Redis checks it.

    Returns (m, e), ``"inf"`` / ``"-inf"`` for infinities (strtold accepts
    them, the sum then fails), or None for what Redis calls not a valid float:
    empty, too long, NaN, trailing/leading junk, and values out of range.
    """
    n = len(s)
    if n == 0 or n >= _MAX_LD_CHARS:
        return None
    if type(s) is not bytes:
        s = bytes(s)
    m = _DEC.fullmatch(s)
    if m is not None:
        sign, ip, fp, only_fp, exp = m.groups()
        if only_fp is not None:
            ip, fp = b"", only_fp
        fp = fp or b""
        digits = (ip + fp).lstrip(b"0")
        if not digits:
            return (0, 0)
        e10 = _exponent(exp) - len(fp)
        magnitude = len(digits) + e10          # value < 10**magnitude
        if magnitude > 4934:
            return None                        # overflow (ERANGE, HUGE_VALL)
        if magnitude < -4953:
            return None                        # underflow to zero (ERANGE)
        mant = _big_int(digits)
        if sign == b"-":
            mant = -mant
        if e10 >= 0:
            r = _ld_round(mant * 10 ** e10, 1)
        else:
            r = _ld_round(mant, 10 ** -e10)
        return None if r is None or r == (0, 0) else r
    m = _HEX.fullmatch(s)
    if m is not None:
        sign, ip, fp, only_fp, exp = m.groups()
        if only_fp is not None:
            ip, fp = b"", only_fp
        fp = fp or b""
        digits = (ip + fp).lstrip(b"0")
        if not digits:
            return (0, 0)
        mant = int(digits, 16)
        e2 = _exponent(exp) - 4 * len(fp)
        bits = mant.bit_length() + e2
        if bits > _LD_MAX_BITS + 1 or bits < _LD_MIN_E - 2:
            return None
        if sign == b"-":
            mant = -mant
        r = _ld_round(mant << e2, 1) if e2 >= 0 else _ld_round(mant, 1 << -e2)
        return None if r is None or r == (0, 0) else r
    if _INF.fullmatch(s):
        return "-inf" if s[:1] == b"-" else _INF_VALUE
    return None


def ld_add(a, b):
    """a + b rounded to long double; None when the result is NaN or infinite."""
    if type(a) is str or type(b) is str:
        return None  # inf + x is inf, inf - inf is NaN: both are refused
    (ma, ea), (mb, eb) = a, b
    if ma == 0:
        return b
    if mb == 0:
        return a
    e = min(ea, eb)
    total = (ma << (ea - e)) + (mb << (eb - e))
    if e >= 0:
        return _ld_round(total << e, 1)
    return _ld_round(total, 1 << -e)


def ld_format(value):
    """ld2string(LD_STR_HUMAN): ``%.17Lf``, trailing zeros and '.' stripped, "-0" -> "0"."""
    m, e = value
    if m == 0:
        return b"0"
    neg = m < 0
    a = -m if neg else m
    if e >= 0:
        n = (a << e) * 10 ** 17
    else:
        num = a * 10 ** 17
        sh = -e
        n = num >> sh
        rem = num - (n << sh)
        half = 1 << (sh - 1)
        if rem > half or (rem == half and n & 1):
            n += 1
    if n == 0:
        return b"0"
    text = _big_str(n).rjust(18, "0")
    whole, frac = text[:-17], text[-17:].rstrip("0")
    out = whole + "." + frac if frac else whole
    return ("-" + out if neg else out).encode()
