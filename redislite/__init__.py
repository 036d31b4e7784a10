"""RedisLite: a Redis 7.0-compatible in-memory server on Twisted."""

__version__ = "0.1.0"
#: The Redis release whose behaviour RedisLite implements (INFO redis_version).
REDIS_VERSION = "7.0.15"
