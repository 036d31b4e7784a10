"""Replication commands, master side: PSYNC, SYNC, REPLCONF, WAIT, ROLE.

The work is in :mod:`redislite.replication.master`; these handlers parse the
arguments with Redis 7.0.15's checks and error texts (replication.c).
"""

from .. import errors
from ..config import sdssplitargs
from ..errors import ReplyError
from ..replication.master import NOREPLY, REQ_EXCLUDE_DATA, REQ_EXCLUDE_FUNCTIONS, master_of, \
    replconf_of
from ..resp.encoder import OK
from .args import INT64_MAX, to_int
from .registry import command

_NOT_INT = ReplyError(errors.NOT_INTEGER)
_SYNTAX = ReplyError(errors.SYNTAX)


@command("psync")
def psync(client, argv):
    return master_of(client.server).sync_command(client, argv)


@command("sync")
def sync(client, argv):
    return master_of(client.server).sync_command(client, argv)


@command("replconf")
def replconf(client, argv):
    """Redis's replconfCommand: option/value pairs, applied in order."""
    n = len(argv)
    if n % 2 == 0:
        raise _SYNTAX
    server = client.server
    conf = replconf_of(client)
    for j in range(1, n, 2):
        opt = argv[j].lower()
        val = argv[j + 1]
        if opt == b"listening-port":
            port = to_int(val)
            if port is None:
                raise _NOT_INT
            conf.port = ((port + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)    # stored in a C int
        elif opt == b"ip-address":
            if len(val) >= 256:
                raise ReplyError(errors.REPLCONF_IP_TOO_LONG % len(val))
            conf.ip = val.decode("utf-8", "surrogateescape")
        elif opt == b"capa":
            cap = val.lower()
            if cap == b"eof":
                conf.capa_eof = True
            elif cap == b"psync2":
                conf.capa_psync2 = True
        elif opt == b"ack":
            # Only a replica's ACK counts; nothing is ever replied.
            r = getattr(client, "replica", None)
            if r is None or client.kind != "replica":
                return NOREPLY
            offset = to_int(val)
            if offset is None:
                return NOREPLY
            master_of(server).ack(r, offset)
            return NOREPLY
        elif opt == b"getack":
            link = server.repl.link
            if server.repl.role == "slave" and link is not None:
                send = getattr(link, "send_ack", None)
                if send is not None:
                    send()
            return NOREPLY
        elif opt == b"rdb-only":
            v = to_int(val)
            if v is None:
                raise _NOT_INT
            if v < 0 or v > 1:
                raise ReplyError(errors.REPLCONF_RDB_ONLY_RANGE)
            conf.rdb_only = v == 1
        elif opt == b"rdb-filter-only":
            filters = sdssplitargs(val.decode("utf-8", "surrogateescape"))
            if filters is None:
                raise ReplyError(errors.REPLCONF_FILTER_MISSING)
            conf.req |= REQ_EXCLUDE_DATA | REQ_EXCLUDE_FUNCTIONS
            for f in filters:
                if f.lower() == "functions":
                    conf.req &= ~REQ_EXCLUDE_FUNCTIONS
                else:
                    raise ReplyError(errors.REPLCONF_FILTER_UNSUPPORTED % f)
        else:
            raise ReplyError(errors.REPLCONF_UNKNOWN % argv[j].decode("utf-8", "surrogateescape"))
    return OK


@command("wait")
def wait(client, argv):
    """WAIT numreplicas timeout: block until that many replicas acked this client's writes."""
    server = client.server
    if server.repl.role == "slave":
        raise ReplyError(errors.WAIT_ON_REPLICA)
    numreplicas = to_int(argv[1])
    if numreplicas is None:
        raise _NOT_INT
    timeout = to_int(argv[2])
    if timeout is None:
        raise ReplyError(errors.WAIT_TIMEOUT_NOT_INT)
    if timeout < 0:
        raise ReplyError(errors.TIMEOUT_NEGATIVE)
    if timeout > 0 and timeout > INT64_MAX - int(server.reactor.seconds() * 1000):
        timeout = 0     # Redis 7.0 adds mstime() and wraps: such a WAIT never times out
    return master_of(server).wait(client, numreplicas, timeout)


@command("role")
def role(client, argv):
    return master_of(client.server).role_reply()
