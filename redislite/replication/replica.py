"""The replica side: our link to our own master (the slave half of Redis's replication.c).

``server.repl.link`` is a :class:`ReplicaLink` while we are a replica.  It
speaks Redis 7.0's protocol to any master (redis-server or RedisLite):

* **handshake** (non-blocking, one step per reply): ``PING`` (``-NOAUTH``,
  ``-NOPERM`` and ``-ERR operation not permitted`` are fine), then pipelined
  ``AUTH [masteruser] masterauth``, ``REPLCONF listening-port <port>``,
  ``REPLCONF ip-address`` (replica-announce-ip), ``REPLCONF capa eof capa
  psync2``, then ``PSYNC <cached replid> <cached offset + 1>`` or ``PSYNC ? -1``;
* **+FULLRESYNC**: the RDB arrives as ``$<len>`` or ``$EOF:<40-byte mark>``
  (diskless) and is streamed to ``temp-<time>.<pid>.rdb`` in ``dir`` as it
  comes (newlines before it are the master's keepalives), renamed to
  ``dbfilename`` as Redis does, then the old data is flushed and the file is
  loaded in slices (``task.cooperate``) while clients get ``-LOADING`` and the
  socket is paused; then we take the master's replid and offset;
* **+CONTINUE [replid]**: we keep our data and go on from the cached offset
  (a new replid becomes our replid, the old one our replid2);
* **the stream** is applied by a :class:`MasterClient` (kind ``"master"``: it
  passes the READONLY/MASTERDOWN gates; nothing is answered except ``REPLCONF
  GETACK``).  Offsets count every byte applied, PINGs included, and a
  MULTI ... EXEC counts when EXEC runs, as Redis's ``reploff``.  The applied
  bytes are proxied verbatim to ``server.repl.feed`` so our own replicas
  (a chain) see the same stream and the same offsets;
* ``REPLCONF ACK <offset>`` every second (and at once after a diskless load:
  a Redis master waits for it before streaming);
* **link loss**: the master state is cached (replid, offset, db) and we
  reconnect at once, then after 1, 2, 4, 5, 5... seconds while attempts fail
  (Redis retries every second); the next PSYNC asks for the cached offset;
* **timeouts** (``repl-timeout``): connecting/handshake, bulk transfer, and
  a master that sends nothing (it PINGs every ``repl-ping-replica-period``).

While the link is not up, ``replica-serve-stale-data no`` makes commands
without the ``stale`` flag answer ``-MASTERDOWN``; ``replica-read-only yes``
turns on the ``-READONLY`` gate.  A replica hides logically expired keys on
reads but never expires keys itself (``shard.replica_mode``); its master's
commands see such keys as live (``MASTER_VIEW``), as Redis's expireIfNeeded.

:func:`set_master` / :func:`unset_master` are REPLICAOF host port / NO ONE
(commands/replicaof.py) and ``--replicaof`` at startup (:func:`wire`).
"""

import mmap
import os
import time

from twisted.application import service
from twisted.internet import task
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.logger import Logger

from .. import errors
from ..errors import ReplyError
from ..persistence import rdb as _rdb
from ..protocol import Client
from ..storage.bulkload import BulkLoader
from ..storage.keyspace import MASTER_VIEW
from .state import REPLID_LEN, new_replid

log = Logger(namespace="redislite.replication")

_MASTERDOWN = ReplyError(errors.MASTERDOWN)
_UNBLOCKED = ReplyError(errors.UNBLOCKED_ROLE_CHANGE)
#: keys loaded per cooperative slice while loading the master's RDB
LOAD_SLICE = 512
#: Redis's PROTO_INLINE_MAX_SIZE: a header line longer than this is a protocol error
MAX_LINE = 64 * 1024
#: reconnect delays after consecutive failed attempts (Redis's cron retries every second)
BACKOFF = (0, 1, 2, 4, 5)
#: handshake replies that still let the handshake go on (Redis's syncWithMaster)
_PING_OK_ERRORS = (b"-NOAUTH", b"-NOPERM", b"-ERR operation not permitted")


class StreamError(Exception):
    """The master's stream is not valid RESP: drop the link without caching it."""


