import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { FrameClock, type FrameTick } from '../../src/audio/frameClock.ts';
import { createLogger, silentLogger } from '../../src/log.ts';

/** A fake monotonic clock and timer queue: time only moves when the test says so. */
class FakeTime {
  now = 1000;
  timers: { due: number; fn: () => void; id: number }[] = [];
  delays: number[] = [];
  #nextId = 0;

  schedule = (fn: () => void, delayMs: number) => {
    const id = this.#nextId++;
    this.delays.push(delayMs);
    this.timers.push({ due: this.now + delayMs, fn, id });
    return () => {
      this.timers = this.timers.filter((t) => t.id !== id);
    };
  };

  /** Advances to `until`, firing due timers in order; each one fires `lateBy` ms after it is due. */
  advanceTo(until: number, lateBy: (due: number) => number = () => 0) {
    for (;;) {
      this.timers.sort((a, b) => a.due - b.due);
      const next = this.timers[0];
      if (!next || next.due > until) break;
      this.timers.shift();
      this.now = Math.max(this.now, next.due + lateBy(next.due));
      next.fn();
    }
    this.now = Math.max(this.now, until);
  }
}

function makeClock(time: FakeTime, logger?: ReturnType<typeof createLogger>) {
  return new FrameClock({ now: () => time.now, schedule: time.schedule, logger: logger ?? silentLogger });
}

describe('FrameClock', () => {
  it('ticks every 20 ms from the first subscription, on deadlines computed from the start', () => {
    const time = new FakeTime();
    const clock = makeClock(time);
    const ticks: FrameTick[] = [];
    clock.subscribe((tick) => ticks.push(tick));
    // Every timer fires 3 ms late: the next deadline must not move (17 ms delays, not 20).
    time.advanceTo(1000 + 20 * 9 + 5, () => 3);
    assert.deepEqual(ticks.map((t) => t.frameIndex), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(ticks.map((t) => t.scheduledMs), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => 1000 + 20 * n));
    assert.ok(ticks.every((t) => t.lateMs === 3));
    assert.deepEqual(time.delays.slice(1, 4), [17, 17, 17]);
  });

  it('never skips a tick after a stall; the late ticks report their lateness', () => {
    const time = new FakeTime();
    const clock = makeClock(time);
    const ticks: FrameTick[] = [];
    clock.subscribe((tick) => ticks.push(tick));
    time.advanceTo(1000);
    // The event loop is blocked for 70 ms: the timer of tick 1 (due 1020) runs at 1090.
    time.advanceTo(1100, (due) => (due === 1020 ? 70 : 0));
    assert.deepEqual(ticks.map((t) => t.frameIndex), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(ticks.map((t) => t.lateMs), [0, 70, 50, 30, 10, 0]);
    assert.equal(ticks[5]!.scheduledMs, 1100);
  });

  it('runs only while it has subscribers, and keeps counting frames across restarts', () => {
    const time = new FakeTime();
    const clock = makeClock(time);
    const seen: number[] = [];
    const unsubscribe = clock.subscribe((tick) => seen.push(tick.frameIndex));
    assert.equal(clock.running, true);
    time.advanceTo(1040);
    unsubscribe();
    unsubscribe(); // idempotent
    assert.equal(clock.running, false);
    assert.equal(time.timers.length, 0, 'timer cancelled');
    time.advanceTo(5000);
    assert.deepEqual(seen, [0, 1, 2]);
    clock.subscribe((tick) => seen.push(tick.frameIndex));
    time.advanceTo(5020);
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
  });

  it('keeps ticking the others when one subscriber throws, and logs it', () => {
    const time = new FakeTime();
    const lines: string[] = [];
    const logger = createLogger({ destination: new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }) });
    const clock = makeClock(time, logger);
    const a: number[] = [];
    const b: number[] = [];
    clock.subscribe((tick) => a.push(tick.frameIndex));
    clock.subscribe(() => {
      throw new Error('boom');
    });
    clock.subscribe((tick) => b.push(tick.frameIndex));
    time.advanceTo(1040);
    assert.deepEqual(a, [0, 1, 2]);
    assert.deepEqual(b, [0, 1, 2]);
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /boom/);
  });

  it('lets a subscriber unsubscribe itself or another from inside a tick', () => {
    const time = new FakeTime();
    const clock = makeClock(time);
    const calls: string[] = [];
    let unsubscribeB = () => {};
    const unsubscribeA = clock.subscribe((tick) => {
      calls.push(`a${tick.frameIndex}`);
      if (tick.frameIndex === 1) {
        unsubscribeA();
        unsubscribeB();
      }
    });
    unsubscribeB = clock.subscribe((tick) => calls.push(`b${tick.frameIndex}`));
    time.advanceTo(1100);
    assert.deepEqual(calls, ['a0', 'b0', 'a1']);
    assert.equal(clock.running, false);
  });

  it('really ticks with the real timer', async () => {
    const clock = new FrameClock({ logger: silentLogger });
    const ticks: FrameTick[] = [];
    await new Promise<void>((resolve) => {
      const unsubscribe = clock.subscribe((tick) => {
        ticks.push(tick);
        if (ticks.length === 3) {
          unsubscribe();
          resolve();
        }
      });
    });
    assert.equal(clock.running, false);
    assert.deepEqual(ticks.map((t) => t.frameIndex - ticks[0]!.frameIndex), [0, 1, 2]);
    assert.deepEqual(ticks.map((t) => Math.round(t.scheduledMs - ticks[0]!.scheduledMs)), [0, 20, 40]);
  });
});

describe('FrameClock afterTick', () => {
  it('runs once per tick, after every listener and what they deferred with setImmediate; never while stopped', async () => {
    const time = new FakeTime();
    const order: string[] = [];
    let afterTicks = 0;
    const clock = new FrameClock({
      now: () => time.now,
      schedule: time.schedule,
      logger: silentLogger,
      afterTick: () => {
        afterTicks++;
        order.push('after');
      },
    });
    const stop = clock.subscribe(({ frameIndex }) => {
      order.push(`send ${frameIndex}`);
      setImmediate(() => order.push(`input ${frameIndex}`));
    });
    time.advanceTo(1000); // tick 0
    await new Promise((resolve) => setImmediate(resolve));
    time.advanceTo(1020); // tick 1
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, ['send 0', 'input 0', 'after', 'send 1', 'input 1', 'after']);
    stop();
    time.advanceTo(1100);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(afterTicks, 2, 'a stopped clock runs nothing after ticks');
  });
});
