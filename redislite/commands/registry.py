"""The command table: one place for name, arity, flags, key positions and docs.

The metadata comes from ``redis_commands.json``, generated from Redis 7.0's own
``COMMAND INFO``/``COMMAND DOCS`` by ``tools/gen_command_table.py``; it is the
contract we implement, the way Redis's ``src/commands/*.json`` is for Redis.
Command modules bind handlers to names with :func:`command`; only bound
commands are dispatched, listed by COMMAND and documented in docs/commands.md.

Handlers come in two shapes, both returning reply values (never RESP bytes):

* ``shard op``   ``op(keyspace, argv)``: a single-key command; the protocol
  routes it to the shard that owns ``argv[1]`` and runs it there.
* ``coordinator`` ``handler(client, argv)``: everything else (multi-key,
  server, connection); it talks to shards through the router.
"""

import json
import os

__all__ = ["CommandSpec", "COMMANDS", "command", "lookup", "supported", "META"]

_META_PATH = os.path.join(os.path.dirname(__file__), "redis_commands.json")
with open(_META_PATH, encoding="utf-8") as _fh:
    META = json.load(_fh)

#: Flags (from Redis's metadata) we consult on the hot path.
WRITE, READONLY, DENYOOM, NOSCRIPT, LOADING, STALE, PUBSUB, NOAUTH, FAST, BLOCKING, ADMIN = (
    "write", "readonly", "denyoom", "noscript", "loading", "stale", "pubsub", "no_auth", "fast",
    "blocking", "admin")


#: Redis 7.0's CMD_PROTECTED commands and the parameter that allows each
#: (no: refused, local: loopback clients only, yes: everyone).
PROTECTED = {"debug": "enable-debug-command", "module|load": "enable-module-command",
             "module|loadex": "enable-module-command", "module|unload": "enable-module-command"}


class CommandSpec:
    """One command or subcommand: metadata plus its bound handler."""

    __slots__ = ("name", "fullname", "arity", "flags", "first_key", "last_key", "step",
                 "acl_categories", "handler", "shard_op", "subcommands", "parent", "meta",
                 "is_write", "denyoom", "noauth", "info_wire", "docs_wire", "keys_fn",
                 "calls", "usec", "failed", "rejected", "allow_busy", "container", "lat_base",
                 "protected")

    def __init__(self, fullname, meta, handler=None, shard_op=False):
        self.fullname = fullname
        self.name = fullname.split("|")[-1]
        self.meta = meta
        self.arity = meta["arity"]
        self.flags = frozenset(meta["flags"])
        self.first_key = meta["first_key"]
        self.last_key = meta["last_key"]
        self.step = meta["step"]
        self.acl_categories = tuple(meta["acl_categories"])
        self.handler = handler
        self.shard_op = shard_op
        self.subcommands = {}
        self.container = bool(meta["subcommands"])
        self.parent = None
        self.is_write = WRITE in self.flags
        self.denyoom = DENYOOM in self.flags
        self.noauth = NOAUTH in self.flags
        #: the config parameter that must allow it (Redis's CMD_PROTECTED), or None
        self.protected = PROTECTED.get(fullname)
        #: exact COMMAND INFO / DOCS bytes per protocol (index 0: RESP2, 1: RESP3)
        self.info_wire = (meta["resp2"]["info"].encode("latin-1"), meta["resp3"]["info"].encode("latin-1"))
        self.docs_wire = (meta["resp2"]["docs"].encode("latin-1"), meta["resp3"]["docs"].encode("latin-1"))
        self.keys_fn = None
        self.calls = self.usec = self.failed = self.rejected = 0
        #: this spec's offset in the pending latency samples (observability.latency.sample)
        self.lat_base = len(LAT_SPECS) * LAT_SPAN
        LAT_SPECS.append(self)

    def key_positions(self, argv):
        """Indexes of key arguments, from first/last/step (negative last counts from the end)."""
        if self.keys_fn is not None:
            return self.keys_fn(argv)
        if self.first_key <= 0:
            return []
        last = self.last_key
        if last < 0:
            last = len(argv) + last
        return list(range(self.first_key, min(last, len(argv) - 1) + 1, self.step or 1))

    def arity_ok(self, argc):
        a = self.arity
        return argc == a if a >= 0 else argc >= -a

    def __repr__(self):
        return "<CommandSpec %s>" % self.fullname


