"""One frozen, validated configuration: every Redis 7.0 parameter plus RedisLite's own.

Why one table: redis.conf files, ``REDISLITE_*`` variables, twistd options,
CONFIG GET/SET, ``.env.example`` and ``docs/configuration.md`` must never
disagree, so all of them are driven by :data:`PARAMS`.  Parsing, bounds, error
texts and the way values are printed follow Redis 7.0.15's ``config.c``
(verified against the real server, see ``tests/compat/test_config_compat.py``).

Public API::

    PARAMS: dict[str, Param]             canonical name -> Param (table order)
    ALIASES: dict[str, str]              alias -> canonical name (slaveof -> replicaof ...)
    lookup(name) -> Param | None         case-insensitive, aliases too
    Config.defaults() / cfg[name] / cfg.get_text(name) / cfg.with_changes({...})
    cfg.config_get([patterns]) -> [(name, text)]
    config_set(cfg, [(name, value)], local_client=False, loading=False) -> Config
    parse_config_file(text) -> [(directive, [args])]
    build_config(cli, env, file_path) -> Config      cli > env > file > defaults
    env_example() -> str ; config_doc() -> str       generated files
    ConfigError(str)

Typed values (``cfg[name]``): bool for yes/no, int for integer/memory/octal
parameters (``maxmemory-clients`` stores a percentage as a negative int, as
Redis does), str for enums and strings, and for the special parameters: ``save``
a tuple of (seconds, changes); ``client-output-buffer-limit`` a tuple of
(class, hard, soft, seconds) for normal/slave/pubsub; ``oom-score-adj-values`` a
tuple of 3 ints; ``notify-keyspace-events`` the NOTIFY_* flag int; ``bind`` a
tuple of addresses; ``replicaof`` None or (host, port);
``latency-tracking-info-percentiles`` a tuple of floats; ``shutdown-on-sig*``
the SHUTDOWN_* flag int; ``dir`` the path as given.
"""

from __future__ import annotations

import glob as _fsglob
import os
import re
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

import attr

from redislite import errors
from redislite.glob import match as _glob_match

__all__ = [
    "Param", "PARAMS", "ALIASES", "lookup", "Config", "ConfigError", "config_set",
    "parse_config_file", "build_config", "env_example", "config_doc", "env_var_name",
    "memtoull", "REDISLITE_ONLY", "ENV_PREFIX",
]

ENV_PREFIX = "REDISLITE_"

# --- Redis 7.0.15 error texts (CONFIG SET) ----------------------------------
# The reply is "ERR " + one of the two wrappers below.
UNKNOWN_OPTION = "ERR Unknown option or number of arguments for CONFIG SET - '%s'"
SET_FAILED = "ERR CONFIG SET failed (possibly related to argument '%s') - %s"
ERR_IMMUTABLE = "can't set immutable config"
ERR_PROTECTED = "can't set protected config"
ERR_DUPLICATE = "duplicate parameter"
ERR_YESNO = "argument must be 'yes' or 'no'"
ERR_ENUM = "argument(s) must be one of the following: %s"
ERR_INTEGER = "argument couldn't be parsed into an integer"
ERR_MEMORY = "argument must be a memory value"
ERR_MEMORY_PERCENT = "argument must be a memory or percent value"
ERR_OCTAL = "argument couldn't be parsed as an octal number"
ERR_RANGE = "argument must be between %s and %s inclusive"
ERR_PERCENT_RANGE = "percentage argument must be less or equal to %d"
ERR_WRONG_ARGS = "wrong number of arguments"
ERR_SAVE = "Invalid save parameters"
ERR_OBUF_ARGS = "Wrong number of arguments in buffer limit configuration."
ERR_OBUF_CLASS = "Invalid client class specified in buffer limit configuration."
ERR_OBUF_VALUE = "Error in hard, soft or soft_seconds setting in buffer limit configuration."
ERR_OOM_VALUES = "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
ERR_KEYSPACE_EVENTS = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
ERR_BIND_TOO_MANY = "Too many bind addresses specified."
ERR_MASTER_PORT = "Invalid master port"
ERR_PERCENTILES = "Invalid latency-tracking-info-percentiles parameters"
ERR_PERCENTILES_RANGE = "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
ERR_SHUTDOWN_SAVE_NOSAVE = "shutdown options SAVE and NOSAVE can't be used simultaneously"
ERR_ACTIVEDEFRAG = ("Active defragmentation cannot be enabled: it requires a Redis server "
                    "compiled with a modified Jemalloc like the one shipped by default with "
                    "the Redis source distribution")
ERR_DBFILENAME = "dbfilename can't be a path, just a filename"
ERR_AOF_FILENAME_EMPTY = "appendfilename can't be empty"
ERR_AOF_FILENAME_PATH = "appendfilename can't be a path, just a filename"
ERR_AOF_DIRNAME_EMPTY = "appenddirname can't be empty"
ERR_AOF_DIRNAME_PATH = "appenddirname can't be a path, just a dirname"
ERR_HOSTNAME_LEN = "Hostnames must be less than 256 characters"
ERR_HOSTNAME_CHARS = "Hostnames may only contain alphanumeric characters, hyphens or dots"
ERR_PROC_TITLE = "template format is invalid or contains unknown variables"
# config-file errors (Redis's own texts where it has one)
ERR_FILE_QUOTES = "Unbalanced quotes in configuration line"
ERR_FILE_DIRECTIVE = "Bad directive or wrong number of arguments"

LLONG_MAX = 2 ** 63 - 1
LLONG_MIN = -2 ** 63
ULLONG_MAX = 2 ** 64 - 1
INT_MAX = 2 ** 31 - 1
INT_MIN = -2 ** 31
UINT_MAX = 2 ** 32 - 1
LONG_MAX = LLONG_MAX
REPL_BACKLOG_MIN_SIZE = 16 * 1024

# notify-keyspace-events flags (Redis server.h)
NOTIFY_KEYSPACE = 1 << 0
NOTIFY_KEYEVENT = 1 << 1
NOTIFY_GENERIC = 1 << 2
NOTIFY_STRING = 1 << 3
NOTIFY_LIST = 1 << 4
NOTIFY_SET = 1 << 5
NOTIFY_HASH = 1 << 6
NOTIFY_ZSET = 1 << 7
NOTIFY_EXPIRED = 1 << 8
NOTIFY_EVICTED = 1 << 9
NOTIFY_STREAM = 1 << 10
NOTIFY_KEY_MISS = 1 << 11
NOTIFY_LOADED = 1 << 12
NOTIFY_MODULE = 1 << 13
NOTIFY_NEW = 1 << 14
NOTIFY_ALL = (NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH
              | NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE)
_NOTIFY_CHARS = {"A": NOTIFY_ALL, "g": NOTIFY_GENERIC, "$": NOTIFY_STRING, "l": NOTIFY_LIST,
                 "s": NOTIFY_SET, "h": NOTIFY_HASH, "z": NOTIFY_ZSET, "x": NOTIFY_EXPIRED,
                 "e": NOTIFY_EVICTED, "K": NOTIFY_KEYSPACE, "E": NOTIFY_KEYEVENT,
                 "t": NOTIFY_STREAM, "m": NOTIFY_KEY_MISS, "d": NOTIFY_MODULE, "n": NOTIFY_NEW}

# shutdown-on-sigint / shutdown-on-sigterm flags
SHUTDOWN_NOFLAGS, SHUTDOWN_SAVE, SHUTDOWN_NOSAVE, SHUTDOWN_NOW, SHUTDOWN_FORCE = 0, 1, 2, 4, 8

#: What RedisLite does with a parameter.
LIVE = "live"        # used by RedisLite; CONFIG SET takes effect immediately
STARTUP = "startup"  # used by RedisLite when it starts (immutable, or re-read on restart)
STORED = "stored"    # accepted, validated and reported; no effect in RedisLite yet
EFFECTS = (LIVE, STARTUP, STORED)


class ConfigError(Exception):
    """A startup configuration problem: one line naming the option and what it accepts."""


class _Invalid(Exception):
    """A value rejected with Redis's CONFIG SET error text (``errstr``)."""

    def __init__(self, errstr: str, generic: bool = False):
        super().__init__(errstr)
        self.errstr = errstr
        self.generic = generic  # a type-level error: explain with Param.expected()


# --- C parsing helpers -------------------------------------------------------

