import { performance } from 'node:perf_hooks';
import { EndBehaviorType, type AudioReceiveStream, type VoiceConnection } from '@discordjs/voice';
import type { Logger } from 'pino';
import type { SpeakerMixer } from '../audio/index.ts';
import { levelDbfs } from '../audio/level.ts';
import { RtpTimestampTap } from './rtpTimestampTap.ts';

/** Options of {@link SpeakerInputs}. */
export interface SpeakerInputsOptions {
  connection: VoiceConnection;
  mixer: SpeakerMixer;
  /** Whether to listen to this user at all (false for bots, including ourselves). */
  shouldHear(userId: string): boolean;
  /** Called for every decoded frame with its level, for the barge-in gate. */
  onFrame?(userId: string, levelDbfs: number): void;
  /** Asked for every frame before it is decoded; false drops it (e.g. a frame still DAVE-encrypted). */
  admitFrame?(userId: string, frame: Buffer): boolean;
  /** A packet that may carry speech arrived from this user's SSRC (seen on the socket, before decryption). */
  onVoicedPacket?(userId: string, at: number): void;
  /** Called when a speaker's stream keeps failing to decrypt (e.g. after a DAVE re-key), so the session can rejoin. */
  onPersistentDecryptFailure?(userId: string): void;
  logger: Logger;
}

interface Speaker {
  stream: AudioReceiveStream;
  frames: number;
}

/** Stream failures in this window that make a speaker count as persistently deaf. */
const FAILURE_WINDOW_MS = 10_000;
const FAILURES_BEFORE_REJOIN = 3;

/**
 * Hears every human in the channel: one receive subscription per speaker, whose Opus packets go to
 * the mixer with their RTP timestamps (the mixer orders, decodes and conceals them per speaker; see
 * mixer.ts). A stream the receiver destroys (decryption failure — the DAVE bugs users report as
 * "the bot went deaf") is re-subscribed at once; repeated failures are reported upward. A speaker's
 * decoder is freed when they leave and when this is destroyed.
 */
export class SpeakerInputs {
  readonly #options: SpeakerInputsOptions;
  readonly #speakers = new Map<string, Speaker>();
  readonly #failures = new Map<string, number[]>();
  readonly #tap: RtpTimestampTap;
  #destroyed = false;
  readonly #onSpeakingStart = (userId: string) => this.#subscribe(userId);
  /** Decryption failures seen (streams destroyed with an error and re-subscribed). */
  decryptFailures = 0;

  constructor(options: SpeakerInputsOptions) {
    this.#options = options;
    this.#tap = new RtpTimestampTap(options.connection, { onVoicedPacket: options.onVoicedPacket });
    options.connection.receiver.speaking.on('start', this.#onSpeakingStart);
  }

  /** Users currently subscribed. */
  get userIds(): string[] {
    return [...this.#speakers.keys()];
  }

  /** Whether this user is subscribed (heard). */
  hears(userId: string): boolean {
    return this.#speakers.has(userId);
  }

  /** Packets received per user since they were subscribed. */
  framesOf(userId: string): number {
    return this.#speakers.get(userId)?.frames ?? 0;
  }

  /**
   * Subscribes everyone @discordjs/voice reports as talking right now whom the bot may hear. Its
   * speaking `start` comes once per talkspurt: a member allowed again mid-sentence (opted back in, given a
   * heard role) would otherwise stay unheard until they pause and speak again.
   */
  subscribeTalking(): void {
    for (const userId of this.#options.connection.receiver.speaking.users.keys()) this.#subscribe(userId);
  }

  /** Stops hearing a user (they left the channel). */
  remove(userId: string): void {
    const speaker = this.#speakers.get(userId);
    if (!speaker) return;
    this.#speakers.delete(userId);
    speaker.stream.removeAllListeners('data');
    speaker.stream.destroy();
    this.#options.mixer.removeSpeaker(userId);
  }

  /** Stops hearing everyone and frees every speaker's decoder, including those whose stream had closed. */
  destroy(): void {
    this.#destroyed = true;
    this.#options.connection.receiver.speaking.off('start', this.#onSpeakingStart);
    for (const userId of [...this.#speakers.keys()]) this.remove(userId);
    this.#options.mixer.removeAll();
    this.#tap.destroy();
  }

  #subscribe(userId: string): void {
    if (this.#destroyed || this.#speakers.has(userId) || !this.#options.shouldHear(userId)) return;
    const receiver = this.#options.connection.receiver;
    // A destroyed stream unregisters itself only on 'close'; never reuse one that is already dead.
    if (receiver.subscriptions.get(userId)?.destroyed) receiver.subscriptions.delete(userId);
    const stream = receiver.subscribe(userId, { end: { behavior: EndBehaviorType.Manual } });
    const speaker: Speaker = { stream, frames: 0 };
    this.#speakers.set(userId, speaker);
    stream.on('data', (packet: Buffer) => this.#onPacket(userId, speaker, packet));
    stream.on('error', (error: Error) => this.#onStreamError(userId, speaker, error));
    stream.on('close', () => {
      if (this.#speakers.get(userId) === speaker) this.#speakers.delete(userId);
    });
  }

  #onPacket(userId: string, speaker: Speaker, packet: Buffer): void {
    if (this.#options.admitFrame && !this.#options.admitFrame(userId, packet)) return;
    const header = this.#tap.latestFor(userId);
    speaker.frames++;
    // Frames come back as they become decodable in stream order (usually this packet's own).
    for (const frame of this.#options.mixer.push(userId, packet, { timestamp: header?.timestamp, arrivalMs: performance.now() })) {
      this.#options.onFrame?.(userId, levelDbfs(frame));
    }
  }

  #onStreamError(userId: string, speaker: Speaker, error: Error): void {
    this.decryptFailures++;
    this.#options.logger.warn({ userId, err: error.message }, 'voice receive stream failed; re-subscribing');
    if (this.#speakers.get(userId) === speaker) this.#speakers.delete(userId);
    const now = performance.now();
    const recent = (this.#failures.get(userId) ?? []).filter((at) => now - at < FAILURE_WINDOW_MS);
    recent.push(now);
    this.#failures.set(userId, recent);
    if (recent.length >= FAILURES_BEFORE_REJOIN) {
      this.#failures.delete(userId);
      this.#options.onPersistentDecryptFailure?.(userId);
    }
    // The receiver removes the destroyed stream from its map on close; subscribe again after that.
    setImmediate(() => this.#subscribe(userId));
  }
}
