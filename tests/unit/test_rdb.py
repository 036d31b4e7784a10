"""RDB format: CRC-64, LZF, encodings, round trips, corruption, SAVE/BGSAVE (no network)."""

import os
import struct

import pytest
from twisted.internet import task

from redislite.commands import load_all
from redislite.config import Config
from redislite.persistence import crc64 as C, lzf, rdb, diskio, load_now, Persistence
from redislite.persistence.recovery import LoadError
from redislite.protocol import Client
from redislite.server import Server

load_all()
import redislite.commands.persistence  # noqa: E402,F401  (bound even if FAMILIES lags)

NOW = 1_700_000_000


@pytest.fixture(autouse=True)
def no_fork(monkeypatch):
    monkeypatch.setattr(Persistence, "use_fork", False)
    monkeypatch.setattr(diskio, "fault", None)


def make(tmp_path, **cfg):
    values = {"dir": str(tmp_path)}
    values.update({k.replace("_", "-"): v for k, v in cfg.items()})
    clock = task.Clock()
    clock.advance(NOW)
    srv = Server(Config.defaults().with_changes(values), clock)
    return srv, Client(srv), clock


def fill(c):
    c.call("SET", "s", "hello")
    c.call("SET", "n", "-12345")
    c.call("SET", "big", "x" * 500)
    c.call("SET", "ttl", "v", "PX", "100000")
    c.call("RPUSH", "l", "a", "1", "c" * 100)
    c.call("SADD", "si", "1", "2", "3")
    c.call("SADD", "ss", "x", "y")
    c.call("HSET", "h", "f", "v", "n", "7")
    # ZADD may not be bound yet (zset commands land separately): use the value class
    from redislite.storage.types.zset import ZSet
    z = ZSet(True)
    for m, sc in ((b"m1", 1.5), (b"m2", float("inf")), (b"m3", -3.0)):
        z.add(m, sc)
    c.server.router.shard_for(b"z").dbs[0].set(b"z", z)
    c.call("SELECT", "5")
    c.call("SET", "db5", "five")
    c.call("SELECT", "0")


def dump_state(c, dbs=(0, 5)):
    out = {}
    for db in dbs:
        c.call("SELECT", db)
        for key in c.call("KEYS", "*"):
            t = c.call("TYPE", key).text
            if t == "string":
                v = c.call("GET", key)
            elif t == "list":
                v = c.call("LRANGE", key, 0, -1)
            elif t == "set":
                v = sorted(c.call("SMEMBERS", key))
            elif t == "hash":
                v = sorted(c.call("HGETALL", key))
            else:
                v = list(c.server.router.shard_for(key).dbs[db].lookup_read(key))
            out[(db, key)] = (t, v, c.call("PTTL", key))
    c.call("SELECT", 0)
    return out


# -- primitives ----------------------------------------------------------------------
def test_crc64_check_value_and_striped_path():
    assert C.crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    data = os.urandom(C.LANES * C.WIDTH * 2 + 12345)
    assert C.crc64(data) == C._slow(0, data)
    assert C.crc64(data[777:], C.crc64(data[:777])) == C._slow(0, data)
    assert C.combine(C.crc64(b"abc"), C.crc64(b"defg"), 4) == C.crc64(b"abcdefg")


@pytest.mark.parametrize("data", [b"a" * 300, b"abcabcabd" * 40, os.urandom(64) * 3,
                                  b"hello world, " * 50 + b"tail"])
def test_lzf_round_trip(data):
    c = lzf.compress(data)
    assert c is not None and len(c) < len(data)
    assert lzf.decompress(c, len(data)) == data


def test_lzf_incompressible_and_corrupt():
    assert lzf.compress(os.urandom(40)) is None
    with pytest.raises(lzf.LZFError):
        lzf.decompress(b"\x05abc", 6)            # literal past the end
    with pytest.raises(lzf.LZFError):
        lzf.decompress(b"\x00a\xe0\x10", 10)     # back reference before the start


def test_lzf_overlapping_reference():
    # literal "ab", then copy 7+2 bytes from 2 back: "ab" repeated
    assert lzf.decompress(b"\x01ab\xe0\x00\x01", 2 + 9) == b"ab" * 5 + b"a"


