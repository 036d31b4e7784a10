"""The set family: SADD ... SSCAN, as Redis 7.0.15's ``t_set.c``.

Replies, errors and their order were checked against a real 7.0.15 server.
Corners worth knowing:

* SMEMBERS is SINTER of one key (RESP3 ``~`` set, ``~0`` for a missing key);
  SINTER/SUNION/SDIFF reply ``~`` sets, SRANDMEMBER with a count an array,
  SPOP with a count a set.
* SPOP's count error is "value is out of range, must be positive" even for a
  non-number, and comes before the lookup; SRANDMEMBER's count must lie in
  -LONG_MAX..LONG_MAX (so INT64_MIN is a range error).
* SINTERCARD: "numkeys should be greater than 0" for any bad numkeys, "LIMIT
  can't be negative" for any bad LIMIT, keywords compared as C strings.
* SINTER/SUNION/SDIFF look every key up in order and stop at the first wrong
  type, even after a missing key.

Encodings (see :mod:`redislite.storage.types.set`): results of the STORE
commands and of SPOP's "keep the rest" case are built the way Redis builds
them (an intset plus ``setTypeAdd`` per member), and SDIFF picks Redis's
algorithm by the same cost estimate, because algorithm 2 first copies the whole
first set (which may convert the result to a hashtable) and then removes.

Write events, as Redis 7.0 propagates them (checked against its AOF): SADD,
SREM, SMOVE and the STORE commands as themselves (only when something
changed); SPOP as one ``SREM key member`` per popped member, or ``DEL key``
when SPOP's count takes the whole set.  (Redis wraps a multi-SREM SPOP in
MULTI/EXEC in its AOF; the persistence layer does that for several events
from one command.)

Multi-key commands are coordinators: each key is reached through an op on its
owning shard, in Redis's lookup order, in one synchronous call chain.
"""

import random

from .. import errors
from ..errors import ReplyError
from ..resp.encoder import Set
from ..storage.types.set import SetValue
from .args import INT64_MAX, to_int
from .hashes import MAX_SAMPLES, cstr, parse_scan_args
from .keys import parse_scan_cursor
from .registry import command

_WRONGTYPE = ReplyError(errors.WRONGTYPE)
_SYNTAX = ReplyError(errors.SYNTAX)
_NOT_INT = ReplyError(errors.NOT_INTEGER)
_POSITIVE = ReplyError(errors.OUT_OF_RANGE_POSITIVE)
_LONG_RANGE = ReplyError(errors.LONG_RANGE)
_NUMKEYS = ReplyError(errors.LIST_NUMKEYS)
_NUMKEYS_GT_ARGS = ReplyError(errors.NUMKEYS_GT_ARGS)
_LIMIT_NEGATIVE = ReplyError(errors.LIMIT_NEGATIVE)
_OUT_OF_RANGE = ReplyError(errors.VALUE_OUT_OF_RANGE)

#: SPOP_MOVE_STRATEGY_MUL and SRANDMEMBER_SUB_STRATEGY_MUL
_SPOP_MOVE_MUL = 5
_SRAND_SUB_MUL = 3
_EMPTY_SCAN = [b"0", []]

def max_intset(server):
    """set-max-intset-entries: what Server.apply_config gave the shards."""
    return server.shards[0].max_intset


def _emit(ks, argv):
    ks.shard.emit(ks.index, argv)


def _read(ks, key):
    """lookupKeyRead + checkType(OBJ_SET)."""
    v = ks.lookup_read(key)
    if v is None or type(v) is SetValue:
        return v
    raise _WRONGTYPE


def _write(ks, key):
    """lookupKeyWrite + checkType(OBJ_SET)."""
    v = ks.lookup_write(key)
    if v is None or type(v) is SetValue:
        return v
    raise _WRONGTYPE


def _changed(ks, key, s, old_mem):
    ks.value_resized(old_mem, s.mem)
    if ks.watched is not None:
        ks.signal_modified(key)


def _on_shard(client, op, key, args):
    return client.server.router.call(client.db, key, op, args)


# ---------------------------------------------------------------------------
# single-key writes
# ---------------------------------------------------------------------------

def _op_sadd(ks, args):
    argv, limit = args
    key = argv[1]
    s = _write(ks, key)
    fresh = s is None
    if fresh:
        s = SetValue.create(argv[2])
    old = s.mem
    added = 0
    add = s.add
    for m in argv[2:]:
        if add(m, limit):
            added += 1
    if fresh:
        ks.add_new(key, s)
    elif added:
        _changed(ks, key, s, old)
    if added:
        ks.notify("s", "sadd", key)
        _emit(ks, (b"SADD",) + tuple(argv[1:]))
    return added


