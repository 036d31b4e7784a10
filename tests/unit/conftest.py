"""Fixtures shared by unit tests: a server on task.Clock, a client, its write events.

Modules may still define their own ``srv``/``c``/``events``; a module's fixture
overrides these."""
import pytest
from twisted.internet import task

from redislite.commands import load_all
from redislite.config import Config
from redislite.protocol import Client
from redislite.server import Server

load_all()


@pytest.fixture
def srv():
    clock = task.Clock()
    clock.advance(1_700_000_000)
    server = Server(Config.defaults(), clock)
    server.clock = clock
    return server


@pytest.fixture
def c(srv):
    return Client(srv)


@pytest.fixture
def events(srv):
    """argv of every write event the server publishes, in order."""
    out = []
    srv.bus.subscribe(lambda db, argv: out.append(argv))
    return out
