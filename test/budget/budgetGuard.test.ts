/**
 * Spend limits: the warning at 80%, the stop at 100%, the reset when the period ends, an admin raising
 * the limit, the monthly limit, and the deployment-wide daily limit enforced across two shards through
 * one PostgreSQL database. Notices are given once, also between processes.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BudgetGuard, type BudgetNotice } from '../../src/budget/index.ts';
import { silentLogger } from '../../src/log.ts';
import type { TokenUsage } from '../../src/realtime/usage.ts';
import { createStore } from '../../src/store/index.ts';
import { testPostgres, type TestPostgres } from '../helpers/postgres.ts';

const dir = mkdtempSync(join(tmpdir(), 'budget-test-'));
let postgres: Promise<TestPostgres> | null = null;
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await (await postgres?.catch(() => null))?.close();
});

const USAGE: TokenUsage = { inputTextTokens: 0, cachedTextTokens: 0, outputTextTokens: 0, inputAudioTokens: 100, cachedAudioTokens: 0, outputAudioTokens: 200 };
let count = 0;

/** A guard on a fresh SQLite store with a clock the test moves. */
function setup(options: { globalDailyLimitUsd?: number | null; start?: string } = {}) {
  const store = createStore({ databasePath: join(dir, `budget-${++count}.sqlite`), logger: silentLogger });
  const clock = { now: new Date(options.start ?? '2026-03-31T21:00:00Z') };
  const guard = new BudgetGuard({ store, globalDailyLimitUsd: options.globalDailyLimitUsd ?? null, logger: silentLogger, now: () => clock.now, refreshMs: 0 });
  const notices: BudgetNotice[] = [];
  guard.on('notice', (notice) => notices.push(notice));
  /** Saves a response's cost now and lets the guard see it, as the conversation does. */
  const spend = async (guildId: string, usd: number) => {
    await store.addUsage(guildId, 'gpt-realtime', USAGE, usd, { at: clock.now });
    return guard.afterSpend(guildId);
  };
  return { store, clock, guard, notices, spend };
}

describe('per-server daily limit', () => {
  test('80%: one warning, responses continue', async () => {
    const { store, guard, notices, spend } = setup();
    await store.updateSettings('g1', { dailyLimitUsd: 1 });
    await spend('g1', 0.5);
    await spend('g1', 0.29);
    assert.equal(notices.length, 0, 'nothing below 80%');
    await spend('g1', 0.01);
    assert.equal(notices.length, 1);
    assert.equal(notices[0]!.level, 80);
    assert.equal(notices[0]!.line.scope, 'daily');
    assert.ok(Math.abs(notices[0]!.line.spentUsd - 0.8) < 1e-9);
    assert.equal(guard.allows('g1'), true);
    await spend('g1', 0.1);
    assert.equal(notices.length, 1, 'the warning is given once');
    assert.equal(await guard.refusal('g1'), null);
    await store.close();
  });

  test('100%: one notice, no new responses, /join refused with when it resets', async () => {
    const { store, guard, notices, spend } = setup();
    await store.updateSettings('g1', { dailyLimitUsd: 1 });
    await spend('g1', 0.85);
    assert.equal(guard.allows('g1'), true);
    await spend('g1', 0.15);
    assert.deepEqual(notices.map((notice) => notice.level), [80, 100]);
    assert.equal(guard.allows('g1'), false, 'responses stop');
    const refusal = await guard.refusal('g1');
    assert.equal(refusal?.scope, 'daily');
    assert.equal(refusal?.resetsAt.toISOString(), '2026-04-01T00:00:00.000Z', 'midnight UTC');
    await spend('g1', 0.02); // a response that was already running when the limit was crossed
    assert.deepEqual(notices.map((notice) => notice.level), [80, 100], 'the limit notice is given once');
    assert.equal(guard.allows('g2'), true, 'other servers are not affected');
    await store.close();
  });

  test('reset: a new UTC day allows again, even before the database is read', async () => {
    const { store, clock, guard, spend } = setup();
    await store.updateSettings('g1', { dailyLimitUsd: 1 });
    await spend('g1', 1.2);
    assert.equal(guard.allows('g1'), false);
    clock.now = new Date('2026-03-31T23:59:59Z');
    assert.equal(guard.allows('g1'), false, 'one second before midnight');
    clock.now = new Date('2026-04-01T00:00:00Z');
    assert.equal(guard.allows('g1'), true, 'at midnight UTC');
    assert.equal(await guard.refusal('g1'), null, "yesterday's spend does not count today");
    const state = await guard.refresh('g1');
    assert.equal(state.daily.spentUsd, 0);
    assert.ok(Math.abs(state.monthly.spentUsd - 0) < 1e-9, 'a new month too');
    await store.close();
  });

  test('raise: an admin raising the limit lets responses start again; the new limit warns anew', async () => {
    const { store, guard, notices, spend } = setup();
    await store.updateSettings('g1', { dailyLimitUsd: 1 });
    await spend('g1', 1);
    assert.equal(guard.allows('g1'), false);
    await store.updateSettings('g1', { dailyLimitUsd: 2 });
    assert.equal(await guard.refusal('g1'), null, 'allowed once the raised limit is read');
    assert.equal(guard.allows('g1'), true);
    await spend('g1', 0.6); // 1.6 of 2
    assert.deepEqual(notices.map((notice) => [notice.level, notice.line.limitUsd]), [[100, 1], [80, 2]], 'straight to 100%: no warning first');
    await store.updateSettings('g1', { dailyLimitUsd: null });
    assert.equal(await guard.refusal('g1'), null, 'no limit');
    await store.updateSettings('g1', { dailyLimitUsd: 0.5 });
    assert.equal((await guard.refusal('g1'))?.scope, 'daily', 'a limit lowered below the spend stops at once');
    await store.close();
  });
});

