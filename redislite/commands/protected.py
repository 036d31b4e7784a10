"""DEBUG and MODULE: the commands Redis 7.0 guards with ``enable-debug-command``
and ``enable-module-command`` (both ``no`` by default).

The protocol refuses them with Redis's text before anything else runs
(``CommandSpec.protected``, checked in ``Client.execute``), so with the
defaults every reply equals Redis's. Allowed, DEBUG offers the subcommands
listed by its HELP; MODULE lists no modules and loads none (RedisLite has no
module API), answering as Redis does for a module that fails to load.
"""

import re

from .. import errors
from ..errors import ReplyError
from ..resp.encoder import OK, Status
from ..storage.eviction import lfu_decay
from .keys import _refcount, object_encoding
from .registry import command

_NO_SUCH_KEY = ReplyError(errors.NO_SUCH_KEY)
_LOAD_FAILED = ReplyError("ERR Error loading the extension. Please check the server logs.")
_UNLOAD_FAILED = ReplyError("ERR Error unloading module: no such module with that name")

_MODULE_HELP = [Status(s) for s in (
    "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LIST",
    "    Return a list of loaded modules.",
    "LOAD <path> [<arg> ...]",
    "    Load a module library from <path>, passing to it any optional arguments.",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "    Load a module library from <path>, while passing it module configurations and optional arguments.",
    "UNLOAD <name>",
    "    Unload a module.",
    "HELP",
    "    Prints this help.",
)]
#: the lines of Redis 7.0's DEBUG HELP for the subcommands RedisLite implements
_DEBUG_HELP = [Status(s) for s in (
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key>",
    "    Show low level info about the `key` and associated value.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "HELP",
    "    Prints this help.",
)]


# -- MODULE ------------------------------------------------------------------------------
@command("module|help")
def module_help(client, argv):
    return list(_MODULE_HELP)


@command("module|list")
def module_list(client, argv):
    return []


@command("module|load")
def module_load(client, argv):
    return _LOAD_FAILED


@command("module|loadex")
def module_loadex(client, argv):
    return _LOAD_FAILED


@command("module|unload")
def module_unload(client, argv):
    return _UNLOAD_FAILED


# -- DEBUG -------------------------------------------------------------------------------
def _unknown(argv):
    return ReplyError("ERR unknown subcommand or wrong number of arguments for '%s'. Try DEBUG HELP."
                      % argv[1].decode("utf-8", "surrogateescape"))


def _op_object(ks, args):
    """debugCommand's OBJECT line, from RedisLite's view of the value (no quicklist fields)."""
    key, sharing = args
    v = ks._bucket(key).get(key)
    if v is None:
        raise _NO_SUCH_KEY
    from ..persistence import rdb
    body = []
    rdb.Encoder(True).value(v, body)
    serialized = sum(map(len, body)) - 1            # rdbSavedObjectLen: no type byte
    now = ks.time.lru
    if ks.shard.lfu:
        stamp, idle = lfu_decay(ks.access.get(key), ks.time.ms, ks.shard.lfu_decay_time), 0
    else:
        stamp = ks.access.get(key, now)
        idle = now - stamp if now >= stamp else 0
    encoding = object_encoding(v)
    line = ("Value at:0x%x refcount:%d encoding:%s serializedlength:%d lru:%d lru_seconds_idle:%d"
            % (id(v), _refcount(v, sharing), encoding, serialized, stamp & 0xFFFFFF, idle))
    if encoding == "quicklist":
        line += _quicklist_fields(list(v))
    return Status(line)


def _lp_entry_size(e):
    """Bytes one element takes in a listpack (lpEncode*: the encoding, the data,
    the back-length), for DEBUG OBJECT's quicklist fields."""
    n = len(e)
    v = None
    if 0 < n <= 20 and (e[:1] != b"0" or n == 1) and e.lstrip(b"-").isdigit() and e != b"-0":
        v = int(e)
    if v is not None and -(1 << 63) <= v < (1 << 63):
        if 0 <= v <= 127:
            size = 1
        elif -4096 <= v <= 4095:
            size = 2
        elif -32768 <= v <= 32767:
            size = 3
        elif -(1 << 23) <= v < (1 << 23):
            size = 4
        elif -(1 << 31) <= v < (1 << 31):
            size = 5
        else:
            size = 9
    else:
        size = (1 if n < 64 else 2 if n < 4096 else 5) + n
    return size + (1 if size < 128 else 2 if size < 16384 else 3 if size < 2097152
                   else 4 if size < 268435456 else 5)


def _quicklist_fields(items, limit=8192):
    """' ql_nodes:... ql_uncompressed_size:...' for a list packed as Redis 7.0 packs
    it with list-max-listpack-size -2 (8 KB nodes) and no compression."""
    nodes, total, node = 0, 0, 7
    for e in items:
        size = _lp_entry_size(e)
        if nodes == 0 or node + size > limit:
            if nodes:
                total += node
            nodes += 1
            node = 7        # a listpack's header (6 bytes) and end byte
        node += size
    total += node if nodes else 0
    return (" ql_nodes:%d ql_avg_node:%.2f ql_listpack_max:-2 ql_compressed:0 ql_uncompressed_size:%d"
            % (nodes, len(items) / nodes if nodes else 0.0, total))


@command("debug")
def debug(client, argv):
    sub = argv[1].lower()
    n = len(argv)
    server = client.server
    if sub == b"help" and n == 2:
        return list(_DEBUG_HELP)
    if sub == b"object" and n == 3:
        policy = server.maxmemory_policy
        sharing = not server.maxmemory or not (policy.endswith("lru") or policy.endswith("lfu"))
        return server.router.call(client.db, argv[2], _op_object, (argv[2], sharing))
    if sub == b"set-active-expire" and n == 3:
        digits = re.match(rb"\s*[-+]?[0-9]+", argv[2])        # atoi: "abc" is 0
        on = bool(digits and int(digits.group()))
        for shard in server.shards:
            shard.active_expire = on
        return OK
    if sub == b"log" and n == 3:
        from twisted.logger import Logger
        Logger(namespace="redislite.debug").warn("DEBUG LOG: {message}",
                                                  message=argv[2].decode("utf-8", "replace"))
        return OK
    if sub == b"error" and n == 3:
        # sent as given, as Redis does (no ERR prefix), but never a line break inside
        return ReplyError(argv[2].decode("utf-8", "surrogateescape").replace("\r", " ").replace("\n", " "))
    return _unknown(argv)
