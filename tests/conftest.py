"""Suite-wide fixtures: the oracle (real redis-server), RedisLite, and a differential Pair.

Both servers are real processes started once per session; each test gets fresh
connections and empty databases through the ``pair`` fixture.

Environment:
  REDISLITE_REQUIRE_REDIS=1   a missing redis-server fails the run instead of skipping.
  HYPOTHESIS_PROFILE / CI     see tests/compat/differential.py:register_hypothesis_profiles.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from redislite.testing import ServerProcess, ServerStartError, find_redis_server
from tests.compat.differential import ORACLE_ARGS, Pair, register_hypothesis_profiles, require_redis_server

HYPOTHESIS_PROFILE = register_hypothesis_profiles()

_COMPAT_DIR = Path(__file__).parent / "compat"


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"redis-server: {find_redis_server() or 'NOT FOUND'}; hypothesis profile: {HYPOTHESIS_PROFILE}"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/compat, or using the oracle, is marked ``compat``."""
    for item in items:
        uses_oracle = {"redis_server", "pair"} & set(getattr(item, "fixturenames", ()))
        if uses_oracle or _COMPAT_DIR in Path(item.path).parents:
            item.add_marker(pytest.mark.compat)


def _check_alive(server: ServerProcess, what: str) -> None:
    if not server.running:
        code, tail = server.returncode, server.log_tail(30)
        server.restart().wait_until_loaded()  # keep the rest of the session usable
        pytest.fail(f"{what} server died during this test (exit code {code}); log tail:\n{tail}", pytrace=False)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[ServerProcess]:
    """The oracle: a real redis-server 7.0 with no persistence."""
    require_redis_server()
    server = ServerProcess("redis", args=ORACLE_ARGS)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.cleanup()


@pytest.fixture(scope="session")
def redislite_server() -> Iterator[ServerProcess]:
    """RedisLite as a real process (``python -m redislite``); never substituted by Redis."""
    server = ServerProcess("redislite")
    try:
        server.start()
    except ServerStartError as exc:
        pytest.fail(f"RedisLite did not start:\n{exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
        server.cleanup()


@pytest.fixture
def pair(redis_server: ServerProcess, redislite_server: ServerProcess) -> Iterator[Pair]:
    """Fresh connections to both servers, both FLUSHALL-ed, compared byte for byte.

    A server that crashes is restarted for the next test, and the test that
    was running when it died fails with the server's log tail.
    """
    for server in (redis_server, redislite_server):
        if not server.running:
            server.restart().wait_until_loaded()
    p = Pair.connect(redis_server, redislite_server)
    p.reset()
    try:
        yield p
    finally:
        p.close()
        _check_alive(redislite_server, "subject (redislite)")
        _check_alive(redis_server, "oracle (redis)")


@pytest.fixture(scope="session")
def aof_redis() -> Iterator[ServerProcess]:
    """A real redis-server writing an AOF with fsync always, for comparing write
    events (see tests.compat.differential.aof_events)."""
    require_redis_server()
    server = ServerProcess("redis", args=("--appendonly", "yes", "--appendfsync", "always"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.cleanup()
