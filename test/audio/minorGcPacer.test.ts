import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getHeapSpaceStatistics } from 'node:v8';
import { createMinorGcPacer, v8YoungGeneration } from '../../src/audio/minorGcPacer.ts';

test('the young generation is collected after a tick only once it is more than the threshold full', () => {
  let used = 0;
  let collections = 0;
  const afterTick = createMinorGcPacer({ youngGeneration: () => ({ used, capacity: 1000 }), collect: () => collections++, threshold: 0.5 });
  assert.ok(afterTick);
  for (const level of [0, 200, 500]) {
    used = level;
    afterTick();
  }
  assert.equal(collections, 0, 'at or below half full: left to V8');
  used = 501;
  afterTick();
  assert.equal(collections, 1);
});

test('with V8 itself: the pacer reads the young generation and a collection empties it', () => {
  const youngUsed = () => getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')!.space_used_size;
  const afterTick = createMinorGcPacer({ threshold: 0 });
  assert.ok(afterTick, 'gc({ type: "minor" }) is available at run time');
  let garbage: unknown = null;
  for (let i = 0; i < 2_000; i++) garbage = { i, text: `garbage ${i}` };
  const before = youngUsed();
  afterTick();
  const after = youngUsed();
  assert.ok(garbage);
  assert.ok(after < before / 2, `young generation ${before} → ${after} bytes`);
});

test('the young generation read is where new objects go', () => {
  const before = v8YoungGeneration();
  const keep: object[] = [];
  for (let i = 0; i < 10_000; i++) keep.push({ i, a: i + 1, b: i + 2 }); // ≈ 0.5 MB of small young objects
  const after = v8YoungGeneration();
  assert.equal(keep.length, 10_000);
  assert.ok(after.used - before.used > 200_000 || after.used < before.used, `${before.used} → ${after.used}`);
  assert.ok(after.capacity >= after.used && after.capacity <= 256 * 1024 * 1024);
});
