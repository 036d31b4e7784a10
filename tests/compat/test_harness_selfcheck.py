"""Self-check of the test harness, with a real redis-server on BOTH sides of the Pair.

If these fail, a differential test's verdict about RedisLite means nothing.
"""
from __future__ import annotations

import os
import signal
import sys
from typing import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule

from redislite.testing import (
    ProtocolError,
    RawClient,
    RespFramer,
    ServerProcess,
    ServerStartError,
    encode_command,
    frame_end,
    free_port,
    split_aggregate,
    split_frames,
)
from tests.workcount import steps
from tests.compat.differential import (
    ORACLE_ARGS,
    DifferentialMachine,
    Pair,
    ReplyMismatch,
    command,
    command_sequences,
    decode,
    fields,
    keys,
    normalise_hello,
    require_redis_server,
    small_ints,
    values,
)


@pytest.fixture(scope="module")
def redis_twin() -> Iterator[ServerProcess]:
    """A second real redis-server, configured like the oracle, to stand in for the subject."""
    require_redis_server()
    server = ServerProcess("redis", args=ORACLE_ARGS).start()
    yield server
    server.stop()
    server.cleanup()


@pytest.fixture
def twin_pair(redis_server: ServerProcess, redis_twin: ServerProcess) -> Iterator[Pair]:
    p = Pair.connect(redis_server, redis_twin)
    p.reset()
    yield p
    p.close()


# ---------------------------------------------------------------------------
# Pair on identical servers / diverging servers
# ---------------------------------------------------------------------------


def test_same_passes_on_identical_servers(twin_pair: Pair) -> None:
    assert twin_pair.same("SET", "k0", "v") == b"+OK\r\n"
    assert twin_pair.same("GET", "k0") == b"$1\r\nv\r\n"
    assert twin_pair.same("INCR", "k0") == b"-ERR value is not an integer or out of range\r\n"
    assert twin_pair.same("GET", "missing") == b"$-1\r\n"
    assert twin_pair.same("RPUSH", "l", 1, 2, 3) == b":3\r\n"
    assert twin_pair.same("NOSUCHCOMMAND").startswith(b"-ERR unknown command 'NOSUCHCOMMAND'")
    replies = twin_pair.run_script([["HSET", "h", "f", "1"], ["HINCRBY", "h", "f", "41"], ["TYPE", "h"]])
    assert replies == [b":1\r\n", b":42\r\n", b"+hash\r\n"]
    assert twin_pair.same_pipeline([["PING"], ["ECHO", "x"], ["DBSIZE"]]) == [
        b"+PONG\r\n", b"$1\r\nx\r\n", b":3\r\n"]
    assert twin_pair.same_raw(b"PING\r\nECHO hi\r\n", replies=2) == [b"+PONG\r\n", b"$2\r\nhi\r\n"]


def test_same_fails_when_servers_differ(twin_pair: Pair) -> None:
    twin_pair.oracle.call("SET", "only-in-oracle", "x")  # the subject "dropped" this write
    with pytest.raises(AssertionError) as info:
        twin_pair.same("GET", "only-in-oracle")
    assert isinstance(info.value, ReplyMismatch)
    message = str(info.value)
    assert "GET" in message and "only-in-oracle" in message
    assert repr(b"$1\r\nx\r\n") in message and repr(b"$-1\r\n") in message
    with pytest.raises(AssertionError):
        twin_pair.same("DBSIZE")
    with pytest.raises(AssertionError):
        twin_pair.same_pipeline([["PING"], ["EXISTS", "only-in-oracle"]])
    with pytest.raises(AssertionError):
        twin_pair.run_script([["PING"], ["KEYS", "*"]])


def test_reset_gives_clean_state(twin_pair: Pair) -> None:
    twin_pair.oracle.call("SET", "a", "1")
    twin_pair.subject.call("SELECT", "3")
    twin_pair.reset()
    twin_pair.same("DBSIZE")
    assert all(b" db=0 " in reply for reply in twin_pair.both("CLIENT", "INFO"))


