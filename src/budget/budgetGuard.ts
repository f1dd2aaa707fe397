import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { dayKey, endOfDay, endOfMonth, monthDays, monthKey, type BotStore } from '../store/index.ts';

/** Which limit: the server's per day or per month, or the deployment's per day (all servers, all shards). */
export type BudgetScope = 'daily' | 'monthly' | 'global-daily';

/** Spend against one limit in the current period. */
export interface BudgetLine {
  scope: BudgetScope;
  spentUsd: number;
  /** null = no limit. */
  limitUsd: number | null;
  /** When the period ends (midnight UTC; the 1st of the month for `monthly`). */
  resetsAt: Date;
}

/** A guild's budget as last read from the database. */
export interface BudgetState {
  guildId: string;
  /** When it was read. */
  readAt: Date;
  /** The UTC day it was read in: the state says nothing about a later day. */
  day: string;
  daily: BudgetLine;
  monthly: BudgetLine;
  global: BudgetLine;
  /** The limit that stops responses (the first reached, by scope order), or null. */
  exhausted: BudgetLine | null;
}

/** Something to tell a guild once: 80% of a limit, or the limit reached. */
export interface BudgetNotice {
  guildId: string;
  level: 80 | 100;
  line: BudgetLine;
}

/** Events of {@link BudgetGuard}. */
export interface BudgetGuardEvents {
  /** A notice to give, already claimed in the database: no other process gives it. */
  notice: [BudgetNotice];
}

/** Options of {@link BudgetGuard}. */
export interface BudgetGuardOptions {
  store: BotStore;
  /** Spend limit per UTC day for the whole deployment, USD (null = none). */
  globalDailyLimitUsd: number | null;
  logger: Logger;
  /** Clock (tests move it across midnight). */
  now?: () => Date;
  /** How often the guilds in use are re-read, to see spend made by other shards (default 30 s). 0 = never. */
  refreshMs?: number;
}

/** Fraction of a limit at which the warning is given. */
export const WARN_AT = 0.8;
/** A guild not asked about for this long is forgotten (and no longer refreshed). */
const FORGET_AFTER_MS = 60 * 60_000;

/**
 * Spend limits: each server's daily and monthly limit (set by its admins, kept in the store) and the
 * deployment's daily limit (configuration). With PostgreSQL the spend read here is every shard's.
 *
 * `allows()` answers synchronously, from the state last read, whether a response may start: it is
 * called where responses start, which cannot wait for a database. The state is re-read after every
 * response's usage is saved (`afterSpend`), when /join or a mention asks (`refusal`), when an admin
 * changes a limit, and every `refreshMs` for the guilds in use (spend of other shards). A response
 * already running when the limit is crossed finishes; the next one does not start.
 */
export class BudgetGuard extends EventEmitter<BudgetGuardEvents> {
  readonly #options: BudgetGuardOptions;
  readonly #now: () => Date;
  readonly #states = new Map<string, { state: BudgetState; usedAt: number }>();
  /** Notices this process already claimed (saves a database round trip per response past 80%). */
  readonly #claimed = new Set<string>();
  /** The deployment-wide line as last read for any guild: it stops every guild of this process at once. */
  #global: BudgetLine | null = null;
  /** Background reads in flight, one per guild. */
  readonly #reading = new Map<string, Promise<void>>();
  readonly #timer: NodeJS.Timeout | null;

  constructor(options: BudgetGuardOptions) {
    super();
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
    const refreshMs = options.refreshMs ?? 30_000;
    this.#timer = refreshMs > 0 ? setInterval(() => void this.#refreshInUse(), refreshMs) : null;
    this.#timer?.unref();
  }

  /** The deployment-wide daily limit (configuration). */
  get globalDailyLimitUsd(): number | null {
    return this.#options.globalDailyLimitUsd;
  }

