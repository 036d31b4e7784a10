"""The pub/sub hub: channel, pattern and shard-channel registries, and delivery.

One :class:`Hub` per server (``get_hub(server)``).  Each registry maps a name to
an insertion-ordered ``dict`` of subscribed clients (used as an ordered set;
the value is the client's plain-TCP transport, or None, see below), and each
client keeps its own subscriptions in ``client.channels`` /
``client.patterns`` / ``client.shard_channels`` (also ordered dicts), so
subscribe, unsubscribe and disconnect are O(1) per name.

Delivery follows Redis's pubsubPublishMessage: channel subscribers first, then
pattern subscribers pattern by pattern.  A message frame is encoded once per
publish (RESP2 and RESP3 differ only in the aggregate's first byte, so both
have the same length) and the same bytes object goes to every subscriber.

The fan-out is Redis's "append to the output buffer now, write in
beforeSleep": for a subscriber on a plain TCP connection the frame is appended
straight to its transport's write buffer (``_tempDataBuffer``, what
``transport.write`` appends to) and the transport is remembered; once per
reactor turn, after every readable connection was served, :meth:`Hub.flush`
sends each remembered buffer with one ``send()``, and only a partial send
hands the rest to Twisted's writer.  The turn's end is the lean poll's
before-poll hook list (``reactor._before_poll``, see reactor_tuning.py) when
installed, else a ``callLater(0)`` scheduled by the first append of a turn.  Because the frames sit in the
transport's own buffer, anything written to that client later (its own replies,
``RedisProtocol._write``) queues behind them, so per-connection order is the
order of events.  Subscribers on other transports (TLS, in-memory), a client
receiving its own message mid-command (``client._out``; it goes through
``client.send`` to stay in order with its replies) and closing clients take
the general path, :meth:`Hub.deliver`.

Output buffer limits (``client-output-buffer-limit``): after appending we look
at what the client's transport holds (bytes the kernel has not taken).  The hot
loop only compares that with the smallest configured limit; at or past it, the
full check runs (Redis's checkClientOutputBufferLimits): past the hard limit,
or past the soft limit for longer than the soft seconds, the subscriber is
dropped (its queued output is discarded, as Redis frees such a client), so a
subscriber that never reads costs bounded memory and the publisher never
waits for it.
"""

from .clientlimits import output_limit_reached
from .glob import compile_pattern
from .reactor_tuning import flush as send_buffers
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
    if buf:
        n += len(buf) - getattr(t, "offset", 0)
    return n


