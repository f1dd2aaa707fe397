import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { DISCORD_MESSAGE_LIMIT, StreamedReply, splitForDiscord } from '../../src/discord/streamedReply.ts';

test('short text stays in one piece; long text splits under the limit at word boundaries', () => {
  assert.deepEqual(splitForDiscord('hello'), ['hello']);
  const words = Array.from({ length: 1_000 }, (_, i) => `word${i}`).join(' ');
  const pieces = splitForDiscord(words);
  assert.ok(pieces.length >= 3);
  for (const piece of pieces) {
    assert.ok(piece.length <= DISCORD_MESSAGE_LIMIT);
    assert.match(piece, /^word\d+/, 'no piece starts mid-word');
    assert.match(piece, /word\d+$/, 'no piece ends mid-word');
  }
  assert.equal(pieces.join(' '), words, 'nothing is lost or duplicated');
});

test('text without spaces is cut hard at the limit', () => {
  const pieces = splitForDiscord('x'.repeat(4_500));
  assert.deepEqual(pieces.map((piece) => piece.length), [2_000, 2_000, 500]);
});

interface FakeMessage {
  id: number;
  content: string;
}

function recordingTransport() {
  const messages: FakeMessage[] = [];
  const calls: string[] = [];
  return {
    messages,
    calls,
    transport: {
      async sendFirst(content: string) {
        calls.push('first');
        const message = { id: messages.length, content };
        messages.push(message);
        return message;
      },
      async sendNext(content: string) {
        calls.push('next');
        const message = { id: messages.length, content };
        messages.push(message);
        return message;
      },
      async edit(message: FakeMessage, content: string) {
        calls.push(`edit${message.id}`);
        message.content = content;
      },
    },
  };
}

test('streamed text: one first message, throttled edits, continuation past 2,000 characters, exact final text', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const { messages, calls, transport } = recordingTransport();
  const reply = new StreamedReply(transport, { editIntervalMs: 1_000 });
  reply.append('Hello');
  t.mock.timers.tick(0);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(calls, ['first']);
  // Many deltas within one interval produce a single edit.
  for (let i = 0; i < 50; i++) reply.append(' there');
  t.mock.timers.tick(999);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(calls, ['first']);
  t.mock.timers.tick(1);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(calls, ['first', 'edit0']);
  reply.append(` ${'long '.repeat(600)}end`);
  // The final edit of message 0 waits out the interval since its last edit.
  const finished = reply.finish();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(calls, ['first', 'edit0']);
  t.mock.timers.tick(1_000);
  await finished;
  assert.deepEqual(calls, ['first', 'edit0', 'edit0', 'next']);
  assert.equal(messages.length, 2);
  assert.ok(messages.every((message) => message.content.length <= DISCORD_MESSAGE_LIMIT));
  assert.equal(messages.map((message) => message.content).join(' '), reply.text.replace(/\s+$/, ''));
});

test('a reply with no text at all shows the fallback', async () => {
  const { messages, transport } = recordingTransport();
  const reply = new StreamedReply(transport);
  await reply.finish('Sorry, no answer.');
  assert.deepEqual(messages.map((message) => message.content), ['Sorry, no answer.']);
});

test('a failing Discord call does not break later flushes', async () => {
  let failures = 1;
  const sent: string[] = [];
  let firstCallFailed!: () => void;
  const firstFailure = new Promise<void>((resolve) => (firstCallFailed = resolve));
  const reply = new StreamedReply<string>({
    async sendFirst(content) {
      if (failures-- > 0) {
        firstCallFailed();
        throw new Error('HTTP 500');
      }
      sent.push(content);
      return content;
    },
    async sendNext(content) {
      sent.push(content);
      return content;
    },
    async edit() {},
  });
  reply.append('first try');
  await firstFailure; // the first flush has been tried and failed
  await reply.finish();
  assert.deepEqual(sent, ['first try']);
});
