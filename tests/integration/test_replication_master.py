"""The master side of replication with real processes: real redis-server replicas follow a
RedisLite master.

A RedisLite master (``python -m redislite``) gets real ``redis-server --replicaof``
replicas; the datasets are compared key by key through the protocol (type,
value, PEXPIRETIME: the stream and the RDB carry absolute expiry times, so they
must be equal to the millisecond).  Where Redis's exact reply matters (PSYNC,
SYNC, REPLCONF and WAIT errors, NOAUTH, NOREPLICAS, ROLE and INFO shapes) a real
redis-server master answers the same bytes.  The dataset helpers are shared with
the replica side's tests.
"""

import os
import re
import signal
import socket
import threading
import time

import pytest

from redislite.testing import RawClient, encode_command
from tests.integration.test_replication_replica import (  # noqa: F401  (fixtures)
    Load, _need_redis, assert_same_data, info, online_replicas, populate, procs, settle,
    synced, until)

pytestmark = pytest.mark.integration

#: Start the replication snapshot at once (the default waits 5 s for more replicas).
FAST = {"REDISLITE_REPL_DISKLESS_SYNC_DELAY": "0"}


def lite(procs, **config):
    env = dict(FAST)
    for name, value in config.items():
        env["REDISLITE_" + name.upper()] = str(value)
    return procs("redislite", env=env)


def redis_replica_of(procs, master, *args):
    return procs("redis", "--replicaof", "127.0.0.1", str(master.port), *args)


def stats(server):
    return info(server, "stats")


def caught_up(master, replica, timeout=20.0):
    """The replica applied every byte of the master's stream (WAIT from a fresh connection
    is satisfied by any online replica, as in Redis, so it is not enough)."""
    def same():
        off = info(master)["master_repl_offset"]
        return off > 0 and info(replica).get("slave_repl_offset") == off
    until(same, timeout, "replica caught up")


def settled(master, replica):
    settle(master)
    caught_up(master, replica)


# -- data ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["diskless", "disk"])
def test_replica_follows_every_type_and_ttl_with_writes_during_and_after_sync(procs, mode):
    # rdb-key-save-delay (µs per key, in the snapshot child) makes the transfer last ~1 s,
    # so the writer's commands land while it runs and must be held and sent afterwards.
    master = lite(procs, repl_diskless_sync="no" if mode == "disk" else "yes",
                  rdb_key_save_delay=300)
    populate(master, n=100)
    m = master.client()
    m.function_load("#!lua name=lib\nredis.register_function('f', function() return 1 end)")
    with Load(master, seed=5):
        replica = redis_replica_of(procs, master)
        until(lambda: online_replicas(master), 30, "replica online")
        time.sleep(0.3)
    settled(master, replica)
    assert assert_same_data(master, replica) > 1000
    assert replica.client().function_list() == m.function_list() != []
    # after the sync: more load, a FLUSHDB, a SWAPDB, keys that expire on the master (DELs)
    with Load(master, seed=6):
        time.sleep(0.5)
    m9 = master.client(db=9)
    m9.flushdb()
    m9.swapdb(0, 1)
    m.set("soon", "x", px=100)
    time.sleep(0.3)
    settled(master, replica)
    assert_same_data(master, replica)
    s = stats(master)
    assert (s["sync_full"], s["sync_partial_ok"], s["sync_partial_err"]) == (1, 0, 0)


# -- link faults -----------------------------------------------------------------------------------
def _kill_replicas_under_load(master, replica, times):
    m = master.client()
    with Load(master, seed=21):
        for _ in range(times):
            until(lambda: online_replicas(master), 20, "replica back online")
            time.sleep(0.3)
            assert m.client_kill_filter(_type="replica") == 1
            time.sleep(0.2)
    settled(master, replica)


def test_partial_resync_after_client_kill_with_a_large_backlog(procs):
    master = lite(procs, repl_backlog_size="16mb")
    populate(master, n=100)
    replica = redis_replica_of(procs, master)
    synced(master)
    _kill_replicas_under_load(master, replica, 3)
    s = stats(master)
    assert s["sync_full"] == 1 and s["sync_partial_ok"] == 3 and s["sync_partial_err"] == 0
    assert_same_data(master, replica)


