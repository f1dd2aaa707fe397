import { EventEmitter } from 'node:events';
import type { GuildMember, VoiceBasedChannel, VoiceState } from 'discord.js';
import type { Logger } from 'pino';
import type { FrameClock, OpusEncoderThread } from '../audio/index.ts';
import type { Config } from '../config.ts';
import { UsageLedger } from '../realtime/index.ts';
import type { BotStore } from '../store/index.ts';
import { GuildConversation, type ConversationState } from './guildConversation.ts';
import { VoiceSession } from './voiceSession.ts';

/** A join that cannot happen; the message is shown to the user. */
export class JoinError extends Error {
  override name = 'JoinError';
}

/** What /status shows about a guild. */
export interface GuildStatusReport {
  voiceChannelId: string | null;
  voiceState: string;
  conversationState: ConversationState | 'none';
  problem: string | null;
  speakers: string[];
  latency: { p50: number | null; p95: number | null; turns: number };
  session: { tokens: number; costUsd: number };
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
  logger: Logger;
  /** The 20 ms clock every voice session ticks on (one per bot, made by the composition root). */
  clock: FrameClock;
  /** Where reply audio is Opus-encoded (one worker thread per bot, made by the composition root). */
  encoderThread: OpusEncoderThread;
}

/**
 * All live conversations and voice sessions, one of each per guild at most. Voice and text share the
 * guild's conversation; a text-only conversation closes after `textSessionIdleMs` without use.
 */
export class SessionRegistry extends EventEmitter<SessionRegistryEvents> {
  readonly ledger = new UsageLedger();
  readonly #options: SessionRegistryOptions;
  readonly #conversations = new Map<string, GuildConversation>();
  readonly #starting = new Map<string, Promise<GuildConversation>>();
  readonly #voice = new Map<string, VoiceSession>();
  readonly #idleTimer: NodeJS.Timeout;

  constructor(options: SessionRegistryOptions) {
    super();
    this.#options = options;
    this.#idleTimer = setInterval(() => void this.#closeIdleTextConversations(), Math.min(30_000, options.config.textSessionIdleMs));
    this.#idleTimer.unref();
  }

  /** The voice session of a guild, if the bot is in a channel there. */
  voiceSession(guildId: string): VoiceSession | undefined {
    return this.#voice.get(guildId);
  }

  /** The conversation of a guild, if one is open. */
  conversation(guildId: string): GuildConversation | undefined {
    return this.#conversations.get(guildId);
  }

  /** The voice channel the bot is in, in this guild. */
  voiceChannelOf(guildId: string): string | null {
    return this.#voice.get(guildId)?.channelId ?? null;
  }

  /** Number of voice sessions. */
  get voiceSessionCount(): number {
    return this.#voice.size;
  }

