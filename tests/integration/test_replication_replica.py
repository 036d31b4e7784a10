"""The replica side of replication with real processes: RedisLite follows a real redis-server.

Every test starts a real ``redis-server`` master on a free loopback port and
one or more RedisLite replicas (``python -m redislite`` or ``twistd
redislite``), writes through redis-py, waits with ``WAIT`` on the master (our
replica answers its ``REPLCONF GETACK``) and compares the datasets key by key
through the protocol: type, value and PEXPIRETIME.  Where Redis's exact reply
matters (READONLY, MASTERDOWN, REPLICAOF) a real redis-server replica of the
same master answers the same commands and the bytes are compared.
"""

import random
import threading
import time

import pytest
import redis

from redislite.testing import ServerProcess, free_port
from tests.compat.differential import require_redis_server

pytestmark = pytest.mark.integration

#: A master that starts a replication snapshot at once (Redis waits 5 s for more replicas).
FAST_SYNC = ["--repl-diskless-sync-delay", "0"]


@pytest.fixture(autouse=True)
def _need_redis():
    require_redis_server()


@pytest.fixture
def procs():
    """Start servers through ``start(kind, *args)``; all are stopped at the end."""
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


def until(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


def info(server, section="replication"):
    return server.client().info(section)


def online_replicas(master):
    i = info(master)
    return [v for k, v in i.items() if k.startswith("slave") and isinstance(v, dict)
            and v.get("state") == "online"]


def synced(master, replicas=1, timeout=30.0):
    """Wait until *replicas* are online, then until they acknowledged everything (WAIT)."""
    until(lambda: len(online_replicas(master)) >= replicas, timeout, "replicas online")
    r = master.client()
    deadline = time.monotonic() + timeout
    while r.execute_command("WAIT", replicas, 1000) < replicas:
        assert time.monotonic() < deadline, "replicas did not acknowledge the stream"


def snapshot(server, dbs=range(16)):
    """{(db, key): (type, value, pexpiretime)} read through the protocol."""
    out = {}
    for db in dbs:
        r = server.client(db=db)
        keys = list(r.scan_iter(count=1000))
        if not keys:
            continue
        p = r.pipeline(transaction=False)
        for k in keys:
            p.type(k)
        types = p.execute()
        p = r.pipeline(transaction=False)
        for k, t in zip(keys, types):
            if t == b"string":
                p.get(k)
            elif t == b"list":
                p.lrange(k, 0, -1)
            elif t == b"hash":
                p.hgetall(k)
            elif t == b"set":
                p.smembers(k)
            elif t == b"zset":
                p.zrange(k, 0, -1, withscores=True)
            else:
                p.type(k)
            p.pexpiretime(k)
        res = p.execute()
        for i, (k, t) in enumerate(zip(keys, types)):
            v = res[2 * i]
            if isinstance(v, set):
                v = sorted(v)
            out[(db, k)] = (t, v, res[2 * i + 1])
    return out


def assert_same_data(master, replica):
    a, b = snapshot(master), snapshot(replica)
    only_master = sorted(set(a) - set(b))[:5]
    only_replica = sorted(set(b) - set(a))[:5]
    differ = [(k, a[k], b[k]) for k in sorted(set(a) & set(b)) if a[k] != b[k]][:5]
    assert not (only_master or only_replica or differ), (
        "datasets differ: only on master %r, only on replica %r, different %r"
        % (only_master, only_replica, differ))
    return len(a)


def populate(server, n=300, seed=1):
    """Every data type in several encodings and databases, with and without TTLs."""
    rnd = random.Random(seed)
    far = int(time.time() * 1000) + 3_600_000
    for db in (0, 1, 9):
        r = server.client(db=db)
        p = r.pipeline(transaction=False)
        for i in range(n):
            p.set("str:%d" % i, "v%d" % i)
            p.set("int:%d" % i, i * 1000 - 7)
        p.set("big", b"x" * 200_000)
        p.set("bin", bytes(range(256)) * 3)
        p.set("float", "3.25")
        for i in range(20):
            p.rpush("list:%d" % i, *["e%d" % j for j in range(i * 7 + 1)])
            p.hset("hash:%d" % i, mapping={"f%d" % j: "v%d" % j for j in range(i * 9 + 1)})
            p.sadd("set:%d" % i, *[str(j) for j in range(i * 11 + 1)])              # intsets
            p.sadd("sset:%d" % i, *["m%d" % j for j in range(i * 5 + 1)])
            p.zadd("zset:%d" % i, {"m%d" % j: rnd.choice([j, j / 3, -j * 1.5]) for j in range(i * 8 + 1)})
        p.rpush("biglist", *range(3000))
        p.hset("bighash", mapping={"f%d" % j: "v" * (j % 80) for j in range(1000)})
        p.sadd("bigset", *["m%d" % j for j in range(1000)])
        p.zadd("bigzset", {"m%d" % j: j * 0.5 for j in range(1000)})
        for i in range(0, n, 3):
            p.pexpireat("str:%d" % i, far + i)
        p.expire("list:3", 7200)
        p.pexpireat("hash:4", far + 1)
        p.pexpireat("zset:5", far + 2)
        p.execute()


class Load:
    """A writer thread: every type's write commands, MULTI/EXEC, two databases and
    short TTLs the master expires (DELs in the stream)."""

    def __init__(self, server, seed=7, value_size=8, keys=200):
        self.server = server
        self.rnd = random.Random(seed)
        self.value = b"v" * value_size
        self.big = value_size > 1000        # then half the writes are big SETs
        self.keys = keys
        self.stop = threading.Event()
        self.ops = 0
        self.error = None
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        rnd = self.rnd
        clients = [self.server.client(db=0), self.server.client(db=3)]
        try:
            while not self.stop.is_set():
                r = rnd.choice(clients)
                n = rnd.randrange(self.keys)
                op = rnd.randrange(16)
                if op == 0 or (self.big and rnd.random() < 0.5):
                    r.set("s:%d" % n, self.value + b"%d" % rnd.randrange(1000))
                elif op == 1:
                    r.incrby("c:%d" % n, rnd.randrange(-5, 10))
                elif op == 2:
                    r.append("s:%d" % n, "+")
                elif op == 3:
                    r.lpush("l:%d" % n, rnd.randrange(100), rnd.randrange(100))
                elif op == 4:
                    r.rpop("l:%d" % n)
                elif op == 5:
                    r.hset("h:%d" % n, "f%d" % rnd.randrange(20), rnd.randrange(1000))
                elif op == 6:
                    r.hdel("h:%d" % n, "f%d" % rnd.randrange(20))
                elif op == 7:
                    r.sadd("S:%d" % n, *["m%d" % rnd.randrange(50) for _ in range(3)])
                elif op == 8:
                    r.spop("S:%d" % n)
                elif op == 9:
                    r.zadd("z:%d" % n, {"m%d" % rnd.randrange(30): rnd.randrange(-100, 100) / 4})
                elif op == 10:
                    r.zincrby("z:%d" % n, 1.5, "m%d" % rnd.randrange(30))
                elif op == 11:
                    r.incrbyfloat("f:%d" % n, 0.1)
                elif op == 12:
                    p = r.pipeline(transaction=True)
                    p.incr("c:%d" % n)
                    p.rpoplpush("l:%d" % n, "l:%d" % ((n + 1) % self.keys))
                    p.hincrby("h:%d" % n, "cnt", 1)
                    p.execute()
                elif op == 13:
                    r.set("e:%d" % n, "short", px=rnd.randrange(20, 300))
                elif op == 14:
                    r.expire("c:%d" % n, 3600)
                else:
                    r.delete("s:%d" % rnd.randrange(self.keys))
                self.ops += 1
        except Exception as e:          # reported by __exit__
            self.error = e

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)
        if exc[0] is None:
            assert self.error is None, "writer failed: %r" % self.error
            assert self.ops > 0