def test_full_resync_when_the_backlog_is_too_small(procs):
    master = lite(procs)
    populate(master, n=100)
    replica = redis_replica_of(procs, master)
    synced(master)
    m = master.client()
    assert m.config_set("repl-backlog-size", "16384")
    assert m.info("replication")["repl_backlog_size"] == 16384
    # The replica is frozen (so it cannot reconnect at once), its link is killed, then
    # 200 KB are written: when it comes back, what it lacks has left the 16 KB backlog.
    os.kill(replica.pid, signal.SIGSTOP)
    try:
        assert m.client_kill_filter(_type="replica") == 1
        p = m.pipeline(transaction=False)
        for i in range(200):
            p.set("fill:%d" % i, "x" * 1000)
        p.execute()
    finally:
        os.kill(replica.pid, signal.SIGCONT)
    r = m.info("replication")
    assert r["repl_backlog_histlen"] == 16384
    assert r["repl_backlog_first_byte_offset"] == r["master_repl_offset"] - 16384 + 1
    synced(master)
    caught_up(master, replica)
    s = stats(master)
    assert (s["sync_full"], s["sync_partial_err"], s["sync_partial_ok"]) == (2, 1, 0), (
        s, replica.log_tail(12))
    assert_same_data(master, replica)


# -- WAIT, min-replicas, ROLE, INFO --------------------------------------------------------------------
def test_wait_counts_acks_without_blocking_the_server(procs):
    master = lite(procs)
    replica = redis_replica_of(procs, master)
    synced(master)
    m = master.client()
    m.set("k", "v")
    assert m.wait(1, 2000) == 1
    other = master.client()
    # WAIT 2 0 can never be satisfied by one replica and has no timeout: another client
    # being served while it is parked shows the reactor is not blocked (order, not time).
    done = {}
    th = threading.Thread(target=lambda: done.setdefault("n", m.wait(2, 0)))
    th.start()
    until(lambda: other.info("clients")["blocked_clients"] == 1, 20, "the WAIT to block")
    assert other.ping() and "n" not in done
    waiting = [c["id"] for c in other.client_list() if c["cmd"] == "wait"]
    assert len(waiting) == 1
    assert other.client_unblock(waiting[0]) == 1        # TIMEOUT: answered with the acks so far
    th.join(20)
    assert done["n"] == 1
    t0 = time.monotonic()
    assert m.wait(2, 600) == 1                           # timed out with one ack...
    assert time.monotonic() - t0 >= 0.6                  # ...not before its timeout (a lower bound)
    assert replica.client().get("k") == b"v"


def test_role_info_and_client_list_have_redis_shapes(procs):
    ours = lite(procs)
    theirs = procs("redis", "--repl-diskless-sync-delay", "0")
    replicas = {m: redis_replica_of(procs, m, "--replica-announce-ip", "127.0.0.1")
                for m in (ours, theirs)}
    for master in (ours, theirs):
        master.client().set("k", "v")
        synced(master)
        master.client().set("k2", "v")
        caught_up(master, replicas[master])
        master.client().config_set("min-replicas-to-write", "1")
    a, b = ours.client(), theirs.client()
    ra, rb = a.execute_command("ROLE"), b.execute_command("ROLE")
    assert [type(x) for x in ra] == [type(x) for x in rb]
    assert ra[0] == rb[0] == b"master" and len(ra[2]) == len(rb[2]) == 1
    assert [type(x) for x in ra[2][0]] == [type(x) for x in rb[2][0]]
    ia, ib = a.info("replication"), b.info("replication")
    assert list(ia) == list(ib)
    assert list(ia["slave0"]) == list(ib["slave0"]) == ["ip", "port", "state", "offset", "lag"]
    assert ia["slave0"]["state"] == "online" and ia["min_slaves_good_slaves"] == 1
    assert ia["master_repl_offset"] == ia["repl_backlog_histlen"] > 0
    assert int(ra[2][0][1]) == ia["slave0"]["port"]
    for c in (a, b):
        line = c.execute_command("CLIENT", "LIST", "TYPE", "replica").decode()
        assert " flags=S " in line and " cmd=replconf " in line
    sa, sb = a.info("stats"), b.info("stats")
    for key in ("sync_full", "sync_partial_ok", "sync_partial_err"):
        assert sa[key] == sb[key]
    assert sa["total_net_repl_output_bytes"] > 0


