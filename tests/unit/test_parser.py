"""Unit tests of the RESP request parser (no network).

Expected behaviour comes from Redis 7.0.15; tests/compat/test_protocol_errors.py
pins the same inputs against a real redis-server.
"""
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from redislite.resp import parser as P
from redislite.resp.parser import ProtocolError, RequestParser, split_inline
from tests.workcount import steps


def enc(*args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def run(chunks, parser=None):
    """Feed chunks; return (commands, error or None, parser)."""
    p = parser or RequestParser()
    cmds = []
    for c in chunks:
        try:
            cmds += p.feed(c)
        except ProtocolError as e:
            return cmds + e.commands, e, p
    return cmds, None, p


def parse_all(data, **kw):
    cmds, err, p = run([data], RequestParser(**kw))
    assert err is None, err
    return cmds


def error_of(data, parser=None):
    cmds, err, _ = run([data], parser)
    assert err is not None, cmds
    return cmds, err


def bytewise(data):
    return [data[i:i + 1] for i in range(len(data))]


# --- well-formed multibulk ---------------------------------------------------

def test_single_command():
    assert parse_all(enc(b"SET", b"k", b"v")) == [[b"SET", b"k", b"v"]]


def test_pipeline_in_one_feed():
    cmds = [[b"SET", b"key:%06d" % i, b"xxx"] for i in range(300)]
    assert parse_all(b"".join(enc(*c) for c in cmds)) == cmds


def test_binary_payloads_with_crlf_and_nul():
    args = [b"SET", b"a\r\nb", b"\x00\r\n\xff" * 10, b"", b"\r\n"]
    data = enc(*args) + enc(b"PING")
    assert parse_all(data) == [args, [b"PING"]]
    assert run(bytewise(data))[0] == [args, [b"PING"]]


def test_trickle_one_byte_at_a_time():
    cmds = [[b"SET", b"k%d" % i, b"v" * i] for i in range(20)] + [[b"PING"]]
    data = b"".join(enc(*c) for c in cmds)
    got, err, p = run(bytewise(data))
    assert err is None and got == cmds and p.buffered() == 0


def test_partial_then_rest_and_buffered():
    data = enc(b"SET", b"key", b"value")
    p = RequestParser()
    assert p.feed(data[:20]) == []
    assert p.buffered() > 0
    assert p.feed(data[20:] + data[:3]) == [[b"SET", b"key", b"value"]]
    assert p.buffered() == 3
    assert p.feed(data[3:]) == [[b"SET", b"key", b"value"]]
    assert p.buffered() == 0


def test_big_bulk_and_long_counts():
    big = b"x" * 100000
    args = [b"MSET"] + [b"k%d" % i for i in range(2000)]
    assert parse_all(enc(b"SET", b"k", big) + enc(*args)) == [[b"SET", b"k", big], args]


def test_empty_multibulk_produces_nothing():
    assert parse_all(b"*0\r\n*-1\r\n*-10\r\n*-9223372036854775808\r\n" + enc(b"PING")) == [[b"PING"]]


def test_redis_quirks_unchecked_crlf():
    # Redis skips the byte after a header's '\r' and the two after a payload unchecked.
    assert parse_all(b"*1\rX$4\rYPING\r\n") == [[b"PING"]]
    assert parse_all(b"*1\r\n$4\r\nPINGXY") == [[b"PING"]]
    # "yz" is skipped, the leftover "\r\n" is an empty inline line.
    assert parse_all(b"*2\r\n$4\r\nPING\r\n$1\r\nxyz\r\n") == [[b"PING", b"x"]]
    assert parse_all(b"*1\r\n$0\r\n\r\n") == [[b""]]


def test_header_cr_as_last_byte_waits():
    p = RequestParser()
    assert p.feed(b"*1\r") == []
    assert p.feed(b"\n$4\r") == []
    assert p.feed(b"\nPING\r\n") == [[b"PING"]]


def test_max_int_count_is_accepted_and_waits():
    p = RequestParser()
    assert p.feed(b"*2147483647\r\n") == []


# --- multibulk errors --------------------------------------------------------

@pytest.mark.parametrize("header", [
    b"*-0", b"*01", b"*+1", b"* 1", b"*1 ", b"*", b"*-", b"*1_0", b"*0x1", b"*\xff",
    b"*2147483648", b"*3000000000", b"*99999999999999999999", b"*-99999999999999999999",
])
def test_invalid_multibulk_length(header):
    cmds, err = error_of(enc(b"PING") + header + b"\r\n")
    assert cmds == [[b"PING"]]
    assert err.message == P.ERR_INVALID_MULTIBULK and not err.silent
    assert err.reply == b"-ERR Protocol error: invalid multibulk length\r\n"


@pytest.mark.parametrize("header", [
    b"$-1", b"$-10", b"$04", b"$+4", b"$ 4", b"$", b"$4 ", b"$-0", b"$2147483648", b"$536870913",
    b"$99999999999999999999",
])
def test_invalid_bulk_length(header):
    cmds, err = error_of(enc(b"PING") + b"*1\r\n" + header + b"\r\n")
    assert cmds == [[b"PING"]]
    assert err.message == "ERR Protocol error: invalid bulk length"


def test_bulk_at_exact_max_is_accepted():
    p = RequestParser()
    assert p.feed(b"*1\r\n$536870912\r\n") == []
    p = RequestParser(max_bulk_len=10)
    assert p.feed(b"*1\r\n$10\r\n0123456789\r\n") == [[b"0123456789"]]
    assert error_of(b"*1\r\n$11\r\n", p)[1].message == P.ERR_INVALID_BULK


@pytest.mark.parametrize("shape", [1, 2, 3, 4, 6])
def test_fast_path_hands_long_payloads_to_the_exact_loop(shape):
    # the fast path knows canonical headers up to _BULK_CACHE_MAX - 1 bytes; a longer
    # payload (in any argument position) is parsed by the exact loop from its command on
    edge = P._BULK_CACHE_MAX
    for size in (edge - 1, edge, edge + 1):
        for pos in range(shape):
            args = [b"a%d" % n for n in range(shape)]
            args[pos] = b"v" * size
            data = enc(b"GET", b"k") + enc(*args) + enc(b"SET", b"k", b"x" * size) + enc(b"PING")
            assert parse_all(data) == [[b"GET", b"k"], args, [b"SET", b"k", b"x" * size], [b"PING"]]
    # a small proto-max-bulk-len turns the fast path off: the limit still applies
    p = RequestParser(max_bulk_len=100)
    cmds, err = error_of(enc(b"GET", b"k") + enc(b"SET", b"k", b"x" * 101), p)
    assert cmds == [[b"GET", b"k"]] and err.message == P.ERR_INVALID_BULK
    # a non-canonical header is never vouched for by the fast path
    cmds, err = error_of(enc(b"PING") + b"*2\r\n$3\r\nGET\r\n$01\r\nk\r\n" + enc(b"PING"))
    assert cmds == [[b"PING"]] and err.message == P.ERR_INVALID_BULK


def test_max_bulk_len_change_applies_at_runtime():
    p = RequestParser()
    p.max_bulk_len = 1024 * 1024
    assert error_of(b"*1\r\n$1048577\r\n", p)[1].message == P.ERR_INVALID_BULK


def test_declared_2gb_bulk_rejected_before_payload():
    p = RequestParser()
    cmds, err = error_of(b"*1\r\n$2147483648\r\n" + b"x" * 1000, p)
    assert err.message == P.ERR_INVALID_BULK and p.buffered() == 0


def test_huge_allowed_bulk_is_bounded_by_query_buffer():
    p = RequestParser(max_bulk_len=4 * 1024 ** 3, max_query_buffer=1024 * 1024)
    assert p.feed(b"*1\r\n$2147483648\r\n") == []
    chunk = b"x" * 65536
    with pytest.raises(ProtocolError) as ei:
        for _ in range(20):
            p.feed(chunk)
    assert ei.value.silent and ei.value.reply == b""
    assert p.buffered() == 0


@pytest.mark.parametrize("bad, shown", [
    (b":4", b":"), (b"+4", b"+"), (b"*4", b"*"), (b"x", b"x"), (b"\xff4", b"\xff"),
    (b"", b" "), (b"\n4", b" "),
])
def test_expected_dollar(bad, shown):
    cmds, err = error_of(enc(b"PING") + b"*1\r\n" + bad + b"\r\n")
    assert cmds == [[b"PING"]]
    assert err.reply == b"-ERR Protocol error: expected '$', got '" + shown + b"'\r\n"


def test_expected_dollar_waits_for_the_cr():
    # Redis looks for the '\r' before it checks the '$'.
    p = RequestParser()
    assert p.feed(b"*1\r\n:4") == []
    with pytest.raises(ProtocolError) as ei:
        p.feed(b"\r\n")
    assert ei.value.message == "ERR Protocol error: expected '$', got ':'"


def test_too_big_mbulk_count_string():
    p = RequestParser()
    assert p.feed(b"*" + b"1" * 65535) == []
    with pytest.raises(ProtocolError) as ei:
        p.feed(b"1")
    assert ei.value.message == "ERR Protocol error: too big mbulk count string"


def test_too_big_bulk_count_string():
    cmds, err = error_of(enc(b"PING") + b"*1\r\n" + b"$" * 70000)
    assert cmds == [[b"PING"]] and err.message == "ERR Protocol error: too big bulk count string"


def test_long_header_arriving_whole_is_invalid_not_too_big():
    # Like Redis reading it in one go: the '\r' is there, so string2ll decides.
    assert error_of(b"*" + b"1" * 70000 + b"\r\n")[1].message == P.ERR_INVALID_MULTIBULK


def test_header_cr_last_byte_skips_too_big_check():
    p = RequestParser()
    assert p.feed(b"*" + b"1" * 70000 + b"\r") == []


def test_nul_in_header_never_completes():
    # Redis's strchr stops at NUL: the header never completes; waits until 64 KiB.
    for data in (b"*1\x00\r\n", b"*1\r\n$\x004\r\n", b"*1\r\n\x00\r\n", b"PI\x00NG\r\nPING\r\n"):
        p = RequestParser()
        assert p.feed(data) == []
        assert p.feed(b"PING\r\n" * 100) == []
    p = RequestParser()
    assert p.feed(b"PING\r\nPI\x00NG\r\n") == [[b"PING"]]
    with pytest.raises(ProtocolError) as ei:
        p.feed(b"x" * 70000)
    assert ei.value.message == P.ERR_TOO_BIG_INLINE


# --- unauthenticated limits --------------------------------------------------

def unauth_parser():
    p = RequestParser()
    p.auth_required = True
    return p


def test_unauthenticated_limits():
    p = unauth_parser()
    assert p.feed(enc(*[b"x"] * 10)) == [[b"x"] * 10]
    assert p.feed(b"*1\r\n$16384\r\n") == []
    assert error_of(b"*11\r\n", unauth_parser())[1].message == \
        "ERR Protocol error: unauthenticated multibulk length"
    assert error_of(b"*1\r\n$16385\r\n", unauth_parser())[1].message == \
        "ERR Protocol error: unauthenticated bulk length"
    # invalid beats unauthenticated, as in Redis
    assert error_of(b"*3000000000\r\n", unauth_parser())[1].message == P.ERR_INVALID_MULTIBULK
    # inline requests have no such limit
    assert unauth_parser().feed(b"PING a b c d e f g h i j k l\r\n")[0][0] == b"PING"


def test_unauthenticated_flag_change_applies_next_feed():
    p = unauth_parser()
    p.auth_required = False
    assert p.feed(enc(*[b"x"] * 11)) == [[b"x"] * 11]


def test_auth_then_big_command_in_same_read_is_held_for_resume():
    p = unauth_parser()
    big = enc(*[b"x"] * 11)
    got = p.feed(enc(b"PING") + enc(b"AUTH", b"pw") + enc(b"PING") + big + enc(b"PING"))
    assert got == [[b"PING"], [b"AUTH", b"pw"], [b"PING"]]
    assert p.resume_needed and p.buffered() == len(big) + len(enc(b"PING"))
    p.auth_required = False          # the AUTH succeeded
    assert p.feed(b"") == [[b"x"] * 11, [b"PING"]]
    assert not p.resume_needed


def test_failed_auth_then_big_command_errors_on_resume():
    p = unauth_parser()
    assert p.feed(enc(b"HELLO", b"3", b"AUTH", b"u", b"p") + b"*1\r\n$20000\r\n") == \
        [[b"HELLO", b"3", b"AUTH", b"u", b"p"]]
    assert p.resume_needed
    with pytest.raises(ProtocolError) as ei:
        p.feed(b"")
    assert ei.value.message == P.ERR_UNAUTH_BULK and ei.value.commands == []


# --- inline ------------------------------------------------------------------

def test_inline_basic_and_line_endings():
    assert parse_all(b"PING\r\nSET a b\nGET   a\r\n\r\n\n   \r\n\tECHO\t x \r\n") == [
        [b"PING"], [b"SET", b"a", b"b"], [b"GET", b"a"], [b"ECHO", b"x"]]


def test_inline_cr_inside_line_is_space():
    assert parse_all(b"ECHO a\rb\r\n") == [[b"ECHO", b"a", b"b"]]
    assert parse_all(b"PING\r\r\n") == [[b"PING"]]


def test_inline_mixed_with_multibulk():
    assert parse_all(b"PING\r\n" + enc(b"GET", b"k") + b"ECHO x\n") == [
        [b"PING"], [b"GET", b"k"], [b"ECHO", b"x"]]


@pytest.mark.parametrize("line, args", [
    (b'ECHO "a b"', [b"ECHO", b"a b"]),
    (b'ECHO ""', [b"ECHO", b""]),
    (b"ECHO ''", [b"ECHO", b""]),
    (b'ECHO "\\x41\\x4g\\n\\r\\t\\b\\a\\\\\\"\\q"', [b"ECHO", b"Ax4g\n\r\t\b\a\\\"q"]),
    (b'ECHO "\\xfF"', [b"ECHO", b"\xff"]),
    (b"ECHO 'a\\'b\\n'", [b"ECHO", b"a'b\\n"]),
    (b'ECHO ab"cd"', [b"ECHO", b"abcd"]),
    (b'ECHO "a"\t"b"', [b"ECHO", b"a", b"b"]),
    (b"ECHO a\x0bb", [b"ECHO", b"a\x0bb"]),       # \v ends no word...
    (b"\x0bECHO \x0ca", [b"ECHO", b"a"]),          # ...but is skipped between words
    (b"ECHO \xff\x85", [b"ECHO", b"\xff\x85"]),
])
def test_inline_quoting(line, args):
    assert split_inline(line) == args
    assert parse_all(line + b"\r\n") == [args]


@pytest.mark.parametrize("line", [
    b'ECHO "a', b"ECHO 'a", b'ECHO "a"b', b"ECHO 'a'b", b'ECHO "a\\"', b'ECHO "\\', b"ECHO 'a\\'",
])
def test_inline_unbalanced_quotes(line):
    cmds, err = error_of(b"PING\r\n" + line + b"\r\nPING\r\n")
    assert cmds == [[b"PING"]]
    assert err.reply == b"-ERR Protocol error: unbalanced quotes in request\r\n"


def test_too_big_inline_request():
    p = RequestParser()
    assert p.feed(b"PING\r\n" + b"x" * 65536) == [[b"PING"]]
    with pytest.raises(ProtocolError) as ei:
        p.feed(b"x")
    assert ei.value.message == "ERR Protocol error: too big inline request"
    assert ei.value.commands == []


def test_long_inline_arriving_whole_is_accepted():
    assert parse_all(b"ECHO " + b"x" * 70000 + b"\r\n") == [[b"ECHO", b"x" * 70000]]


# --- silent closes -----------------------------------------------------------

@pytest.mark.parametrize("data", [
    b"POST / HTTP/1.1\r\n", b"Host: localhost\r\n", b"host:\r\n", b"HOST: x\r\n", b"PoSt\r\n",
    b'"POST"\r\n', enc(b"POST"), enc(b"host:", b"x"),
])
def test_cross_protocol_closes_silently(data):
    cmds, err = error_of(b"PING\r\n" + enc(b"PING") + data + b"PING\r\n")
    assert cmds == [[b"PING"], [b"PING"]]
    assert err.silent and err.reply == b""


@pytest.mark.parametrize("data", [b"POSTX\r\n", b"Host:x\r\n", b"xPOST\r\n", enc(b"posts")])
def test_not_cross_protocol(data):
    assert len(parse_all(data)) == 1


def test_query_buffer_limit():
    p = RequestParser(max_query_buffer=1024 * 1024)
    assert p.feed(enc(b"PING") + b"*1\r\n$2000000\r\n" + b"x" * 1000000) == [[b"PING"]]
    with pytest.raises(ProtocolError) as ei:
        p.feed(enc(b"PING") + b"x" * 100000)
    assert ei.value.silent and ei.value.commands == []


def test_query_buffer_limit_keeps_commands_before():
    p = RequestParser(max_query_buffer=1000)
    with pytest.raises(ProtocolError) as ei:
        p.feed(enc(b"PING") + b"*1\r\n$5000\r\n" + b"x" * 1500)
    assert ei.value.silent and ei.value.commands == [[b"PING"]]


def test_parser_is_dead_after_error():
    p = RequestParser()
    with pytest.raises(ProtocolError):
        p.feed(b"*x\r\n")
    with pytest.raises(ProtocolError):
        p.feed(enc(b"PING"))


# --- linear time for a trickled big bulk -------------------------------------

def _trickle(data):
    """Feed *data* one byte per read; return every command completed."""
    p = RequestParser()
    out = []
    for i in range(len(data)):
        out += p.feed(data[i:i + 1])
    return out


def test_bytewise_trickle_of_big_bulk_is_linear():
    size = 256 * 1024
    assert _trickle(enc(b"SET", b"k", b"v" * size)) == [[b"SET", b"k", b"v" * size]]
    # Counted in steps (lines + calls), not timed: the same per byte (22 with Python 3.11)
    # whether the bulk is 4 KB or 40 KB, so no read re-parses what earlier reads held.
    # (The bytes C code copies are not counted; appending in place keeps them linear.)
    work = {}
    for n in (4096, 40960):
        got, work[n] = steps(_trickle, enc(b"SET", b"k", b"v" * n))
        assert got == [[b"SET", b"k", b"v" * n]]
    assert work[40960] <= 10 * work[4096] + 1000, work
    assert work[40960] <= 40 * 40960, work


# --- properties --------------------------------------------------------------

argv_st = st.lists(st.binary(max_size=40), min_size=1, max_size=8)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(argv_st, min_size=1, max_size=10), st.data())
def test_roundtrip_split_anywhere(cmds, data):
    wire = b"".join(enc(*c) for c in cmds)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=12)))
    chunks = [wire[a:b] for a, b in zip([0] + cuts, cuts + [len(wire)])]
    for c in cmds:   # the probe names would (rightly) close the connection
        if c[0].lower() in (b"post", b"host:"):
            return
    got, err, p = run(chunks)
    assert err is None and got == cmds and p.buffered() == 0


