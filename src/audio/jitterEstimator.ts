/**
 * Measures one speaker's network jitter and turns it into the playout delay of the next stretch of
 * speech (a talkspurt).
 *
 * Each packet's transit is its arrival time minus its RTP timestamp (as ms): the unknown clock
 * offset cancels out of every difference. Over the last {@link JitterEstimatorOptions.window}
 * packets, the lowest transit is a packet that met no queueing; how much later than that a packet
 * may arrive is the jitter the buffer must absorb. The target delay is the
 * {@link JitterEstimatorOptions.quantile} of that lateness plus a small margin, within bounds: small
 * on a clean network, larger on a bad one, never unbounded. (WebRTC's NetEq does the same with a
 * histogram of inter-arrival delays and a 95% target.) The delay only changes where the buffer
 * starts a talkspurt, in the pause before it, so time is never stretched or compressed mid-speech.
 *
 * @module
 */

/** Options of {@link JitterEstimator}. */
export interface JitterEstimatorOptions {
  /** Packets remembered (default 250: 5 s of speech). */
  window?: number;
  /** Share of packets that should arrive in time (default 0.97). */
  quantile?: number;
  /** Added to the measured jitter (default 2 ms): timer and scheduling slop on our side. */
  marginMs?: number;
  /** Bounds of the target delay (default 0 and 200 ms). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Target delay before enough packets were seen to measure (default 40 ms). */
  initialDelayMs?: number;
  /** Packets needed before the measurement replaces the initial delay (default 25: half a second). */
  minSamples?: number;
}

/** Rolling jitter statistics of one speaker. */
export class JitterEstimator {
  readonly #window: number;
  readonly #quantile: number;
  readonly #marginMs: number;
  readonly #minDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #initialDelayMs: number;
  readonly #minSamples: number;
  readonly #transits: number[] = [];
  #next = 0;

  constructor(options: JitterEstimatorOptions = {}) {
    this.#window = options.window ?? 250;
    this.#quantile = options.quantile ?? 0.97;
    this.#marginMs = options.marginMs ?? 2;
    this.#minDelayMs = options.minDelayMs ?? 0;
    this.#maxDelayMs = options.maxDelayMs ?? 200;
    this.#initialDelayMs = options.initialDelayMs ?? 40;
    this.#minSamples = options.minSamples ?? 25;
  }

  /** Records one packet: its arrival time and its RTP timestamp in ms (both on continuous clocks). */
  observe(arrivalMs: number, timestampMs: number): void {
    const transit = arrivalMs - timestampMs;
    if (this.#transits.length < this.#window) this.#transits.push(transit);
    else {
      this.#transits[this.#next] = transit;
      this.#next = (this.#next + 1) % this.#window;
    }
  }

  /** Forgets everything (the sender restarted its clock: old transits mean nothing now). */
  reset(): void {
    this.#transits.length = 0;
    this.#next = 0;
  }

  /** Packets measured (up to the window). */
  get samples(): number {
    return this.#transits.length;
  }

  /** The lowest transit in the window (ms), or undefined before the first packet. */
  get minTransitMs(): number | undefined {
    return this.#transits.length === 0 ? undefined : Math.min(...this.#transits);
  }

  /** Lateness (ms) that the chosen share of packets stays within, relative to the quickest; 0 with no packets. */
  get jitterMs(): number {
    if (this.#transits.length === 0) return 0;
    const sorted = [...this.#transits].sort((a, b) => a - b);
    const at = Math.min(sorted.length - 1, Math.ceil(this.#quantile * sorted.length) - 1);
    return sorted[at]! - sorted[0]!;
  }

  /** The playout delay for the next talkspurt, ms after the arrival a packet without queueing would have. */
  get targetDelayMs(): number {
    if (this.#transits.length < this.#minSamples) return this.#initialDelayMs;
    return Math.min(this.#maxDelayMs, Math.max(this.#minDelayMs, this.jitterMs + this.#marginMs));
  }
}
