"""The keyspace family: DEL ... OBJECT, and the EXPIRE/TTL family.

Everything here follows Redis 7.0.15's db.c, expire.c and object.c, including
the order of lookups (which decides which expired key gets a lazy ``DEL``
first) and the quirks the differential suite pins down (``SCAN ""`` is cursor
0, ``SCAN 0 TYPE none`` returns expired keys, KEYS hides expired keys without
deleting them, COPY of a ``raw`` string stays ``raw``).

Multi-key commands (DEL, EXISTS, RENAME, COPY...) are coordinators: they reach
each key through an op on its owning shard, in Redis's lookup order, without
yielding to the reactor, so they stay atomic.  Cross-shard RENAME/COPY take the
value (and TTL) out of one shard by an op and store it on the other by another.

Write events (deterministic, one per effect, canonical upper-case names):

* DEL/UNLINK ``k`` for each key that existed (expired keys already emit DEL);
* EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT -> ``PEXPIREAT k <abs ms> [flags as given]``,
  or ``DEL k`` when the time is already in the past (as Redis rewrites it);
* PERSIST, RENAME, RENAMENX, COPY (normalised options), MOVE, SWAPDB, FLUSHDB,
  FLUSHALL as themselves.  FLUSHDB/FLUSHALL/SWAPDB are propagated even when
  nothing changed, as Redis 7.0 forces them to be.

Helpers other families reuse:

``parse_scan_cursor(arg) -> int``
    SCAN/HSCAN/SSCAN/ZSCAN cursor parsing with Redis's strtoul rules
    (``""`` is 0, ``-1`` is 2**64-1, leading space or junk -> "ERR invalid cursor").
``parse_scan_options(argv, start, allow_type=False) -> (count, matcher, type)``
    COUNT/MATCH[/TYPE] options; ``matcher`` is None for no pattern or a bare
    ``*``, else a predicate ``bytes -> bool``; ``type`` is lower-case bytes or None.
``scan_keyspace_cursor(server, db, cursor, count=10, matcher=None, type_filter=None)``
    One SCAN step over every shard's slice of database *db*; returns
    ``(next_cursor, keys)``.  The cursor is ``inner * nshards + shard``, where
    ``inner`` is that shard's reverse-binary bucket cursor, so a key present
    for the whole iteration is returned at least once.
``object_encoding(value) -> str``
    OBJECT ENCODING for any stored value (int/embstr/raw for strings).
``duplicate_value(value)``
    A deep copy as COPY makes it (bytes shared, bytearray copied, others ``.copy()``).
"""

import random

from .. import errors
from ..errors import ReplyError
from ..glob import compile_pattern, is_match_all
from ..resp.encoder import OK, Status
from ..storage import eviction
from ..storage.keyspace import type_name
from .args import INT64_MAX, to_int
from .registry import command

__all__ = ["parse_scan_cursor", "parse_scan_options", "scan_keyspace_cursor", "object_encoding",
           "duplicate_value"]

INVALID_CURSOR = "ERR invalid cursor"
UNSUPPORTED_OPTION = "ERR Unsupported option %s"
INT_RANGE = "ERR value is out of range, value must between -2147483648 and 2147483647"
INVALID_FIRST_DB = "ERR invalid first DB index"
INVALID_SECOND_DB = "ERR invalid second DB index"
IDLETIME_LFU = ("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that "
                "when switching between policies at runtime LRU and LFU data will take some time "
                "to adjust.")
FREQ_NOT_LFU = ("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "
                "note that when switching between policies at runtime LRU and LFU data will take "
                "some time to adjust.")

_U64 = (1 << 64) - 1
_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
#: C's LLONG_MAX / 1000 and LLONG_MIN / 1000 (truncating division).
_SEC_MAX = INT64_MAX // 1000
_SEC_MIN = -_SEC_MAX
#: OBJ_SHARED_REFCOUNT: what OBJECT REFCOUNT reports for shared integers 0..9999.
SHARED_REFCOUNT = 2147483647
OBJ_SHARED_INTEGERS = 10000
_SPACE = frozenset(b" \t\n\v\f\r")
_DIGITS = frozenset(b"0123456789")
_TYPE_STATUS = {}


