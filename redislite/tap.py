"""``twistd redislite``: command-line options -> validated Config -> service.

Options are named as redis-server names them.  Every option can also come from
``REDISLITE_<NAME>`` and from a redis.conf-syntax ``--config`` file; precedence
is command line > environment > config file > defaults (see config.py, where
the defaults live).  Bad values are reported before anything listens.
"""

import os

from twisted.python import usage

from . import config as _config

#: Options shown by ``twistd redislite --help`` (any Redis parameter may still be
#: given in the config file or as REDISLITE_* variables).
OPTIONS = [
    ("port", "TCP port (0 disables TCP)"),
    ("bind", "addresses to listen on, space separated"),
    ("databases", "number of databases"),
    ("dir", "working directory for data files"),
    ("maxmemory", "memory limit (bytes, or 100mb, 1gb...; 0 = no limit)"),
    ("maxmemory-policy", "eviction policy when maxmemory is reached"),
    ("maxmemory-samples", "keys sampled per eviction"),
    ("requirepass", "password for the default user"),
    ("maxclients", "maximum simultaneous clients"),
    ("timeout", "close idle clients after this many seconds (0 = never)"),
    ("proto-max-bulk-len", "largest accepted bulk string"),
    ("client-query-buffer-limit", "largest accepted query buffer per client"),
    ("shards", "number of shard actors that own the keys"),
    ("loglevel", "debug, verbose, notice or warning"),
    ("logformat", "text or json"),
    ("http-port", "HTTP API port (0 disables the API)"),
    ("http-bind", "HTTP API address"),
    ("http-token", "bearer token the HTTP API requires (requirepass also works)"),
    ("http-max-body", "largest accepted HTTP request body (413 above it)"),
    ("http-cors-origin", "origin allowed by CORS on the HTTP API (empty: no CORS headers)"),
    ("http-allow-dangerous", "allow FLUSHALL/CONFIG/SHUTDOWN/DEBUG/replication over HTTP (yes/no)"),
    ("http-allowed-hosts", "Host header names accepted when http-bind is not loopback"),
    ("metrics", "record and expose Prometheus metrics (yes/no)"),
    ("latency-tracking", "per-command latency histograms for INFO latencystats (yes/no)"),
    ("slowlog-log-slower-than", "microseconds above which commands enter the slow log (-1: off)"),
    ("slowlog-max-len", "entries kept in the slow log"),
    ("logfile", "log file path (empty: standard output)"),
]
#: Persistence (docs/persistence.md).  RedisLite's save default is "" (no snapshots).
OPTIONS += [
    ("save", "snapshot points '<seconds> <changes> ...' ('' disables)"),
    ("dbfilename", "snapshot file name inside dir"),
    ("appendonly", "log every write to the append-only file (yes/no)"),
    ("appendfsync", "always, everysec or no"),
    ("appendfilename", "base name of the append-only files"),
    ("appenddirname", "directory (inside dir) of the append-only files"),
    ("aof-use-rdb-preamble", "AOF base files in RDB format (yes/no)"),
    ("aof-load-truncated", "load an AOF whose last command is cut short (yes/no)"),
    ("auto-aof-rewrite-percentage", "rewrite the AOF when it grew by this percentage (0: never)"),
    ("auto-aof-rewrite-min-size", "smallest AOF size that triggers an automatic rewrite"),
    ("rdbcompression", "LZF-compress strings in snapshots (yes/no)"),
    ("rdbchecksum", "write and check the CRC-64 of snapshots (yes/no)"),
    ("stop-writes-on-bgsave-error", "refuse writes while snapshots fail (yes/no)"),
    ("rdb-key-save-delay", "microseconds to sleep per key while saving (testing)"),
]
#: ACL users (docs/acl.md).
OPTIONS += [
    ("aclfile", "ACL file: users loaded at start, ACL LOAD and ACL SAVE"),
    ("acllog-max-len", "entries kept in the ACL LOG"),
    ("acl-pubsub-default", "channel permission of new users: resetchannels or allchannels"),
]
#: Client limits and exposure (docs/operations.md).
OPTIONS += [
    ("protected-mode", "refuse clients from other hosts while the default user has no password (yes/no)"),
    ("tcp-keepalive", "seconds between TCP keepalive probes on client sockets (0: off)"),
    ("client-output-buffer-limit", "'<class> <hard> <soft> <seconds>' groups, class normal, replica or pubsub"),
]
#: Replication, replica side (docs/replication.md).
OPTIONS += [
    ("replicaof", "replicate from the master at 'HOST PORT' (or HOST:PORT); REPLICAOF at run time"),
    ("masteruser", "user name to authenticate to the master with"),
    ("masterauth", "password to authenticate to the master with"),
    ("replica-read-only", "refuse writes from ordinary clients while a replica (yes/no)"),
    ("replica-serve-stale-data", "answer data commands while the link to the master is down (yes/no)"),
    ("repl-timeout", "seconds without data from the master before the link is dropped"),
]
#: TLS (docs/tls.md).
OPTIONS += [
    ("tls-port", "TLS port, on the bind addresses (0 disables TLS)"),
    ("tls-cert-file", "server certificate (PEM)"),
    ("tls-key-file", "private key of the server certificate (PEM)"),
    ("tls-key-file-pass", "passphrase of tls-key-file"),
    ("tls-ca-cert-file", "CA certificates that client and master certificates are verified with"),
    ("tls-ca-cert-dir", "directory of hashed CA certificates"),
    ("tls-auth-clients", "client certificates: yes (required), optional or no"),
    ("tls-replication", "connect to the master with TLS (yes/no)"),
    ("tls-client-cert-file", "certificate presented to a TLS master (default: tls-cert-file)"),
    ("tls-client-key-file", "private key of tls-client-cert-file"),
    ("tls-client-key-file-pass", "passphrase of tls-client-key-file"),
    ("tls-protocols", "allowed protocols, e.g. 'TLSv1.2 TLSv1.3'"),
    ("tls-ciphers", "OpenSSL cipher list (TLSv1.2 and below)"),
    ("tls-ciphersuites", "OpenSSL ciphersuites (TLSv1.3)"),
    ("tls-prefer-server-ciphers", "prefer the server's cipher order (yes/no)"),
    ("tls-session-caching", "allow TLS session resumption (yes/no)"),
    ("tls-session-cache-timeout", "seconds a TLS session may be resumed"),
    ("tls-dh-params-file", "DH parameters file (PEM)"),
    ("http-tls", "serve the HTTP API over HTTPS with tls-cert-file/tls-key-file (yes/no)"),
]


