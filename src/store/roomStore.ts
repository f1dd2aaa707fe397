/**
 * What a busy room needs kept: each server's room settings (addressing, wake names, consent notice,
 * captions, roles, noise reduction) and the members who opted out with /privacy. Every setting is
 * its own column, so two admins changing different settings at once never undo each other.
 */
import type { SqlDriver, SqlValue } from './driver.ts';

/** When the bot answers a voice turn: every turn, only turns that name it, or `always` alone with one person and `name` with more. */
export type AddressingMode = 'always' | 'name' | 'auto';
/** The realtime service's input noise reduction (`off`: none). */
export type NoiseReduction = 'near_field' | 'far_field' | 'off';

/** A server's room settings; `null` means "the bot's default". */
export interface RoomSettings {
  addressing: AddressingMode | null;
  /** Names the bot answers to in `name` mode (default: its display name). */
  wakeNames: string[] | null;
  /** How long after an answer the person answered may go on without the name, seconds. */
  followUpSeconds: number | null;
  /** Whether the consent notice is posted when the bot joins (default on). */
  notice: boolean | null;
  /** The notice's text instead of the default one. */
  noticeText: string | null;
  /** Whether each turn's transcript is posted to a captions thread (default off). */
  captions: boolean | null;
  /** Only members with one of these roles are heard (default: everyone). */
  heardRoleIds: string[] | null;
  /** Only members with one of these roles may /join (default: anyone who can connect). */
  joinRoleIds: string[] | null;
  noiseReduction: NoiseReduction | null;
}

/** Room settings with every field at its default. */
export function defaultRoomSettings(): RoomSettings {
  return { addressing: null, wakeNames: null, followUpSeconds: null, notice: null, noticeText: null, captions: null, heardRoleIds: null, joinRoleIds: null, noiseReduction: null };
}

/** The rooms' part of the store. Every method is safe to call concurrently, from several processes. */
export interface RoomStore {
  /** The server's room settings (all null when it never saved any). */
  getRoomSettings(guildId: string): Promise<RoomSettings>;
  /** Saves the given fields (null resets one to its default), leaving the others; resolves with the settings as saved. */
  updateRoomSettings(guildId: string, patch: Partial<RoomSettings>): Promise<RoomSettings>;
  /** Members of the server who opted out with /privacy. */
  optedOut(guildId: string): Promise<string[]>;
  /** Records a member's choice; resolves with whether it changed anything. */
  setOptedOut(guildId: string, userId: string, optedOut: boolean): Promise<boolean>;
}

type Kind = 'text' | 'list' | 'bool' | 'number';
/** Fields, their columns and how they are kept; only these names ever reach SQL text. */
const COLUMNS = {
  addressing: ['addressing', 'text'],
  wakeNames: ['wake_names', 'list'],
  followUpSeconds: ['follow_up_seconds', 'number'],
  notice: ['notice', 'bool'],
  noticeText: ['notice_text', 'text'],
  captions: ['captions', 'bool'],
  heardRoleIds: ['heard_role_ids', 'list'],
  joinRoleIds: ['join_role_ids', 'list'],
  noiseReduction: ['noise_reduction', 'text'],
} as const satisfies Record<keyof RoomSettings, readonly [string, Kind]>;
const FIELDS = Object.keys(COLUMNS) as (keyof RoomSettings)[];
const SELECT_COLUMNS = FIELDS.map((field) => COLUMNS[field][0]).join(', ');

/** The schema of the rooms' tables (a migration in migrations.ts). */
export const ROOM_TABLES_SQL = `
      CREATE TABLE guild_rooms (
        guild_id TEXT PRIMARY KEY,
        addressing TEXT,
        wake_names TEXT,
        follow_up_seconds DOUBLE PRECISION,
        notice INTEGER,
        notice_text TEXT,
        captions INTEGER,
        heard_role_ids TEXT,
        join_role_ids TEXT,
        noise_reduction TEXT,
        updated_at BIGINT NOT NULL
      );
      CREATE TABLE privacy_opt_outs (
        guild_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        opted_out_at BIGINT NOT NULL,
        PRIMARY KEY (guild_id, user_id)
      );`;

