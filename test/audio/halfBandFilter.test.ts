import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { designHalfBandEquiripple, designHalfBandOddTaps, halfBandResponse, toInt16 } from '../../src/audio/halfBandFilter.ts';
import { HALF_BAND_TAPS } from '../../src/audio/halfBandTaps.ts';
import { DOWN_TAPS, UP_TAPS } from '../../src/audio/resampler.ts';
import { RESAMPLER_DESIGN } from '../../src/audio/resamplerDesign.ts';

const db = (x: number) => 20 * Math.log10(Math.abs(x));

/**
 * The response computed here from the taps alone (not with halfBandResponse, the design's own
 * helper): the full 4·pairs − 1 tap impulse response h (centre ½, h[±(2j+1)] = g_j, even taps 0),
 * summed as H(f) = Σ_n h[n]·e^{−i2πfn/rate}, magnitude.
 */
function magnitude(g: Float64Array, hz: number, rate = 48_000): number {
  let re = 0.5;
  let im = 0;
  for (let j = 0; j < g.length; j++) {
    for (const n of [2 * j + 1, -(2 * j + 1)]) {
      re += g[j]! * Math.cos((2 * Math.PI * hz * n) / rate);
      im -= g[j]! * Math.sin((2 * Math.PI * hz * n) / rate);
    }
  }
  return Math.hypot(re, im);
}

/** Worst attenuation (positive dB) from `fromHz` to 24 kHz, and worst |gain| (dB) up to `passHz`, on a 1 Hz grid. */
function response(taps: Float64Array, fromHz: number, passHz: number) {
  let stopband = Infinity;
  for (let hz = fromHz; hz <= 24_000; hz += 1) stopband = Math.min(stopband, -db(magnitude(taps, hz)));
  let ripple = 0;
  for (let hz = 0; hz <= passHz; hz += 1) ripple = Math.max(ripple, Math.abs(db(magnitude(taps, hz))));
  return { stopband, ripple };
}

describe('half-band filter design', () => {
  // Issue 19: whatever would alias (decimating) or image (interpolating) into 0–11.5 kHz, i.e. 12.5 kHz
  // and above at 48 kHz, is ≥ 70 dB down, and the passband is flat within ±0.1 dB to 11 kHz.
  it('the resamplers\' taps: ≥ 70 dB from 12.5 kHz, ≤ 0.1 dB ripple to 11 kHz (designed: 74.1 dB, 0.002 dB to 11.5 kHz)', () => {
    assert.deepEqual(DOWN_TAPS, HALF_BAND_TAPS);
    assert.deepEqual(UP_TAPS, HALF_BAND_TAPS);
    assert.equal(HALF_BAND_TAPS.length, 51);
    const { stopband, ripple } = response(HALF_BAND_TAPS, 12_500, 11_500);
    assert.ok(stopband >= 74, `stopband ${stopband.toFixed(2)} dB`);
    assert.ok(ripple <= 0.002, `ripple ${ripple.toFixed(4)} dB`);
  });

  it('commits the taps the equiripple design gives (regenerate: node bin/run.mjs src/audio/resamplerDesign.ts)', () => {
    const { pairs, passbandEdgeHz, rate } = RESAMPLER_DESIGN;
    const { taps } = designHalfBandEquiripple(pairs, passbandEdgeHz, rate);
    assert.equal(taps.length, HALF_BAND_TAPS.length);
    for (let j = 0; j < taps.length; j++) assert.ok(Math.abs(taps[j]! - HALF_BAND_TAPS[j]!) < 1e-12, `tap ${j}: ${taps[j]} vs ${HALF_BAND_TAPS[j]}`);
  });

  it('designs equiripple: the ripple is equal in both bands and alternates pairs + 1 times across the passband', () => {
    for (const pairs of [8, 20, 51]) {
      const { taps, ripple } = designHalfBandEquiripple(pairs, 11_500, 48_000);
      const { stopband } = response(taps, 12_500, 0);
      // The worst stopband error is the design's ripple (found to within 0.05 dB on the 1 Hz grid).
      assert.ok(Math.abs(stopband + db(ripple)) < 0.05, `${pairs} pairs: stopband ${stopband.toFixed(3)} dB, ripple ${(-db(ripple)).toFixed(3)} dB`);
      // Sign changes of A(f) − 1 over 0–11.5 kHz: a minimax solution touches ±δ at pairs + 1 points.
      let changes = 0;
      let sign = 0;
      for (let hz = 0; hz <= 11_500; hz += 0.25) {
        const s = Math.sign(halfBandResponse(taps, hz, 48_000) - 1);
        if (s !== 0 && sign !== 0 && s !== sign) changes++;
        if (s !== 0) sign = s;
      }
      assert.ok(changes >= pairs, `${pairs} pairs: ${changes} sign changes of the passband error`);
    }
  });

  it('needs fewer pairs than the Kaiser window for the same stopband (equiripple 51 vs Kaiser 56: both ≥ 74 dB)', () => {
    const kaiser = response(designHalfBandOddTaps(56, 7.3), 12_500, 11_000).stopband;
    const equiripple = response(designHalfBandEquiripple(51, 11_500, 48_000).taps, 12_500, 11_000).stopband;
    assert.ok(kaiser >= 74 && equiripple >= 74, `Kaiser 56: ${kaiser.toFixed(2)} dB, equiripple 51: ${equiripple.toFixed(2)} dB`);
    assert.ok(response(designHalfBandOddTaps(51, 7.3), 12_500, 11_000).stopband < 72, 'Kaiser with 51 pairs falls short');
  });

  it('Kaiser design: unity DC gain exactly', () => {
    assert.ok(Math.abs(halfBandResponse(designHalfBandOddTaps(4, 5), 0, 48_000) - 1) < 1e-12);
  });

  it('refuses a passband that is not a half-band\'s', () => {
    assert.throws(() => designHalfBandEquiripple(10, 12_000, 48_000), RangeError);
    assert.throws(() => designHalfBandEquiripple(10, 0, 48_000), RangeError);
  });

  it('rounds and saturates to int16', () => {
    assert.deepEqual([40000, -40000, 1.5, -1.5, 32767.4, -32768.6].map(toInt16), [32767, -32768, 2, -1, 32767, -32768]);
  });
});
