"""Connection commands: PING, ECHO, QUIT, SELECT, HELLO, AUTH, RESET and CLIENT.

They only touch connection state (the :class:`~redislite.protocol.Client`) and
the server's client registry (``server.clients``, id -> client), never keys.
Replies and error texts are Redis 7.0.15's; 7.0 has no CLIENT SETINFO and no
CLIENT NO-TOUCH, so (as Redis) those are unknown subcommands here too.
"""

from .. import clientlimits, errors
from ..clientlimits import REPLY_NOREPLY, REPLY_OFF, REPLY_SKIP, REPLY_SKIP_NEXT
from ..errors import ReplyError
from ..resp.encoder import OK, PONG, Map, Status, Verbatim
from .args import INT64_MAX, to_int
from .registry import command

REDIS_VERSION = "7.0.15"
_RESET = Status("RESET")
_SYNTAX = ReplyError(errors.SYNTAX)
_NOT_INT = ReplyError(errors.NOT_INTEGER)
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1

#: Functions ``fn(client)`` run by RESET, so families that own per-connection
#: state (MULTI/WATCH, pub/sub, tracking) can clear it without this module
#: knowing their internals.  Register with :func:`on_reset`.
RESET_HOOKS = []


def on_reset(fn):
    """Register ``fn(client)`` to run on RESET (usable as a decorator)."""
    RESET_HOOKS.append(fn)
    return fn


def _text(b):
    """Argument bytes as the str Redis would print in an error (bytes preserved)."""
    return b.decode("utf-8", "surrogateescape")


# -- subscription / state helpers (pub/sub and MULTI live in other modules) --
def _count(client, attr):
    v = getattr(client, attr, None)
    return len(v) if v else 0


def sub_counts(client):
    """(channels, patterns, shard channels) the client is subscribed to."""
    return _count(client, "channels"), _count(client, "patterns"), _count(client, "shard_channels")


def client_type(client):
    """Redis's getClientType: master, replica, pubsub or normal."""
    kind = client.kind
    if kind == "master":
        return "master"
    if kind in ("replica", "slave"):
        return "replica"
    if any(sub_counts(client)):
        return "pubsub"
    return "normal"


_TYPE_NAMES = {b"normal": "normal", b"slave": "replica", b"replica": "replica",
               b"pubsub": "pubsub", b"master": "master"}


def _parse_type(arg):
    t = _TYPE_NAMES.get(arg.lower())
    if t is None:
        raise ReplyError(errors.UNKNOWN_CLIENT_TYPE % _text(arg))
    return t


# -- simple commands -----------------------------------------------------------
@command("ping")
def ping(client, argv):
    """RESP2 clients in subscribed mode get the ``["pong", msg]`` array Redis sends there."""
    if len(argv) > 2:
        raise ReplyError(errors.WRONG_ARITY % "ping")
    if not client.resp3 and client.subscribed and any(sub_counts(client)):
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    return argv[1] if len(argv) == 2 else PONG


@command("echo")
def echo(client, argv):
    return argv[1]


@command("quit")
def quit_(client, argv):
    """+OK, then the protocol closes the connection after writing the reply."""
    client.closing = True
    return OK


@command("select")
def select(client, argv):
    v = to_int(argv[1])
    if v is None:
        raise _NOT_INT
    if v < _INT32_MIN or v > _INT32_MAX:
        raise ReplyError(errors.INT32_RANGE)
    if v < 0 or v >= client.server.databases:
        raise ReplyError(errors.DB_INDEX_OUT_OF_RANGE)
    client.db = v
    return OK


# -- authentication --------------------------------------------------------------
def check_credentials(server, username, password):
    """The ACL user *username* if *password* opens it (enabled, nopass or a matching
    password), else None; see redislite/acl.py."""
    return server.acl.check_credentials(username, password)


@command("auth")
def auth(client, argv):
    if len(argv) > 3:
        raise _SYNTAX
    acl = client.server.acl
    if len(argv) == 2:
        if acl.default.nopass:
            raise ReplyError(errors.AUTH_NOT_CONFIGURED)
        username, password = b"default", argv[1]
    else:
        username, password = argv[1], argv[2]
    if not acl.authenticate(client, username, password, argv[0]):
        raise ReplyError(errors.WRONGPASS)
    return OK


def valid_client_name(name):
    """Redis allows only printable ASCII without spaces ('!'..'~')."""
    return all(33 <= c <= 126 for c in name)


def _set_name(client, name):
    if not valid_client_name(name):
        raise ReplyError(errors.CLIENT_NAME_SPACES)
    client.name = bytes(name) if name else None


