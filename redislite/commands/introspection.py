"""SLOWLOG, LATENCY and MONITOR: Redis's own introspection commands.

The data is recorded by the server's :class:`~redislite.observability.latency.Introspection`
observer (``server.command_observers``); these handlers only read it.  Reply
shapes and error texts are Redis 7.0.15's.
"""

from .. import errors
from ..config import _fmt_percentile
from ..errors import ReplyError
from ..observability import latency as _lat
from ..resp.encoder import OK, Map, Status, Verbatim
from . import registry
from .args import to_int
from .connection import on_reset
from .registry import command

_COUNT_ERR = ReplyError("ERR count should be greater than or equal to -1")
_MONITOR_DENIED = ReplyError("ERR MONITOR isn't allowed for DENY BLOCKING client")


def _hub(client):
    return _lat.attach(client.server)


def _subcommand_syntax(argv, parent):
    return ReplyError(errors.UNKNOWN_SUBCOMMAND_OR_ARITY % (
        argv[1].decode("utf-8", "surrogateescape"), parent))


# -- SLOWLOG -------------------------------------------------------------------------
_SLOWLOG_HELP = [Status(s) for s in (
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
)]


@command("slowlog|help")
def slowlog_help(client, argv):
    return _SLOWLOG_HELP


@command("slowlog|len")
def slowlog_len(client, argv):
    return len(_hub(client).slowlog.entries)


@command("slowlog|reset")
def slowlog_reset(client, argv):
    _hub(client).slowlog.reset()
    return OK


@command("slowlog|get")
def slowlog_get(client, argv):
    if len(argv) > 3:
        raise _subcommand_syntax(argv, "SLOWLOG")
    count = 10
    if len(argv) == 3:
        count = to_int(argv[2])
        if count is None or count < -1:
            raise _COUNT_ERR
    entries = _hub(client).slowlog.entries
    if count == -1 or count > len(entries):
        count = len(entries)
    out = []
    for i in range(count):
        eid, when, usec, args, peer, name = entries[i]
        out.append([eid, when, usec, list(args), peer.encode("utf-8", "surrogateescape"),
                    name.encode("utf-8", "surrogateescape")])
    return out


# -- LATENCY ------------------------------------------------------------------------------
_LATENCY_HELP = [Status(s) for s in (
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
    "HELP",
    "    Prints this help.",
)]

_DOCTOR_DISABLED = (
    "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. "
    "You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. "
    "If we weren't in a deep space mission I'd suggest to take a look at "
    "https://redis.io/topics/latency-monitor.\n")
_DOCTOR_NOTHING = (
    "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the "
    "slightest bit. I honestly think you ought to sleep tonight.\n")


@command("latency|help")
def latency_help(client, argv):
    return _LATENCY_HELP


@command("latency|latest")
def latency_latest(client, argv):
    return [[name.encode(), when, ms, mx] for name, when, ms, mx in _hub(client).latency.latest()]


@command("latency|history")
def latency_history(client, argv):
    event = argv[2].decode("utf-8", "surrogateescape")
    return [[when, ms] for when, ms in _hub(client).latency.history(event)]


@command("latency|reset")
def latency_reset(client, argv):
    events = [a.decode("utf-8", "surrogateescape") for a in argv[2:]]
    return _hub(client).latency.reset(events)


@command("latency|doctor")
def latency_doctor(client, argv):
    """A plain summary in place of Redis's long-form advice."""
    hub = _hub(client)
    if not hub.latency_threshold_ms:
        return Verbatim(_DOCTOR_DISABLED)
    if not hub.latency.events:
        return Verbatim(_DOCTOR_NOTHING)
    lines = ["Dave, I have observed latency spikes in this Redis instance.", ""]
    for n, (name, ts) in enumerate(sorted(hub.latency.events.items()), 1):
        samples = ts["samples"]
        avg = sum(ms for _, ms in samples) // len(samples)
        lines.append("%d. %s: %d latency spikes (average %dms, worst %dms)." % (
            n, name, len(samples), avg, ts["max"]))
    lines += ["", "The threshold is %d ms (latency-monitor-threshold)." % hub.latency_threshold_ms, ""]
    return Verbatim("\n".join(lines))


