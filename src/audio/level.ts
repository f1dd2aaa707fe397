/** Loudness of a frame of audio. */

/** RMS level of PCM16 samples in dBFS (full-scale sine ≈ -3 dBFS); -Infinity for digital silence. */
export function levelDbfs(samples: Int16Array): number {
  if (samples.length === 0) return -Infinity;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    sum += s * s;
  }
  const rms = Math.sqrt(sum / samples.length) / 32768;
  return rms === 0 ? -Infinity : 20 * Math.log10(rms);
}