def settle(master, replicas=1):
    """After a load: let the short TTLs pass (the master expires them and sends DELs), then sync."""
    time.sleep(0.4)
    for db in (0, 3):
        r = master.client(db=db)
        for k in r.scan_iter("e:*"):    # touching an expired key makes the master DEL it
            r.exists(k)
    synced(master, replicas)


# -------------------------------------------------------------------------------------------
def test_follows_a_redis_master_every_type_and_ttl_writes_during_and_after_sync(procs):
    # rdb-key-save-delay slows the master's snapshot so writes land during the transfer.
    master = procs("redis", *FAST_SYNC, "--rdb-key-save-delay", "50")
    populate(master)
    with Load(master, seed=11):
        replica = procs("twistd", "--replicaof", "127.0.0.1 %d" % master.port)
        synced(master)
        time.sleep(0.3)
    settle(master)
    n = assert_same_data(master, replica)
    assert n > 2500
    # the received RDB was kept as the replica's dump.rdb, as Redis does
    import os
    assert os.path.exists(os.path.join(replica.workdir, "dump.rdb"))
    # the stream after the sync, one more time, through a second replica started by env var
    second = procs("redislite", env={"REDISLITE_REPLICAOF": "127.0.0.1:%d" % master.port})
    with Load(master, seed=12):
        time.sleep(0.5)
    settle(master, 2)
    assert_same_data(master, replica)
    assert_same_data(master, second)
    # the master's stream reaches keys in any db; FLUSHDB and SWAPDB too
    m = master.client(db=9)
    m.flushdb()
    m.swapdb(0, 1)
    synced(master, 2)
    assert_same_data(master, replica)
    caught_up(master, replica, second)      # every byte counted, PINGs included


