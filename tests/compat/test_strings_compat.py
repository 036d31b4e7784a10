"""Differential tests of the string family against a real redis-server 7.0.

Every reply is compared byte for byte, in RESP2 and RESP3.  Where time passes
between the two servers (TTLs) the values are compared with a 1-unit tolerance.
"""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from tests.compat.differential import DifferentialMachine, decode, keys, small_ints, values

pytestmark = pytest.mark.compat


@pytest.fixture(params=["resp2", "resp3"])
def p(pair, request):
    if request.param == "resp3":
        pair.resp3()
    return pair


def run(p, *commands):
    for cmd in commands:
        p.same(*cmd)


def nonstring(p, key):
    """Make *key* hold a list on both sides."""
    p.same("RPUSH", key, "x")


def close(p, *cmd, tolerance=1):
    """Compare an integer reply (TTL/PTTL) allowing for the time between the two calls."""
    o, s = p.both(*cmd)
    do, ds = decode(o), decode(s)
    assert isinstance(do, int) and isinstance(ds, int), (o, s)
    assert abs(do - ds) <= tolerance, (cmd, o, s)
    return do


# --- SET and its options ----------------------------------------------------------------------
def test_set_get_basic(p):
    run(p, ("GET", "k"), ("SET", "k", "v"), ("GET", "k"), ("SET", "k", ""), ("GET", "k"),
        ("SET", "k", b"\x00\xff\r\n"), ("GET", "k"), ("set", "K", "v"), ("gEt", "K"))


SET_OPTION_CASES = [
    ("NX", "XX"), ("XX", "NX"), ("nx", "nx"), ("xx", "XX"), ("EX", "10", "PX", "10"),
    ("PX", "1", "EXAT", "1"), ("EX",), ("PX",), ("KEEPTTL", "EX", "10"), ("EX", "10", "KEEPTTL"),
    ("PERSIST",), ("FOO",), ("EX", "abc", "FOO"), ("GETX",), ("PXAT", "1", "PX", "1"),
    ("EXAT", "5", "EX", "5"), ("EX", "10", "EX", "20"), ("ex", "0"), ("EX", "-1"), ("EX", "abc"),
    ("EX", " 1"), ("EX", "1.5"), ("EX", "9223372036854775"), ("EX", "9223372036854776"),
    ("EX", "9223372036854775808"), ("PX", "9223372036854775807"), ("PX", "0"),
    ("PXAT", "-5"), ("EXAT", "9223372036854776"), ("KEEPTTL", "KEEPTTL"), ("keepttl", "xx"),
    ("GET", "GET"), ("NX", "GET"), ("XX", "GET"), ("GET", "BAD"), ("nx\x00junk",), ("N",),
    ("NXX",), ("EX", "10", "GET", "EX", "20"),
]


@pytest.mark.parametrize("options", SET_OPTION_CASES, ids=lambda o: " ".join(o))
def test_set_options(p, options):
    run(p, ("SET", "k", "v", *options), ("GET", "k"),
        ("SET", "k", "w", *options), ("GET", "k"))


def test_set_nx_xx_get(p):
    run(p, ("SET", "k", "v", "XX"), ("SET", "k", "v", "NX"), ("SET", "k", "w", "NX"),
        ("SET", "k", "w", "XX"), ("GET", "k"), ("SET", "k", "x", "GET"), ("SET", "n", "x", "XX", "GET"),
        ("SET", "k", "y", "NX", "GET"), ("GET", "k"), ("GET", "n"), ("SET", "k", "z", "get", "get"))


def test_set_expire_ttls(p):
    run(p, ("SET", "a", "v", "EX", "100"), ("SET", "b", "v", "PX", "100000"),
        ("SET", "c", "v", "EXAT", "4102444800"), ("SET", "d", "v", "PXAT", "4102444800000"))
    for k in ("a", "b", "c", "d"):
        close(p, "TTL", k)
    run(p, ("SET", "a", "v2", "KEEPTTL"), ("GET", "a"))
    close(p, "TTL", "a")
    run(p, ("SET", "a", "v3"), ("TTL", "a"), ("SET", "b", "x", "XX", "KEEPTTL", "GET"))
    close(p, "TTL", "b")


