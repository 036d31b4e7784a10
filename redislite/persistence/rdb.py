"""The RDB snapshot format, version 10 (what Redis 7.0 writes and reads).

Writing uses the plainest encodings Redis 7.0 loads (string, RDB_TYPE_LIST,
RDB_TYPE_SET, RDB_TYPE_HASH, RDB_TYPE_ZSET_2); Redis re-packs small values into
listpacks/intsets as it loads them, exactly as it does for its own files.
Strings that look like integers use the integer encodings and long strings are
LZF-compressed when ``rdbcompression`` is on, as Redis does.

Reading accepts everything Redis 7.0 writes: the compact encodings (ziplist,
listpack, intset, zipmap, quicklist v1/v2), LZF strings, integer strings, aux
fields, functions, and checks the CRC-64 trailer.  Errors name the offset.

The reader works on an in-memory buffer (bytes or mmap) with an index, which
is much faster in Python than file reads per field, and yields once per key so
the loader can hand the reactor back between slices.
"""

import mmap
import struct

from . import checksum as _checksum
from . import lzf
from .crc64 import crc64

RDB_VERSION = 10
REDIS_VERSION = b"7.0.15"

# value types
T_STRING, T_LIST, T_SET, T_ZSET, T_HASH, T_ZSET_2 = 0, 1, 2, 3, 4, 5
T_MODULE, T_MODULE_2 = 6, 7
T_HASH_ZIPMAP, T_LIST_ZIPLIST, T_SET_INTSET, T_ZSET_ZIPLIST, T_HASH_ZIPLIST = 9, 10, 11, 12, 13
T_LIST_QUICKLIST, T_STREAM_LISTPACKS = 14, 15
T_HASH_LISTPACK, T_ZSET_LISTPACK, T_LIST_QUICKLIST_2, T_STREAM_LISTPACKS_2 = 16, 17, 18, 19
# opcodes
OP_FUNCTION2, OP_FUNCTION_PRE_GA, OP_MODULE_AUX, OP_IDLE, OP_FREQ = 245, 246, 247, 248, 249
OP_AUX, OP_RESIZEDB, OP_EXPIRETIME_MS, OP_EXPIRETIME, OP_SELECTDB, OP_EOF = 250, 251, 252, 253, 254, 255
_pack_d = struct.Struct("<d").pack
_unpack_d = struct.Struct("<d").unpack_from
_pack_q = struct.Struct("<q").pack
_u32be = struct.Struct(">I")
_u64be = struct.Struct(">Q")

TYPE_NAMES = {T_STREAM_LISTPACKS: "stream", T_STREAM_LISTPACKS_2: "stream",
              T_MODULE: "module", T_MODULE_2: "module"}


class RdbError(ValueError):
    """A corrupt or unsupported RDB; ``offset`` is where reading failed."""

    def __init__(self, message, offset=None, path=None):
        self.offset = offset
        self.path = path
        super().__init__(message)

    def __str__(self):
        where = ""
        if self.path:
            where = " in %s" % self.path
        if self.offset is not None:
            where += " at offset %d" % self.offset
        return "%s%s" % (self.args[0], where)


# ---------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------
def enc_len(n):
    if n < 64:
        return bytes((n,))
    if n < 16384:
        return bytes((0x40 | (n >> 8), n & 0xFF))
    if n <= 0xFFFFFFFF:
        return b"\x80" + _u32be.pack(n)
    return b"\x81" + _u64be.pack(n)


_LEN1 = [bytes((n,)) for n in range(64)]


def _int_encoding(s):
    """Redis's rdbTryIntegerEncoding: canonical integers of up to 11 chars in int32."""
    if len(s) > 11 or not s:
        return None
    c = s[0]
    if not (48 <= c <= 57 or c == 45):
        return None
    try:
        v = int(s)
    except ValueError:
        return None
    if b"%d" % v != s:
        return None
    if -128 <= v <= 127:
        return b"\xc0" + struct.pack("<b", v)
    if -32768 <= v <= 32767:
        return b"\xc1" + struct.pack("<h", v)
    if -2147483648 <= v <= 2147483647:
        return b"\xc2" + struct.pack("<i", v)
    return None


