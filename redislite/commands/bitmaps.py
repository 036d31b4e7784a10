"""Strings as bit arrays (Redis 7.0 ``bitops.c``) and LCS (``t_string.c``).

Bit 0 is the most significant bit of the first byte.  Whole-buffer work uses C
primitives instead of Python loops per bit or byte: population counts with
``int.bit_count`` over big-int chunks, BITPOS by skipping all-0 / all-1 chunks
with a memcmp, BITOP with one big-int operation per source, and LCS
with the bit-parallel (Allison-Dix / Hyyrö) algorithm over big ints, which
also answers Redis's backtracking questions from the stored row vectors.

Writes propagate as Redis 7.0 does: SETBIT and BITFIELD verbatim when a bit
changed or the string grew, BITOP verbatim when it stored or deleted the
destination.  A write that creates or grows a string stores a ``bytearray``
(Redis's "raw" encoding), as do BITOP results.
"""

from .. import errors
from ..errors import ReplyError
from ..resp.encoder import Map
from ..storage.keyspace import value_memory
from .args import to_int
from .registry import command

_WRONGTYPE = ReplyError(errors.WRONGTYPE)
_SYNTAX = ReplyError(errors.SYNTAX)
_NOT_INT = ReplyError(errors.NOT_INTEGER)
_BIT_OFFSET = ReplyError(errors.BIT_OFFSET)
_BIT_VALUE = ReplyError(errors.BIT_VALUE)
_BIT_ARG = ReplyError(errors.BIT_ARG)
_BF_TYPE = ReplyError(errors.BITFIELD_TYPE)
_BF_OVERFLOW = ReplyError(errors.BITFIELD_OVERFLOW)

_STR_TYPES = (bytes, bytearray)
_MASK64 = (1 << 64) - 1
_CHUNK = 1 << 20


def _c_string(b):
    """An argument as C's strcasecmp sees it: cut at the first NUL byte."""
    i = b.find(b"\0")
    return b if i < 0 else b[:i]


def _string(v):
    """A stored value for reading bits: bytes/bytearray, None, or WRONGTYPE."""
    if v is None or type(v) in _STR_TYPES:
        return v
    raise _WRONGTYPE


def _modified(ks, key):
    if ks.watched is not None:
        ks.signal_modified(key)


def _bit_offset(arg, limit, bits=0):
    """getBitOffsetFromArgument: '#n' means n*bits for BITFIELD; the byte must be
    below proto-max-bulk-len."""
    usehash = bits > 0 and arg[:1] == b"#"
    v = to_int(arg[1:] if usehash else arg)
    if v is None:
        raise _BIT_OFFSET
    if usehash:
        v = ((v * bits + (1 << 63)) & _MASK64) - (1 << 63)   # C's wrapping multiply
    if v < 0 or (v >> 3) >= limit:
        raise _BIT_OFFSET
    return v


def _raw_for_bits(ks, key, maxbit):
    """lookupStringForBitCommand: the value as a bytearray covering bit *maxbit*,
    created or zero-padded as needed.  Returns (buffer, created_or_grown)."""
    need = (maxbit >> 3) + 1
    v = ks.lookup_write(key)
    if v is None:
        buf = bytearray(need)
        ks.set(key, buf)
        return buf, True
    t = type(v)
    if t is bytes:
        buf = bytearray(v)        # dbUnshareStringValue: Redis makes it raw too
        ks.set(key, buf, keep_ttl=True)
    elif t is bytearray:
        buf = v
    else:
        raise _WRONGTYPE
    n = len(buf)
    if n >= need:
        return buf, False
    before = value_memory(buf)
    buf += bytes(need - n)
    ks.value_resized(before, value_memory(buf))
    return buf, True


def _limit(client):
    return client.server.proto_max_bulk_len