def test_set_absolute_time_in_the_past(p):
    run(p, ("SET", "k", "v", "PXAT", "1"), ("GET", "k"), ("SET", "k", "v", "EXAT", "1", "GET"),
        ("GET", "k"), ("DBSIZE",))


def test_set_wrongtype(p):
    nonstring(p, "l")
    run(p, ("SET", "l", "v", "GET"), ("SET", "l", "v", "NX", "GET"), ("SET", "l", "v", "EX", "0", "GET"),
        ("SET", "l", "v", "EX", "abc", "GET"), ("GET", "l"), ("SET", "l", "v", "XX"), ("GET", "l"))


def test_setnx_setex_psetex(p):
    run(p, ("SETNX", "k", "v"), ("SETNX", "k", "w"), ("GET", "k"),
        ("SETEX", "e", "100", "v"), ("PSETEX", "p", "100000", "v"), ("GET", "e"), ("GET", "p"),
        ("SETEX", "e", "0", "v"), ("SETEX", "e", "-1", "v"), ("SETEX", "e", "x", "v"),
        ("SETEX", "e", "9223372036854776", "v"), ("PSETEX", "e", "0", "v"),
        ("PSETEX", "e", "9223372036854775807", "v"), ("PSETEX", "e", "1.5", "v"))
    close(p, "TTL", "e")
    close(p, "PTTL", "p", tolerance=200)


def test_getset_getdel(p):
    run(p, ("GETSET", "k", "v"), ("GETSET", "k", "w"), ("GET", "k"),
        ("SET", "t", "v", "EX", "100"), ("GETSET", "t", "w"), ("TTL", "t"),
        ("GETDEL", "k"), ("GETDEL", "k"), ("GET", "k"), ("DBSIZE",))


def test_getset_getdel_wrongtype(p):
    nonstring(p, "l")
    run(p, ("GETSET", "l", "v"), ("GETDEL", "l"), ("SETNX", "l", "v"), ("SETEX", "l", "10", "v"),
        ("GET", "l"))


# --- GETEX -----------------------------------------------------------------------------------
def test_getex(p):
    run(p, ("GETEX", "nokey"), ("GETEX", "nokey", "EX", "-1"), ("GETEX", "nokey", "EX", "abc"),
        ("GETEX", "nokey", "FOO"), ("SET", "k", "v"), ("GETEX", "k"), ("TTL", "k"),
        ("GETEX", "k", "EX", "100"))
    close(p, "TTL", "k")
    run(p, ("GETEX", "k", "PX", "200000"))
    close(p, "TTL", "k")
    run(p, ("GETEX", "k", "EXAT", "4102444800"), ("GET", "k"))
    close(p, "TTL", "k")
    run(p, ("GETEX", "k", "PXAT", "4102444800000"), ("GETEX", "k", "PERSIST"), ("TTL", "k"),
        ("GETEX", "k", "persist"), ("GETEX", "k", "EXAT", "1"), ("GET", "k"), ("SET", "k", "v"),
        ("GETEX", "k", "PXAT", "1000"), ("GET", "k"), ("DBSIZE",))


@pytest.mark.parametrize("options", [
    ("EX", "0"), ("PX", "-1"), ("EXAT", "0"), ("PXAT", "-1"), ("EX", "9223372036854776"),
    ("PX", "9223372036854775807"), ("EX", "x"), ("PERSIST", "EX", "1"), ("EX", "1", "PERSIST"),
    ("NX",), ("GET",), ("KEEPTTL",), ("EX",), ("EX", "1", "PX", "1"), ("ex", "10", "EX", "20"),
    ("PERSIST", "PERSIST"), ("persist\x00x",)], ids=lambda o: " ".join(o))
