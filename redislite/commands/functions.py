"""FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/STATS/KILL and FCALL/FCALL_RO
(Redis 7.0 functions.c, function_lua.c).

Libraries live in one Lua state per server (the "function" engine), separate
from EVAL's, as in Redis.  Loading runs the library code with globals that
only hold the load API (``redis.register_function``, ``redis.log``...); the
registered callbacks run later with the runtime globals.

For persistence: :func:`dump_libraries` returns the library codes and
:func:`load_libraries` loads them back (RDB ``FUNCTION2`` records / AOF
``FUNCTION LOAD`` lines); :func:`dump_payload` / :func:`restore_payload` are
FUNCTION DUMP/RESTORE's format, which is Redis's (``0xF5`` + RDB string per
library, RDB version 10 and CRC64 footer): payloads from a real Redis 7.0
load here and ours load into Redis.
"""

import re
import struct

from .. import errors
from ..errors import ReplyError
from ..persistence import rdb as _rdb
from ..glob import match as glob_match
from ..lua import Engine
from ..resp.encoder import OK, Map, Set, Status
from .args import to_int
from .registry import command
from .scripting import FLAG_NAMES, parse_numkeys, run_script, script_kill_check

_NAME_OK = re.compile(rb"^[A-Za-z0-9_]+\Z")
_BAD_NAME = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"
_NOT_FOUND = ReplyError("ERR Function not found")
_BAD_KEYS = ReplyError("ERR Bad number of keys provided")
RDB_OPCODE_FUNCTION2 = 245
RDB_OPCODE_FUNCTION = 246

_HELP = [
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
]


class Function:
    __slots__ = ("name", "library", "fn", "description", "flags")

    def __init__(self, name, library, fn, description, flags):
        self.name = name
        self.library = library
        self.fn = fn
        self.description = description
        self.flags = flags


class Library:
    __slots__ = ("name", "code", "functions")

    def __init__(self, name, code):
        self.name = name
        self.code = code
        self.functions = {}