# ---------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------

def _read_notouch(ks, key, notify=True):
    """lookupKeyReadWithFlags(LOOKUP_NOTOUCH): expires lazily and counts hits/misses,
    but leaves the LRU/LFU state alone (TYPE, EXISTS, TTL, OBJECT).  A miss fires
    ``keymiss`` unless *notify* is False (OBJECT passes LOOKUP_NONOTIFY)."""
    v = ks.peek(key)
    if v is None:
        ks.misses += 1
        fn = ks.shard.notifier
        if notify and fn is not None and getattr(fn, "key_misses", False):
            fn(ks.index, "m", "keymiss", key)
    else:
        ks.hits += 1
    return v


def _parse_int32(arg, message=None):
    """getIntFromObjectOrReply: an int64, then an int range check with its own text."""
    v = to_int(arg)
    if v is None:
        raise ReplyError(message or errors.NOT_INTEGER)
    if v < _INT_MIN or v > _INT_MAX:
        raise ReplyError(message or INT_RANGE)
    return v


def object_encoding(value):
    """OBJECT ENCODING of a stored value.

    Strings: ``int`` when the bytes are what tryObjectEncoding would store as a
    long (string2l, at most 20 chars), ``embstr`` up to 44 bytes, else ``raw``;
    a bytearray (modified in place by APPEND/SETRANGE) is always ``raw``.
    """
    t = type(value)
    if t is bytes:
        if to_int(value) is not None:
            return "int"
        return "embstr" if len(value) <= 44 else "raw"
    if t is bytearray:
        return "raw"
    return value.encoding()


def _refcount(value, sharing):
    """Shared integers (0..9999, when maxmemory allows sharing) report INT_MAX."""
    if sharing and type(value) is bytes and len(value) <= 4:
        n = to_int(value)
        if n is not None and 0 <= n < OBJ_SHARED_INTEGERS:
            return SHARED_REFCOUNT
    return 1


def duplicate_value(value):
    """Deep copy for COPY: strings keep their encoding (bytes are immutable)."""
    t = type(value)
    if t is bytes:
        return value
    if t is bytearray:
        return bytearray(value)
    return value.copy()


def _type_status(name):
    s = _TYPE_STATUS.get(name)
    if s is None:
        s = _TYPE_STATUS[name] = Status(name)
    return s


def _emit(ks, *argv):
    ks.shard.emit(ks.index, argv)


# ---------------------------------------------------------------------------
# SCAN helpers (shared with HSCAN/SSCAN/ZSCAN)
# ---------------------------------------------------------------------------

def parse_scan_cursor(arg):
    """parseScanCursorOrReply: strtoul(base 10) with Redis's extra checks.

    Redis rejects a leading space and trailing junk, but strtoul itself allows a
    sign (``-1`` wraps to 2**64-1) and an empty string (cursor 0).
    """
    if not arg:
        return 0
    if arg[0] in _SPACE:
        raise ReplyError(INVALID_CURSOR)
    neg = False
    digits = arg
    if arg[0] in b"+-":
        neg = arg[0] == 45
        digits = arg[1:]
    if not digits or not _DIGITS.issuperset(digits):
        raise ReplyError(INVALID_CURSOR)
    v = int(digits)
    if v > _U64:
        raise ReplyError(INVALID_CURSOR)
    return (-v) & _U64 if neg else v


