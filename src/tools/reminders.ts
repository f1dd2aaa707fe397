/**
 * Reminders: stored in the database (they survive a restart and a crash), delivered at their time as
 * a mention of the member in the channel where they were set. Every process looks for due reminders
 * of its own guilds; a reminder is claimed before it is sent, so two processes never both send it,
 * and a claim that was never completed (a crash mid-send) expires and is tried again. While a send is
 * pending (discord.js may hold it in its rate-limit queue for longer than the claim lasts) the claim is
 * renewed, so no other process sends it a second time. One that was due
 * while the bot was offline is sent as soon as it is back, marked late.
 */
import type { Logger } from 'pino';
import type { Reminder, ToolStore } from '../store/index.ts';

/** Options of {@link ReminderService}. */
export interface ReminderServiceOptions {
  store: ToolStore;
  logger: Logger;
  /** Sends a reminder; rejects when it could not be delivered. `lateMs` > 0 when it is sent after its time. */
  deliver: (reminder: Reminder, lateMs: number) => Promise<void>;
  /** Whether this process delivers that guild's reminders (its shard serves the guild). */
  owns: (guildId: string) => boolean;
  /** How often the database is checked for reminders coming due (default 30 s). */
  pollMs?: number;
}

/** Most undelivered reminders one member may have in one server. */
export const MAX_PENDING_PER_MEMBER = 25;
/** Furthest ahead a reminder may be set. */
export const MAX_AHEAD_MS = 366 * 24 * 3_600_000;
/** How long a claim lasts: a process that crashed mid-send lets another try after this. */
export const LEASE_MS = 60_000;
/** How often a claim is renewed while its delivery is pending (well before it runs out). */
export const LEASE_RENEW_MS = LEASE_MS / 3;
/** Delivery attempts before a reminder is given up (a deleted channel, lost permissions…). */
const MAX_ATTEMPTS = 5;
/** Later than this after its time, a reminder is marked late in its message. */
const LATE_AFTER_MS = 60_000;

