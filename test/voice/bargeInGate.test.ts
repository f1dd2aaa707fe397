import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { BargeInGate, levelDbfs } from '../../src/voice/bargeInGate.ts';

const LOUD = -20;
const QUIET = -70;

function feed(gate: BargeInGate, speaker: string, pattern: number[]): number[] {
  const fired: number[] = [];
  pattern.forEach((level, index) => {
    if (gate.observe(speaker, level, 20)) fired.push(index);
  });
  return fired;
}

test('a cough shorter than the minimum does not interrupt', () => {
  const gate = new BargeInGate({ minSpeechMs: 400, minLevelDbfs: -45 });
  assert.deepEqual(feed(gate, 'a', [...Array(10).fill(LOUD), ...Array(20).fill(QUIET)]), []);
});

test('sustained speech interrupts exactly once, at the minimum duration', () => {
  const gate = new BargeInGate({ minSpeechMs: 400, minLevelDbfs: -45 });
  assert.deepEqual(feed(gate, 'a', Array(40).fill(LOUD)), [19]);
});

test('quiet sounds below the level never interrupt', () => {
  const gate = new BargeInGate({ minSpeechMs: 100, minLevelDbfs: -45 });
  assert.deepEqual(feed(gate, 'a', Array(100).fill(-50)), []);
});

test('short gaps between syllables are bridged, long gaps restart the run', () => {
  const gate = new BargeInGate({ minSpeechMs: 200, minLevelDbfs: -45, bridgeGapMs: 60 });
  // 6 loud, 2 quiet (40 ms, bridged), then loud: 120 + 40 + 20 = 180 at index 8, 200 at index 9
  assert.deepEqual(feed(gate, 'a', [...Array(6).fill(LOUD), QUIET, QUIET, ...Array(4).fill(LOUD)]), [9]);
  const other = new BargeInGate({ minSpeechMs: 200, minLevelDbfs: -45, bridgeGapMs: 60 });
  // 6 loud, 4 quiet (80 ms, not bridged), 6 loud → never reaches 200 in one run
  assert.deepEqual(feed(other, 'a', [...Array(6).fill(LOUD), ...Array(4).fill(QUIET), ...Array(6).fill(LOUD)]), []);
});

test('speakers are measured separately: two short sounds do not add up', () => {
  const gate = new BargeInGate({ minSpeechMs: 200, minLevelDbfs: -45 });
  const fired = [];
  for (let i = 0; i < 6; i++) {
    if (gate.observe('a', LOUD, 20)) fired.push(`a${i}`);
    if (gate.observe('b', LOUD, 20)) fired.push(`b${i}`);
  }
  assert.deepEqual(fired, []);
  // a has 120 ms: 100 ms more would interrupt, unless a was forgotten (left the channel)
  assert.equal(gate.observe('b', LOUD, 100), true);
  gate.forget('a');
  assert.equal(gate.observe('a', LOUD, 100), false);
});

test('levelDbfs measures RMS in dBFS', () => {
  const sine = new Int16Array(480).map((_, i) => Math.round(32767 * Math.sin((2 * Math.PI * i) / 48)));
  assert.ok(Math.abs(levelDbfs(sine) - -3.01) < 0.05);
  assert.equal(levelDbfs(new Int16Array(480)), -Infinity);
  const quiet = sine.map((s) => Math.round(s / 100));
  assert.ok(Math.abs(levelDbfs(quiet) - -43.01) < 0.1);
});
