"""Protocol fuzzing against a live pair: random byte mutations of valid RESP
and inline requests go to the real redis-server 7.0.15 and to RedisLite,
and both must send back the same bytes and close (or keep) the connection
alike.  After every example a bystander client, connected for the whole
module, must still get PONG, and RedisLite's RSS must stay bounded.

Each example gets fresh connections and an empty database on both sides.
The client half-closes its side after sending (``shutdown(SHUT_WR)``): both
servers then answer what they parsed and close, so an incomplete request
costs no timeout.  Mutations that could spell a dangerous or blocking
command (FLUSHALL, SHUTDOWN, DEBUG, BLPOP, SUBSCRIBE...) are discarded.

The second fuzzer sends Lua library calls (cjson.decode of token soups,
cmsgpack.unpack of byte soups, struct.pack/unpack with fuzzed formats and
values, bit.*) to both servers under pcall: same reply bytes.

The example budget is bounded (``MAX_EXAMPLES``) so the module stays under
~30 s on a loaded 2-core machine; ``HYPOTHESIS_PROFILE=thorough`` runs more.
"""

import re
import socket
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redislite.testing import RawClient, encode_command
from tests.compat.test_hostile_input import rss_kb

pytestmark = pytest.mark.compat

MAX_EXAMPLES = 60
RSS_BOUND_KB = 64 * 1024
_THOROUGH = settings().max_examples >= 1000

#: requests the mutations start from (multibulk and inline, pipelined too)
SEEDS = [
    encode_command("PING"),
    encode_command("ECHO", "hello"),
    encode_command("SET", "k", "v"),
    encode_command("GET", "k"),
    encode_command("INCR", "n"),
    encode_command("APPEND", "k", "abc"),
    encode_command("HSET", "h", "f", "1"),
    encode_command("LPUSH", "l", "a", "b"),
    encode_command("SADD", "s", "x"),
    encode_command("MSET", "a", "1", "b", "2"),
    encode_command("DEL", "a", "b"),
    encode_command("INCRBY", "n", "5"),
    encode_command("INCRBYFLOAT", "n", "1.5"),
    encode_command("HINCRBY", "h", "f", "1"),
    encode_command("ZADD", "z", "1", "a") + encode_command("ZINCRBY", "z", "2", "a"),
    encode_command("ZSCORE", "z", "a"),
    encode_command("SET", "k", "v", "EX", "100") + encode_command("TTL", "k"),
    encode_command("EXPIRE", "k", "100"),
    encode_command("LINDEX", "l", "0"),
    encode_command("GETEX", "k", "PX", "100"),
    encode_command("EXISTS", "k"),
    encode_command("STRLEN", "k"),
    encode_command("SET", "k", "v") + encode_command("GET", "k") + encode_command("DEL", "k"),
    b"PING\r\n",
    b"ECHO hello\r\n",
    b"SET k \"a b\\x41\"\r\nGET k\r\n",
    b"INCR n\r\nINCR n\r\n",
    b"HSET h f 'v'\r\nHGETALL h\r\n",
    b"*1\r\n$4\r\nPING\r\nPING\r\n",
    b"\r\n\n*0\r\nPING\r\n",
]

#: bytes worth inserting: protocol punctuation, digits, signs, quotes, NUL, and
#: bytes that are not UTF-8 (error replies echo the client's bytes raw, as Redis).
INTERESTING = b"\r\n*$:+-0123456789 \"'\\\x00\x7f\x80\xc3\xff"

#: anything that could reconfigure, stop, block, flood or leave the connection
#: in another mode is never sent (a mutation can rename a command)
_DANGEROUS = re.compile(
    rb"shutdown|debug|flush|config|monitor|subscribe|sync|replica|slaveof|client|script|function|"
    rb"eval|fcall|save|rewrite|failover|acl|module|multi|exec|watch|wait|bl|br|bz|xread|pause|"
    rb"swap|select|hello|auth|reset|quit|migrate|restore|cluster|lastsave|keys|object|memory|latency|"
    rb"slowlog|sort|randmember|randfield|spop|zpop|lpop|rpop|sinter|sunion|sdiff|setbit|bitfield|"
    rb"range|rep",
    re.IGNORECASE)