def parse_scan_options(argv, start, allow_type=False):
    """COUNT n / MATCH pattern / TYPE name (TYPE only for SCAN), in any order, repeatable.

    Returns ``(count, matcher, type_filter)``.  Errors as scanGenericCommand:
    a bad COUNT number is "not an integer", COUNT < 1 and anything else is a
    syntax error.
    """
    count = 10
    matcher = None
    type_filter = None
    i = start
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        if n - i < 2:
            raise ReplyError(errors.SYNTAX)
        if opt == b"count":
            count = to_int(argv[i + 1])
            if count is None:
                raise ReplyError(errors.NOT_INTEGER)
            if count < 1:
                raise ReplyError(errors.SYNTAX)
        elif opt == b"match":
            pat = argv[i + 1]
            matcher = None if is_match_all(pat) else compile_pattern(bytes(pat))
        elif opt == b"type" and allow_type:
            type_filter = argv[i + 1].lower()
        else:
            raise ReplyError(errors.SYNTAX)
        i += 2
    return count, matcher, type_filter


def _op_scan(ks, args):
    """One shard's part of a SCAN step: visit buckets, then filter like Redis.

    Filters apply in Redis's order: pattern, then type (a read lookup, which
    deletes an expired key and calls it "none"), then expiry.
    """
    inner, budget, matcher, type_filter, out = args
    batch = []
    nxt = ks.scan(inner, budget, lambda k, v: batch.append(k))
    for k in batch:
        if matcher is not None and not matcher(k):
            continue
        if type_filter is not None:
            v = _read_notouch(ks, k)
            name = type_name(v) if v is not None else "none"
            if name.encode() != type_filter:
                continue
            out.append(k)
            continue
        if ks.peek(k) is None:
            continue
        out.append(k)
    return nxt, len(batch)


def scan_keyspace_cursor(server, db, cursor, count=10, matcher=None, type_filter=None):
    """One SCAN step across the shards of database *db*: ``(next_cursor, keys)``.

    The low "digit" (base nshards) of the cursor is the shard, the rest is that
    shard's inner bucket cursor (``Keyspace.scan``).  Shards are walked in order
    and one call continues into the next shard until ``count`` keys were
    visited, so a small database comes back whole with cursor 0, as in Redis.
    """
    shards = server.shards
    n = len(shards)
    si = cursor % n
    inner = cursor // n
    found = []
    visited = 0
    while True:
        nxt, seen = shards[si].execute(_op_scan, db, (inner, count - visited, matcher,
                                                      type_filter, found))
        visited += seen
        if nxt == 0:
            si += 1
            inner = 0
            if si >= n:
                return 0, found
        else:
            inner = nxt
        if visited >= count:
            return inner * n + si, found


@command("scan")
def scan(client, argv):
    cursor = parse_scan_cursor(argv[1])
    count, matcher, type_filter = parse_scan_options(argv, 2, allow_type=True)
    nxt, keys = scan_keyspace_cursor(client.server, client.db, cursor, count, matcher, type_filter)
    return [b"%d" % nxt, keys]


# ---------------------------------------------------------------------------
# DEL / UNLINK / EXISTS / TOUCH / TYPE / KEYS / RANDOMKEY / DBSIZE
# ---------------------------------------------------------------------------

def _op_del(ks, args):
    name, key = args
    if ks.delete(key):          # an expired key emits its own DEL and counts as absent
        ks.notify("g", "del", key)
        _emit(ks, name, key)
        return 1
    return 0


def _delete_keys(client, argv, name):
    route = client.server.router.shard_for
    db = client.db
    n = 0
    for key in argv[1:]:
        n += route(key).execute(_op_del, db, (name, key))
    return n


@command("del")
def del_(client, argv):
    return _delete_keys(client, argv, b"DEL")


@command("unlink")
def unlink(client, argv):
    return _delete_keys(client, argv, b"UNLINK")


def _op_exists(ks, key):
    return 0 if _read_notouch(ks, key) is None else 1


def _op_touch(ks, key):
    return 0 if ks.lookup_read(key) is None else 1


def _count_keys(client, argv, op):
    route = client.server.router.shard_for
    db = client.db
    n = 0
    for key in argv[1:]:
        n += route(key).execute(op, db, key)
    return n


@command("exists")
def exists(client, argv):
    """Counts every argument, so a key named twice counts twice."""
    return _count_keys(client, argv, _op_exists)


