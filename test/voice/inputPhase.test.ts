import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { FrameClock } from '../../src/audio/frameClock.ts';
import { silentLogger } from '../../src/log.ts';
import { onInputPhase } from '../../src/voice/inputPhase.ts';

/** A clock whose ticks fire when the test says (the timer it asks for is kept, not started). */
function manualClock() {
  let now = 1000;
  let pending: (() => void) | undefined;
  const clock = new FrameClock({
    now: () => now,
    schedule: (fn) => {
      pending = fn;
      return () => (pending = undefined);
    },
    logger: silentLogger,
  });
  return {
    clock,
    /** Fires the tick that is due; the test then waits for the check phase with {@link checkPhase}. */
    tick() {
      const fire = pending;
      assert.ok(fire, 'a tick is scheduled');
      pending = undefined;
      fire();
      now += 20;
    },
  };
}

/** Resolves in the check phase after everything already queued there (the input phase included). */
const checkPhase = () => new Promise<void>((resolve) => setImmediate(resolve));

let immediates = 0;
const realSetImmediate = globalThis.setImmediate;
beforeEach(() => {
  immediates = 0;
  globalThis.setImmediate = ((fn: (...args: unknown[]) => void, ...args: unknown[]) => {
    immediates++;
    return realSetImmediate(fn, ...args);
  }) as typeof setImmediate;
});
afterEach(() => {
  globalThis.setImmediate = realSetImmediate;
});

test("every session's input work runs once per tick, after the tick's listeners, in one setImmediate", async () => {
  const { clock, tick } = manualClock();
  const log: string[] = [];
  const stops = ['a', 'b', 'c'].map((name) => onInputPhase(clock, (scheduledMs) => log.push(`${name}@${scheduledMs}`), silentLogger));
  // An output listener subscribed after the sessions' input: its packet still goes first.
  const stopOutput = clock.subscribe((t) => log.push(`output@${t.scheduledMs}`));
  tick();
  const queuedByTick = immediates;
  await checkPhase();
  assert.deepEqual(log, ['output@1000', 'a@1000', 'b@1000', 'c@1000']);
  assert.equal(queuedByTick, 1, 'one setImmediate for the three sessions');
  log.length = 0;
  tick();
  await checkPhase();
  assert.deepEqual(log, ['output@1020', 'a@1020', 'b@1020', 'c@1020']);
  stopOutput();
  for (const stop of stops) stop();
});

test('stopped work is not run, even when stopped during the phase; the last one out leaves the clock', async () => {
  const { clock, tick } = manualClock();
  const log: string[] = [];
  let stopB: () => void = () => {};
  const stopA = onInputPhase(clock, () => (log.push('a'), stopB()), silentLogger);
  stopB = onInputPhase(clock, () => log.push('b'), silentLogger);
  const stopC = onInputPhase(clock, () => log.push('c'), silentLogger);
  assert.equal(clock.subscriberCount, 1, 'one clock subscription for all sessions');
  tick();
  await checkPhase();
  assert.deepEqual(log, ['a', 'c']);
  stopA();
  stopC();
  assert.equal(clock.subscriberCount, 0);
  assert.equal(clock.running, false);
  // Back in use: subscribes again.
  const stopD = onInputPhase(clock, () => log.push('d'), silentLogger);
  assert.equal(clock.subscriberCount, 1);
  stopD();
});

test("a session whose input work throws is logged, and the others still get theirs", async () => {
  const { clock, tick } = manualClock();
  const lines: string[] = [];
  const logger = pino({ level: 'error' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
  const log: string[] = [];
  const stops = [
    onInputPhase(clock, () => log.push('a'), silentLogger),
    onInputPhase(clock, () => {
      throw new Error('broken session');
    }, logger),
    onInputPhase(clock, () => log.push('c'), silentLogger),
  ];
  tick();
  await checkPhase();
  assert.deepEqual(log, ['a', 'c']);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /voice input work threw/);
  assert.match(lines[0]!, /broken session/);
  for (const stop of stops) stop();
});

test('work added during a phase starts at the next tick', async () => {
  const { clock, tick } = manualClock();
  const log: string[] = [];
  const stops: (() => void)[] = [];
  stops.push(
    onInputPhase(clock, (scheduledMs) => {
      log.push(`a@${scheduledMs}`);
      if (stops.length === 1) stops.push(onInputPhase(clock, (at) => log.push(`late@${at}`), silentLogger));
    }, silentLogger),
  );
  tick();
  await checkPhase();
  assert.deepEqual(log, ['a@1000']);
  tick();
  await checkPhase();
  assert.deepEqual(log, ['a@1000', 'a@1020', 'late@1020']);
  for (const stop of stops) stop();
});

