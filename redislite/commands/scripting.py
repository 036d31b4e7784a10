"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Redis 7.0 eval.c).

Scripts are cached by SHA1 in the server's eval engine (every EVAL body stays
until SCRIPT FLUSH, as in Redis); the engine (redislite/lua) runs them, with
the BUSY design described in redislite/lua/runtime.py.  SCRIPT DEBUG (the
Lua debugger) is not implemented: NO answers OK, YES/SYNC an error.
"""

import functools

from .. import errors
from ..errors import ReplyError
from ..lua import Engine, sha1hex
from ..resp.encoder import OK, Status
from .args import to_int
from .registry import command

NOSCRIPT = ReplyError("NOSCRIPT No matching script. Please use EVAL.")
_NOT_INT = ReplyError("ERR value is not an integer or out of range")
_KEYS_NEGATIVE = ReplyError("ERR Number of keys can't be negative")
_KEYS_TOO_MANY = ReplyError("ERR Number of keys can't be greater than number of args")
_RO_WRITE = ReplyError("ERR Can not execute a script with write flag using *_ro command.")
_NOTBUSY = ReplyError("NOTBUSY No scripts in execution right now.")
_READONLY = ReplyError(errors.READONLY)
UNKILLABLE = ReplyError(
    "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either "
    "wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
_FLUSH_OPT = ReplyError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")

#: script flags, in Redis's scripts_flags_def order
FLAG_NAMES = ("no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys")
COMPAT = None   # no shebang: eval compatibility mode

_HELP = [
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
]


def eval_engine(server):
    engine = getattr(server, "lua_eval", None)
    if engine is None:
        engine = server.lua_eval = Engine(server, "eval")
        engine.scripts = {}         # sha (str, lower case) -> (function, flags, sha)
        engine.by_sha = {}          # the same entries by the sha's bytes as sent (EVALSHA)
    return engine


def parse_shebang(body):
    """evalExtractShebangFlags: (flags frozenset or COMPAT, offset of the code)."""
    if not body.startswith(b"#!"):
        return COMPAT, 0
    nl = body.find(b"\n")
    if nl < 0:
        raise ReplyError("ERR Invalid script shebang")
    parts = body[:nl].split()
    if not parts:
        raise ReplyError("ERR Invalid engine in script shebang")
    if parts[0] != b"#!lua":
        raise ReplyError("ERR Unexpected engine in script shebang: %s" % _s(parts[0]))
    flags = set()
    for part in parts[1:]:
        if part.startswith(b"flags="):
            value = part[6:]
            for flag in (value.split(b",") if value else ()):
                name = _s(flag)
                if name not in FLAG_NAMES:
                    raise ReplyError("ERR Unexpected flag in script shebang: %s" % name)
                flags.add(name)
        else:
            raise ReplyError("ERR Unknown lua shebang option: %s" % _s(part))
    return frozenset(flags), nl


def _s(b):
    return b.decode("utf-8", "surrogateescape")


def create_script(engine, body):
    """luaCreateFunction: compile and cache *body*; returns its sha."""
    sha = sha1hex(body)
    if sha in engine.scripts:
        return sha
    flags, offset = parse_shebang(body)
    fn, err = engine.compile(body[offset:], b"@user_script")
    if fn is None:
        raise ReplyError("ERR Error compiling script (new function): %s" % err)
    engine.scripts[sha] = engine.by_sha[sha.encode()] = (fn, flags, sha)
    return sha


def parse_numkeys(argv, bad=_NOT_INT):
    numkeys = to_int(argv[2])
    if numkeys is None:
        raise bad
    if numkeys > len(argv) - 3:
        raise _KEYS_TOO_MANY
    if numkeys < 0:
        raise _KEYS_NEGATIVE
    return numkeys


def prepare_checks(client, flags, ro):
    """scriptPrepareForRun's refusals for scripts with flags (shebang / functions)."""
    if flags is COMPAT:
        return
    server = client.server
    if "no-writes" not in flags:
        obey = client.kind == "master"
        if server.read_only and not obey:
            raise _READONLY     # Redis 7.0's scriptPrepareForRun gives the plain replica text
        if server.write_error is not None and not obey:
            raise ReplyError("MISCONF Redis is configured to save RDB snapshots, but it's currently unable "
                             "to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read "
                             "only scripts.")
        if ro:
            raise _RO_WRITE
    if server.maxmemory and "allow-oom" not in flags and "no-writes" not in flags \
            and not client.no_evict and not server.make_room():
        raise ReplyError("OOM allow-oom flag is not set on the script, can not run it when used memory > "
                         "'maxmemory'")


