"""RESP request parser: turns the bytes of each read into argv lists.

This is the hot path: one ``dataReceived`` may carry hundreds of pipelined
commands, so :meth:`RequestParser.feed` parses them all in one call, with no
Deferred or object per command beyond the argv list and its arguments:
a split-on-CRLF fast path for canonical multibulk, and an exact byte loop
(``bytes.find``, slicing) for everything else.

Behaviour follows Redis 7.0.15's ``processMultibulkBuffer`` /
``processInlineBuffer`` and was checked byte for byte against a real
``redis-server`` (see ``tests/compat/test_protocol_errors.py``).  Quirks kept
on purpose because Redis has them:

* Header lines are found by searching ``\\r`` alone; the byte after it is
  skipped unchecked, and so are the two bytes after a bulk payload
  (``$1\\r\\nxyz`` yields ``x``; ``yz`` is thrown away).
* Counts and lengths are parsed like Redis's ``string2ll``: no ``+``, no
  spaces, no leading zeros, no ``-0``.  ``*<n>`` with n <= 0 is an empty
  command (so ``*-10`` is silently ignored); n > INT_MAX is an error.
* Redis finds delimiters with ``strchr``, which stops at a NUL byte: a
  header or inline line holding a NUL before its delimiter is never
  complete; the client waits until the 64 KiB "too big" check fires.
* Limits are checked where Redis checks them, at the end of each read: a
  64 KiB header or inline line without its delimiter is an error.  We treat
  each ``feed`` as one Redis read, so a 70 KiB inline line arriving whole is
  accepted (as Redis does when it reads it at once).
* Unauthenticated clients (``auth_required``) get CVE-2021-32675's limits:
  more than 10 arguments or a bulk over 16384 bytes is an error.
* ``POST`` and ``Host:`` as a command name (any case, inline or multibulk)
  close the connection with no reply at all: Redis drops even the replies
  of the commands before it in the same read.

Numbers (Python 3.11.7 without PGO, a loaded 2-vCPU VM where an empty
``for`` iteration costs 23 ns -- expect ~3x better on a normal box; run this
module as a script to re-measure, best of three runs):

* 16-command pipeline of ``SET key:000001 xxx`` in one feed: ~21 us per
  feed, ~1.35 us per command.  Fast path: one ``bytes.split(b"\\r\\n")``,
  then each command is two list slices plus one dict lookup per header
  (the dict both validates string2ll strictness and converts).
* the exact byte loop alone on the same pipeline: ~40 us (2x slower); it
  takes over from the first command the fast path cannot vouch for.
* one small command per feed: ~1.9 us per feed.
* ``hiredis.Reader`` on the same pipeline: ~3.6 us per feed.  Faster, but
  it is a *reply* parser: it accepts ``~``/``%``/``>`` aggregates, ``:``
  and ``$-1`` elements, nested arrays, and knows nothing of inline
  commands, Redis's request error texts, string2ll strictness, the
  bulk/multibulk limits or the unchecked CRLF quirks, and would buffer a
  declared 2 GB bulk.  Proving each of its results canonical costs per
  argument Python work and still needs byte positions it does not expose,
  so it is not used.
* a 1 MiB bulk fed one byte at a time: ~1.2 s, linear (bytearray append,
  the delimiter is searched in new bytes only).
"""

# --- error texts (the part after '-'); Redis 7.0.15, byte for byte --------
ERR_INVALID_MULTIBULK = "ERR Protocol error: invalid multibulk length"
ERR_INVALID_BULK = "ERR Protocol error: invalid bulk length"
ERR_UNAUTH_MULTIBULK = "ERR Protocol error: unauthenticated multibulk length"
ERR_UNAUTH_BULK = "ERR Protocol error: unauthenticated bulk length"
ERR_EXPECTED_DOLLAR = "ERR Protocol error: expected '$', got '%s'"
ERR_TOO_BIG_MBULK = "ERR Protocol error: too big mbulk count string"
ERR_TOO_BIG_BULK = "ERR Protocol error: too big bulk count string"
ERR_TOO_BIG_INLINE = "ERR Protocol error: too big inline request"
ERR_UNBALANCED_QUOTES = "ERR Protocol error: unbalanced quotes in request"
# Silent errors: never sent to the client, only for logs.
SILENT_QUERY_BUFFER = "query buffer limit exceeded"
SILENT_CROSS_PROTOCOL = "possible cross protocol scripting attack (POST or Host: command)"

