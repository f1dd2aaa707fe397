/**
 * Store operation latency on both backends: p50/p99 of a settings read (`getSettings`) and of a usage
 * write (`addUsage`: all-time totals and the UTC day in one transaction), one operation at a time, as
 * a shard does them. SQLite is a temporary file (WAL, as the bot runs it); PostgreSQL is
 * BENCH_DATABASE_URL's server, else a throw-away local server (sim/postgres) on 127.0.0.1 — a database
 * on another machine adds its network round trips to every figure. Without PostgreSQL the module
 * reports that instead of its rows (`npm run bench` goes on with the others).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../sim/postgres/cluster.ts';
import { silentLogger } from '../src/log.ts';
import type { TokenUsage } from '../src/realtime/usage.ts';
import { createStore, type BotStore, type StoreOptions } from '../src/store/index.ts';
import type { BenchModule, Report } from './harness.ts';

const WARMUP = 200;
const SAMPLES = 2_000;
const GUILDS = 50;
const USAGE: TokenUsage = { inputTextTokens: 120, cachedTextTokens: 40, outputTextTokens: 60, inputAudioTokens: 900, cachedAudioTokens: 0, outputAudioTokens: 1_400 };

/** Value at quantile `q` of sorted samples (nearest rank). */
function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Times `operation` one call at a time; returns the sorted latencies, ms. */
async function latencies(operation: (i: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await operation(i);
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const start = performance.now();
    await operation(i);
    samples.push(performance.now() - start);
  }
  return samples.sort((a, b) => a - b);
}

async function benchBackend(report: Report, backend: 'sqlite' | 'postgres', options: StoreOptions): Promise<void> {
  const store: BotStore = createStore({ ...options, logger: silentLogger });
  try {
    // Guilds with saved settings, as a running bot has.
    for (let g = 0; g < GUILDS; g++) await store.updateSettings(`guild-${g}`, { instructions: `Persona of guild ${g}.` });
    const rows: [string, (i: number) => Promise<unknown>][] = [
      ['settings_read', (i) => store.getSettings(`guild-${i % GUILDS}`)],
      ['usage_write', (i) => store.addUsage(`guild-${i % GUILDS}`, 'gpt-realtime', USAGE, 0.0123, { responses: 1 })],
    ];
    for (const [operation, run] of rows) {
      const sorted = await latencies(run);
      for (const [name, q] of [['p50', 0.5], ['p99', 0.99]] as const) {
        report({ name: `store_${backend}_${operation}_${name}`, value: Number(quantile(sorted, q).toFixed(3)), unit: 'ms', samples: SAMPLES, sequential: true });
      }
    }
  } finally {
    await store.close();
  }
}

export const storeBenchmarks: BenchModule = {
  name: 'store',
  async run(report) {
    const dir = mkdtempSync(join(tmpdir(), 'store-bench-'));
    try {
      await benchBackend(report, 'sqlite', { databasePath: join(dir, 'bench.sqlite'), logger: silentLogger });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    let server: ThrowawayPostgres | null = null;
    let adminUrl = process.env.BENCH_DATABASE_URL?.trim() || '';
    try {
      if (!adminUrl) {
        server = await startThrowawayPostgres();
        adminUrl = server.url;
      }
    } catch (error) {
      console.error(`store bench: PostgreSQL rows NOT measured: set BENCH_DATABASE_URL or install the PostgreSQL server binaries (${(error as Error).message})`);
      report({ name: 'store_postgres_unavailable', value: 1, unit: 'flag' });
      return;
    }
    const name = `voicebot_bench_${process.pid}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      await benchBackend(report, 'postgres', { databaseUrl: url.toString(), poolMax: 5, logger: silentLogger });
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
      await server?.close();
    }
  },
};
