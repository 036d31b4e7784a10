"""Test and benchmark helpers: real server processes and a byte-exact RESP client.

Both the pytest suite and ``benchmarks/`` drive servers as separate processes
(never in-process), so that RedisLite is exercised exactly as a user runs it
and can be compared side by side with a real ``redis-server``.

Public API (kept stable for ``benchmarks/``)::

    free_port() -> int
    find_redis_server() -> str | None
    ServerProcess(kind, port=None, args=(), workdir=None, env=None, host="127.0.0.1")
        .start(timeout=20.0) / .stop(timeout=10.0) -> int / .kill() / .restart(timeout=20.0)
        .wait_until_loaded(timeout=20.0) / .log_tail(lines=40) / .cleanup()
        .client(**kw) -> redis.Redis / .raw() -> RawClient
        .host .port .pid .workdir .kind .argv .log_path .running
    RawClient(host, port, timeout=5.0)
        .send(*args) / .send_raw(data) / .read_reply() -> bytes / .call(*args) -> bytes
        .pipeline(commands) -> list[bytes] / .read_until_closed(timeout=5.0) -> bytes / .close()
    frame_end(data, pos=0) -> int | None, split_frames(data) -> list[bytes],
    split_aggregate(frame) -> (header, [element frames])
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

if TYPE_CHECKING:  # redis-py is a test dependency only
    import redis

__all__ = [
    "free_port",
    "find_redis_server",
    "ServerProcess",
    "ServerStartError",
    "RawClient",
    "ProtocolError",
    "RespFramer",
    "frame_end",
    "split_frames",
    "split_aggregate",
    "encode_command",
]

#: The directory that holds the ``redislite`` package, so ``python -m redislite``
#: works from any working directory without installing the package.
_SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_handed_out_ports: set[int] = set()


def free_port() -> int:
    """Return a loopback TCP port that is free now.

    The kernel picks it (bind to port 0); ports already handed out by this
    process are skipped so two servers started back to back never collide.
    """
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out_ports:
            _handed_out_ports.add(port)
            return port
    raise RuntimeError("could not find a free loopback port")


def find_redis_server() -> str | None:
    """Path of the real ``redis-server`` (the oracle), or None if not installed."""
    return shutil.which("redis-server")


# --------------------------------------------------------------------------
# RESP framing
# --------------------------------------------------------------------------


class ProtocolError(Exception):
    """The server sent bytes that are not valid RESP2/RESP3."""


_LINE_TYPES = frozenset(b"+-:_,(#")
_BLOB_TYPES = frozenset(b"$!=")
_AGG_TYPES = frozenset(b"*~>%|")
_STREAM_STR = -1  # stack marker: inside a streamed string ($?)
_STREAM_AGG = -2  # stack marker: inside a streamed aggregate (*? %? ...)


def _parse_len(header: bytes | bytearray, frame_start: int) -> int:
    """Parse a RESP length strictly (``int()`` would accept ' 1', '+1', '1_0')."""
    text = bytes(header)
    if text[:1] == b"-":
        digits = text[1:]
        sign = -1
    else:
        digits = text
        sign = 1
    if not digits or not digits.isdigit():
        raise ProtocolError(f"bad length {text!r} in frame at offset {frame_start}")
    return sign * int(digits)


class RespFramer:
    """Incremental, resumable RESP2/RESP3 frame splitter.

    It only finds where one complete reply ends and never decodes values, so
    callers get the server's exact bytes. State (position and a stack of
    outstanding element counts) survives between ``feed`` calls, so a reply
    split over many reads is scanned once, not re-parsed from the start.

    An attribute (``|``) is treated as an aggregate of ``2N + 1`` items: its
    key/value pairs plus the reply it decorates, which belongs to the same frame.
    """

    def __init__(self) -> None:
        self.buf = bytearray()
        self._start = 0  # where the current frame begins in buf
        self._pos = 0  # how far the current frame has been scanned
        self._stack: list[int] = []

    def feed(self, data: bytes) -> None:
        self.buf += data

    def pending(self) -> bytes:
        """Bytes received but not yet returned as a frame."""
        return bytes(self.buf[self._start:])

    def next_frame(self) -> bytes | None:
        """Remove and return the next complete frame, or None if more bytes are needed."""
        end = self._scan()
        if end is None:
            return None
        frame = bytes(self.buf[self._start:end])
        self._start = self._pos = end
        self._stack = []
        # Compact lazily: deleting the head after every frame would make a
        # read holding thousands of pipelined replies quadratic.
        if end > 65536 and end * 2 > len(self.buf):
            del self.buf[:end]
            self._start = self._pos = 0
        return frame

    def _item_done(self) -> bool:
        """Account for one finished item; True when the whole frame is finished."""
        stack = self._stack
        while stack:
            if stack[-1] == _STREAM_AGG:
                return False
            stack[-1] -= 1
            if stack[-1] > 0:
                return False
            stack.pop()  # the aggregate is complete: it is one item of its parent
        return True

    def _scan(self) -> int | None:
        buf = self.buf
        stack = self._stack
        while True:
            pos = self._pos
            if pos >= len(buf):
                return None
            line_end = buf.find(b"\r\n", pos)
            if line_end < 0:
                return None
            kind = buf[pos]
            header = buf[pos + 1:line_end]
            after = line_end + 2
            if stack and stack[-1] == _STREAM_STR:
                if kind != 0x3B:  # ';'
                    raise ProtocolError(f"expected ';' chunk in streamed string at offset {pos}")
                n = _parse_len(header, pos)
                if n == 0:
                    self._pos = after
                    stack.pop()
                    if self._item_done():
                        return self._pos
                    continue
                end = after + n + 2
                if len(buf) < end:
                    return None
                if buf[end - 2:end] != b"\r\n":
                    raise ProtocolError(f"string chunk at offset {pos} not terminated by CRLF")
                self._pos = end
                continue
            if kind in _LINE_TYPES:
                if kind == 0x5F and header:  # '_' carries no payload
                    raise ProtocolError(f"null frame with payload at offset {pos}")
                self._pos = after
            elif kind in _BLOB_TYPES:
                if header == b"?" and kind == 0x24:
                    self._pos = after
                    stack.append(_STREAM_STR)
                    continue
                n = _parse_len(header, pos)
                if n < 0:
                    if n != -1 or kind != 0x24:
                        raise ProtocolError(f"bad blob length {n} at offset {pos}")
                    self._pos = after  # RESP2 null bulk $-1
                else:
                    end = after + n + 2
                    if len(buf) < end:
                        return None
                    if buf[end - 2:end] != b"\r\n":
                        raise ProtocolError(f"blob at offset {pos} not terminated by CRLF")
                    self._pos = end
            elif kind in _AGG_TYPES:
                self._pos = after
                if header == b"?" and kind != 0x7C:
                    stack.append(_STREAM_AGG)
                    continue
                n = _parse_len(header, pos)
                if n < 0:
                    if n != -1 or kind != 0x2A:
                        raise ProtocolError(f"bad aggregate length {n} at offset {pos}")
                    # RESP2 null array *-1: a leaf
                else:
                    count = 2 * n if kind == 0x25 else (2 * n + 1 if kind == 0x7C else n)
                    if count:
                        stack.append(count)
                        continue
            elif kind == 0x2E and stack and stack[-1] == _STREAM_AGG:  # '.' ends *?
                if header:
                    raise ProtocolError(f"bad stream end marker at offset {pos}")
                self._pos = after
                stack.pop()
            else:
                raise ProtocolError(
                    f"unknown RESP type byte {bytes([kind])!r} at offset {pos}: {bytes(buf[pos:pos + 40])!r}"
                )
            if self._item_done():
                return self._pos


def frame_end(data: bytes, pos: int = 0) -> int | None:
    """Index just past the complete frame starting at ``pos``, or None if incomplete."""
    framer = RespFramer()
    framer.feed(data)
    framer._start = framer._pos = pos
    return framer._scan()


def split_frames(data: bytes) -> list[bytes]:
    """Split a byte string made of whole frames into frames; trailing partial data is an error."""
    framer = RespFramer()
    framer.feed(data)
    frames = []
    while (frame := framer.next_frame()) is not None:
        frames.append(frame)
    if framer.pending():
        raise ProtocolError(f"trailing incomplete frame: {framer.pending()[:80]!r}")
    return frames


def split_aggregate(frame: bytes) -> tuple[bytes, list[bytes]]:
    """Split an aggregate frame into its header line and the raw frames of its elements.

    ``*2\\r\\n$1\\r\\na\\r\\n:1\\r\\n`` -> ``(b"*2", [b"$1\\r\\na\\r\\n", b":1\\r\\n"])``.
    A map yields keys and values interleaved. A non-aggregate yields ``(header, [])``
    where header is the whole frame.
    """
    if not frame or frame[0] not in _AGG_TYPES or frame.startswith((b"*-1\r\n", b"|")):
        return frame, []
    line_end = frame.index(b"\r\n")
    header = frame[:line_end]
    body = frame[line_end + 2:]
    if header[1:] == b"?":
        if not body.endswith(b".\r\n"):
            raise ProtocolError("streamed aggregate without end marker")
        body = body[:-3]
    return header, split_frames(body)


def _to_bytes(arg: bytes | bytearray | memoryview | str | int | float) -> bytes:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, (bytearray, memoryview)):
        return bytes(arg)
    if isinstance(arg, str):
        return arg.encode("utf-8")
    if isinstance(arg, bool):  # bool is an int: refuse rather than send b"True"
        raise TypeError("bool is not a valid command argument")
    if isinstance(arg, int):
        return str(arg).encode()
    if isinstance(arg, float):
        return repr(arg).encode()
    raise TypeError(f"cannot encode {type(arg).__name__} as a command argument")


def encode_command(*args: bytes | str | int | float) -> bytes:
    """Encode one command as a RESP multibulk (what every real client sends)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        b = _to_bytes(arg)
        parts.append(b"$%d\r\n" % len(b))
        parts.append(b)
        parts.append(b"\r\n")
    return b"".join(parts)


