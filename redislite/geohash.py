"""Redis's 52-bit interleaved geohash (geohash.c / geohash_helper.c, 7.0).

Reproduced operation for operation in IEEE doubles so that stored scores,
decoded positions, distances and the set of search boxes are bit-identical
to redis-server's: a point is a zset score, and any difference in the last
bit would change ZSCORE, GEOPOS and which points a search returns.
Python floats are C doubles and ``math`` calls the same libm, so the same
expression order gives the same result (x86-64 builds do not fuse
multiply-adds).
"""

import math

STEP_MAX = 26
LAT_MIN = -85.05112878
LAT_MAX = 85.05112878
LONG_MIN = -180.0
LONG_MAX = 180.0

D_R = math.pi / 180.0
EARTH_RADIUS_IN_METERS = 6372797.560856
MERCATOR_MAX = 20037726.37

_M64 = (1 << 64) - 1
_B = (0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F,
      0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF, 0x00000000FFFFFFFF)


def interleave64(xlo, ylo):
    """x bits to the even positions, y bits to the odd (both < 2**32)."""
    x, y = xlo & 0xFFFFFFFF, ylo & 0xFFFFFFFF
    for s, b in ((16, _B[4]), (8, _B[3]), (4, _B[2]), (2, _B[1]), (1, _B[0])):
        x = (x | (x << s)) & b
        y = (y | (y << s)) & b
    return x | (y << 1)


def _split16(v):
    x = y = 0
    for i in range(8):
        x |= ((v >> (2 * i)) & 1) << i
        y |= ((v >> (2 * i + 1)) & 1) << i
    return x | (y << 8)


#: 16-bit chunk -> even bits (low byte) | odd bits (high byte): the hot decode path
_SPLIT = [_split16(v) for v in range(1 << 16)]


def deinterleave64(v):
    """(even bits, odd bits) of a 64-bit value (table-driven, 4 lookups)."""
    t = _SPLIT
    a = t[v & 0xFFFF]
    b = t[(v >> 16) & 0xFFFF]
    c = t[(v >> 32) & 0xFFFF]
    d = t[(v >> 48) & 0xFFFF]
    return ((a & 0xFF) | ((b & 0xFF) << 8) | ((c & 0xFF) << 16) | ((d & 0xFF) << 24),
            (a >> 8) | ((b >> 8) << 8) | ((c >> 8) << 16) | ((d >> 8) << 24))


def _deinterleave64_ref(v):
    """(even bits, odd bits) of a 64-bit value."""
    x = v & _M64
    y = x >> 1
    for s, b in ((0, _B[0]), (1, _B[1]), (2, _B[2]), (4, _B[3]), (8, _B[4]), (16, _B[5])):
        x = (x | (x >> s)) & b
        y = (y | (y >> s)) & b
    return x, y


def _u32(d):
    """C's double -> uint32_t conversion (truncation; in-range values only)."""
    return int(d) & 0xFFFFFFFF


def encode(lon, lat, step=STEP_MAX, lon_range=(LONG_MIN, LONG_MAX), lat_range=(LAT_MIN, LAT_MAX)):
    """geohashEncode: the step-bit hash (not aligned), or None when out of range."""
    if lon > LONG_MAX or lon < LONG_MIN or lat > LAT_MAX or lat < LAT_MIN:
        return None
    if lat < lat_range[0] or lat > lat_range[1] or lon < lon_range[0] or lon > lon_range[1]:
        return None
    lat_off = (lat - lat_range[0]) / (lat_range[1] - lat_range[0])
    lon_off = (lon - lon_range[0]) / (lon_range[1] - lon_range[0])
    lat_off *= (1 << step)
    lon_off *= (1 << step)
    return interleave64(_u32(lat_off), _u32(lon_off))


def align52(bits, step):
    return (bits << (52 - step * 2)) & _M64


def score_of(lon, lat):
    """The zset score GEOADD stores (an integer below 2**54)."""
    return align52(encode(lon, lat), STEP_MAX)


