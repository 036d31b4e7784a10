"""The sorted-set family: ZADD ... ZSCAN, the set-algebra commands and BZPOP*.

Behaviour follows Redis 7.0.15's ``t_zset.c`` reply for reply, including the
order of its checks (ZRANGE parses options, then the range, then looks the
key up; ZUNIONSTORE looks keys up before it parses WEIGHTS) and its numeric
parsers: scores go through ``string2d`` (strict, overflow is an error) while
range bounds go through bare ``strtod`` (leading blanks, ``""`` = 0 and
``1e999`` = inf are accepted).  A listpack stores scores as text, so ``-0``
becomes ``0`` in small zsets but stays ``-0`` in skiplist ones, as in Redis.

Handlers that only need the keyspace are shard ops; the ones that need the
protocol version (WITHSCORES nests pairs in RESP3), the listpack limits from
the config, or several keys are coordinators that reach keys through ops.

Write events are what Redis 7.0 propagates: ZADD/ZINCRBY/ZREM/ZREMRANGE*/
ZPOPMIN/ZPOPMAX/ZRANGESTORE/Z*STORE verbatim (only when something changed);
ZMPOP and BZMPOP become ``ZPOPMIN|ZPOPMAX key <popped count>``, BZPOPMIN and
BZPOPMAX become ``ZPOPMIN|ZPOPMAX key``.
"""

import math
import random
import re

from .. import errors
from ..blocking import block, parse_timeout, signal_key_ready
from ..errors import ReplyError
from ..resp.encoder import Double, NullArray
from ..storage.keyspace import type_name
from ..storage.types.zset import LEX_MAX, LEX_MIN, ZSet
from .args import to_int
from .hashes import MAX_SAMPLES
from .keys import parse_scan_cursor, parse_scan_options
from .registry import command

_WRONGTYPE = ReplyError(errors.WRONGTYPE)
_SYNTAX = ReplyError(errors.SYNTAX)
_NOT_INT = ReplyError(errors.NOT_INTEGER)
_NOT_FLOAT = ReplyError(errors.NOT_FLOAT)
_NAN = ReplyError("ERR resulting score is not a number (NaN)")
_MINMAX_FLOAT = ReplyError("ERR min or max is not a float")
_MINMAX_LEX = ReplyError("ERR min or max not valid string range item")
_LIMIT_RANK = ReplyError("ERR syntax error, LIMIT is only supported in combination with either "
                         "BYSCORE or BYLEX")
_WITHSCORES_LEX = ReplyError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
_XX_NX = ReplyError("ERR XX and NX options at the same time are not compatible")
_GT_LT_NX = ReplyError("ERR GT, LT, and/or NX options at the same time are not compatible")
_INCR_PAIR = ReplyError("ERR INCR option supports a single increment-element pair")
_POSITIVE = ReplyError(errors.OUT_OF_RANGE_POSITIVE)
_WEIGHT = ReplyError("ERR weight value is not a float")
_LIMIT_NEG = ReplyError("ERR LIMIT can't be negative")
_NUMKEYS = ReplyError("ERR numkeys should be greater than 0")
_COUNT = ReplyError("ERR count should be greater than 0")
_RANDMEMBER_RANGE = ReplyError("ERR value is out of range, value must between "
                               "-9223372036854775807 and 9223372036854775807")
_RANGE = ReplyError("ERR value is out of range")

_INF = math.inf
_LONG_MAX = (1 << 63) - 1
_EMPTY_SCAN = [b"0", []]
_SPACES = b" \t\n\v\f\r"


# ---------------------------------------------------------------------------
# number parsing (util.c string2d / libc strtod)
# ---------------------------------------------------------------------------

def _strtod(s):
    """libc strtod over the whole of *s* (no leading blanks here).

    Returns ``(value, erange)`` or None when *s* is not entirely a number.
    ``erange`` says strtod would set ERANGE (overflow, or underflow to zero).
    """
    if not s or b"_" in s:
        return None
    for c in s:
        if c in _SPACES or c > 127:
            return None
    body = s[1:] if s[:1] in (b"+", b"-") else s
    low = body.lower()
    if low[:2] == b"0x":
        try:
            v = float.fromhex(s.decode())
        except OverflowError:
            return (_INF if s[:1] != b"-" else -_INF), True
        except ValueError:
            return None
        mant = low[2:].split(b"p", 1)[0]
        nonzero = any(c not in b"0." for c in mant)
        return v, (v == 0 and nonzero)
    if not (low[:1].isdigit() or low[:1] == b"." or low in (b"inf", b"infinity", b"nan")):
        return None
    try:
        v = float(s)
    except ValueError:
        return None
    if math.isinf(v):
        return v, low not in (b"inf", b"infinity")
    if v == 0:
        mant = low.split(b"e", 1)[0]
        return v, any(c not in b"0." for c in mant)
    return v, False