# --- SETBIT / GETBIT -----------------------------------------------------------------
def _op_setbit(ks, args):
    argv, limit = args
    key = argv[1]
    offset = _bit_offset(argv[2], limit)
    on = to_int(argv[3])
    if on is None or on & ~1:
        raise _BIT_VALUE
    buf, grown = _raw_for_bits(ks, key, offset)
    byte = offset >> 3
    mask = 0x80 >> (offset & 7)
    old = buf[byte] & mask
    if grown or bool(old) != bool(on):
        buf[byte] = (buf[byte] | mask) if on else (buf[byte] & ~mask)
        _modified(ks, key)
        ks.notify("$", "setbit", key)
        ks.shard.emit(ks.index, (b"SETBIT", key, argv[2], argv[3]))
    return 1 if old else 0


@command("setbit")
def setbit(client, argv):
    return client.server.router.shard_for(argv[1]).execute(
        _op_setbit, client.db, (argv, _limit(client)))


def _op_getbit(ks, args):
    key, offset = args
    v = _string(ks.lookup_read(key))
    if v is None:
        return 0
    byte = offset >> 3
    if byte >= len(v):
        return 0
    return 1 if v[byte] & (0x80 >> (offset & 7)) else 0


@command("getbit")
def getbit(client, argv):
    offset = _bit_offset(argv[2], _limit(client))
    return client.server.router.shard_for(argv[1]).execute(
        _op_getbit, client.db, (argv[1], offset))


# --- BITCOUNT / BITPOS ---------------------------------------------------------------
def _popcount(v, start, end):
    """Set bits in v[start:end], a chunk at a time (no per-byte Python loop)."""
    mv = memoryview(v)
    total = 0
    for i in range(start, end, _CHUNK):
        total += int.from_bytes(mv[i:min(i + _CHUNK, end)], "little").bit_count()
    return total


def _unit_is_bit(arg):
    opt = _c_string(arg).lower()
    if opt == b"bit":
        return True
    if opt == b"byte":
        return False
    raise _SYNTAX


def _edge_masks(start, end):
    """The masks Redis builds for BIT ranges: bits outside the range in the first
    and last byte, and the range converted to bytes."""
    first = ~((1 << (8 - (start & 7))) - 1) & 0xFF
    last = (1 << (7 - (end & 7))) - 1
    return first, last, start >> 3, end >> 3


@command("bitcount", shard_op=True)
def bitcount(ks, argv):
    v = _string(ks.lookup_read(argv[1]))
    if v is None:
        return 0
    n = len(argv)
    first_mask = last_mask = 0
    if n == 4 or n == 5:
        start = to_int(argv[2])
        if start is None:
            raise _NOT_INT
        end = to_int(argv[3])
        if end is None:
            raise _NOT_INT
        if start < 0 and end < 0 and start > end:
            return 0
        isbit = _unit_is_bit(argv[4]) if n == 5 else False
        total = len(v) << 3 if isbit else len(v)
        if start < 0:
            start += total
        if end < 0:
            end += total
        if start < 0:
            start = 0
        if end < 0:
            end = 0
        if end >= total:
            end = total - 1
        if isbit and start <= end:
            first_mask, last_mask, start, end = _edge_masks(start, end)
    elif n == 2:
        start, end = 0, len(v) - 1
    else:
        raise _SYNTAX
    if start > end:
        return 0
    count = _popcount(v, start, end + 1)
    if first_mask:
        count -= (v[start] & first_mask).bit_count()
    if last_mask:
        count -= (v[end] & last_mask).bit_count()
    return count


_SCAN = 1 << 16
_ZEROS = bytes(_SCAN)
_ONES = b"\xff" * _SCAN


def _bitpos_scan(v, start, nbytes, bit):
    """redisBitpos over v[start:start+nbytes]: the first *bit* relative to start,
    -1 if looking for 1 and there is none, nbytes*8 if looking for 0 and there is none.
    Chunks equal to all-0 / all-1 are skipped with a memcmp; the first other chunk
    is searched as one big int."""
    skip = _ZEROS if bit else _ONES
    end = start + nbytes
    i = start
    while i < end:
        j = min(i + _SCAN, end)
        chunk = v[i:j]
        if chunk != (skip if j - i == _SCAN else skip[:j - i]):
            width = len(chunk) << 3
            x = int.from_bytes(chunk, "big")
            if not bit:
                x ^= (1 << width) - 1
            return ((i - start) << 3) + width - x.bit_length()
        i = j
    return -1 if bit else nbytes << 3


