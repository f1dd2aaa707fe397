import type { Database } from './sqlite.ts';

/** Schema changes in order; a database records the highest version applied. Never edit a shipped one. */
export const MIGRATIONS: readonly { version: number; description: string; sql: string }[] = [
  {
    version: 1,
    description: 'guild settings and usage totals',
    sql: `
      CREATE TABLE guild_settings (
        guild_id TEXT PRIMARY KEY,
        instructions TEXT,
        voice TEXT,
        turn_detection TEXT,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE guild_usage (
        guild_id TEXT NOT NULL,
        model TEXT NOT NULL,
        text_input INTEGER NOT NULL DEFAULT 0,
        text_cached INTEGER NOT NULL DEFAULT 0,
        text_output INTEGER NOT NULL DEFAULT 0,
        audio_input INTEGER NOT NULL DEFAULT 0,
        audio_cached INTEGER NOT NULL DEFAULT 0,
        audio_output INTEGER NOT NULL DEFAULT 0,
        responses INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (guild_id, model)
      );`,
  },
];

/** Applies the migrations the database has not seen yet, each in its own transaction. */
export function migrate(db: Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null };
  const current = row.version ?? 0;
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new Error(`database schema version ${current} is newer than this bot knows (${latest}): upgrade the bot`);
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    db.exec('BEGIN');
    try {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(migration.version, Date.now());
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  }
  return latest;
}
