import { ConfigError, loadConfig } from './config.ts';
import { createBot } from './bot.ts';
import { createLogger } from './log.ts';

/** Graceful shutdown must finish within this, or the process exits anyway. */
const SHUTDOWN_LIMIT_MS = 5_000;

let config;
try {
  config = loadConfig(process.env, { requireDiscord: true, requireRealtimeKey: true });
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    console.error('See .env.example for every setting.');
    process.exit(78);
  }
  throw error;
}
const logger = createLogger({ level: config.logLevel });
const bot = createBot(config, logger);

let shuttingDown = false;
async function shutdown(signal: string): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  logger.info({ signal }, 'shutting down');
  const force = setTimeout(() => {
    logger.error('shutdown took too long; exiting');
    process.exit(1);
  }, SHUTDOWN_LIMIT_MS);
  force.unref();
  await bot.stop().catch((error: unknown) => logger.error({ err: String(error) }, 'error during shutdown'));
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('unhandledRejection', (reason) => logger.error({ err: reason instanceof Error ? reason.message : String(reason) }, 'unhandled rejection'));

try {
  await bot.start();
} catch (error) {
  logger.fatal({ err: error instanceof Error ? error.message : String(error) }, 'could not start');
  await bot.stop().catch(() => undefined);
  process.exit(1);
}
