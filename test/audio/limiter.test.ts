import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REALTIME_FRAME_SAMPLES, REALTIME_SAMPLE_RATE } from '../../src/audio/format.ts';
import { PeakLimiter } from '../../src/audio/limiter.ts';
import { mixSignals, sine } from '../helpers/signal.ts';
import { thdPlusNoiseDb } from '../helpers/spectrum.ts';

const N = REALTIME_FRAME_SAMPLES;
const MINUS_3_DBFS = Math.round(32_767 * 10 ** (-3 / 20));

/** Runs a whole signal through a limiter frame by frame. */
function limit(signal: ArrayLike<number>, limiter = new PeakLimiter()): Int16Array {
  const out = new Int16Array(signal.length);
  for (let at = 0; at + N <= signal.length; at += N) {
    const frame = Float64Array.from({ length: N }, (_, i) => signal[at + i]!);
    limiter.process(frame, out.subarray(at, at + N));
  }
  return out;
}

describe('PeakLimiter', () => {
  it('passes a single speaker bit-exact, at −3 dBFS and at full scale', () => {
    for (const amplitude of [MINUS_3_DBFS, 32_767]) {
      const tone = sine({ hz: 440, rate: REALTIME_SAMPLE_RATE, length: N * 50, amplitude });
      const limiter = new PeakLimiter();
      assert.deepEqual(limit(tone, limiter), tone);
      assert.equal(limiter.stats().limitedFrames, 0);
    }
  });

  it('never clips two −3 dBFS speakers (their sum peaks at +3 dBFS), with little distortion', () => {
    const a = sine({ hz: 440, rate: REALTIME_SAMPLE_RATE, length: N * 100, amplitude: MINUS_3_DBFS });
    const b = sine({ hz: 554.37, rate: REALTIME_SAMPLE_RATE, length: N * 100, amplitude: MINUS_3_DBFS });
    const sum = mixSignals(a, b);
    const out = limit(sum);
    assert.ok(out.every((s) => s >= -32_767 && s <= 32_767), 'no sample beyond full scale');
    const flatTops = out.filter((s, i) => Math.abs(s) >= 32_767 && Math.abs(out[i + 1] ?? 0) >= 32_767).length;
    assert.equal(flatTops, 0, 'no flat tops: the wave is turned down, not cut off, even at its first peaks');
    // Hard clipping the same sum: THD+N ≈ −18 dB. The limiter's slow gain: far below that.
    const clipped = sum.map((v) => Math.max(-32_768, Math.min(32_767, v)));
    const steady = (x: ArrayLike<number>) => Float64Array.from({ length: N * 80 }, (_, i) => x[N * 20 + i]!);
    const hard = thdPlusNoiseDb(steady(clipped), REALTIME_SAMPLE_RATE, [440, 554.37]);
    const smooth = thdPlusNoiseDb(steady(out), REALTIME_SAMPLE_RATE, [440, 554.37]);
    assert.ok(hard > -25, `hard clipping distorts (${hard.toFixed(1)} dB)`);
    assert.ok(smooth < -40, `the limiter barely does (${smooth.toFixed(1)} dB)`);
  });

  it('does not pump: the gain holds between the peaks of a steady loud mix, then recovers fully in silence', () => {
    const limiter = new PeakLimiter();
    const loud = mixSignals(sine({ hz: 300, rate: REALTIME_SAMPLE_RATE, length: N * 50, amplitude: 30_000 }), sine({ hz: 330, rate: REALTIME_SAMPLE_RATE, length: N * 50, amplitude: 30_000 }));
    const gains: number[] = [];
    for (let at = 0; at < loud.length; at += N) {
      limiter.process(loud.subarray(at, at + N), new Int16Array(N));
      gains.push(limiter.gain);
    }
    // The beat between 300 and 330 Hz peaks every 33 ms: a pumping limiter would swing with it.
    const settled = gains.slice(10);
    assert.ok(Math.max(...settled) - Math.min(...settled) < 0.05, `gain steady within 0.05 (${Math.min(...settled).toFixed(3)}–${Math.max(...settled).toFixed(3)})`);
    const silence = new Float64Array(N);
    for (let i = 0; i < 100; i++) limiter.process(silence, new Int16Array(N));
    assert.equal(limiter.gain, 1, 'back to exactly unity (bit-exact again)');
    const quiet = sine({ hz: 440, rate: REALTIME_SAMPLE_RATE, length: N, amplitude: 10_000 });
    const out = new Int16Array(N);
    limiter.process(quiet, out);
    assert.deepEqual(out, quiet);
  });

  it('ramps the gain down ahead of a peak inside a frame instead of stepping', () => {
    const frame = new Float64Array(N).fill(20_000);
    for (let i = 300; i < N; i++) frame[i] = 60_000; // a step far above full scale mid-frame
    const out = new Int16Array(N);
    new PeakLimiter().process(frame, out);
    assert.ok(out.every((s) => s <= 32_767));
    const steps = out.slice(1).map((v, i) => Math.abs(v - out[i]!));
    assert.ok(Math.max(...steps.slice(0, 290)) < 1000, 'no jump before the peak: the ramp starts early');
    assert.ok(out[0] === 20_000, 'far before the peak the gain is still 1');
  });
});
