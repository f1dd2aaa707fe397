/**
 * The configuration of `npm run start:sharded`: which shards of how many this machine runs
 * (SHARD_COUNT/TOTAL_SHARDS, SHARD_LIST, SHARD_RESPAWN), checked together with the bot's own
 * configuration so that one message lists every problem.
 */
import { ConfigError, loadConfig, type Config } from './config.ts';

/** The variables {@link loadShardingConfig} reads. */
export const SHARDING_VARIABLES: readonly string[] = ['SHARD_COUNT', 'TOTAL_SHARDS', 'SHARD_LIST', 'SHARD_RESPAWN'];

/** How `npm run start:sharded` runs: which shards of how many, on this machine. */
export interface ShardingConfig {
  /** Shards of the whole bot, across every machine; 'auto' asks Discord (only when this machine runs them all). */
  totalShards: number | 'auto';
  /** Shard ids this machine runs; 'auto' = all of them. */
  shardList: number[] | 'auto';
  /** Restart a shard process that dies. */
  respawn: boolean;
}

/**
 * Parses SHARD_COUNT (or its synonym TOTAL_SHARDS: the total across all machines, default 'auto'),
 * SHARD_LIST ("0-3", "4,5,6", "0-1,6" or "all": the shards this machine runs) and SHARD_RESPAWN.
 * Running a part of the shards needs an explicit total, the same on every machine.
 */
export function loadShardingConfig(env: NodeJS.ProcessEnv = process.env): ShardingConfig {
  const { sharding, problems } = readShardingConfig(env);
  if (problems.length > 0) throw new ConfigError(problems);
  return sharding;
}

/** {@link loadShardingConfig} without throwing: what could be read (defaults where not) and the problems. */
function readShardingConfig(env: NodeJS.ProcessEnv): { sharding: ShardingConfig; problems: string[] } {
  const problems: string[] = [];
  const count = env.SHARD_COUNT?.trim() || undefined;
  const total = env.TOTAL_SHARDS?.trim() || undefined;
  if (count !== undefined && total !== undefined && count !== total) {
    problems.push(`SHARD_COUNT and TOTAL_SHARDS are the same setting; they differ ("${count}" vs "${total}")`);
  }
  const totalText = (total ?? count ?? 'auto').toLowerCase();
  let totalShards: number | 'auto' = 'auto';
  if (totalText !== 'auto') {
    const n = Number(totalText);
    if (!Number.isInteger(n) || n < 1 || n > 10_000) problems.push(`SHARD_COUNT must be "auto" or a whole number from 1 to 10000 (got "${totalText}")`);
    else totalShards = n;
  }
  const listText = env.SHARD_LIST?.trim().toLowerCase() || 'all';
  let shardList: number[] | 'auto' = 'auto';
  if (listText !== 'all' && listText !== 'auto') {
    const ids = new Set<number>();
    for (const part of listText.split(',')) {
      const range = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
      const from = Number(range?.[1]);
      const to = range?.[2] === undefined ? from : Number(range[2]);
      if (!range || to < from || to >= 10_000) {
        problems.push(`SHARD_LIST must be shard ids and ranges such as "0-3" or "4,5,6" (got "${env.SHARD_LIST}")`);
        break;
      }
      for (let id = from; id <= to; id++) ids.add(id);
    }
    shardList = [...ids].sort((a, b) => a - b);
    if (totalShards === 'auto') {
      problems.push('SHARD_LIST needs SHARD_COUNT (the total across all machines, the same everywhere), not "auto"');
    } else if (shardList.some((id) => id >= (totalShards as number))) {
      problems.push(`SHARD_LIST ids must be below SHARD_COUNT (${totalShards}); shard ids start at 0`);
    }
  }
  const respawnText = (env.SHARD_RESPAWN?.trim() || 'true').toLowerCase();
  if (respawnText !== 'true' && respawnText !== 'false') problems.push(`SHARD_RESPAWN must be true or false (got "${env.SHARD_RESPAWN}")`);
  return { sharding: { totalShards, shardList, respawn: respawnText !== 'false' }, problems };
}

/**
 * The configuration of `npm run start:sharded`: the bot's and the sharding settings, checked together
 * so that one message lists the problems of both, and of how they combine (each shard serves metrics
 * on METRICS_PORT + its id, which must stay a valid port).
 */
export function loadShardedConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: { requireDiscord?: boolean; requireRealtimeKey?: boolean } = {},
): { config: Config; sharding: ShardingConfig } {
  const problems: string[] = [];
  const attempt = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return undefined;
    }
  };
  const config = attempt(() => loadConfig(env, options));
  const { sharding, problems: shardingProblems } = readShardingConfig(env);
  problems.push(...shardingProblems);
  if (sharding.totalShards !== 'auto') {
    const port = config?.metricsPort ?? Number(env.METRICS_PORT);
    const highestShard = sharding.shardList === 'auto' ? sharding.totalShards - 1 : Math.max(...sharding.shardList);
    if (Number.isInteger(port) && port > 0 && port + highestShard > 65_535) {
      problems.push(`METRICS_PORT ${port} + shard id ${highestShard} is above 65535: each shard serves metrics on METRICS_PORT + its id; use a lower METRICS_PORT`);
    }
  }
  if (problems.length > 0 || !config) throw new ConfigError(problems);
  return { config, sharding };
}
