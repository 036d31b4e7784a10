"""The Lua engine behind EVAL and FCALL: lupa on Lua 5.1, as Redis embeds.

One :class:`Engine` per server and purpose (EVAL scripts, FUNCTION
libraries), each with its own Lua state, as Redis keeps two.  The installed
lupa ships ``lupa.lua51`` (Lua 5.1.5), which is what we use; the sandbox
(sandbox.py) rebuilds Redis's read-only globals on stock 5.1.

**Running a script.**  ``redis.call`` goes through a dedicated Lua client
(``Client(kind="lua")``, ``no_block``) with Redis's script checks first
(scriptCall: arity, noscript, read-only, OOM) and the normal
``client.execute`` after, so every command keeps its one implementation.
Replies cross into Lua with Redis's RESP2/RESP3 -> Lua rules and the script's
result comes back with the Lua -> RESP rules (floats truncated, false -> nil,
``ok``/``err``/``double``/``map``... tables, arrays stopping at the first nil).
The writes of a script reach the event bus in one hold/release bracket, so
more than one is wrapped in MULTI/EXEC as Redis 7.0 propagates them.

**BUSY (busy-reply-threshold / lua-time-limit).**  A Lua call blocks the
reactor thread, so nothing else could answer BUSY.  We do what Redis does
(``processEventsWhileBlocked``): a count hook fires every 100k Lua
instructions; past the threshold it sets ``server.busy_error`` and runs one
non-blocking reactor poll (``reactor.doIteration(0)``) re-entrantly.  That
reads sockets and runs other clients' commands, which the protocol's BUSY gate
refuses except ``allow_busy`` ones (SCRIPT KILL, FUNCTION KILL/STATS, MULTI,
AUTH...).  Timers are not run (the poll does not call ``runUntilCurrent``), so
expire cycles and blocked-client timeouts pause, and the caller's own later
commands are queued (its ``_pending``) and resumed after the script, as Redis
protects the caller.  The gate is lifted between polls so the script's own
commands pass.  SCRIPT KILL sets a flag the next hook turns into an error
raised on every line (pcall cannot swallow it); a script that has written is
UNKILLABLE.  With a reactor without ``doIteration`` (task.Clock in unit
tests) ``Engine.pump`` can be injected.
"""

import hashlib
import math
import time

import lupa.lua51 as _lua

from .. import errors
from ..errors import ReplyError
from ..resp.encoder import (Bool, Double, Map, NullArray, Push, Raw, Set, Status, Verbatim,
                            encode, format_double)
from ..commands import registry as _registry
from .libs import Libs
from .sandbox import BOOT

