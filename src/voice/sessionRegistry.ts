import { EventEmitter } from 'node:events';
import type { GuildMember, VoiceBasedChannel, VoiceState } from 'discord.js';
import type { Logger } from 'pino';
import type { FrameClock, OpusEncoderThread } from '../audio/index.ts';
import type { Config } from '../config.ts';
import type { BudgetGuard } from '../budget/index.ts';
import type { NoiseReductionType } from '../realtime/index.ts';
import type { BotStore, StoredTurnDetection } from '../store/index.ts';
import type { ToolRuntime } from '../tools/runtime.ts';
import { GuildConversation } from './guildConversation.ts';
import { GuildSlots, type GuildSlot } from './guildSlots.ts';
import { guildStatus, type GuildStatusReport } from './guildStatus.ts';
import { RoomPolicies, type RoomPolicy } from './roomPolicy.ts';
import { TextConversations } from './textConversations.ts';
import { modelUnavailableReason } from './userFacingErrors.ts';
import { VoiceSession } from './voiceSession.ts';

export type { GuildStatusReport } from './guildStatus.ts';

/** A join that cannot happen; the message is shown to the user. */
export class JoinError extends Error {
  override name = 'JoinError';
}

/** How a /join ended: a new session, a move, nothing to do, or a fresh conversation for the session there. */
export type JoinResult = 'joined' | 'moved' | 'already' | 'reconnected';

/** Options of {@link SessionRegistry.join}. */
export interface JoinOptions {
  /** Posts a message where /join was used (the model failing for good, leaving because of it). */
  announce?: (content: string) => Promise<unknown>;
  /**
   * Decides, under the guild's lock, whether the bot may leave the channel it is in for this one
   * (a /join from someone outside a call with people in it may not: see voiceAccess.ts). Refused:
   * {@link JoinError} with `refusal`.
   */
  mayMoveFrom?: (channelId: string) => boolean;
  /** What a refused move says (default: that the bot is busy in another call). */
  refusal?: string;
  /**
   * Whether the conversation of the call in `fromChannelId` may carry on in the channel moved to
   * (everyone who can see the new channel could see the old one: see discord/audience.ts). When not,
   * the old conversation stays with the old channel's text chat and the call continues in a fresh
   * one, so nothing said in a private call is answerable in a wider one. Default: it carries on.
   */
  keepsConversation?: (fromChannelId: string) => boolean;
  /**
   * Text channels whose conversation may become the call's (the same audience as the voice channel:
   * see discord/audience.ts). The most recently used of theirs and the voice channel's own chat
   * carries on as the voice conversation.
   */
  adoptFrom?: (textChannelId: string) => boolean;
}

/** No model session can be opened: the process is at MAX_MODEL_SESSIONS and none is idle. */
export class CapacityError extends Error {
  override name = 'CapacityError';
}

/** Near the cap (this fraction of MAX_MODEL_SESSIONS), idle text conversations are closed sooner. */
const PRESSURE_FRACTION = 0.75;
/** How long a text conversation may idle under pressure (at most; TEXT_SESSION_IDLE_SECONDS if shorter). */
const PRESSURE_IDLE_MS = 30_000;

/** Events of a {@link SessionRegistry}: each new object, as soon as it exists (metrics attach here). */
export interface SessionRegistryEvents {
  conversation: [GuildConversation];
  voiceSession: [VoiceSession];
}

/** Options of {@link SessionRegistry}. */
export interface SessionRegistryOptions {
  config: Config;
  store: BotStore;
  /** Spend limits (absent: none). */
  budget?: BudgetGuard;
  logger: Logger;
  /** The 20 ms clock every voice session ticks on (one per bot, made by the composition root). */
  clock: FrameClock;
  /** Where reply audio is Opus-encoded (one worker thread per bot, made by the composition root). */
  encoderThread: OpusEncoderThread;
  /** How long a voice connection may take to become ready (default 20 s). */
  voiceReadyTimeoutMs?: number;
  /** The bot's tools (absent: conversations without tools). */
  tools?: ToolRuntime;
}