class Encoder:
    """Serialises values; ``compress`` mirrors ``rdbcompression``."""

    def __init__(self, compress=True):
        self.compress = compress

    def string(self, s, out):
        n = len(s)
        if n <= 11:
            e = _int_encoding(bytes(s))
            if e is not None:
                out.append(e)
                return
        elif n > 20 and self.compress:
            c = lzf.compress(bytes(s))
            if c is not None:
                out.append(b"\xc3" + enc_len(len(c)) + enc_len(n))
                out.append(c)
                return
        out.append(_LEN1[n] if n < 64 else enc_len(n))
        out.append(s)

    def entry(self, key, v, out):
        """Append type byte, key and payload of one key/value pair."""
        t = type(v)
        if t is bytes or t is bytearray:
            string = self.string
            out.append(b"\x00")
            string(key, out)
            string(v, out)
            return
        self._container(v, key, out)

    def value(self, v, out):
        """Append one value's type byte and payload, with no key: DUMP's body."""
        t = type(v)
        if t is bytes or t is bytearray:
            out.append(b"\x00")
            self.string(v, out)
            return
        self._container(v, None, out)

    def _container(self, v, key, out):
        """Type byte, the key unless None, then the payload of a list/set/hash/zset."""
        string = self.string
        kind = v.TYPE
        code = _CONTAINER_TYPES.get(kind)
        if code is None:
            raise RdbError("cannot save a value of type %s" % kind)
        out.append(code)
        if key is not None:
            string(key, out)
        out.append(enc_len(len(v)))
        if kind == "hash":
            for f, x in v.items():
                string(f, out)
                string(x, out)
        elif kind == "zset":
            for m, score in v:
                string(m, out)
                out.append(_pack_d(score))
        else:
            for e in v:
                string(e, out)


#: the plain RDB type byte of each container kind (list, set, hash, zset v2)
_CONTAINER_TYPES = {"list": b"\x01", "set": b"\x02", "hash": b"\x04", "zset": b"\x05"}


def dump_payload(body):
    """DUMP's format: a value's RDB serialisation, then the RDB version (2 bytes,
    little-endian) and the CRC-64 of everything before it (8 bytes, little-endian).
    FUNCTION DUMP wraps its libraries the same way."""
    data = bytes(body) + struct.pack("<H", RDB_VERSION)
    return data + struct.pack("<Q", crc64(data))


def dump_body(payload):
    """Redis's verifyDumpPayload: the body of a DUMP payload, or None when it is
    shorter than its footer, from a newer RDB version, or fails its CRC-64 (a
    zero CRC included: unlike an RDB file's, a payload's CRC is always computed)."""
    if len(payload) < 10:
        return None
    if payload[-10] | (payload[-9] << 8) > RDB_VERSION:
        return None
    if crc64(payload[:-8]) != int.from_bytes(payload[-8:], "little"):
        return None
    return payload[:-10]


def header(aux):
    """Magic, version and aux fields (``aux``: [(name bytes, value bytes)])."""
    out = [b"REDIS%04d" % RDB_VERSION]
    enc = Encoder(False)
    for k, v in aux:
        out.append(b"\xfa")
        enc.string(k, out)
        enc.string(v, out)
    return b"".join(out)


def default_aux(now_s, used_mem, aof_base=False):
    return [(b"redis-ver", REDIS_VERSION), (b"redis-bits", b"64"), (b"ctime", b"%d" % now_s),
            (b"used-mem", b"%d" % used_mem), (b"aof-base", b"1" if aof_base else b"0")]


CHUNK = 1 << 20
_EOF = object()


