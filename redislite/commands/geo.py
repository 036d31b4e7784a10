"""The GEO family on top of the zset type, as Redis 7.0.15's geo.c.

A point is a zset member whose score is the 52-bit interleaved geohash
(:mod:`redislite.geohash`), so GEOADD is literally a ZADD (and is propagated
as the ``ZADD key [opts] <score> <member> ...`` Redis rewrites it into) and
every zset command works on geo keys.  Searches scan the same nine geohash
boxes Redis computes, in the same order, so COUNT ... ANY stops on the same
points; results are then sorted by distance with a stable sort (glibc's
qsort is a merge sort for these sizes).

GEORADIUS/GEORADIUSBYMEMBER ... STORE|STOREDIST and GEOSEARCHSTORE are
propagated verbatim when they change the destination, as Redis does.
"""

from .. import errors
from .. import geohash as gh
from ..errors import ReplyError
from ..resp.encoder import NullArray, Raw
from ..storage.types.zset import ZSet
from .args import to_int
from .registry import command
from .sort import pqsort
from .zsets import _get, _limits, _op_read_zset, _op_store_zset, _run, _zadd_generic, parse_score

_SYNTAX = ReplyError(errors.SYNTAX)
_NOT_FLOAT = ReplyError(errors.NOT_FLOAT)
_NOT_INT = ReplyError(errors.NOT_INTEGER)
_UNIT = ReplyError("ERR unsupported unit provided. please use M, KM, FT, MI")
_RADIUS_NUM = ReplyError("ERR need numeric radius")
_RADIUS_NEG = ReplyError("ERR radius cannot be negative")
_WIDTH_NUM = ReplyError("ERR need numeric width")
_HEIGHT_NUM = ReplyError("ERR need numeric height")
_BOX_NEG = ReplyError("ERR height or width cannot be negative")
_NO_MEMBER = ReplyError("ERR could not decode requested zset member")
_COUNT = ReplyError("ERR COUNT must be > 0")
_ANY = ReplyError("ERR the ANY argument requires COUNT argument")

_UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}


def _unit(arg):
    u = _UNITS.get(bytes(arg).lower())
    if u is None:
        raise _UNIT
    return u


def _lonlat(a, b):
    """extractLongLatOrReply."""
    x = parse_score(a)
    y = parse_score(b)
    if x < gh.LONG_MIN or x > gh.LONG_MAX or y < gh.LAT_MIN or y > gh.LAT_MAX:
        raise ReplyError("ERR invalid longitude,latitude pair %f,%f" % (x, y))
    return x, y


def human(d):
    """ld2string(LD_STR_HUMAN): %.17Lf of the (exactly widened) double, trailing zeros cut."""
    s = b"%.17f" % d
    if b"." in s:
        s = s.rstrip(b"0")
        if s.endswith(b"."):
            s = s[:-1]
    return s


def _human_reply(d):
    s = human(d)
    return Raw(b"$%d\r\n%s\r\n" % (len(s), s), b",%s\r\n" % s)


def _dist(d):
    return b"%.4f" % d


# ---------------------------------------------------------------------------
# GEOADD
# ---------------------------------------------------------------------------

@command("geoadd")
def geoadd(client, argv):
    n = len(argv)
    idx = 2
    nx = xx = False
    while idx < n:
        opt = bytes(argv[idx]).lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt != b"ch":
            break
        idx += 1
    if (n - idx) % 3 or (nx and xx):
        raise _SYNTAX
    zargv = [b"zadd"] + list(argv[1:idx])
    for j in range(idx, n, 3):
        x, y = _lonlat(argv[j], argv[j + 1])
        zargv.append(b"%d" % gh.score_of(x, y))
        zargv.append(argv[j + 2])
    return _zadd_generic(client, zargv, 0)


# ---------------------------------------------------------------------------
# point reads (shard ops)
# ---------------------------------------------------------------------------

@command("geopos", shard_op=True)
def geopos(ks, argv):
    z = _get(ks, argv[1])
    out = []
    for m in argv[2:]:
        s = None if z is None else z.scores.get(bytes(m))
        if s is None:
            out.append(NullArray)
        else:
            x, y = gh.decode_score(s)
            out.append([_human_reply(x), _human_reply(y)])
    return out