class Functions:
    """The server's libraries and their Lua engine."""

    def __init__(self, server):
        self.server = server
        self.libraries = {}     # name (bytes) -> Library
        self.functions = {}     # name (bytes) -> Function
        self.loading = None     # the Library being loaded (register_function target)
        self.engine = Engine(server, "function", register=self._register)

    # -- register_function (called from Lua during a load) ------------------------
    def _register(self, *args):
        lib = self.loading
        if lib is None:
            return False, b"redis.register_function can only be called on FUNCTION LOAD command"
        api = self.engine.api
        if len(args) < 1 or len(args) > 2:
            return False, b"wrong number of arguments to redis.register_function"
        desc = None
        flags = ()
        if len(args) == 1:
            table = args[0]
            if table is None or not api.is_table(table):
                return False, (b"calling redis.register_function with a single argument is only applicable to "
                               b"Lua table (representing named arguments).")
            name = fn = None
            for key, value in table.items():
                if type(key) not in (bytes, int, float) or type(key) is bool:
                    return False, b"named argument key given to redis.register_function is not a string"
                k = (key if type(key) is bytes else api.tostring(key)).lower()
                if k == b"function_name":
                    name = _lua_string(api, value)
                    if name is None:
                        return False, b"function_name argument given to redis.register_function must be a string"
                elif k == b"description":
                    desc = _lua_string(api, value)
                    if desc is None:
                        return False, b"description argument given to redis.register_function must be a string"
                elif k == b"callback":
                    if not api.is_function(value):
                        return False, b"callback argument given to redis.register_function must be a function"
                    fn = value
                elif k == b"flags":
                    if value is None or not api.is_table(value):
                        return False, (b"flags argument to redis.register_function must be a table "
                                       b"representing function flags")
                    flags = []
                    j = 1
                    while True:
                        f = value[j]
                        if f is None:
                            break
                        if type(f) is not bytes or f.decode("latin-1") not in FLAG_NAMES:
                            return False, b"unknown flag given"
                        flags.append(f.decode())
                        j += 1
                    flags = tuple(n for n in FLAG_NAMES if n in flags)
                else:
                    return False, b"unknown argument given to redis.register_function"
            if name is None:
                return False, b"redis.register_function must get a function name argument"
            if fn is None:
                return False, b"redis.register_function must get a callback argument"
        else:
            name = _lua_string(api, args[0])
            if name is None:
                return False, b"first argument to redis.register_function must be a string"
            fn = args[1]
            if fn is None or not api.is_function(fn):
                return False, b"second argument to redis.register_function must be a function"
        if not _NAME_OK.match(name):
            return False, _BAD_NAME.encode()
        if name in lib.functions:
            return False, b"Function already exists in the library"
        lib.functions[name] = Function(name, lib, fn, desc, flags)
        return (True,)

    # -- create / delete -----------------------------------------------------------------
    def create(self, code, replace=False, libraries=None):
        """functionsCreateWithLibraryCtx: returns the library name or raises ReplyError."""
        libraries = self.libraries if libraries is None else libraries
        engine_name, name = parse_metadata(code)
        if engine_name.upper() != b"LUA":
            raise ReplyError("ERR Engine '%s' not found" % _s(engine_name))
        if not _NAME_OK.match(name):
            raise ReplyError("ERR " + _BAD_NAME)
        old = libraries.get(name)
        if old is not None and not replace:
            raise ReplyError("ERR Library '%s' already exists" % _s(name))
        body = code[code.index(b"\n"):]
        engine = self.engine
        fn, err = engine.compile(body, b"@user_function")
        if fn is None:
            raise ReplyError("ERR Error compiling function: %s" % err)
        lib = Library(name, bytes(code))
        self.loading = lib
        engine.set_mode(True)
        try:
            ok, result = engine.api.run_load(fn)
        finally:
            engine.set_mode(False)
            self.loading = None
        if not ok:
            raise ReplyError("ERR Error registering functions: %s" % engine.load_error_text(result))
        if not lib.functions:
            raise ReplyError("ERR No functions registered")
        for fname in lib.functions:
            owner = self.functions.get(fname) if libraries is self.libraries else None
            if libraries is not self.libraries:
                owner = next((f for l in libraries.values() for f in l.functions.values() if f.name == fname), None)
            if owner is not None and owner.library.name != name:
                raise ReplyError("ERR Function %s already exists" % _s(fname))
        if old is not None:
            self._remove(old, libraries)
        libraries[name] = lib
        if libraries is self.libraries:
            self.functions.update(lib.functions)
        return name

    def _remove(self, lib, libraries=None):
        libraries = self.libraries if libraries is None else libraries
        libraries.pop(lib.name, None)
        if libraries is self.libraries:
            for fname in lib.functions:
                self.functions.pop(fname, None)

    def flush(self):
        self.libraries.clear()
        self.functions.clear()


def _lua_string(api, v):
    t = type(v)
    if t is bytes:
        return v
    if (t is int or t is float) and t is not bool:
        return api.tostring(v)
    return None


def _s(b):
    return b.decode("utf-8", "surrogateescape")


def parse_metadata(code):
    """functionExtractLibMetaData: (engine, library name) from the ``#!<engine> name=<name>`` line."""
    if not code.startswith(b"#!"):
        raise ReplyError("ERR Missing library metadata")
    nl = code.find(b"\n")
    if nl < 0:
        raise ReplyError("ERR Invalid library metadata")
    parts = code[:nl].split()
    if not parts:
        raise ReplyError("ERR Invalid library metadata")
    engine = parts[0][2:]
    name = None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            if name is not None:
                raise ReplyError("ERR Invalid metadata value, name argument was given multiple times")
            name = part[5:]
            continue
        raise ReplyError("ERR Invalid metadata value given: %s" % _s(part))
    if name is None:
        raise ReplyError("ERR Library name was not given")
    return engine, name


def functions_of(server):
    f = getattr(server, "functions", None)
    if f is None:
        f = server.functions = Functions(server)
    return f