describe('per-server monthly limit', () => {
  test('spend adds up over the days of the month and resets on the 1st', async () => {
    const { store, clock, guard, notices, spend } = setup({ start: '2026-03-02T10:00:00Z' });
    await store.updateSettings('g1', { monthlyLimitUsd: 3, dailyLimitUsd: 2 });
    await spend('g1', 1.5);
    clock.now = new Date('2026-03-15T10:00:00Z');
    await spend('g1', 1);
    assert.deepEqual(notices.map((notice) => [notice.level, notice.line.scope]), [[80, 'monthly']]);
    clock.now = new Date('2026-03-31T10:00:00Z');
    await spend('g1', 0.5);
    assert.equal(guard.allows('g1'), false);
    assert.equal((await guard.refusal('g1'))?.resetsAt.toISOString(), '2026-04-01T00:00:00.000Z');
    clock.now = new Date('2026-04-01T00:00:01Z');
    assert.equal(guard.allows('g1'), true);
    assert.equal(await guard.refusal('g1'), null);
    await store.close();
  });
});

describe('deployment-wide daily limit', () => {
  test('one process: every server stops when all servers together reach it', async () => {
    const { store, guard, notices, spend } = setup({ globalDailyLimitUsd: 1 });
    await spend('g1', 0.5);
    await spend('g2', 0.3);
    assert.deepEqual(notices.map((notice) => [notice.guildId, notice.level, notice.line.scope]), [['g2', 80, 'global-daily']]);
    await spend('g3', 0.2);
    assert.equal((await guard.refusal('g1'))?.scope, 'global-daily');
    assert.equal(guard.allows('g2'), false);
    assert.equal(guard.allows('g3'), false);
    await store.close();
  });

  test('two shards on one PostgreSQL: spend of both counts, both stop, each notice is given once', async () => {
    postgres ??= testPostgres();
    const url = await (await postgres).createDatabase();
    const clock = { now: new Date('2026-03-31T12:00:00Z') };
    const shards = [0, 1].map(() => {
      const store = createStore({ databaseUrl: url, logger: silentLogger });
      const guard = new BudgetGuard({ store, globalDailyLimitUsd: 1, logger: silentLogger, now: () => clock.now, refreshMs: 0 });
      const notices: BudgetNotice[] = [];
      guard.on('notice', (notice) => notices.push(notice));
      return { store, guard, notices };
    });
    const [a, b] = shards as [(typeof shards)[0], (typeof shards)[0]];
    await a.store.open();
    await b.store.open();
    // Shard A serves g1, shard B serves g2.
    await a.store.addUsage('g1', 'gpt-realtime', USAGE, 0.6, { at: clock.now });
    await a.guard.afterSpend('g1');
    assert.equal(b.guard.allows('g2'), true);
    await b.store.addUsage('g2', 'gpt-realtime', USAGE, 0.45, { at: clock.now });
    await b.guard.afterSpend('g2');
    assert.equal(b.guard.allows('g2'), false, "shard B counts shard A's spend");
    assert.equal((await a.guard.refusal('g1'))?.scope, 'global-daily', "and shard A counts shard B's");
    assert.equal(a.guard.allows('g1'), false);
    // The same guild seen by both shards at once (a guild moving between shards): one notice in all.
    await Promise.all([a.guard.refusal('g3'), b.guard.refusal('g3'), a.guard.refusal('g3'), b.guard.refusal('g3')]);
    const g3 = [...a.notices, ...b.notices].filter((notice) => notice.guildId === 'g3');
    assert.deepEqual(g3.map((notice) => notice.level), [100]);
    await a.store.close();
    await b.store.close();
  });
});

describe('the database failing', () => {
  test('the last state read is kept; allows() never throws', async () => {
    const { store, guard, spend } = setup();
    await store.updateSettings('g1', { dailyLimitUsd: 1 });
    await spend('g1', 1);
    await store.close();
    assert.equal(guard.allows('g1'), false);
    await assert.rejects(guard.refusal('g1'), /closed/);
    assert.equal(guard.allows('g1'), false, 'still stopped');
    const fresh = setup();
    await fresh.store.close();
    assert.equal(fresh.guard.allows('g9'), true, 'unknown and unreadable: allowed (a database outage does not mute every server)');
  });
});