@st.composite
def mutated_requests(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(("flip", "insert", "delete", "truncate", "duplicate", "number")))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[pos:pos] = bytes([draw(st.sampled_from(INTERESTING))])
        elif kind == "delete" and data:
            del data[pos]
        elif kind == "truncate":
            del data[pos:]
        elif kind == "duplicate":
            end = draw(st.integers(pos, len(data)))
            data[pos:pos] = data[pos:end]
        elif kind == "number":
            digits = [m for m in re.finditer(rb"-?\d+", bytes(data))]
            if digits:
                m = digits[draw(st.integers(0, len(digits) - 1))]
                data[m.start():m.end()] = draw(st.sampled_from(
                    (b"0", b"-1", b"-0", b"01", b"10", b"1024", b"16384", b"4294967296", b"2147483648",
                     b"9223372036854775807", b"9223372036854775808", b"+1", b"1 ", b"")))
    return bytes(data)


def exchange(server, payload, timeout=5.0):
    """Send, half-close, and read until the server closes: (bytes, how it ended)."""
    s = socket.create_connection((server.host, server.port), timeout=timeout)
    try:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = s.recv(1 << 16)
            except ConnectionResetError:
                return out, "reset"
            except socket.timeout:
                return out, "open"
            if not data:
                return out, "closed"
            out += data
        return out, "open"
    finally:
        s.close()


@pytest.fixture(scope="module")
def fuzz_servers(redis_server, redislite_server):
    before = rss_kb(redislite_server.pid)
    bystander = RawClient(redislite_server.host, redislite_server.port, timeout=10)
    resetters = [RawClient(s.host, s.port, timeout=10) for s in (redis_server, redislite_server)]
    yield redis_server, redislite_server, bystander, resetters
    for c in resetters:
        c.close()
    bystander.close()
    grown = rss_kb(redislite_server.pid) - before
    print("\nRedisLite RSS over the fuzzing: %d kB -> %d kB" % (before, before + grown))
    assert grown < RSS_BOUND_KB, "RedisLite RSS grew by %d kB during the fuzzing" % grown


@settings(max_examples=1000 if _THOROUGH else MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.filter_too_much])
@given(payload=mutated_requests().filter(lambda b: not _DANGEROUS.search(b)))
def test_mutated_requests_get_redis_answer(fuzz_servers, payload):
    oracle, subject, bystander, resetters = fuzz_servers
    for c in resetters:
        assert c.call("FLUSHALL") == b"+OK\r\n"
    expected = exchange(oracle, payload)
    got = exchange(subject, payload)
    assert got == expected, "payload %r" % payload
    assert bystander.call("PING") == b"+PONG\r\n"


def test_exchange_sees_replies_before_the_close(fuzz_servers):
    """The half-close trick itself: replies to complete commands arrive, an
    incomplete one is dropped, on both servers alike."""
    oracle, subject, _, resetters = fuzz_servers
    for c in resetters:
        c.call("FLUSHALL")
    payload = encode_command("SET", "k", "v") + encode_command("GET", "k") + b"*2\r\n$3\r\nGET\r\n$1"
    expected = exchange(oracle, payload)
    assert expected == (b"+OK\r\n$1\r\nv\r\n", "closed")
    assert exchange(subject, payload) == expected


# ---------------------------------------------------------------------------
# Lua library calls (cjson, cmsgpack, struct, bit) with fuzzed arguments
# ---------------------------------------------------------------------------

def _lua_str(data):
    return "'" + "".join("\\%d" % c if c < 32 or c > 126 or chr(c) in "'\\" else chr(c) for c in data) + "'"


