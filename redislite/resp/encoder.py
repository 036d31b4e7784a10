"""Render reply values as RESP2 or RESP3 bytes.

Shards and command handlers return plain Python values; only this module knows
the wire format.  The mapping:

=====================  =====================  =======================
value                  RESP2                  RESP3
=====================  =====================  =======================
bytes / bytearray/str  ``$n`` bulk            same
int                    ``:n``                 same
None                   ``$-1``                ``_``
list / tuple           ``*n``                 same
``Status``             ``+text``              same
``ReplyError``         ``-message``           same
``NullArray``          ``*-1``                ``_``
``Map``                flat ``*2n``           ``%n``
``Set``                ``*n``                 ``~n``
``Double``             bulk (``%.17g``)       ``,``
``Verbatim``           bulk                   ``=n txt:``
``Push``               ``*n``                 ``>n``
``Bool``               ``:1``/``:0``          ``#t``/``#f``
``Raw``                pre-encoded            pre-encoded
=====================  =====================  =======================

``encode(value, resp3)`` returns bytes; ``encode_into(value, out, resp3)``
appends chunks to a list so a whole pipeline is answered with one write.
"""

from ..errors import ReplyError


class Status:
    """A simple-string reply (``+OK``); the encoded form is computed once."""

    __slots__ = ("text", "wire")

    def __init__(self, text):
        self.text = text
        self.wire = b"+" + text.encode() + b"\r\n"

    def __eq__(self, other):
        return isinstance(other, Status) and other.text == self.text

    def __hash__(self):
        return hash(self.text)

    def __repr__(self):
        return "Status(%r)" % self.text


class _NullArray:
    __slots__ = ()

    def __repr__(self):
        return "NullArray"


NullArray = _NullArray()


class Map(list):
    """An ordered list of (key, value) pairs: a RESP3 map, a flat array in RESP2."""

    __slots__ = ()


class Set(list):
    """A RESP3 set (``~``); an array in RESP2."""

    __slots__ = ()


class Push(list):
    """An out-of-band RESP3 push (``>``); an array in RESP2 (pub/sub messages)."""

    __slots__ = ()


class Double(float):
    """A RESP3 double; RESP2 renders it as a bulk string."""

    __slots__ = ()


class Verbatim(str):
    """A RESP3 verbatim string (``=``), e.g. INFO; a bulk string in RESP2."""

    __slots__ = ()


class Bool(int):
    __slots__ = ()


class Raw:
    """A reply already encoded, per protocol: ``Raw(resp2_bytes, resp3_bytes)``.

    For constant replies taken verbatim from Redis (COMMAND INFO/DOCS) and for
    cached encodings of hot constant replies.
    """

    __slots__ = ("resp2", "resp3", "pushed")

    def __init__(self, resp2, resp3=None, pushed=False):
        self.resp2 = resp2
        self.resp3 = resp2 if resp3 is None else resp3
        #: pub/sub frames, sent even under CLIENT REPLY OFF (Redis's CLIENT_PUSHING)
        self.pushed = pushed


OK = Status("OK")
PONG = Status("PONG")
QUEUED = Status("QUEUED")

_CRLF = b"\r\n"
_NIL2 = b"$-1\r\n"
_NIL3 = b"_\r\n"
_SMALL_INTS = [b":%d\r\n" % i for i in range(-1, 1024)]
_BULK_HDR = [b"$%d\r\n" % i for i in range(0, 1024)]
_ARR_HDR = [b"*%d\r\n" % i for i in range(0, 1024)]


def format_double(value):
    """Redis's ``%.17g`` rendering with inf/-inf/nan spelled as Redis spells them."""
    if value != value:
        return b"nan"
    if value == float("inf"):
        return b"inf"
    if value == float("-inf"):
        return b"-inf"
    return (b"%.17g" % value)


def _bulk(data, out):
    n = len(data)
    out.append(_BULK_HDR[n] if n < 1024 else b"$%d\r\n" % n)
    out.append(data)
    out.append(_CRLF)


def _error_bytes(message):
    # Redis replaces newlines in error messages so the reply stays one line.
    if "\r" in message or "\n" in message:
        message = message.replace("\r", " ").replace("\n", " ")
    return b"-" + message.encode("utf-8", "surrogateescape") + b"\r\n"


def encode_into(value, out, resp3=False):
    """Append the RESP encoding of *value* to the list *out*."""
    t = type(value)
    if t is bytes:
        n = len(value)
        out.append(_BULK_HDR[n] if n < 1024 else b"$%d\r\n" % n)
        out.append(value)
        out.append(_CRLF)
    elif t is int:
        out.append(_SMALL_INTS[value + 1] if -1 <= value < 1023 else b":%d\r\n" % value)
    elif t is Status:
        out.append(value.wire)
    elif value is None:
        out.append(_NIL3 if resp3 else _NIL2)
    elif t is list or t is tuple:
        n = len(value)
        append = out.append
        append(_ARR_HDR[n] if n < 1024 else b"*%d\r\n" % n)
        for item in value:
            if type(item) is bytes:
                # the bytes branch above, inlined: LRANGE, MGET, ZRANGE... are arrays of bulks
                n = len(item)
                append(_BULK_HDR[n] if n < 1024 else b"$%d\r\n" % n)
                append(item)
                append(_CRLF)
            else:
                encode_into(item, out, resp3)
    elif t is ReplyError or isinstance(value, ReplyError):
        out.append(_error_bytes(value.message))
    elif t is bytearray or t is memoryview:
        _bulk(bytes(value), out)
    elif t is str:
        _bulk(value.encode("utf-8", "surrogateescape"), out)
    elif t is Map:
        if resp3:
            out.append(b"%%%d\r\n" % len(value))
        else:
            out.append(b"*%d\r\n" % (2 * len(value)))
        for k, v in value:
            encode_into(k, out, resp3)
            encode_into(v, out, resp3)
    elif t is Set:
        out.append((b"~%d\r\n" if resp3 else b"*%d\r\n") % len(value))
        for item in value:
            encode_into(item, out, resp3)
    elif t is Push:
        out.append((b">%d\r\n" if resp3 else b"*%d\r\n") % len(value))
        for item in value:
            encode_into(item, out, resp3)
    elif t is Double:
        if resp3:
            out.append(b"," + format_double(value) + _CRLF)
        else:
            _bulk(format_double(value), out)
    elif t is Verbatim:
        data = value.encode("utf-8", "surrogateescape")
        if resp3:
            out.append(b"=%d\r\ntxt:" % (len(data) + 4))
            out.append(data)
            out.append(_CRLF)
        else:
            _bulk(data, out)
    elif t is Bool:
        if resp3:
            out.append(b"#t\r\n" if value else b"#f\r\n")
        else:
            out.append(b":1\r\n" if value else b":0\r\n")
    elif t is Raw:
        out.append(value.resp3 if resp3 else value.resp2)
    elif value is NullArray:
        out.append(_NIL3 if resp3 else b"*-1\r\n")
    elif t is dict:
        encode_into(Map(value.items()), out, resp3)
    elif t is float:
        encode_into(Double(value), out, resp3)
    elif t is bool:
        encode_into(Bool(value), out, resp3)
    else:
        raise TypeError("cannot encode reply value of type %s" % t.__name__)


def encode(value, resp3=False):
    out = []
    encode_into(value, out, resp3)
    return b"".join(out)
