import { performance } from 'node:perf_hooks';
import type { VoiceConnection } from '@discordjs/voice';
import { PlaybackBuffer, type FrameClock, type OpusEncodeStream } from '../audio/index.ts';
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
  /** Called when everything queued has been sent (trailing silence included) and playback goes idle. */
  onIdle?(): void;
  /** Monotonic milliseconds, the clock's time source (default `performance.now()`; tests drive it). */
  now?: () => number;
  /** Where frames are Opus-encoded (a stream of the bot's encoder thread; destroyed with the playback). */
  encoder: OpusEncodeStream;
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
 * Frames read and handed to the encoder ahead of their tick. Three: the next tick's packet is ready
 * even if the encoder thread is two ticks slow (it shares two busy cores with everything else); an
 * interruption drops at most 60 ms of read but unsent audio (`stop()` subtracts it from what was played).
 * With two, a third of the late frames at 40 sessions waited for the encoder: 0.88–2.73% late against
 * 0.40–0.69% with three (`npm run bench -- load`, DAVE on, quiet runs, bench/README.md).
 */
const LOOKAHEAD_FRAMES = 3;

/** A frame read from the buffer and not yet sent: its packet arrives from the encoder. */
interface UnsentFrame {
  itemId: string | null;
  /** Milliseconds of the item's audio in this frame (less than 20 for an item's last frame). */
  ms: number;
  packet: Buffer | null;
  /** Handed to `connection.prepareAudioPacket` (encrypted, header written): the tick only dispatches it. */
  prepared: boolean;
}

/** Milliseconds of an item's audio in frames read but not sent. */
function unsentMs(frames: readonly UnsentFrame[], itemId: string): number {
  let ms = 0;
  for (const frame of frames) if (frame.itemId === itemId) ms += frame.ms;
  return ms;
}

/**
 * Plays reply audio in the voice channel: 24 kHz deltas go into a {@link PlaybackBuffer}; frames are
 * read a little ahead and Opus-encoded off the main thread ({@link OpusEncodeStream}); the next packet
 * is prepared ahead (`connection.prepareAudioPacket`: DAVE end-to-end and transport encryption, RTP
 * header) right after the previous one left, and on each tick of the shared 20 ms clock it is only
 * dispatched, so a tick only sends: with many sessions on one clock, the last session's packet no
 * longer waits for every other session's encryption.
 * The first frame of a reply is sent the moment it is encoded rather than at the next tick, so a reply
 * starts within about a millisecond of its pre-buffer filling. `stop()` empties everything at once
 * (interruption) and reports how much of the item was actually sent.
 *
 * Where a piece of audio can be, in order, and why each queue exists:
 *
 *   PlaybackBuffer ──read──► #unsent[0..2] ──encoded──► sent on a tick ──► (5 silence frames when done)
 *   (24 kHz PCM,             (frames read ahead:        (one per tick; a tick that finds the head
 *    pre-buffered)            packet null while           frame still encoding is kept in #owedTicks
 *                             encoding, set when ready)   and paid, in order, the moment it is ready)
 *
 * - The buffer holds what the model sent and nobody has read yet; it absorbs bursty deltas.
 * - `#unsent` holds at most {@link LOOKAHEAD_FRAMES} frames: reading ahead lets the encoder thread
 *   work before the tick that sends them. Each records its item and how many milliseconds of it it
 *   carries, so `stop()` and `playedMs()` subtract exactly what was read but never sent.
 * - `#owedTicks` holds the scheduled times of ticks that came while the head frame was still being
 *   encoded, so a slow encoder delays a packet (counted late) instead of skipping one.
 */
export class VoicePlayback {
  readonly #options: VoicePlaybackOptions;
  readonly #buffer: PlaybackBuffer;
  readonly #encoder: OpusEncodeStream;
  readonly #now: () => number;
  readonly #startedItems = new Set<string>();
  readonly #firstDeltaAt = new Map<string, number>();
  /** Read from the buffer, in order, not yet sent (being encoded, or encoded and waiting for a tick). */
  #unsent: UnsentFrame[] = [];
  /** Ticks that came while the next packet was still being encoded: it goes out as soon as it is ready. */
  #owedTicks: number[] = [];
  #unsubscribe: (() => void) | undefined;
  #speaking = false;
  #silenceLeft = 0;
  #lastSendMs = -Infinity;
  /** When a reply's first packet was sent at once, off the clock's phase. */
  #offPhaseStartMs = -Infinity;
  /** The work after a send (read ahead, prepare the next packet) waits until every session of the tick has sent. */
  #afterSendScheduled = false;
  #destroyed = false;
  readonly stats: PlaybackStats = { framesSent: 0, framesLate: 0, underruns: 0 };

