"""maxmemory policies: Redis's sampled approximations of LRU, LFU, TTL, random.

As in Redis (evict.c), each round samples ``maxmemory-samples`` keys per
database into a small pool of the best candidates and evicts the best one, so
eviction costs O(samples) per key regardless of the key count.  LFU uses
Redis's logarithmic 8-bit counter with a per-minute decay, packed with its
16-bit minute stamp into one int (``ldt << 8 | counter``).
"""

import random

LFU_INIT_VAL = 5
POLICIES = ("noeviction", "allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-lfu",
            "allkeys-random", "volatile-random", "volatile-ttl")
POOL_SIZE = 16


def _minutes(now_ms):
    return (now_ms // 60000) & 0xFFFF


def lfu_decay(packed, now_ms, decay_time):
    """The counter after decay for the minutes elapsed since its last access."""
    if packed is None:
        return LFU_INIT_VAL
    ldt = packed >> 8
    counter = packed & 0xFF
    now = _minutes(now_ms)
    elapsed = now - ldt if now >= ldt else 65535 - ldt + now
    periods = elapsed // decay_time if decay_time else 0
    return counter - periods if periods < counter else 0


def lfu_touch(packed, now_ms, log_factor, decay_time):
    """Decay, then increment logarithmically (LFULogIncr), and repack."""
    counter = lfu_decay(packed, now_ms, decay_time) if packed is not None else LFU_INIT_VAL
    if packed is not None and counter < 255:
        base = counter - LFU_INIT_VAL
        if base < 0:
            base = 0
        if random.random() < 1.0 / (base * log_factor + 1):
            counter += 1
    return (_minutes(now_ms) << 8) | counter


def _score(policy, ks, key, now):
    """Higher is a better eviction candidate."""
    if policy.endswith("lru"):
        stamp = ks.access.get(key, 0)
        return now.lru - stamp if isinstance(stamp, int) else 0
    if policy.endswith("lfu"):
        return 255 - lfu_decay(ks.access.get(key), now.ms, ks.shard.lfu_decay_time)
    if policy == "volatile-ttl":
        when = ks.expires.get(key)
        return -when if when is not None else None
    return 0


def evict_one(shards, policy, samples, now):
    """Evict one key under *policy*.  Returns the bytes freed estimate, or 0 if none."""
    volatile = policy.startswith("volatile")
    pool = []
    for shard in shards:
        for ks in shard.dbs:
            if not (ks.expires if volatile else ks.count):
                continue
            if policy.endswith("random"):
                keys = ks.sample_volatile(1) if volatile else ks.sample(1)
                if keys:
                    pool.append((random.random(), ks, keys[0]))
                continue
            keys = ks.sample_volatile(samples) if volatile else ks.sample(samples)
            for key in keys:
                s = _score(policy, ks, key, now)
                if s is not None:
                    pool.append((s, ks, key))
    if not pool:
        return 0
    pool.sort(key=lambda e: e[0], reverse=True)
    for _, ks, key in pool[:POOL_SIZE]:
        before = ks.mem
        if ks.delete(key):
            ks.shard.stats_evicted += 1
            ks.shard.emit(ks.index, (b"DEL", key))
            ks.notify("e", "evicted", key)
            return max(before - ks.mem, 1)
    return 0


def perform_evictions(server):
    """Free memory until under maxmemory.  Returns False if it could not (OOM).

    A replica with replica-ignore-maxmemory (the default) never evicts and never
    answers OOM: its master's DELs keep it in step (Redis's performEvictions)."""
    if server.replica_of is not None and server.config["replica-ignore-maxmemory"]:
        return True
    limit = server.maxmemory
    policy = server.maxmemory_policy
    used = server.used_memory()
    if used <= limit:
        return True
    if policy == "noeviction":
        return False
    shards = server.shards
    while used > limit:
        freed = evict_one(shards, policy, server.maxmemory_samples, server.now)
        if not freed:
            return False
        used -= freed
    return True