def test_readonly_stale_data_and_promotion_like_redis(procs):
    master = procs("redis", *FAST_SYNC)
    master.client().set("k", "v")
    ours = procs("redislite", "--replicaof", "127.0.0.1 %d" % master.port)
    theirs = procs("redis", "--replicaof", "127.0.0.1", str(master.port))
    synced(master, 2)
    same = [
        ("SET", "k", "x"),
        ("INCR", "n"),
        ("REPLICAOF", "127.0.0.1", str(master.port)),      # +OK Already connected to specified master
        ("SLAVEOF", "127.0.0.1", "notaport"),
        ("REPLICAOF", "127.0.0.1", "65536"),
        ("REPLICAOF", "127.0.0.1", "-1"),
        ("REPLICAOF", "x"),
        ("GET", "k"),
        ("CONFIG", "GET", "replicaof"),
        ("CONFIG", "GET", "slaveof"),
        ("CONFIG", "GET", "replica-read-only"),
        # scripts: a shebang script without no-writes is refused up front (scriptPrepareForRun)
        ("EVAL", "#!lua\nreturn redis.call('set','k','y')", "0"),
        ("EVAL", "#!lua\nreturn 1", "0"),
        ("EVAL", "#!lua flags=no-writes\nreturn redis.call('get','k')", "0"),
        ("EVAL", "#!lua flags=no-writes\nreturn redis.call('set','k','y')", "0"),
        ("EVAL", "return redis.call('set','k','y')", "0"),
        ("EVAL", "return redis.call('get','k')", "0"),
    ]
    a, b = ours.raw(), theirs.raw()
    assert info_lines(a) == info_lines(b)
    assert role_head(a) == role_head(b)
    for cmd in same:
        if cmd[:2] == ("CONFIG", "GET") and cmd[2] in ("replicaof", "slaveof"):
            assert a.call(*cmd) == b"*2\r\n$%d\r\n%s\r\n$%d\r\n127.0.0.1 %d\r\n" % (
                len(cmd[2]), cmd[2].encode(), len("127.0.0.1 %d" % master.port), master.port)
            continue
        assert a.call(*cmd) == b.call(*cmd), cmd
    # a transaction with a write: queued, then EXECABORT with Redis's text
    for c in (a, b):
        c.send("MULTI")
        c.send("SET", "k", "y")
        c.send("EXEC")
    assert [a.read_reply() for _ in range(3)] == [b.read_reply() for _ in range(3)]
    # replica-read-only no at run time: writes are accepted
    for c in (a, b):
        assert c.call("CONFIG", "SET", "replica-read-only", "no") == b"+OK\r\n"
        assert c.call("SET", "local", "1") == b"+OK\r\n"
        assert c.call("CONFIG", "SET", "replica-read-only", "yes") == b"+OK\r\n"
    # promotion: REPLICAOF NO ONE keeps the data and accepts writes
    master.client().set("k2", "v2")
    synced(master, 2)
    for c in (a, b):
        assert c.call("REPLICAOF", "NO", "ONE") == b"+OK\r\n"
        assert c.call("REPLICAOF", "NO", "ONE") == b"+OK\r\n"
        assert c.call("GET", "k2") == b"$2\r\nv2\r\n"
        assert c.call("SET", "k3", "v3") == b"+OK\r\n"
        assert c.call("CONFIG", "GET", "replicaof") == b"*2\r\n$9\r\nreplicaof\r\n$0\r\n\r\n"
    assert snapshot(ours) == snapshot(theirs)
    a.close()
    b.close()
    # serve-stale-data no with the master gone: -MASTERDOWN for data commands, as Redis
    dead = free_port()
    ours2 = procs("redislite", "--replica-serve-stale-data", "no", "--replicaof", "127.0.0.1 %d" % dead)
    theirs2 = procs("redis", "--replica-serve-stale-data", "no", "--replicaof", "127.0.0.1", str(dead))
    a, b = ours2.raw(), theirs2.raw()
    for cmd in [("GET", "k"), ("PING",), ("SET", "k", "v"), ("CONFIG", "GET", "replica-serve-stale-data"),
                ("SELECT", "1"), ("DBSIZE",)]:
        assert a.call(*cmd) == b.call(*cmd), cmd
    assert info_lines(a) == info_lines(b)
    assert role_head(a) == role_head(b)
    # ... and served again once the link is up
    for c in (a, b):
        c.call("CONFIG", "SET", "replica-serve-stale-data", "yes")
        assert c.call("GET", "k") == b"$-1\r\n"
    a.close()
    b.close()


