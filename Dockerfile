# Realtime voice bot for Discord. Untested on the project's machines (no container engine there); the
# invariants below are checked by test/ops/dockerfile.test.ts. See README, "Docker".
#
#   docker build -t realtime-voice-bot .
#   docker run -d --name voice-bot --env-file .env -v voice-bot-data:/app/data realtime-voice-bot
#   docker run --rm --env-file .env realtime-voice-bot node bin/run.mjs scripts/deploy.ts

# ---- build: production dependencies, native modules compiled here -----------------------------
# The same Node as the project's pinned `node` dependency (the one the npm scripts and tests run on);
# at least the minimum of bin/runtimeRequirements.mjs (22.18.0).
FROM node:22.23.3-bookworm-slim AS build
# @discordjs/opus (optional, native Opus) builds with node-gyp; sodium-native ships prebuilds.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 # The image already has Node 22; the npm "node" package (the Node the project pins for machines
 # without one) is not used at run time and is 120 MB.
 && rm -rf node_modules/node node_modules/node-linux-* node_modules/node-darwin-* node_modules/.bin/node \
 && npm cache clean --force

# ---- runtime ----------------------------------------------------------------------------------
FROM node:22.23.3-bookworm-slim
ENV NODE_ENV=production \
    DATABASE_PATH=/app/data/bot.sqlite
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
COPY src ./src
COPY commands ./commands
COPY main.ts ./
COPY scripts/deploy.ts ./scripts/
# The database lives in a volume owned by the unprivileged "node" user of the base image.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]
USER node
# Only used when METRICS_PORT is set; set METRICS_HOST=0.0.0.0 to reach it from outside the container.
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD node -e "const p=process.env.METRICS_PORT; if(!p||p==='0')process.exit(0); fetch('http://127.0.0.1:'+p+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM (docker stop) leaves voice channels, closes model sessions and flushes the database
# within 5 s, inside docker's default 10 s grace period.
STOPSIGNAL SIGTERM
CMD ["node", "--max-semi-space-size=8", "bin/run.mjs", "main.ts"]