def string2ll(s: str) -> int | None:
    """Redis's strict ``string2ll``: no spaces, no '+', no leading zeros, 64-bit."""
    if not s or len(s) > 20:
        return None
    if s == "0":
        return 0
    body = s[1:] if s[0] == "-" else s
    if not body or not body.isascii() or not body.isdigit() or body[0] == "0":
        return None
    v = int(s)
    return v if LLONG_MIN <= v <= LLONG_MAX else None


_C_SPACE = " \t\n\v\f\r"


def _strtoll(s: str, base: int = 10, bits: int = 64):
    """C ``strtoll``: returns (value, rest, overflowed); rest is what endptr points at."""
    i, n = 0, len(s)
    while i < n and s[i] in _C_SPACE:
        i += 1
    neg = False
    if i < n and s[i] in "+-":
        neg = s[i] == "-"
        i += 1
    digits = "01234567" if base == 8 else "0123456789"
    j = i
    while j < n and s[j] in digits:
        j += 1
    if j == i:
        return 0, s, False
    v = int(s[i:j], base)
    v = -v if neg else v
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if v > hi:
        return hi, s[j:], True
    if v < lo:
        return lo, s[j:], True
    return v, s[j:], False


def _c_int(v: int) -> int:
    """Truncate like an assignment to a 32-bit C ``int``."""
    return ((v + 2 ** 31) % 2 ** 32) - 2 ** 31


_MEM_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000 ** 2, "mb": 1024 ** 2,
              "g": 1000 ** 3, "gb": 1024 ** 3}


def memtoull(s: str) -> int | None:
    """Redis 7.0.15 ``memtoull``: ``100mb``, ``1gb``, ``10k`` (k=1000, kb=1024), or None.

    Quirks kept: an empty number is 0 (``""`` and ``"mb"`` parse), the number
    saturates at 2**64-1, and the multiplication wraps modulo 2**64.
    """
    if s.startswith("-"):
        return None
    i = 0
    while i < len(s) and s[i] in "0123456789":
        i += 1
    mul = _MEM_UNITS.get(s[i:].lower())
    if mul is None or i >= 128:
        return None
    val = min(int(s[:i]), ULLONG_MAX) if i else 0
    return (val * mul) & ULLONG_MAX


_FLOAT_RE = re.compile(
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?"
    r"|inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?)", re.IGNORECASE)


def string2d(s: str) -> float | None:
    """Redis's ``string2d`` (strtod of the whole string, no leading space, no NaN)."""
    if not s or s[0] in _C_SPACE or not _FLOAT_RE.fullmatch(s):
        return None
    body = s.lstrip("+-")
    try:
        if body[:2].lower() == "0x":
            v = float.fromhex(s)
        else:
            v = float(s)
    except (ValueError, OverflowError):
        return None
    if v != v:
        return None
    if v in (float("inf"), float("-inf")) and "inf" not in s.lower():
        return None  # ERANGE overflow
    return v


def _fmt_percentile(v: float) -> str:
    """``sprintf("%f")`` followed by Redis's ``trimDoubleString``."""
    text = "%f" % v
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text = text[:-1]
    return text


def sdssplitargs(line: str) -> list[str] | None:
    """Split a redis.conf line like Redis's ``sdssplitargs``; None on bad quoting."""
    args: list[str] = []
    i, n = 0, len(line)
    hexdigits = "0123456789abcdefABCDEF"
    while True:
        while i < n and line[i] in _C_SPACE:
            i += 1
        if i >= n:
            return args
        cur: list[str] = []
        inq = insq = False
        while True:
            c = line[i] if i < n else ""
            if inq:
                if c == "\\" and i + 3 < n and line[i + 1] == "x" \
                        and line[i + 2] in hexdigits and line[i + 3] in hexdigits:
                    cur.append(chr(int(line[i + 2:i + 4], 16)))
                    i += 3
                elif c == "\\" and i + 1 < n:
                    i += 1
                    cur.append({"n": "\n", "r": "\r", "t": "\t", "b": "\b",
                                "a": "\a"}.get(line[i], line[i]))
                elif c == '"':
                    if i + 1 < n and line[i + 1] not in _C_SPACE:
                        return None
                    i += 1
                    break
                elif not c:
                    return None
                else:
                    cur.append(c)
            elif insq:
                if c == "\\" and i + 1 < n and line[i + 1] == "'":
                    i += 1
                    cur.append("'")
                elif c == "'":
                    if i + 1 < n and line[i + 1] not in _C_SPACE:
                        return None
                    i += 1
                    break
                elif not c:
                    return None
                else:
                    cur.append(c)
            else:
                if c in (" ", "\n", "\r", "\t", ""):
                    if c:
                        i += 1
                    break
                if c == '"':
                    inq = True
                elif c == "'":
                    insq = True
                else:
                    cur.append(c)
            i += 1
        args.append("".join(cur))


# --- the parameter table ------------------------------------------------------

@attr.frozen
class Param:
    """One configuration parameter.

    ``default`` is the RedisLite default in redis.conf syntax; ``redis_default``
    is what redis-server 7.0.15 prints when it differs (None when equal).
    ``mutable`` says whether CONFIG SET may change it; ``effect`` what RedisLite
    does with it (:data:`LIVE`, :data:`STARTUP` or :data:`STORED`).
    """

    name: str
    kind: str  # bool | int | memory | octal | enum | string | special
    default: str
    mutable: bool = True
    effect: str = STORED
    alias: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    unsigned: bool = False          # bounds compared as unsigned 64-bit (C unsigned types)
    choices: tuple = ()             # enum names, in Redis's order
    synonyms: tuple = ()            # enum (name, printed-as) pairs, e.g. relative -> yes
    flags: frozenset = frozenset()  # percent hidden protected deny-loading sensitive multi-arg redislite clamp-hz
    validator: Callable | None = attr.field(default=None, eq=False, repr=False)
    redis_default: str | None = None
    doc: str = ""

    @property
    def multi_arg(self) -> bool:
        return "multi-arg" in self.flags

    @property
    def hidden(self) -> bool:
        return "hidden" in self.flags

    @property
    def redislite_only(self) -> bool:
        return "redislite" in self.flags

    @property
    def env_var(self) -> str:
        return env_var_name(self.name)

    def expected(self) -> str:
        """Human description of accepted values, for ConfigError and the docs."""
        if self.kind == "bool":
            return "yes or no"
        if self.kind == "enum":
            many = "one or more of" if self.multi_arg else "one of"
            return "%s: %s" % (many, ", ".join(self.choices))
        if self.kind in ("int", "octal", "memory"):
            lo, hi = self.minimum, self.maximum
            if self.kind == "octal":
                rng = "an octal number between %o and %o" % (lo, hi)
            else:
                rng = "an integer between %d and %d" % (lo, hi)
            if self.kind == "memory":
                rng = "a memory value (e.g. 1048576, 100mb, 1gb, 10k; k=1000, kb=1024) between %d and %d" % (lo, hi)
                if "percent" in self.flags:
                    rng += ", or a percentage up to 100%"
            return rng
        return _SPECIAL_EXPECTED.get(self.name, "a string")


def env_var_name(name: str) -> str:
    """``maxmemory-policy`` -> ``REDISLITE_MAXMEMORY_POLICY``."""
    return ENV_PREFIX + name.upper().replace("-", "_")


_SPECIAL_EXPECTED = {
    "save": "pairs of '<seconds> <changes>' (e.g. '3600 1 300 100'), or '' to disable",
    "client-output-buffer-limit": "groups of '<class> <hard> <soft> <seconds>' with class normal, replica or pubsub",
    "oom-score-adj-values": "three integers between -2000 and 2000",
    "notify-keyspace-events": "characters from 'Ag$lshzxeKEtmdn'",
    "bind": "up to 16 space-separated addresses",
    "replicaof": "'<host> <port>' (or '<host>:<port>' outside config files) or 'no one'",
    "latency-tracking-info-percentiles": "space-separated numbers between 0 and 100",
    "dir": "an existing directory",
}

_table: list[Param] = []


def _add(name, kind, default, *, mutable=True, effect=STORED, alias=None, lo=None, hi=None,
         unsigned=False, choices=(), synonyms=(), flags=(), validator=None, redis_default=None,
         doc=""):
    _table.append(Param(name=name, kind=kind, default=default, mutable=mutable, effect=effect,
                        alias=alias, minimum=lo, maximum=hi, unsigned=unsigned,
                        choices=tuple(choices), synonyms=tuple(synonyms), flags=frozenset(flags),
                        validator=validator, redis_default=redis_default, doc=doc))


def _bool(name, default, **kw):
    _add(name, "bool", default, **kw)