#: Plain decimal numbers: the common case, parsed without the generic strtod emulation.
_DECIMAL = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?").fullmatch


def parse_score(arg, error=_NOT_FLOAT):
    """getDoubleFromObject (string2d): strict, no blanks, no overflow, no NaN."""
    if arg.isdigit() or _DECIMAL(arg) is not None:     # isdigit: the common integer score, no regex
        v = float(arg)
        if v != 0 and v - v == 0:        # finite and non-zero: no ERANGE possible
            return v
    r = _strtod(bytes(arg))
    if r is None or r[1] or r[0] != r[0]:
        raise error
    return r[0]


def _range_item(arg):
    """One zslParseRange bound: ``(value, exclusive)`` or None."""
    s = bytes(arg)
    if b"\0" in s:
        s = s[:s.index(b"\0")]      # a C string ends at the first NUL
    ex = s[:1] == b"("
    if ex:
        s = s[1:]
    if _DECIMAL(s) is not None:
        return float(s), ex
    t = s.lstrip(_SPACES)
    if not t:
        # strtod("") converts nothing and leaves end at the terminator: 0.
        return (0.0, ex) if not s else None
    r = _strtod(t)
    if r is None or r[0] != r[0]:
        return None
    return r[0], ex


def parse_score_range(lo, hi):
    a = _range_item(lo)
    b = _range_item(hi)
    if a is None or b is None:
        raise _MINMAX_FLOAT
    return a[0], b[0], a[1], b[1]


def _lex_item(arg):
    s = bytes(arg)
    c = s[:1]
    if c == b"+" or c == b"-":
        if len(s) > 1 and s[1] != 0:
            return None
        return LEX_MAX if c == b"+" else LEX_MIN
    if c == b"(":
        return (s[1:], True)
    if c == b"[":
        return (s[1:], False)
    return None


def parse_lex_range(lo, hi):
    a = _lex_item(lo)
    b = _lex_item(hi)
    if a is None or b is None:
        raise _MINMAX_LEX
    return a, b


def _long(arg):
    v = to_int(arg)
    if v is None:
        raise _NOT_INT
    return v


# ---------------------------------------------------------------------------
# shared plumbing
# ---------------------------------------------------------------------------

def _limits(client):
    """(zset-max-listpack-entries, zset-max-listpack-value): what Server.apply_config gave the shards."""
    return client.server.shards[0].zset_limits


def _run(client, key, op, args):
    """Run *op* on the shard owning *key*; errors come back raised."""
    reply = client.server.router.call(client.db, key, op, args)
    if type(reply) is ReplyError:
        raise reply
    return reply


def _emit(ks, argv):
    ks.shard.emit(ks.index, tuple(argv))


def _touched(ks, key, z, old_mem):
    """After an in-place change: account memory, drop the key if empty, invalidate WATCH."""
    ks.value_resized(old_mem, z.mem)
    if not len(z):
        ks.delete(key)
        ks.notify("g", "del", key)
    elif ks.watched is not None:
        ks.signal_modified(key)


def _with_scores(pairs, resp3):
    """WITHSCORES: flat member, score in RESP2; [member, score] pairs in RESP3."""
    if resp3:
        return [[m, Double(s)] for m, s in pairs]
    out = []
    for m, s in pairs:
        out.append(m)
        out.append(Double(s))
    return out


def _get(ks, key, write=False):
    return ks.get_typed(key, ZSet, write)


# ---------------------------------------------------------------------------
# ZADD / ZINCRBY
# ---------------------------------------------------------------------------

_NX, _XX, _GT, _LT, _INCR, _CH = 1, 2, 4, 8, 16, 32
_ZADD_OPTS = {b"NX": _NX, b"XX": _XX, b"GT": _GT, b"LT": _LT, b"INCR": _INCR, b"CH": _CH}


