import type { TokenUsage, UsageTotals } from '../realtime/usage.ts';
import type { RoomStore } from './roomStore.ts';
import type { ToolStore } from './toolStore.ts';

/** Turn-detection settings a guild may choose (the realtime client's shape, kept as plain data). */
export type StoredTurnDetection =
  | { type: 'server_vad'; threshold?: number; prefixPaddingMs?: number; silenceDurationMs?: number }
  | { type: 'semantic_vad'; eagerness?: 'low' | 'medium' | 'high' | 'auto' }
  | { type: 'manual' };

/** A guild's saved settings; `null` means "use the bot's default" (for a limit: no limit). */
export interface GuildSettings {
  instructions: string | null;
  voice: string | null;
  turnDetection: StoredTurnDetection | null;
  /** Realtime model chosen by the guild's admins (from the provider's presets). */
  model: string | null;
  /** Spend limit per UTC day, USD. */
  dailyLimitUsd: number | null;
  /** Spend limit per UTC calendar month, USD. */
  monthlyLimitUsd: number | null;
}

/** Settings with every field at its default. */
export function defaultSettings(): GuildSettings {
  return { instructions: null, voice: null, turnDetection: null, model: null, dailyLimitUsd: null, monthlyLimitUsd: null };
}

/** A UTC calendar day, `YYYY-MM-DD` (sorts and compares as text). */
export type DayKey = string;

/** A guild's usage on one UTC day, over all models. */
export interface DailyUsage extends UsageTotals {
  day: DayKey;
}

/** A budget notice ("80% of today's limit", "limit reached") that must be given once. */
export interface NoticeKey {
  /** The guild told, or `*` for the deployment-wide limit. */
  guildId: string;
  /** The period, e.g. `day:2026-05-01` or `month:2026-05`. */
  period: string;
  /** Percent of the limit reached: 80 or 100. */
  level: number;
  /** The limit it refers to: raising the limit makes a new notice possible. */
  limitUsd: number;
}

/**
 * Per-guild settings and usage, shared by every process of a deployment when the backend is
 * PostgreSQL. Every method is safe to call concurrently, from one or several processes (no
 * read-modify-write across a call).
 */
export interface BotStore {
  /** `sqlite` (one file, one machine) or `postgres` (shared by every shard). */
  readonly backend: 'sqlite' | 'postgres';
  /** Runs the migrations (once; every other method waits for it). Rejects when the database is unusable. */
  open(): Promise<void>;
  /** The guild's settings, defaults (all null) when it never saved any. */
  getSettings(guildId: string): Promise<GuildSettings>;
  /**
   * Saves the given fields of the guild's settings, leaving the others as they are (also when another
   * process changes another field at the same moment); resolves with the settings as saved.
   */
  updateSettings(guildId: string, patch: Partial<GuildSettings>): Promise<GuildSettings>;
  /**
   * Adds usage billed under `model` and its cost (computed once, by the caller) to the guild's totals
   * for that model and to its day (UTC day of `at`, default now), in one transaction: one response's
   * (`responses` 1, the default) or an input transcription's (`responses` 0).
   */
  addUsage(guildId: string, model: string, usage: TokenUsage, costUsd: number, options?: { responses?: number; at?: Date }): Promise<void>;
  /** The guild's usage summed over all models, all time. */
  getUsage(guildId: string): Promise<UsageTotals>;
  /** The guild's usage per day from `from` to `to` (inclusive), days without usage left out, oldest first. */
  usageByDay(guildId: string, from: DayKey, to: DayKey): Promise<DailyUsage[]>;
  /** Cost in USD from `from` to `to` (inclusive) of one guild, or of every guild of the deployment (`null`). */
  spend(guildId: string | null, from: DayKey, to: DayKey): Promise<number>;
  /** Records that a notice is being given; true only for the first caller, in any process. */
  claimNotice(notice: NoticeKey): Promise<boolean>;
  /** Room settings (addressing, notice, captions, roles…) and /privacy opt-outs per guild. */
  readonly rooms: RoomStore;
  /** Tools switched off per guild, and reminders. */
  readonly tools: ToolStore;
  /** Flushes and closes the database. Safe to call twice. */
  close(): Promise<void>;
}
