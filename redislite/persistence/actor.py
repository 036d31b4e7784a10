"""The persistence actor: owns everything on disk (RDB snapshots, the multi-part AOF).

* **AOF.**  It subscribes to ``server.bus``; every write event is appended, in
  RESP, to a buffer (with a SELECT when the database changes).  The buffer is
  written once per reactor turn, after every connection readable in this turn
  was served: from reactor_tuning's ``BEFORE_POLL`` hook (Redis's
  ``beforeSleep``) when the lean poll is installed, else a ``callLater(0)``
  (which cost an extra loop iteration per turn: ~10% of SET throughput).
  The replies of a turn that wrote are held (``server.before_reply``) until the
  buffer is written, so no write is acknowledged before the kernel has it (Redis's
  beforeSleep order); under ``appendfsync always`` also until the fsync is done:
  one group commit per turn, on the reactor thread, as Redis does.  ``everysec``
  fsyncs on a worker thread at most once a second; ``no`` leaves it to the kernel.
* **Snapshots and rewrites fork** (the Redis way): the child walks its
  copy-on-write image of the keyspaces, which is a point-in-time view by
  construction (the fork happens between two reactor turns, so no command is
  half applied), writes the file and ``os._exit``\\ s.  The reactor only pays for
  the fork itself.  See docs/persistence.md for the measurements behind this.
  Without ``os.fork`` (or with ``use_fork = False`` in tests) the same work runs
  synchronously.
* **Disk faults** follow Redis: a failed AOF write is retried every cron tick,
  writes are refused with MISCONF meanwhile, and the refusal clears after the
  next good write; under ``always`` a failed write or fsync stops the server.
  A failing BGSAVE makes writes fail with MISCONF (when save points are set and
  stop-writes-on-bgsave-error is yes) until a save succeeds.
"""

import errno
import gc
import os
import signal
import sys
import time

from twisted.logger import Logger

from .. import reactor_tuning
from ..errors import ReplyError
from . import aof as _aof
from . import diskio
from . import rdb as _rdb

log = Logger(namespace="redislite.persistence")

MISCONF_RDB = ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
               "persist to disk. Commands that may modify the data set are disabled, because this "
               "instance is configured to report errors during writes if RDB snapshotting fails "
               "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about "
               "the RDB error.")
MISCONF_AOF = "MISCONF Errors writing to the AOF file: %s"
BGSAVE_RETRY_DELAY = 5          # seconds, Redis's CONFIG_BGSAVE_RETRY_DELAY
CRON_INTERVAL = 0.1             # Redis's serverCron at hz 10
_RESP2 = b"*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
_RESP3 = b"*3\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"


def _die(message):
    """Stop the process at once, as Redis's exit(1) on unrecoverable persistence errors."""
    try:
        sys.stderr.write("# %s\n" % message)
        sys.stderr.flush()
    finally:
        os._exit(1)


