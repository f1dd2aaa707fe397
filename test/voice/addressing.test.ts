/**
 * The addressing gate on its own: answers asked for at once, their audio held until the turn's
 * transcript decides; named turns and follow-ups within the window play, others are dropped before
 * a sound; `auto` follows how many people are heard; only the people answered interrupt in `name`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { ResponseHandle } from '../../src/realtime/index.ts';
import type { AddressingMode } from '../../src/store/index.ts';
import { AddressingGate } from '../../src/voice/addressing.ts';
import type { TurnModel, TurnPlayback } from '../../src/voice/turnTaking.ts';

function setup(mode: AddressingMode, humans = 3) {
  let now = 1_000_000;
  const played: string[] = [];
  const drops: number[] = [];
  const inner: TurnPlayback = {
    isPlaying: false,
    push: (itemId, pcm) => void played.push(`${itemId}:${pcm.length}`),
    endItem: (itemId) => void played.push(`${itemId}:end`),
    stop: () => null,
  };
  const settings = { mode, humans, followUpMs: 10_000 };
  const gate = new AddressingGate({
    settings: { mode: () => settings.mode, wakeNames: () => ['Jarvis'], followUpMs: () => settings.followUpMs, humansHeard: () => settings.humans },
    logger: silentLogger,
    drop: () => {
      drops.push(now);
      playback.stop();
    },
    now: () => now,
  });
  const model: TurnModel = gate.model({
    addContextNote: () => undefined,
    truncate: () => undefined,
    createResponse: () => new ResponseHandle({ outOfBand: false }, () => undefined),
  });
  const playback = gate.playback(inner);
  return { gate, model, playback, played, drops, settings, advance: (ms: number) => (now += ms) };
}
const tick = () => new Promise((resolve) => setImmediate(resolve));
const audio = Buffer.alloc(480);

test('always: the answer plays at once, no transcript needed', async () => {
  const { gate, model, playback, played } = setup('always');
  gate.committed('i1', ['alice']);
  model.createResponse({});
  playback.push('a1', audio);
  assert.deepEqual(played, ['a1:480']);
  assert.equal(gate.effectiveMode, 'always');
});

test('name: a turn without the name plays nothing and is dropped when its transcript comes', async () => {
  const { gate, model, playback, played, drops } = setup('name');
  gate.committed('i1', ['alice']);
  model.createResponse({});
  await tick();
  playback.push('a1', audio);
  assert.equal(playback.isPlaying, true, 'held audio counts as playing');
  assert.deepEqual(played, [], 'held');
  gate.transcript('i1', 'did you see the game last night');
  assert.equal(drops.length, 1);
  assert.deepEqual(played, []);
  assert.deepEqual(gate.counts, { addressed: 0, notAddressed: 1 });
  // Audio of the dropped answer arriving late is not held for anyone (nothing pending): turn-taking ignores it.
});

test('name: the held audio plays, in order, when the transcript names the bot', async () => {
  const { gate, model, playback, played, drops } = setup('name');
  gate.committed('i1', ['alice']);
  model.createResponse({});
  await tick();
  playback.push('a1', audio);
  playback.push('a1', Buffer.alloc(960));
  gate.transcript('i1', 'Hey Jarvis, what time is it?');
  assert.deepEqual(played, ['a1:480', 'a1:960']);
  playback.push('a1', audio);
  playback.endItem('a1');
  assert.deepEqual(played, ['a1:480', 'a1:960', 'a1:480', 'a1:end'], 'after the decision audio goes straight through');
  assert.equal(drops.length, 0);
});

test('name: the person answered may follow up without the name within the window, not after', async () => {
  const { gate, model, playback, played, drops, advance } = setup('name');
  gate.committed('i1', ['alice']);
  model.createResponse({});
  gate.transcript('i1', 'jarvis, tell me a joke');
  await tick();
  gate.replyEnded();
  advance(9_000);
  gate.committed('i2', ['alice']);
  model.createResponse({});
  await tick();
  playback.push('a2', audio);
  assert.deepEqual(played, ['a2:480'], 'decided before the transcript: a follow-up');
  assert.equal(gate.mayInterrupt('alice'), true);
  assert.equal(gate.mayInterrupt('bob'), false, 'others chatting do not interrupt in name mode');

  gate.committed('i3', ['bob']);
  model.createResponse({});
  await tick();
  playback.push('a3', audio);
  assert.deepEqual(played, ['a2:480'], "Bob's turn waits for its transcript");
  gate.transcript('i3', 'me too');
  assert.equal(drops.length, 1);

  gate.replyEnded();
  advance(10_001);
  gate.committed('i4', ['alice']);
  model.createResponse({});
  await tick();
  gate.transcript('i4', 'and another one');
  assert.equal(drops.length, 2, 'the window has passed');
});

test('a turn whose transcript never comes is dropped after the timeout', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { gate, model, drops } = setup('name');
  gate.committed('i1', ['alice']);
  model.createResponse({});
  t.mock.timers.tick(4_999);
  assert.equal(drops.length, 0);
  t.mock.timers.tick(1);
  assert.equal(drops.length, 1);
});

test('auto: always with one person heard, name with more', async () => {
  const { gate, model, playback, played, settings } = setup('auto', 1);
  assert.equal(gate.effectiveMode, 'always');
  gate.committed('i1', ['alice']);
  model.createResponse({});
  playback.push('a1', audio);
  assert.deepEqual(played, ['a1:480']);
  settings.humans = 2;
  assert.equal(gate.effectiveMode, 'name');
});

test('an answer not asked for by a turn (a tool follow-up) is never held', async () => {
  const { gate, model, playback, played } = setup('name');
  model.createResponse({});
  playback.push('a1', audio);
  assert.deepEqual(played, ['a1:480']);
  assert.deepEqual(gate.counts, { addressed: 0, notAddressed: 0 });
});

test('stopping a held answer reports its item as heard for 0 ms (truncated to nothing)', async () => {
  const { gate, model, playback } = setup('name');
  gate.committed('i1', ['alice']);
  model.createResponse({});
  await tick();
  playback.push('a1', audio);
  assert.deepEqual(playback.stop(), { itemId: 'a1', playedMs: 0 });
  assert.equal(playback.isPlaying, false);
});

test('name: streamed transcript pieces release the held audio as soon as a whole word names the bot, before the transcript is complete', async () => {
  const { gate, model, playback, played, drops } = setup('name');
  // A streaming transcriber sends words while the person speaks, before the commit.
  gate.transcriptDelta('i1', 'Hey ');
  gate.committed('i1', ['alice']);
  model.createResponse({});
  await tick();
  playback.push('a1', audio);
  gate.transcriptDelta('i1', 'Jar');
  assert.deepEqual(played, [], 'a word still growing does not count ("Jar" could become "Jarvinen")');
  gate.transcriptDelta('i1', 'vis,');
  assert.deepEqual(played, ['a1:480'], 'released on the piece that completes the name');
  gate.transcript('i1', 'Hey Jarvis, what time is it?');
  assert.equal(drops.length, 0);
  assert.deepEqual(gate.counts, { addressed: 1, notAddressed: 0 });
});

test('name: streamed pieces without the name never drop the answer early; the whole transcript decides', async () => {
  const { gate, model, playback, played, drops } = setup('name');
  gate.committed('i1', ['alice']);
  model.createResponse({});
  await tick();
  playback.push('a1', audio);
  gate.transcriptDelta('i1', 'so what do you think ');
  assert.equal(drops.length, 0, 'not decided on a partial transcript');
  gate.transcriptDelta('i1', 'Jarvis');
  assert.deepEqual(played, [], 'the last word may still grow');
  gate.transcript('i1', 'so what do you think Jarvis');
  assert.deepEqual(played, ['a1:480']);
  assert.equal(drops.length, 0);
});
