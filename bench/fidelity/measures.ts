/**
 * The fidelity benchmark's measurements of one captured signal against its reference: alignment,
 * SNR after gain match, frequency response, tone levels, clicks, digital silence and path delay.
 */
import { align, delayed, fft, gainMatchedSnr, nextPow2, rmsOf } from '../../test/helpers/spectrum.ts';

/** A chunk of the bot's input audio as the model received it. */
export interface CapturedChunk {
  /** performance.now() when the model service received it. */
  at: number;
  pcm: Int16Array;
}

/** The bot's input audio received in a time window, concatenated, with each sample's delivery time. */
export interface CaptureWindow {
  pcm: Float64Array;
  /** When sample `index` reached the model, counting each chunk as ending when it was received. */
  deliveredAt(index: number): number;
}

/** The chunks received in [fromMs, toMs), concatenated (24 kHz mono). */
export function captureWindow(chunks: readonly CapturedChunk[], fromMs: number, toMs: number): CaptureWindow {
  const inside = chunks.filter((c) => c.at >= fromMs && c.at < toMs);
  const starts: number[] = [];
  let total = 0;
  for (const chunk of inside) {
    starts.push(total);
    total += chunk.pcm.length;
  }
  const pcm = new Float64Array(total);
  inside.forEach((chunk, i) => pcm.set(chunk.pcm, starts[i]!));
  return {
    pcm,
    deliveredAt(index) {
      let lo = 0;
      let hi = inside.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= index) lo = mid;
        else hi = mid - 1;
      }
      const chunk = inside[lo]!;
      return chunk.at - (starts[lo]! + chunk.pcm.length - 1 - index) / 24;
    },
  };
}

/** A signal aligned to its reference. */
export interface Aligned {
  /** The reference delayed to line up with the signal, over the signal's whole length. */
  reference: Float64Array;
  /** Delay of the signal relative to the reference, samples (integer + fraction). */
  delay: number;
  /** Where the reference's samples lie in the signal: [from, to). */
  from: number;
  to: number;
  correlation: number;
}

/** Lines `reference` up with `signal` (which contains it, delayed by 0 … maxDelay samples). */
export function alignTo(reference: ArrayLike<number>, signal: ArrayLike<number>, maxDelay: number, minDelay = 0): Aligned {
  const found = align(reference, signal, minDelay, Math.min(maxDelay, signal.length));
  const delay = found.lag + found.fraction;
  const shifted = delayed(Float64Array.from({ length: signal.length }, (_, i) => reference[i] ?? 0), delay);
  return { reference: shifted, delay, from: Math.max(0, found.lag), to: Math.min(signal.length, found.lag + reference.length), correlation: found.correlation };
}

/** SNR (dB) of the signal against the aligned reference after the least-squares gain, over [from, to). */
export function snrDb(signal: ArrayLike<number>, aligned: Aligned): { snrDb: number; gainDb: number } {
  const { snrDb, gain } = gainMatchedSnr(aligned.reference.subarray(aligned.from, aligned.to), Float64Array.from({ length: aligned.to - aligned.from }, (_, i) => signal[aligned.from + i]!));
  return { snrDb, gainDb: 20 * Math.log10(gain) };
}

/**
 * Median SNR (dB) over blocks of `blockMs`, each block gain-matched against the aligned reference
 * shifted by whichever whole number of 20 ms frames (−2 … +6) fits it best. A jitter buffer that
 * stretches time by a concealed frame moves everything after it by exactly one frame: the whole-signal
 * SNR counts that shift as noise for the rest of the signal, this one does not (a shifted but intact
 * stretch of speech is not a loss of fidelity). Blocks whose reference is near silence are skipped.
 */
export function segmentalSnrDb(signal: ArrayLike<number>, aligned: Aligned, rate: number, blockMs = 200): number {
  return median(frameShifts(signal, aligned, rate, blockMs).snrDb);
}

/**
 * Block by block (`blockMs`), by how many samples (a whole number of 20 ms frames, −2 … +6) the
 * signal lags the aligned reference there: the shift with the best gain-matched SNR. A jitter buffer
 * that stretches time by a concealed frame, or leaves a quiet frame out, moves what follows by one
 * frame. `at(index)` is the shift at a signal index (a block near silence keeps the one before it);
 * `snrDb` the best SNR of each block that has one.
 */
