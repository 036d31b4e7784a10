"""PUBLISH throughput to 1 and to 100 subscribers, RedisLite next to redis-server.

Subscribers are plain sockets drained by one reader thread (so the servers'
output buffers never fill); the publisher sends pipelined PUBLISH batches and
we time until every reply is back.  Figures are reported, not asserted.

    python -m benchmarks.pubsub [--messages 20000] [--pipeline 50]
"""

from __future__ import annotations

import argparse
import json
import selectors
import socket
import threading
import time

from redislite.testing import ServerProcess


def _drain(socks, stop):
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    while not stop.is_set():
        for key, _ in sel.select(0.05):
            try:
                if not key.fileobj.recv(1 << 18):
                    sel.unregister(key.fileobj)
            except BlockingIOError:
                pass


def _read_replies(sock, n):
    """Read n integer replies (':k\\r\\n') and return the last one."""
    buf = b""
    lines = []
    while len(lines) < n:
        buf += sock.recv(1 << 16)
        parts = buf.split(b"\r\n")
        buf = parts.pop()
        lines.extend(parts)
    return lines[n - 1]


def bench(server, subscribers, messages, pipeline, payload=b"x" * 64):
    subs = []
    for _ in range(subscribers):
        s = socket.create_connection((server.host, server.port))
        s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nbench\r\n")
        s.recv(100)
        subs.append(s)
    stop = threading.Event()
    reader = threading.Thread(target=_drain, args=(subs, stop), daemon=True)
    reader.start()
    pub = socket.create_connection((server.host, server.port))
    pub.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    cmd = b"*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$%d\r\n%s\r\n" % (len(payload), payload)
    batch = cmd * pipeline
    start = time.perf_counter()
    sent = 0
    last = None
    while sent < messages:
        pub.sendall(batch)
        last = _read_replies(pub, pipeline)
        sent += pipeline
    elapsed = time.perf_counter() - start
    assert last == b":%d" % subscribers, last
    stop.set()
    reader.join(2)
    for s in subs + [pub]:
        s.close()
    return sent / elapsed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--pipeline", type=int, default=50)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    results = {}
    for kind in ("redis", "redislite"):
        server = ServerProcess(kind)
        server.start()
        try:
            for n in (1, 100):
                results[(kind, n)] = bench(server, n, args.messages, args.pipeline)
        finally:
            server.stop()
            server.cleanup()
    if args.json:
        print(json.dumps({"%s/%d" % k: round(v) for k, v in results.items()}))
        return
    print("| subscribers | redis-server PUBLISH/s | RedisLite PUBLISH/s | ratio |")
    print("|---|---|---|---|")
    for n in (1, 100):
        r, l = results[("redis", n)], results[("redislite", n)]
        print("| %d | %.0f | %.0f | %.2f |" % (n, r, l, l / r))


if __name__ == "__main__":
    main()
