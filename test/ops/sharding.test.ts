/**
 * `npm run start:sharded` (src/sharding.ts, discord.js's ShardingManager) against the local Discord:
 * the manager asks for the recommended shard count (the simulator says 1), forks
 * `bin/run.mjs main.ts` for shard 0 under the same Node, the shard logs in, answers a command,
 * serves its metrics, and the manager stops it gracefully on SIGTERM.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { loadShardingConfig } from '../../src/shardingConfig.ts';
import { eventually, freePort, spawnBot, startSimulators, type BotProcess, type Simulators } from './helpers.ts';

describe('sharding manager on the local Discord', () => {
  let sims: Simulators;
  let manager: BotProcess;
  let metricsPort: number;

  before(async () => {
    sims = await startSimulators();
    metricsPort = await freePort();
    manager = spawnBot('src/sharding.ts', { ...sims.env, LOG_LEVEL: 'info', METRICS_PORT: String(metricsPort) });
  });
  after(async () => {
    manager?.kill();
    await sims?.close();
  });

  test('spawns shard 0 of the recommended 1 as bin/run.mjs main.ts under the same Node; it logs in', async () => {
    const spawning = await manager.waitForLog((line) => line.msg === 'spawning shards', 'the manager to start');
    assert.equal(spawning.totalShards, 1, 'SHARD_COUNT auto = what GET /gateway/bot recommends');
    assert.deepEqual(spawning.shardList, [0]);
    const starting = await manager.waitForLog((line) => line.msg === 'starting' && line.shard === 0, 'shard 0 to start', 30_000);
    assert.equal(starting.node, process.versions.node, 'the shard runs under the same Node as the manager');
    assert.notEqual(starting.pid, manager.child.pid, 'in its own process');
    const loggedIn = await manager.waitForLog((line) => line.msg === 'logged in' && line.shard === 0, 'shard 0 to log in', 30_000);
    assert.deepEqual(loggedIn.shards, [0]);
    await manager.waitForLog((line) => line.msg === 'all shards ready', 'the manager to see the shard ready', 30_000);
  });

  test('the shard answers a command and joins voice', async () => {
    const alice = sims.discord.member('Alice');
    await alice.joinVoice();
    const join = await alice.runCommand('join');
    assert.match(await join.waitForContent(20_000), /^Joined/);
    await eventually(() => sims.discord.botVoiceChannel() === sims.discord.voiceChannelId, 'the bot in voice');
  });

  test('the shard serves /healthz on METRICS_PORT + its shard id', async () => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    assert.equal(response.status, 200);
    const health = (await response.json()) as { shards: number[]; voiceSessions: number };
    assert.deepEqual(health.shards, [0]);
    assert.equal(health.voiceSessions, 1);
  });

  test('SIGTERM to the manager stops the shard gracefully and exits 0', async () => {
    const sentAt = performance.now();
    manager.child.kill('SIGTERM');
    const exit = await manager.exited;
    // Every assertion names what the manager and the shard logged, so a failure on a loaded CI machine explains itself.
    const recent = () => manager.lines.filter((line) => !line.includes('"discord.js debug"')).slice(-25).join('\n');
    assert.equal(exit.code, 0, recent());
    assert.ok(exit.at - sentAt < 8_000, `stopped in ${Math.round(exit.at - sentAt)} ms:\n${recent()}`);
    const logs = manager.logs();
    assert.ok(logs.some((line) => line.msg === 'stopped' && line.shard === 0 && line.leftVoice === 1), `the shard stopped gracefully:\n${recent()}`);
    assert.ok(logs.some((line) => line.msg === 'shards stopped' && line.failed === 0), recent());
    assert.ok(!logs.some((line) => line.msg === 'shard process died'), `no shard died or was respawned:\n${recent()}`);
    assert.equal(sims.discord.botVoiceChannel(), null, `the bot left voice:\n${recent()}`);
    assert.deepEqual(logs.filter((line) => (line.level as number) >= 50), [], 'no errors logged');
    assert.deepEqual(manager.lines.filter((line) => !line.startsWith('{')), [], 'only JSON log lines');
  });
});

describe('sharding configuration', () => {
  test('defaults: total from Discord, every shard on this machine, respawn', () => {
    assert.deepEqual(loadShardingConfig({}), { totalShards: 'auto', shardList: 'auto', respawn: true });
  });

  test('a range of the shards on one machine, with the total of all machines', () => {
    assert.deepEqual(loadShardingConfig({ SHARD_COUNT: '8', SHARD_LIST: '4-7' }).shardList, [4, 5, 6, 7]);
    assert.deepEqual(loadShardingConfig({ TOTAL_SHARDS: '8', SHARD_LIST: '0-1, 6' }), { totalShards: 8, shardList: [0, 1, 6], respawn: true });
    assert.equal(loadShardingConfig({ SHARD_COUNT: '4', TOTAL_SHARDS: '4', SHARD_RESPAWN: 'false' }).respawn, false);
  });

  test('refuses what would split the bot inconsistently', () => {
    assert.throws(() => loadShardingConfig({ SHARD_LIST: '0-3' }), /SHARD_LIST needs SHARD_COUNT/);
    assert.throws(() => loadShardingConfig({ SHARD_COUNT: '4', SHARD_LIST: '2-5' }), /below SHARD_COUNT/);
    assert.throws(() => loadShardingConfig({ SHARD_COUNT: '4', TOTAL_SHARDS: '8' }), /same setting/);
    assert.throws(() => loadShardingConfig({ SHARD_COUNT: 'many' }), /SHARD_COUNT must be/);
    assert.throws(() => loadShardingConfig({ SHARD_COUNT: '4', SHARD_LIST: '3-1' }), /SHARD_LIST must be/);
  });
});
