/**
 * One speaker's packet jitter buffer: Opus packets in, one 24 kHz frame per output frame out, in
 * stream order whatever order the network delivered them in.
 *
 * Timeline. A stretch of speech (a talkspurt) is anchored when its first packet arrives: packet
 * slot s (its RTP timestamp minus the first one's, in 20 ms frames) plays in output frame
 * `anchor + s`. The anchor is chosen so that a packet delayed by up to the measured jitter still
 * arrives before its frame is pulled ({@link JitterEstimator}); it is chosen again at the next
 * talkspurt. Inside one, time is never compressed; it is stretched only where the network runs late
 * (an underrun: the packet due and every packet after it still missing): that frame is concealed
 * without giving up its packet, and the rest of the talkspurt plays 20 ms later (NetEq's "expand"),
 * up to the delay bound. A network that turns bad mid-speech so costs a few concealed frames, not a
 * stream of late packets dropped until the next pause.
 *
 * Decoding. Packets are decoded strictly in slot order, as soon as they are next in line (so a
 * frame is usually decoded when it arrives and its level is known at once). A packet still missing
 * when its frame is pulled is concealed by the decoder (libopus PLC, or in-band FEC from the next
 * packet when the backend can), and if it arrives after that it is dropped as late: the decoder
 * always sees one continuous stream.
 *
 * End of a talkspurt: Discord clients end a burst with silence frames (`F8 FF FE`); once the last
 * one is played and nothing else is buffered, the speaker is idle until a new packet anchors the
 * next talkspurt. Without them (lost, or a client that just stops), `maxConcealedRun` concealed
 * frames with nothing buffered end it.
 *
 * @module
 */
import { FRAME_MS, OPUS_SILENCE_FRAME } from './format.ts';
import { JitterEstimator, type JitterEstimatorOptions } from './jitterEstimator.ts';

/** What the buffer needs from a decoder: in-order decoding with concealment of lost frames. */
export interface FrameDecoder {
  /** The next frame from its packet. */
  decode(packet: Buffer): Int16Array;
  /** The next frame when its packet is lost; `next` is the packet after it, if it is already here. */
  conceal(next?: Buffer): Int16Array;
  destroy(): void;
}

/** When and where a packet came from. */
export interface PacketTiming {
  /** RTP timestamp (48 kHz clock, +960 per 20 ms frame, wraps at 2^32), if known. */
  timestamp?: number;
  /** Arrival time on a monotonic millisecond clock (the same clock as the mixer's pulls). */
  arrivalMs: number;
}

/** Where the mixer's output stands: the frame its next pull produces, and when (unknown before the first pull). */
export interface PlayoutClock {
  readonly nextFrameIndex: number;
  readonly nextFrameMs: number | undefined;
}

/** Counters of one speaker's buffer. */
export interface SpeakerJitterStats {
  /** Packets given to {@link SpeakerJitterBuffer.insert}. */
  received: number;
  /** Packets decoded. */
  decoded: number;
  /** Frames concealed because their packet was missing when it was due (or was not a usable packet). */
  concealed: number;
  /** Packets dropped because they arrived after their frame was concealed. */
  late: number;
  /** Packets dropped because the same one was already here or played. */
  duplicate: number;
  /** Packets dropped because they were too far ahead or the buffer was full. */
  overflow: number;
  /** Talkspurts anchored (the first, and each after a pause, a restart or a broken timeline). */
  talkspurts: number;
  /** Frames concealed in an underrun without giving up their packet: the delay grew by 20 ms each. */
  stretched: number;
  /** Audio waiting to be played, ms. */
  bufferedMs: number;
  /** Playout delay of the current (or last) talkspurt, ms after a packet's earliest arrival: as anchored, plus what underruns stretched it by. */
  delayMs: number;
  /** Jitter measured over the recent packets (97% of them arrived within this of the quickest), ms. */
  jitterMs: number;
}