@command("touch")
def touch(client, argv):
    return _count_keys(client, argv, _op_touch)


@command("type", shard_op=True)
def type_(ks, argv):
    v = _read_notouch(ks, argv[1])
    return _type_status("none" if v is None else type_name(v))


def _op_keys(ks, args):
    """KEYS on one slice: O(n) as in Redis; expired keys are hidden, not deleted."""
    matcher, out = args
    now = ks.time.ms
    expires = ks.expires
    for k in ks.iter_keys():
        if matcher is not None and not matcher(k):
            continue
        if expires:
            when = expires.get(k)
            if when is not None and when < now:     # keyIsExpired: now > when
                continue
        out.append(k)


@command("keys")
def keys(client, argv):
    pat = argv[1]
    matcher = None if is_match_all(pat) else compile_pattern(bytes(pat))
    out = []
    for shard in client.server.shards:
        shard.execute(_op_keys, client.db, (matcher, out))
    return out


def _op_count(ks, _):
    return ks.count


def _op_random(ks, _):
    """dbRandomKey: sample, and delete-and-retry on expired keys (O(expired), as Redis).

    Done here rather than with ``Keyspace.random_key``, whose linear fallback
    deletes from a bucket while iterating it.  A replica never deletes, so like
    Redis it gives up after 100 expired picks and returns the last one.  A very
    sparse table (after mass deletes) falls back to one pass over the buckets.
    """
    misses = tries = 0
    while ks.count:
        picked = ks.sample(1)
        if not picked:
            misses += 1
            if misses < 64:
                continue
            for bucket in ks.buckets:
                for k in list(bucket):
                    if ks.exists(k):
                        return k
            return None
        k = picked[0]
        if ks.exists(k):
            return k
        tries += 1
        if ks.shard.replica_mode and tries >= 100:
            return k
    return None


@command("randomkey")
def randomkey(client, argv):
    """Pick a shard weighted by its key count, then a key inside it.

    A shard whose sampled keys were all expired (and got deleted on the way)
    answers None; recount and retry, as dbRandomKey loops past expired keys.
    """
    shards = client.server.shards
    db = client.db
    for _ in range(64):
        counts = [s.execute(_op_count, db, None) for s in shards]
        total = sum(counts)
        if not total:
            return None
        r = random.randrange(total)
        for shard, c in zip(shards, counts):
            if r < c:
                break
            r -= c
        key = shard.execute(_op_random, db, None)
        if key is not None:
            return key
    return None


@command("dbsize")
def dbsize(client, argv):
    db = client.db
    return sum(s.execute(_op_count, db, None) for s in client.server.shards)


# ---------------------------------------------------------------------------
# FLUSHDB / FLUSHALL / SWAPDB
# ---------------------------------------------------------------------------

def _flush_flag(argv):
    if len(argv) == 1:
        return ()
    if len(argv) == 2:
        opt = argv[1].upper()
        if opt in (b"SYNC", b"ASYNC"):
            return (opt,)
    raise ReplyError(errors.SYNTAX)


def _op_clear(ks, _):
    return ks.clear()


def _emit_global(client, argv):
    """Server-wide events (FLUSH*, SWAPDB) are emitted once, in the client's db."""
    client.server.shards[0].emit(client.db, argv)


@command("flushdb")
def flushdb(client, argv):
    flag = _flush_flag(argv)
    for shard in client.server.shards:
        shard.execute(_op_clear, client.db, None)
    _emit_global(client, (b"FLUSHDB",) + flag)
    return OK


@command("flushall")
def flushall(client, argv):
    flag = _flush_flag(argv)
    for shard in client.server.shards:
        for db in range(len(shard.dbs)):
            shard.execute(_op_clear, db, None)
    _emit_global(client, (b"FLUSHALL",) + flag)
    return OK


def _present(ks, key):
    """dictFind: is the key stored at all (expired or not), with no side effects."""
    return ks._bucket(key).get(key) is not None


