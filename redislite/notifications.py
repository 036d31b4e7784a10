"""Keyspace notifications (``notify-keyspace-events``), as Redis's notify.c.

Command families call ``ks.notify(class_char, event, key)``; the keyspace
forwards it to ``shard.notifier``, which is None unless the configuration
asks for something (so the call costs one attribute test when disabled).
:func:`configure` (run by ``Server.apply_config``) installs or removes the
notifier on every shard, and the ``expired`` listener on each shard's
``expire_listeners``.

An event is published as Redis does: first ``__keyspace@<db>__:<key>`` with the
event name as the message (class ``K``), then ``__keyevent@<db>__:<event>``
with the key as the message (class ``E``), each only if its class is enabled
and the event's own class letter is.
"""

from .config import (NOTIFY_EVICTED, NOTIFY_EXPIRED, NOTIFY_GENERIC, NOTIFY_HASH, NOTIFY_KEY_MISS,
                     NOTIFY_KEYEVENT, NOTIFY_KEYSPACE, NOTIFY_LIST, NOTIFY_MODULE, NOTIFY_NEW,
                     NOTIFY_SET, NOTIFY_STREAM, NOTIFY_STRING, NOTIFY_ZSET)

__all__ = ["configure", "CLASS_BITS"]

#: class letter as used by ``ks.notify`` -> NOTIFY_* bit
CLASS_BITS = {"g": NOTIFY_GENERIC, "$": NOTIFY_STRING, "l": NOTIFY_LIST, "s": NOTIFY_SET,
              "h": NOTIFY_HASH, "z": NOTIFY_ZSET, "x": NOTIFY_EXPIRED, "e": NOTIFY_EVICTED,
              "t": NOTIFY_STREAM, "m": NOTIFY_KEY_MISS, "d": NOTIFY_MODULE, "n": NOTIFY_NEW}
_CLASSES = 0
for _bit in CLASS_BITS.values():
    _CLASSES |= _bit


def _make_notifier(server, flags):
    """A notifier closure for these flags; the hub is looked up once."""
    from .pubsub import get_hub
    hub = get_hub(server)
    publish = hub.publish
    keyspace = bool(flags & NOTIFY_KEYSPACE)
    keyevent = bool(flags & NOTIFY_KEYEVENT)
    enabled = {c for c, bit in CLASS_BITS.items() if flags & bit}
    events = {}          # event str -> bytes (a handful of names: cache them)
    prefixes = {}        # db -> (b"__keyspace@N__:", b"__keyevent@N__:")

    def notify(db, cls, event, key):
        if cls not in enabled:
            return
        ev = events.get(event)
        if ev is None:
            ev = events[event] = event.encode() if type(event) is str else bytes(event)
        pre = prefixes.get(db)
        if pre is None:
            pre = prefixes[db] = (b"__keyspace@%d__:" % db, b"__keyevent@%d__:" % db)
        if type(key) is not bytes:
            key = bytes(key)
        if keyspace:
            publish(pre[0] + key, ev)
        if keyevent:
            publish(pre[1] + ev, key)
    # The keyspace itself fires 'new' and 'keymiss' only for a notifier that asks
    # (family tests install bare capture lambdas and expect only their own events).
    notify.new_keys = "n" in enabled
    notify.key_misses = "m" in enabled
    return notify


def configure(server):
    """(Re)install the per-shard hooks for the current ``notify-keyspace-events``."""
    try:
        flags = server.config["notify-keyspace-events"]
    except (KeyError, TypeError):
        flags = 0
    flags = flags or 0
    active = bool(flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT)) and bool(flags & _CLASSES)
    if getattr(server, "_notify_flags", None) == (flags if active else 0):
        return
    server._notify_flags = flags if active else 0
    notifier = _make_notifier(server, flags) if active else None
    for shard in server.shards:
        shard.notifier = notifier
        listeners = shard.expire_listeners
        listeners[:] = [fn for fn in listeners if not getattr(fn, "_keyspace_events", False)]
        if notifier is not None and flags & NOTIFY_EXPIRED:
            listeners.append(_expired_listener(notifier))


def _expired_listener(notifier):
    def expired(db, key):
        notifier(db, "x", "expired", key)
    expired._keyspace_events = True
    return expired
