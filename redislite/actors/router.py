"""Key -> hash slot -> shard, as Redis Cluster maps keys (CRC16, {hash tags})."""

from binascii import crc_hqx

from ..errors import ReplyError

SLOTS = 16384
#: '{' and '}' as ints: an int needle is a memchr, several times cheaper than a bytes one
_LBRACE, _RBRACE = 0x7B, 0x7D


def key_slot(key):
    """Redis Cluster's HASH_SLOT: CRC16-XMODEM of the key or its {tag}, mod 16384."""
    s = key.find(_LBRACE)
    if s >= 0:
        e = key.find(_RBRACE, s + 1)
        if e > s + 1:
            key = key[s + 1:e]
    return crc_hqx(key, 0) & 16383


class Router:
    __slots__ = ("shards", "count", "by_crc")

    def __init__(self, shards):
        self.shards = shards
        self.count = len(shards)
        #: the owning shard of every CRC16 value (slot = crc & 16383, shard = slot % count):
        #: a key without a {hash tag} is routed with one crc_hqx and one list index,
        #: where ``& 16383`` and ``% count`` would be two generic int operations
        #: (CPython 3.11 does not specialize them) on every keyed command.
        self.by_crc = [shards[(crc & 16383) % self.count] for crc in range(65536)]

    def shard_for(self, key):
        if _LBRACE in key:
            return self.shards[key_slot(key) % self.count]
        return self.by_crc[crc_hqx(key, 0)]

    def call(self, db, key, op, args):
        """``shard_for(key).execute(op, db, args)`` in one call: the single-key
        command path of every family, so routing and the actor call are inlined
        (a Python call costs about as much as the op itself).  Errors come back
        as values, as from Shard.execute."""
        if _LBRACE in key:
            shard = self.shards[key_slot(key) % self.count]
        else:
            shard = self.by_crc[crc_hqx(key, 0)]
        try:
            return op(shard.dbs[db], args)
        except ReplyError as e:
            return e

    def group(self, keys):
        """Split keys by owning shard, keeping each key's position: {shard: [(pos, key)]}."""
        out = {}
        for pos, key in enumerate(keys):
            out.setdefault(self.shard_for(key), []).append((pos, key))
        return out
