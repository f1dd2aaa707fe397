import type { Logger } from 'pino';
import type { SqlDriver } from './driver.ts';
import { PostgresDriver } from './postgresDriver.ts';
import { SqliteDriver } from './sqliteDriver.ts';
import { SqlStore } from './sqlStore.ts';
import type { BotStore } from './store.ts';

export type { BotStore, DailyUsage, DayKey, GuildSettings, NoticeKey, StoredTurnDetection } from './store.ts';
export { dayKey, daysBefore, endOfDay, endOfMonth, monthDays, monthKey } from './periods.ts';
export { defaultSettings } from './store.ts';
export { defaultRoomSettings, type AddressingMode, type NoiseReduction, type RoomSettings, type RoomStore } from './roomStore.ts';
export type { Reminder, ToolStore } from './toolStore.ts';

/** Where the store keeps its data. */
export interface StoreOptions {
  /** PostgreSQL URL (`postgres://…`): the shared backend. When absent, SQLite at {@link databasePath}. */
  databaseUrl?: string | undefined;
  /** SQLite file (`:memory:` for a throw-away database). */
  databasePath?: string;
  /** PostgreSQL connections in this process's pool (default 5). */
  poolMax?: number;
  /** Shown in PostgreSQL's `pg_stat_activity`. */
  applicationName?: string;
  /** Where the backend logs (pool errors); made by the composition root and passed down, never a default. */
  logger: Logger;
}

/**
 * The store for a configuration: PostgreSQL when a URL is given, else SQLite. Nothing connects until
 * `open()` (or any other method), which runs the migrations.
 */
export function createStore(options: StoreOptions): BotStore {
  return new SqlStore(createDriver(options));
}

/** The database backend for the options (the store's, or a tool's such as the SQLite → PostgreSQL copy). */
export function createDriver(options: StoreOptions): SqlDriver {
  if (options.databaseUrl) {
    return new PostgresDriver({
      url: options.databaseUrl,
      poolMax: options.poolMax,
      applicationName: options.applicationName,
      logger: options.logger,
    });
  }
  return new SqliteDriver(options.databasePath ?? 'data/bot.sqlite');
}
