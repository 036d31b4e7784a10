"""The list family: pushes and pops, ranges, LPOS, LMOVE/LMPOP and the blocking pops.

Replies, errors and their order follow Redis 7.0.15's ``t_list.c`` as observed
on a real server, including its corners: LPOP's count error is "value is out
of range, must be positive" even for a non-number, ``LPOP nokey 0`` is a null
array while ``LPOP list 0`` is an empty one, LINDEX looks the key up before it
parses the index (LRANGE/LTRIM/LREM parse first), keywords compare as C
strings (``"after\\0x"`` is AFTER), and LPOS RANK -9223372036854775808 is
accepted (the C negation overflows; see ``ListValue.positions``).

Write events are what Redis 7.0 propagates: the command itself for pushes,
LSET/LINSERT/LREM/LTRIM (only when something changed) and LPOP/RPOP; LMPOP
and BLMPOP become ``LPOP key n`` (n = what was popped); BLPOP/BRPOP become
LPOP/RPOP; BLMOVE becomes LMOVE and BRPOPLPUSH RPOPLPUSH.

Single-key commands are shard ops.  LMOVE/RPOPLPUSH/LMPOP and the blocking
commands are coordinators: they reach each key through its owning shard with
the ``_op_*`` functions below, all in one synchronous call chain, so a move
between shards is still atomic.  Blocking commands first try to serve at
once; only when every key is empty do they park the client with
:func:`redislite.blocking.block`, whose ``retry`` pops through the same ops
(so a served pop emits its write event like a direct one).
"""

from .. import errors
from ..blocking import block, parse_timeout, signal_key_ready
from ..errors import ReplyError
from ..resp.encoder import OK, NullArray
from ..storage.types.list import ELEMENT_OVERHEAD, ListValue
from .args import to_int
from .registry import command

_WRONGTYPE = ReplyError(errors.WRONGTYPE)
_SYNTAX = ReplyError(errors.SYNTAX)
_NOT_INT = ReplyError(errors.NOT_INTEGER)
_NO_SUCH_KEY = ReplyError(errors.NO_SUCH_KEY)
_INDEX_RANGE = ReplyError(errors.INDEX_OUT_OF_RANGE)
_POSITIVE = ReplyError(errors.OUT_OF_RANGE_POSITIVE)
_RANK_ZERO = ReplyError(errors.LPOS_RANK_ZERO)
_COUNT_NEG = ReplyError(errors.LPOS_COUNT_NEGATIVE)
_MAXLEN_NEG = ReplyError(errors.LPOS_MAXLEN_NEGATIVE)
_NUMKEYS = ReplyError(errors.LIST_NUMKEYS)
_COUNT_POS = ReplyError(errors.LIST_COUNT_POSITIVE)

_LEFT, _RIGHT = b"LEFT", b"RIGHT"
_EVENT_POP = {True: b"LPOP", False: b"RPOP"}
_NOTIFY_POP = {True: "lpop", False: "rpop"}
_NOTIFY_PUSH = {True: "lpush", False: "rpush"}


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def _cstr(arg):
    """An option keyword as Redis's strcasecmp sees it: cut at the first NUL, upper-cased."""
    i = arg.find(b"\0")
    if i >= 0:
        arg = arg[:i]
    return arg.upper()


def _side(arg):
    """getListPositionFromObjectOrReply: LEFT -> head (True), RIGHT -> tail (False)."""
    word = _cstr(arg)
    if word == _LEFT:
        return True
    if word == _RIGHT:
        return False
    raise _SYNTAX


def _long(arg):
    v = to_int(arg)
    if v is None:
        raise _NOT_INT
    return v


def _positive(arg, error):
    """getPositiveLongFromObjectOrReply with a message: non-numbers get the same text."""
    v = to_int(arg)
    if v is None or v < 0:
        raise error
    return v


def _at_least_one(arg, error):
    """getRangeLongFromObjectOrReply(1, LONG_MAX) with a message."""
    v = to_int(arg)
    if v is None or v < 1:
        raise error
    return v


def _emit(ks, argv):
    ks.shard.emit(ks.index, argv)


def _write_list(ks, key):
    """lookupKeyWrite + checkType: the list, None, or WRONGTYPE."""
    v = ks.lookup_write(key)
    if v is None or type(v) is ListValue:
        return v
    raise _WRONGTYPE


