import type { TokenUsage, UsageTotals } from '../realtime/usage.ts';
import type { SqlDriver, SqlValue } from './driver.ts';
import { migrate } from './migrations.ts';
import { dayKey } from './periods.ts';
import { defaultSettings, type BotStore, type DailyUsage, type DayKey, type GuildSettings, type NoticeKey, type StoredTurnDetection } from './store.ts';
import { SqlRoomStore, type RoomStore } from './roomStore.ts';
import { SqlToolStore, type ToolStore } from './toolStore.ts';

interface SettingsRow {
  instructions: string | null;
  voice: string | null;
  turn_detection: string | null;
  model: string | null;
  daily_limit_usd: number | null;
  monthly_limit_usd: number | null;
}

/** Settings fields and their columns; only these names ever reach SQL text. */
const SETTINGS_COLUMNS = {
  instructions: 'instructions',
  voice: 'voice',
  turnDetection: 'turn_detection',
  model: 'model',
  dailyLimitUsd: 'daily_limit_usd',
  monthlyLimitUsd: 'monthly_limit_usd',
} as const satisfies Record<keyof GuildSettings, string>;
const SETTINGS_FIELDS = 'instructions, voice, turn_detection, model, daily_limit_usd, monthly_limit_usd';
const SETTINGS_SELECT = `SELECT ${SETTINGS_FIELDS} FROM guild_settings WHERE guild_id = ?`;

/** Column values of one response's usage, for both usage tables (`u` is the table being updated). */
const USAGE_COLUMNS = 'text_input, text_cached, text_output, audio_input, audio_cached, audio_output, responses, cost_usd';
const USAGE_ADD = `text_input = u.text_input + excluded.text_input, text_cached = u.text_cached + excluded.text_cached,
  text_output = u.text_output + excluded.text_output, audio_input = u.audio_input + excluded.audio_input,
  audio_cached = u.audio_cached + excluded.audio_cached, audio_output = u.audio_output + excluded.audio_output,
  responses = u.responses + excluded.responses, cost_usd = u.cost_usd + excluded.cost_usd`;

/** Usage columns as the realtime client's {@link TokenUsage} names (quoted: PostgreSQL folds case). */
const USAGE_SUMS = `COALESCE(SUM(text_input),0) AS "inputTextTokens", COALESCE(SUM(text_cached),0) AS "cachedTextTokens",
  COALESCE(SUM(text_output),0) AS "outputTextTokens", COALESCE(SUM(audio_input),0) AS "inputAudioTokens",
  COALESCE(SUM(audio_cached),0) AS "cachedAudioTokens", COALESCE(SUM(audio_output),0) AS "outputAudioTokens",
  COALESCE(SUM(responses),0) AS responses, COALESCE(SUM(cost_usd),0) AS "costUsd"`;

/** The store's queries, written once for both backends (see {@link SqlDriver}). */
export class SqlStore implements BotStore {
  readonly backend: 'sqlite' | 'postgres';
  readonly #driver: SqlDriver;
  readonly rooms: RoomStore;
  readonly tools: ToolStore;
  #opened: Promise<void> | null = null;
  #closed = false;

