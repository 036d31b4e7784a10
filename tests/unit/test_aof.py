"""AOF: RESP parsing, the manifest, the actor's write path, rewrite, recovery, faults (no network)."""

import os

import pytest
from twisted.internet import task

from redislite.commands import load_all
from redislite.config import Config
from redislite.persistence import aof, diskio, load_now, Persistence
from redislite.persistence.recovery import LoadError
from redislite.protocol import Client
from redislite.server import Server

load_all()
import redislite.commands.persistence  # noqa: E402,F401

NOW = 1_700_000_000


@pytest.fixture(autouse=True)
def no_fork(monkeypatch):
    monkeypatch.setattr(Persistence, "use_fork", False)
    monkeypatch.setattr(diskio, "fault", None)


def make(tmp_path, **cfg):
    values = {"dir": str(tmp_path), "appendonly": "yes"}
    values.update({k.replace("_", "-"): v for k, v in cfg.items()})
    clock = task.Clock()
    clock.advance(NOW)
    srv = Server(Config.defaults().with_changes(values), clock)
    return srv, Client(srv), clock


def aofdir(tmp_path):
    return tmp_path / "appendonlydir"


def incr_bytes(tmp_path):
    m = aof.read_manifest(str(aofdir(tmp_path)), "appendonly.aof")
    return open(aofdir(tmp_path) / m.incrs[-1][0], "rb").read()


# -- RESP and manifest ------------------------------------------------------------------------
def test_encode_and_parse():
    data = aof.encode([b"SET", b"k", b"v\r\n"]) + b"#TS:123\r\n" + aof.select_cmd(3)
    got = [(argv, start, nxt) for argv, start, nxt in aof.parse_commands(data)]
    assert [g[0] for g in got] == [[b"SET", b"k", b"v\r\n"], [b"SELECT", b"3"]]
    assert got[-1][2] == len(data)


def test_parse_truncated_and_corrupt_offsets():
    one = aof.encode([b"SET", b"a", b"1"])
    with pytest.raises(aof.Truncated) as e:
        list(aof.parse_commands(one + one[:-3]))
    assert e.value.offset == len(one)
    with pytest.raises(aof.AofError) as e:
        list(aof.parse_commands(one + b"+OK\r\n" + one))
    assert e.value.offset == len(one) and not isinstance(e.value, aof.Truncated)
    with pytest.raises(aof.AofError):
        list(aof.parse_commands(b"*1\r\n$3\r\nabcXY"))


def test_manifest_round_trip_and_errors():
    text = ("file appendonly.aof.2.base.rdb seq 2 type b\n"
            "file appendonly.aof.1.incr.aof seq 1 type h\n"
            "file appendonly.aof.3.incr.aof seq 3 type i\n"
            "file appendonly.aof.4.incr.aof seq 4 type i\n")
    m = aof.Manifest.parse(text)
    assert m.base == ("appendonly.aof.2.base.rdb", 2)
    assert m.incrs == [("appendonly.aof.3.incr.aof", 3), ("appendonly.aof.4.incr.aof", 4)]
    assert m.history == ["appendonly.aof.1.incr.aof"]
    assert aof.Manifest.parse(m.text()).incrs == m.incrs
    for bad in ("file x seq 1 type q\n", "file x seq\n", "", "file a seq 1 type b\nfile b seq 2 type b\n",
                "file a seq 2 type i\nfile b seq 1 type i\n"):
        with pytest.raises(aof.AofError):
            aof.Manifest.parse(bad, "m")


# -- the write path ---------------------------------------------------------------------------
def test_first_start_creates_base_incr_manifest_and_logs_with_select(tmp_path):
    srv, c, clock = make(tmp_path)
    load_now(srv)
    names = sorted(os.listdir(aofdir(tmp_path)))
    assert names == ["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"]
    c.call("SET", "a", "1")
    c.call("SELECT", "2")
    c.call("SET", "b", "2", "EX", "100")
    assert incr_bytes(tmp_path) == b""          # nothing until the end of the reactor turn
    clock.advance(0)
    cmds = [argv for argv, _, _ in aof.parse_commands(incr_bytes(tmp_path))]
    assert cmds == [[b"SELECT", b"0"], [b"SET", b"a", b"1"], [b"SELECT", b"2"],
                    [b"SET", b"b", b"2", b"PXAT", b"%d" % (NOW * 1000 + 100000)]]