def test_both_for_custom_checks(twin_pair: Pair) -> None:
    twin_pair.same("SET", "k", "v", "EX", "100")
    o, s = twin_pair.both("TTL", "k")
    assert abs(decode(o) - decode(s)) <= 1
    o, s = twin_pair.both("CLIENT", "ID")
    assert o.startswith(b":") and s.startswith(b":")


class FakeClient:
    """Stands in for a RawClient with canned replies, to test comparisons on exact bytes."""

    def __init__(self, *replies: bytes) -> None:
        self.replies = list(replies)
        self.host, self.port, self.timeout = "127.0.0.1", 0, 1.0

    def send(self, *args: object) -> None:
        pass

    def read_reply(self) -> bytes:
        return self.replies.pop(0)

    def close(self) -> None:
        pass


def fake_pair(oracle: bytes, subject: bytes) -> Pair:
    return Pair(FakeClient(oracle), FakeClient(subject))  # type: ignore[arg-type]


def test_same_unordered() -> None:
    ab = b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    ba = b"*2\r\n$1\r\nb\r\n$1\r\na\r\n"
    assert fake_pair(ab, ba).same_unordered("SMEMBERS", "s") == ab
    with pytest.raises(AssertionError):
        fake_pair(ab, ba).same("SMEMBERS", "s")
    # the frame type still matters: an array is not a set
    with pytest.raises(AssertionError):
        fake_pair(b"~2\r\n$1\r\na\r\n$1\r\nb\r\n", ba).same_unordered("SMEMBERS", "s")
    # ...and so does the element encoding
    with pytest.raises(AssertionError):
        fake_pair(b"*2\r\n:1\r\n$1\r\nb\r\n", b"*2\r\n$1\r\nb\r\n$1\r\n1\r\n").same_unordered("X")
    with pytest.raises(AssertionError):
        fake_pair(ab, b"*2\r\n$1\r\na\r\n$1\r\na\r\n").same_unordered("X")
    # maps compare as sets of pairs; pairs=True does the same for RESP2 flat arrays
    m1 = b"%2\r\n$1\r\nf\r\n$1\r\n1\r\n$1\r\ng\r\n$1\r\n2\r\n"
    m2 = b"%2\r\n$1\r\ng\r\n$1\r\n2\r\n$1\r\nf\r\n$1\r\n1\r\n"
    assert fake_pair(m1, m2).same_unordered("HGETALL", "h") == m1
    swapped = b"%2\r\n$1\r\nf\r\n$1\r\n2\r\n$1\r\ng\r\n$1\r\n1\r\n"
    with pytest.raises(AssertionError):
        fake_pair(m1, swapped).same_unordered("HGETALL", "h")
    flat1, flat2 = b"*" + m1[1:], b"*" + swapped[1:]
    assert fake_pair(flat1, flat2).same_unordered("HGETALL", "h") == flat1  # a multiset of elements
    with pytest.raises(AssertionError):
        fake_pair(flat1, flat2).same_unordered("HGETALL", "h", pairs=True)
    # non-aggregates must simply be equal
    with pytest.raises(AssertionError):
        fake_pair(b":1\r\n", b":2\r\n").same_unordered("X")


def test_same_unordered_on_real_servers(twin_pair: Pair) -> None:
    twin_pair.same("SADD", "s", *range(200))
    twin_pair.same("MSET", "k0", 1, "k1", 2, "k2", 3)
    assert twin_pair.same_unordered("SMEMBERS", "s").startswith(b"*200\r\n")
    assert twin_pair.same_unordered("KEYS", "*").startswith(b"*4\r\n")


def test_resp3_switch_and_hello_normaliser(twin_pair: Pair) -> None:
    twin_pair.both("CLIENT", "ID")  # ids differ between servers; HELLO must still compare equal
    hello = twin_pair.resp3()
    assert hello.startswith(b"%7\r\n") and b"$5\r\nproto\r\n:3\r\n" in hello and b"+*\r\n" in hello
    assert twin_pair.same("DEBUG", "PROTOCOL", "map") == b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"
    assert twin_pair.same("GET", "nope") == b"_\r\n"

    real = twin_pair.oracle.call("HELLO", "3")
    other_id = real.replace(b"$2\r\nid\r\n:", b"$2\r\nid\r\n:9")
    other_server = real.replace(b"$5\r\nredis\r\n", b"$9\r\nredislite\r\n")
    assert normalise_hello(other_id) == normalise_hello(real) == normalise_hello(other_server)
    other_proto = real.replace(b"proto\r\n:3", b"proto\r\n:2")
    assert normalise_hello(other_proto) != normalise_hello(real)
    with pytest.raises(AssertionError):
        fake_pair(real, other_proto).resp3()
    error = b"-NOPROTO unsupported protocol version\r\n"
    assert normalise_hello(error) == error


