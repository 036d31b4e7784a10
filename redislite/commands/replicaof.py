"""REPLICAOF / SLAVEOF: become a replica of host:port, or a master again (NO ONE).

Replies and checks follow Redis 7.0's replicaofCommand; the work is done by
redislite/replication/replica.py (set_master / unset_master).
"""

from twisted.logger import Logger

from .. import errors
from ..errors import ReplyError
from ..resp.encoder import OK, Status
from .args import to_int
from .registry import command

log = Logger(namespace="redislite.replication")

_ALREADY = Status("OK Already connected to specified master")


@command("replicaof")
@command("slaveof")
def replicaof(client, argv):
    from ..replication import replica
    server = client.server
    host, port = argv[1], argv[2]
    if host.lower() == b"no" and port.lower() == b"one":
        if server.repl.link is not None:
            replica.unset_master(server)
            log.info("MASTER MODE enabled (user request from '{addr}')", addr=client.addr)
        return OK
    if client.kind in ("replica", "slave"):
        # It would flush all replicas, this client included.
        raise ReplyError(errors.REPLICAOF_BY_REPLICA)
    p = to_int(port)
    if p is None or p < 0 or p > 65535:
        raise ReplyError(errors.MASTER_PORT_INVALID)
    host = host.decode("utf-8", "surrogateescape")
    link = server.repl.link
    if link is not None and link.host.lower() == host.lower() and link.port == p:
        return _ALREADY
    replica.set_master(server, host, p)
    log.info("REPLICAOF {host}:{port} enabled (user request from '{addr}')",
             host=host, port=p, addr=client.addr)
    return OK
