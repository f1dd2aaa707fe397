/**
 * The wiring between a conversation's realtime client and a voice session's turn-taking: the
 * client's events (speech, committed turns, reply audio, finished responses) drive a new
 * {@link TurnTaking}; detaching removes every listener, so a replaced conversation leaves nothing behind.
 * With tools, every answer is registered with its turn's speakers (the tools it calls run with their
 * rights) and {@link VoiceTools} keeps the air alive while they run.
 */
import type { Logger } from 'pino';
import type { RealtimeClient, RealtimeEventMap } from '../realtime/index.ts';
import type { FillerMode } from '../tools/config.ts';
import type { ToolRunner } from '../tools/toolRunner.ts';
import type { Requester } from '../tools/types.ts';
import { turnLabel } from './speakerLabels.ts';
import { TurnTaking, type PendingTurn, type TurnModel, type TurnPlayback } from './turnTaking.ts';
import { VoiceTools } from './voiceTools.ts';

/** The tools side of a voice conversation. */
export interface TurnTools {
  runner: ToolRunner;
  filler: FillerMode;
  fillerAfterMs: number;
  /** Who an answer to `turn` acts for (null: nobody known, e.g. a reply asked for without speech). */
  requester(turn: PendingTurn): Requester | null;
}

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
  /** The conversation's tools (absent: answers call none). */
  tools?: TurnTools | null;
}

/** Turn-taking on `realtime`, fed by its events, the voice side of its tools, and how to detach both. */
export function attachTurnTaking(realtime: RealtimeClient, options: TurnWiringOptions): { turns: TurnTaking; tools: VoiceTools | null; detach(): void } {
  const { tools } = options;
  let voiceTools: VoiceTools | null = null;
  const base: TurnModel = {
    addContextNote: (text) => realtime.addContextNote(text),
    truncate: (itemId, audioEndMs) => realtime.truncate(itemId, audioEndMs),
    createResponse: (request, turn) => {
      const handle = realtime.createResponse(request);
      tools?.runner.register(handle, turn ? tools.requester(turn) : null);
      voiceTools?.follow(handle);
      return handle;
    },
  };
  const { playback, logger, answerAfterReplyMinMs, mayRespond, silenced } = options;
  const model = options.wrapModel ? options.wrapModel(base) : base;
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
  voiceTools = tools
    ? new VoiceTools({ runner: tools.runner, turns, client: realtime, playback: options.playback, filler: tools.filler, fillerAfterMs: tools.fillerAfterMs, logger: options.logger })
    : null;
  return {
    turns,
    tools: voiceTools,
    detach() {
      for (const off of unsubscribe) off();
      voiceTools?.close();
      turns.removeAllListeners();
    },
  };
}
