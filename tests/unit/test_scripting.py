"""EVAL/EVALSHA/SCRIPT, the Lua sandbox and libraries, FUNCTION/FCALL and
BUSY/SCRIPT KILL, on a unit-level server (task.Clock, no network).

Expected texts come from redis-server 7.0.15 (tests/compat/test_scripting_compat.py
compares the same corpus byte for byte against the real server).
"""

import pytest
from twisted.internet import task

from redislite.commands import functions, load_all
from redislite.config import Config
from redislite.errors import ReplyError
from redislite.protocol import Client
from redislite.resp.encoder import OK, Bool, Double, Map, Raw, Set, Status, encode
from redislite.server import Server

load_all()


@pytest.fixture
def srv():
    clock = task.Clock()
    clock.advance(1_700_000_000)
    return Server(Config.defaults(), clock)


@pytest.fixture
def c(srv):
    return Client(srv)


def ev(c, script, *args):
    return c.call("EVAL", script, len([a for a in args if isinstance(a, tuple)]) or 0, *args)


def run(c, script, numkeys=0, *args):
    return c.call("EVAL", script, numkeys, *args)


def trace(sha_script, line=1):
    import hashlib
    return " script: %s, on @user_script:%d." % (hashlib.sha1(sha_script.encode()).hexdigest(), line)


# -- conversions -------------------------------------------------------------------------
@pytest.mark.parametrize("script,expected", [
    ("return 3.99", 3),
    ("return -3.99", -3),
    ("return 1e20", -(1 << 63)),
    ("return 0/0", -(1 << 63)),
    ("return -(2^63)", -(1 << 63)),
    ("return true", 1),
    ("return false", None),
    ("return nil", None),
    ("return 'x' .. 1", b"x1"),
    ("return {1,2,3.5,'a',nil,5}", [1, 2, 3, b"a"]),
    ("return {1,{2,{3,false}},true}", [1, [2, [3, None]], 1]),
    ("return {}", []),
    ("return {a=1}", []),
    ("return {ok=5}", []),
    ("return function() end", None),
])
def test_lua_to_resp(c, script, expected):
    assert run(c, script) == expected


def test_status_error_and_typed_tables(c):
    assert run(c, "return {ok='fine'}") == Status("fine")
    assert run(c, "return {err='bad thing'}") == ReplyError("bad thing")
    assert encode(run(c, "return {err=''}")) == b"-\r\n"
    assert run(c, "return redis.error_reply('My Error')") == ReplyError("My Error")
    assert run(c, "return redis.error_reply('Single')") == ReplyError("ERR Single")
    assert run(c, "return redis.error_reply('')") == ReplyError("ERR ")
    assert run(c, "return redis.status_reply(5)") == ReplyError("ERR wrong number or type of arguments")
    assert run(c, "return {double=3.5}") == Double(3.5)
    assert encode(run(c, "return {big_number='123'}"), True) == b"(123\r\n"
    assert run(c, "return {map={a=1}}") == Map([(b"a", 1)])
    assert run(c, "return {set={a=true}}") == Set([b"a"])
    assert run(c, "redis.setresp(3); return false") == Bool(False)


def test_redis_reply_to_lua(c):
    c.call("SET", "s", "v")
    c.call("RPUSH", "l", "a", "b") if False else None
    assert run(c, "return tostring(redis.call('get', 'nokey'))") == b"false"
    assert run(c, "redis.setresp(3); return tostring(redis.call('get', 'nokey'))") == b"nil"
    assert run(c, "return redis.call('set', 'a', 1.5)") == OK
    assert c.call("GET", "a") == b"1.5"
    assert run(c, "return redis.call('ping')") == Status("PONG")
    assert run(c, "local r = redis.call('ping'); return r.ok") == b"PONG"
    assert run(c, "return redis.call('set', 'a', 0.1)") == OK
    assert c.call("GET", "a") == b"0.10000000000000001"


def test_keys_and_argv(c):
    assert run(c, "return {KEYS[1], ARGV[1], #KEYS, #ARGV}", 1, "k", "a", "b") == [b"k", b"a", 1, 2]
    assert run(c, "return 1", -1) == ReplyError("ERR Number of keys can't be negative")
    assert run(c, "return 1", 2, "a") == ReplyError("ERR Number of keys can't be greater than number of args")
    assert run(c, "return 1", "x") == ReplyError("ERR value is not an integer or out of range")


