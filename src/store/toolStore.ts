/**
 * What the tools keep in the database: which tools each server switched off, and the reminders
 * members set (delivered once, by whichever process claims them first, and kept across restarts).
 */
import { randomUUID } from 'node:crypto';
import type { SqlDriver } from './driver.ts';

/** A reminder set with the set_reminder tool. */
export interface Reminder {
  id: string;
  guildId: string;
  /** Where it is delivered (a mention of the member). */
  channelId: string;
  userId: string;
  text: string;
  /** When it is due, ms since the epoch. */
  dueAt: number;
  createdAt: number;
  /** Delivery attempts so far. */
  attempts: number;
}

/** The tools' part of the store. Every method is safe to call concurrently, from several processes. */
export interface ToolStore {
  /** Tools (and `mcp:LABEL` servers) the guild switched off. */
  disabledTools(guildId: string): Promise<string[]>;
  /** Switches a tool on or off for the guild. */
  setToolEnabled(guildId: string, tool: string, enabled: boolean): Promise<void>;
  /** Stores a new reminder. */
  addReminder(reminder: Omit<Reminder, 'id' | 'createdAt' | 'attempts'>): Promise<Reminder>;
  /** Undelivered reminders due by `until` and not claimed (or whose claim expired) at `now`, soonest first. */
  dueReminders(until: number, now: number, limit: number): Promise<Reminder[]>;
  /** Claims a reminder for delivery until `leaseUntil`: true for one caller only, in any process. */
  claimReminder(id: string, now: number, leaseUntil: number): Promise<boolean>;
  /**
   * Extends a claim while its delivery is still pending: true only for the holder (`heldUntil` is the
   * claim it holds; the reminder is undelivered and nobody claimed it since).
   */
  renewReminder(id: string, heldUntil: number, leaseUntil: number): Promise<boolean>;
  /** Marks a claimed reminder delivered (or given up). */
  completeReminder(id: string, at: number): Promise<void>;
  /** A failed delivery: tried again from `retryAt`. */
  releaseReminder(id: string, retryAt: number): Promise<void>;
  /** A member's undelivered reminders in a guild, soonest first. */
  pendingReminders(guildId: string, userId: string): Promise<Reminder[]>;
  /** Deletes a member's undelivered reminder; false when there is none with that id. */
  cancelReminder(guildId: string, userId: string, id: string): Promise<boolean>;
}

interface ReminderRow {
  id: string;
  guild_id: string;
  channel_id: string;
  user_id: string;
  text: string;
  due_at: number | string;
  created_at: number | string;
  attempts: number | string;
}

const REMINDER_COLUMNS = 'id, guild_id, channel_id, user_id, text, due_at, created_at, attempts';

/** The queries of {@link ToolStore}, for both backends. `ready` resolves once the migrations ran. */
export class SqlToolStore implements ToolStore {
  readonly #driver: SqlDriver;
  readonly #ready: () => Promise<void>;

  constructor(driver: SqlDriver, ready: () => Promise<void>) {
    this.#driver = driver;
    this.#ready = ready;
  }

  async disabledTools(guildId: string): Promise<string[]> {
    await this.#ready();
    const rows = await this.#driver.all<{ tool: string }>('SELECT tool FROM guild_tools WHERE guild_id = ? AND enabled = 0 ORDER BY tool', [guildId]);
    return rows.map((row) => row.tool);
  }

  async setToolEnabled(guildId: string, tool: string, enabled: boolean): Promise<void> {
    await this.#ready();
    await this.#driver.run(
      `INSERT INTO guild_tools (guild_id, tool, enabled, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (guild_id, tool) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at`,
      [guildId, tool, enabled ? 1 : 0, Date.now()],
    );
  }

  async addReminder(reminder: Omit<Reminder, 'id' | 'createdAt' | 'attempts'>): Promise<Reminder> {
    await this.#ready();
    const full: Reminder = { ...reminder, text: reminder.text.replaceAll('\u0000', ''), id: randomUUID(), createdAt: Date.now(), attempts: 0 };
    await this.#driver.run(`INSERT INTO reminders (${REMINDER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, [
      full.id,
      full.guildId,
      full.channelId,
      full.userId,
      full.text,
      full.dueAt,
      full.createdAt,
      0,
    ]);
    return full;
  }

  async dueReminders(until: number, now: number, limit: number): Promise<Reminder[]> {
    await this.#ready();
    const rows = await this.#driver.all<ReminderRow>(
      `SELECT ${REMINDER_COLUMNS} FROM reminders WHERE delivered_at IS NULL AND due_at <= ? AND claimed_until <= ? ORDER BY due_at LIMIT ?`,
      [until, now, limit],
    );
    return rows.map(fromRow);
  }

  async claimReminder(id: string, now: number, leaseUntil: number): Promise<boolean> {
    await this.#ready();
    const changed = await this.#driver.run('UPDATE reminders SET claimed_until = ?, attempts = attempts + 1 WHERE id = ? AND delivered_at IS NULL AND claimed_until <= ?', [leaseUntil, id, now]);
    return changed === 1;
  }

  async renewReminder(id: string, heldUntil: number, leaseUntil: number): Promise<boolean> {
    await this.#ready();
    const changed = await this.#driver.run('UPDATE reminders SET claimed_until = ? WHERE id = ? AND delivered_at IS NULL AND claimed_until = ?', [leaseUntil, id, heldUntil]);
    return changed === 1;
  }

  async completeReminder(id: string, at: number): Promise<void> {
    await this.#ready();
    await this.#driver.run('UPDATE reminders SET delivered_at = ? WHERE id = ?', [at, id]);
  }

  async releaseReminder(id: string, retryAt: number): Promise<void> {
    await this.#ready();
    await this.#driver.run('UPDATE reminders SET claimed_until = ? WHERE id = ? AND delivered_at IS NULL', [retryAt, id]);
  }

  async pendingReminders(guildId: string, userId: string): Promise<Reminder[]> {
    await this.#ready();
    const rows = await this.#driver.all<ReminderRow>(`SELECT ${REMINDER_COLUMNS} FROM reminders WHERE guild_id = ? AND user_id = ? AND delivered_at IS NULL ORDER BY due_at`, [guildId, userId]);
    return rows.map(fromRow);
  }

  async cancelReminder(guildId: string, userId: string, id: string): Promise<boolean> {
    await this.#ready();
    return (await this.#driver.run('DELETE FROM reminders WHERE id = ? AND guild_id = ? AND user_id = ? AND delivered_at IS NULL', [id, guildId, userId])) === 1;
  }
}

function fromRow(row: ReminderRow): Reminder {
  return {
    id: row.id,
    guildId: row.guild_id,
    channelId: row.channel_id,
    userId: row.user_id,
    text: row.text,
    dueAt: Number(row.due_at),
    createdAt: Number(row.created_at),
    attempts: Number(row.attempts),
  };
}
