/**
 * Mixes the 24 kHz mono frames of several Discord speakers into one continuous 24 kHz stream for
 * the realtime model, with a small jitter buffer per speaker.
 *
 * Timing model. The output is a sequence of 20 ms frames, one per {@link SpeakerMixer.pull}; frame
 * n covers output samples [480·n, 480·n + 480). Each speaker has its own timeline that maps its
 * frames to output samples:
 * - With RTP timestamps (48 kHz clock, +960 per 20 ms), a frame goes where its timestamp says,
 *   relative to the speaker's anchor. The anchor is set by the speaker's first frame: it plays
 *   `jitterBufferMs` after it arrived. It is set again (re-anchored) when a new frame arrives after a
 *   pause of at least `reanchorAfterGapMs` with nothing buffered, or when a new frame (or one far
 *   behind every frame seen: restarted timestamps) with nothing buffered would land behind the
 *   playout point or beyond the buffer bound (the sender's clock or timestamps moved away from ours). Sample-exact: a timestamp that is not a multiple of 960 from
 *   the anchor lands mid-frame.
 * - Without timestamps, frames are placed one after the other in arrival order; when the speaker's
 *   audio has run out (a pause or a loss burst), the next frame is anchored as a first frame.
 * Gaps stay silence, never compressing time. Frames behind the playout point are dropped as late,
 * repeated timestamps as duplicates, frames more than `maxBufferedMs` ahead of the playout point as
 * overflow; all are counted per speaker.
 *
 * @module
 */
import { FRAME_MS, REALTIME_FRAME_SAMPLES, REALTIME_SAMPLE_RATE } from './format.ts';
import { newPcm16 } from './pcmPool.ts';

/** Options for {@link SpeakerMixer}. */
export interface SpeakerMixerOptions {
  /** Delay between a speaker's first frame arriving and it being played (default 60 ms). */
  jitterBufferMs?: number;
  /** How far ahead of the playout point one speaker may buffer audio (default 1000 ms). */
  maxBufferedMs?: number;
  /** A new frame after at least this long without frames, and nothing buffered, re-anchors the speaker (default 200 ms). */
  reanchorAfterGapMs?: number;
}

/** When and where a frame came from. */
export interface FrameTiming {
  /** RTP timestamp (48 kHz clock, +960 per 20 ms frame, wraps at 2^32), if known. */
  rtpTimestamp?: number;
  /** Arrival time on a monotonic millisecond clock (the same clock as `pull`'s `nowMs`). */
  arrivalMs: number;
}

/** One 20 ms frame of mixed output. */
export interface MixedFrame {
  /** 480 samples of 24 kHz mono PCM16 (a new array each frame; its memory may be part of a larger shared buffer: see pcmPool.ts). */
  pcm: Int16Array;
  /** Speakers whose non-silent audio is in this frame, in the order they were first heard. */
  contributors: string[];
  /** 0 for the first pulled frame, +1 per pull. */
  frameIndex: number;
  /** True when no speaker contributed (the PCM is all zeros). */
  silent: boolean;
}

/** Per-speaker counters. */
export interface SpeakerMixStats {
  /** Frames given to {@link SpeakerMixer.push}. */
  received: number;
  /** Output frames this speaker contributed non-silent audio to. */
  contributed: number;
  /** Frames dropped because their place was already played. */
  late: number;
  /** Frames dropped because their RTP timestamp was already seen. */
  duplicate: number;
  /** Frames dropped because they were too far ahead (flooding) or the buffer was full. */
  overflow: number;
  /** Times the speaker's timeline was re-anchored after the first frame. */
  reanchors: number;
  /** Audio currently buffered for this speaker, in ms. */
  bufferedMs: number;
}

/** Counters of the whole mixer. */
export interface SpeakerMixerStats {
  framesMixed: number;
  speakers: Record<string, SpeakerMixStats>;
}

interface QueuedFrame {
  /** Output sample index of the first sample. */
  start: number;
  pcm: Int16Array;
}