# -- errors ----------------------------------------------------------------------------------
def test_script_errors(c):
    c.call("SET", "str", "v")
    s = "return redis.call('nosuch')"
    assert run(c, s) == ReplyError("ERR Unknown Redis command called from script" + trace(s))
    s = "return redis.call('lpush','str','a')"
    if c.call("LPUSH", "str", "x").message.startswith("WRONGTYPE"):
        assert run(c, s) == ReplyError("WRONGTYPE Operation against a key holding the wrong kind of value" + trace(s))
    s = "return redis.call('get')"
    assert run(c, s) == ReplyError("ERR Wrong number of args calling Redis command from script" + trace(s))
    s = "return redis.call('multi')"
    assert run(c, s) == ReplyError("ERR This Redis command is not allowed from script" + trace(s))
    s = "return redis.call('get', {})"
    assert run(c, s) == ReplyError("ERR Lua redis lib command arguments must be strings or integers" + trace(s))
    s = "error('boom')"
    assert run(c, s) == ReplyError("ERR user_script:1: boom" + trace(s))
    s = "\nerror('boom', 0)"
    assert run(c, s) == ReplyError("ERR boom" + trace(s, 2))
    s = "error({err='MYCODE custom'})"
    assert run(c, s) == ReplyError("MYCODE custom" + trace(s))
    assert run(c, "return redis.pcall('nosuch')") == ReplyError("ERR Unknown Redis command called from script")
    assert run(c, "local ok, e = pcall(redis.call, 'nosuch'); return e") == \
        b"ERR Unknown Redis command called from script"
    assert run(c, "syntax error here") == ReplyError(
        "ERR Error compiling script (new function): user_script:1: '=' expected near 'error'")


def test_sandbox(c):
    for name in ("os", "io", "loadfile", "dofile", "require", "print", "debug", "setfenv", "getfenv",
                 "module", "newproxy", "package", "python"):
        s = "return type(%s)" % name
        assert run(c, s) == ReplyError(
            "ERR user_script:1: Script attempted to access nonexistent global variable '%s'%s" % (name, trace(s)))
    for s in ("x = 5", "_G.x = 1", "string.len = nil", "math.x = 1", "cjson.x = 1", "redis.call = nil"):
        assert run(c, s) == ReplyError("ERR user_script:1: Attempt to modify a readonly table" + trace(s))
    for s in ("rawset(_G, 'x', 1)", "setmetatable(_G, nil)"):
        assert run(c, s) == ReplyError("ERR Attempt to modify a readonly table" + trace(s))
    # a chunk from loadstring runs in the sandbox too, and bytecode is refused
    s = "return loadstring('return type(os)')()"
    assert "nonexistent global variable 'os'" in run(c, s).message
    assert run(c, "return loadstring(string.dump(function() end))") is None
    # the string metatable is protected
    assert "readonly" in run(c, "getmetatable('').__index.rep = nil").message
    assert run(c, "return string.rep('a', 3)") == b"aaa"


def test_redis_api_helpers(c):
    assert run(c, "return redis.sha1hex('')") == b"da39a3ee5e6b4b0d3255bfef95601890afd80709"
    assert run(c, "return redis.breakpoint()") is None
    assert run(c, "return redis.replicate_commands()") == 1
    assert run(c, "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}") \
        == [0, 1, 2, 2, 3]
    assert run(c, "return redis.REDIS_VERSION_NUM") == 458767
    assert "RESP version must be 2 or 3." in run(c, "return redis.setresp(4)").message
    assert "Invalid debug level." in run(c, "return redis.log(99, 'x')").message
    assert run(c, "math.randomseed(7); return math.random(1000000)") == 266445   # Redis's value


