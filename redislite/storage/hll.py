"""HyperLogLog values in Redis's own string format (hyperloglog.c, Redis 7.0).

An HLL is a plain string value, so GET returns bytes that a real Redis can
load and vice versa.  Layout (16-byte header, then the registers)::

    "HYLL" | encoding (0 dense, 1 sparse) | 3 unused | cached cardinality (LE u64,
    MSB of the last byte = "stale")

* dense: 16384 6-bit registers packed LSB first, 12288 bytes;
* sparse: run-length opcodes ZERO ``00xxxxxx`` (1..64 zero registers), XZERO
  ``01xxxxxx yyyyyyyy`` (1..16384 zero registers), VAL ``1vvvvvxx`` (value 1..32
  repeated 1..4 times).

Sparse updates follow ``hllSparseSet`` step by step (split, insert, merge up to
5 neighbouring opcodes, promote past ``hll-sparse-max-bytes``) because the
resulting bytes depend on that history and must equal Redis's.  Whole-register
work (histograms, merges, dense packing) is done on 16384-byte "raw" arrays
with ``bytes.translate`` / slicing / big-int bit operations, never a Python loop
per register.
"""

import math
import re
import struct
from zlib import adler32

P = 14
Q = 64 - P
REGISTERS = 1 << P
P_MASK = REGISTERS - 1
HDR = 16
DENSE_BYTES = (REGISTERS * 6 + 7) // 8
DENSE_SIZE = HDR + DENSE_BYTES
DENSE, SPARSE = 0, 1
MAGIC = b"HYLL"
SPARSE_VAL_MAX = 32
ALPHA_INF = 0.721347520444481703680

_M = 0xC6A4A7935BD1E995
_MASK64 = (1 << 64) - 1
_SEED = 0xADC83B19
_STRUCTS = {}

# ---------------------------------------------------------------------------
# hashing


def murmur64a(data, seed=_SEED):
    """MurmurHash64A as Redis has it (little-endian blocks, endian-neutral)."""
    n = len(data)
    h = (seed ^ (n * _M)) & _MASK64
    nblocks = n >> 3
    if nblocks:
        st = _STRUCTS.get(nblocks)
        if st is None:
            st = _STRUCTS[nblocks] = struct.Struct("<%dQ" % nblocks)
        for k in st.unpack_from(data):
            k = (k * _M) & _MASK64
            k ^= k >> 47
            h ^= (k * _M) & _MASK64
            h = (h * _M) & _MASK64
    rem = n & 7
    if rem:
        h ^= int.from_bytes(data[n - rem:], "little")
        h = (h * _M) & _MASK64
    h ^= h >> 47
    h = (h * _M) & _MASK64
    return h ^ (h >> 47)


def pat_len(element):
    """hllPatLen: (register index, length of the 0..01 run in the remaining 50 bits)."""
    h = murmur64a(element)
    rest = (h >> P) | (1 << Q)
    return h & P_MASK, (rest & -rest).bit_length()


# ---------------------------------------------------------------------------
# header


