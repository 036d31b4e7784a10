"""The master side of replication on task.Clock and StringTransport: the backlog ring,
PSYNC/SYNC replies and RDB framing, the stream, WAIT, the NOREPLICAS gate, output
limits and the backlog TTL.  Children are not forked here (``use_fork = False``);
tests/integration/test_replication_master.py runs the real thing against redis-server."""

import random

import pytest
from twisted.internet import task
from twisted.internet.testing import StringTransport

from redislite.commands import load_all
from redislite.config import Config
from redislite.observability.metrics import ServerCollector
from redislite.persistence import rdb as _rdb
from redislite.protocol import Client, RedisProtocol
from redislite.replication import master as M
from redislite.replication.state import Backlog
from redislite.server import Server
from redislite.testing import encode_command as cmd

load_all()


@pytest.fixture
def server(tmp_path):
    clock = task.Clock()
    clock.advance(1_700_000_000)
    srv = Server(Config.defaults(), clock)
    srv.clock = clock
    m = M.master_of(srv)
    m.use_fork = False
    m.start()
    c = Client(srv)
    c.call("CONFIG", "SET", "dir", str(tmp_path))
    c.call("CONFIG", "SET", "repl-diskless-sync", "no")
    yield srv
    m.stop()


def connect(server):
    proto = RedisProtocol(server)
    t = StringTransport()
    proto.makeConnection(t)
    return proto, t


def pump(server, seconds=0.0, steps=1):
    for _ in range(steps):
        server.clock.advance(seconds)


def drive_producer(t):
    """StringTransport never pulls a producer: do it the way a draining socket would."""
    while t.producer is not None:
        t.producer.resumeProducing()


def info(server):
    return dict(M.master_of(server).info_fields())


# -- the backlog ring -------------------------------------------------------------------------
def test_backlog_matches_a_plain_reference():
    rnd = random.Random(7)
    for _ in range(200):
        size = rnd.choice([1, 100, 16384, 20000])
        start = rnd.randint(0, 1000)
        b = Backlog(size, start)
        ref = b""
        total = start
        for _ in range(rnd.randint(1, 60)):
            data = rnd.randbytes(rnd.choice([1, 40, 3000, 17000, 40000]))
            b.append(data)
            ref = (ref + data)[-size:]
            total += len(data)
            if rnd.random() < 0.1:
                size = rnd.choice([1, 100, 16384, 30000])
                b.resize(size)
                ref = ref[-size:]
            assert (b.histlen, b.end_offset, b.first_offset) == (len(ref), total, total - len(ref) + 1)
            off = rnd.randint(b.first_offset, b.end_offset + 1)
            assert b.since(off) == ref[off - b.first_offset:]
            assert b.covers(off) and not b.covers(b.first_offset - 1) and not b.covers(total + 2)


# -- PSYNC / SYNC ---------------------------------------------------------------------------------
def test_nothing_is_fed_before_the_first_replica(server):
    c = Client(server)
    c.call("SET", "a", "1")
    assert server.repl.master_repl_offset == 0 and server.repl.backlog is None
    assert info(server)["repl_backlog_active"] == 0


def test_full_resync_disk_based_then_stream(server):
    c = Client(server)
    c.call("SET", "a", "1")
    old_id = server.repl.replid
    p, t = connect(server)
    p.dataReceived(cmd("REPLCONF", "listening-port", "6380") + cmd("REPLCONF", "capa", "psync2"))
    assert t.value() == b"+OK\r\n+OK\r\n"
    t.clear()
    p.dataReceived(cmd("PSYNC", "?", "-1"))
    repl = server.repl
    assert repl.replid != old_id and repl.backlog is not None      # a new history starts
    assert t.value() == b"+FULLRESYNC %s 0\r\n" % repl.replid.encode()
    assert p.kind == "replica" and info(server)["slave0"].startswith("ip=192.168.1.1,port=6380,state=wait_bgsave")
    c.call("SET", "during", "x")                 # after the snapshot: held for the replica
    t.clear()
    pump(server)                                  # the child "exits": the bulk starts
    assert t.value().startswith(b"$")
    drive_producer(t)
    payload = t.value()
    n = int(payload[1:payload.index(b"\r\n")])
    body = payload[payload.index(b"\r\n") + 2:]
    rdb, stream = body[:n], body[n:]
    assert rdb.startswith(b"REDIS0010") and b"repl-id" in rdb and b"repl-offset" in rdb
    assert stream == (b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
                      b"*3\r\n$3\r\nSET\r\n$6\r\nduring\r\n$1\r\nx\r\n")
    assert info(server)["slave0"].split(",")[2] == "state=online"
    t.clear()
    c.call("SET", "after", "y")
    pump(server)
    assert t.value() == b"*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$1\r\ny\r\n"
    assert repl.master_repl_offset == repl.backlog.end_offset == len(stream) + len(t.value())
    s = dict(server_info_stats(server))
    assert (s["sync_full"], s["sync_partial_ok"], s["sync_partial_err"]) == (1, 0, 0)


