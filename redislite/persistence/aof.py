"""Redis 7.0's multi-part append-only file: the manifest, RESP incr files, base files.

Layout (inside ``dir``/``appenddirname``)::

    appendonly.aof.1.base.rdb     snapshot the incr files apply on top of
    appendonly.aof.1.incr.aof     RESP commands, appended
    appendonly.aof.manifest       "file <name> seq <n> type b|h|i" per line

A base file is an RDB (``aof-use-rdb-preamble yes``) or RESP commands
(``.base.aof``); an old single-file AOF may start with an RDB preamble too.
"""

import os

from . import diskio

MANIFEST_SUFFIX = ".manifest"
BASE_RDB = ".base.rdb"
BASE_AOF = ".base.aof"
INCR = ".incr.aof"


class AofError(ValueError):
    """A corrupt AOF or manifest: names the file and the offset."""

    def __init__(self, message, path=None, offset=None):
        self.path = path
        self.offset = offset
        super().__init__(message)

    def __str__(self):
        out = self.args[0]
        if self.path:
            out += " in %s" % self.path
        if self.offset is not None:
            out += " at offset %d" % self.offset
        return out


class Truncated(AofError):
    """The file ends in the middle of a command (or of an unterminated MULTI)."""


# -- RESP ------------------------------------------------------------------------------
def encode(argv):
    """One command as Redis writes it to the AOF (canonical RESP multibulk)."""
    parts = [b"*%d\r\n" % len(argv)]
    for a in argv:
        parts.append(b"$%d\r\n" % len(a))
        parts.append(a)
        parts.append(b"\r\n")
    return b"".join(parts)


def select_cmd(db):
    d = b"%d" % db
    return b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%s\r\n" % (len(d), d)


def parse_commands(buf, pos=0, end=None, path=None):
    """Yield ``(argv, start, next)`` for each command in buf[pos:end].

    Raises :class:`Truncated` at an incomplete last command and
    :class:`AofError` at anything that is not a RESP multibulk of bulk
    strings (Redis's "Bad file format").  ``#`` lines (aof-timestamp-enabled
    annotations) are skipped, as Redis does.
    """
    if end is None:
        end = len(buf)
    find = buf.find
    while pos < end:
        start = pos
        c = buf[pos]
        if c == 0x23:                                  # '#TS:...' annotation
            nl = find(b"\n", pos, end)
            if nl < 0:
                raise Truncated("unexpected end of file", path, start)
            pos = nl + 1
            continue
        if c != 0x2A:
            raise AofError("bad file format reading the append only file", path, start)
        nl = find(b"\r\n", pos, end)
        if nl < 0:
            raise Truncated("unexpected end of file", path, start)
        try:
            n = int(buf[pos + 1:nl])
        except ValueError:
            raise AofError("bad file format reading the append only file", path, start) from None
        if n < 1:
            raise AofError("bad file format reading the append only file", path, start)
        pos = nl + 2
        argv = []
        for _ in range(n):
            if pos >= end:
                raise Truncated("unexpected end of file", path, start)
            if buf[pos] != 0x24:
                raise AofError("bad file format reading the append only file", path, pos)
            nl = find(b"\r\n", pos, end)
            if nl < 0:
                raise Truncated("unexpected end of file", path, start)
            try:
                ln = int(buf[pos + 1:nl])
            except ValueError:
                raise AofError("bad file format reading the append only file", path, pos) from None
            pos = nl + 2
            stop = pos + ln
            if stop + 2 > end:
                raise Truncated("unexpected end of file", path, start)
            if buf[stop:stop + 2] != b"\r\n":
                raise AofError("bad file format reading the append only file", path, stop)
            argv.append(bytes(buf[pos:stop]))
            pos = stop + 2
        yield argv, start, pos


# -- the manifest ------------------------------------------------------------------------
class Manifest:
    """base: (name, seq) or None; incrs: [(name, seq)]; history: [name]."""

    def __init__(self, base=None, incrs=None, history=None):
        self.base = base
        self.incrs = list(incrs or [])
        self.history = list(history or [])

    @classmethod
    def parse(cls, text, path=None):
        m = cls()
        for num, line in enumerate(text.split("\n"), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            words = line.split()
            if len(words) % 2:
                raise AofError("invalid AOF manifest file format (line %d)" % num, path)
            fields = dict(zip(words[0::2], words[1::2]))
            name, seq, kind = fields.get("file"), fields.get("seq"), fields.get("type")
            if not name or not seq or kind not in ("b", "h", "i") or "/" in name:
                raise AofError("invalid AOF manifest file format (line %d)" % num, path)
            try:
                seq = int(seq)
            except ValueError:
                raise AofError("invalid AOF manifest file format (line %d)" % num, path) from None
            if kind == "b":
                if m.base is not None:
                    raise AofError("found duplicate base file information (line %d)" % num, path)
                m.base = (name, seq)
            elif kind == "i":
                if m.incrs and seq <= m.incrs[-1][1]:
                    raise AofError("found a non-monotonic sequence number (line %d)" % num, path)
                m.incrs.append((name, seq))
            else:
                m.history.append(name)
        if m.base is None and not m.incrs:
            raise AofError("found an empty AOF manifest", path)
        return m

    def text(self):
        lines = []
        if self.base is not None:
            lines.append("file %s seq %d type b\n" % self.base)
        for name in self.history:
            lines.append("file %s seq 0 type h\n" % name)
        for name, seq in self.incrs:
            lines.append("file %s seq %d type i\n" % (name, seq))
        return "".join(lines)

    def next_incr_seq(self):
        return self.incrs[-1][1] + 1 if self.incrs else 1

    def next_base_seq(self):
        return self.base[1] + 1 if self.base else 1

    def copy(self):
        return Manifest(self.base, self.incrs, self.history)


def manifest_name(appendfilename):
    return appendfilename + MANIFEST_SUFFIX


def incr_name(appendfilename, seq):
    return "%s.%d%s" % (appendfilename, seq, INCR)


def base_name(appendfilename, seq, rdb=True):
    return "%s.%d%s" % (appendfilename, seq, BASE_RDB if rdb else BASE_AOF)


def write_manifest(dirpath, appendfilename, manifest):
    """Atomically replace the manifest (temp file, fsync, rename, fsync dir)."""
    path = os.path.join(dirpath, manifest_name(appendfilename))
    tmp = os.path.join(dirpath, "temp-" + manifest_name(appendfilename))
    diskio.write_atomic(tmp, path, [manifest.text().encode()])


def read_manifest(dirpath, appendfilename):
    """The manifest, or None when the directory has none."""
    path = os.path.join(dirpath, manifest_name(appendfilename))
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise AofError("invalid AOF manifest file format", path) from None
    return Manifest.parse(text, path)
