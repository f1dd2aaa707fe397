/**
 * Holds the model's audio (24 kHz mono PCM16 deltas, which arrive in bursts faster than real time)
 * and hands it out as steady 20 ms frames of the same 24 kHz mono, item by item, for the Opus
 * encoder, which takes them as they are (no upsampling or upmix: see PLAYBACK_FRAME_SAMPLES).
 *
 * What it counts matters for interruptions: when the user barges in, the bot truncates the model's
 * item to exactly the audio handed out so far, so {@link PlaybackBuffer.playedMs} counts source
 * samples of real audio (not the silence that pads an item's last frame).
 *
 * @module
 */
import { PLAYBACK_FRAME_SAMPLES, REALTIME_SAMPLE_RATE } from './format.ts';
import { OPUS_ENCODER_DELAY_24K } from './opusCodec.ts';

/**
 * Silence that must follow an item's last sample in its last frame for the whole item to be heard:
 * the Opus encoder holds back its look-ahead (a packet decodes to its frame's audio delayed by it,
 * 6.5 ms). With less padding than this, one more frame (the flush) follows. (Nothing else delays
 * the audio on its way: the frames are the model's samples as they came.)
 */
const FLUSH_SAMPLES = OPUS_ENCODER_DELAY_24K;

/** Options for {@link PlaybackBuffer}. */
export interface PlaybackBufferOptions {
  /** Buffered audio an item needs before its first frame is handed out, unless it is complete (default 40 ms). */
  prebufferMs?: number;
  /** Bound on all buffered audio; pushes beyond it are dropped and counted (default 10 minutes). */
  maxBufferedMs?: number;
  /** Finished or cleared items whose played ms stay queryable (default 64). */
  rememberedItems?: number;
}

/** Counters of a {@link PlaybackBuffer}. */
export interface PlaybackBufferStats {
  /** Times an item ran dry in the middle (nothing buffered, not ended). */
  underruns: number;
  /** Frames handed out by read(). */
  framesOut: number;
  /** Source audio dropped because the buffer was full, in ms. */
  droppedMs: number;
  /** Deltas ignored because their item was cleared or already ended. */
  ignoredPushes: number;
  /** Items played to their end. */
  itemsCompleted: number;
  /** Frames of silence added after an item so its end is played in full. */
  flushFrames: number;
}

interface Item {
  id: string;
  /** Pending samples: chunks[0] from `offset` on, then the rest. */
  chunks: Int16Array[];
  offset: number;
  samples: number;
  /** The low byte of a sample whose high byte has not arrived yet. */
  carry: number | undefined;
  ended: boolean;
  /** Whether a frame of it was handed out (prebuffering is over). */
  started: boolean;
  /** Source samples of real audio handed out. */
  played: number;
  /** Silence after the real samples in the last frame handed out. */
  lastPadding: number;
}

const samplesToMs = (samples: number) => (samples * 1000) / REALTIME_SAMPLE_RATE;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Turns a PCM16LE delta into samples (copied: the caller may reuse its buffer), carrying an odd byte. */
function decodeDelta(item: Item, bytes: Buffer): Int16Array {
  const carry = item.carry;
  const total = bytes.length + (carry === undefined ? 0 : 1);
  const samples = new Int16Array(total >> 1);
  let from = 0;
  let to = 0;
  if (carry !== undefined && samples.length > 0) {
    samples[0] = (bytes[0]! << 8) | carry; // Int16Array stores the 16-bit pattern as signed
    from = 1;
    to = 1;
  }
  const whole = samples.length - to;
  if (LITTLE_ENDIAN) new Uint8Array(samples.buffer, to * 2, whole * 2).set(bytes.subarray(from, from + whole * 2));
  else for (let i = 0; i < whole; i++) samples[to + i] = bytes.readInt16LE(from + i * 2);
  const consumed = from + whole * 2;
  item.carry = total % 2 === 1 ? (consumed < bytes.length ? bytes[consumed] : carry) : undefined;
  return samples;
}

/** Queues response audio and hands it out in 20 ms 24 kHz mono frames. */
export class PlaybackBuffer {
  readonly #prebufferSamples: number;
  readonly #maxBufferedSamples: number;
  readonly #remembered: number;
  readonly #queue: Item[] = [];
  /** Played ms of items no longer queued (finished or cleared), oldest first. */
  readonly #history = new Map<string, number>();
  #buffered = 0;
  #starved = false;
  /** The last item's tail is still in the encoder's look-ahead: the next read flushes it. */
  #flushPending = false;
  readonly #stats: PlaybackBufferStats = { underruns: 0, framesOut: 0, droppedMs: 0, ignoredPushes: 0, itemsCompleted: 0, flushFrames: 0 };

  constructor(options: PlaybackBufferOptions = {}) {
    this.#prebufferSamples = Math.round(((options.prebufferMs ?? 40) * REALTIME_SAMPLE_RATE) / 1000);
    this.#maxBufferedSamples = Math.round(((options.maxBufferedMs ?? 600_000) * REALTIME_SAMPLE_RATE) / 1000);
    this.#remembered = options.rememberedItems ?? 64;
  }