def _int(name, lo, hi, default, **kw):
    _add(name, "int", default, lo=lo, hi=hi, **kw)


def _mem(name, lo, hi, default, **kw):
    _add(name, "memory", default, lo=lo, hi=hi, **kw)


def _enum(name, choices, default, **kw):
    _add(name, "enum", default, choices=choices, **kw)


def _str(name, default, **kw):
    _add(name, "string", default, **kw)


def _special(name, default, **kw):
    _add(name, "special", default, **kw)


# validators for string parameters (return an errstr or None)
def _v_basename(err):
    return lambda v: err if ("/" in v or "\\" in v) else None


def _v_aof_filename(v):
    return ERR_AOF_FILENAME_EMPTY if v == "" else _v_basename(ERR_AOF_FILENAME_PATH)(v)


def _v_aof_dirname(v):
    return ERR_AOF_DIRNAME_EMPTY if v == "" else _v_basename(ERR_AOF_DIRNAME_PATH)(v)


def _v_hostname(v):
    if len(v.encode("utf-8", "surrogateescape")) >= 256:
        return ERR_HOSTNAME_LEN
    if not re.fullmatch(r"[A-Za-z0-9.\-]*", v):
        return ERR_HOSTNAME_CHARS
    return None


_PROC_TITLE_VARS = {"title": "", "listen-addr": "*:6379", "server-mode": "",
                    "config-file": "-", "port": "6379", "tls-port": "0", "unixsocket": ""}


def _v_proc_title(v):
    """Redis's ``validateProcTitleTemplate``: known {variables}, non-empty expansion."""
    out, i = [], 0
    while i < len(v):
        j = v.find("{", i)
        if j < 0:
            out.append(v[i:])
            break
        out.append(v[i:j])
        if j + 1 >= len(v):
            return ERR_PROC_TITLE
        if v[j + 1] == "{":
            out.append("{")
            i = j + 2
            continue
        k = v.find("}", j + 1)
        if k < 0 or v[j + 1:k] not in _PROC_TITLE_VARS:
            return ERR_PROC_TITLE
        out.append(_PROC_TITLE_VARS[v[j + 1:k]])
        i = k + 1
    return None if "".join(out).strip(" ") else ERR_PROC_TITLE


def _v_activedefrag(v):
    return ERR_ACTIVEDEFRAG if v else None


IMM = dict(mutable=False)

# RedisLite-only parameters first: they are the ones operators look for.
_int("shards", 1, 1024, "4", effect=STARTUP, flags=("redislite",), **IMM,
     doc="Number of shard actors the keyspace is split into (by CRC16 hash slot).")
_int("busy-poll-usec", 0, 1000000, "50", effect=LIVE, flags=("redislite",),
     doc="While traffic is dense, spin this long (microseconds) on a non-blocking poll before "
         "sleeping: lower latency for request/response clients; 0 never spins (single-CPU machines never do).")
_int("http-port", 0, 65535, "8080", effect=STARTUP, flags=("redislite",), **IMM,
     doc="Port of the HTTP API and /metrics; 0 disables the HTTP listener.")
_str("http-bind", "127.0.0.1", effect=STARTUP, flags=("redislite",), **IMM,
     doc="Address the HTTP listener binds to.")
_enum("logformat", ("text", "json"), "text", effect=LIVE, flags=("redislite",),
      doc="Log line format: human-readable text or one JSON object per line.")
_bool("http-tls", "no", effect=STARTUP, flags=("redislite",), **IMM,
      doc="Serve the HTTP API over HTTPS with tls-cert-file and tls-key-file (no client certificates).")
_bool("metrics", "yes", effect=STARTUP, flags=("redislite",), **IMM,
      doc="Expose Prometheus metrics at /metrics on the HTTP listener.")
_str("http-token", "", effect=LIVE, flags=("redislite", "sensitive"),
     doc="Bearer token the HTTP API requires (besides requirepass, whose password also works).")
_mem("http-max-body", 1, LLONG_MAX, "16mb", effect=LIVE, flags=("redislite", "hidden"),
     doc="Largest accepted HTTP request body; bigger requests get 413 and are never buffered to disk.")
_str("http-cors-origin", "", effect=LIVE, flags=("redislite",),
     doc="Origin allowed by CORS on the HTTP API ('*' for any); empty sends no CORS headers.")
_bool("http-allow-dangerous", "no", effect=LIVE, flags=("redislite",),
      doc="Allow FLUSHALL, FLUSHDB, CONFIG, SHUTDOWN, DEBUG and replication commands over HTTP.")
_str("http-allowed-hosts", "", effect=LIVE, flags=("redislite",),
     doc="Host header names accepted when http-bind is not loopback (space separated; '*' any; "
         "empty: localhost and the bind address).")

# Redis 7.0.15 parameters, in the order of config.c's static_configs table.
_bool("rdbchecksum", "yes", **IMM)
_bool("daemonize", "no", **IMM, doc="Ignored: use twistd's own daemon options.")
_bool("io-threads-do-reads", "no", **IMM)
_bool("always-show-logo", "no", **IMM)
_bool("protected-mode", "yes", effect=LIVE,
      doc="Refuse clients not connecting from 127.0.0.1 or ::1 while the default user has no password.")
_bool("rdbcompression", "yes")
_bool("rdb-del-sync-files", "no")
_bool("activerehashing", "yes")
_bool("stop-writes-on-bgsave-error", "yes")
_bool("set-proc-title", "yes", **IMM)
_bool("dynamic-hz", "yes")
_bool("lazyfree-lazy-eviction", "no")
_bool("lazyfree-lazy-expire", "no")
_bool("lazyfree-lazy-server-del", "no")
_bool("lazyfree-lazy-user-del", "no")
_bool("lazyfree-lazy-user-flush", "no")
_bool("repl-disable-tcp-nodelay", "no", effect=LIVE,
      doc="Turn TCP_NODELAY off on replica links (fewer, bigger packets; more lag).")
_bool("repl-diskless-sync", "yes", effect=LIVE,
      doc="Full syncs stream the snapshot to replicas that can take it instead of writing a file.")
_bool("aof-rewrite-incremental-fsync", "yes")
_bool("no-appendfsync-on-rewrite", "no")
_bool("cluster-require-full-coverage", "yes")
_bool("rdb-save-incremental-fsync", "yes")
_bool("aof-load-truncated", "yes")
_bool("aof-use-rdb-preamble", "yes")
_bool("aof-timestamp-enabled", "no")
_bool("cluster-replica-no-failover", "no", alias="cluster-slave-no-failover")
_bool("replica-lazy-flush", "no", alias="slave-lazy-flush")
_bool("replica-serve-stale-data", "yes", alias="slave-serve-stale-data")
_bool("replica-read-only", "yes", alias="slave-read-only", effect=LIVE,
      doc="A replica refuses writes from ordinary clients.")
_bool("replica-ignore-maxmemory", "yes", alias="slave-ignore-maxmemory")
_bool("replica-ignore-disk-write-errors", "no")
_bool("jemalloc-bg-thread", "yes", effect=LIVE,
      doc="Give freed heap memory back to the OS in a background thread after RSS grows "
          "(glibc malloc_trim, as jemalloc's background purge; redislite/memtrim.py).")
_bool("activedefrag", "no", validator=_v_activedefrag)
_bool("syslog-enabled", "no", **IMM)
_bool("cluster-enabled", "no", **IMM)
_bool("appendonly", "no", flags=("deny-loading",), effect=LIVE,
      doc="Log every write to the append-only file.")
_bool("cluster-allow-reads-when-down", "no")
_bool("cluster-allow-pubsubshard-when-down", "yes")
_bool("crash-log-enabled", "yes")
_bool("crash-memcheck-enabled", "yes")
_bool("use-exit-on-panic", "no", flags=("hidden",))
_bool("disable-thp", "yes", **IMM)
_bool("cluster-allow-replica-migration", "yes")
_bool("replica-announced", "yes")
_bool("latency-tracking", "yes")
_bool("aof-disable-auto-gc", "no")

_str("aclfile", "", **IMM)
_str("unixsocket", "", **IMM)
_str("pidfile", "", **IMM, doc="Ignored: use twistd's --pidfile.")
_str("replica-announce-ip", "", alias="slave-announce-ip")
_str("masteruser", "", flags=("sensitive",), effect=LIVE, doc="User name to authenticate to the master with.")
_str("cluster-announce-ip", "")
_str("cluster-config-file", "nodes.conf", **IMM)
_str("cluster-announce-hostname", "", validator=_v_hostname)
_str("syslog-ident", "redis", **IMM)
_str("dbfilename", "dump.rdb", flags=("protected",), validator=_v_basename(ERR_DBFILENAME),
     effect=STARTUP, doc="Snapshot file name, inside dir.")
