/**
 * The store's behaviour, run against both backends: SQLite (a temporary file) and PostgreSQL (a
 * throw-away server, or TEST_DATABASE_URL's; see test/helpers/postgres.ts). Without PostgreSQL the
 * PostgreSQL half fails: it never passes or skips silently.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { silentLogger } from '../../src/log.ts';
import type { TokenUsage } from '../../src/realtime/usage.ts';
import type { SqlDriver } from '../../src/store/driver.ts';
import { createStore, defaultSettings, type StoreOptions } from '../../src/store/index.ts';
import { LATEST_VERSION, MIGRATIONS, migrate } from '../../src/store/migrations.ts';
import { numbered, PostgresDriver } from '../../src/store/postgresDriver.ts';
import { DatabaseSync } from '../../src/store/sqlite.ts';
import { SqliteDriver } from '../../src/store/sqliteDriver.ts';
import { testPostgres, type TestPostgres } from '../helpers/postgres.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'store-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const USAGE: TokenUsage = { inputTextTokens: 10, cachedTextTokens: 2, outputTextTokens: 5, inputAudioTokens: 100, cachedAudioTokens: 0, outputAudioTokens: 200 };

/** One backend under test: fresh empty databases, and direct SQL on them (bypassing the store). */
interface Backend {
  name: 'sqlite' | 'postgres';
  /** Store options for a new, empty database. */
  fresh(): Promise<StoreOptions>;
  /** A driver on the same database (for direct SQL). */
  driver(options: StoreOptions): SqlDriver;
  /** Runs SQL on the database outside the store (`?` placeholders). */
  raw<Row>(options: StoreOptions, sql: string, params?: (string | number)[]): Promise<Row[]>;
}

let sqliteCount = 0;
const sqlite: Backend = {
  name: 'sqlite',
  async fresh() {
    return { databasePath: join(dir, `db-${++sqliteCount}.sqlite`), logger: silentLogger };
  },
  driver: (options) => new SqliteDriver(options.databasePath!),
  async raw<Row>(options: StoreOptions, sql: string, params: (string | number)[] = []) {
    const db = new DatabaseSync(options.databasePath!);
    try {
      return db.prepare(sql).all(...params) as Row[];
    } finally {
      db.close();
    }
  },
};

/** One server for the whole file, started by the first PostgreSQL test group, stopped at the end. */
let server: Promise<TestPostgres> | null = null;
after(async () => (await server?.catch(() => null))?.close());
const postgres: Backend = {
  name: 'postgres',
  // The server is started by the first test that needs it: without PostgreSQL, every PostgreSQL test fails with the reason.
  async fresh() {
    return { databaseUrl: await (await (server ??= testPostgres())).createDatabase(), logger: silentLogger };
  },
  driver: (options) => new PostgresDriver({ url: options.databaseUrl!, logger: silentLogger }),
  async raw<Row>(options: StoreOptions, sql: string, params: (string | number)[] = []) {
    const client = new pg.Client({ connectionString: options.databaseUrl });
    await client.connect();
    try {
      return (await client.query(numbered(sql), params)).rows as Row[];
    } finally {
      await client.end();
    }
  },
};