class FakeTransport:
    def __init__(self):
        self.written = []

    def write(self, data):
        self.written.append(data)


def test_always_holds_replies_until_write_and_fsync(tmp_path, monkeypatch):
    srv, c, clock = make(tmp_path, appendfsync="always")
    load_now(srv)
    order = []
    real_fsync = diskio.fsync
    monkeypatch.setattr(diskio, "fsync", lambda fd, path=None: (order.append("fsync"), real_fsync(fd, path)))
    c.transport = FakeTransport()
    c.call("SET", "a", "1")
    assert srv.before_reply(c, b"+OK\r\n") is True            # held: the AOF is not on disk yet
    assert c.transport.written == []
    clock.advance(0)
    order.append("reply" if c.transport.written == [b"+OK\r\n"] else "none")
    assert order == ["fsync", "reply"]
    assert srv.before_reply(c, b"$1\r\n1\r\n") is False       # nothing pending: straight out


@pytest.mark.parametrize("policy", ["everysec", "no"])
def test_everysec_and_no_hold_replies_until_the_write_only(tmp_path, monkeypatch, policy):
    # Redis's beforeSleep writes the AOF before sending any reply: a process killed
    # right after answering has the write in the page cache.  No fsync waits for it.
    srv, c, clock = make(tmp_path, appendfsync=policy)
    load_now(srv)
    order = []
    real_write = diskio.write_all
    monkeypatch.setattr(diskio, "write_all", lambda fd, data, path=None: (
        order.append("write"), real_write(fd, data, path))[1])
    monkeypatch.setattr(diskio, "fsync", lambda fd, path=None: order.append("fsync"))
    c.transport = FakeTransport()
    c.call("SET", "a", "1")
    assert srv.before_reply(c, b"+OK\r\n") is True
    assert c.transport.written == []
    clock.advance(0)
    order.append("reply" if c.transport.written == [b"+OK\r\n"] else "none")
    assert order == ["write", "reply"]
    assert srv.before_reply(c, b"$1\r\n1\r\n") is False      # nothing pending: straight out


def test_replies_are_not_held_without_aof(tmp_path):
    srv, c, clock = make(tmp_path, appendonly="no")
    load_now(srv)
    assert srv.before_reply is None
    c.call("CONFIG", "SET", "appendonly", "yes")
    assert srv.before_reply is not None
    c.call("CONFIG", "SET", "appendonly", "no")
    assert srv.before_reply is None


def test_disk_full_misconf_retry_and_recovery(tmp_path, monkeypatch):
    srv, c, clock = make(tmp_path)
    load_now(srv)
    monkeypatch.setattr(diskio, "fault", lambda op, path: diskio.enospc(path) if op == "write" else None)
    c.call("SET", "a", "1")
    clock.advance(0)
    err = c.call("SET", "b", "2")
    assert err.message == "MISCONF Errors writing to the AOF file: No space left on device"
    assert c.call("GET", "a") == b"1"
    assert "aof_last_write_status:err" in str(c.call("INFO", "persistence"))
    monkeypatch.setattr(diskio, "fault", None)
    clock.advance(0.1)                                        # the cron retries the write
    assert c.call("SET", "b", "2").text == "OK"
    clock.advance(0)
    cmds = [argv[1] for argv, _, _ in aof.parse_commands(incr_bytes(tmp_path)) if argv[0] == b"SET"]
    assert cmds == [b"a", b"b"]


