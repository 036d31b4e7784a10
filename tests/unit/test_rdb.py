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