_TOKENS = [b"*", b"$", b"\r", b"\n", b"\r\n", b"0", b"1", b"2", b"3", b"-", b"+", b" ",
           b"PING", b"a", b'"', b"'", b"\\", b"\x00", b"\xff", b":", b"*1\r\n", b"$1\r\n",
           b"*2\r\n$4\r\nECHO\r\n", b"POST"]


def _outcome(chunks, auth):
    p = RequestParser()
    p.auth_required = auth
    cmds, err, p = run(chunks, p)
    return cmds, (err.message, err.silent) if err else None, None if err else p.buffered()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_TOKENS), max_size=30), st.booleans(), st.data())
def test_any_small_input_is_split_invariant(tokens, auth, data):
    """Whole, byte by byte, or cut anywhere: same commands, same error, same held bytes
    (the fast path, the exact loop and the pending-element paths all agree)."""
    wire = b"".join(tokens)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=8)))
    chunks = [wire[a:b] for a, b in zip([0] + cuts, cuts + [len(wire)])]
    whole = _outcome([wire], auth)
    assert _outcome(chunks, auth) == whole
    assert _outcome(bytewise(wire), auth) == whole


@settings(max_examples=300)
@given(st.lists(st.binary(min_size=0, max_size=6).filter(lambda b: b"\x00" not in b), max_size=5))
def test_split_inline_matches_reference(words):
    # Plain words (no quotes, no whitespace) come back as themselves.
    words = [w for w in words if w and not any(c in b" \t\n\r\x0b\x0c\"'" for c in w)]
    assert split_inline(b" ".join(words)) == words


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(argv_st, min_size=1, max_size=6), st.data())
def test_mutated_pipelines_agree_whole_and_bytewise(cmds, data):
    """Corrupt one spot of a valid pipeline: the fast path (whole feed) and the exact
    loop (byte by byte) must still agree on commands, error and held bytes."""
    wire = bytearray(b"".join(enc(*c) for c in cmds))
    at = data.draw(st.integers(0, len(wire) - 1))
    wire[at:at + 1] = data.draw(st.sampled_from([b"", b"\r", b"\n", b"0", b"9", b"-", b"$", b"*", b"\x00",
                                                 b"\r\n", b"x"]))
    wire = bytes(wire)
    for auth in (False, True):
        assert _outcome(bytewise(wire), auth) == _outcome([wire], auth)