# ---------------------------------------------------------------------------
# RawClient framing
# ---------------------------------------------------------------------------

#: Every RESP2/RESP3 shape, including ones Redis 7.0 never emits (blob error,
#: streamed strings and aggregates) and nesting.
FRAMES = [
    b"+OK\r\n",
    b"-ERR bad thing\r\n",
    b":-42\r\n",
    b"$0\r\n\r\n",
    b"$-1\r\n",
    b"$5\r\nhe\r\no\r\n",  # CRLF inside a bulk payload
    b"*-1\r\n",
    b"*0\r\n",
    b"*3\r\n:1\r\n*2\r\n$1\r\na\r\n*0\r\n$-1\r\n",
    b"_\r\n",
    b",3.14\r\n",
    b",inf\r\n",
    b"#t\r\n",
    b"(3492890328409238509324850943850943825024385\r\n",
    b"!21\r\nSYNTAX invalid syntax\r\n",
    b"=15\r\ntxt:Some string\r\n",
    b"%2\r\n+first\r\n:1\r\n+second\r\n%1\r\n$1\r\nx\r\n~2\r\n_\r\n#f\r\n",
    b"~0\r\n",
    b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nhi!\r\n",
    b"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.1923\r\n*2\r\n:2039123\r\n:9543892\r\n",
    b"*2\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n:7\r\n",  # attribute on a nested element
    b"$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;0\r\n",
    b"*?\r\n:1\r\n$?\r\n;1\r\na\r\n;0\r\n*1\r\n+x\r\n.\r\n",
    b"%?\r\n+a\r\n:1\r\n.\r\n",
]


@pytest.mark.parametrize("frame", FRAMES, ids=[repr(f[:12]) for f in FRAMES])
def test_frame_boundaries_exact(frame: bytes) -> None:
    """Every proper prefix is incomplete; the whole frame ends exactly at its length."""
    for cut in range(len(frame)):
        assert frame_end(frame[:cut]) is None, cut
    assert frame_end(frame) == len(frame)
    assert frame_end(frame + b"+trailing\r\n") == len(frame)
    assert frame_end(b"+x\r\n" + frame, pos=4) == 4 + len(frame)
    # fed one byte at a time, the resumable framer yields exactly this frame, once
    framer = RespFramer()
    got = []
    for i in range(len(frame) * 2):
        framer.feed((frame * 2)[i:i + 1])
        f = framer.next_frame()
        if f is not None:
            got.append(f)
    assert got == [frame, frame]


def test_split_frames_and_aggregates() -> None:
    data = b"".join(FRAMES)
    assert split_frames(data) == FRAMES
    header, items = split_aggregate(b"*3\r\n:1\r\n*2\r\n$1\r\na\r\n*0\r\n$-1\r\n")
    assert header == b"*3" and items == [b":1\r\n", b"*2\r\n$1\r\na\r\n*0\r\n", b"$-1\r\n"]
    assert split_aggregate(b"%?\r\n+a\r\n:1\r\n.\r\n") == (b"%?", [b"+a\r\n", b":1\r\n"])
    assert split_aggregate(b":1\r\n") == (b":1\r\n", [])
    with pytest.raises(ProtocolError):
        split_frames(b"+OK\r\n$5\r\nab")


@pytest.mark.parametrize("bad", [b"?what\r\n", b"$abc\r\nx\r\n", b"$ 1\r\nx\r\n", b"$+1\r\nx\r\n",
                                 b"$1\r\nxy\r\n", b"*-2\r\n", b"$-2\r\n", b"~-1\r\n", b"_x\r\n",
                                 b"$?\r\n+nope\r\n"])
def test_framer_rejects_malformed(bad: bytes) -> None:
    with pytest.raises(ProtocolError):
        frame_end(bad)