@command("sadd", shard_op=True)
def sadd(ks, argv):
    """A shard op: set-max-intset-entries reaches it as ``shard.max_intset``."""
    return _op_sadd(ks, (argv, ks.shard.max_intset))


@command("srem", shard_op=True)
def srem(ks, argv):
    key = argv[1]
    s = _write(ks, key)
    if s is None:
        return 0
    old = s.mem
    deleted = 0
    removed = False
    for m in argv[2:]:
        if s.remove(m):
            deleted += 1
            if not len(s):
                removed = True
                break
    if not deleted:
        return 0
    if removed:
        ks.value_resized(old, s.mem)
        ks.delete(key)
    else:
        _changed(ks, key, s, old)
    ks.notify("s", "srem", key)
    if removed:
        ks.notify("g", "del", key)
    _emit(ks, (b"SREM",) + tuple(argv[1:]))
    return deleted


def _op_spop(ks, key):
    s = _write(ks, key)
    if s is None:
        return None
    old = s.mem
    m = s.random_member()
    s.remove(m)
    ks.notify("s", "spop", key)
    _emit(ks, (b"SREM", key, m))
    if not len(s):
        ks.value_resized(old, s.mem)
        ks.delete(key)
        ks.notify("g", "del", key)
    else:
        _changed(ks, key, s, old)
    return m


def _op_spop_count(ks, args):
    key, count, limit = args
    s = _write(ks, key)
    if s is None or count == 0:
        return Set()
    size = len(s)
    ks.notify("s", "spop", key)
    if count >= size:
        # CASE 1: the reply is SUNION of the key (a fresh set, so an intset
        # comes back sorted); propagated as DEL.
        ks.lookup_read(key)
        out = SetValue.build(s, limit).members()
        ks.delete(key)
        ks.notify("g", "del", key)
        _emit(ks, (b"DEL", key))
        return Set(out)
    old = s.mem
    remaining = size - count
    out = []
    if remaining * _SPOP_MOVE_MUL > count:
        # CASE 2: pop random members one by one.
        for _ in range(count):
            m = s.random_member()
            s.remove(m)
            out.append(m)
            _emit(ks, (b"SREM", key, m))
        _changed(ks, key, s, old)
    else:
        # CASE 3: move the survivors to a new set, reply with what is left.
        keep = SetValue(True)
        for _ in range(remaining):
            m = s.random_member()
            keep.add(m, limit)
            s.remove(m)
        out = s.members()
        for m in out:
            _emit(ks, (b"SREM", key, m))
        ks.value_resized(old, s.mem)
        ks.set(key, keep, keep_ttl=True)     # dbOverwrite: the TTL stays
    return Set(out)


@command("spop")
def spop(client, argv):
    n = len(argv)
    if n == 3:
        count = to_int(argv[2])
        if count is None or count < 0:
            raise _POSITIVE
        return _on_shard(client, _op_spop_count, argv[1], (argv[1], count, max_intset(client.server)))
    if n > 3:
        raise _SYNTAX
    return _on_shard(client, _op_spop, argv[1], argv[1])


# ---------------------------------------------------------------------------
# single-key reads
# ---------------------------------------------------------------------------

@command("sismember", shard_op=True)
def sismember(ks, argv):
    s = _read(ks, argv[1])
    return 1 if s is not None and argv[2] in s else 0


@command("smismember", shard_op=True)
def smismember(ks, argv):
    s = _read(ks, argv[1])
    if s is None:
        return [0] * (len(argv) - 2)
    return [1 if m in s else 0 for m in argv[2:]]


@command("scard", shard_op=True)
def scard(ks, argv):
    s = _read(ks, argv[1])
    return 0 if s is None else len(s)


@command("smembers", shard_op=True)
def smembers(ks, argv):
    s = _read(ks, argv[1])
    return Set() if s is None else Set(s.members())


@command("srandmember", shard_op=True)
def srandmember(ks, argv):
    n = len(argv)
    if n == 3:
        return _srandmember_count(ks, argv)
    if n > 3:
        raise _SYNTAX
    s = _read(ks, argv[1])
    return None if s is None else s.random_member()


