"""Server commands: INFO, CONFIG, TIME and COMMAND.

INFO's sections are built as data in ``redislite/info.py`` and rendered here.
COMMAND replies are the exact bytes Redis 7.0.15 sends for each command
(``CommandSpec.info_wire`` / ``docs_wire``), so clients that read command
metadata (redis-cli hints, cluster-aware clients) see what Redis would send;
we list only the commands RedisLite supports.
COMMAND GETKEYS runs Redis's key-spec algorithm over the metadata of every
Redis 7.0 command (supported or not), as Redis does, with the few native
fallbacks Redis uses for incomplete or variable-flag specs.
"""

import os

import hiredis

from .. import clientlimits, errors, info as _info
from ..errors import ReplyError
from ..glob import compile_pattern
from ..resp.encoder import OK, Map, Raw, Set, Status, Verbatim
from . import registry
from .registry import META, command

_SYNTAX = ReplyError(errors.SYNTAX)


def _text(b):
    return b.decode("utf-8", "surrogateescape")


# -- INFO ------------------------------------------------------------------------------
@command("info")
def info(client, argv):
    """A verbatim string in RESP3 (``=``, as Redis 7.0 sends it), a bulk string in RESP2."""
    sections = _info.requested_sections(argv[1:])
    return Verbatim(_info.render(client.server, sections))


# -- TIME --------------------------------------------------------------------------------
@command("time")
def time_(client, argv):
    """From the injected clock, so tests with task.Clock see their own time."""
    usec = int(round(client.server.reactor.seconds() * 1_000_000))
    sec, micro = divmod(usec, 1_000_000)
    return [b"%d" % sec, b"%d" % micro]


# -- CONFIG ---------------------------------------------------------------------------------
@command("config|get")
def config_get(client, argv):
    pairs = client.server.config.config_get(argv[2:])
    return Map(pairs)


@command("config|set")
def config_set(client, argv):
    """Several pairs at once, all or nothing (config.config_set validates them together)."""
    from ..config import config_set as _config_set
    if (len(argv) - 2) % 2:
        raise _SYNTAX
    pairs = [(_text(argv[i]), _text(argv[i + 1])) for i in range(2, len(argv), 2)]
    server = client.server
    new = _config_set(server.config, pairs, local_client=clientlimits.is_local_client(client),
                      loading=bool(server.loading))
    if new["maxclients"] > server.maxclients:
        check_maxclients(new["maxclients"])
    server.apply_config(new)
    return OK


def check_maxclients(maxclients):
    """Redis's updateMaxclients: the open files limit must allow the new maxclients."""
    from ..clientlimits import adjust_open_files_limit
    from ..config import SET_FAILED
    try:
        allowed, _notes = adjust_open_files_limit(maxclients)
    except SystemExit:          # only possible if the limit shrank under us
        allowed = 0
    if allowed != maxclients:
        raise ReplyError(SET_FAILED % ("maxclients", "The operating system is not able to handle "
                                       "the specified number of clients, try with %d" % allowed))


def reset_stats(server):
    """CONFIG RESETSTAT: Redis's resetServerStats + resetCommandTableStats + errors."""
    _info.fold_pending(server)      # pending samples belong to the counts being reset
    for spec in _info.all_specs():
        spec.calls = spec.failed = spec.rejected = 0
        spec.usec = 0
    server.error_stats.clear()
    server.total_commands = 0
    server.total_connections = 0
    server.rejected_connections = 0
    server.net_input_bytes = 0
    server.net_output_bytes = 0
    server.used_memory_peak = server.used_memory()
    for shard in server.shards:
        shard.stats_expired = 0
        shard.stats_evicted = 0
        for ks in shard.dbs:
            ks.hits = ks.misses = 0
    hub = getattr(server, "introspection", None)
    if hub is not None:
        hub.reset_histograms()   # Redis's resetCommandTableStats clears latency histograms too


@command("config|resetstat")
def config_resetstat(client, argv):
    reset_stats(client.server)
    return OK


def _config_path(server):
    return getattr(server, "config_file", None) or getattr(server.config, "path", None)


