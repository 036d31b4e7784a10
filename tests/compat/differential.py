"""Differential testing: send the same commands to real Redis and to RedisLite.

Redis is the oracle, so the check is on raw reply bytes, not decoded values:
an integer where Redis sends a bulk string, or a different error text, fails.

Import it as ``from tests.compat.differential import Pair`` (pytest.ini puts
the repository root on ``sys.path``).

Writing a family test module::

    from hypothesis import strategies as st
    from hypothesis.stateful import rule
    from tests.compat.differential import DifferentialMachine, keys, values

    class StringMachine(DifferentialMachine):
        @rule(k=keys, v=values)
        def set(self, k, v):
            self.pair.same("SET", k, v)

        @rule(k=keys)
        def get(self, k):
            self.pair.same("GET", k)

    def test_strings_fuzz(pair):
        StringMachine.run(pair)

or, without writing rules by hand::

    Machine = DifferentialMachine.with_commands(command("GET", keys), command("SET", keys, values))
"""
from __future__ import annotations

import os
from typing import Iterable, Sequence

import hiredis
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, run_state_machine_as_test
from hypothesis.strategies import SearchStrategy

from redislite.testing import RawClient, ServerProcess, find_redis_server, split_aggregate

__all__ = [
    "Pair",
    "ReplyMismatch",
    "normalise_hello",
    "decode",
    "DifferentialMachine",
    "command",
    "command_sequences",
    "keys",
    "values",
    "small_ints",
    "fields",
    "KEY_NAMES",
    "register_hypothesis_profiles",
    "require_redis_server",
    "ORACLE_ARGS",
]

#: Oracle options beyond ServerProcess's defaults. DEBUG is enabled so tests can
#: use DEBUG PROTOCOL / DEBUG SLEEP / DEBUG SET-ACTIVE-EXPIRE against the oracle.
ORACLE_ARGS: tuple[str, ...] = ("--enable-debug-command", "yes")


def require_redis_server() -> str:
    """Path of redis-server; skip without it (or fail when REDISLITE_REQUIRE_REDIS=1)."""
    path = find_redis_server()
    if path is None:
        message = "redis-server (the compatibility oracle) is not installed / not on PATH"
        if os.environ.get("REDISLITE_REQUIRE_REDIS") == "1":
            pytest.fail(message + " and REDISLITE_REQUIRE_REDIS=1", pytrace=False)
        pytest.skip(message)
    return path


_SHOW = 600  # chars of each reply shown in a failure message


def _show(data: bytes) -> str:
    text = repr(data)
    return text if len(text) <= _SHOW else text[:_SHOW] + f"... ({len(data)} bytes)"


def _cmd_text(args: Sequence[object]) -> str:
    return " ".join(_show(a if isinstance(a, bytes) else str(a).encode()) for a in args)


def decode(raw: bytes, **reader_kw: object) -> object:
    """Decode one raw reply with hiredis (errors come back as values, not raised)."""
    reader = hiredis.Reader(**reader_kw)
    reader.feed(raw)
    value = reader.gets()
    if value is False:
        raise ValueError(f"incomplete reply: {raw[:80]!r}")
    return value


class ReplyMismatch(AssertionError):
    """Oracle and subject answered differently (an AssertionError, so pytest shows it as a failure)."""


#: HELLO fields whose values are allowed to differ between Redis and RedisLite:
#: ``server`` (the product name), ``version`` (ours may carry a suffix), ``id``
#: (client ids depend on connection history) and ``mode`` (standalone/cluster
#: wording). Every other field (proto, role, modules) and the field order must match.
HELLO_VOLATILE_FIELDS = frozenset({b"server", b"version", b"id", b"mode"})