def _srandmember_count(ks, argv):
    count = to_int(argv[2])
    if count is None:
        raise _NOT_INT
    if count < -INT64_MAX:
        raise _LONG_RANGE
    uniq = count >= 0
    count = abs(count)
    s = _read(ks, argv[1])
    if s is None or count == 0:
        return []
    if not uniq and count > MAX_SAMPLES:     # see hashes.MAX_SAMPLES
        raise _OUT_OF_RANGE
    size = len(s)
    if not uniq or count == 1:
        rnd = s.random_member
        return [rnd() for _ in range(count)]
    if count >= size:
        return s.members()
    if count * _SRAND_SUB_MUL > size:
        return random.sample(s.members(), count)
    picked = {}
    rnd = s.random_member
    while len(picked) < count:
        picked[rnd()] = None
    return list(picked)


@command("sscan", shard_op=True)
def sscan(ks, argv):
    cursor = parse_scan_cursor(argv[2])
    s = _read(ks, argv[1])
    if s is None:
        return list(_EMPTY_SCAN)
    count, matcher = parse_scan_args(argv, 3)
    nxt, members = s.scan(cursor, count)
    if matcher is not None:
        members = [m for m in members if matcher(m)]
    return [b"%d" % nxt, members]


# ---------------------------------------------------------------------------
# SMOVE
# ---------------------------------------------------------------------------

def _op_kind(ks, key):
    """lookupKeyWrite: 'set', None, or 'other' (type checked later, in Redis's order)."""
    v = ks.lookup_write(key)
    if v is None:
        return None
    return "set" if type(v) is SetValue else "other"


def _op_remove_member(ks, args):
    key, member = args
    s = ks.lookup_write(key)
    old = s.mem
    if not s.remove(member):
        return 0
    ks.notify("s", "srem", key)
    if not len(s):
        ks.value_resized(old, s.mem)
        ks.delete(key)
        ks.notify("g", "del", key)
    else:
        _changed(ks, key, s, old)
    return 1


def _op_add_member(ks, args):
    key, member, limit = args
    s = ks.lookup_write(key)
    if s is None:
        s = SetValue.create(member)
        s.add(member, limit)
        ks.add_new(key, s)
    else:
        old = s.mem
        if not s.add(member, limit):
            return 0
        _changed(ks, key, s, old)
    ks.notify("s", "sadd", key)
    return 1


def _op_contains(ks, args):
    key, member = args
    return 1 if member in ks.peek(key) else 0


@command("smove")
def smove(client, argv):
    src, dst, member = argv[1], argv[2], argv[3]
    route = client.server.router.shard_for
    db = client.db
    src_shard, dst_shard = route(src), route(dst)
    src_kind = src_shard.execute(_op_kind, db, src)
    dst_kind = dst_shard.execute(_op_kind, db, dst)
    if src_kind is None:
        return 0
    if src_kind == "other" or dst_kind == "other":
        return _WRONGTYPE
    if src == dst:
        return src_shard.execute(_op_contains, db, (src, member))
    if not src_shard.execute(_op_remove_member, db, (src, member)):
        return 0
    dst_shard.execute(_op_add_member, db, (dst, member, max_intset(client.server)))
    src_shard.emit(db, (b"SMOVE", src, dst, member))
    return 1


# ---------------------------------------------------------------------------
# SINTER / SUNION / SDIFF and their STORE / CARD forms
# ---------------------------------------------------------------------------

def _op_lookup_size(ks, key):
    """lookupKeyRead + checkType: the set's size, or None for a missing key."""
    s = _read(ks, key)
    return None if s is None else len(s)


def _op_members(ks, key):
    """Every member of a set just looked up (no stats: Redis looks each key up once)."""
    return ks.peek(key).members()


def _op_filter(ks, args):
    """The candidates that are members of the set at *key*."""
    key, candidates = args
    s = ks.peek(key)
    return [m for m in candidates if m in s]


def _lookup_all(client, keys):
    """Look every key up in order, stopping at the first wrong type.

    Returns ``[(key, shard, size_or_None)]`` or raises WRONGTYPE.
    """
    route = client.server.router.shard_for
    db = client.db
    out = []
    for key in keys:
        shard = route(key)
        size = shard.execute(_op_lookup_size, db, key)
        if type(size) is ReplyError:
            raise size
        out.append((key, shard, size))
    return out


def _op_store(ks, args):
    """Store a result set at *dst* (replacing any value and TTL), or delete *dst*
    when the result is empty.  Returns whether something changed."""
    dst, value, event, argv = args
    ks.lookup_write(dst)        # setKey/dbDelete see an expired key as gone
    if value is None:
        if not ks.delete(dst):
            return False
        ks.notify("g", "del", dst)
    else:
        ks.set(dst, value)
        ks.notify("s", event, dst)
    _emit(ks, argv)
    return True


