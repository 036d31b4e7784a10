"""SAVE, BGSAVE [SCHEDULE], LASTSAVE, BGREWRITEAOF, SHUTDOWN: thin shells over the actor.

Replies and errors are Redis 7.0.15's (checked against redis-server in
tests/compat/test_persistence_interop.py).  Without a wired persistence actor
(bare unit-test servers) one is created on first use, on the server's dir.
"""

from .. import errors
from ..errors import ReplyError
from ..resp.encoder import OK, Status
from .registry import command

_STARTED = Status("Background saving started")
_SCHEDULED = Status("Background saving scheduled")
_AOF_STARTED = Status("Background append only file rewriting started")
_AOF_SCHEDULED = Status("Background append only file rewriting scheduled")
_AOF_RUNNING = "ERR Background append only file rewriting already in progress"
_AOF_FAILED = ("ERR Can't execute an AOF background rewriting. Please check the server logs for "
               "more information.")
_BGSAVE_RUNNING = "ERR Background save already in progress"
_NO_SHUTDOWN = "ERR No shutdown in progress."


def actor(server):
    p = server.persistence
    if p is None:
        from ..persistence import Persistence
        p = server.persistence = Persistence(server)
    return p


@command("save")
def save(client, argv):
    p = actor(client.server)
    if p.bgsave_pid is not None:
        raise ReplyError(_BGSAVE_RUNNING)
    if not p.save():
        raise ReplyError("ERR")
    return OK


@command("bgsave")
def bgsave(client, argv):
    schedule = False
    if len(argv) > 1:
        if len(argv) == 2 and argv[1].lower() == b"schedule":
            schedule = True
        else:
            raise ReplyError(errors.SYNTAX)
    p = actor(client.server)
    if p.bgsave_pid is None and p.rewrite_pid is None and client.multi is None \
            and getattr(client, "in_exec", False):
        schedule = True
    result = p.bgsave(schedule)
    if result == "started":
        return _STARTED
    if result == "scheduled":
        return _SCHEDULED
    raise ReplyError(result)


@command("lastsave")
def lastsave(client, argv):
    return actor(client.server).lastsave


@command("bgrewriteaof")
def bgrewriteaof(client, argv):
    p = actor(client.server)
    if p.rewrite_pid is not None:
        raise ReplyError(_AOF_RUNNING)
    if p.bgsave_pid is not None:
        p.rewrite_scheduled = True
        return _AOF_SCHEDULED
    if not p.start_rewrite():
        raise ReplyError(_AOF_FAILED)
    return _AOF_STARTED


@command("shutdown")
def shutdown(client, argv):
    from ..config import SHUTDOWN_FORCE, SHUTDOWN_NOSAVE, SHUTDOWN_NOW, SHUTDOWN_SAVE
    flags = 0
    abort = False
    for a in argv[1:]:
        w = a.lower()
        if w == b"nosave":
            flags |= SHUTDOWN_NOSAVE
        elif w == b"save":
            flags |= SHUTDOWN_SAVE
        elif w == b"now":
            flags |= SHUTDOWN_NOW
        elif w == b"force":
            flags |= SHUTDOWN_FORCE
        elif w == b"abort":
            abort = True
        else:
            raise ReplyError(errors.SYNTAX)
    if (abort and flags) or (flags & SHUTDOWN_NOSAVE and flags & SHUTDOWN_SAVE):
        raise ReplyError(errors.SYNTAX)
    if abort:
        # There is never a shutdown waiting for replicas to catch up here.
        raise ReplyError(_NO_SHUTDOWN)
    server = client.server
    err = actor(server).prepare_shutdown(flags)
    if err is not None:
        raise ReplyError("ERR " + err)
    if getattr(server.reactor, "running", False):
        # As Redis: exit(0) right here, so the client sees the connection close
        # with no reply.  The data is safe: prepare_shutdown flushed + fsynced the
        # AOF and saved the RDB as asked.
        import os
        import sys
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    for c in list(server.clients.values()):     # unit tests (task.Clock): just disconnect
        c.close()
    client.closing = True
    return None
