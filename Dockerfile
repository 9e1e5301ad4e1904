# The portal as a container image: Debian's Python 3.11, the requirements in a venv, the
# front-end packages from npm, static files collected at build, Daphne as a non-root user.
# Works with the classic builder and BuildKit alike (no BuildKit-only syntax).
#
#   docker build -t dockerweb .
#   docker run -d -p 8000:8000 -v dockerweb-data:/data \
#       -v /var/run/docker.sock:/var/run/docker.sock \
#       --group-add "$(stat -c %g /var/run/docker.sock)" \
#       -e DOCKERWEB_ADMIN_PASSWORD=... dockerweb
#
# Build arguments:
#   BASE            a Debian bookworm image (default debian:bookworm-slim)
#   EXTRA_CA_CERT   PEM text of a CA the build must trust to reach PyPI and npm through a
#                   TLS-inspecting proxy; used by the build stages only, never in the image:
#                   --build-arg EXTRA_CA_CERT="$(cat proxy-ca.crt)"
ARG BASE=debian:bookworm-slim

# -- what every stage shares: Debian's Python 3.11 -----------------------------------------
FROM ${BASE} AS runtime-base
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# -- front-end packages: npm ci from package-lock.json -------------------------------------
FROM ${BASE} AS assets
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates nodejs npm \
    && rm -rf /var/lib/apt/lists/*
COPY container-image/trust-build-ca.sh /usr/local/bin/
# Declared here, not above: its value then leaves the package layers' cache alone.
ARG EXTRA_CA_CERT=""
RUN trust-build-ca.sh "$EXTRA_CA_CERT"
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# -- the venv, the code, the collected static files ----------------------------------------
FROM runtime-base AS app
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/*
COPY container-image/trust-build-ca.sh /usr/local/bin/
# Declared here, not above: its value then leaves the package layers' cache alone.
ARG EXTRA_CA_CERT=""
RUN trust-build-ca.sh "$EXTRA_CA_CERT"
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
RUN python3 -m venv /opt/venv
# requirements.txt up to its "# Tests and development" part: the image has no test tools
# (tests/test_requirements_split.py keeps what the code imports in the runtime part).
COPY requirements.txt /tmp/requirements.txt
RUN sed -n '1,/^# Tests and development/p' /tmp/requirements.txt > /tmp/runtime.txt \
    && /opt/venv/bin/pip install --no-cache-dir -q -r /tmp/runtime.txt
COPY . /app
COPY --from=assets /build/node_modules /tmp/node_modules
WORKDIR /app
# Settings create a data folder and a secret key when they load: here they go to a throwaway
# folder, so no key is baked into the image.
ENV DOCKERWEB_STATIC_ROOT=/app/staticfiles
RUN export DOCKERWEB_DATA_DIR=/tmp/build-data DOCKERWEB_SECRET_KEY=build-only \
        DJANGO_SETTINGS_MODULE=dockerweb.settings PYTHONPATH=/app \
    && /opt/venv/bin/python container-image/keep_vendor_assets.py /tmp/node_modules /app/node_modules \
    && /opt/venv/bin/python manage.py collectstatic --noinput -v 0 \
    && /opt/venv/bin/python -m compileall -q /app /opt/venv \
    && rm -rf /tmp/build-data /tmp/node_modules

# -- the image ---------------------------------------------------------------------------
FROM runtime-base
# A fixed UID/GID, so a bind-mounted data folder can be given to it: chown 10001:10001 DIR.
RUN groupadd --system --gid 10001 dockerweb \
    && useradd --system --uid 10001 --gid dockerweb --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin dockerweb \
    && install -d -o dockerweb -g dockerweb -m 0700 /data
COPY --from=app /opt/venv /opt/venv
COPY --from=app /app /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=dockerweb.settings \
    PYTHONPATH=/app \
    DOCKERWEB_DATA_DIR=/data \
    DOCKERWEB_STATIC_ROOT=/app/staticfiles
WORKDIR /app
# The code stays root's: the portal's user writes only its data folder.
USER dockerweb
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/app/container-image/healthcheck.py"]
ENTRYPOINT ["/app/container-image/entrypoint.sh"]