#: INFO replication lines whose values depend on timing or identity
_VOLATILE = (b"master_port", b"master_last_io_seconds_ago", b"master_link_down_since_seconds",
             b"master_replid", b"slave0")


def info_lines(raw):
    """INFO replication as (field, value), values that vary between servers blanked."""
    out = []
    for line in raw.call("INFO", "replication").split(b"\r\n")[1:]:
        if b":" in line:
            name, value = line.split(b":", 1)
            out.append((name, b"" if name.startswith(_VOLATILE) else value))
    return out


def role_head(raw):
    """ROLE up to the offset (the state and the master's host included)."""
    return raw.call("ROLE").rsplit(b"\r\n:", 1)[0]


def _kill_links(master, replica, seconds):
    """Kill the link once a second, alternately on the master and on our side."""
    m, r = master.client(), replica.client()
    for i in range(seconds):
        time.sleep(1.0)
        if i % 2:
            r.client_kill_filter(_type="master")
        else:
            m.client_kill_filter(_type="replica")


def resyncs_under_kills(master, replica, kills, **load):
    """Kill the link once a second under load: (full, partial) resyncs the master counted."""
    synced(master)
    before = info(master, "stats")
    with Load(master, **load):
        _kill_links(master, replica, kills)
    settle(master)
    after = info(master, "stats")
    return (after["sync_full"] - before["sync_full"],
            after["sync_partial_ok"] - before["sync_partial_ok"])


def test_link_killed_every_second_big_backlog_resyncs_partially(procs):
    master = procs("redis", *FAST_SYNC, "--repl-backlog-size", "100mb")
    populate(master, n=100)
    replica = procs("redislite", "--replicaof", "127.0.0.1 %d" % master.port)
    full, partial = resyncs_under_kills(master, replica, 4, seed=21)
    assert full == 0 and partial >= 3, (full, partial)
    assert_same_data(master, replica)


def test_link_killed_every_second_tiny_backlog_resyncs_fully(procs):
    # disk-based sync here: the RDB arrives as $<len>; values larger than the backlog
    # make any write the replica missed push its offset out of the backlog.
    master = procs("redis", *FAST_SYNC, "--repl-diskless-sync", "no", "--repl-backlog-size", "16kb")
    replica = procs("redislite", "--replicaof", "127.0.0.1 %d" % master.port)
    full, partial = resyncs_under_kills(master, replica, 5, seed=31, value_size=20_000, keys=40)
    assert full >= 1, (full, partial)
    assert_same_data(master, replica)


