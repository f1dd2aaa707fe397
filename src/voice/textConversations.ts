/**
 * Text-only conversations: one per text channel (a thread counts as its own channel), so that what is
 * said in one channel is never answerable in another with a different audience. Each is started once
 * however many mentions ask for it at the same moment, closed after `idleMs` without use (sooner when
 * the process is near its cap of model sessions), and the least recently used idle one is closed
 * first when a new conversation needs its place.
 */
import type { GuildConversation } from './guildConversation.ts';

interface Entry {
  guildId: string;
  channelId: string;
  conversation: GuildConversation | null;
  starting: Promise<GuildConversation> | null;
}

const keyOf = (guildId: string, channelId: string) => `${guildId}:${channelId}`;

/** Whether a conversation is doing nothing right now (no answer streaming or waiting). */
export function isIdle(conversation: GuildConversation): boolean {
  return conversation.realtime.activeResponseId === null && conversation.realtime.queuedResponses === 0 && conversation.pendingQuestions === 0;
}

/** The text-only conversations of one bot process. */
export class TextConversations {
  readonly #entries = new Map<string, Entry>();
  /** Conversations dropped from the map whose model sockets are still closing. */
  #closing = 0;

  /** Conversations open or starting. */
  get size(): number {
    return this.#entries.size;
  }

  /** Conversations already forgotten whose close (the model socket's closing handshake) is under way. */
  get closing(): number {
    return this.#closing;
  }

  /** The channel's conversation, if one is open. */
  get(guildId: string, channelId: string): GuildConversation | undefined {
    return this.#entries.get(keyOf(guildId, channelId))?.conversation ?? undefined;
  }

  /** The open conversations of a guild. */
  ofGuild(guildId: string): GuildConversation[] {
    return [...this.#entries.values()].filter((entry) => entry.guildId === guildId && entry.conversation).map((entry) => entry.conversation!);
  }

  /**
   * The channel's usable conversation, started with `start` if there is none (once, however many
   * callers ask at the same moment). A conversation that failed or closed is replaced.
   */
  async acquire(guildId: string, channelId: string, start: () => Promise<GuildConversation>): Promise<GuildConversation> {
    const key = keyOf(guildId, channelId);
    let entry = this.#entries.get(key);
    if (entry?.conversation?.usable) return entry.conversation;
    if (entry?.starting) return entry.starting;
    if (!entry) this.#entries.set(key, (entry = { guildId, channelId, conversation: null, starting: null }));
    const current = entry;
    const stale = current.conversation;
    current.conversation = null;
    if (stale) void stale.close();
    current.starting = start().then(
      (conversation) => {
        current.starting = null;
        if (this.#entries.get(key) !== current) {
          void conversation.close(); // dropped while starting (shutdown)
          return conversation;
        }
        current.conversation = conversation;
        conversation.once('failed', () => {
          if (current.conversation === conversation) this.#drop(key, current);
        });
        return conversation;
      },
      (error: unknown) => {
        current.starting = null;
        if (this.#entries.get(key) === current && !current.conversation) this.#entries.delete(key);
        throw error;
      },
    );
    return current.starting;
  }

  /** Takes the channel's open conversation out (e.g. to carry on as the voice conversation). */
  take(guildId: string, channelId: string): GuildConversation | undefined {
    const key = keyOf(guildId, channelId);
    const entry = this.#entries.get(key);
    if (!entry?.conversation || entry.starting) return undefined;
    this.#entries.delete(key);
    return entry.conversation;
  }

  /** Takes out the most recently used open conversation of a guild whose channel passes `accept`. */
  takeMostRecent(guildId: string, accept: (channelId: string) => boolean): GuildConversation | undefined {
    const candidates = [...this.#entries.values()]
      .filter((entry) => entry.guildId === guildId && entry.conversation?.usable && !entry.starting && accept(entry.channelId))
      .sort((a, b) => b.conversation!.lastActivityAt - a.conversation!.lastActivityAt);
    const chosen = candidates[0];
    return chosen ? this.take(guildId, chosen.channelId) : undefined;
  }

  /** Puts an open conversation in place as the channel's (closing one already there). */
  put(guildId: string, channelId: string, conversation: GuildConversation): void {
    const key = keyOf(guildId, channelId);
    const existing = this.#entries.get(key);
    if (existing?.conversation && existing.conversation !== conversation) void existing.conversation.close();
    const entry: Entry = { guildId, channelId, conversation, starting: null };
    this.#entries.set(key, entry);
    conversation.once('failed', () => {
      if (entry.conversation === conversation) this.#drop(key, entry);
    });
  }

  /** Closes the conversations idle for at least `idleMs`; returns how many. */
  async closeIdle(idleMs: number, now = Date.now()): Promise<number> {
    const idle = [...this.#entries].filter(([, entry]) => entry.conversation && isIdle(entry.conversation) && now - entry.conversation.lastActivityAt >= idleMs);
    for (const [key, entry] of idle) this.#drop(key, entry);
    await Promise.allSettled(idle.map(([, entry]) => this.#close(entry.conversation)));
    return idle.length;
  }

  /** Closes the least recently used idle conversation to make room; false when none is idle. */
  evictOne(): boolean {
    let oldest: [string, Entry] | undefined;
    for (const item of this.#entries) {
      const conversation = item[1].conversation;
      if (!conversation || !isIdle(conversation)) continue;
      if (!oldest || conversation.lastActivityAt < oldest[1].conversation!.lastActivityAt) oldest = item;
    }
    if (!oldest) return false;
    const conversation = oldest[1].conversation!;
    this.#drop(oldest[0], oldest[1]);
    void this.#close(conversation);
    return true;
  }

  /** Closes every conversation (shutdown). */
  async closeAll(): Promise<void> {
    const conversations = [...this.#entries.values()].map((entry) => entry.conversation).filter((c): c is GuildConversation => c !== null);
    this.#entries.clear();
    await Promise.allSettled(conversations.map((conversation) => this.#close(conversation)));
  }

  /** Closes a conversation already dropped from the map, counting it in {@link closing} until its socket is gone. */
  async #close(conversation: GuildConversation | null): Promise<void> {
    if (!conversation) return;
    this.#closing++;
    try {
      await conversation.close();
    } finally {
      this.#closing--;
    }
  }

  #drop(key: string, entry: Entry): void {
    if (this.#entries.get(key) === entry) this.#entries.delete(key);
  }
}
