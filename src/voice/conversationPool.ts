/**
 * The model conversations of one bot process: each guild's voice conversation (in its slot) and the
 * text-only ones (one per text channel). A conversation is started once however many callers want it
 * at the same moment; the process holds at most MAX_MODEL_SESSIONS (the least recently used idle text
 * conversation makes room, idle ones close sooner near the cap); a conversation that fails is handed
 * to the owner of the slot (the session registry decides what voice does about it).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { BudgetGuard } from '../budget/index.ts';
import type { Config } from '../config.ts';
import type { BotStore } from '../store/index.ts';
import type { ToolRuntime } from '../tools/runtime.ts';
import { GuildConversation } from './guildConversation.ts';
import type { GuildSlot, GuildSlots } from './guildSlots.ts';
import { CapacityError, JoinError } from './registryTypes.ts';
import type { RoomPolicies } from './roomPolicy.ts';
import { TextConversations } from './textConversations.ts';
import { modelUnavailableReason } from './userFacingErrors.ts';

/** Near the cap (this fraction of MAX_MODEL_SESSIONS), idle text conversations are closed sooner. */
const PRESSURE_FRACTION = 0.75;
/** How long a text conversation may idle under pressure (at most; TEXT_SESSION_IDLE_SECONDS if shorter). */
const PRESSURE_IDLE_MS = 30_000;

/** Events of a {@link ConversationPool}: each new conversation, as soon as it exists (metrics attach here). */
export interface ConversationPoolEvents {
  conversation: [GuildConversation];
}

/** Options of {@link ConversationPool}. */
export interface ConversationPoolOptions {
  config: Config;
  store: BotStore;
  budget?: BudgetGuard;
  logger: Logger;
  tools?: ToolRuntime;
  rooms: RoomPolicies;
  /** The guilds' slots, shared with the session registry. */
  guilds: GuildSlots;
  /** The voice conversation of `slot` failed for good while it was still the slot's. */
  onFailed: (slot: GuildSlot, conversation: GuildConversation, reason: string) => void;
}

/** The conversations of one process (see the file comment). */
export class ConversationPool extends EventEmitter<ConversationPoolEvents> {
  /** Text-only conversations, one per text channel (see textConversations.ts). */
  readonly text = new TextConversations();
  readonly #options: ConversationPoolOptions;

  constructor(options: ConversationPoolOptions) {
    super();
    this.#options = options;
  }

  /** Model sessions open or starting in this process (voice and text conversations). */
  get modelSessionCount(): number {
    return this.#options.guilds.all().filter((slot) => slot.conversation || slot.starting).length + this.text.size;
  }