def _op_zadd(ks, args):
    argv, flags, scores, idx, limits = args
    key = argv[1]
    z = _get(ks, key, write=True)
    incr = flags & _INCR
    if z is None:
        if flags & _XX:
            return None if incr else 0
        z = ZSet()
        created = True
    else:
        created = False
    old_mem = z.mem
    added = updated = processed = 0
    score = 0.0
    nx, xx, gt, lt = flags & _NX, flags & _XX, flags & _GT, flags & _LT
    error = None
    for j, score in enumerate(scores):
        member = bytes(argv[idx + 1 + 2 * j])
        cur = z.scores.get(member)
        if cur is not None:
            if nx:
                continue
            if incr:
                score += cur
                if score != score:
                    error = _NAN
                    break
            if (lt and score >= cur) or (gt and score <= cur):
                continue
            processed += 1
            if score != cur:
                z.rescore(member, cur, score)
                updated += 1
        elif not xx:
            z.insert(member, score, limits)
            added += 1
            processed += 1
    if created:
        if len(z):
            ks.set(key, z)
    else:
        ks.value_resized(old_mem, z.mem)
        if (added or updated) and ks.watched is not None:
            ks.signal_modified(key)
    if added or updated:
        ks.notify("z", "zincr" if incr else "zadd", key)
        _emit(ks, argv)
        if added:
            signal_key_ready(ks, key)
    if error is not None:
        return error
    if incr:
        return Double(score) if processed else None
    return added + updated if flags & _CH else added


def _zadd_parse(argv, flags, limits):
    """ZADD/ZINCRBY/GEOADD arguments -> _op_zadd's args (syntax errors raised)."""
    n = len(argv)
    idx = 2
    while idx < n:
        bit = _ZADD_OPTS.get(argv[idx].upper())
        if bit is None:
            break
        flags |= bit
        idx += 1
    elements = n - idx
    if elements % 2 or not elements:
        raise _SYNTAX
    elements //= 2
    if flags & _NX and flags & _XX:
        raise _XX_NX
    if (flags & _NX and flags & (_GT | _LT)) or (flags & _GT and flags & _LT):
        raise _GT_LT_NX
    if flags & _INCR and elements > 1:
        raise _INCR_PAIR
    scores = [parse_score(argv[idx + 2 * j]) for j in range(elements)]
    return argv, flags, scores, idx, limits


def _zadd_generic(client, argv, flags):
    """ZADD through the router (GEOADD, a coordinator)."""
    return _run(client, argv[1], _op_zadd, _zadd_parse(argv, flags, _limits(client)))


@command("zadd", shard_op=True)
def zadd(ks, argv):
    """A shard op (the protocol routes it, no coordinator call); the listpack
    limits come from ``shard.zset_limits``, which the server keeps current."""
    if len(argv) != 4:
        return _op_zadd(ks, _zadd_parse(argv, 0, ks.shard.zset_limits))
    # The common single pair without flags: _op_zadd's work, inlined.
    _, key, score, member = argv
    if score.isdigit():
        # an unsigned integer (never an option word): parse_score's first
        # case, less its tests (no sign, so no -0; inf only past 308 digits)
        score = float(score)
        if score == _INF:
            raise _NOT_FLOAT
    elif score.upper() in _ZADD_OPTS:
        return _op_zadd(ks, _zadd_parse(argv, 0, ks.shard.zset_limits))
    else:
        score = parse_score(score)
    if type(member) is not bytes:
        member = bytes(member)
    z = ks.lookup_write(key)
    if z is None:
        z = ZSet()
        z.insert(member, score, ks.shard.zset_limits)
        ks.set(key, z)
        added = 1
    elif type(z) is not ZSet:
        raise _WRONGTYPE
    else:
        scores = z.scores
        cur = scores.get(member)
        if cur is None:
            ks.mem += z.insert(member, score, ks.shard.zset_limits)     # value_resized
            added = 1
        elif cur == score:
            return 0
        else:
            # z.rescore, inlined (same size: nothing to account)
            if score == 0 and z.listpack:
                score = 0.0
            z.sl.move(cur, score, member)
            scores[member] = score
            added = 0
        if ks.watched is not None:
            ks.signal_modified(key)
    shard = ks.shard
    if shard.notifier is not None:
        shard.notifier(ks.index, "z", "zadd", key)
    shard.emit(ks.index, tuple(argv))
    if added:
        if shard.waiters:
            signal_key_ready(ks, key)
        return 1
    return 0