# -- persistence API ------------------------------------------------------------------------
def dump_libraries(server):
    """Every library's full code (``#!lua name=...`` included), for RDB/AOF writers."""
    f = getattr(server, "functions", None)
    return [lib.code for lib in f.libraries.values()] if f is not None else []


def load_libraries(server, codes, replace=False):
    """Load library codes at startup (RDB/AOF recovery); raises ReplyError on a bad one."""
    f = functions_of(server)
    return [f.create(bytes(code), replace) for code in codes]


def dump_payload(server):
    out = bytearray()
    for code in dump_libraries(server):
        out.append(RDB_OPCODE_FUNCTION2)
        out += _rdb.enc_len(len(code)) + code
    return _rdb.dump_payload(out)


class _PayloadError(Exception):
    pass


def _read_len(data, pos):
    if pos >= len(data):
        raise _PayloadError()
    b = data[pos]
    kind = b >> 6
    if kind == 0:
        return b & 0x3F, pos + 1, False
    if kind == 1:
        return ((b & 0x3F) << 8) | data[pos + 1], pos + 2, False
    if b == 0x80:
        return struct.unpack(">I", data[pos + 1:pos + 5])[0], pos + 5, False
    if b == 0x81:
        return struct.unpack(">Q", data[pos + 1:pos + 9])[0], pos + 9, False
    if kind == 3:
        return b & 0x3F, pos + 1, True
    raise _PayloadError()


def _read_string(data, pos):
    n, pos, enc = _read_len(data, pos)
    if not enc:
        if pos + n > len(data):
            raise _PayloadError()
        return data[pos:pos + n], pos + n
    if n in (0, 1, 2):
        size = (1, 2, 4)[n]
        v = int.from_bytes(data[pos:pos + size], "little", signed=True)
        return b"%d" % v, pos + size
    if n == 3:
        clen, pos, _ = _read_len(data, pos)
        ulen, pos, _ = _read_len(data, pos)
        from ..persistence import lzf
        return lzf.decompress(data[pos:pos + clen], ulen), pos + clen
    raise _PayloadError()


def restore_payload(server, payload, policy=b"APPEND"):
    """FUNCTION RESTORE: verify the footer, load every library, then apply *policy*."""
    if _rdb.dump_body(payload) is None:
        raise ReplyError(errors.DUMP_PAYLOAD)
    f = functions_of(server)
    staged = {}
    pos, end = 0, len(payload) - 10
    try:
        while pos < end:
            kind = payload[pos]
            pos += 1
            if kind == RDB_OPCODE_FUNCTION:
                raise ReplyError("ERR Pre-GA function format not supported")
            if kind != RDB_OPCODE_FUNCTION2:
                raise ReplyError("ERR given type is not a function")
            code, pos = _read_string(payload, pos)
            f.create(code, False, staged)
    except _PayloadError:
        raise ReplyError("ERR can not read data type")
    if policy == b"FLUSH":
        f.flush()
    else:
        for name, lib in staged.items():
            old = f.libraries.get(name)
            if old is not None and policy != b"REPLACE":
                raise ReplyError("ERR Library %s already exists" % _s(name))
        for name, lib in staged.items():
            for fname in lib.functions:
                owner = f.functions.get(fname)
                if owner is not None and not (policy == b"REPLACE" and owner.library.name in staged):
                    raise ReplyError("ERR Function %s already exists" % _s(fname))
        for name in staged:
            old = f.libraries.get(name)
            if old is not None:
                f._remove(old)
    for name, lib in staged.items():
        f.libraries[name] = lib
        f.functions.update(lib.functions)


# -- commands -----------------------------------------------------------------------------
def _emit(client, argv):
    client.server.shards[0].emit(client.db, tuple(argv))


@command("function|load")
def function_load(client, argv):
    replace = False
    i = 2
    while i < len(argv) - 1:
        arg = argv[i]
        i += 1
        if arg.lower() == b"replace":
            replace = True
            continue
        return ReplyError("ERR Unknown option given: %s" % _s(arg))
    if i >= len(argv):
        return ReplyError("ERR Function code is missing")
    name = functions_of(client.server).create(argv[i], replace)
    _emit(client, argv)
    return name


