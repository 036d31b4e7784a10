"""MEMORY: USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE and HELP.

MEMORY USAGE reports what the key adds to ``used_memory`` (the same
estimate eviction works from: :func:`~redislite.storage.keyspace.entry_memory`),
so the two always agree.  STATS and DOCTOR read the figures INFO memory
reports (:func:`redislite.info.memory_figures`).  Replies, their order and
the error texts are Redis 7.0.15's; the byte counts are RedisLite's own.
"""

import struct

from .. import errors
from ..errors import ReplyError
from ..info import memory_figures
from ..resp.encoder import OK, Double, Map, Status, Verbatim
from ..storage.keyspace import KEY_OVERHEAD, entry_memory
from .args import parse_int
from .registry import command

_HELP = [Status(s) for s in (
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
)]
_SYNTAX = ReplyError(errors.SYNTAX)
#: Redis built without jemalloc answers MALLOC-STATS this way; RedisLite has no allocator report.
_NO_MALLOC_STATS = b"Stats not supported for the current allocator"


@command("memory|help")
def memory_help(client, argv):
    return list(_HELP)


# -- USAGE ------------------------------------------------------------------------------
def _op_usage(ks, key):
    """The key's share of used_memory, looked up as Redis's dbFind: no expiry, no LRU touch."""
    value = ks._bucket(key).get(key)
    return None if value is None else entry_memory(key, value)


@command("memory|usage")
def memory_usage(client, argv):
    # SAMPLES is checked as Redis checks it, before the lookup. Every container
    # keeps its size up to date, so the figure is exact and no sampling happens.
    j = 3
    while j < len(argv):
        if argv[j].lower() == b"samples" and j + 1 < len(argv):
            if parse_int(argv[j + 1]) < 0:
                return _SYNTAX
            j += 2
        else:
            return _SYNTAX
    key = argv[2]
    return client.server.router.call(client.db, key, _op_usage, key)


# -- STATS ------------------------------------------------------------------------------
def _f32(x):
    """Redis computes these ratios in C ``float`` and prints them with %.17g."""
    return Double(struct.unpack("f", struct.pack("f", x))[0])


def _db_overheads(server):
    """[(db index, keys, main-table overhead)] for every database holding keys."""
    out = []
    for index in range(len(server.shards[0].dbs)):
        keys = sum(len(shard.dbs[index]) for shard in server.shards)
        if keys:
            out.append((index, keys, keys * KEY_OVERHEAD))
    return out


