import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { BargeInGate } from '../../src/voice/bargeInGate.ts';

const LOUD = -20;
const QUIET = -70;

/** Feeds one frame every 20 ms (frame i arrives at startMs + 20·(i+1)); returns the indexes that fired. */
function feed(gate: BargeInGate, speaker: string, pattern: number[], startMs = 0): number[] {
  const fired: number[] = [];
  pattern.forEach((level, index) => {
    if (gate.observe(speaker, level, 20, startMs + 20 * (index + 1))) fired.push(index);
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
  // 6 loud, 2 quiet (40 ms, bridged), then loud: span 120 + 40 + 20 = 180 at index 8, 200 at index 9
  assert.deepEqual(feed(gate, 'a', [...Array(6).fill(LOUD), QUIET, QUIET, ...Array(4).fill(LOUD)]), [9]);
  const other = new BargeInGate({ minSpeechMs: 200, minLevelDbfs: -45, bridgeGapMs: 60 });
  // 6 loud, 4 quiet (80 ms, not bridged), 6 loud → never reaches 200 in one run
  assert.deepEqual(feed(other, 'a', [...Array(6).fill(LOUD), ...Array(4).fill(QUIET), ...Array(6).fill(LOUD)]), []);
});

test('syllabic speech (125 ms on, 125 ms off) interrupts; a two-syllable "uh-huh" does not', () => {
  const syllables = (count: number) => Array.from({ length: count }, () => [...Array(6).fill(LOUD), ...Array(6).fill(QUIET)]).flat();
  const gate = new BargeInGate({ minSpeechMs: 500, minLevelDbfs: -45 });
  const fired = feed(gate, 'a', syllables(6));
  assert.equal(fired.length, 1);
  assert.ok(fired[0]! * 20 <= 600, `fired after ${fired[0]! * 20} ms`);
  const uhHuh = new BargeInGate({ minSpeechMs: 500, minLevelDbfs: -45 });
  assert.deepEqual(feed(uhHuh, 'a', [...syllables(2), ...Array(30).fill(QUIET)]), []);
});

test('sparse sounds such as typing never interrupt, however long they go on (40% must be voiced)', () => {
  const gate = new BargeInGate({ minSpeechMs: 400, minLevelDbfs: -45, bridgeGapMs: 200 });
  // 1 loud frame every 200 ms for 20 s: the run spans it all, but only 10% is voiced
  const clicks = Array.from({ length: 100 }, () => [LOUD, ...Array(9).fill(QUIET)]).flat();
  assert.deepEqual(feed(gate, 'a', clicks), []);
});

test('speakers are measured separately: two short sounds do not add up', () => {
  const gate = new BargeInGate({ minSpeechMs: 200, minLevelDbfs: -45 });
  const fired = [];
  for (let i = 0; i < 6; i++) {
    if (gate.observe('a', LOUD, 20, 20 * (i + 1))) fired.push(`a${i}`);
    if (gate.observe('b', LOUD, 20, 20 * (i + 1))) fired.push(`b${i}`);
  }
  assert.deepEqual(fired, []);
  // each has 120 ms: four more frames would interrupt, unless the speaker was forgotten (left the channel)
  gate.forget('a');
  assert.deepEqual(feed(gate, 'b', Array(4).fill(LOUD), 120), [3]);
  assert.deepEqual(feed(gate, 'a', Array(4).fill(LOUD), 120), []);
});

test('a pause with no frames at all (Discord sends nothing in silence) ends the run', () => {
  const gate = new BargeInGate({ minSpeechMs: 400, minLevelDbfs: -45 });
  // A long first utterance fires once…
  assert.deepEqual(feed(gate, 'a', Array(50).fill(LOUD), 0), [19]);
  // …then the client goes silent: no frames for 5 s. The next utterance is a new run and fires again.
  assert.deepEqual(feed(gate, 'a', Array(30).fill(LOUD), 6_000), [19]);
});
