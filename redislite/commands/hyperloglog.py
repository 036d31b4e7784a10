"""HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.

Values are Redis-format HLL strings (see ``storage/hll.py``), so a GET returns
the same bytes as Redis for the same PFADDs and Redis's bytes can be SET here.
Propagation is Redis 7.0's: PFADD when a register changed (or the key was
created), PFMERGE always, and PFCOUNT of one key when it refreshed the cached
cardinality (it rewrites the string, so replicas must do the same).
"""

from .. import errors
from ..errors import ReplyError
from ..resp.encoder import OK, Status
from ..storage import hll
from ..storage.keyspace import value_memory
from .registry import command

_WRONGTYPE = ReplyError(errors.WRONGTYPE)
_NOT_HLL = ReplyError(errors.HLL_WRONGTYPE)
_INVALID = ReplyError(errors.HLL_INVALID)


def _check(v):
    """isHLLObjectOrReply for an existing value."""
    t = type(v)
    if t is not bytes and t is not bytearray:
        raise _WRONGTYPE
    if not hll.is_valid(v):
        raise _NOT_HLL


def _unshare(ks, key, v):
    """dbUnshareStringValue: the stored value as a bytearray we may edit in place."""
    if type(v) is bytearray:
        return v
    buf = bytearray(v)
    ks.set(key, buf, keep_ttl=True)
    return buf


def _modified(ks, key):
    if ks.watched is not None:
        ks.signal_modified(key)


def _max_bytes(client):
    return client.server.config["hll-sparse-max-bytes"]


# --- PFADD -------------------------------------------------------------------------
def _op_pfadd(ks, args):
    argv, max_bytes = args
    key = argv[1]
    v = ks.lookup_write(key)
    if v is None:
        buf = hll.new_sparse()
        ks.set(key, buf)
        updated = 1
    else:
        _check(v)
        buf = _unshare(ks, key, v)
        updated = 0
    before = value_memory(buf)
    add = hll.add
    try:
        for element in argv[2:]:
            r = add(buf, element, max_bytes)
            if r:
                if r < 0:
                    raise _INVALID
                updated += 1
    finally:
        after = value_memory(buf)
        if after != before:
            ks.value_resized(before, after)
    if not updated:
        return 0
    hll.invalidate(buf)
    _modified(ks, key)
    ks.notify("$", "pfadd", key)
    ks.shard.emit(ks.index, (b"PFADD",) + tuple(argv[1:]))
    return 1


@command("pfadd")
def pfadd(client, argv):
    return client.server.router.shard_for(argv[1]).execute(
        _op_pfadd, client.db, (argv, _max_bytes(client)))


# --- PFCOUNT -------------------------------------------------------------------------
def _op_pfcount_one(ks, key):
    v = ks.lookup_read(key)
    if v is None:
        return 0
    _check(v)
    buf = _unshare(ks, key, v)
    card = hll.cached(buf)
    if card is None:
        card = hll.count(buf)
        if card is None:
            raise _INVALID
        hll.store_card(buf, card)
        _modified(ks, key)
        ks.shard.emit(ks.index, (b"PFCOUNT", key))
    return card


def _op_registers(ks, key):
    """(raw registers or None if the key is missing, is it dense) for a merge source."""
    v = ks.lookup_read(key)
    if v is None:
        return None
    _check(v)
    raw = hll.to_raw(v)
    if raw is None:
        raise _INVALID
    return raw, v[4] == hll.DENSE


def _union(client, keys):
    """hllMerge of every key in order: (registers, any dense) or a ReplyError."""
    router = client.server.router
    db = client.db
    acc = None
    dense = False
    for key in keys:
        r = router.shard_for(key).execute(_op_registers, db, key)
        if r is None:
            continue
        if type(r) is ReplyError:
            return r
        raw, is_dense = r
        dense = dense or is_dense
        acc = raw if acc is None else hll.raw_max(acc, raw)
    return acc, dense


@command("pfcount")
def pfcount(client, argv):
    if len(argv) == 2:
        return client.server.router.shard_for(argv[1]).execute(_op_pfcount_one, client.db, argv[1])
    r = _union(client, argv[1:])
    if type(r) is ReplyError:
        return r
    raw = r[0]
    return hll.estimate(hll.raw_histogram(raw)) if raw is not None else 0


