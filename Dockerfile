# syntax=docker/dockerfile:1
# Coscribe relay server, one node: no Qt, non-root, documents in the /data volume.
#
#   docker build -t coscribe-server .
#   echo "$(openssl rand -base64 32)" > secret && chmod 600 secret
#   docker run -d --name coscribe -p 1234:1234 -v coscribe-data:/data \
#       -v "$PWD/secret:/run/secrets/coscribe_secret:ro" \
#       -e COSCRIBE_SECRET_FILE=/run/secrets/coscribe_secret coscribe-server
#   docker exec coscribe coscribe-server token --doc 'team-*' --url ws://HOST:1234
#
# The server listens on 0.0.0.0 inside the container, and refuses to do that in open mode:
# give it a secret (COSCRIBE_SECRET_FILE pointing at a mounted file or Docker secret, or
# COSCRIBE_SECRET) or, for a trusted private network only, COSCRIBE_INSECURE_OPEN=1.
# Without either it exits with a message saying exactly that.
# See docs/packaging.md ("Server") and docs/deploy.md. Cluster nodes (PostgreSQL + Redis):
#   docker build --build-arg EXTRAS=cluster -t coscribe-server:cluster .
# (deploy/compose.yaml does that).

FROM python:3.11-slim AS build
ARG EXTRAS=""
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY sync_server ./sync_server
COPY editor_app ./editor_app
# Wheels for coscribe and its dependencies (never the editor extra: the server needs no Qt).
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".${EXTRAS:+[$EXTRAS]}"

FROM python:3.11-slim
ARG EXTRAS=""
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin coscribe \
    && mkdir /data && chown coscribe:coscribe /data && chmod 0750 /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels "coscribe${EXTRAS:+[$EXTRAS]}" \
    && rm -rf /wheels
COPY packaging/docker/healthcheck.py /usr/local/lib/coscribe/healthcheck.py
ENV COSCRIBE_HOST=0.0.0.0 \
    COSCRIBE_PORT=1234 \
    COSCRIBE_DATA_DIR=/data \
    COSCRIBE_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
VOLUME ["/data"]
EXPOSE 1234
USER coscribe
WORKDIR /data
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "/usr/local/lib/coscribe/healthcheck.py"]
# exec form: coscribe-server is PID 1 and gets SIGTERM from `docker stop` (clean shutdown:
# peers closed with 1012 and reconnect elsewhere, storage flushed).
ENTRYPOINT ["coscribe-server"]
CMD ["serve"]
