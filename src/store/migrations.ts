import type { SqlDriver } from './driver.ts';
import { ROOM_TABLES_SQL } from './roomStore.ts';

/** A schema change. Its SQL is run as is by both backends, so it uses only what both accept. */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/**
 * Schema changes in order; a database records the highest version applied. Never change what a
 * shipped migration does. Types are chosen for both backends: BIGINT and DOUBLE PRECISION have the
 * same INTEGER and REAL affinity in SQLite as the INTEGER and REAL that version 1 was first shipped
 * with (so SQLite databases created by older bots are the same), and are 64-bit in PostgreSQL.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'guild settings and usage totals',
    sql: `
      CREATE TABLE guild_settings (
        guild_id TEXT PRIMARY KEY,
        instructions TEXT,
        voice TEXT,
        turn_detection TEXT,
        updated_at BIGINT NOT NULL
      );
      CREATE TABLE guild_usage (
        guild_id TEXT NOT NULL,
        model TEXT NOT NULL,
        text_input BIGINT NOT NULL DEFAULT 0,
        text_cached BIGINT NOT NULL DEFAULT 0,
        text_output BIGINT NOT NULL DEFAULT 0,
        audio_input BIGINT NOT NULL DEFAULT 0,
        audio_cached BIGINT NOT NULL DEFAULT 0,
        audio_output BIGINT NOT NULL DEFAULT 0,
        responses BIGINT NOT NULL DEFAULT 0,
        cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
        PRIMARY KEY (guild_id, model)
      );`,
  },
  {
    version: 2,
    description: 'model per guild, spend limits, usage by day, budget notices sent',
    sql: `
      ALTER TABLE guild_settings ADD COLUMN model TEXT;
      ALTER TABLE guild_settings ADD COLUMN daily_limit_usd DOUBLE PRECISION;
      ALTER TABLE guild_settings ADD COLUMN monthly_limit_usd DOUBLE PRECISION;
      CREATE TABLE usage_daily (
        guild_id TEXT NOT NULL,
        day TEXT NOT NULL,
        model TEXT NOT NULL,
        text_input BIGINT NOT NULL DEFAULT 0,
        text_cached BIGINT NOT NULL DEFAULT 0,
        text_output BIGINT NOT NULL DEFAULT 0,
        audio_input BIGINT NOT NULL DEFAULT 0,
        audio_cached BIGINT NOT NULL DEFAULT 0,
        audio_output BIGINT NOT NULL DEFAULT 0,
        responses BIGINT NOT NULL DEFAULT 0,
        cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
        PRIMARY KEY (guild_id, day, model)
      );
      CREATE INDEX usage_daily_by_day ON usage_daily (day);
      CREATE TABLE budget_notices (
        guild_id TEXT NOT NULL,
        period TEXT NOT NULL,
        level INTEGER NOT NULL,
        limit_usd DOUBLE PRECISION NOT NULL,
        sent_at BIGINT NOT NULL,
        PRIMARY KEY (guild_id, period, level, limit_usd)
      );`,
  },
  { version: 4, description: 'room settings and privacy opt-outs per guild', sql: ROOM_TABLES_SQL },
  {
    // 5, not 3: databases already migrated to 4 (room tables, shipped first) must get these tables too.
    version: 5,
    description: 'tools switched off per guild, reminders',
    sql: `
      CREATE TABLE guild_tools (
        guild_id TEXT NOT NULL,
        tool TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (guild_id, tool)
      );
      CREATE TABLE reminders (
        id TEXT PRIMARY KEY,
        guild_id TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        text TEXT NOT NULL,
        due_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        claimed_until BIGINT NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        delivered_at BIGINT
      );
      CREATE INDEX reminders_due ON reminders (due_at);
      CREATE INDEX reminders_by_member ON reminders (guild_id, user_id);`,
  },
];

/** The schema version this bot knows. */
export const LATEST_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/**
 * Applies the migrations the database has not seen yet, all in one transaction under the migration
 * lock: two processes starting at once (two shards on one PostgreSQL) apply each exactly once, and a
 * failed migration leaves the database as it was. Resolves with the schema version.
 */
export async function migrate(driver: SqlDriver, migrations: readonly Migration[] = MIGRATIONS): Promise<number> {
  const latest = migrations.at(-1)?.version ?? 0;
  return driver.migrationTransaction(async (tx) => {
    // Created under the lock: PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against a concurrent one.
    await tx.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const [row] = await tx.all<{ version: number | null }>('SELECT MAX(version) AS version FROM schema_migrations');
    const current = Number(row?.version ?? 0);
    if (current > latest) {
      throw new Error(`database schema version ${current} is newer than this bot knows (${latest}): upgrade the bot`);
    }
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      await tx.exec(migration.sql);
      await tx.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [migration.version, Date.now()]);
    }
    return latest;
  });
}