def test_encode_command() -> None:
    assert encode_command("SET", b"k", 12) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n"
    assert encode_command("ECHO", "é") == b"*2\r\n$4\r\nECHO\r\n$2\r\n\xc3\xa9\r\n"
    with pytest.raises(TypeError):
        encode_command("SET", "k", True)


DEBUG_PROTOCOL_RESP2 = {
    "string": b"$11\r\nHello World\r\n",
    "integer": b":12345\r\n",
    "double": b"$5\r\n3.141\r\n",
    "bignum": b"$37\r\n1234567999999999999999999999999999999\r\n",
    "null": b"$-1\r\n",
    "array": b"*3\r\n:0\r\n:1\r\n:2\r\n",
    "set": b"*3\r\n:0\r\n:1\r\n:2\r\n",
    "map": b"*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n",
    "attrib": b"$39\r\nSome real reply following the attribute\r\n",
    "verbatim": b"$25\r\nThis is a verbatim\nstring\r\n",
    "true": b":1\r\n",
    "false": b":0\r\n",
}
DEBUG_PROTOCOL_RESP3 = {
    "string": b"$11\r\nHello World\r\n",
    "integer": b":12345\r\n",
    "double": b",3.141\r\n",
    "bignum": b"(1234567999999999999999999999999999999\r\n",
    "null": b"_\r\n",
    "array": b"*3\r\n:0\r\n:1\r\n:2\r\n",
    "set": b"~3\r\n:0\r\n:1\r\n:2\r\n",
    "map": b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n",
    "attrib": b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n"
              b"$39\r\nSome real reply following the attribute\r\n",
    "verbatim": b"=29\r\ntxt:This is a verbatim\nstring\r\n",
    "true": b"#t\r\n",
    "false": b"#f\r\n",
}


def test_rawclient_reads_every_reply_type_from_redis(redis_server: ServerProcess) -> None:
    """Pipelined, so several replies share reads and the boundaries must be exact."""
    with redis_server.raw() as c:
        for proto, table in (("2", DEBUG_PROTOCOL_RESP2), ("3", DEBUG_PROTOCOL_RESP3)):
            assert c.call("HELLO", proto).startswith(b"*14\r\n" if proto == "2" else b"%7\r\n")
            names = list(table)
            replies = c.pipeline([["DEBUG", "PROTOCOL", n] for n in names] + [["PING"]])
            assert replies == [table[n] for n in names] + [b"+PONG\r\n"]
        # RESP3 push replies: out-of-band frames are replies of their own
        c.send("DEBUG", "PROTOCOL", "push")
        assert c.read_reply() == b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n"
        assert c.read_reply() == b"$40\r\nSome real reply following the push reply\r\n"
        assert c.call("SUBSCRIBE", "ch") == b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
        with redis_server.raw() as publisher:
            assert publisher.call("PUBLISH", "ch", "hi") == b":1\r\n"
        assert c.read_reply() == b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
        assert c.call("RESET") == b"+RESET\r\n"


def test_rawclient_big_replies_span_many_reads(redis_server: ServerProcess) -> None:
    big = os.urandom(3 * 1024 * 1024 + 7)
    with redis_server.raw() as c:
        assert c.call("SET", "big", big) == b"+OK\r\n"
        reply = c.call("GET", "big")
        assert reply == b"$%d\r\n" % len(big) + big + b"\r\n"
        c.call("RPUSH", "list", *range(20000))
        c.send("LRANGE", "list", 0, -1)
        c.send("PING")
        header, items = split_aggregate(c.read_reply())
        assert header == b"*20000" and items[0] == b"$1\r\n0\r\n" and items[-1] == b"$5\r\n19999\r\n"
        assert c.read_reply() == b"+PONG\r\n"
        c.call("DEL", "big", "list")


class _CountingBuffer(bytearray):
    """A bytearray that counts the bytes appended to it and the bytes that deleting
    its head moves (deleting after every frame makes draining a read quadratic)."""

    fed = 0
    moved = 0

    def __iadd__(self, data):  # type: ignore[override]
        self.fed += len(data)
        return super().__iadd__(data)

    def __delitem__(self, key):  # type: ignore[override]
        if isinstance(key, slice):
            self.moved += len(self) - key.indices(len(self))[1]
        super().__delitem__(key)


