/**
 * Graceful shutdown of the real bot process (`node bin/run.mjs main.ts`) on SIGTERM and SIGINT:
 * it leaves the voice channel, closes the realtime session properly, flushes the database and exits
 * with status 0 within 5 seconds (the limit the process enforces itself).
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { DatabaseSync } from '../../src/store/sqlite.ts';
import { eventually, spawnBot, startSimulators, type BotProcess, type Simulators } from './helpers.ts';

const SHUTDOWN_LIMIT_MS = 5_000;

async function shutdownCase(signal: 'SIGTERM' | 'SIGINT'): Promise<void> {
  let sims: Simulators | undefined;
  let bot: BotProcess | undefined;
  try {
    sims = await startSimulators({ realtime: { apiKey: `sk-sim-${signal}-5b2d4086af1e9c3b7d5a2e60` } });
    const instructions = `Speak like a lighthouse keeper (${signal} case).`;
    bot = spawnBot('main.ts', { ...sims.env, LOG_LEVEL: 'debug' });
    await bot.waitForLog((line) => line.msg === 'logged in', 'the bot to log in');

    const alice = sims.discord.member('Alice');
    await alice.joinVoice();
    const join = await alice.runCommand('join');
    assert.match(await join.waitForContent(20_000), /^Joined/);
    await sims.discord.voice.waitForBotReady(10_000);
    assert.equal(sims.discord.botVoiceChannel(), sims.discord.voiceChannelId);
    const owner = sims.discord.member('Owner');
    const set = await owner.runCommand('instructions', { text: instructions }, 'set');
    await set.waitForContent(10_000);
    const realtimeSessions = sims.realtime.sessions.filter((session) => !session.closed);
    assert.ok(realtimeSessions.length >= 1, 'a realtime session is open');

    const sentAt = performance.now();
    bot.child.kill(signal);
    const exit = await bot.exited;
    const elapsedMs = exit.at - sentAt;

    assert.equal(exit.code, 0, `exit status 0 (got ${exit.code}, signal ${exit.signal}):\n${bot.lines.slice(-10).join('\n')}`);
    assert.ok(elapsedMs < SHUTDOWN_LIMIT_MS, `exited in ${Math.round(elapsedMs)} ms (limit ${SHUTDOWN_LIMIT_MS} ms)`);
    const logs = bot.logs();
    assert.ok(logs.some((line) => line.msg === 'shutting down' && line.signal === signal), 'logs the signal');
    const stopped = logs.find((line) => line.msg === 'stopped');
    assert.ok(stopped, 'logs the completed stop');
    assert.equal(stopped.leftVoice, 1);
    assert.equal(stopped.unconfirmedLeaves, 0, 'Discord confirmed the leave before the gateway closed');
    console.log(`# ${signal}: process exited ${Math.round(elapsedMs)} ms after the signal (stop took ${String(stopped.ms)} ms)`);

    // Left voice: Discord saw the bot's voice state go to no channel.
    assert.equal(sims.discord.botVoiceChannel(), null, 'the bot left the voice channel');
    assert.equal(sims.discord.voiceStates().get(sims.discord.botUserId) ?? null, null);
    // The realtime session was closed by the bot (close frame 1000), not dropped with the process.
    await eventually(() => realtimeSessions.every((session) => session.closed), 'the realtime session to close');
    for (const session of realtimeSessions) assert.equal(session.closeCode, 1000, 'the bot closed the realtime session properly');

    // The production logger (LOG_LEVEL=debug, discord.js debug output included) never printed a secret.
    const token = sims.discord.token;
    for (const secret of [token, token.split('.').at(-1)!, sims.realtime.apiKey]) {
      assert.ok(secret.length >= 16);
      const leak: string | undefined = bot.lines.find((line) => line.includes(secret));
      assert.equal(leak, undefined, 'a secret in the output');
    }
    assert.ok(bot.lines.some((line) => line.includes('discord.js debug')), 'debug output was on');

    // Flushed: the write-ahead log was checkpointed into the database file, which holds the instructions.
    const wal = `${sims.databasePath}-wal`;
    assert.ok(!existsSync(wal) || statSync(wal).size === 0, 'no un-checkpointed write-ahead log remains');
    const db = new DatabaseSync(sims.databasePath, { readOnly: true });
    try {
      const row = db.prepare('SELECT instructions FROM guild_settings WHERE guild_id = ?').get(sims.discord.guildId) as { instructions: string } | undefined;
      assert.equal(row?.instructions, instructions);
    } finally {
      db.close();
    }
  } finally {
    bot?.kill();
    await sims?.close();
  }
}

describe('graceful shutdown of the bot process', () => {
  test('SIGTERM: leaves voice, closes the realtime session, flushes the database, exits 0 within 5 s', async () => {
    await shutdownCase('SIGTERM');
  });

  test('SIGINT: the same', async () => {
    await shutdownCase('SIGINT');
  });
});

describe('shutdown while idle', () => {
  let sims: Simulators;
  before(async () => {
    sims = await startSimulators();
  });
  after(async () => {
    await sims.close();
  });

  test('SIGTERM with no voice session exits 0 within 5 s', async () => {
    const bot = spawnBot('main.ts', { ...sims.env, LOG_LEVEL: 'info' });
    try {
      await bot.waitForLog((line) => line.msg === 'logged in', 'the bot to log in');
      const sentAt = performance.now();
      bot.child.kill('SIGTERM');
      const exit = await bot.exited;
      assert.equal(exit.code, 0);
      assert.ok(exit.at - sentAt < SHUTDOWN_LIMIT_MS);
      assert.ok(bot.logs().some((line) => line.msg === 'stopped' && line.leftVoice === 0));
    } finally {
      bot.kill();
    }
  });
});
