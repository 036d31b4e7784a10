"""redis.call / redis.pcall refusals and KEYS/ARGV building against a real redis-server.

Guards the fast paths of redislite/lua (a command name checked once is
remembered; the refusal gates are read only when ``server.gated`` is up;
KEYS/ARGV and FCALL's keys/args are built in Lua): every refusal in
scriptCall's order, the same name in other cases and called twice, and the
key/argument shapes each path builds, byte for byte.
"""

import pytest

pytestmark = pytest.mark.compat

CALLS = [
    "return redis.call('INCR', KEYS[1])",
    "return redis.call('InCr', KEYS[1])",
    "return redis.call('incr', KEYS[1])",
    "return redis.call('incrby', KEYS[1], 5)",
    "return redis.call('incrby', KEYS[1], 5.5)",
    "return redis.call('set', KEYS[1] .. 'f', 3.25)",
    "return redis.call('get', KEYS[1] .. 'f')",
    "return redis.call('incr')",
    "return redis.pcall('incr')",
    "return redis.call('incr', 'a', 'b')",
    "return redis.pcall('incr', 'a', 'b')",
    "return redis.call('multi')",
    "return redis.pcall('multi')",
    "return redis.call('nosuch', 'x')",
    "return redis.pcall('nosuch', 'x')",
    "return redis.call()",
    "return redis.pcall()",
    "return redis.call('get', {})",
    "return redis.pcall('get', true)",
    "return redis.call(1)",
    "return redis.call('config')",
    "return redis.call('config', 'get', 'maxmemory')",
    "return redis.call('config', 'nosuch')",
    "return redis.pcall('config', 'nosuch')",
    "return redis.call('object')",
    "return redis.call('script', 'kill')",
    "return redis.call('eval', 'return 1', '0')",
    "return redis.call('lpush', KEYS[1], 'a')",
    "return redis.pcall('lpush', KEYS[1], 'a')",
    "redis.pcall('lpush', KEYS[1], 'a') return redis.call('incr', KEYS[1])",
    "return redis.call('hset', KEYS[1] .. 'h', 'f', 'v')",
    "redis.setresp(3) return redis.call('hgetall', KEYS[1] .. 'h')",
    "redis.set_repl(redis.REPL_NONE) return redis.call('incr', KEYS[1])",
]


def test_call_checks(pair):
    for script in CALLS:
        pair.same("EVAL", script, "1", "k1")
    for script in ("return redis.call('set', 'x', '1')", "return redis.pcall('set', 'x', '1')",
                   "return redis.call('get', 'x')"):
        pair.same("EVAL_RO", script, "0")
        pair.same("EVAL", "#!lua flags=no-writes\n" + script, "0")


def test_oom_refusals(pair):
    pair.same("SET", "big", "x" * 100000)
    pair.both("CONFIG", "SET", "maxmemory", "1")
    try:
        for script in ("return redis.call('set', 'x', '1')", "return redis.pcall('set', 'x', '1')",
                       "return redis.call('get', 'x')", "return redis.call('del', 'big')",
                       "redis.pcall('get', 'x') return redis.pcall('set', 'x', '1')",
                       "#!lua flags=allow-oom\nreturn redis.call('set', 'x', '1')"):
            pair.same("EVAL", script, "0")
    finally:
        pair.both("CONFIG", "SET", "maxmemory", "0")


@pytest.mark.parametrize("nkeys,nargs", [(0, 0), (0, 2), (1, 0), (1, 1), (1, 3), (2, 0), (2, 1), (3, 2), (1, 1500)])
def test_keys_argv_shapes(pair, nkeys, nargs):
    keys = ["k%d" % i for i in range(nkeys)]
    args = ["a%d" % i for i in range(nargs)]
    pair.same("EVAL", "return {#KEYS, #ARGV, KEYS[1], KEYS[#KEYS], ARGV[1], ARGV[#ARGV]}",
              str(nkeys), *keys, *args)
    pair.same("EVAL", "KEYS[#KEYS + 1] = 'z' ARGV[#ARGV + 1] = 'q' return {#KEYS, #ARGV}", str(nkeys), *keys, *args)


LIB = """#!lua name=shapes
redis.register_function('shape', function(keys, args)
  return {#keys, #args, keys[1], keys[2], args[1], args[2], keys[#keys], args[#args]}
end)
redis.register_function('inc', function(keys, args) return redis.call('INCR', keys[1]) end)
redis.register_function('boom', function(keys, args) error('bad ' .. tostring(keys[1])) end)
redis.register_function('mut', function(keys, args) keys[1] = 'z' args[3] = 'q' return {keys[1], args[3], #args} end)
redis.register_function{function_name='ro', callback=function() return redis.call('set', 'x', '1') end,
                        flags={'no-writes'}}
"""


def test_fcall_shapes(pair):
    pair.same("FUNCTION", "LOAD", LIB)
    try:
        for nkeys, nargs in ((0, 0), (0, 2), (1, 1), (1, 3), (2, 0), (2, 1), (3, 2), (1, 1500), (1100, 100)):
            keys = ["k%d" % i for i in range(nkeys)]
            args = ["a%d" % i for i in range(nargs)]
            pair.same("FCALL", "shape", str(nkeys), *keys, *args)
        for call in (("FCALL", "inc", "1", "k1"), ("FCALL_RO", "inc", "1", "k1"), ("FCALL", "boom", "1", "k1"),
                     ("FCALL", "mut", "1", "a", "b"), ("FCALL", "mut", "1", "a", "b"), ("FCALL", "ro", "0"),
                     ("FCALL_RO", "ro", "0"), ("FCALL", "shape", "2", "a")):
            pair.same(*call)
    finally:
        pair.both("FUNCTION", "FLUSH")