@command("bitpos", shard_op=True)
def bitpos(ks, argv):
    bit = to_int(argv[2])
    if bit is None:
        raise _NOT_INT
    if bit != 0 and bit != 1:
        raise _BIT_ARG
    v = _string(ks.lookup_read(argv[1]))
    if v is None:
        return -1 if bit else 0
    n = len(argv)
    first_mask = last_mask = 0
    end_given = False
    if 4 <= n <= 6:
        total = len(v)
        start = to_int(argv[3])
        if start is None:
            raise _NOT_INT
        isbit = _unit_is_bit(argv[5]) if n == 6 else False
        if n >= 5:
            end = to_int(argv[4])
            if end is None:
                raise _NOT_INT
            end_given = True
        else:
            end = (total << 3) + 7 if isbit else total - 1
        if isbit:
            total <<= 3
        if start < 0:
            start += total
        if end < 0:
            end += total
        if start < 0:
            start = 0
        if end < 0:
            end = 0
        if end >= total:
            end = total - 1
        if isbit and start <= end:
            first_mask, last_mask, start, end = _edge_masks(start, end)
    elif n == 3:
        start, end = 0, len(v) - 1
    else:
        raise _SYNTAX
    if start > end:
        return -1
    nbytes = end - start + 1
    pos = None
    if first_mask:
        tmp = (v[start] & ~first_mask) if bit else (v[start] | first_mask)
        if last_mask and nbytes == 1:
            tmp = (tmp & ~last_mask) if bit else (tmp | last_mask)
        pos = _bitpos_scan(bytes((tmp & 0xFF,)), 0, 1, bit)
        if not (nbytes == 1 or (pos != -1 and pos != 8)):
            start += 1
            nbytes -= 1
            pos = None
    if pos is None:
        cur = nbytes - (1 if last_mask else 0)
        if cur > 0:
            pos = _bitpos_scan(v, start, cur, bit)
            if not (nbytes == cur or (pos != -1 and pos != cur << 3)):
                start += cur
                nbytes -= cur
                pos = None
        if pos is None:
            tmp = (v[end] & ~last_mask) if bit else (v[end] | last_mask)
            pos = _bitpos_scan(bytes((tmp & 0xFF,)), 0, 1, bit)
    if end_given and bit == 0 and pos == nbytes << 3:
        return -1
    if pos != -1:
        pos += start << 3
    return pos


# --- BITOP ---------------------------------------------------------------------------
_BITOPS = {b"and": "and", b"or": "or", b"xor": "xor", b"not": "not"}


def _op_read_string(ks, key):
    return _string(ks.lookup_read(key))


def _op_bitop_store(ks, args):
    argv, result = args
    dest = argv[2]
    if result is not None:
        ks.lookup_write(dest)          # setKey's lookup: an expired destination is deleted first
        ks.set(dest, result)
        ks.notify("$", "set", dest)
    elif ks.delete(dest):
        ks.notify("g", "del", dest)
    else:
        return
    ks.shard.emit(ks.index, (b"BITOP",) + tuple(argv[1:]))


@command("bitop")
def bitop(client, argv):
    """Sources may live on any shard: they are read in order, the result computed
    here with one big-int operation per source, and stored by the destination's shard."""
    op = _BITOPS.get(_c_string(argv[1]).lower())
    if op is None:
        raise _SYNTAX
    if op == "not" and len(argv) != 4:
        raise ReplyError(errors.BITOP_NOT_ONE_KEY)
    router = client.server.router
    db = client.db
    values = []
    for key in argv[3:]:
        v = router.shard_for(key).execute(_op_read_string, db, key)
        if type(v) is ReplyError:
            return v
        values.append(v or b"")
    maxlen = max(len(v) for v in values)
    result = None
    if maxlen:
        bits = maxlen << 3

        def num(v):
            return int.from_bytes(v, "big") << ((maxlen - len(v)) << 3)

        acc = num(values[0])
        if op == "not":
            acc ^= (1 << bits) - 1
        elif op == "and":
            for v in values[1:]:
                if not acc:
                    break
                acc &= num(v) if len(v) else 0
        elif op == "or":
            for v in values[1:]:
                acc |= num(v)
        else:
            for v in values[1:]:
                acc ^= num(v)
        result = bytearray(acc.to_bytes(maxlen, "big"))
    router.shard_for(argv[2]).execute(_op_bitop_store, db, (argv, result))
    return maxlen


