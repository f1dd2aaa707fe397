import assert from 'node:assert/strict';
import { test } from 'node:test';
import { levelDbfs } from '../../src/audio/level.ts';

test('levelDbfs measures RMS in dBFS', () => {
  const sine = new Int16Array(480).map((_, i) => Math.round(32767 * Math.sin((2 * Math.PI * i) / 48)));
  assert.ok(Math.abs(levelDbfs(sine) - -3.01) < 0.05);
  assert.equal(levelDbfs(new Int16Array(480)), -Infinity);
  const quiet = sine.map((s) => Math.round(s / 100));
  assert.ok(Math.abs(levelDbfs(quiet) - -43.01) < 0.1);
});