def new_sparse():
    """createHLLObject: an empty sparse HLL (XZERO:16384)."""
    return bytearray(b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff")


def is_valid(v):
    """isHLLObjectOrReply's checks (length, magic, encoding, dense size)."""
    n = len(v)
    if n < HDR or v[:4] != MAGIC:
        return False
    enc = v[4]
    if enc > SPARSE:
        return False
    return enc != DENSE or n == DENSE_SIZE


def invalidate(buf):
    buf[15] |= 0x80


def cached(buf):
    """The cached cardinality, or None when the stale bit is set."""
    if buf[15] & 0x80:
        return None
    return int.from_bytes(buf[8:16], "little")


def store_card(buf, card):
    buf[8:16] = card.to_bytes(8, "little")


# ---------------------------------------------------------------------------
# dense registers


def dense_get(buf, i):
    pos = i * 6
    b = HDR + (pos >> 3)
    fb = pos & 7
    if fb <= 2:
        return (buf[b] >> fb) & 63
    return ((buf[b] >> fb) | (buf[b + 1] << (8 - fb))) & 63


def dense_set(buf, i, count):
    """hllDenseSet: raise register *i* to *count*; 1 if it changed, else 0."""
    pos = i * 6
    b = HDR + (pos >> 3)
    fb = pos & 7
    if fb <= 2:
        if ((buf[b] >> fb) & 63) >= count:
            return 0
        buf[b] = (buf[b] & ~(63 << fb) & 0xFF) | (count << fb)
        return 1
    b1 = buf[b + 1]
    if (((buf[b] >> fb) | (b1 << (8 - fb))) & 63) >= count:
        return 0
    fb8 = 8 - fb
    buf[b] = (buf[b] & ~(63 << fb) & 0xFF) | ((count << fb) & 0xFF)
    buf[b + 1] = (b1 & ~(63 >> fb8) & 0xFF) | (count >> fb8)
    return 1


def _table(fn):
    return bytes(fn(x) & 0xFF for x in range(256))


# unpack: 3 bytes -> 4 registers
_LO6 = _table(lambda x: x & 63)
_HI2 = _table(lambda x: x >> 6)
_LO4_SHL2 = _table(lambda x: (x & 15) << 2)
_HI4 = _table(lambda x: x >> 4)
_LO2_SHL4 = _table(lambda x: (x & 3) << 4)
_HI6 = _table(lambda x: x >> 2)
# pack: 4 registers -> 3 bytes
_R1_SHL6 = _table(lambda x: (x & 3) << 6)
_R1_SHR2 = _table(lambda x: (x >> 2) & 15)
_R2_SHL4 = _table(lambda x: (x & 15) << 4)
_R2_SHR4 = _table(lambda x: (x >> 4) & 3)
_R3_SHL2 = _table(lambda x: (x & 63) << 2)
_R0 = _table(lambda x: x & 63)
_Q4 = REGISTERS // 4


def _or(a, b):
    """Byte-wise OR of two equal-length byte strings (as one big-int operation)."""
    return (int.from_bytes(a, "big") | int.from_bytes(b, "big")).to_bytes(len(a), "big")


def dense_to_raw(buf):
    """The 16384 registers of a dense HLL, one byte each."""
    regs = bytes(buf[HDR:DENSE_SIZE])
    b0, b1, b2 = regs[0::3], regs[1::3], regs[2::3]
    raw = bytearray(REGISTERS)
    raw[0::4] = b0.translate(_LO6)
    raw[1::4] = _or(b0.translate(_HI2), b1.translate(_LO4_SHL2))
    raw[2::4] = _or(b1.translate(_HI4), b2.translate(_LO2_SHL4))
    raw[3::4] = b2.translate(_HI6)
    return raw


def raw_to_dense_regs(raw):
    """Pack one-byte registers (values < 64) into the 12288 dense bytes."""
    raw = bytes(raw)
    r0, r1, r2, r3 = raw[0::4], raw[1::4], raw[2::4], raw[3::4]
    out = bytearray(DENSE_BYTES)
    out[0::3] = _or(r0.translate(_R0), r1.translate(_R1_SHL6))
    out[1::3] = _or(r1.translate(_R1_SHR2), r2.translate(_R2_SHL4))
    out[2::3] = _or(r2.translate(_R2_SHR4), r3.translate(_R3_SHL2))
    return out


_H80 = int.from_bytes(b"\x80" * REGISTERS, "big")


def raw_max(a, b):
    """Element-wise max of two raw register arrays (values < 128), SWAR on big ints."""
    x = int.from_bytes(a, "big")
    y = int.from_bytes(b, "big")
    ge = (((x | _H80) - y) & _H80) >> 7      # 1 in each byte where x >= y
    ge *= 255
    return bytearray(((x & ge) | (y & ~ge)).to_bytes(REGISTERS, "big"))


# ---------------------------------------------------------------------------
# sparse representation

def _span1(b):
    if b & 0x80:
        return (b & 3) + 1
    if b & 0x40:
        return 0          # XZERO: two bytes, handled apart
    return (b & 0x3F) + 1


_SPAN1 = [_span1(b) for b in range(256)]
_SPAN_T = bytes(s if s else 0 for s in _SPAN1)
_ONE_BYTE_RUN = re.compile(rb"[\x00-\x3f\x80-\xff]*")
#: Block sizes for skipping: a block's span sum must stay below adler32's modulus
#: (65521) so that adler32's first half is the exact sum (spans are <= 64).
_BLOCKS = (1000, 120, 16)


def _find(buf, end, index, p, first, prev, pfirst):
    """Locate the opcode covering register *index*, scanning from opcode *p*.

    Returns ``(p, first, span, prev, pfirst, pp, ppfirst)`` like hllSparseSet's
    loop (span 0 / p >= end when not found).  Runs of one-byte opcodes are
    skipped a block at a time (spans summed by ``translate`` + ``adler32``, all in C), keeping
    two opcodes of margin so ``prev``/``pp`` still come from the step loop.
    """
    pp = ppfirst = None
    spans = _SPAN1
    span = 0
    run_end = _ONE_BYTE_RUN.match
    while p < end:
        r = run_end(buf, p).end()
        for block in _BLOCKS:
            while r - p > block + 2:
                q = p + block
                s = (adler32(buf[p:q].translate(_SPAN_T)) & 0xFFFF) - 1
                if first + s + spans[buf[q]] + spans[buf[q + 1]] > index:
                    break
                p = q
                first += s
        while p < r:
            span = spans[buf[p]]
            if index < first + span:
                return p, first, span, prev, pfirst, pp, ppfirst
            pp, ppfirst = prev, pfirst
            prev, pfirst = p, first
            p += 1
            first += span
        if p < end:
            b = buf[p]
            span = (((b & 0x3F) << 8) | (buf[p + 1] if p + 1 < end else 0)) + 1
            if index < first + span:
                return p, first, span, prev, pfirst, pp, ppfirst
            pp, ppfirst = prev, pfirst
            prev, pfirst = p, first
            p += 2
            first += span
    return p, first, span, prev, pfirst, pp, ppfirst


def _opcodes(buf):
    """Yield (value, run length) for each sparse opcode (value 0 for ZERO/XZERO)."""
    p = HDR
    end = len(buf)
    while p < end:
        b = buf[p]
        if b & 0x80:
            yield ((b >> 2) & 0x1F) + 1, (b & 3) + 1
            p += 1
        elif b & 0x40:
            nxt = buf[p + 1] if p + 1 < end else 0
            yield 0, (((b & 0x3F) << 8) | nxt) + 1
            p += 2
        else:
            yield 0, (b & 0x3F) + 1
            p += 1


def sparse_to_raw(buf):
    """Registers of a sparse HLL as one byte each; None if the opcodes are corrupt
    (they must cover exactly 16384 registers, as hllSparseToDense/hllMerge check)."""
    raw = bytearray(REGISTERS)
    idx = 0
    for val, run in _opcodes(buf):
        if val:
            if idx + run > REGISTERS:
                return None
            raw[idx:idx + run] = bytes((val,)) * run
        idx += run
    return raw if idx == REGISTERS else None


def sparse_histogram(buf):
    """hllSparseRegHisto: the register histogram, or None when corrupt."""
    hist = [0] * 64
    idx = 0
    for val, run in _opcodes(buf):
        hist[val] += run
        idx += run
    return hist if idx == REGISTERS else None


def to_raw(buf):
    """Registers of a valid HLL (dense or sparse), or None if the sparse data is corrupt."""
    return dense_to_raw(buf) if buf[4] == DENSE else sparse_to_raw(buf)


def sparse_to_dense(buf):
    """hllSparseToDense in place (the header, cached cardinality included, is kept).
    Returns False when the sparse data is corrupt (buf left unchanged)."""
    if buf[4] == DENSE:
        return True
    raw = sparse_to_raw(buf)
    if raw is None:
        return False
    header = bytearray(buf[:HDR])
    header[4] = DENSE
    buf[:] = header + raw_to_dense_regs(raw)
    return True


def _val(value, run):
    return 0x80 | ((value - 1) << 2) | (run - 1)


def _zeros(run):
    """ZERO or XZERO opcode bytes for *run* zero registers."""
    if run > 64:
        run -= 1
        return bytes((0x40 | (run >> 8), run & 0xFF))
    return bytes((run - 1,))


def sparse_set(buf, index, count, max_bytes, hint=None):
    """hllSparseSet on a bytearray, in place.

    Returns ``(result, hint)``: result 1 if the register grew, 0 if not, -1 if the
    data is corrupt.  A promotion to dense happens in place (``buf[4]`` becomes
    DENSE).  *hint* lets PFMERGE, which sets registers in increasing order, resume
    the opcode scan where the previous call left it: ``(offset, first register,
    previous opcode offset or None, its first register)``.
    """
    if count > SPARSE_VAL_MAX:
        return _promote(buf, index, count), None
    end = len(buf)
    if hint is None:
        p, first, prev, pfirst = HDR, 0, None, 0
    else:
        p, first, prev, pfirst = hint
    p, first, span, prev, pfirst, pp, ppfirst = _find(buf, end, index, p, first, prev, pfirst)
    if span == 0 or p >= end:
        return -1, None
    b = buf[p]
    new_hint = (prev, pfirst, pp, ppfirst) if prev is not None else None
    if b & 0x80:
        runlen = (b & 3) + 1
        oldcount = ((b >> 2) & 0x1F) + 1
        if oldcount >= count:
            return 0, hint
        if runlen == 1:
            buf[p] = _val(count, 1)
            _merge_around(buf, prev)
            invalidate(buf)
            return 1, new_hint
        last = first + runlen - 1
        seq = bytearray()
        if index != first:
            seq.append(_val(oldcount, index - first))
        seq.append(_val(count, 1))
        if index != last:
            seq.append(_val(oldcount, last - index))
        oldlen = 1
    else:
        if b & 0x40:
            oldlen = 2
            runlen = span
        else:
            oldlen = 1
            runlen = (b & 0x3F) + 1
            if runlen == 1:
                buf[p] = _val(count, 1)
                _merge_around(buf, prev)
                invalidate(buf)
                return 1, new_hint
        last = first + span - 1
        seq = bytearray()
        if index != first:
            seq += _zeros(index - first)
        seq.append(_val(count, 1))
        if index != last:
            seq += _zeros(last - index)
    delta = len(seq) - oldlen
    if delta > 0 and end + delta > max_bytes:
        return _promote(buf, index, count), None
    if p + oldlen <= end:
        buf[p:p + oldlen] = seq
    else:
        # A truncated XZERO at the very end: Redis read its second byte from the
        # string terminator and now keeps only end + delta bytes of the sequence.
        buf[p:] = seq
        del buf[end + delta:]
    _merge_around(buf, prev)
    invalidate(buf)
    return 1, new_hint


def _merge_around(buf, prev):
    """Step 4 of hllSparseSet: merge equal adjacent VALs, scanning 5 opcodes from prev."""
    p = HDR if prev is None else prev
    end = len(buf)
    scan = 5
    while p < end and scan:
        scan -= 1
        b = buf[p]
        if not b & 0x80:
            p += 2 if b & 0x40 else 1
            continue
        if p + 1 < end:
            b2 = buf[p + 1]
            if b2 & 0x80 and (b >> 2) == (b2 >> 2):
                run = (b & 3) + (b2 & 3) + 2
                if run <= 4:
                    buf[p + 1] = (b2 & 0xFC) | (run - 1)
                    del buf[p]
                    end -= 1
                    continue
        p += 1


def _promote(buf, index, count):
    if not sparse_to_dense(buf):
        return -1
    dense_set(buf, index, count)
    return 1


def add(buf, element, max_bytes):
    """hllAdd: 1 if a register changed, 0 if not, -1 if the sparse data is corrupt."""
    index, count = pat_len(element)
    if buf[4] == DENSE:
        return dense_set(buf, index, count)
    if buf[4] == SPARSE:
        return sparse_set(buf, index, count, max_bytes)[0]
    return -1


def merge_into(buf, raw, max_bytes):
    """Raise the registers of HLL *buf* (in place) to those of *raw*, as PFMERGE does
    register by register (sparse stays sparse while it fits)."""
    if buf[4] == SPARSE:
        hint = None
        nonzero = [m.start() for m in re.finditer(rb"[^\x00]", raw)]
        for j in nonzero:
            # Redis ignores a -1 (corrupt opcodes) here and goes on with the next register.
            hint = sparse_set(buf, j, raw[j], max_bytes, hint)[1]
            if buf[4] == DENSE:
                break
        else:
            return
    current = dense_to_raw(buf)
    buf[HDR:] = raw_to_dense_regs(raw_max(current, raw))


# ---------------------------------------------------------------------------
# cardinality

def _sigma(x):
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        z_prev = z
        z += x * y
        y += y
        if z_prev == z:
            return z


def _tau(x):
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        z_prev = z
        y *= 0.5
        z -= (1 - x) ** 2 * y
        if z_prev == z:
            return z / 3


def raw_histogram(raw):
    hist = [0] * 64
    left = REGISTERS
    for v in range(64):
        c = raw.count(v)
        if c:
            hist[v] = c
            left -= c
            if not left:
                break
    return hist


def estimate(hist):
    """hllCount's estimator (Ertl's improved raw estimate), bit for bit in doubles."""
    m = float(REGISTERS)
    z = m * _tau((m - hist[Q + 1]) / m)
    for j in range(Q, 0, -1):
        z += hist[j]
        z *= 0.5
    z += m * _sigma(hist[0] / m)
    e = ALPHA_INF * m * m / z
    r = math.floor(e)
    if e - r >= 0.5:      # llroundl: halves away from zero
        r += 1
    return int(r)


def count(buf):
    """Cardinality of a valid HLL, ignoring the cache; None if the sparse data is corrupt."""
    if buf[4] == DENSE:
        hist = raw_histogram(dense_to_raw(buf))
    else:
        hist = sparse_histogram(buf)
        if hist is None:
            return None
    return estimate(hist)


# ---------------------------------------------------------------------------
# PFDEBUG helpers

def decode_sparse(buf):
    """PFDEBUG DECODE text: ``Z:n`` / ``z:n`` / ``v:value,run`` separated by spaces."""
    out = []
    p = HDR
    end = len(buf)
    while p < end:
        b = buf[p]
        if b & 0x80:
            out.append("v:%d,%d" % (((b >> 2) & 0x1F) + 1, (b & 3) + 1))
            p += 1
        elif b & 0x40:
            nxt = buf[p + 1] if p + 1 < end else 0
            out.append("Z:%d" % ((((b & 0x3F) << 8) | nxt) + 1))
            p += 2
        else:
            out.append("z:%d" % ((b & 0x3F) + 1))
            p += 1
    return " ".join(out).encode()
