"""The RESP connection driven through StringTransport and task.Clock: one
write per read, pipelining, protocol errors, generic checks."""

import pytest
from twisted.internet import task
from twisted.internet.testing import StringTransport

from redislite.commands import load_all
from redislite.config import Config
from redislite.protocol import RedisProtocol
from redislite.server import Server

load_all()


class CountingTransport(StringTransport):
    def __init__(self):
        super().__init__()
        self.writes = 0

    def write(self, data):
        self.writes += 1
        super().write(data)


def connect(server):
    proto = RedisProtocol(server)
    transport = CountingTransport()
    proto.makeConnection(transport)
    return proto, transport


@pytest.fixture
def server():
    clock = task.Clock()
    clock.advance(1_700_000_000)
    return Server(Config.defaults(), clock)


def cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def test_pipeline_is_answered_with_one_write(server):
    proto, t = connect(server)
    proto.dataReceived(b"".join(cmd("SET", "k%d" % i, i) for i in range(10000)))
    assert t.writes == 1
    assert t.value() == b"+OK\r\n" * 10000
    t.clear()
    proto.dataReceived(cmd("GET", "k9999") + b"PING\r\n" + cmd("ECHO", "x"))
    assert t.value() == b"$4\r\n9999\r\n+PONG\r\n$1\r\nx\r\n"
    assert t.writes == 2


def test_split_command_waits_for_the_rest(server):
    proto, t = connect(server)
    data = cmd("SET", "key", "value")
    for i in range(len(data)):
        proto.dataReceived(data[i:i + 1])
    assert t.value() == b"+OK\r\n"


def test_protocol_error_runs_prior_commands_then_replies_and_closes(server):
    proto, t = connect(server)
    proto.dataReceived(cmd("PING") + b"*1\r\n:5\r\n" + cmd("PING"))
    assert t.value() == b"+PONG\r\n-ERR Protocol error: expected '$', got ':'\r\n"
    assert t.disconnecting
    t.clear()
    proto.dataReceived(cmd("PING"))   # nothing more is processed
    assert t.value() == b""


def test_http_request_on_resp_port_is_dropped_silently(server):
    proto, t = connect(server)
    proto.dataReceived(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert t.value() == b""
    assert t.disconnecting


def test_unknown_command_and_arity_and_subcommand_errors(server):
    proto, t = connect(server)
    proto.dataReceived(cmd("NOPE", "a", "b") + cmd("GET") + cmd("CONFIG", "NOPE") + cmd("CONFIG"))
    assert t.value() == (
        b"-ERR unknown command 'NOPE', with args beginning with: 'a' 'b' \r\n"
        b"-ERR wrong number of arguments for 'get' command\r\n"
        b"-ERR unknown subcommand 'NOPE'. Try CONFIG HELP.\r\n"
        b"-ERR wrong number of arguments for 'config' command\r\n")
    assert server.error_stats["ERR"] == 4


def test_requirepass_blocks_until_auth(server):
    server.apply_config(server.config.with_changes({"requirepass": "secret"}))
    proto, t = connect(server)
    proto.dataReceived(cmd("GET", "a") + cmd("AUTH", "wrong") + cmd("AUTH", "secret") + cmd("GET", "a"))
    assert t.value() == (b"-NOAUTH Authentication required.\r\n"
                         b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
                         b"+OK\r\n$-1\r\n")


def test_maxclients_rejects_with_redis_error(server):
    server.apply_config(server.config.with_changes({"maxclients": "1"}))
    connect(server)
    _, t = connect(server)
    assert t.value() == b"-ERR max number of clients reached\r\n"
    assert t.disconnecting


def test_oom_under_noeviction(server):
    server.apply_config(server.config.with_changes({"maxmemory": "1"}))
    proto, t = connect(server)
    proto.dataReceived(cmd("SET", "a", "b") + cmd("GET", "a"))
    assert t.value() == (b"-OOM command not allowed when used memory > 'maxmemory'.\r\n$-1\r\n")


def test_resp3_after_hello(server):
    proto, t = connect(server)
    proto.dataReceived(cmd("HELLO", "3"))
    assert t.value().startswith(b"%7\r\n")
    t.clear()
    proto.dataReceived(cmd("GET", "missing"))
    assert t.value() == b"_\r\n"


def test_idle_clients_are_closed_after_timeout(server):
    server.apply_config(server.config.with_changes({"timeout": "10"}))
    idle, t_idle = connect(server)
    busy, t_busy = connect(server)
    server.reactor.advance(6)
    busy.dataReceived(cmd("PING"))
    server.reactor.advance(5)
    assert server.clients_cron() == 1
    assert t_idle.disconnecting and not t_busy.disconnecting
