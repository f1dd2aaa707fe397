/**
 * `npm run db:copy`: a SQLite database (of the current schema, or of an older bot) copied into
 * PostgreSQL by the command an operator runs, compared afterwards through the store on both sides.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import type { TokenUsage } from '../../src/realtime/usage.ts';
import { createDriver, createStore, type BotStore } from '../../src/store/index.ts';
import { MIGRATIONS, migrate } from '../../src/store/migrations.ts';
import { testPostgres, type TestPostgres } from '../helpers/postgres.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'db-copy-'));
let postgres: Promise<TestPostgres> | null = null;
const newDatabase = async () => (await (postgres ??= testPostgres())).createDatabase();
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await (await postgres?.catch(() => null))?.close();
});

const USAGE: TokenUsage = { inputTextTokens: 120, cachedTextTokens: 64, outputTextTokens: 30, inputAudioTokens: 900, cachedAudioTokens: 0, outputAudioTokens: 1_800 };

/** Runs the command as an operator would; resolves with its exit code and output. */
function dbCopy(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['bin/run.mjs', 'scripts/copyDatabase.ts', ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** Everything the store shows of a few guilds. */
async function snapshot(store: BotStore) {
  const guilds = ['g1', 'g2', 'g3'];
  return Promise.all(
    guilds.map(async (guildId) => ({
      settings: await store.getSettings(guildId),
      usage: await store.getUsage(guildId),
      days: await store.usageByDay(guildId, '2026-01-01', '2026-12-31'),
    })),
  );
}

describe('npm run db:copy', () => {
  test('copies settings, usage by day and notices; the copy reads the same through the store', async () => {
    const path = join(dir, 'current.sqlite');
    const sqlite = createStore({ databasePath: path, logger: silentLogger });
    await sqlite.updateSettings('g1', { instructions: "Talk like a pirate. 'quotes' ? $1", voice: 'verse', turnDetection: { type: 'semantic_vad', eagerness: 'low' }, model: 'gpt-realtime-mini', dailyLimitUsd: 2.5, monthlyLimitUsd: 30 });
    await sqlite.updateSettings('g2', { voice: 'ash' });
    for (let day = 1; day <= 3; day++) {
      await sqlite.addUsage('g1', 'gpt-realtime', USAGE, 0.1234 * day, { at: new Date(`2026-05-0${day}T12:00:00Z`) });
      await sqlite.addUsage('g1', 'gpt-realtime-mini', USAGE, 0.01, { at: new Date(`2026-05-0${day}T13:00:00Z`) });
      await sqlite.addUsage('g3', 'whisper-1', USAGE, 0.002, { responses: 0, at: new Date(`2026-05-0${day}T14:00:00Z`) });
    }
    await sqlite.claimNotice({ guildId: 'g1', period: 'day:2026-05-03', level: 80, limitUsd: 2.5 });
    // Room settings and /privacy opt-outs move too: losing an opt-out would make the bot hear that member again.
    await sqlite.rooms.updateRoomSettings('g1', { addressing: 'name', wakeNames: ['Jarvis'], notice: false });
    await sqlite.rooms.setOptedOut('g1', 'u9', true);
    // More rows than one INSERT carries (200): a batch boundary is crossed.
    for (let guild = 0; guild < 450; guild++) await sqlite.addUsage(`x${guild}`, 'gpt-realtime', USAGE, 0.001, { at: new Date('2026-05-04T00:00:00Z') });
    const before = await snapshot(sqlite);
    await sqlite.close();

    const url = await newDatabase();
    const { code, stdout, stderr } = await dbCopy(['--from', path], { DATABASE_URL: url });
    assert.equal(code, 0, stderr);
    assert.match(stdout, /guild_settings: 2 rows/);
    assert.match(stdout, /guild_usage: 453 rows/);
    assert.match(stdout, /usage_daily: 459 rows/);
    assert.match(stdout, /budget_notices: 1 rows/);
    assert.match(stdout, /guild_rooms: 1 rows/);
    assert.match(stdout, /privacy_opt_outs: 1 rows/);
    const copied = createStore({ databaseUrl: url, logger: silentLogger });
    assert.deepEqual(await snapshot(copied), before);
    assert.deepEqual(await copied.rooms.optedOut('g1'), ['u9']);
    assert.deepEqual((await copied.rooms.getRoomSettings('g1')).wakeNames, ['Jarvis']);
    assert.ok(Math.abs((await copied.spend(null, '2026-05-04', '2026-05-04')) - 0.45) < 1e-9, 'every row of the big day');
    assert.equal(await copied.claimNotice({ guildId: 'g1', period: 'day:2026-05-03', level: 80, limitUsd: 2.5 }), false, 'a notice given before the move is not given again');
    await copied.close();

    // A second copy into the same database is refused unless asked to replace.
    const again = await dbCopy(['--from', path, '--to', url]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already has data \(guild_settings: 2 rows\); use --replace/);
    const replaced = await dbCopy(['--from', path, '--to', url, '--replace']);
    assert.equal(replaced.code, 0, replaced.stderr);
    const after = createStore({ databaseUrl: url, logger: silentLogger });
    assert.deepEqual(await snapshot(after), before, 'replaced, not doubled');
    await after.close();
  });

  test("a database of an older bot (schema 1) is copied into the current schema", async () => {
    const path = join(dir, 'old.sqlite');
    const old = createDriver({ databasePath: path, logger: silentLogger });
    await migrate(old, MIGRATIONS.slice(0, 1));
    await old.run('INSERT INTO guild_settings (guild_id, instructions, voice, turn_detection, updated_at) VALUES (?, ?, ?, ?, ?)', ['g1', 'Old persona.', 'sage', null, 1]);
    await old.run('INSERT INTO guild_usage (guild_id, model, audio_output, responses, cost_usd) VALUES (?, ?, ?, ?, ?)', ['g1', 'gpt-4o-realtime', 5_000, 12, 0.75]);
    await old.close();
    const url = await newDatabase();
    const { code, stdout, stderr } = await dbCopy(['--from', path, '--to', url]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /\(schema 1\)/);
    const copied = createStore({ databaseUrl: url, logger: silentLogger });
    assert.deepEqual(await copied.getSettings('g1'), { instructions: 'Old persona.', voice: 'sage', turnDetection: null, model: null, dailyLimitUsd: null, monthlyLimitUsd: null });
    const usage = await copied.getUsage('g1');
    assert.deepEqual([usage.outputAudioTokens, usage.responses, usage.costUsd], [5_000, 12, 0.75]);
    await copied.close();
  });

  test('clear errors: no source, no target, an unreachable server (its password never printed)', async () => {
    const missing = await dbCopy(['--from', join(dir, 'nope.sqlite'), '--to', 'postgres://u@127.0.0.1:1/x']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no SQLite database at .*nope\.sqlite/);
    const noTarget = await dbCopy(['--from', join(dir, 'current.sqlite')]);
    assert.equal(noTarget.code, 64);
    assert.match(noTarget.stderr, /give the PostgreSQL database with --to/);
    const unreachable = await dbCopy(['--from', join(dir, 'current.sqlite'), '--to', 'postgres://bot:Sup3rS3cretPw@127.0.0.1:1/voicebot']);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /ECONNREFUSED|connect/);
    assert.doesNotMatch(unreachable.stdout + unreachable.stderr, /Sup3rS3cretPw/);
  });
});