def rewrite_config_file(path, cfg, users=()):
    """Rewrite *path* in place: known directives get their current value where
    they first appeared, later duplicates are dropped, and parameters that
    differ from the defaults but were absent are appended.  Comments and
    unknown lines are kept, as Redis's rewrite keeps them.  *users* (``user ...``
    lines, empty with an ACL file) replace the file's user lines in order, the
    rest appended, as rewriteConfigUserOption does."""
    from ..config import Config
    current = dict(cfg.config_get(["*"]))
    defaults = dict(Config.defaults().config_get(["*"]))
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        lines = fh.read().splitlines()
    out, written = [], set()
    users = list(users)
    for line in lines:
        words = line.split(None, 1)
        name = words[0].lower() if words and not words[0].startswith("#") else None
        if name == "user":
            if users:
                out.append(users.pop(0))
            continue
        if name in current:
            if name in written:
                continue
            written.add(name)
            out.append("%s %s" % (name, _quote(current[name])))
        else:
            out.append(line)
    extra = [n for n in current if n not in written and current[n] != defaults.get(n)]
    if extra or users:
        out.append("# Generated by CONFIG REWRITE")
        out.extend("%s %s" % (n, _quote(current[n])) for n in extra)
        out.extend(users)
    tmp = path + ".tmp-rewrite"
    with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as fh:
        fh.write("\n".join(out) + "\n")
    os.replace(tmp, path)


def _quote(value):
    if value == "" or any(c in value for c in " \t\"'\\"):
        return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')
    return value


@command("config|rewrite")
def config_rewrite(client, argv):
    path = _config_path(client.server)
    if not path:
        raise ReplyError(errors.CONFIG_NO_FILE)
    try:
        rewrite_config_file(path, client.server.config, client.server.acl.config_lines())
    except OSError as e:
        raise ReplyError("ERR Rewriting config file: %s" % (e.strerror or e))
    return OK


_CONFIG_HELP = [Status(s) for s in (
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
)]


@command("config|help")
def config_help(client, argv):
    return _CONFIG_HELP


# -- COMMAND -------------------------------------------------------------------------------
def _find_supported(name):
    """A supported spec by name as COMMAND INFO/DOCS take it (``get``, ``config|get``)."""
    if b"|" in name:
        parent, _, sub = name.partition(b"|")
        spec = registry.lookup(parent)
        if spec is None or b"|" in sub:
            return None
        return spec.subcommands.get(sub.lower())
    return registry.lookup(name)


def _info_reply(specs, resp3):
    i = 1 if resp3 else 0
    nil = b"_\r\n" if resp3 else b"$-1\r\n"
    parts = [b"*%d\r\n" % len(specs)]
    parts.extend(nil if s is None else s.info_wire[i] for s in specs)
    data = b"".join(parts)
    return Raw(data, data)


@command("command")
def command_(client, argv):
    return _info_reply(registry.supported(), client.resp3)


@command("command|info")
def command_info(client, argv):
    if len(argv) == 2:
        return _info_reply(registry.supported(), client.resp3)
    return _info_reply([_find_supported(n) for n in argv[2:]], client.resp3)


@command("command|docs")
def command_docs(client, argv):
    """A map name -> docs; unknown names are left out (not nil), as Redis does."""
    resp3 = client.resp3
    i = 1 if resp3 else 0
    if len(argv) == 2:
        specs = registry.supported()
    else:
        specs = [s for s in (_find_supported(n) for n in argv[2:]) if s is not None]
    parts = [(b"%%%d\r\n" if resp3 else b"*%d\r\n") % (len(specs) * (1 if resp3 else 2))]
    for s in specs:
        name = s.fullname.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(name), name))
        parts.append(s.docs_wire[i])
    data = b"".join(parts)
    return Raw(data, data)


@command("command|count")
def command_count(client, argv):
    return len(registry.supported())


def _all_with_subcommands():
    for spec in registry.supported():
        yield spec
        yield from spec.subcommands.values()


@command("command|list")
def command_list(client, argv):
    match = None
    i, n = 2, len(argv)
    while i < n:
        if argv[i].lower() == b"filterby" and n - 1 - i == 2:
            kind, arg = argv[i + 1].lower(), argv[i + 2]
            if kind == b"module":
                match = lambda spec: False  # no modules
            elif kind == b"aclcat":
                cat = "@" + _text(arg).lower()
                match = lambda spec, cat=cat: cat in spec.acl_categories
            elif kind == b"pattern":
                matcher = compile_pattern(arg, nocase=True)
                match = lambda spec, m=matcher: m(spec.fullname.encode())
            else:
                raise _SYNTAX
            i += 3
        else:
            raise _SYNTAX
    return [s.fullname.encode() for s in _all_with_subcommands() if match is None or match(s)]


