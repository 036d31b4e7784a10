"""Unit tests for redislite/commands/strings.py: no network, a task.Clock for time.

Expected replies were taken from a real redis-server 7.0.15 (the same cases are
pinned differentially in tests/compat/test_strings_compat.py); the write
events are the commands Redis 7.0 writes to its AOF for the same input.
"""

import pytest
from twisted.internet import task

from redislite import errors
from redislite.commands import load_all
from redislite.commands.strings import ld_add, ld_format, ld_parse
from redislite.config import Config
from redislite.errors import ReplyError
from redislite.protocol import Client
from redislite.resp.encoder import OK
from redislite.server import Server

load_all()

T0 = 1_700_000_000
T0_MS = T0 * 1000
WRONGTYPE = ReplyError(errors.WRONGTYPE)
SYNTAX = ReplyError(errors.SYNTAX)
NOT_INT = ReplyError(errors.NOT_INTEGER)
NOT_FLOAT = ReplyError(errors.NOT_FLOAT)


def invalid_expire(name):
    return ReplyError("ERR invalid expire time in '%s' command" % name)


class Box:
    """Stands in for a container type (list) to provoke WRONGTYPE."""

    TYPE = "list"

    def memory(self):
        return 64


class Env:
    def __init__(self, shards=None):
        self.clock = task.Clock()
        self.clock.advance(T0)
        self.srv = Server(Config.defaults(), self.clock, shards=shards)
        self.events = []
        self.srv.bus.subscribe(lambda db, argv: self.events.append((db, argv)))
        self.c = Client(self.srv)

    def call(self, *args):
        return self.c.call(*args)

    def ks(self, key, db=0):
        key = key.encode() if isinstance(key, str) else key
        return self.srv.router.shard_for(key).dbs[db]

    def put_list(self, key):
        self.ks(key).set(key.encode(), Box())

    def expire_of(self, key):
        return self.ks(key).get_expire(key.encode())

    def advance(self, seconds):
        self.clock.advance(seconds)
        self.srv.now.refresh()

    def take_events(self):
        out = [argv for _, argv in self.events]
        self.events.clear()
        return out

    def total_mem(self):
        return sum(ks.mem for s in self.srv.shards for ks in s.dbs)


@pytest.fixture
def env():
    return Env()


# --- GET / SET -----------------------------------------------------------------------
def test_get_set_basic(env):
    assert env.call("GET", "k") is None
    assert env.call("SET", "k", "v") == OK
    assert env.call("GET", "k") == b"v"
    assert env.take_events() == [(b"SET", b"k", b"v")]
    env.put_list("l")
    assert env.call("GET", "l") == WRONGTYPE
    assert env.call("SET", "l", "x") == OK  # SET overwrites any type
    assert env.call("GET", "l") == b"x"


@pytest.mark.parametrize("args", [
    ("NX", "XX"), ("XX", "NX"), ("EX", "10", "PX", "10"), ("PX", "1", "EXAT", "1"),
    ("EX",), ("KEEPTTL", "EX", "10"), ("EX", "10", "KEEPTTL"), ("PERSIST",), ("FOO",),
    ("EX", "abc", "FOO"), ("GETX",), ("PXAT", "1", "PX", "1"), ("EXAT", "5", "EX", "5"),
])
def test_set_syntax_errors(env, args):
    assert env.call("SET", "k", "v", *args) == SYNTAX
    assert not env.ks("k").exists(b"k")
    assert env.take_events() == []


def test_set_option_quirks(env):
    # a repeated expiry of the same kind is accepted; the last one wins
    assert env.call("SET", "k", "v", "ex", "10", "EX", "20") == OK
    assert env.expire_of("k") == T0_MS + 20000
    # NX/XX/GET repeat freely; keywords are compared as C strings (NUL ends them)
    assert env.call("SET", "k", "v2", "nx", "NX", "get", "GET") == b"v"
    assert env.call("SET", "k", "v3", b"nx\x00junk") is None
    assert env.call("GET", "k") == b"v"


@pytest.mark.parametrize("value,error", [
    ("0", invalid_expire("set")), ("-1", invalid_expire("set")), ("abc", NOT_INT),
    ("9223372036854775", invalid_expire("set")),       # *1000 + now overflows
    ("9223372036854776", invalid_expire("set")),       # *1000 overflows
    (" 1", NOT_INT), ("1.5", NOT_INT), ("9223372036854775808", NOT_INT),
])
def test_set_ex_invalid(env, value, error):
    assert env.call("SET", "k", "v", "EX", value) == error
    assert env.call("GET", "k") is None


