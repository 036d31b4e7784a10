"""Client limits: protected mode, TCP keepalive, idle timeout, normal-class
output-buffer limits and CLIENT PAUSE, as Redis 7.0 does them.

* **Protected mode** (Redis's clientAcceptHandler): with ``protected-mode
  yes`` and no password for the default user, a connection whose peer address
  is not literally ``127.0.0.1`` or ``::1`` gets :data:`DENIED` and is closed.
  In 7.0 ``bind`` plays no part (checked against redis-server 7.0.15: an
  explicit ``--bind 0.0.0.0`` or the default ``* -::*`` both refuse; a
  connection from 127.0.0.2 is refused too, Redis compares the address text).
  RedisLite's default bind is loopback, so this only matters when an operator
  binds another interface.
* **Socket options** (createClient): TCP_NODELAY on every client; keepalive
  (anetKeepAlive): SO_KEEPALIVE, TCP_KEEPIDLE = interval,
  TCP_KEEPINTVL = interval / 3 (at least 1), TCP_KEEPCNT = 3.
* **Idle timeout** (clientsCronHandleTimeout): replicas, monitors, the master
  link, blocked (and paused) clients and pub/sub clients are never closed.
* **CLIENT PAUSE** (pauseClients / blockPostponeClient): see :class:`Pause`.

The output-buffer limit decision is :func:`output_limit_reached`, for every
class: the pub/sub hub uses it for pubsub and normal clients
(``pubsub.Hub.check_output_limit``, which :func:`check_output` calls for a RESP
connection whose replies queue up) and the replication master for replicas.
"""

import socket

from .blocking import BLOCKED, Waiter, _release
from .errors import ReplyError

DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no "
    b"password is set for the default user. In this mode connections are only accepted from "
    b"the loopback interface. If you want to connect from external computers to Redis you may "
    b"adopt one of the following solutions: 1) Just disable protected mode sending the command "
    b"'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the "
    b"same host the server is running, however MAKE SURE Redis is not publicly accessible from "
    b"internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
    b"you can just disable the protected mode by editing the Redis configuration file, and "
    b"setting the protected mode option to 'no', and then restarting the server. 3) If you "
    b"started the server manually just for testing, restart it with the '--protected-mode no' "
    b"option. 4) Setup a an authentication password for the default user. NOTE: You only need "
    b"to do one of the above things in order for the server to start accepting connections from "
    b"the outside.\r\n")

#: Peer addresses Redis counts as local (islocalClient compares the text).
#: The IPv4-mapped form only occurs on a dual-stack listener, which Redis
#: never has (it sets IPV6_V6ONLY); it is the same loopback peer.
LOCAL_ADDRESSES = frozenset(("127.0.0.1", "::1", "::ffff:127.0.0.1"))


# -- protected mode ------------------------------------------------------------------
def protected_refusal(server, peer_host):
    """True when a connection from *peer_host* must get :data:`DENIED`."""
    if not server.config["protected-mode"]:
        return False
    if server.default_user_has_password():
        return False
    return peer_host not in LOCAL_ADDRESSES


#: CLIENT REPLY state in ``Client.reply_flags`` (Redis's CLIENT_REPLY_* flags):
#: OFF drops every reply, SKIP drops the current command's, SKIP_NEXT becomes
#: SKIP for the next command, NOREPLY drops the reply of CLIENT REPLY SKIP itself
#: (RedisProtocol._reply_dropped applies them).
REPLY_OFF, REPLY_SKIP, REPLY_SKIP_NEXT, REPLY_NOREPLY = 1, 2, 4, 8


def is_local_client(client):
    """Redis's islocalClient: a loopback peer, or an internal client (AOF, Lua, HTTP)."""
    addr = client.addr or ""
    return addr.startswith("127.") or addr.startswith("::1") or addr.startswith("[::1]") \
        or client.kind != "normal" or addr in ("?", "")


_PROTECTED = ("ERR %s command not allowed. If the %s option is set to \"local\", you can run it "
              "from a local connection, otherwise you need to set this option in the configuration "
              "file, and then restart the server.")


def protected_command_refusal(client, spec):
    """The refusal of a protected command (DEBUG, MODULE LOAD...) its setting does
    not allow for this client, or None (processCommand's allowProtectedAction)."""
    setting = client.server.config[spec.protected]
    if setting == "yes" or (setting == "local" and is_local_client(client)):
        return None
    name = "DEBUG" if spec.protected == "enable-debug-command" else "MODULE"
    return ReplyError(_PROTECTED % (name, spec.protected))