def decode_area(bits, step, lon_range=(LONG_MIN, LONG_MAX), lat_range=(LAT_MIN, LAT_MAX)):
    """geohashDecode -> (lon_min, lon_max, lat_min, lat_max)."""
    ilat, ilon = deinterleave64(bits)
    lat_scale = lat_range[1] - lat_range[0]
    lon_scale = lon_range[1] - lon_range[0]
    div = float(1 << step)
    return (lon_range[0] + (ilon * 1.0 / div) * lon_scale,
            lon_range[0] + ((ilon + 1) * 1.0 / div) * lon_scale,
            lat_range[0] + (ilat * 1.0 / div) * lat_scale,
            lat_range[0] + ((ilat + 1) * 1.0 / div) * lat_scale)


def _score_bits(score):
    """C's ``(uint64_t)score`` as gcc emits it on x86-64: below 2**63 a
    signed cvttsd2si (0x8000000000000000 when out of range or NaN); from 2**63
    up, cvttsd2si(score - 2**63) with the top bit flipped (so inf is 0)."""
    if score != score:
        return 1 << 63
    if score >= 9223372036854775808.0:
        rest = score - 9223372036854775808.0
        low = int(rest) if rest < 9223372036854775808.0 else 1 << 63
        return low ^ (1 << 63)
    if score < -9223372036854775808.0:
        return 1 << 63
    return int(score) & _M64


def decode_score(score):
    """decodeGeohash: the (lon, lat) centre of the cell a score names."""
    lo_lon, hi_lon, lo_lat, hi_lat = decode_area(_score_bits(score), STEP_MAX)
    x = (lo_lon + hi_lon) / 2
    if x > LONG_MAX:
        x = LONG_MAX
    if x < LONG_MIN:
        x = LONG_MIN
    y = (lo_lat + hi_lat) / 2
    if y > LAT_MAX:
        y = LAT_MAX
    if y < LAT_MIN:
        y = LAT_MIN
    return x, y


def distance(lon1, lat1, lon2, lat2):
    """geohashGetDistance (haversine, Redis 7.0's expression order)."""
    lat1r = lat1 * D_R
    lon1r = lon1 * D_R
    lat2r = lat2 * D_R
    lon2r = lon2 * D_R
    u = math.sin((lat2r - lat1r) / 2)
    v = math.sin((lon2r - lon1r) / 2)
    return 2.0 * EARTH_RADIUS_IN_METERS * math.asin(math.sqrt(u * u + math.cos(lat1r) * math.cos(lat2r) * v * v))


_ALPHABET = b"0123456789bcdefghjkmnpqrstuvwxyz"


def standard_geohash(score):
    """GEOHASH's 11-character string: re-encoded on the -90..90 latitude range."""
    lon, lat = decode_score(score)
    bits = encode(lon, lat, 26, (-180.0, 180.0), (-90.0, 90.0))
    if bits is None:
        bits = 0
    out = bytearray()
    for i in range(11):
        idx = 0 if i == 10 else (bits >> (52 - (i + 1) * 5)) & 0x1F
        out.append(_ALPHABET[idx])
    return bytes(out)


# ---------------------------------------------------------------------------
# search areas
# ---------------------------------------------------------------------------

def estimate_steps(range_meters, lat):
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    if step < 1:
        step = 1
    if step > 26:
        step = 26
    return step


def _move_x(bits, step, d):
    x = bits & 0xAAAAAAAAAAAAAAAA
    y = bits & 0x5555555555555555
    zz = 0x5555555555555555 >> (64 - step * 2)
    if d > 0:
        x = (x + (zz + 1)) & _M64
    else:
        x = x | zz
        x = (x - (zz + 1)) & _M64
    x &= (0xAAAAAAAAAAAAAAAA >> (64 - step * 2))
    return x | y


def _move_y(bits, step, d):
    x = bits & 0xAAAAAAAAAAAAAAAA
    y = bits & 0x5555555555555555
    zz = 0xAAAAAAAAAAAAAAAA >> (64 - step * 2)
    if d > 0:
        y = (y + (zz + 1)) & _M64
    else:
        y = y | zz
        y = (y - (zz + 1)) & _M64
    y &= (0x5555555555555555 >> (64 - step * 2))
    return x | y


