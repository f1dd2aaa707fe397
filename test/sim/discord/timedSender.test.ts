import { strict as assert } from 'node:assert';
import { createSocket } from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { TimedSender } from '../../../sim/discord/timedSender.ts';

describe('TimedSender', () => {
  let sender: TimedSender;
  const receiver = createSocket('udp4');
  const received: Buffer[] = [];
  before(async () => {
    sender = await TimedSender.start();
    receiver.on('message', (message) => received.push(message));
    await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await sender.close();
    receiver.close();
  });

  test('sends each packet at its time from its own thread, on time while this thread is blocked', async () => {
    const { port } = receiver.address();
    const start = performance.now();
    const late = new Map<number, number>();
    for (let i = 0; i < 10; i++) sender.sendAt(Buffer.from([0x80, 0x78, i, 1, 2, 3]), '127.0.0.1', port, start + 100 + 20 * i, (lateMs) => late.set(i, lateMs));
    await new Promise((resolve) => setImmediate(resolve)); // the batch is posted to the thread
    // This thread is busy for 400 ms, past every packet's time (100–280 ms): sent from here, each would leave 120–300 ms late.
    for (const until = performance.now() + 400; performance.now() < until; );
    const deadline = performance.now() + 10_000;
    while ((received.length < 10 || late.size < 10) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(received.map((m) => m[2]).sort((a, b) => a! - b!), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'every packet arrived');
    assert.ok(received.every((m) => m.length === 6 && m[0] === 0x80 && m[5] === 3), 'byte for byte');
    const worst = Math.max(...late.values());
    assert.ok(worst < 100, `every packet left within 100 ms of its time although this thread was blocked (worst ${worst.toFixed(1)} ms)`);
    assert.ok([...late.values()].every((ms) => ms > -2), 'none before its time');
    if (process.platform === 'linux') assert.ok(sender.threadId && sender.threadId !== process.pid, `a thread id of its own (${sender.threadId}), for its CPU priority`);
  });

  test('batchMs: packets handed over in separate turns travel to the thread together and still leave on time; one due soon goes at once', async () => {
    const batched = await TimedSender.start({ batchMs: 200 });
    const port2 = createSocket('udp4');
    const got: Buffer[] = [];
    port2.on('message', (message) => got.push(message));
    await new Promise<void>((resolve) => port2.bind(0, '127.0.0.1', resolve));
    try {
      const { port } = port2.address();
      const start = performance.now();
      const late = new Map<number, number>();
      for (let i = 0; i < 10; i++) {
        batched.sendAt(Buffer.from([0x80, 0x78, i]), '127.0.0.1', port, start + 500 + 20 * i, (lateMs) => late.set(i, lateMs));
        await new Promise((resolve) => setImmediate(resolve)); // another turn of the loop
      }
      assert.equal(batched.batchesPosted, 0, 'the batch waits (its packets are due in 500 ms)');
      // Due in 5 ms: cannot wait for the batch's 200 ms, so the batch leaves now, this one with it.
      batched.sendAt(Buffer.from([0x80, 0x78, 10]), '127.0.0.1', port, performance.now() + 5, (lateMs) => late.set(10, lateMs));
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(batched.batchesPosted, 1, 'a packet due sooner than the batch span is handed over at once, with the batch');
      for (let i = 11; i < 20; i++) {
        batched.sendAt(Buffer.from([0x80, 0x78, i]), '127.0.0.1', port, start + 500 + 20 * i, (lateMs) => late.set(i, lateMs));
        await new Promise((resolve) => setImmediate(resolve));
      }
      const deadline = performance.now() + 10_000;
      while ((got.length < 20 || late.size < 20) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.deepEqual(got.map((m) => m[2]).sort((a, b) => a! - b!), [...Array(20).keys()], 'every packet arrived');
      assert.ok(batched.batchesPosted <= 3, `19 packets over 20 turns of the loop in at most 3 messages (${batched.batchesPosted})`);
      const worst = Math.max(...late.values());
      assert.ok(worst < 100, `every packet left within 100 ms of its time (worst ${worst.toFixed(1)} ms)`);
      assert.ok([...late.values()].every((ms) => ms > -2), 'none before its time');
    } finally {
      await batched.close();
      port2.close();
    }
  });
});
