import type { TokenUsage, UsageTotals } from '../realtime/usage.ts';

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

/** Settings with every field at its default. */
export function defaultSettings(): GuildSettings {
  return { instructions: null, voice: null, turnDetection: null };
}

/**
 * Per-guild settings and usage, shared by every process of a deployment when the backend is
 * PostgreSQL. Every method is safe to call concurrently (no read-modify-write across a call).
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
   * Adds usage billed under `model` and its cost (computed once, by the caller) to the guild's totals:
   * one response's (`responses` 1, the default) or an input transcription's (`responses` 0).
   */
  addUsage(guildId: string, model: string, usage: TokenUsage, costUsd: number, responses?: number): Promise<void>;
  /** The guild's usage summed over all models. */
  getUsage(guildId: string): Promise<UsageTotals>;
  /** Flushes and closes the database. Safe to call twice. */
  close(): Promise<void>;
}
