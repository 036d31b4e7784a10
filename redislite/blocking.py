"""Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, ...).

A blocking coordinator first tries to serve at once; only when every key is
empty does it call :func:`block`, which parks the client on each key's owning
shard (``shard.waiters[(db, key)]``, a FIFO) and returns :data:`BLOCKED`.  The
protocol then stops running that client's commands until it is unblocked.

Ops that add elements call :func:`signal_key_ready`; after the *top-level*
command that made a key ready has finished (so a push inside MULTI/EXEC or a
script wakes waiters only after it completes), :func:`serve_ready_keys` retries
the oldest waiters of each ready key in order.  Timeouts run on the injected
clock; a disconnect cancels the wait.
"""

import inspect
import math
from collections import deque

from . import errors
from .commands.args import to_float, to_int
from .commands.registry import command
from .errors import ReplyError
from .resp.encoder import NullArray  # noqa: F401  (re-exported for callers' timeout replies)


class _Blocked:
    __slots__ = ()

    def __repr__(self):
        return "BLOCKED"


#: Returned by a coordinator that parked its client.
BLOCKED = _Blocked()

_TIMEOUT_NOT_FLOAT = ReplyError("ERR timeout is not a float or out of range")
_TIMEOUT_NEGATIVE = ReplyError(errors.TIMEOUT_NEGATIVE)
_TIMEOUT_RANGE = ReplyError("ERR timeout is out of range")
_UNBLOCKED = ReplyError("UNBLOCKED client unblocked via CLIENT UNBLOCK")
_LLONG_MAX = (1 << 63) - 1


def parse_timeout(arg, now_ms=0):
    """Redis 7.0's getTimeoutFromObjectOrReply for seconds; returns seconds (0 = forever).

    7.0 computes ``(long long) ceill(ftval * 1000.0)``: a value past the int64
    range (inf, 1e400) becomes LLONG_MIN on x86, hence "timeout is negative";
    a positive fraction of a millisecond rounds up to 1 ms."""
    v = to_float(arg)
    if v is None:
        raise _TIMEOUT_NOT_FLOAT
    ms = v * 1000.0
    if math.isinf(ms) or not (-9.223372036854775808e18 <= ms < 9.223372036854775808e18):
        tval = -(1 << 63)
    else:
        tval = math.ceil(ms)
    if tval < 0:
        raise _TIMEOUT_NEGATIVE
    if tval > 0 and tval > _LLONG_MAX - now_ms:
        raise _TIMEOUT_RANGE
    return tval / 1000.0


class Waiter:
    __slots__ = ("client", "db", "entries", "retry", "on_timeout", "timer", "pass_key")

    def __init__(self, client, db, retry, on_timeout):
        self.client = client
        self.db = db
        self.entries = []          # (shard, key)
        self.retry = retry
        self.on_timeout = on_timeout
        self.timer = None
        # retry(ready_key) serves from the key that became ready first, as Redis
        # does; a retry() without parameters picks its own key.
        try:
            self.pass_key = bool(inspect.signature(retry).parameters)
        except (TypeError, ValueError):
            self.pass_key = False


def block(client, keys, timeout, retry, on_timeout):
    """Park *client* on *keys* (in client.db) until retry() returns a reply or the timeout."""
    if client.no_block:
        return on_timeout
    server = client.server
    waiter = Waiter(client, client.db, retry, on_timeout)
    seen = set()
    for key in keys:
        if key in seen:
            continue
        seen.add(key)
        shard = server.router.shard_for(key)
        shard.waiters.setdefault((client.db, key), deque()).append(waiter)
        waiter.entries.append((shard, key))
    if timeout:
        waiter.timer = server.reactor.callLater(timeout, _timed_out, waiter)
    client.blocked = waiter
    server.blocked_clients += 1
    return BLOCKED


def signal_waited_keys(shard, db):
    """After SWAPDB: every key someone waits on in *db* may now hold data (Redis's
    scanDatabaseForReadyKeys)."""
    for (d, key) in list(shard.waiters):
        if d == db and shard.dbs[db].exists(key):
            shard.ready_keys.append((shard, db, key))


def signal_key_ready(ks, key):
    """A list/zset key got elements: remember it if someone waits on it."""
    shard = ks.shard
    if shard.waiters and (ks.index, key) in shard.waiters:
        shard.ready_keys.append((shard, ks.index, key))


def _release(waiter):
    for shard, key in waiter.entries:
        q = shard.waiters.get((waiter.db, key))
        if q is not None:
            try:
                q.remove(waiter)
            except ValueError:
                pass
            if not q:
                del shard.waiters[(waiter.db, key)]
    waiter.entries = []
    if waiter.timer is not None and waiter.timer.active():
        waiter.timer.cancel()
    waiter.timer = None
    client = waiter.client
    if client.blocked is waiter:
        client.blocked = None
        client.server.blocked_clients -= 1


def _timed_out(waiter):
    waiter.timer = None
    _release(waiter)
    waiter.client.unblocked(waiter.on_timeout)


def cancel(client):
    """The client went away: drop its wait silently."""
    if client.blocked is not None:
        _release(client.blocked)


def unblock(client, reply):
    """Unblock with an explicit reply (CLIENT UNBLOCK)."""
    waiter = client.blocked
    if waiter is None:
        return False
    _release(waiter)
    client.unblocked(reply)
    return True


def serve_ready_keys(ready):
    """Serve waiters of every ready key, oldest first; new ready keys (BLMOVE
    pushing into a watched list) are served in the same pass."""
    while ready:
        shard, db, key = ready.pop(0)
        q = shard.waiters.get((db, key))
        while q:
            waiter = q[0]
            client = waiter.client
            saved_db = client.db
            client.db = waiter.db
            try:
                reply = waiter.retry(key) if waiter.pass_key else waiter.retry()
            except ReplyError:
                reply = None
            finally:
                client.db = saved_db
            if reply is None:
                break
            _release(waiter)
            client.unblocked(reply)
            q = shard.waiters.get((db, key))


@command("client|unblock")
def client_unblock(client, argv):
    """CLIENT UNBLOCK id [TIMEOUT|ERROR]."""
    cid = to_int(argv[2])
    if cid is None:
        raise ReplyError(errors.NOT_INTEGER)
    mode = b"TIMEOUT"
    if len(argv) == 4:
        mode = argv[3].upper()
        if mode not in (b"TIMEOUT", b"ERROR"):
            raise ReplyError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    elif len(argv) > 4:
        raise ReplyError(errors.SYNTAX)
    target = client.server.clients.get(cid)
    if target is None or target.blocked is None or getattr(target.blocked, "postponed", False):
        return 0        # a client postponed by CLIENT PAUSE is not unblockable (7.0.15 crashes; 7.2 says 0)
    reply = _UNBLOCKED if mode == b"ERROR" else target.blocked.on_timeout
    unblock(target, reply)
    return 1