/** Recent RTP timestamps of one speaker, bounded (a ring of the last `capacity`). */
class RecentTimestamps {
  readonly #set = new Set<number>();
  readonly #ring: number[] = [];
  #next = 0;
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  has(ts: number): boolean {
    return this.#set.has(ts);
  }

  add(ts: number): void {
    if (this.#ring.length < this.#capacity) this.#ring.push(ts);
    else {
      this.#set.delete(this.#ring[this.#next]!);
      this.#ring[this.#next] = ts;
      this.#next = (this.#next + 1) % this.#capacity;
    }
    this.#set.add(ts);
  }
}

interface Speaker {
  /** Unplayed frames, sorted by start. */
  frames: QueuedFrame[];
  anchor: { rtp: number; sample: number } | undefined;
  newestRtp: number | undefined;
  /** End (exclusive) of the last frame placed without a timestamp. */
  nextSample: number | undefined;
  lastArrivalMs: number | undefined;
  seen: RecentTimestamps;
  stats: Omit<SpeakerMixStats, 'bufferedMs'>;
}

/** Signed difference a − b of two 32-bit RTP timestamps, correct across the wrap. */
function rtpDelta(a: number, b: number): number {
  return (a - b) | 0;
}

/** Mixes per-speaker 20 ms frames into one timed 24 kHz stream. See the module comment for timing. */
export class SpeakerMixer {
  readonly #jitterBufferMs: number;
  readonly #maxBufferedSamples: number;
  readonly #reanchorAfterGapMs: number;
  readonly #speakers = new Map<string, Speaker>();
  /** The frame the next pull produces, and when that pull is expected (unknown before the first). */
  #nextFrameIndex = 0;
  #nextFrameMs: number | undefined;
  readonly #accumulator = new Int32Array(REALTIME_FRAME_SAMPLES);

  constructor(options: SpeakerMixerOptions = {}) {
    this.#jitterBufferMs = options.jitterBufferMs ?? 60;
    this.#maxBufferedSamples = Math.round(((options.maxBufferedMs ?? 1000) * REALTIME_SAMPLE_RATE) / 1000);
    this.#reanchorAfterGapMs = options.reanchorAfterGapMs ?? 200;
  }

  /** Number of speakers with state in the mixer (until {@link removeSpeaker}). */
  get speakerCount(): number {
    return this.#speakers.size;
  }

