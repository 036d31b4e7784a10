"""The pub/sub hub: channel, pattern and shard-channel registries, and delivery.

One :class:`Hub` per server (``get_hub(server)``).  Each registry maps a name to
an insertion-ordered ``dict`` of subscribed clients (used as an ordered set),
and each client keeps its own subscriptions in ``client.channels`` /
``client.patterns`` / ``client.shard_channels`` (also ordered dicts), so
subscribe, unsubscribe and disconnect are O(1) per name.

Delivery follows Redis's pubsubPublishMessage: channel subscribers first, then
pattern subscribers pattern by pattern.  A message is encoded once per publish
(RESP2 and RESP3 differ only in the aggregate's first byte) and handed to each
subscriber as a ``Raw`` value.

Output buffer limits (``client-output-buffer-limit``): before and after writing
to a subscriber we look at what its transport still holds (bytes the kernel
would not take).  Past the hard limit, or past the soft limit for longer than
the soft seconds, the subscriber is dropped at once (its queued output is
discarded, as Redis frees such a client), so a subscriber that never reads
costs bounded memory and the publisher never waits for it.
"""

from .glob import compile_pattern
from .resp.encoder import Raw, encode

__all__ = ["Hub", "get_hub", "client_class", "pending_output"]

_MESSAGE = b"$7\r\nmessage\r\n"
_PMESSAGE = b"$8\r\npmessage\r\n"
_SMESSAGE = b"$8\r\nsmessage\r\n"

#: client-output-buffer-limit entries are (class name, hard, soft, seconds) in
#: the order normal, replica ("slave"), pubsub.


def _bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)


def get_hub(server):
    """The server's hub, created (and hooked to disconnects) on first use."""
    hub = server.__dict__.get("pubsub_hub")
    if hub is None:
        hub = server.pubsub_hub = Hub(server)
        server.pubsub_counts = hub.counts     # read by info.py (INFO stats)
        hooks = getattr(server, "disconnect_hooks", None)
        if hooks is not None:
            hooks.append(hub.drop_client)
    return hub


def pending_output(client):
    """Bytes written to *client* that its transport still holds (not yet sent)."""
    t = client.transport
    if t is None:
        return 0
    n = getattr(t, "_tempDataLen", 0)
    buf = getattr(t, "dataBuffer", None)
    if buf is not None:
        n += len(buf)
    return n


def client_class(client):
    """Redis's getClientType for output limits: master, replica, pubsub or normal."""
    kind = client.kind
    if kind in ("replica", "slave"):
        return "replica"
    if client.subscribed or client.channels or client.patterns or client.shard_channels:
        return "pubsub"
    return "normal"


def _ordered(client, attr):
    """The client's subscription container as an ordered dict (protocol starts with sets)."""
    d = getattr(client, attr)
    if type(d) is not dict:
        d = dict.fromkeys(d)
        setattr(client, attr, d)
    return d


