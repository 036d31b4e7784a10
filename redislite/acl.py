"""Redis 7.0's ACL system: users, rules, permission checks, the ACL log, the ACL file.

Semantics, error texts and the way rules are printed back (ACL LIST, GETUSER,
ACL SAVE) follow Redis 7.0.15's ``acl.c``:

* A user has flags (on/off, nopass, [skip-]sanitize-payload), SHA-256
  password hashes and a list of *selectors*; the first is the root selector
  (the rules given outside parentheses), the others come from ``(...)``.
* A selector holds a command "bitmap" (here a set of command full names plus
  the reserved "future commands" bit that only ``+@all`` sets), first-args
  allowed for otherwise blocked commands (``+select|0``), key patterns with
  read/write permissions and channel patterns.
* The command rules are printed the way Redis works them out from the
  bitmap: ``+@all``/``-@all``, then the best-fitting categories, then single
  commands.  Redis emits the single commands in the order of its command
  dict, which is seeded at random per process; we use the command table's
  order (sorted), so only that tail of the string can differ from a given
  redis-server run.

The categories, subcommands and key specs come from the command table
(``commands/redis_commands.json``), as Redis's come from its own table.

Hot path: a client whose user may run everything (``+@all ~* &*``) has
``client.acl_user`` None and pays one attribute test in ``Client.execute``;
only restricted users reach :meth:`Acl.check_client`.
"""

import hashlib
import hmac
import os
import time as _time

from . import glob as _glob
from .commands.registry import META
from .errors import ReplyError

CATEGORIES = ("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
              "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
              "dangerous", "connection", "transaction", "scripting")

# Reasons (ACL_DENIED_*), in Redis's numbering: the higher one wins between selectors.
OK, DENIED_CMD, DENIED_KEY, DENIED_AUTH, DENIED_CHANNEL = 0, 1, 2, 3, 4
REASON_NAMES = {DENIED_CMD: "command", DENIED_KEY: "key", DENIED_CHANNEL: "channel", DENIED_AUTH: "auth"}
CTX_TOPLEVEL, CTX_MULTI, CTX_LUA = "toplevel", "multi", "lua"

READ, WRITE = 1, 2
ALL_PERM = READ | WRITE

# --- error texts (ACLSetUserStringError and friends) --------------------------------
E_ENOENT = "Unknown command or category name in ACL"
E_EINVAL = "Syntax error"
E_EEXIST = ("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not "
            "have any effect. Try 'resetkeys' to start with an empty list of patterns")
E_EISDIR = ("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not "
            "have any effect. Try 'resetchannels' to start with an empty list of channels")
E_ENODEV = "The password you are trying to remove from the user does not exist"
E_EBADMSG = ("The password hash must be exactly 64 characters and contain only lowercase hexadecimal "
             "characters")
E_EALREADY = "Duplicate user found. A user can only be defined once in config files"
E_ECHILD = "Allowing first-arg of a subcommand is not supported"

NOPERM_CMD = "NOPERM this user has no permissions to run the '%s' command"
NOPERM_KEY = "NOPERM this user has no permissions to access one of the keys used as arguments"
NOPERM_CHANNEL = "NOPERM this user has no permissions to access one of the channels used as arguments"
NOPERM_EXEC = ("NOPERM ACLs rules changed between the moment the transaction was accumulated and the "
               "EXEC call. This command is no longer allowed for the following reason: %s")
EXEC_REASONS = {DENIED_CMD: "no permission to execute the command or subcommand",
                DENIED_KEY: "no permission to touch the specified keys",
                DENIED_CHANNEL: "no permission to access one of the channels used as arguments"}
#: getAclErrorMessage (scripts: "The user executing the script " + this)
SCRIPT_REASONS = {DENIED_CMD: "can't run this command or subcommand",
                  DENIED_KEY: "can't access at least one of the keys mentioned in the command arguments",
                  DENIED_CHANNEL: "can't publish to the channel mentioned in the command"}
NO_ACLFILE = ("ERR This Redis instance is not configured to use an ACL file. You may want to specify "
              "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a "
              "Redis configuration file set) in order to store users in the Redis configuration.")
SAVE_FAILED = ("ERR There was an error trying to save the ACLs. Please check the server logs for more "
               "information")

LOG_GROUPING_MS = 60000


class AclStartupError(Exception):
    """The ACL file given at start cannot be loaded (Redis refuses to start)."""


class AclError(Exception):
    """A rule that ACLSetUser refuses; ``args[0]`` is the errno text above."""


