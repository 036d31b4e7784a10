"""Client-side caching support: CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO.

Modelled on Redis 7.0's tracking.c:

* **default mode**: after a read-only command of a tracking client, its keys
  (``spec.key_positions``) are remembered in ``table`` (key -> client ids; one
  table for every db, as Redis).  When a remembered key is modified, every
  remembered client gets one ``invalidate [key]`` and the entry is dropped.
* **BCAST mode**: clients subscribe to key prefixes; modified keys matching a
  prefix are collected and sent once per reactor turn (Redis's beforeSleep),
  sorted, one message per prefix.
* **OPTIN / OPTOUT** with CLIENT CACHING YES/NO affect only the next command;
  **NOLOOP** skips keys the client modified itself; **REDIRECT** sends to
  another connection (RESP3 push, or for RESP2 a ``message`` on
  ``__redis__:invalidate`` when that connection is in pub/sub mode).
* FLUSHDB/FLUSHALL send ``invalidate`` with a null to every tracking client.

Key modifications arrive through ``Keyspace.observe()`` + ``shard.on_modified``
and are processed when the command ends (the post-command observer knows the
client that made them, which NOLOOP and Redis's "send to the current client
after its reply" rule need); modifications outside any command (active
expiry) are processed on the next reactor turn.

Nothing here costs anything until the first CLIENT TRACKING ON.
"""

from . import errors
from .commands.args import to_int
from .commands.connection import on_reset
from .commands.registry import command
from .errors import ReplyError
from .resp.encoder import OK, Map, Push, Raw, Set, encode

__all__ = ["get_tracker", "Tracker", "TrackingState"]

_SYNTAX = ReplyError(errors.SYNTAX)
_INVALIDATE = b"invalidate"
_CHANNEL = b"__redis__:invalidate"
_READONLY_SKIP = frozenset(("eval_ro", "evalsha_ro", "fcall_ro"))


class TrackingState:
    """Per-client tracking flags (Redis's CLIENT_TRACKING_* bits)."""

    __slots__ = ("on", "bcast", "optin", "optout", "noloop", "caching", "broken", "redirect",
                 "prefixes")

    def __init__(self):
        self.on = self.bcast = self.optin = self.optout = self.noloop = False
        self.caching = self.broken = False
        self.redirect = 0
        self.prefixes = set()


def _state(client):
    st = client.__dict__.get("tracking")
    if st is None:
        st = client.tracking = TrackingState()
    return st


def get_tracker(server):
    tr = server.__dict__.get("tracker")
    if tr is None:
        tr = server.tracker = Tracker(server)
    return tr


class _Prefix:
    __slots__ = ("clients", "keys")

    def __init__(self):
        self.clients = {}     # client -> None (ordered set)
        self.keys = {}        # modified key -> last modifying client (or None)


