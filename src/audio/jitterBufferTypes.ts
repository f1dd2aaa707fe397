/**
 * What a {@link SpeakerJitterBuffer} works with: the decoder it drives, the timing of each packet,
 * the output clock it plays against, and the counters it reports.
 *
 * @module
 */
import type { JitterEstimatorOptions } from './jitterEstimator.ts';
import type { QuietFramesOptions } from './quietFrames.ts';

/** What the buffer needs from a decoder: in-order decoding with concealment of lost frames. */
export interface FrameDecoder {
  /** The next frame from its packet. */
  decode(packet: Buffer): Int16Array;
  /** The next frame when its packet is lost; `next` is the packet after it, if it is already here. */
  conceal(next?: Buffer): Int16Array;
  /** Frames {@link conceal} recovered from the next packet's in-band FEC so far (absent: never). */
  readonly fecRecoveredFrames?: number;
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
  /**
   * During a pull: how far behind its schedule it runs (ms; 0 or absent when on time). A pull well
   * behind means the bot itself stalled, and a packet missing now is likely still unread.
   */
  readonly pullLateMs?: number;
}

/** Counters of one speaker's buffer. */
export interface SpeakerJitterStats {
  /** Packets given to {@link SpeakerJitterBuffer.insert}. */
  received: number;
  /** Packets decoded. */
  decoded: number;
  /** Frames concealed because their packet was missing when it was due (or was not a usable packet). */
  concealed: number;
  /** Of the concealed frames, those recovered from the next packet's in-band FEC rather than by PLC. */
  fecRecovered: number;
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
  /** Quiet frames left out to bring a grown delay back to the measured jitter: the delay fell by 20 ms each. */
  trimmed: number;
  /** Audio waiting to be played, ms. */
  bufferedMs: number;
  /** Playout delay of the current (or last) talkspurt, ms after a packet's earliest arrival: as anchored, plus what underruns stretched it by, less what quiet frames left out took back. */
  delayMs: number;
  /**
   * The delay as measured when the last frame from a packet played, ms: from the earliest arrival
   * its packet could have had (the talkspurt's quickest transit) to the pull that played it, so it
   * includes the wait for the mixer's 20 ms tick. What a speaker's audio waits in the buffer now.
   */
  playoutDelayMs: number;
  /** The delay the measured jitter calls for (what the buffer steers towards), ms. */
  targetDelayMs: number;
  /** Jitter measured over the recent packets (97% of them arrived within this of the quickest), ms. */
  jitterMs: number;
}

/** Options of {@link SpeakerJitterBuffer}. */
export interface SpeakerJitterBufferOptions {
  decoder: FrameDecoder;
  clock: PlayoutClock;
  /** How the playout delay follows the measured jitter. */
  jitter?: JitterEstimatorOptions;
  /** Which frames may be left out to take a grown delay back. */
  quiet?: QuietFramesOptions;
  /** Most audio buffered ahead of the playout point (default 1000 ms); more is dropped as overflow. */
  maxBufferedMs?: number;
  /** Concealed frames in a row, with nothing buffered, that end a talkspurt (default 5: 100 ms). */
  maxConcealedRun?: number;
}