def iter_snapshot(server, databases, aux, functions=(), compress=True, checksum=True,
                  progress=None, key_delay_us=0):
    """Yield the RDB file as byte chunks (~1 MB), walking every shard's keyspaces.

    Must run where the data cannot change underneath: a forked child (BGSAVE,
    rewrite) or synchronously (SAVE, shutdown).  ``progress(keys_done)`` is
    called per chunk.  The trailer carries the CRC-64 of everything before
    it, computed chunk by chunk so there is no second pass over the file.
    ``key_delay_us`` is Redis's rdb-key-save-delay (tests slow saves with it).
    """
    enc = Encoder(compress)
    entry = enc.entry
    crc = 0
    done = 0
    out = [header(aux)]
    for code in functions:
        out.append(b"\xf5")
        enc.string(code, out)
    pending = 0
    pieces = []
    if key_delay_us:
        import time
        sleep = time.sleep
    for db in range(databases):
        slices = [shard.dbs[db] for shard in server.shards]
        count = sum(ks.count for ks in slices)
        if not count:
            continue
        nexp = sum(len(ks.expires) for ks in slices)
        out.append(b"\xfe" + enc_len(db) + b"\xfb" + enc_len(count) + enc_len(nexp))
        for ks in slices:
            expires = ks.expires
            for bucket in ks.buckets:
                for key, v in bucket.items():
                    if expires:
                        when = expires.get(key)
                        if when is not None:
                            out.append(b"\xfc" + _pack_q(when))
                    entry(key, v, out)
                    done += 1
                    if key_delay_us:
                        sleep(key_delay_us / 1e6)
                    if len(out) > 4096:
                        piece = b"".join(out)
                        out = []
                        pieces.append(piece)
                        pending += len(piece)
                        if pending >= CHUNK:
                            # ~1 MB chunks: crc64 is only fast on big inputs (its lanes path)
                            chunk = b"".join(pieces)
                            pieces = []
                            pending = 0
                            if checksum:
                                crc = crc64(chunk, crc)
                            if progress is not None:
                                progress(done)
                            yield chunk
    out.append(b"\xff")
    chunk = b"".join(pieces) + b"".join(out)
    if checksum:
        crc = crc64(chunk, crc)
    if progress is not None:
        progress(done)
    yield chunk + struct.pack("<Q", crc)


def dumps(server, databases=None, aux=None, **kw):
    """The whole snapshot as bytes (tests, small datasets)."""
    if databases is None:
        databases = server.databases
    if aux is None:
        aux = default_aux(int(server.reactor.seconds()), server.used_memory())
    return b"".join(iter_snapshot(server, databases, aux, **kw))


# ---------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------
_i8 = struct.Struct("<b").unpack_from
_i16 = struct.Struct("<h").unpack_from
_i32 = struct.Struct("<i").unpack_from
_i64 = struct.Struct("<q").unpack_from
_u16 = struct.Struct("<H").unpack_from
_u32 = struct.Struct("<I").unpack_from
_u64 = struct.Struct("<Q").unpack_from


def _type_module(name):
    import importlib
    try:
        return importlib.import_module("redislite.storage.types." + name)
    except ImportError:  # pragma: no cover - the value types land separately (#3)
        return None


