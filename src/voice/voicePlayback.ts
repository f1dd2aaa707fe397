import { performance } from 'node:perf_hooks';
import type { VoiceConnection } from '@discordjs/voice';
import { OpusFrameEncoder, PlaybackBuffer, type FrameClock } from '../audio/index.ts';
import { FRAME_MS, OPUS_SILENCE_FRAME } from '../audio/format.ts';

/** Options of {@link VoicePlayback}. */
export interface VoicePlaybackOptions {
  connection: VoiceConnection;
  clock: FrameClock;
  /** Audio to gather before the first packet of a reply (absorbs bursty deltas). */
  prebufferMs: number;
  /**
   * Called once per reply item when its first packet leaves, with the send time and the arrival time
   * of the item's first audio delta (both performance.now()): their difference is what playback adds.
   */
  onFirstPacket?(itemId: string, sentAtMs: number, firstDeltaAtMs: number): void;
}

/** Frames sent per reply, and how punctual they were. */
export interface PlaybackStats {
  framesSent: number;
  framesLate: number;
  underruns: number;
}

/** Discord clients expect a few silence frames at the end of a burst to stop interpolating. */
const TRAILING_SILENCE_FRAMES = 5;
/** A tick this far behind its schedule counts as a late frame. */
const LATE_FRAME_MS = 5;

/**
 * Plays reply audio in the voice channel: 24 kHz deltas go into a {@link PlaybackBuffer}; on each
 * tick of the shared 20 ms clock one 48 kHz frame is Opus-encoded and sent with
 * `connection.playOpusPacket`. The first frame of a reply is sent the moment the pre-buffer fills
 * rather than at the next tick, so a reply starts within a frame of its first delta. `stop()` empties
 * everything at once (interruption) and reports how much of the item was actually sent.
 */
export class VoicePlayback {
  readonly #options: VoicePlaybackOptions;
  readonly #buffer: PlaybackBuffer;
  readonly #encoder = new OpusFrameEncoder();
  readonly #startedItems = new Set<string>();
  readonly #firstDeltaAt = new Map<string, number>();
  #unsubscribe: (() => void) | undefined;
  #speaking = false;
  #silenceLeft = 0;
  #lastSendMs = -Infinity;
  readonly stats: PlaybackStats = { framesSent: 0, framesLate: 0, underruns: 0 };

  constructor(options: VoicePlaybackOptions) {
    this.#options = options;
    this.#buffer = new PlaybackBuffer({ prebufferMs: options.prebufferMs });
  }

  /** Whether reply audio is being sent or waiting to be sent. */
  get isPlaying(): boolean {
    return this.#buffer.isPlaying || this.#buffer.bufferedMs > 0;
  }

  /** The reply item being played, if any. */
  get currentItemId(): string | null {
    return this.#buffer.currentItemId;
  }

  /** Milliseconds of this item's audio that have been sent. */
  playedMs(itemId: string): number {
    return this.#buffer.playedMs(itemId);
  }

  /** Queues reply audio (24 kHz mono PCM16) of an item. */
  push(itemId: string, pcm24kMono: Buffer): void {
    if (!this.#startedItems.has(itemId) && !this.#firstDeltaAt.has(itemId)) this.#firstDeltaAt.set(itemId, performance.now());
    this.#buffer.push(itemId, pcm24kMono);
    this.#ensureTicking();
    // Start at once instead of waiting up to a frame for the next tick.
    if (!this.#speaking && performance.now() - this.#lastSendMs >= FRAME_MS) this.#sendNext(0);
  }

  /** Says the item has no more audio, so its tail is played even if shorter than the pre-buffer. */
  endItem(itemId: string): void {
    this.#buffer.endItem(itemId);
    this.#ensureTicking();
  }

  /** Drops all queued audio now; returns the interrupted item and the milliseconds of it that were sent. */
  stop(): { itemId: string; playedMs: number } | null {
    const interrupted = this.#buffer.clear();
    this.#firstDeltaAt.clear();
    if (this.#speaking) this.#silenceLeft = TRAILING_SILENCE_FRAMES;
    return interrupted;
  }

  /** Stops ticking and releases the clock. */
  destroy(): void {
    this.#buffer.clear();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  #ensureTicking(): void {
    this.#unsubscribe ??= this.#options.clock.subscribe(({ lateMs }) => this.#onTick(lateMs));
  }

  #onTick(lateMs: number): void {
    // A frame was just sent out of phase (the immediate start): keep the 20 ms spacing.
    if (performance.now() - this.#lastSendMs < FRAME_MS / 2) return;
    if (this.#sendNext(lateMs)) return;
    if (this.#silenceLeft > 0) {
      this.#silenceLeft--;
      this.#options.connection.playOpusPacket(Buffer.from(OPUS_SILENCE_FRAME));
      if (this.#silenceLeft === 0) this.#setSpeaking(false);
      return;
    }
    if (!this.#speaking && !this.#buffer.isPlaying && this.#buffer.bufferedMs === 0) {
      this.#unsubscribe?.(); // idle: leave the shared clock until the next reply
      this.#unsubscribe = undefined;
    }
  }

  /** Sends one frame if one is ready; returns whether it did. */
  #sendNext(lateMs: number): boolean {
    const itemId = this.#buffer.currentItemId;
    const underrunsBefore = this.#buffer.stats().underruns;
    const frame = this.#buffer.read();
    if (this.#buffer.stats().underruns > underrunsBefore) this.stats.underruns++;
    if (!frame) {
      if (this.#speaking && this.#silenceLeft === 0 && !this.#buffer.isPlaying) this.#silenceLeft = TRAILING_SILENCE_FRAMES;
      return false;
    }
    this.#setSpeaking(true);
    this.#silenceLeft = 0;
    const packet = this.#encoder.encode(frame);
    this.#options.connection.playOpusPacket(packet);
    this.#lastSendMs = performance.now();
    this.stats.framesSent++;
    if (lateMs > LATE_FRAME_MS) this.stats.framesLate++;
    if (itemId && !this.#startedItems.has(itemId)) {
      this.#startedItems.add(itemId);
      if (this.#startedItems.size > 256) this.#startedItems.delete(this.#startedItems.values().next().value!);
      const firstDeltaAt = this.#firstDeltaAt.get(itemId) ?? this.#lastSendMs;
      this.#firstDeltaAt.delete(itemId);
      this.#options.onFirstPacket?.(itemId, this.#lastSendMs, firstDeltaAt);
    }
    return true;
  }

  #setSpeaking(speaking: boolean): void {
    if (this.#speaking === speaking) return;
    this.#speaking = speaking;
    this.#options.connection.setSpeaking(speaking);
  }
}
