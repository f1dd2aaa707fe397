import { performance } from 'node:perf_hooks';
import type { VoiceConnection } from '@discordjs/voice';
import type { Logger } from 'pino';
import { SpeakerMixer, samplesToPcmBuffer, type FrameClock } from '../audio/index.ts';
import { FRAME_MS } from '../audio/format.ts';
import type { Config } from '../config.ts';
import { BargeInGate } from './bargeInGate.ts';
import { onInputPhase } from './inputPhase.ts';
import { ReceiveHealth, type ReceiveHealthReport } from './receiveHealth.ts';
import { SpeakerInputs } from './speakerInputs.ts';
import { SpeechActivity } from './speechActivity.ts';

/** Where heard audio goes: the realtime client of the session's conversation. */
export interface InputSink {
  appendAudio(pcm: Buffer, contributors: readonly string[]): void;
}

/** Options of {@link VoiceInput}. */
export interface VoiceInputOptions {
  connection: VoiceConnection;
  clock: FrameClock;
  bargeIn: Config['bargeIn'];
  logger: Logger;
  /** A human whose voice the room policy lets reach the model (asked at every new receive subscription). */
  mayHear(userId: string): boolean;
  /**
   * Where this tick's frame goes, or null to drop it: input held after a drag, a conversation not
   * ready, responses paused by the spend limit (nothing is sent, nothing is billed).
   */
  sink(): InputSink | null;
  /** The barge-in gate opened for this person: they are talking over the bot. */
  talkedOver(userId: string): void;
  /** Whether the session is ready (a stream that keeps failing to decrypt is recovered only then). */
  ready(): boolean;
  /** Rejoins the channel (receive-health recovery); a no-op once the session is destroyed. */
  rejoin(): void;
}

/** Keep sending audio this long after the last voiced frame, so the server's VAD sees the silence that ends a turn. */
const INPUT_HANGOVER_MS = 2_000;

/**
 * The hearing half of a voice session: each human's receive stream (SpeakerInputs) into the mixer,
 * receive health (DAVE, deafness), speech activity and the barge-in gate per speaker, and every clock
 * tick one mixed frame to the conversation. Who may be heard and where frames go are the session's
 * decisions, asked through the options.
 */
export class VoiceInput {
  /** Who spoke when, and how long (labels the turn, lists active speakers). */
  readonly speech = new SpeechActivity();
  readonly #options: VoiceInputOptions;
  readonly #mixer = new SpeakerMixer();
  readonly #inputs: SpeakerInputs;
  readonly #health: ReceiveHealth;
  readonly #gate: BargeInGate;
  readonly #unsubscribeTick: () => void;
  #destroyed = false;

  constructor(options: VoiceInputOptions) {
    this.#options = options;
    this.#gate = new BargeInGate(options.bargeIn);
    // DAVE failure containment, undecrypted-frame drop and deafness detection (see receiveHealth.ts).
    this.#health = new ReceiveHealth({
      connection: options.connection,
      logger: options.logger,
      isHeard: (userId) => this.#inputs.hears(userId),
      rejoin: () => options.rejoin(),
    });
    this.#inputs = new SpeakerInputs({
      connection: options.connection,
      mixer: this.#mixer,
      shouldHear: (userId) => options.mayHear(userId),
      onFrame: (userId, level) => this.#onSpeakerFrame(userId, level),
      admitFrame: (userId, frame) => this.#health.admitFrame(userId, frame),
      onVoicedPacket: (userId, at) => this.#health.voicedPacket(userId, at),
      onPersistentDecryptFailure: (userId) => this.#onPersistentDecryptFailure(userId),
      logger: options.logger,
    });
    // Input work runs after every session's output packet of this tick has been sent (the input
    // phase, one setImmediate for all sessions), so feeding the model never delays what people hear.
    this.#unsubscribeTick = onInputPhase(options.clock, (scheduledMs) => this.#onTick(scheduledMs), options.logger);
  }

  /** The people with a receive stream now. */
  get userIds(): Iterable<string> {
    return this.#inputs.userIds;
  }

  /** The input mixer's counters (frames received, late, overflow… per speaker). */
  get mixerStats() {
    return this.#mixer.stats();
  }

  /** End-to-end encryption (DAVE) state and receive-health counters. */
  get health(): ReceiveHealthReport {
    return this.#health.report();
  }

  /** Decryption failures recovered by re-subscribing. */
  get decryptFailures(): number {
    return this.#inputs.decryptFailures;
  }

  /** This person left the channel: their stream, health, gate and speech records go. */
  forget(userId: string): void {
    this.#inputs.remove(userId);
    this.#health.forget(userId);
    this.#gate.forget(userId);
    this.speech.forget(userId);
  }

  /**
   * Applies a change of who may be heard at once: streams of those {@link VoiceInputOptions.mayHear} no
   * longer allows are closed, and those allowed again who are talking right now are heard from now on.
   */
  recheck(): void {
    for (const userId of this.#inputs.userIds) {
      if (this.#options.mayHear(userId)) continue;
      this.#inputs.remove(userId);
      this.#gate.forget(userId);
      this.speech.forget(userId);
    }
    this.#inputs.subscribeTalking();
  }

  /** A barge-in was handled: every speaker's gate starts afresh. */
  bargeInHandled(): void {
    this.#gate.reset();
  }

  /** Closes every receive stream and stops feeding. */
  destroy(): void {
    this.#destroyed = true;
    this.#unsubscribeTick();
    this.#inputs.destroy();
    this.#health.destroy();
  }

  #onTick(scheduledMs: number): void {
    if (this.#destroyed) return;
    const now = performance.now();
    const frame = this.#mixer.pull(now, scheduledMs);
    // Only stream while someone is (or just was) talking: silence between turns costs nothing.
    if (now - this.speech.lastVoicedAt > INPUT_HANGOVER_MS && frame.silent) return;
    this.#options.sink()?.appendAudio(samplesToPcmBuffer(frame.pcm), frame.contributors);
  }

  #onSpeakerFrame(userId: string, level: number): void {
    const now = performance.now();
    this.speech.frame(userId, level, now);
    // Talking over the bot interrupts it whether it is already speaking or still thinking.
    if (this.#gate.observe(userId, level, FRAME_MS, now)) this.#options.talkedOver(userId);
  }

  #onPersistentDecryptFailure(userId: string): void {
    if (this.#options.ready()) this.#health.recover('receive stream keeps failing to decrypt', { userId });
  }
}