def test_master_restarts_with_persistence_and_the_replica_catches_up(procs):
    port = free_port()
    master = procs("redis", *FAST_SYNC, "--appendonly", "yes", port=port)
    populate(master, n=100)
    replica = procs("redislite", "--appendonly", "yes", "--replicaof", "127.0.0.1 %d" % port)
    synced(master)
    with Load(master, seed=41):
        time.sleep(0.5)
    settle(master)
    master.stop()                     # SIGTERM: Redis flushes its AOF and exits
    master.start()
    master.wait_until_loaded()
    with Load(master, seed=42):
        time.sleep(0.5)
    settle(master)
    assert_same_data(master, replica)
    caught_up(master, replica)
    # the replica's own AOF (rewritten after each full sync, then the applied stream)
    # holds the same data: kill -9 it and start a server on its directory
    time.sleep(1.2)                     # appendfsync everysec
    replica.kill()
    alone = procs("redislite", "--appendonly", "yes", workdir=replica.workdir)
    assert_same_data(master, alone)


# -- RedisLite masters (the master side, replication/master.py) ------------------------------
RL_FAST_SYNC = {"REDISLITE_REPL_DISKLESS_SYNC_DELAY": "0"}


def offset(server):
    return info(server)["master_repl_offset"]


def caught_up(master, *replicas, timeout=20.0):
    """Every replica (direct or chained) applied exactly the master's stream: same offset."""
    def check():
        want = offset(master)
        return all(offset(r) == want for r in replicas) and offset(master) == want
    until(check, timeout, "replica offsets to reach the master's")


def test_redislite_master_and_replica_link_killed_under_load(procs):
    master = procs("redislite", env=RL_FAST_SYNC)
    populate(master, n=100)
    replica = procs("redislite", "--replicaof", "127.0.0.1:%d" % master.port)
    full, partial = resyncs_under_kills(master, replica, 3, seed=51)
    assert full == 0 and partial >= 2, (full, partial)
    assert_same_data(master, replica)
    caught_up(master, replica)
    r = info(replica)
    assert r["role"] == "slave" and r["master_link_status"] == "up"
    assert r["master_replid"] == info(master)["master_replid"]
    assert r["slave_repl_offset"] == r["master_repl_offset"] == offset(master)
    assert replica.client().execute_command("ROLE")[:4] == [b"slave", b"127.0.0.1", master.port,
                                                            b"connected"]


def chain(procs, top_kind, end_kind, seed):
    """top -> RedisLite -> end under load; every node ends with the same data and offset."""
    if top_kind == "redis":
        top = procs("redis", *FAST_SYNC)
    else:
        top = procs("redislite", env=RL_FAST_SYNC)
    populate(top, n=50)
    mid = procs("redislite", "--replicaof", "127.0.0.1 %d" % top.port, env=RL_FAST_SYNC)
    synced(top)
    if end_kind == "redis":
        end = procs("redis", "--replicaof", "127.0.0.1", str(mid.port))
    else:
        end = procs("redislite", "--replicaof", "127.0.0.1 %d" % mid.port)
    until(lambda: online_replicas(mid), what="the chained replica")
    with Load(top, seed=seed):
        time.sleep(1.0)
    settle(top)
    caught_up(top, mid, end)
    assert_same_data(top, mid)
    assert_same_data(top, end)
    return top, mid, end


def test_three_node_chains_keep_one_stream(procs):
    # RedisLite -> RedisLite -> RedisLite
    a, b, c = chain(procs, "redislite", "redislite", seed=61)
    ids = {info(s)["master_replid"] for s in (a, b, c)}
    assert len(ids) == 1                # the chain shares the master's history
    # promoting the middle node: it keeps the old id as replid2, and its replica
    # continues with a partial resync (+CONTINUE <new id>) instead of a full one
    full_before = info(b, "stats")["sync_full"]
    assert b.client().execute_command("REPLICAOF", "NO", "ONE") == b"OK"
    b.client().set("after-promotion", "1")
    until(lambda: c.client().get("after-promotion") == b"1", what="the write after promotion")
    ib, ic = info(b), info(c)
    assert ib["master_replid2"] == ids.pop() and ic["master_replid"] == ib["master_replid"]
    assert info(b, "stats")["sync_full"] == full_before
    assert info(b, "stats")["sync_partial_ok"] >= 1
    caught_up(b, c)
    assert_same_data(b, c)
    # redis-server -> RedisLite -> redis-server: Redis at the end sees our proxied
    # stream byte for byte (its offset equals the master's)
    chain(procs, "redis", "redis", seed=62)