/** Schedules and delivers reminders. */
export class ReminderService {
  readonly #options: ReminderServiceOptions;
  readonly #log: Logger;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #poller: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(options: ReminderServiceOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'reminders' });
  }

  get #pollMs(): number {
    return this.#options.pollMs ?? 30_000;
  }

  /** Starts looking for due reminders (now, then every poll interval). */
  start(): void {
    if (this.#poller || this.#stopped) return;
    this.#poller = setInterval(() => void this.poll(), this.#pollMs);
    this.#poller.unref();
    void this.poll();
  }

  /** Stops every timer (shutdown). Reminders stay in the database. */
  stop(): void {
    this.#stopped = true;
    if (this.#poller) clearInterval(this.#poller);
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  /** Schedules the reminders of this process's guilds that come due before the next poll. */
  async poll(): Promise<void> {
    if (this.#stopped) return;
    const now = Date.now();
    try {
      const due = await this.#options.store.dueReminders(now + this.#pollMs, now, 200);
      for (const reminder of due) if (this.#options.owns(reminder.guildId)) this.#schedule(reminder);
    } catch (error) {
      this.#log.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not read due reminders');
    }
  }

  /**
   * Sets a reminder. Resolves with it, or with a sentence saying why not (too many, too far ahead).
   */
  async add(reminder: Omit<Reminder, 'id' | 'createdAt' | 'attempts'>): Promise<Reminder | string> {
    if (reminder.dueAt > Date.now() + MAX_AHEAD_MS) return 'Reminders can be set at most a year ahead.';
    const pending = await this.#options.store.pendingReminders(reminder.guildId, reminder.userId);
    if (pending.length >= MAX_PENDING_PER_MEMBER) return `You already have ${pending.length} reminders here; cancel one first.`;
    const stored = await this.#options.store.addReminder(reminder);
    if (stored.dueAt <= Date.now() + this.#pollMs && this.#options.owns(stored.guildId)) this.#schedule(stored);
    this.#log.info({ guildId: stored.guildId, id: stored.id, inMs: stored.dueAt - Date.now() }, 'reminder set');
    return stored;
  }

  /** A member's undelivered reminders here. */
  pending(guildId: string, userId: string): Promise<Reminder[]> {
    return this.#options.store.pendingReminders(guildId, userId);
  }

  /** Cancels a member's reminder. */
  async cancel(guildId: string, userId: string, id: string): Promise<boolean> {
    const cancelled = await this.#options.store.cancelReminder(guildId, userId, id);
    if (cancelled) {
      clearTimeout(this.#timers.get(id));
      this.#timers.delete(id);
    }
    return cancelled;
  }

  #schedule(reminder: Reminder): void {
    if (this.#stopped || this.#timers.has(reminder.id)) return;
    const timer = setTimeout(() => {
      this.#timers.delete(reminder.id);
      void this.#deliver(reminder);
    }, Math.max(0, reminder.dueAt - Date.now()));
    timer.unref();
    this.#timers.set(reminder.id, timer);
  }

  async #deliver(reminder: Reminder): Promise<void> {
    const { store } = this.#options;
    const now = Date.now();
    try {
      if (!(await store.claimReminder(reminder.id, now, now + LEASE_MS))) return; // delivered or being delivered elsewhere
    } catch (error) {
      this.#log.warn({ id: reminder.id, err: error instanceof Error ? error.message : String(error) }, 'could not claim a reminder');
      return;
    }
    const attempt = reminder.attempts + 1;
    const lease = this.#keepClaim(reminder, now + LEASE_MS);
    try {
      const lateMs = now - reminder.dueAt;
      try {
        await this.#options.deliver(reminder, lateMs > LATE_AFTER_MS ? lateMs : 0);
      } finally {
        await lease.stop();
      }
      await store.completeReminder(reminder.id, Date.now());
      this.#log.info({ guildId: reminder.guildId, id: reminder.id, lateMs: Math.max(0, lateMs) }, 'reminder delivered');
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (attempt >= MAX_ATTEMPTS) {
        await store.completeReminder(reminder.id, Date.now()).catch(() => undefined);
        this.#log.warn({ guildId: reminder.guildId, id: reminder.id, attempts: attempt, err: reason }, 'reminder given up: it could not be delivered');
      } else {
        const retryAt = Date.now() + 30_000 * 2 ** (attempt - 1);
        await store.releaseReminder(reminder.id, retryAt).catch(() => undefined);
        this.#log.warn({ guildId: reminder.guildId, id: reminder.id, attempts: attempt, err: reason }, 'reminder delivery failed; will retry');
      }
    }
  }

  /**
   * Renews a claim (held until `heldUntil`) every {@link LEASE_RENEW_MS} until stopped. A renewal only
   * succeeds for the holder; once it fails (the claim was lost, e.g. the event loop stalled past it)
   * renewing stops. One renewal at a time, so each one names the claim the previous one set.
   */
  #keepClaim(reminder: Reminder, heldUntil: number): { stop(): Promise<void> } {
    const { store } = this.#options;
    let held = heldUntil;
    let pending: Promise<void> | null = null;
    const renewer = setInterval(() => {
      if (pending) return;
      const until = Date.now() + LEASE_MS;
      pending = store
        .renewReminder(reminder.id, held, until)
        .then((renewed) => {
          if (renewed) held = until;
          else {
            clearInterval(renewer);
            this.#log.warn({ guildId: reminder.guildId, id: reminder.id }, 'reminder claim lost while its delivery was pending');
          }
        })
        .catch((error: unknown) => this.#log.warn({ id: reminder.id, err: error instanceof Error ? error.message : String(error) }, 'could not renew a reminder claim'))
        .finally(() => {
          pending = null;
        });
    }, LEASE_RENEW_MS);
    renewer.unref();
    return {
      stop: async () => {
        clearInterval(renewer);
        await pending;
      },
    };
  }
}
