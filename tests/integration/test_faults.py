"""Fault injection against live servers: a failing disk, a bad replication link, a master
that restarts in the middle of a full sync, corrupt data files.

Disk faults are injected at RedisLite's file layer (redislite/persistence/diskio.py)
through ``REDISLITE_TEST_DISK_FAULT``: the server is started with that variable
naming a control file, and the test writes "ENOSPC", "EIO" (optionally followed by
the ops it applies to: "EIO fsync") or nothing into it.  Where a real redis-server
can be made to fail the same way without root tricks (a BGSAVE into a directory
that was removed), the replies are compared byte for byte with the oracle's.

The link faults go through a small TCP proxy in this file (real sockets): it adds
latency in both directions and resets connections (SO_LINGER 0, so the peer sees
an RST) while a writer loads the master; the datasets are then compared key by key
through the protocol.

``kill -9`` under concurrent writes with ``appendfsync always`` is
tests/integration/test_persistence.py (test_appendfsync_always_kill9_twenty_cycles).
"""

import concurrent.futures
import errno
import os
import select
import shutil
import socket
import threading
import time

import pytest

from redislite.persistence.actor import MISCONF_AOF, MISCONF_RDB
from redislite.testing import ServerProcess, ServerStartError, free_port
from tests.compat.differential import require_redis_server
from tests.integration.test_persistence import Writers, check_nothing_lost
from tests.integration.test_replication_replica import (Load, assert_same_data, caught_up, info,
                                                        populate, settle, snapshot, synced, until)
from tests.integration.test_replication_replica import procs  # noqa: F401 (the fixture)

pytestmark = pytest.mark.integration

RL_FAST_SYNC = {"REDISLITE_REPL_DISKLESS_SYNC_DELAY": "0"}


class DiskFault:
    """The control file behind REDISLITE_TEST_DISK_FAULT."""

    def __init__(self, tmp_path):
        self.path = str(tmp_path / "disk-fault")
        self.set("")

    @property
    def env(self):
        return {"REDISLITE_TEST_DISK_FAULT": self.path}

    def set(self, what):
        with open(self.path + ".tmp", "w") as f:
            f.write(what)
        os.replace(self.path + ".tmp", self.path)    # the server never reads half a word


def misconf_aof(code):
    return ("-" + MISCONF_AOF % os.strerror(code) + "\r\n").encode()