# --- the command universe ------------------------------------------------------------
_CMDS = META["commands"]
#: top-level command names in table order, and each one's subcommand names
TOP = [n for n in _CMDS if "|" not in n]
SUBS = {n: list(_CMDS[n]["subcommands"]) for n in TOP}
PARENT = {s: n for n in TOP for s in SUBS[n]}
ALL_NAMES = frozenset(_CMDS)
_CATS = {n: frozenset(c.lstrip("@") for c in m["acl_categories"]) for n, m in _CMDS.items()}
#: category -> command full names in ACL CAT order (top level, each followed by its subcommands)
CAT_MEMBERS = {}
for _cat in CATEGORIES:
    _members = []
    for _n in TOP:
        if _cat in _CATS[_n]:
            _members.append(_n)
        for _s in SUBS[_n]:
            if _cat in _CATS[_s]:
                _members.append(_s)
    CAT_MEMBERS[_cat] = _members
CAT_SETS = {c: frozenset(m) for c, m in CAT_MEMBERS.items()}
_NO_AUTH = frozenset(n for n, m in _CMDS.items() if "no_auth" in m["flags"])


def lookup_command(name):
    """ACLLookupCommand: ``get`` or ``config|get`` (any case) -> full name, or None."""
    parts = name.lower().split(b"|")
    if len(parts) > 2:
        return None
    try:
        base = parts[0].decode("ascii")
    except UnicodeDecodeError:
        return None
    if base not in _CMDS or "|" in base:
        return None
    if len(parts) == 1:
        return base
    if not SUBS[base]:
        return None           # strict lookup: argc 2 on a command without subcommands
    try:
        full = base + "|" + parts[1].decode("ascii")
    except UnicodeDecodeError:
        return None
    return full if full in _CMDS else None


class CommandRef:
    """A command of the table as the checks see it (bound to a handler or not)."""

    __slots__ = ("fullname", "arity")

    def __init__(self, fullname):
        self.fullname = fullname
        self.arity = _CMDS[fullname]["arity"]


def lookup_argv(argv):
    """Redis's lookupCommand(argv) over the whole 7.0 table: a CommandRef or None
    (ACL DRYRUN and redis.acl_check_cmd know commands RedisLite does not serve)."""
    try:
        base = argv[0].lower().decode("ascii")
    except UnicodeDecodeError:
        return None
    if base not in _CMDS or "|" in base:
        return None
    if len(argv) == 1 or not SUBS[base]:
        return CommandRef(base)
    try:
        full = base + "|" + argv[1].lower().decode("ascii")
    except UnicodeDecodeError:
        return None
    return CommandRef(full) if full in _CMDS else None


def hash_password(password):
    return hashlib.sha256(password).hexdigest().encode()


def _valid_hash(h):
    return len(h) == 64 and all(48 <= c <= 57 or 97 <= c <= 102 for c in h)


def _password_hash(op, cleartext_prefix):
    """The hash a >pass/<pass (cleartext) or #hash/!hash rule names; raises AclError."""
    if op[:1] == cleartext_prefix:
        return hash_password(op[1:])
    h = op[1:]
    if not _valid_hash(h):
        raise AclError(E_EBADMSG)
    return h


def has_spaces(s):
    """ACLStringHasSpaces: C isspace() or NUL."""
    return any(c in b" \t\n\v\f\r\x00" for c in s)