PROTO_INLINE_MAX_SIZE = 64 * 1024   # Redis: longest header/inline line without its delimiter
INT_MAX = 2 ** 31 - 1               # Redis: largest multibulk count
LLONG_MAX = 2 ** 63 - 1
UNAUTH_MAX_MULTIBULK = 10           # CVE-2021-32675 limits for unauthenticated clients
UNAUTH_MAX_BULK = 16384

_CROSS_PROTOCOL = frozenset((b"post", b"host:"))


def _all_cases(word):
    variants = [b""]
    for ch in word:
        c = bytes((ch,))
        variants = [v + x for v in variants for x in {c.lower(), c.upper()}]
    return variants


# Every spelling of the two names, so the per-command check is one set lookup.
_CROSS_PROTOCOL_ANYCASE = frozenset(_all_cases(b"post") + _all_cases(b"host:"))
# Header lines Redis accepts without further checks, mapped to their value:
# one dict lookup both validates (string2ll strictness) and converts.  Lengths
# stay below every limit that could apply (16384 unauthenticated, and the
# smallest proto-max-bulk-len we use the table with).
_BULK_CACHE_MAX = 10000
#: the canonical header of each cached bulk length: _BULK_HDRS[n] == b"$%d" % n
_BULK_HDRS = [b"$%d" % i for i in range(_BULK_CACHE_MAX)]
_NO_HDRS = []
_BULK_LEN = {h: i for i, h in enumerate(_BULK_HDRS)}
_NO_CACHE = {}
_COUNT = {b"*%d" % i: i for i in range(1, UNAUTH_MAX_MULTIBULK + 1)}
_COUNT_AUTHED = {b"*%d" % i: i for i in range(1, 1025)}
_AUTH_COMMANDS = frozenset((b"auth", b"hello"))
# Bound once: ``_BULK_LEN.get`` in a function builds a method object per call.
_BULK_GET = _BULK_LEN.get
_NO_CACHE_GET = _NO_CACHE.get
_COUNT_GET = _COUNT.get
_COUNT_AUTHED_GET = _COUNT_AUTHED.get

# What the pending (incomplete) element is.
_NONE, _LINE, _PAYLOAD, _STUCK = 0, 1, 2, 3


class ProtocolError(Exception):
    """A malformed request: the server replies ``-message`` and closes.

    ``message`` is Redis's text without '-'.  ``silent=True`` means close the
    connection without replying (cross protocol scripting defence, query
    buffer limit).  ``commands`` holds the complete commands parsed before
    the error, which the server executes first.
    """

    def __init__(self, message, silent=False):
        super().__init__(message)
        self.message = message
        self.silent = silent
        self.commands = []

    @property
    def reply(self):
        """The exact bytes Redis sends (b'' when silent); the message may hold raw bytes
        as surrogate escapes (``expected '$', got '\\xff'``)."""
        if self.silent:
            return b""
        return b"-" + self.message.encode("utf-8", "surrogateescape") + b"\r\n"

    def __repr__(self):
        return "ProtocolError(%r, silent=%r)" % (self.message, self.silent)


def _string2ll(s):
    """Redis's strict string2ll: the int, or None when Redis would reject it."""
    if len(s) > 20:     # Redis: slen >= LONG_STR_SIZE; also keeps int() cheap
        return None
    if s.isdigit():
        if s[0] == 48 and len(s) > 1:
            return None
        v = int(s)
        return v if v <= LLONG_MAX else None
    if len(s) > 1 and s[0] == 45 and s[1] != 48 and s[1:].isdigit():
        v = -int(s[1:])
        return v if v >= -LLONG_MAX - 1 else None
    return None


def _got_char(byte):
    # addReplyErrorFormat turns \r and \n into spaces; other bytes go out raw.
    if byte in (10, 13):
        return " "
    return bytes((byte,)).decode("utf-8", "surrogateescape")