_COMMANDS = _registry.COMMANDS
#: command names as scripts send them -> spec, for the specs that pass scriptCall's
#: static checks (known, a handler, not a container, not noscript); see Engine._call
_SCRIPT_SPECS = {}
_LLONG_MIN = -(1 << 63)
_LLONG_END = 1 << 63        # one past LLONG_MAX
#: above this many KEYS + ARGV, an EVAL builds its tables from Python (Lua's C stack
#: holds at most LUAI_MAXCSTACK = 8000 values per call)
_MAX_CALL_ARGS = 1000
_lua_type = _lua.lua_type
_LuaError = _lua.LuaError
BUSY_EVAL = ReplyError("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
BUSY_FUNCTION = ReplyError("BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.")
HOOK_INSTRUCTIONS = 100000
REDIS_VERSION = "7.0.15"
REDIS_VERSION_NUM = 0x07000F

_E_UNKNOWN = "Unknown Redis command called from script"
_E_ARITY = "Wrong number of args calling Redis command from script"
_E_NOSCRIPT = "This Redis command is not allowed from script"
_E_ARGS = "Lua redis lib command arguments must be strings or integers"
_E_NOARGS = "Please specify at least one argument for this redis lib call"
_E_READONLY = "Write commands are not allowed from read-only scripts."


def _to_argv(args):
    """Lua arguments of redis.call & co. as argv bytes (numbers as %.17g), None if one is
    neither a string nor a number."""
    argv = list(args)
    for i, a in enumerate(argv):
        t = type(a)
        if t is not bytes:
            if t is int or t is float:
                argv[i] = b"%.17g" % a
            else:
                return None
    return argv


class LuaRaise(Exception):
    """Raised by a Python callable to raise a Lua error: an error *table*
    (``{err=...}``), or a *message* that gets the user's position prefixed (as
    luaL_error).  Lua sees it as a userdata that the error handler unwraps.
    ``bare=True``: a message raised without a position, as a C function's
    ``luaG_runerror`` (the read-only table error)."""

    def __init__(self, table=None, message=None, bare=False):
        Exception.__init__(self, message)
        self.table = table
        self.message = message
        self.bare = bare


def _deny_attributes(obj, name, is_setting):
    """No Python attribute is ever reachable from Lua."""
    raise AttributeError(name)


class _Api:
    """The Lua-side helper functions, fetched once."""

    def __init__(self, table):
        for key in ("new_eval_env", "new_function_env", "compile", "run", "run_function", "run_function_tables",
                    "run_load", "reset_hook", "error_table", "is_function", "is_table", "is_null", "lua_is_number",
                    "to_number", "tostring", "objlen", "c_name", "c_where"):
            setattr(self, key, table[key.encode()])
        self.ERRMARK = table[b"ERRMARK"]
        self.null = table[b"null"]


class ScriptRun:
    """The state of one running script or function (Redis's scriptRunCtx)."""

    __slots__ = ("engine", "caller", "name", "is_eval", "read_only", "allow_oom", "oom", "wrote",
                 "killed", "start", "resp3", "timed_out", "protected", "argv", "repl")

    def __init__(self, engine):
        self.engine = engine        # every other field is set by Engine.run


class _Rand48:
    """Redis's rand48 (rand.c): one sequence per server shared by every script, as
    Redis keeps one global state (not reseeded per script in 7.0).  Its initial
    state after startup is not seed 0 in Redis, so only reseeded sequences
    (math.randomseed) match Redis value for value."""

    __slots__ = ("x",)
    A, C, M = 0x5DEECE66D, 0xB, (1 << 48) - 1

    def __init__(self):
        self.seed(0)

    def seed(self, s):
        s &= 0xFFFFFFFF
        self.x = ((s & 0xFFFF) << 16 | (s >> 16) << 32 | 0x330E) & self.M

    def random(self):
        self.x = (self.A * self.x + self.C) & self.M
        r = self.x >> 17
        return (r % 2147483647) / 2147483647.0


class Engine:
    def __init__(self, server, kind="eval", register=None):
        self.server = server
        self.kind = kind
        self.clock = time.monotonic
        self.pump = getattr(server.reactor, "doIteration", None)
        self.run_ctx = None
        rand = getattr(server, "lua_rand", None)
        if rand is None:
            rand = server.lua_rand = _Rand48()
        self.rand = rand
        self.runtime = rt = _lua.LuaRuntime(encoding=None, register_eval=False, register_builtins=False,
                                            unpack_returned_tuples=True, attribute_filter=_deny_attributes)
        rt.globals()[b"python"] = None
        self.libs = Libs(self)
        callables = {
            "call": self._call, "pcall": self._call_pcall, "sha1hex": self._sha1hex, "log": self._log,
            "setresp": self._setresp, "set_repl": self._set_repl, "acl_check": self._acl_check,
            "random": self._random, "randomseed": self._randomseed, "tick": self._tick,
            "unwrap": self._unwrap, "make_c": self._make_c, "make_cf": self._make_cf,
            "version": REDIS_VERSION.encode(), "version_num": REDIS_VERSION_NUM,
        }
        if register is not None:
            callables["register"] = self._wrap_register(register)
        callables.update(self.libs.callables())
        lua_globals = rt.globals()
        boot = lua_globals[b"loadstring"](BOOT.encode(), b"=redislite")
        self.api = _Api(boot(rt.table_from({k.encode(): v for k, v in callables.items()})))
        # The sandbox keeps its own reference to the debug library.  Without a global
        # one lupa calls into Lua with no message handler (it looks up debug.traceback
        # on every call otherwise): errors are caught in Lua (errh) anyway.
        lua_globals[b"debug"] = None
        self.table = rt.table
        self.table_from = rt.table_from
        if kind == "eval":
            self.G, self.env, self._run_eval = self.api.new_eval_env()
            self.set_mode = None
        else:
            self.env, self.set_mode = self.api.new_function_env(callables["register"])
            self.G = self._run_eval = None
        from ..protocol import Client
        self.lua_client = Client(server, kind="lua")
        self.lua_client.no_block = True
        self.lua_client.no_evict = True

    # -- compiling and running ------------------------------------------------------
    _spare = None       # the ScriptRun of the last finished run (see run)

    def compile(self, code, chunkname):
        """A Lua function for *code* with the sandbox env, or raise ReplyError(text) on a syntax error."""
        fn, err = self.api.compile(code, chunkname, self.env)
        if fn is None:
            return None, (err or b"").decode("utf-8", "surrogateescape")
        return fn, None

    def run(self, caller, name, is_eval, read_only, allow_oom, argv, fn, nkeys):
        """Run *fn* for *caller*; the first *nkeys* of ``argv[3:]`` are the keys, the
        rest the arguments (EVAL/EVALSHA/FCALL argv).  Returns the reply value.

        Redis's scriptPrepareForRun, the call and scriptResetRun in one method (a
        Python call costs about as much as a GET).  The run's state is the engine's
        last ScriptRun, reset: runs of one engine never overlap (a busy script
        refuses other scripts, scripts cannot call scripts), and a run is handed
        back only once it has ended.  The Lua client takes the caller's db and
        user, and RESP2.

        An EVAL or FCALL with a usual number of arguments is one call into Lua
        (``run_eval`` / ``run_function`` build KEYS and ARGV there); a huge one
        builds the two tables from Python, since a Lua call takes at most a few
        thousand arguments (the C stack limit).
        """
        run = self._spare
        if run is None:
            run = ScriptRun(self)
        else:
            self._spare = None
        run.caller = caller
        run.name = name
        run.is_eval = is_eval
        run.read_only = read_only
        run.allow_oom = allow_oom
        run.oom = False
        run.wrote = False
        run.killed = False
        run.start = self.clock()
        run.resp3 = False
        run.timed_out = False
        run.protected = False
        run.argv = argv
        run.repl = 3
        c = self.lua_client
        c.db = caller.db
        c.user = caller.user
        c.acl_user = None       # the caller's ACL user is checked in _call (scriptVerifyACL)
        c.script_caller = caller    # server.script_caller (SORT's BY/GET ACL check)
        c.resp3 = False
        c.authenticated = True
        values = argv[3:]
        server = self.server
        if server.maxmemory:
            run.oom = not server.make_room()
        bus = server.bus
        run_eval = self._run_eval
        huge = len(values) > _MAX_CALL_ARGS
        if huge and run_eval is not None:
            G = self.G
            G[b"KEYS"] = self.table_from(values[:nkeys])
            G[b"ARGV"] = self.table_from(values[nkeys:])
            run_eval = None
        self.run_ctx = run
        server.lua_run = run
        muted = bus.muted
        bus.hold()
        try:
            if run_eval is not None:
                ok, result = run_eval(fn, nkeys, *values)
            elif self.G is not None:
                ok, result = self.api.run(fn)
            elif huge:
                ok, result = self.api.run_function_tables(fn, self.table_from(values[:nkeys]),
                                                          self.table_from(values[nkeys:]))
            else:
                ok, result = self.api.run_function(fn, nkeys, *values)
            if ok:
                t = type(result)
                if t is bytes:
                    return result
                if t is int:
                    return result if _LLONG_MIN <= result < _LLONG_END else _LLONG_MIN
                return self.from_lua(result, run.resp3)
            return self.error_reply(result, run.name)
        except _LuaError as e:  # pragma: no cover - defensive: errors are caught in Lua
            return ReplyError("ERR Error running script %s, %.100s" % (run.name, e))
        finally:
            if run.killed:
                self.api.reset_hook()
            bus.muted = muted
            bus.release()
            self.run_ctx = None
            server.lua_run = None
            self._spare = run
            if server.gated and server.busy_error is not None:
                server.busy_error = None
            if run.protected:
                caller = run.caller
                if caller._pending:
                    server.reactor.callLater(0, caller._resume)
                else:
                    caller._pending = None

    def error_reply(self, err, name):
        """The reply for a failed run: ``-<err> script: <name>, on <source>:<line>.``"""
        if _lua_type(err) != "table":
            return ReplyError("ERR Error running script %s, %.100s" % (name, _text(err)))
        try:
            msg = err[b"err"]
        except _LuaError:
            msg = None
        if msg is None or isinstance(msg, bool) or _lua_type(msg) is not None:
            return ReplyError("ERR Error running script %s, unknown error" % name)
        text = _text(msg)
        source, line = err[b"source"], err[b"line"]
        if source is not None and line:
            text += " script: %s, on %s:%d." % (name, _text(source), int(line))
        return ReplyError(text)

    def load_error_text(self, err):
        """The message of an error table from a load-time run (no trace)."""
        if _lua_type(err) == "table":
            msg = err[b"err"]
            if msg is not None:
                return _text(msg)
        return "ERR " + _text(err)

    # -- Python callbacks --------------------------------------------------------------
    def _error_table(self, message):
        """luaPushErrorBuff("-" + message)."""
        return self.api.error_table(b"-" + message.encode("utf-8", "surrogateescape"))

    def _fail(self, raise_error, text):
        return self._failed(raise_error, self.api.error_table(text.encode()))

    @staticmethod
    def _failed(raise_error, table):
        """A refused or failed redis.call raises the error table; redis.pcall returns it."""
        if raise_error:
            raise LuaRaise(table)
        return table

    def _raise(self, text):
        raise LuaRaise(self.api.error_table(text.encode()))

    def _call_pcall(self, *args):
        return self._call(*args, raise_error=False)

    def _unwrap(self, e):
        if isinstance(e, LuaRaise):
            return e.table, e.message, e.bare
        return None, ("Error running script: %r" % (e,)).encode(), False

    def _make_c(self, fn):
        """A Python trampoline (a C function to Lua) around a Lua function that
        returns ``nil, message`` on error."""
        def call(*args):
            r = fn(*args)
            if type(r) is tuple and len(r) == 2 and r[0] is None:
                raise self.c_error(r[1])
            return r
        return call

    def c_error(self, message):
        """luaL_error from a C function (a Python callable): the message gets
        its caller's position now, as luaL_where(L, 1) does, so it is right
        under pcall too."""
        return LuaRaise(message=self.api.c_where() + message, bare=True)

    def _make_cf(self, fn):
        """A Python trampoline (a C function to Lua) around a Lua function that
        returns ``"ok", results...``, ``"err", message`` (raised with the user's
        position) or ``"bare", message`` (raised without one)."""
        def call(*args):
            r = fn(*args)
            status = r[0]
            if status == b"ok":
                return r[1:]
            if status == b"bare":
                raise LuaRaise(message=r[1], bare=True)
            raise self.c_error(r[1])
        return call

    def _wrap_register(self, register):
        def call(*args):
            r = register(*args)
            if r[0] is False:
                raise LuaRaise(self.api.error_table(r[1]))
        return call

    def _sha1hex(self, *args):
        if len(args) != 1:
            self._raise("wrong number of arguments")
        s = args[0]
        if type(s) in (int, float):
            s = self.api.tostring(s)
        elif type(s) is not bytes:
            s = b""
        return _sha1hex(s)

    def _random(self, *args):
        r = self.rand.random()
        n = len(args)
        if n == 0:
            return r
        if n > 2:
            raise LuaRaise(message=b"wrong number of arguments")
        lo = 1
        if n == 1:
            hi = self._checkint(args[0], 1, "random")
            if not 1 <= hi:
                raise LuaRaise(message=b"bad argument #1 to 'random' (interval is empty)")
        else:
            lo = self._checkint(args[0], 1, "random")
            hi = self._checkint(args[1], 2, "random")
            if not lo <= hi:
                raise LuaRaise(message=b"bad argument #2 to 'random' (interval is empty)")
        return math.floor(r * (hi - lo + 1)) + lo

    def _randomseed(self, *args):
        self.rand.seed(self._checkint(args[0] if args else None, 1, "randomseed"))

    def _checkint(self, v, n, fname):
        t = type(v)
        x = v if t in (int, float) else (self.api.to_number(v) if t is bytes else None)
        if x is None or t is bool:
            got = "no value" if v is None else ("boolean" if t is bool else
                                                 "string" if t is bytes else _lua_type(v) or "userdata")
            raise LuaRaise(message=("bad argument #%d to '%s' (number expected, got %s)" % (n, fname, got)).encode())
        if x != x or x in (math.inf, -math.inf):
            return _LLONG_MIN
        return int(x) & 0xFFFFFFFF if False else int(x)

    def _call(self, *args, raise_error=True):
        """redis.call (redis.pcall with ``raise_error=False``): the reply for Lua; a
        failure raises its error table (call) or returns it (pcall).

        The script checks follow Redis's scriptCall order: unknown command,
        arity, noscript, ACL, then the write refusals (read-only script,
        READONLY replica, MISCONF, OOM).  A command name that passed the
        static checks once is remembered (``_SCRIPT_SPECS``), so the usual
        call is one dict lookup and the arity test; the server's refusal gates
        are read only when ``server.gated`` says one is up."""
        run = self.run_ctx
        if run is None:
            return self._fail(True, "redis.call/pcall can only be called inside a script invocation")
        if not args:
            return self._fail(raise_error, _E_NOARGS)
        argv = list(args)
        for a in argv:
            if type(a) is not bytes:
                argv = _to_argv(args)
                if argv is None:
                    return self._fail(raise_error, _E_ARGS)
                break
        n = len(argv)
        spec = _SCRIPT_SPECS.get(argv[0])
        cached = spec is not None
        if not cached:
            name = argv[0]
            spec = _COMMANDS.get(name) or _registry.lookup(name)
            if spec is not None and spec.container and n >= 2:
                spec = spec.subcommands.get(argv[1].lower())
            elif spec is not None and spec.handler is not None and not spec.container \
                    and "noscript" not in spec.flags and len(_SCRIPT_SPECS) < 1024:
                _SCRIPT_SPECS[name] = spec
            if spec is None or spec.handler is None and not spec.container:
                return self._fail(raise_error, _E_UNKNOWN)
        a = spec.arity
        if (n != a) if a >= 0 else (n < -a):
            return self._fail(raise_error, _E_ARITY)
        if not cached and "noscript" in spec.flags:
            return self._fail(raise_error, _E_NOSCRIPT)
        server = self.server
        caller = run.caller
        if caller.acl_user is not None:
            denied = server.acl.check_script(caller, spec, argv)
            if denied is not None:
                return self._fail(raise_error, denied)
        if spec.is_write and not run.wrote:
            if run.read_only:
                return self._fail(raise_error, _E_READONLY)
            if server.gated:
                if server.read_only and caller.kind != "master":
                    return self._failed(raise_error, self._error_table(errors.READONLY))
                if server.write_error is not None:
                    return self._failed(raise_error, self._error_table(server.write_error.message))
            if run.oom and not run.allow_oom and spec.denyoom:
                return self._failed(raise_error, self._error_table(errors.OOM))
            run.wrote = True
        if server.gated and server.busy_error is not None:
            server.busy_error = None
        reply = self.lua_client.execute(argv)
        t = type(reply)
        if t is bytes or t is int:
            return reply
        if t is ReplyError or isinstance(reply, ReplyError):
            return self._failed(raise_error, self._error_table(reply.message))
        return self.to_lua(reply, run.resp3)

    def _number(self, v):
        t = type(v)
        if t is bool:
            return None
        if t is int or t is float:
            return v
        if t is bytes:
            return self.api.to_number(v)
        return None

    def _log(self, *args):
        if len(args) < 2:
            self._raise("redis.log() requires two arguments or more.")
        level = self._number(args[0])
        if level is None:
            self._raise("First argument must be a number (log level).")
        level = int(level)
        if level < 0 or level > 3:
            self._raise("Invalid debug level.")
        parts = []
        for v in args[1:]:
            if type(v) is bytes:
                parts.append(v)
            elif type(v) in (int, float):
                parts.append(self.api.tostring(v))
        log = getattr(self.server, "log", None)
        if log is not None:
            log(level, b" ".join(parts).decode("utf-8", "replace"))

    def _setresp(self, *args):
        run = self.run_ctx
        if run is None:
            self._raise("redis.setresp can only be called inside a script invocation")
        if len(args) != 1:
            self._raise("redis.setresp() requires one argument.")
        n = self._number(args[0]) or 0
        if int(n) not in (2, 3):
            self._raise("RESP version must be 2 or 3.")
        run.resp3 = int(n) == 3
        self.lua_client.resp3 = run.resp3

    def _set_repl(self, *args):
        run = self.run_ctx
        if run is None:
            self._raise("redis.set_repl can only be called inside a script invocation")
        if len(args) != 1:
            self._raise("redis.set_repl() requires two arguments.")
        n = int(self._number(args[0]) or 0)
        if n & ~3:
            self._raise("Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
        run.repl = n
        # One event stream feeds both AOF and replicas: propagate unless REPL_NONE.
        self.server.bus.muted = n == 0

    def _acl_check(self, *args):
        """redis.acl_check_cmd: whether the script's user may run the command (no log entry)."""
        if not args:
            self._raise(_E_NOARGS)
        argv = _to_argv(args)
        if argv is None:
            self._raise(_E_ARGS)
        from ..acl import lookup_argv
        spec = lookup_argv(argv)
        if spec is None:
            self._raise("Invalid command passed to redis.acl_check_cmd()")
        run = self.run_ctx
        user = run.caller.acl_user if run is not None else None
        if user is None:
            return True
        return user.check(spec, argv)[0] == 0

    def _tick(self):
        """Count hook: True means "killed".  Past the threshold, serve other clients."""
        run = self.run_ctx
        if run is None:
            return False
        if run.killed:
            return True
        server = self.server
        elapsed = (self.clock() - run.start) * 1000.0
        if elapsed < server.config["busy-reply-threshold"]:
            return False
        if not run.timed_out:
            run.timed_out = True
            caller = run.caller
            if getattr(caller, "_pending", False) is None:
                caller._pending = []      # protectClient: its later input waits
                run.protected = True
        pump = self.pump
        if pump is not None:
            server.busy_error = BUSY_EVAL if run.is_eval else BUSY_FUNCTION
            try:
                pump(0)
            finally:
                server.busy_error = None
        return run.killed

    # -- conversions ----------------------------------------------------------------------
    def to_lua(self, v, resp3):
        """A command's reply value as redisProtocolToLuaType would give it to the script."""
        t = type(v)
        if t is bytes:
            return v
        if t is int:
            return v
        if v is None:
            return None if resp3 else False
        if t is list or t is tuple or t is Push:
            return self.table_from([self.to_lua(x, resp3) for x in v])
        if t is Status:
            return self.table_from({b"ok": v.wire[1:-2]})
        if t is Map or t is dict:
            items = v.items() if t is dict else v
            if not resp3:
                flat = []
                for k, x in items:
                    flat.append(self.to_lua(k, resp3))
                    flat.append(self.to_lua(x, resp3))
                return self.table_from(flat)
            m = self.table()
            for k, x in items:
                m[self.to_lua(k, resp3)] = self.to_lua(x, resp3)
            return self.table_from({b"map": m})
        if t is Set:
            if not resp3:
                return self.table_from([self.to_lua(x, resp3) for x in v])
            s = self.table()
            for x in v:
                s[self.to_lua(x, resp3)] = True
            return self.table_from({b"set": s})
        if t is Double or t is float:
            if not resp3:
                return format_double(v)
            return self.table_from({b"double": float(v)})
        if t is Bool or t is bool:
            if not resp3:
                return 1 if v else 0
            return bool(v)
        if t is Verbatim:
            data = v.encode("utf-8", "surrogateescape")
            if not resp3:
                return data
            return self.table_from({b"verbatim_string": self.table_from({b"format": b"txt", b"string": data})})
        if t is str:
            return v.encode("utf-8", "surrogateescape")
        if t is bytearray or t is memoryview:
            return bytes(v)
        if v is NullArray:
            return None if resp3 else False
        if t is Raw:
            return self.to_lua(_parse_resp(v.resp3 if resp3 else v.resp2), resp3)
        if isinstance(v, ReplyError):
            return self._error_table(v.message)
        if isinstance(v, int):
            return int(v)
        return None

    def from_lua(self, v, resp3):
        """The script's result as luaReplyToRedisReply renders it.

        Nested tables are walked with an explicit stack (a script can return
        thousands of levels), with Redis's limit: every value is converted
        after ``lua_checkstack(lua, 4)``, which fails past LUAI_MAXCSTACK, so a
        value on a stack slot past ``_REPLY_MAX_SLOT`` becomes the error
        "reached lua stack limit" (an array child sits one slot above its
        table, a map key four and a map value or set member three).  Every
        ``_ENCODE_EVERY`` levels a finished subtree is pre-encoded (``Raw``),
        so encoding never recurses deeply either."""
        node = self._reply_node(v, resp3, 1)
        if type(node) is not _Open:
            return node
        stack = [node]
        while True:
            top = stack[-1]
            child = top.next_child()
            if child is not _DONE:
                x, slot = child
                if slot > _REPLY_MAX_SLOT:
                    top.out.append(_STACK_LIMIT)
                    continue
                sub = self._reply_node(x, resp3, slot)
                if type(sub) is _Open:
                    sub.depth = top.depth + 1
                    stack.append(sub)
                else:
                    top.out.append(sub)
                continue
            stack.pop()
            value = top.value()
            if not stack:
                return value
            if top.depth % _ENCODE_EVERY == 0:
                value = Raw(encode(value, False), encode(value, True))
            stack[-1].out.append(value)

    def _reply_node(self, v, resp3, slot):
        """One value of the reply: the final value, or an ``_Open`` table to walk."""
        t = type(v)
        if t is bytes:
            return v
        if t is bool:
            if resp3:
                return Bool(v)
            return 1 if v else None
        if t is int:
            return v if _LLONG_MIN <= v < _LLONG_END else _LLONG_MIN
        if t is float:
            if v != v or v >= 9.2233720368547758e18 or v < -9.2233720368547758e18:
                return _LLONG_MIN
            return int(v)
        if v is None or _lua_type(v) != "table":
            return None
        get = _safe_get
        err = get(v, b"err")
        if type(err) is bytes:
            return ReplyError(err.decode("utf-8", "surrogateescape"))
        ok = get(v, b"ok")
        if type(ok) is bytes:
            s = Status.__new__(Status)
            data = ok.replace(b"\r", b" ").replace(b"\n", b" ")
            s.text = data.decode("utf-8", "replace")
            s.wire = b"+" + data + b"\r\n"
            return s
        d = get(v, b"double")
        if type(d) in (int, float):
            return Double(float(d))
        big = get(v, b"big_number")
        if type(big) is bytes:
            big = big.replace(b"\r", b" ").replace(b"\n", b" ")
            return Raw(b"$%d\r\n%s\r\n" % (len(big), big), b"(%s\r\n" % big)
        verb = get(v, b"verbatim_string")
        if verb is not None and _lua_type(verb) == "table":
            fmt, s = get(verb, b"format"), get(verb, b"string")
            if type(fmt) is bytes and type(s) is bytes:
                return Raw(b"$%d\r\n%s\r\n" % (len(s), s), b"=%d\r\n%s:%s\r\n" % (len(s) + 4, fmt[:3], s))
        m = get(v, b"map")
        if m is not None and _lua_type(m) == "table":
            return _Open(_MAP, m, slot)
        s = get(v, b"set")
        if s is not None and _lua_type(s) == "table":
            return _Open(_SET, s, slot)
        return _Open(_ARRAY, v, slot)


#: see Engine.from_lua
_REPLY_MAX_SLOT = 7995
_STACK_LIMIT = ReplyError("ERR reached lua stack limit")
_ENCODE_EVERY = 100
_ARRAY, _MAP, _SET = 0, 1, 2
_DONE = object()


class _Open:
    """A table of the script's reply being converted: its children come out one
    at a time with the stack slot each would take in Redis."""

    __slots__ = ("kind", "table", "slot", "out", "depth", "_j", "_items")

    def __init__(self, kind, table, slot):
        self.kind = kind
        self.table = table
        self.slot = slot
        self.out = []
        self.depth = 0
        self._j = 0
        self._items = None

    def next_child(self):
        kind = self.kind
        if kind == _ARRAY:
            self._j += 1
            x = _safe_get(self.table, self._j)
            return _DONE if x is None else (x, self.slot + 1)
        if self._items is None:
            if kind == _MAP:
                self._items = [y for kv in self.table.items() for y in kv]
            else:
                self._items = [k for k, _ in self.table.items()]
        j = self._j
        if j >= len(self._items):
            return _DONE
        self._j = j + 1
        if kind == _SET:
            return self._items[j], self.slot + 3
        return self._items[j], self.slot + (4 if j % 2 == 0 else 3)

    def value(self):
        out = self.out
        if self.kind == _ARRAY:
            return out
        if self.kind == _MAP:
            return Map(list(zip(out[::2], out[1::2])))
        return Set(out)


def _safe_get(t, k):
    try:
        return t[k]
    except _LuaError:
        return None


def _text(v):
    if type(v) is bytes:
        return v.decode("utf-8", "surrogateescape")
    if type(v) is float and v == int(v):
        return "%d" % v
    return str(v)


def _sha1hex(s):
    return hashlib.sha1(s).hexdigest().encode()


def _parse_resp(data):
    """Decode one pre-encoded reply (a Raw) into reply values."""
    value, _ = _resp_at(data, 0)
    return value


def _resp_at(data, i):
    end = data.index(b"\r\n", i)
    kind, line = data[i:i + 1], data[i + 1:end]
    i = end + 2
    if kind == b"+":
        s = Status.__new__(Status)
        s.text = line.decode("utf-8", "replace")
        s.wire = b"+" + line + b"\r\n"
        return s, i
    if kind == b"-":
        return ReplyError(line.decode("utf-8", "surrogateescape")), i
    if kind == b":":
        return int(line), i
    if kind in (b"$", b"="):
        n = int(line)
        if n < 0:
            return None, i
        body = data[i:i + n]
        if kind == b"=":
            return Verbatim(body[4:].decode("utf-8", "surrogateescape")), i + n + 2
        return body, i + n + 2
    if kind in (b"*", b"~", b">", b"%"):
        n = int(line)
        if n < 0:
            return NullArray, i
        if kind == b"%":
            items = []
            for _ in range(n):
                k, i = _resp_at(data, i)
                v, i = _resp_at(data, i)
                items.append((k, v))
            return Map(items), i
        items = []
        for _ in range(n):
            v, i = _resp_at(data, i)
            items.append(v)
        return (Set(items) if kind == b"~" else items), i
    if kind == b"_":
        return None, i
    if kind == b",":
        return Double(float(line.replace(b"inf", b"inf"))), i
    if kind == b"#":
        return Bool(line == b"t"), i
    if kind == b"(":
        return line, i
    raise ValueError("bad RESP")


def sha1hex(data):
    return hashlib.sha1(data).hexdigest()


__all__ = ["Engine", "ScriptRun", "BUSY_EVAL", "BUSY_FUNCTION", "sha1hex", "math"]