  constructor(options: VoicePlaybackOptions) {
    this.#options = options;
    this.#buffer = new PlaybackBuffer({ prebufferMs: options.prebufferMs });
    this.#encoder = options.encoder;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Whether reply audio is being sent or waiting to be sent. */
  get isPlaying(): boolean {
    return this.#unsent.length > 0 || this.#buffer.isPlaying || this.#buffer.bufferedMs > 0;
  }

  /** The reply item being played, if any. */
  get currentItemId(): string | null {
    return this.#unsent[0]?.itemId ?? this.#buffer.currentItemId;
  }

  /** Milliseconds of this item's audio that have been sent (not counting frames read ahead). */
  playedMs(itemId: string): number {
    return Math.max(0, this.#buffer.playedMs(itemId) - unsentMs(this.#unsent, itemId));
  }

  /** Queues reply audio (24 kHz mono PCM16) of an item. */
  push(itemId: string, pcm24kMono: Buffer): void {
    if (!this.#startedItems.has(itemId) && !this.#firstDeltaAt.has(itemId)) this.#firstDeltaAt.set(itemId, this.#now());
    this.#buffer.push(itemId, pcm24kMono);
    this.#ensureTicking();
    // Start encoding at once: the first packet leaves when ready instead of at the next tick.
    if (!this.#speaking) this.#readAhead();
  }

  /** Says the item has no more audio, so its tail is played even if shorter than the pre-buffer. */
  endItem(itemId: string): void {
    this.#buffer.endItem(itemId);
    this.#ensureTicking();
    if (!this.#speaking) this.#readAhead();
  }

  /** Drops all queued audio now; returns the interrupted item and the milliseconds of it that were sent. */
  stop(): { itemId: string; playedMs: number } | null {
    const unsent = this.#unsent;
    this.#unsent = []; // read ahead but never sent: stale once interrupted
    this.#owedTicks = [];
    const cleared = this.#buffer.clear();
    this.#firstDeltaAt.clear();
    if (this.#speaking) this.#silenceLeft = TRAILING_SILENCE_FRAMES;
    // The item being heard is the oldest unsent frame's, else the buffer's current one.
    const itemId = unsent[0]?.itemId ?? cleared?.itemId;
    if (!itemId) return null;
    const readMs = cleared?.itemId === itemId ? cleared.playedMs : this.#buffer.playedMs(itemId);
    return { itemId, playedMs: Math.max(0, readMs - unsentMs(unsent, itemId)) };
  }

  /** Stops ticking and releases the clock and the encoder. */
  destroy(): void {
    this.#destroyed = true;
    this.#unsent = [];
    this.#owedTicks = [];
    this.#buffer.clear();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#encoder.destroy();
  }

  #ensureTicking(): void {
    this.#unsubscribe ??= this.#options.clock.subscribe(({ scheduledMs }) => this.#onTick(scheduledMs));
  }

  #onTick(scheduledMs: number): void {
    // A reply's first frame was just sent out of phase (the immediate start): keep the 20 ms spacing.
    if (this.#now() - this.#offPhaseStartMs < FRAME_MS / 2) return;
    this.#readAhead();
    const next = this.#unsent[0];
    if (next) {
      if (next.packet && this.#owedTicks.length === 0) this.#send(next, scheduledMs);
      else this.#owedTicks.push(scheduledMs); // still encoding: sent the moment it is ready
      return;
    }
    if (this.#speaking && this.#silenceLeft === 0 && !this.#buffer.isPlaying) this.#silenceLeft = TRAILING_SILENCE_FRAMES;
    if (this.#silenceLeft > 0) {
      this.#silenceLeft--;
      this.#options.connection.playOpusPacket(Buffer.from(OPUS_SILENCE_FRAME));
      if (this.#silenceLeft === 0) this.#setSpeaking(false);
      return;
    }
    if (!this.#speaking && !this.isPlaying) {
      this.#unsubscribe?.(); // idle: leave the shared clock until the next reply
      this.#unsubscribe = undefined;
      this.#options.onIdle?.();
    }
  }

  /** Reads frames up to the lookahead and hands them to the encoder. */
  #readAhead(): void {
    while (this.#unsent.length < LOOKAHEAD_FRAMES) {
      const itemId = this.#buffer.currentItemId;
      const underrunsBefore = this.#buffer.stats().underruns;
      const playedBefore = itemId ? this.#buffer.playedMs(itemId) : 0;
      const pcm = this.#buffer.read();
      if (this.#buffer.stats().underruns > underrunsBefore) this.stats.underruns++;
      if (!pcm) return;
      const frame: UnsentFrame = { itemId, ms: itemId ? this.#buffer.playedMs(itemId) - playedBefore : FRAME_MS, packet: null, prepared: false };
      this.#unsent.push(frame);
      this.#encoder.encode(pcm).then(
        (packet) => this.#onEncoded(frame, packet),
        () => this.#onEncoded(frame, null),
      );
    }
  }

  #onEncoded(frame: UnsentFrame, packet: Buffer | null): void {
    const index = this.#unsent.indexOf(frame);
    if (index < 0) return; // interrupted (or destroyed) while it was being encoded
    if (!packet) {
      this.#unsent.splice(index, 1); // cannot happen with whole frames; never block the queue on it
      return;
    }
    frame.packet = packet;
    // Ticks that passed while encoding are paid now, in order (each counted late if it is).
    while (this.#owedTicks.length > 0 && this.#unsent[0]?.packet) this.#send(this.#unsent[0], this.#owedTicks.shift()!);
    // The first frame of a reply goes out at once rather than waiting for the next tick.
    if (!this.#speaking && this.#unsent[0]?.packet && this.#now() - this.#lastSendMs >= FRAME_MS) {
      this.#offPhaseStartMs = this.#now();
      this.#send(this.#unsent[0], this.#offPhaseStartMs);
    }
    this.#prepareHead();
  }

  /**
   * Prepares the next packet to send. The library keeps one prepared packet and writes the RTP
   * sequence and timestamp when preparing, so only the head of the queue is prepared, and only once
   * the packet before it has left.
   */
  #prepareHead(): void {
    const head = this.#unsent[0];
    if (!head?.packet || head.prepared || this.#owedTicks.length > 0) return;
    head.prepared = this.#options.connection.prepareAudioPacket(head.packet) !== undefined;
  }

  #afterSend(): void {
    if (this.#afterSendScheduled) return;
    this.#afterSendScheduled = true;
    setImmediate(() => {
      this.#afterSendScheduled = false;
      if (this.#destroyed) return;
      this.#readAhead();
      this.#prepareHead();
    });
  }

  #send(frame: UnsentFrame, scheduledMs: number): void {
    this.#unsent.shift();
    this.#setSpeaking(true);
    this.#silenceLeft = 0;
    // The prepared packet, unless the connection lost it (reconnected) or something else was sent since.
    if (!(frame.prepared && this.#options.connection.dispatchAudio())) this.#options.connection.playOpusPacket(frame.packet!);
    this.#lastSendMs = this.#now();
    this.stats.framesSent++;
    // Lateness at the moment the packet actually left, not when the tick began.
    if (this.#lastSendMs - scheduledMs > LATE_FRAME_MS) this.stats.framesLate++;
    const { itemId } = frame;
    if (itemId && !this.#startedItems.has(itemId)) {
      this.#startedItems.add(itemId);
      if (this.#startedItems.size > 256) this.#startedItems.delete(this.#startedItems.values().next().value!);
      const firstDeltaAt = this.#firstDeltaAt.get(itemId) ?? this.#lastSendMs;
      this.#firstDeltaAt.delete(itemId);
      this.#options.onFirstPacket?.(itemId, this.#lastSendMs, firstDeltaAt);
    }
    this.#afterSend();
  }

  #setSpeaking(speaking: boolean): void {
    if (this.#speaking === speaking) return;
    this.#speaking = speaking;
    this.#options.connection.setSpeaking(speaking);
  }
}
