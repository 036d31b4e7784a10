"""Regenerate ``redislite/commands/redis_commands.json`` from a real redis-server 7.0.

Redis's own command metadata (arity, flags, key positions, ACL categories,
key specs, docs) is the contract RedisLite implements, so we take it from the
oracle instead of retyping it.  The JSON keeps, per command and subcommand:
the structured fields that drive dispatch, plus the exact RESP2 and RESP3
bytes of its COMMAND INFO and COMMAND DOCS entries so those replies match
Redis byte for byte.

Usage: python tools/gen_command_table.py [--port PORT]  (starts its own server
when no port is given).
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import hiredis

OUT = os.path.join(os.path.dirname(__file__), "..", "redislite", "commands", "redis_commands.json")


class Raw:
    """Send one command, return (raw_bytes, parsed) of its reply."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def call(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(parts))
        return self._read()

    def _read(self):
        data = self.buf
        while True:
            used = frame_length(data, 0)
            if used is not None:
                reader = hiredis.Reader()
                reader.feed(data[:used])
                self.buf = data[used:]
                return data[:used], reader.gets()
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError
            data += chunk


def frame_length(data, pos):
    """End offset of the RESP reply starting at *pos*, or None if incomplete."""
    eol = data.find(b"\r\n", pos)
    if eol < 0:
        return None
    kind = data[pos:pos + 1]
    if kind in b"$=!":
        n = int(data[pos + 1:eol])
        if n < 0:
            return eol + 2
        end = eol + 2 + n + 2
        return end if len(data) >= end else None
    if kind in b"*~>%|":
        n = int(data[pos + 1:eol])
        if kind in b"%|":
            n *= 2
        p = eol + 2
        for _ in range(max(n, 0)):
            p = frame_length(data, p)
            if p is None:
                return None
        return p
    return eol + 2


def split_entries(raw):
    """Split the top-level aggregate of a raw reply into the raw bytes of each element."""
    pos = raw.index(b"\r\n") + 2
    out = []
    while pos < len(raw):
        end = frame_length(raw, pos)
        out.append(raw[pos:end])
        pos = end
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int)
    opts = ap.parse_args()
    proc = None
    port = opts.port
    if port is None:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--dir", tempfile.mkdtemp()], stdout=subprocess.DEVNULL)
        time.sleep(0.5)
    try:
        version = _collect(port)
    finally:
        if proc:
            proc.terminate()
            proc.wait()
    print("wrote", OUT, "from redis", version)


def _collect(port):
    c2 = Raw(port)
    c3 = Raw(port)
    c3.call("HELLO", "3")
    _, info = c2.call("INFO", "server")
    version = [l for l in info.decode().split("\r\n") if l.startswith("redis_version:")][0].split(":")[1]
    _, names = c2.call("COMMAND", "LIST")
    table = {}
    for name in sorted(n.decode() for n in names):
        entry = {}
        for key, cli in (("resp2", c2), ("resp3", c3)):
            raw_info, parsed_info = cli.call("COMMAND", "INFO", name)
            raw_docs, _ = cli.call("COMMAND", "DOCS", name)
            info_entries = split_entries(raw_info)
            assert len(info_entries) == 1, name
            docs_entries = split_entries(raw_docs)  # name, doc
            entry[key] = {"info": info_entries[0].decode("latin-1"),
                          "docs": b"".join(docs_entries[1:]).decode("latin-1")}
            if key == "resp2":
                cmd = parsed_info[0]
                entry["arity"] = cmd[1]
                entry["flags"] = [f.decode() for f in cmd[2]]
                entry["first_key"], entry["last_key"], entry["step"] = cmd[3], cmd[4], cmd[5]
                entry["acl_categories"] = [c.decode() for c in cmd[6]]
                entry["subcommands"] = [s[0].decode() for s in cmd[9]] if len(cmd) > 9 else []
        table[name] = entry
    meta = {"redis_version": version, "commands": table}
    with open(OUT, "w") as fh:
        json.dump(meta, fh, sort_keys=True, separators=(",", ":"))
    return version


if __name__ == "__main__":
    sys.exit(main())