class Values:
    """Builds our value objects from decoded elements (the types' public API).

    Each type module is imported on its own so the RDB code does not depend
    on which data types have landed; ``limits`` come from the config as the
    commands use them.
    """

    def __init__(self, config=None):
        self.config = config
        self.tlist = _type_module("list")
        self.tzset = _type_module("zset")
        self.thash = _type_module("hash")
        self.tset = _type_module("set")
        self._cache = {}

    def _limits(self, mod, fn, default):
        # Cached: the config cannot change during a load, and looking the
        # limits up per value cost more than building small values.
        cache = self._cache
        k = (mod.__name__, fn)
        v = cache.get(k)
        if v is None:
            v = getattr(mod, default)
            if self.config is not None:
                try:
                    v = getattr(mod, fn)(self.config)
                except KeyError:
                    pass
            cache[k] = v
        return v

    def _need(self, mod, kind):
        if mod is None:
            raise RdbError("%s values are not supported yet (#3 data types)" % kind)
        return mod

    def list(self, items):
        return self._need(self.tlist, "list").ListValue(items)

    def set(self, members):
        mod = self._need(self.tset, "set")
        mx = self._limits(mod, "max_intset_from", "DEFAULT_MAX_INTSET")
        s = mod.SetValue.create(members[0]) if members else mod.SetValue()
        add = s.add
        for m in members:
            add(m, mx)
        return s

    def hash(self, pairs):
        mod = self._need(self.thash, "hash")
        limits = self._limits(mod, "limits_from", "DEFAULT_LIMITS")
        h = mod.HashValue()
        put = h.set
        for f, v in pairs:
            put(f, v, limits)
        return h

    def zset(self, pairs):
        mod = self._need(self.tzset, "zset")
        limits = self._limits(mod, "limits_from", "DEFAULT_LIMITS")
        z = mod.ZSet(True)
        add = z.add
        for m, score in pairs:
            add(m, score, limits)
        z.maybe_convert(limits)
        return z


def _num(v):
    return b"%d" % v


def parse_ziplist(blob):
    """Elements of a ziplist (RDB types 10, 12, 13, 14), as bytes."""
    out = []
    n = len(blob)
    if n < 11 or _u32(blob, 0)[0] != n:
        raise RdbError("bad ziplist header")
    i = 10
    while True:
        if i >= n:
            raise RdbError("ziplist without end marker")
        if blob[i] == 0xFF:
            break
        i += 5 if blob[i] == 0xFE else 1          # prevlen
        c = blob[i]
        top = c >> 6
        if top == 0:
            ln = c & 0x3F
            out.append(bytes(blob[i + 1:i + 1 + ln]))
            i += 1 + ln
        elif top == 1:
            ln = ((c & 0x3F) << 8) | blob[i + 1]
            out.append(bytes(blob[i + 2:i + 2 + ln]))
            i += 2 + ln
        elif c == 0x80:
            ln = _u32be.unpack_from(blob, i + 1)[0]
            out.append(bytes(blob[i + 5:i + 5 + ln]))
            i += 5 + ln
        elif c == 0xC0:
            out.append(_num(_i16(blob, i + 1)[0]))
            i += 3
        elif c == 0xD0:
            out.append(_num(_i32(blob, i + 1)[0]))
            i += 5
        elif c == 0xE0:
            out.append(_num(_i64(blob, i + 1)[0]))
            i += 9
        elif c == 0xF0:
            v = int.from_bytes(blob[i + 1:i + 4], "little", signed=True)
            out.append(_num(v))
            i += 4
        elif c == 0xFE:
            out.append(_num(_i8(blob, i + 1)[0]))
            i += 2
        elif 0xF1 <= c <= 0xFD:
            out.append(_num((c & 0x0F) - 1))
            i += 1
        else:
            raise RdbError("bad ziplist entry encoding 0x%02x" % c)
        if i > n:
            raise RdbError("ziplist entry past the end")
    return out