@command("function|list")
def function_list(client, argv):
    with_code = False
    pattern = None
    i = 2
    while i < len(argv):
        arg = argv[i]
        low = arg.lower()
        if not with_code and low == b"withcode":
            with_code = True
        elif pattern is None and low == b"libraryname":
            if i >= len(argv) - 1:
                return ReplyError("ERR library name argument was not given")
            i += 1
            pattern = argv[i]
        else:
            return ReplyError("ERR Unknown argument %s" % _s(arg))
        i += 1
    out = []
    for lib in functions_of(client.server).libraries.values():
        if pattern is not None and not glob_match(pattern, lib.name, nocase=True):
            continue
        funcs = [Map([(b"name", f.name), (b"description", f.description),
                      (b"flags", Set([Status(x) for x in f.flags]))]) for f in lib.functions.values()]
        entry = [(b"library_name", lib.name), (b"engine", b"LUA"), (b"functions", funcs)]
        if with_code:
            entry.append((b"library_code", lib.code))
        out.append(Map(entry))
    return out


@command("function|delete")
def function_delete(client, argv):
    f = functions_of(client.server)
    lib = f.libraries.get(argv[2])
    if lib is None:
        return ReplyError("ERR Library not found")
    f._remove(lib)
    _emit(client, argv)
    return OK


@command("function|flush")
def function_flush(client, argv):
    if len(argv) > 3 or (len(argv) == 3 and argv[2].upper() not in (b"SYNC", b"ASYNC")):
        return ReplyError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    functions_of(client.server).flush()
    _emit(client, argv)
    return OK


@command("function|dump")
def function_dump(client, argv):
    return dump_payload(client.server)


@command("function|restore")
def function_restore(client, argv):
    if len(argv) > 4:
        return ReplyError("ERR unknown subcommand or wrong number of arguments for 'restore'. Try FUNCTION HELP.")
    policy = b"APPEND"
    if len(argv) == 4:
        policy = argv[3].upper()
        if policy not in (b"APPEND", b"REPLACE", b"FLUSH"):
            return ReplyError("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    restore_payload(client.server, argv[2], policy)
    _emit(client, argv)
    return OK


@command("function|stats")
def function_stats(client, argv):
    server = client.server
    run = getattr(server, "lua_run", None)
    if run is not None and run.is_eval:
        from ..lua import BUSY_EVAL
        return BUSY_EVAL
    if run is None:
        running = None
    else:
        running = Map([(b"name", run.name.encode() if isinstance(run.name, str) else run.name),
                       (b"command", list(run.argv)),
                       (b"duration_ms", int((run.engine.clock() - run.start) * 1000))])
    f = getattr(server, "functions", None)
    nlibs = len(f.libraries) if f else 0
    nfuncs = len(f.functions) if f else 0
    return Map([(b"running_script", running),
                (b"engines", Map([(b"LUA", Map([(b"libraries_count", nlibs), (b"functions_count", nfuncs)]))]))])


@command("function|kill")
def function_kill(client, argv):
    return script_kill_check(client.server, False)


@command("function|help")
def function_help(client, argv):
    return [Status(line) for line in _HELP]


def _fcall_keys(argv):
    n = to_int(argv[2]) if len(argv) > 2 else None
    if n is None or n < 0 or n > len(argv) - 3:
        return []
    return list(range(3, 3 + n))


def _fcall(client, argv, ro):
    f = functions_of(client.server)
    func = f.functions.get(argv[1])
    if func is None:
        return _NOT_FOUND
    numkeys = parse_numkeys(argv, _BAD_KEYS)
    return run_script(client, f.engine, _s(func.name), func.fn, frozenset(func.flags), ro, numkeys, argv,
                      is_eval=False)


@command("fcall", keys=_fcall_keys)
def fcall(client, argv):
    return _fcall(client, argv, False)


@command("fcall_ro", keys=_fcall_keys)
def fcall_ro(client, argv):
    return _fcall(client, argv, True)