def server_info_stats(server):
    from redislite.info import section_stats
    return section_stats(server)


def test_diskless_eof_form_and_stream_after_first_ack(server):
    c = Client(server)
    c.call("CONFIG", "SET", "repl-diskless-sync", "yes")
    c.call("CONFIG", "SET", "repl-diskless-sync-delay", "0")
    c.call("SET", "k", "v")
    p, t = connect(server)
    p.dataReceived(cmd("REPLCONF", "capa", "eof", "capa", "psync2"))
    t.clear()
    p.dataReceived(cmd("PSYNC", "?", "-1"))
    c.call("SET", "during", "1")
    pump(server)
    pump(server)
    out = t.value()
    first, rest = out.split(b"\r\n", 1)
    assert first == b"+FULLRESYNC %s 0" % server.repl.replid.encode()
    assert rest.startswith(b"$EOF:")
    mark = rest[5:45]
    assert len(mark) == 40 and rest[45:47] == b"\r\n"
    body = rest[47:]
    assert body.startswith(b"REDIS0010") and body.endswith(mark)
    assert b"during" not in body
    t.clear()
    c.call("SET", "more", "2")
    pump(server)
    assert t.value() == b""                       # held until the replica says it loaded
    p.dataReceived(cmd("REPLCONF", "ACK", "0"))
    assert b"during" in t.value() and b"more" in t.value()


def test_partial_resync_and_its_refusals(server):
    c = Client(server)
    p, t = connect(server)
    p.dataReceived(cmd("PSYNC", "?", "-1"))
    pump(server)
    pump(server)
    drive_producer(t)
    c.call("SET", "a", "1")
    pump(server)
    repl = server.repl
    end = repl.master_repl_offset
    p.transport.loseConnection()
    p.connectionLost(None)
    assert info(server)["connected_slaves"] == 0
    c.call("SET", "b", "2")
    tail = repl.backlog.since(end + 1)
    p2, t2 = connect(server)
    p2.dataReceived(cmd("REPLCONF", "capa", "psync2"))
    p2.dataReceived(cmd("PSYNC", repl.replid, end + 1))
    assert t2.value() == b"+OK\r\n+CONTINUE %s\r\n" % repl.replid.encode() + tail
    # without psync2 the id is not sent; an offset past the end or a wrong id -> full resync
    p3, t3 = connect(server)
    p3.dataReceived(cmd("PSYNC", repl.replid, repl.master_repl_offset + 1))
    assert t3.value() == b"+CONTINUE\r\n"
    p4, t4 = connect(server)
    p4.dataReceived(cmd("PSYNC", repl.replid, repl.master_repl_offset + 2))
    assert t4.value().startswith(b"+FULLRESYNC")
    p5, t5 = connect(server)
    p5.dataReceived(cmd("PSYNC", "f" * 40, 1))
    assert t5.value().startswith(b"+FULLRESYNC")
    s = dict(server_info_stats(server))
    assert (s["sync_full"], s["sync_partial_ok"], s["sync_partial_err"]) == (3, 2, 2)


