/**
 * Moving from SQLite to PostgreSQL (`npm run db:copy`): every row of the bot's tables is copied from a
 * SQLite file into a PostgreSQL database in one transaction, then the two are compared.
 */
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { SqlExecutor, SqlValue } from './driver.ts';
import { LATEST_VERSION, migrate } from './migrations.ts';
import { PostgresDriver } from './postgresDriver.ts';
import { DatabaseSync } from './sqlite.ts';

/** The bot's tables, in copy order (schema_migrations is not copied: the target migrates itself). */
export const COPIED_TABLES = ['guild_settings', 'guild_usage', 'usage_daily', 'budget_notices', 'guild_rooms', 'privacy_opt_outs', 'guild_tools', 'reminders'] as const;
/** Rows per INSERT statement. */
const BATCH_ROWS = 200;

/** Options of {@link copySqliteToPostgres}. */
export interface CopyOptions {
  sqlitePath: string;
  postgresUrl: string;
  /** Delete what the target's tables hold first (otherwise a target with data is refused). */
  replace?: boolean;
  /** Where the PostgreSQL pool logs its errors (the caller's; never a default). */
  logger: Logger;
}

/** What was copied: rows per table and the cost total on both sides (they are compared). */
export interface CopyReport {
  sourceVersion: number;
  tables: Record<(typeof COPIED_TABLES)[number], number>;
  costUsd: { source: number; target: number };
}

/** A copy that cannot or must not happen; the message says what to do. */
export class CopyError extends Error {
  override name = 'CopyError';
}

/**
 * Copies the SQLite database at `sqlitePath` (opened read-only, any schema version the bot ever had)
 * into the PostgreSQL database at `postgresUrl` (migrated to the current schema first). All rows or
 * none: the copy is one transaction. Refuses a target that already has data unless `replace`.
 */
export async function copySqliteToPostgres(options: CopyOptions): Promise<CopyReport> {
  if (!existsSync(options.sqlitePath)) throw new CopyError(`no SQLite database at ${options.sqlitePath}`);
  const source = new DatabaseSync(options.sqlitePath, { readOnly: true });
  const target = new PostgresDriver({ url: options.postgresUrl, poolMax: 2, applicationName: 'realtime-voice-bot db:copy', logger: options.logger });
  // One read transaction: a consistent snapshot even if a bot is still writing to the file.
  source.exec('BEGIN');
  try {
    const sourceVersion = schemaVersion(source);
    if (sourceVersion === 0) throw new CopyError(`${options.sqlitePath} is not a database of this bot (no schema_migrations table)`);
    if (sourceVersion > LATEST_VERSION) throw new CopyError(`${options.sqlitePath} has schema version ${sourceVersion}, newer than this bot knows (${LATEST_VERSION}): upgrade the bot`);
    await migrate(target); // refuses a target newer than this bot
    const tables = {} as CopyReport['tables'];
    await target.transaction(async (tx) => {
      for (const table of COPIED_TABLES) {
        const [existing] = await tx.all<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`);
        if (Number(existing?.n ?? 0) > 0) {
          if (!options.replace) throw new CopyError(`the PostgreSQL database already has data (${table}: ${existing!.n} rows); use --replace to overwrite it`);
          await tx.run(`DELETE FROM ${table}`);
        }
      }
      for (const table of COPIED_TABLES) tables[table] = await copyTable(source, tx, table);
    });
    const sourceCost = tableExists(source, 'guild_usage') ? Number((source.prepare('SELECT COALESCE(SUM(cost_usd),0) AS c FROM guild_usage').get() as { c: number }).c) : 0;
    const [targetCost] = await target.all<{ c: number }>('SELECT COALESCE(SUM(cost_usd),0) AS c FROM guild_usage');
    const report: CopyReport = { sourceVersion, tables, costUsd: { source: sourceCost, target: Number(targetCost?.c ?? 0) } };
    if (Math.abs(report.costUsd.source - report.costUsd.target) > 1e-9) {
      throw new CopyError(`the copy does not add up: cost ${report.costUsd.source} in SQLite, ${report.costUsd.target} in PostgreSQL`);
    }
    return report;
  } finally {
    if (source.isTransaction) source.exec('COMMIT');
    source.close();
    await target.close();
  }
}

/** Copies one table's rows, columns the source and the target both have (older sources lack newer columns). */
async function copyTable(source: InstanceType<typeof DatabaseSync>, tx: SqlExecutor, table: string): Promise<number> {
  if (!tableExists(source, table)) return 0;
  const sourceColumns = (source.prepare(`SELECT name FROM pragma_table_info('${table}')`).all() as { name: string }[]).map((row) => row.name);
  const targetColumns = (await tx.all<{ column_name: string }>('SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = current_schema()', [table])).map(
    (row) => row.column_name,
  );
  const columns = sourceColumns.filter((column) => targetColumns.includes(column));
  const rows = source.prepare(`SELECT ${columns.join(', ')} FROM ${table}`).all() as Record<string, SqlValue>[];
  for (let start = 0; start < rows.length; start += BATCH_ROWS) {
    const batch = rows.slice(start, start + BATCH_ROWS);
    const placeholders = batch.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ');
    await tx.run(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${placeholders}`, batch.flatMap((row) => columns.map((column) => value(row[column]))));
  }
  return rows.length;
}

/** SQLite hands back numbers, strings, null (and bigints for huge integers): as bound values. */
function value(cell: unknown): SqlValue {
  if (cell === null || cell === undefined) return null;
  if (typeof cell === 'bigint') return cell.toString();
  if (typeof cell === 'number' || typeof cell === 'string') return cell;
  throw new CopyError(`unexpected value of type ${typeof cell} in the SQLite database`);
}

function tableExists(db: InstanceType<typeof DatabaseSync>, table: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
}

function schemaVersion(db: InstanceType<typeof DatabaseSync>): number {
  if (!tableExists(db, 'schema_migrations')) return 0;
  return Number((db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0);
}
