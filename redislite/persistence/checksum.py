"""The CRC-64 of an RDB image while it loads: inline in slices, or in a forked child.

The RDB trailer is the CRC-64 of everything before it, so a load must
checksum the whole file.  Our CRC-64 is pure Python (crc64.py, ~30 MB/s):
for a 1,000,000-key snapshot that is about a quarter of the load.

* :class:`InlineCrc` checksums ``STEP`` bytes at a time as the decoder passes
  them (one step is tens of ms, so no single slice stalls the reactor).
* :class:`ForkedCrc` (big files, where ``os.fork`` exists) forks a child that
  checksums the buffer on the other core while the parent decodes, and
  reports the running CRC at every ``STEP`` boundary (and at ``len - 8``,
  where a plain RDB's trailer starts) through a pipe.  The parent finishes
  from the last boundary before the real end (an AOF preamble is followed by
  RESP, so the end is only known once the EOF opcode is read).  If the child
  fails or dies, the parent computes the CRC itself: it never trusts a
  missing figure.  The child only reads the (mmap'd or copy-on-write)
  buffer, writes to the pipe and ``os._exit``\\ s.
"""

import os
import signal
import struct

from .crc64 import crc64

STEP = 4 << 20
FORK_MIN = 16 << 20          # below this, inline checksumming is cheap enough
_REC = struct.Struct("<QQ")


class InlineCrc:
    """CRC of ``buf[start:end]``, advanced about every STEP bytes by :meth:`advance`."""

    def __init__(self, buf, start, step=1 << 20):
        self.buf = buf
        self.pos = start
        self.crc = 0
        self.step = step

    def advance(self, pos):
        if pos - self.pos >= self.step:
            self.crc = crc64(self.buf[self.pos:pos], self.crc)
            self.pos = pos

    def result(self, end):
        return crc64(self.buf[self.pos:end], self.crc)

    def close(self):
        pass


class ForkedCrc:
    """CRC of ``buf[start:end]`` computed by a child process as the parent decodes."""

    def __init__(self, buf, start):
        self.buf = buf
        self.start = start
        self.records = [(start, 0)]         # (offset, crc of buf[start:offset])
        self.pid = None
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:                        # the child: never returns
            code = 1
            try:
                os.close(r)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                self._child(w)
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        self.pid = pid
        self.fd = r
        self.partial = b""

    def _child(self, w):
        buf = self.buf
        n = len(buf)
        pos = self.start
        crc = 0
        marks = list(range(pos + STEP, n + 1, STEP))
        if n - 8 > pos and (not marks or marks[-1] < n - 8):
            marks.append(n - 8)
        for mark in marks:
            crc = crc64(buf[pos:mark], crc)
            pos = mark
            os.write(w, _REC.pack(mark, crc))

    def advance(self, pos):
        pass

    def _read_until(self, end):
        """Read records until one at or past *end* (or the child is done)."""
        while self.records[-1][0] < end:
            data = os.read(self.fd, 4096)
            if not data:
                return
            data = self.partial + data
            cut = len(data) - len(data) % _REC.size
            self.partial = data[cut:]
            for i in range(0, cut, _REC.size):
                self.records.append(_REC.unpack_from(data, i))

    def result(self, end):
        try:
            self._read_until(end)
        except OSError:
            pass
        self.close()
        offset, crc = self.start, 0
        for off, c in self.records:
            if off <= end:
                offset, crc = off, c
        return crc64(self.buf[offset:end], crc)

    def close(self):
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            self.pid = None
            os.close(self.fd)


def checksummer(buf, start, parallel=False):
    """The checksum strategy for an image of this size."""
    if parallel and hasattr(os, "fork") and len(buf) - start >= FORK_MIN:
        try:
            return ForkedCrc(buf, start)
        except OSError:
            pass
    return InlineCrc(buf, start)