def _describe(name, doc):
    default = _config.Config.defaults().get_text(name)
    return "%s [default: %s]" % (doc, default if default != "" else '""')


class Options(usage.Options):
    synopsis = "[options]"
    longdesc = ("A Redis 7.0-compatible in-memory server.  Every option may also be set as "
                "REDISLITE_<NAME> in the environment (e.g. REDISLITE_MAXMEMORY=100mb) or in a "
                "redis.conf-syntax file given with --config.")
    optParameters = [[name, None, None, _describe(name, doc)] for name, doc in OPTIONS] + [
        ["config", "c", None, "redis.conf-syntax configuration file"],
    ]

    def postOptions(self):
        cli = {name: self[name] for name, _ in OPTIONS if self[name] is not None}
        try:
            self["cfg"] = _config.build_config(cli, os.environ, self["config"])
            from . import tls
            if tls.in_use(self["cfg"]):
                tls.check(self["cfg"])      # certificate, key, CA files: before anything listens
        except _config.ConfigError as e:
            raise usage.UsageError(str(e))
        from .acl import startup_problem
        problem = startup_problem(self["cfg"])     # a bad ACL file or config users
        if problem:
            raise usage.UsageError(problem)
        self._install_logger()

    def _install_logger(self):
        """Route twistd's logging through the structured observer (text or JSON lines).

        twistd builds its log observer from its own ``logger`` option after
        parsing ours, so setting it here makes every line, Twisted's included,
        come out in one format.  An explicit ``twistd --logger`` wins."""
        parent = getattr(self, "parent", None)
        if parent is None or parent.get("logger"):
            return
        from .observability import logging as _logging
        _logging.configure(self["cfg"], parent.get("logfile"))
        parent["logger"] = "redislite.observability.logging.twistd_observer"


def makeService(options):
    from .service import make_service
    return make_service(options["cfg"], config_file=options["config"])
