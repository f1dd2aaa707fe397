/**
 * Offline conversion of a whole PCM16 clip between any sample rates and channel counts, for the tools
 * that take a user's WAV file (`npm run talk`, the local Discord's `speak`). The bot's streaming path
 * (fixed 48 kHz ↔ 24 kHz, frame by frame) uses resampler.ts instead.
 */

/**
 * Interleaved PCM16 → interleaved PCM16 at `toRate` with `toChannels`: downmix to mono (unless the
 * channel count and rate already match), resample with a windowed sinc (Blackman, 16 zero crossings,
 * low-pass at 0.45 of the lower rate), then copy the mono signal to every output channel.
 */
export function convertPcm(samples: Int16Array, channels: number, rate: number, toRate: number, toChannels: number): Int16Array {
  if (rate === toRate && channels === toChannels) return samples.slice();
  const frames = Math.floor(samples.length / channels);
  const mono = new Float64Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += samples[i * channels + c]!;
    mono[i] = sum / channels;
  }
  const resampled = rate === toRate ? Int16Array.from(mono, (v) => Math.round(v)) : resampleMono(mono, rate, toRate);
  if (toChannels === 1) return resampled;
  const out = new Int16Array(resampled.length * toChannels);
  for (let i = 0; i < resampled.length; i++) out.fill(resampled[i]!, i * toChannels, (i + 1) * toChannels);
  return out;
}

function resampleMono(mono: Float64Array, rate: number, toRate: number): Int16Array {
  const frames = mono.length;
  const ratio = toRate / rate;
  const cutoff = 0.45 * Math.min(1, ratio); // in cycles per input sample
  const half = Math.ceil(16 / (2 * cutoff)); // 16 zero crossings each side
  const out = new Int16Array(Math.floor(frames * ratio));
  for (let j = 0; j < out.length; j++) {
    const center = j / ratio;
    const first = Math.max(0, Math.ceil(center - half));
    const last = Math.min(frames - 1, Math.floor(center + half));
    let acc = 0;
    let norm = 0;
    for (let i = first; i <= last; i++) {
      const x = i - center;
      const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
      const w = 0.42 + 0.5 * Math.cos((Math.PI * x) / half) + 0.08 * Math.cos((2 * Math.PI * x) / half);
      acc += mono[i]! * sinc * w;
      norm += sinc * w;
    }
    out[j] = Math.max(-32768, Math.min(32767, Math.round(norm === 0 ? 0 : acc / norm)));
  }
  return out;
}
