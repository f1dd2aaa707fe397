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
 * tick of the shared 20 ms clock one 48 kHz frame, Opus-encoded ahead of time, is sent with
 * `connection.playOpusPacket`, and the next frame is encoded once every session has sent (so with
 * many sessions on one clock, the last one's packet does not wait for everyone else's encoding). The first frame of a reply is sent the moment the pre-buffer fills
 * rather than at the next tick, so a reply starts within a frame of its first delta. `stop()` empties
 * everything at once (interruption) and reports how much of the item was actually sent.
 */
export class VoicePlayback {
  readonly #options: VoicePlaybackOptions;
  readonly #buffer: PlaybackBuffer;
  readonly #encoder = new OpusFrameEncoder();
  readonly #startedItems = new Set<string>();
  readonly #firstDeltaAt = new Map<string, number>();
  /** The next packet, encoded ahead of its tick so the tick itself only sends. */
  #prepared: { packet: Buffer; itemId: string | null; ms: number } | null = null;
  #preparing = false;
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
    return this.#prepared !== null || this.#buffer.isPlaying || this.#buffer.bufferedMs > 0;
  }

  /** The reply item being played, if any. */
  get currentItemId(): string | null {
    return this.#prepared?.itemId ?? this.#buffer.currentItemId;
  }

  /** Milliseconds of this item's audio that have been sent (not counting the packet encoded ahead). */
  playedMs(itemId: string): number {
    const pending = this.#prepared?.itemId === itemId ? this.#prepared.ms : 0;
    return Math.max(0, this.#buffer.playedMs(itemId) - pending);
  }

  /** Queues reply audio (24 kHz mono PCM16) of an item. */
  push(itemId: string, pcm24kMono: Buffer): void {
    if (!this.#startedItems.has(itemId) && !this.#firstDeltaAt.has(itemId)) this.#firstDeltaAt.set(itemId, performance.now());
    this.#buffer.push(itemId, pcm24kMono);
    this.#ensureTicking();
    // Start at once instead of waiting up to a frame for the next tick.
    if (!this.#speaking && performance.now() - this.#lastSendMs >= FRAME_MS) this.#sendNext(performance.now());
  }

  /** Says the item has no more audio, so its tail is played even if shorter than the pre-buffer. */
  endItem(itemId: string): void {
    this.#buffer.endItem(itemId);
    this.#ensureTicking();
  }

  /** Drops all queued audio now; returns the interrupted item and the milliseconds of it that were sent. */
  stop(): { itemId: string; playedMs: number } | null {
    const pending = this.#prepared;
    this.#prepared = null; // encoded ahead but never sent: stale once interrupted
    const interrupted = this.#buffer.clear();
    this.#firstDeltaAt.clear();
    if (this.#speaking) this.#silenceLeft = TRAILING_SILENCE_FRAMES;
    if (interrupted && pending?.itemId === interrupted.itemId) {
      return { itemId: interrupted.itemId, playedMs: Math.max(0, interrupted.playedMs - pending.ms) };
    }
    if (!interrupted && pending?.itemId) {
      return { itemId: pending.itemId, playedMs: Math.max(0, this.#buffer.playedMs(pending.itemId) - pending.ms) };
    }
    return interrupted;
  }

  /** Stops ticking and releases the clock. */
  destroy(): void {
    this.#prepared = null;
    this.#buffer.clear();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  #ensureTicking(): void {
    this.#unsubscribe ??= this.#options.clock.subscribe(({ scheduledMs }) => this.#onTick(scheduledMs));
  }

  #onTick(scheduledMs: number): void {
    // A frame was just sent out of phase (the immediate start): keep the 20 ms spacing.
    if (performance.now() - this.#lastSendMs < FRAME_MS / 2) return;
    if (this.#sendNext(scheduledMs)) return;
    if (this.#silenceLeft > 0) {
      this.#silenceLeft--;
      this.#options.connection.playOpusPacket(Buffer.from(OPUS_SILENCE_FRAME));
      if (this.#silenceLeft === 0) this.#setSpeaking(false);
      return;
    }
    if (!this.#speaking && !this.isPlaying) {
      this.#unsubscribe?.(); // idle: leave the shared clock until the next reply
      this.#unsubscribe = undefined;
    }
  }

  /**
   * Reads and encodes the next frame into the prepared slot. Run after every session of the shared
   * clock has sent its packet (setImmediate), so one session's Opus encoding never delays another's send.
   */
  #prepare(): boolean {
    if (this.#prepared) return true;
    const itemId = this.#buffer.currentItemId;
    const underrunsBefore = this.#buffer.stats().underruns;
    const playedBefore = itemId ? this.#buffer.playedMs(itemId) : 0;
    const frame = this.#buffer.read();
    if (this.#buffer.stats().underruns > underrunsBefore) this.stats.underruns++;
    if (!frame) return false;
    const ms = itemId ? this.#buffer.playedMs(itemId) - playedBefore : FRAME_MS;
    this.#prepared = { packet: this.#encoder.encode(frame), itemId, ms };
    return true;
  }

  #prepareSoon(): void {
    if (this.#preparing) return;
    this.#preparing = true;
    setImmediate(() => {
      this.#preparing = false;
      if (this.#unsubscribe) this.#prepare();
    });
  }

  /** Sends one frame if one is ready (encoding it now if it was not prepared); returns whether it did. */
  #sendNext(scheduledMs: number): boolean {
    if (!this.#prepare()) {
      if (this.#speaking && this.#silenceLeft === 0 && !this.#buffer.isPlaying) this.#silenceLeft = TRAILING_SILENCE_FRAMES;
      return false;
    }
    const { packet, itemId } = this.#prepared!;
    this.#prepared = null;
    this.#setSpeaking(true);
    this.#silenceLeft = 0;
    this.#options.connection.playOpusPacket(packet);
    this.#lastSendMs = performance.now();
    this.stats.framesSent++;
    // Lateness at the moment the packet actually left, not when the tick began.
    if (this.#lastSendMs - scheduledMs > LATE_FRAME_MS) this.stats.framesLate++;
    this.#prepareSoon();
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