def _store(client, argv, dst, result, event):
    """Write a STORE command's result and reply with its cardinality."""
    shard = client.server.router.shard_for(dst)
    n = len(result) if result is not None else 0
    shard.execute(_op_store, client.db, (dst, result if n else None, event,
                                          (argv[0].upper(),) + tuple(argv[1:])))
    return n


def _sinter(client, keys, limit=0):
    """The intersection's members in Redis's order, or None when a key is missing."""
    found = _lookup_all(client, keys)
    if any(size is None for _, _, size in found):
        return None
    db = client.db
    # qsort by cardinality (glibc's merge sort keeps equal sizes in key order)
    order = sorted(found, key=lambda item: item[2])
    first_key, first_shard, _ = order[0]
    candidates = first_shard.execute(_op_members, db, first_key)
    for key, shard, _ in order[1:]:
        if not candidates:
            break
        if key == first_key:
            continue
        candidates = shard.execute(_op_filter, db, (key, candidates))
    return candidates


@command("sinter")
def sinter(client, argv):
    result = _sinter(client, argv[1:])
    return Set(result or ())


@command("sintercard")
def sintercard(client, argv):
    numkeys = to_int(argv[1])
    if numkeys is None or numkeys < 1:
        raise _NUMKEYS
    if numkeys > len(argv) - 2:
        raise _NUMKEYS_GT_ARGS
    limit = 0
    j = 2 + numkeys
    n = len(argv)
    while j < n:
        if cstr(argv[j]) == b"LIMIT" and j < n - 1:
            j += 1
            limit = to_int(argv[j])
            if limit is None or limit < 0:
                raise _LIMIT_NEGATIVE
        else:
            raise _SYNTAX
        j += 1
    result = _sinter(client, argv[2:2 + numkeys])
    if not result:
        return 0
    return min(len(result), limit) if limit else len(result)


@command("sinterstore")
def sinterstore(client, argv):
    result = _sinter(client, argv[2:])
    value = SetValue.build(result, max_intset(client.server)) if result else None
    return _store(client, argv, argv[1], value, "sinterstore")


def _sunion(client, keys, limit):
    found = _lookup_all(client, keys)
    db = client.db
    out = SetValue(True)
    for key, shard, size in found:
        if size is None:
            continue
        for m in shard.execute(_op_members, db, key):
            out.add(m, limit)
    return out


def _sdiff(client, keys, limit):
    """sunionDiffGenericCommand's DIFF, with Redis's choice of algorithm."""
    found = _lookup_all(client, keys)
    db = client.db
    out = SetValue(True)
    first_key, first_shard, first_size = found[0]
    if first_size is None:
        return out
    algo_one = algo_two = 0
    for _, _, size in found:
        if size is None:
            continue
        algo_one += first_size
        algo_two += size
    algo_one //= 2
    members = first_shard.execute(_op_members, db, first_key)
    if algo_one <= algo_two:
        # Algorithm 1: keep the first set's members that no other set has.
        others = [item for item in found[1:] if item[2] is not None]
        others.sort(key=lambda item: -item[2])
        for key, shard, _ in others:
            if not members:
                break
            if key == first_key:
                members = []
                break
            present = set(shard.execute(_op_filter, db, (key, members)))
            if present:
                members = [m for m in members if m not in present]
        for m in members:
            out.add(m, limit)
        return out
    # Algorithm 2: copy the first set, then remove every other set's members.
    for m in members:
        out.add(m, limit)
    for key, shard, size in found[1:]:
        if not len(out):
            break
        if size is None:
            continue
        for m in shard.execute(_op_members, db, key):
            out.remove(m)
    return out


@command("sunion")
def sunion(client, argv):
    return Set(_sunion(client, argv[1:], max_intset(client.server)).members())


@command("sunionstore")
def sunionstore(client, argv):
    return _store(client, argv, argv[1], _sunion(client, argv[2:], max_intset(client.server)),
                  "sunionstore")


@command("sdiff")
def sdiff(client, argv):
    return Set(_sdiff(client, argv[1:], max_intset(client.server)).members())


@command("sdiffstore")
def sdiffstore(client, argv):
    return _store(client, argv, argv[1], _sdiff(client, argv[2:], max_intset(client.server)),
                  "sdiffstore")
