"""CLIENT PAUSE / UNPAUSE, protected mode, keepalive and the idle-timeout rules
(redislite/clientlimits.py), driven through StringTransport and task.Clock."""

import socket

import pytest
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import ITCPTransport
from twisted.internet.testing import StringTransport
from zope.interface import implementer

from redislite import clientlimits
from redislite.protocol import RedisProtocol
from redislite.testing import encode_command as cmd


@pytest.fixture
def server(srv):
    """tests/unit/conftest.py's server on task.Clock (``srv.clock``)."""
    return srv


@implementer(ITCPTransport)
class TCPLikeTransport(StringTransport):
    """A StringTransport that says it is a TCP connection (protected mode applies)."""


def connect(server, host="127.0.0.1", tcp=False):
    proto = RedisProtocol(server)
    addr = (IPv6Address if ":" in host else IPv4Address)("TCP", host, 40000)
    t = (TCPLikeTransport if tcp else StringTransport)(peerAddress=addr)
    proto.makeConnection(t)
    return proto, t


def send(proto, t, *args):
    t.clear()
    proto.dataReceived(cmd(*args))
    return t.value()


def settle(server, seconds=0.0):
    server.clock.advance(seconds)
    server.clock.advance(0)          # the callLater(0) that resumes postponed clients


# -- CLIENT PAUSE ------------------------------------------------------------------------------
def test_pause_write_holds_writes_and_lets_reads_through(server):
    admin, ta = connect(server)
    c, t = connect(server)
    assert send(admin, ta, "SET", "k", "v") == b"+OK\r\n"
    assert send(admin, ta, "CLIENT", "PAUSE", "1000", "WRITE") == b"+OK\r\n"
    assert send(c, t, "GET", "k") == b"$1\r\nv\r\n"
    t.clear()
    c.dataReceived(cmd("SET", "k", "w") + cmd("GET", "k"))
    assert t.value() == b""                                   # the SET waits, the GET behind it
    assert isinstance(c.blocked, clientlimits.PauseWaiter) and server.blocked_clients == 1
    listing = send(admin, ta, "CLIENT", "LIST")
    assert b"flags=b" in listing and b"cmd=set" in listing
    assert send(admin, ta, "GET", "k") == b"$1\r\nv\r\n"
    settle(server, 0.999)
    assert t.value() == b""
    settle(server, 0.002)
    assert t.value() == b"+OK\r\n$1\r\nw\r\n"
    assert c.blocked is None and server.blocked_clients == 0 and not server.pause_type


def test_unpause_resumes_postponed_clients_in_order(server):
    admin, ta = connect(server)
    clients = [connect(server) for _ in range(3)]
    send(admin, ta, "CLIENT", "PAUSE", "100000", "WRITE")
    for i, (c, t) in enumerate(clients):
        c.dataReceived(cmd("RPUSH", "order", i))
    assert send(admin, ta, "CLIENT", "UNPAUSE") == b"+OK\r\n"
    settle(server)
    assert [t.value() for _, t in clients] == [b":1\r\n", b":2\r\n", b":3\r\n"]
    assert send(admin, ta, "LRANGE", "order", "0", "-1") == b"*3\r\n$1\r\n0\r\n$1\r\n1\r\n$1\r\n2\r\n"


@pytest.mark.parametrize("args,paused", [
    (("PUBLISH", "ch", "m"), True), (("EVAL", "return 1", "0"), True), (("PFCOUNT", "h"), True),
    (("EVAL_RO", "return 1", "0"), False), (("PING",), False), (("DEL", "x"), True),
    (("CLIENT", "ID"), False),
])
def test_pause_write_may_replicate(server, args, paused):
    admin, ta = connect(server)
    c, t = connect(server)
    send(admin, ta, "CLIENT", "PAUSE", "1000", "WRITE")
    assert (send(c, t, *args) == b"") is paused


