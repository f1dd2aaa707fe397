import { SqliteDriver } from './sqliteDriver.ts';
import { SqlStore } from './sqlStore.ts';
import type { BotStore } from './store.ts';

export type { BotStore, GuildSettings, StoredTurnDetection } from './store.ts';
export { defaultSettings } from './store.ts';

/** Where the store keeps its data. */
export interface StoreOptions {
  /** SQLite file (`:memory:` for a throw-away database). */
  databasePath: string;
}

/** The store for a configuration; call `open()` (or any method) to run the migrations. */
export function createStore(options: StoreOptions): BotStore {
  return new SqlStore(new SqliteDriver(options.databasePath));
}
