import { DISCORD_CHANNELS, DISCORD_SAMPLE_RATE } from '../src/audio/format.ts';

/** A small deterministic PRNG (mulberry32), so every run produces the same audio. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `seconds` of speech-like audio at `rate`, mono float in [-1, 1]: a voiced source whose pitch
 * glides between 110 and 220 Hz, harmonics shaped by three moving formants, syllables at about
 * 4 Hz, and bursts of noise for fricatives. Simulated members speak it; benchmarks encode it
 * (codecs cheat on silence and pure tones).
 */
export function speechLike(seconds: number, rate: number, seed = 1): Float64Array {
  const random = prng(seed);
  const out = new Float64Array(Math.round(seconds * rate));
  let phase = 0;
  let noiseState = 0;
  for (let i = 0; i < out.length; i++) {
    const t = i / rate;
    const f0 = 165 + 55 * Math.sin(2 * Math.PI * 0.7 * t) + 8 * Math.sin(2 * Math.PI * 5.5 * t);
    phase += (2 * Math.PI * f0) / rate;
    const formants = [600 + 300 * Math.sin(2 * Math.PI * 1.3 * t), 1500 + 600 * Math.sin(2 * Math.PI * 0.9 * t), 2800];
    let voiced = 0;
    for (let h = 1; h * f0 < Math.min(rate / 2, 7000); h++) {
      const hz = h * f0;
      let gain = 0;
      for (const f of formants) gain += 1 / (1 + ((hz - f) / 150) ** 2);
      voiced += (gain / h ** 0.5) * Math.sin(h * phase);
    }
    const syllable = Math.max(0, Math.sin(2 * Math.PI * 4 * t)) ** 0.7;
    const fricative = Math.max(0, Math.sin(2 * Math.PI * 1.7 * t + 1)) ** 8;
    noiseState = 0.5 * noiseState + (random() * 2 - 1); // tilted towards high frequencies
    out[i] = 0.18 * voiced * syllable + 0.25 * fricative * (random() * 2 - 1 - 0.5 * noiseState);
  }
  let max = 0;
  for (const v of out) max = Math.max(max, Math.abs(v));
  for (let i = 0; i < out.length; i++) out[i] = (out[i]! / max) * 0.7;
  return out;
}

/** Float mono to PCM16, optionally interleaved into near-identical stereo (right 0.9× left). */
export function toPcm16(signal: Float64Array, channels: 1 | 2): Int16Array {
  const out = new Int16Array(signal.length * channels);
  for (let i = 0; i < signal.length; i++) {
    const v = Math.round(signal[i]! * 32767);
    if (channels === 1) out[i] = v;
    else {
      out[2 * i] = v;
      out[2 * i + 1] = Math.round(v * 0.9);
    }
  }
  return out;
}

/** An utterance for a simulated member: speech-like 48 kHz stereo PCM16 (what `member.speak` takes). */
export function utterance(seconds: number, seed = 1): Int16Array {
  return toPcm16(speechLike(seconds, DISCORD_SAMPLE_RATE, seed), DISCORD_CHANNELS as 2);
}