# --- PFMERGE -------------------------------------------------------------------------
def _op_pfmerge_store(ks, args):
    argv, raw, use_dense, max_bytes = args
    key = argv[1]
    v = ks.lookup_write(key)
    if v is None:
        buf = hll.new_sparse()
        ks.set(key, buf)
    else:
        buf = _unshare(ks, key, v)   # already checked as a source
    before = value_memory(buf)
    try:
        if use_dense and not hll.sparse_to_dense(buf):
            raise _INVALID
        if raw is not None:
            hll.merge_into(buf, raw, max_bytes)
    finally:
        after = value_memory(buf)
        if after != before:
            ks.value_resized(before, after)
    hll.invalidate(buf)
    _modified(ks, key)
    ks.notify("$", "pfadd", key)
    ks.shard.emit(ks.index, (b"PFMERGE",) + tuple(argv[1:]))
    return OK


@command("pfmerge")
def pfmerge(client, argv):
    """Sources (the destination included, as Redis reads it too) may live on any
    shard; the union is computed here and written by the destination's shard."""
    r = _union(client, argv[1:])
    if type(r) is ReplyError:
        return r
    raw, use_dense = r
    return client.server.router.shard_for(argv[1]).execute(
        _op_pfmerge_store, client.db, (argv, raw, use_dense, _max_bytes(client)))


# --- PFDEBUG / PFSELFTEST ------------------------------------------------------------
def _c_string(b):
    i = b.find(b"\0")
    return b if i < 0 else b[:i]


def _op_pfdebug(ks, argv):
    sub = _c_string(argv[1]).lower()
    key = argv[2]
    v = ks.lookup_write(key)
    if v is None:
        raise ReplyError(errors.PFDEBUG_NO_KEY)
    _check(v)
    buf = _unshare(ks, key, v)
    if sub in (b"getreg", b"todense"):
        converted = False
        if buf[4] == hll.SPARSE:
            before = value_memory(buf)
            if not hll.sparse_to_dense(buf):
                raise _INVALID
            ks.value_resized(before, value_memory(buf))
            _modified(ks, key)
            ks.shard.emit(ks.index, (b"PFDEBUG",) + tuple(argv[1:]))
            converted = True
        if sub == b"todense":
            return 1 if converted else 0
        return list(hll.dense_to_raw(buf))
    if sub == b"decode":
        if buf[4] != hll.SPARSE:
            raise ReplyError(errors.PFDEBUG_NOT_SPARSE)
        return hll.decode_sparse(buf)
    if sub == b"encoding":
        return Status("dense" if buf[4] == hll.DENSE else "sparse")
    raise ReplyError(errors.PFDEBUG_UNKNOWN % _c_string(argv[1]).decode("utf-8", "replace"))


@command("pfdebug")
def pfdebug(client, argv):
    return client.server.router.shard_for(argv[2]).execute(_op_pfdebug, client.db, argv)


@command("pfselftest")
def pfselftest(client, argv):
    """A light version of Redis's self-test (register access, dense/sparse agreement);
    the 10-million-element accuracy run would block the reactor for minutes."""
    import random
    rng = random.Random(1)
    dense = bytearray(hll.DENSE_SIZE)
    dense[:5] = b"HYLL\x00"
    values = [rng.randrange(64) for _ in range(hll.REGISTERS)]
    raw = bytes(values)
    dense[hll.HDR:] = hll.raw_to_dense_regs(raw)
    for i in range(0, hll.REGISTERS, 97):
        if hll.dense_get(dense, i) != values[i]:
            return ReplyError("ERR TESTFAILED Register %d should be %d but is %d"
                              % (i, values[i], hll.dense_get(dense, i)))
    if hll.dense_to_raw(dense) != raw:
        return ReplyError("ERR TESTFAILED register unpacking")
    dense[hll.HDR:] = bytes(hll.DENSE_BYTES)
    sparse = hll.new_sparse()
    max_bytes = _max_bytes(client)
    for j in range(1, 1001):
        element = (j ^ 0x5DEECE66D).to_bytes(8, "little")
        hll.add(dense, element, max_bytes)
        hll.add(sparse, element, max_bytes)
        if j in (1, 10, 100, 1000) and hll.count(dense) != hll.count(sparse):
            return ReplyError("ERR TESTFAILED dense/sparse disagree")
    return OK
