"""Recovery at start: load the AOF when appendonly is on, else the RDB, as Redis decides.

Two phases, so a bad data directory is refused before anything listens and a
big dataset still loads while clients get ``-LOADING``:

* :func:`plan` (synchronous, cheap): read the manifest, check every file it
  names exists, check the RDB signature.  Raises :class:`LoadError`.
* :class:`Loader` (a generator of slices for ``task.cooperate``): decode and
  insert, yielding every few hundred keys/commands so the reactor keeps
  answering.  Any error names the file and the offset; the server must then
  exit rather than start empty over data it could not read.

``aof-load-truncated yes``: a last command cut short (or a MULTI without EXEC
at the very end of the last file) is dropped and the file truncated to the
last complete command, as Redis does; ``no``: refuse to start.
"""

import gc
import mmap
import os
import time

from ..errors import ReplyError
from ..storage.bulkload import BulkLoader
from . import aof as _aof
from . import rdb as _rdb

SLICE = 512
FREEZE_AFTER = 100000       # keys/commands loaded before the loaded objects are gc-frozen


class LoadError(Exception):
    """The data directory cannot be loaded; the message names the file (and offset)."""


class Plan:
    """What to load: ``kind`` is "aof", "rdb" or None; files as (path, kind)."""

    def __init__(self, kind, files=(), manifest=None, aof_dir=None):
        self.kind = kind
        self.files = list(files)
        self.manifest = manifest
        self.aof_dir = aof_dir

    @property
    def total_bytes(self):
        total = 0
        for path, _ in self.files:
            try:
                total += os.path.getsize(path)
            except OSError:
                pass
        return total


def paths(config):
    d = config.get_text("dir") if hasattr(config, "get_text") else config["dir"]
    return (d, os.path.join(d, config["dbfilename"]), os.path.join(d, config["appenddirname"]))


def plan(config):
    """Decide what to load and check it is all there (Redis's loadDataFromDisk choice)."""
    d, rdb_path, aof_dir = paths(config)
    if config["appendonly"]:
        name = config["appendfilename"]
        try:
            manifest = _aof.read_manifest(aof_dir, name)
        except _aof.AofError as e:
            raise LoadError("Bad AOF manifest: %s" % e) from None
        if manifest is None:
            legacy = os.path.join(d, name)
            if os.path.exists(legacy) and os.path.getsize(legacy) > 0:
                # A Redis < 7.0 single-file AOF: load it as the base (Redis upgrades it).
                return Plan("aof", [(legacy, "legacy")], None, aof_dir)
            if os.path.isdir(aof_dir) and any(f.startswith(name) for f in os.listdir(aof_dir)):
                raise LoadError("The AOF directory %s has files but no manifest %s: refusing "
                                "to start empty over them" % (aof_dir, _aof.manifest_name(name)))
            return Plan(None, [], None, aof_dir)
        files = []
        if manifest.base is not None:
            files.append((os.path.join(aof_dir, manifest.base[0]), "base"))
        for fname, _ in manifest.incrs:
            files.append((os.path.join(aof_dir, fname), "incr"))
        for path, _ in files:
            if not os.path.exists(path):
                raise LoadError("The AOF file %s named in the manifest %s doesn't exist"
                                % (os.path.basename(path),
                                   os.path.join(aof_dir, _aof.manifest_name(name))))
        return Plan("aof", files, manifest, aof_dir)
    if os.path.exists(rdb_path):
        with open(rdb_path, "rb") as f:
            head = f.read(9)
        if len(head) < 9 or head[:5] != b"REDIS":
            raise LoadError("Wrong signature trying to load DB from file %s" % rdb_path)
        return Plan("rdb", [(rdb_path, "rdb")])
    return Plan(None)


def _map(path):
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return b""
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