def test_length_and_int_encodings():
    assert rdb.enc_len(5) == b"\x05"
    assert rdb.enc_len(300) == b"\x41\x2c"
    assert rdb.enc_len(70000) == b"\x80\x00\x01\x11\x70"
    enc = rdb.Encoder(False)
    out = []
    for s in (b"12", b"-300", b"100000", b"012", b"99999999999"):
        enc.string(s, out)
    assert out[:3] == [b"\xc0\x0c", b"\xc1\xd4\xfe", b"\xc2\xa0\x86\x01\x00"]
    r = rdb.Reader(b"".join(out), None)
    assert [r.string() for _ in range(5)] == [b"12", b"-300", b"100000", b"012", b"99999999999"]


def test_compact_encoding_parsers():
    # ziplist with "ab", 5 (imm), 300 (int16), -2 (int8)
    entries = b"\x00\x02ab" + b"\x04\xf6" + b"\x02\xc0\x2c\x01" + b"\x04\xfe\xfe"
    zl = struct.pack("<IIH", 10 + len(entries) + 1, 0, 4) + entries + b"\xff"
    assert rdb.parse_ziplist(zl) == [b"ab", b"5", b"300", b"-2"]
    # listpack: "ab" (6-bit str), 7 (7-bit uint), -100 (13-bit int), 1000000 (int24)
    body = b"\x82ab\x03" + b"\x07\x01" + b"\xdf\x9c\x02" + b"\xf2\x40\x42\x0f\x04"
    lp = struct.pack("<IH", 6 + len(body) + 1, 4) + body + b"\xff"
    assert rdb.parse_listpack(lp) == [b"ab", b"7", b"-100", b"1000000"]
    iset = struct.pack("<II", 2, 3) + struct.pack("<3h", -5, 7, 300)
    assert rdb.parse_intset(iset) == [b"-5", b"7", b"300"]
    zm = b"\x02\x01k\x01\x00v\x02kk\x02\x01vvX\xff"
    assert rdb.parse_zipmap(zm) == [(b"k", b"v"), (b"kk", b"vv")]


# -- round trips ----------------------------------------------------------------------
def test_round_trip_every_type_ttl_and_db(tmp_path):
    srv, c, clock = make(tmp_path)
    fill(c)
    before = dump_state(c)
    assert c.call("SAVE") == redislite.commands.persistence.OK
    srv2, c2, _ = make(tmp_path)
    loader = load_now(srv2)
    assert loader.keys_loaded == len(before) == 10
    assert dump_state(c2) == before
    assert srv2.persistence.load_stats == (10, 0)


def test_compression_and_checksum_switches(tmp_path):
    srv, c, _ = make(tmp_path, rdbcompression="no", rdbchecksum="no")
    c.call("SET", "k", "y" * 1000)
    c.call("SAVE")
    raw = open(tmp_path / "dump.rdb", "rb").read()
    assert b"y" * 1000 in raw and raw[-8:] == b"\0" * 8
    srv, c, _ = make(tmp_path)
    c.call("SET", "k", "y" * 1000)
    c.call("SAVE")
    raw = open(tmp_path / "dump.rdb", "rb").read()
    assert b"y" * 1000 not in raw
    assert struct.unpack("<Q", raw[-8:])[0] == C.crc64(raw[:-8])


def test_expired_keys_are_skipped_on_load(tmp_path):
    srv, c, clock = make(tmp_path)
    c.call("SET", "gone", "1", "PX", "50")
    c.call("SET", "stays", "1")
    c.call("SAVE")
    srv2, c2, clock2 = make(tmp_path)
    clock2.advance(1)
    loader = load_now(srv2)
    assert (loader.keys_loaded, loader.keys_expired) == (1, 1)
    assert c2.call("EXISTS", "gone") == 0


def test_bad_checksum_names_file_and_offset(tmp_path):
    srv, c, _ = make(tmp_path)
    c.call("SET", "k", "v")
    c.call("SAVE")
    path = tmp_path / "dump.rdb"
    raw = bytearray(open(path, "rb").read())
    raw[-1] ^= 0xFF
    open(path, "wb").write(raw)
    with pytest.raises(LoadError) as e:
        load_now(make(tmp_path)[0])
    assert "checksum" in str(e.value) and str(path) in str(e.value)
    assert "offset %d" % (len(raw) - 8) in str(e.value)


def test_truncated_and_bad_signature(tmp_path):
    srv, c, _ = make(tmp_path)
    c.call("SET", "k", "v" * 100)
    c.call("SAVE")
    path = tmp_path / "dump.rdb"
    raw = open(path, "rb").read()
    open(path, "wb").write(raw[:60])
    with pytest.raises(LoadError, match="unexpected end of file"):
        load_now(make(tmp_path)[0])
    open(path, "wb").write(b"NOTREDIS0010")
    with pytest.raises(LoadError, match="Wrong signature"):
        load_now(make(tmp_path)[0])