class Hub:
    def __init__(self, server):
        self.server = server
        self.channels = {}        # channel -> {client: None}
        self.patterns = {}        # pattern -> [matcher, {client: None}]
        self.shard_channels = {}  # shard channel -> {client: None}
        self.limit_disconnections = 0

    # -- subscriptions ----------------------------------------------------------
    def subscribe(self, client, channel, shard=False):
        """Add a subscription; True if it is new."""
        mine = _ordered(client, "shard_channels" if shard else "channels")
        if channel in mine:
            return False
        mine[channel] = None
        registry = self.shard_channels if shard else self.channels
        subs = registry.get(channel)
        if subs is None:
            subs = registry[channel] = {}
        subs[client] = None
        client.subscribed = True
        return True

    def unsubscribe(self, client, channel, shard=False):
        mine = _ordered(client, "shard_channels" if shard else "channels")
        if channel not in mine:
            return False
        del mine[channel]
        registry = self.shard_channels if shard else self.channels
        subs = registry.get(channel)
        if subs is not None:
            subs.pop(client, None)
            if not subs:
                del registry[channel]
        return True

    def psubscribe(self, client, pattern):
        mine = _ordered(client, "patterns")
        if pattern in mine:
            return False
        mine[pattern] = None
        entry = self.patterns.get(pattern)
        if entry is None:
            entry = self.patterns[pattern] = [compile_pattern(bytes(pattern)), {}]
        entry[1][client] = None
        client.subscribed = True
        return True

    def punsubscribe(self, client, pattern):
        mine = _ordered(client, "patterns")
        if pattern not in mine:
            return False
        del mine[pattern]
        entry = self.patterns.get(pattern)
        if entry is not None:
            entry[1].pop(client, None)
            if not entry[1]:
                del self.patterns[pattern]
        return True

    def drop_client(self, client):
        """Forget every subscription of *client*, with no replies (disconnect, RESET)."""
        for ch in list(client.channels):
            self.unsubscribe(client, ch)
        for ch in list(client.shard_channels):
            self.unsubscribe(client, ch, shard=True)
        for pat in list(client.patterns):
            self.punsubscribe(client, pat)
        client.subscribed = False

    # -- delivery -------------------------------------------------------------------
    def publish(self, channel, message):
        """PUBLISH: deliver to channel then pattern subscribers; returns the receiver count."""
        subs = self.channels.get(channel)
        patterns = self.patterns
        if subs is None and not patterns:
            return 0
        receivers = 0
        tail = b"%s%s" % (_bulk(channel), _bulk(message))
        if subs:
            raw = Raw(b"*3\r\n" + _MESSAGE + tail, b">3\r\n" + _MESSAGE + tail)
            receivers += self._deliver_all(subs, raw)
        if patterns:
            for pattern, (matcher, psubs) in list(patterns.items()):
                if not matcher(channel):
                    continue
                body = _PMESSAGE + _bulk(pattern) + tail
                receivers += self._deliver_all(psubs, Raw(b"*4\r\n" + body, b">4\r\n" + body))
        return receivers

    def spublish(self, channel, message):
        subs = self.shard_channels.get(channel)
        if not subs:
            return 0
        body = _SMESSAGE + _bulk(channel) + _bulk(message)
        return self._deliver_all(subs, Raw(b"*3\r\n" + body, b">3\r\n" + body))

    def _deliver_all(self, subs, raw):
        n = 0
        for client in list(subs):
            n += 1
            self.deliver(client, raw)
        return n

    def deliver(self, client, value):
        """Send an out-of-band value, enforcing the client's output buffer limit.

        Written through the transport's buffer rather than sent at once: a
        pipeline of PUBLISHes then costs one send() per subscriber per reactor
        turn instead of one per message, as Redis writes in beforeSleep.  A
        client receiving its own message (mid-command) goes through send(),
        which keeps it in order with its replies.
        """
        if client.closing:
            return
        t = client.transport
        if t is None or getattr(client, "_out", None) is not None:
            client.send(value)
            return
        if type(value) is Raw:
            payload = value.resp3 if client.resp3 else value.resp2
        else:
            payload = encode(value, client.resp3)
        self.server.net_output_bytes += len(payload)
        t.write(payload)
        self.check_output_limit(client)

    def _limits(self):
        """client-output-buffer-limit per class, re-read only when the Config changes."""
        cfg = self.server.config
        if cfg is not self._cfg:
            self._cfg = cfg
            try:
                entries = cfg["client-output-buffer-limit"]
            except (KeyError, TypeError):
                entries = ()
            self._cls_limits = {name: (hard, soft, secs) for name, (_, hard, soft, secs)
                                in zip(("normal", "replica", "pubsub"), entries)}
        return self._cls_limits

    _cfg = None
    _cls_limits = {}

    def check_output_limit(self, client):
        """Redis's checkClientOutputBufferLimits; closes the client when over."""
        pending = pending_output(client)
        limits = self._limits().get(client_class(client))
        if not limits or not pending:
            if getattr(client, "obuf_soft_since", None) is not None:
                client.obuf_soft_since = None
            return False
        hard, soft, seconds = limits
        over = hard and pending >= hard
        if not over and soft and pending >= soft:
            now = self.server.reactor.seconds()
            since = getattr(client, "obuf_soft_since", None)
            if since is None:
                client.obuf_soft_since = now
            elif now - since > seconds:
                over = True
        elif not over and getattr(client, "obuf_soft_since", None) is not None:
            client.obuf_soft_since = None
        if over:
            self.kill_for_output_limit(client)
            return True
        return False

    def kill_for_output_limit(self, client):
        """Drop the client now, discarding its queued output (freeClientAsync)."""
        self.limit_disconnections += 1
        self.server.limit_disconnections = getattr(self.server, "limit_disconnections", 0) + 1
        client.closing = True
        self.drop_client(client)
        self.server.remove_client(client)
        t = client.transport
        if t is not None:
            abort = getattr(t, "abortConnection", None)
            if abort is not None:
                abort()
            else:
                t.loseConnection()

    # -- introspection ----------------------------------------------------------------
    def channel_list(self, pattern=None, shard=False):
        registry = self.shard_channels if shard else self.channels
        if pattern is None:
            return list(registry)
        matcher = compile_pattern(bytes(pattern))
        return [ch for ch in registry if matcher(ch)]

    def numsub(self, channel, shard=False):
        subs = (self.shard_channels if shard else self.channels).get(channel)
        return len(subs) if subs else 0

    def numpat(self):
        return len(self.patterns)

    def counts(self):
        """(pubsub_channels, pubsub_patterns, pubsubshard_channels) for INFO."""
        return len(self.channels), len(self.patterns), len(self.shard_channels)
