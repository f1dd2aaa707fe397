import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrate } from './migrations.ts';
import { DatabaseSync, type Database } from './sqlite.ts';

/** Turn-detection settings a guild may choose (the realtime client's shape, kept as plain data). */
export type StoredTurnDetection =
  | { type: 'server_vad'; threshold?: number; prefixPaddingMs?: number; silenceDurationMs?: number }
  | { type: 'semantic_vad'; eagerness?: 'low' | 'medium' | 'high' | 'auto' }
  | { type: 'manual' };

/** A guild's saved settings; `null` means "use the bot's default". */
export interface GuildSettings {
  instructions: string | null;
  voice: string | null;
  turnDetection: StoredTurnDetection | null;
}

/** Token counts of one or more responses, split text/audio × input/cached/output. */
export interface UsageCounts {
  textInput: number;
  textCached: number;
  textOutput: number;
  audioInput: number;
  audioCached: number;
  audioOutput: number;
}

/** Usage totals of a guild across models and restarts. */
export interface GuildUsage extends UsageCounts {
  responses: number;
  costUsd: number;
}

const EMPTY_SETTINGS: GuildSettings = { instructions: null, voice: null, turnDetection: null };

/**
 * Per-guild settings and usage totals in SQLite. Writes are synchronous and durable (WAL), so nothing
 * is lost on a crash; `close()` checkpoints the WAL for a clean shutdown.
 */
export class BotStore {
  readonly path: string;
  readonly #db: Database;

  constructor(path: string) {
    this.path = path;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#db = new DatabaseSync(path);
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 2000;');
    migrate(this.#db);
  }

  /** The guild's settings, defaults (all null) when it never saved any. */
  getSettings(guildId: string): GuildSettings {
    const row = this.#db
      .prepare('SELECT instructions, voice, turn_detection FROM guild_settings WHERE guild_id = ?')
      .get(guildId) as { instructions: string | null; voice: string | null; turn_detection: string | null } | undefined;
    if (!row) return { ...EMPTY_SETTINGS };
    return { instructions: row.instructions, voice: row.voice, turnDetection: parseTurnDetection(row.turn_detection) };
  }

  /** Saves the given fields of the guild's settings, leaving the others as they are. */
  updateSettings(guildId: string, patch: Partial<GuildSettings>): GuildSettings {
    const next = { ...this.getSettings(guildId), ...patch };
    this.#db
      .prepare(
        `INSERT INTO guild_settings (guild_id, instructions, voice, turn_detection, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (guild_id) DO UPDATE SET instructions = excluded.instructions, voice = excluded.voice,
           turn_detection = excluded.turn_detection, updated_at = excluded.updated_at`,
      )
      .run(guildId, withoutNul(next.instructions), withoutNul(next.voice), next.turnDetection ? JSON.stringify(next.turnDetection) : null, Date.now());
    return this.getSettings(guildId);
  }

  /** Adds one response's usage and estimated cost to the guild's totals for that model. */
  addUsage(guildId: string, model: string, usage: UsageCounts, costUsd: number): void {
    this.#db
      .prepare(
        `INSERT INTO guild_usage (guild_id, model, text_input, text_cached, text_output, audio_input, audio_cached, audio_output, responses, cost_usd)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
         ON CONFLICT (guild_id, model) DO UPDATE SET
           text_input = text_input + excluded.text_input, text_cached = text_cached + excluded.text_cached,
           text_output = text_output + excluded.text_output, audio_input = audio_input + excluded.audio_input,
           audio_cached = audio_cached + excluded.audio_cached, audio_output = audio_output + excluded.audio_output,
           responses = responses + 1, cost_usd = cost_usd + excluded.cost_usd`,
      )
      .run(guildId, model, usage.textInput, usage.textCached, usage.textOutput, usage.audioInput, usage.audioCached, usage.audioOutput, costUsd);
  }

  /** The guild's usage summed over all models. */
  getUsage(guildId: string): GuildUsage {
    const row = this.#db
      .prepare(
        `SELECT COALESCE(SUM(text_input),0) AS textInput, COALESCE(SUM(text_cached),0) AS textCached,
                COALESCE(SUM(text_output),0) AS textOutput, COALESCE(SUM(audio_input),0) AS audioInput,
                COALESCE(SUM(audio_cached),0) AS audioCached, COALESCE(SUM(audio_output),0) AS audioOutput,
                COALESCE(SUM(responses),0) AS responses, COALESCE(SUM(cost_usd),0) AS costUsd
         FROM guild_usage WHERE guild_id = ?`,
      )
      .get(guildId) as unknown as GuildUsage;
    return { ...row };
  }

  /** Flushes the write-ahead log into the database file and closes it. Safe to call twice. */
  close(): void {
    if (!this.#db.isOpen) return;
    try {
      this.#db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    } finally {
      this.#db.close();
    }
  }
}

/** SQLite text binding ends at a NUL byte, which would silently drop the rest of the text: remove NULs. */
function withoutNul(text: string | null): string | null {
  return text === null ? null : text.replaceAll('\u0000', '');
}

function parseTurnDetection(json: string | null): StoredTurnDetection | null {
  if (!json) return null;
  try {
    const value = JSON.parse(json) as StoredTurnDetection;
    return value && typeof value === 'object' && typeof value.type === 'string' ? value : null;
  } catch {
    return null; // a damaged row falls back to the default rather than breaking the guild
  }
}