def _swap_shard(shard, a, b):
    """Swap two databases of one shard.

    Watched keys stay with the db number (clients stay in their db), as in
    Redis's dbSwapDatabases; a watched key that exists on either side before
    or after is touched, like touchAllWatchedKeysInDb.
    """
    dbs = shard.dbs
    x, y = dbs[a], dbs[b]
    for ks, other in ((x, y), (y, x)):
        if ks.watched:
            for key in list(ks.watched):
                if _present(ks, key) or _present(other, key):
                    ks.signal_modified(key)
    wx, wy = x.watched, y.watched
    dbs[a], dbs[b] = y, x
    y.index, x.index = a, b
    y.watched, x.watched = wx, wy
    hook = getattr(shard, "on_swapdb", None)
    if hook is not None:
        hook(a, b)


@command("swapdb")
def swapdb(client, argv):
    a = _parse_int32(argv[1], INVALID_FIRST_DB)
    b = _parse_int32(argv[2], INVALID_SECOND_DB)
    ndb = client.server.databases
    if a < 0 or a >= ndb or b < 0 or b >= ndb:
        raise ReplyError(errors.DB_INDEX_OUT_OF_RANGE)
    if a != b:
        for shard in client.server.shards:
            shard.ask(_swap_shard, a, b)
    _emit_global(client, (b"SWAPDB", argv[1], argv[2]))
    return OK


# ---------------------------------------------------------------------------
# RENAME / RENAMENX / COPY / MOVE
# ---------------------------------------------------------------------------

def _op_exists_write(ks, key):
    return ks.lookup_write(key) is not None


def _op_exists_read(ks, key):
    return ks.lookup_read(key) is not None


def _op_take(ks, key):
    """Remove a live key without a DEL event: (value, expire ms or None, access)."""
    v = ks.peek(key)
    when = ks.get_expire(key)
    access = ks.access.get(key)
    ks.delete(key)
    return v, when, access


def _op_put(ks, args):
    """Store a value moved or copied from another slot, with its absolute TTL.

    *notes* are the keyspace notifications ``(class, event, key)`` the command
    fires once the value is in place (rename_from/rename_to, copy_to)."""
    key, value, when, access, event, event_db, notes = args
    if ks.peek(key) is not None:
        ks.delete(key)      # RENAME/COPY REPLACE: dbDelete then dbAdd, so 'new' fires
    ks.set(key, value)
    if when is not None:
        ks.set_expire(key, when)
    if access is not None and ks.shard.lfu:
        ks.access[key] = access
    for cls, name, k in notes:
        ks.notify(cls, name, k)
    ks.shard.emit(event_db, event)


def _rename(client, argv, nx):
    src, dst = argv[1], argv[2]
    route = client.server.router.shard_for
    db = client.db
    s_shard = route(src)
    if not s_shard.execute(_op_exists_write, db, src):
        raise ReplyError(errors.NO_SUCH_KEY)
    if src == dst:
        return 0 if nx else OK
    d_shard = route(dst)
    if d_shard.execute(_op_exists_write, db, dst) and nx:
        return 0
    value, when, access = s_shard.execute(_op_take, db, src)
    name = b"RENAMENX" if nx else b"RENAME"
    d_shard.execute(_op_put, db, (dst, value, when, access, (name, src, dst), db,
                                  (("g", "rename_from", src), ("g", "rename_to", dst))))
    return 1 if nx else OK


@command("rename")
def rename(client, argv):
    return _rename(client, argv, False)


@command("renamenx")
def renamenx(client, argv):
    return _rename(client, argv, True)


def _op_copy_out(ks, key):
    v = ks.peek(key)
    return duplicate_value(v), ks.get_expire(key)