# -- socket options of an accepted client ----------------------------------------------------------
def tune_socket(sock, keepalive):
    """What Redis's createClient does to every client socket: TCP_NODELAY, and
    keepalive when ``tcp-keepalive`` is set."""
    if sock is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass
    if keepalive:
        set_keepalive(sock, keepalive)


# -- keepalive -------------------------------------------------------------------------
def set_keepalive(sock, interval):
    """Redis's anetKeepAlive on an accepted socket; errors are ignored (as Redis
    only logs them)."""
    if not interval or sock is None:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if hasattr(socket, "TCP_KEEPIDLE"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, interval)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(1, interval // 3))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
    except OSError:
        return False
    return True


def transport_socket(transport):
    """The TCP socket under a transport: the transport's own (plain TCP) or the
    one under a TLS wrapper (TLSMemoryBIOProtocol's ``transport``)."""
    for _ in range(3):
        if transport is None:
            return None
        sock = getattr(transport, "socket", None)
        if sock is not None:
            return sock
        transport = getattr(transport, "transport", None)
    return None


# -- idle timeout ------------------------------------------------------------------------
def timeout_exempt(client):
    """Clients the idle ``timeout`` never closes (Redis: replicas and monitors,
    the master, blocked clients, pub/sub clients)."""
    if client.kind != "normal" or client.blocked is not None:
        return True
    return bool(client.channels or client.patterns or client.shard_channels)


# -- output buffer limits ----------------------------------------------------------------------
def output_limit_reached(used, limits, soft_since, now):
    """Redis's checkClientOutputBufferLimits for one client: *used* bytes queued,
    *limits* ``(hard, soft, seconds)``, *soft_since* when it first passed the soft
    limit (None if it is under).  Returns ``(over, soft_since)``: over the hard
    limit, or over the soft one for more than its seconds; the soft clock starts
    the first time it is passed and stops once the client is back under it."""
    hard, soft, seconds = limits
    if hard and used >= hard:
        return True, soft_since
    if soft and used >= soft:
        if soft_since is None:
            return False, now
        return now - soft_since > seconds, soft_since
    return False, None


#: The master link gets no replies; replicas' limits are replication/master.py's.
_OWN_LIMITS = frozenset(("master", "replica", "slave"))


def check_output(client):
    """Enforce client-output-buffer-limit on a RESP client whose output queues up
    (the reply did not all go to the kernel).  True when the client was dropped."""
    if client.closing or client.kind in _OWN_LIMITS:
        return False
    from .pubsub import get_hub
    return get_hub(client.server).check_output_limit(client)


# -- CLIENT PAUSE -----------------------------------------------------------------------------
PAUSE_OFF, PAUSE_WRITE, PAUSE_ALL = 0, 1, 2

#: Commands without the ``write`` flag that Redis 7.0 still pauses under
#: ``CLIENT PAUSE WRITE`` (CMD_MAY_REPLICATE, not shown by COMMAND INFO);
#: found by running every non-write command against redis-server 7.0.15.
MAY_REPLICATE = frozenset(("eval", "evalsha", "fcall", "publish", "spublish", "pfcount"))

#: Client kinds never paused: replicas, the master link (and internal clients).
_NEVER_PAUSED = frozenset(("replica", "slave", "master", "lua"))


class PauseWaiter(Waiter):
    """The blocked state of a client whose command is postponed by CLIENT PAUSE
    (Redis's BLOCKED_POSTPONE): no keys, no timeout; CLIENT LIST shows ``b``
    and INFO counts it in blocked_clients, as Redis does."""

    __slots__ = ()
    postponed = True

    def __init__(self, client):
        Waiter.__init__(self, client, client.db, _no_retry, None)


def _no_retry():
    return None


def may_replicate(client, spec):
    """Whether *spec* is paused by CLIENT PAUSE WRITE (Redis's is_may_replicate_command)."""
    if spec.is_write or spec.fullname in MAY_REPLICATE:
        return True
    if spec.fullname == "exec" and client.multi:
        from .commands.registry import lookup
        for argv in client.multi:
            s = lookup(argv[0])
            if s is not None and s.container and len(argv) > 1:
                s = s.subcommands.get(argv[1].lower(), s)
            if s is not None and (s.is_write or s.fullname in MAY_REPLICATE):
                return True
    return False


class Pause:
    """The server's pause state (``server.pause``).

    ``pause(end, kind)`` keeps the strongest kind and the latest end, as
    pauseClients does; the end is a ``callLater`` on the injected clock.
    While paused, expiry deletes nothing and eviction is skipped (Redis: "the
    dataset should be static"): each shard is put in the replica view, where
    an expired key is hidden but not deleted and the active cycle is off.
    Postponed clients keep their order and run again when the pause ends.
    """

    def __init__(self, server):
        self.server = server
        self.kind = PAUSE_OFF
        self.end = 0.0
        self._timer = None
        self.postponed = []
        self._frozen = []

    def pause(self, end, kind):
        """Pause until *end* (reactor seconds); an end already past pauses nothing
        (Redis's CLIENT PAUSE 0, or a timeout that wraps)."""
        server = self.server
        now = server.reactor.seconds()
        if max(end, self.end) <= now:
            if self.kind:
                self.unpause()
            return
        if kind > self.kind:
            self.kind = kind
        if end > self.end or self._timer is None:
            self.end = max(end, self.end)
            if self._timer is not None and self._timer.active():
                self._timer.cancel()
            self._timer = server.reactor.callLater(self.end - now, self._expired)
        for shard in server.shards:
            if not shard.replica_mode:
                shard.replica_mode = True
                self._frozen.append(shard)
        server.pause_type = self.kind

    def _expired(self):
        self._timer = None
        if self.server.reactor.seconds() >= self.end:
            self.unpause()
        else:
            self._timer = self.server.reactor.callLater(self.end - self.server.reactor.seconds(),
                                                        self._expired)

    def unpause(self):
        """End the pause (timeout or CLIENT UNPAUSE) and run the postponed clients."""
        server = self.server
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self.kind = PAUSE_OFF
        self.end = 0.0
        server.pause_type = PAUSE_OFF
        for shard in self._frozen:
            if server.replica_of is None and shard.replica_mode is True:
                shard.replica_mode = False
        self._frozen = []
        waiting, self.postponed = self.postponed, []
        for client in waiting:
            w = client.blocked
            if type(w) is PauseWaiter:
                _release(w)
        if waiting:
            server.reactor.callLater(0, self._resume, waiting)

    @staticmethod
    def _resume(clients):
        for client in clients:
            resume = getattr(client, "_resume", None)
            if resume is not None and not client.closing:
                resume()

    def gate(self, client, spec):
        """From Client._gates: BLOCKED when the command must wait, else None."""
        if client.no_block or client.kind in _NEVER_PAUSED or client.transport is None:
            return None
        if self.kind == PAUSE_WRITE and not may_replicate(client, spec):
            return None
        client.last_cmd = spec.fullname
        client.blocked = PauseWaiter(client)
        self.server.blocked_clients += 1
        self.postponed.append(client)
        return BLOCKED


def normal_output_threshold(config):
    """The smallest non-zero normal-class client-output-buffer-limit (hard or soft),
    or None when the normal class is unlimited (Redis's default ``normal 0 0 0``)."""
    try:
        entries = config["client-output-buffer-limit"]
    except (KeyError, TypeError):
        return None
    for name, hard, soft, _secs in entries:
        if name == "normal":
            sizes = [x for x in (hard, soft) if x]
            return min(sizes) if sizes else None
    return None


# -- maxclients and the open files limit ----------------------------------------------------------------
#: File descriptors Redis keeps for itself beyond maxclients (CONFIG_MIN_RESERVED_FDS).
RESERVED_FDS = 32


def adjust_open_files_limit(maxclients):
    """Redis's adjustOpenFilesLimit at start: raise RLIMIT_NOFILE to maxclients + 32
    (or as close as the OS allows, 16 at a time); when it stays lower, maxclients
    becomes the limit - 32.  Returns ``(maxclients, warnings)``."""
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError) as e:
        return 1024 - RESERVED_FDS, [
            "Unable to obtain the current NOFILE limit (%s), assuming 1024 and setting the max "
            "clients configuration accordingly." % e]
    want = maxclients + RESERVED_FDS
    if soft == resource.RLIM_INFINITY or soft >= want:
        return maxclients, []
    best, error = want, None
    while best > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (best, best))
            break
        except (OSError, ValueError) as e:
            error = e
            if best < 16:
                best = soft
                break
            best -= 16
    best = max(best, soft)
    if best >= want:
        return maxclients, ["Increased maximum number of open files to %d (it was originally set "
                            "to %d)." % (best, soft)]
    if best <= RESERVED_FDS:
        raise SystemExit("Your current 'ulimit -n' of %d is not enough for the server to start. "
                         "Please increase your open file limit to at least %d. Exiting."
                         % (soft, want))
    reason = getattr(error, "strerror", None) or str(error)
    return best - RESERVED_FDS, [
        "You requested maxclients of %d requiring at least %d max file descriptors." % (maxclients, want),
        "Server can't set maximum open files to %d because of OS error: %s." % (want, reason),
        "Current maximum open files is %d. maxclients has been reduced to %d to compensate for low "
        "ulimit. If you need higher maxclients increase 'ulimit -n'." % (best, best - RESERVED_FDS)]