def test_noreplicas_and_command_errors_match_redis(procs):
    ours = lite(procs)
    theirs = procs("redis")
    cases = [
        [("PSYNC",)], [("PSYNC", "?")], [("PSYNC", "?", "abc")], [("PSYNC", "?", " 1")],
        [("PSYNC", "?", "99999999999999999999")], [("SYNC", "x")],
        [("PSYNC", "?", "-1", "FAILOVER")],
        [("REPLCONF",)], [("REPLCONF", "listening-port")], [("REPLCONF", "listening-port", "x")],
        [("REPLCONF", "listening-port", "70000")], [("REPLCONF", "Foo", "bar")],
        [("REPLCONF", "capa", "eof", "capa", "psync2", "capa", "xyz")],
        [("REPLCONF", "ip-address", "x" * 256)], [("REPLCONF", "rdb-only", "2")],
        [("REPLCONF", "rdb-filter-only", "functions x")], [("REPLCONF", "rdb-filter-only", "'x")],
        [("REPLCONF", "ack", "10"), ("PING",)], [("REPLCONF", "getack", "*"), ("PING",)],
        [("REPLCONF", "rdb-filter-only", "functions"), ("PSYNC", "?", "-1")],
        [("MULTI",), ("PSYNC", "?", "-1"), ("SYNC",), ("SAVE",), ("EXEC",)],
        [("MULTI",), ("WAIT", "5", "100"), ("EXEC",)],
        [("WAIT",)], [("WAIT", "a", "0")], [("WAIT", "0", "a")], [("WAIT", "0", "-1")],
        [("WAIT", "-1", "0")], [("WAIT", "0", "0")], [("ROLE", "x")],
        [("CONFIG", "SET", "min-replicas-to-write", "1"), ("SET", "k", "v"), ("GET", "k"),
         ("MULTI",), ("SET", "k", "v"), ("EXEC",), ("CONFIG", "SET", "min-replicas-to-write", "0"),
         ("SET", "k", "v")],
    ]
    for seq in cases:
        got = []
        for server in (ours, theirs):
            with RawClient(server.host, server.port) as c:
                replies = []
                for args in seq:
                    c.send(*args)
                    if args[:2] in (("REPLCONF", "ack"), ("REPLCONF", "getack")):
                        continue                # no reply at all
                    replies.append(c.read_reply())
                got.append(replies)
        assert got[0] == got[1], seq
    # a command after PSYNC in the same read: Redis refuses PSYNC with pending output
    for server in (ours, theirs):
        with RawClient(server.host, server.port) as c:
            c.send_raw(encode_command("PING") + encode_command("PSYNC", "?", "-1"))
            assert c.read_reply() == b"+PONG\r\n"
            assert c.read_reply() == b"-ERR SYNC and PSYNC are invalid with pending output\r\n"


def test_unauthenticated_replication_commands_get_noauth_like_redis(procs):
    ours = procs("redislite", "--requirepass", "pw", env=FAST)
    theirs = procs("redis", "--requirepass", "pw")
    for args in [("PSYNC", "?", "-1"), ("SYNC",), ("REPLCONF", "listening-port", "1"),
                 ("REPLCONF", "ack", "1"), ("WAIT", "0", "0"), ("ROLE",)]:
        replies = []
        for server in (ours, theirs):
            with RawClient(server.host, server.port) as c:
                replies.append(c.call(*args))
        assert replies[0] == replies[1] == b"-NOAUTH Authentication required.\r\n", args
    # with the password a replica syncs (masterauth on the replica side)
    master = ours
    master.client(password="pw").set("k", "v")
    replica = redis_replica_of(procs, master, "--masterauth", "pw")
    synced_auth(master)
    assert replica.client().get("k") == b"v"


def synced_auth(master):
    r = master.client(password="pw")
    until(lambda: r.execute_command("WAIT", 1, 500) >= 1, 20, "replica synced")