#: Supported commands by lower-case bytes name.  Also holds exact-case aliases
#: (b"GET", b"Get"...) added lazily by :func:`lookup` so dispatch skips .lower().
COMMANDS = {}
_CANONICAL = {}


def command(name, shard_op=False, keys=None):
    """Bind a handler to a Redis command (``"get"`` or ``"config|get"``).

    ``shard_op=True`` marks a single-key op ``op(keyspace, argv)`` that the
    protocol routes to the owning shard.  ``keys`` overrides key extraction for
    commands whose keys Redis finds by keyword (ZUNIONSTORE numkeys...).
    """
    def bind(fn):
        meta = META["commands"].get(name)
        if meta is None:
            raise KeyError("not a Redis 7.0 command: %s" % name)
        spec = CommandSpec(name, meta, fn, shard_op)
        if keys is not None:
            spec.keys_fn = keys
        if "|" in name:
            parent_name, sub = name.split("|", 1)
            parent = _CANONICAL.get(parent_name.encode())
            if parent is None:
                parent = CommandSpec(parent_name, META["commands"][parent_name])
                _register(parent)
            spec.parent = parent
            parent.subcommands[sub.encode()] = spec
        else:
            existing = _CANONICAL.get(name.encode())
            if existing is not None:
                spec.subcommands = existing.subcommands
            _register(spec)
        return fn
    return bind


#: Every spec in creation order and the latency-sample span each owns (a power of
#: two above the histogram's 1 s ceiling): observability.latency's pending samples
#: are ``spec.lat_base + usec``, so sorting them groups them by command.
LAT_SPAN = float(1 << 21)
LAT_SPECS = []


def _register(spec):
    key = spec.fullname.encode()
    _CANONICAL[key] = spec
    COMMANDS[key] = spec


def lookup(name):
    """Find a command by its name as sent (any case).  Returns None if unknown."""
    spec = COMMANDS.get(name)
    if spec is None:
        spec = _CANONICAL.get(name.lower())
        if spec is not None and len(COMMANDS) < 4096:
            COMMANDS[bytes(name)] = spec
    return spec


def supported():
    """Every supported top-level command spec, sorted by name."""
    return [s for _, s in sorted(_CANONICAL.items())]


def commands_markdown():
    """docs/commands.md, generated from the table so the docs cannot drift from dispatch."""
    from . import load_all
    load_all()
    lines = ["# Supported commands", "",
             "Generated from the command table by `python -m redislite.commands.registry > docs/commands.md`;",
             "a unit test fails when this file and the table disagree. Arity, flags and key positions are",
             "Redis 7.0's own (negative arity means \"at least\").", ""]
    groups = {}
    for spec in supported():
        entries = [spec] if spec.handler is not None else []
        entries += [s for _, s in sorted(spec.subcommands.items())]
        for s in entries:
            group = META["commands"][s.fullname].get("group") or _group_of(s)
            groups.setdefault(group, []).append(s)
    for group in sorted(groups):
        lines += ["## " + group, "", "| command | arity | flags | keys (first, last, step) | summary |",
                  "|---|---|---|---|---|"]
        for s in groups[group]:
            lines.append("| %s | %d | %s | %d, %d, %d | %s |" % (
                s.fullname.upper().replace("|", " "), s.arity, " ".join(sorted(s.flags)),
                s.first_key, s.last_key, s.step, _summary(s)))
        lines.append("")
    return "\n".join(lines)


def _docs_field(spec, field):
    raw = spec.docs_wire[0]
    marker = b"$%d\r\n%s\r\n" % (len(field), field)
    i = raw.find(marker)
    if i < 0:
        return ""
    rest = raw[i + len(marker):]
    if not rest.startswith(b"$"):
        return ""
    n_end = rest.index(b"\r\n")
    n = int(rest[1:n_end])
    return rest[n_end + 2:n_end + 2 + n].decode("utf-8", "replace")


def _group_of(spec):
    return _docs_field(spec, b"group") or "other"


def _summary(spec):
    return _docs_field(spec, b"summary").replace("|", "\\|")


if __name__ == "__main__":
    # Run as a script this file is __main__, a second copy of the module; use the real one.
    from redislite.commands.registry import commands_markdown as _md
    print(_md(), end="")