def test_set_px_overflow_and_absolute_limits(env):
    assert env.call("SET", "k", "v", "PX", "9223372036854775807") == invalid_expire("set")
    assert env.call("SET", "k", "v", "PX", "0") == invalid_expire("set")
    assert env.call("SET", "k", "v", "EXAT", "9223372036854775") == OK
    assert env.expire_of("k") == 9223372036854775000
    assert env.call("SET", "k", "v", "PXAT", "9223372036854775807") == OK
    assert env.call("SET", "k", "v", "EXAT", "9223372036854776") == invalid_expire("set")
    assert env.call("SET", "k", "v", "PXAT", "-5") == invalid_expire("set")


def test_set_ex_expires_and_propagates_pxat(env):
    assert env.call("SET", "k", "v", "EX", "10") == OK
    assert env.expire_of("k") == T0_MS + 10000
    assert env.take_events() == [(b"SET", b"k", b"v", b"PXAT", b"%d" % (T0_MS + 10000))]
    env.advance(9.999)
    assert env.call("GET", "k") == b"v"
    env.advance(0.002)
    assert env.call("GET", "k") is None
    assert env.take_events() == [(b"DEL", b"k")]


@pytest.mark.parametrize("opt,arg,when", [
    ("PX", "1500", T0_MS + 1500), ("EXAT", str(T0 + 50), (T0 + 50) * 1000),
    ("PXAT", str(T0_MS + 7), T0_MS + 7)])
def test_set_expire_options(env, opt, arg, when):
    assert env.call("SET", "k", "v", opt, arg) == OK
    assert env.expire_of("k") == when
    assert env.take_events() == [(b"SET", b"k", b"v", b"PXAT", b"%d" % when)]


def test_set_with_expire_drops_nx_xx_from_event(env):
    env.call("SET", "k", "old")
    env.take_events()
    assert env.call("SET", "k", "v", "XX", "GET", "PX", "100") == b"old"
    assert env.take_events() == [(b"SET", b"k", b"v", b"PXAT", b"%d" % (T0_MS + 100))]


def test_set_pxat_in_the_past_stores_an_expired_key(env):
    # Redis 7.0 has no checkAlreadyExpired in SET: the key is written, then lazily expired
    assert env.call("SET", "k", "v", "PXAT", "1") == OK
    assert env.take_events() == [(b"SET", b"k", b"v", b"PXAT", b"1")]
    assert env.call("GET", "k") is None
    assert env.take_events() == [(b"DEL", b"k")]


def test_set_nx_xx(env):
    assert env.call("SET", "k", "v", "XX") is None
    assert env.call("SET", "k", "v", "NX") == OK
    assert env.call("SET", "k", "w", "NX") is None
    assert env.call("SET", "k", "w", "XX") == OK
    assert env.call("GET", "k") == b"w"
    assert env.take_events() == [(b"SET", b"k", b"v", b"NX"), (b"SET", b"k", b"w", b"XX")]


def test_set_get(env):
    assert env.call("SET", "k", "v", "GET") is None
    assert env.call("SET", "k", "w", "GET") == b"v"
    assert env.call("SET", "k", "x", "NX", "GET") == b"w"     # aborted, old value returned
    assert env.call("SET", "n", "x", "XX", "GET") is None     # aborted, nothing there
    assert env.call("GET", "k") == b"w" and env.call("GET", "n") is None
    env.put_list("l")
    assert env.call("SET", "l", "x", "GET") == WRONGTYPE
    assert env.ks("l").lookup_read(b"l").__class__ is Box
    # the GET argument is not propagated
    assert env.take_events() == [(b"SET", b"k", b"v"), (b"SET", b"k", b"w")]


def test_set_error_order(env):
    env.put_list("l")
    assert env.call("SET", "l", "v", "EX", "abc", "GET") == NOT_INT   # expire before GET
    assert env.call("SET", "l", "v", "EX", "0", "GET") == invalid_expire("set")
    assert env.call("SET", "l", "v", "GET", "BAD") == SYNTAX