def parse_stream(buf, pos, out):
    """Parse the commands complete in ``buf`` (bytes) from ``pos``.

    Appends ``(argv, end)`` to *out* (``argv`` None for an empty inline line,
    which still counts in the offset) and returns ``(pos, need)``: the position
    after the last complete command, and the buffer length that completes the
    bulk argument it stopped in (0 when not known), so a big value arriving in
    many reads is not parsed again at every read.  The master sends canonical
    multibulk; inline lines are accepted as Redis accepts them from any client.
    """
    n = len(buf)
    find = buf.find
    while pos < n:
        if buf[pos] == 42:          # '*'
            nl = find(b"\r\n", pos)
            if nl < 0:
                if n - pos > MAX_LINE:
                    raise StreamError("too big mbulk count string")
                return pos, 0
            try:
                count = int(buf[pos + 1:nl])
            except ValueError:
                raise StreamError("invalid multibulk length") from None
            p = nl + 2
            argv = []
            complete = True
            need = 0
            for _ in range(count):
                if p >= n:
                    complete = False
                    break
                if buf[p] != 36:    # '$'
                    raise StreamError("expected '$', got '%s'" % chr(buf[p]))
                nl = find(b"\r\n", p)
                if nl < 0:
                    if n - p > MAX_LINE:
                        raise StreamError("too big bulk count string")
                    complete = False
                    break
                try:
                    size = int(buf[p + 1:nl])
                except ValueError:
                    raise StreamError("invalid bulk length") from None
                start = nl + 2
                end = start + size
                if end + 2 > n:
                    complete = False
                    need = end + 2
                    break
                argv.append(buf[start:end])
                p = end + 2
            if not complete:
                return pos, need
            if argv:
                out.append((argv, p))
            else:
                out.append((None, p))       # *0 / *-1: nothing to run, bytes still count
            pos = p
        else:
            nl = find(b"\n", pos)
            if nl < 0:
                if n - pos > MAX_LINE:
                    raise StreamError("too big inline request")
                return pos, 0
            args = buf[pos:nl].split()
            out.append((args or None, nl + 1))
            pos = nl + 1
    return pos, 0


class Cached:
    """Redis's cached master: what we PSYNC with after losing the link."""

    __slots__ = ("replid", "reploff", "read_reploff", "db")

    def __init__(self, replid, reploff, db=0, read_reploff=None):
        self.replid = replid
        self.reploff = reploff
        self.read_reploff = reploff if read_reploff is None else read_reploff
        self.db = db


class MasterClient(Client):
    """The client that runs the master's stream: kind "master", answers nothing."""

    def __init__(self, server, link, conn):
        Client.__init__(self, server, kind="master")
        self.link = link
        self.conn = conn
        self.authenticated = True
        self.no_block = True
        self.transport = conn.transport
        t = conn.transport
        try:
            peer, host = t.getPeer(), t.getHost()
            self.addr = "%s:%s" % (peer.host, peer.port)
            self.laddr = "%s:%s" % (host.host, host.port)
            self.fd = t.fileno()
        except Exception:
            pass

    def send(self, value):
        """Nothing goes back to the master but ACKs (pushes are dropped)."""

    def close(self):
        """CLIENT KILL TYPE master: the link goes down now, as Redis's freeClient."""
        self.closing = True
        self.link.master_closed(self)


class MasterConnection(Protocol):
    """One TCP connection to the master: handshake, RDB transfer, then the stream."""

    def __init__(self, link):
        self.link = link
        self.buf = b""
        self.phase = "connecting"
        self.expect = []            # pending handshake replies, in order
        self.gone = False
        self.paused = False

    def connectionMade(self):
        self.link.connected(self)

    def dataReceived(self, data):
        if self.gone:
            return
        self.link.received(self, data)

    def connectionLost(self, reason=None):
        self.gone = True
        self.link.connection_lost(self, reason)

    def write(self, data):
        if not self.gone:
            self.transport.write(data)

    def drop(self):
        """Close without waiting for anything (errors, timeouts, REPLICAOF)."""
        if self.gone:
            return
        self.gone = True
        t = self.transport
        if t is not None:
            if self.paused:
                try:
                    t.resumeProducing()
                except Exception:
                    pass
            abort = getattr(t, "abortConnection", None)
            (abort or t.loseConnection)()


class _Factory(ClientFactory):
    noisy = False

    def __init__(self, link):
        self.link = link

    def buildProtocol(self, addr):
        p = MasterConnection(self.link)
        p.factory = self
        return p

    def clientConnectionFailed(self, connector, reason):
        self.link.connect_failed(connector, reason)


def _cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def _text(b):
    return b.decode("utf-8", "replace") if isinstance(b, (bytes, bytearray)) else str(b)