@command("latency|graph")
def latency_graph(client, argv):
    """A simple bar chart (Redis draws a sparkline; the shape is not a contract)."""
    event = argv[2].decode("utf-8", "surrogateescape")
    hub = _hub(client)
    samples = hub.latency.history(event)
    if not samples:
        raise ReplyError("ERR No samples available for event '%s'" % event)
    ts = hub.latency.events[event]
    now = int(client.server.reactor.seconds())
    top = max(ms for _, ms in samples) or 1
    lines = ["%s - high %d ms, low %d ms (all time high %d ms)" % (
        event, top, min(ms for _, ms in samples), ts["max"]), "-" * 80]
    for when, ms in samples:
        lines.append("%6ss ago %s %d ms" % (now - when, "#" * max(1, ms * 50 // top), ms))
    return Verbatim("\n".join(lines) + "\n")


def _histogram_entry(hist):
    cdf = _lat.log2_cdf(hist)
    return Map([(b"calls", _lat.total(hist)), (b"histogram_usec", Map(cdf))])


@command("latency|histogram")
def latency_histogram(client, argv):
    """Map of command -> {calls, histogram_usec: {bucket_usec: cumulative count}}."""
    hub = _hub(client)
    out = []
    if len(argv) == 2:
        chosen = [spec for spec in hub.hists]
    else:
        chosen = []
        for raw in argv[2:]:
            spec = _find(raw)
            if spec is None:
                continue
            chosen.append(spec)
            chosen.extend(sorted(spec.subcommands.values(), key=lambda s: s.fullname))
    seen = set()
    for spec in chosen:
        hist = hub.hists.get(spec)
        if not hist or spec in seen:
            continue
        seen.add(spec)
        out.append((spec.fullname.encode(), _histogram_entry(hist)))
    return Map(out)


def _find(name):
    if b"|" in name:
        parent, _, sub = name.partition(b"|")
        spec = registry.lookup(parent)
        return None if spec is None else spec.subcommands.get(sub.lower())
    return registry.lookup(name)


# -- MONITOR ----------------------------------------------------------------------
@command("monitor")
def monitor(client, argv):
    """Redis answers +OK once; a second MONITOR on the same connection gets no reply."""
    if client.no_block or client.multi is not None:
        raise _MONITOR_DENIED
    if client.kind == "monitor":
        return _NO_REPLY
    if client.kind != "normal":
        return _NO_REPLY
    client.kind = "monitor"
    client.keyspace_denied = True
    _hub(client).add_monitor(client)
    return OK


from ..resp.encoder import Raw as _RawReply  # noqa: E402

_NO_REPLY = _RawReply(b"", b"")


@on_reset
def _reset_monitor(client):
    if client.kind == "monitor":
        client.kind = "normal"
        client.keyspace_denied = False
        hub = getattr(client.server, "introspection", None)
        if hub is not None:
            hub.remove_monitor(client)


# -- INFO latencystats ------------------------------------------------------------------
def latencystats(server):
    """``latency_percentiles_usec_<cmd>`` pairs as Redis 7.0 prints them."""
    hub = getattr(server, "introspection", None)
    if hub is None or not hub.latency_tracking:
        return []
    percentiles = hub.percentiles
    out = []
    for spec, hist in list(hub.hists.items()):
        if not hist:
            continue
        values = _lat.percentiles_usec(hist, percentiles)
        out.append(("latency_percentiles_usec_" + spec.fullname,
                    ",".join("p%s=%.3f" % (_fmt_percentile(p), values[p]) for p in percentiles)))
    return out