# -- libraries -------------------------------------------------------------------------------
def test_cjson(c):
    assert run(c, "return cjson.encode({1,2,'a/b', {}, {a=1}, 0.1, 1e20, 3})") == \
        b'[1,2,"a\\/b",{},{"a":1},0.1,1e+20,3]'
    assert run(c, "return cjson.encode({[1]=1,[2]=2,[4]=4})") == b"[1,2,null,4]"
    assert "excessively sparse array" in run(c, "return cjson.encode({[1]=1,[20]=2})").message
    assert run(c, "return cjson.encode(cjson.decode('{\"a\":[1,2,null,{\"b\":true}]}'))") == \
        b'{"a":[1,2,null,{"b":true}]}'
    assert run(c, "return cjson.decode('1.5e3')") == 1500
    assert "Expected value but found invalid token at character 1" in run(c, "return cjson.decode('x')").message


def test_cmsgpack_struct_bit(c):
    assert run(c, "return cmsgpack.pack({1,2,3}, 'abc', 1.5, 0.1, -1, -200, 70000, 2^40, {a=1}, true, nil, false, {})") \
        == (b"\x93\x01\x02\x03\xa3abc\xca?\xc0\x00\x00\xcb?\xb9\x99\x99\x99\x99\x99\x9a\xff\xd1\xff8\xce\x00\x01"
            b"\x11p\xcf\x00\x00\x01\x00\x00\x00\x00\x00\x81\xa1a\x01\xc3\xc0\xc2\x90")
    assert run(c, "return {cmsgpack.unpack(cmsgpack.pack(1, 'x', {1,2}, {a={b=2}}))}") == [1, b"x", [1, 2], []]
    assert run(c, "return {struct.pack('>i2', 258), struct.size('>i4h'), struct.pack('!4 i1 i4', 1, 2)}") == \
        [b"\x01\x02", 6, b"\x01\x00\x00\x00\x02\x00\x00\x00"]
    assert run(c, "return {struct.unpack('s', 'ab\\0cd')}") == [b"ab", 4]
    assert run(c, "return {bit.tobit(2^32+5), bit.tohex(255), bit.tohex(-1, -4), bit.bswap(0x12345678), "
                  "bit.arshift(-256, 4), bit.tobit(2.5)}") == [5, b"000000ff", b"FFFF", 2018915346, -16, 2]


# -- read-only scripts, flags ----------------------------------------------------------------
def test_read_only_and_shebang(c):
    s = "return redis.call('set','a','1')"
    assert c.call("EVAL_RO", s, 0) == ReplyError("ERR Write commands are not allowed from read-only scripts." + trace(s))
    s = "#!lua flags=no-writes\nreturn redis.call('set','a','1')"
    assert c.call("EVAL", s, 0) == ReplyError("ERR Write commands are not allowed from read-only scripts." + trace(s, 2))
    assert c.call("EVAL_RO", "#!lua\nreturn 1", 0) == \
        ReplyError("ERR Can not execute a script with write flag using *_ro command.")
    assert c.call("EVAL", "#!lua flags=bad\nreturn 1", 0) == ReplyError("ERR Unexpected flag in script shebang: bad")
    assert c.call("EVAL", "#!lua name=x\nreturn 1", 0) == ReplyError("ERR Unknown lua shebang option: name=x")
    assert c.call("EVAL", "#!python\nreturn 1", 0) == ReplyError("ERR Unexpected engine in script shebang: #!python")
    assert c.call("EVAL", "#!lua", 0) == ReplyError("ERR Invalid script shebang")


def test_script_cache(c):
    sha = c.call("SCRIPT", "LOAD", "return 1")
    assert sha == b"e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
    assert c.call("EVALSHA", sha.upper(), 0) == 1
    assert c.call("SCRIPT", "EXISTS", sha, "f" * 40, sha.upper()) == [1, 0, 1]
    assert c.call("EVALSHA", "abc", 0) == ReplyError("NOSCRIPT No matching script. Please use EVAL.")
    assert c.call("SCRIPT", "FLUSH", "x") == ReplyError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    assert c.call("SCRIPT", "FLUSH", "ASYNC") == OK
    assert c.call("EVALSHA", sha, 0) == ReplyError("NOSCRIPT No matching script. Please use EVAL.")
    assert c.call("SCRIPT", "KILL") == ReplyError("NOTBUSY No scripts in execution right now.")