def _read_list(ks, key):
    """lookupKeyRead + checkType (counts keyspace hits/misses)."""
    v = ks.lookup_read(key)
    if v is None or type(v) is ListValue:
        return v
    raise _WRONGTYPE


def _elements_removed(ks, key, lst, head):
    """listElementsRemoved: pop notification, delete the key once empty, WATCH."""
    notify = ks.shard.notifier is not None
    if notify:
        ks.notify("l", _NOTIFY_POP[head], key)
    if not lst.items:
        ks.delete(key)              # signals WATCH/tracking itself
        if notify:
            ks.notify("g", "del", key)
    elif ks.watched is not None:
        ks.signal_modified(key)


# ---------------------------------------------------------------------------
# pushes
# ---------------------------------------------------------------------------

def _push(ks, argv, head, name, existing_only):
    """pushGenericCommand (the hot path: helpers inlined)."""
    key = argv[1]
    lst = ks.lookup_write(key)
    if lst is None:
        if existing_only:
            return 0
        lst = ListValue()
        if len(argv) == 3:
            lst.push_one(argv[2], head)
        else:
            lst.push(argv[2:], head)
        ks.set(key, lst)
    elif type(lst) is not ListValue:
        raise _WRONGTYPE
    else:
        if len(argv) == 3:
            # ListValue.push_one and value_resized, inlined
            value = argv[2]
            if head:
                lst.items.appendleft(value)
            else:
                lst.items.append(value)
            grown = ((33 + len(value) + 7) & ~7) + ELEMENT_OVERHEAD
            lst.mem += grown
            ks.mem += grown
        else:
            old = lst.mem
            lst.push(argv[2:], head)
            ks.value_resized(old, lst.mem)
        if ks.watched is not None:
            ks.signal_modified(key)
    shard = ks.shard
    if shard.notifier is not None:
        ks.notify("l", _NOTIFY_PUSH[head], key)
    if shard.waiters:
        signal_key_ready(ks, key)
    shard.emit(ks.index, (name, key, argv[2]) if len(argv) == 3 else (name, *argv[1:]))
    return len(lst.items)


@command("lpush", shard_op=True)
def lpush(ks, argv):
    return _push(ks, argv, True, b"LPUSH", False)


@command("rpush", shard_op=True)
def rpush(ks, argv):
    return _push(ks, argv, False, b"RPUSH", False)


@command("lpushx", shard_op=True)
def lpushx(ks, argv):
    return _push(ks, argv, True, b"LPUSHX", True)


@command("rpushx", shard_op=True)
def rpushx(ks, argv):
    return _push(ks, argv, False, b"RPUSHX", True)


@command("linsert", shard_op=True)
def linsert(ks, argv):
    where = _cstr(argv[2])
    if where == b"AFTER":
        after = True
    elif where == b"BEFORE":
        after = False
    else:
        raise _SYNTAX
    key = argv[1]
    lst = _write_list(ks, key)
    if lst is None:
        return 0
    old = lst.mem
    if not lst.insert(argv[3], argv[4], after):
        return -1
    ks.value_resized(old, lst.mem)
    if ks.watched is not None:
        ks.signal_modified(key)
    ks.notify("l", "linsert", key)
    _emit(ks, (b"LINSERT",) + tuple(argv[1:]))
    return len(lst.items)


# ---------------------------------------------------------------------------
# pops
# ---------------------------------------------------------------------------

def _pop(ks, argv, head):
    """popGenericCommand (the hot path: helpers inlined)."""
    n = len(argv)
    count = None
    if n != 2:
        if n > 3:
            raise errors.wrong_arity("lpop" if head else "rpop")
        count = to_int(argv[2])
        if count is None or count < 0:
            raise _POSITIVE
    key = argv[1]
    lst = ks.lookup_write(key)
    if lst is None:
        return None if count is None else NullArray
    if type(lst) is not ListValue:
        raise _WRONGTYPE
    if count == 0:
        return []
    old = lst.mem
    if count is None:
        reply = lst.pop(head)
        event = (_EVENT_POP[head], key)
    else:
        reply = lst.pop_many(count, head)
        event = (_EVENT_POP[head], key, argv[2])
    ks.value_resized(old, lst.mem)
    _elements_removed(ks, key, lst, head)
    ks.shard.emit(ks.index, event)
    return reply