  /** Joins (or moves to) a voice channel and starts the voice conversation. */
  async join(channel: VoiceBasedChannel, requestedBy: GuildMember): Promise<'joined' | 'moved' | 'already'> {
    const guildId = channel.guild.id;
    const log = this.#options.logger.child({ guildId });
    const existing = this.#voice.get(guildId);
    if (existing && existing.status !== 'destroyed') {
      if (existing.channelId === channel.id) return 'already';
      log.info({ channelId: channel.id, by: requestedBy.id }, 'moving voice channel');
      try {
        await existing.moveTo(channel);
      } catch {
        throw new JoinError('the voice connection did not become ready in time.');
      }
      return 'moved';
    }
    let conversation: GuildConversation;
    try {
      conversation = await this.#conversationFor(guildId, 'voice');
    } catch (error) {
      throw new JoinError(`the AI model is unavailable (${error instanceof Error ? error.message : String(error)}).`);
    }
    conversation.setMode('voice');
    const session = new VoiceSession({
      channel,
      conversation,
      config: this.#options.config,
      clock: this.#options.clock,
      encoderThread: this.#options.encoderThread,
      logger: log,
    });
    this.#voice.set(guildId, session);
    this.emit('voiceSession', session);
    session.once('destroyed', () => {
      if (this.#voice.get(guildId) === session) this.#voice.delete(guildId);
      // Mentions may keep using the conversation in text; it closes when idle.
      if (this.#conversations.get(guildId) === conversation) conversation.setMode('text');
    });
    try {
      await session.ready();
    } catch {
      throw new JoinError('the voice connection did not become ready in time.');
    }
    log.info({ channelId: channel.id, by: requestedBy.id }, 'joined voice channel');
    return 'joined';
  }

  /** Leaves the guild's voice channel (and closes the conversation unless text keeps using it). */
  async leave(guildId: string, reason: string): Promise<boolean> {
    const session = this.#voice.get(guildId);
    if (!session) return false;
    session.interrupt('leave');
    session.destroy(reason);
    return true;
  }

  /** The guild's conversation for a text mention: the voice one if any, else a text-only one. */
  async conversationForText(guildId: string): Promise<GuildConversation> {
    return this.#conversationFor(guildId, 'text');
  }

  /** Applies instructions to the live conversation, if any; returns whether one was live. */
  applyInstructions(guildId: string, instructions: string): boolean {
    const conversation = this.#conversations.get(guildId);
    if (!conversation) return false;
    conversation.setInstructions(instructions);
    return true;
  }

  /** Applies a voice to the live conversation, if any. */
  applyVoice(guildId: string, voice: string): 'rotating' | 'next-session' {
    return this.#conversations.get(guildId)?.setVoice(voice) ?? 'next-session';
  }

  /** Forwards a voice state change to the guild's voice session. */
  onVoiceStateUpdate(_previous: VoiceState, next: VoiceState): void {
    this.#voice.get(next.guild.id)?.onVoiceStateChanged(next.id, next.channelId);
  }

  /** What /status shows. */
  status(guildId: string): GuildStatusReport {
    const session = this.#voice.get(guildId);
    const conversation = this.#conversations.get(guildId);
    const usage = conversation?.client.usage;
    return {
      voiceChannelId: session?.channelId ?? null,
      voiceState: session?.status ?? 'none',
      conversationState: conversation?.state ?? 'none',
      problem: conversation?.problem ?? null,
      speakers: session?.activeSpeakers ?? [],
      latency: {
        p50: session?.metrics.percentile(50) ?? null,
        p95: session?.metrics.percentile(95) ?? null,
        turns: session?.metrics.recent.length ?? 0,
      },
      session: {
        tokens: usage ? usage.inputTextTokens + usage.inputAudioTokens + usage.outputTextTokens + usage.outputAudioTokens : 0,
        costUsd: usage?.costUsd ?? 0,
      },
    };
  }

  /** Leaves every channel and closes every conversation (graceful shutdown). */
  async shutdown(): Promise<void> {
    clearInterval(this.#idleTimer);
    for (const [guildId] of this.#voice) await this.leave(guildId, 'shutting down');
    await Promise.allSettled([...this.#conversations.values()].map((conversation) => conversation.close()));
    this.#conversations.clear();
  }

  async #conversationFor(guildId: string, mode: 'voice' | 'text'): Promise<GuildConversation> {
    const existing = this.#conversations.get(guildId);
    if (existing && existing.state !== 'failed' && existing.state !== 'closed') return existing;
    const starting = this.#starting.get(guildId);
    if (starting) return starting;
    const start = async () => {
      const settings = await this.#options.store.getSettings(guildId);
      const conversation = new GuildConversation({
        guildId,
        config: this.#options.config,
        store: this.#options.store,
        settings,
        ledger: this.ledger,
        logger: this.#options.logger.child({ guildId }),
        mode,
      });
      this.emit('conversation', conversation);
      await conversation.start();
      this.#conversations.set(guildId, conversation);
      return conversation;
    };
    // Registered before the first await, so a second caller waits for this start instead of making another.
    const promise = start().finally(() => this.#starting.delete(guildId));
    this.#starting.set(guildId, promise);
    if (existing) void existing.close();
    return promise;
  }

  async #closeIdleTextConversations(): Promise<void> {
    const now = Date.now();
    for (const [guildId, conversation] of this.#conversations) {
      if (this.#voice.has(guildId)) continue;
      if (now - conversation.lastActivityAt < this.#options.config.textSessionIdleMs) continue;
      if (conversation.client.activeResponseId) continue;
      this.#conversations.delete(guildId);
      await conversation.close();
    }
  }
}
