/**
 * The wiring between a conversation's realtime client and a voice session's turn-taking: the
 * client's events (speech, committed turns, reply audio, finished responses) drive a new
 * {@link TurnTaking}; detaching removes every listener, so a replaced conversation leaves nothing behind.
 */
import type { Logger } from 'pino';
import type { RealtimeClient, ResponseResult } from '../realtime/index.ts';
import { speakerLabel } from './speakerLabels.ts';
import { TurnTaking, type PendingTurn, type TurnPlayback } from './turnTaking.ts';

/** What the voice session provides. */
export interface TurnWiringOptions {
  playback: TurnPlayback;
  logger: Logger;
  /** A turn finished during a reply, and that lasted at least this long, is answered after the reply. */
  answerAfterReplyMinMs: number;
  /** The turn the server just committed, as the voice session heard it (contributors are user ids). */
  turnOf(contributorIds: readonly string[]): PendingTurn;
}

/** Turn-taking on `realtime`, fed by its events, and how to detach it. */
export function attachTurnTaking(realtime: RealtimeClient, options: TurnWiringOptions): { turns: TurnTaking; detach(): void } {
  const turns = new TurnTaking({ model: realtime, playback: options.playback, logger: options.logger, answerAfterReplyMinMs: options.answerAfterReplyMinMs }, speakerLabel);
  const onSpeechStarted = () => turns.speechStarted();
  const onSpeechStopped = () => turns.speechStopped();
  const onCommitted = ({ contributors }: { contributors: string[] }) => turns.turnCommitted(options.turnOf(contributors));
  const onAudio = ({ responseId, itemId, pcm }: { responseId: string; itemId: string; pcm: Buffer }) => turns.audio(responseId, itemId, pcm);
  const onAudioDone = ({ responseId, itemId }: { responseId: string; itemId: string }) => turns.audioDone(responseId, itemId);
  const onDone = (result: ResponseResult) => turns.responseDone(result);
  realtime.on('speech_started', onSpeechStarted);
  realtime.on('speech_stopped', onSpeechStopped);
  realtime.on('input_committed', onCommitted);
  realtime.on('audio_delta', onAudio);
  realtime.on('audio_done', onAudioDone);
  realtime.on('response_done', onDone);
  return {
    turns,
    detach() {
      realtime.off('speech_started', onSpeechStarted);
      realtime.off('speech_stopped', onSpeechStopped);
      realtime.off('input_committed', onCommitted);
      realtime.off('audio_delta', onAudio);
      realtime.off('audio_done', onAudioDone);
      realtime.off('response_done', onDone);
      turns.removeAllListeners();
    },
  };
}
