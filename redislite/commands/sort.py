"""SORT and SORT_RO, as Redis 7.0.15's sort.c.

Numbers are read with libc ``strtod`` semantics (leading blanks, hex,
``inf``; an empty string is 0; a C string ends at the first NUL; ERANGE and
NaN are errors), equal scores fall back to a binary compare of the elements,
ALPHA compares with ``strcoll`` in the C locale (bytes up to the first NUL)
unless STORE is given (binary compare with lengths), and the sort is stable
like glibc's merge-sort qsort.  ``BY`` without ``*`` skips sorting: lists and
zsets keep their order (DESC walks from the tail), sets keep theirs unless
the result is stored or the caller is a script, where Redis forces ALPHA so
replicas agree.  SORT on a zset converts it to the skiplist encoding, as
Redis does.

BY/GET patterns may name keys on any shard; every lookup is a shard op in
one synchronous chain, so the command stays atomic.  SORT ... STORE is
propagated verbatim (Redis does the same) when it changes the destination.
"""

from itertools import islice

from .. import errors
from ..blocking import signal_key_ready
from ..errors import ReplyError
from ..storage.types.hash import HashValue
from ..storage.types.list import ListValue
from ..storage.types.set import SetValue
from ..storage.types.zset import ZSet
from .args import to_int
from .registry import command
from .zsets import _DECIMAL, _strtod

_SYNTAX = ReplyError(errors.SYNTAX)
_NOT_INT = ReplyError(errors.NOT_INTEGER)
_WRONGTYPE = ReplyError(errors.WRONGTYPE)
_CONVERSION = ReplyError("ERR One or more scores can't be converted into double")
_SPACES = b" \t\n\v\f\r"


def _run(client, key, op, args):
    reply = client.server.router.call(client.db, key, op, args)
    if type(reply) is ReplyError:
        raise reply
    return reply


def _op_source(ks, key):
    """The value to sort (list, set or zset), or None; converts a zset to skiplist."""
    v = ks.lookup_read(key)
    if v is None:
        return None
    t = type(v)
    if t is ZSet:
        v.listpack = False
        return v
    if t is ListValue or t is SetValue:
        return v
    raise _WRONGTYPE


def _op_lookup(ks, args):
    """lookupKeyByPattern's read: a string value, or a hash field; None otherwise."""
    key, field = args
    v = ks.lookup_read(key)
    if v is None:
        return None
    if field is not None:
        if type(v) is not HashValue:
            return None
        r = v.get(field)
        return None if r is None else bytes(r)
    t = type(v)
    if t is bytes:
        return v
    if t is bytearray:
        return bytes(v)
    return None


def _cstr(b):
    i = b.find(b"\0")
    return b if i < 0 else b[:i]


class _Pattern:
    """A BY/GET pattern: ``#``, ``prefix*postfix`` or ``prefix*postfix->field``."""

    __slots__ = ("hash_self", "star", "prefix", "postfix", "field")

    def __init__(self, pat):
        pat = bytes(pat)
        self.hash_self = pat == b"#" or pat[:2] == b"#\0"
        c = _cstr(pat)
        p = c.find(b"*")
        self.star = p >= 0
        self.field = None
        if p < 0:
            return
        f = c.find(b"->", p + 1)
        fieldlen = 0
        if f >= 0 and f + 2 < len(c):
            fieldlen = len(pat) - f - 2
            self.field = pat[f + 2:]
        postfixlen = len(pat) - (p + 1) - (fieldlen + 2 if fieldlen else 0)
        self.prefix = pat[:p]
        self.postfix = pat[p + 1:p + 1 + postfixlen]

    def lookup(self, client, elem):
        if self.hash_self:
            return elem
        if not self.star:
            return None
        key = self.prefix + elem + self.postfix
        return _run(client, key, _op_lookup, (key, self.field))


def _score(b):
    """strtod over a C string; None when SORT would report a conversion error."""
    s = _cstr(b)
    if _DECIMAL(s) is not None:
        v = float(s)
        if v != 0 and v - v == 0:       # finite, non-zero: no ERANGE possible
            return v
    t = s.lstrip(_SPACES)
    if not t:
        return 0.0 if not s else None
    r = _strtod(t)
    if r is None or r[1] or r[0] != r[0]:
        return None
    return r[0]