def test_getex_options(p, options):
    run(p, ("SET", "k", "v"), ("GETEX", "k", *options), ("GET", "k"))
    close(p, "TTL", "k")


def test_getex_wrongtype(p):
    nonstring(p, "l")
    run(p, ("GETEX", "l"), ("GETEX", "l", "EX", "-1"), ("GETEX", "l", "FOO"), ("GETEX", "l", "PERSIST"))


# --- lengths, ranges, APPEND ---------------------------------------------------------------------
GETRANGE_CASES = [
    (0, 3), (-3, -1), (0, -1), (10, 100), (5, 3), (-1, -5), (-100, -50), (-100, 5), (0, 0),
    (-9223372036854775808, 9223372036854775807), (11, 11), (100, 200), (-5, -100), ("x", 1),
    (1, "9223372036854775808"), (" 1", 2), ("-0", 1), (-1, -1), (-11, -11), (-12, -12),
]


def test_getrange(p):
    run(p, ("SET", "s", "Hello World"), ("SET", "e", ""), ("SET", "i", "12345"))
    for start, end in GETRANGE_CASES:
        for key in ("s", "e", "i", "nokey"):
            p.same("GETRANGE", key, start, end)
        p.same("SUBSTR", "s", start, end)


def test_setrange(p):
    run(p, ("SETRANGE", "k", 5, ""), ("EXISTS", "k"), ("SETRANGE", "k", -1, "x"), ("SETRANGE", "k", "x", "x"),
        ("SETRANGE", "k", 536870912, ""), ("SETRANGE", "k", 536870912, "x"), ("SETRANGE", "k", 536870911, "xx"),
        ("SETRANGE", "k", 9223372036854775807, "x"), ("SETRANGE", "k", "9223372036854775808", "x"),
        ("SETRANGE", "k", 2, "ab"), ("GET", "k"), ("SETRANGE", "k", 1, "XYZ"), ("GET", "k"),
        ("SETRANGE", "k", 6, "!"), ("GET", "k"), ("SETRANGE", "k", 0, ""), ("SETRANGE", "k", 536870911, ""),
        ("SETRANGE", "k", 536870911, "xx"), ("SET", "i", "12"), ("SETRANGE", "i", 0, ""),
        ("SETRANGE", "i", 1, "9"), ("GET", "i"), ("INCR", "i"), ("STRLEN", "k"))


def test_append_strlen(p):
    run(p, ("STRLEN", "k"), ("APPEND", "k", "ab"), ("APPEND", "k", "cd"), ("APPEND", "k", ""),
        ("GET", "k"), ("STRLEN", "k"), ("APPEND", "e", ""), ("EXISTS", "e"), ("STRLEN", "e"),
        ("SET", "n", "12"), ("APPEND", "n", "3"), ("INCR", "n"), ("GET", "n"),
        ("SET", "t", "v", "EX", "100"), ("APPEND", "t", "w"), ("SETRANGE", "t", 0, "x"), ("GET", "t"))
    close(p, "TTL", "t")


def test_ranges_and_append_wrongtype(p):
    nonstring(p, "l")
    run(p, ("GETRANGE", "l", "a", "b"), ("GETRANGE", "l", 0, 1), ("SETRANGE", "l", 0, ""),
        ("SETRANGE", "l", -1, ""), ("SETRANGE", "l", 0, "x"), ("APPEND", "l", "x"), ("STRLEN", "l"))


