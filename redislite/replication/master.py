"""The master side of replication: PSYNC/SYNC, the stream to replicas, WAIT, min-replicas.

One :class:`ReplicationMaster` per server (``server.repl_master``, see
:func:`master_of`).  It follows Redis 7.0's ``replication.c``:

* **The stream.**  A bus subscriber encodes every write event ``(db, argv)``
  as RESP, with a ``SELECT`` when the database changes, and hands it to
  ``server.repl.feed`` (which advances ``master_repl_offset`` and fills the
  backlog).  As in Redis nothing is fed before the first replica creates the
  backlog, and nothing is fed while we are ourselves a replica: then the
  replica side feeds our master's bytes verbatim.  The bytes of one reactor
  turn reach the replicas in one write per replica (Redis writes in
  ``beforeSleep``).  PINGs every ``repl-ping-replica-period``; expired keys
  already arrive as ``DEL`` events.
* **Partial resync.**  ``PSYNC <replid> <offset>`` answers ``+CONTINUE`` when
  (replid, or replid2 up to ``second_repl_offset``) and the offset fall inside
  the backlog, then sends the backlog tail.
* **Full resync.**  A forked child writes the RDB (a point-in-time view: the
  fork happens between two commands).  Disk mode: to a temp file in ``dir``,
  then the parent streams ``$<len>\\r\\n`` + the file with a pull producer
  (the transport's backpressure).  Diskless (``repl-diskless-sync yes`` and a
  replica that sent ``capa eof``): the child writes ``+FULLRESYNC``,
  ``$EOF:<mark>``, the RDB and the mark straight to the replica sockets, after
  ``repl-diskless-sync-delay`` (a timer, never a sleep) to gather replicas.
  Writes arriving meanwhile are kept per replica and sent once it is online.
* **Output limits.**  ``client-output-buffer-limit replica``: what a replica
  has pending (held stream + transport buffer) is checked after every write;
  past the hard limit, or the soft one for longer than its seconds, the
  replica is dropped.
* **WAIT**, ``min-replicas-to-write``/``min-replicas-max-lag`` (the
  ``-NOREPLICAS`` gate), ``ROLE`` and INFO replication read the replicas'
  ``REPLCONF ACK`` offsets.
"""

import gc
import os
import select
import signal
import socket
import struct
import sys
import time

from twisted.internet import task
from twisted.internet.interfaces import ISSLTransport
from twisted.logger import Logger

from .. import blocking, errors
from ..commands.args import to_int
from ..clientlimits import output_limit_reached
from ..errors import ReplyError
from ..persistence import diskio
from ..persistence import rdb as _rdb
from ..persistence.aof import select_cmd
from ..persistence.crc64 import crc64
from ..resp.encoder import Raw
from ..resp.parser import ProtocolError
from .state import REPLID_LEN, new_replid

log = Logger(namespace="redislite.replication")

#: A command that sends nothing back (REPLCONF ACK/GETACK, PSYNC/SYNC that answer on their own).
NOREPLY = Raw(b"")
PING = b"*1\r\n$4\r\nping\r\n"                      # Redis's shared.ping, lower case
GETACK = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"
NULL_REPLID = "0" * REPLID_LEN

# Replica states (Redis's SLAVE_STATE_*)
WAIT_BGSAVE_START, WAIT_BGSAVE_END, SEND_BULK, ONLINE = range(4)
STATE_NAMES = ("wait_bgsave", "wait_bgsave", "send_bulk", "online")

# REPLCONF rdb-filter-only (Redis's SLAVE_REQ_*)
REQ_EXCLUDE_DATA = 1
REQ_EXCLUDE_FUNCTIONS = 2

#: bytes per read of a disk-based RDB sent to a replica
SEND_CHUNK = 256 * 1024
#: bytes checksummed (and written) at a time by a snapshot child
CRC_BLOCK = 1 << 20
#: Redis's NET_HOST_STR_LEN
_HOST_STR_LEN = 256
CRON_HZ = 10

_NOREPLICAS = ReplyError(errors.NOREPLICAS)
_NOT_INT = ReplyError(errors.NOT_INTEGER)


def master_of(server):
    """The server's ReplicationMaster, created on first use."""
    m = server.__dict__.get("repl_master")
    if m is None:
        m = ReplicationMaster(server)
    return m


class ReplConf:
    """What a connection said with REPLCONF before (and after) PSYNC."""

    __slots__ = ("port", "ip", "capa_eof", "capa_psync2", "rdb_only", "req")

    def __init__(self):
        self.port = 0
        self.ip = None
        self.capa_eof = False
        self.capa_psync2 = False
        self.rdb_only = False
        self.req = 0


def replconf_of(client):
    conf = getattr(client, "replconf", None)
    if conf is None:
        conf = client.replconf = ReplConf()
    return conf


