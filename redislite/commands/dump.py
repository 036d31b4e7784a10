"""DUMP and RESTORE: a key's value in Redis's DUMP format (an RDB serialisation,
the RDB version and a CRC-64), so values move between RedisLite and Redis.

Both directions use the snapshot code (:mod:`redislite.persistence.rdb`):
RESTORE reads every encoding Redis 7.0 writes (listpacks, intsets,
quicklists), and DUMP writes the plain encodings an RDB file of RedisLite
holds, which Redis loads. A string DUMPs byte for byte as Redis's does,
except that LZF (rdbcompression, strings over 20 bytes) may compress
differently; either side decompresses the other's.
"""

from .. import errors
from ..errors import ReplyError
from ..persistence import rdb as _rdb
from ..resp.encoder import OK
from ..storage.eviction import _minutes
from .args import parse_int
from .registry import command

_SYNTAX = ReplyError(errors.SYNTAX)
_BUSYKEY = ReplyError(errors.BUSYKEY)
_BAD_TTL = ReplyError(errors.RESTORE_BAD_TTL)
_BAD_IDLE = ReplyError(errors.RESTORE_BAD_IDLETIME)
_BAD_FREQ = ReplyError(errors.RESTORE_BAD_FREQ)
_DUMP_PAYLOAD = ReplyError(errors.DUMP_PAYLOAD)
_BAD_DATA = ReplyError(errors.BAD_DATA_FORMAT)


# -- DUMP -------------------------------------------------------------------------------
def _op_dump(ks, args):
    key, compress = args
    v = ks.lookup_read(key)
    if v is None:
        return None
    body = []
    _rdb.Encoder(compress).value(v, body)
    return _rdb.dump_payload(b"".join(body))


@command("dump")
def dump(client, argv):
    key = argv[1]
    return client.server.router.call(client.db, key, _op_dump,
                                     (key, bool(client.server.config["rdbcompression"])))


# -- RESTORE ----------------------------------------------------------------------------
def _options(argv):
    """restoreCommand's option loop: (replace, absttl, idle or -1, freq or -1)."""
    replace = absttl = False
    idle = freq = -1
    j = 4
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        more = n - j - 1
        if opt == b"replace":
            replace = True
        elif opt == b"absttl":
            absttl = True
        elif opt == b"idletime" and more >= 1 and freq == -1:
            idle = parse_int(argv[j + 1])
            if idle < 0:
                raise _BAD_IDLE
            j += 1
        elif opt == b"freq" and more >= 1 and idle == -1:
            freq = parse_int(argv[j + 1])
            if freq < 0 or freq > 255:
                raise _BAD_FREQ
            j += 1
        else:
            raise _SYNTAX
        j += 1
    return replace, absttl, idle, freq


def _load(values, payload):
    """The value a verified DUMP payload holds (rdbLoadObjectType + rdbLoadObject),
    or None: an unknown type, a malformed value or an empty container.  As in
    Redis the reader runs over the whole payload, footer included, and what
    follows the value is not looked at."""
    reader = _rdb.Reader(payload, values)
    try:
        v = reader.value(reader.byte())
    except (_rdb.RdbError, ValueError, IndexError):
        return None
    if type(v) is not bytes and not len(v):
        return None             # Redis refuses a payload holding an empty list/set/hash/zset
    return v


def _op_restore(ks, args):
    argv, values = args
    key = argv[1]
    replace, absttl, idle, freq = _options(argv)
    if not replace and ks.lookup_write(key) is not None:
        raise _BUSYKEY
    ttl = parse_int(argv[2])
    if ttl < 0:
        raise _BAD_TTL
    if _rdb.dump_body(argv[3]) is None:
        raise _DUMP_PAYLOAD
    v = _load(values, argv[3])
    if v is None:
        raise _BAD_DATA
    shard = ks.shard
    existed = replace and ks.delete(key)
    if ttl and not absttl:
        ttl += ks.time.ms
    if ttl and ttl <= ks.time.ms and not shard.replica_mode:
        # checkAlreadyExpired: the key is not created; a replaced one is deleted
        if existed:
            ks.notify("g", "del", key)
            shard.emit(ks.index, (b"DEL", key))
        return OK
    ks.set(key, v)
    if ttl:
        ks.set_expire(key, ttl)
    if freq >= 0 and shard.lfu:
        ks.access[key] = (_minutes(ks.time.ms) << 8) | freq
    elif idle >= 0 and not shard.lfu:
        ks.access[key] = ks.time.lru - idle
    ks.notify("g", "restore", key)
    event = list(argv)
    if ttl and not absttl:
        # propagated with the absolute time, as Redis rewrites it
        event[2] = b"%d" % ttl
        event.append(b"ABSTTL")
    shard.emit(ks.index, tuple(event))
    return OK


@command("restore")
def restore(client, argv):
    values = _rdb.Values(client.server.config)
    return client.server.router.call(client.db, argv[1], _op_restore, (argv, values))
