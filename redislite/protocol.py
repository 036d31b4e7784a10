"""RESP connections: parse every complete command in a read, run them in order,
answer with one write.

The protocol owns the per-connection state (db, auth, RESP version, name,
MULTI, ...), performs the generic checks driven by the command table (arity,
auth, OOM) and routes single-key commands to the owning shard.  It is the only
place that turns reply values into RESP bytes.
"""

import time as _time
from binascii import crc_hqx as _crc

from twisted.internet import tcp
from twisted.internet.interfaces import ITCPTransport as _ITCP
from twisted.internet.protocol import Factory, Protocol

from . import errors
from .reactor_tuning import FAST_READERS, HELD as _HELD
from . import blocking
from . import clientlimits
from .clientlimits import PauseWaiter as _PauseWaiter
from .clientlimits import REPLY_NOREPLY, REPLY_OFF, REPLY_SKIP, REPLY_SKIP_NEXT
from .commands import registry
from .errors import ReplyError
from .observability.latency import FOLD_AT as _FOLD_AT
from .resp.encoder import _BULK_HDR, _NIL2, _NIL3, _SMALL_INTS, QUEUED, Raw, Status as _Status, encode_into
from .resp.parser import ProtocolError, RequestParser

_perf = _time.perf_counter
#: ord('{'): an int needle is a memchr, several times cheaper than ``b"{" in key``
_LBRACE = 0x7B
_lookup = registry.lookup
_COMMANDS = registry.COMMANDS
BLOCKED = blocking.BLOCKED
_READONLY = ReplyError(errors.READONLY)
_REPLICA_KEYSPACE = ReplyError(errors.REPLICA_KEYSPACE)
_LOADING = ReplyError(errors.LOADING)
#: Commands that run at once inside MULTI instead of being queued (as Redis).
_MULTI_PASSTHROUGH = frozenset(("exec", "discard", "multi", "watch", "quit", "reset"))
_SUBSCRIBED_OK = frozenset(("ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe",
                            "psubscribe", "punsubscribe", "quit", "reset"))