# --- selectors -----------------------------------------------------------------------
class Selector:
    __slots__ = ("root", "allkeys", "allchannels", "allcommands", "allowed", "future",
                 "firstargs", "patterns", "channels")

    def __init__(self, root=False, allchannels=False):
        self.root = root
        self.allkeys = False
        self.allchannels = allchannels
        self.allcommands = False
        self.allowed = set()          # command full names whose bit is set
        self.future = False           # the reserved bit: set by +@all only
        self.firstargs = {}           # command -> [first-arg bytes] (allowed while blocked)
        self.patterns = []            # [pattern bytes, READ|WRITE, compiled matcher]
        self.channels = []            # channel pattern bytes

    def copy(self):
        s = Selector(self.root, self.allchannels)
        s.allkeys = self.allkeys
        s.allcommands = self.allcommands
        s.allowed = set(self.allowed)
        s.future = self.future
        s.firstargs = {k: list(v) for k, v in self.firstargs.items()}
        s.patterns = [list(p) for p in self.patterns]
        s.channels = list(self.channels)
        return s

    # -- the command bitmap --
    def _set_bit(self, name, value):
        if value:
            self.allowed.add(name)
        else:
            self.allowed.discard(name)
            self.allcommands = False

    def change_perm(self, name, allow):
        """ACLChangeSelectorPerm: a container command carries its subcommands along."""
        self._set_bit(name, allow)
        self.firstargs.pop(name, None)
        for sub in SUBS.get(name, ()):
            self._set_bit(sub, allow)

    def set_category(self, cat, value):
        for name in TOP:
            if cat in _CATS[name]:
                self.change_perm(name, value)
            for sub in SUBS[name]:
                if cat in _CATS[sub]:
                    self.change_perm(sub, value)

    def apply(self, op):
        """ACLSetSelector; raises AclError."""
        low = op.lower()
        if low in (b"allkeys", b"~*"):
            self.allkeys = True
            self.patterns = []
        elif low == b"resetkeys":
            self.allkeys = False
            self.patterns = []
        elif low in (b"allchannels", b"&*"):
            self.allchannels = True
            self.channels = []
        elif low == b"resetchannels":
            self.allchannels = False
            self.channels = []
        elif low in (b"allcommands", b"+@all"):
            self.allowed = set(ALL_NAMES)
            self.future = True
            self.allcommands = True
            self.firstargs = {}
        elif low in (b"nocommands", b"-@all"):
            self.allowed = set()
            self.future = False
            self.allcommands = False
            self.firstargs = {}
        elif op[:1] in (b"~", b"%"):
            if self.allkeys:
                raise AclError(E_EEXIST)
            if op[:1] == b"%":
                flags = 0
                offset = 1
                n = len(op)
                while offset < n:
                    c = op[offset]
                    if c in (82, 114) and not flags & READ:          # R r
                        flags |= READ
                    elif c in (87, 119) and not flags & WRITE:       # W w
                        flags |= WRITE
                    elif c == 126:                                   # ~
                        offset += 1
                        break
                    else:
                        raise AclError(E_EINVAL)
                    offset += 1
                if not flags:
                    raise AclError(E_EINVAL)
            else:
                flags = ALL_PERM
                offset = 1
            pattern = op[offset:]
            if has_spaces(pattern):
                raise AclError(E_EINVAL)
            for p in self.patterns:
                if p[0] == pattern:
                    p[1] |= flags
                    break
            else:
                self.patterns.append([pattern, flags, _glob.compile_pattern(pattern)])
            self.allkeys = False
        elif op[:1] == b"&":
            if self.allchannels:
                raise AclError(E_EISDIR)
            pattern = op[1:]
            if has_spaces(pattern):
                raise AclError(E_EINVAL)
            if pattern not in self.channels:
                self.channels.append(pattern)
            self.allchannels = False
        elif op[:1] == b"+" and op[1:2] != b"@":
            body = op[1:]
            if b"|" not in body:
                name = lookup_command(body)
                if name is None:
                    raise AclError(E_ENOENT)
                self.change_perm(name, True)
            else:
                head, _, sub = body.rpartition(b"|")
                name = lookup_command(head)
                if name is None:
                    raise AclError(E_ENOENT)
                if name in PARENT:
                    raise AclError(E_ECHILD)
                if not sub:
                    raise AclError(E_EINVAL)
                if SUBS[name]:
                    full = lookup_command(body)
                    if full is None:
                        raise AclError(E_ENOENT)
                    self.change_perm(full, True)
                else:
                    args = self.firstargs.setdefault(name, [])
                    if not any(a.lower() == sub.lower() for a in args):
                        args.append(sub)
        elif op[:1] == b"-" and op[1:2] != b"@":
            name = lookup_command(op[1:])
            if name is None:
                raise AclError(E_ENOENT)
            self.change_perm(name, False)
        elif op[:1] in (b"+", b"-") and op[1:2] == b"@":
            try:
                cat = op[2:].decode("ascii").lower()
            except UnicodeDecodeError:
                cat = None
            if cat not in CAT_SETS:
                raise AclError(E_ENOENT)
            self.set_category(cat, op[:1] == b"+")
        else:
            raise AclError(E_EINVAL)

    # -- printing --
    def describe_commands(self):
        """ACLDescribeSelectorCommandRules."""
        fake = Selector()
        if self.future:
            additive = False
            rules = [b"+@all"]
            fake.apply(b"+@all")
        else:
            additive = True
            rules = [b"-@all"]
        temp = Selector()
        temp.allowed = set(self.allowed)
        applied = set()
        while True:
            best = None
            mindiff, maxsame = 1 << 31, 0
            for cat in CATEGORIES:
                if cat in applied:
                    continue
                members = CAT_SETS[cat]
                on = len(members & temp.allowed)
                off = len(CAT_MEMBERS[cat]) - on
                diff, same = (off, on) if additive else (on, off)
                if same > diff and (diff < mindiff or (diff == mindiff and same > maxsame)):
                    best, mindiff, maxsame = cat, diff, same
            if best is None:
                break
            fake.set_category(best, additive)
            temp.set_category(best, not additive)
            rules.append((b"+@" if additive else b"-@") + best.encode())
            applied.add(best)
        for name in TOP:
            self._describe_single(name, fake, rules)
        return b" ".join(rules)

    def _describe_single(self, name, fake, rules):
        userbit = name in self.allowed
        if userbit != (name in fake.allowed):
            rules.append((b"+" if userbit else b"-") + name.encode())
            fake.change_perm(name, userbit)
        for sub in SUBS.get(name, ()):
            self._describe_single(sub, fake, rules)
        if not userbit and name in self.firstargs:
            for arg in self.firstargs[name]:
                rules.append(b"+" + name.encode() + b"|" + arg)

    def pattern_strings(self):
        return [_pattern_string(p) for p in self.patterns]

    def describe(self):
        """ACLDescribeSelector."""
        parts = []
        if self.allkeys:
            parts.append(b"~*")
        else:
            parts.extend(self.pattern_strings())
        if self.allchannels:
            parts.append(b"&*")
        else:
            parts.append(b"resetchannels")
            parts.extend(b"&" + c for c in self.channels)
        parts.append(self.describe_commands())
        return b" ".join(parts)

    # -- checks --
    def check(self, spec, argv, keys_cache):
        """ACLSelectorCheckCmd -> (reason, argv index)."""
        name = spec.fullname
        if not self.allcommands and name not in _NO_AUTH and name not in self.allowed:
            args = self.firstargs.get(name)
            if len(argv) < 2 or not args:
                return DENIED_CMD, 0
            first = argv[2 if name in PARENT else 1].lower()
            if not any(a.lower() == first for a in args):
                return DENIED_CMD, 0
        if not self.allkeys:
            keys = keys_cache[0]
            if keys is None:
                fn = _KEYFNS.get(name)      # get_keys, inlined (this is a per-command path)
                if fn is None:
                    fn = _KEYFNS[name] = _compile_keys(name)
                keys = keys_cache[0] = fn(argv)
            if keys:
                patterns = self.patterns
                for pos, need in keys:
                    key = argv[pos]
                    for p in patterns:
                        if p[1] & need == need and p[2](key):
                            break
                    else:
                        return DENIED_KEY, pos
        if not self.allchannels and name in _CHANNELS:
            for pos, is_pattern in get_channels(name, argv):
                if not channel_ok(self.channels, argv[pos], is_pattern):
                    return DENIED_CHANNEL, pos
        return OK, 0

    def key_ok(self, key, need):
        if self.allkeys:
            return True
        for p in self.patterns:
            if p[1] & need == need and p[2](key):
                return True
        return False