# -- commands and faults --------------------------------------------------------------
def test_save_bgsave_lastsave_info(tmp_path):
    srv, c, clock = make(tmp_path)
    load_now(srv)
    c.call("SET", "a", "1")
    info = c.call("INFO", "persistence")
    info = info.decode() if isinstance(info, bytes) else str(info)
    assert "rdb_changes_since_last_save:1" in info
    assert c.call("BGSAVE").text == "Background saving started"
    assert c.call("LASTSAVE") == NOW
    assert c.call("BGSAVE", "x").message == "ERR syntax error"
    assert c.call("BGSAVE", "SCHEDULE", "x").message == "ERR syntax error"
    info = c.call("INFO", "persistence")
    info = info.decode() if isinstance(info, bytes) else str(info)
    assert "rdb_changes_since_last_save:0" in info and "rdb_saves:1" in info


def test_failed_bgsave_sets_misconf_until_a_good_save(tmp_path, monkeypatch):
    srv, c, clock = make(tmp_path, save="3600 1")
    load_now(srv)
    c.call("SET", "a", "1")
    monkeypatch.setattr(diskio, "fault", lambda op, path: diskio.enospc(path) if op == "write" else None)
    c.call("BGSAVE")
    reply = c.call("SET", "b", "2")
    assert reply.message.startswith("MISCONF Redis is configured to save RDB")
    assert c.call("GET", "a") == b"1"                        # reads still work
    info = c.call("INFO", "persistence")
    info = info.decode() if isinstance(info, bytes) else str(info)
    assert "rdb_last_bgsave_status:err" in info
    monkeypatch.setattr(diskio, "fault", None)
    assert c.call("BGSAVE").text == "Background saving started"
    assert c.call("SET", "b", "2") == redislite.commands.persistence.OK


def test_save_points_trigger_bgsave(tmp_path):
    srv, c, clock = make(tmp_path, save="10 2")
    load_now(srv)
    c.call("SET", "a", "1")
    clock.advance(11)
    assert not (tmp_path / "dump.rdb").exists()          # one change < 2
    c.call("SET", "b", "1")
    clock.advance(0.2)
    assert (tmp_path / "dump.rdb").exists()
    srv.persistence.stop()


def test_shutdown_argument_errors(tmp_path):
    srv, c, clock = make(tmp_path)
    assert c.call("SHUTDOWN", "ABORT").message == "ERR No shutdown in progress."
    for args in (("foo",), ("SAVE", "NOSAVE"), ("NOSAVE", "ABORT")):
        assert c.call("SHUTDOWN", *args).message == "ERR syntax error"


def test_shutdown_save_failure_refuses_unless_force(tmp_path, monkeypatch):
    srv, c, clock = make(tmp_path)
    monkeypatch.setattr(diskio, "fault", lambda op, path: diskio.enospc(path))
    assert c.call("SHUTDOWN", "SAVE").message == "ERR Errors trying to SHUTDOWN. Check logs."


# -- the loading fast path: Reader.batches + storage.bulkload ------------------------------
def _state(srv):
    """Every field bulkload maintains, per shard and db (bucket layout included)."""
    out = []
    for shard in srv.shards:
        for ks in shard.dbs:
            buckets = [{k: v if type(v) is bytes else (repr(v), v.memory()) for k, v in b.items()}
                       for b in ks.buckets]
            out.append((ks.level, ks.split, buckets, ks.count, ks.mem,
                        dict(ks.expires), sorted(ks.heap), dict(ks.access)))
    return out


def _fill_many(c, n=6000):
    """Strings (plain, int, LZF, long), containers, TTLs, a {tag}, three dbs."""
    for db in (0, 3):
        c.call("SELECT", db)
        args = []
        for i in range(n):
            k = "k:%d:%d" % (db, i)
            args += [k, ("%d" % (i * 7 - 5000)) if i % 3 == 0 else ("v%d" % i) * (1 + i % 9)]
        c.call("MSET", *args)
        for i in range(0, n, 5):
            c.call("PEXPIRE", "k:%d:%d" % (db, i), 100000 + i)
        for i in range(0, 40):
            c.call("HSET", "{tag}h%d" % i, "f", "v", "n", i)
            c.call("RPUSH", "l%d" % i, "a", i)
            c.call("SADD", "s%d" % i, i, i + 1)
        c.call("SET", "big", "x" * 70000)
    c.call("SELECT", 0)