_SUBSCRIBED_ONLY = ("ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                    "RESET are allowed in this context")
_NOAUTH = ReplyError(errors.NOAUTH)
_NO_MULTI = ReplyError(errors.NOT_IN_TRANSACTION)
_OOM = ReplyError(errors.OOM)
_MAXCLIENTS = b"-ERR max number of clients reached\r\n"


def _position(commands, argv):
    """Where *argv* is in *commands* (by identity: equal commands can repeat).
    Only the rare exits of RedisProtocol._run need it, so its loop carries no index."""
    for i, c in enumerate(commands):
        if c is argv:
            return i
    raise ValueError("command not in its batch")


class Client:
    """Connection state shared by RESP connections and internal callers (HTTP, Lua).

    ``argv`` replies go to ``out``: a list of byte chunks the caller writes.
    """

    closing = False
    transport = None
    #: when the output first passed the soft client-output-buffer-limit (pubsub.Hub.check_output_limit)
    obuf_soft_since = None
    #: values to send right after the current command's reply (self-invalidation
    #: pushes of client tracking, as Redis's tracking_pending_keys); see RedisProtocol._run
    after_reply = ()
    #: the ACL user when it is restricted (redislite/acl.py); None = may run anything,
    #: so unrestricted clients pay one attribute test per command
    acl_user = None
    #: while EXEC runs the queued commands, their number (their ACL refusal text differs)
    in_exec = 0

    def __init__(self, server, kind="normal"):
        self.server = server
        self.id = server.next_client_id()
        self.kind = kind
        # Per-command flags live on the instance although the class gives the same
        # defaults: CPython 3.11 specializes an instance attribute load but reads a
        # class default through the generic lookup (~230 instructions, several per request).
        self.closing = False
        self.after_reply = ()
        self.obuf_soft_since = None
        self.in_exec = 0
        self.reply_flags = 0         # CLIENT REPLY OFF/SKIP (clientlimits.REPLY_*); 0 = every reply sent
        self.db = 0
        self.resp3 = False
        self.name = None
        self.lib_name = None
        self.lib_ver = None
        self.user = "default"
        acl = server.acl
        self.authenticated = not acl.default_needs_auth()
        # an instance attribute: execute's test costs ~5 ns, a class attribute's ~40 ns
        self.acl_user = None
        if kind == "normal" and acl.default_restricted:
            # internal clients (master link, AOF loading, Lua) run unchecked, as Redis's user NULL
            self.acl_user = acl.default
        self.created = server.reactor.seconds()
        self.last_interaction = self.created
        self.last_cmd = "NULL"
        self.multi = None            # list of queued argv while in MULTI (transactions)
        self.multi_error = False
        self.watch_dirty = False
        self.no_evict = False
        self.no_touch = False
        self.blocked = None          # a blocking.Waiter while parked on keys
        self.no_block = False        # set during EXEC and scripts: blocking commands return at once
        self.pushed = []             # out-of-band replies for clients with no transport
        self.subscribed = False      # in pub/sub mode (maintained by the pubsub family)
        #: a MONITOR or replica connection (Redis's CLIENT_SLAVE): refused the keyspace
        self.keyspace_denied = False
        self.channels = set()
        self.patterns = set()
        self.shard_channels = set()
        self.addr = "?"
        self.laddr = "?"
        self.fd = -1

    # -- execution -----------------------------------------------------------
    def execute(self, argv):
        """Run one command and return its reply value (never raises ReplyError).

        The checks follow Redis's processCommand order: lookup, arity, auth,
        OOM.  The shard dispatch is ``Shard.execute`` inlined: this is the hot
        path and a call layer costs as much as a GET.
        """
        server = self.server
        spec = _COMMANDS.get(argv[0]) or _lookup(argv[0])
        if spec is None:
            return self._reject(errors.unknown_command(argv[0], argv[1:]))
        n = len(argv)
        if spec.container and n >= 2:
            sub = spec.subcommands.get(argv[1].lower())
            if sub is None:
                return self._reject(errors.unknown_subcommand(argv[1], spec.fullname))
            spec = sub
        a = spec.arity
        if (n != a) if a >= 0 else (n < -a):
            spec.rejected += 1
            return self._reject(errors.wrong_arity(spec.fullname), spec)
        if spec.protected is not None:
            refusal = clientlimits.protected_command_refusal(self, spec)   # DEBUG, MODULE LOAD...
            if refusal is not None:
                spec.rejected += 1
                return self._reject(refusal, spec)
        if not self.authenticated and not spec.noauth and server.acl.default_needs_auth():
            spec.rejected += 1
            return self._reject(_NOAUTH, spec)
        if self.multi is not None and "no_multi" in spec.flags:
            spec.rejected += 1      # PSYNC, SYNC, SAVE, SHUTDOWN (Redis's CMD_NO_MULTI)
            return self._reject(_NO_MULTI, spec)
        if self.acl_user is not None:
            refusal = server.acl.check_client(self, spec, argv)
            if refusal is not None:
                spec.rejected += 1
                return self._reject(refusal, spec)
        if spec.denyoom and server.maxmemory and not self.no_evict and not server.make_room():
            spec.rejected += 1
            return self._reject(_OOM, spec)
        if server.gated or self.subscribed or self.keyspace_denied:
            refusal = self._gates(server, spec)
            if refusal is not None:
                if refusal is BLOCKED:
                    return refusal          # postponed by CLIENT PAUSE (clientlimits.Pause)
                spec.rejected += 1
                return self._reject(refusal, spec)
        if self.multi is not None and spec.fullname not in _MULTI_PASSTHROUGH:
            self.multi.append(argv)
            return QUEUED
        self.last_cmd = spec.fullname
        start = _perf()
        try:
            if spec.shard_op:
                key = argv[1]           # Router.shard_for, inlined
                shard = (server.router.by_crc[_crc(key, 0)] if _LBRACE not in key
                         else server.router.shard_for(key))
                reply = spec.handler(shard.dbs[self.db], argv)
            else:
                reply = spec.handler(self, argv)
        except ReplyError as e:
            reply = e
        usec = (_perf() - start) * 1e6
        if type(reply) is ReplyError:
            spec.failed += 1
            server.count_error(reply.message)
            for hook in server.error_hooks:
                hook(self, spec, argv, reply)
        elif reply is BLOCKED:
            # Counted now; Redis records a blocked command's latency when it is served.
            spec.calls += 1
            spec.usec += usec
            if server.command_observers:
                for observe in server.command_observers:
                    observe(self, spec, argv, usec, reply)
            return reply
        if usec >= server.outlier_usec:
            # slow log, latency monitor; a sample past the histogram's range comes back clamped
            usec = server.introspection.outlier(self, spec, argv, usec)
        pending = server.lat_pending
        if pending is not None:
            # latency.sample(spec, usec), inlined; the fold also counts the command's
            # calls and usec (INFO commandstats), so they cost nothing here
            pending.append(spec.lat_base + usec)
            if len(pending) > _FOLD_AT:
                server.introspection.fold()
        else:
            spec.usec += usec
            spec.calls += 1
        if server.command_observers:
            for observe in server.command_observers:
                observe(self, spec, argv, usec, reply)
        return reply

    def _gates(self, server, spec):
        """The rarer refusals, in Redis's processCommand order (after OOM):
        MISCONF, NOREPLICAS, READONLY replica, RESP2 subscribed context, MASTERDOWN (a replica
        whose link is down with replica-serve-stale-data no), LOADING, BUSY."""
        if server.write_error is not None and (spec.is_write or spec.fullname == "ping") \
                and self.kind != "master":
            return server.write_error
        if server.noreplicas_error is not None and spec.is_write:
            return server.noreplicas_error          # min-replicas-to-write (replication/master.py)
        if server.read_only and spec.is_write and self.kind != "master":
            return _READONLY
        if self.subscribed and not self.resp3 and spec.fullname not in _SUBSCRIBED_OK:
            return ReplyError(_SUBSCRIBED_ONLY % spec.fullname)
        if self.keyspace_denied and ("readonly" in spec.flags or clientlimits.may_replicate(self, spec)):
            return _REPLICA_KEYSPACE    # so a replica or monitor cannot slip past CLIENT PAUSE
        if server.stale_error is not None and "stale" not in spec.flags and self.kind != "master":
            return server.stale_error
        if server.loading and "loading" not in spec.flags:
            return _LOADING
        if server.busy_error is not None and "allow_busy" not in spec.flags:
            return server.busy_error
        if server.pause_type:
            return server.pause.gate(self, spec)    # CLIENT PAUSE: BLOCKED (postponed) or None
        return None

    def _reject(self, error, spec=None):
        self.server.count_error(error.message)
        if self.multi is not None:
            if spec is not None and spec.fullname == "exec":
                # Redis's execCommandAbort: a refused EXEC discards the transaction.
                from .commands.transactions import discard_transaction
                discard_transaction(self)
                reason = error.message[4:] if error.message.startswith("ERR ") else error.message
                return ReplyError("EXECABORT Transaction discarded because of: " + reason)
            self.multi_error = True    # queueing error: EXEC will answer EXECABORT
        return error

    def dispatch(self, argv):
        """Run a top-level command, then serve clients blocked on keys it made ready.

        Commands run inside EXEC or a script go through :meth:`execute` only,
        so waiters wake after the whole transaction or script, as in Redis.
        """
        reply = self.execute(argv)
        if self.server.ready_keys:
            blocking.serve_ready_keys(self.server.ready_keys)
        return reply

    def send(self, value):
        """Deliver an out-of-band reply (unblocked pop, pub/sub message, push)."""
        self.pushed.append(value)

    def unblocked(self, reply):
        """Called by blocking.py when this client's wait ends with *reply*."""
        self.send(reply)

    def abort(self):
        """Drop the connection now, discarding its queued output (Redis's
        freeClient after an output-buffer limit or a replication drop)."""
        self.closing = True
        self.server.remove_client(self)
        t = self.transport
        if t is not None:
            abort = getattr(t, "abortConnection", None)
            if abort is not None:
                abort()             # Twisted never writes what it buffers after this...
                if self in _HELD.pending:
                    _HELD.pending.remove(self)  # ...nor may the held-replies pass (reactor_tuning)
            else:
                t.loseConnection()

    def close(self):
        """Close the connection after pending replies (CLIENT KILL, timeout)."""
        self.closing = True
        if self.transport is not None:
            self.transport.loseConnection()

    def call(self, *args):
        """Convenience for internal callers and tests: run argv given as str/bytes/int."""
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        return self.execute(argv)


class RedisProtocol(Protocol, Client):
    """One RESP client connection."""

    def __init__(self, server):
        Client.__init__(self, server)
        self._pending = None            # instance attributes, as in Client.__init__
        self._pending_error = None
        self._pending_bytes = 0
        self._direct = False
        self.parser = RequestParser(server.proto_max_bulk_len, server.client_query_buffer_limit)
        self.parser.auth_required = not self.authenticated

    def connectionMade(self):
        server = self.server
        # Only plain TCP transports expose writeSomeData with send() semantics.
        self._direct = isinstance(self.transport, tcp.Connection) and not getattr(self.transport, "TLS", False)
        peer = self.transport.getPeer()
        host = self.transport.getHost()
        self.addr = "%s:%s" % (getattr(peer, "host", "?"), getattr(peer, "port", 0))
        self.laddr = "%s:%s" % (getattr(host, "host", "?"), getattr(host, "port", 0))
        try:
            self.fd = self.transport.fileno()
        except Exception:
            self.fd = -1
        if len(server.clients) >= server.maxclients:
            server.rejected_connections += 1
            server.unissue_client_id(self.id)
            self.transport.write(_MAXCLIENTS)
            self.closing = True
            self.transport.loseConnection()
            return
        if _ITCP.providedBy(self.transport) and clientlimits.protected_refusal(server, peer.host):
            server.rejected_connections += 1
            self.transport.write(clientlimits.DENIED)
            self.closing = True
            self.transport.loseConnection()
            return
        clientlimits.tune_socket(clientlimits.transport_socket(self.transport), server.config["tcp-keepalive"])
        server.add_client(self)
        if self._direct:
            self._send = self.transport.socket.send
            t = self.transport
            # _write and reactor_tuning.flush read these per request; Twisted keeps their
            # defaults on the class until first changed: copy them onto the instance
            # (same values) so those reads are specialized instance loads.
            t.dataBuffer = t.dataBuffer
            t.disconnecting = t.disconnecting
        if self._direct and self.fd >= 0:
            self._recv = self.transport.socket.recv
            FAST_READERS[self.fd] = self._fast_read

    def _fast_read(self):
        """One read straight from the socket (reactor_tuning's lean poll calls it).

        False hands the event back to Twisted's path: EOF and errors are
        its business (connectionLost and the rest)."""
        try:
            data = self._recv(65536)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not data:
            return False
        self.dataReceived(data)
        return True

    def connectionLost(self, reason=None):
        if FAST_READERS.get(self.fd) == self._fast_read:
            del FAST_READERS[self.fd]
        self.closing = True
        blocking.cancel(self)
        self.server.remove_client(self)

    def dataReceived(self, data):
        server = self.server
        server.net_input_bytes += len(data)
        if self.closing:
            return
        # The batch's time, read once: it is what every command in it sees (Now)
        # and the client's last interaction.
        self.last_interaction = server.now.refresh() / 1000
        error = None
        try:
            commands = self.parser.feed(data)
        except ProtocolError as e:
            commands = e.commands
            error = e
        if self.blocked is not None or self._pending is not None:
            # A blocked client's later commands wait, as Redis leaves them in its query buffer,
            # which client-query-buffer-limit bounds: past it the client is dropped silently.
            self._queue(commands, error)
            self._pending_bytes += len(data)
            if self._pending_bytes > self.parser.max_query_buffer and self.kind != "master":
                self.abort()
            return
        self._run(commands, error)

    def _queue(self, commands, error):
        if self._pending is None:
            self._pending = []
        self._pending.extend(commands)
        if error is not None and self._pending_error is None:
            self._pending_error = error

    def _run(self, commands, error):
        """Execute parsed commands in order and answer with one write.

        The caller has refreshed ``server.now`` (dataReceived, _resume)."""
        server = self.server
        parser = self.parser
        out = []
        append = out.append
        execute = self.execute
        ready_keys = server.ready_keys
        # Out-of-band values for this very client (a message it published to
        # itself) join the replies in order instead of overtaking them.
        self._out = out
        try:
            while True:
                server.total_commands += len(commands)
                for argv in commands:
                    # Client.dispatch, inlined: run, then serve clients it unblocked.
                    reply = execute(argv)
                    if ready_keys:
                        blocking.serve_ready_keys(ready_keys)
                    if self.reply_flags and reply is not BLOCKED and self._reply_dropped(reply):
                        self.after_reply = ()       # its pushes go with it
                        if self.closing:
                            server.total_commands -= len(commands) - _position(commands, argv) - 1
                            break
                        continue
                    t = type(reply)
                    if t is _Status:
                        append(reply.wire)
                    elif t is bytes and len(reply) < 1024:
                        append(_BULK_HDR[len(reply)])
                        append(reply)
                        append(b"\r\n")
                    elif t is int:
                        # SADD, HSET, ZADD, LPUSH, DEL...: encode_into's int branch, inlined
                        append(_SMALL_INTS[reply + 1] if -1 <= reply < 1023 else b":%d\r\n" % reply)
                    elif reply is None:
                        append(_NIL3 if self.resp3 else _NIL2)     # a GET miss
                    elif reply is BLOCKED:
                        i = _position(commands, argv)
                        if type(self.blocked) is _PauseWaiter:
                            i -= 1          # postponed by CLIENT PAUSE: it runs again on unpause
                        server.total_commands -= len(commands) - i - 1
                        rest = commands[i + 1:]
                        if rest or error is not None:
                            self._queue(rest, error)
                        error = None
                        break
                    else:
                        encode_into(reply, out, self.resp3)
                        if len(out) >= 1024 or (t is bytes and len(reply) >= 65536):
                            self._spill(out)    # big replies: bounded `out`, output limits checked
                    if self.after_reply:
                        for value in self.after_reply:
                            encode_into(value, out, self.resp3)
                        self.after_reply = ()
                    if self.closing:
                        server.total_commands -= len(commands) - _position(commands, argv) - 1
                        break
                else:
                    # After AUTH, a big command held back by the unauthenticated limits
                    # is parsed now, as Redis does after running the AUTH.
                    if error is None and not self.closing and parser.resume_needed:
                        try:
                            commands = parser.feed(b"")
                        except ProtocolError as e:
                            commands = e.commands
                            error = e
                        continue
                break
        finally:
            self._out = None
        if error is not None and not self.closing:
            self.closing = True
            if error.silent:
                # Cross-protocol (POST/Host:) or query buffer overflow: Redis sends
                # nothing at all, not even the replies of earlier commands.
                out = []
            else:
                out.append(error.reply)
        if out:
            payload = b"".join(out) if len(out) > 1 else out[0]
            server.net_output_bytes += len(payload)
            self._write(payload)
        if self.closing:
            self.transport.loseConnection()

    def _reply_dropped(self, reply):
        """CLIENT REPLY: whether this command's reply is dropped (pub/sub frames never
        are); then SKIP lasts one command and SKIP_NEXT becomes SKIP, as Redis's
        resetClient does."""
        f = self.reply_flags
        dropped = f & (REPLY_OFF | REPLY_SKIP | REPLY_NOREPLY)
        f &= ~(REPLY_SKIP | REPLY_NOREPLY)
        if f & REPLY_SKIP_NEXT:
            f = (f | REPLY_SKIP) & ~REPLY_SKIP_NEXT
        self.reply_flags = f
        return dropped and not (type(reply) is Raw and reply.pushed)

    def _spill(self, out):
        """Write the replies gathered so far in this batch (out is emptied in place,
        ``send`` appends to the same list), so a pipeline of big replies never holds
        them all at once and the output-buffer limit sees them as Redis would."""
        payload = b"".join(out)
        del out[:]
        server = self.server
        server.net_output_bytes += len(payload)
        hold = server.before_reply
        if hold is not None and hold(self, payload):
            return          # appendfsync always: sent after this turn's AOF fsync (persistence)
        # Queued, not sent: Redis writes a batch's replies only after running it, so a
        # client over its limit gets none of them (the limit sees everything queued).
        self.transport.write(payload)
        if server.obuf_normal_at is not None:
            clientlimits.check_output(self)

    def _resume(self):
        """Run the commands that arrived while this client was blocked."""
        if self.closing or self.blocked is not None or self._pending is None:
            return
        commands, error = self._pending, self._pending_error
        self._pending = self._pending_error = None
        self._pending_bytes = 0
        self.server.now.refresh()
        self._run(commands, error)

    _out = None

    def send(self, value):
        if self.closing:
            return
        if self._out is not None:
            encode_into(value, self._out, self.resp3)
            return
        out = []
        encode_into(value, out, self.resp3)
        payload = b"".join(out)
        self.server.net_output_bytes += len(payload)
        self._write(payload)

    def unblocked(self, reply):
        self.send(reply)
        if self._pending is not None:
            self.server.reactor.callLater(0, self._resume)

    def _send(self, payload):
        """Send what the kernel takes; connectionMade replaces this with the
        socket's own ``send`` on a plain TCP connection."""
        return self.transport.writeSomeData(payload)

    def _write(self, payload):
        """Send now when the transport has nothing queued, else queue.

        Twisted's transport.write only buffers; the send happens on a later
        reactor iteration after another epoll round.  Sending at once saves
        that round per request, which is most of an unpipelined command's cost.
        """
        server = self.server
        hold = server.before_reply
        if hold is not None and hold(self, payload):
            return          # appendfsync always: sent after this turn's AOF fsync (persistence)
        t = self.transport
        if self._direct and _HELD.active and not t.disconnecting:
            # Sent at the end of this poll iteration (reactor_tuning.HeldReplies),
            # behind anything already in the transport's buffer.
            if not t._tempDataLen:
                _HELD.pending.append(self)
            t._tempDataBuffer.append(payload)
            n = t._tempDataLen = t._tempDataLen + len(payload)
            at = server.obuf_normal_at      # None unless client-output-buffer-limit normal is set
            if at is not None and (n >= at or t.dataBuffer or self.obuf_soft_since is not None):
                clientlimits.check_output(self)
            return
        if self._direct and not t.dataBuffer and not t._tempDataLen and not t.disconnecting:
            # socket.send itself (writeSomeData minus two layers); any error,
            # EAGAIN included, leaves the bytes to Twisted's buffered path.
            try:
                n = self._send(payload)
            except OSError:
                n = 0
            if n == len(payload):
                return
            if n:
                payload = payload[n:]
        t.write(payload)
        if server.obuf_normal_at is not None:
            clientlimits.check_output(self)

    def authenticated_now(self):
        self.authenticated = True
        self.parser.auth_required = False


class RedisFactory(Factory):
    def __init__(self, server):
        self.server = server

    def buildProtocol(self, addr):
        return RedisProtocol(self.server)