_str("appendfilename", "appendonly.aof", **IMM, validator=_v_aof_filename, effect=STARTUP,
     doc="Base name of the append-only files.")
_str("appenddirname", "appendonlydir", **IMM, validator=_v_aof_dirname, effect=STARTUP,
     doc="Directory (inside dir) that holds the append-only files.")
_str("server_cpulist", "", **IMM)
_str("bio_cpulist", "", **IMM)
_str("aof_rewrite_cpulist", "", **IMM)
_str("bgsave_cpulist", "", **IMM)
_str("ignore-warnings", "")
_str("proc-title-template", "{title} {listen-addr} {server-mode}", validator=_v_proc_title)
_str("bind-source-addr", "")
_str("logfile", "", **IMM, effect=STARTUP, doc="Log file path; empty logs to standard output.")
_str("masterauth", "", flags=("sensitive",), effect=LIVE, doc="Password to authenticate to the master with.")
_str("requirepass", "", flags=("sensitive",), effect=LIVE,
     doc="Password of the default user; empty means no AUTH needed.")

_enum("supervised", ("upstart", "systemd", "auto", "no"), "no", **IMM)
_enum("syslog-facility", ("user", "local0", "local1", "local2", "local3", "local4", "local5",
                          "local6", "local7"), "local0", **IMM)
_enum("repl-diskless-load", ("disabled", "on-empty-db", "swapdb"), "disabled", flags=("deny-loading",))
_enum("loglevel", ("debug", "verbose", "notice", "warning"), "notice", effect=LIVE,
      doc="Log verbosity.")