class Replica:
    """One replica attached to us (Redis keeps this state in the client)."""

    __slots__ = ("client", "conf", "state", "ack_off", "ack_time", "pending", "pending_len",
                 "pre_psync", "initial_offset", "stream_on_ack", "soft_since", "job", "sender",
                 "since", "early_ack")

    def __init__(self, client, conf, now):
        self.client = client
        self.conf = conf
        self.state = WAIT_BGSAVE_START
        self.ack_off = 0
        self.ack_time = int(now)        # Redis's repl_ack_time (unixtime)
        self.pending = []               # stream bytes held while the RDB is made and sent
        self.pending_len = 0
        self.pre_psync = False          # legacy SYNC: no +FULLRESYNC, no ACKs expected
        self.initial_offset = -1
        self.stream_on_ack = False      # diskless: the stream starts at the first ACK
        self.soft_since = None          # when the soft output limit was first exceeded
        self.job = None
        self.sender = None
        self.since = now                # when it asked to sync (the diskless delay counts from here)
        self.early_ack = False          # ACKed a diskless transfer before we saw the child exit

    @property
    def ip(self):
        if self.conf.ip:
            return self.conf.ip
        addr = getattr(self.client, "addr", "?")
        return addr.rsplit(":", 1)[0] if ":" in addr else addr

    def close(self):
        """Drop this replica (REPLICAOF on our side: Redis's disconnectSlaves)."""
        master_of(self.client.server).drop(self)

    def name(self):
        port = self.conf.port
        return "%s:%s" % (self.ip, port if port else "<unknown-replica-port>")


def _is_tls(client):
    return ISSLTransport.providedBy(getattr(client, "transport", None))


class _Job:
    """One full-sync child: the RDB for a group of replicas, to a file or their sockets."""

    def __init__(self, socket_target, offset, replicas):
        self.socket = socket_target
        self.offset = offset
        self.replicas = list(replicas)
        self.pid = None
        self.path = None            # disk target: the temp file
        self.senders = 0            # disk target: replicas still reading the file
        self.watch = None
        self.status = b""           # what the child reported on its status pipe
        self.done = False
        self.start = time.time()
        self.keep_fds = ()          # socket target: the replicas' sockets the child writes to


# ---------------------------------------------------------------------------------------
# the connection of a replica
# ---------------------------------------------------------------------------------------
class ReplicaConnection:
    """Put in front of a connection's class once it is a replica.

    A replica only sends REPLCONF ACK (and bare newlines while it loads a big
    RDB, which refresh its ACK time); anything that would produce a reply
    means it is not a well-behaved replica, and it is dropped, as Redis does.
    """

    def dataReceived(self, data):
        server = self.server
        server.net_input_bytes += len(data)
        if self.closing:
            return
        now = server.reactor.seconds()
        self.last_interaction = now
        r = self.replica
        if data[:1] in (b"\n", b"\r"):
            r.ack_time = int(now)
        error = None
        try:
            commands = self.parser.feed(data)
        except ProtocolError as e:
            commands, error = e.commands, e
        server.now.refresh()
        for argv in commands:
            reply = self.dispatch(argv)
            server.total_commands += 1
            if reply is not NOREPLY:
                log.warn("Replica generated a reply to command '{cmd}', disconnecting it: {name}",
                         cmd=self.last_cmd, name=r.name())
                master_of(server).drop(r)
                return
        if error is not None:
            master_of(server).drop(r)


_classes = {}


def _replica_class(cls):
    if issubclass(cls, ReplicaConnection):
        return cls
    sub = _classes.get(cls)
    if sub is None:
        sub = _classes[cls] = type("Replica" + cls.__name__, (ReplicaConnection, cls), {})
    return sub


class _WaitWaiter(blocking.Waiter):
    """A client blocked in WAIT: its timeout reply is the count of acks at that moment."""

    __slots__ = ("offset", "numreplicas", "master")

    @property
    def on_timeout(self):
        return self.master.count_acks(self.offset)

    @on_timeout.setter
    def on_timeout(self, value):
        pass


class _ExitWatch:
    """Reads a child's status pipe from the reactor; EOF means the child is done."""

    def __init__(self, reactor, fd, on_data, on_eof):
        self.reactor = reactor
        self.fd = fd
        self.on_data = on_data
        self.on_eof = on_eof
        reactor.addReader(self)

    def fileno(self):
        return self.fd

    def logPrefix(self):
        return "repl-child"

    def doRead(self):
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return None
        except OSError:
            data = b""
        if data:
            self.on_data(data)
            return None
        self.connectionLost(None)
        return None

    def close(self):
        """Stop watching (the job was killed): no callback."""
        self.on_eof = None
        self._close()

    def _close(self):
        if self.fd >= 0:
            self.reactor.removeReader(self)
            os.close(self.fd)
            self.fd = -1

    def connectionLost(self, reason):
        """EOF, or the reactor saw the pipe hang up (EPOLLHUP without EPOLLIN)."""
        self._close()
        on_eof, self.on_eof = self.on_eof, None
        if on_eof is not None:
            on_eof()


class _FileSender:
    """Pull producer: a disk-based RDB to one replica, as fast as its socket drains."""

    def __init__(self, master, replica, path):
        self.master = master
        self.replica = replica
        self.fh = open(path, "rb")

    def resumeProducing(self):
        if self.fh is None:
            return
        data = self.fh.read(SEND_CHUNK)
        t = self.replica.client.transport
        if data and t is not None:
            t.write(data)
            self.master.repl_output_bytes += len(data)
            return
        self.stopProducing()
        if t is not None:
            t.unregisterProducer()
        self.master.bulk_done(self.replica)

    def pauseProducing(self):
        pass

    def stopProducing(self):
        if self.fh is not None:
            self.fh.close()
            self.fh = None


