/**
 * Mixes the Discord speakers into one continuous 24 kHz mono stream for the realtime model.
 *
 * Each speaker's Opus packets go into that speaker's {@link SpeakerJitterBuffer} (ordering by RTP
 * timestamp, in-order decoding straight to 24 kHz mono, packet-loss concealment, an adaptive playout
 * delay). The output is a sequence of 20 ms frames, one per {@link SpeakerMixer.pull}; each pull
 * takes every speaker's frame for it, sums them with headroom and passes the sum through a smooth
 * {@link PeakLimiter}, so two loud voices never clip and one voice passes untouched.
 *
 * @module
 */
import { FRAME_MS, REALTIME_FRAME_SAMPLES } from './format.ts';
import { PeakLimiter, type PeakLimiterOptions } from './limiter.ts';
import { OpusFrameDecoder } from './opusCodec.ts';
import { newPcm16 } from './pcmPool.ts';
import { SpeakerJitterBuffer, type FrameDecoder, type PacketTiming, type PlayoutClock, type SpeakerJitterStats } from './speakerJitterBuffer.ts';
import type { JitterEstimatorOptions } from './jitterEstimator.ts';

export type { FrameDecoder, PacketTiming } from './speakerJitterBuffer.ts';

/** Options for {@link SpeakerMixer}. */
export interface SpeakerMixerOptions {
  /** Makes each speaker's decoder (default: libopus, decoding to 24 kHz mono). */
  createDecoder?: () => FrameDecoder;
  /**
   * How each speaker's playout delay follows its measured jitter. `minDelayMs` defaults to
   * {@link MIN_PLAYOUT_DELAY_MS} here (the estimator's own default is 0).
   */
  jitter?: JitterEstimatorOptions;
  /** How far ahead of the playout point one speaker may buffer audio (default 1000 ms). */
  maxBufferedMs?: number;
  /** Concealed frames in a row, with nothing buffered, that end a speaker's talkspurt (default 5). */
  maxConcealedRun?: number;
  limiter?: PeakLimiterOptions;
}

/**
 * The least playout delay of a speaker: one packet (20 ms), as WebRTC's NetEq, whose target level is
 * "at least one packet" (modules/audio_coding/neteq/delay_manager.cc). A delay that adapts down to
 * the few ms a clean network measures leaves no room for our own loop: arrival is when the bot's
 * busy main thread got to the packet, so its stalls read as network jitter. On the load bench (40
 * sessions, 2 cores) a delay of 10 ms dropped a packet that came 11.9 ms late (bench/README.md,
 * session 5). Costs at most 20 ms of input delay, only while the network is that clean.
 */
export const MIN_PLAYOUT_DELAY_MS = FRAME_MS;

/** One 20 ms frame of mixed output. */
export interface MixedFrame {
  /**
   * 480 samples of 24 kHz mono PCM16: a new array each frame with audio (its memory may be part of a
   * larger shared buffer: see pcmPool.ts); every silent frame shares one all-zero array. Read it,
   * never write into it.
   */
  pcm: Int16Array;
  /** Speakers whose non-silent audio is in this frame, in the order they were first heard (a shared empty array when silent). */
  contributors: readonly string[];
  /** 0 for the first pulled frame, +1 per pull. */
  frameIndex: number;
  /** True when no speaker contributed (the PCM is all zeros). */
  silent: boolean;
}

/** Per-speaker counters. */
export interface SpeakerMixStats extends SpeakerJitterStats {
  /** Output frames this speaker contributed non-silent audio to. */
  contributed: number;
  /** Whether a talkspurt of this speaker is in progress. */
  talking: boolean;
}

/** Loss and timing counters summed over every speaker the mixer had, including those who left. */
export interface SpeakerMixTotals {
  concealed: number;
  fecRecovered: number;
  late: number;
  stretched: number;
  trimmed: number;
}

const TOTAL_KEYS = ['concealed', 'fecRecovered', 'late', 'stretched', 'trimmed'] as const;

/** Counters of the whole mixer. */
export interface SpeakerMixerStats {
  framesMixed: number;
  /** Output frames the limiter had to turn down (two or more loud voices at once). */
  limitedFrames: number;
  speakers: Record<string, SpeakerMixStats>;
  totals: SpeakerMixTotals;
}

interface Speaker {
  id: string;
  buffer: SpeakerJitterBuffer;
  contributed: number;
}

/**
 * What every silent frame carries (most frames of a session: nobody speaks most of the time). A new
 * zeroed array and contributor list per silent frame were 960 B of pooled PCM and ≈ 100 B of heap
 * a frame per session for nothing.
 */
const SILENT_PCM = new Int16Array(REALTIME_FRAME_SAMPLES);
const NO_CONTRIBUTORS: readonly string[] = Object.freeze([]);

/** Whether any sample is non-zero. */
function audible(pcm: Int16Array): boolean {
  for (let i = 0; i < pcm.length; i++) if (pcm[i] !== 0) return true;
  return false;
}

/** Mixes per-speaker Opus packets into one timed 24 kHz stream. See the module comment. */
export class SpeakerMixer {
  readonly #options: SpeakerMixerOptions;
  readonly #speakers = new Map<string, Speaker>();
  /** The map's speakers in its order, remade when it changes: the per-frame loop without a Map iterator and entry per speaker per frame. */
  #speakerList: Speaker[] = [];
  /** What speakers who were removed had counted. */
  readonly #removedTotals: SpeakerMixTotals = { concealed: 0, fecRecovered: 0, late: 0, stretched: 0, trimmed: 0 };
  readonly #limiter: PeakLimiter;
  readonly #sum = new Float64Array(REALTIME_FRAME_SAMPLES);
  /** The frame the next pull produces, and when that pull is expected (unknown before the first). */
  #nextFrameIndex = 0;
  #nextFrameMs: number | undefined;
  #pullLateMs = 0;
  readonly #clock: PlayoutClock;

