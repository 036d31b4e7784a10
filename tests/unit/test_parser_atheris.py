"""Coverage-guided fuzzing of the RESP request parser with atheris (libFuzzer).

atheris installs from a binary wheel on Linux x86_64 for CPython 3.11 (it is
in the ``test`` extra for that platform); elsewhere this module is skipped and
tests/unit/test_parser_fuzz.py (hypothesis) covers the same properties.

The harness (``HARNESS`` below, run in a child process because
``atheris.Fuzz()`` ends its process) checks, for every input libFuzzer
generates from the seed corpus:

* the parser raises nothing but ProtocolError, with one of Redis's texts;
* the outcome (commands, error, bytes held) is the same whole, cut in two at
  a fuzzed position, and fed byte by byte;
* with the unauthenticated limits on, no accepted command exceeds them.

The run is bounded by ``-runs`` and a fixed ``-seed``, so it is reproducible
and takes a few seconds; set REDISLITE_ATHERIS_RUNS for a longer session.
"""

import os
import subprocess
import sys
import textwrap

import pytest

atheris = pytest.importorskip("atheris")

RUNS = int(os.environ.get("REDISLITE_ATHERIS_RUNS", "20000"))

HARNESS = textwrap.dedent('''
    import sys
    import atheris

    with atheris.instrument_imports(include=["redislite.resp.parser"]):
        from redislite.resp import parser as P

    ERRORS = {P.ERR_INVALID_MULTIBULK, P.ERR_INVALID_BULK, P.ERR_UNAUTH_MULTIBULK, P.ERR_UNAUTH_BULK,
              P.ERR_TOO_BIG_MBULK, P.ERR_TOO_BIG_BULK, P.ERR_TOO_BIG_INLINE, P.ERR_UNBALANCED_QUOTES,
              P.SILENT_QUERY_BUFFER, P.SILENT_CROSS_PROTOCOL}


    def outcome(chunks, auth):
        parser = P.RequestParser()
        parser.auth_required = auth
        out = []
        for chunk in chunks:
            try:
                out += parser.feed(chunk)
            except P.ProtocolError as e:
                assert e.message in ERRORS or e.message.startswith("ERR Protocol error: expected '$'"), e
                return out + e.commands, e.message, e.silent
        return out, None, parser.buffered()


    def one_input(data):
        fdp = atheris.FuzzedDataProvider(data)
        auth = fdp.ConsumeBool()
        cut = fdp.ConsumeIntInRange(0, 1 << 16)
        payload = fdp.ConsumeBytes(fdp.remaining_bytes())
        whole = outcome([payload], auth)
        assert outcome([payload[:cut], payload[cut:]], auth) == whole, (payload, cut)
        assert outcome([payload[i:i + 1] for i in range(len(payload))], auth) == whole, payload
        if auth and whole[1] is None:
            for argv in whole[0]:
                assert len(argv) <= P.UNAUTH_MAX_MULTIBULK and max(map(len, argv)) <= P.UNAUTH_MAX_BULK


    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
''')

SEEDS = [
    b"\x00\x00*1\r\n$4\r\nPING\r\n",
    b"\x01\x05*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nGET k\r\n",
    b"\x00\x03ECHO \"a\\x41\" 'b'\r\n\n*0\r\n",
    b"\x01\x00*11\r\n*1\r\n$16385\r\n",
    b"\x00\x07*2\r\n$3\r\nGET\r\n:12\r\nPOST / HTTP/1.1\r\n",
]


def test_parser_under_atheris(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(SEEDS):
        (corpus / ("seed%d" % i)).write_bytes(seed)
    harness = tmp_path / "harness.py"
    harness.write_text(HARNESS)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, str(harness), "-runs=%d" % RUNS, "-seed=1", "-max_len=512",
         "-artifact_prefix=%s/" % tmp_path, str(corpus)],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Done %d runs" % RUNS in proc.stderr, proc.stderr[-2000:]
