"""DEBUG and MODULE, the commands Redis 7.0 protects with enable-debug-command
and enable-module-command, against real redis-servers started with the same
setting: refused with Redis's text in Redis's order (after the arity check,
before AUTH and MULTI queueing) when not allowed, and answered as Redis
answers when allowed (``yes``, or ``local`` from a loopback client).
"""

import os
import tempfile
import time

import pytest

from redislite.testing import RawClient, ServerProcess
from tests.compat.differential import Pair, require_redis_server

pytestmark = pytest.mark.compat


def _servers(setting):
    require_redis_server()
    oracle = ServerProcess("redis", args=("--enable-debug-command", setting,
                                          "--enable-module-command", setting))
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    conf.write("enable-debug-command %s\nenable-module-command %s\n" % (setting, setting))
    conf.close()
    subject = ServerProcess("redislite", args=("--config", conf.name))
    oracle.start()
    try:
        subject.start()
    except Exception:
        oracle.stop()
        raise
    return oracle, subject, conf.name


@pytest.fixture(scope="module", params=["no", "yes", "local"])
def protected_pair(request):
    oracle, subject, conf = _servers(request.param)
    try:
        yield request.param, oracle, subject
    finally:
        for s in (oracle, subject):
            s.stop()
            s.cleanup()
        os.unlink(conf)


@pytest.fixture
def pp(protected_pair):
    setting, oracle, subject = protected_pair
    p = Pair.connect(oracle, subject)
    p.reset()
    try:
        yield setting, p
    finally:
        p.close()


COMMANDS = [
    ("DEBUG",), ("debug", "help"), ("DEBUG", "HELP", "x"), ("DEBUG", "nosuch"),
    ("DEBUG", "OBJECT", "nokey"), ("DEBUG", "ERROR", "some text"), ("DEBUG", "ERROR", "-CODE x"),
    ("DEBUG", "LOG", "from the compat suite"), ("DEBUG", "SET-ACTIVE-EXPIRE", "1"),
    ("MODULE",), ("MODULE", "HELP"), ("MODULE", "LIST"), ("module", "list", "x"), ("MODULE", "nosuch"),
    ("MODULE", "LOAD", "/nonexistent/module.so"), ("MODULE", "LOAD"),
    ("MODULE", "LOADEX", "/nonexistent/module.so", "ARGS", "a"), ("MODULE", "UNLOAD", "nosuch"),
]


def test_replies_match_for_each_setting(pp):
    setting, p = pp
    for cmd in COMMANDS:
        if setting != "no" and cmd[:2] in (("debug", "help"),):
            continue            # RedisLite's DEBUG HELP lists only the subcommands it has
        p.same(*cmd)


def test_refused_before_auth_and_inside_multi(pp):
    setting, p = pp
    p.same("MULTI")
    p.same("DEBUG", "OBJECT", "k")
    p.same("MODULE", "LOAD", "/x.so")
    p.same("MODULE", "LIST")
    p.same("EXEC")
    p.same("CONFIG", "SET", "requirepass", "secret")
    try:
        fresh = Pair(RawClient(p.oracle.host, p.oracle.port), RawClient(p.subject.host, p.subject.port))
        try:
            fresh.same("DEBUG", "OBJECT", "k")      # protected refusal first, or NOAUTH when allowed
            fresh.same("MODULE", "LOAD", "/x.so")
            fresh.same("MODULE", "LIST")
        finally:
            fresh.close()
    finally:
        p.same("CONFIG", "SET", "requirepass", "")


def test_debug_object_and_set_active_expire_when_allowed(pp):
    setting, p = pp
    if setting == "no":
        pytest.skip("refused")
    p.same("SET", "k", "v")
    o, s = p.both("DEBUG", "OBJECT", "k")
    assert o[:1] == s[:1] == b"+"
    fields = lambda line: [f.split(b":")[0] for f in line.split()[2:]]
    assert fields(o) == fields(s)
    p.same("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    p.same("SET", "t", "v", "PX", "1")
    time.sleep(0.3)
    p.same("DBSIZE")                    # not expired in the background...
    p.same("GET", "t")                  # ...but on access
    p.same("DEBUG", "SET-ACTIVE-EXPIRE", "1")