class Persistence:
    """One per server; ``server.persistence`` points here."""

    use_fork = hasattr(os, "fork")

    def __init__(self, server, reactor=None):
        self.server = server
        self.reactor = reactor or server.reactor
        cfg = server.config
        self.dir = cfg.get_text("dir")
        now = int(self.reactor.seconds())
        # -- RDB state
        self.lastsave = now
        self.dirty_at_save = 0
        self.dirty_before_bgsave = 0
        self.last_bgsave_try = 0
        self.lastbgsave_status = True
        self.rdb_saves = 0
        self.rdb_last_bgsave_time = -1
        self.bgsave_pid = None
        self.bgsave_start = None
        self.bgsave_tmp = None
        self.bgsave_scheduled = False
        self.rdb_disk_error = False
        # -- AOF state
        self.aof_on = False
        self.aof_fd = None
        self.aof_incr_path = None
        self.aof_incr_size = 0
        self.aof_size = 0              # aof_current_size: base + incr files
        self.aof_base_size = 0         # size at the last rewrite (auto-rewrite growth base)
        self.manifest = None
        self.aof_db = -1
        self.buf = []
        self.buf_len = 0
        self.scheduled = False
        # With reactor_tuning's lean poll, the turn's buffer is written right before
        # the reactor polls again (Redis's beforeSleep); otherwise by a callLater(0).
        hooks = getattr(self.reactor, "_before_poll", None)
        self.hooked = hooks is not None
        if self.hooked:
            hooks.append(self._before_poll)
        self.held = []
        self.aof_write_ok = True
        self.aof_fsync_ok = True       # Redis's aof_bio_fsync_status: cleared by the next good fsync
        self.aof_write_errno = 0
        self.last_fsync = time.monotonic()
        self.fsync_in_flight = False
        self.fsync_pending = False     # bytes written since the last fsync
        self.delayed_fsync = 0
        self.rewrite_pid = None
        self.rewrite_start = None
        self.rewrite_tmp = None
        self.rewrite_scheduled = False
        self.rewrite_incr_start = 0    # index in manifest.incrs of the first incr opened for it
        self.rewrite_last_ok = True
        self.aof_rewrites = 0
        self.rewrite_failures = 0
        self.last_rewrite_time = -1
        self.loader = None             # recovery.Loader while loading
        self.load_stats = (0, 0)       # (keys loaded, keys expired) at the last load
        self.shutting_down = False
        self._cron = None
        self._subscribed = False

    # ---------------------------------------------------------------------------------
    # lifecycle
    # ---------------------------------------------------------------------------------
    @property
    def config(self):
        return self.server.config

    def aof_dir(self):
        return os.path.join(self.dir, self.config["appenddirname"])

    def start(self, manifest=None):
        """After loading: open the AOF (creating it as Redis does on first start), start the cron."""
        self.dirty_at_save = self.server.bus.dirty
        if self.config["appendonly"]:
            self._open_aof_at_start(manifest)
        self._apply_fsync_policy()
        if self._cron is None:
            from twisted.internet import task
            self._cron = task.LoopingCall(self.cron)
            self._cron.clock = self.reactor
            self._cron.start(CRON_INTERVAL, now=False)

    def stop(self):
        """Service stop (twistd, SIGTERM): save per config and make the AOF durable."""
        if self._cron is not None and self._cron.running:
            self._cron.stop()
        self._cron = None
        if not self.shutting_down:
            err = self.prepare_shutdown(self.config["shutdown-on-sigterm"], sigterm=True)
            if err is not None:
                log.error("Errors trying to shut down the server: {err}", err=err)

    # ---------------------------------------------------------------------------------
    # AOF: the write path
    # ---------------------------------------------------------------------------------
    def on_event(self, db, argv):
        """Bus subscriber: buffer the event in RESP (hot path)."""
        if not self.aof_on:
            return
        buf = self.buf
        if db != self.aof_db:
            buf.append(_aof.select_cmd(db))
            self.aof_db = db
        n = len(argv)
        if n == 3:                      # SET k v and the like: one format op (measured ~15% less)
            a0, a1, a2 = argv
            buf.append(_RESP3 % (len(a0), a0, len(a1), a1, len(a2), a2))
        elif n == 2:
            a0, a1 = argv
            buf.append(_RESP2 % (len(a0), a0, len(a1), a1))
        else:
            buf.append(_aof.encode(argv))
        if not self.scheduled:
            self.scheduled = True
            if not self.hooked:
                self.reactor.callLater(0, self.flush)

    def _before_poll(self):
        if self.scheduled:
            self.flush()

    def before_reply(self, client, payload):
        """Hold the replies of a turn that wrote until its AOF buffer is written (and
        fsynced under ``appendfsync always``): one group write per turn."""
        if not self.buf and not self.held:
            return False
        if client.closing:
            self.flush()            # the connection goes away right after this write
            return False
        self.held.append((client, payload))
        if not self.scheduled:
            self.scheduled = True
            if not self.hooked:
                self.reactor.callLater(0, self.flush)
        return True

    def flush(self, fsync=None):
        """Write the buffer (once per turn) and fsync per policy; release held replies."""
        self.scheduled = False
        if self.buf and self.aof_fd is not None:
            data = b"".join(self.buf)
            try:
                diskio.write_all(self.aof_fd, data, self.aof_incr_path)
            except OSError as e:
                self._write_failed(e, data)     # exits under appendfsync always
                self._release_held()            # everysec/no: Redis answers anyway
                return
            self.buf = []
            self.aof_incr_size += len(data)
            self.aof_size += len(data)
            self.fsync_pending = True
            if not self.aof_write_ok:
                log.warn("AOF write error looks solved, Redis can write again.")
                self.aof_write_ok = True
                self._update_write_error()
        policy = self.config["appendfsync"] if fsync is None else fsync
        if self.fsync_pending and self.aof_fd is not None:
            if policy == "always":
                try:
                    diskio.fsync(self.aof_fd, self.aof_incr_path)
                except OSError as e:
                    _die("Can't persist AOF for fsync error when the AOF fsync policy is 'always': "
                         "%s. Exiting..." % e.strerror)
                self.fsync_pending = False
                self.last_fsync = time.monotonic()
            elif policy == "everysec":
                self._maybe_bg_fsync()
        if self.held:
            self._release_held()

    def _release_held(self):
        """Send the replies held for this turn, in order, now that the AOF has them."""
        held, self.held = self.held, []
        direct = []
        for client, payload in held:
            t = client.transport
            if t is None or client.closing:
                continue
            if getattr(client, "_direct", False) and not t.disconnecting:
                # as protocol.py's held replies: into the transport's buffer, then one
                # send() per client below (t.write would wait for another epoll round)
                if not t._tempDataLen:
                    direct.append(client)
                t._tempDataBuffer.append(payload)
                t._tempDataLen += len(payload)
            else:
                t.write(payload)
        if direct:
            reactor_tuning.flush(direct)

    def _write_failed(self, e, data):
        """Redis's flushAppendOnlyFile error path: undo a partial write, keep the data, retry."""
        written = getattr(e, "written", 0)
        if written:
            try:
                os.ftruncate(self.aof_fd, self.aof_incr_size)
                os.lseek(self.aof_fd, self.aof_incr_size, os.SEEK_SET)
            except OSError:
                # could not undo: the written part stays in the file, drop it from the buffer
                self.aof_incr_size += written
                self.aof_size += written
                data = data[written:]
        self.buf = [data] if data else []
        if self.config["appendfsync"] == "always":
            _die("Can't recover from AOF write error when the AOF fsync policy is 'always'. "
                 "Exiting... (%s)" % e.strerror)
        if self.aof_write_ok:
            log.error("Error writing to the AOF file: {err}", err=e.strerror)
        self.aof_write_ok = False
        self.aof_write_errno = e.errno or errno.EIO
        self._update_write_error()
        # held replies (none under everysec/no) are released by the next good flush

    def _maybe_bg_fsync(self):
        now = time.monotonic()
        if self.fsync_in_flight:
            if now - self.last_fsync >= 2:
                self.delayed_fsync += 1
            return
        if now - self.last_fsync < 1:
            return
        self.fsync_pending = False
        self.last_fsync = now
        fd = self.aof_fd
        path = self.aof_incr_path
        call = getattr(self.reactor, "callInThread", None)
        if call is None:                      # task.Clock in unit tests
            self._bg_fsync(fd, path)
            return
        self.fsync_in_flight = True
        call(self._bg_fsync_thread, fd, path)

    def _bg_fsync_thread(self, fd, path):
        """Runs on a worker thread: the reactor never waits for the disk under everysec."""
        try:
            self._bg_fsync(fd, path)
        finally:
            self.reactor.callFromThread(setattr, self, "fsync_in_flight", False)

    def _bg_fsync(self, fd, path):
        try:
            diskio.fsync(fd, path)
        except OSError as e:
            if e.errno == errno.EBADF:        # the file was closed by a rewrite/stop meanwhile
                return
            self._from_thread(self._fsync_failed, e)
            return
        if not self.aof_fsync_ok:
            self._from_thread(self._fsync_recovered)

    def _from_thread(self, fn, *args):
        call = getattr(self.reactor, "callFromThread", None)
        if call is None:                      # task.Clock in unit tests: already on the "reactor"
            fn(*args)
        else:
            call(fn, *args)

    def _fsync_failed(self, e):
        log.error("Error syncing the AOF file: {err}", err=e.strerror)
        self.aof_fsync_ok = False
        self.aof_write_errno = e.errno or errno.EIO
        self.fsync_pending = True
        self._update_write_error()

    def _fsync_recovered(self):
        log.warn("AOF fsync error looks solved, Redis can write again.")
        self.aof_fsync_ok = True
        self._update_write_error()

    def _update_write_error(self):
        """Set or clear the MISCONF gate, in Redis 7.0's writeCommandsDeniedByDiskError
        order: a failed BGSAVE first, then an AOF write or background fsync error."""
        cfg = self.config
        err = None
        if cfg["stop-writes-on-bgsave-error"] and cfg["save"] and not self.lastbgsave_status:
            err = ReplyError(MISCONF_RDB)
        elif self.aof_on and not (self.aof_write_ok and self.aof_fsync_ok):
            err = ReplyError(MISCONF_AOF % os.strerror(self.aof_write_errno))
        if err != self.server.write_error:
            self.server.write_error = err

    def _apply_fsync_policy(self):
        # Replies to a turn's writes wait for the AOF write (and, under ``always``, the
        # fsync), as in Redis, whose beforeSleep writes the AOF before any reply: a
        # process killed right after answering has the write in the kernel's page
        # cache under every policy.  (Replies used to leave at once under everysec/no,
        # so a kill -9 could lose an acknowledged write; a backup copied under load
        # missed some.)
        self.server.before_reply = self.before_reply if self.aof_on else None

    # ---------------------------------------------------------------------------------
    # AOF: files
    # ---------------------------------------------------------------------------------
    def _open_aof_at_start(self, manifest):
        d = self.aof_dir()
        name = self.config["appendfilename"]
        os.makedirs(d, exist_ok=True)
        if manifest is None:
            # First start with appendonly on (or a legacy single file): a base with the
            # current data and an empty incr, as Redis 7.0 does on server start.
            manifest = _aof.Manifest()
            self._write_base_sync(manifest, 1)
        if not manifest.incrs:
            manifest.incrs.append((_aof.incr_name(name, manifest.next_incr_seq()),
                                   manifest.next_incr_seq()))
        _aof.write_manifest(d, name, manifest)
        diskio.fsync_dir(d)
        self.manifest = manifest
        self._open_incr(manifest.incrs[-1][0])
        self.aof_size = self._files_size(manifest)
        self.aof_base_size = self.aof_size
        self.aof_on = True
        self._subscribe()

    def _write_base_sync(self, manifest, seq):
        d = self.aof_dir()
        name = self.config["appendfilename"]
        preamble = self.config["aof-use-rdb-preamble"]
        base = _aof.base_name(name, seq, preamble)
        tmp = os.path.join(d, "temp-rewriteaof-%d.aof" % os.getpid())
        diskio.write_atomic(tmp, os.path.join(d, base), self._base_chunks(preamble))
        manifest.base = (base, seq)

    def _files_size(self, manifest):
        d = self.aof_dir()
        total = 0
        names = ([manifest.base[0]] if manifest.base else []) + [n for n, _ in manifest.incrs]
        for n in names:
            try:
                total += os.path.getsize(os.path.join(d, n))
            except OSError:
                pass
        return total

    def _open_incr(self, fname):
        if self.aof_fd is not None:
            os.close(self.aof_fd)
        path = os.path.join(self.aof_dir(), fname)
        self.aof_fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.aof_incr_path = path
        self.aof_incr_size = os.fstat(self.aof_fd).st_size
        self.aof_db = -1               # the next event starts with a SELECT, as in Redis

    def _subscribe(self):
        if not self._subscribed:
            self.server.bus.subscribe(self.on_event)
            self._subscribed = True

    def _base_chunks(self, preamble):
        """The data set as a base file: an RDB (preamble) or RESP commands."""
        server = self.server
        if preamble:
            aux = _rdb.default_aux(int(time.time()), server.used_memory(), aof_base=True)
            return _rdb.iter_snapshot(server, server.databases, aux, self._functions(),
                                      self.config["rdbcompression"], self.config["rdbchecksum"],
                                      key_delay_us=self.config["rdb-key-save-delay"])
        return rewrite_commands(server, self._functions())

    def _functions(self):
        try:
            from ..commands import functions as fmod
        except ImportError:
            return []
        fn = getattr(fmod, "dump_libraries", None)
        return [bytes(c) if not isinstance(c, bytes) else c
                for c in (fn(self.server) if fn is not None else [])]

    def start_aof(self):
        """CONFIG SET appendonly yes: start logging and rewrite a base, as Redis's startAppendOnly."""
        if self.aof_on:
            return True
        d = self.aof_dir()
        os.makedirs(d, exist_ok=True)
        name = self.config["appendfilename"]
        manifest = _aof.read_manifest(d, name) or _aof.Manifest()
        self.manifest = manifest
        self.aof_on = True
        self._apply_fsync_policy()
        self._subscribe()
        self.aof_db = -1
        if self.bgsave_pid is not None:
            self.rewrite_scheduled = True
            # events are buffered until the rewrite opens the new incr file
            return True
        return self.start_rewrite()

    def stop_aof(self):
        """CONFIG SET appendonly no: flush, fsync and close (Redis's stopAppendOnly)."""
        if not self.aof_on:
            return
        self.flush(fsync="always" if self.aof_fd is not None else "no")
        if self.aof_fd is not None:
            os.close(self.aof_fd)
        self.aof_fd = None
        self.aof_on = False
        self.buf = []
        self.aof_write_ok = True
        self.aof_fsync_ok = True
        if self.rewrite_pid is not None:
            self._kill_child(self.rewrite_pid, self.rewrite_tmp)
            self.rewrite_pid = None
        self.rewrite_scheduled = False
        self._apply_fsync_policy()
        self._update_write_error()

    # ---------------------------------------------------------------------------------
    # AOF rewrite
    # ---------------------------------------------------------------------------------
    def start_rewrite(self):
        """BGREWRITEAOF: new incr file now, base from a forked child, swap on success."""
        if self.rewrite_pid is not None:
            return False
        if self.bgsave_pid is not None:
            self.rewrite_scheduled = True
            return True
        self.rewrite_scheduled = False
        d = self.aof_dir()
        os.makedirs(d, exist_ok=True)
        name = self.config["appendfilename"]
        if self.manifest is None:
            self.manifest = _aof.read_manifest(d, name) or _aof.Manifest()
        m = self.manifest
        self.rewrite_incr_start = len(m.incrs)
        if self.aof_on:
            self.flush()
            seq = m.next_incr_seq()
            m.incrs.append((_aof.incr_name(name, seq), seq))
            self._open_incr(m.incrs[-1][0])
            try:
                _aof.write_manifest(d, name, m)
            except OSError as e:
                log.error("Can't persist the AOF manifest: {err}", err=e.strerror)
                m.incrs.pop()
                self.rewrite_failures += 1
                return False
        self.rewrite_tmp = os.path.join(d, "temp-rewriteaof-bg-%d.aof" % os.getpid())
        self.rewrite_start = time.time()
        preamble = self.config["aof-use-rdb-preamble"]
        tmp = self.rewrite_tmp

        def job():
            diskio.write_atomic(tmp + ".part", tmp, self._base_chunks(preamble))
        pid = self._run_child(job)
        if pid is None:                # done synchronously
            self._rewrite_done(True)
        elif pid < 0:
            self._rewrite_done(False)
        else:
            self.rewrite_pid = pid
        return True

    def _rewrite_done(self, ok):
        self.rewrite_pid = None
        d = self.aof_dir()
        name = self.config["appendfilename"]
        m = self.manifest
        self.last_rewrite_time = int(time.time() - self.rewrite_start)
        if ok:
            try:
                new = m.copy()
                seq = m.next_base_seq()
                base = _aof.base_name(name, seq, self.config["aof-use-rdb-preamble"])
                diskio.rename(self.rewrite_tmp, os.path.join(d, base))
                old = ([m.base[0]] if m.base else []) + [n for n, _ in m.incrs[:self.rewrite_incr_start]]
                new.base = (base, seq)
                new.incrs = m.incrs[self.rewrite_incr_start:]
                new.history = m.history + old
                _aof.write_manifest(d, name, new)
                for f in old:
                    try:
                        os.unlink(os.path.join(d, f))
                    except OSError:
                        pass
                new.history = []
                _aof.write_manifest(d, name, new)
                self.manifest = new
                self.aof_size = self._files_size(new)
                self.aof_base_size = self.aof_size
                self.aof_rewrites += 1
                self.rewrite_failures = 0
                self.rewrite_last_ok = True
                log.info("Background AOF rewrite finished successfully")
            except OSError as e:
                log.error("AOF rewrite: can't install the new base: {err}", err=e.strerror)
                ok = False
        if not ok:
            self.rewrite_last_ok = False
            self.rewrite_failures += 1
            try:
                os.unlink(self.rewrite_tmp)
            except OSError:
                pass
        if self.bgsave_scheduled:
            self.bgsave_scheduled = False
            self.bgsave()

    # ---------------------------------------------------------------------------------
    # RDB
    # ---------------------------------------------------------------------------------
    def rdb_path(self):
        return os.path.join(self.dir, self.config["dbfilename"])

    def _rdb_chunks(self):
        server = self.server
        aux = _rdb.default_aux(int(time.time()), server.used_memory())
        return _rdb.iter_snapshot(server, server.databases, aux, self._functions(),
                                  self.config["rdbcompression"], self.config["rdbchecksum"],
                                  key_delay_us=self.config["rdb-key-save-delay"])

    def save(self):
        """SAVE: synchronous snapshot.  True on success."""
        tmp = os.path.join(self.dir, "temp-%d.rdb" % os.getpid())
        try:
            diskio.write_atomic(tmp, self.rdb_path(), self._rdb_chunks())
        except (OSError, _rdb.RdbError) as e:
            log.error("Write error saving DB on disk: {err}", err=getattr(e, "strerror", None) or e)
            self.lastbgsave_status = False
            self._update_write_error()
            return False
        self._saved(self.server.bus.dirty)
        return True

    def _saved(self, dirty_then):
        self.dirty_at_save = dirty_then
        self.lastsave = int(self.reactor.seconds())
        self.lastbgsave_status = True
        self.rdb_saves += 1
        self._update_write_error()

    def bgsave(self, schedule=False):
        """BGSAVE: returns "started", "scheduled", or an error text."""
        if self.bgsave_pid is not None:
            return "ERR Background save already in progress"
        if self.rewrite_pid is not None:
            if schedule:
                self.bgsave_scheduled = True
                return "scheduled"
            return ("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE "
                    "SCHEDULE in order to schedule a BGSAVE whenever possible.")
        self.last_bgsave_try = int(self.reactor.seconds())
        self.dirty_before_bgsave = self.server.bus.dirty
        self.bgsave_start = time.time()
        tmp = self.bgsave_tmp = os.path.join(self.dir, "temp-bg-%d.rdb" % os.getpid())
        target = self.rdb_path()

        def job():
            diskio.write_atomic(tmp, target, self._rdb_chunks())
        pid = self._run_child(job)
        if pid is None:
            self._bgsave_done(True)
        elif pid < 0:
            self._bgsave_done(False)
        else:
            self.bgsave_pid = pid
        return "started"

    def kill_bgsave(self):
        """Kill a running BGSAVE child and drop its temp file (Redis's killRDBChild,
        which counts as neither success nor failure).  A replica about to load
        its master's snapshot calls it, so an older snapshot cannot be renamed
        over dump.rdb afterwards; SHUTDOWN calls it too."""
        if self.bgsave_pid is not None:
            self._kill_child(self.bgsave_pid, self.bgsave_tmp)
            self.bgsave_pid = None

    def _bgsave_done(self, ok):
        self.bgsave_pid = None
        self.rdb_last_bgsave_time = int(time.time() - self.bgsave_start)
        if ok:
            self._saved(self.dirty_before_bgsave)
            log.info("Background saving terminated with success")
        else:
            self.lastbgsave_status = False
            self._update_write_error()
            log.error("Background saving error")
        if self.rewrite_scheduled:
            self.rewrite_scheduled = False
            self.start_rewrite()

    # ---------------------------------------------------------------------------------
    # children
    # ---------------------------------------------------------------------------------
    def _run_child(self, job):
        """Fork and run *job* in the child; None when it ran synchronously, -1 on failure."""
        if not self.use_fork:
            try:
                job()
            except (OSError, _rdb.RdbError) as e:
                log.error("Save failed: {err}", err=e)
                return -1
            return None
        self.flush()                         # the child must not inherit a pending buffer
        gc.freeze()                          # keep the collector from dirtying shared pages
        try:
            pid = os.fork()
        except OSError as e:
            gc.unfreeze()
            log.error("Can't fork: {err}", err=e.strerror)
            return -1
        if pid == 0:                         # the child: never returns
            code = 1
            try:
                gc.disable()
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                diskio.close_sockets_after_fork()
                job()
                code = 0
            except BaseException as e:       # noqa: B902 - the child reports through its status
                try:
                    sys.stderr.write("# persistence child failed: %s\n" % (e,))
                except Exception:
                    pass
            finally:
                os._exit(code)
        gc.unfreeze()
        return pid

    def _reap(self, pid):
        """True/False when *pid* ended (success or not), None while it runs."""
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return False
        if done == 0:
            return None
        return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0

    def _kill_child(self, pid, tmp):
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass
        for p in (tmp, (tmp or "") + ".part"):
            if p:
                try:
                    os.unlink(p)
                except OSError:
                    pass

    # ---------------------------------------------------------------------------------
    # cron (10 Hz): children, save points, everysec fsync, write retries, auto rewrite
    # ---------------------------------------------------------------------------------
    def cron(self):
        if self.bgsave_pid is not None:
            r = self._reap(self.bgsave_pid)
            if r is not None:
                self._bgsave_done(r)
        if self.rewrite_pid is not None:
            r = self._reap(self.rewrite_pid)
            if r is not None:
                self._rewrite_done(r)
        if self.aof_on:
            if self.buf and not self.scheduled:
                self.flush()                 # retry after a write error
            elif self.fsync_pending and self.config["appendfsync"] == "everysec":
                self._maybe_bg_fsync()
        if self.bgsave_pid is None and self.rewrite_pid is None:
            if self.rewrite_scheduled:
                self.start_rewrite()
            elif self.bgsave_scheduled:
                self.bgsave_scheduled = False
                self.bgsave()
            else:
                self._check_save_points()
                self._check_auto_rewrite()

    def _check_save_points(self):
        params = self.config["save"]
        if not params:
            return
        now = int(self.reactor.seconds())
        dirty = self.server.bus.dirty - self.dirty_at_save
        for secs, changes in params:
            if dirty >= changes and now - self.lastsave > secs and (
                    self.lastbgsave_status or now - self.last_bgsave_try > BGSAVE_RETRY_DELAY):
                log.info("{changes} changes in {secs} seconds. Saving...", changes=changes, secs=secs)
                self.bgsave()
                return

    def _check_auto_rewrite(self):
        if not self.aof_on:
            return
        cfg = self.config
        perc = cfg["auto-aof-rewrite-percentage"]
        if perc and self.aof_size > cfg["auto-aof-rewrite-min-size"]:
            base = self.aof_base_size or 1
            growth = (self.aof_size * 100 // base) - 100
            if growth >= perc:
                log.info("Starting automatic rewriting of AOF on {g}% growth", g=growth)
                self.start_rewrite()

    # ---------------------------------------------------------------------------------
    # shutdown
    # ---------------------------------------------------------------------------------
    def prepare_shutdown(self, flags, sigterm=False):
        """Redis's prepareForShutdown: kill children, flush+fsync the AOF, save per config.

        ``flags`` are config.SHUTDOWN_* bits.  Returns None when the server may
        exit, or an error text (a failed save without FORCE).
        """
        from ..config import SHUTDOWN_FORCE, SHUTDOWN_NOSAVE, SHUTDOWN_SAVE
        self.kill_bgsave()
        if self.rewrite_pid is not None:
            self._kill_child(self.rewrite_pid, self.rewrite_tmp)
            self.rewrite_pid = None
        if self.aof_on:
            self.flush(fsync="always")
            if self.buf and not flags & SHUTDOWN_FORCE:
                return "Errors trying to SHUTDOWN. Check logs."
        save = (self.config["save"] and not flags & SHUTDOWN_NOSAVE) or flags & SHUTDOWN_SAVE
        if save:
            if not self.save() and not flags & SHUTDOWN_FORCE:
                return "Errors trying to SHUTDOWN. Check logs."
        if self.aof_fd is not None:
            try:
                os.close(self.aof_fd)
            except OSError:
                pass
            self.aof_fd = None
        self.shutting_down = True
        return None

    # ---------------------------------------------------------------------------------
    # config changes (CONFIG SET)
    # ---------------------------------------------------------------------------------
    def config_changed(self, config):
        want = config["appendonly"]
        if want and not self.aof_on:
            self.start_aof()
        elif not want and self.aof_on:
            self.stop_aof()
        self._apply_fsync_policy()
        self._update_write_error()

    # ---------------------------------------------------------------------------------
    # INFO persistence
    # ---------------------------------------------------------------------------------
    def info(self):
        server = self.server
        now = time.time()
        loader = self.loader
        out = [("loading", 1 if server.loading else 0), ("async_loading", 0)]
        if server.loading and loader is not None:
            total = loader.total_bytes or 1
            done = loader.loaded_bytes
            elapsed = now - loader.started
            eta = int(elapsed * (total - done) / done) if done else 1
            out += [("loading_start_time", int(loader.started)),
                    ("loading_total_bytes", loader.total_bytes),
                    ("loading_rdb_used_mem", 0),
                    ("loading_loaded_bytes", done),
                    ("loading_loaded_perc", "%.2f" % (done * 100.0 / total)),
                    ("loading_eta_seconds", eta)]
        bg = self.bgsave_pid is not None
        rw = self.rewrite_pid is not None
        out += [
            ("current_cow_peak", 0), ("current_cow_size", 0), ("current_cow_size_age", 0),
            ("current_fork_perc", "0.00"), ("current_save_keys_processed", 0),
            ("current_save_keys_total", 0),
            ("rdb_changes_since_last_save", server.bus.dirty - self.dirty_at_save),
            ("rdb_bgsave_in_progress", 1 if bg else 0),
            ("rdb_last_save_time", self.lastsave),
            ("rdb_last_bgsave_status", "ok" if self.lastbgsave_status else "err"),
            ("rdb_last_bgsave_time_sec", self.rdb_last_bgsave_time),
            ("rdb_current_bgsave_time_sec", int(now - self.bgsave_start) if bg else -1),
            ("rdb_saves", self.rdb_saves),
            ("rdb_last_cow_size", 0),
            ("rdb_last_load_keys_expired", self.load_stats[1]),
            ("rdb_last_load_keys_loaded", self.load_stats[0]),
            ("aof_enabled", 1 if self.aof_on else 0),
            ("aof_rewrite_in_progress", 1 if rw else 0),
            ("aof_rewrite_scheduled", 1 if self.rewrite_scheduled else 0),
            ("aof_last_rewrite_time_sec", self.last_rewrite_time),
            ("aof_current_rewrite_time_sec", int(now - self.rewrite_start) if rw else -1),
            ("aof_last_bgrewrite_status", "ok" if self.rewrite_last_ok else "err"),
            ("aof_rewrites", self.aof_rewrites),
            ("aof_rewrites_consecutive_failures", self.rewrite_failures),
            ("aof_last_write_status", "ok" if self.aof_write_ok else "err"),
            ("aof_last_cow_size", 0),
            ("module_fork_in_progress", 0),
            ("module_fork_last_cow_size", 0),
        ]
        if self.aof_on:
            out += [("aof_current_size", self.aof_size),
                    ("aof_base_size", self.aof_base_size),
                    ("aof_pending_rewrite", 1 if self.rewrite_scheduled else 0),
                    ("aof_buffer_length", sum(len(b) for b in self.buf)),
                    ("aof_pending_bio_fsync", 1 if self.fsync_in_flight else 0),
                    ("aof_delayed_fsync", self.delayed_fsync)]
        return out


# -- a RESP base file (aof-use-rdb-preamble no) ------------------------------------------------
def rewrite_commands(server, functions=()):
    """The data set as commands, one reconstructing command per key (plus PEXPIREAT)."""
    enc = _aof.encode
    out = [enc((b"FUNCTION", b"LOAD", code)) for code in functions]
    size = 0
    for db in range(server.databases):
        first = True
        for shard in server.shards:
            ks = shard.dbs[db]
            if not ks.count:
                continue
            if first:
                out.append(_aof.select_cmd(db))
                first = False
            for key, v in ks.iter_items():
                t = type(v)
                if t is bytes or t is bytearray:
                    out.append(enc((b"SET", key, bytes(v))))
                else:
                    kind = v.TYPE
                    if kind == "list":
                        out.append(enc([b"RPUSH", key] + list(v)))
                    elif kind == "set":
                        out.append(enc([b"SADD", key] + list(v)))
                    elif kind == "hash":
                        args = [b"HSET", key]
                        for f, x in v.items():
                            args += (f, x)
                        out.append(enc(args))
                    elif kind == "zset":
                        args = [b"ZADD", key]
                        for m, score in v:
                            args += (repr(score).encode() if score == score else b"nan", m)
                        out.append(enc(args))
                    else:
                        raise _rdb.RdbError("cannot rewrite a value of type %s" % kind)
                when = ks.expires.get(key) if ks.expires else None
                if when is not None:
                    out.append(enc((b"PEXPIREAT", key, b"%d" % when)))
                if len(out) > 4096:
                    chunk = b"".join(out)
                    out = []
                    size += len(chunk)
                    yield chunk
    yield b"".join(out)
