/**
 * What the bot process checks at start, as an operator sees it: the model key (a handshake, no audio,
 * nothing billed — a refused key is a clear warning and the bot still starts) and the SQLite folder
 * (one line naming the path and the fix when the bot cannot write it, as with a root-owned volume).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, spawnBot, spawnProcess, startSimulators, type Simulators } from './helpers.ts';

describe('model key check at start', () => {
  let sims: Simulators;
  before(async () => {
    // The real service's second way of refusing a key: accept the upgrade, send invalid_api_key, close 3000.
    sims = await startSimulators({ realtime: { badKeyRefusal: 'after-upgrade' } });
  });
  after(async () => {
    await sims?.close();
  });

  test('a refused key: a clear warning (no secret), and the bot starts anyway', async () => {
    const wrongKey = 'sk-wrong-7c1e9d04b6a25f83';
    const bot = spawnBot('main.ts', { ...sims.env, REALTIME_API_KEY: wrongKey, LOG_LEVEL: 'info' });
    try {
      const warn = await bot.waitForLog((line) => String(line.msg).startsWith('model key refused'), 'the key warning');
      assert.equal(warn.level, 40, 'warn');
      assert.match(String(warn.msg), /\/join and mentions will fail until it is fixed/);
      assert.equal(warn.model, 'gpt-realtime');
      await bot.waitForLog((line) => line.msg === 'logged in', 'the bot to log in regardless');
      const sessionsBefore = sims.realtime.sessions.length;
      assert.equal(sims.realtime.received.length, 0, 'the check sent nothing');
      assert.equal(sessionsBefore, 0, 'a refused key never gets a session');
      assert.ok(!bot.lines.some((line) => line.includes(wrongKey)), 'the key is never logged');
    } finally {
      bot.child.kill('SIGTERM');
      await bot.exited;
    }
  });

  test('an accepted key: one info line, and the probe session sent nothing', async () => {
    const bot = spawnBot('main.ts', { ...sims.env, LOG_LEVEL: 'info' });
    try {
      const accepted = await bot.waitForLog((line) => line.msg === 'model key accepted', 'the key check');
      assert.equal(accepted.level, 30);
      const probe = sims.realtime.sessions.at(-1)!;
      assert.equal(probe.model, 'gpt-realtime', 'the URL a conversation dials, model included');
      assert.deepEqual(sims.realtime.received.filter((entry) => entry.sessionId === probe.id), [], 'no session.update, no audio, no response');
      assert.ok(!bot.logs().some((line) => (line.level as number) >= 40 && String(line.msg).startsWith('model key')));
    } finally {
      bot.child.kill('SIGTERM');
      await bot.exited;
    }
  });
});

describe('a database folder the bot cannot write', () => {
  test('one line naming the path and the fix, exit 73, no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'voice-bot-ro-'));
    const dataDir = join(dir, 'data');
    try {
      // As the Docker image meets a root-owned bind mount: the folder exists but the bot's user may not write it.
      const asRoot = process.getuid?.() === 0;
      chmodSync(dir, 0o755);
      mkdirSync(dataDir, { mode: 0o555 });
      chmodSync(dataDir, 0o555);
      const env = {
        DISCORD_TOKEN: 'MTIzNDU2Nzg5MDEyMzQ1Njc4.abcdef.ghijklmnopqrstuvwxyz',
        REALTIME_API_KEY: 'k',
        DATABASE_PATH: join(dataDir, 'bot.sqlite'),
      };
      const run = asRoot
        ? spawnProcess(process.execPath, ['bin/run.mjs', 'main.ts'], { cwd: ROOT, env, uid: 65534, gid: 65534 }) // nobody
        : spawnBot('main.ts', env);
      const exit = await run.exited;
      const output = run.lines.join('\n');
      assert.equal(exit.code, 73, output);
      assert.equal(run.lines.length, 1, `one line: ${output}`);
      assert.match(output, new RegExp(`^error: the database folder ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not writable by the bot \\(uid \\d+`));
      assert.match(output, /chown -R \d+:\d+ /);
      assert.match(output, /in Docker use a named volume \(-v voice-bot-data:\/app\/data\) or chown a bind-mounted folder to 1000:1000/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a DATABASE_PATH under a file: the folder cannot be created, said in one line', async () => {
    const run = spawnBot('main.ts', {
      DISCORD_TOKEN: 'MTIzNDU2Nzg5MDEyMzQ1Njc4.abcdef.ghijklmnopqrstuvwxyz',
      REALTIME_API_KEY: 'k',
      DATABASE_PATH: join(ROOT, 'package.json', 'data', 'bot.sqlite'),
    });
    const exit = await run.exited;
    assert.equal(exit.code, 73, run.lines.join('\n'));
    assert.equal(run.lines.length, 1);
    assert.match(run.lines[0]!, /^error: cannot create the database folder \S+package\.json\/data \(ENOTDIR\)/);
  });
});