class ReplicaLink:
    """``server.repl.link``: the state of our replication from ``host:port``.

    ``state`` uses Redis's words: ``connect`` (waiting to connect),
    ``connecting``, ``handshake``, ``transfer`` (receiving or loading the
    RDB; ROLE says ``sync``), ``connected``.
    """

    def __init__(self, server, host, port, cached=None, down_since=0):
        self.server = server
        self.reactor = server.reactor
        self.host = host
        self.port = port
        self.state = "connect"
        self.conn = None
        self.connector = None
        self.master = None          # MasterClient once synchronized
        self.cached = cached        # Cached, for PSYNC
        self.reploff = 0            # applied offset of the current master client
        self.read_reploff = 0
        self.down_since = down_since    # when the link went down (0: not since we became a replica)
        self.lastio = 0.0           # repl_transfer_lastio
        self.failures = 0
        self.stopped = False
        self._retry = None
        self._cron = None
        self._resume = None
        # transfer
        self.transfer_size = -1
        self.transfer_read = 0
        self.eofmark = None
        self.tail = b""
        self.tmp_fd = None
        self.tmp_path = None
        self.fullsync = None        # (replid, offset) of +FULLRESYNC; offset -1 after SYNC
        self.pre_psync = False
        self.loading = None         # the cooperative load task
        self.aof_stopped = False
        # stream
        self.qbuf = b""             # bytes, or a bytearray while a command is incomplete
        self.need = 0               # len(qbuf) that completes the pending bulk argument
        self.parse_pos = 0          # parsed (and executed or queued) up to here in qbuf

    # -- lifecycle ------------------------------------------------------------------
    def start(self):
        self._cron = task.LoopingCall(self.cron)
        self._cron.clock = self.reactor
        self._cron.start(1.0, now=False)
        self.refresh_gates()
        self.connect()

    def stop(self):
        """Stop replicating (REPLICAOF to another master or NO ONE, shutdown).

        Returns the Cached state a next link may PSYNC with (Redis caches the
        master client it frees here)."""
        self.stopped = True
        if self._cron is not None and self._cron.running:
            self._cron.stop()
        self._cron = None
        self._cancel_retry()
        if self._resume is not None and self._resume.active():
            self._resume.cancel()
        self._resume = None
        if self.loading is not None:
            self.loading.stop()
            self.loading = None
            self.server.loading = False
        cached = self.cached
        if self.master is not None:
            cached = self._cache_master()
        self._close_transfer(unlink=True)
        if self.connector is not None and self.state == "connecting":
            try:
                self.connector.stopConnecting()
            except Exception:
                pass
        if self.conn is not None:
            self.conn.drop()
            self.conn = None
        self.state = "connect"
        return cached

    def config_changed(self, config):
        self.refresh_gates()

    def refresh_gates(self):
        server = self.server
        cfg = server.config
        server.read_only = bool(cfg["replica-read-only"])
        down = self.state != "connected"
        server.stale_error = _MASTERDOWN if down and not cfg["replica-serve-stale-data"] else None

    def _set_state(self, state):
        self.state = state
        self.refresh_gates()

    # -- connecting -----------------------------------------------------------------
    def _cancel_retry(self):
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None

    def _schedule_connect(self):
        """Reconnect at once after a loss, then back off while attempts keep failing."""
        if self.stopped:
            return
        self._cancel_retry()
        delay = BACKOFF[min(self.failures, len(BACKOFF) - 1)]
        if delay:
            self._retry = self.reactor.callLater(delay, self.connect)
        else:
            self.connect()          # at once, as Redis after losing an established link

    def connect(self):
        self._retry = None
        if self.stopped or self.conn is not None or self.state not in ("connect",):
            return
        server = self.server
        if server.loading and self.loading is None:
            # Still loading our own data from disk: connect once it is served.
            self._retry = self.reactor.callLater(0.1, self.connect)
            return
        log.info("Connecting to MASTER {host}:{port}", host=self.host, port=self.port)
        log.info("MASTER <-> REPLICA sync started")
        self._set_state("connecting")
        self.lastio = self.reactor.seconds()
        timeout = server.config["repl-timeout"]
        if server.config["tls-replication"]:
            from ..tls import ClientContextFactory, TlsError   # docs/tls.md
            try:
                ctx = ClientContextFactory(server.config)
            except TlsError as e:
                log.warn("Unable to connect to MASTER with TLS: {err}", err=str(e))
                self._set_state("connect")
                self.failures += 1
                self._schedule_connect()
                return
            self.connector = self.reactor.connectSSL(self.host, self.port, _Factory(self), ctx,
                                                     timeout=timeout)
            return
        self.connector = self.reactor.connectTCP(self.host, self.port, _Factory(self), timeout=timeout)

    def connect_failed(self, connector, reason):
        if self.stopped or connector is not self.connector:
            return
        self.connector = None
        log.warn("Error condition on socket for SYNC: {err}", err=_reason(reason))
        self._set_state("connect")
        self.failures += 1
        self._schedule_connect()

    def connected(self, conn):
        if self.stopped:
            conn.drop()
            return
        self.connector = None
        self.conn = conn
        self.lastio = self.reactor.seconds()
        log.info("Non blocking connect for SYNC fired the event.")
        self._set_state("handshake")
        conn.phase = "ping"
        conn.write(_cmd(b"PING"))

    # -- reading ----------------------------------------------------------------------
    def received(self, conn, data):
        if conn is not self.conn:
            return
        self.lastio = self.reactor.seconds()
        # INFO's total_net_repl_input_bytes (the RDB and the stream, kept across masters)
        server = self.server
        server.repl_input_bytes = getattr(server, "repl_input_bytes", 0) + len(data)
        phase = conn.phase
        if phase == "stream":
            self.stream(data)
            return
        if phase == "bulk":
            self._bulk(conn, data)
            return
        conn.buf += data
        while not conn.gone and conn.phase not in ("stream", "bulk", "loading"):
            nl = conn.buf.find(b"\n")
            if nl < 0:
                if len(conn.buf) > MAX_LINE:
                    self._handshake_failed("Master sent a too long line")
                return
            line = conn.buf[:nl]
            conn.buf = conn.buf[nl + 1:]
            if line.endswith(b"\r"):
                line = line[:-1]
            self._line(conn, line)
        if conn.gone or (not conn.buf and conn.phase != "stream"):
            return
        rest, conn.buf = conn.buf, b""
        if conn.phase == "bulk":
            self._bulk(conn, rest)
        elif conn.phase == "stream":
            self.stream(rest)
        else:                       # loading: stream bytes that came with the RDB
            self.qbuf += rest

    def _line(self, conn, line):
        phase = conn.phase
        if phase == "ping":
            if line.startswith(b"-") and not line.startswith(_PING_OK_ERRORS):
                self._handshake_failed("Error reply to PING from master: '%s'" % _text(line))
                return
            log.info("Master replied to PING, replication can continue...")
            self._send_handshake(conn)
        elif phase == "replies":
            what = conn.expect.pop(0)
            if what == "auth":
                if line.startswith(b"-"):
                    self._handshake_failed("Unable to AUTH to MASTER: %s" % _text(line))
                    return
            elif line.startswith(b"-"):
                log.info("(Non critical) Master does not understand REPLCONF {what}: {err}",
                         what=what, err=_text(line))
            if not conn.expect:
                self._send_psync(conn)
        elif phase == "psync":
            self._psync_reply(conn, line)
        elif phase == "bulkhdr":
            self._bulk_header(conn, line)

    def _send_handshake(self, conn):
        cfg = self.server.config
        out = []
        expect = []
        auth = cfg["masterauth"]
        if auth:
            user = cfg["masteruser"]
            out.append(_cmd(b"AUTH", user, auth) if user else _cmd(b"AUTH", auth))
            expect.append("auth")
        port = cfg["replica-announce-port"] or (
            cfg["tls-port"] if cfg["tls-replication"] and cfg["tls-port"] else cfg["port"])
        out.append(_cmd(b"REPLCONF", b"listening-port", port))
        expect.append("listening-port")
        ip = cfg["replica-announce-ip"]
        if ip:
            out.append(_cmd(b"REPLCONF", b"ip-address", ip))
            expect.append("ip-address")
        out.append(_cmd(b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"))
        expect.append("capa")
        conn.expect = expect
        conn.phase = "replies"
        conn.write(b"".join(out))

    def _send_psync(self, conn):
        cached = self.cached
        if cached is not None:
            replid, offset = cached.replid, cached.reploff + 1
            log.info("Trying a partial resynchronization (request {replid}:{offset}).",
                     replid=replid, offset=offset)
        else:
            replid, offset = "?", -1
            log.info("Partial resynchronization not possible (no cached master)")
        conn.phase = "psync"
        conn.write(_cmd(b"PSYNC", replid, offset))

    def _psync_reply(self, conn, line):
        if not line:
            return                  # newlines keep the link alive until the master replies
        if line.startswith(b"+FULLRESYNC"):
            parts = line.split()
            replid, offset = "0" * REPLID_LEN, -1
            if len(parts) == 3 and len(parts[1]) == REPLID_LEN:
                replid = _text(parts[1])
                try:
                    offset = int(parts[2])
                except ValueError:
                    offset = -1
            else:
                log.warn("Master replied with wrong +FULLRESYNC syntax.")
            log.info("Full resync from master: {replid}:{offset}", replid=replid, offset=offset)
            self.cached = None      # replicationDiscardCachedMaster
            self.pre_psync = False
            self._start_transfer(conn, (replid, offset))
            return
        if line.startswith(b"+CONTINUE"):
            self._continue(conn, line)
            return
        if line.startswith(b"-NOMASTERLINK") or line.startswith(b"-LOADING"):
            log.info("Master is currently unable to PSYNC but should be in the future: {r}", r=_text(line))
            self._handshake_failed(None)
            return
        if line.startswith(b"-ERR"):
            log.info("Master does not support PSYNC or is in error state (reply: {r})", r=_text(line))
        else:
            log.warn("Unexpected reply to PSYNC from master: {r}", r=_text(line))
        self.cached = None
        log.info("Retrying with SYNC...")
        self.pre_psync = True
        conn.write(b"SYNC\r\n")
        self._start_transfer(conn, (None, -1))

    def _continue(self, conn, line):
        cached = self.cached
        if cached is None:          # we asked PSYNC ? -1: only a full resync makes sense
            self._handshake_failed("Unexpected reply to PSYNC from master: %s" % _text(line))
            return
        repl = self.server.repl
        new = _text(line[9:].strip())
        log.info("Successful partial resynchronization with master.")
        if new and len(new) == REPLID_LEN and new != cached.replid:
            # The master's history changed id (a failover): the old id stays valid
            # up to here as our replid2, as Redis's PSYNC_CONTINUE with a new id.
            repl.replid2 = cached.replid
            repl.second_repl_offset = repl.master_repl_offset + 1
            repl.replid = new
            cached.replid = new
            log.info("Master replication ID changed to {replid}", replid=new)
            disconnect_replicas(self.server)
        log.info("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
        repl.create_backlog()
        self._attach_master(conn, cached.reploff, cached.db, cached.read_reploff)
        self.cached = None

    # -- the RDB transfer -------------------------------------------------------------
    def _start_transfer(self, conn, fullsync):
        self.fullsync = fullsync
        self.transfer_size = -1
        self.transfer_read = 0
        self.eofmark = None
        self.tail = b""
        cfg = self.server.config
        d = cfg.get_text("dir")
        path = os.path.join(d, "temp-%d.%d.rdb" % (int(time.time()), os.getpid()))
        try:
            self.tmp_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as e:
            self._handshake_failed("Opening the temp file needed for MASTER <-> REPLICA "
                                   "synchronization: %s" % e.strerror)
            return
        self.tmp_path = path
        conn.phase = "bulkhdr"
        self._set_state("transfer")

    def _bulk_header(self, conn, line):
        if not line:
            return                  # the master's keepalive newline while it prepares the RDB
        if line.startswith(b"-"):
            self._handshake_failed("MASTER aborted replication with an error: %s" % _text(line[1:]))
            return
        if not line.startswith(b"$"):
            self._handshake_failed("Bad protocol from MASTER, the first byte is not '$' (we received "
                                   "'%s'), are you sure the host and port are right?" % _text(line))
            return
        if line.startswith(b"$EOF:") and len(line) >= 5 + REPLID_LEN:
            self.eofmark = bytes(line[5:5 + REPLID_LEN])
            self.transfer_size = 0
            log.info("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk")
        else:
            try:
                self.transfer_size = int(line[1:])
            except ValueError:
                self._handshake_failed("Bad protocol from MASTER: %s" % _text(line))
                return
            log.info("MASTER <-> REPLICA sync: receiving {n} bytes from master to disk",
                     n=self.transfer_size)
        conn.phase = "bulk"

    def _bulk(self, conn, data):
        rest = b""
        if self.eofmark is None:
            need = self.transfer_size - self.transfer_read
            if len(data) > need:
                data, rest = data[:need], data[need:]
        try:
            _write_all(self.tmp_fd, data)
        except OSError as e:
            self._handshake_failed("Write error or short write writing to the DB dump file "
                                   "needed for MASTER <-> REPLICA synchronization: %s" % e.strerror)
            return
        self.transfer_read += len(data)
        if self.eofmark is not None:
            tail = (self.tail + data)[-REPLID_LEN:]
            self.tail = tail
            if tail != self.eofmark:
                return
            os.ftruncate(self.tmp_fd, self.transfer_read - REPLID_LEN)
        elif self.transfer_read < self.transfer_size:
            return
        self._transfer_done(conn, rest)

    def _close_transfer(self, unlink):
        if self.tmp_fd is not None:
            try:
                os.close(self.tmp_fd)
            except OSError:
                pass
            self.tmp_fd = None
        if unlink and self.tmp_path is not None:
            try:
                os.unlink(self.tmp_path)
            except OSError:
                pass
        self.tmp_path = None

    def _transfer_done(self, conn, rest):
        """The whole RDB is on disk: pause the socket, flush, load in slices."""
        server = self.server
        conn.phase = "loading"
        self.qbuf = rest
        self.parse_pos = 0
        conn.transport.pauseProducing()
        conn.paused = True
        # Redis: stop the AOF (restarted with a rewrite after the load), forget our
        # replicas and our backlog (they cannot PSYNC with the old history).
        persistence = getattr(server, "persistence", None)
        if persistence is not None:
            persistence.kill_bgsave()   # an older snapshot must not land on dump.rdb later
            if persistence.aof_on:
                persistence.stop_aof()
                self.aof_stopped = True
        disconnect_replicas(server)
        server.repl.free_backlog()
        path = self.tmp_path
        self._close_transfer(unlink=False)
        rdb_path = os.path.join(server.config.get_text("dir"), server.config["dbfilename"])
        try:
            os.rename(path, rdb_path)
        except OSError as e:
            log.warn("Failed trying to rename the temp DB into {name} in MASTER <-> REPLICA "
                     "synchronization: {err}", name=server.config["dbfilename"], err=e.strerror)
            try:
                os.unlink(path)
            except OSError:
                pass
            self._handshake_failed(None)
            return
        log.info("MASTER <-> REPLICA sync: Flushing old data")
        flush_all_data(server)
        log.info("MASTER <-> REPLICA sync: Loading DB in memory")
        server.loading = True
        loader = RdbLoad(server, rdb_path)
        coop = task.Cooperator(scheduler=lambda f: self.reactor.callLater(0, f), started=True)
        self.loading = coop.cooperate(loader.run())
        self.loading.whenDone().addCallbacks(lambda _: self._loaded(conn, loader),
                                             lambda f: self._load_failed(conn, f))

    def _load_failed(self, conn, failure):
        if self.stopped:
            return
        self.loading = None
        self.server.loading = False
        from twisted.internet.task import TaskStopped
        if failure.check(TaskStopped):
            return
        err = failure.value
        log.warn("Failed trying to load the MASTER synchronization DB from disk: {err}", err=str(err))
        self.cached = None
        self._handshake_failed(None)

    def _loaded(self, conn, loader):
        if self.stopped:
            return
        self.loading = None
        server = self.server
        server.loading = False
        server.now.refresh()
        log.info("Done loading RDB, keys loaded: {n}, keys expired: 0.", n=loader.keys)
        replid, offset = self.fullsync
        repl = server.repl
        if replid is None:          # SYNC: an old master without PSYNC
            replid, offset = new_replid(), 0
        repl.adopt(replid, offset)
        repl.create_backlog()
        self.failures = 0
        db = loader.stream_db if loader.stream_db is not None else 0
        if conn.gone:
            # The master went away while we loaded: keep what we loaded and PSYNC from here.
            self.cached = Cached(replid, offset, db) if not self.pre_psync else None
            self.conn = None
            self.down_since = self.reactor.seconds()
            self._set_state("connect")
            self._restart_aof()
            self._schedule_connect()
            return
        log.info("MASTER <-> REPLICA sync: Finished with success")
        self._attach_master(conn, offset, db, offset + len(self.qbuf))
        self._restart_aof()
        if self.eofmark is not None:
            self.send_ack()         # a diskless master streams once it gets this first ACK
        conn.paused = False
        conn.transport.resumeProducing()
        if self.qbuf:
            self.stream(b"")

    def _restart_aof(self):
        if self.aof_stopped:
            self.aof_stopped = False
            persistence = getattr(self.server, "persistence", None)
            if persistence is not None and persistence.config["appendonly"]:
                persistence.start_aof()

    # -- the stream ---------------------------------------------------------------------
    def _attach_master(self, conn, reploff, db, read_reploff):
        server = self.server
        master = MasterClient(server, self, conn)
        master.db = db
        server.add_client(master)
        self.master = master
        self.reploff = reploff
        self.read_reploff = read_reploff
        self.down_since = 0
        self.failures = 0
        conn.phase = "stream"
        self._set_state("connected")

    def stream(self, data):
        """Apply the master's bytes; proxy the applied ones to our own replicas."""
        master = self.master
        if master is None:
            return
        server = self.server
        if data:
            self.read_reploff += len(data)
            master.last_interaction = self.reactor.seconds()
            q = self.qbuf
            if not q:
                self.qbuf = data
            else:
                if type(q) is not bytearray:
                    q = self.qbuf = bytearray(q)
                q += data           # amortised: a big value may come in many reads
                if len(q) < self.need:
                    return
        if server.busy_error is not None or server.loading:
            # Redis leaves the master's input in its query buffer during a busy script.
            if self._resume is None:
                self._resume = self.reactor.callLater(0.05, self._resume_stream)
            return
        buf = self.qbuf
        if type(buf) is bytearray:
            buf = bytes(buf)
        cmds = []
        need = 0
        try:
            self.parse_pos, need = parse_stream(buf, self.parse_pos, cmds)
        except StreamError as e:
            log.warn("Protocol error from master: {err}; closing the link", err=str(e))
            cmds = None
        shards = server.shards
        for shard in shards:
            shard.replica_mode = MASTER_VIEW
        # Every refusal gate lets the master through (READONLY, MASTERDOWN, MISCONF; LOADING
        # and BUSY were checked above), so skip the gate checks for this batch.
        server.gated = False
        applied = 0                 # bytes of buf applied (counted in the offset) so far
        try:
            if cmds:
                server.now.refresh()
                dispatch = master.dispatch
                for argv, end in cmds:
                    if argv is not None:
                        name = argv[0]
                        if len(name) == 8 and len(argv) >= 2 and name.lower() == b"replconf":
                            if argv[1].lower() == b"getack":
                                self.send_ack()     # the offset before this command, as Redis
                        else:
                            try:
                                dispatch(argv)
                            except Exception:
                                log.failure("Applying {cmd} from the master failed",
                                            cmd=_text(name))
                            server.total_commands += 1
                    if master.multi is None:
                        self.reploff += end - applied
                        applied = end
        finally:
            for shard in shards:
                shard.replica_mode = True
            server._regate()
        if applied:
            server.repl.feed(buf[:applied])
            buf = buf[applied:]
            self.parse_pos -= applied
        self.qbuf = buf
        self.need = need - applied if need else 0
        if cmds is None:
            self._drop_master(cache=False)

    def _resume_stream(self):
        self._resume = None
        if self.master is not None and not self.stopped:
            self.stream(b"")

    def send_ack(self):
        conn = self.conn
        if self.master is None or conn is None or self.pre_psync:
            return
        conn.write(_cmd(b"REPLCONF", b"ACK", self.reploff))

    # -- losing the link --------------------------------------------------------------
    def _cache_master(self, cache=True):
        """Free the master client; with *cache* keep replid/offset/db to PSYNC with later
        (Redis's replicationCacheMaster; a master that broke the protocol is not cached)."""
        master = self.master
        self.master = None
        if master.multi is not None:
            from ..commands.transactions import discard_transaction
            discard_transaction(master)
        master.closing = True
        self.server.remove_client(master)
        # Bytes read but not applied (a partial command, an open MULTI) are
        # dropped: the master sends them again from the cached offset.
        self.cached = None
        if cache and not self.pre_psync:
            self.cached = Cached(self.server.repl.replid, self.reploff, master.db)
        self.qbuf = b""
        self.need = 0
        self.parse_pos = 0
        return self.cached

    def master_closed(self, master):
        """CLIENT KILL TYPE master (or the master client closed otherwise)."""
        if master is self.master:
            self._drop_master(cache=True)

    def _drop_master(self, cache):
        if self.master is None:
            return
        log.warn("Connection with master lost.")
        if cache:
            log.info("Caching the disconnected master state.")
        self._cache_master(cache)
        conn = self.conn
        self.conn = None
        if conn is not None:
            conn.drop()
        self.down_since = self.reactor.seconds()
        self._set_state("connect")
        log.info("Reconnecting to MASTER {host}:{port}", host=self.host, port=self.port)
        self.failures = 0
        self._schedule_connect()

    def connection_lost(self, conn, reason):
        if conn is not self.conn or self.stopped:
            return
        if self.master is not None:
            self._drop_master(cache=True)
            return
        if conn.phase == "loading":
            return                  # _loaded sees conn.gone and reconnects
        self.conn = None
        if conn.phase in ("bulkhdr", "bulk"):
            log.warn("I/O error trying to sync with MASTER: connection lost")
        else:
            log.warn("Master did not respond to command during SYNC handshake")
        self._close_transfer(unlink=True)
        self._set_state("connect")
        self.failures += 1
        self._schedule_connect()

    def _handshake_failed(self, message):
        """Redis's cancelReplicationHandshake: close, then retry."""
        if message:
            log.warn("{msg}", msg=message)
        conn = self.conn
        self.conn = None
        self._close_transfer(unlink=True)
        if conn is not None:
            conn.drop()
        self._set_state("connect")
        self.failures += 1
        self._schedule_connect()

    # -- once a second -------------------------------------------------------------------
    def cron(self):
        now = self.reactor.seconds()
        timeout = self.server.config["repl-timeout"]
        state = self.state
        if state in ("connecting", "handshake") and now - self.lastio > timeout:
            if self.connector is not None and state == "connecting":
                try:
                    self.connector.stopConnecting()
                except Exception:
                    pass
                self.connector = None
            self._handshake_failed("Timeout connecting to the MASTER...")
        elif state == "transfer" and self.loading is None and now - self.lastio > timeout:
            self._handshake_failed("Timeout receiving bulk data from MASTER... If the problem persists "
                                   "try to set the 'repl-timeout' parameter in redis.conf to a larger value.")
        elif state == "connected" and self.master is not None \
                and now - self.master.last_interaction > timeout:
            log.warn("MASTER timeout: no data nor PING received...")
            self._drop_master(cache=True)
        elif self.master is not None:
            self.send_ack()

    # -- introspection -------------------------------------------------------------------
    def info_fields(self):
        """INFO replication's replica lines, in Redis 7.0's order."""
        server = self.server
        cfg = server.config
        now = int(self.reactor.seconds())
        master = self.master
        if master is not None:
            read_off, off = self.read_reploff, self.reploff
        elif self.cached is not None:
            read_off, off = self.cached.read_reploff, self.cached.reploff
        else:
            read_off = off = 1
        out = [
            ("master_host", self.host),
            ("master_port", self.port),
            ("master_link_status", "up" if self.state == "connected" else "down"),
            ("master_last_io_seconds_ago", now - int(master.last_interaction) if master is not None else -1),
            ("master_sync_in_progress", 1 if self.state == "transfer" else 0),
            ("slave_read_repl_offset", read_off),
            ("slave_repl_offset", off),
        ]
        if self.state == "transfer":
            size, read = self.transfer_size, self.transfer_read
            perc = (read / size) * 100 if size else 0.0
            out += [
                ("master_sync_total_bytes", size),
                ("master_sync_read_bytes", read),
                ("master_sync_left_bytes", size - read),
                ("master_sync_perc", "%.2f" % perc),
                ("master_sync_last_io_seconds_ago", now - int(self.lastio)),
            ]
        if self.state != "connected":
            out.append(("master_link_down_since_seconds",
                        now - int(self.down_since) if self.down_since else -1))
        out += [
            ("slave_priority", cfg["replica-priority"]),
            ("slave_read_only", 1 if cfg["replica-read-only"] else 0),
            ("replica_announced", 1 if cfg["replica-announced"] else 0),
        ]
        return out

    def role_state(self):
        state = self.state
        if state == "transfer":
            return "sync"
        return state

    def role_reply(self):
        """ROLE on a replica: [slave, host, port, state, offset]."""
        return ["slave", self.host, self.port, self.role_state(),
                self.reploff if self.master is not None else -1]


def _reason(reason):
    v = getattr(reason, "value", reason)
    s = getattr(v, "osError", None)
    if s is not None:
        return os.strerror(s) if isinstance(s, int) else str(s)
    msg = str(v)
    return msg.split(": ", 1)[-1] if "Connection refused" in msg else msg


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


# -- loading the master's RDB -----------------------------------------------------------
class RdbLoad:
    """Loads an RDB file into the (flushed) server in slices; a generator for task.cooperate.

    Decoding and insertion are persistence's fast path (``Reader.batches`` and
    storage/bulkload.py, as recovery uses them).  Unlike startup recovery, a
    replica keeps keys whose TTL already passed: the master's DEL removes them
    (Redis's rdbLoad on a replica)."""

    def __init__(self, server, path):
        self.server = server
        self.path = path
        self.keys = 0
        self.stream_db = None
        self.aux = {}

    def run(self):
        server = self.server
        with open(self.path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        try:
            values = _rdb.Values(server.config)
            reader = _rdb.Reader(buf, values, path=self.path,
                                 verify_checksum=server.config["rdbchecksum"],
                                 parallel_checksum=getattr(server.persistence, "use_fork", False))
            bulk = BulkLoader(server)
            ndb = server.databases
            functions = []
            # expired_before=None: a replica keeps keys whose TTL has passed
            for rec in reader.batches(LOAD_SLICE, None):
                tag = rec[0]
                if tag == "keys":
                    bulk.insert(rec[1], rec[2], rec[3], rec[4])
                    self.keys += len(rec[2])
                    yield
                elif tag == "select":
                    if rec[1] >= ndb:
                        raise _rdb.RdbError("the master's RDB uses database %d, but only %d databases "
                                            "are configured" % (rec[1], ndb), reader.pos, self.path)
                elif tag == "resize":
                    bulk.hint(rec[1], rec[2])
                elif tag == "aux":
                    self.aux[rec[1]] = rec[2]
                    if rec[1] == b"repl-stream-db":
                        try:
                            self.stream_db = int(rec[2])
                        except ValueError:
                            pass
                elif tag == "function":
                    functions.append(rec[1])
            if functions:
                from ..commands import functions as fmod
                fmod.load_libraries(server, functions, replace=True)
        finally:
            if isinstance(buf, mmap.mmap):
                buf.close()


def flush_all_data(server):
    """Redis's emptyData before loading the master's RDB: every db and the functions.

    WATCHers of existing keys are touched; client tracking sees a FLUSHALL
    event (the AOF is stopped during a sync, so it does not record it)."""
    for shard in server.shards:
        for ks in shard.dbs:
            ks.clear()
    f = getattr(server, "functions", None)
    if f is not None:
        f.flush()
    server.bus.publish(0, (b"FLUSHALL",))


# -- becoming a replica / a master ----------------------------------------------------------
def disconnect_replicas(server):
    """Redis's disconnectSlaves: our replicas must resync with our new history."""
    for r in list(server.repl.replicas):
        close = getattr(r, "close", None)
        if close is not None:
            close()


def _set_replicaof_config(server, value):
    """CONFIG GET replicaof follows the live state, as Redis prints server.masterhost."""
    cfg = server.config
    values = dict(cfg.items())
    values["replicaof"] = value
    server.config = cfg._replace(values)


def _set_replica_mode(server, on):
    for shard in server.shards:
        shard.replica_mode = bool(on)


def set_master(server, host, port, startup=False):
    """REPLICAOF host port (and --replicaof at startup): Redis's replicationSetMaster."""
    repl = server.repl
    old = repl.link
    was_master = old is None
    cached = None
    down_since = 0
    if old is not None:
        # A link that was up goes down now; one already down keeps its time (Redis's repl_down_since).
        down_since = old.down_since if old.master is None else server.reactor.seconds()
        cached = old.stop()         # freeClient(master) caches it for PSYNC with the new master
    _unblock_all(server)
    if was_master and not startup:
        # Demoted master: PSYNC the new master with our own history.
        cached = Cached(repl.replid, repl.master_repl_offset, 0)
    repl.role = "slave"
    server.replica_of = (host, port)
    _set_replicaof_config(server, (host, port))
    _set_replica_mode(server, True)
    link = ReplicaLink(server, host, port, cached, down_since)
    repl.link = link
    link.start()
    return link


def unset_master(server):
    """REPLICAOF NO ONE: Redis's replicationUnsetMaster (keeps the data, new history)."""
    repl = server.repl
    link = repl.link
    if link is None:
        return False
    aof_stopped = link.aof_stopped
    link.stop()
    repl.link = None
    repl.role = "master"
    repl.shift_replid()
    disconnect_replicas(server)
    server.replica_of = None
    _set_replicaof_config(server, None)
    _set_replica_mode(server, False)
    server.read_only = False
    server.stale_error = None
    # The next write event must start with a SELECT (Redis's slaveseldb = -1).
    master_side = server.repl_master
    if master_side is not None:
        master_side.reset_stream_db()
    if aof_stopped:
        persistence = getattr(server, "persistence", None)
        if persistence is not None and persistence.config["appendonly"]:
            persistence.start_aof()
    return True


def _unblock_all(server):
    """Redis's disconnectAllBlockedClients when the role changes."""
    from .. import blocking
    for client in list(server.clients.values()):
        if client.blocked is not None and client.kind != "master":
            blocking.unblock(client, _UNBLOCKED)
            client.close()


class ReplicaService(service.Service):
    """``--replicaof`` at startup: connect once our own data is loaded; stop the link on exit."""

    def __init__(self, server, host, port):
        self.server = server
        self.host = host
        self.port = port

    def startService(self):
        super().startService()
        set_master(self.server, self.host, self.port, startup=True)

    def stopService(self):
        link = self.server.repl.link
        if link is not None:
            link.stop()
        return super().stopService()


def wire(top, server, config):
    """Called by service.make_service: start as a replica when ``replicaof`` is set."""
    target = config["replicaof"]
    if target is None:
        return None
    svc = ReplicaService(server, target[0], target[1])
    svc.setServiceParent(top)
    return svc
