/**
 * The small SQL surface the store needs from a database: the store's queries are written once, with
 * `?` placeholders and SQL that SQLite and PostgreSQL both accept, and each backend runs them.
 */

/** A value bound to a `?` placeholder. */
export type SqlValue = string | number | null;

/** Runs statements: on the pool or inside one transaction. */
export interface SqlExecutor {
  /** The rows of a query (`?` placeholders, bound in order). */
  all<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** Runs a statement; resolves with the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/** A database backend. */
export interface SqlDriver extends SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Runs `work` in one transaction on one connection: committed when it resolves, rolled back when
   * it throws. `work` must use only the executor it is given.
   */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Runs several writes atomically (one transaction). Unlike {@link transaction} nothing runs between
   * them in this process: SQLite does them without yielding, so no other connection of the process can
   * be waiting on its lock in the middle.
   */
  batch(statements: readonly { sql: string; params?: readonly SqlValue[] }[]): Promise<void>;
  /**
   * Like {@link transaction}, holding the database-wide migration lock for the whole transaction
   * (PostgreSQL: an advisory lock; SQLite: the write lock taken at BEGIN IMMEDIATE), so that two
   * processes starting at once apply each migration exactly once.
   */
  migrationTransaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Flushes and closes; safe to call twice. */
  close(): Promise<void>;
}