def normalise_hello(raw: bytes) -> bytes:
    """Replace the values of HELLO_VOLATILE_FIELDS in a HELLO reply with ``+*``.

    Works on RESP3 maps (``%7``) and RESP2 flat arrays (``*14``); an error
    reply is returned unchanged so an error/success difference still shows.
    """
    header, items = split_aggregate(raw)
    if not items or header[:1] not in (b"%", b"*"):
        return raw
    out = list(items)
    for i in range(0, len(out) - 1, 2):
        if decode(out[i]) in HELLO_VOLATILE_FIELDS:
            out[i + 1] = b"+*\r\n"
    return header + b"\r\n" + b"".join(out)


class Pair:
    """Two byte-exact connections: ``oracle`` (real Redis) and ``subject`` (RedisLite).

    Every helper sends to the oracle first, then the subject, so blocking or
    timing-sensitive commands see the same ordering on both sides. The last
    commands are kept in ``history`` and shown on a mismatch.
    """

    def __init__(self, oracle: RawClient, subject: RawClient) -> None:
        self.oracle = oracle
        self.subject = subject
        self.history: list[Sequence[object]] = []

    @classmethod
    def connect(cls, oracle: ServerProcess, subject: ServerProcess) -> "Pair":
        return cls(oracle.raw(), subject.raw())

    def __repr__(self) -> str:
        return f"<Pair oracle={self.oracle!r} subject={self.subject!r}>"

    # ---- plumbing ---------------------------------------------------------

    def _note(self, args: Sequence[object]) -> None:
        self.history.append(args)
        del self.history[:-20]

    def _fail(self, what: str, args: Sequence[object], oracle: object, subject: object) -> None:
        recent = "\n".join("    " + _cmd_text(a) for a in self.history[-10:-1]) or "    (none)"
        raise ReplyMismatch(
            f"{what} for command: {_cmd_text(args)}\n"
            f"  oracle  (redis):     {oracle}\n"
            f"  subject (redislite): {subject}\n"
            f"  previous commands on this pair:\n{recent}"
        )

    def reset(self) -> None:
        """Fresh connections on both sides (default db, RESP2, no MULTI/subscriptions) and FLUSHALL."""
        for name in ("oracle", "subject"):
            old: RawClient = getattr(self, name)
            old.close()
            new = RawClient(old.host, old.port, old.timeout)
            setattr(self, name, new)
            reply = new.call("FLUSHALL")
            if reply != b"+OK\r\n":
                raise RuntimeError(f"FLUSHALL on {name} {new!r} answered {reply!r}")
        self.history.clear()

    def close(self) -> None:
        self.oracle.close()
        self.subject.close()

    # ---- comparisons ------------------------------------------------------

    def both(self, *args: bytes | str | int) -> tuple[bytes, bytes]:
        """(oracle_bytes, subject_bytes) for one command, without asserting."""
        self._note(args)
        self.oracle.send(*args)
        o = self.oracle.read_reply()
        self.subject.send(*args)
        s = self.subject.read_reply()
        return o, s

    def same(self, *args: bytes | str | int) -> bytes:
        """Send one command to both; the raw replies must be byte-identical."""
        o, s = self.both(*args)
        if o != s:
            self._fail("Replies differ", args, _show(o), _show(s))
        return o

    def same_unordered(self, *args: bytes | str | int, pairs: bool = False) -> bytes:
        """Like ``same`` for replies whose element order is unspecified (KEYS, SMEMBERS, HGETALL...).

        The frame header (type and count) must be identical, and the elements
        equal as multisets of raw frames. Maps are compared as sets of
        key/value pairs; pass ``pairs=True`` for RESP2 flat arrays that are
        really maps (HGETALL, CONFIG GET). Returns the oracle's bytes.
        """
        o, s = self.both(*args)
        if o == s:
            return o
        (oh, oi), (sh, si) = split_aggregate(o), split_aggregate(s)
        if oh != sh or not oi:
            self._fail("Replies differ", args, _show(o), _show(s))
        if pairs or oh[:1] == b"%":
            o_norm = sorted(zip(oi[::2], oi[1::2]))
            s_norm = sorted(zip(si[::2], si[1::2]))
        else:
            o_norm, s_norm = sorted(oi), sorted(si)
        if o_norm != s_norm:
            self._fail("Replies differ (ignoring order)", args, _show(o), _show(s))
        return o

    def same_pipeline(self, commands: Iterable[Sequence[bytes | str | int]]) -> list[bytes]:
        """Send all commands to each side in one write; every reply must match."""
        commands = [list(c) for c in commands]
        for c in commands:
            self._note(c)
        o = self.oracle.pipeline(commands)
        s = self.subject.pipeline(commands)
        for c, ro, rs in zip(commands, o, s):
            if ro != rs:
                self._fail("Pipelined replies differ", c, _show(ro), _show(rs))
        return o

    def same_raw(self, data: bytes, replies: int = 1) -> list[bytes]:
        """Send raw bytes (inline commands, malformed frames) to both and compare ``replies`` replies."""
        self._note([data])
        self.oracle.send_raw(data)
        o = [self.oracle.read_reply() for _ in range(replies)]
        self.subject.send_raw(data)
        s = [self.subject.read_reply() for _ in range(replies)]
        if o != s:
            self._fail("Replies differ", [data], [_show(x) for x in o], [_show(x) for x in s])
        return o

    def resp3(self) -> bytes:
        """Switch both connections to RESP3 (HELLO 3); later ``same`` calls compare RESP3 bytes.

        The HELLO replies are compared after ``normalise_hello``; returns the
        oracle's normalised reply.
        """
        o, s = self.both("HELLO", "3")
        no, ns = normalise_hello(o), normalise_hello(s)
        if no != ns:
            self._fail("HELLO 3 replies differ (after normalising server/version/id/mode)",
                       ["HELLO", "3"], _show(o), _show(s))
        return no

    def run_script(self, lines: Iterable[Sequence[bytes | str | int]]) -> list[bytes]:
        """``same`` for each command in order."""
        return [self.same(*line) for line in lines]


