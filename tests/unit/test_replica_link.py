"""The replica side's link (redislite/replication/replica.py) without a network.

A MemoryReactorClock records the connectTCP and drives every timer; the
master's side of the connection is a StringTransport, so each test reads the
exact bytes the replica sends and feeds the master's replies byte by byte
where it matters (Redis 7.0's wire protocol, checked against redis-server in
tests/integration/test_replication_replica.py).
"""

import os

import pytest
from twisted.internet.testing import MemoryReactorClock, StringTransport

from redislite.commands import load_all
from redislite.config import Config
from redislite.errors import ReplyError
from redislite.persistence import rdb
from redislite.protocol import Client
from redislite.replication import replica as R
from redislite.server import Server
from redislite.testing import encode_command as resp

load_all()

REPLID = "a" * 40
NEWID = "b" * 40
PING = b"*1\r\n$4\r\nPING\r\n"
CAPA = b"*5\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n$4\r\ncapa\r\n$6\r\npsync2\r\n"
PORT = b"*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n6379\r\n"


def ack(n):
    return resp("REPLCONF", "ACK", n)


class Env:
    def __init__(self, tmp_path, **changes):
        self.reactor = MemoryReactorClock()
        self.reactor.advance(1_700_000_000)
        cfg = Config.defaults().with_changes(dict({"dir": str(tmp_path)}, **changes))
        self.server = Server(cfg, self.reactor)
        self.server.start()
        self.client = Client(self.server)
        self.fed = []
        self.server.repl.listeners.append(self.fed.append)

    def replicaof(self, host="127.0.0.1", port=6399, startup=True):
        """startup: as --replicaof (PSYNC ? -1); else REPLICAOF on a master (PSYNC with our own id)."""
        R.set_master(self.server, host, port, startup=startup)
        return self.server.repl.link

    def accept(self, index=-1):
        """Complete the latest connectTCP: returns (protocol, transport)."""
        host, port, factory, timeout, _ = self.reactor.tcpClients[index]
        proto = factory.buildProtocol(None)
        tr = StringTransport()
        proto.makeConnection(tr)
        return proto, tr

    def run(self, seconds=0.0, steps=50):
        for _ in range(steps):
            self.reactor.advance(seconds / steps if seconds else 0)

    def call(self, *args):
        return self.client.call(*args)


def handshake(env, proto, tr, psync=None):
    assert tr.value() == PING
    tr.clear()
    proto.dataReceived(b"+PONG\r\n")
    assert tr.value() == PORT + CAPA
    tr.clear()
    proto.dataReceived(b"+OK\r\n+OK\r\n")
    assert tr.value() == (psync or resp("PSYNC", "?", -1))
    tr.clear()


def master_rdb(tmp_path, fill):
    src = Server(Config.defaults(), MemoryReactorClock())
    c = Client(src)
    fill(c)
    return rdb.dumps(src)


def full_sync(env, tmp_path, fill=lambda c: c.call("SET", "k", "v"), offset=100, eof=False,
              chunk=None, extra=b""):
    link = env.replicaof()
    proto, tr = env.accept()
    handshake(env, proto, tr)
    payload = master_rdb(tmp_path, fill)
    if eof:
        mark = b"m" * 40
        data = b"+FULLRESYNC %s %d\r\n\n\n$EOF:%s\r\n" % (REPLID.encode(), offset, mark) + payload + mark
    else:
        data = b"+FULLRESYNC %s %d\r\n\n$%d\r\n" % (REPLID.encode(), offset, len(payload)) + payload
    data += extra
    step = chunk or len(data)
    for i in range(0, len(data), step):
        proto.dataReceived(data[i:i + step])
    env.run()
    return link, proto, tr


def test_parse_stream_counts_every_byte():
    buf = resp("SET", "a", "1") + b"\r\n" + b"PING\r\n" + resp("MULTI") + b"*2\r\n$3\r\nGET\r\n$1"
    out = []
    pos, need = R.parse_stream(buf, 0, out)
    assert [a for a, _ in out] == [[b"SET", b"a", b"1"], None, [b"PING"], [b"MULTI"]]
    assert pos == out[-1][1] == len(buf) - len(b"*2\r\n$3\r\nGET\r\n$1")
    assert need == 0                    # stopped in a header: length unknown
    assert R.parse_stream(b"*2\r\n$3\r\nGET\r\n$5\r\nab", 0, []) == (0, 24)
    with pytest.raises(R.StreamError):
        R.parse_stream(b"*1\r\n+PING\r\n", 0, [])


