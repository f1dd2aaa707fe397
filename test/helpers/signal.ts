/**
 * Generic test-signal helpers: sine generators and single-frequency level measurement (Goertzel).
 * Shared by audio tests and benchmarks; nothing here is specific to one module.
 */

/** Options for {@link sine}. */
export interface SineOptions {
  /** Frequency in Hz. */
  hz: number;
  /** Sample rate in Hz. */
  rate: number;
  /** Number of samples (per channel). */
  length: number;
  /** Peak amplitude in int16 units (default 16384, i.e. −6 dBFS). */
  amplitude?: number;
  /** Starting phase in radians (default 0). */
  phase?: number;
  /** Channels to write the same signal to, interleaved (default 1). */
  channels?: number;
}

/** A PCM16 sine (rounded), optionally copied to several interleaved channels. */
export function sine(options: SineOptions): Int16Array {
  const { hz, rate, length, amplitude = 16384, phase = 0, channels = 1 } = options;
  const out = new Int16Array(length * channels);
  for (let i = 0; i < length; i++) {
    const value = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate + phase));
    for (let c = 0; c < channels; c++) out[i * channels + c] = value;
  }
  return out;
}

/** Sums several equal-length signals sample by sample (as floats; round or clip yourself). */
export function mixSignals(...signals: ArrayLike<number>[]): Float64Array {
  const length = signals[0]?.length ?? 0;
  const out = new Float64Array(length);
  for (const signal of signals) for (let i = 0; i < length; i++) out[i] = out[i]! + signal[i]!;
  return out;
}

/** Takes one channel out of an interleaved buffer. */
export function channel(interleaved: ArrayLike<number>, channels: number, index: number): Float64Array {
  const out = new Float64Array(Math.floor(interleaved.length / channels));
  for (let i = 0; i < out.length; i++) out[i] = interleaved[i * channels + index]!;
  return out;
}

/**
 * Peak amplitude of the component at `hz` (Goertzel, i.e. one DFT bin), in the signal's own units.
 * Exact for a sine when `hz · length / rate` is an integer (choose lengths accordingly); a Hann
 * window is applied when `window` is true to limit leakage otherwise.
 */
export function toneAmplitude(signal: ArrayLike<number>, hz: number, rate: number, window = false): number {
  const n = signal.length;
  const w = (2 * Math.PI * hz) / rate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  let windowSum = 0;
  for (let i = 0; i < n; i++) {
    const win = window ? 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n) : 1;
    windowSum += win;
    const s0 = signal[i]! * win + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const re = s1 - s2 * Math.cos(w);
  const im = s2 * Math.sin(w);
  return (2 * Math.sqrt(re * re + im * im)) / windowSum;
}

/** {@link toneAmplitude} in dB relative to int16 full scale (32768); −Infinity for exact silence. */
export function toneLevelDb(signal: ArrayLike<number>, hz: number, rate: number, window = false): number {
  return 20 * Math.log10(toneAmplitude(signal, hz, rate, window) / 32768);
}

/** Largest absolute sample value. */
export function peak(signal: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < signal.length; i++) max = Math.max(max, Math.abs(signal[i]!));
  return max;
}

/** Splits a signal into consecutive pieces of `size` samples (the last one may be shorter). */
export function chunks<T extends Int16Array>(signal: T, size: number): T[] {
  const out: T[] = [];
  for (let i = 0; i < signal.length; i += size) out.push(signal.subarray(i, i + size) as T);
  return out;
}

/** Concatenates Int16Arrays. */
export function concatInt16(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