# -- COMMAND GETKEYS: Redis's key-spec algorithm (db.c getKeysUsingKeySpecs) -----------------
class _KeySpec:
    __slots__ = ("flags", "bs_type", "bs", "fk_type", "fk")

    def __init__(self, raw):
        d = dict(zip(raw[::2], raw[1::2]))
        self.flags = [f.decode() for f in d[b"flags"]]
        bs = dict(zip(d[b"begin_search"][::2], d[b"begin_search"][1::2]))
        fk = dict(zip(d[b"find_keys"][::2], d[b"find_keys"][1::2]))
        self.bs_type = bs[b"type"].decode()
        self.bs = dict(zip(bs[b"spec"][::2], bs[b"spec"][1::2]))
        self.fk_type = fk[b"type"].decode()
        self.fk = dict(zip(fk[b"spec"][::2], fk[b"spec"][1::2]))


class _Target:
    """What GETKEYS needs about any Redis 7.0 command: arity, flags, key specs."""

    __slots__ = ("name", "arity", "flags", "specs", "subcommands")

    def __init__(self, name, meta):
        self.name = name
        self.arity = meta["arity"]
        self.flags = frozenset(meta["flags"])
        reader = hiredis.Reader()
        reader.feed(meta["resp2"]["info"].encode("latin-1"))
        self.specs = [_KeySpec(s) for s in reader.gets()[8]]
        self.subcommands = meta["subcommands"]


_TARGETS = {}


def _target(name):
    t = _TARGETS.get(name)
    if t is None:
        meta = META["commands"].get(name)
        if meta is None:
            return None
        t = _TARGETS[name] = _Target(name, meta)
    return t


def _lookup_target(args):
    base = args[0].lower().decode("latin-1")
    if "|" in base:
        return None
    t = _target(base)
    if t is None or not t.subcommands or len(args) < 2:
        return t
    return _target(base + "|" + args[1].lower().decode("latin-1"))


#: Commands with a native getkeys_proc in Redis 7.0 (used when specs fail or vary).
_NATIVE_GETKEYS = frozenset((
    "sort", "sort_ro", "migrate", "set", "bitfield", "zunionstore", "zinterstore", "zdiffstore",
    "zunion", "zinter", "zdiff", "eval", "eval_ro", "evalsha", "evalsha_ro", "fcall", "fcall_ro",
    "georadius", "georadiusbymember", "xread", "xreadgroup", "lmpop", "blmpop", "zmpop",
    "bzmpop", "sintercard", "zintercard"))


def _has_keys(t):
    return t.name in _NATIVE_GETKEYS or any("not_key" not in s.flags for s in t.specs)