  constructor(options: SpeakerMixerOptions = {}) {
    this.#options = options;
    this.#limiter = new PeakLimiter(options.limiter);
    const mixer = this;
    this.#clock = {
      get nextFrameIndex() {
        return mixer.#nextFrameIndex;
      },
      get nextFrameMs() {
        return mixer.#nextFrameMs;
      },
      get pullLateMs() {
        return mixer.#pullLateMs;
      },
    };
  }

  /** Number of speakers with state in the mixer (until {@link removeSpeaker}). */
  get speakerCount(): number {
    return this.#speakers.size;
  }

  /**
   * Adds one Opus packet of a speaker. Returns the 24 kHz frames it made decodable, in stream order
   * (usually the packet's own; none while it waits for an earlier packet or was dropped as late,
   * duplicate or overflow). Never throws for bad timing or bad packets.
   */
  push(speakerId: string, packet: Buffer, timing: PacketTiming): Int16Array[] {
    return this.#speaker(speakerId).buffer.insert(packet, timing);
  }

  /**
   * Produces the next 20 ms output frame: every speaker's frame due in it, summed and limited.
   * Call once per 20 ms on the caller's clock; `nowMs` is that clock's time (same clock as arrivals),
   * `scheduledMs` when this pull was due (a pull far behind it follows a stall of the bot itself).
   */
  pull(nowMs: number, scheduledMs = nowMs): MixedFrame {
    const frameIndex = this.#nextFrameIndex;
    this.#pullLateMs = Math.max(0, nowMs - scheduledMs);
    let contributors: string[] | null = null;
    let first: Int16Array | null = null;
    let count = 0;
    const speakers = this.#speakerList;
    for (let s = 0; s < speakers.length; s++) {
      const speaker = speakers[s]!;
      const frame = speaker.buffer.take(frameIndex);
      if (!frame || !audible(frame)) continue;
      (contributors ??= []).push(speaker.id);
      speaker.contributed++;
      if (count === 0) first = frame;
      else {
        // Headroom: the sum is kept in floating point; only the limiter brings it back into range.
        if (count === 1) for (let i = 0; i < REALTIME_FRAME_SAMPLES; i++) this.#sum[i] = first![i]!;
        for (let i = 0; i < REALTIME_FRAME_SAMPLES; i++) this.#sum[i] = this.#sum[i]! + frame[i]!;
      }
      count++;
    }
    // The limiter always gets the Float64Array sum (one speaker copied in, silence as zeros): fed
    // Int16Arrays too, its loops see two array kinds and run several times slower.
    if (count === 1) for (let i = 0; i < REALTIME_FRAME_SAMPLES; i++) this.#sum[i] = first![i]!;
    else if (count === 0 && this.#limiter.gain !== 1) this.#sum.fill(0); // silence: let the gain recover
    let pcm: Int16Array = SILENT_PCM;
    if (count > 0 || this.#limiter.gain !== 1) {
      pcm = newPcm16(REALTIME_FRAME_SAMPLES);
      this.#limiter.process(this.#sum, pcm);
    }
    this.#nextFrameIndex++;
    this.#nextFrameMs = nowMs + FRAME_MS;
    return { pcm, contributors: contributors ?? NO_CONTRIBUTORS, frameIndex, silent: contributors === null };
  }

  /** Forgets a speaker (left the channel): its buffered audio, timeline and counters; frees its decoder. */
  removeSpeaker(id: string): void {
    const speaker = this.#speakers.get(id);
    if (speaker) {
      const stats = speaker.buffer.stats();
      for (const key of TOTAL_KEYS) this.#removedTotals[key] += stats[key];
    }
    speaker?.buffer.destroy();
    this.#speakers.delete(id);
    this.#speakerList = [...this.#speakers.values()];
  }

  /** Forgets every speaker and frees their decoders (the session ended). */
  removeAll(): void {
    for (const id of [...this.#speakers.keys()]) this.removeSpeaker(id);
  }

  /** Counters per speaker and of the whole mixer. */
  stats(): SpeakerMixerStats {
    const speakers: Record<string, SpeakerMixStats> = {};
    const totals = { ...this.#removedTotals };
    for (const [id, speaker] of this.#speakers) {
      const stats = speaker.buffer.stats();
      speakers[id] = { ...stats, contributed: speaker.contributed, talking: speaker.buffer.active };
      for (const key of TOTAL_KEYS) totals[key] += stats[key];
    }
    return { framesMixed: this.#nextFrameIndex, limitedFrames: this.#limiter.stats().limitedFrames, speakers, totals };
  }

  #speaker(id: string): Speaker {
    let speaker = this.#speakers.get(id);
    if (!speaker) {
      const decoder = this.#options.createDecoder?.() ?? new OpusFrameDecoder({ format: 'realtime' });
      const buffer = new SpeakerJitterBuffer({
        decoder,
        clock: this.#clock,
        jitter: { minDelayMs: MIN_PLAYOUT_DELAY_MS, ...this.#options.jitter },
        maxBufferedMs: this.#options.maxBufferedMs,
        maxConcealedRun: this.#options.maxConcealedRun,
      });
      speaker = { id, buffer, contributed: 0 };
      this.#speakers.set(id, speaker);
      this.#speakerList = [...this.#speakers.values()];
    }
    return speaker;
  }
}