def pqsort(v, cmp, lrange, rrange):
    """Redis's pqsort.c (NetBSD's Bentley-McIlroy qsort that skips partitions
    outside [lrange, rrange]), in place on list *v*.  SORT uses it for BY
    with LIMIT; it is not stable, so ties come out in its order, not Python's."""
    es = 16                               # element size: addresses are byte offsets, as in C
    lo_addr = lrange * es
    hi_addr = (rrange + 1) * es - 1

    def c(x, y):
        return cmp(v[x // es], v[y // es])

    def swap(x, y):
        i, j = x // es, y // es
        v[i], v[j] = v[j], v[i]

    def vecswap(x, y, n):
        for k in range(0, n, es):
            swap(x + k, y + k)

    def med3(a, b, cc):
        if c(a, b) < 0:
            return b if c(b, cc) < 0 else (cc if c(a, cc) < 0 else a)
        return b if c(b, cc) > 0 else (a if c(a, cc) < 0 else cc)

    def insertion(a, n):
        pm = a + es
        while pm < a + n * es:
            pl = pm
            while pl > a and c(pl - es, pl) > 0:
                swap(pl, pl - es)
                pl -= es
            pm += es

    stack = [(0, len(v))]
    while stack:
        a, n = stack.pop()
        while True:
            swap_cnt = 0
            if n < 7:
                insertion(a, n)
                break
            pm = a + (n // 2) * es
            if n > 7:
                pl = a
                pn = a + (n - 1) * es
                if n > 40:
                    d = (n // 8) * es
                    pl = med3(pl, pl + d, pl + 2 * d)
                    pm = med3(pm - d, pm, pm + d)
                    pn = med3(pn - 2 * d, pn - d, pn)
                pm = med3(pl, pm, pn)
            swap(a, pm)
            pa = pb = a + es
            pc = pd = a + (n - 1) * es
            while True:
                while pb <= pc:
                    r = c(pb, a)
                    if r > 0:
                        break
                    if r == 0:
                        swap_cnt = 1
                        swap(pa, pb)
                        pa += es
                    pb += es
                while pb <= pc:
                    r = c(pc, a)
                    if r < 0:
                        break
                    if r == 0:
                        swap_cnt = 1
                        swap(pc, pd)
                        pd -= es
                    pc -= es
                if pb > pc:
                    break
                swap(pb, pc)
                swap_cnt = 1
                pb += es
                pc -= es
            if swap_cnt == 0:
                insertion(a, n)
                break
            pn = a + n * es
            r = min(pa - a, pb - pa)
            vecswap(a, pb - r, r)
            r = min(pd - pc, pn - pd - es)
            vecswap(pb, pn - r, r)
            r = pb - pa
            if r > es:
                _l, _r = a, a + r - 1
                if not ((lo_addr < _l and hi_addr < _l) or (lo_addr > _r and hi_addr > _r)):
                    stack.append((a, r // es))
            r = pd - pc
            if r > es:
                a = pn - r
                n = r // es
                _l, _r = a, a + r - 1
                if not ((lo_addr < _l and hi_addr < _l) or (lo_addr > _r and hi_addr > _r)):
                    continue
            break


def _sort_key(alpha, bypattern, store):
    """A key function ordering exactly as sortCompare (for the full, stable sort)."""
    if not alpha:
        return lambda t: (t[1], t[0])
    if bypattern:
        if store:
            return lambda t: (0, b"") if t[1] is None else (1, t[1])
        return lambda t: (0, b"") if t[1] is None else (1, _cstr(t[1]))
    if store:
        return lambda t: t[0]
    return lambda t: _cstr(t[0])


def _sort_generic(client, argv, readonly):
    desc = alpha = dontsort = False
    limit_start, limit_count = 0, -1
    sortby = None
    storekey = None
    gets = []
    n = len(argv)
    j = 2
    while j < n:
        left = n - j - 1
        arg = bytes(argv[j]).lower()
        if arg == b"asc":
            desc = False
        elif arg == b"desc":
            desc = True
        elif arg == b"alpha":
            alpha = True
        elif arg == b"limit" and left >= 2:
            limit_start = to_int(argv[j + 1])
            if limit_start is None:
                raise _NOT_INT
            limit_count = to_int(argv[j + 2])
            if limit_count is None:
                raise _NOT_INT
            j += 2
        elif not readonly and arg == b"store" and left >= 1:
            storekey = argv[j + 1]
            j += 1
        elif arg == b"by" and left >= 1:
            sortby = argv[j + 1]
            dontsort = b"*" not in _cstr(bytes(sortby))
            if not dontsort:
                _acl_full_keys(client, argv, "BY")
            j += 1
        elif arg == b"get" and left >= 1:
            _acl_full_keys(client, argv, "GET")
            gets.append(_Pattern(argv[j + 1]))
            j += 1
        else:
            raise _SYNTAX
        j += 1

    src = argv[1]
    value = _run(client, src, _op_source, src)
    if value is None:
        value = ListValue()
    is_set = type(value) is SetValue
    is_zset = type(value) is ZSet
    if dontsort and is_set and (storekey is not None or getattr(client, "kind", None) == "lua"):
        dontsort = False
        alpha = True
        sortby = None

    vlen = len(value)
    start = min(max(limit_start, 0), vlen)
    limit_count = min(max(limit_count, -1), vlen)
    end = vlen - 1 if limit_count < 0 else start + limit_count - 1
    if start >= vlen:
        start = vlen - 1
        end = vlen - 2
    if end >= vlen:
        end = vlen - 1

    if dontsort and not is_set:
        # direct range load, in the stored order (DESC from the tail)
        if end >= start:
            if is_zset:
                if desc:
                    elems = [m for m, _ in value.range_by_rank(start, end, reverse=True)]
                else:
                    elems = [m for m, _ in value.range_by_rank(start, end)]
            else:
                items = value.items
                if desc:
                    elems = list(islice(reversed(items), start, end + 1))
                else:
                    elems = list(islice(items, start, end + 1))
        else:
            elems = []
        end -= start
        start = 0
    else:
        if is_zset:
            elems = [m for m, _ in value]
        elif is_set:
            elems = [bytes(m) for m in value]
        else:
            elems = list(value.items)

    if not dontsort:
        by = _Pattern(sortby) if sortby is not None else None
        conv_error = False
        if alpha:
            if by is not None:
                keyed = [(e, by.lookup(client, e)) for e in elems]
                binary = storekey is not None

                def cmp(a, b):
                    x, y = a[1], b[1]
                    if x is None or y is None:
                        if x is y:
                            return 0
                        return -1 if x is None else 1
                    if not binary:
                        x, y = _cstr(x), _cstr(y)
                    return (x > y) - (x < y)
            else:
                keyed = [(e, None) for e in elems]
                if storekey is not None:
                    def cmp(a, b):
                        return (a[0] > b[0]) - (a[0] < b[0])
                else:
                    def cmp(a, b):
                        x, y = _cstr(a[0]), _cstr(b[0])
                        return (x > y) - (x < y)
        else:
            keyed = []
            append = keyed.append
            decimal = _DECIMAL
            for e in elems:
                if by is not None:
                    bv = by.lookup(client, e)
                    if bv is None:
                        keyed.append((e, 0.0))
                        continue
                else:
                    bv = e
                if decimal(bv) is not None:
                    s = float(bv)
                    if s != 0 and s - s == 0:
                        append((e, s))
                        continue
                s = _score(bytes(bv))
                if s is None:
                    conv_error = True
                    s = 0.0
                keyed.append((e, s))

            def cmp(a, b):
                if a[1] > b[1]:
                    return 1
                if a[1] < b[1]:
                    return -1
                return (a[0] > b[0]) - (a[0] < b[0])
        if conv_error:
            raise _CONVERSION
        if by is not None and (start != 0 or end != len(keyed) - 1):
            pqsort(keyed, (lambda a, b: -cmp(a, b)) if desc else cmp, start, end)
        else:
            # glibc's qsort is a stable merge sort; a key sort with reverse=True
            # keeps ties in their original order just as the negated comparator does
            keyed.sort(key=_sort_key(alpha, by is not None, storekey is not None), reverse=desc)
        elems = [e for e, _ in keyed]

    picked = elems[start:end + 1] if end >= start else []
    if storekey is None:
        out = []
        for e in picked:
            if not gets:
                out.append(e)
            for g in gets:
                out.append(g.lookup(client, e))
        return out
    values = []
    for e in picked:
        if not gets:
            values.append(e)
        for g in gets:
            v = g.lookup(client, e)
            values.append(b"" if v is None else v)
    return _run(client, storekey, _op_store, (storekey, values, tuple(argv)))


def _op_store(ks, args):
    key, values, argv = args
    if values:
        existed = ks.lookup_write(key) is not None
        ks.set(key, ListValue(values))
        ks.notify("l", "sortstore", key)
        ks.shard.emit(ks.index, argv)
        if not existed:
            signal_key_ready(ks, key)
        return len(values)
    if ks.lookup_write(key) is not None:
        ks.delete(key)
        ks.notify("g", "del", key)
        ks.shard.emit(ks.index, argv)
    return 0


def _acl_full_keys(client, argv, option):
    """A restricted ACL user needs read access to every key for BY/GET patterns (Redis 7.0)."""
    user = getattr(client, "acl_user", None)
    if user is None and client.kind == "lua":
        user = client.script_caller.acl_user        # a script runs as its caller's user
    if user is not None:
        from ..acl import lookup_argv
        if not user.full_key_access(lookup_argv(argv), argv):
            raise ReplyError("ERR %s option of SORT denied due to insufficient ACL permissions." % option)


@command("sort")
def sort(client, argv):
    return _sort_generic(client, argv, False)


@command("sort_ro")
def sort_ro(client, argv):
    return _sort_generic(client, argv, True)