# --- BITFIELD ------------------------------------------------------------------------
GET, SET, INCRBY = 0, 1, 2
WRAP, SAT, FAIL = 0, 1, 2
_SUBCOMMANDS = {b"get": (GET, 2), b"set": (SET, 3), b"incrby": (INCRBY, 3)}
_OVERFLOWS = {b"wrap": WRAP, b"sat": SAT, b"fail": FAIL}


def _bitfield_type(arg):
    """getBitfieldTypeFromArgument: i1..i64 or u1..u63 (case-sensitive, C string)."""
    sign = arg[:1]
    if sign != b"i" and sign != b"u":
        raise _BF_TYPE
    bits = to_int(_c_string(arg[1:]))
    if bits is None or bits < 1 or bits > (64 if sign == b"i" else 63):
        raise _BF_TYPE
    return sign == b"i", bits


def _parse_bitfield(argv, limit):
    """All ops, parsed before touching the key as Redis does: ([op], highest written bit
    or None if read-only).  An op is (opcode, signed, bits, offset, value, overflow)."""
    ops = []
    overflow = WRAP
    highest = None
    n = len(argv)
    j = 2
    while j < n:
        remaining = n - j - 1
        sub = _c_string(argv[j]).lower()
        spec = _SUBCOMMANDS.get(sub)
        if spec is None or remaining < spec[1]:
            if sub == b"overflow" and remaining >= 1:
                overflow = _OVERFLOWS.get(_c_string(argv[j + 1]).lower())
                if overflow is None:
                    raise _BF_OVERFLOW
                j += 2
                continue
            raise _SYNTAX
        opcode = spec[0]
        signed, bits = _bitfield_type(argv[j + 1])
        offset = _bit_offset(argv[j + 2], limit, bits)
        value = 0
        if opcode != GET:
            last = offset + bits - 1
            if highest is None or last > highest:
                highest = last
            value = to_int(argv[j + 3])
            if value is None:
                raise _NOT_INT
            j += 4
        else:
            j += 3
        ops.append((opcode, signed, bits, offset, value, overflow))
    return ops, highest


def _get_field(buf, offset, bits):
    """The unsigned field at *offset*; bytes past the end of *buf* read as zero."""
    b0 = offset >> 3
    nbytes = ((offset + bits - 1) >> 3) - b0 + 1
    chunk = buf[b0:b0 + nbytes] if buf is not None else b""
    x = int.from_bytes(chunk, "big") << ((nbytes - len(chunk)) << 3)
    return (x >> ((nbytes << 3) - (offset & 7) - bits)) & ((1 << bits) - 1)


def _set_field(buf, offset, bits, value):
    b0 = offset >> 3
    nbytes = ((offset + bits - 1) >> 3) - b0 + 1
    shift = (nbytes << 3) - (offset & 7) - bits
    mask = ((1 << bits) - 1) << shift
    x = int.from_bytes(buf[b0:b0 + nbytes], "big")
    buf[b0:b0 + nbytes] = ((x & ~mask) | ((value << shift) & mask)).to_bytes(nbytes, "big")


def _to_signed(u, bits):
    return u - (1 << bits) if u >> (bits - 1) else u


def _i64(x):
    """Wrap to a C int64_t."""
    return ((x + (1 << 63)) & _MASK64) - (1 << 63)