for (const backend of [sqlite, postgres]) {
  describe(`store on ${backend.name}`, () => {
    test('a new database gets every migration and default settings', async () => {
      const options = await backend.fresh();
      const store = createStore(options);
      assert.equal(store.backend, backend.name);
      assert.deepEqual(await store.getSettings('g1'), defaultSettings());
      await store.close();
      const versions = await backend.raw<{ version: number }>(options, 'SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(versions.map((row) => Number(row.version)), MIGRATIONS.map((migration) => migration.version));
      assert.equal(Number(versions.at(-1)?.version), LATEST_VERSION);
    });

    test('settings and usage survive a restart', async () => {
      const options = await backend.fresh();
      const first = createStore(options);
      await first.updateSettings('g1', { instructions: 'Speak like a pirate.' });
      await first.updateSettings('g1', { voice: 'verse', turnDetection: { type: 'semantic_vad', eagerness: 'high' } });
      await first.updateSettings('g2', { voice: 'ash' });
      await first.addUsage('g1', 'gpt-realtime', USAGE, 0.015);
      await first.addUsage('g1', 'gpt-realtime', USAGE, 0.015);
      await first.addUsage('g1', 'gpt-4o-realtime', USAGE, 0.02);
      await first.close();

      const second = createStore(options);
      assert.deepEqual(await second.getSettings('g1'), {
        ...defaultSettings(),
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
      assert.equal(typeof totals.responses, 'number', 'counts are numbers on both backends');
      assert.ok(Math.abs(totals.costUsd - 0.05) < 1e-9);
      assert.equal((await second.getUsage('unknown')).responses, 0);
      await second.close();
      await second.close(); // idempotent
    });

    test('two updates of different fields at the same moment both stick', async () => {
      const store = createStore(await backend.fresh());
      await Promise.all([
        store.updateSettings('g1', { instructions: 'one' }),
        store.updateSettings('g1', { voice: 'ash' }),
        store.updateSettings('g1', { turnDetection: { type: 'manual' } }),
        store.updateSettings('g1', { model: 'gpt-realtime-mini' }),
        store.updateSettings('g1', { dailyLimitUsd: 2.5 }),
        store.updateSettings('g1', { monthlyLimitUsd: 40 }),
      ]);
      const all = { instructions: 'one', voice: 'ash', turnDetection: { type: 'manual' as const }, model: 'gpt-realtime-mini', dailyLimitUsd: 2.5, monthlyLimitUsd: 40 };
      assert.deepEqual(await store.getSettings('g1'), all);
      const reset = await store.updateSettings('g1', { instructions: null });
      assert.deepEqual(reset, { ...all, instructions: null }, 'null resets one field only');
      assert.deepEqual(await store.updateSettings('g1', { dailyLimitUsd: null, monthlyLimitUsd: 12.345 }), { ...all, instructions: null, dailyLimitUsd: null, monthlyLimitUsd: 12.35 }, 'limits in cents');
      await store.close();
    });

    test('usage written at the same moment adds up', async () => {
      const store = createStore(await backend.fresh());
      await Promise.all(Array.from({ length: 40 }, () => store.addUsage('g1', 'gpt-realtime', USAGE, 0.25)));
      const totals = await store.getUsage('g1');
      assert.equal(totals.responses, 40);
      assert.equal(totals.outputAudioTokens, 40 * 200);
      assert.equal(totals.costUsd, 10);
      await store.close();
    });

    test('garbage counts never poison the totals', async () => {
      const store = createStore(await backend.fresh());
      await store.addUsage('g1', 'm', { ...USAGE, inputTextTokens: Number.NaN, outputAudioTokens: -4, cachedAudioTokens: 2.6 }, Number.POSITIVE_INFINITY);
      const totals = await store.getUsage('g1');
      assert.deepEqual(totals, { inputTextTokens: 0, cachedTextTokens: 2, outputTextTokens: 5, inputAudioTokens: 100, cachedAudioTokens: 3, outputAudioTokens: 0, responses: 1, costUsd: 0 });
      await store.close();
    });

    test('hostile text is stored verbatim (parameters, not string building), NUL bytes removed, not truncating', async () => {
      const store = createStore(await backend.fresh());
      const text = "'); DROP TABLE guild_settings; -- ? $1 @everyone <@&123> \u0000 ``` tail 🎙️";
      const saved = await store.updateSettings('g1', { instructions: text });
      assert.equal(saved.instructions, "'); DROP TABLE guild_settings; -- ? $1 @everyone <@&123>  ``` tail 🎙️");
      assert.equal((await store.getSettings('g1')).instructions, saved.instructions);
      await store.close();
    });

    test('a damaged turn-detection value falls back to the default instead of breaking the guild', async () => {
      const options = await backend.fresh();
      const store = createStore(options);
      await store.updateSettings('g1', { voice: 'ash', turnDetection: { type: 'manual' } });
      await backend.raw(options, "UPDATE guild_settings SET turn_detection = '{not json' WHERE guild_id = 'g1'");
      assert.deepEqual(await store.getSettings('g1'), { ...defaultSettings(), voice: 'ash' });
      await store.close();
    });

    test('a database from a newer bot is refused with a clear message', async () => {
      const options = await backend.fresh();
      const older = createStore(options);
      await older.open();
      await older.close();
      await backend.raw(options, 'INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [999, Date.now()]);
      const store = createStore(options);
      await assert.rejects(store.open(), /schema version 999 is newer than this bot knows/);
      await assert.rejects(store.getSettings('g1'), /schema version 999/, 'every call fails the same way');
      await store.close();
    });

    test('a spend limit must be a positive amount', async () => {
      const store = createStore(await backend.fresh());
      for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await assert.rejects(store.updateSettings('g1', { dailyLimitUsd: bad }), /positive amount of USD/);
      }
      assert.deepEqual(await store.getSettings('g1'), defaultSettings(), 'nothing saved');
      await store.close();
    });

    test('usage by UTC day: totals per day over the models, spend per guild and for the deployment', async () => {
      const store = createStore(await backend.fresh());
      const at = (iso: string) => new Date(iso);
      await store.addUsage('g1', 'gpt-realtime', USAGE, 0.5, { at: at('2026-03-30T23:59:59.999Z') });
      await store.addUsage('g1', 'gpt-realtime', USAGE, 0.25, { at: at('2026-03-31T00:00:00.000Z') });
      await store.addUsage('g1', 'gpt-realtime-mini', USAGE, 0.125, { at: at('2026-03-31T12:00:00Z') });
      await store.addUsage('g2', 'gpt-realtime', USAGE, 2, { at: at('2026-03-31T13:00:00Z') });
      await store.addUsage('g1', 'gpt-realtime', USAGE, 1, { at: at('2026-04-01T00:30:00Z') });
      const days = await store.usageByDay('g1', '2026-03-01', '2026-03-31');
      assert.deepEqual(days.map((day) => [day.day, day.responses, day.costUsd, day.outputAudioTokens]), [
        ['2026-03-30', 1, 0.5, 200],
        ['2026-03-31', 2, 0.375, 400],
      ]);
      assert.equal(await store.spend('g1', '2026-03-31', '2026-03-31'), 0.375);
      assert.equal(await store.spend('g1', '2026-03-01', '2026-03-31'), 0.875);
      assert.equal(await store.spend(null, '2026-03-31', '2026-03-31'), 2.375, 'every guild of the deployment');
      assert.equal(await store.spend('g3', '2026-03-01', '2026-04-30'), 0);
      assert.equal((await store.getUsage('g1')).responses, 4, 'all-time totals count every day');
      await store.addUsage('g1', 'whisper-1', { ...USAGE, outputAudioTokens: 0 }, 0.01, { responses: 0, at: at('2026-04-01T01:00:00Z') });
      assert.equal((await store.getUsage('g1')).responses, 4, 'an input transcription is billed but is not a reply');
      assert.equal(await store.spend('g1', '2026-04-01', '2026-04-01'), 1.01, 'and counts against the day');
      await store.close();
    });

    test('a notice is claimed once, however many stores ask at once', async () => {
      const options = await backend.fresh();
      const stores = [createStore(options), createStore(options)];
      await stores[0]!.open();
      await stores[1]!.open(); // one at a time: two SQLite connections of one process must not wait on each other
      const notice = { guildId: 'g1', period: 'day:2026-03-31', level: 80, limitUsd: 5 };
      const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => stores[i % 2]!.claimNotice(notice)));
      assert.equal(claims.filter(Boolean).length, 1);
      assert.equal(await stores[1]!.claimNotice({ ...notice, limitUsd: 10 }), true, 'a raised limit can be announced again');
      assert.equal(await stores[1]!.claimNotice({ ...notice, level: 100 }), true);
      assert.equal(await stores[0]!.claimNotice({ ...notice, period: 'day:2026-04-01' }), true);
      await Promise.all(stores.map((store) => store.close()));
    });

    test('a database of schema version 1 is upgraded with its data intact', async () => {
      const options = await backend.fresh();
      const driver = backend.driver(options);
      await migrate(driver, MIGRATIONS.slice(0, 1));
      await driver.run('INSERT INTO guild_settings (guild_id, instructions, voice, turn_detection, updated_at) VALUES (?, ?, ?, ?, ?)', ['g1', 'Old text.', 'ash', null, 1]);
      await driver.run('INSERT INTO guild_usage (guild_id, model, text_input, responses, cost_usd) VALUES (?, ?, ?, ?, ?)', ['g1', 'gpt-realtime', 7, 3, 1.5]);
      await driver.close();
      const store = createStore(options);
      assert.deepEqual(await store.getSettings('g1'), { ...defaultSettings(), instructions: 'Old text.', voice: 'ash' });
      assert.deepEqual([(await store.getUsage('g1')).responses, (await store.getUsage('g1')).costUsd], [3, 1.5]);
      await store.updateSettings('g1', { model: 'gpt-realtime-mini' });
      assert.equal((await store.getSettings('g1')).model, 'gpt-realtime-mini');
      await store.close();
    });

    test('a transaction is all or nothing', async () => {
      const options = await backend.fresh();
      const driver = backend.driver(options);
      await driver.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
      await assert.rejects(
        driver.transaction(async (tx) => {
          await tx.run('INSERT INTO t (id, v) VALUES (?, ?)', [1, 'a']);
          await tx.run('INSERT INTO t (id, v) VALUES (?, ?)', [1, 'duplicate']);
        }),
      );
      assert.deepEqual(await driver.all('SELECT * FROM t'), [], 'the first write was rolled back with the second');
      await driver.transaction(async (tx) => {
        await tx.run('INSERT INTO t (id, v) VALUES (?, ?)', [1, 'a']);
        await tx.run('INSERT INTO t (id, v) VALUES (?, ?)', [2, 'b']);
      });
      assert.equal((await driver.all('SELECT * FROM t')).length, 2);
      const insert = 'INSERT INTO t (id, v) VALUES (?, ?)';
      await assert.rejects(driver.batch([{ sql: insert, params: [3, 'c'] }, { sql: insert, params: [3, 'duplicate'] }]));
      assert.equal((await driver.all('SELECT * FROM t')).length, 2, 'a failed batch writes nothing');
      await driver.batch([{ sql: insert, params: [3, 'c'] }, { sql: insert, params: [4, 'd'] }]);
      assert.equal((await driver.all('SELECT * FROM t')).length, 4);
      await driver.close();
    });

    test('a failing migration leaves the database as it was', async () => {
      const options = await backend.fresh();
      const driver = backend.driver(options);
      const broken = [
        ...MIGRATIONS,
        { version: LATEST_VERSION + 1, description: 'adds a table', sql: 'CREATE TABLE extra (id INTEGER PRIMARY KEY)' },
        { version: LATEST_VERSION + 2, description: 'fails', sql: 'CREATE TABLE extra (id INTEGER PRIMARY KEY)' },
      ];
      await migrate(driver);
      await assert.rejects(migrate(driver, broken), /extra/);
      const [row] = await driver.all<{ version: number }>('SELECT MAX(version) AS version FROM schema_migrations');
      assert.equal(Number(row!.version), LATEST_VERSION, 'no version recorded');
      await assert.rejects(driver.all('SELECT * FROM extra'), /extra/, 'the first new table was rolled back too');
      await driver.close();
    });

    test('four processes opening a new database at once apply each migration exactly once', async () => {
      const options = await backend.fresh();
      // The fixture adds a slow last migration (version LATEST + 1), so the processes really overlap.
      const children = Array.from({ length: 4 }, () => startOpener(options));
      await Promise.all(children.map((child) => child.loaded));
      for (const child of children) child.go();
      assert.deepEqual(await Promise.all(children.map((child) => child.exited)), [0, 0, 0, 0]);
      const rows = await backend.raw<{ version: number; n: number }>(options, 'SELECT version, COUNT(*) AS n FROM schema_migrations GROUP BY version ORDER BY version');
      const expected = [...MIGRATIONS.map((migration) => migration.version), LATEST_VERSION + 1].map((version) => [version, 1]);
      assert.deepEqual(rows.map((row) => [Number(row.version), Number(row.n)]), expected);
      assert.deepEqual(await backend.raw(options, 'SELECT * FROM slow_marker'), [], 'the slow migration ran');
    });
  });
}

/** A child process that opens the store (test/store/fixtures/openStore.ts) when told to go. */
function startOpener(options: StoreOptions) {
  const { logger: _logger, ...plain } = options;
  const child = spawn(process.execPath, ['bin/run.mjs', 'test/store/fixtures/openStore.ts'], {
    cwd: ROOT,
    env: { ...process.env, STORE_OPTIONS: JSON.stringify(plain), SLOW_MIGRATION: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (output += chunk));
  const loaded = new Promise<void>((resolve) => child.stdout.on('data', (chunk: string) => chunk.includes('loaded') && resolve()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (code !== 0) console.error(output);
      resolve(code);
    }),
  );
  return { loaded, exited, go: () => child.stdin.end('go\n') };
}

describe('SQLite specifics', () => {
  test('the database file is created in a directory that did not exist', async () => {
    const path = join(dir, 'nested', 'deeper', 'first.sqlite');
    const store = createStore({ databasePath: path, logger: silentLogger });
    await store.open();
    await store.close();
    assert.ok(existsSync(path));
  });
});

describe('PostgreSQL specifics', () => {
  test('the pool never holds more connections than configured', async () => {
    const options = await postgres.fresh();
    const store = createStore({ ...options, poolMax: 3, applicationName: 'pool-size-test' });
    await store.open();
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.addUsage(`g${i % 5}`, 'gpt-realtime', USAGE, 0.01)));
    const [row] = await postgres.raw<{ n: number }>(options, "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE application_name = 'pool-size-test'");
    assert.ok(Number(row!.n) >= 1 && Number(row!.n) <= 3, `${row!.n} connections`);
    assert.equal((await store.getUsage('g0')).responses, 6);
    await store.close();
  });

  test('an unreachable server fails open() with a clear error, quickly', async () => {
    const store = createStore({ databaseUrl: 'postgres://voicebot@127.0.0.1:1/voicebot', logger: silentLogger });
    const started = Date.now();
    await assert.rejects(store.open(), /ECONNREFUSED|connect/);
    assert.ok(Date.now() - started < 6_000);
    await store.close();
  });

  test('placeholders are numbered in order', () => {
    assert.equal(numbered('INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO UPDATE SET b = ?'), 'INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO UPDATE SET b = $3');
  });
});