  /** Milliseconds of source audio waiting to be handed out, over all items. */
  get bufferedMs(): number {
    return samplesToMs(this.#buffered);
  }

  /** The item being played or next to play, or null when nothing is queued. */
  get currentItemId(): string | null {
    return this.#queue[0]?.id ?? null;
  }

  /** True once the current item's first frame was handed out, until it (and its flush frame) ended or is cleared. */
  get isPlaying(): boolean {
    return this.#flushPending || (this.#queue[0]?.started ?? false);
  }

  /**
   * Appends a delta of 24 kHz mono PCM16LE audio to an item (queued after the items before it).
   * Any byte length works; an odd byte waits for the next delta. Deltas for an item that was
   * cleared or ended are ignored (the model keeps streaming briefly after a cancel).
   */
  push(itemId: string, pcm24kMono: Buffer): void {
    if (this.#history.has(itemId)) {
      this.#stats.ignoredPushes++;
      return;
    }
    let item = this.#queue.find((candidate) => candidate.id === itemId);
    if (item?.ended) {
      this.#stats.ignoredPushes++;
      return;
    }
    if (!item) {
      item = { id: itemId, chunks: [], offset: 0, samples: 0, carry: undefined, ended: false, started: false, played: 0, lastPadding: 0 };
      this.#queue.push(item);
    }
    let samples = decodeDelta(item, pcm24kMono);
    const room = this.#maxBufferedSamples - this.#buffered;
    if (samples.length > room) {
      this.#stats.droppedMs += samplesToMs(samples.length - Math.max(0, room));
      samples = samples.subarray(0, Math.max(0, room));
    }
    if (samples.length === 0) return;
    item.chunks.push(samples);
    item.samples += samples.length;
    this.#buffered += samples.length;
  }

  /** Marks an item complete: its remainder plays out, the last frame padded with silence. */
  endItem(itemId: string): void {
    const item = this.#queue.find((candidate) => candidate.id === itemId);
    if (item) {
      item.ended = true;
      item.carry = undefined; // half a sample can never be completed now
    }
  }

  /**
   * The next 20 ms frame (480 samples of 24 kHz mono, a new array), or null when none is ready:
   * nothing queued, the current item is still prebuffering, or it ran dry (an underrun, counted once
   * per dry spell; the item then prebuffers again before resuming). After an item's last frame comes
   * one frame of silence when the last frame had too little of it to carry the item's end out of the
   * Opus encoder's look-ahead (see FLUSH_SAMPLES): the end of every reply is heard in full.
   */
  read(): Int16Array | null {
    if (this.#flushPending) return this.#flush();
    let item = this.#queue[0];
    while (item && item.ended && item.samples === 0) {
      this.#finish(item); // ended with nothing left (e.g. ended exactly on a frame boundary)
      if (this.#flushPending) return this.#flush();
      item = this.#queue[0];
    }
    if (!item) return null;
    const enough = item.samples >= PLAYBACK_FRAME_SAMPLES;
    if (!item.ended && !enough) {
      if (item.started && !this.#starved) {
        this.#starved = true;
        this.#stats.underruns++;
      }
      return null;
    }
    if (!item.ended && (!item.started || this.#starved) && item.samples < Math.max(this.#prebufferSamples, PLAYBACK_FRAME_SAMPLES)) {
      return null;
    }
    this.#starved = false;
    const frame = new Int16Array(PLAYBACK_FRAME_SAMPLES); // zeros: the padding of a short last frame
    const taken = this.#take(item, frame);
    item.played += taken;
    item.started = true;
    item.lastPadding = PLAYBACK_FRAME_SAMPLES - taken;
    this.#stats.framesOut++;
    if (item.ended && item.samples === 0) this.#finish(item);
    return frame;
  }

  /**
   * Drops everything instantly (the user interrupted). Returns the item that was current, with the
   * milliseconds of it handed out so far (what to truncate it to), or null when nothing was queued.
   */
  clear(): { itemId: string; playedMs: number } | null {
    const current = this.#queue[0];
    for (const item of this.#queue) this.#remember(item);
    this.#queue.length = 0;
    this.#buffered = 0;
    this.#starved = false;
    this.#flushPending = false; // interrupted: nothing more of it is wanted
    return current ? { itemId: current.id, playedMs: Math.floor(samplesToMs(current.played)) } : null;
  }

  /** Whole milliseconds of this item's audio handed out by read() (0 for an unknown item). */
  playedMs(itemId: string): number {
    const queued = this.#queue.find((item) => item.id === itemId);
    const samples = queued ? queued.played : undefined;
    if (samples !== undefined) return Math.floor(samplesToMs(samples));
    return this.#history.get(itemId) ?? 0;
  }

  /** Counters since construction. */
  stats(): PlaybackBufferStats {
    return { ...this.#stats };
  }

  /** Moves up to one frame of the item's samples into `target`; returns how many. */
  #take(item: Item, target: Int16Array): number {
    let taken = 0;
    while (taken < target.length && item.chunks.length > 0) {
      const chunk = item.chunks[0]!;
      const n = Math.min(target.length - taken, chunk.length - item.offset);
      target.set(chunk.subarray(item.offset, item.offset + n), taken);
      taken += n;
      item.offset += n;
      if (item.offset === chunk.length) {
        item.chunks.shift();
        item.offset = 0;
      }
    }
    item.samples -= taken;
    this.#buffered -= taken;
    return taken;
  }

  #finish(item: Item): void {
    this.#queue.shift();
    this.#remember(item);
    this.#stats.itemsCompleted++;
    this.#starved = false;
    if (item.started && item.lastPadding < FLUSH_SAMPLES) this.#flushPending = true;
  }

  /** The frame of silence that carries the last item's end out of the encoder's look-ahead. */
  #flush(): Int16Array {
    this.#flushPending = false;
    this.#stats.framesOut++;
    this.#stats.flushFrames++;
    return new Int16Array(PLAYBACK_FRAME_SAMPLES);
  }

  #remember(item: Item): void {
    this.#history.delete(item.id);
    this.#history.set(item.id, Math.floor(samplesToMs(item.played)));
    if (this.#history.size > this.#remembered) this.#history.delete(this.#history.keys().next().value!);
  }
}