class Loader:
    """Loads a :class:`Plan` into *server*; iterate :meth:`run` (or call :meth:`load`)."""

    def __init__(self, server, config, the_plan, log=None):
        self.server = server
        self.config = config
        self.plan = the_plan
        self.log = log or (lambda msg: None)
        self.total_bytes = the_plan.total_bytes
        self.done_bytes = 0         # bytes of finished files
        self.cur_reader = None      # object with .pos for progress of the current file
        self.keys_loaded = 0
        self.keys_expired = 0
        self.commands = 0
        self.started = time.time()
        self.started_cpu = time.process_time()
        self.functions = []
        self.aux = {}
        self.truncated = None       # (path, offset) when a tail was cut off

    @property
    def loaded_bytes(self):
        r = self.cur_reader
        return self.done_bytes + (r.pos if r is not None else 0)

    def load(self):
        for _ in self.run():
            pass
        return self

    def run(self):
        p = self.plan
        if p.kind is None:
            return
        # The cyclic GC off while loading: with hundreds of thousands of container
        # values, its full collections (each traverses every tracked object, and
        # they recur as the heap grows) took ~40% of a 1M-key mixed-type load.
        # Values hold no reference cycles (they are freed by refcount), so a big
        # loaded data set is then frozen (gc.freeze: never traversed again, as
        # for the pre-fork freeze in actor.py) instead of paying one huge
        # collection right after the load.
        gc_was = gc.isenabled()
        gc.disable()
        try:
            yield from self._files()
            if self.keys_loaded + self.commands >= FREEZE_AFTER:
                gc.freeze()
        finally:
            if gc_was:
                gc.enable()

    def _files(self):
        p = self.plan
        server = self.server
        for i, (path, kind) in enumerate(p.files):
            last = i == len(p.files) - 1
            buf = _map(path)
            try:
                if kind == "rdb":
                    yield from self._rdb(buf, path, preamble=False)
                elif kind == "base" and path.endswith(_aof.BASE_RDB):
                    yield from self._rdb(buf, path, preamble=True)
                else:
                    yield from self._aof_file(buf, path, last, kind)
            finally:
                self.cur_reader = None
                if isinstance(buf, mmap.mmap):
                    buf.close()
            self.done_bytes += os.path.getsize(path)
        server.now.refresh()

    # -- RDB ---------------------------------------------------------------------------
    def _rdb(self, buf, path, preamble, base=0):
        """Decode an RDB (or an AOF's RDB preamble) into the keyspaces, a batch of
        SLICE keys per step: Reader.batches decodes, bulkload inserts."""
        server = self.server
        values = _rdb.Values(self.config)
        reader = _rdb.Reader(buf, values, path=path, base=base,
                             verify_checksum=self.config["rdbchecksum"],
                             parallel_checksum=getattr(server.persistence, "use_fork", False))
        self.cur_reader = reader
        now = server.now.refresh()
        ndb = server.databases
        bulk = BulkLoader(server)
        expired0 = self.keys_expired
        try:
            for rec in reader.batches(SLICE, None if preamble else now):
                tag = rec[0]
                if tag == "keys":
                    dropped = expired0 + reader.expired - self.keys_expired
                    bulk.insert(rec[1], rec[2], rec[3], rec[4], dropped)
                    self.keys_loaded += len(rec[2])
                    self.keys_expired += dropped
                    yield
                elif tag == "select":
                    if rec[1] >= ndb:
                        raise _rdb.RdbError("the data file uses database %d, but only %d databases "
                                            "are configured" % (rec[1], ndb), reader.pos, path)
                elif tag == "resize":
                    bulk.hint(rec[1], rec[2])
                elif tag == "aux":
                    self.aux[rec[1]] = rec[2]
                elif tag == "function":
                    self._load_function(rec[1], path, reader.pos)
        except _rdb.RdbError as e:
            if e.path is None:
                e.path = path
            raise LoadError("Bad RDB data: %s" % e) from None
        self.keys_expired = expired0 + reader.expired
        self.rdb_end = reader.pos

    def _load_function(self, code, path, offset):
        """FUNCTION libraries: handed to the scripting module's loader when it exists."""
        self.functions.append(code)
        try:
            from ..commands import functions as fmod
        except ImportError:
            fmod = None
        fn = getattr(fmod, "load_libraries", None) if fmod is not None else None
        if fn is None:
            self.log("a function library in %s at offset %d was kept aside: FUNCTION is not "
                     "available in this build" % (path, offset))
            return
        try:
            fn(self.server, [code])
        except Exception as e:
            raise LoadError("Bad function library in %s at offset %d: %s" % (path, offset, e)) from None

    # -- AOF ---------------------------------------------------------------------------
    def _aof_file(self, buf, path, last, kind):
        pos = 0
        if buf[:5] == b"REDIS":                       # RDB preamble
            yield from self._rdb(buf, path, preamble=True)
            pos = self.rdb_end
        from ..protocol import Client
        client = Client(self.server, kind="aof")
        client.authenticated = True
        progress = _Pos()
        self.cur_reader = progress
        in_multi = False
        queued = []
        multi_start = 0
        n = 0
        valid = pos
        try:
            for argv, start, nxt in _aof.parse_commands(buf, pos, len(buf), path):
                progress.pos = nxt
                name = argv[0].lower()
                if name == b"multi":
                    in_multi = True
                    multi_start = start
                    queued = []
                elif name == b"exec":
                    if not in_multi:
                        raise _aof.AofError("EXEC without MULTI", path, start)
                    for q in queued:
                        self._exec(client, q, path, start)
                    in_multi = False
                    queued = []
                elif in_multi:
                    queued.append(argv)
                else:
                    self._exec(client, argv, path, start)
                self.commands += 1
                if not in_multi:
                    valid = nxt
                n += 1
                if n >= SLICE:
                    n = 0
                    yield
            if in_multi:
                raise _aof.Truncated("MULTI without EXEC at the end of the file", path, multi_start)
        except _aof.Truncated as e:
            if not (last and self.config["aof-load-truncated"]):
                raise LoadError("Unexpected end of file reading the append only file %s at offset "
                                "%d (aof-load-truncated is %s)"
                                % (path, e.offset, "yes" if self.config["aof-load-truncated"] else "no")
                                + ("" if last else "; it is not the last file")) from None
            self._truncate(buf, path, valid)
        except _aof.AofError as e:
            raise LoadError("Bad file format reading the append only file %s at offset %s: %s"
                            % (path, e.offset, e.args[0])) from None

    def _truncate(self, buf, path, valid):
        self.log("!!! Warning: short read while loading the AOF file %s!!! AOF loaded anyway "
                 "because aof-load-truncated is enabled; truncated to offset %d" % (path, valid))
        self.truncated = (path, valid)
        if isinstance(buf, mmap.mmap):
            buf.close()
        with open(path, "r+b") as f:
            f.truncate(valid)
            f.flush()
            os.fsync(f.fileno())

    def _exec(self, client, argv, path, offset):
        from ..commands import registry
        spec = registry.lookup(argv[0])
        if spec is None:
            raise LoadError("Unknown command '%s' reading the append only file %s at offset %d"
                            % (argv[0].decode("utf-8", "replace"), path, offset))
        n = len(argv)
        if spec.container and n >= 2:
            sub = spec.subcommands.get(argv[1].lower())
            if sub is None:
                raise LoadError("Unknown subcommand '%s %s' reading the append only file %s at "
                                "offset %d" % (spec.fullname, argv[1].decode("utf-8", "replace"),
                                               path, offset))
            spec = sub
        a = spec.arity
        if (n != a) if a >= 0 else (n < -a):
            raise LoadError("Wrong number of arguments for '%s' reading the append only file %s at "
                            "offset %d" % (spec.fullname, path, offset))
        try:
            if spec.shard_op:
                spec.handler(self.server.router.shard_for(argv[1]).dbs[client.db], argv)
            else:
                spec.handler(client, argv)
        except ReplyError:
            pass      # Redis ignores replies (errors included) while replaying


class _Pos:
    pos = 0
