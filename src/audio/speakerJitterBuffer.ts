/**
 * One speaker's packet jitter buffer: Opus packets in, one 24 kHz frame per output frame out, in
 * stream order whatever order the network delivered them in.
 *
 * Timeline. A stretch of speech (a talkspurt) is anchored when its first packet arrives: packet
 * slot s (its RTP timestamp minus the first one's, in 20 ms frames) plays in output frame
 * `anchor + s`. The anchor is chosen so that a packet delayed by up to the measured jitter still
 * arrives before its frame is pulled ({@link JitterEstimator}); it is chosen again at the next
 * talkspurt. Inside one, time is stretched where the network runs later than the delay allows (an
 * underrun: the packet due and every packet after it still missing, while the delay is below what
 * the measured jitter calls for): that frame is concealed without giving up its packet, and the rest
 * of the talkspurt plays 20 ms later (NetEq's "expand"), up to the delay bound. When the delay has
 * grown 20 ms or more above what the jitter calls for (after a spike, or a talkspurt anchored on a
 * late first packet), the next quiet frame (a pause between syllables: {@link QuietFrames}) is left
 * out and everything after plays 20 ms sooner. Speech itself is never compressed.
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
import { JitterEstimator } from './jitterEstimator.ts';
import type { FrameDecoder, PacketTiming, PlayoutClock, SpeakerJitterBufferOptions, SpeakerJitterStats } from './jitterBufferTypes.ts';
import { QuietFrames } from './quietFrames.ts';
import { FRAME_TICKS, RtpUnwrapper } from './rtpTimeline.ts';
import { anchorTalkspurt, slotDelayMs, type TalkspurtAnchor } from './talkspurtPlayout.ts';

export type { FrameDecoder, PacketTiming, PlayoutClock, SpeakerJitterBufferOptions, SpeakerJitterStats } from './jitterBufferTypes.ts';

/**
 * A quiet frame is left out only when the delay is this much more than a frame above the target:
 * after it the delay stays at least this far above it, so that a missing packet soon after (and the
 * few ms by which pulls wander) is not read as the network running late, which would stretch again.
 */
const TRIM_HEADROOM_MS = 10;

function isEndOfBurst(packet: Buffer): boolean {
  return packet.equals(OPUS_SILENCE_FRAME);
}

interface DecodedFrame {
  pcm: Int16Array;
  end: boolean;
  quiet: boolean;
}

/** One speaker's jitter buffer and decoder. See the module comment. */
export class SpeakerJitterBuffer {
  readonly #decoder: FrameDecoder;
  readonly #clock: PlayoutClock;
  readonly #estimator: JitterEstimator;
  readonly #quiet: QuietFrames;
  readonly #timeline = new RtpUnwrapper();
  readonly #maxFrames: number;
  readonly #maxConcealedRun: number;
  /** Slot s of the current talkspurt plays in output frame `frame + s`; undefined while idle. */
  #anchor: TalkspurtAnchor | undefined;
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
  /** Unwrapped timestamp of the last frame played before going idle (older packets are stale). */
  #lastPlayedExt: number | undefined;
  #delayMs: number;
  /** How much underruns stretched the current talkspurt, less what quiet frames left out took back (ms, added to #delayMs). */
  #stretchedMs = 0;
  /** Measured delay of the last frame played from a packet (see {@link SpeakerJitterStats.playoutDelayMs}). */
  #playoutDelayMs: number | undefined;
  #destroyed = false;
  readonly #stats = { received: 0, decoded: 0, concealed: 0, late: 0, duplicate: 0, overflow: 0, talkspurts: 0, stretched: 0, trimmed: 0 };

