/**
 * The vocabulary of turn-taking (see turnTaking.ts): a finished turn, the machine's states, why it
 * stops, the model and playback it drives, its events and options, and the small pure helpers on
 * turns. Kept apart from the machine so the machine's file holds only its transitions.
 */
import type { Logger } from 'pino';
import type { CreateResponseOptions, ResponseHandle, ResponseResult } from '../realtime/index.ts';

/** A finished user turn waiting for (or getting) its answer. */
export interface PendingTurn {
  /** When the last voiced frame of the turn arrived (performance.now()), for the latency figure. */
  speechEndAt: number;
  /** Display names of who spoke in it. */
  speakers: string[];
  /** Their user ids, in the same order (tools the answer calls run with these members' rights). */
  speakerIds: string[];
  /** Voiced time heard in it (all speakers, measured by the bot from the frames it received). */
  voicedMs: number;
}

/** Where turn-taking stands. */
export type TurnState =
  | { status: 'idle' }
  | { status: 'userSpeaking' }
  | { status: 'thinking'; request: ResponseHandle; turn: PendingTurn; filler?: ResponseHandle | null }
  | { status: 'speaking'; request: ResponseHandle; itemId: string; turn: PendingTurn | null; replyDone: boolean; toolsPending?: boolean }
  | { status: 'waitingForTools'; request: ResponseHandle; turn: PendingTurn | null; filler: ResponseHandle | null }
  | { status: 'interrupted'; cancelled: ResponseHandle };

/** Whether a finished response owes the model tool results before the answer can go on. */
export function callsTools(result: ResponseResult): boolean {
  return result.status === 'completed' && result.functionCallIds.length + result.mcpApprovalIds.length > 0;
}

/** A turn for a reply nobody's speech asked for (no latency is reported for it). */
export const NO_TURN: PendingTurn = { speechEndAt: Number.NaN, speakers: [], speakerIds: [], voicedMs: 0 };

/** Why the bot stopped talking. */
export type StopReason = { kind: 'bargeIn'; userId: string } | { kind: 'leave' } | { kind: 'conversationChanged' } | { kind: 'replaced' } | { kind: 'notAddressed' } | { kind: 'silenced' };

/** The model side: the conversation's realtime client. */
export interface TurnModel {
  addContextNote(text: string): void;
  /** Asks for an answer to `turn` (its speakers are who the answer's tools act for). */
  createResponse(options: CreateResponseOptions, turn?: PendingTurn): ResponseHandle;
  truncate(itemId: string, audioEndMs: number): void;
}

/** The playback side. */
export interface TurnPlayback {
  readonly isPlaying: boolean;
  push(itemId: string, pcm24kMono: Buffer): void;
  endItem(itemId: string): void;
  /** Drops everything queued; returns the item being heard and how much of it was sent. */
  stop(): { itemId: string; playedMs: number } | null;
}

/** Events of {@link TurnTaking}. */
export interface TurnTakingEvents {
  stateChange: [previous: TurnState, next: TurnState];
  /** Someone talked over the bot; `playedMs` is what the interrupted item was truncated to (null: nothing had played). */
  bargeIn: [{ itemId: string | null; playedMs: number | null; userId: string }];
  /** The first packet of the answer to a turn left: latency from the end of speech. */
  answered: [{ speakers: string[]; firstAudioAfterSpeechEndMs: number }];
  /** The bot stopped an answer (any reason: barge-in, /leave…); `playedMs` as for `bargeIn`. */
  stopped: [{ reason: StopReason; itemId: string | null; playedMs: number | null }];
}

/** Options of {@link TurnTaking}. */
export interface TurnTakingOptions {
  model: TurnModel;
  playback: TurnPlayback;
  logger: Logger;
  /** A turn finished during a reply, and that lasted at least this long, is answered after the reply. */
  answerAfterReplyMinMs: number;
  /** Whether a user turn may be answered now (false while the spend limit is reached); default always. */
  mayRespond?: () => boolean;
  /**
   * Why the bot may not speak now (server-muted, suppressed in a Stage), or null: while it may not,
   * turns stay in the conversation as context and no spoken reply is started (nobody would hear it).
   */
  silenced?: () => string | null;
}

/** How a speaker label names the people of a turn (brackets cannot close it early: see labelName). */
export type SpeakerLabel = (names: string[]) => string;

/** Two parts of one turn as one: everyone who spoke in either, the later end, the voiced time of both. */
export function mergeTurns(earlier: PendingTurn, later: PendingTurn): PendingTurn {
  return {
    speechEndAt: later.speechEndAt,
    speakers: [...new Set([...earlier.speakers, ...later.speakers])],
    speakerIds: [...new Set([...earlier.speakerIds, ...later.speakerIds])],
    voicedMs: earlier.voicedMs + later.voicedMs,
  };
}
