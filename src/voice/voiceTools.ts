/**
 * Tools in a voice channel: the answer waits for its tools in turn-taking's `waitingForTools` state;
 * when they have not returned within the filler delay (~700 ms), the bot says a short filler (the model,
 * out of band: "One moment…") or plays a soft cue, then goes on with the result. Talking over the bot
 * stops the filler and the follow-up alike (turn-taking no longer answers that request, so the runner
 * does not continue it). Actions a tool leaves for after the answer (leaving the channel) run once the
 * bot has finished speaking.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { REALTIME_SAMPLE_RATE } from '../audio/format.ts';
import type { RealtimeClient, ResponseHandle } from '../realtime/index.ts';
import type { FillerMode } from '../tools/config.ts';
import type { RunningCall, ToolRunner } from '../tools/toolRunner.ts';
import type { TurnPlayback, TurnState, TurnTaking } from './turnTaking.ts';

/** What the model is asked to say while a tool runs (out of band: it does not enter the conversation). */
export const FILLER_INSTRUCTIONS =
  'Say only a very short, natural phrase of two to six words telling the people in the call that you are on it, ' +
  'such as "One moment, let me check." Use the language of the conversation. Say nothing else: no answer, no question.';

/** Events of {@link VoiceTools}. */
export interface VoiceToolsEvents {
  /** A filler began (for the response `request` whose tools run): `calledAt` is when the first call came. */
  filler: [{ mode: 'speech' | 'cue'; calledAt: number; at: number }];
}

/** Options of {@link VoiceTools}. */
export interface VoiceToolsOptions {
  runner: ToolRunner;
  turns: TurnTaking;
  client: RealtimeClient;
  playback: TurnPlayback;
  filler: FillerMode;
  fillerAfterMs: number;
  logger: Logger;
}

/** The voice side of one conversation's tools (made by the voice session, detached with it). */
export class VoiceTools extends EventEmitter<VoiceToolsEvents> {
  readonly #options: VoiceToolsOptions;
  /** When the first call of each waiting answer came (performance.now()). */
  readonly #calledAt = new WeakMap<ResponseHandle, number>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Answers whose follow-up is being waited for. */
  readonly #followed = new WeakSet<ResponseHandle>();
  #closed = false;
  readonly #detach: () => void;
  #cues = 0;

  constructor(options: VoiceToolsOptions) {
    super();
    this.#options = options;
    const { runner, turns } = options;
    // A spoken answer goes on after its tools only while it is still the answer in progress (a barge-in
    // or a newer turn ends it); a text answer in the same conversation always goes on.
    runner.mayContinue = (handle) => !handle.request.modalities?.includes('audio') || turns.answering(handle);
    runner.whenHeard = () => this.#whenQuiet();
    const onCall = (call: RunningCall) => this.#onCall(call);
    const onState = (previous: TurnState, next: TurnState) => this.#onState(previous, next);
    runner.on('callStarted', onCall);
    turns.on('stateChange', onState);
    this.#detach = () => {
      runner.off('callStarted', onCall);
      turns.off('stateChange', onState);
      runner.mayContinue = () => true;
      runner.whenHeard = async () => undefined;
    };
  }

  /** Stops (the voice session leaves, or talks in another conversation). */
  close(): void {
    this.#closed = true;
    this.#detach();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #onCall(call: RunningCall): void {
    const { handle } = call;
    if (!handle || this.#calledAt.has(handle) || !this.#options.turns.answering(handle)) return;
    this.#calledAt.set(handle, call.startedAt);
    this.#later(this.#options.fillerAfterMs, () => this.#maybeFill(handle));
  }

  /**
   * Follows a spoken answer (asked for by turn-taking) through its tools: the follow-up the runner
   * makes after their results becomes turn-taking's request at once — even while the first part
   * still plays, so its audio queues behind it — or is cancelled when the answer was stopped
   * meanwhile; no follow-up frees the bot.
   */
  follow(request: ResponseHandle): void {
    if (this.#followed.has(request)) return;
    this.#followed.add(request);
    const { runner, turns } = this.#options;
    void runner.continuationOf(request).then((following) => {
      if (this.#closed) return;
      if (!following) return turns.toolsEnded(request);
      if (!turns.continueWith(request, following)) return following.cancel();
      this.follow(following);
    });
  }

  #onState(previous: TurnState, next: TurnState): void {
    if (next.status === 'waitingForTools' && previous.status !== 'waitingForTools') this.#maybeFill(next.request);
  }

  /** Plays the filler if the answer is still silently waiting for its tools after the delay. */
  #maybeFill(request: ResponseHandle): void {
    const { turns, runner, filler, fillerAfterMs } = this.#options;
    const calledAt = this.#calledAt.get(request);
    const state = turns.state;
    if (filler === 'off' || calledAt === undefined || !runner.busyWith(request)) return;
    if (state.status !== 'waitingForTools' || state.request !== request || state.filler) return; // still speaking, or over
    const waited = performance.now() - calledAt;
    if (waited < fillerAfterMs) {
      this.#later(fillerAfterMs - waited, () => this.#maybeFill(request));
      return;
    }
    if (filler === 'cue') this.#playCue();
    else this.#askFiller(request);
    this.emit('filler', { mode: filler, calledAt, at: performance.now() });
  }

  #askFiller(request: ResponseHandle): void {
    const { client, turns, logger } = this.#options;
    const recent = client.history.slice(-3).map((entry) => ({ role: entry.role, text: entry.text }));
    const filler = client.createOutOfBandResponse({ modalities: ['audio'], instructions: FILLER_INSTRUCTIONS, input: recent, metadata: { purpose: 'filler' } });
    if (!turns.fillerStarted(request, filler)) filler.cancel();
    else logger.debug('tool still running: filler asked for');
  }

  #playCue(): void {
    this.#options.turns.playCue(`cue_${++this.#cues}`, fillerCue());
  }

  #later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      action();
    }, ms);
    timer.unref();
    this.#timers.add(timer);
  }

  /** Resolves once the bot has stopped talking (turn-taking free and nothing left to play), or after 30 s. */
  #whenQuiet(): Promise<void> {
    const { turns, playback } = this.#options;
    return new Promise((resolve) => {
      const started = performance.now();
      const check = () => {
        if ((!turns.busy && !playback.isPlaying) || performance.now() - started > 30_000) resolve();
        else this.#later(50, check);
      };
      check();
    });
  }
}

let cue: Buffer | null = null;

/**
 * The soft cue: two gentle notes (E5 then A5, 160 ms each, about -22 dBFS, smooth fades), 24 kHz mono
 * PCM16 — a "still working" sound that does not sound like speech.
 */
export function fillerCue(): Buffer {
  if (cue) return cue;
  const noteSamples = Math.round((REALTIME_SAMPLE_RATE * 160) / 1000);
  const notes = [659.25, 880];
  const out = Buffer.alloc(noteSamples * notes.length * 2);
  notes.forEach((hz, n) => {
    for (let i = 0; i < noteSamples; i++) {
      const envelope = Math.sin((Math.PI * i) / noteSamples) ** 2; // raised-cosine fade in and out
      const value = Math.sin((2 * Math.PI * hz * i) / REALTIME_SAMPLE_RATE) * 0.08 * envelope;
      out.writeInt16LE(Math.round(value * 32767), (n * noteSamples + i) * 2);
    }
  });
  cue = out;
  return cue;
}
