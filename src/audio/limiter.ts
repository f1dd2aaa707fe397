/**
 * The mixer's output stage: speakers are summed with headroom (in floating point, never clipped on
 * the way) and a smooth peak limiter brings the sum back under full scale.
 *
 * - Transparent until needed: while the gain is 1 and no sample exceeds full scale the frame is
 *   copied unchanged, so one speaker (whose audio always fits) passes bit-exact, at any level.
 * - Never clips: the gain is at most `ceiling / |x|` at every sample, so no output leaves the range.
 * - No pumping: the gain falls as late as possible before a peak (ramping down over the samples of
 *   the frame that lead to it), holds for `holdMs` (longer than the beats of two voices' pitches, so
 *   it does not flutter at their difference frequency), then returns to 1 with time constant `releaseMs`.
 *
 * Frames are processed whole (20 ms), so the ramp looks ahead within the frame at no added delay;
 * only a peak in a frame's very first samples meets the gain where the previous frame left it.
 *
 * @module
 */

/** Options of {@link PeakLimiter}. */
export interface PeakLimiterOptions {
  /** Highest output magnitude (default 32767: full scale). */
  ceiling?: number;
  /** Sample rate (default 24 000). */
  rate?: number;
  /** Gain is held this long after a reduction before it recovers (default 30 ms). */
  holdMs?: number;
  /** Time constant of the recovery towards unity gain (default 150 ms). */
  releaseMs?: number;
  /** Longest ramp down to a peak (default 2 ms). */
  attackMs?: number;
}

/** Counters of a {@link PeakLimiter}. */
export interface PeakLimiterStats {
  /** Frames in which the gain was below 1 somewhere. */
  limitedFrames: number;
  /** Lowest gain applied so far, dB (0 when never limited). */
  deepestDb: number;
}

/** A smooth peak limiter for frames of summed PCM. See the module comment. */
export class PeakLimiter {
  readonly #ceiling: number;
  readonly #holdSamples: number;
  readonly #release: number;
  readonly #attackSamples: number;
  #gain = 1;
  #holdLeft = 0;
  #required = new Float64Array(0);
  /** The sliding minimum's queue (values and their indices), reused frame after frame. */
  #queueValues = new Float64Array(0);
  #queueIndices = new Int32Array(0);
  readonly #stats: PeakLimiterStats = { limitedFrames: 0, deepestDb: 0 };

  constructor(options: PeakLimiterOptions = {}) {
    const rate = options.rate ?? 24_000;
    this.#ceiling = options.ceiling ?? 32_767;
    this.#holdSamples = Math.round(((options.holdMs ?? 30) * rate) / 1000);
    this.#release = 1 - Math.exp(-1 / (((options.releaseMs ?? 150) * rate) / 1000));
    this.#attackSamples = Math.max(1, Math.round(((options.attackMs ?? 2) * rate) / 1000));
  }

  /** The gain the next frame starts from (1 = not limiting). */
  get gain(): number {
    return this.#gain;
  }

  stats(): PeakLimiterStats {
    return { ...this.#stats };
  }

  /** Limits one frame of summed samples (`input`, any magnitude) into `out` (same length). */
  process(input: ArrayLike<number>, out: Int16Array): void {
    const n = input.length;
    const ceiling = this.#ceiling;
    let peak = 0;
    for (let i = 0; i < n; i++) {
      const v = input[i]!;
      if (v > peak) peak = v;
      else if (-v > peak) peak = -v;
    }
    if (this.#gain === 1 && peak <= ceiling) {
      for (let i = 0; i < n; i++) out[i] = input[i]!; // bit-exact: nothing to do
      return;
    }
    if (this.#required.length < n) {
      this.#required = new Float64Array(n);
      this.#queueValues = new Float64Array(n);
      this.#queueIndices = new Int32Array(n);
    }
    const g = this.#required;
    // Forward: the gain each sample allows (instant reduction), held, then released towards 1.
    let gain = this.#gain;
    let hold = this.#holdLeft;
    for (let i = 0; i < n; i++) {
      const magnitude = Math.abs(input[i]!);
      const allowed = magnitude > ceiling ? ceiling / magnitude : 1;
      if (allowed < gain) {
        gain = allowed;
        hold = this.#holdSamples;
      } else if (hold > 0) {
        hold--;
      } else {
        gain += (1 - gain) * this.#release;
        if (1 - gain < 1e-5) gain = 1; // back to exactly 1: bit-exact again
      }
      g[i] = gain;
    }
    this.#gain = gain;
    this.#holdLeft = hold;
    // Look ahead within the frame: each sample takes the lowest gain of the next `attack` samples, so
    // a wave rising to a peak is turned down as a whole (no flat top pinned at the ceiling)...
    // A sliding minimum over g[i..i+attack], right to left with a queue of increasing values (each
    // sample enters and leaves it once): O(n), where comparing each sample with the next `attack`
    // (48 at 24 kHz) cost 65–275 µs a frame with two or more loud speakers.
    const attack = this.#attackSamples;
    const values = this.#queueValues;
    const indices = this.#queueIndices;
    let head = 0;
    let tail = 0; // the queue is [head, tail): values rise from head to tail, indices fall
    for (let i = n - 1; i >= 0; i--) {
      const v = g[i]!;
      while (tail > head && values[tail - 1]! >= v) tail--;
      values[tail] = v;
      indices[tail] = i;
      tail++;
      while (indices[head]! > i + attack) head++;
      g[i] = values[head]!;
    }
    // ...and the gain may fall at most 1/attack per sample before that: no sudden drops inside the frame.
    const step = 1 / attack;
    for (let i = n - 2; i >= 0; i--) if (g[i]! > g[i + 1]! + step) g[i] = g[i + 1]! + step;
    let lowest = 1;
    for (let i = 0; i < n; i++) {
      const gi = g[i]!;
      if (gi < lowest) lowest = gi;
      const v = Math.round(input[i]! * gi);
      out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
    if (lowest < 1) {
      this.#stats.limitedFrames++;
      this.#stats.deepestDb = Math.min(this.#stats.deepestDb, 20 * Math.log10(lowest));
    }
  }
}