  /**
   * Whether a response may start for the guild now, from the last state read. A state of an earlier
   * day (or past its reset) allows, and is re-read in the background; an unknown guild allows.
   */
  allows(guildId: string): boolean {
    const global = this.#global;
    if (global && global.limitUsd !== null && global.spentUsd >= global.limitUsd && this.#now() < global.resetsAt) return false;
    const entry = this.#states.get(guildId);
    if (!entry) {
      void this.#refreshQuietly(guildId);
      return true;
    }
    entry.usedAt = Date.now();
    const exhausted = entry.state.exhausted;
    if (!exhausted) return true;
    if (this.#now() >= exhausted.resetsAt) {
      void this.#refreshQuietly(guildId);
      return true;
    }
    return false;
  }

  /** The guild's state as last read (null if never), for /status. */
  cached(guildId: string): BudgetState | null {
    return this.#states.get(guildId)?.state ?? null;
  }

  /** Reads the guild's limits and spend (this day, this month, the deployment's day) and keeps them. */
  async refresh(guildId: string): Promise<BudgetState> {
    return this.#read(guildId, true);
  }

  async #read(guildId: string, inUse: boolean): Promise<BudgetState> {
    const { store } = this.#options;
    const now = this.#now();
    const today = dayKey(now);
    const month = monthDays(now);
    const [settings, spentToday, spentMonth, spentAll] = await Promise.all([
      store.getSettings(guildId),
      store.spend(guildId, today, today),
      store.spend(guildId, month.from, month.to),
      this.#options.globalDailyLimitUsd === null ? Promise.resolve(0) : store.spend(null, today, today),
    ]);
    const daily: BudgetLine = { scope: 'daily', spentUsd: spentToday, limitUsd: settings.dailyLimitUsd, resetsAt: endOfDay(now) };
    const monthly: BudgetLine = { scope: 'monthly', spentUsd: spentMonth, limitUsd: settings.monthlyLimitUsd, resetsAt: endOfMonth(now) };
    const global: BudgetLine = { scope: 'global-daily', spentUsd: spentAll, limitUsd: this.#options.globalDailyLimitUsd, resetsAt: endOfDay(now) };
    if (!this.#global || this.#global.resetsAt <= global.resetsAt) this.#global = global;
    const exhausted = [global, monthly, daily].find((line) => line.limitUsd !== null && line.spentUsd >= line.limitUsd) ?? null;
    const state: BudgetState = { guildId, readAt: now, day: today, daily, monthly, global, exhausted };
    const usedAt = inUse ? Date.now() : (this.#states.get(guildId)?.usedAt ?? Date.now());
    this.#states.set(guildId, { state, usedAt });
    return state;
  }

  /**
   * After a response's usage was saved: re-reads the state and gives each notice now due (80% of a
   * limit, or the limit reached) once — once across every process, restart and shard, per period and
   * limit value (an admin raising the limit makes new notices possible).
   */
  async afterSpend(guildId: string): Promise<BudgetState> {
    const state = await this.refresh(guildId);
    await this.#notify(state);
    return state;
  }

  /** Null if the guild may use the model now, else the limit that stops it (state re-read first). */
  async refusal(guildId: string): Promise<BudgetLine | null> {
    const state = await this.refresh(guildId);
    await this.#notify(state);
    return state.exhausted;
  }

  /** Stops the periodic refresh. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  async #notify(state: BudgetState): Promise<void> {
    for (const line of [state.daily, state.monthly, state.global]) {
      if (line.limitUsd === null) continue;
      const level = line.spentUsd >= line.limitUsd ? 100 : line.spentUsd >= line.limitUsd * WARN_AT ? 80 : null;
      if (level === null) continue;
      const period = line.scope === 'monthly' ? `month:${monthKey(state.readAt)}` : `${line.scope === 'global-daily' ? 'global-day' : 'day'}:${state.day}`;
      const key = JSON.stringify([state.guildId, period, level, line.limitUsd]);
      if (this.#claimed.has(key)) continue;
      const first = await this.#options.store.claimNotice({ guildId: state.guildId, period, level, limitUsd: line.limitUsd });
      if (this.#claimed.size > 10_000) this.#claimed.clear(); // bounded; a forgotten claim only costs a round trip
      this.#claimed.add(key);
      if (first) this.emit('notice', { guildId: state.guildId, level, line });
    }
  }

  /** Re-reads in the background (one read per guild at a time); a failing database keeps the last state. */
  #refreshQuietly(guildId: string, inUse = true): Promise<void> {
    let reading = this.#reading.get(guildId);
    if (!reading) {
      reading = (async () => {
        try {
          await this.#notify(await this.#read(guildId, inUse));
        } catch (error) {
          this.#options.logger.warn({ guildId, err: error instanceof Error ? error.message : String(error) }, 'could not read the budget');
        } finally {
          this.#reading.delete(guildId);
        }
      })();
      this.#reading.set(guildId, reading);
    }
    return reading;
  }

  async #refreshInUse(): Promise<void> {
    const now = Date.now();
    for (const [guildId, entry] of this.#states) {
      if (now - entry.usedAt > FORGET_AFTER_MS) this.#states.delete(guildId);
      else await this.#refreshQuietly(guildId, false);
    }
  }
}