def _signed_overflow(value, incr, bits, overflow):
    """checkSignedBitfieldOverflow, with its int64 wrap-around kept: (direction, limit).
    SET of a huge negative into a narrow field therefore saturates to the *maximum*,
    as in Redis (``maxincr`` wraps negative)."""
    hi = (1 << 63) - 1 if bits == 64 else (1 << (bits - 1)) - 1
    lo = -hi - 1
    maxincr = _i64(hi - value)
    minincr = _i64(lo - value)
    if value > hi or (bits != 64 and incr > maxincr) or (value >= 0 and incr > 0 and incr > maxincr):
        direction, sat = 1, hi
    elif value < lo or (bits != 64 and incr < minincr) or (value < 0 and incr < 0 and incr < minincr):
        direction, sat = -1, lo
    else:
        return 0, None
    if overflow == SAT:
        return direction, sat
    c = (value + incr) & _MASK64
    if bits < 64:
        if (c >> (bits - 1)) & 1:
            c |= (_MASK64 << bits) & _MASK64      # propagate the sign bit
        else:
            c &= (1 << bits) - 1
    return direction, _i64(c)


def _unsigned_overflow(value, incr, bits, overflow):
    """checkUnsignedBitfieldOverflow; *value* is already a uint64."""
    hi = (1 << bits) - 1
    maxincr = _i64(hi - value)
    minincr = _i64(-value)
    if value > hi or (incr > 0 and incr > maxincr):
        direction, sat = 1, hi
    elif incr < 0 and incr < minincr:
        direction, sat = -1, 0
    else:
        return 0, None
    if overflow == SAT:
        return direction, sat
    return direction, ((value + incr) & _MASK64) & hi


def _write_field(op, buf):
    """One SET/INCRBY as bitfieldGeneric does it: (reply, changed); reply None on FAIL."""
    opcode, signed, bits, offset, value, overflow = op
    raw = _get_field(buf, offset, bits)
    if signed:
        old = _to_signed(raw, bits)
        if opcode == INCRBY:
            flag, limit = _signed_overflow(old, value, bits, overflow)
            new = limit if flag else old + value
        else:
            flag, limit = _signed_overflow(value, 0, bits, overflow)
            new = limit if flag else value
    else:
        old = raw
        if opcode == INCRBY:
            flag, limit = _unsigned_overflow(old, value, bits, overflow)
            new = limit if flag else (old + value) & _MASK64
        else:
            flag, limit = _unsigned_overflow(value & _MASK64, 0, bits, overflow)
            new = limit if flag else value & _MASK64
    if flag and overflow == FAIL:
        return None, False
    _set_field(buf, offset, bits, new & ((1 << bits) - 1))
    return (new if opcode == INCRBY else old), new != old


def _op_bitfield(ks, args):
    argv, ops, highest = args
    key = argv[1]
    if highest is None:
        buf = _string(ks.lookup_read(key))
        grown = False
    else:
        buf, grown = _raw_for_bits(ks, key, highest)
    out = []
    changes = 0
    for op in ops:
        if op[0] == GET:
            u = _get_field(buf, op[3], op[2])
            out.append(_to_signed(u, op[2]) if op[1] else u)
        else:
            reply, changed = _write_field(op, buf)
            out.append(reply)
            if reply is not None and (grown or changed):
                changes += 1
    if changes:
        _modified(ks, key)
        ks.notify("$", "setbit", key)
        ks.shard.emit(ks.index, (b"BITFIELD",) + tuple(argv[1:]))
    return out


def _bitfield(client, argv, readonly):
    ops, highest = _parse_bitfield(argv, _limit(client))
    if readonly and highest is not None:
        raise ReplyError(errors.BITFIELD_RO_GET_ONLY)
    return client.server.router.shard_for(argv[1]).execute(
        _op_bitfield, client.db, (argv, ops, highest))


@command("bitfield")
def bitfield(client, argv):
    return _bitfield(client, argv, False)


@command("bitfield_ro")
def bitfield_ro(client, argv):
    return _bitfield(client, argv, True)


# --- LCS -----------------------------------------------------------------------------
_NOT_A_STRING = object()


