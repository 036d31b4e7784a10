"""Pub/Sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB.

Redis answers a multi-channel (un)subscribe with one confirmation per channel,
each carrying the count at that point; a handler returns one reply value, so
the confirmations are returned as one pre-encoded ``Raw`` (several frames).
In RESP3 they are push frames (``>``).  ``client.subscribed`` is Redis's
CLIENT_PUBSUB flag: set by any subscribe, cleared once the client has no
channel, pattern or shard channel left; the protocol gate and PING read it.

The registries and delivery live in :mod:`redislite.pubsub`; the client
tracking commands (CLIENT TRACKING...) are bound by :mod:`redislite.tracking`,
imported here so loading this family loads them.
"""

from ..errors import ReplyError
from ..pubsub import get_hub
from ..resp.encoder import Raw, Status
from .connection import on_reset
from .registry import command
from .. import tracking as _tracking  # noqa: F401  (binds CLIENT TRACKING & co.)

_KIND = {"subscribe": b"$9\r\nsubscribe\r\n", "unsubscribe": b"$11\r\nunsubscribe\r\n",
         "psubscribe": b"$10\r\npsubscribe\r\n", "punsubscribe": b"$12\r\npunsubscribe\r\n",
         "ssubscribe": b"$10\r\nssubscribe\r\n", "sunsubscribe": b"$12\r\nsunsubscribe\r\n"}


def _confirm(out, kind, name, count, resp3):
    """One ``[kind, name, count]`` confirmation frame (name None -> null)."""
    out.append(b">3\r\n" if resp3 else b"*3\r\n")
    out.append(_KIND[kind])
    if name is None:
        out.append(b"_\r\n" if resp3 else b"$-1\r\n")
    else:
        out.append(b"$%d\r\n%s\r\n" % (len(name), name))
    out.append(b":%d\r\n" % count)


def _frames(out):
    data = b"".join(out)
    return Raw(data, data, pushed=True)


def _count(client):
    return len(client.channels) + len(client.patterns)


def _total(client):
    return len(client.channels) + len(client.patterns) + len(client.shard_channels)


@command("subscribe")
def subscribe(client, argv):
    hub = get_hub(client.server)
    out = []
    resp3 = client.resp3
    for ch in argv[1:]:
        hub.subscribe(client, bytes(ch))
        _confirm(out, "subscribe", ch, _count(client), resp3)
    client.subscribed = True
    return _frames(out)


@command("psubscribe")
def psubscribe(client, argv):
    hub = get_hub(client.server)
    out = []
    resp3 = client.resp3
    for pat in argv[1:]:
        hub.psubscribe(client, bytes(pat))
        _confirm(out, "psubscribe", pat, _count(client), resp3)
    client.subscribed = True
    return _frames(out)


@command("ssubscribe")
def ssubscribe(client, argv):
    if client.no_block:
        # CLIENT_DENY_BLOCKING (EXEC, scripts): one reply per command is expected.
        raise ReplyError("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
    hub = get_hub(client.server)
    out = []
    resp3 = client.resp3
    for ch in argv[1:]:
        hub.subscribe(client, bytes(ch), shard=True)
        _confirm(out, "ssubscribe", ch, len(client.shard_channels), resp3)
    client.subscribed = True
    return _frames(out)


def _unsubscribe_generic(client, argv, kind, attr, remove, count):
    hub = get_hub(client.server)
    out = []
    resp3 = client.resp3
    names = argv[1:] if len(argv) > 1 else list(getattr(client, attr))
    if not names:
        _confirm(out, kind, None, count(client), resp3)
    for name in names:
        remove(hub, client, bytes(name))
        _confirm(out, kind, name, count(client), resp3)
    if not _total(client):
        client.subscribed = False
    return _frames(out)


@command("unsubscribe")
def unsubscribe(client, argv):
    return _unsubscribe_generic(client, argv, "unsubscribe", "channels",
                                lambda hub, c, ch: hub.unsubscribe(c, ch), _count)


@command("punsubscribe")
def punsubscribe(client, argv):
    return _unsubscribe_generic(client, argv, "punsubscribe", "patterns",
                                lambda hub, c, p: hub.punsubscribe(c, p), _count)


@command("sunsubscribe")
def sunsubscribe(client, argv):
    return _unsubscribe_generic(client, argv, "sunsubscribe", "shard_channels",
                                lambda hub, c, ch: hub.unsubscribe(c, ch, shard=True),
                                lambda c: len(c.shard_channels))


@command("publish")
def publish(client, argv):
    return get_hub(client.server).publish(bytes(argv[1]), bytes(argv[2]))


@command("spublish")
def spublish(client, argv):
    return get_hub(client.server).spublish(bytes(argv[1]), bytes(argv[2]))


# -- PUBSUB introspection --------------------------------------------------------------
@command("pubsub|channels")
def pubsub_channels(client, argv):
    if len(argv) > 3:
        raise ReplyError(_subcommand_error(argv))
    return get_hub(client.server).channel_list(argv[2] if len(argv) == 3 else None)


@command("pubsub|shardchannels")
def pubsub_shardchannels(client, argv):
    if len(argv) > 3:
        raise ReplyError(_subcommand_error(argv))
    return get_hub(client.server).channel_list(argv[2] if len(argv) == 3 else None, shard=True)


def _subcommand_error(argv):
    return ("ERR unknown subcommand or wrong number of arguments for '%s'. Try PUBSUB HELP."
            % argv[1].decode("utf-8", "surrogateescape"))


@command("pubsub|numsub")
def pubsub_numsub(client, argv):
    hub = get_hub(client.server)
    out = []
    for ch in argv[2:]:
        out.append(ch)
        out.append(hub.numsub(bytes(ch)))
    return out


@command("pubsub|shardnumsub")
def pubsub_shardnumsub(client, argv):
    hub = get_hub(client.server)
    out = []
    for ch in argv[2:]:
        out.append(ch)
        out.append(hub.numsub(bytes(ch), shard=True))
    return out


@command("pubsub|numpat")
def pubsub_numpat(client, argv):
    return get_hub(client.server).numpat()


_HELP = [Status(line) for line in (
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
)]


@command("pubsub|help")
def pubsub_help(client, argv):
    return list(_HELP)


@on_reset
def _reset(client):
    """RESET leaves pub/sub mode without sending unsubscribe confirmations."""
    if client.channels or client.patterns or client.shard_channels:
        get_hub(client.server).drop_client(client)
    client.subscribed = False
