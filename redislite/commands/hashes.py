"""The hash family: HSET ... HSCAN, as Redis 7.0.15's ``t_hash.c``.

Replies, errors and their order were checked against a real 7.0.15 server:
HINCRBY/HINCRBYFLOAT parse the increment before they look the key up (so a bad
increment never creates the key), HINCRBYFLOAT refuses ``inf`` with "value is
NaN or Infinity" and ``nan`` as "not a valid float", HRANDFIELD checks its
count's range (-LONG_MAX..LONG_MAX), then the WITHVALUES keyword (compared as
a C string), then the halved range WITHVALUES needs; HSCAN parses the cursor
before the lookup and its options only after it (``HSCAN nokey 0 COUNT 0`` is
an empty scan, not an error).

Encoding: a hash is ``listpack`` until it first exceeds
``hash-max-listpack-entries`` fields or sees a field/value longer than
``hash-max-listpack-value`` bytes (HSET/HSETNX check every argument first, like
``hashTypeTryConversion``; HINCRBY* are caught by ``hashTypeSet``'s own
check), then ``hashtable`` for good.  The limits come from the config, which
Server.apply_config copies to every shard (``shard.hash_limits``): HSET reads
them there as a shard op, the other writers pass :func:`hash_limits` into
their op.

Write events: HSET/HMSET/HSETNX/HINCRBY/HDEL propagate as themselves (HSET
even when nothing changed, as Redis's ``server.dirty += pairs`` makes it),
HINCRBYFLOAT as ``HSET key field <final value>``.

Order: a listpack hash iterates in insertion order in Redis, and so does
:class:`~redislite.storage.types.hash.HashValue`, so HGETALL/HKEYS/HVALS/HSCAN
and HRANDFIELD's whole-hash and "unique sample from a listpack" replies match
Redis's order exactly; for a hashtable Redis's order is its dict's and only
the multiset can be compared.
"""

import random

from .. import errors
from ..errors import ReplyError
from ..resp.encoder import OK, Map
from ..storage.types.hash import HashValue
from .args import INT64_MAX, INT64_MIN, to_int
from .keys import parse_scan_cursor
from .registry import command
from .strings import ld_add, ld_format, ld_parse

_WRONGTYPE = ReplyError(errors.WRONGTYPE)
_SYNTAX = ReplyError(errors.SYNTAX)
_NOT_INT = ReplyError(errors.NOT_INTEGER)
_NOT_FLOAT = ReplyError(errors.NOT_FLOAT)
_OVERFLOW = ReplyError(errors.OVERFLOW)
_NAN_INF = ReplyError(errors.INCR_NAN_INF)
_HASH_NOT_INT = ReplyError(errors.HASH_NOT_INTEGER)
_HASH_NOT_FLOAT = ReplyError(errors.HASH_NOT_FLOAT)
_VALUE_NAN_INF = ReplyError(errors.VALUE_NAN_OR_INF)
_LONG_RANGE = ReplyError(errors.LONG_RANGE)
_OUT_OF_RANGE = ReplyError(errors.VALUE_OUT_OF_RANGE)

#: HRANDFIELD_SUB_STRATEGY_MUL
_SUB_STRATEGY_MUL = 3
_HALF_LONG = INT64_MAX // 2
#: Repetition sampling (negative counts) builds the whole reply in memory; Redis
#: streams it and would exhaust memory just the same for absurd counts, so past
#: this many elements we refuse with "value is out of range" instead of dying.
MAX_SAMPLES = 1 << 24
_EMPTY_SCAN = [b"0", []]

def hash_limits(server):
    """(entries, value) listpack limits: what Server.apply_config gave the shards."""
    return server.shards[0].hash_limits


def cstr(arg):
    """An option keyword as strcasecmp sees it: cut at the first NUL, upper-cased."""
    i = arg.find(b"\0")
    if i >= 0:
        arg = arg[:i]
    return arg.upper()