class Shape:
    """GeoShape: centre, circle radius or box width/height, unit conversion."""

    __slots__ = ("x", "y", "circle", "radius", "width", "height", "conversion")

    def __init__(self):
        self.x = self.y = 0.0
        self.circle = True
        self.radius = self.width = self.height = 0.0
        self.conversion = 1.0

    def bounding_box(self):
        h = self.conversion * (self.radius if self.circle else self.height / 2)
        w = self.conversion * (self.radius if self.circle else self.width / 2)
        lat_delta = (h / EARTH_RADIUS_IN_METERS) / D_R
        top = (w / EARTH_RADIUS_IN_METERS / math.cos((self.y + lat_delta) * D_R)) / D_R
        bottom = (w / EARTH_RADIUS_IN_METERS / math.cos((self.y - lat_delta) * D_R)) / D_R
        south = self.y < 0
        return (self.x - bottom if south else self.x - top, self.y - lat_delta,
                self.x + bottom if south else self.x + top, self.y + lat_delta)

    def contains(self, lon, lat):
        """geoAppendIfWithinShape's test: the distance, or None when outside."""
        if self.circle:
            d = distance(self.x, self.y, lon, lat)
            return None if d > self.radius * self.conversion else d
        lon_d = distance(lon, lat, self.x, lat)
        lat_d = distance(lon, lat, lon, self.y)
        if lon_d > self.width * self.conversion / 2 or lat_d > self.height * self.conversion / 2:
            return None
        return distance(self.x, self.y, lon, lat)


def search_boxes(shape):
    """geohashCalculateAreasByShapeWGS84 + membersOfAllNeighbors' walk:
    the [min, max) score ranges to scan, in Redis's order (centre, N, S, E, W,
    NE, NW, SE, SW; a range equal to the previously scanned one is skipped)."""
    min_lon, min_lat, max_lon, max_lat = shape.bounding_box()
    if shape.circle:
        radius_m = shape.radius
    else:
        radius_m = math.sqrt((shape.width / 2) * (shape.width / 2) + (shape.height / 2) * (shape.height / 2))
    radius_m *= shape.conversion
    steps = estimate_steps(radius_m, shape.y)

    def around(steps):
        h = encode(shape.x, shape.y, steps)
        if h is None:
            h = 0
        n = {
            "e": _move_x(h, steps, 1), "w": _move_x(h, steps, -1),
            "s": _move_y(h, steps, -1), "n": _move_y(h, steps, 1),
            "nw": _move_y(_move_x(h, steps, -1), steps, 1),
            "ne": _move_y(_move_x(h, steps, 1), steps, 1),
            "se": _move_y(_move_x(h, steps, 1), steps, -1),
            "sw": _move_y(_move_x(h, steps, -1), steps, -1),
        }
        return h, n

    h, nb = around(steps)
    area = decode_area(h, steps)
    north = decode_area(nb["n"], steps)
    south = decode_area(nb["s"], steps)
    east = decode_area(nb["e"], steps)
    west = decode_area(nb["w"], steps)
    decrease = (north[3] < max_lat or south[2] > min_lat or east[1] < max_lon or west[0] > min_lon)
    if steps > 1 and decrease:
        steps -= 1
        h, nb = around(steps)
        area = decode_area(h, steps)
    boxes = [(h, steps)] + [(nb[k], steps) for k in ("n", "s", "e", "w", "ne", "nw", "se", "sw")]
    zero = (0, 0)
    if steps >= 2:
        idx = {"n": 1, "s": 2, "e": 3, "w": 4, "ne": 5, "nw": 6, "se": 7, "sw": 8}
        if area[2] < min_lat:
            for k in ("s", "sw", "se"):
                boxes[idx[k]] = zero
        if area[3] > max_lat:
            for k in ("n", "ne", "nw"):
                boxes[idx[k]] = zero
        if area[0] < min_lon:
            for k in ("w", "sw", "nw"):
                boxes[idx[k]] = zero
        if area[1] > max_lon:
            for k in ("e", "se", "ne"):
                boxes[idx[k]] = zero
    out = []
    last = 0        # C's last_processed: index 0 (the centre) never dedupes
    for i, (bits, step) in enumerate(boxes):
        if bits == 0 and step == 0:
            continue
        if last and (bits, step) == boxes[last]:
            continue
        last = i
        lo = align52(bits, step)
        hi = align52(bits + 1, step)
        out.append((lo, hi))
    return out
