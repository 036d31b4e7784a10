"""Every Redis error reply text, in one place.

Shard operations raise or return :class:`ReplyError`; only the protocol layer
turns it into ``-<message>\\r\\n``.  Texts are Redis 7.0's, byte for byte.
"""


class ReplyError(Exception):
    """An error reply.  ``message`` is the text after the leading ``-``."""

    __slots__ = ("message",)

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    @property
    def code(self):
        """The first word (``ERR``, ``WRONGTYPE``...), as INFO errorstats counts it."""
        return self.message.split(" ", 1)[0]

    def __eq__(self, other):
        return isinstance(other, ReplyError) and other.message == self.message

    def __hash__(self):
        return hash(self.message)

    def __repr__(self):
        return "ReplyError(%r)" % (self.message,)


# --- generic ---------------------------------------------------------------
SYNTAX = "ERR syntax error"
DUMP_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
BAD_DATA_FORMAT = "ERR Bad data format"
BUSYKEY = "BUSYKEY Target key name already exists."
RESTORE_BAD_TTL = "ERR Invalid TTL value, must be >= 0"
RESTORE_BAD_IDLETIME = "ERR Invalid IDLETIME value, must be >= 0"
RESTORE_BAD_FREQ = "ERR Invalid FREQ value, must be >= 0 and <= 255"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NO_SUCH_KEY = "ERR no such key"
OVERFLOW = "ERR increment or decrement would overflow"
DECR_OVERFLOW = "ERR decrement would overflow"
OFFSET_OUT_OF_RANGE = "ERR offset is out of range"
INCR_NAN_INF = "ERR increment would produce NaN or Infinity"
OUT_OF_RANGE_POSITIVE = "ERR value is out of range, must be positive"
INDEX_OUT_OF_RANGE = "ERR index out of range"
DB_INDEX_OUT_OF_RANGE = "ERR DB index is out of range"
INVALID_DB_INDEX = "ERR invalid DB index"
SAME_OBJECT = "ERR source and destination objects are the same"
STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
BIT_OFFSET = "ERR bit offset is not an integer or out of range"
BIT_VALUE = "ERR bit is not an integer or out of range"
NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
AUTH_NOT_CONFIGURED = ("ERR AUTH <password> called without any password configured for the "
                       "default user. Are you sure your configuration is correct?")
OOM = "OOM command not allowed when used memory > 'maxmemory'."
INVALID_EXPIRE = "ERR invalid expire time in '%s' command"
NX_XX_GT_LT = "ERR NX and XX, GT or LT options at the same time are not compatible"
GT_LT_NX = "ERR GT and LT options at the same time are not compatible"
UNKNOWN_COMMAND = "ERR unknown command '%s', with args beginning with: %s"
WRONG_ARITY = "ERR wrong number of arguments for '%s' command"
UNKNOWN_SUBCOMMAND = "ERR unknown subcommand '%s'. Try %s HELP."
UNKNOWN_SUBCOMMAND_OR_ARITY = "ERR unknown subcommand or wrong number of arguments for '%s'. Try %s HELP."
PROTO_VERSION = "NOPROTO unsupported protocol version"
CLIENT_NAME_SPACES = "ERR Client names cannot contain spaces, newlines or special characters."
NO_SUCH_CLIENT = "ERR No such client"
MULTI_NESTED = "ERR MULTI calls can not be nested"
EXEC_WITHOUT_MULTI = "ERR EXEC without MULTI"
DISCARD_WITHOUT_MULTI = "ERR DISCARD without MULTI"
LOADING = "LOADING Redis is loading the dataset in memory"
READONLY = "READONLY You can't write against a read only replica."
REPLICA_KEYSPACE = "ERR Replica can't interact with the keyspace"
MASTERDOWN = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
TIMEOUT_NEGATIVE = "ERR timeout is negative"
PAUSE_MODE = "ERR CLIENT PAUSE mode must be WRITE or ALL"
# --- replication, replica side (commands/replicaof.py) ---------------------------
MASTER_PORT_INVALID = "ERR Invalid master port"
REPLICAOF_BY_REPLICA = "ERR Command is not valid when client is a replica."
UNBLOCKED_ROLE_CHANGE = ("UNBLOCKED force unblock from blocking operation, instance state changed "
                         "(master -> replica?)")
# --- replication, master side (replication/master.py, commands/replication.py) ------
NOREPLICAS = "NOREPLICAS Not enough good replicas to write."
NOT_IN_TRANSACTION = "ERR Command not allowed inside a transaction"
SYNC_PENDING_OUTPUT = "ERR SYNC and PSYNC are invalid with pending output"
SYNC_NO_MASTER_LINK = "NOMASTERLINK Can't SYNC while not connected with my master"
SYNC_FILTER_NEEDS_EOF = "ERR Filtered replica requires EOF capability"
SYNC_BGSAVE_FAILED = "ERR BGSAVE failed, replication can't continue"
SYNC_NEEDS_CONNECTION = "ERR PSYNC and SYNC need a RESP connection"     # RedisLite (HTTP API)
PSYNC_FAILOVER_TO_MASTER = "ERR PSYNC FAILOVER can't be sent to a master."
PSYNC_FAILOVER_REPLID = "ERR PSYNC FAILOVER replid must match my replid."
REPLCONF_UNKNOWN = "ERR Unrecognized REPLCONF option: %s"
REPLCONF_IP_TOO_LONG = "ERR REPLCONF ip-address provided by replica instance is too long: %d bytes"
REPLCONF_RDB_ONLY_RANGE = "ERR value is out of range, value must between 0 and 1"
REPLCONF_FILTER_MISSING = "ERR Missing rdb-filter-only values"
REPLCONF_FILTER_UNSUPPORTED = "ERR Unsupported rdb-filter-only option: %s"
WAIT_TIMEOUT_NOT_INT = "ERR timeout is not an integer or out of range"
WAIT_ON_REPLICA = ("ERR WAIT cannot be used with replica instances. Please also note that since "
                   "Redis 4.0 if a replica is configured to be writable (which is not the default) "
                   "writes to replicas are just local and are not propagated.")
