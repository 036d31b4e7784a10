"""Byte-level parts of the Lua libraries Redis bundles: ``bit``, ``struct`` and
``cmsgpack`` (``cjson`` is pure Lua in sandbox.py, so it walks and builds
tables in the same order as the C library).

Each function is exposed to Lua directly (a C function to Lua, so a failing
``return struct.pack(...)`` tail call keeps the user's frame) and receives Lua
values as lupa converts them (bytes, int/float, bool, None, tables).  Failure
raises ``LuaRaise(message=...)``; the error handler prefixes the user's
``user_script:<line>:`` position, as ``luaL_error`` would.  Behaviour follows the C sources
Redis ships (LuaBitOp 1.0.2, Roberto's struct 0.2, lua_cmsgpack 0.4.0).
"""

import math
import struct as _st

_DBL = _st.Struct("<d")
_INT_MAX = 2 ** 31 - 1
_U64 = 2 ** 64 - 1
_NIL = object()     # an argument slot holding nil (not "no value")


def _c_to_u64(v):
    """putinteger's (Uinttype)(Itype)n / (Uinttype)n as x86-64 computes them:
    NaN and out-of-range negatives give 2^63, +inf and values >= 2^64 give 0."""
    if v != v:
        return 1 << 63
    if v < 0:
        return 1 << 63 if v < -(1 << 63) else int(v) & _U64
    if v >= 1 << 64:
        return 0
    return int(v)


def _getinteger(raw, little, signed):
    """struct.c getinteger: a 64-bit accumulator (bytes past 8 shift out) and
    C's sign extension, whose shift count x86 takes modulo 64."""
    l = int.from_bytes(raw, "little" if little else "big") & _U64
    if signed and raw:
        mask = (_U64 << ((len(raw) * 8 - 1) & 63)) & _U64
        if l & mask:
            l |= mask
        if l >= 1 << 63:
            l -= 1 << 64
    return float(l) if abs(l) > (1 << 53) else l


class LibError(Exception):
    """A library error; ``bare`` ones are raised without the user's position
    (a Lua runtime error inside a C function, e.g. "table index is nil")."""

    def __init__(self, message, bare=False):
        Exception.__init__(self, message)
        self.bare = bare


def _argerror(n, fname, msg):
    e = LibError("bad argument #%d to '%s' (%s)" % (n, fname, msg))
    e.arg = (n, msg)
    return e