/**
 * All live conversations and voice sessions: at most one of each per guild, whatever the
 * interleaving of /join, /leave, moves, mentions and reconnects. Voice operations of a guild (join,
 * move, leave, recovery) run one at a time; a conversation is started once however many callers
 * want it at the same moment. Voice and text share the guild's conversation; a text-only one closes
 * after `textSessionIdleMs` without use. A conversation that failed for good is announced where
 * /join was used, shown by /status, replaced by the next /join (or mention), and after
 * `modelUnavailableLeaveMs` the bot leaves voice.
 */
export class SessionRegistry extends EventEmitter<SessionRegistryEvents> {
  readonly #options: SessionRegistryOptions;
  readonly #guilds = new GuildSlots();
  /** Text-only conversations, one per text channel (see textConversations.ts). */
  readonly #text = new TextConversations();
  readonly #idleTimer: NodeJS.Timeout;
  #voiceSessionCount = 0;
  /** Each server's room choices: /privacy opt-outs, roles, addressing (see roomPolicy.ts). */
  readonly rooms: RoomPolicies;

  constructor(options: SessionRegistryOptions) {
    super();
    this.#options = options;
    this.rooms = new RoomPolicies(options.store.rooms, options.logger);
    // An opt-out or a role change takes effect at once in the voice channel.
    this.rooms.on('changed', (guildId) => this.voiceSession(guildId)?.recheckHearing());
    this.#idleTimer = setInterval(() => void this.#closeIdleTextConversations(), Math.min(10_000, options.config.textSessionIdleMs));
    this.#idleTimer.unref();
  }

  /** The voice session of a guild, if the bot is in a channel there. */
  voiceSession(guildId: string): VoiceSession | undefined {
    return this.#guilds.peek(guildId)?.voice ?? undefined;
  }

  /**
   * The voice conversation of a guild if one is open (or failed and not yet replaced); else the text
   * conversation of `channelId`, or without it the guild's most recently used text conversation.
   */
  conversation(guildId: string, channelId?: string): GuildConversation | undefined {
    const voice = this.#guilds.peek(guildId)?.conversation;
    if (voice) return voice;
    if (channelId !== undefined) return this.#text.get(guildId, channelId);
    return this.#text.ofGuild(guildId).sort((a, b) => b.lastActivityAt - a.lastActivityAt)[0];
  }

  /** Model sessions open or starting in this process (voice and text conversations). */
  get modelSessionCount(): number {
    return this.#guilds.all().filter((slot) => slot.conversation || slot.starting).length + this.#text.size;
  }

  /** Text conversations already closed for new messages whose model sockets are still closing. */
  get closingTextConversations(): number {
    return this.#text.closing;
  }

  /** The voice channel the bot is in, in this guild. */
  voiceChannelOf(guildId: string): string | null {
    return this.voiceSession(guildId)?.channelId ?? null;
  }