  /**
   * The guild's usable conversation, started once however many callers ask at the same moment. A
   * fresh one replaces a failed one, also in the voice session (a mention or /join recovers voice).
   */
  async forGuild(guildId: string, mode: 'voice' | 'text'): Promise<GuildConversation> {
    const guilds = this.#options.guilds;
    const slot = guilds.get(guildId);
    if (slot.conversation?.usable) return slot.conversation;
    // Registered before the first await, so a second caller waits for this start instead of making another.
    slot.starting ??= this.#start(slot, mode).finally(() => {
      slot.starting = null;
      guilds.release(slot);
    });
    try {
      return await slot.starting;
    } catch (error) {
      if (error instanceof JoinError) throw error;
      if (error instanceof CapacityError) throw new JoinError(error.message);
      // People see a generic reason; the details (host, status, the service's message) go to the log.
      this.#options.logger.warn({ guildId, mode, err: error instanceof Error ? error.message : String(error) }, 'could not start the model conversation');
      throw new JoinError(`${modelUnavailableReason(error)}.`);
    }
  }

  /** The text conversation of a channel, started (after making room) if there is none. */
  forTextChannel(guildId: string, channelId: string): Promise<GuildConversation> {
    return this.text.acquire(guildId, channelId, async () => {
      this.makeRoom(true);
      return this.create(guildId, 'text');
    });
  }

  async #start(slot: GuildSlot, mode: 'voice' | 'text'): Promise<GuildConversation> {
    if (!slot.conversation) this.makeRoom(false); // replacing a failed one takes no more room
    const conversation = await this.create(slot.guildId, slot.voice ? 'voice' : mode);
    this.use(slot, conversation);
    return conversation;
  }

  /** A started conversation (a failed start closes it: nothing of it lingers). */
  async create(guildId: string, mode: 'voice' | 'text'): Promise<GuildConversation> {
    const { config, store, budget, logger, rooms, tools } = this.#options;
    const settings = await store.getSettings(guildId);
    const room = await rooms.load(guildId).catch(() => null);
    const noiseReduction = room?.settings.noiseReduction;
    await tools?.load(guildId); // the first session is configured with the server's tool switches
    const conversation = new GuildConversation({
      noiseReduction: noiseReduction === 'near_field' || noiseReduction === 'far_field' ? noiseReduction : null,
      guildId,
      config,
      store,
      settings,
      budget,
      logger: logger.child({ guildId }),
      mode,
      tools,
    });
    this.emit('conversation', conversation);
    await conversation.start();
    return conversation;
  }

  /** Makes `conversation` the guild's voice conversation (in the voice session too, if there is one). */
  use(slot: GuildSlot, conversation: GuildConversation): void {
    const previous = slot.conversation;
    slot.conversation = conversation;
    conversation.on('failed', (reason) => {
      if (slot.conversation === conversation) this.#options.onFailed(slot, conversation, reason);
    });
    if (slot.voice) {
      conversation.setMode('voice');
      slot.voice.useConversation(conversation);
    }
    slot.clearFailedLeave();
    if (previous && previous !== conversation) void previous.close();
  }

  /**
   * Parks the voice conversation as the text conversation of `from` (its chat keeps it) and gives the
   * call the conversation of `to`'s text chat, or a fresh one; returns the parked one (null if none was
   * usable). The old one is parked before anything is awaited, so a session ending meanwhile never
   * hands it to the new channel's chat; when no conversation can be had, it goes back to the call
   * and the error is thrown.
   */
  async switchChannel(slot: GuildSlot, from: string, to: string): Promise<GuildConversation | null> {
    const current = slot.conversation?.usable ? slot.conversation : null;
    let next = this.text.take(slot.guildId, to);
    // Room is made while the call's own conversation is still the call's: it is never the one closed for it.
    if (!next) this.makeRoom(false);
    if (current) {
      slot.conversation = null; // not closed: it stays with the old channel
      this.park(slot.guildId, from, current);
    }
    if (!next) {
      try {
        next = await this.create(slot.guildId, 'voice');
      } catch (error) {
        if (current && slot.conversation === null && this.text.get(slot.guildId, from) === current) {
          this.text.take(slot.guildId, from);
          this.use(slot, current);
        }
        throw error;
      }
    }
    if (!slot.voice) this.park(slot.guildId, to, next); // the session ended meanwhile: the new channel's chat keeps it
    else this.use(slot, next);
    return current;
  }

  /** Undoes {@link switchChannel} after a move that failed (the bot is back in `from`). */
  switchBack(slot: GuildSlot, from: string, to: string, parked: GuildConversation): void {
    const fresh = slot.conversation;
    if (this.text.take(slot.guildId, from) !== parked || !parked.usable) return; // used or gone meanwhile: keep the fresh one
    slot.conversation = null;
    if (fresh?.usable) this.park(slot.guildId, to, fresh);
    this.use(slot, parked);
  }

  /** Gives a usable conversation to the text chat of `channelId` (it closes when idle there). */
  park(guildId: string, channelId: string, conversation: GuildConversation): void {
    conversation.setMode('text');
    this.text.put(guildId, channelId, conversation);
  }

  /** Applies instructions to the guild's live conversations (voice and text); returns whether one was live. */
  applyInstructions(guildId: string, instructions: string): boolean {
    const live = [this.#options.guilds.peek(guildId)?.conversation, ...this.text.ofGuild(guildId)].filter((c): c is GuildConversation => Boolean(c?.usable));
    for (const conversation of live) conversation.setInstructions(instructions);
    return live.length > 0;
  }

  /** Applies a voice to the guild's live conversations (see GuildConversation.setVoice); the voice one decides the answer. */
  applyVoice(guildId: string, voice: string): 'applied' | 'after-reply' | 'next-session' {
    const voiceConversation = this.#options.guilds.peek(guildId)?.conversation;
    for (const conversation of this.text.ofGuild(guildId)) if (conversation.usable) conversation.setVoice(voice);
    return voiceConversation?.usable ? voiceConversation.setVoice(voice) : 'next-session';
  }

  /**
   * Makes room for one more model session: at MAX_MODEL_SESSIONS the least recently used idle text
   * conversation is closed; when none is idle, throws {@link CapacityError}. `selfCounted`: the
   * session being made is already counted (a text conversation's place is taken before it starts).
   */
  makeRoom(selfCounted: boolean): void {
    const cap = this.#options.config.maxModelSessions;
    while (this.modelSessionCount - (selfCounted ? 1 : 0) >= cap) {
      if (!this.text.evictOne()) {
        this.#options.logger.warn({ cap, sessions: this.modelSessionCount }, 'model session cap reached; conversation refused');
        throw new CapacityError("I'm in too many conversations right now; please try again in a few minutes.");
      }
      this.#options.logger.info({ cap }, 'closed the least recently used idle text conversation to make room');
    }
  }

  /** Closes the slot's voice conversation and forgets it. */
  async drop(slot: GuildSlot): Promise<void> {
    const conversation = slot.conversation;
    slot.conversation = null;
    slot.clearFailedLeave();
    this.#options.guilds.release(slot);
    await conversation?.close();
  }

  /** Closes idle text conversations: after TEXT_SESSION_IDLE_SECONDS, or sooner near MAX_MODEL_SESSIONS. */
  async closeIdle(): Promise<void> {
    const { textSessionIdleMs, maxModelSessions } = this.#options.config;
    const pressure = this.modelSessionCount >= Math.ceil(maxModelSessions * PRESSURE_FRACTION);
    const closed = await this.text.closeIdle(pressure ? Math.min(textSessionIdleMs, PRESSURE_IDLE_MS) : textSessionIdleMs);
    if (pressure && closed > 0) this.#options.logger.info({ closed, sessions: this.modelSessionCount, cap: maxModelSessions }, 'closed idle text conversations early: near the model session cap');
    // A voice conversation that failed and outlived its voice session.
    for (const slot of this.#options.guilds.all()) if (slot.conversation && !slot.voice && !slot.starting && !slot.conversation.usable) await this.drop(slot);
  }
}
