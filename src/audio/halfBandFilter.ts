/**
 * Half-band low-pass FIR design for the 2:1 Downsampler and 1:2 Upsampler of `resampler.ts`.
 *
 * Why half-band: the bot only ever converts between 48 kHz and 24 kHz. An 11.5 kHz passband with a
 * 12.5 kHz stopband at 48 kHz puts the transition band symmetrically around fs/4 (fp + fs = fs/2),
 * which is exactly the half-band case: every even-indexed tap except the centre is zero and the
 * centre tap is 1/2. With symmetry, one output sample costs one multiply per coefficient pair.
 *
 * @module
 */

/** Zeroth-order modified Bessel function of the first kind (power series; converges fast here). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 60; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/**
 * Designs a Kaiser-windowed-sinc half-band filter with `pairs` symmetric non-zero coefficient
 * pairs (odd taps ±1, ±3, … ±(2·pairs−1); 4·pairs − 1 taps in all) and window shape `beta`.
 * Returns g[j] = h[±(2j+1)] for j = 0 … pairs−1, normalised so that the whole filter (centre tap 1/2
 * plus both sides) has a DC gain of exactly 1. The centre tap is implicit.
 */
export function designHalfBandOddTaps(pairs: number, beta: number): Float64Array {
  const halfLength = 2 * pairs; // taps span −(2·pairs−1) … +(2·pairs−1); window reaches zero just past them
  const taps = new Float64Array(pairs);
  const windowNorm = besselI0(beta);
  for (let j = 0; j < pairs; j++) {
    const n = 2 * j + 1;
    const x = (Math.PI * n) / 2;
    const sinc = Math.sin(x) / x;
    const window = besselI0(beta * Math.sqrt(1 - (n / halfLength) ** 2)) / windowNorm;
    taps[j] = 0.5 * sinc * window;
  }
  // Each side must sum to 1/4 so that 1/2 (centre) + 2·(1/4) = 1: no DC gain error from the window.
  let sum = 0;
  for (const t of taps) sum += t;
  for (let j = 0; j < pairs; j++) taps[j] = (taps[j]! * 0.25) / sum;
  return taps;
}

/** Amplitude response (linear) of the half-band filter with odd taps `g` at `hz`, for sample rate `rate`. */
export function halfBandResponse(g: Float64Array, hz: number, rate: number): number {
  let h = 0.5;
  for (let j = 0; j < g.length; j++) h += 2 * g[j]! * Math.cos((2 * Math.PI * hz * (2 * j + 1)) / rate);
  return h;
}

/** Rounds to the nearest integer and saturates to the int16 range (never wraps). */
export function toInt16(x: number): number {
  const r = Math.round(x);
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}