def _pattern_string(p):
    pattern, flags = p[0], p[1]
    if flags == ALL_PERM:
        return b"~" + pattern
    if flags == READ:
        return b"%R~" + pattern
    return b"%W~" + pattern


def channel_ok(channels, channel, is_pattern):
    for p in channels:
        if (p == channel) if is_pattern else _glob.match(p, channel):
            return True
    return False


# --- keys and channels of a command (getKeysFromCommandWithSpecs, getChannelsFromCommand) ---
def _need(flags):
    """READ for an ``access`` key spec, WRITE for ``insert``/``update``/``delete``."""
    need = 0
    for f in flags:
        f = f.lower()
        if f == "access":
            need |= READ
        elif f in ("insert", "update", "delete"):
            need |= WRITE
    return need


def _no_keys(argv):
    return ()


def _compile_keys(name):
    """A function argv -> [(index, READ|WRITE)] for one command.  Key specs that are a
    fixed index and range (most commands) become precomputed positions; the others go
    through COMMAND GETKEYS's implementation of Redis's algorithm (commands/server.py:
    specs, then the native getkeys functions of SET, SORT, MIGRATE...)."""
    from .commands.server import _target, get_keys as spec_keys
    t = _target(name)
    fixed = []
    for spec in t.specs:
        if "not_key" in spec.flags:
            continue
        if (spec.bs_type == "index" and spec.fk_type == "range" and spec.fk[b"lastkey"] >= 0
                and "incomplete" not in spec.flags and "variable_flags" not in spec.flags
                and name not in ("sort", "sort_ro")):
            first = spec.bs[b"index"]
            fixed.append((first, first + spec.fk[b"lastkey"], spec.fk[b"keystep"] or 1,
                          _need(spec.flags)))
        else:
            return lambda argv: [(pos, _need(flags)) for pos, flags in spec_keys(t, argv)]
    if not fixed:
        return _no_keys
    if len(fixed) == 1 and fixed[0][0] == fixed[0][1]:
        pos, need = fixed[0][0], fixed[0][3]
        one = ((pos, need),)
        return lambda argv: one if pos < len(argv) else ()

    def keys(argv):
        argc = len(argv)
        out = []
        for first, last, step, need in fixed:
            if last >= argc:
                return ()       # an invalid spec: Redis finds no keys at all
            out.extend((i, need) for i in range(first, last + 1, step))
        return out
    return keys


_KEYFNS = {}


def get_keys(name, argv):
    """[(argv index, READ|WRITE needed)] of the keys a command touches."""
    fn = _KEYFNS.get(name)
    if fn is None:
        fn = _KEYFNS[name] = _compile_keys(name)
    return fn(argv)


_CHANNELS = {"publish": "one", "spublish": "one", "subscribe": "all", "ssubscribe": "all",
             "psubscribe": "patterns"}


def get_channels(name, argv):
    kind = _CHANNELS.get(name)
    if kind is None:
        return ()
    if kind == "one":
        return ((1, False),)
    return [(i, kind == "patterns") for i in range(1, len(argv))]


