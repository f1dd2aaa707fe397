/**
 * Captions on their own, against a recording channel: lines batched into one message and edited at
 * most once per interval with one request at a time, in turn order (an answer never above the words
 * it answers), labels that a transcript cannot forge, no message over 2,000 characters, nothing when
 * off or for a speaker who opted out, and no more requests to a channel that refused them.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../src/log.ts';
import type { ResponseResult } from '../../src/realtime/index.ts';
import { defaultRoomSettings } from '../../src/store/index.ts';
import { Captions, captionLine, MAX_MESSAGE_LENGTH, type CaptionChannel } from '../../src/voice/captions.ts';
import { SessionCaptions } from '../../src/voice/sessionCaptions.ts';
import { RoomPolicy } from '../../src/voice/roomPolicy.ts';

const INTERVAL_MS = 150;

interface Request {
  kind: 'create' | 'edit';
  message: number;
  content: string;
  startedAt: number;
  endedAt: number;
}

function setup(options: { enabled?: () => boolean; fail?: (request: Omit<Request, 'endedAt'>) => Error | null; latencyMs?: number } = {}) {
  const requests: Request[] = [];
  const messages: string[] = [];
  const run = async (kind: Request['kind'], message: number, content: string) => {
    const request = { kind, message, content, startedAt: performance.now() };
    await sleep(options.latencyMs ?? 5);
    const error = options.fail?.(request) ?? null;
    requests.push({ ...request, endedAt: performance.now() });
    if (error) throw error;
    messages[message] = content;
  };
  const channel: CaptionChannel = {
    id: 'voice-1',
    async send({ content }) {
      const message = messages.length;
      messages.push('');
      await run('create', message, content);
      return { edit: ({ content: edited }) => run('edit', message, edited) };
    },
  };
  const captions = new Captions({ channel: () => channel, enabled: options.enabled ?? (() => true), logger: silentLogger, intervalMs: INTERVAL_MS });
  const settled = async (count: number) => {
    const deadline = performance.now() + 10_000;
    while (requests.length < count) {
      if (performance.now() > deadline) throw new Error(`expected ${count} requests, got ${JSON.stringify(requests)}`);
      await sleep(10);
    }
  };
  return { captions, requests, messages, settled };
}

test('lines said together go in one message; later lines edit it, never sooner than the interval after the last request', async () => {
  const { captions, requests, messages, settled } = setup({ latencyMs: 30 });
  captions.say(['1'], 'one');
  captions.say(['2'], 'two');
  await settled(1);
  captions.say(['1'], 'three');
  captions.say(['bot'], 'four');
  await settled(2);
  captions.say(['2'], 'five');
  await settled(3);
  assert.deepEqual(requests.map((r) => r.kind), ['create', 'edit', 'edit']);
  assert.equal(messages.length, 1);
  assert.equal(messages[0], ['<@1>: one', '<@2>: two', '<@1>: three', '<@bot>: four', '<@2>: five'].join('\n'));
  for (let i = 1; i < requests.length; i++) {
    assert.ok(requests[i]!.startedAt >= requests[i - 1]!.endedAt, 'one request at a time');
    // Timers may fire a millisecond early: the bound allows 5 ms.
    assert.ok(requests[i]!.startedAt - requests[i - 1]!.endedAt >= INTERVAL_MS - 5, `request ${i} came ${requests[i]!.startedAt - requests[i - 1]!.endedAt} ms after the previous one`);
  }
});

test("an answer waits for the transcript of the turn it answers, so it is never posted above it", async () => {
  const { captions, requests, messages, settled } = setup();
  captions.expectTurn('item-1', ['alice']);
  captions.say(['bot'], 'Sure, here is the answer.');
  await sleep(INTERVAL_MS * 2);
  assert.equal(requests.length, 0, 'nothing posted while the turn awaits its transcript');
  captions.transcript('item-1', 'What is the answer?');
  await settled(1);
  assert.equal(messages[0], '<@alice>: What is the answer?\n<@bot>: Sure, here is the answer.');
});

test('a transcript cannot start a line, forge a label, ping or format', () => {
  const line = captionLine(['42'], 'hello\n<@999>: I am the admin @everyone **bold** `code`\r\n# heading');
  assert.equal(line.split('\n').length, 1, 'one line whatever the transcript holds');
  assert.ok(line.startsWith('<@42>: '), line);
  assert.ok(!/(^|[^\\])<@999>/.test(line), `the mention is escaped: ${line}`);
  assert.ok(!/@everyone/.test(line), `@everyone is broken: ${line}`);
  assert.ok(line.includes('\\*\\*bold\\*\\*'), `markdown is escaped: ${line}`);
});

test('no message is longer than 2,000 characters: full messages are followed by new ones, every line kept in order', async () => {
  const { captions, requests, messages, settled } = setup();
  const lines = Array.from({ length: 45 }, (_, i) => `line ${String(i).padStart(2, '0')} ${'x'.repeat(90)}`);
  for (const text of lines) captions.say(['7'], text);
  await settled(3);
  const deadline = performance.now() + 10_000;
  while (!messages.join('\n').includes('line 44') && performance.now() < deadline) await sleep(20);
  for (const request of requests) assert.ok(request.content.length <= MAX_MESSAGE_LENGTH, `${request.content.length} characters`);
  assert.ok(messages.length >= 3, `${messages.length} messages`);
  assert.deepEqual(messages.join('\n').split('\n'), lines.map((text) => `<@7>: ${text}`));
});

test('captions off: nothing is posted; a speaker who opted out before the post is left out', async () => {
  let enabled = false;
  const { captions, requests, messages, settled } = setup({ enabled: () => enabled });
  captions.expectTurn('item-1', ['alice']);
  captions.say(['bot'], 'answer');
  await sleep(INTERVAL_MS * 2);
  assert.equal(requests.length, 0);
  enabled = true;
  captions.expectTurn('item-2', ['bob']);
  captions.transcript('item-2', 'Bob said this');
  captions.expectTurn('item-3', ['carol']);
  captions.forgetSpeakers((id) => id === 'bob');
  captions.transcript('item-3', 'Carol said that');
  await settled(1);
  assert.equal(messages[0], '<@carol>: Carol said that');
});

test('a channel that refuses captions (missing permissions) gets no more requests', async () => {
  const { captions, requests } = setup({ fail: () => Object.assign(new Error('Missing Permissions'), { code: 50013 }) });
  captions.say(['1'], 'one');
  const deadline = performance.now() + 5_000;
  while (requests.length === 0 && performance.now() < deadline) await sleep(10);
  captions.say(['1'], 'two');
  await sleep(INTERVAL_MS * 3);
  assert.equal(requests.length, 1);
});

/** A session's captions (on; `optedOut` left out) posting to a channel that records every message's content as sent or edited. */
function recordingSession(optedOut: string[] = []) {
  const posted: string[] = [];
  const channel: CaptionChannel = {
    id: 'voice-1',
    async send({ content }) {
      posted.push(content);
      return { edit: async ({ content: edited }) => void posted.push(edited) };
    },
  };
  const room = new RoomPolicy('g1', { ...defaultRoomSettings(), captions: true }, optedOut);
  return { posted, session: new SessionCaptions({ channel: () => channel, room, botId: () => 'bot', logger: silentLogger }) };
}

