import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createStore } from '../../src/store/index.ts';
import { LATEST_VERSION } from '../../src/store/migrations.ts';
import { DatabaseSync } from '../../src/store/sqlite.ts';
import type { TokenUsage } from '../../src/realtime/usage.ts';

const dir = mkdtempSync(join(tmpdir(), 'store-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const USAGE: TokenUsage = { inputTextTokens: 10, cachedTextTokens: 2, outputTextTokens: 5, inputAudioTokens: 100, cachedAudioTokens: 0, outputAudioTokens: 200 };

test('the database is created on first start, in a directory that did not exist', async () => {
  const path = join(dir, 'nested', 'first.sqlite');
  const store = createStore({ databasePath: path });
  assert.deepEqual(await store.getSettings('g1'), { instructions: null, voice: null, turnDetection: null });
  await store.close();
  const db = new DatabaseSync(path);
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number };
  assert.equal(row.v, LATEST_VERSION);
  db.close();
});

test('settings and usage survive a restart', async () => {
  const path = join(dir, 'restart.sqlite');
  const first = createStore({ databasePath: path });
  await first.updateSettings('g1', { instructions: 'Speak like a pirate.' });
  await first.updateSettings('g1', { voice: 'verse', turnDetection: { type: 'semantic_vad', eagerness: 'high' } });
  await first.updateSettings('g2', { voice: 'ash' });
  await first.addUsage('g1', 'gpt-realtime', USAGE, 0.015);
  await first.addUsage('g1', 'gpt-realtime', USAGE, 0.015);
  await first.addUsage('g1', 'gpt-4o-realtime', USAGE, 0.02);
  await first.close();

  const second = createStore({ databasePath: path });
  assert.deepEqual(await second.getSettings('g1'), {
    instructions: 'Speak like a pirate.',
    voice: 'verse',
    turnDetection: { type: 'semantic_vad', eagerness: 'high' },
  });
  assert.equal((await second.getSettings('g2')).instructions, null);
  const totals = await second.getUsage('g1');
  assert.equal(totals.outputAudioTokens, 600);
  assert.equal(totals.inputTextTokens, 30);
  assert.equal(totals.cachedTextTokens, 6);
  assert.equal(totals.responses, 3);
  assert.ok(Math.abs(totals.costUsd - 0.05) < 1e-9);
  assert.equal((await second.getUsage('unknown')).responses, 0);
  await second.close();
  await second.close(); // idempotent
});

test('two updates of different fields at the same moment both stick', async () => {
  const store = createStore({ databasePath: join(dir, 'concurrent.sqlite') });
  await Promise.all([
    store.updateSettings('g1', { instructions: 'one' }),
    store.updateSettings('g1', { voice: 'ash' }),
    store.updateSettings('g1', { turnDetection: { type: 'manual' } }),
  ]);
  assert.deepEqual(await store.getSettings('g1'), { instructions: 'one', voice: 'ash', turnDetection: { type: 'manual' } });
  const reset = await store.updateSettings('g1', { instructions: null });
  assert.deepEqual(reset, { instructions: null, voice: 'ash', turnDetection: { type: 'manual' } }, 'null resets one field only');
  await store.close();
});

test('garbage counts never poison the totals', async () => {
  const store = createStore({ databasePath: ':memory:' });
  await store.addUsage('g1', 'm', { ...USAGE, inputTextTokens: Number.NaN, outputAudioTokens: -4, cachedAudioTokens: 2.6 }, Number.POSITIVE_INFINITY);
  const totals = await store.getUsage('g1');
  assert.deepEqual(totals, { inputTextTokens: 0, cachedTextTokens: 2, outputTextTokens: 5, inputAudioTokens: 100, cachedAudioTokens: 3, outputAudioTokens: 0, responses: 1, costUsd: 0 });
  await store.close();
});

test('hostile text is stored verbatim (parameters, not string building), NUL bytes removed, not truncating', async () => {
  const store = createStore({ databasePath: join(dir, 'hostile.sqlite') });
  const text = "'); DROP TABLE guild_settings; -- @everyone <@&123> \u0000 ``` tail";
  const saved = await store.updateSettings('g1', { instructions: text });
  assert.equal(saved.instructions, "'); DROP TABLE guild_settings; -- @everyone <@&123>  ``` tail");
  assert.equal((await store.getSettings('g1')).instructions, saved.instructions);
  await store.close();
});

test('a database from a newer bot is refused with a clear message', async () => {
  const path = join(dir, 'newer.sqlite');
  const older = createStore({ databasePath: path });
  await older.open();
  await older.close();
  const db = new DatabaseSync(path);
  db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(999, Date.now());
  db.close();
  const store = createStore({ databasePath: path });
  await assert.rejects(store.open(), /schema version 999 is newer than this bot knows/);
  await assert.rejects(store.getSettings('g1'), /schema version 999/, 'every call fails the same way');
  await store.close();
});