def parse_listpack(blob):
    """Elements of a listpack (RDB types 16, 17, 18), as bytes."""
    out = []
    n = len(blob)
    if n < 7 or _u32(blob, 0)[0] != n:
        raise RdbError("bad listpack header")
    i = 6
    while True:
        if i >= n:
            raise RdbError("listpack without end marker")
        c = blob[i]
        if c < 0x80:
            out.append(_num(c))
            size = 1
        elif c < 0xC0:
            ln = c & 0x3F
            out.append(bytes(blob[i + 1:i + 1 + ln]))
            size = 1 + ln
        elif c < 0xE0:
            v = ((c & 0x1F) << 8) | blob[i + 1]
            if v >= 1 << 12:
                v -= 1 << 13
            out.append(_num(v))
            size = 2
        elif c < 0xF0:
            ln = ((c & 0x0F) << 8) | blob[i + 1]
            out.append(bytes(blob[i + 2:i + 2 + ln]))
            size = 2 + ln
        elif c == 0xF0:
            ln = _u32(blob, i + 1)[0]
            out.append(bytes(blob[i + 5:i + 5 + ln]))
            size = 5 + ln
        elif c == 0xF1:
            out.append(_num(_i16(blob, i + 1)[0]))
            size = 3
        elif c == 0xF2:
            out.append(_num(int.from_bytes(blob[i + 1:i + 4], "little", signed=True)))
            size = 4
        elif c == 0xF3:
            out.append(_num(_i32(blob, i + 1)[0]))
            size = 5
        elif c == 0xF4:
            out.append(_num(_i64(blob, i + 1)[0]))
            size = 9
        elif c == 0xFF:
            break
        else:
            raise RdbError("bad listpack entry encoding 0x%02x" % c)
        back = 1 if size < 128 else 2 if size < 16384 else 3 if size < 2097152 else \
            4 if size < 268435456 else 5
        i += size + back
        if i > n:
            raise RdbError("listpack entry past the end")
    return out


def parse_intset(blob):
    if len(blob) < 8:
        raise RdbError("bad intset header")
    width, count = _u32(blob, 0)[0], _u32(blob, 4)[0]
    if width not in (2, 4, 8) or len(blob) != 8 + width * count:
        raise RdbError("bad intset encoding")
    fmt = {2: "<%dh", 4: "<%di", 8: "<%dq"}[width] % count
    return [_num(v) for v in struct.unpack_from(fmt, blob, 8)]


def parse_zipmap(blob):
    """Pairs of an old zipmap hash (RDB type 9)."""
    out = []
    i = 1
    n = len(blob)

    def length(i):
        c = blob[i]
        if c < 254:
            return c, i + 1
        if c == 254:
            return _u32(blob, i + 1)[0], i + 5
        return None, i + 1
    while i < n:
        kl, i = length(i)
        if kl is None:
            return out
        k = bytes(blob[i:i + kl])
        i += kl
        vl, i = length(i)
        if vl is None:
            raise RdbError("bad zipmap")
        free = blob[i]
        i += 1
        v = bytes(blob[i:i + vl])
        i += vl + free
        out.append((k, v))
    raise RdbError("zipmap without end marker")


def _pairs(items):
    if len(items) % 2:
        raise RdbError("odd number of elements in a pair encoding")
    return list(zip(items[0::2], items[1::2]))