def test_pause_all_holds_every_client_even_unpause(server):
    admin, ta = connect(server)
    c, t = connect(server)
    assert send(admin, ta, "CLIENT", "PAUSE", "500", "ALL") == b"+OK\r\n"
    assert send(c, t, "CLIENT", "UNPAUSE") == b""
    assert send(admin, ta, "PING") == b""                     # the caller too
    settle(server, 0.5)
    assert t.value() == b"+OK\r\n" and ta.value() == b"+PONG\r\n"


def test_pause_keeps_the_strongest_kind_and_latest_end(server):
    admin, ta = connect(server)
    c, t = connect(server)
    send(admin, ta, "CLIENT", "PAUSE", "10000", "WRITE")
    send(admin, ta, "CLIENT", "PAUSE", "1000", "ALL")          # ALL, until 10 s
    assert send(c, t, "GET", "k") == b""
    settle(server, 5)
    assert t.value() == b""
    settle(server, 5)
    assert t.value() == b"$-1\r\n"


@pytest.mark.parametrize("timeout", ["0", "9223372036854775807"])
def test_pause_that_ends_at_once_pauses_nothing(server, timeout):
    admin, ta = connect(server)
    assert send(admin, ta, "CLIENT", "PAUSE", timeout, "ALL") == b"+OK\r\n"
    assert send(admin, ta, "SET", "k", "v") == b"+OK\r\n"
    assert not server.pause_type


def test_exec_with_queued_writes_waits_but_not_the_commands_inside(server):
    admin, ta = connect(server)
    c, t = connect(server)
    assert send(c, t, "MULTI") == b"+OK\r\n"
    assert send(c, t, "SET", "k", "v") == b"+QUEUED\r\n"
    send(admin, ta, "CLIENT", "PAUSE", "1000", "WRITE")
    assert send(c, t, "EXEC") == b""
    settle(server, 1)
    assert t.value() == b"*1\r\n+OK\r\n"
    # A pause started inside the transaction does not stop it half way (no_block).
    send(c, t, "MULTI")
    send(c, t, "CLIENT", "PAUSE", "1000", "WRITE")
    send(c, t, "SET", "k", "w")
    assert send(c, t, "EXEC") == b"*2\r\n+OK\r\n+OK\r\n"
    assert send(c, t, "GET", "k") == b"$1\r\nw\r\n"


def test_client_unblock_does_not_release_a_paused_client(server):
    admin, ta = connect(server)
    c, t = connect(server)
    send(admin, ta, "CLIENT", "PAUSE", "1000", "WRITE")
    send(c, t, "SET", "k", "v")
    assert send(admin, ta, "CLIENT", "UNBLOCK", str(c.id)) == b":0\r\n"
    assert send(admin, ta, "CLIENT", "UNBLOCK", str(c.id), "ERROR") == b":0\r\n"
    assert t.value() == b""


def test_a_paused_client_that_disconnects_is_forgotten(server):
    admin, ta = connect(server)
    c, t = connect(server)
    send(admin, ta, "CLIENT", "PAUSE", "1000", "WRITE")
    send(c, t, "SET", "k", "v")
    c.connectionLost(None)
    assert server.blocked_clients == 0
    settle(server, 1)
    assert send(admin, ta, "EXISTS", "k") == b":0\r\n"


def test_expiry_and_eviction_wait_for_the_end_of_a_pause(server):
    admin, ta = connect(server)
    send(admin, ta, "SET", "t", "v", "PX", "100")
    send(admin, ta, "CLIENT", "PAUSE", "5000", "WRITE")
    settle(server, 1)
    for shard in server.shards:
        shard.active_expire_cycle()
    assert send(admin, ta, "GET", "t") == b"$-1\r\n"           # logically expired...
    assert send(admin, ta, "DBSIZE") == b":1\r\n"             # ...but not deleted
    assert server.make_room() is True                          # no eviction while paused
    send(admin, ta, "CLIENT", "UNPAUSE")
    assert all(not s.replica_mode for s in server.shards)
    assert send(admin, ta, "GET", "t") == b"$-1\r\n"
    assert send(admin, ta, "DBSIZE") == b":0\r\n"


