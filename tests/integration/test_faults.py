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

import errno
import os
import select
import shutil
import socket
import threading
import time

import pytest
import redis

from redislite.persistence.actor import MISCONF_AOF, MISCONF_RDB
from redislite.testing import ServerProcess, ServerStartError, free_port
from tests.compat.differential import require_redis_server
from tests.integration.test_persistence import Writers, check_nothing_lost
from tests.integration.test_replication_replica import (Load, assert_same_data, caught_up, info,
                                                        populate, settle, synced, until)

pytestmark = pytest.mark.integration

RL_FAST_SYNC = {"REDISLITE_REPL_DISKLESS_SYNC_DELAY": "0"}


@pytest.fixture
def procs():
    """Start servers through ``start(kind, *args, env=..)``; all are stopped at the end."""
    started = []

    def start(kind, *args, env=None, port=None, wait=True, workdir=None):
        s = ServerProcess(kind, port=port, args=list(args), env=env, workdir=workdir)
        s.start()
        if wait:
            s.wait_until_loaded()
        started.append(s)
        return s

    yield start
    for s in reversed(started):
        try:
            s.stop()
        except Exception:
            s.kill()
        s.cleanup()


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


def reply_of(raw, *args):
    return raw.call(*args)


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