  /** Whether a /join, /leave or recovery is under way (or waiting) in this guild. */
  voiceOperationPending(guildId: string): boolean {
    return (this.#guilds.peek(guildId)?.pendingOperations ?? 0) > 0;
  }

  /** Number of voice sessions. */
  get voiceSessionCount(): number {
    return this.#voiceSessionCount;
  }

  /** Guilds with any state here (bounded by activity: emptied slots are forgotten). */
  get guildCount(): number {
    return this.#guilds.size;
  }

  /**
   * Joins (or moves to) a voice channel and starts the voice conversation. A second /join while one
   * is under way waits for it and then answers "already" (or moves); /join on a session whose
   * conversation failed starts a fresh conversation for it.
   */
  async join(channel: VoiceBasedChannel, requestedBy: GuildMember, options: JoinOptions = {}): Promise<JoinResult> {
    const guildId = channel.guild.id;
    const log = this.#options.logger.child({ guildId, channelId: channel.id });
    try {
      return await this.#guilds.exclusive(guildId, async (slot) => {
        if (options.announce) slot.announce = options.announce;
        const existing = slot.voice;
        if (existing) {
          let result: JoinResult = 'already';
          if (!existing.conversation.usable) {
            await this.#conversationFor(guildId, 'voice');
            result = 'reconnected';
          }
          if (existing.channelId !== channel.id) {
            if (options.mayMoveFrom && !options.mayMoveFrom(existing.channelId)) {
              throw new JoinError(options.refusal ?? "I'm in another call with people in it right now.");
            }
            log.info({ by: requestedBy.id }, 'moving voice channel');
            const from = existing.channelId;
            // A wider audience gets a fresh conversation, in place before the first word is heard there.
            const switched = options.keepsConversation && !options.keepsConversation(from) ? await this.#switchConversation(slot, from, channel.id) : null;
            try {
              await existing.moveTo(channel);
            } catch {
              if (switched) this.#switchBack(slot, from, channel.id, switched);
              throw new JoinError('the voice connection did not become ready in time.');
            }
            result = 'moved';
          }
          return result;
        }
        // Without the server's privacy choices the bot must not listen: it would hear members who opted out.
        const room = await this.rooms.load(guildId).catch(() => {
          throw new JoinError("I couldn't read this server's privacy settings; please try again.");
        });
        // The channel's own text chat, or a channel with the same audience, may have a conversation: the call carries it on.
        const adopted = slot.conversation ? undefined : this.#text.takeMostRecent(guildId, (id) => id === channel.id || options.adoptFrom?.(id) === true);
        if (adopted) this.#useConversation(slot, adopted);
        const conversation = await this.#conversationFor(guildId, 'voice');
        const session = this.#startVoice(slot, channel, conversation, room, log);
        try {
          await session.ready();
        } catch {
          throw new JoinError('the voice connection did not become ready in time.');
        }
        log.info({ by: requestedBy.id }, 'joined voice channel');
        return 'joined';
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      log.warn({ by: requestedBy.id, reason }, 'join failed');
      throw error;
    }
  }

  /** Leaves the guild's voice channel; returns the channel left, or null when the bot was in none. */
  async leave(guildId: string, reason: string): Promise<string | null> {
    return this.#guilds.exclusive(guildId, async (slot) => this.#leaveNow(slot, reason));
  }

  /**
   * Leaves the guild's voice channel if `allowed(channelId)` says so, decided under the guild's lock
   * (after any /join under way): the channel left, null when the bot was in none, or `'refused'`.
   */
  async leaveIf(guildId: string, reason: string, allowed: (channelId: string) => boolean): Promise<string | null | 'refused'> {
    return this.#guilds.exclusive(guildId, async (slot) => {
      if (slot.voice && !allowed(slot.voice.channelId)) return 'refused';
      return this.#leaveNow(slot, reason);
    });
  }

  /**
   * The conversation a mention in `channelId` is answered in: the voice conversation when the bot is
   * in voice and `sharesVoice(voiceChannelId)` says the channel's audience is the voice channel's
   * (see discord/audience.ts), else the channel's own text conversation. Throws
   * {@link CapacityError} when a new one is needed and the process is full.
   */
  async conversationForText(guildId: string, channelId: string, sharesVoice: (voiceChannelId: string) => boolean): Promise<GuildConversation> {
    const voice = this.#guilds.peek(guildId)?.voice;
    if (voice && sharesVoice(voice.channelId)) return this.#conversationFor(guildId, 'voice');
    return this.#text.acquire(guildId, channelId, async () => {
      this.#makeRoom(true);
      return this.#newConversation(guildId, 'text');
    });
  }

  /** The text-only conversation of a channel, if one is open. */
  textConversation(guildId: string, channelId: string): GuildConversation | undefined {
    return this.#text.get(guildId, channelId);
  }

  /** Applies instructions to the guild's live conversations (voice and text); returns whether one was live. */
  applyInstructions(guildId: string, instructions: string): boolean {
    const live = this.#liveConversations(guildId);
    for (const conversation of live) conversation.setInstructions(instructions);
    return live.length > 0;
  }

  /** Applies a voice to the guild's live conversations (see GuildConversation.setVoice); the voice one decides the answer. */
  applyVoice(guildId: string, voice: string): 'applied' | 'after-reply' | 'next-session' {
    const voiceConversation = this.#guilds.peek(guildId)?.conversation;
    for (const conversation of this.#text.ofGuild(guildId)) if (conversation.usable) conversation.setVoice(voice);
    return voiceConversation?.usable ? voiceConversation.setVoice(voice) : 'next-session';
  }

  #liveConversations(guildId: string): GuildConversation[] {
    return [this.#guilds.peek(guildId)?.conversation, ...this.#text.ofGuild(guildId)].filter((c): c is GuildConversation => Boolean(c?.usable));
  }

  /** Applies turn detection to the live conversation, if any (it may change mid-session); returns whether one was live. */
  applyTurnDetection(guildId: string, turnDetection: StoredTurnDetection | null): boolean {
    const conversation = this.conversation(guildId);
    if (!conversation?.usable) return false;
    conversation.setTurnDetection(turnDetection);
    return true;
  }

  /** Applies input noise reduction to the live conversation, if any; null when none is live. */
  applyNoiseReduction(guildId: string, value: NoiseReductionType | null): 'applied' | 'next-session' | null {
    const conversation = this.conversation(guildId);
    return conversation?.usable ? conversation.setNoiseReduction(value) : null;
  }

  /** Forwards a voice state change to the guild's voice session. */
  onVoiceStateUpdate(_previous: VoiceState, next: VoiceState): void {
    const session = this.voiceSession(next.guild.id);
    if (!session) return;
    // The bot's own state: moderation (server mute, Stage suppression) decides whether it may speak.
    if (next.id === next.client.user.id && next.channelId !== null) session.onOwnVoiceState({ serverMute: next.serverMute === true, suppress: next.suppress === true });
    session.onVoiceStateChanged(next.id, next.channelId);
  }

  /** What /status shows; without voice, about the text conversation of `channelId` (where /status was used). */
  status(guildId: string, channelId?: string): GuildStatusReport {
    const slot = this.#guilds.peek(guildId);
    return guildStatus(slot, channelId === undefined ? undefined : this.#text.get(guildId, channelId));
  }

  /** Leaves every channel and closes every conversation (graceful shutdown). */
  async shutdown(): Promise<void> {
    clearInterval(this.#idleTimer);
    const slots = this.#guilds.all();
    for (const slot of slots) this.#leaveNow(slot, 'shutting down');
    await Promise.allSettled([...slots.map((slot) => this.#dropConversation(slot)), this.#text.closeAll()]);
  }

  #startVoice(slot: GuildSlot, channel: VoiceBasedChannel, conversation: GuildConversation, room: RoomPolicy, log: Logger): VoiceSession {
    conversation.setMode('voice');
    const { config, clock, encoderThread } = this.#options;
    const session = new VoiceSession({ channel, conversation, config, clock, encoderThread, room, logger: log, readyTimeoutMs: this.#options.voiceReadyTimeoutMs });
    slot.voice = session;
    this.#voiceSessionCount++;
    this.emit('voiceSession', session);
    session.once('destroyed', () => {
      this.#voiceSessionCount--;
      if (slot.voice !== session) return;
      slot.voice = null;
      slot.clearFailedLeave();
      // The voice channel's own text chat keeps the conversation (same audience; it closes when
      // idle, or carries on as the voice conversation of the next /join there); a failed one goes.
      const current = slot.conversation;
      if (current?.usable) {
        current.setMode('text');
        slot.conversation = null;
        this.#text.put(slot.guildId, session.channelId, current);
      } else if (current) void this.#dropConversation(slot);
      this.#guilds.release(slot);
    });
    return session;
  }

  #leaveNow(slot: GuildSlot, reason: string): string | null {
    const session = slot.voice;
    if (!session) return null;
    const channelId = session.channelId;
    session.stopReply({ kind: 'leave' });
    session.destroy(reason);
    return channelId;
  }

  /**
   * The guild's usable conversation, started once however many callers ask at the same moment. A
   * fresh one replaces a failed one, also in the voice session (a mention or /join recovers voice).
   */
  async #conversationFor(guildId: string, mode: 'voice' | 'text'): Promise<GuildConversation> {
    const slot = this.#guilds.get(guildId);
    if (slot.conversation?.usable) return slot.conversation;
    // Registered before the first await, so a second caller waits for this start instead of making another.
    slot.starting ??= this.#startConversation(slot, mode).finally(() => {
      slot.starting = null;
      this.#guilds.release(slot);
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

  async #startConversation(slot: GuildSlot, mode: 'voice' | 'text'): Promise<GuildConversation> {
    if (!slot.conversation) this.#makeRoom(false); // replacing a failed one takes no more room
    const conversation = await this.#newConversation(slot.guildId, slot.voice ? 'voice' : mode);
    this.#useConversation(slot, conversation);
    return conversation;
  }

  /** A started conversation (a failed start closes it: nothing of it lingers). */
  async #newConversation(guildId: string, mode: 'voice' | 'text'): Promise<GuildConversation> {
    const { config, store, budget, logger } = this.#options;
    const settings = await store.getSettings(guildId);
    const room = await this.rooms.load(guildId).catch(() => null);
    const noiseReduction = room?.settings.noiseReduction;
    await this.#options.tools?.load(guildId); // the first session is configured with the server's tool switches
    const conversation = new GuildConversation({
      noiseReduction: noiseReduction === 'near_field' || noiseReduction === 'far_field' ? noiseReduction : null,
      guildId,
      config,
      store,
      settings,
      budget,
      logger: logger.child({ guildId }),
      mode,
      tools: this.#options.tools,
    });
    this.emit('conversation', conversation);
    await conversation.start();
    return conversation;
  }

  /** Makes `conversation` the guild's voice conversation (in the voice session too, if there is one). */
  #useConversation(slot: GuildSlot, conversation: GuildConversation): void {
    const previous = slot.conversation;
    slot.conversation = conversation;
    conversation.on('failed', (reason) => this.#onConversationFailed(slot, conversation, reason));
    if (slot.voice) {
      conversation.setMode('voice');
      slot.voice.useConversation(conversation);
    }
    slot.clearFailedLeave();
    if (previous && previous !== conversation) void previous.close();
  }

  /**
   * Parks the voice conversation as the text conversation of `from` (its chat keeps it) and gives the
   * call the conversation of `to`'s text chat, or a fresh one; returns the parked one (null if none was usable).
   */
  async #switchConversation(slot: GuildSlot, from: string, to: string): Promise<GuildConversation | null> {
    const current = slot.conversation?.usable ? slot.conversation : null;
    let next = this.#text.take(slot.guildId, to);
    if (!next) {
      this.#makeRoom(false);
      next = await this.#newConversation(slot.guildId, 'voice');
    }
    if (current) {
      slot.conversation = null; // not closed: it stays with the old channel
      current.setMode('text');
      this.#text.put(slot.guildId, from, current);
    }
    this.#useConversation(slot, next);
    return current;
  }

  /** Undoes {@link #switchConversation} after a move that failed (the bot is back in `from`). */
  #switchBack(slot: GuildSlot, from: string, to: string, parked: GuildConversation): void {
    const fresh = slot.conversation;
    if (this.#text.take(slot.guildId, from) !== parked || !parked.usable) return; // used or gone meanwhile: keep the fresh one
    slot.conversation = null;
    if (fresh?.usable) {
      fresh.setMode('text');
      this.#text.put(slot.guildId, to, fresh);
    }
    this.#useConversation(slot, parked);
  }

  /**
   * Makes room for one more model session: at MAX_MODEL_SESSIONS the least recently used idle text
   * conversation is closed; when none is idle, throws {@link CapacityError}. `selfCounted`: the
   * session being made is already counted (a text conversation's place is taken before it starts).
   */
  #makeRoom(selfCounted: boolean): void {
    const cap = this.#options.config.maxModelSessions;
    while (this.modelSessionCount - (selfCounted ? 1 : 0) >= cap) {
      if (!this.#text.evictOne()) {
        this.#options.logger.warn({ cap, sessions: this.modelSessionCount }, 'model session cap reached; conversation refused');
        throw new CapacityError("I'm in too many conversations right now; please try again in a few minutes.");
      }
      this.#options.logger.info({ cap }, 'closed the least recently used idle text conversation to make room');
    }
  }

  #onConversationFailed(slot: GuildSlot, conversation: GuildConversation, reason: string): void {
    if (slot.conversation !== conversation) return;
    const session = slot.voice;
    if (!session) {
      void this.#dropConversation(slot); // text only: the next mention starts a fresh one
      return;
    }
    const leaveMs = this.#options.config.modelUnavailableLeaveMs;
    void this.#announce(
      slot,
      `I lost my connection to the AI model, so I can't hear or answer in <#${session.channelId}> right now (${reason}). ` +
        `Use /join to try again; otherwise I'll leave the voice channel in ${Math.round(leaveMs / 1000)} s.`,
    );
    slot.armFailedLeave(leaveMs, () => {
      void this.#guilds.exclusive(slot.guildId, async (current) => {
        if (current.conversation !== conversation || !current.voice) return; // recovered or gone meanwhile
        const left = this.#leaveNow(current, 'model unavailable');
        this.#options.logger.warn({ guildId: current.guildId, channelId: left, reason }, 'left voice: the model conversation stayed failed');
        if (left) void this.#announce(current, `Left <#${left}>: the AI model is still unavailable. Use /join when it's back.`);
      });
    });
  }

  async #announce(slot: GuildSlot, content: string): Promise<void> {
    try {
      await slot.announce?.(content);
    } catch (error) {
      this.#options.logger.warn({ guildId: slot.guildId, err: error instanceof Error ? error.message : String(error) }, 'could not post a notice in the channel');
    }
  }

  async #dropConversation(slot: GuildSlot): Promise<void> {
    const conversation = slot.conversation;
    slot.conversation = null;
    slot.clearFailedLeave();
    this.#guilds.release(slot);
    await conversation?.close();
  }

  /** Closes idle text conversations: after TEXT_SESSION_IDLE_SECONDS, or sooner near MAX_MODEL_SESSIONS. */
  async #closeIdleTextConversations(): Promise<void> {
    const { textSessionIdleMs, maxModelSessions } = this.#options.config;
    const pressure = this.modelSessionCount >= Math.ceil(maxModelSessions * PRESSURE_FRACTION);
    const closed = await this.#text.closeIdle(pressure ? Math.min(textSessionIdleMs, PRESSURE_IDLE_MS) : textSessionIdleMs);
    if (pressure && closed > 0) this.#options.logger.info({ closed, sessions: this.modelSessionCount, cap: maxModelSessions }, 'closed idle text conversations early: near the model session cap');
    // A voice conversation that failed and outlived its voice session.
    for (const slot of this.#guilds.all()) if (slot.conversation && !slot.voice && !slot.starting && !slot.conversation.usable) await this.#dropConversation(slot);
  }
}