# --- counters ----------------------------------------------------------------------------------
def test_incr_decr(p):
    run(p, ("INCR", "n"), ("INCRBY", "n", "10"), ("DECR", "n"), ("DECRBY", "n", "-5"), ("GET", "n"),
        ("SET", "n", "9223372036854775807"), ("INCR", "n"), ("INCRBY", "n", "-9223372036854775808"),
        ("SET", "n", "-9223372036854775808"), ("DECR", "n"), ("DECRBY", "n", "1"), ("DECRBY", "n", "-1"),
        ("DECRBY", "n", "-9223372036854775808"), ("DECRBY", "x", "-9223372036854775808"),
        ("INCRBY", "n", "9223372036854775808"), ("SET", "t", "1", "EX", "100"), ("INCR", "t"))
    close(p, "TTL", "t")


@pytest.mark.parametrize("bad", ["abc", " 1", "1 ", "1.0", "+1", "01", "-0", "", "99999999999999999999",
                                 "1e3", "0x10", "\x001"])
def test_incr_not_integer(p, bad):
    run(p, ("SET", "b", bad), ("INCR", "b"), ("DECR", "b"), ("INCRBY", "b", "1"), ("INCRBY", "n", bad),
        ("DECRBY", "n", bad))


def test_counters_wrongtype(p):
    nonstring(p, "l")
    run(p, ("INCR", "l"), ("INCRBY", "l", "x"), ("DECRBY", "l", "1"), ("INCRBYFLOAT", "l", "x"),
        ("INCRBYFLOAT", "l", "1"))


INCRBYFLOAT_CASES = [
    ("10.5", "0.1"), ("3.0e3", "1"), ("5.0e-5", "0"), ("0", "1e308"), ("0", "1e4000"), ("1.1", "2.2"),
    ("0", "0.000003814697265625"), ("0", "0.000003814697265635"), ("0", "-0.0000000000000000001"),
    ("0", "0x1p-2"), ("0", "1.18973149535723176502e+4932"), ("0", "1.18973149535723176508e+4932"),
    ("0", "1.7976931348623157e308"), ("-5", "5"), ("0", ".5"), ("0", "5."), ("0", "."), ("0", "+1"),
    ("0", " 1"), ("0", "1 "), ("0", "1e"), ("0", "0x"), ("0", "0x1p"), ("0", "infinity"), ("0", "1_0"),
    ("0", "-0"), ("0", "1E2"), ("0", "0X1P3"), ("0", "1.5e-4951"), ("0", "3.6e-4951"), ("0", "1.9e-4951"),
    ("0", "1e-4940"), ("0", "1e5000"), ("0", "1e-5000"), ("0", "0e-5000"), ("inf", "-inf"), ("inf", "1"),
    ("0", "inf"), ("0", "nan"), ("0", "NaN(123)"), ("1.5\x00zz", "1"), ("\x00", "1"), ("1", "1\x00"),
    ("0", "1" * 5119), ("0", "1" * 5120), ("0", "0." + "0" * 5000 + "1"), ("0.1", "0.2"),
    ("1e4932", "1e4932"), ("-1e4932", "-1e4932"), ("123456789012345678901234567890", "0.5"),
    ("0", "0x1.fffffffffffffffep16383"), ("0", "0x1p16384"), ("0", "0x1p-16445"), ("0", "0x1p-16446"),
    ("0", "0x1.8p-16446"), ("0", "1e0000000000000000000000000001"), ("0", "1e-99999999999999999999"),
]


@pytest.mark.parametrize("start,incr", INCRBYFLOAT_CASES, ids=lambda x: x[:30])
def test_incrbyfloat(p, start, incr):
    run(p, ("SET", "f", start), ("INCRBYFLOAT", "f", incr), ("GET", "f"), ("INCRBYFLOAT", "new", incr))


def test_incrbyfloat_keeps_ttl(p):
    run(p, ("SET", "f", "1", "EX", "100"), ("INCRBYFLOAT", "f", "0.5"))
    close(p, "TTL", "f")


_decimals = st.builds(
    lambda sign, ip, fp, exp: "%s%s%s%s" % (sign, ip, "." + fp if fp is not None else "",
                                              "e%d" % exp if exp is not None else ""),
    st.sampled_from(["", "-", "+"]), st.integers(0, 10 ** 25).map(str),
    st.none() | st.text("0123456789", max_size=25), st.none() | st.integers(-4960, 4940))