_enum("maxmemory-policy", ("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                           "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"),
      "noeviction", effect=LIVE, doc="What to evict when maxmemory is reached.")
_enum("appendfsync", ("everysec", "always", "no"), "everysec", effect=LIVE,
      doc="When the append-only file is fsynced (off the reactor thread).")
_enum("oom-score-adj", ("no", "yes", "relative", "absolute"), "no", synonyms=(("relative", "yes"),))
_enum("acl-pubsub-default", ("allchannels", "resetchannels"), "resetchannels")
_enum("sanitize-dump-payload", ("no", "yes", "clients"), "no")
_enum("enable-protected-configs", ("no", "yes", "local"), "no", **IMM, effect=STARTUP,
      doc="Allow CONFIG SET of protected parameters (dir, dbfilename).")
_enum("enable-debug-command", ("no", "yes", "local"), "no", **IMM, effect=STARTUP,
      doc="Allow the DEBUG command (local: from loopback clients only).")
_enum("enable-module-command", ("no", "yes", "local"), "no", **IMM, effect=STARTUP,
      doc="Allow MODULE LOAD/LOADEX/UNLOAD (RedisLite loads no modules: they then fail as in Redis).")
_enum("cluster-preferred-endpoint-type", ("ip", "hostname", "unknown-endpoint"), "ip")
_enum("propagation-error-behavior", ("ignore", "panic", "panic-on-replicas"), "ignore")
_enum("shutdown-on-sigint", ("default", "save", "nosave", "now", "force"), "default", flags=("multi-arg",))
_enum("shutdown-on-sigterm", ("default", "save", "nosave", "now", "force"), "default", flags=("multi-arg",))

_int("databases", 1, INT_MAX, "16", **IMM, effect=STARTUP, doc="Number of logical databases.")
_int("port", 0, 65535, "6379", effect=STARTUP, doc="TCP port of the Redis protocol listener; 0 disables it.")
_int("io-threads", 1, 128, "1", **IMM)
_int("auto-aof-rewrite-percentage", 0, INT_MAX, "100")
_int("cluster-replica-validity-factor", 0, INT_MAX, "10", alias="cluster-slave-validity-factor")
_int("list-max-listpack-size", INT_MIN, INT_MAX, "-2", alias="list-max-ziplist-size")
_int("tcp-keepalive", 0, INT_MAX, "300")
_int("cluster-migration-barrier", 0, INT_MAX, "1")
_int("active-defrag-cycle-min", 1, 99, "1")
_int("active-defrag-cycle-max", 1, 99, "25")
_int("active-defrag-threshold-lower", 0, 1000, "10")
_int("active-defrag-threshold-upper", 0, 1000, "100")
_int("lfu-log-factor", 0, INT_MAX, "10", effect=LIVE, doc="LFU counter logarithm factor.")
_int("lfu-decay-time", 0, INT_MAX, "1", effect=LIVE, doc="Minutes after which an LFU counter decays.")
_int("replica-priority", 0, INT_MAX, "100", alias="slave-priority")
_int("repl-diskless-sync-delay", 0, INT_MAX, "5", effect=LIVE,
     doc="Seconds a diskless full sync waits for more replicas before it starts.")
_int("maxmemory-samples", 1, INT_MAX, "5", effect=LIVE, doc="Keys sampled per eviction.")
_int("maxmemory-eviction-tenacity", 0, 100, "10", effect=LIVE, doc="How hard eviction works per write.")
_int("timeout", 0, INT_MAX, "0", effect=LIVE, doc="Close idle clients after this many seconds (0 = never).")
_int("replica-announce-port", 0, 65535, "0", alias="slave-announce-port")
_int("tcp-backlog", 0, INT_MAX, "511", **IMM, effect=STARTUP, doc="listen() backlog.")
_int("cluster-port", 0, 65535, "0", **IMM)
_int("cluster-announce-bus-port", 0, 65535, "0")
_int("cluster-announce-port", 0, 65535, "0")
_int("cluster-announce-tls-port", 0, 65535, "0")
_int("repl-timeout", 1, INT_MAX, "60", effect=LIVE, doc="Replication timeout in seconds.")
_int("repl-ping-replica-period", 1, INT_MAX, "10", alias="repl-ping-slave-period", effect=LIVE,
     doc="Seconds between the master's PINGs to replicas.")
_int("list-compress-depth", 0, INT_MAX, "0")
_int("rdb-key-save-delay", INT_MIN, INT_MAX, "0", flags=("hidden",))
_int("key-load-delay", INT_MIN, INT_MAX, "0", flags=("hidden",))
_int("active-expire-effort", 1, 10, "1", effect=LIVE, doc="Effort of the background expire cycle (1-10).")
_int("hz", 0, INT_MAX, "10", flags=("clamp-hz",), effect=LIVE,
     doc="Background task frequency; values are clamped to 1..500 as in Redis.")
_int("min-replicas-to-write", 0, INT_MAX, "0", alias="min-slaves-to-write", effect=LIVE,
     doc="Refuse writes (NOREPLICAS) with fewer good replicas than this (0 = off).")
_int("min-replicas-max-lag", 0, INT_MAX, "10", alias="min-slaves-max-lag", effect=LIVE,
     doc="Seconds since its last ACK under which a replica counts as good.")
_int("watchdog-period", 0, INT_MAX, "0", flags=("hidden",))
_int("shutdown-timeout", 0, INT_MAX, "10")
_int("repl-diskless-sync-max-replicas", 0, INT_MAX, "0", effect=LIVE,
     doc="Start a diskless full sync at once when this many replicas wait (0 = no limit).")
_int("maxclients", 1, UINT_MAX, "10000", unsigned=True, effect=LIVE,
     doc="Maximum number of connected clients.")
_add("unixsocketperm", "octal", "0", lo=0, hi=0o777, unsigned=True, **IMM)
_int("socket-mark-id", 0, UINT_MAX, "0", unsigned=True, **IMM)
_int("active-defrag-max-scan-fields", 1, LONG_MAX, "1000")
_int("slowlog-max-len", 0, LONG_MAX, "128", effect=LIVE, doc="Entries kept in the slow log.")
_int("acllog-max-len", 0, LONG_MAX, "128")
_int("busy-reply-threshold", 0, LONG_MAX, "5000", alias="lua-time-limit", effect=LIVE,
     doc="Milliseconds a script may run before other clients get BUSY.")
_int("cluster-node-timeout", 0, LLONG_MAX, "15000")
_int("slowlog-log-slower-than", -1, LLONG_MAX, "10000", effect=LIVE,
     doc="Microseconds above which a command is logged in the slow log (-1 disables).")
_int("latency-monitor-threshold", 0, LLONG_MAX, "0")
_mem("proto-max-bulk-len", 1024 * 1024, LONG_MAX, "512mb", effect=LIVE,
     doc="Largest bulk string a client may send.")
_int("stream-node-max-entries", 0, LLONG_MAX, "100")
_mem("repl-backlog-size", 1, LLONG_MAX, "1mb", effect=LIVE, doc="Size of the replication backlog.")
_mem("maxmemory", 0, ULLONG_MAX, "0", unsigned=True, effect=LIVE,
     doc="Memory limit in bytes (0 = no limit); see maxmemory-policy.")
_mem("cluster-link-sendbuf-limit", 0, ULLONG_MAX, "0", unsigned=True)
_int("hash-max-listpack-entries", 0, LONG_MAX, "512", unsigned=True, alias="hash-max-ziplist-entries")
_int("set-max-intset-entries", 0, LONG_MAX, "512", unsigned=True)
_int("zset-max-listpack-entries", 0, LONG_MAX, "128", unsigned=True, alias="zset-max-ziplist-entries")
_mem("active-defrag-ignore-bytes", 1, LLONG_MAX, "100mb", unsigned=True)
_mem("hash-max-listpack-value", 0, LONG_MAX, "64", unsigned=True, alias="hash-max-ziplist-value")
_mem("stream-node-max-bytes", 0, LONG_MAX, "4096", unsigned=True)
_mem("zset-max-listpack-value", 0, LONG_MAX, "64", unsigned=True, alias="zset-max-ziplist-value")
_mem("hll-sparse-max-bytes", 0, LONG_MAX, "3000", unsigned=True)
_int("tracking-table-max-keys", 0, LONG_MAX, "1000000", unsigned=True)
_mem("client-query-buffer-limit", 1024 * 1024, LONG_MAX, "1gb", unsigned=True, effect=LIVE,
     doc="Largest query buffer a client may accumulate.")
_mem("maxmemory-clients", -100, LLONG_MAX, "0", flags=("percent",))
_int("repl-backlog-ttl", 0, LONG_MAX, "3600", effect=LIVE,
     doc="Seconds without replicas after which the backlog is freed.")
_mem("auto-aof-rewrite-min-size", 0, LLONG_MAX, "64mb")
_int("loading-process-events-interval-bytes", 1024, INT_MAX, "2097152", flags=("hidden",))

# TLS (Debian builds redis-server with TLS support); redislite/tls.py, docs/tls.md.
# "live": a CONFIG SET is used by the next TLS connection (listener and replica link).
_int("tls-port", 0, 65535, "0", effect=STARTUP,
     doc="Port of the TLS listener (same bind addresses); 0 disables it.")
_int("tls-session-cache-size", 0, INT_MAX, "20480")
_int("tls-session-cache-timeout", 0, INT_MAX, "300", effect=LIVE,
     doc="Seconds a cached TLS session may be resumed.")
_bool("tls-cluster", "no")
_bool("tls-replication", "no", effect=LIVE, doc="Connect to the master with TLS when a replica.")
_enum("tls-auth-clients", ("no", "yes", "optional"), "yes", effect=LIVE,
      doc="Require (yes), accept (optional) or ignore (no) client certificates on the TLS port.")
_bool("tls-prefer-server-ciphers", "no", effect=LIVE,
      doc="Prefer the server's cipher order over the client's.")
_bool("tls-session-caching", "yes", effect=LIVE, doc="Allow TLS session resumption.")
_str("tls-cert-file", "", effect=LIVE, doc="Server certificate (PEM, chain allowed).")
_str("tls-key-file", "", effect=LIVE, doc="Private key of tls-cert-file (PEM).")
_str("tls-key-file-pass", "", effect=LIVE, flags=("sensitive",), doc="Passphrase of tls-key-file.")
_str("tls-client-cert-file", "", effect=LIVE,
     doc="Certificate presented to a TLS master (default: tls-cert-file).")
_str("tls-client-key-file", "", effect=LIVE, doc="Private key of tls-client-cert-file.")
_str("tls-client-key-file-pass", "", effect=LIVE, flags=("sensitive",),
     doc="Passphrase of tls-client-key-file.")
_str("tls-dh-params-file", "", effect=LIVE, doc="DH parameters file (PEM) for DHE ciphers.")
_str("tls-ca-cert-file", "", effect=LIVE,
     doc="CA certificates (PEM) that client and master certificates are verified with.")
_str("tls-ca-cert-dir", "", effect=LIVE, doc="Directory of hashed CA certificates (c_rehash).")
_str("tls-protocols", "", effect=LIVE,
     doc="Protocols allowed, e.g. 'TLSv1.2 TLSv1.3' (empty: TLSv1.2 and TLSv1.3).")
_str("tls-ciphers", "", effect=LIVE, doc="OpenSSL cipher list for TLSv1.2 and below.")
_str("tls-ciphersuites", "", effect=LIVE, doc="OpenSSL ciphersuites for TLSv1.3.")

_special("dir", ".", flags=("protected", "deny-loading"), effect=STARTUP,
         doc="Working directory for snapshots and append-only files.")
_special("save", "", flags=("multi-arg",), effect=LIVE, redis_default="3600 1 300 100 60 10000",
         doc="Snapshot after <seconds> if at least <changes> writes happened. "
             "RedisLite default: no snapshots.")
_special("client-output-buffer-limit",
         "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
         flags=("multi-arg",), effect=LIVE,
         doc="Disconnect clients whose output buffer exceeds these limits.")
_special("oom-score-adj-values", "0 200 800", flags=("multi-arg",))
_special("notify-keyspace-events", "", effect=LIVE, doc="Keyspace notification classes.")
_special("bind", "127.0.0.1", flags=("multi-arg",), effect=STARTUP, redis_default="* -::*",
         doc="Addresses the Redis protocol listener binds to (RedisLite default: loopback only).")
_special("replicaof", "no one", alias="slaveof", flags=("multi-arg",), **IMM, effect=STARTUP,
         doc="Start as a replica of <host> <port> (REPLICAOF at run time).")
_special("latency-tracking-info-percentiles", "50 99 99.9", flags=("multi-arg",))

#: Canonical name -> Param, in table order.
PARAMS: dict[str, Param] = {p.name: p for p in _table}
#: Alias -> canonical name.
ALIASES: dict[str, str] = {p.alias: p.name for p in _table if p.alias}
#: Names only RedisLite knows.
REDISLITE_ONLY = tuple(p.name for p in _table if p.redislite_only)
#: Directives Redis 7.0 accepts in a config file and ignores.
DEPRECATED_FILE_DIRECTIVES = ("list-max-ziplist-entries", "list-max-ziplist-value",
                              "lua-replicate-commands")
del _table

# Every registered entry (canonical and alias) in CONFIG GET order.
_ENTRIES: tuple = tuple(
    e for p in PARAMS.values() for e in ([(p.name, p)] + ([(p.alias, p)] if p.alias else [])))
_BY_LOWER: dict = {n.lower(): p for n, p in _ENTRIES}


def lookup(name: str) -> Param | None:
    """The Param for a canonical name or alias, case-insensitively."""
    return _BY_LOWER.get(name.lower())


# --- parsing one value ----------------------------------------------------------

def _check_bounds(p: Param, v: int) -> int:
    if p.unsigned:
        u = v & ULLONG_MAX
        if u > p.maximum or u < p.minimum:
            if p.kind == "octal":
                raise _Invalid(ERR_RANGE % ("%o" % p.minimum, "%o" % p.maximum), True)
            raise _Invalid(ERR_RANGE % (p.minimum, p.maximum), True)
        return u
    if "percent" in p.flags and v < 0:
        if v < p.minimum:
            raise _Invalid(ERR_PERCENT_RANGE % -p.minimum, True)
        return v
    if v > p.maximum or v < p.minimum:
        raise _Invalid(ERR_RANGE % (p.minimum, p.maximum), True)
    return v


def _to_signed64(u: int) -> int:
    return u - 2 ** 64 if u > LLONG_MAX else u


def _parse_number(p: Param, s: str) -> int:
    if p.kind == "memory":
        v = memtoull(s)
        if v is None and "percent" in p.flags and len(s) > 1 and s.endswith("%"):
            pct = string2ll(s[:-1])
            if pct is not None and pct >= 0:
                return _check_bounds(p, -pct)
        if v is None:
            raise _Invalid(ERR_MEMORY_PERCENT if "percent" in p.flags else ERR_MEMORY, True)
        v = v if p.unsigned else _to_signed64(v)
    elif p.kind == "octal":
        v, rest, overflow = _strtoll(s, 8)
        if overflow or rest:
            raise _Invalid(ERR_OCTAL, True)
    else:
        v = string2ll(s)
        if v is None:
            raise _Invalid(ERR_INTEGER, True)
    v = _check_bounds(p, v)
    if "clamp-hz" in p.flags:
        v = min(max(v, 1), 500)  # Redis's CONFIG_MIN_HZ / CONFIG_MAX_HZ
    return v


def _enum_error(p: Param) -> _Invalid:
    return _Invalid((ERR_ENUM % ", ".join(p.choices))[:255], True)


def _parse_enum(p: Param, args: list[str]):
    if not args or (not p.multi_arg and len(args) != 1):
        raise _enum_error(p)
    if not p.multi_arg:
        name = args[0].lower()
        if name not in p.choices:
            raise _enum_error(p)
        return dict(p.synonyms).get(name, name)
    flags = 0
    for a in args:  # shutdown-on-sig*: flag words
        a = a.lower()
        if a not in p.choices:
            raise _enum_error(p)
        flags |= (0, 1, 2, 4, 8)[p.choices.index(a)]
    if flags & SHUTDOWN_SAVE and flags & SHUTDOWN_NOSAVE:
        raise _Invalid(ERR_SHUTDOWN_SAVE_NOSAVE)
    return flags


_OBUF_CLASSES = {"normal": 0, "slave": 1, "replica": 1, "pubsub": 2}
_OBUF_NAMES = ("normal", "slave", "pubsub")


def _parse_special(p: Param, args: list[str], current, reading_file: bool, first_save: bool):
    name = p.name
    if name == "save":
        if len(args) == 1 and args[0] == "":
            args = []
        if len(args) % 2:
            raise _Invalid(ERR_SAVE)
        pairs = []
        for j in range(0, len(args), 2):
            secs, rest1, _ = _strtoll(args[j])
            changes, rest2, _ = _strtoll(args[j + 1])
            if rest1 or rest2 or secs < 1 or changes < 0:
                raise _Invalid(ERR_SAVE)
            pairs.append((secs, _c_int(changes)))
        if reading_file and not first_save:
            return tuple(current) + tuple(pairs)  # repeated save lines accumulate
        return tuple(pairs)
    if name == "client-output-buffer-limit":
        if len(args) % 4:
            raise _Invalid(ERR_OBUF_ARGS)
        limits = list(current)
        new = {}
        for j in range(0, len(args), 4):
            cls = _OBUF_CLASSES.get(args[j].lower())
            if cls is None:
                raise _Invalid(ERR_OBUF_CLASS)
            hard, soft = memtoull(args[j + 1]), memtoull(args[j + 2])
            secs, rest, _ = _strtoll(args[j + 3])
            secs = _c_int(secs)
            if hard is None or soft is None or secs < 0 or rest:
                raise _Invalid(ERR_OBUF_VALUE)
            new[cls] = (_OBUF_NAMES[cls], hard, soft, secs)
        for cls, v in new.items():
            limits[cls] = v
        return tuple(limits)
    if name == "oom-score-adj-values":
        if len(args) != 3:
            raise _Invalid(ERR_WRONG_ARGS)
        values = []
        for a in args:
            v, rest, _ = _strtoll(a)
            if rest or v < -2000 or v > 2000:
                raise _Invalid(ERR_OOM_VALUES)
            values.append(v)
        return tuple(values)
    if name == "notify-keyspace-events":
        if len(args) != 1:
            raise _Invalid(ERR_WRONG_ARGS)
        flags = 0
        for ch in args[0]:
            if ch not in _NOTIFY_CHARS:
                raise _Invalid(ERR_KEYSPACE_EVENTS)
            flags |= _NOTIFY_CHARS[ch]
        return flags
    if name == "bind":
        if len(args) > 16:
            raise _Invalid(ERR_BIND_TOO_MANY)
        if len(args) == 1 and args[0] == "":
            args = []
        return tuple(args)
    if name == "replicaof":
        if len(args) == 1 and not reading_file and ":" in args[0]:
            # RedisLite: HOST:PORT from the command line or the environment
            # (a config file keeps Redis's two words).
            host, _, port = args[0].rpartition(":")
            if host.startswith("[") and host.endswith("]"):
                host = host[1:-1]
            args = [host, port]
        if len(args) != 2:
            raise _Invalid(ERR_WRONG_ARGS)
        if args[0].lower() == "no" and args[1].lower() == "one":
            return None
        port, rest, overflow = _strtoll(args[1])
        if rest or overflow or port < 0 or port > 65535:
            raise _Invalid(ERR_MASTER_PORT)
        return (args[0], port)
    if name == "latency-tracking-info-percentiles":
        if len(args) == 1 and args[0] == "":
            args = []
        values = []
        for a in args:
            v = string2d(a)
            if v is None:
                raise _Invalid(ERR_PERCENTILES)
            if v > 100.0 or v < 0.0:
                raise _Invalid(ERR_PERCENTILES_RANGE)
            values.append(v)
        return tuple(values)
    if name == "dir":
        if len(args) != 1:
            raise _Invalid(ERR_WRONG_ARGS)
        return args[0]
    raise AssertionError(name)  # pragma: no cover


def _parse(p: Param, args: list[str], current=None, *, reading_file=False, first_save=True):
    """Parse a value given as arguments (one, or several for multi-arg parameters)."""
    if p.kind == "special":
        return _parse_special(p, args, current, reading_file, first_save)
    if p.kind == "enum":
        return _parse_enum(p, args)
    if len(args) != 1:
        raise _Invalid(ERR_WRONG_ARGS)
    s = args[0]
    if p.kind == "bool":
        low = s.lower()
        if low not in ("yes", "no"):
            raise _Invalid(ERR_YESNO, True)
        value = low == "yes"
    elif p.kind == "string":
        value = s
    else:
        value = _parse_number(p, s)
    if p.validator is not None:
        err = p.validator(value)
        if err:
            raise _Invalid(err)
    return value


def _split_value(p: Param, value: str) -> list[str]:
    """CONFIG SET / env / command-line value -> argument list (Redis splits on ' ')."""
    if p.multi_arg:
        return value.split(" ") if value else []
    return [value]


def _format(p: Param, value) -> str:
    """The text CONFIG GET prints for a typed value."""
    kind = p.kind
    if kind == "bool":
        return "yes" if value else "no"
    if kind in ("int", "memory"):
        if "percent" in p.flags and value < 0:
            return "%d%%" % -value
        return str(value)
    if kind == "octal":
        return "%o" % value
    if kind == "string":
        return value
    if kind == "enum":
        if not p.multi_arg:
            return value
        if value == 0:
            return "default"
        return " ".join(n for n, bit in zip(p.choices[1:], (1, 2, 4, 8)) if value & bit)
    name = p.name
    if name == "save":
        return " ".join("%d %d" % pair for pair in value)
    if name == "client-output-buffer-limit":
        return " ".join("%s %d %d %d" % v for v in value)
    if name == "oom-score-adj-values":
        return " ".join(str(v) for v in value)
    if name == "notify-keyspace-events":
        return _format_keyspace_events(value)
    if name == "bind":
        return " ".join(value)
    if name == "replicaof":
        return "" if value is None else "%s %d" % value
    if name == "latency-tracking-info-percentiles":
        return " ".join(_fmt_percentile(v) for v in value)
    if name == "dir":
        return os.path.abspath(value)
    raise AssertionError(name)  # pragma: no cover


def _format_keyspace_events(flags: int) -> str:
    out = []
    if flags & NOTIFY_ALL == NOTIFY_ALL:
        out.append("A")
    else:
        for ch, bit in (("g", NOTIFY_GENERIC), ("$", NOTIFY_STRING), ("l", NOTIFY_LIST),
                        ("s", NOTIFY_SET), ("h", NOTIFY_HASH), ("z", NOTIFY_ZSET),
                        ("x", NOTIFY_EXPIRED), ("e", NOTIFY_EVICTED), ("t", NOTIFY_STREAM),
                        ("d", NOTIFY_MODULE), ("n", NOTIFY_NEW)):
            if flags & bit:
                out.append(ch)
    for ch, bit in (("K", NOTIFY_KEYSPACE), ("E", NOTIFY_KEYEVENT), ("m", NOTIFY_KEY_MISS)):
        if flags & bit:
            out.append(ch)
    return "".join(out)


def _config_error(p: Param, shown: str, exc: _Invalid) -> ConfigError:
    if exc.generic:
        return ConfigError("%s: invalid value '%s' (expected %s)" % (p.name, shown, p.expected()))
    detail = exc.errstr
    if p.kind == "special":
        detail += "; expected " + p.expected()
    return ConfigError("%s: invalid value '%s' (%s)" % (p.name, shown, detail))


# --- Config ---------------------------------------------------------------------

@attr.frozen(eq=False)
class Config:
    """An immutable, validated configuration; change it with :meth:`with_changes`."""

    _values: Mapping[str, Any]
    #: ``user <name> <rules...>`` lines of the config file, as argv lists (redislite/acl.py)
    users: tuple = ()

    _defaults = None

    @classmethod
    def defaults(cls) -> "Config":
        """RedisLite's defaults (cached: a Config never changes)."""
        if Config._defaults is None:
            values = {}
            for p in PARAMS.values():
                values[p.name] = _parse(p, _split_value(p, p.default), _BUILTIN_CURRENT.get(p.name))
            Config._defaults = cls(MappingProxyType(values))
        return Config._defaults

    def _param(self, name: str) -> Param:
        p = lookup(name)
        if p is None:
            raise KeyError(name)
        return p

    def __getitem__(self, name: str):
        """Typed value of a parameter (canonical name or alias, any case)."""
        return self._values[self._param(name).name]

    def get(self, name: str, default=None):
        p = lookup(name)
        return default if p is None else self._values[p.name]

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and lookup(name) is not None

    def __iter__(self):
        return iter(self._values)

    def items(self):
        return self._values.items()

    def __eq__(self, other):
        return isinstance(other, Config) and dict(self._values) == dict(other._values)

    def __hash__(self):
        return hash(tuple(sorted((k, repr(v)) for k, v in self._values.items())))

    def get_text(self, name: str) -> str:
        """The string CONFIG GET prints for *name*."""
        p = self._param(name)
        return _format(p, self._values[p.name])

    def with_changes(self, mapping: Mapping[str, str]) -> "Config":
        """A new Config with values given as CONFIG SET strings; raises ConfigError.

        Unlike :func:`config_set` this ignores mutability: it is how startup
        layers (file, environment, command line) are applied.
        """
        values = dict(self._values)
        for name, text in mapping.items():
            p = lookup(name)
            if p is None:
                raise ConfigError("unknown configuration parameter '%s'" % name)
            try:
                values[p.name] = _parse(p, _split_value(p, text), values[p.name])
            except _Invalid as exc:
                raise _config_error(p, text, exc) from None
        return Config(MappingProxyType(values), self.users)

    def _replace(self, values: dict) -> "Config":
        return Config(MappingProxyType(values), self.users)

    def config_get(self, patterns: Iterable[str | bytes]) -> list[tuple[str, str]]:
        """CONFIG GET: (name, text) pairs for every pattern, deduplicated.

        As in Redis: a pattern without ``[*?`` is an exact, case-insensitive
        lookup reported under the name as typed (hidden parameters included);
        otherwise it is matched case-insensitively against every non-hidden
        name and alias.  Redis's order is its hash table's (random per
        process), ours is table order within each glob pattern.
        """
        seen: set = set()
        out: list[tuple[str, str]] = []
        for pat in patterns:
            if isinstance(pat, bytes):
                text = pat.decode("utf-8", "surrogateescape")
                raw = pat
            else:
                text = pat
                raw = pat.encode("utf-8", "surrogateescape")
            if not any(c in text for c in "[*?"):
                key = text.lower()
                if key in seen:
                    continue
                p = _BY_LOWER.get(key)
                if p is not None:
                    seen.add(key)
                    out.append((text, _format(p, self._values[p.name])))
                continue
            for name, p in _ENTRIES:
                if p.hidden or name in seen:
                    continue
                if _glob_match(raw, name.encode(), nocase=True):
                    seen.add(name)
                    out.append((name, _format(p, self._values[p.name])))
        return out


# Starting values for parameters whose parse depends on the current value.
_BUILTIN_CURRENT = {
    "client-output-buffer-limit": (("normal", 0, 0, 0), ("slave", 268435456, 67108864, 60),
                                   ("pubsub", 33554432, 8388608, 60)),
}


def config_set(cfg: Config, pairs: list[tuple[str, str]], *, local_client: bool = False,
               loading: bool = False) -> Config:
    """CONFIG SET with Redis 7.0.15's checks, order and error texts; raises ReplyError.

    ``local_client`` says whether the caller is a loopback/unix client (for
    ``enable-protected-configs local``); ``loading`` whether a dataset is being
    loaded (parameters flagged deny-loading then answer -LOADING).  The odd
    argument count case (``CONFIG SET a b c``) is the command's business: Redis
    answers ``ERR syntax error`` (errors.SYNTAX) before getting here.
    """
    chosen: list = []  # (registered name, Param, value text)
    seen_entries: set = set()
    for name, value in pairs:
        key = name.lower()
        p = _BY_LOWER.get(key)
        if p is None:
            raise errors.ReplyError(UNKNOWN_OPTION % name)
        if not p.mutable:
            raise errors.ReplyError(SET_FAILED % (name, ERR_IMMUTABLE))
        if "protected" in p.flags:
            allowed = cfg["enable-protected-configs"]
            if not (allowed == "yes" or (allowed == "local" and local_client)):
                raise errors.ReplyError(SET_FAILED % (name, ERR_PROTECTED))
        if loading and "deny-loading" in p.flags:
            raise errors.ReplyError(errors.LOADING)
        if key in seen_entries:  # an alias and its canonical name are distinct entries
            raise errors.ReplyError(SET_FAILED % (name, ERR_DUPLICATE))
        seen_entries.add(key)
        registered = p.name if key == p.name else p.alias
        chosen.append((registered, p, value))
    values = dict(cfg._values)
    for registered, p, value in chosen:
        try:
            new = _parse(p, _split_value(p, value), values[p.name])
            if p.name == "repl-backlog-size":
                new = max(new, REPL_BACKLOG_MIN_SIZE)  # Redis clamps when applying a SET
            if p.name == "dir" and not os.path.isdir(new):
                raise _Invalid("No such file or directory" if not os.path.exists(new)
                               else "Not a directory")
        except _Invalid as exc:
            raise errors.ReplyError(SET_FAILED % (registered, exc.errstr)) from None
        values[p.name] = new
    if any(p.name.startswith("tls-") for _, p, _ in chosen):
        # Redis's applyTlsCfg/applyTLSPort: TLS in use must still load (redislite/tls.py)
        from .tls import apply_check
        failed = apply_check(cfg._replace(values),
                             [p.name for _, p, _ in chosen if values[p.name] != cfg._values[p.name]])
        if failed:
            raise errors.ReplyError(SET_FAILED % failed)
    return cfg._replace(values)


# --- config files ------------------------------------------------------------------

def _parse_lines(text: str, source: str = "<config>"):
    """Yield (source, line number, directive, args, raw line)."""
    for num, line in enumerate(text.split("\n"), 1):
        line = line.strip(" \t\r\n")
        if not line or line.startswith("#"):
            continue
        argv = sdssplitargs(line)
        if argv is None:
            raise ConfigError("%s:%d: %s: %s" % (source, num, ERR_FILE_QUOTES, line))
        if not argv:
            continue
        yield source, num, argv[0].lower(), argv[1:], line


def parse_config_file(text: str) -> list[tuple[str, list[str]]]:
    """redis.conf text -> [(directive lower-cased, [args])], as Redis tokenizes it.

    Comments and blank lines are skipped; quoting follows ``sdssplitargs``
    (``"..."`` with \\n \\r \\t \\b \\a \\xHH escapes, ``'...'`` with \\').
    Raises ConfigError on unbalanced quotes.
    """
    return [(d, args) for _, _, d, args, _ in _parse_lines(text)]


_UNSUPPORTED_DIRECTIVES = ("rename-command", "loadmodule", "sentinel")


def _apply_file(values: dict, text: str, source: str, state: dict, depth: int = 0) -> None:
    if depth > 16:
        raise ConfigError("%s: include nesting is too deep" % source)
    for src, num, directive, args, line in _parse_lines(text, source):
        where = "%s:%d" % (src, num)
        p = lookup(directive)
        if p is not None:
            if not p.multi_arg and len(args) != 1:
                raise ConfigError("%s: %s: %s (expected one value: %s)"
                                  % (where, directive, ERR_WRONG_ARGS, p.expected()))
            first_save = p.name == "save" and not state.get("save_loaded")
            try:
                values[p.name] = _parse(p, args, values[p.name], reading_file=True,
                                        first_save=first_save)
            except _Invalid as exc:
                raise ConfigError("%s: %s" % (where, _config_error(p, " ".join(args), exc))) from None
            if p.name == "save":
                state["save_loaded"] = True
            continue
        if directive in DEPRECATED_FILE_DIRECTIVES and len(args) == 1:
            continue
        if directive == "user" and args:
            from .acl import check_config_user      # ACLAppendUserForLoading
            problem = check_config_user([a.encode("utf-8", "surrogateescape") for a in args],
                                        state.setdefault("users", []))
            if problem:
                raise ConfigError("%s: %s" % (where, problem))
            continue
        if directive == "include" and len(args) == 1:
            pattern = args[0]
            if any(c in pattern for c in "*?["):
                paths = sorted(_fsglob.glob(pattern))
            else:
                paths = [pattern]
            for path in paths:
                _apply_file(values, _read(path, where), path, state, depth + 1)
            continue
        if directive in _UNSUPPORTED_DIRECTIVES or "." in directive:
            raise ConfigError("%s: '%s' is not supported by RedisLite" % (where, directive))
        raise ConfigError("%s: %s: '%s'" % (where, ERR_FILE_DIRECTIVE, line))


def _read(path: str, where: str = "") -> str:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError as exc:
        prefix = where + ": " if where else ""
        raise ConfigError("%scan't open config file '%s': %s" % (prefix, path, exc.strerror)) from None


def build_config(cli: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None,
                 file_path: str | None = None) -> Config:
    """Layer the configuration: command line > environment > config file > defaults.

    ``cli`` maps parameter names (or aliases) to values in CONFIG SET syntax;
    ``env`` is searched for ``REDISLITE_<NAME>`` (canonical names only, e.g.
    ``REDISLITE_MAXMEMORY_POLICY``; other REDISLITE_* variables are ignored).
    Every value is validated; the first problem raises :class:`ConfigError`.
    """
    cfg = Config.defaults()
    if file_path:
        values = dict(cfg._values)
        state = {}
        _apply_file(values, _read(file_path), file_path, state)
        cfg = Config(MappingProxyType(values), tuple(state.get("users", ())))
    if env:
        from_env = {}
        for p in PARAMS.values():
            if p.env_var in env:
                from_env[p.name] = env[p.env_var]
        try:
            cfg = cfg.with_changes(from_env)
        except ConfigError as exc:
            raise ConfigError("environment %s" % exc) from None
    if cli:
        cfg = cfg.with_changes(dict(cli))
    return cfg


# --- generated files ------------------------------------------------------------------

def _describe(p: Param) -> str:
    return p.doc or "Redis parameter (%s)." % p.expected()


def env_example() -> str:
    """The content of ``.env.example``: every REDISLITE_* variable, commented out."""
    out = [
        "# RedisLite environment variables (generated by redislite.config.env_example();",
        "# do not edit by hand).",
        "#",
        "# Every configuration parameter can be set as REDISLITE_<NAME>, with the name",
        "# upper-cased and '-' replaced by '_'. Precedence: command line > environment >",
        "# config file > defaults. Values use CONFIG SET syntax (multi-value parameters",
        "# such as save are space-separated). Each line below shows the default.",
        "",
    ]
    groups = (
        ("RedisLite-only parameters", lambda p: p.redislite_only),
        ("Redis parameters RedisLite acts on", lambda p: not p.redislite_only and p.effect != STORED),
        ("Redis parameters accepted and reported by CONFIG GET, with no effect yet",
         lambda p: not p.redislite_only and p.effect == STORED),
    )
    for title, pred in groups:
        out.append("# " + "-" * 76)
        out.append("# " + title)
        out.append("# " + "-" * 76)
        for p in PARAMS.values():
            if not pred(p):
                continue
            if p.doc:
                out.append("# " + p.doc)
            out.append("# %s; %s" % (p.expected(), "CONFIG SET allowed" if p.mutable
                                     else "startup only"))
            out.append("#%s=%s" % (p.env_var, _env_quote(p.default)))
        out.append("")
    return "\n".join(out)


def _env_quote(v: str) -> str:
    return '"%s"' % v if (not v or " " in v or "$" in v or "{" in v) else v


def _md(text: str) -> str:
    return "`%s`" % text if text else '`""`'


def config_doc() -> str:
    """The content of ``docs/configuration.md``."""
    d = Config.defaults()
    lines = [
        "# Configuration",
        "",
        "<!-- Generated by redislite.config.config_doc(); do not edit by hand. -->",
        "",
        "RedisLite accepts every Redis 7.0 configuration parameter, with Redis's names,",
        "aliases, types, bounds and error messages, so existing `redis.conf` files, `CONFIG",
        "GET`/`CONFIG SET` and tools keep working. The single source of truth is the",
        "`PARAMS` table in `redislite/config.py`.",
        "",
        "## Where values come from",
        "",
        "Highest precedence first:",
        "",
        "1. **Command line** options of the server (every parameter, by its Redis name).",
        "2. **Environment**: `REDISLITE_<NAME>`, the parameter name upper-cased with `-`",
        "   replaced by `_` (`REDISLITE_MAXMEMORY=100mb`, `REDISLITE_MAXMEMORY_POLICY=allkeys-lru`).",
        "   Only canonical names are read (not aliases such as `slaveof`). See `.env.example`.",
        "3. **Config file** in `redis.conf` syntax: `#` comments, quoting as Redis's",
        "   `sdssplitargs`, multi-value lines (`save 900 1`), repeated `save` lines accumulate,",
        "   `include <path or glob>` is supported; `rename-command`, `user`, `loadmodule` and",
        "   module parameters are rejected.",
        "4. **Defaults** (below).",
        "",
        "Values use Redis's syntax: booleans `yes`/`no`; memory values `1048576`, `100mb`, `1gb`,",
        "`10k` (case-insensitive; `k`=1000, `kb`=1024, `m`=1000², `mb`=1024², `g`, `gb`).",
        "Startup values are validated and a bad one stops the server with one line naming the",
        "parameter and what it accepts, e.g.",
        "`maxmemory-policy: invalid value 'foo' (expected one of: volatile-lru, ...)`.",
        "",
        "`CONFIG GET` returns the same text as Redis 7.0 for every parameter. Redis returns",
        "entries in hash-table order (random per process); RedisLite uses table order.",
        "",
        "## RedisLite-only parameters",
        "",
        "| Parameter | Default | Accepted values | CONFIG SET | Description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for p in PARAMS.values():
        if p.redislite_only:
            lines.append("| `%s` | %s | %s | %s | %s |" % (
                p.name, _md(d.get_text(p.name)), p.expected(), "yes" if p.mutable else "no", p.doc))
    lines += [
        "",
        "## Defaults that differ from redis-server",
        "",
        "| Parameter | RedisLite | redis-server 7.0 | Why |",
        "| --- | --- | --- | --- |",
    ]
    why = {"bind": "an embedded server should not listen on every interface by default",
           "save": "snapshots are off until configured"}
    for p in PARAMS.values():
        if p.redis_default is not None:
            lines.append("| `%s` | %s | %s | %s |" % (
                p.name, _md(d.get_text(p.name)), _md(p.redis_default), why.get(p.name, "")))
    lines += [
        "",
        "`dir` defaults to `.` and `CONFIG GET dir` prints its absolute path, as Redis does;",
        "RedisLite never changes its working directory.",
        "",
        "## Redis parameters RedisLite acts on",
        "",
        "*live*: `CONFIG SET` takes effect immediately; *startup*: read when the server starts.",
        "",
        "| Parameter | Default | Effect | Description |",
        "| --- | --- | --- | --- |",
    ]
    for p in PARAMS.values():
        if not p.redislite_only and p.effect != STORED:
            lines.append("| `%s` | %s | %s | %s |" % (
                p.name, _md(d.get_text(p.name) if p.name != "dir" else "."), p.effect, p.doc))
    lines += [
        "",
        "## Accepted, with no effect in RedisLite yet",
        "",
        "These are validated exactly as Redis does and reported by `CONFIG GET`, but",
        "RedisLite does not act on them yet.",
        "",
    ]
    stored = [p for p in PARAMS.values() if not p.redislite_only and p.effect == STORED]
    for p in stored:
        alias = " (alias `%s`)" % p.alias if p.alias else ""
        hidden = " (hidden, like in Redis)" if p.hidden else ""
        lines.append("- `%s`%s%s" % (p.name, alias, hidden))
    lines.append("")
    return "\n".join(lines)