def test_keepttl(env):
    env.call("SET", "k", "v", "EX", "100")
    assert env.call("SET", "k", "v2", "KEEPTTL") == OK
    assert env.expire_of("k") == T0_MS + 100000
    assert env.call("SET", "k", "v3") == OK
    assert env.expire_of("k") is None
    events = env.take_events()
    assert events[1:] == [(b"SET", b"k", b"v2", b"KEEPTTL"), (b"SET", b"k", b"v3")]


def test_keepttl_on_expired_key_does_not_resurrect_ttl(env):
    env.call("SET", "k", "v", "PX", "10")
    env.advance(1)
    assert env.call("SET", "k", "v2", "KEEPTTL") == OK
    assert env.expire_of("k") is None
    assert env.call("GET", "k") == b"v2"


def test_setnx(env):
    assert env.call("SETNX", "k", "v") == 1
    assert env.call("SETNX", "k", "w") == 0
    env.put_list("l")
    assert env.call("SETNX", "l", "w") == 0
    assert env.take_events() == [(b"SETNX", b"k", b"v")]


def test_setex_psetex(env):
    assert env.call("SETEX", "k", "10", "v") == OK
    assert env.expire_of("k") == T0_MS + 10000
    assert env.call("PSETEX", "p", "1500", "v") == OK
    assert env.expire_of("p") == T0_MS + 1500
    assert env.take_events() == [(b"SET", b"k", b"v", b"PXAT", b"%d" % (T0_MS + 10000)),
                                 (b"SET", b"p", b"v", b"PXAT", b"%d" % (T0_MS + 1500))]
    assert env.call("SETEX", "k", "0", "v") == invalid_expire("setex")
    assert env.call("PSETEX", "k", "-5", "v") == invalid_expire("psetex")
    assert env.call("SETEX", "k", "x", "v") == NOT_INT
    assert env.call("SETEX", "k", "9223372036854776", "v") == invalid_expire("setex")
    env.put_list("l")
    assert env.call("SETEX", "l", "5", "v") == OK
    env.advance(1.6)
    assert env.call("GET", "p") is None
    assert env.call("SETEX", "k") == ReplyError("ERR wrong number of arguments for 'setex' command")


def test_getset(env):
    assert env.call("GETSET", "k", "v") is None
    env.ks("k").set_expire(b"k", T0_MS + 5000)
    assert env.call("GETSET", "k", "w") == b"v"
    assert env.expire_of("k") is None  # GETSET discards the TTL
    env.put_list("l")
    assert env.call("GETSET", "l", "w") == WRONGTYPE
    assert env.take_events() == [(b"SET", b"k", b"v"), (b"SET", b"k", b"w")]


def test_getdel(env):
    env.call("SET", "k", "v")
    env.take_events()
    assert env.call("GETDEL", "k") == b"v"
    assert env.call("GETDEL", "k") is None
    assert env.call("GET", "k") is None
    env.put_list("l")
    assert env.call("GETDEL", "l") == WRONGTYPE
    assert env.take_events() == [(b"DEL", b"k")]


# --- GETEX ---------------------------------------------------------------------------------
def test_getex_options(env):
    env.call("SET", "k", "v")
    env.take_events()
    assert env.call("GETEX", "k") == b"v"
    assert env.call("GETEX", "k", "EX", "100") == b"v"
    assert env.expire_of("k") == T0_MS + 100000
    assert env.call("GETEX", "k", "PX", "100") == b"v"
    assert env.call("GETEX", "k", "EXAT", str(T0 + 60)) == b"v"
    assert env.call("GETEX", "k", "PXAT", str(T0_MS + 61)) == b"v"
    assert env.call("GETEX", "k", "PERSIST") == b"v"
    assert env.expire_of("k") is None
    assert env.call("GETEX", "k", "PERSIST") == b"v"  # nothing to persist: no event
    assert env.take_events() == [
        (b"PEXPIREAT", b"k", b"%d" % (T0_MS + 100000)), (b"PEXPIREAT", b"k", b"%d" % (T0_MS + 100)),
        (b"PEXPIREAT", b"k", b"%d" % ((T0 + 60) * 1000)), (b"PEXPIREAT", b"k", b"%d" % (T0_MS + 61)),
        (b"PERSIST", b"k")]


