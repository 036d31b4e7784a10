"""CLIENT REPLY ON|OFF|SKIP against a real redis-server 7.0.

Each sequence ends with CLIENT REPLY ON and an ECHO marker; everything read
up to the marker must be the same bytes on both servers. The sequences run
once as one pipelined write and once a command per write, since the reply
state outlives a read.
"""

import time

import pytest

from redislite.testing import encode_command

pytestmark = pytest.mark.compat

END = ("CLIENT", "REPLY", "ON"), ("ECHO", "end-of-sequence")
SEQUENCES = {
    "off-then-on": [("CLIENT", "REPLY", "OFF"), ("SET", "a", "1"), ("GET", "a"), ("NOSUCHCMD",),
                    ("INCR", "a"), ("CLIENT", "REPLY", "ON"), ("GET", "a")],
    "skip": [("CLIENT", "REPLY", "SKIP"), ("SET", "a", "2"), ("GET", "a")],
    "skip-twice": [("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "SKIP"), ("GET", "a"), ("GET", "a")],
    "skip-then-on": [("SET", "a", "3"), ("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "ON"), ("GET", "a")],
    "skip-while-off": [("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "SKIP"), ("GET", "a")],
    "errors": [("CLIENT", "REPLY", "FOO"), ("CLIENT", "REPLY"), ("client", "reply", "on", "x"),
               ("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "FOO")],
    "reset": [("CLIENT", "REPLY", "OFF"), ("RESET",), ("GET", "a")],
    "subscribe-while-off": [("CLIENT", "REPLY", "OFF"), ("SUBSCRIBE", "ch"), ("PING",), ("UNSUBSCRIBE",)],
    "skip-an-error": [("CLIENT", "REPLY", "SKIP"), ("LPUSH", "a", "x"), ("GET", "a")],
}


def _read_to_marker(client):
    frames = []
    while True:
        frame = client.read_reply()
        frames.append(frame)
        if frame == b"$15\r\nend-of-sequence\r\n":
            return frames


@pytest.mark.parametrize("pipelined", [True, False], ids=["one-write", "write-per-command"])
@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_client_reply_sequences(pair, name, pipelined):
    commands = SEQUENCES[name] + list(END)
    got = []
    for client in (pair.oracle, pair.subject):
        client.call("SET", "a", "0")
        if pipelined:
            client.send_raw(b"".join(encode_command(*c) for c in commands))
        else:
            for c in commands:
                client.send(*c)
                time.sleep(0.01)
        got.append(_read_to_marker(client))
    assert got[0] == got[1]
