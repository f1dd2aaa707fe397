import type { VoiceBasedChannel } from 'discord.js';
import type { Logger } from 'pino';
import type { FrameClock, OpusEncoderThread } from '../audio/index.ts';
import type { Config } from '../config.ts';
import type { GuildConversation } from './guildConversation.ts';
import type { RoomPolicy } from './roomPolicy.ts';
import type { StopReason } from './turnTaking.ts';

/** Where a voice session stands. */
export type VoiceSessionStatus = 'connecting' | 'ready' | 'reconnecting' | 'destroyed';

/** Events of a {@link VoiceSession}. */
export interface VoiceSessionEvents {
  stateChange: [previous: VoiceSessionStatus, next: VoiceSessionStatus];
  /** A person interrupted the bot; `playedMs` is what the item was truncated to. */
  bargeIn: [{ itemId: string | null; playedMs: number | null; userId: string }];
  /** A voice turn was answered; latency from the end of speech to the first packet sent. */
  turn: [{ speakers: string[]; firstAudioAfterSpeechEndMs: number }];
  /** The bot stopped talking before the end of a reply: barge-in, /leave, a replaced conversation. */
  replyStopped: [{ reason: StopReason; itemId: string | null; playedMs: number | null }];
  /** A reply item started playing; `firstDeltaToPacketMs` is the delay playback added (pre-buffer, encoding). */
  replyStarted: [{ itemId: string; firstDeltaToPacketMs: number }];
  /** A tool ran long and a filler began ("one moment…" or a cue); `calledAt` is when the tool was called. */
  filler: [{ mode: 'speech' | 'cue'; calledAt: number; at: number }];
  destroyed: [reason: string];
}

/** Options of {@link VoiceSession}. */
export interface VoiceSessionOptions {
  channel: VoiceBasedChannel;
  conversation: GuildConversation;
  config: Config;
  clock: FrameClock;
  /** Where reply audio is Opus-encoded (the bot's encoder thread). */
  encoderThread: OpusEncoderThread;
  logger: Logger;
  /** How long to wait for the connection to become ready. */
  readyTimeoutMs?: number;
  /** The server's room choices: who may be heard (opted-out members and unheard roles never are). */
  room: RoomPolicy;
}
