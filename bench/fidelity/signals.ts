/**
 * Test signals of the fidelity benchmark (float, ±1 full scale): a logarithmic sweep, tone bursts
 * and the conversion to the PCM16 formats the bot meets (48 kHz stereo from members, 24 kHz mono
 * from the model). Speech-like material comes from sim/speech.ts.
 */

/** A logarithmic sine sweep from `f0` to `f1` Hz with 10 ms fades, `peak` amplitude. */
export function logSweep(rate: number, seconds: number, f0: number, f1: number, peak: number): Float64Array {
  const n = Math.round(seconds * rate);
  const k = Math.log(f1 / f0);
  const out = new Float64Array(n);
  const fade = 0.01 * rate;
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const phase = ((2 * Math.PI * f0 * seconds) / k) * (Math.exp((t * k) / seconds) - 1);
    out[i] = peak * Math.sin(phase) * Math.min(1, i / fade, (n - 1 - i) / fade);
  }
  return out;
}

/** Instantaneous frequency of {@link logSweep} at sample `i`. */
export function sweepHzAt(i: number, rate: number, seconds: number, f0: number, f1: number): number {
  return f0 * Math.exp(((i / rate) * Math.log(f1 / f0)) / seconds);
}

/** One tone burst. */
export interface Tone {
  hz: number;
  amplitude: number;
}

/**
 * Bursts of `seconds` each (one per entry; each entry may hold several simultaneous tones), separated
 * by `gapSeconds` of silence, with 5 ms fades. Returns the signal and where each burst starts.
 */
export function toneBursts(rate: number, bursts: readonly Tone[][], seconds: number, gapSeconds: number): { signal: Float64Array; starts: number[]; length: number } {
  const length = Math.round(seconds * rate);
  const gap = Math.round(gapSeconds * rate);
  const signal = new Float64Array(bursts.length * (length + gap) + gap);
  const fade = 0.005 * rate;
  const starts: number[] = [];
  bursts.forEach((tones, b) => {
    const start = gap + b * (length + gap);
    starts.push(start);
    for (let i = 0; i < length; i++) {
      const envelope = Math.min(1, i / fade, (length - 1 - i) / fade);
      let v = 0;
      for (const tone of tones) v += tone.amplitude * Math.sin((2 * Math.PI * tone.hz * i) / rate);
      signal[start + i] = v * envelope;
    }
  });
  return { signal, starts, length };
}

/**
 * A rising chirp that stops dead on its last sample (no fade): the end of a reply shows whether it
 * was played in full, and a chirp (unlike a steady tone) lines up with its reference unambiguously.
 */
export function abruptChirp(rate: number, seconds: number, f0: number, f1: number, amplitude: number): Float64Array {
  const n = Math.round(seconds * rate);
  const fade = 0.005 * rate;
  const k = Math.log(f1 / f0);
  return Float64Array.from({ length: n }, (_, i) => {
    const phase = ((2 * Math.PI * f0 * seconds) / k) * (Math.exp((i / rate / seconds) * k) - 1);
    return amplitude * Math.min(1, i / fade) * Math.sin(phase);
  });
}

/** Float ±1 to PCM16, rounded and saturated. */
export function pcm16(signal: ArrayLike<number>): Int16Array {
  const out = new Int16Array(signal.length);
  for (let i = 0; i < signal.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(signal[i]! * 32767)));
  return out;
}

/** Float ±1 mono to interleaved PCM16 stereo with both channels equal (what a member speaks). */
export function stereo16(signal: ArrayLike<number>): Int16Array {
  const mono = pcm16(signal);
  const out = new Int16Array(mono.length * 2);
  for (let i = 0; i < mono.length; i++) out[2 * i] = out[2 * i + 1] = mono[i]!;
  return out;
}

/** dBFS to linear amplitude (1 = full scale). */
export const fromDb = (db: number) => 10 ** (db / 20);
