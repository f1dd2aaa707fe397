import { EventEmitter } from 'node:events';
import type { GuildMember, VoiceBasedChannel, VoiceState } from 'discord.js';
import type { Logger } from 'pino';
import type { NoiseReductionType } from '../realtime/index.ts';
import type { StoredTurnDetection } from '../store/index.ts';
import type { GuildConversation } from './guildConversation.ts';
import { ConversationPool } from './conversationPool.ts';
import { GuildSlots, type GuildSlot } from './guildSlots.ts';
import { guildStatus, type GuildStatusReport } from './guildStatus.ts';
import { JoinError, type JoinOptions, type JoinResult, type SessionRegistryEvents, type SessionRegistryOptions } from './registryTypes.ts';
import { onConversationFailed } from './failedConversation.ts';
import { OwnVoiceState } from './ownVoiceState.ts';
import { RoomPolicies, type RoomPolicy } from './roomPolicy.ts';
import { VoiceSession } from './voiceSession.ts';

export type { GuildStatusReport } from './guildStatus.ts';
export type { DraggedEvent } from './ownVoiceState.ts';
export { CapacityError, JoinError, type JoinOptions, type JoinResult, type SessionRegistryEvents, type SessionRegistryOptions } from './registryTypes.ts';

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
  /** Every model conversation of the process: the guilds' voice ones and the text ones (see conversationPool.ts). */
  readonly #pool: ConversationPool;
  /** Follows the bot's own voice state: moves, disconnects, moderation, Stage (see ownVoiceState.ts). */
  readonly #own: OwnVoiceState;
  readonly #idleTimer: NodeJS.Timeout;
  #voiceSessionCount = 0;
  /** Each server's room choices: /privacy opt-outs, roles, addressing (see roomPolicy.ts). */
  readonly rooms: RoomPolicies;

  constructor(options: SessionRegistryOptions) {
    super();
    this.#options = options;
    this.rooms = new RoomPolicies(options.store.rooms, options.logger);
    const { config, store, budget, logger, tools } = options;
    const failure = { guilds: this.#guilds, logger, leaveMs: config.modelUnavailableLeaveMs, leaveNow: (slot: GuildSlot, reason: string) => this.#leaveNow(slot, reason) };
    const onFailed = (slot: GuildSlot, conversation: GuildConversation, reason: string) => onConversationFailed({ ...failure, pool: this.#pool }, slot, conversation, reason);
    this.#pool = new ConversationPool({ config, store, budget, logger, tools, rooms: this.rooms, guilds: this.#guilds, onFailed });
    this.#pool.on('conversation', (conversation) => this.emit('conversation', conversation));
    this.#own = new OwnVoiceState({ guilds: this.#guilds, pool: this.#pool, logger, mayCarryConversation: options.mayCarryConversation, dragged: (event) => this.emit('dragged', event) });
    // An opt-out or a role change takes effect at once in the voice channel.
    this.rooms.on('changed', (guildId) => this.voiceSession(guildId)?.recheckHearing());
    this.#idleTimer = setInterval(() => void this.#pool.closeIdle(), Math.min(10_000, options.config.textSessionIdleMs));
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
    if (channelId !== undefined) return this.#pool.text.get(guildId, channelId);
    return this.#pool.text.ofGuild(guildId).sort((a, b) => b.lastActivityAt - a.lastActivityAt)[0];
  }

  /** Model sessions open or starting in this process (voice and text conversations). */
  get modelSessionCount(): number {
    return this.#pool.modelSessionCount;
  }

  /** Text conversations already closed for new messages whose model sockets are still closing. */
  get closingTextConversations(): number {
    return this.#pool.text.closing;
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
            await this.#pool.forGuild(guildId, 'voice');
            result = 'reconnected';
          }
          if (existing.channelId !== channel.id) {
            if (options.mayMoveFrom && !options.mayMoveFrom(existing.channelId)) {
              throw new JoinError(options.refusal ?? "I'm in another call with people in it right now.");
            }
            log.info({ by: requestedBy.id }, 'moving voice channel');
            const from = existing.channelId;
            // A wider audience gets a fresh conversation, in place before the first word is heard there.
            const switched = options.keepsConversation && !options.keepsConversation(from) ? await this.#pool.switchChannel(slot, from, channel.id) : null;
            try {
              await existing.moveTo(channel);
            } catch {
              if (switched) this.#pool.switchBack(slot, from, channel.id, switched);
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
        const adopted = slot.conversation ? undefined : this.#pool.text.takeMostRecent(guildId, (id) => id === channel.id || options.adoptFrom?.(id) === true);
        if (adopted) this.#pool.use(slot, adopted);
        const conversation = await this.#pool.forGuild(guildId, 'voice');
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
    if (voice && sharesVoice(voice.channelId)) return this.#pool.forGuild(guildId, 'voice');
    return this.#pool.forTextChannel(guildId, channelId);
  }

  /** The text-only conversation of a channel, if one is open. */
  textConversation(guildId: string, channelId: string): GuildConversation | undefined {
    return this.#pool.text.get(guildId, channelId);
  }

  /** Applies instructions to the guild's live conversations (voice and text); returns whether one was live. */
  applyInstructions(guildId: string, instructions: string): boolean {
    return this.#pool.applyInstructions(guildId, instructions);
  }

  /** Applies a voice to the guild's live conversations (see GuildConversation.setVoice); the voice one decides the answer. */
  applyVoice(guildId: string, voice: string): 'applied' | 'after-reply' | 'next-session' {
    return this.#pool.applyVoice(guildId, voice);
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

  /**
   * Forwards a voice state change to the guild's voice session. The bot's own state is followed
   * (see ownVoiceState.ts): moderation (server mute, Stage suppression) decides whether it may speak;
   * dragged to another channel, the session follows; disconnected, it ends without rejoining.
   */
  onVoiceStateUpdate(_previous: VoiceState, next: VoiceState): void {
    const session = this.voiceSession(next.guild.id);
    if (!session) return;
    if (next.id === next.client.user.id) {
      this.#own.update(session, next);
      if (next.channelId === null) return;
    }
    session.onVoiceStateChanged(next.id, next.channelId);
  }

  /** What /status shows; without voice, about the text conversation of `channelId` (where /status was used). */
  status(guildId: string, channelId?: string): GuildStatusReport {
    const slot = this.#guilds.peek(guildId);
    return guildStatus(slot, channelId === undefined ? undefined : this.#pool.text.get(guildId, channelId));
  }

  /** Leaves every channel and closes every conversation (graceful shutdown). */
  async shutdown(): Promise<void> {
    clearInterval(this.#idleTimer);
    const slots = this.#guilds.all();
    for (const slot of slots) this.#leaveNow(slot, 'shutting down');
    await Promise.allSettled([...slots.map((slot) => this.#pool.drop(slot)), this.#pool.text.closeAll()]);
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
        slot.conversation = null;
        this.#pool.park(slot.guildId, session.channelId, current);
      } else if (current) void this.#pool.drop(slot);
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
}