def _keys_from_specs(t, args):
    """[(pos, flags)] or None when a spec is invalid/incomplete (Redis returns -1)."""
    argc = len(args)
    out = []
    for spec in t.specs:
        if "not_key" in spec.flags:
            continue
        if spec.bs_type == "index":
            first = spec.bs[b"index"]
        elif spec.bs_type == "keyword":
            keyword = spec.bs[b"keyword"].lower()
            start = spec.bs[b"startfrom"]
            first = 0
            # As Redis: the search stops *before* end (the last argument, or
            # argv[1] when searching backwards), walking toward it.
            i = start if start > 0 else argc + start
            end = argc - 1 if start > 0 else 1
            step = 1 if i <= end else -1
            while i != end:
                if i >= argc or i < 1:
                    break
                if args[i].lower() == keyword:
                    first = i + 1
                    break
                i += step
            if not first:
                continue
        else:
            return None
        if spec.fk_type == "range":
            step = spec.fk[b"keystep"]
            lastkey, limit = spec.fk[b"lastkey"], spec.fk[b"limit"]
            if lastkey >= 0:
                last = first + lastkey
            elif not limit:
                last = argc + lastkey
            else:
                last = first + ((argc - first) // limit + lastkey)
        elif spec.fk_type == "keynum":
            step = spec.fk[b"keystep"]
            idx = spec.fk[b"keynumidx"]
            if idx >= argc - first:
                return None
            from .args import to_int
            numkeys = to_int(args[first + idx])
            if numkeys is None or numkeys < 0:
                return None
            first += spec.fk[b"firstkey"]
            last = first + numkeys - 1
        else:
            return None
        if last >= argc or last < first or first >= argc:
            return None
        for i in range(first, last + 1, step):
            out.append((i, spec.flags))
        if "incomplete" in spec.flags:
            return None
    return out


_RO_ACCESS = ["RO", "access"]
_RW_ACCESS_UPDATE = ["RW", "access", "update"]
_OW_UPDATE = ["OW", "update"]


def _native_keys(t, args):
    """The getkeys_proc fallbacks that can still find keys after the specs gave up."""
    name, argc = t.name, len(args)
    if name == "set":
        for a in args[3:]:
            if a.lower() == b"get":
                return [(1, _RW_ACCESS_UPDATE)]
        return [(1, _OW_UPDATE)]
    if name == "bitfield":
        readonly = True
        i = 2
        while i < argc:
            rem = argc - i - 1
            a = args[i].lower()
            if a == b"get" and rem >= 2:
                i += 3
            elif a in (b"set", b"incrby") and rem >= 3:
                readonly = False
                break
            elif a == b"overflow" and rem >= 1:
                i += 2
            else:
                readonly = False
                break
        return [(1, _RO_ACCESS if readonly else _RW_ACCESS_UPDATE)]
    if name == "sort_ro":
        return [(1, _RO_ACCESS)]
    if name in ("georadius", "georadiusbymember"):
        stored = None
        i = 5
        while i < argc:
            if args[i].lower() in (b"store", b"storedist") and i + 1 < argc:
                stored = i + 1
                i += 1
            i += 1
        return [(1, _RO_ACCESS)] + ([(stored, _OW_UPDATE)] if stored is not None else [])
    if name == "sort":
        keys = [(1, _RO_ACCESS)]
        store = None
        i = 2
        while i < argc:
            a = args[i].lower()
            if a == b"limit":
                i += 2
            elif a == b"store" and i + 1 < argc:
                store = i + 1
            elif a in (b"get", b"by"):
                i += 1
            i += 1
        if store is not None:
            keys.append((store, _OW_UPDATE))
        return keys
    if name == "migrate":
        first, num = 3, 1
        if argc > 6:
            i = 6
            while i < argc:
                a = args[i].lower()
                if a == b"keys":
                    if args[3]:
                        return []
                    first, num = i + 1, argc - i - 1
                    break
                if a == b"auth":
                    i += 1
                elif a == b"auth2":
                    i += 2
                i += 1
        return [(first + k, ["RW", "access", "delete"]) for k in range(num)]
    return []


def get_keys(t, args):
    """Redis's getKeysFromCommandWithSpecs: specs first unless flags vary, then native."""
    varflags = any("variable_flags" in s.flags for s in t.specs)
    if not varflags and any("not_key" not in s.flags for s in t.specs):
        keys = _keys_from_specs(t, args)
        if keys is not None:
            return keys
    if t.name in _NATIVE_GETKEYS:
        return _native_keys(t, args)
    return []


def _getkeys(argv, with_flags):
    args = argv[2:]
    t = _lookup_target(args)
    if t is None:
        raise ReplyError(errors.GETKEYS_INVALID_COMMAND)
    if not _has_keys(t):
        raise ReplyError(errors.GETKEYS_NO_KEYS)
    argc = len(args)
    if (t.arity > 0 and t.arity != argc) or argc < -t.arity:
        raise ReplyError(errors.GETKEYS_BAD_ARITY)
    keys = get_keys(t, args)
    if not keys:
        if "no_mandatory_keys" in t.flags:
            return []
        raise ReplyError(errors.GETKEYS_BAD_ARGS)
    if not with_flags:
        return [args[pos] for pos, _ in keys]
    return [[args[pos], Set([Status(f) for f in flags])] for pos, flags in keys]


@command("command|getkeys")
def command_getkeys(client, argv):
    return _getkeys(argv, False)


@command("command|getkeysandflags")
def command_getkeysandflags(client, argv):
    return _getkeys(argv, True)


_COMMAND_HELP = [Status(s) for s in (
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
)]


@command("command|help")
def command_help(client, argv):
    return _COMMAND_HELP