_float_text = _decimals | st.floats(allow_nan=False).map(repr) | st.binary(max_size=6).map(
    lambda b: b.decode("latin-1"))


def test_incrbyfloat_fuzz(pair):
    """Random decimal/hex-free inputs: parsing, long double rounding and %.17Lf printing."""
    @settings(max_examples=300, deadline=None, database=None)
    @given(_float_text, _float_text)
    def check(start, incr):
        pair.same("SET", "f", start.encode("latin-1"))
        pair.same("INCRBYFLOAT", "f", incr.encode("latin-1"))
        pair.same("INCRBYFLOAT", "f", "0.1")

    check()


# --- MGET / MSET / MSETNX --------------------------------------------------------------------------
KEYS = ["a", "b", "c", "d", "e", "f", "{t}a", "{t}b"]


def test_mget_mset(p):
    run(p, ("MGET", *KEYS), ("MSET", *[x for k in KEYS for x in (k, k.upper())]), ("MGET", *KEYS),
        ("MSET", "a"), ("MSET", "a", "1", "b"), ("MSET", "a", "1", "a", "2"), ("GET", "a"),
        ("SET", "b", "v", "EX", "100"), ("MSET", "b", "x"), ("TTL", "b"), ("MGET", "a", "a", "zz"),
        ("DBSIZE",))


def test_msetnx(p):
    run(p, ("MSETNX", "a", "1", "b", "2"), ("MSETNX", "c", "1", "b", "3"), ("EXISTS", "c"),
        ("MSETNX", "x", "1", "x", "2"), ("GET", "x"), ("MSETNX", "a", "1", "b"), ("MSETNX", "a"),
        ("SET", "t", "v", "PXAT", "1"), ("MSETNX", "t", "1", "u", "2"), ("MGET", "t", "u"), ("DBSIZE",))


def test_mget_mset_wrongtype(p):
    nonstring(p, "l")
    run(p, ("MGET", "l", "a", "l"), ("MSETNX", "l", "1", "y", "2"), ("MSET", "l", "1"), ("GET", "l"))


# --- arity --------------------------------------------------------------------------------------
ARITY = {
    "GET": 2, "SET": -3, "SETNX": 3, "SETEX": 4, "PSETEX": 4, "GETSET": 3, "GETDEL": 2, "GETEX": -2,
    "MGET": -2, "MSET": -3, "MSETNX": -3, "APPEND": 3, "STRLEN": 2, "INCR": 2, "DECR": 2, "INCRBY": 3,
    "DECRBY": 3, "INCRBYFLOAT": 3, "GETRANGE": 4, "SUBSTR": 4, "SETRANGE": 4,
}


@pytest.mark.parametrize("name", sorted(ARITY))
def test_wrong_arity(p, name):
    arity = ARITY[name]
    p.same(name)
    if arity > 0:
        p.same(name, *["x"] * arity)  # one too many
    if abs(arity) > 2:
        p.same(name, "k")


# --- stateful fuzzing ----------------------------------------------------------------------------
ttl_secs = st.sampled_from([b"100", b"1000", b"0", b"-1", b"x"])
set_options = st.lists(st.sampled_from([
    [b"NX"], [b"XX"], [b"GET"], [b"KEEPTTL"], [b"EX", b"100"], [b"PX", b"100000"], [b"EX", b"0"],
    [b"EXAT", b"4102444800"], [b"PXAT", b"4102444800000"], [b"nx"], [b"get"], [b"EX"], [b"BAD"]]),
    max_size=3).map(lambda opts: [x for o in opts for x in o])
getex_options = st.sampled_from([[], [b"PERSIST"], [b"EX", b"100"], [b"PX", b"100000"], [b"EXAT", b"1"],
                                 [b"PXAT", b"4102444800000"], [b"EX", b"-1"], [b"PERSIST", b"EX", b"1"]])