@command("hello")
def hello(client, argv):
    ver = 0
    i = 1
    if len(argv) >= 2:
        v = to_int(argv[1])
        if v is None:
            raise ReplyError(errors.HELLO_PROTO_NOT_INT)
        if v < 2 or v > 3:
            raise ReplyError(errors.PROTO_VERSION)
        ver = v
        i = 2
    creds = name = None
    n = len(argv)
    while i < n:
        more = n - 1 - i
        opt = argv[i].upper()
        if opt == b"AUTH" and more >= 2:
            creds = (argv[i + 1], argv[i + 2])
            i += 3
        elif opt == b"SETNAME" and more >= 1:
            name = argv[i + 1]
            i += 2
        else:
            raise ReplyError(errors.HELLO_SYNTAX % _text(argv[i]))
    acl = client.server.acl
    if creds is not None:
        if not acl.authenticate(client, creds[0], creds[1], argv[0]):
            raise ReplyError(errors.WRONGPASS)
    if not client.authenticated:
        raise ReplyError(errors.HELLO_NOAUTH)
    if name is not None:
        _set_name(client, name)
    if ver:
        client.resp3 = ver == 3
    return hello_reply(client)


def hello_reply(client):
    server = client.server
    role = "replica" if getattr(server, "replica_of", None) else "master"
    return Map([
        ("server", "redis"),
        ("version", REDIS_VERSION),
        ("proto", 3 if client.resp3 else 2),
        ("id", client.id),
        ("mode", "standalone"),
        ("role", role),
        ("modules", []),
    ])


@command("reset")
def reset(client, argv):
    """Back to a fresh connection's state, as Redis's clearClientConnectionState.

    Like Redis 7.0, CLIENT NO-EVICT survives a RESET (it is not in the list of
    flags RESET clears)."""
    if client.kind in ("master", "replica", "slave"):
        raise ReplyError(errors.RESET_NOT_NORMAL)
    for fn in RESET_HOOKS:
        fn(client)
    client.db = 0
    client.resp3 = False
    client.multi = None
    client.watch_dirty = False
    client.name = None
    # clientSetDefaultAuth: the default user, authenticated when it needs no password
    acl = client.server.acl
    client.user = "default"
    client.acl_user = acl.initial_acl_user()
    if acl.default_needs_auth() and client.authenticated:
        client.authenticated = False
        parser = getattr(client, "parser", None)
        if parser is not None:
            parser.auth_required = True
    elif not acl.default_needs_auth():
        client.authenticated = True
    return _RESET


# -- CLIENT ------------------------------------------------------------------------
def _flags(client):
    f = []
    kind = client.kind
    if kind in ("replica", "slave"):
        f.append("S")
    elif kind == "monitor":
        f.append("O")
    if kind == "master":
        f.append("M")
    if any(sub_counts(client)):
        f.append("P")
    if client.multi is not None:
        f.append("x")
    if getattr(client, "blocked", None):
        f.append("b")
    if client.watch_dirty:
        f.append("d")
    if client.closing:
        f.append("c")
    if client.no_evict:
        f.append("e")
    return "".join(f) or "N"


def _buffers(client):
    """(qbuf, oll, omem): the parser's held partial command, and what the transport
    still queues for the client (we write at once, so obl is always 0)."""
    parser = getattr(client, "parser", None)
    pbuf = getattr(parser, "_pbuf", None)
    qbuf = len(pbuf) if pbuf else 0
    t = getattr(client, "transport", None)
    oll = omem = 0
    if t is not None:
        data = getattr(t, "dataBuffer", b"") or b""
        temp = getattr(t, "_tempDataBuffer", None) or ()
        omem = len(data) + (getattr(t, "_tempDataLen", 0) or 0)
        oll = len(temp) + (1 if data else 0)
    return qbuf, oll, omem


def client_info_string(client, now):
    """One CLIENT LIST line (no newline), fields in Redis 7.0.15's order.

    qbuf, oll and omem are real (parser and transport buffers); the allocator
    figures (qbuf-free, argv-mem, rbs...) are plausible constants."""
    sub, psub, ssub = sub_counts(client)
    multi = -1 if client.multi is None else len(client.multi)
    name = client.name.decode("utf-8", "surrogateescape") if client.name else ""
    qbuf, oll, omem = _buffers(client)
    return (
        "id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=%s db=%d sub=%d psub=%d "
        "ssub=%d multi=%d qbuf=%d qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 "
        "oll=%d omem=%d tot-mem=%d events=r cmd=%s user=%s redir=-1 resp=%d" % (
            client.id, client.addr, client.laddr, client.fd, name,
            max(0, int(now - client.created)), max(0, int(now - client.last_interaction)),
            _flags(client), client.db, sub, psub, ssub, multi, qbuf, oll, omem,
            2048 + qbuf + omem, client.last_cmd, client.user, 3 if client.resp3 else 2))


@command("client|id")
def client_id(client, argv):
    return client.id


@command("client|setname")
def client_setname(client, argv):
    _set_name(client, argv[2])
    return OK


@command("client|getname")
def client_getname(client, argv):
    return client.name


@command("client|info")
def client_info(client, argv):
    return Verbatim(client_info_string(client, client.server.reactor.seconds()) + "\n")