def test_a_big_value_in_many_reads_is_applied_once(tmp_path):
    env = Env(tmp_path)
    link, proto, tr = full_sync(env, tmp_path, offset=0)
    value = b"x" * 3_000_000
    cmd = resp("SET", "big", value) + resp("SET", "after", "1")
    for i in range(0, len(cmd), 4096):
        proto.dataReceived(cmd[i:i + 4096])
    assert env.call("GET", "big") == value and env.call("GET", "after") == b"1"
    assert link.reploff == len(cmd) and link.qbuf == b""


def test_handshake_full_sync_and_stream_with_redis_offsets(tmp_path):
    env = Env(tmp_path)
    link, proto, tr = full_sync(env, tmp_path, offset=100)
    server = env.server
    assert link.state == "connected" and not server.loading
    assert server.repl.replid == REPLID and server.repl.master_repl_offset == 100
    assert env.call("GET", "k") == b"v"
    assert os.path.exists(os.path.join(str(tmp_path), "dump.rdb"))      # as Redis keeps it
    assert not [f for f in os.listdir(str(tmp_path)) if f.startswith("temp-")]
    # read-only for clients, not for the master
    assert env.call("SET", "x", "1") == ReplyError(
        "READONLY You can't write against a read only replica.")
    stream = resp("SELECT", 2) + resp("SET", "x", "1") + resp("PING")
    getack = resp("REPLCONF", "GETACK", "*")
    # split at every byte boundary of interest: offsets count applied bytes only
    proto.dataReceived(stream[:7])
    assert link.reploff == 100 and env.fed == []
    proto.dataReceived(stream[7:] + getack)
    assert tr.value() == ack(100 + len(stream))          # GETACK answers the offset before itself
    assert link.reploff == server.repl.master_repl_offset == 100 + len(stream) + len(getack)
    assert b"".join(env.fed) == stream + getack          # proxied verbatim to our replicas
    env.client.db = 2
    assert env.call("GET", "x") == b"1"
    # a transaction counts when EXEC runs (and a link loss inside it drops it)
    tr.clear()
    base = link.reploff
    proto.dataReceived(resp("MULTI") + resp("INCR", "n"))
    assert link.reploff == base and env.call("GET", "n") is None
    proto.dataReceived(resp("EXEC"))
    assert link.reploff == base + len(resp("MULTI") + resp("INCR", "n") + resp("EXEC"))
    assert env.call("GET", "n") == b"1"
    # REPLCONF ACK every second, nothing else is answered
    env.reactor.advance(1.0)
    assert tr.value() == ack(link.reploff)


def test_diskless_eof_mark_split_anywhere_acks_at_once(tmp_path):
    env = Env(tmp_path)
    tail = resp("SET", "after", "1")
    link, proto, tr = full_sync(env, tmp_path, offset=7, eof=True, chunk=3)
    assert link.state == "connected"
    assert tr.value() == ack(7)         # a Redis diskless master starts streaming on this ACK
    proto.dataReceived(tail)
    assert env.call("GET", "after") == b"1" and env.call("GET", "k") == b"v"


def test_bytes_right_after_a_bulk_rdb_are_the_stream(tmp_path):
    env = Env(tmp_path)
    tail = resp("SET", "after", "1")
    link, proto, tr = full_sync(env, tmp_path, offset=50, extra=tail)
    assert env.call("GET", "after") == b"1" and link.reploff == 50 + len(tail)


def test_full_sync_flushes_old_data_and_keeps_expired_keys_for_the_master(tmp_path):
    env = Env(tmp_path)
    env.call("SET", "old", "1")

    def fill(c):
        c.call("SET", "gone", "x")
        c.call("PEXPIREAT", "gone", 1_000)          # long expired: a replica still loads it
        c.call("SET", "live", "y")
    link, proto, tr = full_sync(env, tmp_path, fill=fill)
    assert env.call("GET", "old") is None
    assert env.call("GET", "gone") is None          # hidden from clients
    assert env.call("EXISTS", "gone") == 0
    proto.dataReceived(resp("APPEND", "gone", "z"))  # the master ran it before the key expired there
    proto.dataReceived(resp("PERSIST", "gone"))
    assert env.call("GET", "gone") == b"xz"
    assert env.server.shards[0].active_expire_cycle() == 0    # replicas never expire on their own


