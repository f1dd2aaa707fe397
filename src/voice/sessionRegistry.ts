import { EventEmitter } from 'node:events';
import type { GuildMember, VoiceBasedChannel, VoiceState } from 'discord.js';
import type { Logger } from 'pino';
import type { FrameClock, OpusEncoderThread } from '../audio/index.ts';
import type { Config } from '../config.ts';
import type { BudgetGuard } from '../budget/index.ts';
import type { NoiseReductionType } from '../realtime/index.ts';
import type { BotStore, StoredTurnDetection } from '../store/index.ts';
import { GuildConversation } from './guildConversation.ts';
import { GuildSlots, type GuildSlot } from './guildSlots.ts';
import { guildStatus, type GuildStatusReport } from './guildStatus.ts';
import { RoomPolicies, type RoomPolicy } from './roomPolicy.ts';
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
}

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
    this.#idleTimer = setInterval(() => void this.#closeIdleTextConversations(), Math.min(30_000, options.config.textSessionIdleMs));
    this.#idleTimer.unref();
  }

  /** The voice session of a guild, if the bot is in a channel there. */
  voiceSession(guildId: string): VoiceSession | undefined {
    return this.#guilds.peek(guildId)?.voice ?? undefined;
  }

  /** The conversation of a guild, if one is open (or failed and not yet replaced). */
  conversation(guildId: string): GuildConversation | undefined {
    return this.#guilds.peek(guildId)?.conversation ?? undefined;
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
            log.info({ by: requestedBy.id }, 'moving voice channel');
            try {
              await existing.moveTo(channel);
            } catch {
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

  /** The guild's conversation for a text mention: the voice one if any, else a text-only one. */
  async conversationForText(guildId: string): Promise<GuildConversation> {
    return this.#conversationFor(guildId, 'text');
  }

  /** Applies instructions to the live conversation, if any; returns whether one was live. */
  applyInstructions(guildId: string, instructions: string): boolean {
    const conversation = this.conversation(guildId);
    if (!conversation?.usable) return false;
    conversation.setInstructions(instructions);
    return true;
  }

  /** Applies a voice to the live conversation, if any (see GuildConversation.setVoice). */
  applyVoice(guildId: string, voice: string): 'applied' | 'after-reply' | 'next-session' {
    const conversation = this.conversation(guildId);
    return conversation?.usable ? conversation.setVoice(voice) : 'next-session';
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
    this.voiceSession(next.guild.id)?.onVoiceStateChanged(next.id, next.channelId);
  }

  /** What /status shows. */
  status(guildId: string): GuildStatusReport {
    return guildStatus(this.#guilds.peek(guildId));
  }


  /** Leaves every channel and closes every conversation (graceful shutdown). */
  async shutdown(): Promise<void> {
    clearInterval(this.#idleTimer);
    const slots = this.#guilds.all();
    for (const slot of slots) this.#leaveNow(slot, 'shutting down');
    await Promise.allSettled(slots.map((slot) => this.#dropConversation(slot)));
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
      // Mentions may keep using the conversation in text (it closes when idle); a failed one goes.
      const current = slot.conversation;
      if (current?.usable) current.setMode('text');
      else if (current) void this.#dropConversation(slot);
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
      // People see a generic reason; the details (host, status, the service's message) go to the log.
      this.#options.logger.warn({ guildId, mode, err: error instanceof Error ? error.message : String(error) }, 'could not start the model conversation');
      throw new JoinError(`${modelUnavailableReason(error)}.`);
    }
  }

  async #startConversation(slot: GuildSlot, mode: 'voice' | 'text'): Promise<GuildConversation> {
    const { config, store, budget, logger } = this.#options;
    const settings = await store.getSettings(slot.guildId);
    const room = await this.rooms.load(slot.guildId).catch(() => null);
    const noiseReduction = room?.settings.noiseReduction;
    const conversation = new GuildConversation({
      noiseReduction: noiseReduction === 'near_field' || noiseReduction === 'far_field' ? noiseReduction : null,
      guildId: slot.guildId,
      config,
      store,
      settings,
      budget,
      logger: logger.child({ guildId: slot.guildId }),
      mode: slot.voice ? 'voice' : mode,
    });
    this.emit('conversation', conversation);
    await conversation.start(); // a failed start closes the conversation: nothing of it lingers
    const previous = slot.conversation;
    slot.conversation = conversation;
    conversation.on('failed', (reason) => this.#onConversationFailed(slot, conversation, reason));
    if (slot.voice) {
      conversation.setMode('voice');
      slot.voice.useConversation(conversation);
    }
    slot.clearFailedLeave();
    if (previous && previous !== conversation) void previous.close();
    return conversation;
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

  async #closeIdleTextConversations(): Promise<void> {
    const now = Date.now();
    for (const slot of this.#guilds.all()) {
      const conversation = slot.conversation;
      if (!conversation || slot.voice || slot.starting) continue;
      if (now - conversation.lastActivityAt < this.#options.config.textSessionIdleMs) continue;
      if (conversation.realtime.activeResponseId) continue;
      await this.#dropConversation(slot);
    }
  }
}
