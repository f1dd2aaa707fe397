/**
 * GuildSlots: the per-guild lock under /join, /leave, moves and recovery. A check and the action it
 * decides on must never interleave with another operation of the same guild (the two-/join bug of
 * issue 11 was a check-then-act across an await), while guilds never wait for each other, and a slot
 * is forgotten once its guild has nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GuildSlots } from '../../src/voice/guildSlots.ts';
import type { VoiceSession } from '../../src/voice/voiceSession.ts';

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('GuildSlots.exclusive', () => {
  it('runs one guild\'s operations one at a time, in call order, even when each awaits between its check and its act', async () => {
    const slots = new GuildSlots();
    let sessions = 0;
    const order: string[] = [];
    // Each "join" checks for a session, awaits (connecting), then creates one if it saw none.
    const join = (name: string) =>
      slots.exclusive('g1', async () => {
        order.push(`${name} checks`);
        const sawNone = sessions === 0;
        await new Promise((resolve) => setImmediate(resolve));
        if (sawNone) sessions++;
        order.push(`${name} done`);
        return sawNone ? 'joined' : 'already';
      });
    const results = await Promise.all([join('A'), join('B'), join('C')]);
    assert.deepEqual(results, ['joined', 'already', 'already']);
    assert.equal(sessions, 1);
    assert.deepEqual(order, ['A checks', 'A done', 'B checks', 'B done', 'C checks', 'C done']);
  });

  it('never makes one guild wait for another', async () => {
    const slots = new GuildSlots();
    const blocked = gate();
    const first = slots.exclusive('g1', () => blocked.promise.then(() => 'g1'));
    // g2's operation finishes while g1's is still blocked.
    assert.equal(await slots.exclusive('g2', async () => 'g2'), 'g2');
    blocked.open();
    assert.equal(await first, 'g1');
  });

  it('an operation that throws rejects its caller only; the next one of the guild still runs', async () => {
    const slots = new GuildSlots();
    const failing = slots.exclusive('g1', async () => {
      throw new Error('voice connection refused');
    });
    const next = slots.exclusive('g1', async () => 'ran');
    await assert.rejects(failing, /voice connection refused/);
    assert.equal(await next, 'ran');
  });
});

describe('GuildSlots bookkeeping', () => {
  it('keeps a slot while an operation runs or waits, and forgets it once the guild has nothing', async () => {
    const slots = new GuildSlots();
    const blocked = gate();
    const running = slots.exclusive('g1', () => blocked.promise);
    const waiting = slots.exclusive('g1', async () => undefined);
    assert.equal(slots.size, 1);
    assert.equal(slots.peek('g1')?.pendingOperations, 2);
    blocked.open();
    await Promise.all([running, waiting]);
    assert.equal(slots.size, 0, 'an empty slot is forgotten');
    assert.equal(slots.peek('g1'), undefined);
  });

  it('keeps a slot that holds a voice session or a pending failed-leave timer, and forgets it when they go', () => {
    const slots = new GuildSlots();
    const slot = slots.get('g1');
    slot.voice = {} as VoiceSession;
    slots.release(slot);
    assert.equal(slots.size, 1, 'a slot with a voice session stays');
    slot.voice = null;
    slot.armFailedLeave(60_000, () => assert.fail('cleared before it fires'));
    slots.release(slot);
    assert.equal(slots.size, 1, 'a slot about to leave voice for a failed conversation stays');
    assert.ok(slot.failedLeaveAt !== null && slot.failedLeaveAt > Date.now());
    slot.clearFailedLeave();
    assert.equal(slot.failedLeaveAt, null);
    slots.release(slot);
    assert.equal(slots.size, 0);
  });

  it('release() of a replaced slot leaves the current one alone', () => {
    const slots = new GuildSlots();
    const old = slots.get('g1');
    slots.release(old);
    const current = slots.get('g1');
    current.voice = {} as VoiceSession;
    slots.release(old); // a late release from an operation that held the old slot
    assert.equal(slots.peek('g1'), current);
  });
});