# ---------------------------------------------------------------------------------------
# the master
# ---------------------------------------------------------------------------------------
class ReplicationMaster:
    use_fork = hasattr(os, "fork")

    def __init__(self, server):
        self.server = server
        self.repl = server.repl
        self.reactor = server.reactor
        server.repl_master = self
        self.seldb = -1                 # Redis's slaveseldb
        self.turn = []                  # stream bytes fed this turn, not yet written to replicas
        self.turn_scheduled = False
        self.get_ack = False            # a WAIT blocked: send GETACK at the end of the turn
        self.sync_full = 0
        self.sync_partial_ok = 0
        self.sync_partial_err = 0
        self.repl_output_bytes = 0
        self.no_replicas_since = self.reactor.seconds()
        self.job = None
        self.waiters = []
        self.good_replicas = 0
        self.cron_ticks = 0             # Redis's replication_cron_loops (once a second)
        self.next_second = self.reactor.seconds() + 1
        self.last_off = 0
        self._observing = False
        self._cron = None
        self._seq = 0
        self.obuf_limits = (0, 0, 0)
        server.bus.subscribe(self.on_event, active=False)
        self.repl.stream_hooks.append(self._stream_changed)
        self._stream_changed()
        self.repl.listeners.append(self.on_feed)
        server.disconnect_hooks.append(self.on_disconnect)
        self.repl.reset_stream_db = self.reset_stream_db      # called by the replica side
        self.config_changed(server.config)

    def reset_stream_db(self):
        """The next write event starts with a SELECT (Redis's slaveseldb = -1)."""
        self.seldb = -1

    # -- lifecycle ------------------------------------------------------------------
    def start(self):
        if self._cron is None:
            self._cron = task.LoopingCall(self.cron)
            self._cron.clock = self.reactor
            self._cron.start(1.0 / CRON_HZ, now=False)

    def stop(self):
        if self._cron is not None and self._cron.running:
            self._cron.stop()
        self._cron = None
        if self.job is not None:
            self._kill_job(self.job)

    def config_changed(self, config):
        """CONFIG SET (server.apply_config): backlog size, output limits, min-replicas."""
        size = config["repl-backlog-size"]
        self.repl.backlog_size = size
        if self.repl.backlog is not None and self.repl.backlog.size != size:
            self.repl.backlog.resize(size)
        try:
            _, hard, soft, secs = config["client-output-buffer-limit"][1]
        except (KeyError, IndexError, TypeError, ValueError):
            hard = soft = secs = 0
        self.obuf_limits = (hard, soft, secs)
        self.refresh_good()

    # -- feeding the stream ----------------------------------------------------------
    def _stream_changed(self):
        """Receive write events only while they feed a stream (a master with a backlog)."""
        repl = self.repl
        self.server.bus.activate(self.on_event, repl.backlog is not None and repl.role == "master")

    def on_event(self, db, argv):
        """Bus subscriber: a write event, as RESP, into the stream (a SELECT first if needed)."""
        repl = self.repl
        if repl.backlog is None or repl.role != "master":
            return
        if db != self.seldb:
            self.seldb = db
            head = select_cmd(db) + b"*%d\r\n" % len(argv)
        else:
            head = b"*%d\r\n" % len(argv)
        repl.feed(head + b"".join([b"$%d\r\n%s\r\n" % (len(a), a) for a in argv]))

    def feed_own(self, data):
        """Stream bytes we generate (PING, GETACK): only a top master with a backlog feeds."""
        repl = self.repl
        if repl.role != "master" or repl.backlog is None:
            return
        repl.feed(data)
        self.last_off = repl.master_repl_offset

    def on_feed(self, data):
        """``repl.feed`` listener (our events, or our master's bytes on a replica)."""
        if not self.repl.replicas:
            return
        self.turn.append(data)
        if not self.turn_scheduled:
            self.turn_scheduled = True
            self.reactor.callLater(0, self.flush)

    def flush(self):
        """End of a reactor turn: GETACK if a WAIT blocked, then one write per replica."""
        self.turn_scheduled = False
        if self.get_ack:
            self.get_ack = False
            self.feed_own(GETACK)
            self.turn_scheduled = False
        if not self.turn:
            return
        data = b"".join(self.turn) if len(self.turn) > 1 else self.turn[0]
        self.turn = []
        for r in list(self.repl.replicas):
            if r.client.closing or r.state == WAIT_BGSAVE_START or r.conf.rdb_only:
                continue
            if r.state == ONLINE and not r.stream_on_ack:
                self.write(r, data)
            else:
                r.pending.append(data)
                r.pending_len += len(data)
                self.check_limit(r)

    def write(self, r, data):
        t = r.client.transport
        if t is None or r.client.closing:
            return
        t.write(data)
        self.repl_output_bytes += len(data)
        self.check_limit(r)

    # -- output buffer limits --------------------------------------------------------------
    def pending_bytes(self, r):
        t = r.client.transport
        n = r.pending_len
        if t is not None:
            n += len(getattr(t, "dataBuffer", b"") or b"") + (getattr(t, "_tempDataLen", 0) or 0)
        return n

    def check_limit(self, r):
        """Redis's checkClientOutputBufferLimits for the replica class; True when dropped."""
        hard, soft, _secs = self.obuf_limits
        if not hard and not soft:
            return False
        over, r.soft_since = output_limit_reached(self.pending_bytes(r), self.obuf_limits, r.soft_since,
                                                  self.reactor.seconds())
        if over:
            log.warn("Client {name} scheduled to be closed ASAP for overcoming of output buffer "
                     "limits.", name=r.name())
            self.server.limit_disconnections = getattr(self.server, "limit_disconnections", 0) + 1
            self.drop(r)
            return True
        return False

    # -- replicas come and go -----------------------------------------------------------------
    def become_replica(self, client, r):
        client.kind = "replica"
        client.keyspace_denied = True
        client.replica = r
        client.__class__ = _replica_class(type(client))
        self.repl.replicas.append(r)
        t = client.transport
        if t is not None and hasattr(t, "setTcpNoDelay"):
            try:
                t.setTcpNoDelay(not self.server.config["repl-disable-tcp-nodelay"])
            except OSError:
                pass
        self._observe(True)

    def drop(self, r):
        """Close a replica now (output limit, timeout, misbehaviour)."""
        client = r.client
        if client.closing and r not in self.repl.replicas:
            return
        self._shutdown_socket(client)
        client.abort()                          # remove_client -> on_disconnect

    @staticmethod
    def _shutdown_socket(client):
        """A diskless child may hold the socket too: shut it down for every process."""
        sock = getattr(client.transport, "socket", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def on_disconnect(self, client):
        r = getattr(client, "replica", None)
        if r is None or r not in self.repl.replicas:
            return
        self.repl.replicas.remove(r)
        log.info("Connection with replica {name} lost.", name=r.name())
        if r.sender is not None:
            sender, r.sender = r.sender, None
            sender.stopProducing()
            t = client.transport
            if t is not None:
                t.unregisterProducer()
            self._file_released(r.job)
        job = r.job
        if job is not None and not job.done and r in job.replicas:
            job.replicas.remove(r)
            if job.socket:
                self._shutdown_socket(client)
            if not job.replicas:
                self._kill_job(job)
        r.pending = []
        r.pending_len = 0
        if not self.repl.replicas:
            self.no_replicas_since = self.reactor.seconds()
        self.refresh_good()

    # -- PSYNC / SYNC -------------------------------------------------------------------------
    def sync_command(self, client, argv):
        """Redis's syncCommand: PSYNC <replid> <offset> and the legacy SYNC."""
        repl = self.repl
        if client.kind in ("replica", "slave", "monitor"):
            return NOREPLY
        is_psync = argv[0].lower() == b"psync"
        if is_psync and len(argv) > 3 and argv[3].lower() == b"failover":
            if repl.role == "master":
                raise ReplyError(errors.PSYNC_FAILOVER_TO_MASTER)
            if argv[1].decode("latin-1").lower() != repl.replid.lower():
                raise ReplyError(errors.PSYNC_FAILOVER_REPLID)
            # FAILOVER: our master hands over to us and will PSYNC as our replica.
            from .replica import unset_master
            unset_master(self.server)
            log.info("MASTER MODE enabled (failover request from '{addr}')",
                     addr=getattr(client, "addr", "?"))
        if repl.role == "slave" and not self._link_up():
            raise ReplyError(errors.SYNC_NO_MASTER_LINK)
        if self._has_pending_output(client):
            raise ReplyError(errors.SYNC_PENDING_OUTPUT)
        conf = replconf_of(client)
        if conf.req and not conf.capa_eof:
            raise ReplyError(errors.SYNC_FILTER_NEEDS_EOF)
        if client.transport is None:
            raise ReplyError(errors.SYNC_NEEDS_CONNECTION)
        now = self.reactor.seconds()
        log.info("Replica {addr} asks for synchronization", addr=getattr(client, "addr", "?"))
        if is_psync:
            offset = to_int(argv[2])
            if offset is None:
                raise _NOT_INT
            if self.try_partial(client, conf, argv[1], offset):
                self.sync_partial_ok += 1
                return NOREPLY
            if argv[1][:1] != b"?":
                self.sync_partial_err += 1
        self.sync_full += 1
        r = Replica(client, conf, now)
        r.pre_psync = not is_psync
        self.become_replica(client, r)
        if len(repl.replicas) == 1 and repl.backlog is None:
            if repl.role == "master":
                # A backlog created from scratch has no past: new id, no id2 (Redis).
                repl.replid = new_replid()
                repl.replid2 = NULL_REPLID
                repl.second_repl_offset = -1
            repl.create_backlog()
            log.info("Replication backlog created, my new replication IDs are '{a}' and '{b}'",
                     a=repl.replid, b=repl.replid2)
        self._schedule_full_sync(r)
        return NOREPLY

    def _link_up(self):
        link = self.repl.link
        if link is None:
            return False
        try:
            return dict(link.info_fields()).get("master_link_status") == "up"
        except Exception:
            return False

    @staticmethod
    def _has_pending_output(client):
        out = getattr(client, "_out", None)
        if out and any(out):
            return True
        t = client.transport
        if t is None:
            return False
        return bool(getattr(t, "dataBuffer", b"") or getattr(t, "_tempDataLen", 0))

    def try_partial(self, client, conf, replid, offset):
        """Redis's masterTryPartialResynchronization: True when +CONTINUE was sent."""
        repl = self.repl
        rid = replid.decode("latin-1").lower()
        if rid != repl.replid.lower() and (rid != repl.replid2.lower()
                                           or offset > repl.second_repl_offset):
            if replid[:1] != b"?":
                if rid != repl.replid.lower() and rid != repl.replid2.lower():
                    log.info("Partial resynchronization not accepted: Replication ID mismatch "
                             "(Replica asked for '{a}', my replication IDs are '{b}' and '{c}')",
                             a=rid, b=repl.replid, c=repl.replid2)
                else:
                    log.info("Partial resynchronization not accepted: Requested offset for second "
                             "ID was {a}, but I can reply up to {b}", a=offset,
                             b=repl.second_repl_offset)
            return False
        backlog = repl.backlog
        if backlog is None or not backlog.covers(offset):
            log.info("Unable to partial resync with replica for lack of backlog (Replica request "
                     "was: {off}).", off=offset)
            return False
        self.flush()        # the turn's bytes so far are in the backlog tail we send
        now = self.reactor.seconds()
        r = Replica(client, conf, now)
        r.state = ONLINE
        self.become_replica(client, r)
        head = (b"+CONTINUE %s\r\n" % repl.replid.encode()) if conf.capa_psync2 else b"+CONTINUE\r\n"
        tail = backlog.since(offset)
        self.write(r, head + tail)
        log.info("Partial resynchronization request from {name} accepted. Sending {n} bytes of "
                 "backlog starting from offset {off}.", name=r.name(), n=len(tail), off=offset)
        self.refresh_good()
        return True

    # -- full sync ------------------------------------------------------------------------------
    def _schedule_full_sync(self, r):
        job = self.job
        cfg = self.server.config
        if job is not None and not job.done:
            if not job.socket:
                # A disk BGSAVE for replication is running: share it when another replica
                # waits on it with the same requirements (Redis's CASE 1).
                for other in job.replicas:
                    if other.state == WAIT_BGSAVE_END and other.conf.req == r.conf.req:
                        self._attach(r, job, other)
                        return
            log.info("Waiting for next BGSAVE for SYNC")
            return
        if cfg["repl-diskless-sync"] and r.conf.capa_eof and cfg["repl-diskless-sync-delay"]:
            log.info("Delay next BGSAVE for diskless SYNC")
            return
        self.start_pending()

    def _attach(self, r, job, other):
        r.state = WAIT_BGSAVE_END
        r.job = job
        r.initial_offset = job.offset
        r.pending = list(other.pending)
        r.pending_len = other.pending_len
        job.replicas.append(r)
        self.seldb = -1
        if not r.pre_psync:
            self.write(r, b"+FULLRESYNC %s %d\r\n" % (self.repl.replid.encode(), job.offset))

    def should_start(self):
        """Redis's shouldStartChildForReplication: (replicas, socket target) or None."""
        if self.job is not None:
            return None
        waiting = [r for r in self.repl.replicas
                   if r.state == WAIT_BGSAVE_START and not r.client.closing]
        if not waiting:
            return None
        req = waiting[0].conf.req
        group = [r for r in waiting if r.conf.req == req]
        cfg = self.server.config
        diskless = cfg["repl-diskless-sync"]
        now = self.reactor.seconds()
        max_idle = max(now - r.since for r in group)
        maxrep = cfg["repl-diskless-sync-max-replicas"]
        if not (not diskless or (maxrep > 0 and len(group) >= maxrep)
                or max_idle >= cfg["repl-diskless-sync-delay"]):
            return None
        # A TLS replica cannot take the forked child's raw socket writes: disk target
        # (Redis pipes the child's RDB through the parent instead).
        eof = all(r.conf.capa_eof and not _is_tls(r.client) for r in group)
        return group, bool((diskless or req) and eof)

    def start_pending(self):
        plan = self.should_start()
        if plan is None:
            return False
        group, socket_target = plan
        if socket_target and any(self.pending_bytes(r) for r in group):
            return False        # a keepalive newline still queued: fork on the next tick
        self.flush()            # bytes fed so far belong to the snapshot
        repl = self.repl
        offset = repl.master_repl_offset
        stream_db = self._stream_db()
        self.seldb = -1         # the first write after the snapshot starts with a SELECT
        job = _Job(socket_target, offset, group)
        log.info("Starting BGSAVE for SYNC with target: {t}",
                 t="replicas sockets" if socket_target else "disk")
        for r in group:
            r.state = WAIT_BGSAVE_END
            r.job = job
            r.initial_offset = offset
        self.job = job
        req = group[0].conf.req
        chunks = self._rdb_chunks(offset, stream_db, req)
        if socket_target:
            ok = self._start_socket_job(job, chunks)
        else:
            for r in group:
                if not r.pre_psync:
                    self.write(r, b"+FULLRESYNC %s %d\r\n" % (repl.replid.encode(), offset))
            ok = self._start_disk_job(job, chunks)
        if not ok:
            # Redis: "BGSAVE failed, replication can't continue", then close after the reply
            self._job_failed(job, reply=b"-%s\r\n" % errors.SYNC_BGSAVE_FAILED.encode())
        return True

    def _stream_db(self):
        """The db the stream is in after the snapshot (the RDB's repl-stream-db): ours on a
        master; on a replica, the db its master's stream has selected (Redis's
        rdbPopulateSaveInfo), since the proxied stream does not repeat the SELECT."""
        repl = self.repl
        if repl.role == "slave" and repl.link is not None:
            link = repl.link
            mc = getattr(link, "master", None) or getattr(link, "cached", None)
            return getattr(mc, "db", 0) or 0
        return self.seldb if self.seldb >= 0 else 0

    def _rdb_chunks(self, offset, stream_db, req):
        server = self.server
        cfg = server.config
        aux = _rdb.default_aux(int(time.time()), server.used_memory())
        aux[-1:-1] = [(b"repl-stream-db", b"%d" % stream_db),
                      (b"repl-id", self.repl.replid.encode()),
                      (b"repl-offset", b"%d" % offset)]
        functions = () if req & REQ_EXCLUDE_FUNCTIONS else _functions(server)
        databases = 0 if req & REQ_EXCLUDE_DATA else server.databases
        chunks = _rdb.iter_snapshot(server, databases, aux, functions, cfg["rdbcompression"],
                                    False, key_delay_us=cfg["rdb-key-save-delay"])
        return _checksummed(chunks) if cfg["rdbchecksum"] else chunks

    # disk target ---------------------------------------------------------------------------
    def _start_disk_job(self, job, chunks):
        self._seq += 1
        path = os.path.join(self.server.config.get_text("dir"),
                            "temp-repl-%d-%d.rdb" % (os.getpid(), self._seq))
        job.path = path

        def work():
            with open(path, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
        return self._fork(job, work)

    def _disk_job_done(self, job):
        size = os.path.getsize(job.path)
        log.info("Background RDB for replication terminated with success")
        for r in list(job.replicas):
            if r.client.closing or r not in self.repl.replicas:
                continue
            r.state = SEND_BULK
            self.write(r, b"$%d\r\n" % size)
            job.senders += 1
            sender = r.sender = _FileSender(self, r, job.path)
            r.client.transport.registerProducer(sender, False)
        if not job.senders:
            self._unlink(job.path)

    def bulk_done(self, r):
        """The file is on its way to the replica: it is online, stream what was held."""
        r.sender = None
        self._file_released(r.job)
        log.info("Synchronization with replica {name} succeeded", name=r.name())
        self.put_online(r)
        self.start_stream(r)

    def _file_released(self, job):
        if job is None or job.socket:
            return
        job.senders -= 1
        if job.senders <= 0 and job.done:
            self._unlink(job.path)

    # socket target (diskless) --------------------------------------------------------------
    def _start_socket_job(self, job, chunks):
        mark = os.urandom(REPLID_LEN // 2).hex().encode()
        head = {}
        for r in job.replicas:
            h = b"" if r.pre_psync else b"+FULLRESYNC %s %d\r\n" % (self.repl.replid.encode(), job.offset)
            head[r] = h + b"$EOF:" + mark + b"\r\n"
        if not self.use_fork:
            for r in job.replicas:
                self.write(r, head[r] + b"".join(chunks) + mark)
            job.status = b" ".join(b"%d" % id(r) for r in job.replicas)
            return self._fork(job, None)
        targets = []
        for r in job.replicas:
            try:
                fd = r.client.transport.fileno()
            except Exception:
                fd = -1
            targets.append((fd, id(r), head[r]))
        timeout_ms = self.server.config["repl-timeout"] * 1000
        job.keep_fds = [fd for fd, _, _ in targets]
        parent = os.getpid()

        def work():
            ok = _send_to_sockets(targets, chunks, mark, timeout_ms, parent)
            return b" ".join(b"%d" % tag for tag in ok)
        return self._fork(job, work)

    def _socket_job_done(self, job):
        good = set(job.status.split())
        log.info("Background RDB transfer terminated with success")
        for r in list(job.replicas):
            if r.client.closing or r not in self.repl.replicas:
                continue
            if b"%d" % id(r) not in good:
                log.warn("Diskless transfer to replica {name} failed", name=r.name())
                self.drop(r)
                continue
            log.info("Streamed RDB transfer with replica {name} succeeded (socket). Waiting for "
                     "REPLCONF ACK from slave to enable streaming", name=r.name())
            self.put_online(r)
            if r.early_ack:
                self.start_stream(r)        # it loaded the RDB before we reaped the child
            else:
                r.stream_on_ack = True

    # children --------------------------------------------------------------------------------
    def _fork(self, job, work):
        """Run *work* in a forked child (synchronously without fork); False on failure."""
        if not self.use_fork or work is None:
            if work is not None:
                try:
                    result = work()
                except (OSError, _rdb.RdbError) as e:
                    log.error("Replication snapshot failed: {err}", err=e)
                    return False
                if result:
                    job.status = result
            self.reactor.callLater(0, self._job_exited, job, True)
            return True
        rfd, wfd = os.pipe()
        gc.freeze()
        try:
            pid = os.fork()
        except OSError as e:
            gc.unfreeze()
            os.close(rfd)
            os.close(wfd)
            log.error("Can't fork for replication: {err}", err=e.strerror)
            return False
        if pid == 0:                                   # the child: never returns
            code = 1
            try:
                gc.disable()
                os.close(rfd)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                diskio.close_sockets_after_fork(keep=job.keep_fds)
                result = work()
                if result:
                    os.write(wfd, result)
                code = 0
            except BaseException as e:                 # noqa: B902 - reported by the exit status
                try:
                    sys.stderr.write("# replication child failed: %s\n" % (e,))
                except Exception:
                    pass
            finally:
                os._exit(code)
        gc.unfreeze()
        os.close(wfd)
        job.pid = pid

        def on_data(data):
            job.status += data

        job.watch = _ExitWatch(self.reactor, rfd, on_data, lambda: self._child_eof(job))
        return True

    def _child_eof(self, job):
        ok = False
        if job.pid is not None:
            try:
                _, status = os.waitpid(job.pid, 0)
                ok = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
            except ChildProcessError:
                ok = False
            job.pid = None
        self._job_exited(job, ok)

    def _job_exited(self, job, ok):
        if job.done:
            return
        job.done = True
        if self.job is job:
            self.job = None
        if ok:
            if job.socket:
                self._socket_job_done(job)
            else:
                self._disk_job_done(job)
        else:
            self._job_failed(job)
        self.start_pending()

    def _job_failed(self, job, reply=None):
        job.done = True
        if self.job is job:
            self.job = None
        log.warn("SYNC failed. BGSAVE child returned an error")
        for r in list(job.replicas):
            if r not in self.repl.replicas:
                continue
            t = r.client.transport
            if reply is not None and t is not None:
                t.write(reply)
                r.client.closing = True
                self.server.remove_client(r.client)
                t.loseConnection()
            else:
                self.drop(r)
        if job.path and not job.senders:
            self._unlink(job.path)

    def _kill_job(self, job):
        if job.pid is not None:
            try:
                os.kill(job.pid, signal.SIGKILL)
            except OSError:
                pass
        if job.watch is not None:
            job.watch.close()
        if job.pid is not None:
            try:
                os.waitpid(job.pid, 0)
            except OSError:
                pass
            job.pid = None
        job.done = True
        if self.job is job:
            self.job = None
        if job.path and not job.senders:
            self._unlink(job.path)

    @staticmethod
    def _unlink(path):
        if path:
            try:
                os.unlink(path)
            except OSError:
                pass

    # -- online ------------------------------------------------------------------------------
    def put_online(self, r):
        """Redis's replicaPutOnline (an rdb-only client is closed instead)."""
        r.state = ONLINE
        r.ack_time = int(self.reactor.seconds())
        r.job = None
        if r.conf.rdb_only:
            r.client.closing = True
            if r.client.transport is not None:
                r.client.transport.loseConnection()
            return
        self.refresh_good()

    def start_stream(self, r):
        """Redis's replicaStartCommandStream: send what was held since the snapshot."""
        r.stream_on_ack = False
        if r.pending:
            data = b"".join(r.pending)
            r.pending = []
            r.pending_len = 0
            self.write(r, data)

    def ack(self, r, offset):
        """REPLCONF ACK <offset> from a replica."""
        if offset > r.ack_off:
            r.ack_off = offset
        r.ack_time = int(self.reactor.seconds())
        if r.stream_on_ack and r.state == ONLINE:
            self.start_stream(r)
        elif r.state == WAIT_BGSAVE_END and r.job is not None and r.job.socket:
            r.early_ack = True
        if self.waiters:
            self.serve_waiters()

    # -- WAIT -------------------------------------------------------------------------------------
    def count_acks(self, offset):
        return sum(1 for r in self.repl.replicas if r.state == ONLINE and r.ack_off >= offset)

    def wait(self, client, numreplicas, timeout_ms):
        offset = getattr(client, "woff", 0)
        acked = self.count_acks(offset)
        if acked >= numreplicas or client.no_block or client.multi is not None:
            return acked
        w = _WaitWaiter(client, client.db, lambda: None, None)
        w.offset = offset
        w.numreplicas = numreplicas
        w.master = self
        if timeout_ms:
            w.timer = self.reactor.callLater(timeout_ms / 1000.0, self._wait_expired, w)
        client.blocked = w
        self.server.blocked_clients += 1
        self.waiters.append(w)
        self.get_ack = True
        if not self.turn_scheduled:
            self.turn_scheduled = True
            self.reactor.callLater(0, self.flush)
        return blocking.BLOCKED

    def _wait_expired(self, w):
        w.timer = None
        if w in self.waiters:
            self.waiters.remove(w)
        if w.client.blocked is w:
            blocking.unblock(w.client, self.count_acks(w.offset))

    def serve_waiters(self):
        keep = []
        for w in self.waiters:
            client = w.client
            if client.blocked is not w:
                continue            # disconnected or CLIENT UNBLOCK
            n = self.count_acks(w.offset)
            if n >= w.numreplicas:
                blocking.unblock(client, n)
            else:
                keep.append(w)
        self.waiters = keep

    def _observe(self, on):
        """Track each client's last write offset (Redis's c->woff) while replication is on."""
        observers = self.server.command_observers
        if on and not self._observing:
            self._observing = True
            self.last_off = self.repl.master_repl_offset
            observers.append(self._observe_write)
        elif not on and self._observing:
            self._observing = False
            if self._observe_write in observers:
                observers.remove(self._observe_write)

    def _observe_write(self, client, spec, argv, usec, reply):
        off = self.repl.master_repl_offset
        if off != self.last_off:
            self.last_off = off
            client.woff = off

    # -- min-replicas -------------------------------------------------------------------------------
    def refresh_good(self):
        """Redis's refreshGoodSlavesCount + checkGoodReplicasStatus, as the NOREPLICAS gate."""
        server = self.server
        cfg = server.config
        to_write = cfg["min-replicas-to-write"]
        max_lag = cfg["min-replicas-max-lag"]
        err = None
        if to_write and max_lag:
            now = int(self.reactor.seconds())
            self.good_replicas = sum(1 for r in self.repl.replicas
                                     if r.state == ONLINE and now - r.ack_time <= max_lag)
            if self.repl.role == "master" and self.good_replicas < to_write:
                err = _NOREPLICAS
        if server.noreplicas_error is not err:
            server.noreplicas_error = err

    # -- cron --------------------------------------------------------------------------------------
    def cron(self):
        """10 Hz: start pending full syncs; once a second, Redis's replicationCron."""
        if self.job is None and self.repl.replicas:
            self.start_pending()
        now = self.reactor.seconds()
        if now < self.next_second:
            return
        self.next_second = max(self.next_second + 1, now + 0.5)
        self.cron_ticks += 1
        loops = self.cron_ticks
        repl = self.repl
        cfg = self.server.config
        replicas = repl.replicas
        if replicas and (loops - 1) % cfg["repl-ping-replica-period"] == 0:
            self.feed_own(PING)
        for r in list(replicas):
            job = r.job
            if r.state == WAIT_BGSAVE_START or (r.state == WAIT_BGSAVE_END and job is not None
                                                and not job.socket):
                t = r.client.transport
                if t is not None and not r.client.closing:
                    t.write(b"\n")
        timeout = cfg["repl-timeout"]
        for r in list(replicas):
            if r.state == ONLINE and not r.pre_psync and int(now) - r.ack_time > timeout:
                log.warn("Disconnecting timedout replica (streaming sync): {name}", name=r.name())
                self.drop(r)
            elif r.pending_len:
                self.check_limit(r)
        ttl = cfg["repl-backlog-ttl"]
        if (not replicas and ttl and repl.backlog is not None and repl.role == "master"
                and now - self.no_replicas_since > ttl):
            repl.replid = new_replid()
            repl.replid2 = NULL_REPLID
            repl.second_repl_offset = -1
            repl.free_backlog()
            log.info("Replication backlog freed after {ttl} seconds without connected replicas.",
                     ttl=ttl)
        self._observe(repl.backlog is not None and repl.role == "master")
        self.refresh_good()

    # -- introspection ------------------------------------------------------------------------------
    def replica_lines(self):
        """INFO's ``slaveN`` values, in attach order."""
        now = int(self.reactor.seconds())
        out = []
        for r in self.repl.replicas:
            out.append("ip=%s,port=%d,state=%s,offset=%d,lag=%d" % (
                r.ip, r.conf.port, STATE_NAMES[r.state], r.ack_off, now - r.ack_time))
        return out

    def info_fields(self):
        """INFO replication, Redis 7.0's fields in its order."""
        repl = self.repl
        cfg = self.server.config
        out = [("role", repl.role)]
        if repl.role == "slave" and repl.link is not None:
            out += list(repl.link.info_fields())
        out.append(("connected_slaves", len(repl.replicas)))
        if cfg["min-replicas-to-write"] and cfg["min-replicas-max-lag"]:
            out.append(("min_slaves_good_slaves", self.good_replicas))
        for i, line in enumerate(self.replica_lines()):
            out.append(("slave%d" % i, line))
        backlog = repl.backlog
        out += [
            ("master_failover_state", "no-failover"),
            ("master_replid", repl.replid),
            ("master_replid2", repl.replid2),
            ("master_repl_offset", repl.master_repl_offset),
            ("second_repl_offset", repl.second_repl_offset),
            ("repl_backlog_active", 1 if backlog is not None else 0),
            ("repl_backlog_size", repl.backlog_size),
            ("repl_backlog_first_byte_offset", backlog.first_offset if backlog is not None else 0),
            ("repl_backlog_histlen", backlog.histlen if backlog is not None else 0),
        ]
        return out

    def role_reply(self):
        repl = self.repl
        if repl.role == "slave" and repl.link is not None:
            return repl.link.role_reply()
        rows = [[r.ip.encode(), b"%d" % r.conf.port, b"%d" % r.ack_off]
                for r in repl.replicas if r.state == ONLINE]
        return [b"master", repl.master_repl_offset, rows]


def _functions(server):
    """FUNCTION libraries' code, as the RDB carries them."""
    try:
        from ..commands import functions as fmod
    except ImportError:
        return []
    fn = getattr(fmod, "dump_libraries", None)
    return [bytes(c) for c in (fn(server) if fn is not None else [])]


def _checksummed(chunks, block=CRC_BLOCK):
    """An RDB made without its checksum (a zero trailer), re-cut into blocks of about
    *block* bytes with the CRC-64 trailer filled in.  crc64 takes its striped fast
    path only on large inputs; per ~30 KB chunk of iter_snapshot it would loop per
    byte, which made the checksum ten times the cost of the whole snapshot."""
    crc = 0
    held = b""
    parts = []
    size = 0
    for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size >= block:
            data = held + b"".join(parts)
            parts = []
            size = 0
            out, held = data[:-8], data[-8:]      # the last 8 bytes may be the trailer
            crc = crc64(out, crc)
            yield out
    data = held + b"".join(parts)
    out = data[:-8]
    crc = crc64(out, crc)
    yield out + struct.pack("<Q", crc)


def _send_to_sockets(targets, chunks, mark, timeout_ms, parent=None):
    """In the diskless child: write header, RDB and mark to every socket; return the
    tags of the replicas that got everything.  A socket that fails or stalls past
    repl-timeout is dropped and the others go on.  If the master dies meanwhile
    (*parent* is no longer our parent) the transfer stops unfinished, as Redis's
    does when its pipe to the dead parent breaks: a replica never completes a sync
    with a master that is gone."""
    alive = [(fd, tag) for fd, tag, _ in targets if fd >= 0]
    heads = {fd: h for fd, _, h in targets}

    def send(fd, data):
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view)
            except BlockingIOError:
                p = select.poll()
                p.register(fd, select.POLLOUT)
                if not p.poll(timeout_ms):
                    return False
                continue
            except InterruptedError:
                continue
            except OSError:
                return False
            view = view[n:]
        return True

    alive = [(fd, tag) for fd, tag in alive if send(fd, heads[fd])]
    for chunk in chunks:
        if not alive:
            break
        if parent is not None and os.getppid() != parent:
            return []
        alive = [(fd, tag) for fd, tag in alive if send(fd, chunk)]
    alive = [(fd, tag) for fd, tag in alive if send(fd, mark)]
    return [tag for _, tag in alive]
