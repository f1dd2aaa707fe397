/**
 * `npm run start:sharded`: runs the bot as one process per shard with discord.js's ShardingManager.
 *
 * Each shard process is `node bin/run.mjs main.ts` (the same entry point as `npm start`),
 * forked with the Node binary running this manager, so it gets the same runtime check and preload
 * as every npm script. discord.js hands each child its shard id and the total in SHARDS and
 * SHARD_COUNT, which the child's Client reads. Voice connections belong to a guild, and a guild to
 * exactly one shard, so each shard's @discordjs/voice adapter carries its own guilds' voice.
 *
 * Across machines: give every machine the same SHARD_COUNT (the total) and a different SHARD_LIST
 * (e.g. machine A "0-3", machine B "4-7"). See the README, "Scaling out (sharding)".
 */
import { resolve } from 'node:path';
import { ShardingManager, type Shard } from 'discord.js';
import { configSecrets, loadOrExit } from './config.ts';
import { loadShardedConfig } from './shardingConfig.ts';
import { createLogger } from './log.ts';
import { reportModelKeyCheck } from './realtime/keyCheck.ts';
import { databaseFolderProblem } from './store/dataFolder.ts';
import { BOT_NODE_FLAGS } from './nodeFlags.ts';

/** A shard process gets this long to stop gracefully (it bounds itself at 5 s) before it is killed. */
const SHARD_STOP_LIMIT_MS = 6_500;
/** How long a shard may take from spawn to ready. */
const SHARD_READY_TIMEOUT_MS = 60_000;
const ROOT = resolve(import.meta.dirname, '..');

// Validate the whole configuration here, once, rather than in every shard process.
const { config, sharding } = loadOrExit(() => loadShardedConfig(process.env, { requireDiscord: true, requireRealtimeKey: true }));
const logger = createLogger({ level: config.logLevel, secrets: configSecrets(config) }).child({ component: 'sharding' });
const dataProblem = config.databaseUrl ? null : databaseFolderProblem(config.databasePath);
if (dataProblem) {
  console.error(`error: ${dataProblem}`);
  process.exit(73); // EX_CANTCREAT, once here rather than in every shard
}

/**
 * Discord's recommended shard count (GET /gateway/bot), read from DISCORD_API_URL when set. discord.js's
 * own `fetchRecommendedShardCount` always asks discord.com, so it cannot be pointed at a local Discord.
 */
async function recommendedShardCount(token: string, apiUrl: string | undefined): Promise<number> {
  const base = (apiUrl ?? 'https://discord.com/api').replace(/\/+$/, '');
  const response = await fetch(`${base}/v10/gateway/bot`, { headers: { authorization: `Bot ${token}` } });
  if (response.status === 401) throw new Error('Discord refused the token (401) while asking for the recommended shard count');
  if (!response.ok) throw new Error(`Discord answered ${response.status} while asking for the recommended shard count`);
  const body = (await response.json()) as { shards?: unknown };
  if (typeof body.shards !== 'number' || !Number.isInteger(body.shards) || body.shards < 1) throw new Error('Discord sent no shard count');
  return body.shards;
}

// The model key, once for all shards (a handshake: no audio, nothing billed); a refusal is a warning.
void reportModelKeyCheck({ url: config.realtime.url, model: config.realtime.model, dialect: config.realtime.dialect, apiKey: config.realtime.apiKey ?? '', logger });

let totalShards: number;
try {
  totalShards = sharding.totalShards === 'auto' ? await recommendedShardCount(config.discord.token!, config.discord.apiUrl) : sharding.totalShards;
} catch (error) {
  logger.fatal({ err: error instanceof Error ? error.message : String(error) }, 'could not determine the shard count');
  process.exit(1);
}
const shardList = sharding.shardList === 'auto' ? [...Array(totalShards).keys()] : sharding.shardList;

const manager = new ShardingManager(resolve(ROOT, 'bin/run.mjs'), {
  // bin/run.mjs resolves its target against the working directory; an absolute path works from anywhere.
  shardArgs: [resolve(ROOT, 'main.ts')],
  execArgv: [...BOT_NODE_FLAGS],
  totalShards,
  shardList,
  token: config.discord.token,
  mode: 'process',
  respawn: sharding.respawn,
});

manager.on('shardCreate', (shard: Shard) => {
  const log = logger.child({ shard: shard.id });
  log.info('shard process starting');
  shard.on('spawn', (child) => log.info({ pid: (child as { pid?: number } | undefined)?.pid }, 'shard process spawned'));
  shard.on('ready', () => log.info('shard ready'));
  shard.on('disconnect', () => log.warn('shard disconnected from the gateway'));
  shard.on('reconnecting', () => log.info('shard reconnecting'));
  shard.on('death', (child) => {
    const exitCode = (child as { exitCode?: number | null }).exitCode ?? null;
    if (stopping) log.info({ exitCode }, 'shard process exited');
    else log.error({ exitCode, respawn: manager.respawn }, 'shard process died');
  });
  shard.on('error', (error) => log.error({ err: error.message }, 'shard error'));
});

let stopping = false;
async function shutdown(signal: string, exitCode = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal, shards: manager.shards.size }, 'shutting down the shards');
  manager.respawn = false;
  const exits = [...manager.shards.values()].map(async (shard) => {
    const child = shard.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return 0;
    const exited = new Promise<number>((resolveExit) => child.once('exit', (code) => resolveExit(code ?? 1)));
    child.kill('SIGTERM'); // each shard leaves its voice channels, closes its model sessions and flushes
    const timer = setTimeout(() => child.kill('SIGKILL'), SHARD_STOP_LIMIT_MS);
    const code = await exited;
    clearTimeout(timer);
    return code;
  });
  const codes = await Promise.all(exits);
  const failed = codes.filter((code) => code !== 0).length;
  logger.info({ shards: codes.length, failed }, 'shards stopped');
  process.exit(failed > 0 ? 1 : exitCode);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

logger.info({ totalShards, shardList, node: process.versions.node }, 'spawning shards');
try {
  await manager.spawn({ amount: totalShards, timeout: SHARD_READY_TIMEOUT_MS });
  logger.info({ shards: shardList.length }, 'all shards ready');
} catch (error) {
  if (!stopping) {
    logger.fatal({ err: error instanceof Error ? error.message : String(error) }, 'could not spawn the shards');
    await shutdown('spawn failure', 1);
  }
}
