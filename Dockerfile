# RedisLite in a container: non-root, data in the /data volume, a RESP health check.
#
#   docker build -t redislite .
#   docker run -d -v redislite-data:/data -p 127.0.0.1:6379:6379 \
#       -e REDISLITE_REQUIREPASS=... redislite
#
# Every parameter can be set as REDISLITE_<NAME> (REDISLITE_APPENDONLY=yes ...) or
# as arguments after the image name (they replace CMD: give the whole command,
# e.g. `twistd --nodaemon --pidfile= redislite --replicaof "master 6379"`).
# The server listens on every interface inside the container, so protected mode
# (on by default, as in Redis) refuses clients from other hosts until a password
# is set (REDISLITE_REQUIREPASS) or protected mode is turned off. See
# docs/operations.md ("Running in containers").
FROM python:3.11-slim

# hiredis, lupa and the TLS stack ship manylinux wheels: no compiler needed.
RUN useradd --system --uid 999 --user-group --home-dir /data --shell /usr/sbin/nologin redislite \
    && mkdir -p /data && chown redislite:redislite /data

WORKDIR /src
COPY setup.py README.md MANIFEST.in ./
COPY redislite ./redislite
COPY twisted ./twisted
RUN pip install --no-cache-dir . \
    # build twistd's plugin cache now: the non-root user cannot write site-packages
    && python -c "from twisted.plugin import IPlugin, getPlugins; list(getPlugins(IPlugin))" \
    && rm -rf /src

USER redislite
WORKDIR /data
VOLUME ["/data"]
# 6379: RESP; 8080: HTTP API and Prometheus /metrics
EXPOSE 6379 8080
ENV REDISLITE_BIND=0.0.0.0 REDISLITE_HTTP_BIND=0.0.0.0 REDISLITE_DIR=/data \
    PYTHONUNBUFFERED=1

# Healthy once PING is answered (+PONG; -NOAUTH when a password is set; -MASTERDOWN
# on a replica told not to serve stale data). -LOADING and -MISCONF (the disk
# refuses writes) count as unhealthy; --start-period covers loading at start.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, socket; s = socket.create_connection(('127.0.0.1', int(os.environ.get('REDISLITE_PORT') or 6379)), 2); s.sendall(b'PING\\r\\n'); assert s.recv(64).startswith((b'+PONG', b'-NOAUTH', b'-MASTERDOWN'))"]

CMD ["twistd", "--nodaemon", "--pidfile=", "redislite"]