def test_replid2_is_accepted_up_to_second_offset(server):
    c = Client(server)
    p, t = connect(server)
    p.dataReceived(cmd("PSYNC", "?", "-1"))
    c.call("SET", "a", "1")
    repl = server.repl
    old = repl.replid
    repl.shift_replid()                    # as REPLICAOF NO ONE does
    c.call("SET", "b", "2")
    ok, tok = connect(server)
    ok.dataReceived(cmd("PSYNC", old, repl.second_repl_offset))
    assert tok.value().startswith(b"+CONTINUE")
    late, tlate = connect(server)
    late.dataReceived(cmd("PSYNC", old, repl.second_repl_offset + 1))
    assert tlate.value().startswith(b"+FULLRESYNC")


def test_legacy_sync_gets_the_bulk_without_fullresync(server):
    p, t = connect(server)
    p.dataReceived(cmd("SYNC"))
    pump(server)
    pump(server)
    drive_producer(t)
    assert t.value().startswith(b"$") and b"REDIS0010" in t.value()
    assert b"FULLRESYNC" not in t.value()


def test_pending_output_and_repeated_psync(server):
    p, t = connect(server)
    p.dataReceived(cmd("PING") + cmd("PSYNC", "?", "-1"))
    assert t.value() == b"+PONG\r\n-ERR SYNC and PSYNC are invalid with pending output\r\n"
    t.clear()
    p.dataReceived(cmd("PSYNC", "?", "-1"))
    assert t.value().startswith(b"+FULLRESYNC")
    t.clear()
    p.dataReceived(cmd("PSYNC", "?", "-1"))          # a replica's second PSYNC: ignored
    assert t.value() == b""


def test_a_replica_that_gets_a_reply_is_dropped(server):
    p, t = connect(server)
    p.dataReceived(cmd("PSYNC", "?", "-1"))
    assert info(server)["connected_slaves"] == 1
    p.dataReceived(cmd("PING"))
    assert info(server)["connected_slaves"] == 0 and p.closing


def test_replconf_parsing(server):
    p, t = connect(server)
    for args, reply in [
        (("REPLCONF",), b"+OK\r\n"),
        (("REPLCONF", "listening-port"), b"-ERR syntax error\r\n"),
        (("REPLCONF", "listening-port", "x"), b"-ERR value is not an integer or out of range\r\n"),
        (("REPLCONF", "Bogus", "1"), b"-ERR Unrecognized REPLCONF option: Bogus\r\n"),
        (("REPLCONF", "ip-address", "x" * 256),
         b"-ERR REPLCONF ip-address provided by replica instance is too long: 256 bytes\r\n"),
        (("REPLCONF", "rdb-only", "2"), b"-ERR value is out of range, value must between 0 and 1\r\n"),
        (("REPLCONF", "rdb-filter-only", "functions foo"), b"-ERR Unsupported rdb-filter-only option: foo\r\n"),
        (("REPLCONF", "rdb-filter-only", "'x"), b"-ERR Missing rdb-filter-only values\r\n"),
        (("REPLCONF", "ack", "5"), b""),
        (("REPLCONF", "getack", "*"), b""),
    ]:
        t.clear()
        p.dataReceived(cmd(*args))
        assert t.value() == reply, args
    t.clear()
    p.dataReceived(cmd("REPLCONF", "rdb-filter-only", "functions"))
    p.dataReceived(cmd("PSYNC", "?", "-1"))
    assert t.value() == b"+OK\r\n-ERR Filtered replica requires EOF capability\r\n"


# -- WAIT and min-replicas ----------------------------------------------------------------------------
def online_replica(server):
    p, t = connect(server)
    p.dataReceived(cmd("REPLCONF", "listening-port", "7000"))
    p.dataReceived(cmd("PSYNC", "?", "-1"))
    pump(server)
    drive_producer(t)
    t.clear()
    return p, t


