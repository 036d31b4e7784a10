"""The ACL command family: SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT,
DRYRUN, GENPASS, LOG, SAVE, LOAD and HELP, as Redis 7.0.15's ``aclCommand``.

The users, rules and checks live in :mod:`redislite.acl`; this module only
parses arguments and shapes replies.
"""

import os

from .. import acl as _acl
from .. import errors
from ..errors import ReplyError
from ..resp.encoder import OK, Double, Map, Set, Status
from .args import to_int
from .registry import command

_NOT_INT = ReplyError(errors.NOT_INTEGER)


def _text(b):
    return b.decode("utf-8", "surrogateescape")


def _err(text):
    return ReplyError("ERR " + text)


@command("acl|setuser")
def acl_setuser(client, argv):
    registry = client.server.acl
    username = bytes(argv[2])
    if _acl.has_spaces(username):
        raise _err("Usernames can't contain spaces or null characters")
    ops = [bytes(a) for a in argv[3:]]
    merged, bad = _acl.merge_selector_args(ops)
    if merged is None:
        raise _err("Unmatched parenthesis in acl selector starting at '%s'." % _text(ops[bad]))
    existing = registry.users.get(username)
    temp = existing.clone() if existing is not None else registry.new_user(username)
    for op in merged:
        try:
            temp.apply(op, registry.pubsub_default_all)
        except _acl.AclError as e:
            raise _err("Error in ACL SETUSER modifier '%s': %s" % (_text(op), e.args[0]))
    if existing is None:
        registry.users[username] = temp
        registry.user_changed(username)
    else:
        old = existing.clone()
        existing.copy_from(temp)
        registry.user_changed(username, old)
    return OK


@command("acl|deluser")
def acl_deluser(client, argv):
    registry = client.server.acl
    names = [bytes(a) for a in argv[2:]]
    if b"default" in names:
        raise _err("The 'default' user cannot be removed")
    return sum(1 for n in names if registry.delete_user(n, client))


def _selector_fields(sel):
    keys = b"~*" if sel.allkeys else b" ".join(sel.pattern_strings())
    channels = b"&*" if sel.allchannels else b" ".join(b"&" + c for c in sel.channels)
    return [("commands", sel.describe_commands()), ("keys", keys), ("channels", channels)]


@command("acl|getuser")
def acl_getuser(client, argv):
    u = client.server.acl.users.get(bytes(argv[2]))
    if u is None:
        return None
    fields = [("flags", Set(u.flag_names())), ("passwords", list(u.passwords))]
    fields += _selector_fields(u.root)
    fields.append(("selectors", [Map(_selector_fields(s)) for s in u.selectors[1:]]))
    return Map(fields)


@command("acl|list")
def acl_list(client, argv):
    users = client.server.acl.users
    return [b"user " + name + b" " + users[name].describe() for name in sorted(users)]


@command("acl|users")
def acl_users(client, argv):
    return sorted(client.server.acl.users)


@command("acl|whoami")
def acl_whoami(client, argv):
    return client.user.encode("utf-8", "surrogateescape")


@command("acl|cat")
def acl_cat(client, argv):
    if len(argv) == 2:
        return [c.encode() for c in _acl.CATEGORIES]
    if len(argv) != 3:
        raise ReplyError(errors.WRONG_ARITY % "acl|cat")
    try:
        cat = argv[2].decode("ascii").lower()
    except UnicodeDecodeError:
        cat = None
    if cat not in _acl.CAT_MEMBERS:
        raise _err("Unknown category '%s'" % _text(argv[2][:128]))
    return [n.encode() for n in _acl.CAT_MEMBERS[cat]]


@command("acl|genpass")
def acl_genpass(client, argv):
    bits = 256
    if len(argv) == 3:
        bits = to_int(argv[2])
        if bits is None:
            raise _NOT_INT
    elif len(argv) > 3:
        raise ReplyError(errors.WRONG_ARITY % "acl|genpass")
    if bits <= 0 or bits > 4096:
        raise _err("ACL GENPASS argument must be the number of bits for the output password, "
                   "a positive number up to 4096")
    chars = (bits + 3) // 4
    return os.urandom((chars + 1) // 2).hex()[:chars].encode()


@command("acl|log")
def acl_log(client, argv):
    registry = client.server.acl
    count = 10
    if len(argv) == 3:
        if argv[2].lower() == b"reset":
            registry.log.clear()
            return OK
        count = to_int(argv[2])
        if count is None:
            raise _NOT_INT
        count = max(count, 0)
    elif len(argv) > 3:
        raise ReplyError(errors.WRONG_ARITY % "acl|log")
    now_ms = client.server.reactor.seconds() * 1000
    out = []
    for e in registry.log[:count]:
        out.append(Map([
            ("count", e.count),
            ("reason", _acl.REASON_NAMES[e.reason]),
            ("context", e.context),
            ("object", e.object),
            ("username", e.username),
            ("age-seconds", Double((int(now_ms) - e.ctime) / 1000)),
            ("client-info", e.cinfo),
        ]))
    return out


@command("acl|dryrun")
def acl_dryrun(client, argv):
    u = client.server.acl.users.get(bytes(argv[2]))
    if u is None:
        raise _err("User '%s' not found" % _text(argv[2]))
    cmd = argv[3:]
    spec = _acl.lookup_argv(cmd)
    if spec is None:
        raise _err("Command '%s' not found" % _text(argv[3]))
    a = spec.arity
    n = len(cmd)
    if (a > 0 and a != n) or n < -a:
        raise ReplyError(errors.WRONG_ARITY % spec.fullname)
    reason, idx = u.check(spec, cmd)
    if reason == _acl.DENIED_CMD:
        return ("This user has no permissions to run the '%s' command" % spec.fullname).encode()
    if reason == _acl.DENIED_KEY:
        return b"This user has no permissions to access the '" + cmd[idx] + b"' key"
    if reason == _acl.DENIED_CHANNEL:
        return b"This user has no permissions to access the '" + cmd[idx] + b"' channel"
    return OK


def _aclfile(client):
    path = client.server.acl.aclfile
    if not path:
        raise ReplyError(_acl.NO_ACLFILE)
    return path


@command("acl|save")
def acl_save(client, argv):
    if not client.server.acl.save(_aclfile(client)):
        raise ReplyError(_acl.SAVE_FAILED)
    return OK


@command("acl|load")
def acl_load(client, argv):
    error = client.server.acl.load(_aclfile(client), client)
    if error is not None:
        raise _err(error)
    return OK


_HELP = [Status(line) for line in (
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
)]


@command("acl|help")
def acl_help(client, argv):
    return _HELP