@command("geohash", shard_op=True)
def geohash(ks, argv):
    z = _get(ks, argv[1])
    out = []
    for m in argv[2:]:
        s = None if z is None else z.scores.get(bytes(m))
        out.append(None if s is None else gh.standard_geohash(s))
    return out


@command("geodist", shard_op=True)
def geodist(ks, argv):
    to_meter = 1.0
    if len(argv) == 5:
        to_meter = _unit(argv[4])
    elif len(argv) > 5:
        raise _SYNTAX
    z = _get(ks, argv[1])
    if z is None:
        return None
    s1 = z.scores.get(bytes(argv[2]))
    s2 = z.scores.get(bytes(argv[3]))
    if s1 is None or s2 is None:
        return None
    x1, y1 = gh.decode_score(s1)
    x2, y2 = gh.decode_score(s2)
    return _dist(gh.distance(x1, y1, x2, y2) / to_meter)


# ---------------------------------------------------------------------------
# searches
# ---------------------------------------------------------------------------

COORDS, MEMBER, NOSTORE, SEARCH, SEARCHSTORE = 1, 2, 4, 8, 16
SORT_NONE, SORT_ASC, SORT_DESC = 0, 1, 2


def _distance_args(shape, a, unit):
    r = parse_score(a, _RADIUS_NUM)
    if r < 0:
        raise _RADIUS_NEG
    shape.radius = r
    shape.conversion = _unit(unit)
    shape.circle = True


def _box_args(shape, w, h, unit):
    w = parse_score(w, _WIDTH_NUM)
    h = parse_score(h, _HEIGHT_NUM)
    if h < 0 or w < 0:
        raise _BOX_NEG
    shape.width = w
    shape.height = h
    shape.conversion = _unit(unit)
    shape.circle = False


def _member_pos(z, member):
    s = z.scores.get(bytes(member))
    if s is None:
        raise _NO_MEMBER
    return gh.decode_score(s)


def find_points(z, shape, limit):
    """membersOfAllNeighbors: [(dist_m, lon, lat, member, score)] in scan order.

    *limit* (COUNT with ANY) stops the scan as soon as that many points matched.
    """
    found = []
    walk = z.walk_by_score
    contains = shape.contains
    decode = gh.decode_score
    for lo, hi in gh.search_boxes(shape):
        if found and limit and len(found) >= limit:
            break
        for m, s in walk(float(lo), float(hi)):
            x, y = decode(s)
            d = contains(x, y)
            if d is not None:
                found.append((d, x, y, m, s))
            if found and limit and len(found) >= limit:
                break
    return found