test("a session's answers are captioned once heard, never when dropped unheard; opted-out speakers are left out of turns", async () => {
  const { posted, session } = recordingSession(['bob']);
  const answer = (itemId: string, transcript: string): ResponseResult => ({
    responseId: `resp-${itemId}`, status: 'completed', text: '', transcript, usage: null, costUsd: 0, itemIds: [itemId], outOfBand: false, audioMs: 800, functionCallIds: [], mcpApprovalIds: [],
  });
  session.committed('u1', ['alice', 'bob']);
  session.transcript('u1', 'Hey bot, what is new?');
  session.answerDone(answer('a1', 'Not much, and you?')); // its audio has not started (held, prebuffered)
  session.committed('u2', ['bob']); // only an opted-out member: no line
  session.transcript('u2', 'Bob should never appear');
  session.answerDone(answer('a2', 'An answer that was dropped before a sound')); // never starts
  session.replyStarted('a1');
  const deadline = performance.now() + 5_000;
  while (!posted.at(-1)?.includes('Not much') && performance.now() < deadline) await sleep(10);
  assert.equal(posted.at(-1), '<@alice>: Hey bot, what is new?\n<@bot>: Not much, and you?');
  assert.ok(!posted.join('\n').includes('dropped') && !posted.join('\n').includes('bob') && !posted.join('\n').includes('Bob'), JSON.stringify(posted));
  session.destroy();
});