def test_fsync_error_misconf_until_a_good_fsync(tmp_path, monkeypatch):
    # Redis's aof_bio_fsync_status: a failed everysec fsync refuses writes, and the next
    # good fsync (retried by the cron, at most once a second) clears it even though no
    # write can reach the buffer meanwhile.
    from redislite.persistence import actor
    now = [1000.0]
    monkeypatch.setattr(actor.time, "monotonic", lambda: now[0])
    srv, c, clock = make(tmp_path)
    load_now(srv)
    monkeypatch.setattr(diskio, "fault", lambda op, path: OSError(5, os.strerror(5), path)
                        if op == "fsync" else None)
    c.call("SET", "a", "1")
    now[0] += 1.5
    clock.advance(0.1)
    assert c.call("SET", "b", "2").message == "MISCONF Errors writing to the AOF file: " + os.strerror(5)
    assert c.call("GET", "a") == b"1"
    monkeypatch.setattr(diskio, "fault", None)
    now[0] += 1.5
    clock.advance(0.1)
    assert c.call("SET", "b", "2").text == "OK"


def test_misconf_rdb_error_comes_before_the_aof_error(tmp_path, monkeypatch):
    # writeCommandsDeniedByDiskError in Redis 7.0 checks a failed BGSAVE first.
    srv, c, clock = make(tmp_path, save="3600 1")
    load_now(srv)
    monkeypatch.setattr(diskio, "fault", lambda op, path: diskio.enospc(path) if op == "write" else None)
    c.call("SET", "a", "1")
    clock.advance(0)
    assert c.call("SET", "b", "2").message.startswith("MISCONF Errors writing to the AOF file")
    assert c.call("BGSAVE").text == "Background saving started"
    assert c.call("SET", "b", "2").message.startswith("MISCONF Redis is configured to save RDB snapshots")
    monkeypatch.setattr(diskio, "fault", None)
    assert c.call("SET", "b", "2").message.startswith("MISCONF Redis is configured to save RDB")
    assert c.call("SAVE").text == "OK"
    clock.advance(0.1)
    assert c.call("SET", "b", "2").text == "OK"
    assert "rdb_last_bgsave_status:ok" in str(c.call("INFO", "persistence"))


def test_rewrite_keeps_writes_made_meanwhile(tmp_path):
    srv, c, clock = make(tmp_path)
    load_now(srv)
    for i in range(50):
        c.call("INCR", "n")
    clock.advance(0)
    assert c.call("BGREWRITEAOF").text == "Background append only file rewriting started"
    for i in range(7):
        c.call("INCR", "n")
    clock.advance(0)
    m = aof.read_manifest(str(aofdir(tmp_path)), "appendonly.aof")
    assert m.base[1] == 2 and [s for _, s in m.incrs] == [2]
    assert sorted(os.listdir(aofdir(tmp_path))) == ["appendonly.aof.2.base.rdb",
                                                    "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"]
    srv2, c2, _ = make(tmp_path)
    load_now(srv2)
    assert c2.call("GET", "n") == b"57"


def test_rewrite_without_preamble_and_config_set_appendonly(tmp_path):
    srv, c, clock = make(tmp_path, appendonly="no", aof_use_rdb_preamble="no")
    load_now(srv)
    c.call("SET", "k", "v", "PX", "5000")
    c.call("RPUSH", "l", "a", "b")
    c.call("CONFIG", "SET", "appendonly", "yes")
    c.call("SET", "after", "1")
    clock.advance(0)
    m = aof.read_manifest(str(aofdir(tmp_path)), "appendonly.aof")
    assert m.base[0].endswith(".base.aof")
    srv2, c2, _ = make(tmp_path)
    load_now(srv2)
    assert c2.call("GET", "after") == b"1" and c2.call("LRANGE", "l", 0, -1) == [b"a", b"b"]
    assert 0 < c2.call("PTTL", "k") <= 5000


# -- recovery -----------------------------------------------------------------------------------
def _write_incr(tmp_path, data):
    srv, c, clock = make(tmp_path)
    load_now(srv)
    srv.persistence.stop()
    m = aof.read_manifest(str(aofdir(tmp_path)), "appendonly.aof")
    path = aofdir(tmp_path) / m.incrs[-1][0]
    open(path, "wb").write(data)
    return path


