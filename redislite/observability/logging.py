"""Structured logs through ``twisted.logger``: one line per event, text or JSON.

Why one observer for everything: log pipelines want every line in one shape,
so Twisted's own messages ("Site starting on 8080") and RedisLite's events go
through the same formatter.  Each line carries a timestamp, a level, an event
type and the event's fields::

    {"timestamp": "2025-01-01T12:00:00.123Z", "level": "info", "event": "server.start", "port": 6379}
    2025-01-01T12:00:00.123Z info server.start port=6379

Other modules emit events with :func:`event` (``event("persistence.save",
keys=10, seconds=0.2)``); the level filter follows ``loglevel`` and the format
``logformat``, both read live from the bound server's config.  Under twistd the
observer is installed through twistd's ``logger`` option (see ``tap.py``).
"""

import datetime
import json
import sys

from twisted.internet import task
from twisted.logger import ILogObserver, Logger, LogLevel, formatEvent
from zope.interface import implementer

NAMESPACE = "redislite"
_log = Logger(namespace=NAMESPACE)

#: Severity ranks: Redis's loglevel names and Twisted's levels on one scale.
_RANK = {"debug": 0, "verbose": 1, "info": 2, "notice": 2, "warn": 3, "warning": 3,
         "error": 4, "critical": 5}
_TWISTED_LEVEL = {"debug": LogLevel.debug, "verbose": LogLevel.debug, "info": LogLevel.info,
                  "notice": LogLevel.info, "warn": LogLevel.warn, "warning": LogLevel.warn,
                  "error": LogLevel.error, "critical": LogLevel.critical}
_NAME = {"debug": "debug", "verbose": "verbose", "info": "info", "notice": "info", "warn": "warning",
         "warning": "warning", "error": "error", "critical": "critical"}
_FROM_TWISTED = {LogLevel.debug: "debug", LogLevel.info: "info", LogLevel.warn: "warning",
                 LogLevel.error: "error", LogLevel.critical: "critical"}


def event(name, /, level="info", **fields):
    """Emit one structured event (``name`` like ``client.connect``).

    Field values should be JSON-friendly; bytes are decoded, other objects are
    rendered with ``str``.  Cheap when nobody listens (Twisted drops it)."""
    lvl = _NAME.get(level, "info")
    _log.emit(_TWISTED_LEVEL.get(level, LogLevel.info), "{redislite_event}",
              redislite_event=name, redislite_level=lvl, redislite_fields=fields)


def _iso(ts):
    dt = datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def _jsonable(v):
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return str(v)


def to_record(ev):
    """(level name, event type, fields) of a Twisted log event."""
    name = ev.get("redislite_event")
    if name is not None:
        fields = {k: _jsonable(v) for k, v in ev.get("redislite_fields", {}).items()}
        return ev.get("redislite_level", "info"), name, fields
    level = _FROM_TWISTED.get(ev.get("log_level"), "info")
    fields = {"message": formatEvent(ev), "namespace": ev.get("log_namespace", "")}
    failure = ev.get("log_failure")
    if failure is not None:
        fields["error"] = failure.getErrorMessage()
        fields["traceback"] = failure.getTraceback()
    return level, "twisted", fields


def format_json(ev):
    level, name, fields = to_record(ev)
    rec = {"timestamp": _iso(ev.get("log_time", 0)), "level": level, "event": name}
    for k, v in fields.items():
        rec[k if k not in rec else "field_" + k] = v
    return json.dumps(rec, separators=(", ", ": "), default=str) + "\n"


def _text_value(v):
    """Strings bare unless they need quotes; everything else as compact JSON."""
    if not isinstance(v, str):
        return json.dumps(v, separators=(",", ":"), default=str)
    if v == "" or any(c in v for c in ' ="\n\t'):
        return json.dumps(v)
    return v