def test_link_loss_caches_the_master_and_psyncs_then_continue_with_new_id(tmp_path):
    env = Env(tmp_path)
    link, proto, tr = full_sync(env, tmp_path, offset=100)
    env.client.db = 0
    proto.dataReceived(resp("SELECT", 5) + resp("SET", "a", "1") + resp("MULTI") + resp("SET", "b", "2"))
    applied = link.reploff
    proto.connectionLost(None)
    assert link.state == "connecting" and link.master is None
    assert link.cached.reploff == applied and link.cached.db == 5
    proto2, tr2 = env.accept()
    handshake(env, proto2, tr2, psync=resp("PSYNC", REPLID, applied + 1))
    proto2.dataReceived(b"+CONTINUE %s\r\n" % NEWID.encode() + resp("SET", "c", "3"))
    repl = env.server.repl
    assert repl.replid == NEWID and repl.replid2 == REPLID and repl.second_repl_offset == applied + 1
    env.client.db = 5
    assert env.call("GET", "c") == b"3"             # the cached master's db is kept
    assert env.call("GET", "b") is None             # the unfinished MULTI was dropped
    assert link.reploff == applied + len(resp("SET", "c", "3"))


def test_client_kill_type_master_reconnects_at_once(tmp_path):
    env = Env(tmp_path)
    link, proto, tr = full_sync(env, tmp_path)
    n = len(env.reactor.tcpClients)
    assert env.call("CLIENT", "KILL", "TYPE", "master") == 1
    env.run()
    assert len(env.reactor.tcpClients) == n + 1 and link.cached is not None