@command("lpop", shard_op=True)
def lpop(ks, argv):
    return _pop(ks, argv, True)


@command("rpop", shard_op=True)
def rpop(ks, argv):
    return _pop(ks, argv, False)


# ---------------------------------------------------------------------------
# reads
# ---------------------------------------------------------------------------

@command("llen", shard_op=True)
def llen(ks, argv):
    lst = _read_list(ks, argv[1])
    return 0 if lst is None else len(lst.items)


@command("lindex", shard_op=True)
def lindex(ks, argv):
    lst = _read_list(ks, argv[1])
    if lst is None:
        return None
    return lst.get(_long(argv[2]))


def _normalise_range(start, end, n):
    """LRANGE/LTRIM index arithmetic: (start, end) inclusive, or None when empty."""
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if start > end or start >= n:
        return None
    if end >= n:
        end = n - 1
    return start, end


@command("lrange", shard_op=True)
def lrange(ks, argv):
    start = _long(argv[2])
    end = _long(argv[3])
    lst = _read_list(ks, argv[1])
    if lst is None:
        return []
    r = _normalise_range(start, end, len(lst.items))
    if r is None:
        return []
    return lst.range(r[0], r[1])


@command("lpos", shard_op=True)
def lpos(ks, argv):
    rank, count, maxlen = 1, None, 0
    n = len(argv)
    j = 3
    while j < n:
        opt = _cstr(argv[j])
        more = j + 1 < n
        if opt == b"RANK" and more:
            j += 1
            rank = _long(argv[j])
            if rank == 0:
                raise _RANK_ZERO
        elif opt == b"COUNT" and more:
            j += 1
            count = _positive(argv[j], _COUNT_NEG)
        elif opt == b"MAXLEN" and more:
            j += 1
            maxlen = _positive(argv[j], _MAXLEN_NEG)
        else:
            raise _SYNTAX
        j += 1
    lst = _read_list(ks, argv[1])
    if lst is None:
        return None if count is None else []
    return lst.positions(argv[2], rank, count, maxlen)


# ---------------------------------------------------------------------------
# in-place edits
# ---------------------------------------------------------------------------

@command("lset", shard_op=True)
def lset(ks, argv):
    key = argv[1]
    lst = _write_list(ks, key)
    if lst is None:
        raise _NO_SUCH_KEY
    index = _long(argv[2])
    old = lst.mem
    if not lst.set(index, argv[3]):
        raise _INDEX_RANGE
    ks.value_resized(old, lst.mem)
    if ks.watched is not None:
        ks.signal_modified(key)
    ks.notify("l", "lset", key)
    _emit(ks, (b"LSET",) + tuple(argv[1:]))
    return OK


@command("ltrim", shard_op=True)
def ltrim(ks, argv):
    start = _long(argv[2])
    end = _long(argv[3])
    key = argv[1]
    lst = _write_list(ks, key)
    if lst is None:
        return OK
    n = len(lst.items)
    r = _normalise_range(start, end, n)
    if r is None:
        left, right = n, 0
    else:
        left, right = r[0], n - r[1] - 1
    old = lst.mem
    lst.trim(left, right)
    ks.value_resized(old, lst.mem)
    ks.notify("l", "ltrim", key)
    if not lst.items:
        ks.delete(key)
        ks.notify("g", "del", key)
    elif ks.watched is not None:
        ks.signal_modified(key)
    if left or right:
        _emit(ks, (b"LTRIM",) + tuple(argv[1:]))
    return OK


@command("lrem", shard_op=True)
def lrem(ks, argv):
    count = _long(argv[2])
    key = argv[1]
    lst = _write_list(ks, key)
    if lst is None:
        return 0
    old = lst.mem
    removed = lst.remove(argv[3], count)
    if removed:
        ks.value_resized(old, lst.mem)
        ks.notify("l", "lrem", key)
        if not lst.items:
            ks.delete(key)
            ks.notify("g", "del", key)
        elif ks.watched is not None:
            ks.signal_modified(key)
        _emit(ks, (b"LREM",) + tuple(argv[1:]))
    return removed


