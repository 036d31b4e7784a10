"""The CPython floor: the least a RESP server in Python on Twisted can do per command.

This is a measuring stick, not a server anyone should use.  It runs the same
reactor and lean poll as RedisLite (``redislite.reactor_tuning``), reads each
socket with one ``recv``, parses with hiredis, keeps strings in one dict and
answers every command parsed in a read with one ``send``.  It has none of
what makes RedisLite Redis: no command table, arity or ACL checks, no
expiry, no eviction clock, no statistics, no latency tracking, no keyspace
events, no persistence and no replication.  Commands other than SET, GET,
INCR, LPUSH/RPUSH, LPOP/RPOP, SADD, HSET, PING, HELLO and CONFIG get ``+OK``.

Its ops/s against redis-server in the same run (``python -m benchmarks.run
--servers redislite,floor,redis``) shows how much of the gap to Redis is the
interpreter and the reactor, which no amount of work above them can remove,
and how much is RedisLite's own.

    python -m benchmarks.floor --port 7000
"""

import argparse
import collections

_OK = b"+OK\r\n"
_PONG = b"+PONG\r\n"
_NIL = b"$-1\r\n"


def serve(host, port):
    from twisted.internet import epollreactor
    epollreactor.install()
    from twisted.internet import protocol, reactor
    import hiredis
    from redislite import reactor_tuning

    data = {}

    def handle(cmd, out):
        name = cmd[0].upper()
        if name == b"GET":
            v = data.get(cmd[1])
            out.append(_NIL if v is None else b"$%d\r\n%s\r\n" % (len(v), v))
        elif name == b"SET":
            data[cmd[1]] = cmd[2]
            out.append(_OK)
        elif name == b"INCR":
            n = int(data.get(cmd[1], b"0")) + 1
            data[cmd[1]] = b"%d" % n
            out.append(b":%d\r\n" % n)
        elif name in (b"LPUSH", b"RPUSH"):
            q = data.setdefault(cmd[1], collections.deque())
            (q.extendleft if name == b"LPUSH" else q.extend)(cmd[2:])
            out.append(b":%d\r\n" % len(q))
        elif name in (b"LPOP", b"RPOP"):
            q = data.get(cmd[1])
            v = (q.popleft() if name == b"LPOP" else q.pop()) if q else None
            out.append(_NIL if v is None else b"$%d\r\n%s\r\n" % (len(v), v))
        elif name == b"SADD":
            s = data.setdefault(cmd[1], set())
            before = len(s)
            s.update(cmd[2:])
            out.append(b":%d\r\n" % (len(s) - before))
        elif name == b"HSET":
            h = data.setdefault(cmd[1], {})
            before = len(h)
            h.update(zip(cmd[2::2], cmd[3::2]))
            out.append(b":%d\r\n" % (len(h) - before))
        elif name == b"PING":
            out.append(_PONG)
        elif name == b"HELLO":     # redis-py's handshake (the sanity check)
            proto = cmd[1] if len(cmd) > 1 else b"2"
            out.append((b"%2" if proto == b"3" else b"*4") + b"\r\n$6\r\nserver\r\n$5\r\nfloor\r\n"
                       b"$5\r\nproto\r\n:" + proto + b"\r\n")
        elif name == b"CONFIG":
            out.append(b"*0\r\n")       # redis-benchmark asks for save/appendonly
        else:
            out.append(_OK)

    class Floor(protocol.Protocol):
        def connectionMade(self):
            self.reader = hiredis.Reader()
            sock = self.transport.socket
            self.recv, self.send = sock.recv, sock.send
            self.fd = self.transport.fileno()
            reactor_tuning.FAST_READERS[self.fd] = self.fast_read

        def connectionLost(self, reason=None):
            reactor_tuning.FAST_READERS.pop(self.fd, None)

        def fast_read(self):
            try:
                chunk = self.recv(65536)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not chunk:
                return False
            self.dataReceived(chunk)
            return True

        def dataReceived(self, chunk):
            reader = self.reader
            reader.feed(chunk)
            out = []
            cmd = reader.gets()
            while cmd is not False:
                handle(cmd, out)
                cmd = reader.gets()
            payload = b"".join(out)
            t = self.transport
            if t.dataBuffer or t._tempDataLen:
                t.write(payload)
                return
            try:
                n = self.send(payload)
            except OSError:
                n = 0
            if n < len(payload):
                t.write(payload[n:])

    factory = protocol.Factory()
    factory.protocol = Floor
    reactor_tuning.install(reactor)
    reactor.listenTCP(port, factory, interface=host, backlog=511)
    reactor.run()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=7000)
    ap.add_argument("--bind", default="127.0.0.1")
    a, _ = ap.parse_known_args(argv)     # ServerProcess's --dir and the like are ignored
    serve(a.bind, a.port)


if __name__ == "__main__":
    main()