def test_wait_blocks_until_acks_or_timeout(server):
    rp, rt = online_replica(server)
    w, wt = connect(server)
    w.dataReceived(cmd("WAIT", "0", "0"))
    assert wt.value() == b":1\r\n"                 # a client that never wrote: acked by all
    wt.clear()
    w.dataReceived(cmd("SET", "k", "v") + cmd("WAIT", "1", "500") + cmd("PING"))
    assert wt.value() == b"+OK\r\n"
    pump(server)                                   # end of turn: SET, then GETACK to replicas
    assert rt.value().endswith(M.GETACK)
    rp.dataReceived(cmd("REPLCONF", "ACK", server.repl.master_repl_offset))
    pump(server)
    assert wt.value() == b"+OK\r\n:1\r\n+PONG\r\n"
    wt.clear()
    w.dataReceived(cmd("SET", "k", "w") + cmd("WAIT", "2", "500"))
    server.clock.advance(0.4)
    assert wt.value() == b"+OK\r\n"
    rp.dataReceived(cmd("REPLCONF", "ACK", server.repl.master_repl_offset))
    server.clock.advance(0.2)
    assert wt.value() == b"+OK\r\n:1\r\n"          # timed out with the count at that time
    wt.clear()
    w.dataReceived(cmd("SET", "k", "x") + cmd("WAIT", "1", "0"))
    k, kt = connect(server)
    k.dataReceived(cmd("CLIENT", "UNBLOCK", w.id))
    assert kt.value() == b":1\r\n" and wt.value() == b"+OK\r\n:0\r\n"


def test_wait_argument_errors(server):
    c = Client(server)
    assert c.call("WAIT", "a", "0").message == "ERR value is not an integer or out of range"
    assert c.call("WAIT", "0", "a").message == "ERR timeout is not an integer or out of range"
    assert c.call("WAIT", "0", "-1").message == "ERR timeout is negative"
    assert c.call("WAIT", "-1", "0") == 0


def test_min_replicas_gate_follows_acks_and_config(server):
    c = Client(server)
    c.call("CONFIG", "SET", "min-replicas-to-write", "1")
    assert c.call("SET", "k", "v").message == "NOREPLICAS Not enough good replicas to write."
    assert c.call("GET", "k") is None
    assert info(server)["min_slaves_good_slaves"] == 0
    rp, rt = online_replica(server)
    assert c.call("SET", "k", "v").wire == b"+OK\r\n"
    c.call("CONFIG", "SET", "min-replicas-max-lag", "2")
    server.clock.advance(3.05)                     # no ACK for 3 s: the replica is not good
    assert c.call("SET", "k", "v").message.startswith("NOREPLICAS")
    rp.dataReceived(cmd("REPLCONF", "ACK", "0"))
    server.clock.advance(1.0)
    assert c.call("SET", "k", "v").wire == b"+OK\r\n"
    c.call("CONFIG", "SET", "min-replicas-to-write", "0")
    rp.transport.loseConnection()
    rp.connectionLost(None)
    assert c.call("SET", "k", "v").wire == b"+OK\r\n"


def test_role_and_metrics_read_the_acks(server):
    rp, rt = online_replica(server)
    c = Client(server)
    c.call("SET", "k", "v")
    pump(server)
    rp.dataReceived(cmd("REPLCONF", "ACK", server.repl.master_repl_offset))
    off = server.repl.master_repl_offset
    assert c.call("ROLE") == [b"master", off, [[b"192.168.1.1", b"7000", b"%d" % off]]]
    fams = {f.name: f for f in ServerCollector(server).collect()}
    sample = fams["redislite_replica_offset"].samples[0]
    assert sample.labels == {"replica": "192.168.1.1:7000"} and sample.value == off


# -- limits, timeouts, backlog TTL ------------------------------------------------------------------------
class SlowTransport(StringTransport):
    """A socket whose peer never reads: everything written stays queued."""

    @property
    def dataBuffer(self):
        return self.io.getvalue()


def test_output_limit_drops_a_replica_that_does_not_read(server):
    c = Client(server)
    c.call("CONFIG", "SET", "client-output-buffer-limit", "replica 64kb 0 0")
    p = RedisProtocol(server)
    t = SlowTransport()
    p.makeConnection(t)
    p.dataReceived(cmd("PSYNC", "?", "-1"))
    pump(server)
    pump(server)
    drive_producer(t)
    assert info(server)["connected_slaves"] == 1
    for i in range(100):
        c.call("SET", "k%d" % i, "x" * 1000)
    pump(server)
    assert info(server)["connected_slaves"] == 0 and p.closing


