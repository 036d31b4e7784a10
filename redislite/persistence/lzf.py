"""LZF (liblzf's format, as Redis stores compressed RDB strings), pure Python.

Format: a control byte ``c``.  ``c < 32``: a literal run of ``c + 1`` bytes
follows.  Otherwise a back reference: length ``c >> 5`` (7 means one more
length byte follows, added), offset ``((c & 31) << 8) + next byte + 1`` back
from the output end, copying ``length + 2`` bytes (overlap allowed).
"""


class LZFError(ValueError):
    pass


def decompress(data, expected_len):
    """Inflate *data*; raises LZFError when it is corrupt or its size is not *expected_len*."""
    out = bytearray()
    i = 0
    n = len(data)
    try:
        while i < n:
            c = data[i]
            i += 1
            if c < 32:
                run = c + 1
                if i + run > n:
                    raise LZFError("literal run past the end of the input")
                out += data[i:i + run]
                i += run
                continue
            length = c >> 5
            if length == 7:
                length += data[i]
                i += 1
            ref = len(out) - ((c & 31) << 8) - data[i] - 1
            i += 1
            length += 2
            if ref < 0:
                raise LZFError("back reference before the start of the output")
            end = ref + length
            if end <= len(out):
                out += out[ref:end]
            else:                     # overlapping copy: the pattern repeats
                chunk = out[ref:]
                while length > 0:
                    piece = chunk[:length]
                    out += piece
                    length -= len(piece)
    except IndexError:
        raise LZFError("truncated input") from None
    if len(out) != expected_len:
        raise LZFError("decompressed %d bytes, expected %d" % (len(out), expected_len))
    return bytes(out)


def compress(data):
    """Deflate *data* with a 3-byte hash of previous positions; None when it does not shrink.

    Slower and a little less tight than liblzf, but its output is valid LZF
    that Redis (and :func:`decompress`) inflates.
    """
    n = len(data)
    if n < 4:
        return None
    out = bytearray()
    table = {}
    lit_start = 0
    i = 0
    limit = n - 2

    def flush_literals(end):
        s = lit_start
        while s < end:
            run = min(32, end - s)
            out.append(run - 1)
            out.extend(data[s:s + run])
            s += run

    while i < limit:
        key = data[i:i + 3]
        ref = table.get(key)
        table[key] = i
        if ref is not None and i - ref - 1 < 8192:
            # extend the match (max length 264)
            m = 3
            maxm = min(264, n - i)
            while m < maxm and data[ref + m] == data[i + m]:
                m += 1
            flush_literals(i)
            off = i - ref - 1
            length = m - 2
            if length < 7:
                out.append((length << 5) | (off >> 8))
            else:
                out.append((7 << 5) | (off >> 8))
                out.append(length - 7)
            out.append(off & 0xFF)
            i += m
            lit_start = i
            if len(out) >= n:
                return None
            continue
        i += 1
    flush_literals(n)
    if len(out) >= n:
        return None
    return bytes(out)
