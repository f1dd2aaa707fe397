import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeafnessWatch } from '../../src/voice/deafnessWatch.ts';

/** Feeds one voiced packet every 20 ms from `from` (inclusive) to `to` (exclusive). */
function packets(watch: DeafnessWatch, userId: string, from: number, to: number): void {
  for (let t = from; t < to; t += 20) watch.packet(userId, t);
}

describe('DeafnessWatch', () => {
  it('reports a speaker whose packets arrive for the whole window with no frame out, once per episode', () => {
    const watch = new DeafnessWatch({ windowMs: 3000, minPackets: 50, staleMs: 1000 });
    packets(watch, 'alice', 0, 2980);
    assert.deepEqual(watch.check(2980), [], 'not before the window has passed');
    packets(watch, 'alice', 2980, 3020);
    assert.deepEqual(watch.check(3000), ['alice']);
    assert.deepEqual(watch.check(3010), [], 'reported once');
    packets(watch, 'alice', 3020, 6000);
    assert.deepEqual(watch.check(6000), [], 'a new episode needs a full window of its own');
    packets(watch, 'alice', 6000, 6040);
    assert.deepEqual(watch.check(6030), ['alice']);
  });

  it('a frame out means the speaker is heard: the window starts again', () => {
    const watch = new DeafnessWatch({ windowMs: 3000, minPackets: 50 });
    packets(watch, 'alice', 0, 2900);
    watch.frame('alice');
    packets(watch, 'alice', 2900, 5000);
    assert.deepEqual(watch.check(5000), [], 'only 2.1 s without a frame');
    packets(watch, 'alice', 5000, 5920);
    assert.deepEqual(watch.check(5920), ['alice']);
  });

  it('needs enough packets (a few stray ones are not speech) and packets still arriving', () => {
    const watch = new DeafnessWatch({ windowMs: 3000, minPackets: 50, staleMs: 1000 });
    for (let t = 0; t < 4000; t += 100) watch.packet('bob', t); // 40 packets in 4 s
    assert.deepEqual(watch.check(4000), []);
    packets(watch, 'carol', 0, 2000); // 100 packets, then she stopped talking
    assert.deepEqual(watch.check(3100), [], 'her last packet is 1.1 s old');
  });

  it('tracks speakers independently and forgets those who left', () => {
    const watch = new DeafnessWatch({ windowMs: 1000, minPackets: 10 });
    packets(watch, 'alice', 0, 1100);
    packets(watch, 'bob', 0, 1100);
    watch.frame('bob');
    assert.deepEqual(watch.check(1100), ['alice']);
    watch.forget('alice');
    watch.forget('bob');
    assert.equal(watch.size, 0);
  });
});