def test_handshake_errors_retry_with_backoff(tmp_path):
    env = Env(tmp_path, **{"masterauth": "pw", "masteruser": "repl", "replica-announce-ip": "10.0.0.1"})
    link = env.replicaof()
    proto, tr = env.accept()
    proto.dataReceived(b"-NOAUTH Authentication required.\r\n")      # fine: AUTH follows
    assert tr.value() == PING + resp("AUTH", "repl", "pw") + PORT + resp(
        "REPLCONF", "ip-address", "10.0.0.1") + CAPA
    proto.dataReceived(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
    assert tr.disconnecting and link.state == "connect"
    n = len(env.reactor.tcpClients)
    env.reactor.advance(0.9)
    assert len(env.reactor.tcpClients) == n          # one second after a failure
    env.reactor.advance(0.2)
    assert len(env.reactor.tcpClients) == n + 1
    # connection refused twice more: 2 s, then 4 s
    connector = link.connector
    link.connect_failed(connector, None)
    env.reactor.advance(1.5)
    assert len(env.reactor.tcpClients) == n + 1
    env.reactor.advance(0.6)
    assert len(env.reactor.tcpClients) == n + 2
    # -NOMASTERLINK: try later; a master that never answers: repl-timeout
    proto, tr = env.accept()
    proto.dataReceived(b"+PONG\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n-NOMASTERLINK Can't SYNC while not "
                       b"connected with my master\r\n")
    assert tr.disconnecting
    env.reactor.advance(5)
    proto, tr = env.accept()
    env.reactor.advance(61)
    assert tr.disconnecting and link.state in ("connect", "connecting")


def test_psync_not_supported_falls_back_to_sync(tmp_path):
    env = Env(tmp_path)
    link = env.replicaof()
    proto, tr = env.accept()
    handshake(env, proto, tr)
    proto.dataReceived(b"-ERR unknown command 'PSYNC'\r\n")
    assert tr.value() == b"SYNC\r\n"
    payload = master_rdb(tmp_path, lambda c: c.call("SET", "k", "v"))
    proto.dataReceived(b"$%d\r\n" % len(payload) + payload)
    env.run()
    assert link.state == "connected" and env.call("GET", "k") == b"v"
    tr.clear()
    env.reactor.advance(1)
    assert tr.value() == b""            # no ACKs to a pre-PSYNC master


def test_stale_data_gate_and_loading(tmp_path):
    env = Env(tmp_path, **{"replica-serve-stale-data": "no"})
    link = env.replicaof()
    masterdown = ReplyError("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")
    assert env.call("GET", "k") == masterdown
    assert env.call("INFO", "replication") != masterdown
    proto, tr = env.accept()
    handshake(env, proto, tr)
    payload = master_rdb(tmp_path, lambda c: [c.call("SET", "k%d" % i, i) for i in range(3000)])
    proto.dataReceived(b"+FULLRESYNC %s 0\r\n$%d\r\n" % (REPLID.encode(), len(payload)) + payload)
    # loading: MASTERDOWN comes first (Redis's processCommand order), then LOADING
    assert env.server.loading and env.call("PING") == masterdown
    env.server.apply_config(env.server.config.with_changes({"replica-serve-stale-data": "yes"}))
    assert env.call("PING") == ReplyError("LOADING Redis is loading the dataset in memory")
    assert tr.producerState == "paused"
    env.run()
    assert not env.server.loading and tr.producerState == "producing"
    assert env.call("GET", "k7") == b"7"
    env.server.apply_config(env.server.config.with_changes({"replica-read-only": "no"}))
    assert env.call("SET", "mine", "1") == env.call("SET", "mine", "1")
    assert not env.server.read_only


def test_info_and_role_for_a_replica(tmp_path):
    env = Env(tmp_path)
    link = env.replicaof()
    assert link.role_reply() == ["slave", "127.0.0.1", 6399, "connecting", -1]
    fields = dict(link.info_fields())
    assert fields["master_link_status"] == "down" and fields["master_link_down_since_seconds"] == -1
    assert fields["slave_repl_offset"] == 1
    proto, tr = env.accept()
    assert link.role_reply()[3] == "handshake"
    handshake(env, proto, tr)
    proto.dataReceived(b"+FULLRESYNC %s 0\r\n$100\r\nREDIS" % REPLID.encode())
    fields = dict(link.info_fields())
    assert link.role_reply()[3] == "sync" and fields["master_sync_in_progress"] == 1
    assert (fields["master_sync_total_bytes"], fields["master_sync_read_bytes"],
            fields["master_sync_left_bytes"], fields["master_sync_perc"]) == (100, 5, 95, "5.00")
    assert list(f for f, _ in link.info_fields())[-3:] == ["slave_priority", "slave_read_only",
                                                           "replica_announced"]


def test_promotion_keeps_data_and_starts_a_new_history(tmp_path):
    env = Env(tmp_path)
    link, proto, tr = full_sync(env, tmp_path, offset=100)
    proto.dataReceived(resp("SET", "a", "1"))
    repl = env.server.repl
    off = repl.master_repl_offset
    assert R.unset_master(env.server)
    assert repl.role == "master" and repl.replid2 == REPLID and repl.second_repl_offset == off + 1
    assert env.call("SET", "b", "2") == env.call("SET", "b", "2")
    assert env.call("GET", "a") == b"1" and env.call("GET", "k") == b"v"
    assert not env.server.read_only and env.server.shards[0].replica_mode is False
    assert env.server.config["replicaof"] is None and tr.disconnecting
    # demoted again: PSYNC with our own history
    env.replicaof(port=6400, startup=False)
    proto, tr = env.accept()
    handshake(env, proto, tr, psync=resp("PSYNC", repl.replid, repl.master_repl_offset + 1))


def test_becoming_a_replica_unblocks_blocked_clients_like_redis(tmp_path):
    env = Env(tmp_path)
    waiting = Client(env.server)
    env.server.add_client(waiting)
    from redislite.blocking import BLOCKED
    assert waiting.call("BLPOP", "q", 0) is BLOCKED
    env.replicaof(startup=False)
    assert waiting.pushed == [ReplyError("UNBLOCKED force unblock from blocking operation, instance "
                                         "state changed (master -> replica?)")]
    assert waiting.closing and waiting.blocked is None


def test_bytes_from_the_master_count_as_replication_input(tmp_path):
    env = Env(tmp_path)
    link, proto, tr = full_sync(env, tmp_path)
    before = env.server.repl_input_bytes
    assert before > 100                 # the handshake replies and the RDB
    proto.dataReceived(resp("PING"))
    text = env.call("INFO", "stats")             # a Verbatim (str)
    stats = dict(l.split(":", 1) for l in text.split("\r\n")[1:] if ":" in l)
    assert int(stats["total_net_repl_input_bytes"]) == before + len(resp("PING"))
    assert int(stats["total_net_input_bytes"]) == 0