def _key_by_key(srv, path):
    """The reference: every record of the file through Keyspace.set / set_expire."""
    data = open(path, "rb").read()
    for rec in rdb.Reader(data, rdb.Values(srv.config)).records():
        if rec[0] == "key":
            _, db, key, value, expire = rec
            ks = srv.router.shard_for(key).dbs[db]
            ks.set(key, value)
            if expire is not None:
                ks.set_expire(key, expire)


def test_bulk_load_leaves_keyspaces_as_key_by_key_sets(tmp_path):
    srv, c, _ = make(tmp_path)
    _fill_many(c)
    c.call("SAVE")
    loaded, _, _ = make(tmp_path)
    loader = load_now(loaded)
    reference, _, _ = make(tmp_path)
    _key_by_key(reference, tmp_path / "dump.rdb")
    assert loader.keys_loaded == 2 * (6000 + 3 * 40 + 1)
    assert _state(loaded) == _state(reference)
    assert loaded.used_memory() == srv.used_memory()


def test_bulk_insert_duplicates_ttls_and_observed_keyspaces(tmp_path):
    from redislite.storage import bulkload
    a, _, _ = make(tmp_path)
    b, _, _ = make(tmp_path)
    k1, k2, k3 = bytes(bytearray(b"dup")), bytes(bytearray(b"dup")), b"other"   # k1 == k2, k1 is not k2
    keys = [k1, k3, k2]
    values = [b"one", b"x", b"two"]
    expires = [(NOW * 1000 + 5000, k1)]            # only the first "dup" has a TTL
    ks_a = a.router.shard_for(b"dup").dbs[0]
    ks_a.set(b"other", b"old")
    ks_a.set_expire(b"other", NOW * 1000 + 9000)
    bulkload.insert(ks_a, keys, values, expires)
    ks_b = b.router.shard_for(b"dup").dbs[0]
    ks_b.set(b"other", b"old")
    ks_b.set_expire(b"other", NOW * 1000 + 9000)
    for key, value in zip(keys, values):
        ks_b.set(key, value)
        if key is k1:
            ks_b.set_expire(key, expires[0][0])
    assert ks_a.get_expire(b"dup") is None and ks_a.get_expire(b"other") is None
    assert (ks_a.count, ks_a.mem, ks_a.expires, dict(ks_a.access)) == \
        (ks_b.count, ks_b.mem, ks_b.expires, dict(ks_b.access))
    # A WATCHed keyspace goes through set(), so the watchers are told.
    seen = []
    a.shards[0].on_modified.append(lambda db, key: seen.append(key))
    ks0 = a.shards[0].dbs[1]
    ks0.observe()
    bulkload.insert(ks0, [b"w1", b"w2"], [b"1", b"2"], [(NOW * 1000 + 1, b"w2")])
    assert seen == [b"w1", b"w2", b"w2"] and ks0.count == 2


def test_truncated_at_every_offset_is_a_load_error(tmp_path):
    srv, c, _ = make(tmp_path)
    c.call("SET", "s", "hello")
    c.call("SET", "n", "-12345")
    c.call("SET", "z", "payload-" * 20)
    c.call("SET", "ttl", "v", "PX", "100000")
    c.call("RPUSH", "l", "a", "1")
    c.call("SAVE")
    path = tmp_path / "dump.rdb"
    raw = open(path, "rb").read()
    for cut in range(9, len(raw)):
        open(path, "wb").write(raw[:cut])
        with pytest.raises(LoadError) as e:
            load_now(make(tmp_path)[0])
        msg = str(e.value)
        assert str(path) in msg and "offset" in msg, (cut, msg)


def test_forked_checksum_matches_and_survives_a_dead_child(monkeypatch):
    from redislite.persistence import checksum
    data = os.urandom(3 << 20) + b"\xff" + os.urandom(8)
    monkeypatch.setattr(checksum, "STEP", 1 << 20)
    monkeypatch.setattr(checksum, "FORK_MIN", 1 << 20)
    for end in (len(data) - 8, (2 << 20) + 12345, 100):
        ck = checksum.checksummer(data, 0, parallel=True)
        assert isinstance(ck, checksum.ForkedCrc)
        assert ck.result(end) == C.crc64(data[:end])
        assert ck.pid is None
    ck = checksum.checksummer(data, 7, parallel=True)
    os.kill(ck.pid, 9)                      # no figures at all: the parent computes
    assert ck.result(len(data) - 8) == C.crc64(data[7:-8])
    inline = checksum.checksummer(data, 5)
    for pos in range(0, len(data), 300000):
        inline.advance(pos)
    assert inline.result(len(data) - 8) == C.crc64(data[5:-8])
