"""Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis 7.0 multi.c).

The protocol queues commands while ``client.multi`` is a list and sets
``client.multi_error`` on a queueing error; this module owns the rest.

WATCH registers a :class:`_Watch` entry in ``ks.watched[key]`` of the owning
shard's keyspace (after ``ks.observe()``).  The keyspace marks entries with
``entry.watch_dirty = True`` on every modification; the entry's setter applies
Redis's rule for keys that were already logically expired at WATCH time
(``watchedKey.expired``): their deletion is no logical change.  EXEC also fails
when a watched key expired since WATCH (``isWatchedKeyExpired``).

EXEC runs the queued commands with ``client.execute`` (not ``dispatch``), with
``client.no_block`` set, so blocking commands answer at once and clients
blocked on keys wake only after the whole EXEC (``dispatch`` serves them after
the top-level command).  The writes of one EXEC reach the event bus inside a
hold/release bracket, which wraps more than one event in MULTI/EXEC exactly as
Redis 7.0 propagates a transaction.
"""

from .. import errors
from ..errors import ReplyError
from ..resp.encoder import OK, NullArray
from .registry import command
from .connection import on_reset

_NESTED = ReplyError(errors.MULTI_NESTED)
_EXEC_NO_MULTI = ReplyError(errors.EXEC_WITHOUT_MULTI)
_DISCARD_NO_MULTI = ReplyError(errors.DISCARD_WITHOUT_MULTI)
_EXECABORT = ReplyError("EXECABORT Transaction discarded because of previous errors.")
_WATCH_IN_MULTI = ReplyError("ERR WATCH inside MULTI is not allowed")


class _Watch:
    """One (client, db, key) watch; stands in for the client in ``ks.watched``."""

    __slots__ = ("client", "shard", "db", "key", "expired")

    def __init__(self, client, shard, db, key, expired):
        self.client = client
        self.shard = shard
        self.db = db
        self.key = key
        self.expired = expired

    @property
    def watch_dirty(self):
        return self.client.watch_dirty

    @watch_dirty.setter
    def watch_dirty(self, value):
        if self.expired:
            # touchWatchedKey: a key that was already expired at WATCH time and
            # is now deleted has not logically changed; forget the flag.
            ks = self.shard.dbs[self.db]
            if ks._bucket(self.key).get(self.key) is None:
                self.expired = False
            return
        self.client.watch_dirty = value


def _is_expired(ks, key):
    """keyIsExpired: stored with a TTL already in the past (no side effects)."""
    if ks._bucket(key).get(key) is None:
        return False
    when = ks.expires.get(key) if ks.expires else None
    return when is not None and when < ks.time.ms


def _op_watch(ks, args):
    key, client = args
    ks.observe()
    entries = ks.watched.get(key)
    if entries is None:
        entries = ks.watched[key] = set()
    else:
        for e in entries:
            if e.client is client:
                return None
    entry = _Watch(client, ks.shard, ks.index, key, _is_expired(ks, key))
    entries.add(entry)
    return entry


def _watching(client):
    w = getattr(client, "watching", None)
    if w is None:
        w = client.watching = []
        _hook_disconnect(client.server)
    return w


def _hook_disconnect(server):
    hooks = getattr(server, "disconnect_hooks", None)
    if hooks is not None and unwatch_all not in hooks:
        hooks.append(unwatch_all)


def unwatch_all(client):
    """unwatchAllKeys: drop every watch of *client* (EXEC, DISCARD, UNWATCH, RESET, disconnect)."""
    entries = getattr(client, "watching", None)
    if not entries:
        return
    for entry in entries:
        watched = entry.shard.dbs[entry.db].watched
        if watched:
            s = watched.get(entry.key)
            if s is not None:
                s.discard(entry)
                if not s:
                    del watched[entry.key]
    entries.clear()


def _watched_key_expired(client):
    """isWatchedKeyExpired: a key alive at WATCH time has expired since."""
    for entry in getattr(client, "watching", None) or ():
        if not entry.expired and _is_expired(entry.shard.dbs[entry.db], entry.key):
            return True
    return False


def discard_transaction(client):
    client.multi = None
    client.multi_error = False
    client.watch_dirty = False
    unwatch_all(client)


@on_reset
def _reset(client):
    discard_transaction(client)


@command("multi")
def multi(client, argv):
    if client.multi is not None:
        return _NESTED
    client.multi = []
    client.multi_error = False
    return OK


@command("discard")
def discard(client, argv):
    if client.multi is None:
        return _DISCARD_NO_MULTI
    discard_transaction(client)
    return OK


@command("watch")
def watch(client, argv):
    if client.multi is not None:
        return _WATCH_IN_MULTI
    # Redis skips the work once the transaction can only fail anyway.
    if client.watch_dirty:
        return OK
    watching = _watching(client)
    router = client.server.router
    db = client.db
    for key in argv[1:]:
        entry = router.shard_for(key).execute(_op_watch, db, (key, client))
        if entry is not None:
            watching.append(entry)
    return OK


@command("unwatch")
def unwatch(client, argv):
    unwatch_all(client)
    client.watch_dirty = False
    return OK


@command("exec")
def exec_(client, argv):
    queued = client.multi
    if queued is None:
        return _EXEC_NO_MULTI
    if not client.watch_dirty and _watched_key_expired(client):
        client.watch_dirty = True
    if client.multi_error:
        discard_transaction(client)
        return _EXECABORT
    if client.watch_dirty:
        discard_transaction(client)
        return NullArray
    unwatch_all(client)
    client.multi = None
    client.multi_error = False
    no_block = client.no_block
    client.no_block = True
    bus = client.server.bus
    bus.hold()
    replies = []
    client.in_exec = len(queued)    # an ACL refusal now has EXEC's text (redislite/acl.py)
    try:
        execute = client.execute
        for argv_ in queued:
            replies.append(execute(argv_))
    finally:
        client.in_exec = 0
        bus.release()
        client.no_block = no_block
        client.watch_dirty = False
    return replies
