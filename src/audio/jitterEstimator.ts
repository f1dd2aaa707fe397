/**
 * Measures one speaker's network jitter and turns it into the playout delay of the next stretch of
 * speech (a talkspurt).
 *
 * Each packet's transit is its arrival time minus its RTP timestamp (as ms): the unknown clock
 * offset cancels out of every difference. Within one talkspurt (a segment: {@link JitterEstimator.startSegment}),
 * the lowest transit is a packet that met no queueing; how much later than that a packet may arrive,
 * over the last {@link JitterEstimatorOptions.window} packets, is the jitter the buffer must absorb.
 * Lateness is measured within each talkspurt because a sender's RTP clock need not run in step with
 * ours across a pause (a client may resume its timestamps a few ms off, or not advance them at all):
 * such a step between talkspurts is not network jitter and must not inflate the delay. The target delay is the
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
  /** The latest packets, whose largest lateness counts in full (default 10: 200 ms). */
  recent?: number;
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
  readonly #recent: number;
  readonly #transits: number[] = [];
  /** Segment (talkspurt) of each entry of #transits. */
  readonly #segments: number[] = [];
  #segment = 0;
  #next = 0;
  /**
   * Bumped whenever the window changes. The jitter buffer asks for the jitter and the latest
   * talkspurt's lowest transit for every frame it plays; each is computed once per change (a packet),
   * not once per question (the jitter sorts the window: ≈ 20 µs).
   */
  #version = 0;
  #jitterVersion = -1;
  #jitter = 0;
  #minTransitVersion = -1;
  #minTransit = 0;
  #lateness = new Float64Array(0);

  constructor(options: JitterEstimatorOptions = {}) {
    this.#window = options.window ?? 250;
    this.#quantile = options.quantile ?? 0.97;
    this.#marginMs = options.marginMs ?? 2;
    this.#minDelayMs = options.minDelayMs ?? 0;
    this.#maxDelayMs = options.maxDelayMs ?? 200;
    this.#initialDelayMs = options.initialDelayMs ?? 40;
    this.#minSamples = options.minSamples ?? 25;
    this.#recent = options.recent ?? 10;
  }

  /** Records one packet: its arrival time and its RTP timestamp in ms (both on continuous clocks). */
  observe(arrivalMs: number, timestampMs: number): void {
    this.#version++;
    const transit = arrivalMs - timestampMs;
    if (this.#transits.length < this.#window) {
      this.#transits.push(transit);
      this.#segments.push(this.#segment);
    } else {
      this.#transits[this.#next] = transit;
      this.#segments[this.#next] = this.#segment;
      this.#next = (this.#next + 1) % this.#window;
    }
  }

  /** The packets observed from now on belong to a new talkspurt: their lateness is measured among themselves. */
  startSegment(): void {
    this.#version++;
    this.#segment++;
  }

  /** Forgets everything (the sender restarted its clock: old transits mean nothing now). */
  reset(): void {
    this.#version++;
    this.#transits.length = 0;
    this.#segments.length = 0;
    this.#next = 0;
  }

  /** The upper bound of {@link targetDelayMs}, ms. */
  get maxDelayMs(): number {
    return this.#maxDelayMs;
  }

  /** The lower bound of {@link targetDelayMs}, ms. */
  get minDelayMs(): number {
    return this.#minDelayMs;
  }

  /** Packets measured (up to the window). */
  get samples(): number {
    return this.#transits.length;
  }

  /** The lowest transit (ms) of the latest talkspurt with packets in the window, or undefined before the first packet. */
  get minTransitMs(): number | undefined {
    if (this.#transits.length === 0) return undefined;
    if (this.#minTransitVersion !== this.#version) {
      // Asked for every frame played (the playout delay is measured against it): two passes, no allocation.
      const segments = this.#segments;
      let latest = -Infinity;
      for (let i = 0; i < segments.length; i++) if (segments[i]! > latest) latest = segments[i]!;
      let lowest = Infinity;
      for (let i = 0; i < segments.length; i++) if (segments[i] === latest && this.#transits[i]! < lowest) lowest = this.#transits[i]!;
      this.#minTransit = lowest;
      this.#minTransitVersion = this.#version;
    }
    return this.#minTransit;
  }

  /** Lateness (ms) that the chosen share of packets stays within, relative to the quickest of their talkspurt; 0 with no packets. */
  get jitterMs(): number {
    if (this.#transits.length === 0) return 0;
    if (this.#jitterVersion === this.#version) return this.#jitter;
    const lowest = this.#lowestPerSegment();
    const n = this.#transits.length;
    if (this.#lateness.length < n) this.#lateness = new Float64Array(this.#window);
    const lateness = this.#lateness.subarray(0, n);
    for (let i = 0; i < n; i++) lateness[i] = this.#transits[i]! - lowest.get(this.#segments[i]!)!;
    // The latest packets count in full: jitter that has just grown is met at once, not once it
    // fills the window's top percent (the window's quantile still decides when it shrinks).
    let recent = 0;
    const newest = n < this.#window ? n : this.#next; // one past the newest entry
    for (let k = 1; k <= Math.min(this.#recent, n); k++) recent = Math.max(recent, lateness[(newest - k + n) % n]!);
    lateness.sort(); // numeric, ascending
    this.#jitter = Math.max(recent, lateness[Math.min(n - 1, Math.ceil(this.#quantile * n) - 1)]!);
    this.#jitterVersion = this.#version;
    return this.#jitter;
  }

  #lowestPerSegment(): Map<number, number> {
    const lowest = new Map<number, number>();
    for (let i = 0; i < this.#transits.length; i++) {
      const segment = this.#segments[i]!;
      const known = lowest.get(segment);
      if (known === undefined || this.#transits[i]! < known) lowest.set(segment, this.#transits[i]!);
    }
    return lowest;
  }

  /** The playout delay for the next talkspurt, ms after the arrival a packet without queueing would have. */
  get targetDelayMs(): number {
    const measured = Math.min(this.#maxDelayMs, Math.max(this.#minDelayMs, this.jitterMs + this.#marginMs));
    // Too few packets to trust a small jitter yet; a large one is already known to be at least that.
    return this.#transits.length < this.#minSamples ? Math.max(this.#initialDelayMs, measured) : measured;
  }
}