@command("memory|stats")
def memory_stats(client, argv):
    server = client.server
    m = memory_figures(server)
    used, peak, startup, rss = m["used"], m["peak"], m["startup"], m["rss"]
    dbs = _db_overheads(server)
    keys = sum(k for _, k, _ in dbs)
    overhead = startup + sum(o for _, _, o in dbs)
    net = used - startup if used > startup else 1
    dataset = used - overhead if used > overhead else 0
    reply = Map([
        (b"peak.allocated", peak),
        (b"total.allocated", used),
        (b"startup.allocated", startup),
        # INFO memory reports these as 0 too: RedisLite does not account them separately
        (b"replication.backlog", 0),
        (b"clients.slaves", 0),
        (b"clients.normal", 0),
        (b"cluster.links", 0),
        (b"aof.buffer", 0),
        (b"lua.caches", 0),
        (b"functions.caches", 0),
    ])
    for index, _, main in dbs:
        # expiry entries are not part of the used_memory estimate; slot-to-keys is cluster mode's
        reply.append((b"db.%d" % index, Map([(b"overhead.hashtable.main", main),
                                             (b"overhead.hashtable.expires", 0),
                                             (b"overhead.hashtable.slot-to-keys", 0)])))
    reply.extend([
        (b"overhead.total", overhead),
        (b"keys.count", keys),
        (b"keys.bytes-per-key", (net // keys) if keys else 0),
        (b"dataset.bytes", dataset),
        (b"dataset.percentage", _f32(dataset * 100 / net)),
        (b"peak.percentage", _f32(used * 100 / peak if peak else 100.0)),
        (b"allocator.allocated", used),
        (b"allocator.active", used),
        (b"allocator.resident", rss),
        (b"allocator-fragmentation.ratio", _f32(1.0)),
        (b"allocator-fragmentation.bytes", 0),
        (b"allocator-rss.ratio", _f32(m["frag"])),
        (b"allocator-rss.bytes", rss - used),
        (b"rss-overhead.ratio", _f32(1.0)),
        (b"rss-overhead.bytes", 0),
        (b"fragmentation", _f32(m["frag"])),
        (b"fragmentation.bytes", rss - used),
    ])
    return reply


# -- DOCTOR -----------------------------------------------------------------------------
_EMPTY = ("Hi Sam, this instance is empty or is using very little memory, my issues detector "
          "can't be used in these conditions. Please, leave for your mission on Earth and fill it "
          "with some data. The new Sam and I will be back to our programming as soon as I finished "
          "rebooting.\n")
_FINE = ("Hi Sam, I can't find any memory issue in your instance. I can only account for what "
         "occurs on this base.\n")
_HEADER = "Sam, I detected a few issues in this Redis instance memory implants:\n\n"
_FOOTER = "I'm here to keep you safe, Sam. I want to help you.\n"
_PEAK = (" * Peak memory: In the past this instance used more than 150% the memory that is "
         "currently using. The allocator is normally not able to release memory after a peak, so "
         "you can expect to see a big fragmentation ratio, however this is actually harmless and is "
         "only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is "
         "currently bigger than expected, the memory will be used as soon as you fill the Redis "
         "instance with more data. If the memory peak was only occasional and you want to try to "
         "reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is "
         "to shutdown and restart the instance.\n\n")
_HIGH_RSS = (" * High total RSS: This instance has a memory fragmentation and RSS overhead greater "
             "than 1.4 (this means that the Resident Set Size of the Redis process is much larger "
             "than the sum of the logical allocations Redis performed). This problem is usually due "
             "either to a large peak memory (check if there is a peak memory entry above in the "
             "report) or may result from a workload that causes the allocator to fragment memory a "
             "lot. If the problem is a large peak memory, then there is no issue. Otherwise, make "
             "sure you are using the Jemalloc allocator and not the default libc malloc. Note: The "
             "currently used allocator is \"%s\".\n\n")
_SCRIPTS = (" * Many scripts: There seem to be many cached scripts in this instance (more than "
            "1000). This may be because scripts are generated and `EVAL`ed, instead of being "
            "parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT "
            "FLUSH` is called periodically, the scripts' caches may end up consuming most of your "
            "memory.\n\n")
#: INFO's mem_allocator
_ALLOCATOR = "python"


def doctor_report(figures):
    """getMemoryDoctorReport over the figures RedisLite has.  The allocator-level
    checks (allocator fragmentation and RSS, process RSS) and the client-buffer
    checks have no separate figures here and never fire."""
    used = figures["used"]
    if used < 5 * 1024 * 1024:
        return _EMPTY
    items = []
    if figures["peak"] / used > 1.5:
        items.append(_PEAK)
    if figures["frag"] > 1.4 and figures["rss"] - used > 10 << 20:
        items.append(_HIGH_RSS % _ALLOCATOR)
    if figures["scripts"] > 1000:
        items.append(_SCRIPTS)
    if not items:
        return _FINE
    return _HEADER + "".join(items) + _FOOTER


@command("memory|doctor")
def memory_doctor(client, argv):
    return Verbatim(doctor_report(memory_figures(client.server)))


# -- MALLOC-STATS, PURGE -----------------------------------------------------------------
@command("memory|malloc-stats")
def memory_malloc_stats(client, argv):
    return _NO_MALLOC_STATS


@command("memory|purge")
def memory_purge(client, argv):
    """Give freed heap back to the OS now: the memory trimmer's malloc_trim, in its
    worker thread (it walks the heap), as ``jemalloc-bg-thread`` would do later."""
    client.server.trimmer.purge()
    return OK
