"""INFO sections as data: one builder per section returning ordered (field, value) pairs.

The RESP INFO command renders them as Redis's text (``server.py``); the HTTP API
and metrics can serve the same pairs as JSON.  Field names and their order are
Redis 7.0.15's, so tools that parse INFO (redis-py, redis_exporter, redis-cli
--stat) work; the one extra field is ``redislite_version`` in ``server``.
Values we cannot know (allocator internals, buffers) are plausible constants.
Nothing here is O(keys): keyspace figures come from per-db counters.
"""

import os
import platform
import random
import resource
import sys

from .memtrim import read_rss

REDIS_VERSION = "7.0.15"

#: Sections in Redis's order: (name as requested, title in the header, builder name).
SECTION_ORDER = ("server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                 "modules", "commandstats", "errorstats", "latencystats", "cluster", "keyspace")
TITLES = {"server": "Server", "clients": "Clients", "memory": "Memory",
          "persistence": "Persistence", "stats": "Stats", "replication": "Replication",
          "cpu": "CPU", "modules": "Modules", "commandstats": "Commandstats",
          "errorstats": "Errorstats", "latencystats": "Latencystats", "cluster": "Cluster",
          "keyspace": "Keyspace"}
DEFAULT_SECTIONS = frozenset(("server", "clients", "memory", "persistence", "stats", "replication",
                              "cpu", "modules", "errorstats", "cluster", "keyspace"))
ALL_SECTIONS = frozenset(SECTION_ORDER)


def bytes_to_human(n):
    """Redis's bytesToHuman (``1.42M``)."""
    if n < 1024:
        return "%dB" % n
    for i, unit in enumerate("KMGTP", 1):
        if n < 1024 ** (i + 1) or unit == "P":
            return "%.2f%s" % (n / 1024 ** i, unit)


def requested_sections(args):
    """The set of sections INFO's arguments select (Redis's genInfoSectionDict)."""
    if not args:
        return set(DEFAULT_SECTIONS)
    out = set()
    for a in args:
        name = a.decode("utf-8", "replace").lower() if isinstance(a, bytes) else a.lower()
        if name == "default":
            out |= DEFAULT_SECTIONS
        elif name in ("all", "everything"):
            out |= ALL_SECTIONS
        elif name in ALL_SECTIONS:
            out.add(name)
    return out


def collect(server, sections):
    """[(title, [(field, value), ...])] for the given sections, in Redis's order."""
    return [(TITLES[name], BUILDERS[name](server)) for name in SECTION_ORDER if name in sections]


# -- helpers ---------------------------------------------------------------------------
def _now(server):
    return server.reactor.seconds()


def _rss():
    """Resident set size from /proc when available, else the peak from getrusage."""
    rss = read_rss()
    return rss if rss is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _total_system_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def _multiplexing_api(server):
    name = type(server.reactor).__name__.lower()
    for api in ("epoll", "kqueue", "poll", "select"):
        if api in name:
            return api
    return "epoll"


def _pubsub_counts(server):
    fn = getattr(server, "pubsub_counts", None)
    return fn() if fn is not None else (0, 0, 0)


def _repl(server, counter):
    """A counter of the replication master (replication/master.py), 0 before any replica."""
    m = server.repl_master
    return getattr(m, counter) if m is not None else 0


def _total_errors(server):
    return sum(server.error_stats.values())


def fold_pending(server):
    """Fold the pending latency samples: they carry the commands' calls and usec
    (Client.execute counts nothing else), so read the counters after this."""
    hub = getattr(server, "introspection", None)
    if hub is not None:
        hub.fold()


def all_specs():
    """Every bound command and subcommand spec (the command table's counters)."""
    from .commands import registry
    for spec in registry.supported():
        yield spec
        for sub in sorted(spec.subcommands.values(), key=lambda s: s.fullname):
            yield sub


# -- sections ------------------------------------------------------------------------------
def section_server(server):
    now = _now(server)
    uptime = max(0, int(now - server.start_time))
    cfg = server.config
    return [
        ("redis_version", REDIS_VERSION),
        ("redislite_version", server.version),
        ("redis_git_sha1", "00000000"),
        ("redis_git_dirty", 0),
        ("redis_build_id", "0"),
        ("redis_mode", "standalone"),
        ("os", "%s %s %s" % (platform.system(), platform.release(), platform.machine())),
        ("arch_bits", 64 if sys.maxsize > 2 ** 32 else 32),
        ("monotonic_clock", "POSIX clock_gettime"),
        ("multiplexing_api", _multiplexing_api(server)),
        ("atomicvar_api", "c11-builtin"),
        ("gcc_version", "0.0.0"),
        ("process_id", os.getpid()),
        ("process_supervised", "no"),
        ("run_id", server.run_id),
        ("tcp_port", cfg["port"]),
        ("server_time_usec", int(now * 1_000_000)),
        ("uptime_in_seconds", uptime),
        ("uptime_in_days", uptime // 86400),
        ("hz", 10),
        ("configured_hz", 10),
        ("lru_clock", int(now) & ((1 << 24) - 1)),
        ("executable", os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""),
        ("config_file", getattr(server, "config_file", None) or getattr(cfg, "path", None) or ""),
        ("io_threads_active", 0),
    ]


def section_clients(server):
    clients = server.clients.values()
    blocked = sum(1 for c in clients if getattr(c, "blocked", None))
    return [
        ("connected_clients", len(server.clients)),
        ("cluster_connections", 0),
        ("maxclients", server.maxclients),
        ("client_recent_max_input_buffer", 0),
        ("client_recent_max_output_buffer", 0),
        ("blocked_clients", blocked),
        ("tracking_clients", 0),
        ("clients_in_timeout_table", 0),
    ]


def memory_figures(server):
    """The figures behind INFO memory, MEMORY STATS and MEMORY DOCTOR, read once.

    RedisLite has no allocator statistics, so the allocator's view is the
    dataset estimate (``used``) and the process RSS; both commands report the
    same numbers from here."""
    used = server.used_memory()
    peak = max(getattr(server, "used_memory_peak", 0), used)
    server.used_memory_peak = peak
    try:
        from .server import BASE_MEMORY as startup
    except ImportError:  # pragma: no cover
        startup = 0
    rss = _rss()
    return {"used": used, "peak": peak, "startup": startup, "rss": rss,
            "dataset": max(0, used - startup), "frag": rss / used if used else 0.0,
            "scripts": cached_script_count(server)}


def cached_script_count(server):
    """Scripts in the EVAL cache (SCRIPT LOAD, EVAL), as INFO's number_of_cached_scripts."""
    engine = getattr(server, "lua_eval", None)
    return len(getattr(engine, "scripts", ())) if engine is not None else 0


def section_memory(server):
    m = memory_figures(server)
    used, peak, startup, rss, dataset, frag = (m["used"], m["peak"], m["startup"], m["rss"],
                                               m["dataset"], m["frag"])
    total = _total_system_memory()
    maxmemory = server.maxmemory
    return [
        ("used_memory", used),
        ("used_memory_human", bytes_to_human(used)),
        ("used_memory_rss", rss),
        ("used_memory_rss_human", bytes_to_human(rss)),
        ("used_memory_peak", peak),
        ("used_memory_peak_human", bytes_to_human(peak)),
        ("used_memory_peak_perc", "%.2f%%" % (100.0 * used / peak if peak else 100.0)),
        ("used_memory_overhead", startup),
        ("used_memory_startup", startup),
        ("used_memory_dataset", dataset),
        ("used_memory_dataset_perc", "%.2f%%" % (100.0 * dataset / used if used else 0.0)),
        ("allocator_allocated", used),
        ("allocator_active", used),
        ("allocator_resident", rss),
        ("total_system_memory", total),
        ("total_system_memory_human", bytes_to_human(total)),
        ("used_memory_lua", 32768),
        ("used_memory_vm_eval", 32768),
        ("used_memory_lua_human", "32.00K"),
        ("used_memory_scripts_eval", 0),
        ("number_of_cached_scripts", m["scripts"]),
        ("number_of_functions", 0),
        ("number_of_libraries", 0),
        ("used_memory_vm_functions", 32768),
        ("used_memory_vm_total", 65536),
        ("used_memory_vm_total_human", "64.00K"),
        ("used_memory_functions", 0),
        ("used_memory_scripts", 0),
        ("used_memory_scripts_human", "0B"),
        ("maxmemory", maxmemory),
        ("maxmemory_human", bytes_to_human(maxmemory)),
        ("maxmemory_policy", server.maxmemory_policy),
        ("allocator_frag_ratio", "1.00"),
        ("allocator_frag_bytes", 0),
        ("allocator_rss_ratio", "%.2f" % frag),
        ("allocator_rss_bytes", rss - used),
        ("rss_overhead_ratio", "1.00"),
        ("rss_overhead_bytes", 0),
        ("mem_fragmentation_ratio", "%.2f" % frag),
        ("mem_fragmentation_bytes", rss - used),
        ("mem_not_counted_for_evict", 0),
        ("mem_replication_backlog", 0),
        ("mem_total_replication_buffers", 0),
        ("mem_clients_slaves", 0),
        ("mem_clients_normal", 0),
        ("mem_cluster_links", 0),
        ("mem_aof_buffer", 0),
        ("mem_allocator", "python"),
        ("active_defrag_running", 0),
        ("lazyfree_pending_objects", 0),
        ("lazyfreed_objects", 0),
    ]


def section_persistence(server):
    """From the persistence actor (redislite/persistence/actor.py) when wired; else idle values."""
    actor = getattr(server, "persistence", None)
    if actor is not None:
        return actor.info()
    return [
        ("loading", 1 if server.loading else 0),
        ("async_loading", 0),
        ("current_cow_peak", 0),
        ("current_cow_size", 0),
        ("current_cow_size_age", 0),
        ("current_fork_perc", "0.00"),
        ("current_save_keys_processed", 0),
        ("current_save_keys_total", 0),
        ("rdb_changes_since_last_save", getattr(server, "dirty", 0)),
        ("rdb_bgsave_in_progress", 0),
        ("rdb_last_save_time", int(getattr(server, "last_save", server.start_time))),
        ("rdb_last_bgsave_status", "ok"),
        ("rdb_last_bgsave_time_sec", -1),
        ("rdb_current_bgsave_time_sec", -1),
        ("rdb_saves", 0),
        ("rdb_last_cow_size", 0),
        ("rdb_last_load_keys_expired", 0),
        ("rdb_last_load_keys_loaded", 0),
        ("aof_enabled", 0),
        ("aof_rewrite_in_progress", 0),
        ("aof_rewrite_scheduled", 0),
        ("aof_last_rewrite_time_sec", -1),
        ("aof_current_rewrite_time_sec", -1),
        ("aof_last_bgrewrite_status", "ok"),
        ("aof_rewrites", 0),
        ("aof_rewrites_consecutive_failures", 0),
        ("aof_last_write_status", "ok"),
        ("aof_last_cow_size", 0),
        ("module_fork_in_progress", 0),
        ("module_fork_last_cow_size", 0),
    ]


def section_stats(server):
    channels, patterns, shard_channels = _pubsub_counts(server)
    return [
        ("total_connections_received", server.total_connections),
        ("total_commands_processed", server.total_commands),
        ("instantaneous_ops_per_sec", 0),
        ("total_net_input_bytes", server.net_input_bytes),
        ("total_net_output_bytes", server.net_output_bytes),
        ("total_net_repl_input_bytes", getattr(server, "repl_input_bytes", 0)),   # replication/replica.py
        ("total_net_repl_output_bytes", _repl(server, "repl_output_bytes")),
        ("instantaneous_input_kbps", "0.00"),
        ("instantaneous_output_kbps", "0.00"),
        ("instantaneous_input_repl_kbps", "0.00"),
        ("instantaneous_output_repl_kbps", "0.00"),
        ("rejected_connections", server.rejected_connections),
        ("sync_full", _repl(server, "sync_full")),
        ("sync_partial_ok", _repl(server, "sync_partial_ok")),
        ("sync_partial_err", _repl(server, "sync_partial_err")),
        ("expired_keys", server.stat("stats_expired")),
        ("expired_stale_perc", "0.00"),
        ("expired_time_cap_reached_count", 0),
        ("expire_cycle_cpu_milliseconds", 0),
        ("evicted_keys", server.stat("stats_evicted")),
        ("evicted_clients", 0),
        ("total_eviction_exceeded_time", 0),
        ("current_eviction_exceeded_time", 0),
        ("keyspace_hits", server.keyspace_hits()),
        ("keyspace_misses", server.keyspace_misses()),
        ("pubsub_channels", channels),
        ("pubsub_patterns", patterns),
        ("pubsubshard_channels", shard_channels),
        ("latest_fork_usec", 0),
        ("total_forks", 0),
        ("migrate_cached_sockets", 0),
        ("slave_expires_tracked_keys", 0),
        ("active_defrag_hits", 0),
        ("active_defrag_misses", 0),
        ("active_defrag_key_hits", 0),
        ("active_defrag_key_misses", 0),
        ("total_active_defrag_time", 0),
        ("current_active_defrag_time", 0),
        ("tracking_total_keys", 0),
        ("tracking_total_items", 0),
        ("tracking_total_prefixes", 0),
        ("unexpected_error_replies", 0),
        ("total_error_replies", _total_errors(server)),
        ("dump_payload_sanitizations", 0),
        ("total_reads_processed", 0),
        ("total_writes_processed", 0),
        ("io_threaded_reads_processed", 0),
        ("io_threaded_writes_processed", 0),
        ("reply_buffer_shrinks", 0),
        ("reply_buffer_expands", 0),
    ]


def section_replication(server):
    """Redis 7.0's INFO replication, from the master side (replication/master.py), which
    adds the replica side's lines (``server.repl.link.info_fields()``) when we are one."""
    from .replication.master import master_of
    return master_of(server).info_fields()


def section_cpu(server):
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    thread_usage = getattr(resource, "RUSAGE_THREAD", None)
    main = resource.getrusage(thread_usage) if thread_usage is not None else me
    return [
        ("used_cpu_sys", "%.6f" % me.ru_stime),
        ("used_cpu_user", "%.6f" % me.ru_utime),
        ("used_cpu_sys_children", "%.6f" % kids.ru_stime),
        ("used_cpu_user_children", "%.6f" % kids.ru_utime),
        ("used_cpu_sys_main_thread", "%.6f" % main.ru_stime),
        ("used_cpu_user_main_thread", "%.6f" % main.ru_utime),
    ]


def section_modules(server):
    return []


def section_commandstats(server):
    """``cmdstat_<name>`` for every command called, failed or rejected at least once."""
    fold_pending(server)
    out = []
    for spec in all_specs():
        if spec.calls or spec.failed or spec.rejected:
            usec = int(spec.usec)
            out.append(("cmdstat_" + spec.fullname,
                        "calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d" % (
                            spec.calls, usec, usec / spec.calls if spec.calls else 0.0,
                            spec.rejected, spec.failed)))
    return out


def section_errorstats(server):
    """Sorted by error code, as Redis's rax of error names."""
    return [("errorstat_" + code, "count=%d" % n) for code, n in sorted(server.error_stats.items())]


def section_latencystats(server):
    """Per-command percentiles from the latency histograms (``latency-tracking``),
    formatted as Redis 7.0 (``p50=1.003,p99=2.007,p99.9=3.001``)."""
    from .commands.introspection import latencystats
    return latencystats(server)


def section_cluster(server):
    return [("cluster_enabled", 0)]


def _sample_avg_ttl(server, db, now_ms, samples=16):
    """Estimate the mean TTL from a few random heap entries, as Redis estimates it by sampling."""
    total = count = 0
    for shard in server.shards:
        ks = shard.dbs[db]
        heap = ks.heap
        if not heap or not ks.expires:
            continue
        for _ in range(min(samples, len(heap))):
            when, key = heap[random.randrange(len(heap))]
            if ks.expires.get(key) == when and when > now_ms:
                total += when - now_ms
                count += 1
    return total // count if count else 0


def section_keyspace(server):
    now_ms = server.now.ms
    out = []
    for db in range(server.databases):
        keys, expires = server.db_sizes(db)
        if keys:
            avg = _sample_avg_ttl(server, db, now_ms) if expires else 0
            out.append(("db%d" % db, "keys=%d,expires=%d,avg_ttl=%d" % (keys, expires, avg)))
    return out


BUILDERS = {
    "server": section_server,
    "clients": section_clients,
    "memory": section_memory,
    "persistence": section_persistence,
    "stats": section_stats,
    "replication": section_replication,
    "cpu": section_cpu,
    "modules": section_modules,
    "commandstats": section_commandstats,
    "errorstats": section_errorstats,
    "latencystats": section_latencystats,
    "cluster": section_cluster,
    "keyspace": section_keyspace,
}


def render(server, sections):
    """Redis's INFO text: ``# Title`` headers, ``field:value`` lines, CRLF, a blank line between."""
    parts = []
    for title, pairs in collect(server, sections):
        lines = ["# %s\r\n" % title]
        lines.extend("%s:%s\r\n" % (k, v) for k, v in pairs)
        parts.append("".join(lines))
    return "\r\n".join(parts)
