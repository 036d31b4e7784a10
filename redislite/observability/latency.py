"""Per-command latency histograms, the slow log, the latency monitor and MONITOR.

Everything is recorded by one ``server.command_observers`` entry (see
:class:`Introspection`), into plain Python dicts and deques: the hot path does
a bucket index computation and a dict increment, nothing else.  Conversions
(percentiles, Prometheus buckets, LATENCY HISTOGRAM) happen when somebody asks.

Histogram buckets are log-linear over nanoseconds, like HdrHistogram with
about 3% precision: values below 64 ns have their own bucket; above that each
power of two is split in 32 sub-buckets.  A histogram is a ``dict`` from bucket
index to count, so an idle command costs no memory.
"""

import collections
import math
from bisect import bisect_left

from ..commands.registry import LAT_SPAN as SPAN, LAT_SPECS as _SPECS

SUB_BITS = 6
_HALF = 1 << (SUB_BITS - 1)
_FULL = 1 << SUB_BITS

#: Redis's HdrHistogram range (LATENCY_HISTOGRAM_MIN_VALUE / MAX_VALUE), in ns.
MIN_NS = 1
MAX_NS = 1_000_000_000
MAX_USEC = MAX_NS / 1000

#: Pending latency samples are single floats, ``spec.lat_base + usec`` with
#: usec clamped to MAX_USEC: each command spec owns a span of SPAN µs (see the
#: registry), so one sort groups the samples by command and orders them by
#: latency, and the fold counts whole buckets with bisect: a Python step per
#: non-empty bucket, not per sample.
FOLD_AT = 8192


def sample(spec, usec):
    """The pending-list value of one command run (Client.execute inlines it)."""
    return spec.lat_base + (usec if usec < MAX_USEC else MAX_USEC)

#: Slow log entry limits (Redis's SLOWLOG_ENTRY_MAX_ARGC / MAX_STRING).
SLOWLOG_MAX_ARGC = 32
SLOWLOG_MAX_STRING = 128

#: Samples kept per latency-monitor event (Redis's LATENCY_TS_LEN).
LATENCY_TS_LEN = 160

_REDACTED = b"(redacted)"


def bucket_index(ns):
    """The histogram bucket of a value in nanoseconds (the hot path inlines this)."""
    n = ns.bit_length()
    if n <= SUB_BITS:
        return ns
    return ((n - SUB_BITS) << (SUB_BITS - 1)) + (ns >> (n - SUB_BITS))


def bucket_bounds(i):
    """(lowest, highest) nanosecond value that falls in bucket *i*."""
    if i < _FULL:
        return i, i
    shift = i // _HALF - 1
    top = i - shift * _HALF
    return top << shift, ((top + 1) << shift) - 1


def record(hist, usec):
    """Add one sample (in microseconds) to *hist*; clamped to Redis's 1 ns .. 1 s range."""
    ns = int(usec * 1000)
    if ns < MIN_NS:
        ns = MIN_NS
    elif ns > MAX_NS:
        ns = MAX_NS
    i = bucket_index(ns)
    hist[i] = hist.get(i, 0) + 1


def total(hist):
    return sum(hist.values())


def value_at_percentile(hist, percentile, count=None):
    """The highest value (ns) of the bucket holding the *percentile*-th sample,
    as HdrHistogram's hdr_value_at_percentile answers it (0 when empty)."""
    if not hist:
        return 0
    if count is None:
        count = total(hist)
    want = max(1, int(min(percentile, 100.0) / 100.0 * count + 0.5))
    seen = 0
    for i in sorted(hist):
        seen += hist[i]
        if seen >= want:
            return bucket_bounds(i)[1]
    return bucket_bounds(max(hist))[1]


def percentiles_usec(hist, percentiles):
    """{percentile: microseconds} for each requested percentile."""
    count = total(hist)
    return {p: value_at_percentile(hist, p, count) / 1000.0 for p in percentiles}


def cumulative(hist, bounds_ns):
    """Cumulative counts at each upper bound (ns), for Prometheus ``le`` buckets.

    A bucket counts under a bound when its highest value is <= the bound, so a
    sample is never reported faster than it was (bounds are 3% coarse)."""
    items = sorted(hist.items())
    out = []
    seen = j = 0
    for bound in bounds_ns:
        while j < len(items) and bucket_bounds(items[j][0])[1] <= bound:
            seen += items[j][1]
            j += 1
        out.append(seen)
    return out


def _hdr_highest_equivalent(ns):
    """HdrHistogram's highest_equivalent_value for 2 significant figures (Redis's
    LATENCY HISTOGRAM reports bucket edges this way: 1024 ns -> 1, 32768 -> 33)."""
    magnitude = max(0, ns.bit_length() - 1 - 7)
    return ns + (1 << magnitude) - 1


