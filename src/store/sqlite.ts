import type { DatabaseSync as DatabaseSyncType } from 'node:sqlite';

/**
 * Loads Node's built-in SQLite. We use it instead of better-sqlite3 because it needs no native build:
 * on machines whose npm builds addons against another Node's headers (as ours do, `nodedir=/usr`),
 * better-sqlite3 compiled for Node 20 fails to load under the Node 22 the bot runs on. node:sqlite is
 * still flagged experimental in Node 22 and warns once on load; the warning says nothing useful to a
 * bot operator, so it is muted for that single import.
 */
async function loadDatabaseSync(): Promise<typeof DatabaseSyncType> {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (String(warning instanceof Error ? warning.message : warning).includes('SQLite')) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return (await import('node:sqlite')).DatabaseSync;
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** Node's synchronous SQLite database class. */
export const DatabaseSync = await loadDatabaseSync();
export type Database = DatabaseSyncType;