#: JSON fragments; "-0" is left out: a negative zero crossing RedisLite's
#: Python trampoline comes back as 0 (a documented gap of the lupa bridge)
_JSON_TOKENS = ("[", "]", "{", "}", ",", ":", '"a"', '"\\u00e9"', '"\\ud83d\\ude00"', '"\\ud800"', "1", "-1.5e3",
                "0x1F", "nan", "-inf", "Infinity", "true", "false", "null", " ", "\t", '"\\n"', "1e999", "01", "+2",
                '"', "\\", "x", "\x00", "1.", ".5", "tru", '"\\x41"')
_MSGPACK_BYTES = (0x91, 0x92, 0x81, 0xDC, 0xDE, 0xC0, 0xC2, 0xC3, 0xCA, 0xCB, 0xCC, 0xCD, 0xD0, 0xD3, 0xD9, 0xA3,
                  0x01, 0x7F, 0xFF, 0xE0, 0x00, 0x61, 0xC1, 0xCF, 0xC4)
_STRUCT_OPTS = ("b", "B", "h", "H", "l", "L", "T", "i", "I", "i3", "I7", "i8", "i12", "f", "d", "c", "c0", "c3", "s",
                "x", "<", ">", "!", "!2", "!3", " ", "X", "=", "i40", "z")
_LUA_VALUES = ("1", "-1", "255", "65536", "2^31", "-2^63", "2^64", "1.5", "-1.5", "'7'", "'ab'", "'abcdef'", "nil",
               "{}", "0/0", "1/0", "-1/0", "33", "-33")

_lua_calls = st.one_of(
    st.lists(st.sampled_from(_JSON_TOKENS), min_size=1, max_size=8).map(
        lambda toks: "return {pcall(function() return cjson.encode(cjson.decode(%s)) end)}"
                     % _lua_str("".join(toks).encode())),
    st.tuples(st.lists(st.sampled_from(_MSGPACK_BYTES), max_size=10),
              st.sampled_from(("cmsgpack.unpack(%s)", "cmsgpack.unpack_one(%s, %s)", "cmsgpack.unpack_limit(%s, %s, %s)")),
              st.lists(st.sampled_from(("0", "1", "2", "-1", "3", "100")), min_size=2, max_size=2)).map(
        lambda t: "return {pcall(function() local r = {%s} for i, v in ipairs(r) do if type(v) == 'table' then "
                  "r[i] = cmsgpack.pack(v) end end return r end)}"
                  % (t[1] % ((_lua_str(bytes(t[0])),) + tuple(t[2][:t[1].count("%s") - 1])))),
    st.tuples(st.lists(st.sampled_from(_STRUCT_OPTS), min_size=1, max_size=4),
              st.lists(st.sampled_from(_LUA_VALUES), max_size=3)).map(
        lambda t: "return {pcall(struct.pack, %s%s)}" % (_lua_str("".join(t[0]).encode()),
                                                         "".join(", " + v for v in t[1]))),
    st.tuples(st.lists(st.sampled_from(_STRUCT_OPTS), min_size=1, max_size=4), st.binary(max_size=12),
              st.sampled_from(("", ", 1", ", 0", ", -1", ", 3", ", 20"))).map(
        lambda t: "return {pcall(struct.unpack, %s, %s%s)}" % (_lua_str("".join(t[0]).encode()), _lua_str(t[1]), t[2])),
    st.tuples(st.sampled_from(("tobit", "tohex", "bnot", "band", "bor", "bxor", "lshift", "rshift", "arshift", "rol",
                               "ror", "bswap")),
              st.lists(st.sampled_from(_LUA_VALUES + ("'x'", "2^53", "2^32+5")), max_size=3)).map(
        lambda t: "return {pcall(bit.%s%s)}" % (t[0], "".join(", " + v for v in t[1]))),
)


@settings(max_examples=4000 if _THOROUGH else 4 * MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(script=_lua_calls)
def test_lua_library_calls_get_redis_answer(fuzz_servers, script):
    oracle, subject, bystander, resetters = fuzz_servers
    expected = resetters[0].call("EVAL", script, "0")
    got = resetters[1].call("EVAL", script, "0")
    if b"table: 0x" not in expected:      # tostring() of a table shows its address
        assert got == expected, script
