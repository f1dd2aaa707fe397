import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StatementSync } from 'node:sqlite';
import type { SqlDriver, SqlExecutor, SqlValue } from './driver.ts';
import { DatabaseSync, type Database } from './sqlite.ts';

/**
 * The embedded backend: one SQLite file through Node's built-in `node:sqlite`. Writes are durable
 * (WAL) as soon as a call resolves. The database is one connection, so every operation runs in turn:
 * while a transaction awaits between its statements, nothing else can slip into it.
 *
 * Several processes may share the file (shards of one machine): a process waiting for another's lock
 * waits up to 5 s. Within one process, use one driver per file: node:sqlite waits for a lock
 * synchronously, so a second connection waiting would block the thread that must release the lock.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  readonly path: string;
  readonly #db: Database;
  readonly #statements = new Map<string, StatementSync>();
  /** Settles when the operation that holds the connection is done (the turn of the next one). */
  #tail: Promise<unknown>;
  /** Settles when the file is in WAL mode; every operation but close() waits for it (and fails with it). */
  readonly #ready: Promise<void>;
  readonly #direct: SqlExecutor;

  constructor(path: string) {
    this.path = path;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#db = new DatabaseSync(path);
    // Another process (a second shard on the same file) may hold the write lock briefly.
    this.#db.exec('PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;');
    this.#ready = this.#useWal();
    this.#tail = this.#ready.catch(() => undefined);
    this.#direct = {
      all: async <Row>(sql: string, params: readonly SqlValue[] = []) => this.#prepare(sql).all(...params) as Row[],
      run: async (sql, params = []) => Number(this.#prepare(sql).run(...params).changes),
      exec: async (sql) => this.#db.exec(sql),
    };
  }

  all<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]> {
    return this.#exclusive(() => this.#direct.all<Row>(sql, params));
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.#exclusive(() => this.#direct.run(sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.#exclusive(() => this.#direct.exec(sql));
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#exclusive(() => this.#inTransaction('BEGIN', work));
  }

  batch(statements: readonly { sql: string; params?: readonly SqlValue[] }[]): Promise<void> {
    return this.#exclusive(async () => {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        for (const { sql, params = [] } of statements) this.#prepare(sql).run(...params);
        this.#db.exec('COMMIT');
      } catch (error) {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  migrationTransaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    // IMMEDIATE takes the write lock at once, so a second process waits (busy_timeout) instead of
    // reading the same schema version and applying the same migration.
    return this.#exclusive(() => this.#inTransaction('BEGIN IMMEDIATE', work));
  }

  async close(): Promise<void> {
    await this.#exclusive(async () => {
      if (!this.#db.isOpen) return;
      this.#statements.clear();
      try {
        this.#db.exec('PRAGMA wal_checkpoint(TRUNCATE)'); // a clean file for backups and copies
      } finally {
        this.#db.close();
      }
    }, 'run');
  }

  /**
   * Switches the file to write-ahead logging (it stays so). A new file is switched by whichever process
   * gets it first; SQLite answers "database is locked" at once rather than waiting while another process
   * is switching or reading it, so this retries for a while.
   */
  async #useWal(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        this.#db.exec('PRAGMA journal_mode = WAL');
        return;
      } catch (error) {
        if (!/locked|busy/i.test((error as Error).message) || attempt >= 100) throw error;
        await sleep(20 + Math.random() * 30);
      }
    }
  }

  async #inTransaction<T>(begin: string, work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.#db.exec(begin);
    try {
      const result = await work(this.#direct);
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  #exclusive<T>(operation: () => Promise<T>, whenClosed: 'throw' | 'run' = 'throw'): Promise<T> {
    const result = this.#tail.then(async () => {
      if (whenClosed === 'run') return operation();
      await this.#ready;
      if (!this.#db.isOpen) throw new Error('the database is closed');
      return operation();
    });
    this.#tail = result.catch(() => undefined);
    return result;
  }

  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement); // the store's statements are a fixed set of constants
    }
    return statement;
  }
}