def log2_cdf(hist):
    """LATENCY HISTOGRAM's ``histogram_usec``: [(usec, cumulative count)] on
    power-of-two buckets from 1024 ns, listing only buckets that added samples."""
    if not hist:
        return []
    items = sorted(hist.items())
    out = []
    seen = prev = j = 0
    edge = 1024
    n = sum(c for _, c in items)
    while seen < n:
        limit = _hdr_highest_equivalent(edge)
        while j < len(items) and bucket_bounds(items[j][0])[0] <= limit:
            seen += items[j][1]
            j += 1
        if seen > prev:
            out.append((limit // 1000, seen))
        prev = seen
        edge <<= 1
    return out


# -- the slow log -------------------------------------------------------------------
def redact(spec, argv):
    """The arguments as Redis logs them (AUTH and HELLO AUTH passwords, ACL SETUSER's
    name and rules redacted)."""
    name = spec.fullname
    if name == "auth":
        return [argv[0]] + [_REDACTED] * (len(argv) - 1)
    if name == "acl|setuser":
        return list(argv[:2]) + [_REDACTED] * (len(argv) - 2)
    if name == "hello":
        out = list(argv)
        i = 2
        while i < len(out):
            opt = out[i].lower()
            if opt == b"auth" and i + 2 < len(out):
                out[i + 1] = out[i + 2] = _REDACTED
                i += 3
            elif opt == b"setname":
                i += 2
            else:
                i += 1
        return out
    if name == "migrate":
        out = list(argv)
        for i in range(6, len(out)):
            opt = out[i].lower()
            if opt == b"auth" and i + 1 < len(out):
                out[i + 1] = _REDACTED
            elif opt == b"auth2" and i + 2 < len(out):
                out[i + 1] = out[i + 2] = _REDACTED
        return out
    return argv


def slowlog_args(argv):
    """Redis's slowlogCreateEntry trimming: at most 32 arguments, 128 bytes each."""
    argc = len(argv)
    n = min(argc, SLOWLOG_MAX_ARGC)
    out = []
    for j in range(n):
        if n != argc and j == n - 1:
            out.append(b"... (%d more arguments)" % (argc - n + 1))
        else:
            a = bytes(argv[j])
            if len(a) > SLOWLOG_MAX_STRING:
                a = a[:SLOWLOG_MAX_STRING] + b"... (%d more bytes)" % (len(a) - SLOWLOG_MAX_STRING)
            out.append(a)
    return out


class SlowLog:
    """Newest first, trimmed to ``slowlog-max-len``; ids keep growing across RESET."""

    def __init__(self):
        self.entries = collections.deque()
        self.next_id = 0

    def push(self, when, usec, args, peer, name, max_len):
        self.entries.appendleft((self.next_id, int(when), int(usec), args, peer, name))
        self.next_id += 1
        while len(self.entries) > max_len:
            self.entries.pop()

    def reset(self):
        self.entries.clear()


# -- the latency monitor --------------------------------------------------------------
class LatencyMonitor:
    """Redis's latency.c time series: per event, 160 (time, ms) samples, one per
    second (a later sample in the same second keeps the max), plus the all-time max."""

    def __init__(self):
        self.events = {}

    def add(self, event, now, ms):
        ts = self.events.get(event)
        if ts is None:
            ts = self.events[event] = {"samples": collections.deque(maxlen=LATENCY_TS_LEN), "max": 0}
        if ms > ts["max"]:
            ts["max"] = ms
        samples = ts["samples"]
        if samples and samples[-1][0] == now:
            if ms > samples[-1][1]:
                samples[-1] = (now, ms)
            return
        samples.append((now, ms))

    def latest(self):
        return [(name, ts["samples"][-1][0], ts["samples"][-1][1], ts["max"])
                for name, ts in self.events.items()]

    def history(self, event):
        ts = self.events.get(event)
        return list(ts["samples"]) if ts else []

    def reset(self, events=None):
        if not events:
            n = len(self.events)
            self.events.clear()
            return n
        n = 0
        for e in events:
            if self.events.pop(e, None) is not None:
                n += 1
        return n


# -- MONITOR line -------------------------------------------------------------------
_REPR = {0x5C: b"\\\\", 0x22: b'\\"', 0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t",
         0x07: b"\\a", 0x08: b"\\b"}
_REPR_TABLE = []
for _c in range(256):
    if _c in _REPR:
        _REPR_TABLE.append(_REPR[_c])
    elif 0x20 <= _c < 0x7F:
        _REPR_TABLE.append(bytes((_c,)))
    else:
        _REPR_TABLE.append(b"\\x%02x" % _c)
del _c


def catrepr(data):
    """Redis's sdscatrepr: a double-quoted, escaped rendering of any bytes."""
    if not data or all(0x20 <= c < 0x7F and c != 0x5C and c != 0x22 for c in data):
        return b'"' + bytes(data) + b'"'
    table = _REPR_TABLE
    return b'"' + b"".join([table[c] for c in data]) + b'"'


def monitor_line(when, db, addr, argv):
    """``+<sec>.<usec> [<db> <addr>] "cmd" "arg"...`` (without the CRLF)."""
    usec_total = int(round(when * 1_000_000))
    sec, usec = divmod(usec_total, 1_000_000)
    head = b"+%d.%06d [%d %s] " % (sec, usec, db, addr.encode("utf-8", "replace"))
    return head + b" ".join([catrepr(a) for a in argv])


class Introspection:
    """The server's observer for latency tracking, metrics, SLOWLOG, LATENCY and MONITOR.

    One instance per server (``server.introspection``, see :func:`attach`).
    ``track`` turns histogram recording on (``metrics yes`` or ``latency-tracking
    yes``); config values are re-read only when ``server.config`` changes
    identity (Config is frozen; CONFIG SET installs a new one).
    """

    def __init__(self, server):
        self.server = server
        self._hists = {}            # CommandSpec -> {bucket: count} (read through .hists)
        self.slowlog = SlowLog()
        self.latency = LatencyMonitor()
        self.monitors = {}          # client id -> client
        #: fn(client, spec, argv, usec) called for each slow-log entry (structured log)
        self.slow_listeners = []
        #: fn(client, argv, reply) on failed AUTH/HELLO (structured log)
        self.auth_listeners = []
        self.cfg = None
        self.metrics_enabled = True
        self.refresh()

    # -- config ------------------------------------------------------------------
    def refresh(self):
        cfg = self.server.config
        self.cfg = cfg
        self.metrics_enabled = bool(_get(cfg, "metrics", True))
        self.latency_tracking = bool(_get(cfg, "latency-tracking", True))
        self.track = self.metrics_enabled or self.latency_tracking
        slower = _get(cfg, "slowlog-log-slower-than", 10000)
        self.slow_usec = math.inf if slower < 0 else slower
        self.slowlog_max_len = _get(cfg, "slowlog-max-len", 128)
        self.latency_threshold_ms = _get(cfg, "latency-monitor-threshold", 0)
        self.percentiles = tuple(_get(cfg, "latency-tracking-info-percentiles", (50.0, 99.0, 99.9)))
        self._install()

    # -- the hot path -----------------------------------------------------------------
    # Client.execute does the per-command work inline (a call costs as much as a
    # GET): it appends :func:`sample` to ``server.lat_pending`` (None when
    # tracking is off) and calls :meth:`outlier` when ``usec`` reaches
    # ``server.outlier_usec``.  Pending samples are folded into ``hists`` and
    # into each spec's ``calls`` and ``usec`` in batches of FOLD_AT, and
    # whenever anybody reads them (:attr:`hists`, :meth:`fold`).

    def _install(self):
        server = self.server
        if self.track:
            if server.lat_pending is None:
                server.lat_pending = []
        else:
            self._fold()
            server.lat_pending = None
        lat = self.latency_threshold_ms * 1000 if self.latency_threshold_ms else math.inf
        # MAX_USEC too: a sample past the histogram range must be clamped (see outlier)
        server.outlier_usec = min(self.slow_usec, lat, MAX_USEC)

    def _fold(self):
        pending = self.server.lat_pending
        if not pending:
            return
        pending.sort()
        hists = self._hists
        specs = _SPECS
        n = len(pending)
        pos = 0
        while pos < n:
            v = pending[pos]
            sid = int(v / SPAN)
            base = sid * SPAN
            ns = int((v - base) * 1000) or 1
            if ns > MAX_NS:
                ns = MAX_NS
            # bucket_index and the bucket's top value, inlined
            b = ns.bit_length()
            if b <= SUB_BITS:
                i = top = ns
            else:
                shift = b - SUB_BITS
                i = (shift << (SUB_BITS - 1)) + (ns >> shift)
                top = (((ns >> shift) + 1) << shift) - 1
            # every sample of this command below the next bucket's first value
            j = bisect_left(pending, base + (top + 1) / 1000, pos + 1)
            spec = specs[sid]
            h = hists.get(spec)
            if h is None:
                h = hists[spec] = {}
            h[i] = h.get(i, 0) + (j - pos)
            # the commandstats counters (Client.execute leaves them to the fold)
            spec.calls += j - pos
            spec.usec += sum(pending[pos:j]) - base * (j - pos)
            pos = j
        pending.clear()

    fold = _fold

    @property
    def hists(self):
        """CommandSpec -> {bucket: count}, with every pending sample folded in."""
        self._fold()
        return self._hists

    def outlier(self, client, spec, argv, usec):
        """A command at or above the slow log or latency-monitor threshold, or
        past the histogram range; returns the usec its pending sample carries.

        A sample is ``spec.lat_base + usec`` and must stay inside the spec's span,
        so a run over MAX_USEC is sampled as MAX_USEC and the rest of its time
        goes straight to ``spec.usec``."""
        if usec >= self.slow_usec:
            self.slow(client, spec, argv, usec)
        lat = self.latency_threshold_ms
        if lat and usec >= lat * 1000:
            self.latency_sample(spec, usec)
        if usec > MAX_USEC and self.server.lat_pending is not None:
            spec.usec += usec - MAX_USEC
            return MAX_USEC
        return usec

    def failed(self, client, spec, argv, reply):
        """A command that replied with an error (``server.error_hooks``)."""
        if self.auth_listeners and spec.fullname in ("auth", "hello"):
            for fn in self.auth_listeners:
                fn(client, argv, reply)

    def monitor_observer(self, client, spec, argv, usec, reply):
        """In ``server.command_observers`` while a MONITOR client exists."""
        if reply is not _BLOCKED:
            self.feed(client, spec, argv)

    def slow(self, client, spec, argv, usec):
        if "skip_slowlog" in spec.flags:
            return
        args = slowlog_args(redact(spec, argv))
        name = client.name.decode("utf-8", "surrogateescape") if client.name else ""
        self.slowlog.push(self.server.reactor.seconds(), usec, args, _peer(client), name,
                          self.slowlog_max_len)
        for fn in self.slow_listeners:
            fn(client, spec, argv, usec)

    def latency_sample(self, spec, usec):
        event = "fast-command" if "fast" in spec.flags else "command"
        self.latency.add(event, int(self.server.reactor.seconds()), int(usec // 1000))

    # -- MONITOR --------------------------------------------------------------------
    def add_monitor(self, client):
        self.monitors[client.id] = client
        observers = self.server.command_observers
        if self.monitor_observer not in observers:
            observers.append(self.monitor_observer)

    def remove_monitor(self, client):
        self.monitors.pop(client.id, None)
        self._drop_monitor_observer()

    def _drop_monitor_observer(self):
        if not self.monitors and self.monitor_observer in self.server.command_observers:
            self.server.command_observers.remove(self.monitor_observer)

    def feed(self, client, spec, argv):
        """Send a command to every MONITOR client (Redis skips admin and skip_monitor
        commands; the script engine feeds EVAL itself, see :func:`feed_monitors`)."""
        flags = spec.flags
        if "admin" in flags or "skip_monitor" in flags:
            return
        self.feed_argv(client, redact(spec, argv))

    def feed_argv(self, client, argv):
        addr = "lua" if client.kind == "lua" else _peer(client)
        line = monitor_line(self.server.reactor.seconds(), client.db, addr, argv) + b"\r\n"
        reply = _Raw(line)
        for cid, m in list(self.monitors.items()):
            if m.closing:
                del self.monitors[cid]
                self._drop_monitor_observer()
                continue
            if m is client and getattr(m, "transport", None) is not None:
                # A monitor's own command: Redis puts the line after the command's
                # reply, which our protocol writes only after this returns.
                self.server.reactor.callLater(0, m.send, reply)
            else:
                m.send(reply)

    # -- reading ----------------------------------------------------------------------
    def histogram(self, spec):
        return self.hists.get(spec) or {}

    def reset_histograms(self):
        self._fold()
        self._hists.clear()


def _get(cfg, name, default):
    try:
        return cfg[name]
    except (KeyError, TypeError):
        return default


def _peer(client):
    addr = getattr(client, "addr", "?")
    return addr if addr else "?"


from ..blocking import BLOCKED as _BLOCKED  # noqa: E402
from ..resp.encoder import Raw as _Raw  # noqa: E402


def attach(server):
    """The server's :class:`Introspection`, created and installed on first use."""
    hub = getattr(server, "introspection", None)
    if hub is None:
        hub = Introspection(server)
        server.introspection = hub
        hub._install()
        server.error_hooks.append(hub.failed)
    return hub


def feed_monitors(client, argv):
    """For the scripting engine: Redis feeds EVAL/FCALL to monitors itself, before
    running the script (their command-table flags say skip_monitor)."""
    hub = getattr(client.server, "introspection", None)
    if hub is not None and hub.monitors:
        hub.feed_argv(client, argv)