# -- the wire forms ----------------------------------------------------------------------------------
def read_until(sock, pred, timeout=10.0, buf=b""):
    """Read from *sock* until ``pred(everything read)`` holds; returns everything read."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + timeout
    while not pred(buf):
        assert time.monotonic() < deadline, "timed out; got %r" % buf[:200]
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            continue
        assert chunk, "connection closed; got %r" % buf[:200]
        buf += chunk
    return buf


def test_diskless_eof_form_delay_keepalives_and_stream_on_first_ack(procs):
    master = lite(procs, repl_diskless_sync_delay=1)
    m = master.client()
    m.set("before", "1")
    s = socket.create_connection((master.host, master.port))
    s.sendall(encode_command("REPLCONF", "capa", "eof", "capa", "psync2"))
    assert read_until(s, lambda b: b.endswith(b"\r\n")) == b"+OK\r\n"
    s.sendall(encode_command("PSYNC", "?", "-1"))
    t0 = time.monotonic()
    # The delay is a timer, not a sleep: other clients are served while the replica
    # still waits for its snapshot (a server sleeping through the delay would answer
    # only after it, with the snapshot under way). Order, not time.
    assert m.ping()
    assert master.client().info("replication")["slave0"]["state"] == "wait_bgsave"
    buf = read_until(s, lambda b: b"$EOF:" in b and b.count(b"\r\n") >= 2)
    assert time.monotonic() - t0 >= 0.9                   # the delay was honoured (a lower bound)
    head = re.match(rb"(\n*)\+FULLRESYNC ([0-9a-f]{40}) (\d+)\r\n\$EOF:([0-9a-f]{40})\r\n", buf)
    assert head and len(head.group(1)) >= 1             # keepalive newline(s) during the delay
    mark = head.group(4)
    m.set("during", "2")                                  # after the fork: held for us
    body = read_until(s, lambda b: b.endswith(mark) and len(b) > head.end() + 40, buf=buf)
    rdb = body[head.end():-40]
    assert rdb.startswith(b"REDIS0010") and b"before" in rdb and b"during" not in rdb
    m.set("after", "3")
    s.settimeout(0.5)
    with pytest.raises(socket.timeout):
        s.recv(100)                                       # nothing until our first ACK
    s.sendall(encode_command("REPLCONF", "ACK", head.group(3)))
    stream = read_until(s, lambda b: b"after" in b)
    assert stream.startswith(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$6\r\nduring")
    s.close()


def test_legacy_sync_disk_form_and_output_limit(procs):
    master = lite(procs, repl_diskless_sync="no")
    m = master.client()
    m.set("a", "1")
    s = socket.create_connection((master.host, master.port))
    s.sendall(encode_command("SYNC"))
    buf = read_until(s, lambda b: re.match(rb"\n*\$(\d+)\r\n", b) is not None)
    head = re.match(rb"\n*\$(\d+)\r\n", buf)
    n = int(head.group(1))
    buf = read_until(s, lambda b: len(b) >= head.end() + n, buf=buf)
    assert buf[head.end():head.end() + 9] == b"REDIS0010"
    assert b"FULLRESYNC" not in buf
    m.set("b", "2")
    read_until(s, lambda b: b.endswith(b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"), buf=buf)
    # a replica that stops reading is dropped past client-output-buffer-limit replica
    m.config_set("client-output-buffer-limit", "replica 1mb 0 0")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    p = m.pipeline(transaction=False)
    for i in range(400):
        p.set("big:%d" % i, "x" * 20000)
    p.execute()
    until(lambda: m.info("replication")["connected_slaves"] == 0, 10, "replica dropped")
    s.close()


def test_psync_failover_promotes_a_replica_like_redis(procs):
    # PSYNC <replid> <offset> FAILOVER (what FAILOVER sends): a replica with that replid
    # becomes a master and answers +CONTINUE to its former master's connection.
    master = procs("redis", "--repl-diskless-sync-delay", "0")
    master.client().set("k", "v")
    ours = procs("redislite", "--replicaof", "127.0.0.1 %d" % master.port)
    theirs = redis_replica_of(procs, master)
    synced(master, 2)
    for r in (ours, theirs):
        caught_up(master, r)
    got = []
    for r in (ours, theirs):
        i = info(r)
        rid, off = i["master_replid"], i["master_repl_offset"]
        with RawClient(r.host, r.port) as c:
            assert c.call("PSYNC", "f" * 40, off + 1, "FAILOVER") == \
                b"-ERR PSYNC FAILOVER replid must match my replid.\r\n"
            assert c.call("REPLCONF", "capa", "psync2") == b"+OK\r\n"
            c.send("PSYNC", rid, off + 1, "FAILOVER")
            reply = c.read_reply()
        i2 = info(r)
        got.append((reply == b"+CONTINUE %s\r\n" % i2["master_replid"].encode(),
                    i2["role"], i2["master_replid2"] == rid, i2["second_repl_offset"] == off + 1))
        assert r.client().get("k") == b"v"
    assert got[0] == got[1] == (True, "master", True, True)