def test_paused_client_is_exempt_from_the_idle_timeout(server):
    server.apply_config(server.config.with_changes({"timeout": "2"}))
    admin, ta = connect(server)
    c, t = connect(server)
    idle, ti = connect(server)
    send(admin, ta, "CLIENT", "PAUSE", "100000", "WRITE")
    send(c, t, "SET", "k", "v")
    server.clock.advance(5)
    admin.last_interaction = server.clock.seconds()
    server.clients_cron()
    assert not c.closing and idle.closing and not admin.closing


# -- idle timeout rules ---------------------------------------------------------------------------
def test_timeout_exemptions(server):
    c, _ = connect(server)
    assert not clientlimits.timeout_exempt(c)
    c.channels = {b"ch": None}
    assert clientlimits.timeout_exempt(c)
    c.channels = set()
    for kind in ("replica", "master", "monitor"):
        c.kind = kind
        assert clientlimits.timeout_exempt(c)


# -- protected mode ---------------------------------------------------------------------------------
@pytest.mark.parametrize("host,refused", [
    ("127.0.0.1", False), ("::1", False), ("127.0.0.2", True), ("10.1.2.3", True), ("fd00::2", True),
])
def test_protected_mode_decision(server, host, refused):
    assert clientlimits.protected_refusal(server, host) is refused
    no = server.config.with_changes({"protected-mode": "no"})
    server.apply_config(no)
    assert clientlimits.protected_refusal(server, host) is False
    server.apply_config(no.with_changes({"protected-mode": "yes", "requirepass": "pw"}))
    assert server.default_user_has_password()
    assert clientlimits.protected_refusal(server, host) is False


def test_protected_mode_denies_a_remote_tcp_peer(server):
    proto, t = connect(server, "10.9.8.7", tcp=True)
    assert t.value() == clientlimits.DENIED
    assert t.disconnecting and proto.id not in server.clients
    assert server.rejected_connections == 1 and server.total_connections == 0
    proto, t = connect(server, "127.0.0.1", tcp=True)
    assert send(proto, t, "PING") == b"+PONG\r\n"


def test_maxclients_is_checked_before_protected_mode(server):
    server.apply_config(server.config.with_changes({"maxclients": "1"}))
    connect(server)
    _, t = connect(server, "10.9.8.7", tcp=True)
    assert t.value() == b"-ERR max number of clients reached\r\n"


# -- keepalive ------------------------------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(socket, "TCP_KEEPIDLE"), reason="TCP_KEEPIDLE is Linux-only")
@pytest.mark.parametrize("interval,intvl", [(300, 100), (2, 1), (60, 20)])
def test_keepalive_options_as_anetKeepAlive(interval, intvl):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        assert clientlimits.set_keepalive(s, interval)
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == interval
        assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == intvl
        assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
    finally:
        s.close()
    assert clientlimits.set_keepalive(None, 300) is False
    assert clientlimits.set_keepalive(socket.socket(), 0) is False


# -- output limit threshold -------------------------------------------------------------------------------
def test_normal_output_threshold(server):
    assert server.obuf_normal_at is None
    cfg = server.config.with_changes({"client-output-buffer-limit": "normal 4mb 1mb 10"})
    server.apply_config(cfg)
    assert server.obuf_normal_at == 1024 * 1024
    server.apply_config(cfg.with_changes({"client-output-buffer-limit": "normal 2mb 0 0"}))
    assert server.obuf_normal_at == 2 * 1024 * 1024


# -- maxclients and RLIMIT_NOFILE (adjustOpenFilesLimit) ------------------------------------------------
class FakeLimits:
    """resource.getrlimit/setrlimit for RLIMIT_NOFILE with an OS ceiling."""

    def __init__(self, soft, ceiling):
        self.soft, self.ceiling = soft, ceiling
        self.tries = []

    def getrlimit(self, which):
        return self.soft, self.soft

    def setrlimit(self, which, limits):
        self.tries.append(limits[0])
        if limits[0] > self.ceiling:
            raise ValueError("not allowed to raise maximum limit")
        self.soft = limits[0]


