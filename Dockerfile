# plexsync as a container: `plexsync-scheduler` by default, `plexsync` on the PATH for one-shot commands.
#
#   docker build -t plexsync .
#   docker run -d --name plexsync -v plexsync-data:/data -v ./plexsync.yml:/config/plexsync.yml:ro \
#     -e PLEXSYNC_WEBHOOK_SECRET_FILE=/run/secrets/plexsync_webhook -p 8765:8765 plexsync
#   docker exec plexsync plexsync status
#
# Debian's own Node.js (20.19 in trixie) runs it; the build needs nothing but Debian's packages and the npm
# registry. The database lives in the /data volume; /config/plexsync.yml is read when present.

# --- build: install, compile, then install again with the production dependencies only -------------------------------------
FROM docker.io/library/debian:trixie-slim AS build
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    ca-certificates nodejs npm libnode-dev python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
ENV CI=true npm_config_update_notifier=false npm_config_fund=false
WORKDIR /src
COPY . .
# .pnpmfile.cjs points node-gyp at Debian's headers (/usr/include/node) for better-sqlite3.
# Behind a proxy that re-signs TLS, mount its CA bundle and name it (scripts/container-test.sh does):
#   podman build -v /etc/ssl/certs/ca-certificates.crt:/run/build-ca.crt:ro --build-arg BUILD_CA=/run/build-ca.crt .
ARG BUILD_CA=
RUN if [ -n "$BUILD_CA" ]; then \
      export NODE_EXTRA_CA_CERTS="$BUILD_CA" npm_config_cafile="$BUILD_CA" SSL_CERT_FILE="$BUILD_CA"; \
    fi \
  && npx -y pnpm@12.4.2 install --frozen-lockfile \
  && npx -y pnpm@12.4.2 build \
  && rm -rf node_modules packages/*/node_modules apps/*/node_modules bench/node_modules \
  && npx -y pnpm@12.4.2 install --frozen-lockfile --prod --offline \
  && mkdir /opt/plexsync \
  && cp -a package.json node_modules /opt/plexsync/ \
  && for dir in packages/* apps/*; do \
       mkdir -p "/opt/plexsync/$dir" \
       && cp -a "$dir/package.json" "$dir/build" "/opt/plexsync/$dir/" \
       && if [ -d "$dir/node_modules" ]; then cp -a "$dir/node_modules" "/opt/plexsync/$dir/"; fi; \
     done \
  && rm -rf /opt/plexsync/*/*/build/dts /opt/plexsync/*/*/build/*.tsbuildinfo \
  && cp scripts/healthcheck.mjs /opt/plexsync/ \
  && cp -a LICENSE /opt/plexsync/

# --- run ---------------------------------------------------------------------------------------------------------
FROM docker.io/library/debian:trixie-slim
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs \
  && rm -rf /var/lib/apt/lists/* \
  && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin plexsync \
  && mkdir -p /data /config \
  && chown plexsync:plexsync /data
COPY --from=build /opt/plexsync /opt/plexsync
RUN printf '#!/bin/sh\nexec node /opt/plexsync/apps/cli/build/esm/bin.js "$@"\n' > /usr/local/bin/plexsync \
  && printf '#!/bin/sh\nexec node /opt/plexsync/apps/scheduler/build/esm/bin.js "$@"\n' > /usr/local/bin/plexsync-scheduler \
  && printf '#!/bin/sh\nexec node /opt/plexsync/apps/demo/build/esm/demo.js "$@"\n' > /usr/local/bin/plexsync-demo \
  && chmod 755 /usr/local/bin/plexsync /usr/local/bin/plexsync-scheduler /usr/local/bin/plexsync-demo
# The scheduler listens beyond loopback here, so it refuses to start without PLEXSYNC_WEBHOOK_SECRET (or _FILE).
ENV PLEXSYNC_DATA_DIR=/data \
    PLEXSYNC_HTTP_ADDR=0.0.0.0:8765 \
    HOME=/data \
    NODE_ENV=production
VOLUME /data
EXPOSE 8765
USER plexsync
WORKDIR /data
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["node", "/opt/plexsync/healthcheck.mjs"]
CMD ["plexsync-scheduler"]
