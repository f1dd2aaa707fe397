import type { TokenUsage, UsageTotals } from '../realtime/usage.ts';
import type { SqlDriver, SqlValue } from './driver.ts';
import { migrate } from './migrations.ts';
import { defaultSettings, type BotStore, type GuildSettings, type StoredTurnDetection } from './store.ts';

interface SettingsRow {
  instructions: string | null;
  voice: string | null;
  turn_detection: string | null;
}

/** Settings fields and their columns; only these names ever reach SQL text. */
const SETTINGS_COLUMNS = { instructions: 'instructions', voice: 'voice', turnDetection: 'turn_detection' } as const satisfies Record<keyof GuildSettings, string>;
const SETTINGS_SELECT = 'SELECT instructions, voice, turn_detection FROM guild_settings WHERE guild_id = ?';

/** Usage columns as the realtime client's {@link TokenUsage} names (quoted: PostgreSQL folds case). */
const USAGE_SUMS = `COALESCE(SUM(text_input),0) AS "inputTextTokens", COALESCE(SUM(text_cached),0) AS "cachedTextTokens",
  COALESCE(SUM(text_output),0) AS "outputTextTokens", COALESCE(SUM(audio_input),0) AS "inputAudioTokens",
  COALESCE(SUM(audio_cached),0) AS "cachedAudioTokens", COALESCE(SUM(audio_output),0) AS "outputAudioTokens",
  COALESCE(SUM(responses),0) AS responses, COALESCE(SUM(cost_usd),0) AS "costUsd"`;

/** The store's queries, written once for both backends (see {@link SqlDriver}). */
export class SqlStore implements BotStore {
  readonly backend: 'sqlite' | 'postgres';
  readonly #driver: SqlDriver;
  #opened: Promise<void> | null = null;
  #closed = false;

  constructor(driver: SqlDriver) {
    this.#driver = driver;
    this.backend = driver.dialect;
  }

  open(): Promise<void> {
    this.#opened ??= migrate(this.#driver).then(() => undefined);
    return this.#opened;
  }

  async getSettings(guildId: string): Promise<GuildSettings> {
    await this.open();
    const [row] = await this.#driver.all<SettingsRow>(SETTINGS_SELECT, [guildId]);
    return row ? fromRow(row) : defaultSettings();
  }

  async updateSettings(guildId: string, patch: Partial<GuildSettings>): Promise<GuildSettings> {
    await this.open();
    const fields = (Object.keys(SETTINGS_COLUMNS) as (keyof GuildSettings)[]).filter((field) => patch[field] !== undefined);
    const columns = fields.map((field) => SETTINGS_COLUMNS[field]);
    const values: SqlValue[] = fields.map((field) => {
      if (field === 'turnDetection') return patch.turnDetection ? JSON.stringify(patch.turnDetection) : null;
      return withoutNul(patch[field] as string | null);
    });
    // One statement: only the given columns change, so two updates of different fields never undo each other.
    const assignments = [...columns, 'updated_at'].map((column) => `${column} = excluded.${column}`).join(', ');
    const [row] = await this.#driver.all<SettingsRow>(
      `INSERT INTO guild_settings (guild_id, ${[...columns, 'updated_at'].join(', ')}) VALUES (${['?', ...columns.map(() => '?'), '?'].join(', ')})
       ON CONFLICT (guild_id) DO UPDATE SET ${assignments}
       RETURNING instructions, voice, turn_detection`,
      [guildId, ...values, Date.now()],
    );
    return row ? fromRow(row) : defaultSettings();
  }

  async addUsage(guildId: string, model: string, usage: TokenUsage, costUsd: number, responses = 1): Promise<void> {
    await this.open();
    await this.#driver.run(
      `INSERT INTO guild_usage AS u (guild_id, model, text_input, text_cached, text_output, audio_input, audio_cached, audio_output, responses, cost_usd)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (guild_id, model) DO UPDATE SET
         text_input = u.text_input + excluded.text_input, text_cached = u.text_cached + excluded.text_cached,
         text_output = u.text_output + excluded.text_output, audio_input = u.audio_input + excluded.audio_input,
         audio_cached = u.audio_cached + excluded.audio_cached, audio_output = u.audio_output + excluded.audio_output,
         responses = u.responses + excluded.responses, cost_usd = u.cost_usd + excluded.cost_usd`,
      [guildId, model, ...usageValues(usage), Math.max(0, Math.round(finiteOrZero(responses))), finiteOrZero(costUsd)],
    );
  }

  async getUsage(guildId: string): Promise<UsageTotals> {
    await this.open();
    const [row] = await this.#driver.all<UsageTotals>(`SELECT ${USAGE_SUMS} FROM guild_usage WHERE guild_id = ?`, [guildId]);
    return numbers(row!);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#opened?.catch(() => undefined);
    await this.#driver.close();
  }
}

/** Token counts in column order (text input, cached, output; audio input, cached, output), never negative or fractional. */
function usageValues(usage: TokenUsage): number[] {
  return [usage.inputTextTokens, usage.cachedTextTokens, usage.outputTextTokens, usage.inputAudioTokens, usage.cachedAudioTokens, usage.outputAudioTokens].map(
    (count) => Math.max(0, Math.round(finiteOrZero(count))),
  );
}

function finiteOrZero(value: number): number {
  return Number.isFinite(value) ? value : 0;
}

/** Rows come back with numbers as numbers (SQLite) or as strings of 64-bit integers (PostgreSQL). */
function numbers<T extends object>(row: T): T {
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, Number(value)])) as T;
}

function fromRow(row: SettingsRow): GuildSettings {
  return { instructions: row.instructions, voice: row.voice, turnDetection: parseTurnDetection(row.turn_detection) };
}

/** SQLite text binding ends at a NUL byte (PostgreSQL refuses one): remove NULs, which mean nothing in text. */
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