  constructor(options: SpeakerJitterBufferOptions) {
    this.#decoder = options.decoder;
    this.#clock = options.clock;
    this.#estimator = new JitterEstimator(options.jitter);
    this.#quiet = new QuietFrames(options.quiet);
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
    const ext = this.#timeline.unwrap(timing.timestamp);
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
      fecRecovered: this.#decoder.fecRecoveredFrames ?? 0,
      bufferedMs: (this.#decoded.length + this.#pending.size) * FRAME_MS,
      delayMs: this.#delayMs + this.#stretchedMs,
      playoutDelayMs: this.#playoutDelayMs ?? this.#delayMs + this.#stretchedMs,
      targetDelayMs: this.#estimator.targetDelayMs,
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

  #startTalkspurt(ext: number, arrivalMs: number): void {
    const { anchor, delayMs } = anchorTalkspurt(this.#estimator, this.#clock, ext, arrivalMs, this.#delayMs);
    this.#anchor = anchor;
    this.#delayMs = delayMs;
    this.#stretchedMs = 0;
    this.#quiet.reset();
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
      this.#decoded.push({ pcm, end: isEndOfBurst(packet), quiet: this.#quiet.isQuiet(this.#quiet.observe(pcm)) });
      this.#decodedUpTo++;
      this.#stats.decoded++;
      out.push(pcm);
    }
    return out;
  }

  /** Plays slot #nextSlot: its decoded frame, or a concealed one; or ends the talkspurt (null). */
  #playNext(): Int16Array | null {
    // How far the delay is above what the jitter calls for is asked only where it decides something
    // (a quiet frame that could be left out, a missing packet): the jitter estimate sorts the recent
    // packets' lateness, ≈ 20 µs — asked on every frame it made the mixer 5× slower per speaker.
    let ready = this.#decoded.shift();
    if (ready) {
      // The delay grew 20 ms past what the jitter calls for, and this frame is a quiet one with the
      // next already here: leave it out (the decoder has seen it), and play the next one now.
      const next = this.#decoded[0];
      if (ready.quiet && !ready.end && next && !next.end && this.#delayExceedsTarget(FRAME_MS + TRIM_HEADROOM_MS)) {
        this.#markPlayed(this.#nextSlot++);
        this.#anchor!.frame--;
        this.#stretchedMs -= FRAME_MS;
        this.#stats.trimmed++;
        ready = this.#decoded.shift()!;
      }
      this.#playoutDelayMs = slotDelayMs(this.#estimator, this.#clock, this.#anchor!, this.#nextSlot) ?? this.#playoutDelayMs;
      this.#markPlayed(this.#nextSlot++);
      this.#lastPlayedEnd = ready.end;
      this.#concealedRun = 0;
      return ready.pcm;
    }
    const slot = this.#nextSlot;
    // Its packet is missing now that it is due.
    if (this.#pending.size === 0) {
      if (this.#lastPlayedEnd || this.#concealedRun >= this.#maxConcealedRun) {
        this.#goIdle();
        return null;
      }
      this.#concealedRun++;
      // Nothing after it is here either, and the delay is short of what the measured jitter calls
      // for (or the bot itself runs behind): the network runs late (an underrun) rather than having lost this packet. Conceal this
      // frame and keep waiting for the packet: everything after plays one frame later (see the
      // module comment), while the delay stays within its bound. At or above the target, a missing
      // packet is most likely lost: it is concealed below, and dropped as late if it still comes.
      const stalled = (this.#clock.pullLateMs ?? 0) > FRAME_MS / 2; // our own stall: the packets are likely unread
      if (this.#delayMs + this.#stretchedMs + FRAME_MS <= this.#estimator.maxDelayMs && (stalled || !(this.#excessDelayMs() >= 0))) {
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

  #markPlayed(slot: number): void {
    this.#playedReal.add(slot);
    this.#playedReal.delete(slot - 4 * this.#maxFrames);
  }

  /** The delay now less what the measured jitter calls for (ms; negative when short of it, NaN when unknown). */
  #excessDelayMs(): number {
    const delay = slotDelayMs(this.#estimator, this.#clock, this.#anchor!, this.#nextSlot);
    return delay === undefined ? Number.NaN : delay - this.#estimator.targetDelayMs;
  }

  /**
   * Whether the delay is at least `ms` above what the jitter calls for. Asked for every quiet frame:
   * a delay that could not be that far above the target's lower bound answers without computing the
   * target (which sorts the window's lateness).
   */
  #delayExceedsTarget(ms: number): boolean {
    const delay = slotDelayMs(this.#estimator, this.#clock, this.#anchor!, this.#nextSlot);
    if (delay === undefined || delay - this.#estimator.minDelayMs < ms) return false;
    return delay - this.#estimator.targetDelayMs >= ms;
  }

  #goIdle(): void {
    const anchor = this.#anchor!;
    this.#lastPlayedExt = anchor.ext + (this.#nextSlot - 1) * FRAME_TICKS;
    this.#anchor = undefined;
    this.#decoded = [];
    this.#pending.clear();
  }
}
