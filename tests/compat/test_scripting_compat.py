"""Lua scripting and Functions against a real redis-server, byte for byte.

The corpus covers type conversions both ways, errors and their traces, pcall,
the sandbox (escapes that must fail), cjson/cmsgpack/struct/bit, shebang flags,
the script cache, and FUNCTION/FCALL.  Arguments are written with Python-style
escapes (``\\n``) and decoded before sending.  FUNCTION LIST is compared
ignoring library order (Redis lists its dict in hash order).
"""

import codecs
import threading
import time

import pytest

from redislite.testing import RawClient

pytestmark = pytest.mark.compat


def _args(cmd):
    return [codecs.escape_decode(a.encode())[0] for a in cmd]


SCRIPTS = [
    ('flushall',),
    ('eval', 'return type(os)', '0'),
    ('eval', 'return type(io)', '0'),
    ('eval', 'return type(loadfile)', '0'),
    ('eval', 'return type(dofile)', '0'),
    ('eval', 'return type(require)', '0'),
    ('eval', 'return type(print)', '0'),
    ('eval', 'return type(loadstring)', '0'),
    ('eval', 'return type(load)', '0'),
    ('eval', 'return type(debug)', '0'),
    ('eval', 'return type(setfenv)', '0'),
    ('eval', 'return type(getfenv)', '0'),
    ('eval', 'return type(module)', '0'),
    ('eval', 'return type(newproxy)', '0'),
    ('eval', 'return type(gcinfo)', '0'),
    ('eval', 'return type(coroutine)', '0'),
    ('eval', 'return type(package)', '0'),
    ('eval', 'return _VERSION', '0'),
    ('eval', 'return x', '0'),
    ('eval', 'x = 5', '0'),
    ('eval', 'return nosuch()', '0'),
    ('eval', '_G.x = 1', '0'),
    ('eval', "rawset(_G, 'x', 1)", '0'),
    ('eval', 'setmetatable(_G, nil)', '0'),
    ('eval', 'string.len = nil', '0'),
    ('eval', 'math.x = 1', '0'),
    ('eval', 'cjson.x = 1', '0'),
    ('eval', 'redis.x = 1', '0'),
    ('eval', 'redis.call = nil', '0'),
    ('eval', 'return 3.99', '0'),
    ('eval', 'return -3.99', '0'),
    ('eval', "return {1,2,3.5,'a',nil,5}", '0'),
    ('eval', 'return {1,{2,{3,false}},true}', '0'),
    ('eval', 'return true', '0'),
    ('eval', 'return false', '0'),
    ('eval', 'return nil', '0'),
    ('eval', "return {ok='fine'}", '0'),
    ('eval', "return {err='bad thing'}", '0'),
    ('eval', "return {err=''}", '0'),
    ('eval', 'return {ok=5}', '0'),
    ('eval', 'return {err=5}', '0'),
    ('eval', "return redis.error_reply('My Error')", '0'),
    ('eval', "return redis.error_reply('-My Error')", '0'),
    ('eval', "return redis.error_reply('')", '0'),
    ('eval', "return redis.error_reply('Single')", '0'),
    ('eval', "return redis.status_reply('FINE')", '0'),
    ('eval', 'return redis.status_reply(5)', '0'),
    ('eval', 'return {}', '0'),
    ('eval', 'return {a=1}', '0'),
    ('eval', 'return 1e20', '0'),
    ('eval', 'return 0/0', '0'),
    ('eval', 'return 9007199254740993', '0'),
    ('eval', 'return 2^63', '0'),
    ('eval', 'return -(2^63)', '0'),
    ('eval', 'return function() end', '0'),
    ('eval', 'return {function() end, 2}', '0'),
    ('set', 'str', 'v'),
    ('eval', "return redis.call('nosuch')", '0'),
    ('eval', 'return redis.call()', '0'),
    ('eval', "return redis.call('get')", '0'),
    ('eval', "return redis.call('set','k','v','x')", '0'),
    ('eval', "return redis.call('lpush','str','a')", '0'),
    ('eval', "return redis.pcall('lpush','str','a')", '0'),
    ('eval', "return redis.pcall('nosuch')", '0'),
    ('eval', "return {redis.pcall('lpush','str','a')}", '0'),
    ('eval', "error('boom')", '0'),
    ('eval', "error('boom', 0)", '0'),
    ('eval', "error({err='ERR custom'})", '0'),
    ('eval', "error({err='custom'})", '0'),
    ('eval', 'error(5)', '0'),
    ('eval', 'error()', '0'),
    ('eval', "return redis.call('eval','return 1',0)", '0'),
    ('eval', "return redis.call('multi')", '0'),
    ('eval', "return redis.call('blpop','x',0)", '0'),
    ('eval', "return redis.call('get', {})", '0'),
    ('eval', "return redis.call('get', nil)", '0'),
    ('eval', "return redis.call('set', 'a', 1.5)", '0'),
    ('eval', "return redis.call('get', 'a')", '0'),
    ('eval', "return redis.call('set', 'a', true)", '0'),
    ('eval', 'return redis.call(1)', '0'),
    ('eval', "return redis.call('subscribe','x')", '0'),
    ('eval', "return redis.call('ping')", '0'),
    ('eval', "return redis.call('ping','x')", '0'),
    ('eval', "return pcall(redis.call, 'nosuch')", '0'),
    ('eval', "local ok, e = pcall(redis.call, 'nosuch'); return e", '0'),
    ('eval', "local ok, e = pcall(error, 'x'); return e", '0'),
    ('eval', "return redis.sha1hex('')", '0'),
    ('eval', 'return redis.sha1hex()', '0'),
    ('eval', 'return redis.sha1hex(5)', '0'),
    ('eval', 'return redis.breakpoint()', '0'),
    ('eval', 'return redis.setresp(4)', '0'),
    ('eval', 'return redis.setresp()', '0'),
    ('eval', 'return redis.set_repl(redis.REPL_ALL)', '0'),
    ('eval', 'return redis.set_repl(99)', '0'),
    ('eval', 'return redis.replicate_commands()', '0'),
    ('eval', "return redis.log(redis.LOG_WARNING, 'hi')", '0'),
    ('eval', "return redis.log(99, 'hi')", '0'),
    ('eval', 'return redis.log(redis.LOG_WARNING)', '0'),
    ('eval', "return redis.debug('x')", '0'),
    ('eval', 'return redis.REDIS_VERSION', '0'),
    ('eval', 'return redis.REDIS_VERSION_NUM', '0'),
    ('eval', 'local t = {} for k,v in pairs(redis) do t[#t+1]=k end table.sort(t) return t', '0'),
    ('eval', 'local t = {} for k,v in pairs(_G) do t[#t+1]=k end table.sort(t) return t', '0'),
    ('eval', 'return {KEYS[1], ARGV[1], #KEYS, #ARGV}', '1', 'k', 'a', 'b'),
    ('eval', 'return', '0'),
    ('eval', 'return 1, 2', '0'),
    ('eval', "return redis.call('ping'), 5", '0'),
    ('eval', 'return nil, 5', '0'),
    ('eval', 'return 1', '-1'),
    ('eval', 'return 1', '2', 'a'),
    ('eval', 'return 1', 'x'),
    ('eval', 'return'),
    ('eval', 'syntax error here', '0'),
    ('eval', 'return 1 +', '0'),
    ('evalsha', 'ffffffffffffffffffffffffffffffffffffffff', '0'),
    ('evalsha', 'abc', '0'),
    ('eval_ro', "return redis.call('set','a','1')", '0'),
    ('eval_ro', "return redis.pcall('set','a','1')", '0'),
    ('eval', "#!lua flags=no-writes\\nreturn redis.call('set','a','1')", '0'),
    ('eval', "#!lua\\nreturn redis.call('set','a','1')", '0'),
    ('eval', '#!lua flags=bad\\nreturn 1', '0'),
    ('eval', '#!lua name=x\\nreturn 1', '0'),
    ('eval', '#!python\\nreturn 1', '0'),
    ('eval', '#!lua flags=\\nreturn 1', '0'),
    ('eval', '#!lua', '0'),
    ('eval', "#!lua\\nerror('x')", '0'),
    ('eval_ro', '#!lua\\nreturn 1', '0'),
    ('script', 'load', 'return 1'),
    ('script', 'load', 'return +'),
    ('script', 'exists', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', 'ffffffffffffffffffffffffffffffffffffffff', 'E0E1F9FABFC9D4800C877A703B823AC0578FF8DB'),
    ('evalsha', 'E0E1F9FABFC9D4800C877A703B823AC0578FF8DB', '0'),
    ('evalsha', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', '0'),
    ('evalsha', 'E0e1f9fabfc9d4800c877a703b823ac0578ff8db', '1', 'k'),
    ('evalsha', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', '2', 'k'),
    ('evalsha', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', '-1'),
    ('evalsha', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', '01', 'k'),
    ('evalsha', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', 'x'),
    ('evalsha', 'ffffffffffffffffffffffffffffffffffffffff', 'x'),
    ('evalsha', 'abc', 'x'),
    ('evalsha', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8dbff', '0'),
    ('eval', 'return {#KEYS, #ARGV, KEYS[17], ARGV[1]}', '17', *'abcdefghijklmnopq', 'z'),
    ('eval', 'return {#KEYS, #ARGV, KEYS[1], ARGV[2]}', '0', 'a', 'b'),
    ('eval', 'return {#KEYS, #ARGV, KEYS[2], ARGV[1]}', '2', 'a', 'b'),
    ('script', 'flush', 'x'),
    ('script', 'kill'),
    ('script', 'help'),
    ('script', 'foo'),
    ('function', 'kill'),
    ('function', 'stats'),
    ('fcall', 'nosuch', '0'),
    ('eval', 'return math.random(0)', '0'),
    ('eval', 'return math.random(1,2,3)', '0'),
    ('eval', 'math.randomseed(7); return math.random(1000000)', '0'),
    ('eval', 'return redis.nosuch', '0'),
    ('eval', "return tostring(redis.call('get', 'nokey'))", '0'),
    ('eval', "redis.setresp(3); return redis.call('hgetall', 'nokey')", '0'),
    ('eval', 'return {double=3.5}', '0'),
    ('eval', "return {big_number='123'}", '0'),
    ('eval', 'return {map={a=1}}', '0'),
    ('eval', 'return {set={a=true}}', '0'),
    ('eval', 'redis.setresp(3); return true', '0'),
    ('eval', 'redis.setresp(3); return false', '0'),
    ('eval', "return {1, {double=2.5}, 'x'}", '0'),
    ('eval', 'return cjson.encode(0/0)', '0'),
    ('eval', 'return cjson.encode({[1]=1,[2]=2,[4]=4})', '0'),
    ('eval', 'return cjson.encode({[1]=1,[20]=2})', '0'),
    ('eval', 'return cjson.encode({[true]=1})', '0'),
    ('eval', 'return cjson.encode(function() end)', '0'),
    ('eval', 'return cjson.encode(cjson.null)', '0'),
    ('eval', 'return type(cjson.null)', '0'),
    ('eval', "return cjson.decode('[1,2')", '0'),
    ('eval', "return cjson.decode('x')", '0'),
    ('eval', "return cjson.decode('')", '0'),
    ('eval', "return cjson.decode('1.5e3')", '0'),
    ('eval', 'return cjson.encode({[1.5]=1})', '0'),
    ('eval', 'return cjson.encode()', '0'),
    ('eval', 'local t = {} for k in pairs(cjson) do t[#t+1]=k end table.sort(t) return t', '0'),
    ('eval', 'local t = {} for k in pairs(cmsgpack) do t[#t+1]=k end table.sort(t) return t', '0'),
    ('eval', "return cmsgpack.pack({1,2,3}, 'abc', 1.5, 0.1, -1, -200, 70000, 2^40, {a=1}, true, nil, false, {})", '0'),
    ('eval', "return {cmsgpack.unpack(cmsgpack.pack(1, 'x', {1,2}, {a={b=2}}))}", '0'),
    ('eval', "return cmsgpack.unpack('')", '0'),
    ('eval', 'return {bit.tobit(2^32+5), bit.tohex(255), bit.tohex(-1, -4), bit.bnot(0), bit.band(0xff, 0x0f, 0x3), bit.bor(1,2), bit.bxor(3,1), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.bswap(0x12345678), bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-1.5)}', '0'),
    ('eval', "return {struct.pack('>i2', 258), struct.pack('<I4', 1), struct.pack('bB', -1, 255), struct.pack('s', 'ab'), struct.pack('c3', 'abcdef'), struct.size('>i4h'), struct.pack('d', 1.5), struct.pack('f', 1.5), struct.pack('!4 i1 i4', 1, 2)}", '0'),
    ('eval', "return {struct.unpack('>i2', '\\1\\2')}", '0'),
    ('eval', "return struct.pack('y', 1)", '0'),
    ('eval', "return {struct.unpack('>I4', '\\1')}", '0'),
]

FUNCTIONS = [
    ('function', 'flush'),
    ('function', 'load', "#!lua name=mylib\\nredis.register_function('f1', function(keys, args) return {keys, args} end)"),
    ('function', 'load', "#!lua name=mylib\\nredis.register_function('f1', function() return 1 end)"),
    ('function', 'load', 'replace', "#!lua name=mylib2\\nredis.register_function('f1', function() return 1 end)"),
    ('function', 'load', "#!lua name=lib3\\nredis.register_function{function_name='f3', callback=function() return 1 end, flags={'no-writes'}, description='desc'}"),
    ('function', 'list'),
    ('function', 'list', 'withcode'),
    ('function', 'list', 'libraryname', 'my'),
    ('function', 'list', 'libraryname', 'mylib'),
    ('function', 'list', 'libraryname', 'MYLIB'),
    ('function', 'list', 'libraryname'),
    ('function', 'list', 'withcode', 'withcode'),
    ('function', 'list', 'foo'),
    ('fcall', 'f1', '2', 'a', 'b', 'c', 'd'),
    ('fcall', 'f1', '-1'),
    ('fcall', 'f1', '3', 'a'),
    ('fcall', 'f1', 'x'),
    ('fcall_ro', 'f1', '0'),
    ('fcall', 'f3', '0'),
    ('fcall_ro', 'f3', '0'),
    ('function', 'load', "#!lua name=w\\nredis.register_function{function_name='wf', callback=function(keys, args) return redis.call('set', keys[1], args[1]) end, flags={'no-writes'}}"),
    ('fcall', 'wf', '1', 'k', 'v'),
    ('function', 'load', 'return 1'),
    ('function', 'load', '#!lua\\nreturn 1'),
    ('function', 'load', '#!lua name=e1\\nreturn 1'),
    ('function', 'load', "#!lua name=e1\\nredis.register_function('a-b', function() return 1 end)"),
    ('function', 'load', "#!lua name=e1\\nredis.register_function('ok', function() return 1 end, 5)"),
    ('function', 'load', "#!lua name=e1\\nredis.register_function('ok')"),
    ('function', 'load', "#!lua name=e1\\nredis.register_function('ok', 5)"),
    ('function', 'load', "#!lua name=e1\\nredis.register_function('ok', function() end) redis.register_function('ok', function() end)"),
    ('function', 'load', "#!lua name=e1\\nredis.register_function{function_name='x', callback=function() end, flags={'bad'}}"),
    ('function', 'load', "#!lua name=e1\\nredis.register_function{function_name='x', callback=function() end, nosuch=1}"),
    ('function', 'load', '#!lua name=e1\\nredis.register_function{callback=function() end}'),
    ('function', 'load', "#!lua name=e1\\nredis.register_function{function_name='x'}"),
    ('function', 'load', "#!lua name=e1\\nredis.call('ping')"),
    ('function', 'load', '#!lua name=e1\\nreturn +'),
    ('function', 'load', "#!lua name=e1\\nerror('boom')"),
    ('function', 'load', '#!lua name=e1 foo=bar\\nreturn 1'),
    ('function', 'load', '#!lua name=e1\\nlocal x = KEYS'),
    ('function', 'load', '#!lua name=bad-name\\nreturn 1'),
    ('function', 'load', '#!lua name=e1 name=e2\\nreturn 1'),
    ('function', 'load', "#!LUA name=e1\\nredis.register_function('e1f', function() return 1 end)"),
    ('function', 'load', '#!js name=e1\\nreturn 1'),
    ('function', 'load', '#!lua name=e1'),
    ('function', 'load', 'x', 'y', 'z'),
    ('function', 'load', 'replace'),
    ('function', 'load', "#!lua name=p10\\nredis.register_function('x10', function() return foo end)"),
    ('fcall', 'x10', '0'),
    ('function', 'load', "#!lua name=p11\\nredis.register_function('x11', function() error('bad') end)"),
    ('fcall', 'x11', '0'),
    ('function', 'load', "#!lua name=p13\\nredis.register_function('x13', function() local a = 1\\nreturn redis.call('nosuch') end)"),
    ('fcall', 'x13', '0'),
    ('function', 'load', "#!lua name=p9\\nredis.register_function('x9', function() return {type(error), type(KEYS)} end)"),
    ('fcall', 'x9', '0'),
    ('function', 'load', "#!lua name=p14\\nredis.register_function{function_name='x14', callback=function() return 1 end, flags={'no-writes','allow-oom','allow-stale','no-cluster','allow-cross-slot-keys'}}"),
    ('function', 'list', 'libraryname', 'p14'),
    ('function', 'delete', 'nosuch'),
    ('function', 'delete', 'p14'),
    ('function', 'delete'),
    ('function', 'restore', 'xxx'),
    ('function', 'restore', 'xxx', 'badpolicy'),
    ('function', 'stats'),
    ('function', 'flush', 'x'),
    ('function', 'flush', 'async'),
    ('function', 'list'),
    ('function', 'load', "#!lua name=ab\\nredis.register_function('f', function() return 1 end)"),
    ('function', 'dump'),
    ('function', 'help'),
]


def test_script_corpus(pair):
    for cmd in SCRIPTS:
        pair.same(*_args(cmd))


def test_script_corpus_resp3(pair):
    pair.resp3()
    for cmd in SCRIPTS:
        if cmd[:2] == ("eval", "local t = {} for k,v in pairs(_G) do t[#t+1]=k end table.sort(t) return t"):
            continue
        pair.same(*_args(cmd))


def test_functions_corpus(pair):
    for cmd in FUNCTIONS:
        if cmd[:2] == ("function", "list") and len(cmd) < 4:
            pair.same_unordered(*_args(cmd))
        else:
            pair.same(*_args(cmd))


@pytest.mark.parametrize("nkeys,nargs", [(0, 999), (0, 1000), (1, 1000), (600, 600), (2500, 2500)])
def test_many_keys_and_args(pair, nkeys, nargs):
    """KEYS/ARGV are built in Lua up to 1000 values and from Python above."""
    keys = ["k%d" % i for i in range(nkeys)]
    args = ["a%d" % i for i in range(nargs)]
    script = "return {#KEYS, #ARGV, KEYS[1], KEYS[#KEYS], ARGV[1], ARGV[#ARGV], type(KEYS), type(ARGV)}"
    pair.same("EVAL", script, str(nkeys), *keys, *args)
    pair.same("EVAL", "return redis.call('mset', unpack(ARGV)) and #ARGV", "0", *args[:nargs - nargs % 2])


def test_resp3_conversions(pair):
    pair.resp3()
    for script in ("redis.setresp(3); return redis.call('hgetall', 'nokey')",
                   "return {double=3.5}", "return {big_number='123'}", "return {map={a=1}}",
                   "return {set={a=true}}", "redis.setresp(3); return true", "redis.setresp(3); return false",
                   "return true", "return false", "return {verbatim_string={format='txt', string='hi'}}",
                   "redis.setresp(3); return redis.call('get', 'nokey')",
                   "redis.setresp(3); return tostring(redis.call('get', 'nokey'))",
                   "redis.setresp(3); local r = redis.call('incrbyfloat', 'f', '1.5') return r",
                   "redis.setresp(3); return redis.call('config', 'get', 'maxmemory')"):
        pair.same("EVAL", script, "0")


def test_script_key_access_and_db(pair):
    pair.run_script([
        ("SET", "a", "1"),
        ("EVAL", "return redis.call('get', 'a')", "0"),            # undeclared key
        ("EVAL", "redis.call('select', '2'); redis.call('set', 'x', 'y'); return redis.call('get', 'x')", "0"),
        ("GET", "x"),                                                # the caller's db is unchanged
        ("SELECT", "2"), ("GET", "x"), ("SELECT", "0"),
        ("EVAL", "return redis.call('incrbyfloat', KEYS[1], ARGV[1])", "1", "f", "0.1"),
        ("EVAL", "return redis.call('mget', 'a', 'x', 'f')", "0"),
        ("EVAL", "return redis.pcall('incr', 'x')", "0"),
        ("EVAL", "return {redis.call('type', 'a'), redis.call('exists', 'a', 'nope')}", "0"),
    ])


def test_function_dump_cross_restore(pair):
    lib = "#!lua name=x%s\nredis.register_function('f%s', function(k, a) return #a end)"
    pair.same("FUNCTION", "FLUSH")
    pair.same("FUNCTION", "LOAD", lib % ("a", "a"))
    o, s = pair.both("FUNCTION", "DUMP")
    payload_o = o.split(b"\r\n", 1)[1][:-2]
    payload_s = s.split(b"\r\n", 1)[1][:-2]
    assert payload_o == payload_s            # same bytes for a one-library dump
    pair.same("FUNCTION", "RESTORE", payload_s, "FLUSH")
    pair.same("FUNCTION", "RESTORE", payload_o, "REPLACE")
    pair.same("FUNCTION", "RESTORE", payload_o)
    pair.same("FCALL", "fa", "0", "1", "2")
    pair.same("FUNCTION", "RESTORE", payload_o[:-1] + b"\x00")


def _busy(port, script, kill_cmd):
    a, b = RawClient("127.0.0.1", port), RawClient("127.0.0.1", port)
    try:
        assert b.call("CONFIG", "SET", "busy-reply-threshold", "100") == b"+OK\r\n"
        a.send(*script)
        time.sleep(0.05)
        out = [b.call("PING"), b.call("GET", "x"), b.call(*kill_cmd)]
        if out[2].startswith(b"-BUSY"):          # FUNCTION KILL cannot stop an EVAL
            out.append(b.call("SCRIPT", "KILL"))
        out.append(a.read_reply())
        # after a kill, a long script runs normally (the kill hook is gone)
        out.append(a.call("EVAL", "local n = 0 for i = 1, 300000 do n = n + 1 end return n", "0"))
        out.append(b.call("PING"))
        b.call("CONFIG", "SET", "busy-reply-threshold", "5000")
        return out
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("script,kill", [
    (("EVAL", "while true do end", "0"), ("SCRIPT", "KILL")),
    (("EVAL", "local i = 0 while true do i = i + 1 end", "0"), ("FUNCTION", "KILL")),
    (("EVAL", "redis.call('set','x','1') local i = 0 while i < 30000000 do i = i + 1 end return i", "0"),
     ("SCRIPT", "KILL")),
])
def test_busy_and_script_kill(pair, script, kill):
    results = []
    for client in (pair.oracle, pair.subject):
        results.append(_busy(client.port, script, kill))
    o, s = results
    assert o[0] == s[0]                       # BUSY text
    assert o[2] == s[2]                       # kill reply (OK / UNKILLABLE / BUSY)
    assert o[3] == s[3]                       # the script's own reply (or SCRIPT KILL's)
    assert o[-2] == s[-2] == b":300000\r\n"
    assert o[-1] == s[-1] == b"+PONG\r\n"