def _emit(ks, argv):
    ks.shard.emit(ks.index, argv)


def _read(ks, key):
    """lookupKeyRead + checkType(OBJ_HASH)."""
    v = ks.lookup_read(key)
    if v is None or type(v) is HashValue:
        return v
    raise _WRONGTYPE


def _write(ks, key):
    """lookupKeyWrite + checkType(OBJ_HASH)."""
    v = ks.lookup_write(key)
    if v is None or type(v) is HashValue:
        return v
    raise _WRONGTYPE


def _changed(ks, key, h, old_mem):
    ks.value_resized(old_mem, h.mem)
    if ks.watched is not None:
        ks.signal_modified(key)


def _on_shard(client, op, key, args):
    return client.server.router.call(client.db, key, op, args)


def parse_scan_args(argv, start):
    """scanGenericCommand's COUNT/MATCH options (keywords as C strings, repeatable).

    Returns ``(count, matcher)``; matcher is None for no pattern or ``*``.
    """
    from ..glob import compile_pattern, is_match_all
    count = 10
    matcher = None
    i = start
    n = len(argv)
    while i < n:
        if n - i < 2:
            raise _SYNTAX
        opt = cstr(argv[i])
        if opt == b"COUNT":
            count = to_int(argv[i + 1])
            if count is None:
                raise _NOT_INT
            if count < 1:
                raise _SYNTAX
        elif opt == b"MATCH":
            pat = bytes(argv[i + 1])
            matcher = None if is_match_all(pat) else compile_pattern(pat)
        else:
            raise _SYNTAX
        i += 2
    return count, matcher


# ---------------------------------------------------------------------------
# writes
# ---------------------------------------------------------------------------

def _op_hset(ks, args):
    argv, limits, name = args
    key = argv[1]
    h = _write(ks, key)
    fresh = h is None
    if fresh:
        h = HashValue()
    old = h.mem
    h.try_conversion(argv[2:], limits[1])
    created = 0
    hset_ = h.set
    for i in range(2, len(argv), 2):
        if hset_(argv[i], argv[i + 1], limits):
            created += 1
    if fresh:
        ks.add_new(key, h)
    else:
        _changed(ks, key, h, old)
    ks.notify("h", "hset", key)
    _emit(ks, (name,) + tuple(argv[1:]))
    return created


@command("hset", shard_op=True)
def hset(ks, argv):
    """A shard op (the protocol routes it, no coordinator call); the listpack
    limits come from ``shard.hash_limits``, which the server keeps current."""
    n = len(argv)
    if n % 2:
        raise errors.wrong_arity("hset")
    if n == 4:
        # The common single pair on an existing hash: _op_hset's work, inlined.
        _, key, field, value = argv
        h = ks.lookup_write(key)
        if h is not None:
            if type(h) is not HashValue:
                raise _WRONGTYPE
            old = h.mem
            created = h.set(field, value, ks.shard.hash_limits)    # converts as hashTypeTryConversion would
            ks.mem += h.mem - old   # value_resized
            if ks.watched is not None:
                ks.signal_modified(key)
            shard = ks.shard
            if shard.notifier is not None:
                shard.notifier(ks.index, "h", "hset", key)
            shard.emit(ks.index, (b"HSET", key, field, value))
            return created
    return _op_hset(ks, (argv, ks.shard.hash_limits, b"HSET"))


@command("hmset")
def hmset(client, argv):
    if len(argv) % 2:
        raise errors.wrong_arity("hmset")
    server = client.server
    reply = _on_shard(client, _op_hset, argv[1], (argv, hash_limits(server), b"HMSET"))
    return reply if type(reply) is ReplyError else OK