# --- users -----------------------------------------------------------------------------
class User:
    __slots__ = ("name", "enabled", "nopass", "sanitize", "passwords", "selectors")

    def __init__(self, name, allchannels=False):
        self.name = name
        self.enabled = False
        self.nopass = False
        self.sanitize = None           # None, "skip" or "yes"
        self.passwords = []            # hex SHA-256 bytes
        self.selectors = [Selector(root=True, allchannels=allchannels)]

    @property
    def root(self):
        return self.selectors[0]

    def copy_from(self, other):
        self.enabled = other.enabled
        self.nopass = other.nopass
        self.sanitize = other.sanitize
        self.passwords = list(other.passwords)
        self.selectors = [s.copy() for s in other.selectors]

    def clone(self, name=None):
        u = User(self.name if name is None else name)
        u.copy_from(self)
        return u

    def flag_names(self):
        out = [b"on" if self.enabled else b"off"]
        if self.nopass:
            out.append(b"nopass")
        if self.sanitize == "skip":
            out.append(b"skip-sanitize-payload")
        elif self.sanitize == "yes":
            out.append(b"sanitize-payload")
        return out

    def unrestricted(self):
        """May run anything: such clients skip the check (``client.acl_user`` None)."""
        r = self.selectors[0]
        return (r.allcommands or r.allowed >= ALL_NAMES) and r.allkeys and r.allchannels

    def apply(self, op, pubsub_default_all=False):
        """ACLSetUser; raises AclError."""
        if not op:
            return
        low = op.lower()
        if low == b"on":
            self.enabled = True
        elif low == b"off":
            self.enabled = False
        elif low == b"skip-sanitize-payload":
            self.sanitize = "skip"
        elif low == b"sanitize-payload":
            self.sanitize = "yes"
        elif low == b"nopass":
            self.nopass = True
            self.passwords = []
        elif low == b"resetpass":
            self.nopass = False
            self.passwords = []
        elif op[:1] in (b">", b"#"):
            h = _password_hash(op, b">")
            if h not in self.passwords:
                self.passwords.append(h)
            self.nopass = False
        elif op[:1] in (b"<", b"!"):
            h = _password_hash(op, b"<")
            if h not in self.passwords:
                raise AclError(E_ENODEV)
            self.passwords.remove(h)
        elif op[:1] == b"(" and op[-1:] == b")":
            sel = Selector(allchannels=pubsub_default_all)
            args = split_args(op[1:-1]) or []
            for a in args:
                sel.apply(a)
            self.selectors.append(sel)
        elif low == b"clearselectors":
            del self.selectors[1:]
        elif low == b"reset":
            self.nopass = False
            self.passwords = []
            root = self.selectors[0]
            root.apply(b"resetkeys")
            root.apply(b"resetchannels")
            if pubsub_default_all:
                root.apply(b"allchannels")
            self.enabled = False
            self.sanitize = "yes"
            del self.selectors[1:]
            root.apply(b"-@all")
        else:
            self.selectors[0].apply(op)

    def describe(self):
        """ACLDescribeUser (without the ``user <name>`` prefix)."""
        parts = self.flag_names() + [b"#" + p for p in self.passwords]
        head = b" ".join(parts) + b" " + self.selectors[0].describe()
        for sel in self.selectors[1:]:
            head += b" (" + sel.describe() + b")"
        return head

    def check(self, spec, argv):
        """ACLCheckAllUserCommandPerm -> (reason, argv index)."""
        if len(self.selectors) == 1:
            return self.selectors[0].check(spec, argv, [None])
        relevant, last_idx = DENIED_CMD, 0
        cache = [None]
        for sel in self.selectors:
            reason, idx = sel.check(spec, argv, cache)
            if reason == OK:
                return OK, 0
            if reason > relevant or (reason == relevant and idx > last_idx):
                relevant, last_idx = reason, idx
        return relevant, last_idx

    def full_key_access(self, spec, argv):
        """ACLUserCheckCmdWithUnrestrictedKeyAccess(..., CMD_KEY_ACCESS): a selector that
        may run the command and read every key (SORT's BY and GET patterns)."""
        cache = [None]
        for sel in self.selectors:
            if sel.check(spec, argv, cache)[0] == OK and (
                    sel.allkeys or any(p[0] == b"*" and p[1] & READ for p in sel.patterns)):
                return True
        return False

    def channel_ok(self, channel, is_pattern):
        for sel in self.selectors:
            if sel.allchannels or channel_ok(sel.channels, channel, is_pattern):
                return True
        return False


def merge_selector_args(args):
    """ACLMergeSelectorArguments -> (merged list, None) or (None, index of the unmatched '(')."""
    out = []
    open_at = -1
    selector = None
    for j, op in enumerate(args):
        if op[:1] == b"(" and op[-1:] != b")":
            selector = op
            open_at = j
            continue
        if open_at != -1:
            selector = selector + b" " + op
            if op[-1:] == b")":
                open_at = -1
                out.append(selector)
            continue
        out.append(op)
    if open_at != -1:
        return None, open_at
    return out, None