def run_script(client, engine, name, fn, flags, ro, numkeys, argv, is_eval=True):
    """Run a script or function with flags; its keys and arguments are argv[3:]."""
    if flags is COMPAT:
        return engine.run(client, name, is_eval, ro, client.no_evict, argv, fn, numkeys)
    prepare_checks(client, flags, ro)
    return engine.run(client, name, is_eval, ro or "no-writes" in flags,
                      client.no_evict or "allow-oom" in flags, argv, fn, numkeys)


def _eval(evalsha, ro, client, argv):
    server = client.server
    engine = server.lua_eval or eval_engine(server)
    if evalsha:
        entry = engine.by_sha.get(argv[1])
        if entry is None:
            # not as sent: another case, or not loaded (NOSCRIPT once the numkeys check passed)
            if len(argv[1]) != 40:
                return NOSCRIPT
            entry = engine.scripts.get(argv[1].decode("latin-1").lower())
    numkeys = _NUMKEYS.get(argv[2])
    if numkeys is None or numkeys > len(argv) - 3:
        numkeys = parse_numkeys(argv)
    if evalsha:
        if entry is None:
            return NOSCRIPT
    else:
        entry = engine.scripts[create_script(engine, argv[1])]
    fn, flags, sha = entry
    if flags is not COMPAT:
        return run_script(client, engine, sha, fn, flags, ro, numkeys, argv)
    return engine.run(client, sha, True, ro, client.no_evict, argv, fn, numkeys)


#: numkeys as usually sent: b"0".."16" (anything else goes through parse_numkeys)
_NUMKEYS = {str(i).encode(): i for i in range(17)}


def _eval_keys(argv):
    n = to_int(argv[2]) if len(argv) > 2 else None
    if n is None or n < 0 or n > len(argv) - 3:
        return []
    return list(range(3, 3 + n))


# EVAL, EVALSHA, EVAL_RO, EVALSHA_RO: _eval with its two switches bound by a
# partial (a C call, where a wrapper function would cost a Python frame per EVALSHA)
for _name, _sha, _ro in (("eval", False, False), ("evalsha", True, False),
                         ("eval_ro", False, True), ("evalsha_ro", True, True)):
    command(_name, keys=_eval_keys)(functools.partial(_eval, _sha, _ro))
del _name, _sha, _ro


@command("script|load")
def script_load(client, argv):
    return create_script(eval_engine(client.server), argv[2]).encode()


@command("script|exists")
def script_exists(client, argv):
    scripts = eval_engine(client.server).scripts
    return [1 if a.decode("latin-1").lower() in scripts else 0 for a in argv[2:]]


@command("script|flush")
def script_flush(client, argv):
    if len(argv) > 3 or (len(argv) == 3 and argv[2].upper() not in (b"SYNC", b"ASYNC")):
        return _FLUSH_OPT
    server = client.server
    # Redis 7.0 also resets the Lua state: a fresh engine drops all garbage.
    server.lua_eval = None
    eval_engine(server)
    return OK


def script_kill_check(server, is_eval):
    """scriptKill: flag the running script for the next hook, or refuse."""
    run = getattr(server, "lua_run", None)
    if run is None:
        return _NOTBUSY
    if run.caller.kind == "master":
        return ReplyError("UNKILLABLE The busy script was sent by a master instance in the context of "
                          "replication and cannot be killed.")
    if run.wrote:
        return UNKILLABLE
    from ..lua import BUSY_EVAL, BUSY_FUNCTION
    if is_eval and not run.is_eval:
        return BUSY_FUNCTION
    if not is_eval and run.is_eval:
        return BUSY_EVAL
    run.killed = True
    return OK


@command("script|kill")
def script_kill(client, argv):
    return script_kill_check(client.server, True)


@command("script|debug")
def script_debug(client, argv):
    mode = argv[2].lower()
    if mode == b"no":
        return OK
    if mode in (b"yes", b"sync"):
        return ReplyError("ERR SCRIPT DEBUG (the Lua debugger) is not supported by this server")
    return ReplyError("ERR Use SCRIPT DEBUG YES/SYNC/NO")


@command("script|help")
def script_help(client, argv):
    return [Status(line) for line in _HELP]
