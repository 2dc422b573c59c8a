# snapwarden: one image for every role and both modes.
#   docker build -t ghcr.io/snapwarden/snapwarden:0.1.0 .
# Kubernetes mode: the manifests in deploy/kustomize set SNAPWARDEN_MODE=kubernetes and REDIS_URL.
# Local mode (the default here): policies in /app/policies, volumes and snapshots in /app/data;
# without REDIS_URL an embedded redis-server keeps its data under /app/data/redis.

# Node 24 LTS (engines in package.json; CI runs the suite on the same line).
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No scripts yet: `prepare` builds, and the sources are not copied at this point.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim
# redis-server for local mode's embedded Redis; kubernetes mode uses REDIS_URL instead.
RUN apt-get update \
  && apt-get install -y --no-install-recommends redis-server \
  && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 snapwarden \
  && useradd --system --uid 10001 --gid snapwarden --home-dir /app --shell /usr/sbin/nologin snapwarden
WORKDIR /app
ENV NODE_ENV=production \
  SNAPWARDEN_MODE=local \
  SNAPWARDEN_DATA_DIR=/app/data \
  SNAPWARDEN_POLICY_DIR=/app/policies \
  PORT=8080
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
RUN mkdir -p /app/data /app/policies && chown snapwarden:snapwarden /app/data /app/policies
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/apps/main/src/main.js"]
