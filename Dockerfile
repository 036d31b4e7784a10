FROM python:3.11-slim
RUN useradd --system --home /data --shell /usr/sbin/nologin redislite \
    && mkdir -p /data && chown redislite /data
WORKDIR /src
COPY . /src
RUN pip install --no-cache-dir /src
USER redislite
WORKDIR /data
VOLUME ["/data"]
EXPOSE 6379 8080
ENV REDISLITE_BIND=0.0.0.0 REDISLITE_HTTP_BIND=0.0.0.0 REDISLITE_DIR=/data
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import socket; s=socket.create_connection(('127.0.0.1', 6379), 2); s.sendall(b'PING\r\n'); assert s.recv(64).startswith((b'+PONG', b'-NOAUTH'))"
CMD ["twistd", "--nodaemon", "--pidfile=", "redislite"]