@command("zincrby", shard_op=True)
def zincrby(ks, argv):
    return _op_zadd(ks, _zadd_parse(argv, _INCR, ks.shard.zset_limits))


# ---------------------------------------------------------------------------
# point reads and removals (shard ops)
# ---------------------------------------------------------------------------

@command("zcard", shard_op=True)
def zcard(ks, argv):
    z = _get(ks, argv[1])
    return len(z) if z is not None else 0


@command("zscore", shard_op=True)
def zscore(ks, argv):
    z = _get(ks, argv[1])
    if z is None:
        return None
    s = z.scores.get(bytes(argv[2]))
    return None if s is None else Double(s)


@command("zmscore", shard_op=True)
def zmscore(ks, argv):
    z = _get(ks, argv[1])
    if z is None:
        return [None] * (len(argv) - 2)
    get = z.scores.get
    out = []
    for m in argv[2:]:
        s = get(bytes(m))
        out.append(None if s is None else Double(s))
    return out


def _rank(ks, argv, reverse):
    z = _get(ks, argv[1])
    if z is None:
        return None
    return z.rank(bytes(argv[2]), reverse)


@command("zrank", shard_op=True)
def zrank(ks, argv):
    return _rank(ks, argv, False)


@command("zrevrank", shard_op=True)
def zrevrank(ks, argv):
    return _rank(ks, argv, True)


@command("zcount", shard_op=True)
def zcount(ks, argv):
    lo, hi, lo_ex, hi_ex = parse_score_range(argv[2], argv[3])
    z = _get(ks, argv[1])
    return z.count_by_score(lo, hi, lo_ex, hi_ex) if z is not None else 0


@command("zlexcount", shard_op=True)
def zlexcount(ks, argv):
    lo, hi = parse_lex_range(argv[2], argv[3])
    z = _get(ks, argv[1])
    return z.count_by_lex(lo, hi) if z is not None else 0


@command("zrem", shard_op=True)
def zrem(ks, argv):
    key = argv[1]
    z = _get(ks, key, write=True)
    if z is None:
        return 0
    old_mem = z.mem
    deleted = 0
    for m in argv[2:]:
        if z.remove(bytes(m)):
            deleted += 1
            if not len(z):
                break
    if deleted:
        ks.notify("z", "zrem", key)
        _touched(ks, key, z, old_mem)
        _emit(ks, argv)
    return deleted


def _zremrange(ks, argv, kind):
    key = argv[1]
    if kind == "rank":
        start, end = _long(argv[2]), _long(argv[3])
    elif kind == "score":
        lo, hi, lo_ex, hi_ex = parse_score_range(argv[2], argv[3])
    else:
        llo, lhi = parse_lex_range(argv[2], argv[3])
    z = _get(ks, key, write=True)
    if z is None:
        return 0
    old_mem = z.mem
    if kind == "rank":
        n = len(z)
        if start < 0:
            start += n
        if end < 0:
            end += n
        if start < 0:
            start = 0
        if start > end or start >= n:
            return 0
        if end >= n:
            end = n - 1
        removed = z.remove_range_by_rank(start, end)
    elif kind == "score":
        removed = z.remove_range_by_score(lo, hi, lo_ex, hi_ex)
    else:
        removed = z.remove_range_by_lex(llo, lhi)
    if removed:
        ks.notify("z", "zremrangeby" + kind, key)
        _touched(ks, key, z, old_mem)
        _emit(ks, argv)
    return len(removed)


@command("zremrangebyrank", shard_op=True)
def zremrangebyrank(ks, argv):
    return _zremrange(ks, argv, "rank")


@command("zremrangebyscore", shard_op=True)
def zremrangebyscore(ks, argv):
    return _zremrange(ks, argv, "score")


@command("zremrangebylex", shard_op=True)
def zremrangebylex(ks, argv):
    return _zremrange(ks, argv, "lex")


# ---------------------------------------------------------------------------
# ZRANGE and friends
# ---------------------------------------------------------------------------

RANK, SCORE, LEX = 1, 2, 3