def split_args(line):
    """sdssplitargs on bytes (quotes and escapes as redis.conf); None on unbalanced quotes."""
    from .config import sdssplitargs
    res = sdssplitargs(line.decode("latin-1"))
    if res is None:
        return None
    return [a.encode("latin-1") for a in res]


# --- the log ---------------------------------------------------------------------------
class LogEntry:
    __slots__ = ("count", "reason", "context", "object", "username", "ctime", "cinfo")


class Acl:
    """The users of one server, its ACL log and the ACL file."""

    def __init__(self, server, config=None):
        self.server = server
        self.users = {}
        self.log = []
        self.max_log = 128
        self.pubsub_default_all = False
        self.aclfile = ""
        if config is not None:
            self.configure(config)
        self.default = self._create_default()
        self.users[b"default"] = self.default
        if config is not None:
            pw = config["requirepass"]
            if pw:
                self.update_default_password(pw.encode("utf-8", "surrogateescape")
                                             if isinstance(pw, str) else pw)
            users = getattr(config, "users", ())
            if users and self.aclfile:
                raise AclStartupError(
                    "Configuring Redis with users defined in redis.conf and at the same setting an "
                    "ACL file path is invalid. This setup is very likely to lead to configuration "
                    "errors and security holes, please define either an ACL file or declare users "
                    "directly in your redis.conf, but not both.")
            if users:
                try:
                    self.load_config_users(users)
                except ValueError as e:
                    raise AclStartupError("%s. Critical error while loading ACLs. Exiting." % e)
            if self.aclfile:
                err = self.load(self.aclfile)
                if err is not None:
                    raise AclStartupError("Aborting Redis startup because of ACL errors: " + err)

    def configure(self, config):
        self.max_log = config["acllog-max-len"]
        self.pubsub_default_all = config["acl-pubsub-default"] == "allchannels"
        self.aclfile = config["aclfile"] or ""
        del self.log[self.max_log:]

    def _create_default(self):
        u = User(b"default", self.pubsub_default_all)
        for op in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
            u.apply(op)
        return u

    def new_user(self, name):
        return User(name, self.pubsub_default_all)

    # -- authentication --
    def default_needs_auth(self):
        """authRequired's first half: the default user has a password or is off."""
        d = self.default
        return not d.nopass or not d.enabled

    def update_default_password(self, password):
        """requirepass: resetpass, then >password or nopass (ACLUpdateDefaultUserPassword)."""
        d = self.default
        d.apply(b"resetpass")
        if password:
            d.apply(b">" + password)
        else:
            d.apply(b"nopass")

    def check_credentials(self, username, password):
        u = self.users.get(bytes(username))
        if u is None or not u.enabled:
            return None
        if u.nopass:
            return u
        given = hash_password(password)
        ok = False
        for h in u.passwords:
            ok = hmac.compare_digest(given, h) | ok
        return u if ok else None

    def authenticate(self, client, username, password, argv0=b"auth"):
        """ACLAuthenticateUser: True and the client switched to the user, or False and a log
        entry (*argv0*, the command name as sent, is its object)."""
        u = self.check_credentials(username, password)
        if u is None:
            in_multi = client.multi is not None or client.in_exec     # AUTH run by EXEC too
            self.add_log(client, DENIED_AUTH, CTX_MULTI if in_multi else CTX_TOPLEVEL,
                         username=bytes(username), obj=bytes(argv0))
            return False
        fn = getattr(client, "authenticated_now", None)
        if fn is not None:
            fn()
        else:
            client.authenticated = True
        self.attach(client, u)
        return True

    def attach(self, client, user):
        client.user = user.name.decode("utf-8", "surrogateescape")
        client.acl_user = None if user.unrestricted() else user

    def user_of(self, client):
        return self.users.get(client.user.encode("utf-8", "surrogateescape"), self.default)

    @property
    def default_restricted(self):
        return not self.default.unrestricted()

    def initial_acl_user(self):
        return None if self.default.unrestricted() else self.default

    # -- checks --
    def check_client(self, client, spec, argv):
        """The processCommand check for a restricted user: None or the refusal."""
        user = client.acl_user
        sels = user.selectors
        if len(sels) == 1:
            reason, idx = sels[0].check(spec, argv, [None])
        else:
            reason, idx = user.check(spec, argv)
        if reason == OK:
            return None
        in_exec = client.in_exec        # the number of queued commands while EXEC runs them
        ctx = CTX_MULTI if (client.multi is not None or in_exec) else CTX_TOPLEVEL
        # the entry's client-info names the command as Redis's c->lastcmd does: the refused
        # command at the top level (set before the checks), EXEC inside a transaction
        if not in_exec:
            client.last_cmd = spec.fullname
        self.add_log(client, reason, ctx, argv=argv, idx=idx, spec=spec)
        if in_exec:
            return ReplyError(NOPERM_EXEC % EXEC_REASONS[reason])
        if reason == DENIED_CMD:
            return ReplyError(NOPERM_CMD % spec.fullname)
        if reason == DENIED_KEY:
            return ReplyError(NOPERM_KEY)
        return ReplyError(NOPERM_CHANNEL)

    def check_script(self, caller, spec, argv):
        """scriptVerifyACL: None or the error text (without the ERR prefix)."""
        user = caller.acl_user
        if user is None:
            return None
        reason, idx = user.check(spec, argv)
        if reason == OK:
            return None
        self.add_log(caller, reason, CTX_LUA, argv=argv, idx=idx, spec=spec, username=user.name)
        return "The user executing the script " + SCRIPT_REASONS[reason]

    # -- the log --
    def add_log(self, client, reason, context, argv=None, idx=0, spec=None, username=None, obj=None):
        if username is None:
            username = client.user.encode("utf-8", "surrogateescape")
        if obj is None:
            if reason == DENIED_CMD:
                obj = spec.fullname.encode()
            else:
                obj = bytes(argv[idx])
        now_ms = int(self.server.reactor.seconds() * 1000)
        cinfo = _client_info(client, self.server.reactor.seconds())
        log = self.log
        for i, e in enumerate(log[:10]):
            if (e.reason == reason and e.context == context and abs(e.ctime - now_ms) <= LOG_GROUPING_MS
                    and e.object == obj and e.username == username):
                del log[i]
                log.insert(0, e)
                e.cinfo = cinfo
                e.ctime = now_ms
                e.count += 1
                return
        e = LogEntry()
        e.count, e.reason, e.context, e.object = 1, reason, context, obj
        e.username, e.ctime, e.cinfo = username, now_ms, cinfo
        log.insert(0, e)
        del log[self.max_log:]

    # -- users changed --
    def user_changed(self, name, old=None):
        """Refresh ``acl_user`` of the clients authenticated as *name* (and kill pub/sub
        clients whose channels the new rules revoke, as ACLKillPubsubClientsIfNeeded)."""
        u = self.users[name]
        sname = name.decode("utf-8", "surrogateescape")
        restricted = None if u.unrestricted() else u
        kill = old is not None and _channels_revoked(u, old)
        for c in list(self.server.clients.values()):
            if c.user != sname or c.kind == "master":
                continue
            if kill and _subscribed_outside(c, u):
                c.abort()
                continue
            c.acl_user = restricted

    def delete_user(self, name, current):
        """ACL DELUSER of one user: the clients authenticated with it are closed."""
        if self.users.pop(name, None) is None:
            return False
        self.close_clients_of(name, current)
        return True

    # -- file --
    def config_lines(self):
        """``user`` lines for CONFIG REWRITE: every user, none when an ACL file is used."""
        if self.aclfile:
            return []
        return [("user " + (name + b" " + self.users[name].describe()).decode("utf-8", "surrogateescape"))
                for name in sorted(self.users)]

    def save(self, path):
        data = b"".join(b"user " + name + b" " + self.users[name].describe() + b"\n"
                        for name in sorted(self.users))
        tmp = "%s.tmp-%d-%d" % (path, os.getpid(), int(_time.time() * 1000))
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.rename(tmp, path)
            return True
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return False

    def parse_file(self, path):
        """ACLLoadFromFile's parsing: (users dict, None) or (None, error text)."""
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except OSError as e:
            return None, "Error loading ACLs, opening file '%s': %s" % (path, os.strerror(e.errno or 0))
        errors = []
        users = {}
        fname = self.aclfile or path
        for i, line in enumerate(raw.split(b"\n")):
            linenum = i + 1
            line = line.strip(b" \t\r\n")
            if not line:
                continue
            argv = line.split(b" ")     # sdssplitlen: two spaces make an empty argument
            if argv[0] != b"user" or len(argv) < 2:
                errors.append("%s:%d should start with user keyword followed by the username. "
                              % (fname, linenum))
                continue
            if has_spaces(argv[1]):
                errors.append("'%s:%d: username '%s' contains invalid characters. "
                              % (fname, linenum, argv[1].decode("utf-8", "surrogateescape")))
                continue
            if argv[1] in users:
                errors.append("WARNING: Duplicate user '%s' found on line %d. "
                              % (argv[1].decode("utf-8", "surrogateescape"), linenum))
                continue
            u = self.new_user(argv[1])
            users[argv[1]] = u
            merged, bad = merge_selector_args(argv[2:])
            if merged is None:
                errors.append("%s:%d: Unmatched parenthesis in selector definition." % (fname, linenum))
                merged = []
            for op in merged:
                op = op.strip(b"\t\r\n")
                try:
                    u.apply(op, self.pubsub_default_all)
                except AclError as e:
                    if e.args[0] == E_ENOENT:
                        # only unknown commands are named (the others may carry a password)
                        errors.append("%s:%d: Error in applying operation '%s': %s. " % (
                            fname, linenum, op.decode("utf-8", "surrogateescape"), e.args[0]))
                    else:
                        errors.append("%s:%d: %s. " % (fname, linenum, e.args[0]))
        if errors:
            return None, "".join(errors) + ("WARNING: ACL errors detected, no change to the previously "
                                            "active ACL rules was performed")
        return users, None

    def load(self, path, current=None):
        """ACL LOAD: None on success, else the error text; nothing changes on error."""
        users, err = self.parse_file(path)
        if err is not None:
            return err
        new_default = users.pop(b"default", None) or self._create_default()
        self.default.copy_from(new_default)
        old = self.users
        self.users = {b"default": self.default}
        self.users.update(users)
        for name in old:
            if name != b"default":
                self.close_clients_of(name, current)
        for c in self.server.clients.values():
            if c.user == "default" and c.kind != "master":
                c.acl_user = self.initial_acl_user()
        return None

    def close_clients_of(self, name, current):
        """ACLFreeUserAndKillClients: the user's clients fall back to an unauthenticated
        default user and are closed (*current* after its reply)."""
        sname = name.decode("utf-8", "surrogateescape")
        for c in list(self.server.clients.values()):
            if c.user == sname:
                c.user = "default"
                c.authenticated = False
                c.acl_user = None
                if c is current:
                    c.closing = True
                else:
                    _kill(self.server, c)

    def load_config_users(self, lines):
        """The config file's users (ACLLoadConfiguredUsers): each line is ``[name, rule...]``
        with selectors already merged.  Raises ValueError with Redis's reason."""
        for argv in lines:
            name = argv[0]
            if has_spaces(name):
                raise ValueError("Spaces not allowed in ACL usernames")
            u = self.users.get(name)
            if u is None:
                u = self.users[name] = self.new_user(name)
            elif name == b"default":
                u.apply(b"reset", self.pubsub_default_all)
            for op in argv[1:]:
                try:
                    u.apply(op, self.pubsub_default_all)
                except AclError as e:
                    raise ValueError("Error loading ACL rule '%s' for the user named '%s': %s" % (
                        op.decode("utf-8", "surrogateescape"), name.decode("utf-8", "surrogateescape"),
                        e.args[0]))