def _op_peek_string(ks, key):
    v = ks.lookup_read(key)
    if v is None or type(v) in _STR_TYPES:
        return v
    return _NOT_A_STRING


def _lcs_rows(a, b):
    """Bit-parallel LCS rows: after row i, bit j-1 of V_i is 0 exactly where
    LCS(a[:i], b[:j]) > LCS(a[:i], b[:j-1]).  Returns the list of V_1..V_n."""
    m = len(b)
    full = (1 << m) - 1
    masks = {}
    for j, ch in enumerate(b):
        masks[ch] = masks.get(ch, 0) | (1 << j)
    v = full
    rows = []
    get = masks.get
    for ch in a:
        u = v & get(ch, 0)
        if u:
            v = ((v + u) | (v - u)) & full
        rows.append(v)
    return rows


def _lcs_length(a, b):
    if len(a) > len(b):
        a, b = b, a          # the length is symmetric: iterate over the shorter string
    if not a:
        return 0
    m = len(b)
    full = (1 << m) - 1
    masks = {}
    for j, ch in enumerate(b):
        masks[ch] = masks.get(ch, 0) | (1 << j)
    v = full
    get = masks.get
    for ch in a:
        u = v & get(ch, 0)
        if u:
            v = ((v + u) | (v - u)) & full
    return m - v.bit_count()


@command("lcs")
def lcs(client, argv):
    router = client.server.router
    db = client.db
    a = router.shard_for(argv[1]).execute(_op_peek_string, db, argv[1])
    b = router.shard_for(argv[2]).execute(_op_peek_string, db, argv[2])
    if a is _NOT_A_STRING or b is _NOT_A_STRING:
        raise ReplyError(errors.LCS_NOT_STRINGS)
    a = bytes(a) if a is not None else b""
    b = bytes(b) if b is not None else b""
    getidx = getlen = withmatchlen = False
    minmatchlen = 0
    j = 3
    n = len(argv)
    while j < n:
        opt = _c_string(argv[j]).lower()
        if opt == b"idx":
            getidx = True
        elif opt == b"len":
            getlen = True
        elif opt == b"withmatchlen":
            withmatchlen = True
        elif opt == b"minmatchlen" and j + 1 < n:
            minmatchlen = to_int(argv[j + 1])
            if minmatchlen is None:
                raise _NOT_INT
            if minmatchlen < 0:
                minmatchlen = 0
            j += 1
        else:
            raise _SYNTAX
        j += 1
    if getidx and getlen:
        raise ReplyError(errors.LCS_LEN_AND_IDX)
    alen, blen = len(a), len(b)
    if (alen + 1) * (blen + 1) * 4 > client.server.proto_max_bulk_len:
        raise ReplyError(errors.LCS_TOO_BIG)
    if getlen:
        return _lcs_length(a, b)
    rows = _lcs_rows(a, b) if alen and blen else []
    total = blen - rows[-1].bit_count() if rows else 0
    # Backtrack exactly as Redis does.  At a mismatch Redis steps i-1 when
    # LCS(i-1,j) > LCS(i,j-1), which holds exactly when row i increments at column j.
    result = bytearray(total)
    idx = total
    matches = []
    i, j = alen, blen
    a_start = alen            # alen means "no open range"
    a_end = b_start = b_end = 0
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result[idx - 1] = a[i - 1]
            if a_start == alen:
                a_start = a_end = i - 1
                b_start = b_end = j - 1
            elif a_start == i and b_start == j:
                a_start -= 1
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            idx -= 1
            i -= 1
            j -= 1
        else:
            if not (rows[i - 1] >> (j - 1)) & 1:
                i -= 1
            else:
                j -= 1
            if a_start != alen:
                emit = True
        if emit:
            match_len = a_end - a_start + 1
            if getidx and (minmatchlen == 0 or match_len >= minmatchlen):
                entry = [[a_start, a_end], [b_start, b_end]]
                if withmatchlen:
                    entry.append(match_len)
                matches.append(entry)
            a_start = alen
    if getidx:
        return Map([(b"matches", matches), (b"len", total)])
    return bytes(result)