/** Options of {@link SpeakerJitterBuffer}. */
export interface SpeakerJitterBufferOptions {
  decoder: FrameDecoder;
  clock: PlayoutClock;
  /** How the playout delay follows the measured jitter. */
  jitter?: JitterEstimatorOptions;
  /** Most audio buffered ahead of the playout point (default 1000 ms); more is dropped as overflow. */
  maxBufferedMs?: number;
  /** Concealed frames in a row, with nothing buffered, that end a talkspurt (default 5: 100 ms). */
  maxConcealedRun?: number;
}

/** RTP timestamp ticks per 20 ms frame. */
const FRAME_TICKS = 960;

/** Signed difference a − b of two 32-bit RTP timestamps, correct across the wrap. */
function rtpDelta(a: number, b: number): number {
  return (a - b) | 0;
}

function isEndOfBurst(packet: Buffer): boolean {
  return packet.equals(OPUS_SILENCE_FRAME);
}

interface DecodedFrame {
  pcm: Int16Array;
  end: boolean;
}

/** One speaker's jitter buffer and decoder. See the module comment. */
export class SpeakerJitterBuffer {
  readonly #decoder: FrameDecoder;
  readonly #clock: PlayoutClock;
  readonly #estimator: JitterEstimator;
  readonly #maxFrames: number;
  readonly #maxConcealedRun: number;
  /** Slot s of the current talkspurt plays in output frame `frame + s`; undefined while idle. */
  #anchor: { ext: number; frame: number } | undefined;
  /** Next slot to play, and next slot to decode (≥ #nextSlot). */
  #nextSlot = 0;
  #decodedUpTo = 0;
  /** Frames of slots [#nextSlot, #decodedUpTo). */
  #decoded: DecodedFrame[] = [];
  /** Packets of slots ≥ #decodedUpTo (out of order: waiting for the slots before them). */
  readonly #pending = new Map<number, Buffer>();
  /** Recent slots played from a real packet (a repeat of one is a duplicate, not a late packet). */
  readonly #playedReal = new Set<number>();
  #lastPlayedEnd = false;
  #concealedRun = 0;
  /** The last timestamp received and its unwrapped value (timestamps unwrapped past 2^32). */
  #lastTs: number | undefined;
  #lastExt = 0;
  /** Unwrapped timestamp of the last frame played before going idle (older packets are stale). */
  #lastPlayedExt: number | undefined;
  #delayMs: number;
  /** How much underruns stretched the current talkspurt (ms, added to #delayMs). */
  #stretchedMs = 0;
  #destroyed = false;
  readonly #stats = { received: 0, decoded: 0, concealed: 0, late: 0, duplicate: 0, overflow: 0, talkspurts: 0, stretched: 0 };

  constructor(options: SpeakerJitterBufferOptions) {
    this.#decoder = options.decoder;
    this.#clock = options.clock;
    this.#estimator = new JitterEstimator(options.jitter);
    this.#maxFrames = Math.max(1, Math.round((options.maxBufferedMs ?? 1000) / FRAME_MS));
    this.#maxConcealedRun = options.maxConcealedRun ?? 5;
    this.#delayMs = this.#estimator.targetDelayMs;
  }

  /** Whether a talkspurt is in progress (anchored, not yet ended). */
  get active(): boolean {
    return this.#anchor !== undefined;
  }

