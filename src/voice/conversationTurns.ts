/**
 * The wiring between a conversation's realtime client and a voice session's turn-taking: the
 * client's events (speech, committed turns, reply audio, finished responses) drive a new
 * {@link TurnTaking}; detaching removes every listener, so a replaced conversation leaves nothing behind.
 */
import type { Logger } from 'pino';
import type { RealtimeClient, RealtimeEventMap } from '../realtime/index.ts';
import { turnLabel } from './speakerLabels.ts';
import { TurnTaking, type PendingTurn, type TurnModel, type TurnPlayback } from './turnTaking.ts';

/** What the voice session provides. */
export interface TurnWiringOptions {
  playback: TurnPlayback;
  logger: Logger;
  /** A turn finished during a reply, and that lasted at least this long, is answered after the reply. */
  answerAfterReplyMinMs: number;
  /** Whether a user turn may be answered now (false while the spend limit is reached); default always. */
  mayRespond?: () => boolean;
  /** Why the bot may not speak now, or null (see TurnTakingOptions.silenced). */
  silenced?: () => string | null;
  /** The turn the server just committed, as the voice session heard it (contributors are user ids). */
  turnOf(contributorIds: readonly string[]): PendingTurn;
  /** Sees the model as turn-taking will (the addressing gate decides each answer asked for). */
  wrapModel?(model: TurnModel): TurnModel;
}

/** Turn-taking on `realtime`, fed by its events, and how to detach it. */
export function attachTurnTaking(realtime: RealtimeClient, options: TurnWiringOptions): { turns: TurnTaking; detach(): void } {
  const { playback, logger, answerAfterReplyMinMs, mayRespond, silenced } = options;
  const model = options.wrapModel ? options.wrapModel(realtime) : realtime;
  const turns = new TurnTaking({ model, playback, logger, answerAfterReplyMinMs, ...(mayRespond ? { mayRespond } : {}), ...(silenced ? { silenced } : {}) }, turnLabel);
  const listen = <K extends keyof RealtimeEventMap>(name: K, listener: (...args: RealtimeEventMap[K]) => void): (() => void) => {
    realtime.on(name, listener as never);
    return () => realtime.off(name, listener as never);
  };
  const unsubscribe = [
    listen('speech_started', () => turns.speechStarted()),
    listen('speech_stopped', () => turns.speechStopped()),
    listen('input_committed', ({ contributors }) => turns.turnCommitted(options.turnOf(contributors))),
    listen('audio_delta', ({ responseId, itemId, pcm }) => turns.audio(responseId, itemId, pcm)),
    listen('audio_done', ({ responseId, itemId }) => turns.audioDone(responseId, itemId)),
    listen('response_done', (result) => turns.responseDone(result)),
  ];
  return {
    turns,
    detach() {
      for (const off of unsubscribe) off();
      turns.removeAllListeners();
    },
  };
}