/** The queries of {@link RoomStore}, for both backends. `ready` resolves once the migrations ran. */
export class SqlRoomStore implements RoomStore {
  readonly #driver: SqlDriver;
  readonly #ready: () => Promise<void>;

  constructor(driver: SqlDriver, ready: () => Promise<void>) {
    this.#driver = driver;
    this.#ready = ready;
  }

  async getRoomSettings(guildId: string): Promise<RoomSettings> {
    await this.#ready();
    const [row] = await this.#driver.all<Record<string, unknown>>(`SELECT ${SELECT_COLUMNS} FROM guild_rooms WHERE guild_id = ?`, [guildId]);
    return row ? fromRow(row) : defaultRoomSettings();
  }

  async updateRoomSettings(guildId: string, patch: Partial<RoomSettings>): Promise<RoomSettings> {
    await this.#ready();
    const fields = FIELDS.filter((field) => patch[field] !== undefined);
    const columns = [...fields.map((field) => COLUMNS[field][0]), 'updated_at'];
    const values: SqlValue[] = [...fields.map((field) => toColumn(COLUMNS[field][1], patch[field])), Date.now()];
    // One statement: only the given columns change, so two updates of different fields never undo each other.
    const [row] = await this.#driver.all<Record<string, unknown>>(
      `INSERT INTO guild_rooms (guild_id, ${columns.join(', ')}) VALUES (?, ${columns.map(() => '?').join(', ')})
       ON CONFLICT (guild_id) DO UPDATE SET ${columns.map((column) => `${column} = excluded.${column}`).join(', ')}
       RETURNING ${SELECT_COLUMNS}`,
      [guildId, ...values],
    );
    return row ? fromRow(row) : defaultRoomSettings();
  }

  async optedOut(guildId: string): Promise<string[]> {
    await this.#ready();
    const rows = await this.#driver.all<{ user_id: string }>('SELECT user_id FROM privacy_opt_outs WHERE guild_id = ? ORDER BY user_id', [guildId]);
    return rows.map((row) => row.user_id);
  }

  async setOptedOut(guildId: string, userId: string, optedOut: boolean): Promise<boolean> {
    await this.#ready();
    if (!optedOut) return (await this.#driver.run('DELETE FROM privacy_opt_outs WHERE guild_id = ? AND user_id = ?', [guildId, userId])) > 0;
    const changed = await this.#driver.run(
      'INSERT INTO privacy_opt_outs (guild_id, user_id, opted_out_at) VALUES (?, ?, ?) ON CONFLICT (guild_id, user_id) DO NOTHING',
      [guildId, userId, Date.now()],
    );
    return changed > 0;
  }
}

function toColumn(kind: Kind, value: unknown): SqlValue {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'list':
      return JSON.stringify((value as string[]).map((entry) => entry.replaceAll('\u0000', '')));
    case 'bool':
      return value ? 1 : 0;
    case 'number':
      return Number.isFinite(value) ? (value as number) : null;
    case 'text':
      return String(value).replaceAll('\u0000', '');
  }
}

function fromColumn(kind: Kind, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'list':
      try {
        const list = JSON.parse(String(value)) as unknown;
        return Array.isArray(list) ? list.filter((entry): entry is string => typeof entry === 'string') : null;
      } catch {
        return null; // a damaged row falls back to the default rather than breaking the server
      }
    case 'bool':
      return Number(value) !== 0;
    case 'number': {
      const number = Number(value); // PostgreSQL may return numeric columns as strings
      return Number.isFinite(number) ? number : null;
    }
    case 'text':
      return String(value);
  }
}

function fromRow(row: Record<string, unknown>): RoomSettings {
  const settings = defaultRoomSettings() as unknown as Record<string, unknown>;
  for (const field of FIELDS) settings[field] = fromColumn(COLUMNS[field][1], row[COLUMNS[field][0]]);
  return settings as unknown as RoomSettings;
}
