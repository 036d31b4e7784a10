"""Prometheus metrics, computed at scrape time from counters the server already keeps.

Nothing here runs per command: the command table holds calls/failed/rejected
counts, the :class:`~redislite.observability.latency.Introspection` observer
keeps per-command latency histograms as plain dicts, and the INFO builders
(``redislite/info.py``) know everything else.  A custom collector turns those
into metric families when Prometheus scrapes (as Synapse does for its gauges).
Labels are command names, databases, error codes and replica addresses: never
keys, so cardinality stays bounded by the command table.
"""

from prometheus_client.core import (CollectorRegistry, CounterMetricFamily, GaugeMetricFamily,
                                    HistogramMetricFamily)
from prometheus_client.exposition import choose_encoder

from .. import info as _info
from ..reactor_tuning import BUSY
from . import latency as _lat

#: Histogram bucket upper bounds, in seconds.
BUCKETS = (0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
           0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_BOUNDS_NS = tuple(int(round(b * 1e9)) for b in BUCKETS)
#: Percentiles in the JSON view (GET /api/v1/metrics).
JSON_PERCENTILES = (50.0, 95.0, 99.0, 99.9)


def _num(v):
    """An INFO value as a number where it is one."""
    if isinstance(v, (int, float)):
        return v
    try:
        return int(v)
    except (TypeError, ValueError):
        try:
            return float(v)
        except (TypeError, ValueError):
            return v


def info_dict(server, section):
    return dict(_info.BUILDERS[section](server))


def parse_kv(text):
    """``ip=1.2.3.4,port=6380,lag=0`` -> dict (numbers converted)."""
    out = {}
    for part in str(text).split(","):
        k, sep, v = part.partition("=")
        if sep:
            out[k] = _num(v)
    return out


def replicas(repl):
    """[(addr, fields)] from INFO replication's ``slaveN`` lines."""
    out = []
    for k, v in repl.items():
        if k.startswith("slave") and k[5:].isdigit():
            f = parse_kv(v)
            out.append(("%s:%s" % (f.get("ip", "?"), f.get("port", "?")), f))
    return out


class ServerCollector:
    """The custom collector: every family built fresh at scrape time."""

    def __init__(self, server):
        self.server = server

    def describe(self):
        return []

    def collect(self):
        server = self.server
        yield from self._commands(server)
        yield from self._server(server)
        yield from self._persistence(server)
        yield from self._replication(server)

    # -- per command --------------------------------------------------------------
    def _commands(self, server):
        calls = CounterMetricFamily("redislite_command_calls", "Commands executed, by command.",
                                    labels=["cmd"])
        failed = CounterMetricFamily("redislite_command_failed_calls",
                                     "Commands that ran and replied with an error.", labels=["cmd"])
        rejected = CounterMetricFamily("redislite_command_rejected_calls",
                                       "Commands refused before running (arity, auth, OOM...).",
                                       labels=["cmd"])
        hist = HistogramMetricFamily("redislite_command_duration_seconds",
                                     "Command execution time (excluding network and parsing).",
                                     labels=["cmd"])
        hub = getattr(server, "introspection", None)
        hists = hub.hists if hub is not None else {}
        for spec in _info.all_specs():
            if not (spec.calls or spec.failed or spec.rejected):
                continue
            name = spec.fullname
            calls.add_metric([name], spec.calls)
            failed.add_metric([name], spec.failed)
            rejected.add_metric([name], spec.rejected)
            h = hists.get(spec)
            if h:
                counts = _lat.cumulative(h, _BOUNDS_NS)
                n = _lat.total(h)
                buckets = [(_le(b), c) for b, c in zip(BUCKETS, counts)] + [("+Inf", n)]
                hist.add_metric([name], buckets, spec.usec / 1e6)
        yield calls
        yield failed
        yield rejected
        yield hist

    # -- server gauges ---------------------------------------------------------------
    def _server(self, server):
        now = server.reactor.seconds()
        yield _gauge("redislite_uptime_seconds", "Seconds since the server started.",
                     max(0.0, now - server.start_time))
        yield _gauge("redislite_start_time_seconds", "Unix time the server started.",
                     server.start_time)
        clients = info_dict(server, "clients")
        yield _gauge("redislite_connected_clients", "Client connections open now.",
                     clients["connected_clients"])
        yield _gauge("redislite_blocked_clients", "Clients waiting in a blocking command.",
                     clients["blocked_clients"])
        yield _gauge("redislite_max_clients", "The maxclients setting.", server.maxclients)
        stats = info_dict(server, "stats")
        for name, field, doc in (
                ("redislite_connections_received", "total_connections_received", "Connections accepted."),
                ("redislite_rejected_connections", "rejected_connections", "Connections refused (maxclients)."),
                ("redislite_commands_processed", "total_commands_processed", "Commands processed."),
                ("redislite_expired_keys", "expired_keys", "Keys removed because their TTL passed."),
                ("redislite_evicted_keys", "evicted_keys", "Keys evicted to stay under maxmemory."),
                ("redislite_keyspace_hits", "keyspace_hits", "Successful key lookups."),
                ("redislite_keyspace_misses", "keyspace_misses", "Failed key lookups."),
                ("redislite_net_input_bytes", "total_net_input_bytes", "Bytes read from clients."),
                ("redislite_net_output_bytes", "total_net_output_bytes", "Bytes written to clients."),
                ("redislite_error_replies", "total_error_replies", "Error replies sent.")):
            yield _counter(name, doc, stats[field])
        spins = CounterMetricFamily("redislite_busy_poll_spins",
                                    "Busy-poll spins (busy-poll-usec) that found events or ran out.",
                                    labels=["result"])
        spins.add_metric(["found"], BUSY.found)
        spins.add_metric(["empty"], BUSY.empty)
        yield spins
        errors = CounterMetricFamily("redislite_errors", "Error replies by error code.", labels=["error"])
        for code, n in sorted(server.error_stats.items()):
            errors.add_metric([code], n)
        yield errors
        keys = GaugeMetricFamily("redislite_db_keys", "Keys per database.", labels=["db"])
        expiring = GaugeMetricFamily("redislite_db_keys_expiring", "Keys with a TTL per database.",
                                     labels=["db"])
        for db in range(server.databases):
            n, e = server.db_sizes(db)
            if n or db == 0:
                keys.add_metric([str(db)], n)
                expiring.add_metric([str(db)], e)
        yield keys
        yield expiring
        used = server.used_memory()
        yield _gauge("redislite_memory_used_bytes", "Memory accounted to the dataset plus baseline.", used)
        yield _gauge("redislite_memory_max_bytes", "The maxmemory setting (0 = no limit).", server.maxmemory)
        yield _gauge("redislite_memory_used_peak_bytes", "Peak of used memory.",
                     max(server.used_memory_peak, used))

    # -- persistence -------------------------------------------------------------------
    def _persistence(self, server):
        p = info_dict(server, "persistence")
        now = server.reactor.seconds()
        yield _gauge("redislite_loading", "1 while a dataset is being loaded.", p.get("loading", 0))
        yield _gauge("redislite_rdb_changes_since_last_save", "Writes since the last snapshot.",
                     p.get("rdb_changes_since_last_save", 0))
        last = _num(p.get("rdb_last_save_time", 0))
        yield _gauge("redislite_rdb_last_save_timestamp_seconds", "Unix time of the last successful save.", last)
        yield _gauge("redislite_rdb_seconds_since_last_save", "Seconds since the last successful save.",
                     max(0.0, now - last) if last else 0)
        yield _gauge("redislite_rdb_bgsave_in_progress", "1 while a snapshot is being written.",
                     p.get("rdb_bgsave_in_progress", 0))
        yield _gauge("redislite_rdb_last_bgsave_ok", "1 if the last snapshot succeeded.",
                     1 if p.get("rdb_last_bgsave_status", "ok") == "ok" else 0)
        yield _gauge("redislite_aof_enabled", "1 when the append-only file is on.", p.get("aof_enabled", 0))
        yield _gauge("redislite_aof_rewrite_in_progress", "1 while the AOF is being rewritten.",
                     p.get("aof_rewrite_in_progress", 0))
        yield _gauge("redislite_aof_last_rewrite_ok", "1 if the last AOF rewrite succeeded.",
                     1 if p.get("aof_last_bgrewrite_status", "ok") == "ok" else 0)
        yield _gauge("redislite_aof_last_write_ok", "1 if the last AOF write succeeded.",
                     1 if p.get("aof_last_write_status", "ok") == "ok" else 0)

    # -- replication ---------------------------------------------------------------------
    def _replication(self, server):
        r = info_dict(server, "replication")
        role = r.get("role", "master")
        roles = GaugeMetricFamily("redislite_replication_role", "1 for the current role.", labels=["role"])
        for name in ("master", "slave"):
            roles.add_metric([name], 1 if role == name else 0)
        yield roles
        yield _gauge("redislite_replication_offset", "Replication offset (master_repl_offset).",
                     _num(r.get("master_repl_offset", 0)))
        yield _gauge("redislite_connected_replicas", "Replicas connected to this master.",
                     _num(r.get("connected_slaves", 0)))
        if role == "slave":
            yield _gauge("redislite_master_link_up", "1 when the link to the master is up.",
                         1 if r.get("master_link_status") == "up" else 0)
        lag = GaugeMetricFamily("redislite_replica_lag_seconds", "Seconds since each replica's last ack.",
                                labels=["replica"])
        offset = GaugeMetricFamily("redislite_replica_offset", "Offset acknowledged by each replica.",
                                   labels=["replica"])
        for addr, f in replicas(r):
            lag.add_metric([addr], _num(f.get("lag", 0)))
            offset.add_metric([addr], _num(f.get("offset", 0)))
        yield lag
        yield offset


def _le(b):
    return repr(float(b))


def _gauge(name, doc, value):
    g = GaugeMetricFamily(name, doc)
    g.add_metric([], _num(value))
    return g


def _counter(name, doc, value):
    c = CounterMetricFamily(name, doc)
    c.add_metric([], _num(value))
    return c


class Metrics:
    """One registry per server (never the global one, so tests can build many)."""

    def __init__(self, server):
        self.server = server
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(ServerCollector(server))

    def render(self, accept=""):
        """(body bytes, content type); OpenMetrics when the Accept header asks for it."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


def metrics_json(server):
    """The same figures as /metrics, as one JSON-able dict with p50/p95/p99/p99.9."""
    hub = getattr(server, "introspection", None)
    hists = hub.hists if hub is not None else {}
    commands = {}
    for spec in _info.all_specs():
        if not (spec.calls or spec.failed or spec.rejected):
            continue
        entry = {"calls": spec.calls, "failed_calls": spec.failed, "rejected_calls": spec.rejected,
                 "usec": int(spec.usec),
                 "usec_per_call": round(spec.usec / spec.calls, 2) if spec.calls else 0.0}
        h = hists.get(spec)
        if h:
            pct = _lat.percentiles_usec(h, JSON_PERCENTILES)
            entry["latency_usec"] = {"p50": pct[50.0], "p95": pct[95.0], "p99": pct[99.0],
                                     "p99.9": pct[99.9]}
        commands[spec.fullname] = entry
    stats = info_dict(server, "stats")
    clients = info_dict(server, "clients")
    persistence = info_dict(server, "persistence")
    repl = info_dict(server, "replication")
    keyspace = {}
    for db in range(server.databases):
        n, e = server.db_sizes(db)
        if n:
            keyspace["db%d" % db] = {"keys": n, "expires": e}
    now = server.reactor.seconds()
    return {
        "uptime_seconds": max(0.0, now - server.start_time),
        "clients": {"connected": clients["connected_clients"], "blocked": clients["blocked_clients"],
                    "max": server.maxclients},
        "memory": {"used_bytes": server.used_memory(), "max_bytes": server.maxmemory},
        "keyspace": keyspace,
        "stats": {k: stats[k] for k in (
            "total_connections_received", "total_commands_processed", "expired_keys", "evicted_keys",
            "keyspace_hits", "keyspace_misses", "total_net_input_bytes", "total_net_output_bytes",
            "total_error_replies")},
        "errors": dict(sorted(server.error_stats.items())),
        "persistence": persistence,
        "replication": {"role": repl.get("role"), "offset": _num(repl.get("master_repl_offset", 0)),
                        "connected_replicas": _num(repl.get("connected_slaves", 0)),
                        "replicas": {addr: f for addr, f in replicas(repl)}},
        "commands": commands,
    }