# ---------------------------------------------------------------------------
# shard ops used by the coordinators (LMOVE, LMPOP, blocking pops)
# ---------------------------------------------------------------------------

def _op_len(ks, args):
    """Length of a list for a write (0 when absent); WRONGTYPE for other types."""
    lst = _write_list(ks, args[0])
    return 0 if lst is None else len(lst.items)


def _op_len_lenient(ks, args):
    """Like _op_len, but a non-list counts as empty: a served waiter skips it, as
    serveClientsBlockedOnListKey does."""
    v = ks.lookup_write(args[0])
    return len(v.items) if type(v) is ListValue else 0


def _op_check_list(ks, args):
    """Type-check a destination (lookupKeyWrite + checkType); None when fine."""
    _write_list(ks, args[0])
    return None


def _op_pop_raw(ks, args):
    """Pop one element for a move; the key is finished by _op_pop_done after the push
    (so LMOVE of a one-element list onto itself keeps the key)."""
    key, head = args
    lst = ks.lookup_write(key)
    old = lst.mem
    value = lst.pop(head)
    ks.value_resized(old, lst.mem)
    return value


def _op_pop_done(ks, args):
    key, head = args
    lst = ks.lookup_write(key)
    _elements_removed(ks, key, lst, head)


def _op_push_one(ks, args):
    """lmoveHandlePush: push onto the destination, creating it if needed."""
    key, value, head = args
    lst = ks.lookup_write(key)
    if lst is None:
        lst = ListValue()
        lst.push_one(value, head)
        ks.set(key, lst)
    else:
        old = lst.mem
        lst.push_one(value, head)
        ks.value_resized(old, lst.mem)
        if ks.watched is not None:
            ks.signal_modified(key)
    ks.notify("l", _NOTIFY_PUSH[head], key)
    signal_key_ready(ks, key)


def _op_mpop(ks, args):
    """Pop from one key when it is a non-empty list.

    ``args = (key, head, count, strict)``: count None pops one element and
    answers ``[key, value]`` (BLPOP), else up to count as ``[key, [values]]``
    (LMPOP).  ``strict`` raises WRONGTYPE (the direct path); a served waiter
    passes False and skips non-lists.  None when there is nothing to pop.
    """
    key, head, count, strict = args
    if strict:
        lst = _write_list(ks, key)
    else:
        lst = ks.lookup_write(key)
        if type(lst) is not ListValue:
            lst = None
    if lst is None or not lst.items:
        return None
    old = lst.mem
    if count is None:
        value = lst.pop(head)
        event = (_EVENT_POP[head], key)
        reply = [key, value]
    else:
        values = lst.pop_many(count, head)
        event = (_EVENT_POP[head], key, b"%d" % len(values))
        reply = [key, values]
    ks.value_resized(old, lst.mem)
    _elements_removed(ks, key, lst, head)
    _emit(ks, event)
    return reply


# ---------------------------------------------------------------------------
# coordinators: LMOVE / RPOPLPUSH / LMPOP
# ---------------------------------------------------------------------------

def _move(client, src, dst, head_from, head_to, event):
    """lmoveGenericCommand across shards: the element, None, or an error value."""
    router = client.server.router
    db = client.db
    src_shard = router.shard_for(src)
    n = src_shard.execute(_op_len, db, (src,))
    if type(n) is not int:
        return n
    if not n:
        return None
    dst_shard = router.shard_for(dst)
    err = dst_shard.execute(_op_check_list, db, (dst,))
    if err is not None:
        return err
    value = src_shard.execute(_op_pop_raw, db, (src, head_from))
    dst_shard.execute(_op_push_one, db, (dst, value, head_to))
    src_shard.execute(_op_pop_done, db, (src, head_from))
    src_shard.emit(db, event)
    return value


@command("lmove")
def lmove(client, argv):
    head_from = _side(argv[3])
    head_to = _side(argv[4])
    return _move(client, argv[1], argv[2], head_from, head_to,
                 (b"LMOVE", argv[1], argv[2], argv[3], argv[4]))


@command("rpoplpush")
def rpoplpush(client, argv):
    return _move(client, argv[1], argv[2], False, True, (b"RPOPLPUSH", argv[1], argv[2]))


