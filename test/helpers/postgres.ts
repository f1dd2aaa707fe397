/**
 * PostgreSQL for the tests. With TEST_DATABASE_URL (a superuser or CREATEDB role; `.ci/run` starts a
 * throw-away server and sets it) every test file uses that server; without it, the first call in a
 * test process starts a throw-away server of its own from the local PostgreSQL binaries
 * (sim/postgres/cluster.ts), so `npm test` alone works wherever PostgreSQL is installed. Each call of
 * `createDatabase()` gives a new empty database. Without a server and without binaries this throws:
 * the PostgreSQL tests fail loudly, they never pass or skip silently.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../../sim/postgres/cluster.ts';

/** A PostgreSQL server the tests may create databases on. */
export interface TestPostgres {
  /** Where it comes from: the environment's server, or one started for this process. */
  origin: 'TEST_DATABASE_URL' | 'throw-away';
  /** A new empty database; resolves with its URL. */
  createDatabase(): Promise<string>;
  /** Drops the databases made here and stops a server started here. */
  close(): Promise<void>;
}

/** Starts (or connects to) the tests' PostgreSQL server. */
export async function testPostgres(env: NodeJS.ProcessEnv = process.env): Promise<TestPostgres> {
  const given = env.TEST_DATABASE_URL?.trim();
  let server: ThrowawayPostgres | null = null;
  let adminUrl: string;
  if (given) {
    adminUrl = given;
  } else {
    try {
      server = await startThrowawayPostgres();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`PostgreSQL tests cannot run: TEST_DATABASE_URL is not set and no throw-away server could be started (${reason})`);
    }
    adminUrl = server.url;
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  try {
    await admin.connect();
  } catch (error) {
    await server?.close();
    throw new Error(`PostgreSQL tests cannot run: cannot connect to ${given ? 'TEST_DATABASE_URL' : 'the throw-away server'} (${(error as Error).message})`);
  }
  const created: string[] = [];
  return {
    origin: given ? 'TEST_DATABASE_URL' : 'throw-away',
    async createDatabase() {
      const name = `voicebot_test_${process.pid}_${randomBytes(4).toString('hex')}`;
      await admin.query(`CREATE DATABASE ${name}`);
      created.push(name);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async close() {
      try {
        for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end().catch(() => undefined);
        await server?.close();
      }
    },
  };
}