# -- propagation ---------------------------------------------------------------------------------
def test_script_effects_propagate_as_commands(srv, c):
    events = []
    srv.bus.subscribe(lambda db, argv: events.append(argv))
    run(c, "redis.call('set','x','1')")
    assert events == [(b"SET", b"x", b"1")]
    events.clear()
    run(c, "redis.call('set','x','1'); redis.call('set','y','2')")
    assert events == [(b"MULTI",), (b"SET", b"x", b"1"), (b"SET", b"y", b"2"), (b"EXEC",)]
    events.clear()
    run(c, "redis.set_repl(redis.REPL_NONE); redis.call('set','nr','1'); redis.set_repl(redis.REPL_ALL); "
           "redis.call('set','r','1')")
    assert events == [(b"SET", b"r", b"1")]
    events.clear()
    run(c, "return redis.call('get','x')")
    assert events == []


def test_script_inside_exec_is_one_block(srv, c):
    events = []
    srv.bus.subscribe(lambda db, argv: events.append(argv))
    c.call("MULTI")
    c.call("EVAL", "redis.call('set','x','1')", 0)
    c.call("SET", "y", "2")
    c.call("EXEC")
    assert events == [(b"MULTI",), (b"SET", b"x", b"1"), (b"SET", b"y", b"2"), (b"EXEC",)]


# -- BUSY and SCRIPT KILL --------------------------------------------------------------------------
def _busy_setup(srv, c, script_kill_from=None):
    from redislite.commands.scripting import eval_engine
    engine = eval_engine(srv)
    other = Client(srv)
    seen = []
    t = [0.0]

    def clock():
        t[0] += 10.0                                  # every look at the clock: 10 s pass
        return t[0]
    engine.clock = clock

    def pump(timeout):
        seen.append(other.call("PING"))
        seen.append(other.call("SCRIPT", "KILL"))
    engine.pump = pump
    return engine, other, seen