# --------------------------------------------------------------------------
# hypothesis: strategies, profiles and the state machine base
# --------------------------------------------------------------------------

#: A deliberately tiny key space so commands collide on the same keys and on
#: keys of the wrong type; the ``{t}`` keys share a hash slot (multi-key commands).
KEY_NAMES: tuple[bytes, ...] = (b"k0", b"k1", b"k2", b"k3", b"k4", b"{t}a", b"{t}b")

keys: SearchStrategy[bytes] = st.sampled_from(KEY_NAMES)
fields: SearchStrategy[bytes] = st.sampled_from((b"f0", b"f1", b"f2", b"f3"))
#: Small integers as the server sees them (ASCII), including edge signs.
small_ints: SearchStrategy[bytes] = st.integers(-5, 10).map(lambda i: str(i).encode())
#: Values that are numbers, floats, empty, text or arbitrary bytes.
values: SearchStrategy[bytes] = st.one_of(
    st.sampled_from((b"", b"0", b"1", b"-1", b"10", b"3.5", b"-0", b"1e3", b"abc", b" 1", b"+1")),
    small_ints,
    st.binary(max_size=8),
)


def command(name: bytes | str, *arg_strategies: SearchStrategy[bytes]) -> SearchStrategy[list[bytes]]:
    """A strategy for one command: ``command("SET", keys, values)`` -> ``[b"SET", b"k1", b"abc"]``."""
    head = name.encode() if isinstance(name, str) else name
    return st.tuples(*arg_strategies).map(lambda args: [head, *args])


def command_sequences(
    strategies: Sequence[SearchStrategy[list[bytes]]], min_size: int = 1, max_size: int = 30
) -> SearchStrategy[list[list[bytes]]]:
    """Lists of commands drawn from any of ``strategies`` (for ``@given`` + ``pair.run_script``)."""
    return st.lists(st.one_of(list(strategies)), min_size=min_size, max_size=max_size)


