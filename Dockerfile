# aks-emulator image: build stage generates from the pinned spec and compiles; runtime stage holds
# only production dependencies, the compiled code and the generated OpenAPI documents.
#
# The build needs the upstream spec files: either run `npm run sync-specs` before `docker build`
# (they land in specs/upstream/, which is part of the build context), or build on a machine that can
# download them from the pinned commit (sync-specs does so and checks each sha256).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY specs ./specs
COPY scripts ./scripts
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    FLOCI_AZ_SERVICES_AKS_DATA_DIR=/data \
    FLOCI_AZ_SERVICES_AKS_PORT=4577
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/generated/openapi ./generated/openapi
COPY --from=build /app/specs/MANIFEST.json /app/specs/README.md ./specs/
RUN mkdir -p /data && chown node:node /data
VOLUME /data
EXPOSE 4577
# Non-root by default. Real mode talks to the Docker socket: run with --group-add <the socket's gid>
# (or --user root where the socket allows nothing else), as docker-compose.yml shows.
USER node
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:4577/_emulator/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/src/main.js"]