@command("client|list")
def client_list(client, argv):
    server = client.server
    now = server.reactor.seconds()
    n = len(argv)
    if n == 4 and argv[2].lower() == b"type":
        want = _parse_type(argv[3])
        chosen = [c for c in server.clients.values() if client_type(c) == want]
    elif n > 3 and argv[2].lower() == b"id":
        chosen = []
        for raw in argv[3:]:
            cid = to_int(raw)
            if cid is None:
                raise ReplyError(errors.INVALID_CLIENT_ID)
            c = server.clients.get(cid)
            if c is not None:
                chosen.append(c)
    elif n != 2:
        raise _SYNTAX
    else:
        chosen = list(server.clients.values())
    return Verbatim("".join(client_info_string(c, now) + "\n" for c in chosen))


def _close_client(server, target):
    """Close another client now and drop it from the registry at once, as Redis's
    synchronous freeClient does (Twisted reports connectionLost only later)."""
    close = getattr(target, "close", None)
    if close is not None:
        close()
    else:
        target.closing = True
        if target.transport is not None:
            target.transport.loseConnection()
    server.remove_client(target)


@command("client|kill")
def client_kill(client, argv):
    server = client.server
    addr = laddr = user = ctype = None
    cid = 0
    skipme = True
    n = len(argv)
    if n == 3:
        addr = _text(argv[2])
        skipme = False  # the old form may kill the caller itself
    else:
        i = 2
        while i < n:
            opt = argv[i].lower()
            if i + 1 >= n:
                raise _SYNTAX
            val = argv[i + 1]
            if opt == b"id":
                v = to_int(val)
                if v is None or v < 1 or v > INT64_MAX:
                    raise ReplyError(errors.CLIENT_ID_POSITIVE)
                cid = v
            elif opt == b"type":
                ctype = _parse_type(val)
            elif opt == b"addr":
                addr = _text(val)
            elif opt == b"laddr":
                laddr = _text(val)
            elif opt == b"user":
                if bytes(val) not in server.acl.users:
                    raise ReplyError(errors.NO_SUCH_USER % _text(val))
                user = _text(val)
            elif opt == b"skipme":
                low = val.lower()
                if low == b"yes":
                    skipme = True
                elif low == b"no":
                    skipme = False
                else:
                    raise _SYNTAX
            else:
                raise _SYNTAX
            i += 2
    killed = 0
    for c in list(server.clients.values()):
        if c.closing and c is not client:
            continue
        if addr is not None and c.addr != addr:
            continue
        if laddr is not None and c.laddr != laddr:
            continue
        if ctype is not None and client_type(c) != ctype:
            continue
        if cid and c.id != cid:
            continue
        if user is not None and c.user != user:
            continue
        if c is client:
            if skipme:
                continue
            client.closing = True  # closed by the protocol after this reply
        else:
            _close_client(server, c)
        killed += 1
    if n == 3:
        if not killed:
            raise ReplyError(errors.NO_SUCH_CLIENT)
        return OK
    return killed


@command("client|pause")
def client_pause(client, argv):
    """CLIENT PAUSE timeout [WRITE|ALL]: the mode is checked before the timeout, as
    in Redis; a timeout past INT64_MAX ms from now wraps in Redis, so it pauses nothing."""
    kind = clientlimits.PAUSE_ALL
    if len(argv) == 4:
        mode = argv[3].lower()
        if mode == b"write":
            kind = clientlimits.PAUSE_WRITE
        elif mode != b"all":
            raise ReplyError(errors.PAUSE_MODE)
    elif len(argv) > 4:
        raise ReplyError(errors.UNKNOWN_SUBCOMMAND_OR_ARITY % (_text(argv[1]), "CLIENT"))
    ms = to_int(argv[2])
    if ms is None:
        raise ReplyError(errors.WAIT_TIMEOUT_NOT_INT)
    if ms < 0:
        raise ReplyError(errors.TIMEOUT_NEGATIVE)
    server = client.server
    now = server.reactor.seconds()
    if ms == 0:
        end = 0.0
    elif ms + int(now * 1000) > INT64_MAX:
        end = -1.0
    else:
        end = now + ms / 1000.0
    server.pause.pause(end, kind)
    return OK


@command("client|unpause")
def client_unpause(client, argv):
    pause = client.server.pause
    if pause.kind:
        pause.unpause()
    return OK


@command("client|reply")
def client_reply(client, argv):
    """ON answers +OK; OFF and SKIP answer nothing (RedisProtocol._reply_dropped)."""
    v = argv[2].lower()
    if v == b"on":
        client.reply_flags &= ~(REPLY_SKIP | REPLY_OFF)
    elif v == b"off":
        client.reply_flags |= REPLY_OFF
    elif v == b"skip":
        if not client.reply_flags & REPLY_OFF:
            client.reply_flags |= REPLY_SKIP_NEXT
        client.reply_flags |= REPLY_NOREPLY
    else:
        raise _SYNTAX
    return OK


@on_reset
def _reply_on(client):
    client.reply_flags = 0


@command("client|no-evict")
def client_no_evict(client, argv):
    v = argv[2].lower()
    if v == b"on":
        client.no_evict = True
    elif v == b"off":
        client.no_evict = False
    else:
        raise _SYNTAX
    return OK


_CLIENT_HELP = [Status(line) for line in (
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
)]


@command("client|help")
def client_help(client, argv):
    return _CLIENT_HELP
