import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MIGRATIONS } from '../../src/store/migrations.ts';
import { DatabaseSync } from '../../src/store/sqlite.ts';
import { BotStore } from '../../src/store/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'store-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the database is created on first start, in a directory that did not exist', () => {
  const path = join(dir, 'nested', 'first.sqlite');
  const store = new BotStore(path);
  assert.deepEqual(store.getSettings('g1'), { instructions: null, voice: null, turnDetection: null });
  store.close();
  const db = new DatabaseSync(path);
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number };
  assert.equal(row.v, MIGRATIONS.at(-1)!.version);
  db.close();
});

test('settings and usage survive a restart', () => {
  const path = join(dir, 'restart.sqlite');
  const first = new BotStore(path);
  first.updateSettings('g1', { instructions: 'Speak like a pirate.' });
  first.updateSettings('g1', { voice: 'verse', turnDetection: { type: 'semantic_vad', eagerness: 'high' } });
  first.updateSettings('g2', { voice: 'ash' });
  const usage = { textInput: 10, textCached: 2, textOutput: 5, audioInput: 100, audioCached: 0, audioOutput: 200 };
  first.addUsage('g1', 'gpt-realtime', usage, 0.015);
  first.addUsage('g1', 'gpt-realtime', usage, 0.015);
  first.addUsage('g1', 'gpt-4o-realtime', usage, 0.02);
  first.close();

  const second = new BotStore(path);
  assert.deepEqual(second.getSettings('g1'), {
    instructions: 'Speak like a pirate.',
    voice: 'verse',
    turnDetection: { type: 'semantic_vad', eagerness: 'high' },
  });
  assert.equal(second.getSettings('g2').instructions, null);
  const totals = second.getUsage('g1');
  assert.equal(totals.audioOutput, 600);
  assert.equal(totals.textInput, 30);
  assert.equal(totals.responses, 3);
  assert.ok(Math.abs(totals.costUsd - 0.05) < 1e-9);
  assert.equal(second.getUsage('unknown').responses, 0);
  second.close();
  second.close(); // idempotent
});

test('hostile text is stored verbatim (parameters, not string building), NUL bytes removed, not truncating', () => {
  const store = new BotStore(join(dir, 'hostile.sqlite'));
  const text = "'); DROP TABLE guild_settings; -- @everyone <@&123> \u0000 ``` tail";
  const saved = store.updateSettings('g1', { instructions: text });
  assert.equal(saved.instructions, "'); DROP TABLE guild_settings; -- @everyone <@&123>  ``` tail");
  assert.equal(store.getSettings('g1').instructions, saved.instructions);
  store.close();
});

test('a database from a newer bot is refused with a clear message', () => {
  const path = join(dir, 'newer.sqlite');
  new BotStore(path).close();
  const db = new DatabaseSync(path);
  db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(999, Date.now());
  db.close();
  assert.throws(() => new BotStore(path), /schema version 999 is newer than this bot knows/);
});