def _parse_zrange(argv, start, store, rangetype, reverse):
    """zrangeGenericCommand's option and range parsing -> a range spec tuple."""
    withscores = False
    offset, limit = 0, -1
    n = len(argv)
    j = start + 3
    while j < n:
        opt = argv[j].lower()
        left = n - j - 1
        if not store and opt == b"withscores":
            withscores = True
        elif opt == b"limit" and left >= 2:
            offset = _long(argv[j + 1])
            limit = _long(argv[j + 2])
            j += 2
        elif reverse is None and opt == b"rev":
            reverse = True
        elif rangetype is None and opt == b"bylex":
            rangetype = LEX
        elif rangetype is None and opt == b"byscore":
            rangetype = SCORE
        else:
            raise _SYNTAX
        j += 1
    reverse = bool(reverse)
    if rangetype is None:
        rangetype = RANK
    if limit != -1 and rangetype == RANK:
        raise _LIMIT_RANK
    if withscores and rangetype == LEX:
        raise _WITHSCORES_LEX
    a, b = argv[start + 1], argv[start + 2]
    if reverse and rangetype != RANK:
        a, b = b, a
    if rangetype == RANK:
        bounds = (_long(a), _long(b))
    elif rangetype == SCORE:
        bounds = parse_score_range(a, b)
    else:
        bounds = parse_lex_range(a, b)
    return rangetype, reverse, bounds, offset, limit, withscores


def _range_pairs(z, rangetype, reverse, bounds, offset, limit):
    """The (member, score) pairs a parsed range selects."""
    if rangetype == RANK:
        start, end = bounds
        n = len(z)
        if start < 0:
            start += n
        if end < 0:
            end += n
        if start < 0:
            start = 0
        if start > end or start >= n:
            return []
        if end >= n:
            end = n - 1
        return z.range_by_rank(start, end, reverse)
    if offset > 0 and offset >= len(z):
        return []
    if rangetype == SCORE:
        lo, hi, lo_ex, hi_ex = bounds
        return z.range_by_score(lo, hi, lo_ex, hi_ex, reverse, offset, limit)
    lo, hi = bounds
    return z.range_by_lex(lo, hi, reverse, offset, limit)


def _op_range(ks, args):
    key, spec = args
    z = _get(ks, key)
    if z is None:
        return []
    rangetype, reverse, bounds, offset, limit, _ = spec
    return _range_pairs(z, rangetype, reverse, bounds, offset, limit)


def _zrange_reply(client, argv, rangetype, reverse):
    spec = _parse_zrange(argv, 1, False, rangetype, reverse)
    pairs = _run(client, argv[1], _op_range, (argv[1], spec))
    if spec[5]:
        return _with_scores(pairs, client.resp3)
    return [m for m, _ in pairs]


@command("zrange")
def zrange(client, argv):
    return _zrange_reply(client, argv, None, None)


@command("zrevrange")
def zrevrange(client, argv):
    return _zrange_reply(client, argv, RANK, True)


@command("zrangebyscore")
def zrangebyscore(client, argv):
    return _zrange_reply(client, argv, SCORE, False)


@command("zrevrangebyscore")
def zrevrangebyscore(client, argv):
    return _zrange_reply(client, argv, SCORE, True)


@command("zrangebylex")
def zrangebylex(client, argv):
    return _zrange_reply(client, argv, LEX, False)


@command("zrevrangebylex")
def zrevrangebylex(client, argv):
    return _zrange_reply(client, argv, LEX, True)


def _op_read_zset(ks, key):
    """The zset at *key* (read lookup), or None; WRONGTYPE otherwise."""
    return _get(ks, key)


def _op_store_zset(ks, args):
    """Store a computed zset (or delete the key when it is empty); emit the command."""
    dst, z, argv, event = args
    if z is not None and len(z):
        existed = ks.lookup_write(dst) is not None
        ks.set(dst, z)
        ks.notify("z", event, dst)
        _emit(ks, argv)
        if not existed:
            signal_key_ready(ks, dst)
        return len(z)
    if ks.lookup_write(dst) is not None:
        ks.delete(dst)
        ks.notify("g", "del", dst)
        _emit(ks, argv)
    return 0


@command("zrangestore")
def zrangestore(client, argv):
    spec = _parse_zrange(argv, 2, True, None, None)
    src = argv[2]
    z = _run(client, src, _op_read_zset, src)
    out = None
    if z is not None:
        pairs = _range_pairs(z, *spec[:5])
        if pairs:
            limits = _limits(client)
            out = ZSet()
            for m, s in pairs:
                out.add(m, s, limits)
    return _run(client, argv[1], _op_store_zset, (argv[1], out, argv, "zrangestore"))