def test_rawclient_many_pipelined_replies(redis_server: ServerProcess) -> None:
    """Thousands of replies arriving in few reads are split exactly, in linear work.
    Counted, not timed: the buffer's compaction moves at most the bytes received, and
    splitting takes a bounded number of steps (lines + calls) per reply."""
    with redis_server.raw() as c:
        c._framer.buf = _CountingBuffer()
        replies = c.pipeline([["ECHO", str(i)] for i in range(20000)])
        assert replies[0] == b"$1\r\n0\r\n" and replies[-1] == b"$5\r\n19999\r\n"
        assert len(replies) == 20000
        assert c._framer.buf.fed == sum(len(r) for r in replies)
        assert c._framer.buf.moved <= c._framer.buf.fed
        replies, work = steps(c.pipeline, [["ECHO", str(i)] for i in range(2000)])
        assert len(replies) == 2000 and replies[-1] == b"$4\r\n1999\r\n"
        assert work <= 150 * 2000, work         # 97 per reply (encoding included), Python 3.11


def test_rawclient_inline_timeout_and_close(redis_server: ServerProcess) -> None:
    with redis_server.raw() as c:
        c.send_raw(b"PING\r\nECHO inline\r\n")
        assert [c.read_reply(), c.read_reply()] == [b"+PONG\r\n", b"$6\r\ninline\r\n"]
        c.send("QUIT")
        assert c.read_until_closed() == b"+OK\r\n"
    with RawClient(redis_server.host, redis_server.port, timeout=0.2) as c:
        c.send("BLPOP", "never-pushed", 0)
        with pytest.raises(TimeoutError):
            c.read_reply()
    with redis_server.raw() as c:
        with pytest.raises(TimeoutError):
            c.read_until_closed(timeout=0.2)
        c.send_raw(b"*1\r\n$4\r\nPING\r\n*1\r\n$")  # then a protocol error: Redis replies and closes
        c.send_raw(b"x\r\n")
        data = c.read_until_closed()
        assert data == b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"


# ---------------------------------------------------------------------------
# hypothesis helpers
# ---------------------------------------------------------------------------


class StringsAndSetsMachine(DifferentialMachine):
    """Example of a family machine: rules draw arguments and compare with pair.same."""

    @rule(k=keys, v=values)
    def set(self, k: bytes, v: bytes) -> None:
        self.pair.same("SET", k, v)

    @rule(k=keys)
    def get(self, k: bytes) -> None:
        self.pair.same("GET", k)

    @rule(k=keys, n=small_ints)
    def incrby(self, k: bytes, n: bytes) -> None:
        self.pair.same("INCRBY", k, n)

    @rule(k=keys, members=st.lists(fields, min_size=1, max_size=3))
    def sadd(self, k: bytes, members: list[bytes]) -> None:
        self.pair.same("SADD", k, *members)

    @rule(k=keys)
    def smembers(self, k: bytes) -> None:
        self.pair.same_unordered("SMEMBERS", k)

    @rule(a=keys, b=keys)
    def rename(self, a: bytes, b: bytes) -> None:
        self.pair.same("RENAME", a, b)


def test_state_machine_runs_on_identical_servers(twin_pair: Pair) -> None:
    StringsAndSetsMachine.run(twin_pair, settings=settings(max_examples=10, stateful_step_count=15))


def test_state_machine_finds_a_dropped_write(twin_pair: Pair) -> None:
    class DroppingMachine(StringsAndSetsMachine):
        @rule(k=keys, v=values)
        def set_lost_on_subject(self, k: bytes, v: bytes) -> None:
            self.pair.oracle.call("SET", k, v)  # simulate a subject that drops a write

    with pytest.raises(AssertionError):
        DroppingMachine.run(twin_pair, settings=settings(max_examples=20, derandomize=True, database=None,
                                                         report_multiple_bugs=False))


def test_with_commands_builds_a_machine(twin_pair: Pair) -> None:
    machine = DifferentialMachine.with_commands(
        command("HSET", keys, fields, values), command("HGETALL", keys), command("HDEL", keys, fields),
        command("KEYS", st.just(b"*")),
    )
    machine.run(twin_pair, settings=settings(max_examples=5, stateful_step_count=10))