export function frameShifts(signal: ArrayLike<number>, aligned: Aligned, rate: number, blockMs = 200): { at(index: number): number; snrDb: number[] } {
  const block = Math.round((rate * blockMs) / 1000);
  const frame = Math.round((rate * 20) / 1000);
  const referenceRms = rmsOf(aligned.reference.subarray(aligned.from, aligned.to));
  const start = aligned.from + 6 * frame;
  const values: number[] = [];
  const shifts: number[] = [];
  let last = 0;
  for (let at = start; at + block + 2 * frame <= aligned.to; at += block) {
    const part = Float64Array.from({ length: block }, (_, i) => signal[at + i]!);
    let best = -Infinity;
    for (let shift = -2; shift <= 6; shift++) {
      const reference = aligned.reference.subarray(at - shift * frame, at - shift * frame + block);
      if (rmsOf(reference) < 0.05 * referenceRms) continue;
      const { snrDb } = gainMatchedSnr(reference, part);
      if (snrDb > best) {
        best = snrDb;
        last = shift * frame;
      }
    }
    if (best > -Infinity) values.push(best);
    shifts.push(last);
  }
  return {
    at: (index) => (shifts.length === 0 ? 0 : shifts[Math.min(shifts.length - 1, Math.max(0, Math.floor((index - start) / block)))]!),
    snrDb: values,
  };
}

/** Power spectrum bins (|X_k|², k < N/2) of a signal zero-padded to a power of two. */
function powerSpectrum(signal: ArrayLike<number>, from: number, to: number): { power: Float64Array; binHz: (rate: number) => number } {
  const n = nextPow2(to - from);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let i = from; i < to; i++) re[i - from] = signal[i]!;
  fft(re, im);
  const power = new Float64Array(n / 2);
  for (let k = 0; k < n / 2; k++) power[k] = re[k]! ** 2 + im[k]! ** 2;
  return { power, binHz: (rate) => rate / n };
}

/**
 * Level of the signal relative to the aligned reference in 1/6-octave bands around each of `hz`,
 * normalised to the band at `normalHz` (dB; 0 = the same spectrum as the reference).
 */
export function frequencyResponse(signal: ArrayLike<number>, aligned: Aligned, rate: number, hz: readonly number[], normalHz = 1000): Map<number, number> {
  const out = powerSpectrum(signal, aligned.from, aligned.to);
  const ref = powerSpectrum(aligned.reference, aligned.from, aligned.to);
  const bin = out.binHz(rate);
  const band = (spectrum: Float64Array, centre: number) => {
    let sum = 0;
    for (let k = Math.ceil((centre * 2 ** (-1 / 12)) / bin); k <= Math.floor((centre * 2 ** (1 / 12)) / bin); k++) sum += spectrum[k] ?? 0;
    return sum;
  };
  const level = (centre: number) => 10 * Math.log10(band(out.power, centre) / band(ref.power, centre));
  const normal = level(normalHz);
  return new Map(hz.map((f) => [f, level(f) - normal]));
}

/** 2.5 ms analysis windows at `rate`. */
const windowOf = (rate: number) => Math.round(rate / 400);

/**
 * Clicks: runs of 2.5 ms windows whose energy in `band` (Hz) is at least 10 dB above the aligned
 * reference's in the same window and above −50 dBFS — a step or an edge to silence spreads energy
 * over the high band, where smooth speech (and a smooth concealment) has little.
 */
export function countClicks(highBandSignal: ArrayLike<number>, highBandReference: ArrayLike<number>, from: number, to: number, rate: number): number {
  const w = windowOf(rate);
  const floor = 32768 * 10 ** (-50 / 20);
  let clicks = 0;
  let inClick = false;
  for (let at = from; at + w <= to; at += w) {
    const out = rmsOf(highBandSignal, at, at + w);
    const flagged = out > floor && out > 10 ** (10 / 20) * rmsOf(highBandReference, at, at + w);
    if (flagged && !inClick) clicks++;
    inClick = flagged;
  }
  return clicks;
}

/** Milliseconds of 2.5 ms windows that are exact digital silence in the signal while the reference has sound (> −60 dBFS). */
export function silencedMs(signal: ArrayLike<number>, reference: ArrayLike<number>, from: number, to: number, rate: number, shiftAt: (index: number) => number = () => 0): number {
  const w = windowOf(rate);
  const floor = 32768 * 10 ** (-60 / 20);
  let windows = 0;
  for (let at = from; at + w <= to; at += w) {
    let silent = true;
    for (let i = at; i < at + w && silent; i++) if (signal[i] !== 0) silent = false;
    const ref = at - shiftAt(at);
    if (silent && ref >= 0 && rmsOf(reference, ref, ref + w) > floor) windows++;
  }
  return (windows * w * 1000) / rate;
}

/** Last index in [from, to) where |signal| exceeds `fraction` of its peak there. */
export function lastAbove(signal: ArrayLike<number>, from: number, to: number, fraction = 0.1): number {
  let peak = 0;
  for (let i = from; i < to; i++) peak = Math.max(peak, Math.abs(signal[i]!));
  for (let i = to - 1; i >= from; i--) if (Math.abs(signal[i]!) > fraction * peak) return i;
  return from;
}

/** Median of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor(sorted.length / 2)]!;
}
