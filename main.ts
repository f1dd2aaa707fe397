/**
 * The bot process (`npm start`, and each shard of `npm run start:sharded`): loads the configuration,
 * builds the bot with its commands, and stops it gracefully on a signal. It lives outside `src/`
 * because it wires every layer together, `commands/` included (nothing in `src/` imports `commands/`).
 */
import { performance } from 'node:perf_hooks';
import { commands } from './commands/index.ts';
import { tools } from './tools/index.ts';
import { configSecrets, loadConfig, loadOrExit } from './src/config.ts';
import { createBot } from './src/bot.ts';
import { createLogger } from './src/log.ts';
import { metricsPortFor } from './src/metrics/index.ts';
import { keepShardVariablesForTheManager, watchParent } from './src/lifecycle.ts';
import { reportModelKeyCheck } from './src/realtime/keyCheck.ts';
import { databaseFolderProblem } from './src/store/dataFolder.ts';

/** Graceful shutdown must finish within this, or the process exits anyway (with status 1). */
const SHUTDOWN_LIMIT_MS = 5_000;

const shardIds = process.env.SHARDING_MANAGER ? process.env.SHARDS : undefined;
keepShardVariablesForTheManager(process.env);
const loaded = loadOrExit(() => loadConfig(process.env, { requireDiscord: true, requireRealtimeKey: true }));
// Under the sharding manager (src/sharding.ts) every shard process runs this file; each shard's
// metrics endpoint is METRICS_PORT + its shard id.
const config = { ...loaded, metricsPort: metricsPortFor(loaded.metricsPort, shardIds) };
// A SQLite folder the bot cannot write (a root-owned Docker volume, say) gets one line with the path and
// the fix, instead of SQLite's "unable to open database file" without either.
const dataProblem = config.databaseUrl ? null : databaseFolderProblem(config.databasePath);
if (dataProblem) {
  console.error(`error: ${dataProblem}`);
  process.exit(73); // EX_CANTCREAT
}
const root = createLogger({ level: config.logLevel, secrets: configSecrets(config) });
const logger = shardIds === undefined ? root : root.child({ shard: Number(shardIds) });
let bot: ReturnType<typeof createBot>;
try {
  bot = createBot(config, logger, { commands, tools });
} catch (error) {
  logger.fatal({ err: error instanceof Error ? error.message : String(error) }, 'could not start');
  process.exit(1);
}
logger.info({ pid: process.pid, node: process.versions.node, metricsPort: config.metricsPort || undefined }, 'starting');

let shuttingDown = false;
async function shutdown(signal: string): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  const started = performance.now();
  logger.info({ signal }, 'shutting down');
  const force = setTimeout(() => {
    logger.error({ limitMs: SHUTDOWN_LIMIT_MS }, 'shutdown took too long; exiting');
    process.exit(1);
  }, SHUTDOWN_LIMIT_MS);
  force.unref();
  let code = 0;
  await bot.stop().catch((error: unknown) => {
    code = 1;
    logger.error({ err: error instanceof Error ? error.message : String(error) }, 'error during shutdown');
  });
  logger.info({ signal, ms: Math.round(performance.now() - started) }, 'shutdown complete');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
// A shard whose manager went away (killed, crashed) must not linger as an orphan; nor must a bot whose npm did.
if (process.env.SHARDING_MANAGER && process.send) process.on('disconnect', () => void shutdown('manager disconnected'));
watchParent(() => void shutdown('parent process exited'));
process.on('unhandledRejection', (reason) => logger.error({ err: reason instanceof Error ? reason.message : String(reason) }, 'unhandled rejection'));

// The model key is tried once at start (a handshake: no audio, nothing billed), alongside the login,
// so a refused key shows in the log now rather than at the first /join. It never stops the start.
// Under the sharding manager, the manager checks it once for every shard.
if (shardIds === undefined) {
  const { url, model, dialect, apiKey } = config.realtime;
  void reportModelKeyCheck({ url, model, dialect, apiKey: apiKey ?? '', logger });
}

try {
  await bot.start();
} catch (error) {
  // A signal during login makes the login fail; shutdown() is already stopping and exits.
  if (!shuttingDown) {
    logger.fatal({ err: error instanceof Error ? error.message : String(error) }, 'could not start');
    await bot.stop().catch(() => undefined);
    process.exit(1);
  }
}