def _georadius(client, argv, src_idx, flags):
    src = argv[src_idx]
    z = _run(client, src, _op_read_zset, src)
    shape = gh.Shape()
    storekey = None
    storedist = False
    if flags & COORDS:
        base = 6
        shape.x, shape.y = _lonlat(argv[2], argv[3])
        _distance_args(shape, argv[4], argv[5])
    elif flags & MEMBER and z is None:
        base = 5
    elif flags & MEMBER:
        base = 5
        shape.x, shape.y = _member_pos(z, argv[2])
        _distance_args(shape, argv[3], argv[4])
    else:
        base = 2
        if flags & SEARCHSTORE:
            base = 3
            storekey = argv[1]
    withdist = withhash = withcoords = False
    frommember = fromloc = byradius = bybox = False
    sort = SORT_NONE
    any_ = False
    count = 0
    n = len(argv)
    remaining = n - base
    i = 0
    while i < remaining:
        arg = bytes(argv[base + i]).lower()
        if arg == b"withdist":
            withdist = True
        elif arg == b"withhash":
            withhash = True
        elif arg == b"withcoord":
            withcoords = True
        elif arg == b"any":
            any_ = True
        elif arg == b"asc":
            sort = SORT_ASC
        elif arg == b"desc":
            sort = SORT_DESC
        elif arg == b"count" and i + 1 < remaining:
            count = to_int(argv[base + i + 1])
            if count is None:
                raise _NOT_INT
            if count <= 0:
                raise _COUNT
            i += 1
        elif arg in (b"store", b"storedist") and i + 1 < remaining \
                and not flags & NOSTORE and not flags & SEARCH:
            storekey = argv[base + i + 1]
            storedist = arg == b"storedist"
            i += 1
        elif arg == b"storedist" and flags & SEARCH and flags & SEARCHSTORE:
            storedist = True
        elif arg == b"frommember" and i + 1 < remaining and flags & SEARCH and not fromloc:
            if z is not None:
                shape.x, shape.y = _member_pos(z, argv[base + i + 1])
            frommember = True
            i += 1
        elif arg == b"fromlonlat" and i + 2 < remaining and flags & SEARCH and not frommember:
            shape.x, shape.y = _lonlat(argv[base + i + 1], argv[base + i + 2])
            fromloc = True
            i += 2
        elif arg == b"byradius" and i + 2 < remaining and flags & SEARCH and not bybox:
            _distance_args(shape, argv[base + i + 1], argv[base + i + 2])
            byradius = True
            i += 2
        elif arg == b"bybox" and i + 3 < remaining and flags & SEARCH and not byradius:
            _box_args(shape, argv[base + i + 1], argv[base + i + 2], argv[base + i + 3])
            bybox = True
            i += 3
        else:
            raise _SYNTAX
        i += 1

    if storekey is not None and (withdist or withhash or withcoords):
        raise ReplyError("ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
                         % ("GEOSEARCHSTORE" if flags & SEARCHSTORE else "STORE option in GEORADIUS"))
    name = bytes(argv[0]).decode("utf-8", "surrogateescape")
    if flags & SEARCH and not (frommember or fromloc):
        raise ReplyError("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %s" % name)
    if flags & SEARCH and not (byradius or bybox):
        raise ReplyError("ERR exactly one of BYRADIUS and BYBOX can be specified for %s" % name)
    if any_ and not count:
        raise _ANY

    event = "geosearchstore" if flags & SEARCH else "georadiusstore"
    if z is None:
        if storekey is not None:
            return _run(client, storekey, _op_store_zset, (storekey, None, tuple(argv), event))
        return []
    if count and sort == SORT_NONE and not any_:
        sort = SORT_ASC

    found = find_points(z, shape, count if any_ else 0)
    if not found and storekey is None:
        return []
    if sort != SORT_NONE:
        if count and count < len(found):
            # pqsort (not stable): points at the same distance come out in its order
            pqsort(found, _cmp_desc if sort == SORT_DESC else _cmp_asc, 0, count - 1)
        elif sort == SORT_ASC:
            found.sort(key=_by_dist)
        else:
            found.sort(key=_by_dist, reverse=True)
    if count and count < len(found):
        del found[count:]
    conv = shape.conversion

    if storekey is None:
        out = []
        plain = not (withdist or withhash or withcoords)
        for d, x, y, m, s in found:
            if plain:
                out.append(m)
                continue
            item = [m]
            if withdist:
                item.append(_dist(d / conv))
            if withhash:
                item.append(int(s))
            if withcoords:
                item.append([_human_reply(x), _human_reply(y)])
            out.append(item)
        return out

    result = None
    if found:
        result = ZSet.from_dict({m: (d / conv if storedist else s) for d, x, y, m, s in found},
                                _limits(client))
    return _run(client, storekey, _op_store_zset, (storekey, result, tuple(argv), event))


def _by_dist(p):
    return p[0]


def _cmp_asc(a, b):
    return 1 if a[0] > b[0] else (0 if a[0] == b[0] else -1)


def _cmp_desc(a, b):
    return -_cmp_asc(a, b)


@command("georadius")
def georadius(client, argv):
    return _georadius(client, argv, 1, COORDS)


@command("georadiusbymember")
def georadiusbymember(client, argv):
    return _georadius(client, argv, 1, MEMBER)


@command("georadius_ro")
def georadius_ro(client, argv):
    return _georadius(client, argv, 1, COORDS | NOSTORE)


@command("georadiusbymember_ro")
def georadiusbymember_ro(client, argv):
    return _georadius(client, argv, 1, MEMBER | NOSTORE)


@command("geosearch")
def geosearch(client, argv):
    return _georadius(client, argv, 1, SEARCH)


@command("geosearchstore")
def geosearchstore(client, argv):
    return _georadius(client, argv, 2, SEARCH | SEARCHSTORE)