def test_getex_absolute_past_deletes(env):
    env.call("SET", "k", "v")
    env.take_events()
    assert env.call("GETEX", "k", "EXAT", "1") == b"v"
    assert env.call("GET", "k") is None
    env.call("SET", "k", "v")
    assert env.call("GETEX", "k", "PXAT", str(T0_MS)) == b"v"   # now counts as past
    assert env.call("GET", "k") is None
    assert env.take_events() == [(b"DEL", b"k"), (b"SET", b"k", b"v"), (b"DEL", b"k")]


def test_getex_errors(env):
    assert env.call("GETEX", "nokey", "EX", "-1") is None       # expiry checked only on a hit
    assert env.call("GETEX", "nokey", "EX", "abc") is None
    assert env.call("GETEX", "nokey", "FOO") == SYNTAX
    env.call("SET", "k", "v")
    for args in (("EX", "0"), ("PX", "-1"), ("EXAT", "0"), ("EX", "9223372036854776")):
        assert env.call("GETEX", "k", *args) == invalid_expire("getex")
    assert env.call("GETEX", "k", "EX", "x") == NOT_INT
    for args in (("PERSIST", "EX", "1"), ("EX", "1", "PERSIST"), ("NX",), ("GET",), ("KEEPTTL",),
                 ("EX",), ("EX", "1", "PX", "1")):
        assert env.call("GETEX", "k", *args) == SYNTAX
    env.put_list("l")
    assert env.call("GETEX", "l", "EX", "-1") == WRONGTYPE
    assert env.call("GETEX", "l", "FOO") == SYNTAX


def test_getex_persist_after_set_ex(env):
    env.call("SET", "k", "v", "EX", "10")
    assert env.call("GETEX", "k", "PERSIST") == b"v"
    env.advance(20)
    assert env.call("GET", "k") == b"v"


# --- STRLEN / GETRANGE / SETRANGE / APPEND --------------------------------------------------
def test_strlen(env):
    assert env.call("STRLEN", "k") == 0
    env.call("SET", "k", "hello")
    assert env.call("STRLEN", "k") == 5
    env.put_list("l")
    assert env.call("STRLEN", "l") == WRONGTYPE


@pytest.mark.parametrize("start,end,expected", [
    (0, 3, b"Hell"), (-3, -1, b"rld"), (0, -1, b"Hello World"), (10, 100, b"d"), (5, 3, b""),
    (-1, -5, b""), (-100, -50, b"H"), (-100, 5, b"Hello "), (0, 0, b"H"),
    (-9223372036854775808, 9223372036854775807, b"Hello World"), (11, 11, b""), (100, 200, b""),
    (-5, -100, b"")])
def test_getrange(env, start, end, expected):
    env.call("SET", "s", "Hello World")
    assert env.call("GETRANGE", "s", start, end) == expected
    assert env.call("SUBSTR", "s", start, end) == expected
    env.call("APPEND", "s", "")  # raw (bytearray) storage answers the same
    assert env.call("GETRANGE", "s", start, end) == expected


def test_getrange_edge_cases(env):
    assert env.call("GETRANGE", "nokey", 0, -1) == b""
    assert env.call("GETRANGE", "nokey", "a", 1) == NOT_INT
    assert env.call("GETRANGE", "nokey", 1, "9223372036854775808") == NOT_INT
    env.call("SET", "e", "")
    assert env.call("GETRANGE", "e", 0, -1) == b""
    assert env.call("GETRANGE", "e", 0, 0) == b""
    env.put_list("l")
    assert env.call("GETRANGE", "l", "a", "b") == NOT_INT   # arguments first
    assert env.call("GETRANGE", "l", 0, 1) == WRONGTYPE


def test_setrange(env):
    assert env.call("SETRANGE", "k", 5, "") == 0
    assert not env.ks("k").exists(b"k")
    assert env.call("SETRANGE", "k", 2, "ab") == 4
    assert env.call("GET", "k") == b"\x00\x00ab"
    assert env.call("SETRANGE", "k", 1, "XYZ") == 4
    assert env.call("GET", "k") == b"\x00XYZ"
    assert env.call("SETRANGE", "k", 6, "!") == 7
    assert env.call("GET", "k") == b"\x00XYZ\x00\x00!"
    assert env.call("SETRANGE", "k", 0, "") == 7
    assert env.take_events() == [(b"SETRANGE", b"k", b"2", b"ab"), (b"SETRANGE", b"k", b"1", b"XYZ"),
                                 (b"SETRANGE", b"k", b"6", b"!")]