def test_held_stream_counts_toward_the_soft_limit(server):
    c = Client(server)
    c.call("CONFIG", "SET", "client-output-buffer-limit", "replica 0 10kb 2")
    p, t = connect(server)
    p.dataReceived(cmd("PSYNC", "?", "-1"))          # disk child "running": stream is held
    server.repl_master.job.done = True                # (keep it from finishing in this test)
    c.call("SET", "k", "x" * 20000)
    pump(server)
    assert info(server)["connected_slaves"] == 1
    server.clock.advance(2.5)
    c.call("SET", "k2", "y")
    pump(server)
    assert info(server)["connected_slaves"] == 0


def test_backlog_ttl_frees_it_with_a_new_id(server):
    c = Client(server)
    c.call("CONFIG", "SET", "repl-backlog-ttl", "2")
    p, t = online_replica(server)
    p.transport.loseConnection()
    p.connectionLost(None)
    rid = server.repl.replid
    for _ in range(20):
        server.clock.advance(0.1)
    assert server.repl.backlog is not None
    for _ in range(20):
        server.clock.advance(0.1)
    i = info(server)
    assert i["repl_backlog_active"] == 0 and i["master_replid"] != rid
    assert i["master_replid2"] == "0" * 40 and i["second_repl_offset"] == -1


def test_ping_every_period_and_timeout(server):
    c = Client(server)
    c.call("CONFIG", "SET", "repl-ping-replica-period", "1")
    c.call("CONFIG", "SET", "repl-timeout", "3")
    p, t = online_replica(server)
    for _ in range(12):
        server.clock.advance(0.1)
    assert t.value() == M.PING
    for _ in range(23):
        server.clock.advance(0.1)
    assert info(server)["connected_slaves"] == 1
    for _ in range(15):
        server.clock.advance(0.1)
    assert info(server)["connected_slaves"] == 0           # no ACK for more than 3 s


def test_backlog_size_is_live(server):
    c = Client(server)
    online_replica(server)
    c.call("CONFIG", "SET", "repl-backlog-size", "20000")
    for i in range(100):
        c.call("SET", "k%d" % i, "x" * 500)
    i = info(server)
    assert i["repl_backlog_size"] == 20000 and i["repl_backlog_histlen"] == 20000
    assert i["repl_backlog_first_byte_offset"] == i["master_repl_offset"] - 20000 + 1


def test_rdb_aux_fields_carry_the_replication_info(server):
    c = Client(server)
    c.call("SET", "a", "1")
    p, t = connect(server)
    p.dataReceived(cmd("SYNC"))
    pump(server)
    pump(server)
    drive_producer(t)
    payload = t.value()
    body = payload[payload.index(b"\r\n") + 2:]
    r = _rdb.Reader(body, _rdb.Values())
    aux = {rec[1]: rec[2] for rec in r.records() if rec[0] == "aux"}
    assert aux[b"repl-id"] == server.repl.replid.encode() and aux[b"repl-offset"] == b"0"
    assert aux[b"repl-stream-db"] == b"0"


def test_an_ack_that_beats_the_child_exit_starts_the_stream(server):
    c = Client(server)
    c.call("CONFIG", "SET", "repl-diskless-sync", "yes")
    c.call("CONFIG", "SET", "repl-diskless-sync-delay", "0")
    p, t = connect(server)
    p.dataReceived(cmd("REPLCONF", "capa", "eof"))
    p.dataReceived(cmd("PSYNC", "?", "-1"))
    c.call("SET", "during", "1")
    p.dataReceived(cmd("REPLCONF", "ACK", "0"))    # loaded before the reactor saw the child exit
    t.clear()
    pump(server)
    pump(server)
    assert t.value().endswith(b"$6\r\nduring\r\n$1\r\n1\r\n")


def test_snapshot_checksum_recut_in_blocks_matches_the_inline_one(server):
    c = Client(server)
    for i in range(3000):
        c.call("SET", "key:%d" % i, "v" * (i % 50))
    aux = _rdb.default_aux(0, 0)
    ref = b"".join(_rdb.iter_snapshot(server, 16, aux, (), True, True))
    for block in (1, 7, 5000, 1 << 20):
        chunks = _rdb.iter_snapshot(server, 16, aux, (), True, False)
        assert b"".join(M._checksummed(chunks, block)) == ref