_SPACE = b" \t\n\r\x0b\x0c"          # C isspace() in the C locale
_WORD_END = b" \n\r\t"               # what ends an unquoted word in sdssplitargs
_HEX = b"0123456789abcdefABCDEF"
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}


def split_inline(line):
    """Split an inline request like Redis's sdssplitargs; None on unbalanced quotes.

    ``line`` holds no NUL (the caller never completes such a line) and no
    trailing CRLF.
    """
    if b'"' not in line and b"'" not in line and b"\x0b" not in line and b"\x0c" not in line:
        return line.split()
    args = []
    n = len(line)
    p = 0
    while True:
        while p < n and line[p] in _SPACE:
            p += 1
        if p >= n:
            return args
        cur = bytearray()
        inq = insq = False
        while True:
            c = line[p] if p < n else 0
            if inq:
                if (c == 92 and p + 3 < n and line[p + 1] == 120
                        and line[p + 2] in _HEX and line[p + 3] in _HEX):
                    cur.append(int(line[p + 2:p + 4], 16))
                    p += 3
                elif c == 92 and p + 1 < n:
                    p += 1
                    e = line[p]
                    cur.append(_ESCAPES.get(e, e))
                elif c == 34:
                    if p + 1 < n and line[p + 1] not in _SPACE:
                        return None
                    p += 1
                    break
                elif p >= n:
                    return None
                else:
                    cur.append(c)
            elif insq:
                if c == 92 and p + 1 < n and line[p + 1] == 39:
                    p += 1
                    cur.append(39)
                elif c == 39:
                    if p + 1 < n and line[p + 1] not in _SPACE:
                        return None
                    p += 1
                    break
                elif p >= n:
                    return None
                else:
                    cur.append(c)
            else:
                if p >= n or c in _WORD_END:
                    if p < n:
                        p += 1
                    break
                if c == 34:
                    inq = True
                elif c == 39:
                    insq = True
                else:
                    cur.append(c)
            p += 1
        args.append(bytes(cur))


