import pg from 'pg';
import type { Logger } from 'pino';
import type { SqlDriver, SqlExecutor, SqlValue } from './driver.ts';

/**
 * Key of the advisory lock held while migrating: one value for this application, so two bot
 * processes starting at once take turns (advisory locks are per database).
 */
export const MIGRATION_LOCK_KEY = 7_263_401_116;

/** Options of {@link PostgresDriver}. */
export interface PostgresDriverOptions {
  /** `postgres://user:password@host:port/database` (libpq-style `?sslmode=` is understood). */
  url: string;
  /** Connections in the pool (default 5). See the README: shards × this must stay under the server's max_connections. */
  poolMax?: number;
  /** Shown in `pg_stat_activity` (e.g. "realtime-voice-bot shard 3"). */
  applicationName?: string;
  logger: Logger;
}

/** PostgreSQL type ids whose text would otherwise come back as strings. */
const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * Type parsers for this pool only (no process-wide `pg.types` change): 64-bit integers and the
 * NUMERIC that SUM() of them returns come back as numbers. Token counts and dollars stay far below
 * 2^53, where a double is exact for integers.
 */
const TYPES = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (text: string) => Number(text);
    return pg.types.getTypeParser(oid, format as 'text');
  }) as typeof pg.types.getTypeParser,
};

/**
 * The shared backend, with node-postgres (`pg`): a pool of connections for the store's queries, a
 * dedicated connection for each transaction, and an advisory lock around migrations.
 */
export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  readonly #pool: pg.Pool;
  #closed: Promise<void> | null = null;

  constructor(options: PostgresDriverOptions) {
    this.#pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolMax ?? 5,
      idleTimeoutMillis: 30_000,
      // A database that does not answer fails the call in seconds instead of hanging a command.
      connectionTimeoutMillis: 5_000,
      statement_timeout: 10_000,
      application_name: options.applicationName ?? 'realtime-voice-bot',
      types: TYPES,
    });
    // An idle connection that breaks (server restart, network) is dropped by the pool and replaced on
    // the next query; without a listener the error would crash the process.
    this.#pool.on('error', (error) => options.logger.warn({ err: error.message }, 'database connection lost; it will be replaced'));
  }

  all<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return query<Row>(this.#pool, sql, params);
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.#pool.query(numbered(sql), [...params])).rowCount ?? 0;
  }

  async exec(sql: string): Promise<void> {
    await this.#pool.query(sql);
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#inTransaction(null, work);
  }

  async batch(statements: readonly { sql: string; params?: readonly SqlValue[] }[]): Promise<void> {
    await this.#inTransaction(null, async (tx) => {
      for (const { sql, params } of statements) await tx.run(sql, params);
    });
  }

  migrationTransaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    // pg_advisory_xact_lock: held until COMMIT or ROLLBACK, also released if the connection dies.
    return this.#inTransaction(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`, work);
  }

  close(): Promise<void> {
    this.#closed ??= this.#pool.end();
    return this.#closed;
  }

  async #inTransaction<T>(lock: string | null, work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      if (lock) await client.query(lock);
      const result = await work({
        all: <Row>(sql: string, params: readonly SqlValue[] = []) => query<Row>(client, sql, params),
        run: async (sql, params = []) => (await client.query(numbered(sql), [...params])).rowCount ?? 0,
        exec: async (sql) => void (await client.query(sql)),
      });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      throw error;
    } finally {
      client.release(broken); // a connection that could not even roll back is closed, not reused
    }
  }
}

async function query<Row>(on: pg.Pool | pg.PoolClient, sql: string, params: readonly SqlValue[]): Promise<Row[]> {
  return (await on.query(numbered(sql), [...params])).rows as Row[];
}

/**
 * The store's `?` placeholders as PostgreSQL's `$1, $2, …`. The store's SQL never has a `?` inside a
 * literal (values are always parameters), so every `?` is a placeholder.
 */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
