/**
 * The resampler quality requirements (the ones test/audio/resampler.test.ts asserts for ours),
 * measured for any {@link ResamplerCandidate} so the benchmark can compare like with like.
 */
import { channel, chunks, concatInt16, sine, toneAmplitude } from '../test/helpers/signal.ts';
import type { ResamplerCandidate } from './resamplers.ts';

/** Worst-case figures; the requirement is in brackets. */
export interface ResamplerQuality {
  /** Smallest distance between a 1 kHz tone and the alias of an equal tone at 12.5–23.5 kHz, dB (≥ 70). */
  aliasRejectionDb: number;
  /**
   * True when some alias was below half an LSB, so the int16 output was exactly silent there: the
   * figure is then a lower bound (computed as if the alias were half an LSB).
   */
  aliasBelowQuantisation: boolean;
  /** Largest |gain| of the downsampler from 100 Hz to 11 kHz, dB (≤ 0.1). */
  downPassbandDeviationDb: number;
  /** Largest |gain| of the upsampler from 100 Hz to 11 kHz, dB (≤ 0.1). */
  upPassbandDeviationDb: number;
  /** Smallest distance between a 1–11.5 kHz tone and its image (12.5 kHz and above) after upsampling, dB (≥ 70). */
  imageRejectionDb: number;
}

const AMPLITUDE = 16384;
const db = (ratio: number) => 20 * Math.log10(ratio);

async function downsampled(candidate: ResamplerCandidate, hz: number): Promise<Int16Array> {
  const pair = await candidate.create();
  const input = sine({ hz, rate: 48_000, length: 48_000, amplitude: AMPLITUDE, channels: 2 });
  const out = concatInt16(chunks(input, 1920).map((frame) => pair.down(frame)));
  return out.subarray(out.length - 2400); // last 100 ms: past any start-up transient, exact 10 Hz bins
}

async function upsampledLeft(candidate: ResamplerCandidate, hz: number): Promise<Float64Array> {
  const pair = await candidate.create();
  const input = sine({ hz, rate: 24_000, length: 24_000, amplitude: AMPLITUDE });
  const left = channel(concatInt16(chunks(input, 480).map((frame) => pair.up(frame))), 2, 0);
  return left.subarray(left.length - 4800);
}

/** Measures a candidate against the requirements. */
export async function measureQuality(candidate: ResamplerCandidate): Promise<ResamplerQuality> {
  const reference = toneAmplitude(await downsampled(candidate, 1000), 1000, 24_000);
  let aliasRejectionDb = Infinity;
  let aliasBelowQuantisation = false;
  for (const hz of [12_500, 13_000, 14_000, 15_000, 18_000, 20_000, 23_500]) {
    const alias = toneAmplitude(await downsampled(candidate, hz), 24_000 - hz, 24_000);
    if (alias < 0.5) aliasBelowQuantisation = true;
    aliasRejectionDb = Math.min(aliasRejectionDb, db(reference / Math.max(alias, 0.5)));
  }
  let downPassbandDeviationDb = 0;
  let upPassbandDeviationDb = 0;
  let imageRejectionDb = Infinity;
  for (const hz of [100, 1000, 3000, 5000, 7000, 9000, 10_000, 11_000, 11_500]) {
    const left = await upsampledLeft(candidate, hz);
    const tone = toneAmplitude(left, hz, 48_000);
    imageRejectionDb = Math.min(imageRejectionDb, db(tone / Math.max(toneAmplitude(left, 24_000 - hz, 48_000), 1e-9)));
    if (hz > 11_000) continue; // the passband requirement ends at 11 kHz
    const down = toneAmplitude(await downsampled(candidate, hz), hz, 24_000);
    downPassbandDeviationDb = Math.max(downPassbandDeviationDb, Math.abs(db(down / AMPLITUDE)));
    upPassbandDeviationDb = Math.max(upPassbandDeviationDb, Math.abs(db(tone / AMPLITUDE)));
  }
  return { aliasRejectionDb, aliasBelowQuantisation, downPassbandDeviationDb, upPassbandDeviationDb, imageRejectionDb };
}

/** Whether the figures meet the requirements. */
export function meetsRequirements(q: ResamplerQuality): boolean {
  return q.aliasRejectionDb >= 70 && q.downPassbandDeviationDb <= 0.1 && q.upPassbandDeviationDb <= 0.1 && q.imageRejectionDb >= 70;
}
