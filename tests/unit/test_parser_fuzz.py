"""Fuzzing the RESP request parser (redislite/resp/parser.py) without a network.

tests/unit/test_parser.py already checks split invariance on small token
soups; this module aims at what it leaves out:

* **hiredis as the reference decoder.**  Any stream of canonical multibulk
  requests (binary arguments, CRLF and NUL inside payloads) must come out of
  RequestParser exactly as hiredis.Reader decodes the same bytes -- with the
  argument lengths and counts placed around the parser's internal boundaries
  (its fast-path tables stop at bulk length 10,000 and count 1,024; the
  unauthenticated limits are 10 arguments and 16,384 bytes), fed in random
  chunks.
* **Mutated canonical streams.**  Byte-level mutations of such streams never
  raise anything but ProtocolError, give the same outcome however they are
  chunked, every error is one of Redis's request-error texts, and whatever
  the parser accepts before an error is what hiredis decodes from the same
  prefix.

The live comparison with redis-server is tests/compat/test_fuzz_live.py.
"""

import hiredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redislite.resp import parser as P
from redislite.resp.parser import ProtocolError, RequestParser

REDIS_REQUEST_ERRORS = {
    P.ERR_INVALID_MULTIBULK, P.ERR_INVALID_BULK, P.ERR_UNAUTH_MULTIBULK, P.ERR_UNAUTH_BULK,
    P.ERR_TOO_BIG_MBULK, P.ERR_TOO_BIG_BULK, P.ERR_TOO_BIG_INLINE, P.ERR_UNBALANCED_QUOTES,
    P.SILENT_QUERY_BUFFER, P.SILENT_CROSS_PROTOCOL,
}

#: lengths around the parser's fast-path and limit boundaries
BOUNDARY_LENGTHS = (0, 1, 2, 9, 10, 11, 127, 128, 9999, 10000, 10001, 16383, 16384, 16385)
BOUNDARY_COUNTS = (1, 2, 9, 10, 11, 1023, 1024, 1025)


def enc(argv):
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)


@st.composite
def argvs(draw):
    """One request: a short or boundary-sized argument list of binary strings."""
    count = draw(st.one_of(st.integers(1, 6), st.sampled_from(BOUNDARY_COUNTS)))
    filler = draw(st.binary(min_size=1, max_size=4))
    # a few drawn arguments repeated up to the count (one draw per argument
    # would make hypothesis itself the slow part for 1,025-argument requests)
    pattern = draw(st.lists(st.sampled_from((b"", b"a", b"\r\n", b"\x00", b"*1\r\n$1\r\n", filler)),
                            min_size=1, max_size=4))
    argv = [draw(st.sampled_from((b"SET", b"GET", b"ECHO", b"x")))] + (pattern * count)[:count - 1]
    if count > 1 and draw(st.booleans()):
        # one argument sized at a boundary, anywhere in the list
        n = draw(st.sampled_from(BOUNDARY_LENGTHS))
        argv[draw(st.integers(1, count - 1))] = (filler * (n // len(filler) + 1))[:n]
    return argv


def feed_chunks(parser, data, cuts):
    """(commands, ProtocolError or None) for data fed in the pieces cut at cuts."""
    cuts = sorted(c for c in cuts if 0 < c < len(data))
    out = []
    for a, b in zip([0] + cuts, cuts + [len(data)]):
        try:
            out += parser.feed(data[a:b])
        except ProtocolError as e:
            return out + e.commands, e
    return out, None


def hiredis_arrays(data):
    """Every complete array hiredis decodes from data, stopping at its first error."""
    reader = hiredis.Reader()
    reader.feed(data)
    out = []
    while True:
        try:
            value = reader.gets()
        except hiredis.ProtocolError:
            return out
        if value is False:
            return out
        out.append(value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(st.lists(argvs(), min_size=1, max_size=4), st.booleans(), st.lists(st.integers(0, 1 << 20), max_size=8))
def test_canonical_requests_decode_as_hiredis_does(requests, auth_required, cuts):
    data = b"".join(enc(a) for a in requests)
    parser = RequestParser()
    parser.auth_required = auth_required
    got, err = feed_chunks(parser, data, cuts)
    expected = hiredis_arrays(data)
    assert expected == requests
    if err is None:
        assert got == expected and parser.buffered() == 0
        assert not auth_required or all(len(a) <= P.UNAUTH_MAX_MULTIBULK and
                                        max(map(len, a)) <= P.UNAUTH_MAX_BULK for a in requests)
    else:
        # only the unauthenticated limits may refuse canonical input, and only
        # after the requests that respect them
        assert auth_required and err.message in (P.ERR_UNAUTH_MULTIBULK, P.ERR_UNAUTH_BULK)
        assert got == expected[:len(got)]
        bad = expected[len(got)]
        assert len(bad) > P.UNAUTH_MAX_MULTIBULK or max(map(len, bad)) > P.UNAUTH_MAX_BULK


@st.composite
def mutated_streams(draw):
    data = bytearray(b"".join(enc(a) for a in draw(st.lists(argvs(), min_size=1, max_size=3))))
    for _ in range(draw(st.integers(1, 5))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(("set", "insert", "delete", "number")))
        if op == "set" and pos < len(data):
            data[pos] = draw(st.sampled_from(b"\r\n*$-+0123456789 \x00\"'"))
        elif op == "insert":
            data[pos:pos] = draw(st.sampled_from((b"\r", b"\n", b"\r\n", b"*", b"$", b"-", b"0", b"9",
                                                   b"*1\r\n", b"$-1\r\n", b"PING\r\n", b"\x00")))
        elif op == "delete" and pos < len(data):
            del data[pos:pos + draw(st.integers(1, 4))]
        elif op == "number":
            i = data.find(b"$", pos)
            if i >= 0:
                j = data.find(b"\r", i)
                if j > i:
                    data[i + 1:j] = draw(st.sampled_from((b"-1", b"-2", b"0", b"01", b"+1", b" 1", b"",
                                                          b"2147483648", b"536870913", b"9223372036854775808")))
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(mutated_streams(), st.booleans(), st.lists(st.integers(0, 1 << 20), max_size=6))
def test_mutated_streams_fail_only_with_redis_errors(data, auth_required, cuts):
    outcomes = []
    # whole, cut at random, and byte by byte (small streams only: it is quadratic in Python calls)
    for pieces in ([], cuts, range(1, len(data)) if len(data) < 1024 else range(1, len(data), 97)):
        parser = RequestParser()
        parser.auth_required = auth_required
        got, err = feed_chunks(parser, data, pieces)   # anything but ProtocolError propagates
        if err is not None:
            assert err.message in REDIS_REQUEST_ERRORS or err.message.startswith("ERR Protocol error: expected '$'")
            outcomes.append((got, err.message, err.silent))
        else:
            outcomes.append((got, None, parser.buffered()))
    assert outcomes[1] == outcomes[0] and outcomes[2] == outcomes[0]
    got = outcomes[0][0]
    if got and all(line.startswith(b"*") for line in data.split(b"\n") if line.strip(b"\r")):
        # pure multibulk: what was accepted decodes the same way with hiredis
        decoded = hiredis_arrays(data)[:len(got)]
        accepted = [a for a in decoded if isinstance(a, list) and a and all(type(x) is bytes for x in a)]
        if len(accepted) == len(got):
            assert got == accepted