def wait_reply(raw, args, want, timeout=10.0):
    """Repeat *args* until the reply is *want*; every other reply seen is returned too."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        got = raw.call(*args)
        if got == want:
            return seen
        seen.append(got)
        assert time.monotonic() < deadline, "waited for %r, last %r" % (want, got)
        time.sleep(0.02)


# -- disk full and EIO -----------------------------------------------------------------------
def test_aof_disk_full_and_eio_misconf_reads_work_and_the_server_recovers(tmp_path, procs):
    fault = DiskFault(tmp_path)
    s = procs("redislite", "--appendonly", "yes", "--appendfsync", "everysec", env=fault.env)
    acked = {}
    with s.raw() as c:
        for i in range(50):
            assert c.call("SET", "k%d" % i, "v%d" % i) == b"+OK\r\n"
            acked["k%d" % i] = b"v%d" % i
        fault.set("ENOSPC write")
        # the first writes are acknowledged (their replies leave in the same turn as the
        # failed AOF write) and stay in the AOF buffer; then every write gets MISCONF.
        n = 0
        while True:
            got = c.call("SET", "during%d" % n, "x")
            if got != b"+OK\r\n":
                break
            acked["during%d" % n] = b"x"
            n += 1
            assert n < 1000
        assert got == misconf_aof(errno.ENOSPC)
        assert got == b"-MISCONF Errors writing to the AOF file: No space left on device\r\n"
        assert c.call("PING") == got                    # Redis refuses PING too
        assert c.call("INCR", "k1") == got
        assert c.call("MULTI") == b"+OK\r\n"
        assert c.call("SET", "m", "1") == got
        assert c.call("EXEC") == b"-EXECABORT Transaction discarded because of previous errors.\r\n"
        # reads keep working
        assert c.call("GET", "k7") == b"$2\r\nv7\r\n"
        assert c.call("DBSIZE").startswith(b":")
        assert b"aof_last_write_status:err" in c.call("INFO", "persistence")
        # the errno of the last failed retry is the one reported
        fault.set("EIO write")
        wait_reply(c, ("SET", "x", "1"), misconf_aof(errno.EIO))
        # the fault clears: the cron's retry writes the buffer and writes are accepted again
        fault.set("")
        wait_reply(c, ("SET", "after", "1"), b"+OK\r\n")
        acked["after"] = b"1"
        assert b"aof_last_write_status:ok" in c.call("INFO", "persistence")
        # a failing background fsync (everysec) refuses writes until an fsync succeeds
        fault.set("EIO fsync")
        seen = wait_reply(c, ("SET", "f", "1"), misconf_aof(errno.EIO))
        assert set(seen) <= {b"+OK\r\n"}
        acked["f"] = b"1"
        fault.set("")
        wait_reply(c, ("SET", "f", "2"), b"+OK\r\n")
        acked["f"] = b"2"
        time.sleep(0.2)                                 # one turn: the buffer reaches the file
    s.kill()                                            # kill -9: the page cache survives it
    s.env = {}
    s.start()
    s.wait_until_loaded()
    r = s.client()
    assert r.dbsize() == len(acked)
    p = r.pipeline(transaction=False)
    for k in acked:
        p.get(k)
    assert dict(zip(acked, p.execute())) == acked


def test_appendfsync_always_disk_full_exits_and_loses_nothing_acknowledged(tmp_path):
    # Redis: "Can't recover from AOF write error when the AOF fsync policy is 'always'.
    # Exiting..." -- replies wait for the write and the fsync, so none of them is lost.
    fault = DiskFault(tmp_path)
    s = ServerProcess("redislite", args=["--appendonly", "yes", "--appendfsync", "always"],
                      env=fault.env)
    try:
        s.start()
        s.wait_until_loaded()
        with Writers(s) as w:
            time.sleep(0.5)
            fault.set("ENOSPC write")
            killed_at = time.monotonic()
            s._proc.wait(10)
        assert s.returncode == 1
        assert "Can't recover from AOF write error when the AOF fsync policy is 'always'" \
            in s.log_tail()
        assert sum(len(a) for a in w.acked) > 0
        fault.set("")
        s.start()
        s.wait_until_loaded()
        check_nothing_lost(s, w, killed_at)
    finally:
        s.cleanup()


def test_bgsave_failure_misconf_matches_redis(procs, tmp_path):
    """A BGSAVE that cannot create its file (the data directory was removed): the same
    replies from redis-server and RedisLite, byte for byte."""
    require_redis_server()
    replies = {}
    for kind in ("redis", "redislite"):
        data = tmp_path / kind
        data.mkdir()
        s = procs(kind, "--dir", str(data), "--save", "3600 1")
        with s.raw() as c:
            assert c.call("SET", "k", "v") == b"+OK\r\n"
            shutil.rmtree(str(data))
            assert c.call("BGSAVE") == b"+Background saving started\r\n"
            until(lambda: b"rdb_last_bgsave_status:err" in c.call("INFO", "persistence"),
                  10, "the BGSAVE to fail")
            got = replies[kind] = []
            for cmd in (("SET", "k", "w"), ("PING",), ("GET", "k"), ("DEL", "k"), ("MULTI",),
                        ("INCR", "n"), ("GET", "k"), ("EXEC",), ("EXISTS", "k"),
                        ("EVAL", "return redis.call('get', KEYS[1])", "1", "k"),
                        ("CONFIG", "SET", "stop-writes-on-bgsave-error", "no"),
                        ("SET", "k", "x"), ("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"),
                        ("SET", "k", "y"), ("CONFIG", "SET", "save", ""), ("SET", "k", "z"),
                        ("CONFIG", "SET", "save", "3600 1"), ("GET", "k")):
                got.append((cmd, c.call(*cmd)))
        s.kill()            # a SIGTERM would try the final save, fail and keep running (both)
    assert replies["redislite"] == replies["redis"]
    assert replies["redis"][0][1] == ("-" + MISCONF_RDB + "\r\n").encode()
    assert replies["redis"][0][1] == (
        b"-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist "
        b"to disk. Commands that may modify the data set are disabled, because this instance is "
        b"configured to report errors during writes if RDB snapshotting fails "
        b"(stop-writes-on-bgsave-error option). Please check the Redis logs for details about "
        b"the RDB error.\r\n")


def test_bgsave_disk_full_misconf_then_a_good_save_clears_it(tmp_path, procs):
    fault = DiskFault(tmp_path)
    s = procs("redislite", "--save", "3600 1", env=fault.env)
    misconf = ("-" + MISCONF_RDB + "\r\n").encode()
    with s.raw() as c:
        for i in range(100):
            c.call("RPUSH", "l", i)
        fault.set("ENOSPC")
        assert c.call("BGSAVE") == b"+Background saving started\r\n"
        wait_reply(c, ("SET", "x", "1"), misconf)
        assert c.call("LLEN", "l") == b":100\r\n"
        assert b"rdb_last_bgsave_status:err" in c.call("INFO", "persistence")
        assert not os.path.exists(os.path.join(s.workdir, "dump.rdb"))
        assert [f for f in os.listdir(s.workdir) if f.startswith("temp-")] == []
        assert c.call("SAVE").startswith(b"-ERR")             # still full: SAVE fails too
        fault.set("")
        assert c.call("BGSAVE") == b"+Background saving started\r\n"
        wait_reply(c, ("SET", "x", "1"), b"+OK\r\n")
        assert b"rdb_last_bgsave_status:ok" in c.call("INFO", "persistence")
        assert c.call("SAVE") == b"+OK\r\n"
    s.kill()
    s.start()
    s.wait_until_loaded()
    r = s.client()
    assert r.llen("l") == 100 and r.get("x") == b"1"


# -- a bad replication link -------------------------------------------------------------------
class FaultyProxy:
    """A loopback TCP proxy to *target_port* that delays every chunk by ``delay`` seconds
    in both directions (latency, not a bandwidth cap) and can reset every connection
    it carries (SO_LINGER 0: both peers get an RST)."""

    def __init__(self, target_port, delay=0.0):
        self.target = ("127.0.0.1", target_port)
        self.delay = delay
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.pairs = []
        self.accepted = 0
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped.is_set():
            if not select.select([self.lsock], [], [], 0.1)[0]:
                continue
            try:
                a, _ = self.lsock.accept()
                b = socket.create_connection(self.target, timeout=5)
            except OSError:
                continue
            b.settimeout(None)
            with self.lock:
                self.pairs.append((a, b))
                self.accepted += 1
            for src, dst in ((a, b), (b, a)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src, dst):
        import queue
        q = queue.Queue()

        def send():
            while True:
                item = q.get()
                if item is None:
                    return
                at, data = item
                pause = at - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                try:
                    dst.sendall(data)
                except OSError:
                    return
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                q.put((time.monotonic() + self.delay, data))
        except OSError:
            pass
        q.put(None)
        sender.join(5)
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def reset(self):
        """RST every live connection."""
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def close(self):
        self.stopped.set()
        self.reset()
        self.lsock.close()


def test_replica_link_delayed_and_reset_under_load_converges(procs):
    master = procs("redislite", env=dict(RL_FAST_SYNC, REDISLITE_REPL_BACKLOG_SIZE="64mb"))
    populate(master, n=100)
    proxy = FaultyProxy(master.port, delay=0.05)
    try:
        replica = procs("redislite", "--replicaof", "127.0.0.1 %d" % proxy.port)
        synced(master)
        with Load(master, seed=61), Load(master, seed=62):
            for delay in (0.08, 0.0, 0.2, 0.02, 0.12, 0.01):
                proxy.delay = delay
                # the replica reconnects once a second (Redis's replicationCron)
                until(lambda: info(replica)["master_link_status"] == "up", 10, "the link")
                time.sleep(0.4)
                proxy.reset()
        proxy.delay = 0.01
        settle(master)
        assert proxy.accepted >= 7                       # every reset made the replica reconnect
        stats = info(master, "stats")
        assert stats["sync_partial_ok"] >= 5, stats       # a 64 MB backlog: partial resyncs
        assert_same_data(master, replica)
        caught_up(master, replica)
    finally:
        proxy.close()


def strings_dump(server):
    """{key: value} of db 0 (None for a key that is not a string), by SCAN and MGET."""
    r = server.client()
    keys = sorted(r.scan_iter(count=5000))
    out = {}
    for i in range(0, len(keys), 2000):
        batch = keys[i:i + 2000]
        out.update(zip(batch, r.mget(batch)))
    return out


def test_master_restarts_in_the_middle_of_a_full_sync(procs):
    """The replica never serves a half-loaded data set: while the master dies mid-transfer
    and comes back, every DBSIZE it answers is its old data set, -LOADING, or the whole
    new one; at the end it matches the restarted master."""
    n = 20000
    port = free_port()
    # no LZF: pure-Python compression of 6 MB would be most of this test's time
    master = procs("redislite", port=port, env=dict(RL_FAST_SYNC, REDISLITE_RDBCOMPRESSION="no"))
    r = master.client()
    for start in range(0, n, 5000):
        p = r.pipeline(transaction=False)
        for i in range(start, start + 5000):
            p.set("key:%d" % i, os.urandom(150).hex())    # ~9 MB: the 1 MB chunks of the
                                                            # diskless transfer keep coming
        p.execute()
    r.rpush("list", *range(1000))
    assert r.save()                                      # the restart loads this
    r.config_set("rdb-key-save-delay", 200)              # ~4 s per snapshot from now on
    replica = procs("redislite")
    rr = replica.client()
    rr.mset({"old:%d" % i: i for i in range(10)})
    seen = []
    stop = threading.Event()

    def poll():
        c = replica.raw()
        try:
            while not stop.is_set():
                seen.append(c.call("DBSIZE"))
                time.sleep(0.003)
        finally:
            c.close()
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        rr.replicaof("127.0.0.1", port)
        until(lambda: info(replica).get("master_sync_in_progress") == 1
              and info(replica).get("master_sync_read_bytes", 0) > 0, 20, "the transfer to start")
        time.sleep(0.5)
        assert info(replica)["master_sync_in_progress"] == 1     # still in the middle of it
        master.kill()
        time.sleep(0.5)
        assert rr.dbsize() == 10                         # the interrupted transfer changed nothing
        master.start()
        master.wait_until_loaded()
        # the restarted master's offset may be 0 (no write yet): WAIT alone proves nothing
        until(lambda: info(replica)["master_link_status"] == "up"
              and info(replica, "persistence")["loading"] == 0, 30, "the replica to load")
        master.client().set("after-restart", 1)
        synced(master)
        time.sleep(0.05)
    finally:
        stop.set()
        poller.join(10)
    assert set(seen) <= {b":10\r\n", b":%d\r\n" % (n + 1), b":%d\r\n" % (n + 2),
                         b"-LOADING Redis is loading the dataset in memory\r\n"}, set(seen)
    assert seen[0] == b":10\r\n" and seen[-1] == b":%d\r\n" % (n + 2)
    assert strings_dump(master) == strings_dump(replica)
    assert len(strings_dump(replica)) == n + 2
    assert rr.lrange("list", 0, -1) == [b"%d" % i for i in range(1000)]
    caught_up(master, replica)
    assert "I/O error trying to sync with MASTER: connection lost" in replica.log_tail(400)


# -- corrupt data files ------------------------------------------------------------------------
def _make_files(root):
    """Data files written by a real redis-server: dump.rdb, and a multi-part AOF with a
    base (RDB preamble) and an incr file."""
    d = root / "pristine"
    d.mkdir()
    s = ServerProcess("redis", args=["--appendonly", "yes", "--appendfsync", "always"],
                      workdir=str(d))
    try:
        s.start()
        r = s.client()
        populate(s, n=50)
        assert r.bgrewriteaof()
        until(lambda: r.info("persistence")["aof_rewrite_in_progress"] == 0
              and r.info("persistence")["aof_rewrite_scheduled"] == 0, 20, "the rewrite")
        p = r.pipeline(transaction=False)
        for i in range(100):
            p.set("after:%d" % i, "x" * (i % 40))
            p.rpush("after-list", i)
        p.execute()
        assert r.save()
    finally:
        s.stop()
    for f in os.listdir(str(d)):
        if f.endswith(".log"):
            os.unlink(str(d / f))
    return d


def _aof_path(d, suffix):
    names = [n for n in os.listdir(os.path.join(d, "appendonlydir")) if n.endswith(suffix)]
    assert len(names) == 1, names
    return os.path.join(d, "appendonlydir", names[0])


def _edit(path, fn):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    with open(path, "wb") as f:
        f.write(fn(data))


def _flip(offset):
    def fn(data):
        data[offset if offset >= 0 else len(data) + offset] ^= 0x5A
        return data
    return fn


def _rdb_value_offset(data):
    return data.index(b"after-list") - 20       # inside a string value near the end


def _incr_two_files(d):
    """Split the incr file in two; the first one truncated in the middle of a command."""
    incr = _aof_path(d, ".incr.aof")
    data = open(incr, "rb").read()
    half = data.index(b"*3\r\n", len(data) // 2)
    name = os.path.basename(incr)
    seq = int(name.split(".")[-3])
    second = name.replace(".%d.incr" % seq, ".%d.incr" % (seq + 1))
    open(incr, "wb").write(data[:half - 7])
    open(os.path.join(os.path.dirname(incr), second), "wb").write(data[half:])
    manifest = os.path.join(d, "appendonlydir", "appendonly.aof.manifest")
    with open(manifest, "a") as f:
        f.write("file %s seq %d type i\n" % (second, seq + 1))


#: name -> (appendonly, extra args, corruption of a copy of the pristine directory)
CORRUPTIONS = {
    "rdb-truncated": ("no", [], lambda d: _edit(os.path.join(d, "dump.rdb"),
                                                 lambda b: b[:len(b) // 2])),
    "rdb-flipped-byte": ("no", [], lambda d: _edit(os.path.join(d, "dump.rdb"),
                                                    lambda b: _flip(_rdb_value_offset(b))(b))),
    "rdb-bad-checksum": ("no", [], lambda d: _edit(os.path.join(d, "dump.rdb"), _flip(-2))),
    "rdb-bad-magic": ("no", [], lambda d: _edit(os.path.join(d, "dump.rdb"), _flip(1))),
    "aof-base-flipped-byte": ("yes", [], lambda d: _edit(_aof_path(d, ".base.rdb"),
                                                          lambda b: _flip(len(b) // 2)(b))),
    "aof-incr-truncated": ("yes", [], lambda d: _edit(_aof_path(d, ".incr.aof"),
                                                       lambda b: b[:-9])),
    "aof-incr-truncated-load-truncated-no": (
        "yes", ["--aof-load-truncated", "no"],
        lambda d: _edit(_aof_path(d, ".incr.aof"), lambda b: b[:-9])),
    "aof-incr-flipped-byte": ("yes", [], lambda d: _edit(_aof_path(d, ".incr.aof"),
                                                          lambda b: _flip(len(b) // 2)(b))),
    "aof-truncated-not-last-file": ("yes", [], _incr_two_files),
    "manifest-garbage-line": ("yes", [], lambda d: _edit(
        os.path.join(d, "appendonlydir", "appendonly.aof.manifest"),
        lambda b: b + b"this is not a manifest line\n")),
    "manifest-missing-file": ("yes", [], lambda d: os.unlink(_aof_path(d, ".base.rdb"))),
    "manifest-two-bases": ("yes", [], lambda d: _edit(
        os.path.join(d, "appendonlydir", "appendonly.aof.manifest"),
        lambda b: b + b"file appendonly.aof.9.base.rdb seq 9 type b\n")),
    "manifest-empty": ("yes", [], lambda d: _edit(
        os.path.join(d, "appendonlydir", "appendonly.aof.manifest"), lambda b: b"")),
}


def _outcome(s):
    try:
        s.start()
        s.wait_until_loaded()
    except ServerStartError as e:
        s.kill()
        assert s.returncode not in (0, None), "%s: exited with 0 after refusing to load" % s.kind
        return ("refused", None, str(e))
    try:
        return ("started", snapshot(s), s.log_tail())
    finally:
        s.kill()


def test_corrupt_files_refuse_to_start_like_redis(tmp_path):
    """Files written by redis-server, corrupted in each way, given to redis-server and to
    RedisLite: both refuse (non-zero exit, never an empty start), or both start with
    the same data (a truncated tail with aof-load-truncated yes)."""
    require_redis_server()
    pristine = _make_files(tmp_path)
    servers = {}
    for name, (appendonly, extra, corrupt) in CORRUPTIONS.items():
        for kind in ("redis", "redislite"):
            d = str(tmp_path / ("%s-%s" % (name, kind)))
            shutil.copytree(str(pristine), d)
            corrupt(d)
            servers[name, kind] = ServerProcess(kind, args=["--appendonly", appendonly, *extra],
                                                workdir=d)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:    # ~1 s per RedisLite start
        done = dict(zip(servers, pool.map(_outcome, servers.values())))
    results = {}
    for name in CORRUPTIONS:
        got = results[name] = {kind: done[name, kind] for kind in ("redis", "redislite")}
        assert got["redislite"][:2] == got["redis"][:2], (
            "%s: redis %s, redislite %s\n%s" % (name, got["redis"][0], got["redislite"][0],
                                                got["redislite"][2][-1500:]))
    refused = {n for n, g in results.items() if g["redis"][0] == "refused"}
    assert refused == set(CORRUPTIONS) - {"aof-incr-truncated"}, refused
    # the truncated tail was cut off: everything before it is there
    assert len(results["aof-incr-truncated"]["redislite"][1]) > 100
    # a clear line in the log: what failed, in which file
    logs = {n: g["redislite"][2] for n, g in results.items()}
    assert "dump.rdb" in logs["rdb-truncated"] and "dump.rdb" in logs["rdb-bad-checksum"]
    assert "checksum" in logs["rdb-bad-checksum"].lower()
    assert ".incr.aof" in logs["aof-incr-flipped-byte"]
    assert "Unexpected end of file" in logs["aof-incr-truncated-load-truncated-no"]
    assert "not the last file" in logs["aof-truncated-not-last-file"]
    assert "Bad AOF manifest" in logs["manifest-garbage-line"]
    assert "doesn't exist" in logs["manifest-missing-file"]


# -- backups taken while the server runs (the procedure of docs/operations.md) -----------------
def test_backup_copies_taken_under_load_restore_everything_acknowledged_before(tmp_path):
    s = ServerProcess("redislite", args=["--appendonly", "yes", "--appendfsync", "everysec"])
    try:
        s.start()
        s.wait_until_loaded()
        r = s.client()
        with Writers(s, 3) as w:
            time.sleep(0.3)
            # AOF: no rewrite may start or run while the directory is copied
            pct = r.config_get("auto-aof-rewrite-percentage")["auto-aof-rewrite-percentage"]
            r.config_set("auto-aof-rewrite-percentage", 0)
            until(lambda: r.info("persistence")["aof_rewrite_in_progress"] == 0, 20, "no rewrite")
            before_aof = [n for n, _ in w.incr_acked]
            shutil.copytree(os.path.join(s.workdir, "appendonlydir"), str(tmp_path / "aof" / "appendonlydir"))
            r.config_set("auto-aof-rewrite-percentage", pct)
            # RDB: BGSAVE, wait until it finished well, then copy the file (it was renamed
            # into place whole, so a copy can never see half a snapshot)
            # (rdb_saves, not LASTSAVE: a save in the same second leaves LASTSAVE unchanged)
            saves = r.info("persistence")["rdb_saves"]
            assert r.bgsave()
            until(lambda: r.info("persistence")["rdb_saves"] > saves
                  and r.info("persistence")["rdb_bgsave_in_progress"] == 0, 20, "the BGSAVE")
            assert r.info("persistence")["rdb_last_bgsave_status"] == "ok"
            os.makedirs(str(tmp_path / "rdb"))
            shutil.copy(os.path.join(s.workdir, "dump.rdb"), str(tmp_path / "rdb" / "dump.rdb"))
            time.sleep(0.2)
        assert sum(before_aof) > 0
    finally:
        s.cleanup()
    for d, args in ((tmp_path / "aof", ["--appendonly", "yes"]), (tmp_path / "rdb", [])):
        b = ServerProcess("redislite", args=args, workdir=str(d))
        try:
            b.start()
            b.wait_until_loaded()
            got = b.client()
            for i, n in enumerate(before_aof):
                assert int(got.get("c%d" % i) or 0) >= n, (d, i)
            assert got.llen("l") >= sum(before_aof) - len(before_aof)
        finally:
            b.kill()