def test_setrange_errors(env):
    assert env.call("SETRANGE", "k", -1, "x") == ReplyError("ERR offset is out of range")
    assert env.call("SETRANGE", "k", "x", "x") == NOT_INT
    too_long = ReplyError("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    assert env.call("SETRANGE", "k", 536870912, "") == 0
    assert env.call("SETRANGE", "k", 536870912, "x") == too_long
    assert env.call("SETRANGE", "k", 536870911, "xx") == too_long
    assert env.call("SETRANGE", "k", 9223372036854775807, "x") == too_long
    env.call("SET", "k", "abc")
    assert env.call("SETRANGE", "k", 536870911, "") == 3
    assert env.call("SETRANGE", "k", 536870911, "xx") == too_long
    env.put_list("l")
    assert env.call("SETRANGE", "l", 0, "") == WRONGTYPE    # type before the empty check
    assert env.call("SETRANGE", "l", -1, "") == ReplyError("ERR offset is out of range")


def test_setrange_and_append_keep_ttl(env):
    env.call("SET", "k", "abc", "EX", "100")
    env.call("SETRANGE", "k", 1, "Z")
    env.call("APPEND", "k", "d")
    env.call("INCRBYFLOAT", "n", "1")
    assert env.expire_of("k") == T0_MS + 100000
    assert env.call("GET", "k") == b"aZcd"


def test_append(env):
    assert env.call("APPEND", "k", "ab") == 2
    assert env.call("APPEND", "k", "cd") == 4
    assert env.call("APPEND", "k", "") == 4
    assert env.call("GET", "k") == b"abcd"
    assert type(env.ks("k").lookup_read(b"k")) is bytearray
    env.put_list("l")
    assert env.call("APPEND", "l", "x") == WRONGTYPE
    assert env.take_events() == [(b"APPEND", b"k", b"ab"), (b"APPEND", b"k", b"cd")]


def test_append_is_amortised_in_place(env):
    env.call("APPEND", "k", "x")
    env.call("APPEND", "k", "y")
    stored = env.ks("k").lookup_read(b"k")
    for _ in range(1000):
        env.call("APPEND", "k", "z")
    assert env.ks("k").lookup_read(b"k") is stored   # the same buffer grew in place
    assert env.call("STRLEN", "k") == 1002


def test_append_and_setrange_limit(env):
    env.srv.proto_max_bulk_len = 10
    too_long = ReplyError("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    assert env.call("APPEND", "k", "0123456789abc") == 13   # a new key is not checked
    assert env.call("APPEND", "k", "x") == too_long
    env.call("SET", "j", "12345")
    assert env.call("APPEND", "j", "67890") == 10
    assert env.call("APPEND", "j", "1") == too_long
    assert env.call("SETRANGE", "j", 9, "xy") == too_long
    assert env.call("SETRANGE", "j", 8, "xy") == 10


def test_memory_accounting_returns_to_zero(env):
    base = env.total_mem()
    env.call("APPEND", "a", "xyz")
    for i in range(50):
        env.call("APPEND", "a", "0123456789")
    env.call("SETRANGE", "b", 100, "x")
    env.call("SETRANGE", "b", 300, "y")
    env.call("SET", "c", "1")
    env.call("INCRBYFLOAT", "c", "1.5")
    env.call("MSET", "d", "1", "e", "2")
    assert env.total_mem() > base
    for k in ("a", "b", "c", "d", "e"):
        env.call("GETDEL", k)
    assert env.total_mem() == base


# --- counters ------------------------------------------------------------------------------------
def test_incr_decr(env):
    assert env.call("INCR", "n") == 1
    assert env.call("INCRBY", "n", "10") == 11
    assert env.call("DECR", "n") == 10
    assert env.call("DECRBY", "n", "-5") == 15
    assert env.call("GET", "n") == b"15"
    assert env.take_events() == [(b"INCR", b"n"), (b"INCRBY", b"n", b"10"), (b"DECR", b"n"),
                                 (b"DECRBY", b"n", b"-5")]


def test_incr_errors(env):
    overflow = ReplyError("ERR increment or decrement would overflow")
    env.call("SET", "n", "9223372036854775807")
    assert env.call("INCR", "n") == overflow
    assert env.call("INCRBY", "n", "-9223372036854775808") == -1
    env.call("SET", "n", "-9223372036854775808")
    assert env.call("DECR", "n") == overflow
    assert env.call("DECRBY", "n", "1") == overflow
    assert env.call("DECRBY", "n", "-1") == -9223372036854775807
    assert env.call("DECRBY", "n", "-9223372036854775808") == ReplyError("ERR decrement would overflow")
    for bad in ("abc", " 1", "1.0", "+1", "01", "-0", "", "99999999999999999999"):
        env.call("SET", "b", bad)
        assert env.call("INCR", "b") == NOT_INT
        assert env.call("INCRBY", "n", bad) == NOT_INT
    env.put_list("l")
    assert env.call("INCR", "l") == WRONGTYPE
    assert env.call("INCRBY", "l", "x") == NOT_INT        # the increment is parsed first
    env.call("APPEND", "r", "4")
    env.call("APPEND", "r", "2")
    assert env.call("INCR", "r") == 43                    # raw (bytearray) values count too


def test_incr_keeps_ttl(env):
    env.call("SET", "n", "1", "EX", "100")
    env.call("INCR", "n")
    env.call("DECRBY", "n", "3")
    assert env.expire_of("n") == T0_MS + 100000


@pytest.mark.parametrize("start,incr,expected", [
    ("10.5", "0.1", b"10.6"), ("3.0e3", "1", b"3001"), ("5.0e-5", "0", b"0.00005"),
    ("1.1", "2.2", b"3.3"), ("-5", "5", b"0"), ("0", "-0.0000000000000000001", b"0"),
    ("0", "0.000003814697265625", b"0.00000381469726562"),     # %.17Lf ties to even
    ("0", "0x1p-2", b"0.25"), ("0", "0X1P3", b"8"), ("0", ".5", b"0.5"), ("0", "5.", b"5"),
    ("0", "+1", b"1"), ("0", "1E2", b"100"), ("0", "-0", b"0"), ("0", "3.6e-4951", b"0"),
    ("0", "1.7976931348623157e308",
     b"179769313486231569995921046774104434048386446944329178485314420765176628523124396354701"
     b"868608387085564428793419425520689308708363451136055357897278026477617073498977686288394"
     b"835618163294045594434929537447290627480669417384648879122776218333598953852832103282504"
     b"751611691208117720159985926376802466863339536384"),
])
def test_incrbyfloat_formatting(env, start, incr, expected):
    env.call("SET", "f", start)
    assert env.call("INCRBYFLOAT", "f", incr) == expected
    assert env.call("GET", "f") == expected
    assert env.take_events()[-1] == (b"SET", b"f", expected, b"KEEPTTL")


def test_incrbyfloat_huge_values(env):
    big = env.call("INCRBYFLOAT", "f", "1e4000")
    assert len(big) == 4000 and big.startswith(b"99999999999999999999654638") \
        and big.endswith(b"06648276349901340672")
    top = env.call("INCRBYFLOAT", "g", "1.18973149535723176502e+4932")
    assert len(top) == 4933 and top.startswith(b"118973149535723176502126385303")
    # re-parsed from its own 4933-digit text and overflowing to inf on the next add
    assert env.call("INCRBYFLOAT", "g", "1.18973149535723176502e+4932") == \
        ReplyError(errors.INCR_NAN_INF)


def test_incrbyfloat_errors(env):
    nan_inf = ReplyError(errors.INCR_NAN_INF)
    for bad in ("abc", " 1", "1 ", "1e", "0x", "0x1p", ".", "1_0", "nan", "", "1e5000", "1e-5000",
                "1.5e-4951", "1.18973149535723176508e+4932", b"1\x00", b"\x00", "x" * 5200):
        assert env.call("INCRBYFLOAT", "f", bad) == NOT_FLOAT, bad
    assert env.call("INCRBYFLOAT", "f", "inf") == nan_inf
    assert env.call("INCRBYFLOAT", "f", "-Infinity") == nan_inf
    env.call("SET", "i", "inf")
    assert env.call("INCRBYFLOAT", "i", "-inf") == nan_inf
    assert env.call("INCRBYFLOAT", "i", "1") == nan_inf
    env.call("SET", "s", "1.5\x00zz")
    assert env.call("INCRBYFLOAT", "s", "1") == NOT_FLOAT
    env.put_list("l")
    assert env.call("INCRBYFLOAT", "l", "x") == WRONGTYPE   # type first, then the floats
    assert not env.ks("f").exists(b"f")
    assert env.call("INCRBYFLOAT", "z", "0e-5000") == b"0"


def test_long_double_helpers():
    assert ld_parse(b"1") == (1 << 63, -63)
    assert ld_format(ld_add(ld_parse(b"0.1"), ld_parse(b"0.2"))) == b"0.3"
    assert ld_format(ld_parse(b"-2.5")) == b"-2.5"
    assert ld_add(ld_parse(b"inf"), ld_parse(b"1")) is None
    assert ld_parse(b"1e-4940") is not None  # subnormal, still accepted
    assert ld_format(ld_parse(b"-0.000000000000000001")) == b"0"


# --- MGET / MSET / MSETNX ---------------------------------------------------------------------
KEYS = ["a", "b", "c", "d", "e", "f", "g", "h"]


def test_keys_span_shards(env):
    assert len({env.srv.router.shard_for(k.encode()) for k in KEYS}) > 1


def test_mget(env):
    env.call("SET", "a", "1")
    env.call("APPEND", "c", "3")
    env.put_list("d")
    assert env.call("MGET", *KEYS) == [b"1", None, b"3", None, None, None, None, None]
    assert env.call("MGET", "a") == [b"1"]


def test_mset(env):
    assert env.call("MSET", *[x for k in KEYS for x in (k, k.upper())]) == OK
    assert env.call("MGET", *KEYS) == [k.upper().encode() for k in KEYS]
    assert env.take_events() == [(b"MSET",) + tuple(x.encode() for k in KEYS for x in (k, k.upper()))]
    assert env.call("MSET", "a", "1", "b") == ReplyError("ERR wrong number of arguments for 'mset' command")
    assert env.call("MSET", "a") == ReplyError("ERR wrong number of arguments for 'mset' command")
    assert env.call("MSET", "a", "1", "a", "2") == OK
    assert env.call("GET", "a") == b"2"
    env.ks("b").set_expire(b"b", T0_MS + 1000)
    env.put_list("c")
    assert env.call("MSET", "b", "x", "c", "y") == OK     # clears TTL, overwrites any type
    assert env.expire_of("b") is None and env.call("GET", "c") == b"y"


def test_msetnx(env):
    assert env.call("MSETNX", "a", "1", "b", "2") == 1
    assert env.call("MSETNX", "c", "1", "b", "3") == 0
    assert not env.ks("c").exists(b"c")
    assert env.call("GET", "c") is None
    assert env.call("MSETNX", "x", "1", "x", "2") == 1     # the same key twice: last wins
    assert env.call("GET", "x") == b"2"
    env.put_list("l")
    assert env.call("MSETNX", "l", "1", "y", "2") == 0
    assert env.call("MSETNX", "a", "1", "b") == ReplyError(
        "ERR wrong number of arguments for 'msetnx' command")
    assert env.take_events() == [(b"MSETNX", b"a", b"1", b"b", b"2"),
                                 (b"MSETNX", b"x", b"1", b"x", b"2")]


def test_msetnx_sees_expired_keys_as_absent(env):
    env.call("SET", "a", "1", "PX", "10")
    env.advance(1)
    env.take_events()
    assert env.call("MSETNX", "a", "2", "b", "3") == 1
    assert env.take_events() == [(b"DEL", b"a"), (b"MSETNX", b"a", b"2", b"b", b"3")]


def test_single_shard_server():
    env = Env(shards=1)
    assert env.call("MSET", "a", "1", "b", "2") == OK
    assert env.call("MGET", "a", "b", "c") == [b"1", b"2", None]
    assert env.call("MSETNX", "c", "1", "a", "1") == 0


def test_wrong_arity(env):
    for cmd in ("GET", "SETNX", "GETSET", "APPEND", "INCRBY", "GETRANGE", "SETRANGE", "MGET"):
        assert env.call(cmd) == ReplyError("ERR wrong number of arguments for '%s' command" % cmd.lower())
    assert env.call("SET", "k") == ReplyError("ERR wrong number of arguments for 'set' command")