def _op_hsetnx(ks, args):
    argv, limits = args
    key, field, value = argv[1], argv[2], argv[3]
    h = _write(ks, key)
    if h is not None and field in h:
        return 0
    fresh = h is None
    if fresh:
        h = HashValue()
    old = h.mem
    h.try_conversion((field, value), limits[1])
    h.set(field, value, limits)
    if fresh:
        ks.add_new(key, h)
    else:
        _changed(ks, key, h, old)
    ks.notify("h", "hset", key)
    _emit(ks, (b"HSETNX", key, field, value))
    return 1


@command("hsetnx")
def hsetnx(client, argv):
    return _on_shard(client, _op_hsetnx, argv[1], (argv, hash_limits(client.server)))


def _op_hincrby(ks, args):
    argv, limits, incr = args
    key, field = argv[1], argv[2]
    h = _write(ks, key)
    cur = 0
    if h is not None:
        v = h.get(field)
        if v is not None:
            cur = to_int(v)
            if cur is None:
                raise _HASH_NOT_INT
    new = cur + incr
    if new > INT64_MAX or new < INT64_MIN:
        raise _OVERFLOW
    fresh = h is None
    if fresh:
        h = HashValue()
    old = h.mem
    h.set(field, b"%d" % new, limits)
    if fresh:
        ks.add_new(key, h)
    else:
        _changed(ks, key, h, old)
    ks.notify("h", "hincrby", key)
    _emit(ks, (b"HINCRBY", key, field, argv[3]))
    return new


@command("hincrby")
def hincrby(client, argv):
    incr = to_int(argv[3])
    if incr is None:
        raise _NOT_INT
    return _on_shard(client, _op_hincrby, argv[1], (argv, hash_limits(client.server), incr))


def _op_hincrbyfloat(ks, args):
    argv, limits, incr = args
    key, field = argv[1], argv[2]
    h = _write(ks, key)
    cur = (0, 0)
    if h is not None:
        v = h.get(field)
        if v is not None:
            cur = ld_parse(v)
            if cur is None:
                raise _HASH_NOT_FLOAT
    total = ld_add(cur, incr)
    if total is None:
        raise _NAN_INF
    text = ld_format(total)
    fresh = h is None
    if fresh:
        h = HashValue()
    old = h.mem
    h.set(field, text, limits)
    if fresh:
        ks.add_new(key, h)
    else:
        _changed(ks, key, h, old)
    ks.notify("h", "hincrbyfloat", key)
    _emit(ks, (b"HSET", key, field, text))
    return text


@command("hincrbyfloat")
def hincrbyfloat(client, argv):
    incr = ld_parse(argv[3])
    if incr is None:
        raise _NOT_FLOAT
    if type(incr) is str:           # +/-inf: string2ld accepts it, the command does not
        raise _VALUE_NAN_INF
    return _on_shard(client, _op_hincrbyfloat, argv[1], (argv, hash_limits(client.server), incr))


@command("hdel", shard_op=True)
def hdel(ks, argv):
    key = argv[1]
    h = _write(ks, key)
    if h is None:
        return 0
    old = h.mem
    deleted = 0
    removed = False
    for field in argv[2:]:
        if h.delete(field):
            deleted += 1
            if not len(h):
                removed = True
                break
    if not deleted:
        return 0
    if removed:
        ks.value_resized(old, h.mem)
        ks.delete(key)
    else:
        _changed(ks, key, h, old)
    ks.notify("h", "hdel", key)
    if removed:
        ks.notify("g", "del", key)
    _emit(ks, (b"HDEL",) + tuple(argv[1:]))
    return deleted


# ---------------------------------------------------------------------------
# reads
# ---------------------------------------------------------------------------

@command("hget", shard_op=True)
def hget(ks, argv):
    h = _read(ks, argv[1])
    return None if h is None else h.get(argv[2])


@command("hmget", shard_op=True)
def hmget(ks, argv):
    h = _read(ks, argv[1])
    if h is None:
        return [None] * (len(argv) - 2)
    get = h.get
    return [get(f) for f in argv[2:]]


@command("hlen", shard_op=True)
def hlen(ks, argv):
    h = _read(ks, argv[1])
    return 0 if h is None else len(h)