class RequestParser:
    """Incremental parser for one connection's request stream.

    ``max_bulk_len`` (proto-max-bulk-len), ``max_query_buffer``
    (client-query-buffer-limit) and ``auth_required`` are plain attributes
    the server may change at any time; they apply from the next ``feed``.

    State mirrors Redis's client struct: the argv of a command in progress
    plus the bytes of its one incomplete element (a header line, an inline
    line, or a bulk payload), so a slow trickle is appended, never re-parsed.

    One corner case needs the caller's help: while ``auth_required`` is
    true, a command over the unauthenticated limits that follows an AUTH or
    HELLO *in the same read* is not rejected yet (Redis would execute the
    AUTH first).  ``feed`` returns the commands up to it and sets
    ``resume_needed``; after executing them (so ``auth_required`` is
    current) the caller calls ``feed(b"")`` again.
    """

    __slots__ = ("max_bulk_len", "max_query_buffer", "auth_required", "resume_needed",
                 "_argv", "_left", "_kind", "_pbuf", "_bulk", "_cr_last", "_error", "_resume")

    def __init__(self, max_bulk_len=512 * 1024 * 1024, max_query_buffer=1024 * 1024 * 1024):
        self.max_bulk_len = max_bulk_len
        self.max_query_buffer = max_query_buffer
        self.auth_required = False
        self.resume_needed = False
        self._argv = None       # argv of the command in progress, or None at a boundary
        self._left = 0          # arguments still to read for _argv
        self._kind = _NONE      # what _pbuf holds
        self._pbuf = None       # bytearray: the incomplete element's bytes
        self._bulk = -1         # payload length when _kind == _PAYLOAD
        self._cr_last = False   # _LINE in '\r' mode: the '\r' is the last byte held
        self._error = None      # a raised ProtocolError: the stream is dead
        self._resume = None     # bytes held back by the AUTH corner case (see class doc)

    def buffered(self):
        """Bytes held for the incomplete element (Redis's qbuf)."""
        held = len(self._pbuf) if self._pbuf is not None else 0
        if self._resume is not None:
            held += len(self._resume)
        return held

    # ------------------------------------------------------------------
    def feed(self, data):
        """Append ``data``; return every complete command (a list of bytes) in order.

        Raises :class:`ProtocolError` (with ``.commands`` set to the
        commands completed before the error) on malformed input.
        """
        if self._error is not None:
            raise self._error
        if self._resume is not None:
            data = self._resume + data
            self._resume = None
            self.resume_needed = False
        kind = self._kind
        if kind == _NONE:
            if not data:
                return []
            return self._parse(data, [])
        pbuf = self._pbuf
        if kind == _PAYLOAD:
            pbuf += data
            need = self._bulk + 2
            if len(pbuf) < need:
                return self._incomplete([])
            # The payload is whole: finish the argument, then parse what follows.
            view = memoryview(pbuf)
            arg = bytes(view[:self._bulk])
            rest = bytes(view[need:])
            view.release()
            self._kind = _NONE
            self._pbuf = None
            out = []
            argv = self._argv
            argv.append(arg)
            self._left -= 1
            if not self._left:
                self._argv = None
                self._complete(argv, out)
            if rest:
                return self._parse(rest, out)
            return out
        if not data:
            return []
        if kind == _STUCK:
            pbuf += data
            return self._incomplete([])
        # _LINE: only the new bytes can hold the delimiter we wait for.
        if self._argv is None and pbuf[0] != 42:
            done = b"\n" in data
        elif self._cr_last:
            done = bool(data)
        else:
            i = data.find(b"\r")
            done = 0 <= i < len(data) - 1
            self._cr_last = i == len(data) - 1
        pbuf += data
        if not done:
            return self._incomplete([])
        self._kind = _NONE
        self._pbuf = None
        self._cr_last = False
        return self._parse(bytes(pbuf), [])

    # ------------------------------------------------------------------
    def _complete(self, argv, out):
        """Queue a finished command, unless it is the POST / Host: cross-protocol probe."""
        a0 = argv[0]
        if len(a0) < 6 and a0.lower() in _CROSS_PROTOCOL:
            self._fail(SILENT_CROSS_PROTOCOL, out, silent=True)
        out.append(argv)

    def _fail(self, message, out, silent=False):
        err = ProtocolError(message, silent)
        self._error = err
        self._argv = None
        self._pbuf = None
        self._kind = _NONE
        err.commands = out
        raise err

    def _incomplete(self, out):
        """Apply the end-of-read limits to the pending element, then return ``out``."""
        pbuf = self._pbuf
        held = len(pbuf)
        if held > self.max_query_buffer:
            self._fail(SILENT_QUERY_BUFFER, out, silent=True)
        kind = self._kind
        if held > PROTO_INLINE_MAX_SIZE and (kind == _STUCK or (kind == _LINE and not self._cr_last)):
            if self._argv is not None:
                self._fail(ERR_TOO_BIG_BULK, out)
            if pbuf[0] == 42:
                self._fail(ERR_TOO_BIG_MBULK, out)
            self._fail(ERR_TOO_BIG_INLINE, out)
        return out

    def _hold(self, kind, data, start, out, cr_last=False):
        """Keep ``data[start:]`` as the pending element of ``kind``."""
        self._kind = kind
        self._pbuf = bytearray(memoryview(data)[start:] if start else data)
        self._cr_last = cr_last
        return self._incomplete(out)

    def _parse(self, data, out):
        """Parse ``data`` from an element boundary, continuing the command in self.

        Fast path: split on CRLF once and take whole commands as slices of the
        token list, checking that every header is canonical and announces
        exactly its payload's length.  Anything else (a partial command,
        inline, a payload holding CRLF, a long or odd header, any error) is
        left to the exact byte-by-byte loop from that command on.
        """
        if self._argv is not None:
            return self._parse_slow(data, 0, out)
        parts = data.split(b"\r\n")
        ntok = len(parts) - 1           # parts[ntok] is the bytes after the last CRLF
        i = 0
        # A bulk header is checked by comparing it with the canonical header of its
        # payload's length (one memcmp), not by a dict lookup (hashing every header
        # token); a length past the table raises IndexError: the exact loop decides.
        hdr = _BULK_HDRS if self.max_bulk_len >= _BULK_CACHE_MAX else _NO_HDRS
        count_get = _COUNT_GET if self.auth_required else _COUNT_AUTHED_GET
        out_append = out.append
        try:
            while i < ntok:
                left = count_get(parts[i])
                if left is None:
                    break
                j = i + 1
                k = j + 2 * left
                if k > ntok:
                    break
                if left == 2:
                    # GET key, LPOP key...: no slices or temporary lists for the common shapes
                    a0 = parts[i + 2]
                    a1 = parts[i + 4]
                    if parts[j] != hdr[len(a0)] or parts[i + 3] != hdr[len(a1)]:
                        break
                    argv = [a0, a1]
                elif left == 3:
                    a0 = parts[i + 2]
                    a1 = parts[i + 4]
                    a2 = parts[i + 6]
                    if parts[j] != hdr[len(a0)] or parts[i + 3] != hdr[len(a1)] \
                            or parts[i + 5] != hdr[len(a2)]:
                        break
                    argv = [a0, a1, a2]
                elif left == 4:
                    # HSET key field value, ZADD key score member, LSET, SETEX...
                    a0 = parts[i + 2]
                    a1 = parts[i + 4]
                    a2 = parts[i + 6]
                    a3 = parts[i + 8]
                    if parts[j] != hdr[len(a0)] or parts[i + 3] != hdr[len(a1)] \
                            or parts[i + 5] != hdr[len(a2)] or parts[i + 7] != hdr[len(a3)]:
                        break
                    argv = [a0, a1, a2, a3]
                elif left == 1:
                    # PING, MULTI, EXEC, DBSIZE...
                    a0 = parts[j + 1]
                    if parts[j] != hdr[len(a0)]:
                        break
                    argv = [a0]
                else:
                    argv = parts[j + 1:k:2]
                    if list(map(hdr.__getitem__, map(len, argv))) != parts[j:k:2]:
                        break
                    a0 = argv[0]
                # no length test first: the name's hash, computed here, is cached on
                # the bytes and reused by the command table lookup
                if a0 in _CROSS_PROTOCOL_ANYCASE:
                    break
                out_append(argv)
                i = k
            else:
                tail = parts[ntok]
                if not tail:
                    return out
                return self._parse_slow(data, len(data) - len(tail), out)
        except IndexError:
            pass        # a payload longer than the header table (at command i)
        return self._parse_slow(data, sum(map(len, parts[:i])) + 2 * i, out)

    def _parse_slow(self, data, pos, out):
        """The exact parser, from ``pos`` (an element boundary) to the end of ``data``."""
        n = len(data)
        last = n - 1
        find = data.find
        out_append = out.append
        argv = self._argv
        left = self._left
        # From here the command in progress lives in locals; every hold stores it back.
        self._argv = None
        self._left = 0
        bulk_get = _BULK_GET if self.max_bulk_len >= _BULK_CACHE_MAX else _NO_CACHE_GET
        count_get = _COUNT_GET if self.auth_required else _COUNT_AUTHED_GET
        cmd_start = pos
        while pos < n:
            if argv is None:
                cmd_start = pos
                if data[pos] != 42:
                    pos = self._inline(data, pos, out)
                    if pos < 0:
                        return out
                    continue
                # '\r' must be followed by one more byte: search up to the last one only.
                cr = find(b"\r", pos, last)
                if cr < 0:
                    return self._hold(_LINE, data, pos, out, cr_last=data[last] == 13)
                left = count_get(data[pos:cr])
                if left is None:
                    left = self._count(data, pos, cr, out, cmd_start)
                    if left is None:
                        return out
                pos = cr + 2
                if left <= 0:
                    continue
                argv = []
            append = argv.append
            while left:
                cr = find(b"\r", pos, last)
                if cr < 0:
                    self._argv = argv
                    self._left = left
                    return self._hold(_LINE, data, pos, out, cr_last=pos <= last and data[last] == 13)
                blen = bulk_get(data[pos:cr])
                if blen is None:
                    self._argv = argv
                    self._left = left
                    blen = self._bulk_len(data, pos, cr, out, cmd_start)
                    if blen < 0:
                        return out
                start = cr + 2
                pos = start + blen
                if pos >= last:
                    self._argv = argv
                    self._left = left
                    self._bulk = blen
                    return self._hold(_PAYLOAD, data, start, out)
                append(data[start:pos])
                pos += 2
                left -= 1
            a0 = argv[0]
            if len(a0) < 6 and a0 in _CROSS_PROTOCOL_ANYCASE:
                self._fail(SILENT_CROSS_PROTOCOL, out, silent=True)
            out_append(argv)
            argv = None
        self._argv = None
        self._left = 0
        return out

    def _inline(self, data, pos, out):
        """Parse one inline line at ``pos``; the next position, or -1 when it is incomplete."""
        nl = data.find(b"\n", pos)
        if nl < 0:
            self._hold(_LINE, data, pos, out)
            return -1
        line = data[pos:nl]
        if b"\0" in line:
            self._hold(_STUCK, data, pos, out)
            return -1
        if line and line[-1] == 13:
            line = line[:-1]
        args = split_inline(line)
        if args is None:
            self._fail(ERR_UNBALANCED_QUOTES, out)
        if args:
            self._complete(args, out)
        return nl + 1

    def _count(self, data, pos, cr, out, cmd_start):
        """Slow path of a ``*<count>`` header: the count, or None when held back."""
        count = _string2ll(data[pos + 1:cr])
        if count is None or count > INT_MAX:
            if b"\0" in data[pos:cr]:
                self._hold(_STUCK, data, pos, out)
                return None
            self._fail(ERR_INVALID_MULTIBULK, out)
        if self.auth_required and count > UNAUTH_MAX_MULTIBULK:
            self._unauth(ERR_UNAUTH_MULTIBULK, data, cmd_start, out)
            return None
        return count

    def _bulk_len(self, data, pos, cr, out, cmd_start):
        """Slow path of a ``$<len>`` header: the length, or -1 when held back."""
        if data[pos] != 36:
            if b"\0" in data[pos:cr]:
                self._hold(_STUCK, data, pos, out)
                return -1
            self._fail(ERR_EXPECTED_DOLLAR % _got_char(data[pos]), out)
        blen = _string2ll(data[pos + 1:cr])
        if blen is None:
            if b"\0" in data[pos:cr]:
                self._hold(_STUCK, data, pos, out)
                return -1
            self._fail(ERR_INVALID_BULK, out)
        if blen < 0 or blen > self.max_bulk_len:
            self._fail(ERR_INVALID_BULK, out)
        if self.auth_required and blen > UNAUTH_MAX_BULK:
            self._unauth(ERR_UNAUTH_BULK, data, cmd_start, out)
            return -1
        return blen

    def _unauth(self, message, data, cmd_start, out):
        """An unauthenticated limit was hit: error, unless an AUTH/HELLO earlier in
        this read may lift it — then hold the command back for ``feed(b"")``."""
        for cmd in out:
            if cmd[0].lower() in _AUTH_COMMANDS:
                self._argv = None
                self._left = 0
                self._resume = data[cmd_start:]
                self.resume_needed = True
                return
        self._fail(message, out)


