import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { designHalfBandOddTaps, halfBandResponse, toInt16 } from '../../src/audio/halfBandFilter.ts';
import { DOWN_TAPS, UP_TAPS } from '../../src/audio/resampler.ts';

const db = (x: number) => 20 * Math.log10(Math.abs(x));

/** Worst attenuation (positive dB) from `fromHz` to 24 kHz, and worst |gain| up to `passHz`. */
function response(taps: Float64Array, fromHz: number, passHz: number) {
  let stopband = Infinity;
  for (let hz = fromHz; hz <= 24_000; hz += 5) stopband = Math.min(stopband, -db(halfBandResponse(taps, hz, 48_000)));
  let ripple = 0;
  for (let hz = 0; hz <= passHz; hz += 5) ripple = Math.max(ripple, Math.abs(db(halfBandResponse(taps, hz, 48_000))));
  return { stopband, ripple };
}

describe('half-band filter design', () => {
  it('has unity DC gain exactly', () => {
    for (const taps of [DOWN_TAPS, UP_TAPS, designHalfBandOddTaps(4, 5)]) {
      assert.ok(Math.abs(halfBandResponse(taps, 0, 48_000) - 1) < 1e-12);
    }
  });

  // Issue 19: whatever would alias (decimating) or image (interpolating) into 0–11.5 kHz, i.e. 12.5 kHz
  // and above at 48 kHz, is ≥ 70 dB down, and the passband is flat within ±0.1 dB to 11 kHz.
  it('meets the decimator spec: ≥ 70 dB from 12.5 kHz, ≤ 0.1 dB ripple to 11 kHz (designed: 74 dB, 0.001 dB)', () => {
    const { stopband, ripple } = response(DOWN_TAPS, 12_500, 11_000);
    assert.ok(stopband >= 74, `stopband ${stopband.toFixed(1)} dB`);
    assert.ok(ripple <= 0.001, `ripple ${ripple.toFixed(4)} dB`);
  });

  it('meets the interpolator spec: ≥ 70 dB from 12.5 kHz, ≤ 0.1 dB ripple to 11 kHz (designed: 74 dB, 0.001 dB)', () => {
    const { stopband, ripple } = response(UP_TAPS, 12_500, 11_000);
    assert.ok(stopband >= 74, `stopband ${stopband.toFixed(1)} dB`);
    assert.ok(ripple <= 0.001, `ripple ${ripple.toFixed(4)} dB`);
  });

  it('rounds and saturates to int16', () => {
    assert.deepEqual([40000, -40000, 1.5, -1.5, 32767.4, -32768.6].map(toInt16), [32767, -32768, 2, -1, 32767, -32768]);
  });
});
