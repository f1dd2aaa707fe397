import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { TurnMetrics } from '../../src/voice/turnMetrics.ts';

test('percentiles by nearest rank over the kept turns', () => {
  const metrics = new TurnMetrics(100);
  assert.equal(metrics.percentile(50), null);
  for (let ms = 1; ms <= 100; ms++) metrics.record(ms);
  assert.equal(metrics.percentile(50), 50);
  assert.equal(metrics.percentile(95), 95);
  assert.equal(metrics.percentile(100), 100);
});

test('capacity bounds memory; invalid values are ignored', () => {
  const metrics = new TurnMetrics(3);
  for (const ms of [500, 1, 2, 3, Number.NaN, -5]) metrics.record(ms);
  assert.deepEqual(metrics.recent.map((turn) => turn.firstAudioAfterSpeechEndMs), [1, 2, 3]);
  assert.equal(metrics.totalTurns, 4);
  assert.equal(metrics.percentile(95), 3);
});
