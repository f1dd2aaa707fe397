/**
 * Per-guild state of the session registry, and the per-guild lock its voice operations take. A slot
 * exists while its guild has anything (a voice session, a conversation, one starting, an operation
 * running or waiting) and is forgotten as soon as it has nothing, so the map never outgrows the
 * guilds that are active.
 */
import type { GuildConversation } from './guildConversation.ts';
import type { VoiceSession } from './voiceSession.ts';

/** One guild's voice session and conversation (at most one of each). */
export class GuildSlot {
  readonly guildId: string;
  voice: VoiceSession | null = null;
  conversation: GuildConversation | null = null;
  /** The conversation being started, which every caller in the meantime waits for. */
  starting: Promise<GuildConversation> | null = null;
  /** Posts where /join was last used in this guild. */
  announce: ((content: string) => Promise<unknown>) | null = null;
  /** Tail of the chain of voice operations: each runs after the previous one settled. */
  operations: Promise<unknown> = Promise.resolve();
  pendingOperations = 0;
  #failedLeaveTimer: NodeJS.Timeout | null = null;
  /** When the bot leaves voice because the conversation failed (Date.now() ms), if it is going to. */
  failedLeaveAt: number | null = null;

  constructor(guildId: string) {
    this.guildId = guildId;
  }

  /** Nothing left: the slot can be forgotten. */
  get empty(): boolean {
    return this.voice === null && this.conversation === null && this.starting === null && this.pendingOperations === 0 && this.#failedLeaveTimer === null;
  }

  /** Runs `leave` after `ms` unless cleared first (the conversation failed; /join may still recover it). */
  armFailedLeave(ms: number, leave: () => void): void {
    this.clearFailedLeave();
    this.failedLeaveAt = Date.now() + ms;
    this.#failedLeaveTimer = setTimeout(() => {
      this.#failedLeaveTimer = null;
      this.failedLeaveAt = null;
      leave();
    }, ms);
    this.#failedLeaveTimer.unref();
  }

  clearFailedLeave(): void {
    if (this.#failedLeaveTimer) clearTimeout(this.#failedLeaveTimer);
    this.#failedLeaveTimer = null;
    this.failedLeaveAt = null;
  }
}

/** The slots of every active guild. */
export class GuildSlots {
  readonly #slots = new Map<string, GuildSlot>();

  /** Active guilds. */
  get size(): number {
    return this.#slots.size;
  }

  /** The guild's slot, created if needed (release it when done if it may be empty). */
  get(guildId: string): GuildSlot {
    let slot = this.#slots.get(guildId);
    if (!slot) this.#slots.set(guildId, (slot = new GuildSlot(guildId)));
    return slot;
  }

  /** The guild's slot if it has one. */
  peek(guildId: string): GuildSlot | undefined {
    return this.#slots.get(guildId);
  }

  all(): GuildSlot[] {
    return [...this.#slots.values()];
  }

  /** Forgets the slot if nothing is left in it. */
  release(slot: GuildSlot): void {
    if (slot.empty && this.#slots.get(slot.guildId) === slot) this.#slots.delete(slot.guildId);
  }

  /**
   * Runs `operation` once every earlier operation of the guild has settled: a check and the action
   * it decides on can then never interleave with another /join, /leave or recovery of that guild.
   */
  async exclusive<T>(guildId: string, operation: (slot: GuildSlot) => Promise<T>): Promise<T> {
    const slot = this.get(guildId);
    slot.pendingOperations++;
    const run = slot.operations.then(() => operation(slot));
    slot.operations = run.catch(() => undefined);
    try {
      return await run;
    } finally {
      slot.pendingOperations--;
      this.release(slot);
    }
  }
}