def register_hypothesis_profiles() -> str:
    """Register the suite's profiles and load one; returns its name.

    * ``default``: 50 examples, random seed (finds new bugs locally).
    * ``ci``: the same budget, ``derandomize=True`` and no example database, so
      a CI run is reproducible. Chosen automatically when ``CI`` is set.
    * ``thorough``: 1000 examples, for a long local fuzzing session.

    ``HYPOTHESIS_PROFILE`` picks any of them explicitly. Deadlines are off:
    every example does loopback round trips to two processes.
    """
    common = dict(
        deadline=None,
        stateful_step_count=30,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    settings.register_profile("default", max_examples=50, **common)
    settings.register_profile("ci", max_examples=50, derandomize=True, database=None,
                              print_blob=True, **common)
    settings.register_profile("thorough", max_examples=1000, **common)
    name = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "default")
    settings.load_profile(name)
    return name


class DifferentialMachine(RuleBasedStateMachine):
    """Base for stateful differential fuzzing; family modules subclass it and add ``@rule``\\ s.

    Each example starts from fresh connections and an empty server on both
    sides (``pair.reset()``). After every step the key count must agree, which
    catches a write that one side applied and the other silently dropped.
    Drive it from a test with ``MyMachine.run(pair)``.
    """

    #: Command names (upper-case bytes) whose replies are compared ignoring order.
    unordered_commands: frozenset[bytes] = frozenset(
        {b"KEYS", b"SMEMBERS", b"SUNION", b"SINTER", b"SDIFF", b"HKEYS", b"HVALS", b"HGETALL"}
    )

    def __init__(self, pair: Pair) -> None:
        super().__init__()
        self.pair = pair
        pair.reset()

    @classmethod
    def run(cls, pair: Pair, settings: settings | None = None) -> None:
        """Run the machine against ``pair`` under the loaded hypothesis profile (or ``settings``)."""
        run_state_machine_as_test(lambda: cls(pair), settings=settings)

    @classmethod
    def with_commands(cls, *strategies: SearchStrategy[list[bytes]]) -> type["DifferentialMachine"]:
        """A subclass with one rule that runs any command drawn from ``strategies``."""
        from hypothesis.stateful import rule

        class Commands(cls):  # type: ignore[valid-type, misc]
            @rule(cmd=st.one_of(list(strategies)))
            def run_command(self, cmd: list[bytes]) -> None:
                self.execute(cmd)

        Commands.__name__ = Commands.__qualname__ = f"{cls.__name__}WithCommands"
        return Commands

    def execute(self, cmd: Sequence[bytes]) -> bytes:
        """Compare one command, ignoring element order for ``unordered_commands``."""
        name = cmd[0].upper() if isinstance(cmd[0], bytes) else str(cmd[0]).upper().encode()
        if name in self.unordered_commands:
            return self.pair.same_unordered(*cmd, pairs=(name == b"HGETALL"))
        return self.pair.same(*cmd)

    @invariant()
    def same_key_count(self) -> None:
        self.pair.same("DBSIZE")


def aof_events(server, since):
    """(db, argv) pairs a real Redis with ``appendonly yes`` appended to its
    incremental AOF after byte *since*, and the file's new length.

    Families compare their write events with what Redis itself propagates
    for the same script; this reads Redis's side."""
    import glob
    from redislite.testing import split_frames
    [path] = glob.glob(os.path.join(server.workdir, "appendonlydir", "*.incr.aof"))
    with open(path, "rb") as fh:
        data = fh.read()
    out, db = [], 0
    for frame in split_frames(data[since:]):
        argv = decode(frame)
        name = argv[0].upper()
        if name == b"SELECT":
            db = int(argv[1])
            continue
        out.append((db, (name,) + tuple(argv[1:])))
    return out, len(data)