@command("copy")
def copy(client, argv):
    src, dst = argv[1], argv[2]
    srcdb = dstdb = client.db
    replace = False
    j = 3
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        if opt == b"replace":
            replace = True
        elif opt == b"db" and n - j - 1 >= 1:
            dstdb = _parse_int32(argv[j + 1])
            if dstdb < 0 or dstdb >= client.server.databases:
                raise ReplyError(errors.DB_INDEX_OUT_OF_RANGE)
            j += 1
        else:
            raise ReplyError(errors.SYNTAX)
        j += 1
    if srcdb == dstdb and src == dst:
        raise ReplyError(errors.SAME_OBJECT)
    route = client.server.router.shard_for
    s_shard, d_shard = route(src), route(dst)
    if not s_shard.execute(_op_exists_read, srcdb, src):
        return 0
    if d_shard.execute(_op_exists_write, dstdb, dst) and not replace:
        return 0
    value, when = s_shard.execute(_op_copy_out, srcdb, src)
    event = (b"COPY", src, dst)
    if dstdb != srcdb:
        event += (b"DB", b"%d" % dstdb)
    if replace:
        event += (b"REPLACE",)
    d_shard.execute(_op_put, dstdb, (dst, value, when, None, event, srcdb,
                                     (("g", "copy_to", dst),)))
    return 1


@command("move", shard_op=True)
def move(ks, argv):
    key = argv[1]
    dbid = _parse_int32(argv[2])
    dbs = ks.shard.dbs
    if dbid < 0 or dbid >= len(dbs):
        raise ReplyError(errors.DB_INDEX_OUT_OF_RANGE)
    if dbid == ks.index:
        raise ReplyError(errors.SAME_OBJECT)
    if ks.lookup_write(key) is None:
        return 0
    dst = dbs[dbid]
    if dst.lookup_write(key) is not None:
        return 0
    value, when, access = _op_take(ks, key)
    dst.set(key, value)
    if when is not None:
        dst.set_expire(key, when)
    if access is not None and ks.shard.lfu:
        dst.access[key] = access
    ks.notify("g", "move_from", key)
    dst.notify("g", "move_to", key)
    _emit(ks, b"MOVE", key, b"%d" % dbid)
    return 1


# ---------------------------------------------------------------------------
# OBJECT
# ---------------------------------------------------------------------------

_OBJECT_HELP = [Status(line) for line in (
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
)]


@command("object|help")
def object_help(client, argv):
    return list(_OBJECT_HELP)


def _op_object_encoding(ks, key):
    v = _read_notouch(ks, key, False)
    return None if v is None else object_encoding(v).encode()


def _op_object_refcount(ks, args):
    key, sharing = args
    v = _read_notouch(ks, key, False)
    return None if v is None else _refcount(v, sharing)


def _op_object_idletime(ks, key):
    v = _read_notouch(ks, key, False)
    if v is None:
        return None
    if ks.shard.lfu:
        raise ReplyError(IDLETIME_LFU)
    now = ks.time.lru
    stamp = ks.access.get(key, now)
    return now - stamp if now >= stamp else 0


def _op_object_freq(ks, key):
    v = _read_notouch(ks, key, False)
    if v is None:
        return None
    if not ks.shard.lfu:
        raise ReplyError(FREQ_NOT_LFU)
    return eviction.lfu_decay(ks.access.get(key), ks.time.ms, ks.shard.lfu_decay_time)


def _on_key_shard(client, op, key, args):
    return client.server.router.call(client.db, key, op, args)


@command("object|encoding")
def object_encoding_cmd(client, argv):
    return _on_key_shard(client, _op_object_encoding, argv[2], argv[2])


@command("object|refcount")
def object_refcount(client, argv):
    server = client.server
    # tryObjectEncoding shares small integers unless maxmemory is set with an
    # LRU/LFU policy (MAXMEMORY_FLAG_NO_SHARED_INTEGERS).
    policy = server.maxmemory_policy
    sharing = not server.maxmemory or not (policy.endswith("lru") or policy.endswith("lfu"))
    return _on_key_shard(client, _op_object_refcount, argv[2], (argv[2], sharing))


@command("object|idletime")
def object_idletime(client, argv):
    return _on_key_shard(client, _op_object_idletime, argv[2], argv[2])