def test_busy_reply_and_script_kill(srv, c):
    engine, other, seen = _busy_setup(srv, c)
    s = "local i = 0 while true do i = i + 1 end"
    reply = run(c, s)
    assert reply == ReplyError("ERR Script killed by user with SCRIPT KILL..." + trace(s))
    assert seen[0] == ReplyError("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
    assert seen[1] == OK
    assert srv.busy_error is None
    assert run(c, "return 1") == 1


def test_script_that_wrote_is_unkillable(srv, c):
    engine, other, seen = _busy_setup(srv, c)
    s = "redis.call('set','x','1') local i = 0 while i < 300000 do i = i + 1 end return i"
    assert run(c, s) == 300000
    assert seen[1].message.startswith("UNKILLABLE Sorry the script already executed write commands")
    assert c.call("GET", "x") == b"1"


def test_pcall_cannot_swallow_kill(srv, c):
    _busy_setup(srv, c)
    s = "local f = function() while true do end end\nwhile true do pcall(f) end"
    assert run(c, s).message.startswith("ERR Script killed by user with SCRIPT KILL...")


# -- functions -----------------------------------------------------------------------------------------
LIB = ("#!lua name=mylib\n"
       "redis.register_function('echo', function(keys, args) return {keys, args} end)\n"
       "redis.register_function{function_name='ro', callback=function(keys, args) "
       "return redis.call('set', keys[1], args[1]) end, flags={'no-writes'}, description='d'}")


def test_function_load_call_list(c):
    assert c.call("FUNCTION", "LOAD", LIB) == b"mylib"
    assert c.call("FUNCTION", "LOAD", LIB) == ReplyError("ERR Library 'mylib' already exists")
    assert c.call("FUNCTION", "LOAD", "REPLACE", LIB) == b"mylib"
    assert c.call("FCALL", "echo", 2, "a", "b", "c") == [[b"a", b"b"], [b"c"]]
    assert c.call("FCALL", "ro", 1, "k", "v") == ReplyError(
        "ERR Write commands are not allowed from read-only scripts. script: ro, on @user_function:3.")
    assert c.call("FCALL_RO", "echo", 0) == ReplyError("ERR Can not execute a script with write flag using *_ro command.")
    assert c.call("FCALL", "nope", 0) == ReplyError("ERR Function not found")
    assert c.call("FCALL", "echo", "x") == ReplyError("ERR Bad number of keys provided")
    lst = c.call("FUNCTION", "LIST", "WITHCODE")
    assert lst[0][0] == (b"library_name", b"mylib")
    assert lst[0][3] == (b"library_code", LIB.encode())
    assert c.call("FUNCTION", "LIST", "LIBRARYNAME", "MY*")[0][0][1] == b"mylib"
    assert c.call("FUNCTION", "LIST", "LIBRARYNAME", "x*") == []
    assert c.call("FUNCTION", "LOAD", "#!lua name=other\nredis.register_function('echo', function() end)") == \
        ReplyError("ERR Function echo already exists")


def test_function_load_errors(c):
    cases = {
        "return 1": "ERR Missing library metadata",
        "#!lua\nreturn 1": "ERR Library name was not given",
        "#!lua name=e1\nreturn 1": "ERR No functions registered",
        "#!lua name=e1 foo=bar\nreturn 1": "ERR Invalid metadata value given: foo=bar",
        "#!lua name=bad-name\nreturn 1": "ERR Library names can only contain letters, numbers, or underscores(_) "
                                         "and must be at least one character long",
        "#!lua name=e1\nreturn +": "ERR Error compiling function: user_function:2: unexpected symbol near '+'",
        "#!lua name=e1\nredis.call('ping')": "ERR Error registering functions: ERR user_function:2: Script attempted "
                                             "to access nonexistent global variable 'call'",
        "#!lua name=e1\nredis.register_function('ok', 5)": "ERR Error registering functions: ERR second argument to "
                                                           "redis.register_function must be a function",
        "#!lua name=e1\nredis.register_function{function_name='x', callback=function() end, flags={'bad'}}":
            "ERR Error registering functions: ERR unknown flag given",
    }
    for code, text in cases.items():
        assert c.call("FUNCTION", "LOAD", code) == ReplyError(text), code


def test_function_dump_restore_roundtrip(srv, c):
    c.call("FUNCTION", "LOAD", LIB)
    payload = c.call("FUNCTION", "DUMP")
    assert payload.startswith(b"\xf5") and payload[-10:-8] == b"\x0a\x00"
    assert c.call("FUNCTION", "RESTORE", payload) == ReplyError("ERR Library mylib already exists")
    assert c.call("FUNCTION", "RESTORE", payload, "REPLACE") == OK
    assert c.call("FUNCTION", "FLUSH") == OK
    assert c.call("FUNCTION", "RESTORE", payload) == OK
    assert c.call("FCALL", "echo", 0, "x") == [[], [b"x"]]
    assert c.call("FUNCTION", "RESTORE", payload[:-1] + b"\x00") == \
        ReplyError("ERR DUMP payload version or checksum are wrong")
    assert c.call("FUNCTION", "RESTORE", payload, "nope") == \
        ReplyError("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    # persistence API
    codes = functions.dump_libraries(srv)
    assert codes == [LIB.encode()]
    srv2 = Server(Config.defaults(), srv.reactor)
    assert functions.load_libraries(srv2, codes) == [b"mylib"]
    assert Client(srv2).call("FCALL", "echo", 0) == [[], []]


def test_function_stats(c):
    c.call("FUNCTION", "LOAD", LIB)
    stats = c.call("FUNCTION", "STATS")
    assert stats[0] == (b"running_script", None)
    assert stats[1][1] == Map([(b"LUA", Map([(b"libraries_count", 1), (b"functions_count", 2)]))])
    assert c.call("FUNCTION", "KILL") == ReplyError("NOTBUSY No scripts in execution right now.")
    assert c.call("FUNCTION", "DELETE", "nope") == ReplyError("ERR Library not found")
    assert c.call("FUNCTION", "DELETE", "mylib") == OK
    assert c.call("FCALL", "echo", 0) == ReplyError("ERR Function not found")


def test_raw_reply_conversion(c):
    # COMMAND INFO returns pre-encoded bytes (Raw): scripts still get a table
    assert run(c, "return type(redis.call('command', 'info', 'get'))") == b"table"
    assert isinstance(Raw(b"+OK\r\n"), Raw)