def format_text(ev):
    level, name, fields = to_record(ev)
    parts = [_iso(ev.get("log_time", 0)), level, name]
    if name == "twisted":
        parts.append(fields.get("message", "").replace("\n", "\n    "))
        if "traceback" in fields:
            parts.append("\n" + fields["traceback"])
    else:
        parts.extend("%s=%s" % (k, _text_value(v)) for k, v in fields.items())
    return " ".join(parts) + "\n"


@implementer(ILogObserver)
class StructuredObserver:
    """Writes each event as one line; format and level come from a config source.

    ``config`` is anything with ``[name]`` (a Config); :meth:`bind` swaps in the
    live server so CONFIG SET loglevel/logformat take effect at once."""

    def __init__(self, stream, config=None, fmt="text", level="notice"):
        self.stream = stream
        self.config = config
        self.server = None
        self.fmt = fmt
        self.level = level

    def bind(self, server):
        self.server = server

    def _settings(self):
        src = self.server.config if self.server is not None else self.config
        if src is None:
            return self.fmt, self.level
        try:
            return src["logformat"], src["loglevel"]
        except (KeyError, TypeError):
            return self.fmt, self.level

    def __call__(self, ev):
        fmt, level = self._settings()
        if ev.get("redislite_event") is not None:
            rank = _RANK.get(ev.get("redislite_level"), 2)
        else:
            rank = _RANK.get(_FROM_TWISTED.get(ev.get("log_level"), "info"), 2)
        if rank < _RANK.get(level, 2):
            return
        line = format_json(ev) if fmt == "json" else format_text(ev)
        try:
            self.stream.write(line)
            self.stream.flush()
        except (OSError, ValueError):
            pass


#: The observer installed by :func:`twistd_observer` (service.py binds the server to it).
current = None


_pending = {"config": None, "logfile": None}


def configure(config, fallback_logfile=None):
    """Remember the config for :func:`twistd_observer` (twistd calls it with no arguments)."""
    _pending["config"] = config
    _pending["logfile"] = fallback_logfile


def twistd_observer():
    """The factory named in twistd's ``logger`` option (``tap.py`` sets it).

    Writes to ``logfile`` (the Redis parameter), else twistd's ``--logfile``,
    else standard output captured now (before twistd redirects stdio)."""
    global current
    config, fallback = _pending["config"], _pending["logfile"]
    path = ""
    try:
        path = config["logfile"]
    except (KeyError, TypeError):
        pass
    path = path or (fallback if fallback not in (None, "-") else "")
    stream = open(path, "a", buffering=1, encoding="utf-8") if path else sys.stdout
    current = StructuredObserver(stream, config)
    return current


def bind_server(server):
    """Let the installed observer read loglevel/logformat from the live server config."""
    if current is not None:
        current.bind(server)


class CycleReporter:
    """Aggregated expiry/eviction lines: one event per interval with the counts,
    never one line per key (Redis's active expire cycle can remove thousands)."""

    def __init__(self, server, interval=10.0):
        self.server = server
        self.interval = interval
        self._expired = server.stat("stats_expired")
        self._evicted = server.stat("stats_evicted")
        self._loop = None

    def report(self):
        server = self.server
        expired, evicted = server.stat("stats_expired"), server.stat("stats_evicted")
        d_exp, d_ev = expired - self._expired, evicted - self._evicted
        self._expired, self._evicted = expired, evicted
        if d_exp > 0:
            event("keys.expired", level="verbose", count=d_exp, interval_seconds=self.interval,
                  total=expired)
        if d_ev > 0:
            event("keys.evicted", level="info", count=d_ev, interval_seconds=self.interval,
                  total=evicted, used_memory=server.used_memory(), maxmemory=server.maxmemory)
        return d_exp, d_ev

    def start(self):
        self._loop = task.LoopingCall(self.report)
        self._loop.clock = self.server.reactor
        self._loop.start(self.interval, now=False)

    def stop(self):
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