# ---------------------------------------------------------------------------
# pops
# ---------------------------------------------------------------------------

def _op_pop(ks, args):
    """genericZpopCommand on one key: (key, popped pairs) or None if missing/empty.

    *event* is the argv to propagate (None: build ``ZPOPMIN|MAX key [n]``).
    """
    key, maxside, count, event, with_count = args
    z = _get(ks, key, write=True)
    if z is None or not len(z):
        return None
    old_mem = z.mem
    n = len(z)
    pairs = z.pop_max(count) if maxside else z.pop_min(count)
    ks.notify("z", "zpopmax" if maxside else "zpopmin", key)
    _touched(ks, key, z, old_mem)
    if event is None:
        event = [b"ZPOPMAX" if maxside else b"ZPOPMIN", key]
        if with_count:
            event.append(b"%d" % min(count, n))
    _emit(ks, event)
    return pairs


def _zpop(client, argv, maxside):
    if len(argv) > 3:
        raise _SYNTAX
    count = -1
    if len(argv) == 3:
        count = to_int(argv[2])
        if count is None or count < 0:
            raise _POSITIVE
    key = argv[1]
    if count == 0:
        _run(client, key, _op_read_zset, key)   # type check, as Redis does before count 0
        return []
    pairs = _run(client, key, _op_pop, (key, maxside, max(count, 1), argv, False))
    if pairs is None:
        return []
    if client.resp3 and count != -1:
        return [[m, Double(s)] for m, s in pairs]
    out = []
    for m, s in pairs:
        out.append(m)
        out.append(Double(s))
    return out


@command("zpopmin")
def zpopmin(client, argv):
    return _zpop(client, argv, False)


@command("zpopmax")
def zpopmax(client, argv):
    return _zpop(client, argv, True)


def _mpop_reply(key, pairs, resp3):
    return [key, [[m, Double(s)] for m, s in pairs]]


def _parse_mpop(argv, numkeys_idx):
    numkeys = to_int(argv[numkeys_idx])
    if numkeys is None or numkeys < 1:
        raise _NUMKEYS
    where_idx = numkeys_idx + numkeys + 1
    if where_idx >= len(argv):
        raise _SYNTAX
    where = argv[where_idx].upper()
    if where == b"MIN":
        maxside = False
    elif where == b"MAX":
        maxside = True
    else:
        raise _SYNTAX
    count = -1
    j = where_idx + 1
    n = len(argv)
    while j < n:
        if count == -1 and argv[j].upper() == b"COUNT" and n - 1 - j > 0:
            j += 1
            count = to_int(argv[j])
            if count is None or count < 1:
                raise _COUNT
        else:
            raise _SYNTAX
        j += 1
    if count == -1:
        count = 1
    return argv[numkeys_idx + 1:where_idx], maxside, count


def _op_first_candidate(ks, key):
    """For ZMPOP's key scan: 'missing', or the zset (WRONGTYPE raised)."""
    return _get(ks, key, write=True)


@command("zmpop")
def zmpop(client, argv):
    keys, maxside, count = _parse_mpop(argv, 1)
    for key in keys:
        z = _run(client, key, _op_first_candidate, key)
        if z is None:
            continue
        pairs = _run(client, key, _op_pop, (key, maxside, count, None, True))
        return _mpop_reply(key, pairs or [], client.resp3)
    return NullArray


def _blocking_pop(client, keys, maxside, count, timeout, mpop):
    """blockingGenericZpopCommand: serve now if any key has data, else park."""
    def attempt(candidates):
        for key in candidates:
            z = _run(client, key, _op_first_candidate, key)
            if z is None or not len(z):
                continue
            pairs = _run(client, key, _op_pop, (key, maxside, count, None, mpop))
            if mpop:
                return _mpop_reply(key, pairs, client.resp3)
            m, s = pairs[0]
            return [key, m, Double(s)]
        return None

    reply = attempt(keys)
    if reply is not None:
        return reply

    def retry(ready_key):
        # served from the key that became ready, as serveClientsBlockedOnKey
        return attempt((ready_key,))

    return block(client, list(keys), timeout, retry, NullArray)


@command("bzpopmin")
def bzpopmin(client, argv):
    timeout = parse_timeout(argv[-1])
    return _blocking_pop(client, argv[1:-1], False, 1, timeout, False)