  /** Adds one frame (normally 480 samples) of a speaker. Never throws for bad timing; drops and counts. */
  push(speakerId: string, pcm24kMono: Int16Array, timing: FrameTiming): void {
    const speaker = this.#speaker(speakerId);
    speaker.stats.received++;
    if (pcm24kMono.length === 0) return;
    const playout = this.#nextFrameIndex * REALTIME_FRAME_SAMPLES;
    const limit = playout + this.#maxBufferedSamples;
    const length = pcm24kMono.length;
    const nothingBuffered = speaker.frames.length === 0;
    const afterPause = speaker.lastArrivalMs !== undefined && timing.arrivalMs - speaker.lastArrivalMs >= this.#reanchorAfterGapMs;
    speaker.lastArrivalMs = Math.max(speaker.lastArrivalMs ?? -Infinity, timing.arrivalMs);
    let start: number;

    if (timing.rtpTimestamp !== undefined) {
      const ts = timing.rtpTimestamp >>> 0;
      if (speaker.seen.has(ts)) {
        speaker.stats.duplicate++;
        return;
      }
      const behindNewest = speaker.newestRtp === undefined ? 0 : rtpDelta(speaker.newestRtp, ts);
      const newest = behindNewest < 0;
      // Far older than the newest frame is no straggler: the sender restarted its timestamps
      // (a new SSRC after a reconnect starts at a random value).
      const restarted = behindNewest > this.#maxBufferedSamples * 2;
      const anchor = speaker.anchor;
      const byTimestamp = anchor ? anchor.sample + Math.floor(rtpDelta(ts, anchor.rtp) / 2) : undefined;
      const landsBehindPlayout = byTimestamp !== undefined && byTimestamp < playout;
      const landsBeyondBound = byTimestamp !== undefined && byTimestamp + length > limit;
      // A new stretch of speech: the newest frame (or a restart), nothing left to play before it.
      const startsNewStretch = (newest || restarted) && nothingBuffered;
      // The old timeline no longer fits: after a pause the sender's clock may have drifted from ours,
      // and a frame that would land in the past or past the bound shows that it has.
      const timelineBroken = afterPause || landsBehindPlayout || landsBeyondBound;
      if (byTimestamp === undefined || (startsNewStretch && timelineBroken)) {
        if (anchor) speaker.stats.reanchors++;
        start = this.#anchorSample(timing.arrivalMs);
        speaker.anchor = { rtp: ts, sample: start };
      } else if (landsBehindPlayout) {
        speaker.stats.late++;
        return;
      } else {
        start = byTimestamp;
      }
      if (!this.#fits(speaker, start, length, limit)) return;
      speaker.seen.add(ts);
      if (newest || speaker.anchor?.rtp === ts) speaker.newestRtp = ts;
    } else {
      // Still playing the previous frame (or just finished it): continue right after it.
      const continuesPrevious = speaker.nextSample !== undefined && speaker.nextSample >= playout;
      if (!continuesPrevious && speaker.nextSample !== undefined) speaker.stats.reanchors++;
      start = continuesPrevious ? speaker.nextSample! : this.#anchorSample(timing.arrivalMs);
      if (!this.#fits(speaker, start, length, limit)) return;
      speaker.nextSample = start + length;
    }
    insertSorted(speaker.frames, { start, pcm: pcm24kMono });
  }

  /**
   * Produces the next 20 ms output frame: the saturated sum of every speaker's audio due in it.
   * Call once per 20 ms on the caller's clock; `nowMs` is that clock's time (same clock as arrivals).
   */
  pull(nowMs: number): MixedFrame {
    const frameIndex = this.#nextFrameIndex;
    const begin = frameIndex * REALTIME_FRAME_SAMPLES;
    const end = begin + REALTIME_FRAME_SAMPLES;
    const pcm = newPcm16(REALTIME_FRAME_SAMPLES);
    const contributors: string[] = [];
    // Frames due in this output frame, over all speakers. With one (one speaker talking, frames on
    // the 20 ms grid: the common case) its samples are copied straight into the output, with no
    // int32 accumulator to clear, add into and saturate back (and the output array is pooled:
    // pcmPool.ts); `mixer_push_and_pull` in `npm run bench` measures it (figures in bench/README.md).
    // Otherwise the frames are summed in the accumulator and saturated once at the end (never per
    // addition, which could clip a sum that comes back into range).
    let due = 0;
    for (const speaker of this.#speakers.values()) {
      const frames = speaker.frames;
      for (let i = 0; i < frames.length && frames[i]!.start < end; i++) due++;
    }
    if (due === 1) {
      for (const [id, speaker] of this.#speakers) {
        const frames = speaker.frames;
        if (frames.length === 0 || frames[0]!.start >= end) continue;
        const { start, pcm: source } = frames[0]!;
        const from = Math.max(begin, start);
        const to = Math.min(end, start + source.length);
        if (from === start && to - from === source.length) pcm.set(source, from - begin);
        else pcm.set(source.subarray(from - start, to - start), from - begin);
        if (start + source.length <= end) frames.shift();
        this.#credit(id, speaker, pcm, from - begin, to - begin, contributors);
        break;
      }
    } else if (due > 1) {
      const acc = this.#accumulator;
      acc.fill(0);
      for (const [id, speaker] of this.#speakers) {
        const frames = speaker.frames;
        let heard = false;
        let finished = 0;
        for (let i = 0; i < frames.length && frames[i]!.start < end; i++) {
          const { start, pcm: source } = frames[i]!;
          const from = Math.max(begin, start);
          const to = Math.min(end, start + source.length);
          for (let s = from; s < to; s++) {
            const v = source[s - start]!;
            acc[s - begin] = acc[s - begin]! + v;
            if (v !== 0) heard = true;
          }
          if (start + source.length <= end) finished++;
        }
        if (finished > 0) removeFinished(frames, end);
        if (heard) {
          contributors.push(id);
          speaker.stats.contributed++;
        }
      }
      if (contributors.length > 0) {
        for (let i = 0; i < pcm.length; i++) {
          const v = acc[i]!;
          pcm[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
        }
      }
    }
    this.#nextFrameIndex++;
    this.#nextFrameMs = nowMs + FRAME_MS;
    return { pcm, contributors, frameIndex, silent: contributors.length === 0 };
  }

  /** Counts `speaker` as a contributor when pcm[from, to) (its only audio in the frame) is not all zero. */
  #credit(id: string, speaker: Speaker, pcm: Int16Array, from: number, to: number, contributors: string[]): void {
    for (let i = from; i < to; i++) {
      if (pcm[i] !== 0) {
        contributors.push(id);
        speaker.stats.contributed++;
        return;
      }
    }
  }

  /** Forgets a speaker (left the channel): its buffered audio, timeline and counters. */
  removeSpeaker(id: string): void {
    this.#speakers.delete(id);
  }

  /** Counters per speaker and of the whole mixer. */
  stats(): SpeakerMixerStats {
    const speakers: Record<string, SpeakerMixStats> = {};
    for (const [id, speaker] of this.#speakers) {
      const samples = speaker.frames.reduce((n, f) => n + f.pcm.length, 0);
      speakers[id] = { ...speaker.stats, bufferedMs: (samples * 1000) / REALTIME_SAMPLE_RATE };
    }
    return { framesMixed: this.#nextFrameIndex, speakers };
  }

  /** Output sample where a frame arriving at `arrivalMs` starts when it anchors a timeline. */
  #anchorSample(arrivalMs: number): number {
    // Before the first pull, assume it is imminent: the output clock starts at the first arrival.
    const nextFrameMs = this.#nextFrameMs ?? arrivalMs;
    const framesAhead = Math.max(0, Math.ceil((arrivalMs + this.#jitterBufferMs - nextFrameMs) / FRAME_MS - 1e-9));
    return (this.#nextFrameIndex + framesAhead) * REALTIME_FRAME_SAMPLES;
  }

  /** Whether a frame may be buffered; counts an overflow when not. */
  #fits(speaker: Speaker, start: number, length: number, limit: number): boolean {
    const maxFrames = Math.ceil(this.#maxBufferedSamples / REALTIME_FRAME_SAMPLES);
    if (start + length > limit || speaker.frames.length >= maxFrames) {
      speaker.stats.overflow++;
      return false;
    }
    return true;
  }

  #speaker(id: string): Speaker {
    let speaker = this.#speakers.get(id);
    if (!speaker) {
      const maxFrames = Math.ceil(this.#maxBufferedSamples / REALTIME_FRAME_SAMPLES);
      speaker = {
        frames: [],
        anchor: undefined,
        newestRtp: undefined,
        nextSample: undefined,
        lastArrivalMs: undefined,
        seen: new RecentTimestamps(Math.max(64, 2 * maxFrames)),
        stats: { received: 0, contributed: 0, late: 0, duplicate: 0, overflow: 0, reanchors: 0 },
      };
      this.#speakers.set(id, speaker);
    }
    return speaker;
  }
}

/** Removes, in place, the frames that end at or before `end` (played out). */
function removeFinished(frames: QueuedFrame[], end: number): void {
  let kept = 0;
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    if (frame.start + frame.pcm.length > end) frames[kept++] = frame;
  }
  frames.length = kept;
}

/** Inserts keeping `frames` sorted by start; frames nearly always arrive in order, so search from the end. */
function insertSorted(frames: QueuedFrame[], frame: QueuedFrame): void {
  let i = frames.length;
  while (i > 0 && frames[i - 1]!.start > frame.start) i--;
  if (i === frames.length) frames.push(frame);
  else frames.splice(i, 0, frame);
}