# --- lists (commands/lists.py) ---------------------------------------------------
LPOS_RANK_ZERO = ("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
                  "or use negative to start from the end of the list")
LPOS_COUNT_NEGATIVE = "ERR COUNT can't be negative"
LPOS_MAXLEN_NEGATIVE = "ERR MAXLEN can't be negative"
LIST_NUMKEYS = "ERR numkeys should be greater than 0"
LIST_COUNT_POSITIVE = "ERR count should be greater than 0"
# --- hashes / sets (commands/hashes.py, commands/sets.py) --------------------------
HASH_NOT_INTEGER = "ERR hash value is not an integer"
HASH_NOT_FLOAT = "ERR hash value is not a float"
VALUE_NAN_OR_INF = "ERR value is NaN or Infinity"
VALUE_OUT_OF_RANGE = "ERR value is out of range"
LONG_RANGE = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
NUMKEYS_GT_ARGS = "ERR Number of keys can't be greater than number of args"
LIMIT_NEGATIVE = "ERR LIMIT can't be negative"
# --- connection / server commands (connection.py, server.py) -------------------
HELLO_PROTO_NOT_INT = "ERR Protocol version is not an integer or out of range"
HELLO_SYNTAX = "ERR Syntax error in HELLO option '%s'"
HELLO_NOAUTH = ("NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
                "the RESP protocol version at the same time")
INT32_RANGE = "ERR value is out of range, value must between -2147483648 and 2147483647"
UNKNOWN_CLIENT_TYPE = "ERR Unknown client type '%s'"
INVALID_CLIENT_ID = "ERR Invalid client ID"
CLIENT_ID_POSITIVE = "ERR client-id should be greater than 0"
NO_SUCH_USER = "ERR No such user '%s'"
RESET_NOT_NORMAL = "ERR can only reset normal client connections"
CONFIG_NO_FILE = "ERR The server is running without a config file"
GETKEYS_INVALID_COMMAND = "ERR Invalid command specified"
GETKEYS_NO_KEYS = "ERR The command has no key arguments"
GETKEYS_BAD_ARITY = "ERR Invalid number of arguments specified for command"
GETKEYS_BAD_ARGS = "ERR Invalid arguments specified for command"
# --- bitmaps / LCS / HyperLogLog (bitmaps.py, hyperloglog.py) ------------------
BIT_ARG = "ERR The bit argument must be 1 or 0."
BITOP_NOT_ONE_KEY = "ERR BITOP NOT must be called with a single source key."
BITFIELD_TYPE = ("ERR Invalid bitfield type. Use something like i16 u8. "
                 "Note that u64 is not supported but i64 is.")
BITFIELD_OVERFLOW = "ERR Invalid OVERFLOW type specified"
BITFIELD_RO_GET_ONLY = "ERR BITFIELD_RO only supports the GET subcommand"
LCS_NOT_STRINGS = "ERR The specified keys must contain string values"
LCS_LEN_AND_IDX = "ERR If you want both the length and indexes, please just use IDX."
LCS_TOO_BIG = "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
HLL_INVALID = "INVALIDOBJ Corrupted HLL object detected"
HLL_WRONGTYPE = "WRONGTYPE Key is not a valid HyperLogLog string value."
PFDEBUG_NO_KEY = "ERR The specified key does not exist"
PFDEBUG_NOT_SPARSE = "ERR HLL encoding is not sparse"
PFDEBUG_UNKNOWN = "ERR Unknown PFDEBUG subcommand '%s'"


def err(message, *args):
    """Build a :class:`ReplyError`, formatting ``message % args`` when args are given."""
    return ReplyError(message % args if args else message)


def _raw(b):
    """Client bytes shown in an error as Redis shows them: raw (the encoder's
    surrogateescape gives back bytes that are not UTF-8), ``%s`` stopping at a NUL."""
    return b.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def unknown_subcommand(sub, container):
    """``sub`` is the client's bytes; Redis shows at most 128 of them (``%.128s``)."""
    return ReplyError(UNKNOWN_SUBCOMMAND % (_raw(sub[:128]), container.upper()))


def wrong_arity(name):
    return ReplyError(WRONG_ARITY % name)


def unknown_command(name, args):
    """Redis lists the arguments (bytes) as ``'arg' `` (trailing space) with
    ``'%.*s' `` until 128 bytes are shown in all, and the name with ``%.128s``;
    ``%s`` stops at a NUL."""
    shown = b""
    for a in args:
        if len(shown) >= 128:
            break
        shown += b"'%s' " % a.split(b"\0", 1)[0][:128 - len(shown)]
    return ReplyError(UNKNOWN_COMMAND % (_raw(name[:128]), _raw(shown)))