@command("bzpopmax")
def bzpopmax(client, argv):
    timeout = parse_timeout(argv[-1])
    return _blocking_pop(client, argv[1:-1], True, 1, timeout, False)


@command("bzmpop")
def bzmpop(client, argv):
    keys, maxside, count = _parse_mpop(argv, 2)
    timeout = parse_timeout(argv[1])
    return _blocking_pop(client, keys, maxside, count, timeout, True)


# ---------------------------------------------------------------------------
# ZRANDMEMBER / ZSCAN
# ---------------------------------------------------------------------------

def _op_randmember(ks, args):
    key, count, withscores = args
    z = _get(ks, key)
    if count is None:
        if z is None:
            return None
        return z.at(random.randrange(len(z)))[0]
    if z is None:
        return []
    if count == 0:
        return []
    if count < 0:
        if -count > MAX_SAMPLES:      # see hashes.MAX_SAMPLES
            return _RANGE
        return z.random_pairs(-count, unique=False)
    if count >= len(z):
        # the whole set, in zuiNext's order: from the highest score down
        return z.desc()
    return z.random_pairs(count, unique=True)


@command("zrandmember")
def zrandmember(client, argv):
    key = argv[1]
    n = len(argv)
    if n == 2:
        return _run(client, key, _op_randmember, (key, None, False))
    count = to_int(argv[2])
    if count is None:
        raise _NOT_INT
    if count < -_LONG_MAX:
        raise _RANDMEMBER_RANGE
    if n > 4 or (n == 4 and argv[3].lower() != b"withscores"):
        raise _SYNTAX
    withscores = n == 4
    if withscores and (count < -(_LONG_MAX // 2) or count > _LONG_MAX // 2):
        raise _RANGE
    pairs = _run(client, key, _op_randmember, (key, count, withscores))
    if withscores:
        return _with_scores(pairs, client.resp3)
    return [m for m, _ in pairs]


@command("zscan", shard_op=True)
def zscan(ks, argv):
    cursor = parse_scan_cursor(argv[2])
    z = _get(ks, argv[1])
    if z is None:
        return [b"0", []]
    count, matcher, _ = parse_scan_options(argv, 3)
    nxt, pairs = z.scan(cursor, count)
    out = []
    for m, s in pairs:
        if matcher is None or matcher(m):
            out.append(m)
            out.append(_score_text(s))
    return [b"%d" % nxt, out]


def _score_text(s):
    if s == _INF:
        return b"inf"
    if s == -_INF:
        return b"-inf"
    return b"%.17g" % s


# ---------------------------------------------------------------------------
# ZUNION / ZINTER / ZDIFF (+STORE), ZINTERCARD
# ---------------------------------------------------------------------------

UNION, INTER, DIFF = 1, 2, 3
_AGGR = {b"sum": 1, b"min": 2, b"max": 3}


def _op_read_source(ks, key):
    """A zset or set value to combine, or None; WRONGTYPE for other types."""
    v = ks.lookup_read(key)
    if v is None:
        return None
    t = type_name(v)
    if t == "zset" or t == "set":
        return v
    raise _WRONGTYPE


class _Source:
    """One input of a set operation: a zset, a plain set (score 1) or nothing."""

    __slots__ = ("value", "weight", "is_zset", "size", "lookup")

    def __init__(self, value):
        self.value = value
        self.weight = 1.0
        self.is_zset = type(value) is ZSet
        self.size = len(value) if value is not None else 0
        self.lookup = None

    def items(self):
        if self.value is None:
            return
        if self.is_zset:
            yield from self.value
        else:
            for m in self.value:
                yield bytes(m), 1.0

    def find(self, member):
        """The member's score in this source, or None."""
        if self.value is None:
            return None
        if self.is_zset:
            return self.value.scores.get(member)
        if self.lookup is None:
            v = self.value
            self.lookup = v if hasattr(type(v), "__contains__") else set(self.items_members())
        return 1.0 if member in self.lookup else None

    def items_members(self):
        for m in self.value:
            yield bytes(m)


def _aggregate(target, val, aggr):
    if aggr == 1:
        target = target + val
        return 0.0 if target != target else target
    if aggr == 2:
        return val if val < target else target
    return val if val > target else target


def _setop(client, argv, numkeys_idx, op, store, cardinality_only=False):
    """zunionInterDiffGenericCommand: returns (result dict member->score, withscores) or a count."""
    setnum = to_int(argv[numkeys_idx])
    if setnum is None:
        raise _NOT_INT
    name = argv[0].decode("latin-1").lower()
    if setnum < 1:
        raise ReplyError("ERR at least 1 input key is needed for '%s' command" % name)
    n = len(argv)
    if setnum > n - (numkeys_idx + 1):
        raise _SYNTAX
    srcs = []
    j = numkeys_idx + 1
    for _ in range(setnum):
        key = argv[j]
        srcs.append(_Source(_run(client, key, _op_read_source, key)))
        j += 1
    aggr = 1
    withscores = False
    limit = 0
    remaining = n - j
    while remaining:
        opt = argv[j].lower()
        if op != DIFF and not cardinality_only and remaining >= setnum + 1 and opt == b"weights":
            j += 1
            remaining -= 1
            for s in srcs:
                s.weight = parse_score(argv[j], _WEIGHT)
                j += 1
                remaining -= 1
        elif op != DIFF and not cardinality_only and remaining >= 2 and opt == b"aggregate":
            a = _AGGR.get(argv[j + 1].lower())
            if a is None:
                raise _SYNTAX
            aggr = a
            j += 2
            remaining -= 2
        elif remaining >= 1 and not store and not cardinality_only and opt == b"withscores":
            withscores = True
            j += 1
            remaining -= 1
        elif cardinality_only and remaining >= 2 and opt == b"limit":
            v = to_int(argv[j + 1])
            if v is None or v < 0:
                raise _LIMIT_NEG
            limit = v
            j += 2
            remaining -= 2
        else:
            raise _SYNTAX
    if op != DIFF:
        srcs.sort(key=lambda s: s.size)     # stable, as glibc's merge-sort qsort
    result = {}
    if op == INTER:
        if srcs[0].size:
            first = srcs[0]
            others = srcs[1:]
            card = 0
            for member, s0 in first.items():
                score = first.weight * s0
                if score != score:
                    score = 0.0
                ok = True
                for src in others:
                    if src.value is first.value:
                        value = s0 * src.weight
                    else:
                        value = src.find(member)
                        if value is None:
                            ok = False
                            break
                        value *= src.weight
                    score = _aggregate(score, value, aggr)
                if not ok:
                    continue
                if cardinality_only:
                    card += 1
                    if limit and card >= limit:
                        break
                else:
                    result[member] = score
            if cardinality_only:
                return card
        elif cardinality_only:
            return 0
    elif op == UNION:
        for src in srcs:
            w = src.weight
            for member, s in src.items():
                score = w * s
                if score != score:
                    score = 0.0
                cur = result.get(member)
                result[member] = score if cur is None else _aggregate(cur, score, aggr)
    else:
        first = srcs[0]
        if first.size:
            others = [s for s in srcs[1:] if s.value is not None]
            if any(s.value is first.value for s in others):
                others = None
            if others is not None:
                for member, s in first.items():
                    for src in others:
                        if src.find(member) is not None:
                            break
                    else:
                        result[member] = s
    return result, withscores


def _sorted_pairs(result):
    return [(m, s) for s, m in sorted((s, m) for m, s in result.items())]


def _setop_reply(client, argv, op):
    result, withscores = _setop(client, argv, 1, op, False)
    pairs = _sorted_pairs(result)
    if withscores:
        return _with_scores(pairs, client.resp3)
    return [m for m, _ in pairs]


def _setop_store(client, argv, op, event):
    result, _ = _setop(client, argv, 2, op, True)
    z = ZSet.from_dict(result, _limits(client)) if result else None
    return _run(client, argv[1], _op_store_zset, (argv[1], z, argv, event))


@command("zunion")
def zunion(client, argv):
    return _setop_reply(client, argv, UNION)


@command("zinter")
def zinter(client, argv):
    return _setop_reply(client, argv, INTER)


@command("zdiff")
def zdiff(client, argv):
    return _setop_reply(client, argv, DIFF)


@command("zintercard")
def zintercard(client, argv):
    return _setop(client, argv, 1, INTER, False, cardinality_only=True)


@command("zunionstore")
def zunionstore(client, argv):
    return _setop_store(client, argv, UNION, "zunionstore")


@command("zinterstore")
def zinterstore(client, argv):
    return _setop_store(client, argv, INTER, "zinterstore")


@command("zdiffstore")
def zdiffstore(client, argv):
    return _setop_store(client, argv, DIFF, "zdiffstore")
