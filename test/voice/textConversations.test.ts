/**
 * Text conversations, one per channel (issue 18.1 and 18.6): started once however many mentions ask
 * at once, kept apart per channel, the least recently used idle one closed first to make room, busy
 * ones never, idle ones closed after the idle time.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { GuildConversation } from '../../src/voice/guildConversation.ts';
import { TextConversations } from '../../src/voice/textConversations.ts';

/** A stand-in conversation with the fields TextConversations reads. */
class FakeConversation extends EventEmitter {
  usable = true;
  closed = false;
  lastActivityAt: number;
  readonly name: string;
  pendingQuestions = 0;
  realtime = { activeResponseId: null as string | null, queuedResponses: 0 };
  constructor(name: string, lastActivityAt: number) {
    super();
    this.name = name;
    this.lastActivityAt = lastActivityAt;
  }
  async close(): Promise<void> {
    this.closed = true;
    this.usable = false;
  }
}

const as = (fake: FakeConversation) => fake as unknown as GuildConversation;

describe('TextConversations', () => {
  it('one conversation per channel, started once for mentions arriving together', async () => {
    const text = new TextConversations();
    let starts = 0;
    const start = async () => as(new FakeConversation(`c${++starts}`, 0));
    const [a, b] = await Promise.all([text.acquire('g', 'general', start), text.acquire('g', 'general', start)]);
    assert.equal(starts, 1);
    assert.equal(a, b);
    const staff = await text.acquire('g', 'staff', start);
    assert.notEqual(staff, a, '#staff has its own');
    assert.equal(text.size, 2);
    assert.equal(text.get('g', 'general'), a);
    assert.deepEqual(new Set(text.ofGuild('g')), new Set([a, staff]));
  });

  it('a failed conversation is dropped and the next mention starts a fresh one', async () => {
    const text = new TextConversations();
    const first = new FakeConversation('first', 0);
    await text.acquire('g', 'general', async () => as(first));
    first.usable = false;
    first.emit('failed', 'gone');
    assert.equal(text.size, 0);
    const second = await text.acquire('g', 'general', async () => as(new FakeConversation('second', 0)));
    assert.notEqual(second, as(first));
  });

  it('to make room, the least recently used idle one is closed; busy ones never', async () => {
    const text = new TextConversations();
    const old = new FakeConversation('old', 1_000);
    const older = new FakeConversation('older', 500);
    const oldestBusy = new FakeConversation('oldest but answering', 100);
    oldestBusy.realtime.activeResponseId = 'resp_1';
    const waiting = new FakeConversation('question waiting', 50);
    waiting.pendingQuestions = 1;
    for (const [channel, fake] of [['a', old], ['b', older], ['c', oldestBusy], ['d', waiting]] as const) await text.acquire('g', channel, async () => as(fake));
    assert.equal(text.evictOne(), true);
    assert.equal(older.closed, true, 'the least recently used idle one');
    assert.equal(oldestBusy.closed || waiting.closed || old.closed, false);
    assert.equal(text.evictOne(), true);
    assert.equal(old.closed, true);
    assert.equal(text.evictOne(), false, 'only busy ones are left');
    assert.equal(text.size, 2);
  });

  it('closeIdle closes those idle at least that long, and no busy one', async () => {
    const text = new TextConversations();
    const idle = new FakeConversation('idle', 0);
    const recent = new FakeConversation('recent', 50_000);
    const busy = new FakeConversation('busy', 0);
    busy.realtime.queuedResponses = 1;
    for (const [channel, fake] of [['a', idle], ['b', recent], ['c', busy]] as const) await text.acquire('g', channel, async () => as(fake));
    assert.equal(await text.closeIdle(30_000, 60_000), 1);
    assert.deepEqual([idle.closed, recent.closed, busy.closed], [true, false, false]);
    assert.equal(await text.closeIdle(5_000, 60_000), 1, 'a shorter idle time (pressure) closes the recent one too');
    assert.equal(recent.closed, true);
  });

  it('take hands a channel conversation over (to a call there); put parks one', async () => {
    const text = new TextConversations();
    const chat = new FakeConversation('voice chat', 0);
    await text.acquire('g', 'voice', async () => as(chat));
    assert.equal(text.take('g', 'voice'), as(chat));
    assert.equal(text.size, 0);
    assert.equal(chat.closed, false, 'taken, not closed');
    text.put('g', 'voice', as(chat));
    assert.equal(text.get('g', 'voice'), as(chat));
  });

  it('takeMostRecent hands over the most recently used conversation of an accepted channel (a /join adopting #general)', async () => {
    const text = new TextConversations();
    const general = new FakeConversation('general', 2_000);
    const staff = new FakeConversation('staff', 3_000);
    const random = new FakeConversation('random', 1_000);
    for (const [channel, fake] of [['general', general], ['staff', staff], ['random', random]] as const) await text.acquire('g', channel, async () => as(fake));
    const sameAudience = (channelId: string) => channelId !== 'staff';
    assert.equal(text.takeMostRecent('g', sameAudience), as(general), '#staff is more recent but has another audience');
    assert.equal(text.takeMostRecent('g', sameAudience), as(random));
    assert.equal(text.takeMostRecent('g', sameAudience), undefined);
    assert.equal(text.get('g', 'staff'), as(staff));
  });
});