def _fast_transport(client):
    """The transport the fan-out may append to directly, or None.

    Only plain TCP connections (``RedisProtocol._direct``, set when the
    connection is made and never changed) qualify: their ``write`` is exactly
    "append to ``_tempDataBuffer`` and register as a writer".
    """
    if getattr(client, "_direct", False):
        t = client.transport
        if t is not None and hasattr(t, "_tempDataBuffer") and hasattr(t, "writeSomeData"):
            return t
    return None


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
        self.channels = {}        # channel -> {client: fast transport or None}
        self.patterns = {}        # pattern -> [matcher, {client: fast transport or None}]
        self.shard_channels = {}  # shard channel -> {client: fast transport or None}
        self.limit_disconnections = 0
        self._dirty = []          # clients whose transport got fan-out bytes this turn
        self._flush_call = None   # the pending callLater(0, flush), without the hook
        hooks = getattr(server.reactor, "_before_poll", None)
        self._hooked = hooks is not None
        if self._hooked:
            hooks.append(self.flush)
        self._soft = {}           # clients whose soft-limit clock runs (obuf_soft_since set)

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
        subs[client] = _fast_transport(client)
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
        entry[1][client] = _fast_transport(client)
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
        self._soft.pop(client, None)

    # -- delivery -------------------------------------------------------------------
    def publish(self, channel, message):
        """PUBLISH: deliver to channel then pattern subscribers; returns the receiver count."""
        subs = self.channels.get(channel)
        patterns = self.patterns
        if subs is None and not patterns:
            return 0
        receivers = 0
        tail = b"$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(channel), channel, len(message), message)
        if subs:
            receivers = len(subs)
            body = _MESSAGE + tail
            self._fanout(subs, b"*3\r\n" + body, b">3\r\n" + body)
        if patterns:
            for pattern, (matcher, psubs) in list(patterns.items()):
                if not matcher(channel):
                    continue
                receivers += len(psubs)
                body = _PMESSAGE + _bulk(pattern) + tail
                self._fanout(psubs, b"*4\r\n" + body, b">4\r\n" + body)
        return receivers

    def spublish(self, channel, message):
        subs = self.shard_channels.get(channel)
        if not subs:
            return 0
        body = _SMESSAGE + _bulk(channel) + _bulk(message)
        self._fanout(subs, b"*3\r\n" + body, b">3\r\n" + body)
        return len(subs)

    def _fanout(self, subs, resp2, resp3):
        """Append one message frame to every subscriber in *subs* (client -> fast transport).

        The per-subscriber work is kept to appending the shared bytes object
        and comparing the buffered size with the smallest output limit; all
        else (slow transports, own-message ordering, the full limit check,
        which may drop a client and so change *subs*) runs after the loop.
        """
        n = len(resp2)
        thr = self._threshold if self.server.config is self._cfg else self._limits_changed()
        dirty = self._dirty
        slow = check = None
        for c, t in subs.items():
            if t is None or c.closing or c._out is not None:
                if slow is None:
                    slow = []
                slow.append(c)
                continue
            pend = t._tempDataLen + n
            t._tempDataLen = pend
            t._tempDataBuffer.append(resp3 if c.resp3 else resp2)
            if pend == n:
                dirty.append(c)          # first bytes this turn: flush() sends them
            if pend >= thr or t.dataBuffer:
                if check is None:
                    check = []
                check.append(c)          # near a limit, or the socket is backed up
        fast = len(subs) - (len(slow) if slow is not None else 0)
        if fast:
            self.server.net_output_bytes += n * fast
            if self._flush_call is None and not self._hooked:
                self._flush_call = self.server.reactor.callLater(0, self.flush)
        if self._soft:
            # A subscriber whose soft-limit clock runs gets the full check on
            # every message, so the clock stops as soon as it drains (Redis
            # resets it on the first reply below the soft limit).
            extra = [c for c in self._soft if c in subs]
            if extra:
                if check is None:
                    check = extra
                else:
                    seen = set(check)
                    check.extend(c for c in extra if c not in seen)
        if check is not None:
            for c in check:
                self.check_output_limit(c)
        if slow is not None:
            raw = Raw(resp2, resp3)
            for c in slow:
                self.deliver(c, raw)

    def flush(self):
        """Send what the fan-out appended this turn: one send() per subscriber.

        Redis's handleClientsWithPendingWrites.  A subscriber whose socket
        would not take everything keeps the rest in Twisted's buffer, with the
        transport registered as a writer, exactly the state ``doWrite`` leaves
        after a partial send.  Closing clients are left alone: a killed one's
        output is discarded, and ``loseConnection`` flushes the others.
        """
        self._flush_call = None
        dirty = self._dirty
        if not dirty:
            return
        self._dirty = []
        # The same one-send-per-buffer pass as the replies held by the poll loop.
        send_buffers([c for c in dirty if not c.closing])

    def deliver(self, client, value):
        """Send an out-of-band value, enforcing the client's output buffer limit.

        The general path (client tracking pushes, and the subscribers the
        fan-out does not append to directly).  Written through the transport's
        buffer rather than sent at once, so a burst costs one send() per
        client per reactor turn.  A client receiving its own message
        (mid-command) goes through send(), which keeps it in order with its
        replies.
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
        if self.server.config is not self._cfg:
            self._limits_changed()
        return self._cls_limits

    def _limits_changed(self):
        """Re-read the limits; returns the fan-out threshold (smallest limit set)."""
        cfg = self.server.config
        self._cfg = cfg
        try:
            entries = cfg["client-output-buffer-limit"]
        except (KeyError, TypeError):
            entries = ()
        self._cls_limits = {name: (hard, soft, secs) for name, (_, hard, soft, secs)
                            in zip(("normal", "replica", "pubsub"), entries)}
        sizes = [x for hard, soft, _ in self._cls_limits.values() for x in (hard, soft) if x]
        self._threshold = min(sizes) if sizes else float("inf")
        return self._threshold

    _cfg = None
    _cls_limits = {}
    _threshold = float("inf")

    def check_output_limit(self, client):
        """Redis's checkClientOutputBufferLimits; closes the client when over."""
        pending = pending_output(client)
        limits = self._limits().get(client_class(client))
        if not limits or not pending:
            if getattr(client, "obuf_soft_since", None) is not None:
                client.obuf_soft_since = None
                self._soft.pop(client, None)
            return False
        before = getattr(client, "obuf_soft_since", None)
        over, since = output_limit_reached(pending, limits, before, self.server.reactor.seconds())
        if since is not before:
            client.obuf_soft_since = since
            if since is None:
                self._soft.pop(client, None)
            else:
                self._soft[client] = None
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
        client.abort()

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