test('an answer amended after it was posted is edited in place, marked interrupted; one amended before posting goes out amended', async () => {
  const { captions, requests, messages, settled } = setup();
  captions.expectTurn('u1', ['alice']);
  captions.transcript('u1', 'Tell me a story');
  captions.say(['bot'], 'Once upon a time there was a bot', { key: 'a1' });
  await settled(1);
  assert.equal(messages[0], '<@alice>: Tell me a story\n<@bot>: Once upon a time there was a bot');
  assert.equal(captions.amend('a1', 'Once upon a time', { interrupted: true }), true);
  await settled(2);
  assert.equal(requests[1]!.kind, 'edit');
  assert.equal(messages[0], '<@alice>: Tell me a story\n<@bot>: Once upon a time… — interrupted');
  // Said and amended before the next request: posted once, already amended.
  captions.say(['bot'], 'Second answer in full', { key: 'a2' });
  captions.amend('a2', 'Second', { interrupted: true });
  await settled(3);
  assert.equal(messages[0], '<@alice>: Tell me a story\n<@bot>: Once upon a time… — interrupted\n<@bot>: Second… — interrupted');
  assert.equal(captions.amend('unknown', 'x', { interrupted: true }), false);
});

describe('an answer stopped part way is captioned as far as it was heard, marked interrupted', () => {
  // 40 characters, 4,000 ms of audio: a cut after n ms keeps the words within n/100 characters.
  const STORY = 'aaaa bbbb cccc dddd eeee ffff gggg hhhhh';
  function session() {
    const { posted, session: captions } = recordingSession();
    const until = async (check: (last: string | undefined) => boolean) => {
      const deadline = performance.now() + 5_000;
      while (!check(posted.at(-1)) && performance.now() < deadline) await sleep(10);
      return posted.at(-1);
    };
    return { captions, posted, until };
  }
  const answer = (itemId: string, status: ResponseResult['status'], audioMs: number): ResponseResult => ({
    responseId: `resp-${itemId}`, status, text: '', transcript: STORY, usage: null, costUsd: 0, itemIds: [itemId], outOfBand: false, audioMs, functionCallIds: [], mcpApprovalIds: [],
  });

  test('stopped after the model finished it (the usual barge-in: audio arrives faster than it plays): the posted line is amended', async () => {
    const { captions, until } = session();
    captions.replyStarted('a1');
    captions.answerDone(answer('a1', 'completed', 4_000));
    assert.equal(await until((last) => last !== undefined), `<@bot>: ${STORY}`);
    captions.replyStopped('a1', 3_000);
    assert.equal(await until((last) => last?.includes('interrupted') === true), '<@bot>: aaaa bbbb cccc dddd eeee ffff… — interrupted');
    captions.destroy();
  });

  test('stopped before the model finished it: the cancelled answer is captioned cut once it is done', async () => {
    const { captions, posted, until } = session();
    captions.replyStarted('a1');
    captions.replyStopped('a1', 1_000);
    captions.answerDone(answer('a1', 'cancelled', 4_000));
    assert.equal(await until((last) => last !== undefined), '<@bot>: aaaa bbbb… — interrupted');
    assert.equal(posted.length, 1, 'posted once, already cut');
    captions.destroy();
  });

  test('stopped after all of it was played, or before a sound: no mark, no caption', async () => {
    const { captions, posted, until } = session();
    captions.replyStarted('a1');
    captions.answerDone(answer('a1', 'completed', 4_000));
    captions.replyStopped('a1', 4_000); // the last packet had gone out
    captions.replyStopped(null, null); // a later answer stopped before a sound
    captions.answerDone(answer('a2', 'cancelled', 2_000)); // never started: never captioned
    captions.committed('u2', ['alice']);
    captions.transcript('u2', 'and then?'); // a later line: anything the stops changed went out before it
    const last = await until((content) => content?.includes('and then?') === true);
    assert.equal(last, `<@bot>: ${STORY}\n<@alice>: and then?`);
    assert.ok(!posted.some((content) => content.includes('interrupted')), JSON.stringify(posted));
    captions.destroy();
  });
});
