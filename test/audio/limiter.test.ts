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

/**
 * The limiter as first written, whose look-ahead compared each sample with the next `attack` ones
 * (O(n·attack)): the reference the shipped O(n) sliding minimum must reproduce sample for sample.
 */
class ReferenceLimiter {
  gain = 1;
  #hold = 0;
  readonly #holdSamples = Math.round((30 * REALTIME_SAMPLE_RATE) / 1000);
  readonly #release = 1 - Math.exp(-1 / ((150 * REALTIME_SAMPLE_RATE) / 1000));
  readonly #attack = Math.round((2 * REALTIME_SAMPLE_RATE) / 1000);

  process(input: Float64Array, out: Int16Array): void {
    const n = input.length;
    const peak = input.reduce((p, v) => Math.max(p, Math.abs(v)), 0);
    if (this.gain === 1 && peak <= 32_767) {
      for (let i = 0; i < n; i++) out[i] = input[i]!;
      return;
    }
    const g = new Float64Array(n);
    let gain = this.gain;
    let hold = this.#hold;
    for (let i = 0; i < n; i++) {
      const magnitude = Math.abs(input[i]!);
      const allowed = magnitude > 32_767 ? 32_767 / magnitude : 1;
      if (allowed < gain) {
        gain = allowed;
        hold = this.#holdSamples;
      } else if (hold > 0) hold--;
      else {
        gain += (1 - gain) * this.#release;
        if (1 - gain < 1e-5) gain = 1;
      }
      g[i] = gain;
    }
    this.gain = gain;
    this.#hold = hold;
    const ahead = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let lowest = g[i]!;
      for (let j = i + 1; j <= i + this.#attack && j < n; j++) if (g[j]! < lowest) lowest = g[j]!;
      ahead[i] = lowest;
    }
    const step = 1 / this.#attack;
    for (let i = n - 2; i >= 0; i--) if (ahead[i]! > ahead[i + 1]! + step) ahead[i] = ahead[i + 1]! + step;
    for (let i = 0; i < n; i++) {
      const v = Math.round(input[i]! * ahead[i]!);
      out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
  }
}

/** A deterministic pseudo-random source (tests must not depend on Math.random). */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => ((state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32);
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

  it('turns each sample down to the lowest gain of the next 2 ms, exactly as comparing every pair would', () => {
    // Random loud frames (noise at various levels, some peaks far above full scale, some quiet
    // frames that let the gain recover) through the shipped limiter and the reference, in step.
    const random = prng(19);
    let limitedFrames = 0;
    for (let trial = 0; trial < 40; trial++) {
      const shipped = new PeakLimiter();
      const reference = new ReferenceLimiter();
      for (let f = 0; f < 6; f++) {
        const frame = new Float64Array(N);
        const level = random() < 0.3 ? 10_000 : 20_000 + 60_000 * random();
        for (let i = 0; i < N; i++) frame[i] = (random() * 2 - 1) * level * (random() < 0.05 ? 2 : 1);
        const out = new Int16Array(N);
        const expected = new Int16Array(N);
        shipped.process(frame, out);
        reference.process(frame, expected);
        assert.deepEqual(out, expected, `trial ${trial}, frame ${f}`);
        if (shipped.gain < 1) limitedFrames++;
      }
    }
    assert.ok(limitedFrames > 100, `the frames were loud enough to be limited (${limitedFrames})`);
  });
});