@command("object|freq")
def object_freq(client, argv):
    return _on_key_shard(client, _op_object_freq, argv[2], argv[2])


# ---------------------------------------------------------------------------
# EXPIRE family
# ---------------------------------------------------------------------------

_NX, _XX, _GT, _LT = 1, 2, 4, 8


def _expire_flags(argv):
    """parseExtendedExpireArgumentsOrReply: NX/XX/GT/LT (any case, repeatable)."""
    flags = 0
    for arg in argv[3:]:
        opt = arg.lower()
        if opt == b"nx":
            flags |= _NX
        elif opt == b"xx":
            flags |= _XX
        elif opt == b"gt":
            flags |= _GT
        elif opt == b"lt":
            flags |= _LT
        else:
            raise ReplyError(UNSUPPORTED_OPTION % arg.decode("utf-8", "surrogateescape"))
    if flags & _NX and flags & (_XX | _GT | _LT):
        raise ReplyError(errors.NX_XX_GT_LT)
    if flags & _GT and flags & _LT:
        raise ReplyError(errors.GT_LT_NX)
    return flags


def _expire_generic(ks, argv, relative, seconds, name):
    key = argv[1]
    flags = _expire_flags(argv)
    when = to_int(argv[2])
    if when is None:
        raise ReplyError(errors.NOT_INTEGER)
    if seconds:
        if when > _SEC_MAX or when < _SEC_MIN:
            raise ReplyError(errors.INVALID_EXPIRE % name)
        when *= 1000
    basetime = ks.time.ms if relative else 0
    if when > INT64_MAX - basetime:
        raise ReplyError(errors.INVALID_EXPIRE % name)
    when += basetime
    if ks.lookup_write(key) is None:
        return 0
    if flags:
        current = ks.get_expire(key)
        if flags & _NX and current is not None:
            return 0
        if flags & _XX and current is None:
            return 0
        if flags & _GT and (current is None or when <= current):
            return 0
        if flags & _LT and current is not None and when >= current:
            return 0
    if when <= ks.time.ms and not ks.shard.replica_mode:
        ks.delete(key)
        ks.notify("g", "del", key)
        _emit(ks, b"DEL", key)
        return 1
    ks.set_expire(key, when)
    ks.notify("g", "expire", key)
    _emit(ks, b"PEXPIREAT", key, b"%d" % when, *argv[3:])
    return 1


@command("expire", shard_op=True)
def expire(ks, argv):
    return _expire_generic(ks, argv, True, True, "expire")


@command("pexpire", shard_op=True)
def pexpire(ks, argv):
    return _expire_generic(ks, argv, True, False, "pexpire")


@command("expireat", shard_op=True)
def expireat(ks, argv):
    return _expire_generic(ks, argv, False, True, "expireat")


@command("pexpireat", shard_op=True)
def pexpireat(ks, argv):
    return _expire_generic(ks, argv, False, False, "pexpireat")


def _ttl_generic(ks, key, ms, absolute):
    if _read_notouch(ks, key) is None:
        return -2
    when = ks.get_expire(key)
    if when is None:
        return -1
    ttl = when if absolute else when - ks.time.ms
    if ttl < 0:
        ttl = 0
    return ttl if ms else (ttl + 500) // 1000


@command("ttl", shard_op=True)
def ttl(ks, argv):
    return _ttl_generic(ks, argv[1], False, False)


@command("pttl", shard_op=True)
def pttl(ks, argv):
    return _ttl_generic(ks, argv[1], True, False)


@command("expiretime", shard_op=True)
def expiretime(ks, argv):
    return _ttl_generic(ks, argv[1], False, True)


@command("pexpiretime", shard_op=True)
def pexpiretime(ks, argv):
    return _ttl_generic(ks, argv[1], True, True)


@command("persist", shard_op=True)
def persist(ks, argv):
    key = argv[1]
    if ks.lookup_write(key) is None:
        return 0
    if ks.persist(key):
        ks.notify("g", "persist", key)
        _emit(ks, b"PERSIST", key)
        return 1
    return 0