class Tracker:
    def __init__(self, server):
        self.server = server
        self.table = {}           # key -> set of client ids
        self.prefixes = {}        # prefix -> _Prefix
        self.dirty = []           # keys modified by the running command
        self.flush_pending = False
        self.tracking_clients = 0
        self._later = None
        self._bcast_later = None
        server.command_observers.append(self.after_command)
        for shard in server.shards:
            shard.on_modified.append(self.modified)
            for ks in shard.dbs:
                ks.observe()
        server.bus.subscribe(self.write_event)
        hooks = getattr(server, "disconnect_hooks", None)
        if hooks is not None:
            hooks.append(self.client_gone)

    # -- hooks -------------------------------------------------------------------
    def modified(self, db, key):
        """shard.on_modified: remember the key until the command ends."""
        if key in self.table or self.prefixes:
            self.dirty.append(bytes(key))
            self._schedule()

    def write_event(self, db, argv):
        name = argv[0].upper() if argv else b""
        if name == b"FLUSHALL" or name == b"FLUSHDB":
            self.table = {}
            if self.tracking_clients:
                self.flush_pending = True
                self._schedule()

    def _schedule(self):
        if self._later is None or not self._later.active():
            self._later = self.server.reactor.callLater(0, self.process, None)

    def after_command(self, client, spec, argv, usec, reply):
        """Post-command observer: invalidations first, then remember read keys."""
        if self.dirty or self.flush_pending:
            self.process(client)
        st = client.__dict__.get("tracking")
        if st is None or not st.on:
            return
        if not st.bcast and "readonly" in spec.flags and spec.fullname not in _READONLY_SKIP \
                and not ((st.optin and not st.caching) or (st.optout and st.caching)) \
                and "pubsub" not in spec.flags:
            positions = spec.key_positions(argv)
            if positions:
                table = self.table
                cid = client.id
                for i in positions:
                    key = bytes(argv[i])
                    ids = table.get(key)
                    if ids is None:
                        table[key] = {cid}
                    else:
                        ids.add(cid)
        # CLIENT CACHING applies to the next command only (kept across CLIENT
        # subcommands and while queueing a MULTI, as Redis's resetClient).
        if st.caching and (spec.parent is None or spec.parent.fullname != "client") \
                and client.multi is None and not client.no_block:
            st.caching = False

    def client_gone(self, client):
        st = client.__dict__.get("tracking")
        if st is not None and st.on:
            self.disable(client)

    # -- invalidation ----------------------------------------------------------------
    def process(self, current):
        """Send the invalidations for keys modified by *current*'s command (or by nobody)."""
        if current is None:
            self._later = None
        keys, self.dirty = self.dirty, []
        clients = self.server.clients
        table = self.table
        for key in keys:
            ids = table.pop(key, None)
            if ids:
                for cid in sorted(ids):
                    target = clients.get(cid)
                    if target is None:
                        continue
                    st = target.__dict__.get("tracking")
                    if st is None or not st.on or st.bcast:
                        continue
                    if st.noloop and target is current:
                        continue
                    self.send(target, [key], current)
            if self.prefixes:
                pending = False
                for prefix, entry in self.prefixes.items():
                    if key.startswith(prefix):
                        entry.keys[key] = current
                        pending = True
                if pending and (self._bcast_later is None or not self._bcast_later.active()):
                    self._bcast_later = self.server.reactor.callLater(0, self.broadcast)
        if self.flush_pending:
            self.flush_pending = False
            for target in list(clients.values()):
                st = target.__dict__.get("tracking")
                if st is not None and st.on:
                    self.send(target, None, current)

    def broadcast(self):
        """trackingBroadcastInvalidationMessages: one message per prefix, keys sorted."""
        self._bcast_later = None
        for prefix in sorted(self.prefixes):
            entry = self.prefixes[prefix]
            if not entry.keys:
                continue
            modified = entry.keys
            entry.keys = {}
            ordered = sorted(modified)
            for client in list(entry.clients):
                st = client.__dict__.get("tracking")
                if st is None or not st.on:
                    continue
                if st.noloop:
                    keys = [k for k in ordered if modified[k] is not client]
                    if not keys:
                        continue
                else:
                    keys = ordered
                self.send(client, keys, None)

    def send(self, client, keys, current):
        """sendTrackingMessage: to the client itself (RESP3) or its redirect target."""
        st = client.__dict__.get("tracking")
        target = client
        redirected = False
        if st is not None and st.redirect:
            target = self.server.clients.get(st.redirect)
            if target is None or target.closing:
                st.broken = True
                if client.resp3:
                    self._deliver(client, Push([b"tracking-redir-broken", st.redirect]), current)
                return
            redirected = True
        if target.resp3:
            value = Push([_INVALIDATE, keys])
        elif redirected and target.subscribed:
            value = Push([b"message", _CHANNEL, keys])
        else:
            return    # RESP2 without redirection has no way to receive it
        self._deliver(target, value, current)

    def _deliver(self, target, value, current):
        if target is current and getattr(target, "_out", None) is not None:
            # The running client gets it right after this command's reply.
            if not target.after_reply:
                target.after_reply = []
            target.after_reply.append(value)
            return
        from .pubsub import get_hub
        get_hub(self.server).deliver(target, value)

    # -- enable / disable -----------------------------------------------------------
    def enable(self, client, redirect, bcast, optin, optout, noloop, prefixes):
        st = _state(client)
        if not st.on:
            self.tracking_clients += 1
        st.on = True
        st.broken = st.bcast = st.optin = st.optout = st.noloop = False
        st.redirect = redirect
        if bcast:
            st.bcast = True
            for p in (prefixes or [b""]):
                if p not in st.prefixes:
                    st.prefixes.add(p)
                    entry = self.prefixes.get(p)
                    if entry is None:
                        entry = self.prefixes[p] = _Prefix()
                    entry.clients[client] = None
        st.optin, st.optout, st.noloop = optin, optout, noloop

    def disable(self, client):
        st = client.__dict__.get("tracking")
        if st is None:
            return
        if st.bcast:
            for p in st.prefixes:
                entry = self.prefixes.get(p)
                if entry is not None:
                    entry.clients.pop(client, None)
                    if not entry.clients:
                        del self.prefixes[p]
            st.prefixes = set()
        if st.on:
            self.tracking_clients -= 1
            st.on = st.broken = st.bcast = st.optin = st.optout = st.caching = st.noloop = False

    def info(self):
        """(tracking_total_keys, tracking_total_items, tracking_total_prefixes) for INFO."""
        return len(self.table), sum(len(v) for v in self.table.values()), len(self.prefixes)


# -- commands ---------------------------------------------------------------------------
def _cstr(b):
    """As C's %s prints an argument: up to the first NUL."""
    i = b.find(b"\0")
    return (b if i < 0 else b[:i]).decode("utf-8", "surrogateescape")


def _overlap(a, b):
    n = min(len(a), len(b))
    return a[:n] == b[:n]


