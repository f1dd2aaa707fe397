import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JitterEstimator } from '../../src/audio/jitterEstimator.ts';
import { prng } from '../../sim/speech.ts';

describe('JitterEstimator', () => {
  it('starts with the initial delay until it has measured enough packets', () => {
    const estimator = new JitterEstimator({ initialDelayMs: 40, minSamples: 25 });
    assert.equal(estimator.targetDelayMs, 40);
    for (let k = 0; k < 24; k++) estimator.observe(1000 + 20 * k, 20 * k);
    assert.equal(estimator.targetDelayMs, 40);
    estimator.observe(1000 + 20 * 24, 20 * 24);
    assert.equal(estimator.targetDelayMs, 2, 'no jitter: just the margin');
  });

  it('targets the 97th percentile of lateness behind the quickest packet, whatever the clock offset', () => {
    const random = prng(9);
    const estimator = new JitterEstimator({ marginMs: 0 });
    for (let k = 0; k < 250; k++) estimator.observe(987_654 + 20 * k + random() * 40, 20 * k);
    assert.ok(estimator.jitterMs > 36 && estimator.jitterMs < 40, `jitter ${estimator.jitterMs.toFixed(1)}`);
    assert.equal(estimator.targetDelayMs, estimator.jitterMs);
    assert.ok(Math.abs(estimator.minTransitMs! - 987_654) < 1);
  });

  it('measures lateness within each talkspurt: a step in the sender clock between talkspurts is not jitter', () => {
    const estimator = new JitterEstimator({ marginMs: 0 });
    for (let k = 0; k < 100; k++) estimator.observe(20 * k, 20 * k);
    estimator.startSegment();
    for (let k = 100; k < 200; k++) estimator.observe(20 * k + 15 + (k % 2) * 3, 20 * k);
    assert.equal(estimator.jitterMs, 3);
    assert.equal(estimator.minTransitMs, 15, 'the latest talkspurt’s quickest packet');
  });

  it('meets a jitter that just grew at once: the latest packets count in full, also before the window is trusted', () => {
    const estimator = new JitterEstimator({ marginMs: 0, recent: 10, initialDelayMs: 40, minSamples: 25 });
    for (let k = 0; k < 10; k++) estimator.observe(20 * k, 20 * k);
    estimator.observe(20 * 10 + 70, 20 * 10);
    assert.equal(estimator.targetDelayMs, 70, 'one packet 70 ms late, with only 11 measured: above the initial 40 ms');
    for (let k = 11; k < 240; k++) estimator.observe(20 * k, 20 * k);
    assert.equal(estimator.jitterMs, 0, 'once it left the 10 latest, one packet in 240 is below the 97th percentile');
    estimator.observe(20 * 240 + 30, 20 * 240);
    assert.equal(estimator.jitterMs, 30);
  });

  it('is bounded, and forgets old packets beyond its window', () => {
    const estimator = new JitterEstimator({ window: 50, maxDelayMs: 200 });
    for (let k = 0; k < 50; k++) estimator.observe(20 * k + (k % 2) * 5000, 20 * k);
    assert.equal(estimator.targetDelayMs, 200);
    for (let k = 50; k < 100; k++) estimator.observe(20 * k + 3, 20 * k);
    assert.equal(estimator.targetDelayMs, 2, 'the wild packets left the window');
    estimator.reset();
    assert.equal(estimator.samples, 0);
  });
});