def full_arg(args, i):
    full = [b"user"] + list(args)
    return full[i].decode("utf-8", "surrogateescape") if i < len(full) else ""


def _client_info(client, now):
    """The CLIENT LIST line of a log entry.  While EXEC runs its commands the client still
    shows its transaction, as Redis's does: cmd=exec flags=x multi=<queued>."""
    from .commands.connection import client_info_string
    in_exec = client.in_exec
    if not in_exec:
        return client_info_string(client, now).encode("utf-8", "surrogateescape")
    saved = client.last_cmd, client.multi
    client.last_cmd, client.multi = "exec", [None] * in_exec
    try:
        return client_info_string(client, now).encode("utf-8", "surrogateescape")
    finally:
        client.last_cmd, client.multi = saved


def startup_problem(config):
    """Why Redis would refuse to start with this config's users and ACL file, or None
    (checked by ``twistd redislite`` before anything listens)."""
    class _Stub:
        clients = {}
    try:
        Acl(_Stub(), config)
    except AclStartupError as e:
        return str(e)
    return None


def check_config_user(args, users):
    """ACLAppendUserForLoading for a config file ``user`` line (*args* after ``user``):
    the error text, or None after appending the line to *users*.  Unknown commands
    are only reported when the users are loaded, as in Redis."""
    name = args[0]
    if any(u[0] == name for u in users):
        return "Error in user declaration '%s': %s" % (name.decode("utf-8", "surrogateescape"),
                                                       E_EALREADY)
    merged, bad = merge_selector_args(args[1:])
    if merged is None:
        return "Error in user declaration '%s': %s" % (
            full_arg(args, bad), "Wrong format")
    full = [b"user"] + list(args)       # Redis names argv[j] of the whole line (sic)
    fake = User(b"__fakeuser:0__")
    for j, op in enumerate(merged):
        try:
            fake.apply(op)
        except AclError as e:
            if e.args[0] != E_ENOENT:
                return "Error in user declaration '%s': %s" % (
                    full[j].decode("utf-8", "surrogateescape"), e.args[0])
    users.append([name] + merged)
    return None


def _kill(server, c):
    from .commands.connection import _close_client
    _close_client(server, c)


def _channels_revoked(new, old):
    for s in new.selectors:
        if s.allchannels:
            return False
    upcoming = [ch for s in new.selectors for ch in s.channels]
    for s in old.selectors:
        for ch in s.channels:
            if ch not in upcoming:
                return True
    return False


def _subscribed_outside(client, user):
    """Whether a pub/sub client of *user* holds a subscription the new rules deny."""
    upcoming = [ch for s in user.selectors for ch in s.channels]
    if not (client.channels or client.patterns or client.shard_channels):
        return False
    for p in client.patterns:
        if not channel_ok(upcoming, p, True):
            return True
    for ch in list(client.channels) + list(client.shard_channels):
        if not channel_ok(upcoming, ch, False):
            return True
    return False