  /**
   * Takes one packet. Returns the frames this made decodable, in order (none when it waits for an
   * earlier one, or was dropped); never throws for bad timing.
   */
  insert(packet: Buffer, timing: PacketTiming): Int16Array[] {
    if (this.#destroyed) return [];
    this.#stats.received++;
    const ext = this.#unwrap(timing.timestamp);
    const anchor = this.#anchor;
    if (!anchor) {
      const last = this.#lastPlayedExt;
      if (last !== undefined && ext <= last && last - ext < 2 * this.#maxFrames * FRAME_TICKS) {
        this.#stats.late++; // a straggler of the talkspurt that already ended
        return [];
      }
      this.#startTalkspurt(ext, timing.arrivalMs);
      return this.#admit(0, packet);
    }
    const slot = Math.round((ext - anchor.ext) / FRAME_TICKS);
    // Far behind what plays now (a new SSRC after a reconnect starts at a random timestamp), or past
    // the buffer bound: the timeline no longer fits. With nothing buffered, start over from this
    // packet; otherwise it is dropped below (late or overflow) until the buffer has drained.
    const restarted = slot < this.#nextSlot - 2 * this.#maxFrames;
    const nothingBuffered = this.#decoded.length === 0 && this.#pending.size === 0;
    if (nothingBuffered && (restarted || slot >= this.#nextSlot + this.#maxFrames)) {
      if (restarted || slot > this.#nextSlot + 2 * this.#maxFrames) this.#estimator.reset(); // a new timebase
      this.#startTalkspurt(ext, timing.arrivalMs);
      return this.#admit(0, packet);
    }
    this.#estimator.observe(timing.arrivalMs, ext / 48);
    if (slot < this.#nextSlot) {
      if (this.#playedReal.has(slot)) this.#stats.duplicate++;
      else this.#stats.late++;
      return [];
    }
    if (slot < this.#decodedUpTo || this.#pending.has(slot)) {
      this.#stats.duplicate++;
      return [];
    }
    if (slot >= this.#nextSlot + this.#maxFrames || this.#decoded.length + this.#pending.size >= this.#maxFrames) {
      this.#stats.overflow++;
      return [];
    }
    return this.#admit(slot, packet);
  }

  /**
   * The speaker's frame for output frame `frameIndex` (call once per output frame, in order), or
   * null when the speaker is silent there (idle, or its talkspurt has not started yet).
   */
  take(frameIndex: number): Int16Array | null {
    if (this.#destroyed || !this.#anchor) return null;
    if (frameIndex - this.#anchor.frame < this.#nextSlot) return null;
    let frame: Int16Array | null = null;
    // Normally one step; more only if frames were pulled without asking this buffer. (A stretch moves
    // the anchor: the slot due is recomputed each step.)
    while (this.#anchor && this.#nextSlot <= frameIndex - this.#anchor.frame) frame = this.#playNext();
    return frame;
  }

  /** Counters since construction. */
  stats(): SpeakerJitterStats {
    return {
      ...this.#stats,
      bufferedMs: (this.#decoded.length + this.#pending.size) * FRAME_MS,
      delayMs: this.#delayMs + this.#stretchedMs,
      jitterMs: this.#estimator.jitterMs,
    };
  }

  /** Frees the decoder (its WebAssembly memory with the opusscript fallback). Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#pending.clear();
    this.#decoded = [];
    this.#decoder.destroy();
  }

  #unwrap(timestamp: number | undefined): number {
    if (timestamp === undefined) {
      // No RTP header known: arrival order is all there is, each packet the frame after the last.
      this.#lastExt += FRAME_TICKS;
      return this.#lastExt;
    }
    const ts = timestamp >>> 0;
    this.#lastExt = this.#lastTs === undefined ? ts : this.#lastExt + rtpDelta(ts, this.#lastTs);
    this.#lastTs = ts;
    return this.#lastExt;
  }

  #startTalkspurt(ext: number, arrivalMs: number): void {
    const minTransit = this.#estimator.minTransitMs; // the last talkspurt's quickest packet
    let lateness = minTransit === undefined ? undefined : arrivalMs - ext / 48 - minTransit;
    // A packet far later than any we would wait for means the sender's clock moved (its
    // timestamps did not run during a pause, or restarted): measure afresh from here.
    if (lateness !== undefined && lateness > 1000) {
      this.#estimator.reset();
      lateness = undefined;
    }
    const delay = this.#estimator.samples === 0 ? this.#delayMs : this.#estimator.targetDelayMs;
    // How late this first packet is tells how much of the delay it already used up, if the sender's
    // RTP clock ran on in step with ours through the pause (real clients' does). Lateness outside
    // what the jitter explains says it did not: then this arrival is the reference, and the whole
    // delay is kept for the packets after it.
    const inStep = lateness !== undefined && lateness >= 0 && lateness <= this.#estimator.jitterMs;
    const earliest = inStep ? arrivalMs - lateness! : arrivalMs;
    this.#estimator.startSegment();
    this.#estimator.observe(arrivalMs, ext / 48);
    const playAt = earliest + delay;
    const { nextFrameIndex, nextFrameMs } = this.#clock;
    // Before the first pull, assume it is imminent: the output clock starts with the first arrival.
    const framesAhead = Math.max(0, Math.ceil((playAt - (nextFrameMs ?? arrivalMs)) / FRAME_MS - 1e-9));
    this.#anchor = { ext, frame: nextFrameIndex + framesAhead };
    this.#delayMs = delay;
    this.#stretchedMs = 0;
    this.#nextSlot = 0;
    this.#decodedUpTo = 0;
    this.#decoded = [];
    this.#pending.clear();
    this.#playedReal.clear();
    this.#lastPlayedEnd = false;
    this.#concealedRun = 0;
    this.#stats.talkspurts++;
  }

  #admit(slot: number, packet: Buffer): Int16Array[] {
    this.#pending.set(slot, packet);
    return this.#decodeInOrder();
  }

  /** Decodes every packet that is next in line. */
  #decodeInOrder(): Int16Array[] {
    const out: Int16Array[] = [];
    for (let packet = this.#pending.get(this.#decodedUpTo); packet !== undefined; packet = this.#pending.get(this.#decodedUpTo)) {
      this.#pending.delete(this.#decodedUpTo);
      const pcm = this.#decoder.decode(packet);
      this.#decoded.push({ pcm, end: isEndOfBurst(packet) });
      this.#decodedUpTo++;
      this.#stats.decoded++;
      out.push(pcm);
    }
    return out;
  }

  /** Plays slot #nextSlot: its decoded frame, or a concealed one; or ends the talkspurt (null). */
  #playNext(): Int16Array | null {
    const slot = this.#nextSlot;
    const ready = this.#decoded.shift();
    if (ready) {
      this.#nextSlot++;
      this.#playedReal.add(slot);
      this.#playedReal.delete(slot - 4 * this.#maxFrames);
      this.#lastPlayedEnd = ready.end;
      this.#concealedRun = 0;
      return ready.pcm;
    }
    // Its packet is missing now that it is due.
    if (this.#pending.size === 0) {
      if (this.#lastPlayedEnd || this.#concealedRun >= this.#maxConcealedRun) {
        this.#goIdle();
        return null;
      }
      this.#concealedRun++;
      // Nothing after it is here either: the network runs late (an underrun) rather than having lost
      // this packet. Conceal this frame and keep waiting for the packet: everything after plays one
      // frame later (see the module comment), while the delay stays within its bound.
      if (this.#delayMs + this.#stretchedMs + FRAME_MS <= this.#estimator.maxDelayMs) {
        this.#anchor!.frame++;
        this.#stretchedMs += FRAME_MS;
        this.#stats.stretched++;
        this.#stats.concealed++;
        this.#lastPlayedEnd = false;
        return this.#decoder.conceal();
      }
    } else {
      this.#concealedRun = 0;
    }
    const pcm = this.#decoder.conceal(this.#pending.get(slot + 1));
    this.#stats.concealed++;
    this.#nextSlot++;
    this.#decodedUpTo++;
    this.#lastPlayedEnd = false;
    // Whatever waited behind the lost packet can be decoded now, ahead of its turn.
    this.#decodeInOrder();
    return pcm;
  }

  #goIdle(): void {
    const anchor = this.#anchor!;
    this.#lastPlayedExt = anchor.ext + (this.#nextSlot - 1) * FRAME_TICKS;
    this.#anchor = undefined;
    this.#decoded = [];
    this.#pending.clear();
  }
}
