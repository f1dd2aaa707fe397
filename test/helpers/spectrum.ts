/**
 * Signal analysis for audio fidelity measurements: FFT, alignment of a processed signal with its
 * reference (integer and fractional delay), SNR after gain matching, zero-phase band filtering and
 * tone fitting. Shared by the fidelity benchmark and tests; plain float64 math, nothing bot-specific.
 */

/** Smallest power of two ≥ n. */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** In-place iterative radix-2 complex FFT (length a power of two); `inverse` includes the 1/N scale. */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if ((n & (n - 1)) !== 0 || im.length !== n) throw new RangeError('fft: length must be a power of two');
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let size = 2; size <= n; size *= 2) {
    const angle = ((inverse ? 2 : -2) * Math.PI) / size;
    const wr = Math.cos(angle);
    const wi = Math.sin(angle);
    for (let start = 0; start < n; start += size) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < size / 2; k++) {
        const a = start + k;
        const b = a + size / 2;
        const tr = re[b]! * cr - im[b]! * ci;
        const ti = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - tr;
        im[b] = im[a]! - ti;
        re[a] = re[a]! + tr;
        im[a] = im[a]! + ti;
        const next = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = next;
      }
    }
  }
  if (inverse) {
    for (let i = 0; i < n; i++) {
      re[i] = re[i]! / n;
      im[i] = im[i]! / n;
    }
  }
}

/** Where `signal` best matches `reference`: signal[n + lag + fraction] ≈ gain · reference[n]. */
export interface Alignment {
  /** Integer part of the delay of `signal` relative to `reference`, samples. */
  lag: number;
  /** Sub-sample part in (−0.5, 0.5], from a parabola through the correlation peak. */
  fraction: number;
  /** Normalised correlation at the peak (1 = identical up to gain). */
  correlation: number;
}

/**
 * Finds the delay of `signal` relative to `reference` by FFT cross-correlation, searching lags
 * from `minLag` to `maxLag` (samples; the reference starts at signal index `lag`).
 */
export function align(reference: ArrayLike<number>, signal: ArrayLike<number>, minLag: number, maxLag: number): Alignment {
  const n = nextPow2(reference.length + signal.length);
  const ar = new Float64Array(n);
  const ai = new Float64Array(n);
  const br = new Float64Array(n);
  const bi = new Float64Array(n);
  for (let i = 0; i < signal.length; i++) ar[i] = signal[i]!;
  for (let i = 0; i < reference.length; i++) br[i] = reference[i]!;
  fft(ar, ai);
  fft(br, bi);
  // signal ⋆ reference: A · conj(B)
  for (let i = 0; i < n; i++) {
    const r = ar[i]! * br[i]! + ai[i]! * bi[i]!;
    const im = ai[i]! * br[i]! - ar[i]! * bi[i]!;
    ar[i] = r;
    ai[i] = im;
  }
  fft(ar, ai, true);
  const at = (lag: number) => ar[(lag + n) % n]!;
  let best = minLag;
  for (let lag = minLag; lag <= maxLag; lag++) if (at(lag) > at(best)) best = lag;
  const a = at(best - 1);
  const b = at(best);
  const c = at(best + 1);
  const denominator = a - 2 * b + c;
  const fraction = denominator < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / denominator)) : 0;
  let energyRef = 0;
  for (let i = 0; i < reference.length; i++) energyRef += reference[i]! ** 2;
  let energySig = 0;
  for (let i = 0; i < reference.length; i++) energySig += (signal[i + best] ?? 0) ** 2;
  return { lag: best, fraction, correlation: b / Math.sqrt(energyRef * energySig || 1) };
}

/**
 * `signal` delayed by `delay` samples (any real number), by band-limited interpolation with a
 * Kaiser-windowed sinc of ±`halfWidth` taps: out[n] = signal(n − delay). Outside the signal is zero.
 */
