/**
 * The session registry's public types: its options and events, what a /join can answer (its
 * outcomes, its options — decisions the command layer makes about Discord permissions and audiences,
 * asked under the guild's lock) and the errors whose message is shown to the user.
 */
import type { VoiceBasedChannel } from 'discord.js';
import type { Logger } from 'pino';
import type { FrameClock, OpusEncoderThread } from '../audio/index.ts';
import type { BudgetGuard } from '../budget/index.ts';
import type { Config } from '../config.ts';
import type { BotStore } from '../store/index.ts';
import type { ToolRuntime } from '../tools/runtime.ts';
import type { GuildConversation } from './guildConversation.ts';
import type { DraggedEvent } from './ownVoiceState.ts';
import type { VoiceSession } from './voiceSession.ts';


/** A join that cannot happen; the message is shown to the user. */
export class JoinError extends Error {
  override name = 'JoinError';
}

/** No model session can be opened: the process is at MAX_MODEL_SESSIONS and none is idle. */
export class CapacityError extends Error {
  override name = 'CapacityError';
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

/** Events of a {@link SessionRegistry}: each new object, as soon as it exists (metrics attach here). */
export interface SessionRegistryEvents {
  conversation: [GuildConversation];
  voiceSession: [VoiceSession];
  /** Discord moved the bot to another channel (a moderator dragged it) and the session followed. */
  dragged: [DraggedEvent];
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
  /**
   * Whether a call's conversation may carry on after Discord moved the bot from `from` to `to` (see
   * discord/audience.ts mayCarryConversation); absent: never (a drag always starts a fresh one).
   */
  mayCarryConversation?: (from: VoiceBasedChannel, to: VoiceBasedChannel) => boolean;
}