offsets = st.sampled_from([b"0", b"1", b"3", b"7", b"-1", b"x", b"536870912"])
indexes = st.sampled_from([b"0", b"1", b"-1", b"-3", b"2", b"100", b"-100", b"x"])


class StringMachine(DifferentialMachine):
    @rule(k=keys, v=values, opts=set_options)
    def set(self, k, v, opts):
        self.pair.same("SET", k, v, *opts)

    @rule(k=keys)
    def get(self, k):
        self.pair.same("GET", k)

    @rule(k=keys, v=values)
    def setnx(self, k, v):
        self.pair.same("SETNX", k, v)

    @rule(k=keys, t=ttl_secs, v=values, ms=st.booleans())
    def setex(self, k, t, v, ms):
        self.pair.same("PSETEX" if ms else "SETEX", k, t + b"000" if ms and t[:1].isdigit() else t, v)

    @rule(k=keys, v=values)
    def getset(self, k, v):
        self.pair.same("GETSET", k, v)

    @rule(k=keys)
    def getdel(self, k):
        self.pair.same("GETDEL", k)

    @rule(k=keys, opts=getex_options)
    def getex(self, k, opts):
        self.pair.same("GETEX", k, *opts)

    @rule(ks=st.lists(keys, min_size=1, max_size=4))
    def mget(self, ks):
        self.pair.same("MGET", *ks)

    @rule(kvs=st.lists(st.tuples(keys, values), min_size=1, max_size=3), nx=st.booleans())
    def mset(self, kvs, nx):
        self.pair.same("MSETNX" if nx else "MSET", *[x for kv in kvs for x in kv])

    @rule(k=keys, v=values)
    def append(self, k, v):
        self.pair.same("APPEND", k, v)

    @rule(k=keys)
    def strlen(self, k):
        self.pair.same("STRLEN", k)

    @rule(k=keys, name=st.sampled_from(["INCR", "DECR"]))
    def incr(self, k, name):
        self.pair.same(name, k)

    @rule(k=keys, n=small_ints | values, name=st.sampled_from(["INCRBY", "DECRBY"]))
    def incrby(self, k, n, name):
        self.pair.same(name, k, n)

    @rule(k=keys, n=values | st.sampled_from([b"0.1", b"-2.5e3", b"1e-20", b"0x10", b"inf"]))
    def incrbyfloat(self, k, n):
        self.pair.same("INCRBYFLOAT", k, n)

    @rule(k=keys, a=indexes, b=indexes)
    def getrange(self, k, a, b):
        self.pair.same("GETRANGE", k, a, b)

    @rule(k=keys, off=offsets, v=values)
    def setrange(self, k, off, v):
        self.pair.same("SETRANGE", k, off, v)

    @rule(k=keys)
    def ttl(self, k):
        close(self.pair, "TTL", k)

    #: set by the tests: whether RedisLite has lists yet (issue #3), for WRONGTYPE mixing
    lists = False

    @precondition(lambda self: self.lists)
    @rule(k=keys)
    def rpush(self, k):
        self.pair.same("RPUSH", k, "x")


def has_lists(pair):
    o, s = pair.both("RPUSH", "probe-list", "x")
    pair.both("DEL", "probe-list")
    return not s.startswith(b"-ERR unknown command")


def test_string_machine(pair):
    StringMachine.lists = has_lists(pair)
    StringMachine.run(pair, settings=settings(max_examples=40, stateful_step_count=25, deadline=None))


def test_string_machine_resp3(pair):
    class Resp3Machine(StringMachine):
        lists = has_lists(pair)

        def __init__(self, p):
            super().__init__(p)
            p.resp3()

    Resp3Machine.run(pair, settings=settings(max_examples=15, stateful_step_count=20, deadline=None))