@command("hstrlen", shard_op=True)
def hstrlen(ks, argv):
    h = _read(ks, argv[1])
    if h is None:
        return 0
    v = h.get(argv[2])
    return 0 if v is None else len(v)


@command("hexists", shard_op=True)
def hexists(ks, argv):
    h = _read(ks, argv[1])
    return 1 if h is not None and argv[2] in h else 0


@command("hkeys", shard_op=True)
def hkeys(ks, argv):
    h = _read(ks, argv[1])
    return [] if h is None else list(h.fields())


@command("hvals", shard_op=True)
def hvals(ks, argv):
    h = _read(ks, argv[1])
    return [] if h is None else h.values()


@command("hgetall", shard_op=True)
def hgetall(ks, argv):
    h = _read(ks, argv[1])
    return Map() if h is None else Map(h.items())


@command("hscan", shard_op=True)
def hscan(ks, argv):
    cursor = parse_scan_cursor(argv[2])
    h = _read(ks, argv[1])
    if h is None:
        return list(_EMPTY_SCAN)
    count, matcher = parse_scan_args(argv, 3)
    nxt, items = h.scan(cursor, count)
    out = []
    for f, v in items:
        if matcher is None or matcher(f):
            out.append(f)
            out.append(v)
    return [b"%d" % nxt, out]


# ---------------------------------------------------------------------------
# HRANDFIELD
# ---------------------------------------------------------------------------

def _op_hrandfield(ks, args):
    key, count, uniq, withvalues = args
    h = _read(ks, key)
    if h is None or count == 0:
        return None
    if not uniq and count > MAX_SAMPLES:     # an absent key answers [] first
        return _OUT_OF_RANGE
    t = h.t
    size = len(h)
    if not uniq or count == 1:
        rnd = t.random_slot
        return [rnd() for _ in range(count)]
    if count >= size:
        return t.live_slots()
    if count * _SUB_STRATEGY_MUL > size:
        # CASE 3: Redis copies the hash into a dict and deletes random entries:
        # the survivors come out in that dict's (random) order.
        return random.sample(t.live_slots(), count)
    if not h.ht:
        # CASE 4 on a listpack: lpRandomPairsUnique keeps the listpack order.
        return sorted(random.sample(t.live_slots(), count))
    picked = {}
    rnd = t.random_slot
    while len(picked) < count:
        picked[rnd()] = None
    return list(picked)


def _op_hrandfield_items(ks, args):
    """Turn slots into (field, value) pairs within the same shard turn."""
    slots = _op_hrandfield(ks, args)
    if slots is None or type(slots) is ReplyError:
        return slots
    h = ks.peek(args[0])
    keys, vals = h.t.keys, h.t.vals
    return [(keys[i], vals[i]) for i in slots]


@command("hrandfield")
def hrandfield(client, argv):
    key = argv[1]
    n = len(argv)
    if n < 3:
        return _on_shard(client, _op_hrandfield_one, key, key)
    count = to_int(argv[2])
    if count is None:
        raise _NOT_INT
    if count < -INT64_MAX:
        raise _LONG_RANGE
    if n > 4 or (n == 4 and cstr(argv[3]) != b"WITHVALUES"):
        raise _SYNTAX
    withvalues = n == 4
    if withvalues and (count < -_HALF_LONG or count > _HALF_LONG):
        raise _OUT_OF_RANGE
    uniq = count >= 0
    items = _on_shard(client, _op_hrandfield_items, key, (key, abs(count), uniq, withvalues))
    if items is None:
        return []
    if type(items) is ReplyError:
        return items
    if not withvalues:
        return [f for f, _ in items]
    if client.resp3:
        return [[f, v] for f, v in items]
    out = []
    for f, v in items:
        out.append(f)
        out.append(v)
    return out


def _op_hrandfield_one(ks, key):
    h = _read(ks, key)
    if h is None:
        return None
    return h.random_item()[0]