def _bench():  # pragma: no cover - measurement helper, numbers in the docstring
    import timeit
    cmd = b"*3\r\n$3\r\nSET\r\n$10\r\nkey:000001\r\n$3\r\nxxx\r\n"
    pipe = cmd * 16
    p = RequestParser()
    n = 200000
    t = timeit.timeit(lambda: p.feed(pipe), number=n)
    print("pipeline16: %.2f us/feed, %.3f us/cmd" % (t / n * 1e6, t / n / 16 * 1e6))
    t = timeit.timeit(lambda: p.feed(cmd), number=n)
    print("single: %.2f us/feed" % (t / n * 1e6))
    t = timeit.timeit(lambda: p._parse_slow(pipe, 0, []), number=n)
    print("exact loop only, pipeline16: %.2f us/feed" % (t / n * 1e6))
    try:
        import hiredis
    except ImportError:
        return
    r = hiredis.Reader()

    def hr():
        r.feed(pipe)
        out = []
        while True:
            x = r.gets()
            if x is False:
                return out
            out.append(x)
    t = timeit.timeit(hr, number=n)
    print("hiredis pipeline16: %.2f us/feed, %.3f us/cmd" % (t / n * 1e6, t / n / 16 * 1e6))


if __name__ == "__main__":  # pragma: no cover
    _bench()