class Libs:
    def __init__(self, engine):
        self.engine = engine

    # -- helpers --------------------------------------------------------------
    def _number(self, v, n, fname):
        t = type(v)
        if t is int or t is float:
            return v
        if t is bytes:
            x = self.engine.api.to_number(v)
            if x is not None:
                return x
        raise _argerror(n, fname, "number expected, got %s" % _typename(self.engine, v))

    def _string(self, v, n, fname):
        t = type(v)
        if t is bytes:
            return v
        if t is int or t is float:
            return self.engine.api.tostring(v)
        raise _argerror(n, fname, "string expected, got %s" % _typename(self.engine, v))

    def wrap(self, fn):
        from .runtime import LuaRaise

        def call(*args):
            try:
                return fn(*args)
            except LibError as e:
                text = str(e)
                if getattr(e, "arg", None):
                    # luaL_argerror names the function as the caller did ('?' under pcall)
                    name = self.engine.api.c_name()
                    name = name.decode("utf-8", "surrogateescape") if type(name) is bytes else "?"
                    n, msg = e.arg
                    if 0 < n <= len(args) and args[n - 1] is None:   # passed, as nil
                        msg = msg.replace("got no value", "got nil")
                    text = "bad argument #%d to '%s' (%s)" % (n, name, msg)
                text = text.encode("utf-8", "surrogateescape")
                if e.bare:
                    raise LuaRaise(message=text, bare=True)
                raise self.engine.c_error(text)
            except RecursionError:
                raise self.engine.c_error(b"stack overflow")
        return call

    def callables(self):
        out = {}
        for name in ("tobit", "tohex", "bnot", "band", "bor", "bxor", "lshift", "rshift", "arshift",
                     "rol", "ror", "bswap"):
            out["bit_" + name] = self.wrap(getattr(self, "bit_" + name))
        for name in ("struct_pack", "struct_unpack", "struct_size", "msgpack_pack", "msgpack_unpack",
                     "msgpack_unpack_one", "msgpack_unpack_limit"):
            out[name] = self.wrap(getattr(self, name))
        return out

    # -- bit (LuaBitOp) ------------------------------------------------------------
    def _barg(self, v, n, fname):
        """barg: add 2^52+2^51 and take the low 32 bits of the double, as the C code does."""
        x = float(self._number(v, n, fname)) + 6755399441055744.0
        return int.from_bytes(_DBL.pack(x)[:4], "little")

    @staticmethod
    def _signed(b):
        b &= 0xFFFFFFFF
        return b - 0x100000000 if b & 0x80000000 else b

    def bit_tobit(self, *a):
        return self._signed(self._barg(a[0] if a else None, 1, "tobit"))

    def bit_tohex(self, *a):
        b = self._barg(a[0] if a else None, 1, "tohex")
        n = 8 if len(a) < 2 else self._signed(self._barg(a[1], 2, "tohex"))   # lua_isnone: nil counts
        digits = "0123456789abcdef"
        if n < 0:
            n = -n
            digits = digits.upper()
        if n > 8:
            n = 8
        out = []
        for _ in range(n):
            out.append(digits[b & 15])
            b >>= 4
        return "".join(reversed(out)).encode()

    def bit_bnot(self, *a):
        return self._signed(~self._barg(a[0] if a else None, 1, "bnot"))

    def _fold(self, a, fname, op):
        b = self._barg(a[0] if a else None, 1, fname)
        for i in range(len(a) - 1, 0, -1):     # LuaBitOp folds from the last argument down
            b = op(b, self._barg(a[i], i + 1, fname))
        return self._signed(b)

    def bit_band(self, *a):
        return self._fold(a, "band", lambda x, y: x & y)

    def bit_bor(self, *a):
        return self._fold(a, "bor", lambda x, y: x | y)

    def bit_bxor(self, *a):
        return self._fold(a, "bxor", lambda x, y: x ^ y)

    def _shift_args(self, a, fname):
        b = self._barg(a[0] if a else None, 1, fname)
        n = self._barg(a[1] if len(a) > 1 else None, 2, fname) & 31
        return b, n

    def bit_lshift(self, *a):
        b, n = self._shift_args(a, "lshift")
        return self._signed(b << n)

    def bit_rshift(self, *a):
        b, n = self._shift_args(a, "rshift")
        return self._signed(b >> n)

    def bit_arshift(self, *a):
        b, n = self._shift_args(a, "arshift")
        return self._signed(self._signed(b) >> n)

    def bit_rol(self, *a):
        b, n = self._shift_args(a, "rol")
        return self._signed((b << n) | (b >> (32 - n)))

    def bit_ror(self, *a):
        b, n = self._shift_args(a, "ror")
        return self._signed((b >> n) | (b << (32 - n)))

    def bit_bswap(self, *a):
        b = self._barg(a[0] if a else None, 1, "bswap")
        return self._signed(int.from_bytes(b.to_bytes(4, "little"), "big"))

    # -- struct (Roberto Ierusalimschy's struct 0.2) ------------------------------------
    _SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "i": 4, "I": 4,
              "f": 4, "d": 8, "x": 1, "c": 1, "s": 0}

    @staticmethod
    def _getnum(fmt, i, default):
        """getnum: the number at fmt[i:] (or *default*) and the index after it."""
        if i >= len(fmt) or not 48 <= fmt[i] <= 57:
            return default, i
        a = 0
        while i < len(fmt) and 48 <= fmt[i] <= 57:
            d = fmt[i] - 48
            if a > _INT_MAX // 10 or a * 10 > _INT_MAX - d:
                raise LibError("integral size overflow")
            a = a * 10 + d
            i += 1
        return a, i

    def _parse_fmt(self, fmt, fname):
        """Yield (opt, size, little_endian, align) for each character of a
        struct format, as the C loops see it: control characters and unknown
        options are yielded with size 0 *before* controloptions applies or
        rejects them (unpack checks its bounds first); size ignores unknown
        letters."""
        i, n = 0, len(fmt)
        little, align = True, 1
        while i < n:
            opt = chr(fmt[i])
            i += 1
            size = self._SIZES.get(opt, 0)
            if opt in "iIc":
                size, i = self._getnum(fmt, i, 1 if opt == "c" else 4)
                if opt != "c" and size > 32:
                    raise LibError("integral size %d is larger than limit of 32" % size)
            if opt in self._SIZES:
                yield opt, size, little, align
                continue
            yield opt, 0, little, align
            if opt == " ":
                continue
            elif opt == ">":
                little = False
            elif opt == "<":
                little = True
            elif opt == "!":
                align, i = self._getnum(fmt, i, 8)
                if align <= 0 or align & (align - 1):
                    raise LibError("alignment %d is not a power of 2" % align)
            elif fname == "size" and opt.isalnum():
                continue
            else:
                raise _argerror(1, fname, "invalid format option '%s'" % opt)

    @staticmethod
    def _toalign(length, align, opt, size):
        if size == 0 or opt == "c":
            return 0
        if size > align:
            size = align
        return (size - (length & (size - 1))) & (size - 1)

    def struct_pack(self, *a):
        fmt = self._string(a[0] if a else None, 1, "pack")
        out = bytearray()
        arg = 1
        nargs = len(a)

        def take():
            # b_pack pushes a nil mark after its arguments: the first missing one is nil
            nonlocal arg
            if arg < nargs:
                v = a[arg] if a[arg] is not None else _NIL
            else:
                v = _NIL if arg == nargs else None
            arg += 1
            return v

        for opt, size, little, align in self._parse_fmt(fmt, "pack"):
            out += b"\0" * self._toalign(len(out), align, opt, size)
            if opt == "x":
                out += b"\0"
            elif opt in "bBhHlLTiI":
                v = self._number(take(), arg, "pack")
                iv = _c_to_u64(v)
                # a 64-bit value, zero-extended past 8 bytes (putinteger)
                iv &= _U64 if size >= 8 else (1 << (8 * size)) - 1
                out += iv.to_bytes(size, "little" if little else "big") if size else b""
            elif opt == "f":
                v = float(self._number(take(), arg, "pack"))
                try:
                    out += _st.pack("<f" if little else ">f", v)
                except OverflowError:
                    out += _st.pack("<f" if little else ">f", math.copysign(math.inf, v))
            elif opt == "d":
                v = float(self._number(take(), arg, "pack"))
                out += _st.pack("<d" if little else ">d", v)
            elif opt == "c" or opt == "s":
                sv = self._string(take(), arg, "pack")
                if size == 0:
                    size = len(sv)
                if len(sv) < size:
                    raise _argerror(arg + 1, "pack", "string too short")
                out += sv[:size]
                if opt == "s":
                    out += b"\0"
        return bytes(out)

    def struct_unpack(self, *a):
        fmt = self._string(a[0] if a else None, 1, "unpack")
        data = self._string(a[1] if len(a) > 1 else None, 2, "unpack")
        pos = 0
        if len(a) > 2 and a[2] is not None:
            offset = int(self._number(a[2], 3, "unpack"))
            if offset == 0:
                raise _argerror(3, "unpack", "offset must be 1 or greater")
            pos = offset - 1        # negative: a huge size_t in C, "too short" below
        values = []
        ld = len(data)
        for opt, size, little, align in self._parse_fmt(fmt, "unpack"):
            if pos >= 0:
                pos += self._toalign(pos, align, opt, size)
            if size > ld or pos < 0 or pos > ld - size:
                raise _argerror(2, "unpack", "data string too short")
            if opt == "x":
                pass
            elif opt in "bBhHlLTiI":
                values.append(_getinteger(data[pos:pos + size], little, opt.islower()))
            elif opt == "f":
                values.append(_st.unpack("<f" if little else ">f", data[pos:pos + 4])[0])
            elif opt == "d":
                values.append(_st.unpack("<d" if little else ">d", data[pos:pos + 8])[0])
            elif opt == "c":
                if size == 0:
                    if not values or not isinstance(values[-1], (int, float)):
                        raise LibError("format 'c0' needs a previous size")
                    size = int(values.pop())
                    if size < 0 or size > ld or pos > ld - size:
                        raise _argerror(2, "unpack", "data string too short")
                values.append(data[pos:pos + size])
            elif opt == "s":
                e = data.find(b"\0", pos)
                if e < 0:
                    raise LibError("unfinished string in data")
                values.append(data[pos:e])
                size = e - pos + 1
            pos += size
        values.append(pos + 1)
        return tuple(values)

    def struct_size(self, *a):
        fmt = self._string(a[0] if a else None, 1, "size")
        pos = 0
        for opt, size, little, align in self._parse_fmt(fmt, "size"):
            pos += self._toalign(pos, align, opt, size)
            if opt == "s":
                raise _argerror(1, "size", "option 's' has no fixed size")
            if opt == "c" and size == 0:
                raise _argerror(1, "size", "option 'c0' has no fixed size")
            pos += size
        return pos

    # -- cmsgpack ------------------------------------------------------------------------
    def msgpack_pack(self, *a):
        if not a:
            raise _argerror(0, "pack", "MessagePack pack needs input.")
        out = bytearray()
        for v in a:
            self._mp_encode(v, out, 0)
        return bytes(out)

    def _mp_encode(self, v, out, level):
        engine = self.engine
        t = type(v)
        if t is bytes:
            n = len(v)
            if n < 32:
                out.append(0xA0 | n)
            elif n <= 0xFF:
                out += b"\xd9" + bytes((n,))
            elif n <= 0xFFFF:
                out += b"\xda" + n.to_bytes(2, "big")
            else:
                out += b"\xdb" + n.to_bytes(4, "big")
            out += v
        elif t is bool:
            out.append(0xC3 if v else 0xC2)
        elif t is int or t is float:
            self._mp_number(v, out)
        elif v is not None and engine.api.is_table(v) and level < 16:
            self._mp_table(v, out, level)
        else:
            out.append(0xC0)

    @staticmethod
    def _mp_number(v, out):
        f = float(v)
        if not math.isinf(f) and not math.isnan(f) and -(1 << 63) <= f < (1 << 63) and int(f) == f:
            n = int(f)
            if n >= 0:
                if n <= 127:
                    out.append(n)
                elif n <= 0xFF:
                    out += b"\xcc" + bytes((n,))
                elif n <= 0xFFFF:
                    out += b"\xcd" + n.to_bytes(2, "big")
                elif n <= 0xFFFFFFFF:
                    out += b"\xce" + n.to_bytes(4, "big")
                else:
                    out += b"\xcf" + n.to_bytes(8, "big")
            else:
                if n >= -32:
                    out.append(n & 0xFF)
                elif n >= -128:
                    out += b"\xd0" + n.to_bytes(1, "big", signed=True)
                elif n >= -32768:
                    out += b"\xd1" + n.to_bytes(2, "big", signed=True)
                elif n >= -2147483648:
                    out += b"\xd2" + n.to_bytes(4, "big", signed=True)
                else:
                    out += b"\xd3" + n.to_bytes(8, "big", signed=True)
            return
        try:
            as_float = _st.unpack(">f", _st.pack(">f", f))[0]
        except OverflowError:
            as_float = None
        if as_float is not None and (as_float == f or (math.isnan(f) and math.isnan(as_float))) and not math.isnan(f):
            out += b"\xca" + _st.pack(">f", f)
        else:
            out += b"\xcb" + _st.pack(">d", f)

    def _mp_table(self, t, out, level):
        api = self.engine.api
        items = list(t.items())
        count, mx, is_array = 0, 0, True
        for k, _ in items:
            if type(k) is bool or not api.lua_is_number(k):
                is_array = False
                break
            n = api.to_number(k)
            if n <= 0 or n != int(n):
                is_array = False
                break
            mx = max(mx, n)
            count += 1
        if is_array and mx == count:
            n = api.objlen(t)
            if n <= 15:
                out.append(0x90 | n)
            elif n <= 0xFFFF:
                out += b"\xdc" + n.to_bytes(2, "big")
            else:
                out += b"\xdd" + n.to_bytes(4, "big")
            for j in range(1, n + 1):
                self._mp_encode(t[j], out, level + 1)
            return
        n = len(items)
        if n <= 15:
            out.append(0x80 | n)
        elif n <= 0xFFFF:
            out += b"\xde" + n.to_bytes(2, "big")
        else:
            out += b"\xdf" + n.to_bytes(4, "big")
        for k, v in items:
            self._mp_encode(k, out, level + 1)
            self._mp_encode(v, out, level + 1)

    def _unpack_full(self, data, limit, offset, nargs):
        data = self._string(data, 1, "unpack")
        decode_all = not limit and not offset
        if offset < 0 or limit < 0:
            raise LibError("Invalid request to unpack with offset of %d and limit of %d." % (offset, len(data)))
        if offset > len(data):
            raise LibError("Start offset %d greater than input length %d." % (offset, len(data)))
        if decode_all:
            limit = 1 << 31
        pos = offset
        values = []
        cnt = 0
        while pos < len(data) and cnt < limit:
            # the arguments and the values decoded so far sit on the Lua stack
            v, pos = self._mp_decode(data, pos, nargs + cnt)
            values.append(v)
            cnt += 1
        if not decode_all:
            return (-1 if pos >= len(data) else pos,) + tuple(values)
        return tuple(values)

    def msgpack_unpack(self, *a):
        return self._unpack_full(a[0] if a else None, 0, 0, len(a))

    def msgpack_unpack_one(self, *a):
        offset = int(self._number(a[1], 2, "unpack_one")) if len(a) > 1 and a[1] is not None else 0
        return self._unpack_full(a[0] if a else None, 1, offset, 1)   # extra arguments are popped

    def msgpack_unpack_limit(self, *a):
        limit = int(self._number(a[1] if len(a) > 1 else None, 2, "unpack_limit"))
        offset = int(self._number(a[2], 3, "unpack_limit")) if len(a) > 2 and a[2] is not None else 0
        return self._unpack_full(a[0] if a else None, limit, offset, 1)

    def _need(self, data, pos, n):
        if pos + n > len(data):
            raise LibError("Missing bytes in input.")

    def _mp_decode(self, data, pos, top):
        """mp_decode_to_lua_type for the value at *pos*, with *top* values
        already on the Lua stack; nested arrays and maps are decoded with an
        explicit stack, and Redis's stack checks are applied by slot count:
        every value needs one free slot (LUAI_MAXCSTACK 8000), and an array
        one more after its table is pushed."""
        frames = []     # [table, is_map, left, next_index, key, key_done, table_slot]
        new_table = self.engine.runtime.table
        while True:
            if top + 1 > _LUA_MAXCSTACK:
                raise LibError("stack overflow (too many return values at once; "
                               "use unpack_one or unpack_limit instead.)")
            v, pos, n, is_map = self._mp_scalar(data, pos)
            if n is not None:
                slot = top + 1
                if not is_map and slot + 1 > _LUA_MAXCSTACK:
                    raise LibError("stack overflow (in function mp_decode_to_lua_array)")
                v = new_table()
                if n:
                    frames.append([v, is_map, n, 1, None, False, slot])
                    top = slot if is_map else slot + 1
                    continue
            while True:     # hand v to the enclosing table
                if not frames:
                    return v, pos
                fr = frames[-1]
                t = fr[0]
                if fr[1]:
                    if not fr[5]:
                        fr[4], fr[5] = v, True
                        top = fr[6] + 1
                        break
                    k = fr[4]
                    fr[5] = False
                    if k is None:
                        raise LibError("table index is nil", bare=True)
                    if k != k:
                        raise LibError("table index is NaN", bare=True)
                    t[k] = v
                else:
                    t[fr[3]] = v
                    fr[3] += 1
                fr[2] -= 1
                if fr[2]:
                    top = fr[6] if fr[1] else fr[6] + 1
                    break
                frames.pop()
                v = t

    def _mp_scalar(self, data, pos):
        """One msgpack item: (value, pos, None, False), or (None, pos, count, is_map)
        for an array or map header (lua_cmsgpack 0.4.0: no bin or ext types)."""
        self._need(data, pos, 1)
        c = data[pos]
        pos += 1
        if c <= 0x7F:
            return c, pos, None, False
        if c >= 0xE0:
            return c - 256, pos, None, False
        if 0xA0 <= c <= 0xBF:
            return self._raw(data, pos, c & 0x1F) + (None, False)
        if 0x90 <= c <= 0x9F:
            return None, pos, c & 0x0F, False
        if 0x80 <= c <= 0x8F:
            return None, pos, c & 0x0F, True
        if c == 0xC0:
            return None, pos, None, False
        if c == 0xC2:
            return False, pos, None, False
        if c == 0xC3:
            return True, pos, None, False
        if c == 0xCA:
            self._need(data, pos, 4)
            return _st.unpack(">f", data[pos:pos + 4])[0], pos + 4, None, False
        if c == 0xCB:
            self._need(data, pos, 8)
            return _st.unpack(">d", data[pos:pos + 8])[0], pos + 8, None, False
        ints = _MP_INTS.get(c)
        if ints is not None:
            n, signed = ints
            self._need(data, pos, n)
            v = int.from_bytes(data[pos:pos + n], "big", signed=signed)
            return (float(v) if abs(v) > (1 << 53) else v), pos + n, None, False
        n = _MP_STR_LEN.get(c)
        if n is not None:
            self._need(data, pos, n)
            return self._raw(data, pos + n, int.from_bytes(data[pos:pos + n], "big")) + (None, False)
        if c in (0xDC, 0xDD, 0xDE, 0xDF):
            n = 2 if c in (0xDC, 0xDE) else 4
            self._need(data, pos, n)
            return None, pos + n, int.from_bytes(data[pos:pos + n], "big"), c >= 0xDE
        raise LibError("Bad data format in input.")

    def _raw(self, data, pos, n):
        self._need(data, pos, n)
        return data[pos:pos + n], pos + n


_LUA_MAXCSTACK = 8000
#: uint 64 (0xcf) is read as a signed 64-bit integer, as Redis's cmsgpack does
_MP_INTS = {0xCC: (1, False), 0xCD: (2, False), 0xCE: (4, False), 0xCF: (8, True),
            0xD0: (1, True), 0xD1: (2, True), 0xD2: (4, True), 0xD3: (8, True)}
_MP_STR_LEN = {0xD9: 1, 0xDA: 2, 0xDB: 4}


def _typename(engine, v):
    if v is None:
        return "no value"
    if v is _NIL:
        return "nil"
    if type(v) is bytes:
        return "string"
    if type(v) in (int, float):
        return "number"
    if type(v) is bool:
        return "boolean"
    if engine.api.is_table(v):
        return "table"
    if engine.api.is_function(v):
        return "function"
    return "userdata"
