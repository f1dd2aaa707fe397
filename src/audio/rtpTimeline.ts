/**
 * RTP timestamps on one continuous line: 32-bit timestamps unwrapped past 2^32, and a stand-in
 * timeline (one frame per packet, in arrival order) when a packet has no RTP header.
 *
 * @module
 */

/** RTP timestamp ticks per 20 ms frame (48 kHz clock). */
export const FRAME_TICKS = 960;

/** Signed difference a − b of two 32-bit RTP timestamps, correct across the wrap. */
export function rtpDelta(a: number, b: number): number {
  return (a - b) | 0;
}

/** Unwraps one stream's RTP timestamps (the stream's first one is where it starts). */
export class RtpUnwrapper {
  /** The last timestamp seen and its unwrapped value. */
  #lastTs: number | undefined;
  #lastExt = 0;

  /** The unwrapped value of `timestamp`; without one, the frame after the last packet. */
  unwrap(timestamp: number | undefined): number {
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
}