def test_command_sequences_with_given(redis_server: ServerProcess, redis_twin: ServerProcess) -> None:
    """``@given`` needs no function-scoped fixture: connect inside and reset per example."""
    p = Pair.connect(redis_server, redis_twin)

    @settings(max_examples=10)
    @given(command_sequences([command("APPEND", keys, values), command("STRLEN", keys),
                              command("GETRANGE", keys, small_ints, small_ints)], max_size=10))
    def check(script: list[list[bytes]]) -> None:
        p.reset()
        assert all(isinstance(a, bytes) for line in script for a in line)
        p.run_script(script)

    try:
        check()
    finally:
        p.close()


# ---------------------------------------------------------------------------
# ServerProcess
# ---------------------------------------------------------------------------


def test_free_port_is_bindable_and_unique() -> None:
    ports = {free_port() for _ in range(20)}
    assert len(ports) == 20


def test_argv_shapes(tmp_path) -> None:
    lite = ServerProcess("redislite", port=7001, args=["--maxmemory", "10mb"], workdir=str(tmp_path))
    assert lite.argv == [sys.executable, "-m", "redislite", "--port", "7001", "--bind", "127.0.0.1",
                         "--http-port", "0", "--dir", str(tmp_path), "--maxmemory", "10mb"]
    assert lite.log_path.startswith(str(tmp_path))
    twistd = ServerProcess("twistd", port=7001, workdir=str(tmp_path))
    assert twistd.argv[3:6] == ["-n", "--pidfile=", "redislite"] and "--port" in twistd.argv
    with pytest.raises(ValueError):
        ServerProcess("memcached")


def test_redis_process_lifecycle_and_persistence() -> None:
    require_redis_server()
    server = ServerProcess("redis", args=["--appendonly", "yes", "--appendfsync", "always"])
    assert server.argv[-4:] == ["--appendonly", "yes", "--appendfsync", "always"]  # later args win
    with server:
        port, workdir, first_pid = server.port, server.workdir, server.pid
        assert server.running and os.path.exists(server.log_path)
        r = server.client()
        assert r.set("survives", "kill -9")
        r.close()
        server.kill()
        assert not server.running and server.returncode == -9
        server.restart().wait_until_loaded()
        assert server.pid != first_pid and (server.port, server.workdir) == (port, workdir)
        r = server.client()
        assert r.get("survives") == b"kill -9"  # the AOF in the same workdir was replayed
        r.close()
        server.restart().wait_until_loaded()  # restart while running: clean stop then start
        assert server.raw().call("GET", "survives") == b"$7\r\nkill -9\r\n"
        assert server.stop() == 0
        server.start()
    assert not server.running
    assert not os.path.exists(workdir)  # a clean exit removes the temporary workdir


def test_noauth_counts_as_up() -> None:
    require_redis_server()
    with ServerProcess("redis", args=["--requirepass", "s3cret"]) as server:
        assert server.raw().call("GET", "x").startswith(b"-NOAUTH")
        assert server.client(password="s3cret").ping()


def test_start_failure_shows_log_tail() -> None:
    require_redis_server()
    server = ServerProcess("redis", args=["--no-such-directive", "1"])
    with pytest.raises(ServerStartError) as info:
        server.start()
    assert "exited with code 1" in str(info.value)
    assert "no-such-directive" in str(info.value)  # redis-server's own complaint, from the log
    assert not server.running
    server.cleanup()


def test_start_timeout_kills_and_shows_log_tail() -> None:
    server = ServerProcess("redislite")
    server.argv = [sys.executable, "-c", "import time; print('child says hello', flush=True); time.sleep(60)"]
    with pytest.raises(ServerStartError) as info:
        server.start(timeout=0.5)
    assert "did not answer PING" in str(info.value) and "child says hello" in str(info.value)
    assert "within 0.5s" in str(info.value)
    # it gave up and killed the child, rather than waiting out its 60 s sleep (not timed)
    assert not server.running and server.returncode == -signal.SIGKILL
    server.cleanup()