# --------------------------------------------------------------------------
# RawClient
# --------------------------------------------------------------------------


class RawClient:
    """A blocking socket client that returns each reply's exact bytes.

    Differential tests compare these bytes, so nothing is decoded or
    normalised here; use ``hiredis.Reader`` on the result if values are needed.
    """

    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._framer = RespFramer()
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def __repr__(self) -> str:
        return f"<RawClient {self.host}:{self.port}>"

    def __enter__(self) -> "RawClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, *args: bytes | str | int) -> None:
        """Encode one multibulk command and send it."""
        self.sock.sendall(encode_command(*args))

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are (inline commands, malformed input, partial frames)."""
        self.sock.sendall(data)

    def read_reply(self) -> bytes:
        """The exact bytes of one complete reply (a push message counts as a reply)."""
        framer = self._framer
        while True:
            frame = framer.next_frame()
            if frame is not None:
                return frame
            try:
                data = self.sock.recv(1 << 16)
            except socket.timeout:
                raise TimeoutError(
                    f"no complete reply from {self.host}:{self.port} within {self.sock.gettimeout()}s; "
                    f"buffered: {framer.pending()[:200]!r}"
                ) from None
            if not data:
                raise ConnectionError(
                    f"connection to {self.host}:{self.port} closed; buffered: {framer.pending()[:200]!r}"
                )
            framer.feed(data)

    def call(self, *args: bytes | str | int) -> bytes:
        self.send(*args)
        return self.read_reply()

    def pipeline(self, commands: Iterable[Sequence[bytes | str | int]]) -> list[bytes]:
        """Send all commands in one write, then read one reply per command."""
        commands = list(commands)
        self.sock.sendall(b"".join(encode_command(*c) for c in commands))
        return [self.read_reply() for _ in commands]

    def read_until_closed(self, timeout: float = 5.0) -> bytes:
        """Everything (buffered or not) until the server closes the connection.

        Raises TimeoutError if the server keeps it open longer than ``timeout``.
        """
        chunks = [self._framer.pending()]
        self._framer = RespFramer()
        deadline = time.monotonic() + timeout
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{self.host}:{self.port} did not close within {timeout}s; got {b''.join(chunks)[:200]!r}"
                    )
                self.sock.settimeout(remaining)
                try:
                    data = self.sock.recv(1 << 16)
                except socket.timeout:
                    continue
                except ConnectionResetError:
                    break
                if not data:
                    break
                chunks.append(data)
        finally:
            self.sock.settimeout(self.timeout)
        return b"".join(chunks)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


# --------------------------------------------------------------------------
# ServerProcess
# --------------------------------------------------------------------------


class ServerStartError(RuntimeError):
    """The server exited or never answered PING; the message carries its log tail."""


_live: "weakref.WeakSet[ServerProcess]" = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:
    """Never leave orphan servers behind when a test run is interrupted."""
    for server in list(_live):
        try:
            server.kill()
        except Exception:
            pass


#: First bytes of a PING reply that prove the server is serving the protocol.
_UP_REPLIES = (b"+PONG", b"-NOAUTH", b"-LOADING", b"-MASTERDOWN")


_FAKEREDIS_MAIN = (
    "import sys\n"
    "from fakeredis import TcpFakeServer\n"
    # socketserver listens with a backlog of 5: redis-benchmark's 50 simultaneous
    # connects then get resets. 511 is Redis's own tcp-backlog default.
    "TcpFakeServer.request_queue_size = 511\n"
    "server = TcpFakeServer((sys.argv[1], int(sys.argv[2])), server_type='redis', server_version=(7, 0))\n"
    "server.serve_forever()\n"
)


class ServerProcess:
    """A redis-server or RedisLite server running as a child process.

    ``kind`` is ``"redislite"``, ``"redis"``, ``"twistd"`` (RedisLite
    through its twistd plugin) or ``"fakeredis"`` (fakeredis's TcpFakeServer,
    the other Redis server written in Python, for the benchmarks) or ``"floor"``
    (``benchmarks/floor.py``: hiredis, a dict and the lean poll, the CPython
    floor the benchmarks compare against). stdout and stderr go to ``log_path`` in the
    working directory; each start appends to it, so a restart keeps history.
    """

    def __init__(
        self,
        kind: str,
        port: int | None = None,
        args: Sequence[str] = (),
        workdir: str | None = None,
        env: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        if kind not in ("redislite", "redis", "twistd", "fakeredis", "floor"):
            raise ValueError(f"unknown server kind {kind!r}")
        self.kind = kind
        self.host = host
        self.port = port if port is not None else free_port()
        self.args = [str(a) for a in args]
        self._own_workdir = workdir is None
        self.workdir = workdir if workdir is not None else tempfile.mkdtemp(prefix=f"{kind}-{self.port}-")
        self.env = dict(env or {})
        self.log_path = os.path.join(self.workdir, f"{kind}-{self.port}.log")
        self.argv = self._build_argv()
        self._proc: subprocess.Popen | None = None
        self._log_offset = 0

    def __repr__(self) -> str:
        return f"<ServerProcess {self.kind} {self.host}:{self.port} pid={self.pid}>"

    def _build_argv(self) -> list[str]:
        port = str(self.port)
        if self.kind == "redis":
            exe = find_redis_server()
            if exe is None:
                raise FileNotFoundError("redis-server not found on PATH")
            return [exe, "--port", port, "--bind", self.host, "--save", "", "--appendonly", "no",
                    "--dir", self.workdir, *self.args]
        if self.kind == "fakeredis":
            return [sys.executable, "-c", _FAKEREDIS_MAIN, self.host, port, *self.args]
        if self.kind == "floor":
            return [sys.executable, "-m", "benchmarks.floor", "--port", port, "--bind", self.host, *self.args]
        common = ["--port", port, "--bind", self.host, "--http-port", "0", "--dir", self.workdir, *self.args]
        if self.kind == "twistd":
            return [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
                    "-n", "--pidfile=", "redislite", *common]
        return [sys.executable, "-m", "redislite", *common]

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.kind != "redis":
            path = env.get("PYTHONPATH")
            env["PYTHONPATH"] = _SOURCE_ROOT + (os.pathsep + path if path else "")
            env.setdefault("PYTHONUNBUFFERED", "1")
        env.update(self.env)
        return env

    def log_tail(self, lines: int = 40, whole: bool = False) -> str:
        """The last lines this start wrote (or of the whole log with ``whole``)."""
        try:
            with open(self.log_path, "rb") as f:
                if not whole:
                    f.seek(self._log_offset)
                data = f.read()
        except OSError:
            return "<no log>"
        return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])

    def _ping(self) -> bytes | None:
        try:
            with socket.create_connection((self.host, self.port), timeout=1.0) as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                data = b""
                while b"\r\n" not in data:
                    chunk = s.recv(256)
                    if not chunk:
                        return None
                    data += chunk
                return data
        except OSError:
            return None

    def start(self, timeout: float = 20.0) -> "ServerProcess":
        """Spawn the server and wait until it answers PING."""
        if self.running:
            raise RuntimeError(f"{self!r} is already running")
        os.makedirs(self.workdir, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self._log_offset = log.tell()
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=self._child_env(),
                start_new_session=True,  # a Ctrl-C in the terminal reaches pytest only
            )
        _live.add(self)
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            code = self._proc.poll()
            if code is not None:
                raise ServerStartError(
                    f"{self.kind} server exited with code {code} during startup\n"
                    f"argv: {self.argv}\nlog {self.log_path} (tail):\n{self.log_tail()}"
                )
            reply = self._ping()
            if reply is not None and reply.startswith(_UP_REPLIES):
                return self
            if time.monotonic() > deadline:
                self.kill()
                raise ServerStartError(
                    f"{self.kind} server did not answer PING on {self.host}:{self.port} within {timeout}s "
                    f"(last reply {reply!r})\nargv: {self.argv}\nlog {self.log_path} (tail):\n{self.log_tail()}"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def wait_until_loaded(self, timeout: float = 20.0) -> "ServerProcess":
        """Wait until PING stops answering -LOADING (``start`` returns as soon as the port serves).

        ``start`` deliberately counts -LOADING as up so recovery itself can be
        observed; tests that need the data call this after start/restart.
        """
        deadline = time.monotonic() + timeout
        while True:
            reply = self._ping()
            if reply is not None and not reply.startswith(b"-LOADING"):
                return self
            if not self.running:
                raise ServerStartError(f"{self.kind} server exited while loading\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise ServerStartError(f"{self.kind} server still loading after {timeout}s\n{self.log_tail()}")
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM and wait; SIGKILL if it does not exit in time. Returns the exit code."""
        proc = self._proc
        if proc is None:
            raise RuntimeError(f"{self!r} was never started")
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        _live.discard(self)
        return proc.returncode

    def kill(self) -> None:
        """SIGKILL (a crash, for persistence tests) and reap the pid."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.kill()
            except ProcessLookupError:
                pass
        proc.wait()
        _live.discard(self)

    def restart(self, timeout: float = 20.0) -> "ServerProcess":
        """Stop if running, then start again on the same port, args and workdir."""
        if self.running:
            self.stop()
        return self.start(timeout)

    def client(self, **kw: object) -> "redis.Redis":
        """A redis-py client for this server (extra keywords go to ``redis.Redis``)."""
        import redis

        kw.setdefault("socket_timeout", 10.0)
        return redis.Redis(host=self.host, port=self.port, **kw)

    def raw(self) -> RawClient:
        return RawClient(self.host, self.port)

    def cleanup(self) -> None:
        """Stop the server if it still runs, then remove the working directory
        if this object created it.  Tests call this in ``finally``: a server
        left running would outlive a pytest that is killed before its atexit."""
        if self.running:
            self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.stop()
        if exc_type is None:  # keep the log around when the block failed
            self.cleanup()
