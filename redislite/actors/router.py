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
    __slots__ = ("shards", "count")

    def __init__(self, shards):
        self.shards = shards
        self.count = len(shards)

    def shard_for(self, key):
        if self.count == 1:
            return self.shards[0]
        return self.shards[key_slot(key) % self.count]

    def call(self, db, key, op, args):
        """``shard_for(key).execute(op, db, args)`` in one call: the single-key
        command path of every family, so routing and the actor call are inlined
        (a Python call costs about as much as the op itself).  Errors come back
        as values, as from Shard.execute."""
        if self.count == 1:
            shard = self.shards[0]
        elif _LBRACE in key:
            shard = self.shards[key_slot(key) % self.count]
        else:
            shard = self.shards[(crc_hqx(key, 0) & 16383) % self.count]
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
