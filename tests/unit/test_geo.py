"""GEO and SORT without a network: the geohash math, write events and
cross-shard behaviour the differential suite cannot see directly."""

import math

import pytest
from twisted.internet import task

from redislite import geohash as gh
from redislite.commands import load_all
from redislite.config import Config
from redislite.errors import ReplyError
from redislite.protocol import Client
from redislite.resp.encoder import NullArray, encode
from redislite.server import Server

load_all()


@pytest.fixture
def env():
    clock = task.Clock()
    clock.advance(1_700_000_000)
    srv = Server(Config.defaults(), clock)
    events = []
    srv.bus.subscribe(lambda db, argv: events.append(tuple(bytes(a) for a in argv)))
    return srv, Client(srv), events


# -- geohash ---------------------------------------------------------------------

def test_known_scores_and_hashes():
    # values read from redis-server 7.0.15
    assert gh.score_of(13.361389, 38.115556) == 3479099956230698
    assert gh.score_of(15.087269, 37.502669) == 3479447370796909
    assert gh.standard_geohash(3479099956230698) == b"sqc8b49rny0"
    assert gh.standard_geohash(3479447370796909) == b"sqdtr74hyu0"
    x, y = gh.decode_score(3479099956230698)
    assert (b"%.17f" % x, b"%.17f" % y) == (b"13.36138933897018433", b"38.11555639549629859")


def test_interleave_roundtrip():
    for a, b in ((0, 0), (1, 0), (0, 1), (0xFFFFFFFF, 0), (0x3FFFFFF, 0x2AAAAAA), (123456, 654321)):
        assert gh.deinterleave64(gh.interleave64(a, b)) == (a, b)


def test_score_cast_matches_gcc():
    assert gh._score_bits(-1.0) == (1 << 64) - 1
    assert gh._score_bits(1.5) == 1
    assert gh._score_bits(math.inf) == 0
    assert gh._score_bits(1e300) == 0
    assert gh._score_bits(math.nan) == 1 << 63
    assert gh._score_bits(-1e300) == 1 << 63
    assert gh._score_bits(2.0 ** 63) == 1 << 63


def test_distance_and_steps():
    d = gh.distance(13.36138933897018433, 38.11555639549629859, 15.08726745843887329, 37.50266842333162032)
    assert b"%.4f" % d == b"166274.1516"
    assert gh.estimate_steps(0, 0) == 26
    assert gh.estimate_steps(5_000_000, 0) == 2
    assert gh.estimate_steps(50_000_000, 0) == 1
    assert gh.estimate_steps(100, 0) == 17
    assert gh.estimate_steps(100, 70) == 16
    assert gh.estimate_steps(100, -81) == 15


def test_search_boxes_cover_and_dedupe():
    s = gh.Shape()
    s.x, s.y, s.radius, s.conversion = 15.0, 37.0, 200.0, 1000.0
    boxes = gh.search_boxes(s)
    assert 1 <= len(boxes) <= 9
    assert all(lo < hi for lo, hi in boxes)
    centre = gh.score_of(15.0, 37.0)
    assert any(lo <= centre < hi for lo, hi in boxes)


# -- commands ----------------------------------------------------------------------

def test_geoadd_propagates_as_zadd(env):
    srv, c, events = env
    assert c.call("GEOADD", "k", "CH", "13.361389", "38.115556", "Palermo") == 1
    assert events == [(b"zadd", b"k", b"CH", b"3479099956230698", b"Palermo")]
    events.clear()
    assert c.call("GEOADD", "k", "NX", "1", "1", "Palermo") == 0
    assert events == []
    with pytest.raises(ReplyError) as e:
        raise c.call("GEOADD", "k", "1", "99", "x")
    assert str(e.value) == "ERR invalid longitude,latitude pair 1.000000,99.000000"
    assert events == []


def test_geopos_shapes(env):
    srv, c, _ = env
    c.call("GEOADD", "k", "13.361389", "38.115556", "Palermo")
    reply = c.call("GEOPOS", "k", "Palermo", "nope")
    assert reply[1] is NullArray
    assert encode(reply, False) == (b"*2\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n"
                                    b"*-1\r\n")
    assert encode(reply, True) == b"*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n"


def test_searchstore_events_and_cross_shard(env):
    srv, c, events = env
    c.call("GEOADD", "src", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania")
    events.clear()
    for i in range(8):     # destinations on every shard
        dst = "dst%d" % i
        assert c.call("GEOSEARCHSTORE", dst, "src", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km") == 2
        assert c.call("ZRANGE", dst, "0", "-1") == [b"Palermo", b"Catania"]
    assert len(events) == 8 and all(e[0] == b"GEOSEARCHSTORE" for e in events)
    events.clear()
    assert c.call("GEOSEARCHSTORE", "dst0", "src", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m") == 0
    assert c.call("EXISTS", "dst0") == 0
    assert len(events) == 1
    events.clear()
    assert c.call("GEOSEARCHSTORE", "dst0", "src", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m") == 0
    assert events == []


def test_sort_by_and_get_across_shards(env):
    srv, c, events = env
    c.call("RPUSH", "l", *[str(i) for i in range(20)])
    for i in range(20):
        c.call("SET", "w_%d" % i, str(100 - i))
        c.call("HSET", "h_%d" % i, "f", "v%d" % i)
    assert c.call("SORT", "l", "BY", "w_*", "LIMIT", "0", "3") == [b"19", b"18", b"17"]
    assert c.call("SORT", "l", "BY", "w_*", "GET", "h_*->f", "LIMIT", "0", "2") == [b"v19", b"v18"]
    events.clear()
    assert c.call("SORT", "l", "BY", "w_*", "GET", "#", "GET", "nope_*", "LIMIT", "0", "2", "STORE", "d") == 4
    assert c.call("LRANGE", "d", "0", "-1") == [b"19", b"", b"18", b""]
    assert events == [(b"SORT", b"l", b"BY", b"w_*", b"GET", b"#", b"GET", b"nope_*", b"LIMIT", b"0", b"2",
                       b"STORE", b"d")]


def test_sort_converts_zset_and_errors(env):
    srv, c, _ = env
    c.call("ZADD", "z", "1", "a")
    assert c.call("OBJECT", "ENCODING", "z") == b"listpack"
    err = c.call("SORT", "z")
    assert isinstance(err, ReplyError) and str(err) == "ERR One or more scores can't be converted into double"
    assert c.call("OBJECT", "ENCODING", "z") == b"skiplist"
    assert str(c.call("SORT_RO", "z", "STORE", "x")) == "ERR syntax error"


def test_pqsort_sorts_the_requested_window():
    import random
    from functools import cmp_to_key
    from redislite.commands.sort import pqsort
    rng = random.Random(1)
    for _ in range(200):
        n = rng.randint(0, 120)
        v = [rng.randint(0, 30) for _ in range(n)]
        lo = rng.randint(0, max(0, n - 1))
        hi = rng.randint(lo, max(lo, n - 1))
        w = list(v)
        pqsort(w, lambda a, b: (a > b) - (a < b), lo, hi)
        assert sorted(w) == sorted(v)
        assert w[lo:hi + 1] == sorted(v, key=cmp_to_key(lambda a, b: (a > b) - (a < b)))[lo:hi + 1]