def _parse_mpop(argv, numkeys_idx):
    """lmpopGenericCommand's parsing: (keys, head, count)."""
    numkeys = _at_least_one(argv[numkeys_idx], _NUMKEYS)
    where_idx = numkeys_idx + numkeys + 1
    n = len(argv)
    if where_idx >= n:
        raise _SYNTAX
    head = _side(argv[where_idx])
    count = None
    j = where_idx + 1
    while j < n:
        if count is None and _cstr(argv[j]) == b"COUNT" and j + 1 < n:
            j += 1
            count = _at_least_one(argv[j], _COUNT_POS)
        else:
            raise _SYNTAX
        j += 1
    return argv[numkeys_idx + 1:where_idx], head, (1 if count is None else count)


def _first_pop(client, keys, head, count):
    """Pop from the first non-empty list among *keys* (WRONGTYPE stops the scan)."""
    router = client.server.router
    db = client.db
    for key in keys:
        r = router.shard_for(key).execute(_op_mpop, db, (key, head, count, True))
        if r is not None:
            return r
    return None


@command("lmpop")
def lmpop(client, argv):
    keys, head, count = _parse_mpop(argv, 1)
    r = _first_pop(client, keys, head, count)
    return NullArray if r is None else r


# ---------------------------------------------------------------------------
# blocking commands
# ---------------------------------------------------------------------------

def _retry_pop(client, keys, head, count):
    """The waiter's retry: pop from the ready key if given, else the first key with data."""
    router = client.server.router

    def retry(ready_key=None):
        db = client.db
        for key in ((ready_key,) if ready_key is not None and ready_key in keys else keys):
            r = router.shard_for(key).execute(_op_mpop, db, (key, head, count, False))
            if r is not None:
                return r
        return None
    return retry


def _blocking_pop(client, argv, head):
    keys = argv[1:-1]
    timeout = parse_timeout(argv[-1], client.server.now.ms)
    r = _first_pop(client, keys, head, None)
    if r is not None:
        return r
    return block(client, keys, timeout, _retry_pop(client, keys, head, None), NullArray)


@command("blpop")
def blpop(client, argv):
    return _blocking_pop(client, argv, True)


@command("brpop")
def brpop(client, argv):
    return _blocking_pop(client, argv, False)


@command("blmpop")
def blmpop(client, argv):
    keys, head, count = _parse_mpop(argv, 2)
    timeout = parse_timeout(argv[1], client.server.now.ms)
    r = _first_pop(client, keys, head, count)
    if r is not None:
        return r
    return block(client, keys, timeout, _retry_pop(client, keys, head, count), NullArray)


def _blocking_move(client, src, dst, head_from, head_to, timeout, event_now, event_served):
    """blmoveGenericCommand: move now if the source has data, else wait on it.

    Inside MULTI/EXEC or a script the empty case answers a null bulk (addReplyNull),
    while a real timeout answers a null array, as Redis 7.0 does.
    """
    router = client.server.router
    n = router.shard_for(src).execute(_op_len, client.db, (src,))
    if type(n) is not int:
        return n
    if n:
        return _move(client, src, dst, head_from, head_to, event_now)
    if client.no_block:
        return None

    def retry(ready_key=None):
        if not router.shard_for(src).execute(_op_len_lenient, client.db, (src,)):
            return None
        # A wrong-typed destination answers WRONGTYPE and ends the wait (the element stays).
        return _move(client, src, dst, head_from, head_to, event_served)
    return block(client, [src], timeout, retry, NullArray)


@command("blmove")
def blmove(client, argv):
    head_from = _side(argv[3])
    head_to = _side(argv[4])
    timeout = parse_timeout(argv[5], client.server.now.ms)
    src, dst = argv[1], argv[2]
    return _blocking_move(client, src, dst, head_from, head_to, timeout,
                          (b"LMOVE", src, dst, argv[3], argv[4]),
                          (b"LMOVE", src, dst, _LEFT if head_from else _RIGHT,
                           _LEFT if head_to else _RIGHT))


@command("brpoplpush")
def brpoplpush(client, argv):
    timeout = parse_timeout(argv[3], client.server.now.ms)
    src, dst = argv[1], argv[2]
    event = (b"RPOPLPUSH", src, dst)
    return _blocking_move(client, src, dst, False, True, timeout, event, event)