export function delayed(signal: ArrayLike<number>, delay: number, halfWidth = 64): Float64Array {
  const whole = Math.floor(delay);
  const frac = delay - whole;
  const out = new Float64Array(signal.length);
  if (frac === 0) {
    for (let n = 0; n < out.length; n++) out[n] = signal[n - whole] ?? 0;
    return out;
  }
  const beta = 8;
  const i0 = (x: number) => {
    let sum = 1;
    let term = 1;
    for (let k = 1; k < 50; k++) {
      term *= (x / (2 * k)) ** 2;
      sum += term;
    }
    return sum;
  };
  const taps = new Float64Array(2 * halfWidth);
  for (let k = -halfWidth + 1; k <= halfWidth; k++) {
    const x = k - frac; // the tap for signal[n − whole − k]… centred on the fractional point
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const w = i0(beta * Math.sqrt(Math.max(0, 1 - (x / halfWidth) ** 2))) / i0(beta);
    taps[k + halfWidth - 1] = sinc * w;
  }
  for (let n = 0; n < out.length; n++) {
    let sum = 0;
    for (let k = -halfWidth + 1; k <= halfWidth; k++) sum += taps[k + halfWidth - 1]! * (signal[n - whole - k] ?? 0);
    out[n] = sum;
  }
  return out;
}

/** SNR of `signal` against `reference` after the least-squares gain; both already aligned, same length. */
export function gainMatchedSnr(reference: ArrayLike<number>, signal: ArrayLike<number>): { snrDb: number; gain: number } {
  let cross = 0;
  let energy = 0;
  for (let i = 0; i < reference.length; i++) {
    cross += reference[i]! * signal[i]!;
    energy += reference[i]! ** 2;
  }
  const gain = energy === 0 ? 0 : cross / energy;
  let noise = 0;
  let wanted = 0;
  for (let i = 0; i < reference.length; i++) {
    noise += (signal[i]! - gain * reference[i]!) ** 2;
    wanted += (gain * reference[i]!) ** 2;
  }
  return { snrDb: 10 * Math.log10(wanted / Math.max(noise, 1e-12)), gain };
}

/** Zero-phase brick-wall band-pass (FFT, keep `lowHz` ≤ |f| < `highHz`). */
export function bandPass(signal: ArrayLike<number>, rate: number, lowHz: number, highHz: number): Float64Array {
  const n = nextPow2(signal.length);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let i = 0; i < signal.length; i++) re[i] = signal[i]!;
  fft(re, im);
  for (let k = 0; k < n; k++) {
    const hz = (Math.min(k, n - k) * rate) / n;
    if (hz < lowHz || hz >= highHz) {
      re[k] = 0;
      im[k] = 0;
    }
  }
  fft(re, im, true);
  return re.subarray(0, signal.length);
}

/** Sum of squares. */
export function energy(signal: ArrayLike<number>, from = 0, to = signal.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += signal[i]! ** 2;
  return sum;
}

/** RMS over [from, to). */
export function rmsOf(signal: ArrayLike<number>, from = 0, to = signal.length): number {
  return to > from ? Math.sqrt(energy(signal, from, to) / (to - from)) : 0;
}

/**
 * Fits a sum of sinusoids at `hz` (least squares, sine and cosine per frequency) to `signal` and
 * returns the residual-to-fit energy ratio in dB: THD+N of a signal that should contain only them.
 */
export function thdPlusNoiseDb(signal: ArrayLike<number>, rate: number, hz: readonly number[]): number {
  const basis: Float64Array[] = [];
  for (const f of hz) {
    const s = new Float64Array(signal.length);
    const c = new Float64Array(signal.length);
    for (let i = 0; i < signal.length; i++) {
      s[i] = Math.sin((2 * Math.PI * f * i) / rate);
      c[i] = Math.cos((2 * Math.PI * f * i) / rate);
    }
    basis.push(s, c);
  }
  // Normal equations (a few unknowns): Gram matrix and right-hand side, solved by Gaussian elimination.
  const m = basis.length;
  const a = Array.from({ length: m }, (_, r) => Array.from({ length: m + 1 }, (_, col) => {
    let sum = 0;
    const other = col < m ? basis[col]! : signal;
    for (let i = 0; i < signal.length; i++) sum += basis[r]![i]! * other[i]!;
    return sum;
  }));
  for (let col = 0; col < m; col++) {
    let pivot = col;
    for (let r = col + 1; r < m; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    for (let r = 0; r < m; r++) {
      if (r === col) continue;
      const factor = a[r]![col]! / a[col]![col]!;
      for (let k = col; k <= m; k++) a[r]![k] = a[r]![k]! - factor * a[col]![k]!;
    }
  }
  const coefficients = a.map((row, r) => row[m]! / row[r]!);
  let fit = 0;
  let residual = 0;
  for (let i = 0; i < signal.length; i++) {
    let model = 0;
    for (let k = 0; k < m; k++) model += coefficients[k]! * basis[k]![i]!;
    fit += model ** 2;
    residual += (signal[i]! - model) ** 2;
  }
  return 10 * Math.log10(Math.max(residual, 1e-12) / fit);
}