def test_truncated_tail_is_cut_when_allowed(tmp_path):
    good = aof.encode([b"SET", b"a", b"1"]) + aof.encode([b"SET", b"b", b"2"])
    path = _write_incr(tmp_path, good + aof.encode([b"SET", b"c", b"3"])[:-4])
    srv, c, _ = make(tmp_path)
    loader = load_now(srv)
    assert loader.truncated == (str(path), len(good))
    assert os.path.getsize(path) == len(good)
    assert c.call("MGET", "a", "b", "c") == [b"1", b"2", None]


def test_truncated_tail_refused_when_not_allowed(tmp_path):
    path = _write_incr(tmp_path, aof.encode([b"SET", b"a", b"1"])[:-1])
    srv, c, _ = make(tmp_path, aof_load_truncated="no")
    with pytest.raises(LoadError) as e:
        load_now(srv)
    assert str(path) in str(e.value) and "offset 0" in str(e.value)


def test_multi_without_exec_at_the_end_is_dropped(tmp_path):
    data = (aof.encode([b"SET", b"a", b"1"]) + aof.encode([b"MULTI"]) + aof.encode([b"SET", b"x", b"1"])
            + aof.encode([b"EXEC"]) + aof.encode([b"MULTI"]) + aof.encode([b"SET", b"y", b"1"]))
    _write_incr(tmp_path, data)
    srv, c, _ = make(tmp_path)
    load_now(srv)
    assert c.call("MGET", "a", "x", "y") == [b"1", b"1", None]


def test_corrupt_middle_refuses_with_file_and_offset(tmp_path):
    one = aof.encode([b"SET", b"a", b"1"])
    path = _write_incr(tmp_path, one + b"garbage\r\n" + one)
    with pytest.raises(LoadError) as e:
        load_now(make(tmp_path)[0])
    assert str(path) in str(e.value) and "offset %d" % len(one) in str(e.value)


def test_missing_file_and_bad_manifest_refuse(tmp_path):
    _write_incr(tmp_path, b"")
    os.unlink(aofdir(tmp_path) / "appendonly.aof.1.base.rdb")
    with pytest.raises(LoadError, match="appendonly.aof.1.base.rdb"):
        load_now(make(tmp_path)[0])
    open(aofdir(tmp_path) / "appendonly.aof.manifest", "w").write("nonsense here x\n")
    with pytest.raises(LoadError, match="manifest"):
        load_now(make(tmp_path)[0])
    os.unlink(aofdir(tmp_path) / "appendonly.aof.manifest")
    with pytest.raises(LoadError, match="no manifest"):      # never start empty over AOF files
        load_now(make(tmp_path)[0])


def test_unknown_command_refuses(tmp_path):
    path = _write_incr(tmp_path, aof.encode([b"NOSUCHCMD", b"x"]))
    with pytest.raises(LoadError, match="Unknown command 'NOSUCHCMD'"):
        load_now(make(tmp_path)[0])


def test_info_aof_fields(tmp_path):
    srv, c, clock = make(tmp_path)
    load_now(srv)
    c.call("SET", "a", "1")
    clock.advance(0)
    info = str(c.call("INFO", "persistence"))
    for field in ("aof_enabled:1", "aof_rewrite_in_progress:0", "aof_last_write_status:ok",
                  "aof_current_size:", "aof_base_size:", "aof_buffer_length:0"):
        assert field in info


def test_kill_bgsave_stops_the_child_and_drops_its_temp_file(tmp_path):
    """Redis's killRDBChild: used before a replica loads its master's snapshot, so an
    older snapshot cannot be renamed over dump.rdb later; neither success nor failure."""
    srv, c, clock = make(tmp_path, appendonly="no")
    p = srv.persistence = Persistence(srv)
    tmp = tmp_path / "temp-bg-1.rdb"
    tmp.write_bytes(b"partial")
    pid = os.fork()
    if pid == 0:                      # a stand-in child that would write for a long time
        try:
            import time
            time.sleep(30)
        finally:
            os._exit(0)
    p.bgsave_pid, p.bgsave_tmp = pid, str(tmp)
    status = p.lastbgsave_status
    p.kill_bgsave()
    assert p.bgsave_pid is None and not tmp.exists()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)   # killed and reaped
    assert p.lastbgsave_status == status
    p.kill_bgsave()                   # nothing running: a no-op