  constructor(driver: SqlDriver) {
    this.#driver = driver;
    this.backend = driver.dialect;
    this.rooms = new SqlRoomStore(driver, () => this.open());
    this.tools = new SqlToolStore(driver, () => this.open());
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
      if (field === 'dailyLimitUsd' || field === 'monthlyLimitUsd') return limitValue(patch[field]!);
      return withoutNul(patch[field] as string | null);
    });
    // One statement: only the given columns change, so two updates of different fields never undo each other.
    const assignments = [...columns, 'updated_at'].map((column) => `${column} = excluded.${column}`).join(', ');
    const [row] = await this.#driver.all<SettingsRow>(
      `INSERT INTO guild_settings (guild_id, ${[...columns, 'updated_at'].join(', ')}) VALUES (${['?', ...columns.map(() => '?'), '?'].join(', ')})
       ON CONFLICT (guild_id) DO UPDATE SET ${assignments}
       RETURNING ${SETTINGS_FIELDS}`,
      [guildId, ...values, Date.now()],
    );
    return row ? fromRow(row) : defaultSettings();
  }

  async addUsage(guildId: string, model: string, usage: TokenUsage, costUsd: number, options: { responses?: number; at?: Date } = {}): Promise<void> {
    await this.open();
    const values = [...usageValues(usage), Math.max(0, Math.round(finiteOrZero(options.responses ?? 1))), finiteOrZero(costUsd)];
    // Both tables or neither: the all-time totals and the day (budgets, /usage) never disagree.
    await this.#driver.batch([
      {
        sql: `INSERT INTO guild_usage AS u (guild_id, model, ${USAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
              ON CONFLICT (guild_id, model) DO UPDATE SET ${USAGE_ADD}`,
        params: [guildId, model, ...values],
      },
      {
        sql: `INSERT INTO usage_daily AS u (guild_id, day, model, ${USAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
              ON CONFLICT (guild_id, day, model) DO UPDATE SET ${USAGE_ADD}`,
        params: [guildId, dayKey(options.at ?? new Date()), model, ...values],
      },
    ]);
  }

  async getUsage(guildId: string): Promise<UsageTotals> {
    await this.open();
    const [row] = await this.#driver.all<UsageTotals>(`SELECT ${USAGE_SUMS} FROM guild_usage WHERE guild_id = ?`, [guildId]);
    return numbers(row!);
  }

  async usageByDay(guildId: string, from: DayKey, to: DayKey): Promise<DailyUsage[]> {
    await this.open();
    const rows = await this.#driver.all<DailyUsage>(
      `SELECT day, ${USAGE_SUMS} FROM usage_daily WHERE guild_id = ? AND day >= ? AND day <= ? GROUP BY day ORDER BY day`,
      [guildId, from, to],
    );
    return rows.map(({ day, ...totals }) => ({ day, ...numbers(totals) }));
  }

  async spend(guildId: string | null, from: DayKey, to: DayKey): Promise<number> {
    await this.open();
    const [row] =
      guildId === null
        ? await this.#driver.all<{ cost: number }>('SELECT COALESCE(SUM(cost_usd),0) AS cost FROM usage_daily WHERE day >= ? AND day <= ?', [from, to])
        : await this.#driver.all<{ cost: number }>('SELECT COALESCE(SUM(cost_usd),0) AS cost FROM usage_daily WHERE guild_id = ? AND day >= ? AND day <= ?', [guildId, from, to]);
    return Number(row?.cost ?? 0);
  }

  async claimNotice(notice: NoticeKey): Promise<boolean> {
    await this.open();
    const inserted = await this.#driver.run(
      'INSERT INTO budget_notices (guild_id, period, level, limit_usd, sent_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      [notice.guildId, notice.period, notice.level, notice.limitUsd, Date.now()],
    );
    return inserted === 1;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#opened?.catch(() => undefined);
    await this.#driver.close();
  }
}

/** A spend limit as stored: a finite amount of at least zero, rounded to the cent; null = no limit. */
function limitValue(limit: number | null): number | null {
  if (limit === null) return null;
  if (!Number.isFinite(limit) || limit < 0) throw new RangeError(`a spend limit must be a positive amount of USD (got ${limit})`);
  return Math.round(limit * 100) / 100;
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
  return {
    instructions: row.instructions,
    voice: row.voice,
    turnDetection: parseTurnDetection(row.turn_detection),
    model: row.model,
    dailyLimitUsd: row.daily_limit_usd === null ? null : Number(row.daily_limit_usd),
    monthlyLimitUsd: row.monthly_limit_usd === null ? null : Number(row.monthly_limit_usd),
  };
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