def test_open_files_limit_is_raised_for_maxclients(monkeypatch):
    import resource
    fake = FakeLimits(1024, 1 << 20)
    monkeypatch.setattr(resource, "getrlimit", fake.getrlimit)
    monkeypatch.setattr(resource, "setrlimit", fake.setrlimit)
    maxclients, notes = clientlimits.adjust_open_files_limit(10000)
    assert maxclients == 10000 and fake.soft == 10032
    assert notes == ["Increased maximum number of open files to 10032 (it was originally set to 1024)."]


def test_maxclients_is_reduced_to_what_the_os_allows(monkeypatch, server):
    import resource
    fake = FakeLimits(256, 256)
    monkeypatch.setattr(resource, "getrlimit", fake.getrlimit)
    monkeypatch.setattr(resource, "setrlimit", fake.setrlimit)
    maxclients, notes = clientlimits.adjust_open_files_limit(10000)
    assert maxclients == 224                                   # as redis-server 7.0.15 under ulimit -n 256
    assert fake.tries[:3] == [10032, 10016, 10000] and fake.tries[-1] > 256
    assert notes[-1].startswith("Current maximum open files is 256. maxclients has been reduced to 224")
    server.start()
    try:
        assert server.maxclients == 224 and server.config["maxclients"] == 224
    finally:
        server.stop()


def test_a_limit_too_small_to_start(monkeypatch):
    import resource
    fake = FakeLimits(20, 20)
    monkeypatch.setattr(resource, "getrlimit", fake.getrlimit)
    monkeypatch.setattr(resource, "setrlimit", fake.setrlimit)
    with pytest.raises(SystemExit, match="is not enough for the server to start"):
        clientlimits.adjust_open_files_limit(10000)


def test_config_set_maxclients_beyond_the_os_limit(monkeypatch, server):
    import resource
    fake = FakeLimits(256, 256)
    monkeypatch.setattr(resource, "getrlimit", fake.getrlimit)
    monkeypatch.setattr(resource, "setrlimit", fake.setrlimit)
    admin, ta = connect(server)
    assert send(admin, ta, "CONFIG", "SET", "maxclients", "100") == b"+OK\r\n"
    assert send(admin, ta, "CONFIG", "SET", "maxclients", "1000") == (
        b"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating system "
        b"is not able to handle the specified number of clients, try with 224\r\n")
    assert server.maxclients == 100
    assert send(admin, ta, "CONFIG", "SET", "maxclients", "224") == b"+OK\r\n"


# -- the one output-limit decision (normal, pubsub and replica classes) -------------------------------
def test_output_limit_reached_hard_and_soft():
    reached = clientlimits.output_limit_reached
    assert reached(100, (100, 0, 0), None, 0.0) == (True, None)
    assert reached(99, (100, 0, 0), None, 0.0) == (False, None)
    assert reached(60, (100, 50, 2), None, 10.0) == (False, 10.0)       # the soft clock starts
    assert reached(60, (100, 50, 2), 10.0, 12.0) == (False, 10.0)       # not past its seconds yet
    assert reached(60, (100, 50, 2), 10.0, 12.5) == (True, 10.0)
    assert reached(40, (100, 50, 2), 10.0, 13.0) == (False, None)       # back under: the clock stops
    assert reached(10 ** 9, (0, 0, 0), None, 0.0) == (False, None)


def test_keepalive_reaches_the_socket_under_tls():
    class Tcp:
        socket = object()

    class Tls:
        transport = Tcp()
    assert clientlimits.transport_socket(Tcp()) is Tcp.socket
    assert clientlimits.transport_socket(Tls()) is Tcp.socket
    assert clientlimits.transport_socket(StringTransport()) is None


def test_accepted_sockets_get_nodelay_and_keepalive():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        clientlimits.tune_socket(s, 0)
        assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
        clientlimits.tune_socket(s, 300)
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    finally:
        s.close()
    clientlimits.tune_socket(None, 300)