@command("client|tracking")
def client_tracking(client, argv):
    server = client.server
    redirect = 0
    bcast = optin = optout = noloop = False
    prefixes = []
    n = len(argv)
    j = 3
    while j < n:
        opt = argv[j].lower()
        more = n - 1 - j
        if opt == b"redirect" and more:
            j += 1
            if redirect != 0:
                raise ReplyError("ERR A client can only redirect to a single other client")
            v = to_int(argv[j])
            if v is None:
                raise ReplyError(errors.NOT_INTEGER)
            target = server.clients.get(v)
            if target is None or (target.closing and target is not client):
                raise ReplyError("ERR The client ID you want redirect to does not exist")
            redirect = v
        elif opt == b"bcast":
            bcast = True
        elif opt == b"optin":
            optin = True
        elif opt == b"optout":
            optout = True
        elif opt == b"noloop":
            noloop = True
        elif opt == b"prefix" and more:
            j += 1
            prefixes.append(bytes(argv[j]))
        else:
            raise _SYNTAX
        j += 1
    mode = argv[2].lower()
    tracker = get_tracker(server)
    if mode == b"on":
        st = client.__dict__.get("tracking")
        on = st is not None and st.on
        if not bcast and prefixes:
            raise ReplyError("ERR PREFIX option requires BCAST mode to be enabled")
        if on and st.bcast != bcast:
            raise ReplyError("ERR You can't switch BCAST mode on/off before disabling tracking "
                             "for this client, and then re-enabling it with a different mode.")
        if bcast and (optin or optout):
            raise ReplyError("ERR OPTIN and OPTOUT are not compatible with BCAST")
        if optin and optout:
            raise ReplyError("ERR You can't specify both OPTIN mode and OPTOUT mode")
        if on and ((optin and st.optout) or (optout and st.optin)):
            raise ReplyError("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking "
                             "for this client, and then re-enabling it with a different mode.")
        error = None
        if bcast:
            existing = sorted(st.prefixes) if st is not None else []
            for i, p in enumerate(prefixes):
                for e in existing:
                    if _overlap(e, p):
                        raise ReplyError(
                            "ERR Prefix '%s' overlaps with an existing prefix '%s'. Prefixes for "
                            "a single client must not overlap." % (_cstr(p), _cstr(e)))
                clash = next((q for q in prefixes[i + 1:] if _overlap(p, q)), None)
                if clash is not None:
                    error = ReplyError(
                        "ERR Prefix '%s' overlaps with another provided prefix '%s'. Prefixes "
                        "for a single client must not overlap." % (_cstr(p), _cstr(clash)))
                    if i == 0:
                        raise error
                    # Redis 7.0's checkPrefixCollisionsOrReply returns the index here,
                    # which reads as success past the first prefix: the error is sent
                    # and tracking is enabled anyway (+OK follows).
                    break
        tracker.enable(client, redirect, bcast, optin, optout, noloop, prefixes)
        if error is not None:
            server.count_error(error.message)
            return Raw(encode(error) + OK.wire)
        return OK
    if mode == b"off":
        tracker.disable(client)
        return OK
    raise _SYNTAX


@command("client|caching")
def client_caching(client, argv):
    st = client.__dict__.get("tracking")
    if st is None or not st.on:
        raise ReplyError("ERR CLIENT CACHING can be called only when the client is in tracking "
                         "mode with OPTIN or OPTOUT mode enabled")
    opt = argv[2].lower()
    if opt == b"yes":
        if not st.optin:
            raise ReplyError("ERR CLIENT CACHING YES is only valid when tracking is enabled in "
                             "OPTIN mode.")
    elif opt == b"no":
        if not st.optout:
            raise ReplyError("ERR CLIENT CACHING NO is only valid when tracking is enabled in "
                             "OPTOUT mode.")
    else:
        raise _SYNTAX
    st.caching = True
    return OK


@command("client|getredir")
def client_getredir(client, argv):
    st = client.__dict__.get("tracking")
    return st.redirect if st is not None and st.on else -1


@command("client|trackinginfo")
def client_trackinginfo(client, argv):
    st = client.__dict__.get("tracking")
    if st is None:
        st = TrackingState()
    flags = [b"on" if st.on else b"off"]
    if st.bcast:
        flags.append(b"bcast")
    if st.optin:
        flags.append(b"optin")
        if st.caching:
            flags.append(b"caching-yes")
    if st.optout:
        flags.append(b"optout")
        if st.caching:
            flags.append(b"caching-no")
    if st.noloop:
        flags.append(b"noloop")
    if st.broken:
        flags.append(b"broken_redirect")
    return Map([(b"flags", Set(flags)), (b"redirect", st.redirect if st.on else -1),
                (b"prefixes", sorted(st.prefixes))])


@on_reset
def _reset(client):
    st = client.__dict__.get("tracking")
    if st is not None and st.on:
        get_tracker(client.server).disable(client)