class Reader:
    """Decodes one RDB image held in memory.

    ``records()`` yields ``("aux", k, v)``, ``("function", code)``,
    ``("resize", db, keys, expires)`` and ``("key", db, key, value, expire_ms)``
    until the EOF opcode; then ``end()`` verifies the checksum.
    """

    def __init__(self, buf, values, path=None, base=0, verify_checksum=True,
                 parallel_checksum=False):
        self.buf = buf
        self.pos = base
        self.start = base
        self.values = values
        self.path = path
        self.verify = verify_checksum
        self.version = None
        self.expired = 0          # keys dropped by batches(expired_before=...)
        self.parallel_checksum = parallel_checksum
        self.checksum = None      # checksum.InlineCrc / ForkedCrc while batches() runs

    def fail(self, message, offset=None):
        raise RdbError(message, self.pos if offset is None else offset, self.path)

    # -- primitives -------------------------------------------------------------
    def byte(self):
        p = self.pos
        try:
            b = self.buf[p]
        except IndexError:
            self.fail("unexpected end of file")
        self.pos = p + 1
        return b

    def take(self, n):
        p = self.pos
        end = p + n
        if end > len(self.buf):
            self.fail("unexpected end of file (%d bytes needed)" % n)
        self.pos = end
        return self.buf[p:end]

    def length(self):
        """(length, is_encoded)."""
        c = self.byte()
        t = c >> 6
        if t == 0:
            return c & 0x3F, False
        if t == 1:
            return ((c & 0x3F) << 8) | self.byte(), False
        if t == 3:
            return c & 0x3F, True
        if c == 0x80:
            return _u32be.unpack(self.take(4))[0], False
        if c == 0x81:
            return _u64be.unpack(self.take(8))[0], False
        self.fail("bad length encoding 0x%02x" % c, self.pos - 1)

    def plain_length(self):
        n, enc = self.length()
        if enc:
            self.fail("unexpected encoded length")
        return n

    def string(self):
        buf = self.buf
        p = self.pos
        try:
            c = buf[p]
        except IndexError:
            self.fail("unexpected end of file")
        if c < 0x40:
            end = p + 1 + c
            if end > len(buf):
                self.fail("unexpected end of file in a string")
            self.pos = end
            return bytes(buf[p + 1:end])
        n, enc = self.length()
        if not enc:
            return bytes(self.take(n))
        if n == 0:
            return _num(_i8(self.take(1))[0])
        if n == 1:
            return _num(_i16(self.take(2))[0])
        if n == 2:
            return _num(_i32(self.take(4))[0])
        if n == 3:
            at = self.pos
            clen = self.plain_length()
            ulen = self.plain_length()
            data = self.take(clen)
            try:
                return lzf.decompress(data, ulen)
            except lzf.LZFError as e:
                self.fail("invalid LZF compressed string (%s)" % e, at)
        self.fail("unknown string encoding %d" % n)

    def double_str(self):
        n = self.byte()
        if n == 253:
            return float("nan")
        if n == 254:
            return float("inf")
        if n == 255:
            return float("-inf")
        try:
            return float(self.take(n))
        except ValueError:
            self.fail("bad double")

    def binary_double(self):
        return _unpack_d(self.take(8))[0]

    # -- values -------------------------------------------------------------------
    def value(self, t):
        vals = self.values
        string = self.string
        if t == T_STRING:
            return string()
        if t == T_LIST:
            return vals.list([string() for _ in range(self.plain_length())])
        if t == T_SET:
            return vals.set([string() for _ in range(self.plain_length())])
        if t == T_ZSET_2:
            n = self.plain_length()
            out = []
            for _ in range(n):
                m = string()
                out.append((m, self.binary_double()))
            return vals.zset(out)
        if t == T_ZSET:
            n = self.plain_length()
            out = []
            for _ in range(n):
                m = string()
                out.append((m, self.double_str()))
            return vals.zset(out)
        if t == T_HASH:
            n = self.plain_length()
            out = []
            for _ in range(n):
                f = string()
                out.append((f, string()))
            return vals.hash(out)
        at = self.pos
        try:
            if t == T_LIST_QUICKLIST or t == T_LIST_QUICKLIST_2:
                items = []
                for _ in range(self.plain_length()):
                    container = 2
                    if t == T_LIST_QUICKLIST_2:
                        container = self.plain_length()
                    blob = string()
                    if t == T_LIST_QUICKLIST:
                        items.extend(parse_ziplist(blob))
                    elif container == 1:
                        items.append(blob)
                    elif container == 2:
                        items.extend(parse_listpack(blob))
                    else:
                        self.fail("bad quicklist container %d" % container)
                return vals.list(items)
            if t == T_LIST_ZIPLIST:
                return vals.list(parse_ziplist(string()))
            if t == T_SET_INTSET:
                return vals.set(parse_intset(string()))
            if t == T_ZSET_ZIPLIST or t == T_ZSET_LISTPACK:
                blob = string()
                items = parse_ziplist(blob) if t == T_ZSET_ZIPLIST else parse_listpack(blob)
                return vals.zset([(m, float(s)) for m, s in _pairs(items)])
            if t == T_HASH_ZIPLIST:
                return vals.hash(_pairs(parse_ziplist(string())))
            if t == T_HASH_LISTPACK:
                return vals.hash(_pairs(parse_listpack(string())))
            if t == T_HASH_ZIPMAP:
                return vals.hash(parse_zipmap(string()))
        except RdbError as e:
            if e.offset is None:
                e.offset = at
                e.path = self.path
            raise
        name = TYPE_NAMES.get(t)
        if name:
            self.fail("%s values are not supported by RedisLite" % name, self.pos - 1)
        self.fail("unknown value type %d" % t, self.pos - 1)

    # -- the file ---------------------------------------------------------------------
    def read_header(self):
        magic = self.take(9)
        if magic[:5] != b"REDIS":
            self.fail("wrong signature trying to load DB from file", self.start)
        try:
            version = int(magic[5:])
        except ValueError:
            self.fail("bad RDB version", self.start + 5)
        if version < 1 or version > RDB_VERSION:
            self.fail("can't handle RDB format version %d" % version, self.start + 5)
        self.version = version

    def records(self):
        """One tuple per record: ``("key", db, key, value, expire_ms_or_None)`` and the
        others as :meth:`batches` yields them (tools, tests; loading uses batches)."""
        for rec in self.batches():
            if rec[0] != "keys":
                yield rec
                continue
            _, db, keys, values, exps = rec
            e = 0
            ne = len(exps)
            for key, v in zip(keys, values):
                when = None
                if e < ne and exps[e][1] is key:
                    when = exps[e][0]
                    e += 1
                yield ("key", db, key, v, when)

    def batches(self, size=512, expired_before=None):
        """Decode the file, gathering keys into batches (the loading path).

        Yields ``("keys", db, keys, values, expires)`` with up to *size* keys,
        where ``expires`` is ``[(when_ms, key)]`` for the keys of the batch
        that carry a TTL, in order and holding the same key objects as
        ``keys``; and, as they come, ``("select", db)``, ``("resize", db,
        keys, expires)``, ``("aux", name, value)``, ``("function", code)``.
        After the EOF opcode it checks the checksum (:meth:`end`) and stops.

        Keys whose TTL is before *expired_before* are dropped and counted in
        ``self.expired`` (Redis skips them when loading an RDB, not an AOF
        preamble).  ``self.pos`` is current at every yield (loading progress).

        Why it looks like this: the records of a big snapshot are mostly
        string keys with plain, integer or LZF values, possibly after an
        expiry opcode.  Those are decoded inline here, with no method call,
        tuple or generator step per key (measured: about 3x the per-record
        ``records()`` loop); every other type goes through :meth:`value`.
        The CRC-64 is computed about every MB as batches go by, so no step
        stalls the reactor for the whole file.
        """
        self.read_header()
        buf = self.buf
        if type(buf) is not bytes and not isinstance(buf, mmap.mmap):
            buf = self.buf = bytes(buf)       # slices must be bytes (bytearray, memoryview)
        n = len(buf)
        pos = self.pos
        ck = None
        if self.verify and self.version >= 5:
            ck = self.checksum = _checksum.checksummer(buf, self.start, self.parallel_checksum)
        db = 0
        expire = None
        keys = []
        vals = []
        exps = []
        string = self.string
        value = self.value
        i16 = _i16
        i32 = _i32
        i64 = _i64
        at = pos
        try:
            while True:
                at = pos
                t = buf[pos]
                if t == 0:                                   # T_STRING, inline
                    c = buf[pos + 1]
                    if c < 64:
                        pos += 2 + c
                        key = buf[pos - c:pos]
                    else:
                        self.pos = pos + 1
                        key = string()
                        pos = self.pos
                    c = buf[pos]
                    if c < 64:
                        pos += 1 + c
                        val = buf[pos - c:pos]
                    elif c == 0xC0:
                        c = buf[pos + 1]
                        val = b"%d" % (c - 256 if c > 127 else c)
                        pos += 2
                    elif c == 0xC1:
                        val = b"%d" % i16(buf, pos + 1)[0]
                        pos += 3
                    elif c == 0xC2:
                        val = b"%d" % i32(buf, pos + 1)[0]
                        pos += 5
                    else:                                    # LZF, long lengths
                        self.pos = pos
                        val = string()
                        pos = self.pos
                    if pos > n:
                        raise IndexError(at)
                elif t < OP_FUNCTION2:                       # other value types
                    self.pos = pos + 1
                    key = string()
                    val = value(t)
                    pos = self.pos
                elif t == OP_EXPIRETIME_MS:
                    expire = i64(buf, pos + 1)[0]
                    pos += 9
                    continue
                elif t == OP_EXPIRETIME:
                    expire = i32(buf, pos + 1)[0] * 1000
                    pos += 5
                    continue
                else:
                    if keys:
                        self.pos = at
                        yield ("keys", db, keys, vals, exps)
                        keys = []
                        vals = []
                        exps = []
                    self.pos = at + 1
                    rec = self._opcode(t, db, at)
                    pos = self.pos
                    if rec is None:
                        continue
                    if rec is _EOF:
                        self.end()
                        return
                    if rec[0] == "select":
                        db = rec[1]
                    yield rec
                    continue
                if expire is not None:
                    if expired_before is not None and expire < expired_before:
                        self.expired += 1
                        expire = None
                        continue
                    exps.append((expire, key))
                    expire = None
                keys.append(key)
                vals.append(val)
                if len(keys) >= size:
                    self.pos = pos
                    yield ("keys", db, keys, vals, exps)
                    keys = []
                    vals = []
                    exps = []
                    if ck is not None:
                        ck.advance(pos)
        except (IndexError, struct.error):
            self._careful(at)           # raises RdbError with the exact message and offset
        finally:
            if ck is not None:
                ck.close()              # a forked checksum child never outlives the load

    def _opcode(self, t, db, at):
        """A non-key record at *at* (``self.pos`` just past the opcode byte): its
        tuple, None when there is nothing to yield, or _EOF."""
        if t == OP_SELECTDB:
            return ("select", self.plain_length())
        if t == OP_RESIZEDB:
            keys = self.plain_length()
            return ("resize", db, keys, self.plain_length())
        if t == OP_AUX:
            k = self.string()
            return ("aux", k, self.string())
        if t == OP_IDLE:
            self.plain_length()
            return None
        if t == OP_FREQ:
            self.byte()
            return None
        if t == OP_FUNCTION2:
            return ("function", self.string())
        if t == OP_EOF:
            return _EOF
        if t == OP_FUNCTION_PRE_GA:
            self.fail("pre-release function format not supported", at)
        if t == OP_MODULE_AUX:
            self.fail("module aux data not supported by RedisLite", at)
        self.fail("unknown value type %d" % t, at)

    def _careful(self, at):
        """The inline decoder ran off the end in the record at *at*: decode it again
        with the checked primitives, which raise the exact error and offset."""
        self.pos = at
        t = self.byte()
        try:
            if t == OP_EXPIRETIME_MS:
                self.take(8)
            elif t == OP_EXPIRETIME:
                self.take(4)
            else:
                self.string()
                self.value(t)
        except (IndexError, struct.error):
            self.fail("corrupt value of type %d" % t, at)
        self.fail("unexpected end of file", at)

    def end(self):
        """After EOF: the 8-byte CRC-64 (version >= 5); 0 means 'not computed'."""
        if self.version >= 5:
            at = self.pos
            stored = _u64(self.take(8))[0]
            if stored and self.verify:
                ck = self.checksum
                actual = ck.result(at) if ck is not None else crc64(self.buf[self.start:at])
                if actual != stored:
                    self.fail("wrong RDB checksum expected: (%x) got: (%x)" % (stored, actual), at)
