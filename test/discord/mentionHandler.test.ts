/**
 * The mention handler's own timeout: an answer that never comes (a response that never settles) ends
 * with a short apology, the typing indicator stops, and the response is cancelled. Timers are mocked,
 * so the test runs in no time and checks the exact schedule.
 */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import type { Message } from 'discord.js';
import type { BotContext } from '../../src/context.ts';
import { MentionHandler, type MentionOutcome } from '../../src/discord/mentionHandler.ts';
import { silentLogger } from '../../src/log.ts';
import { ResponseHandle } from '../../src/realtime/index.ts';

const BOT_ID = '100';

/**
 * A guild message mentioning the bot, recording what the handler does with it. `canSend`: whether
 * the bot may post in the channel; `author`: the writer's user id (each has its own rate limit).
 */
function mention(content: string, { canSend = true, author = '200', channelId = '300' }: { canSend?: boolean; author?: string; channelId?: string } = {}) {
  const typing: number[] = [];
  const replies: string[] = [];
  let now = 0;
  const alice = { id: author, displayName: 'Alice', user: { username: 'alice' } };
  const message = {
    id: '500',
    guildId: '1',
    channelId,
    content: `<@${BOT_ID}> ${content}`,
    webhookId: null,
    author: { bot: false, id: author, displayName: 'Alice' },
    member: alice,
    guild: { members: { me: { id: BOT_ID }, cache: new Map([[author, alice]]) }, channels: { cache: new Map() } },
    client: { user: { id: BOT_ID } },
    mentions: { users: new Map([[BOT_ID, {}]]) },
    inGuild: () => true,
    channel: {
      isThread: () => false,
      permissionsFor: () => ({ has: () => canSend }),
      sendTyping: async () => void typing.push(now),
      send: async ({ content: text }: { content: string }) => (replies.push(text), { edit: async () => undefined }),
    },
    reply: async ({ content: text }: { content: string }) => {
      replies.push(text);
      return { edit: async ({ content: edited }: { content: string }) => void (replies[replies.length - 1] = edited) };
    },
  } as unknown as Message;
  return { message, typing, replies, setNow: (ms: number) => (now = ms) };
}

/** A budget with no limit reached. */
const WITHIN_BUDGET = { refusal: async () => null };

/** A context whose conversation accepts the question and never answers it. */
function contextNeverAnswering(): { context: BotContext; handle: ResponseHandle; cancelled: () => boolean } {
  let cancelled = false;
  const handle = new ResponseHandle({ outOfBand: false }, () => (cancelled = true));
  const conversation = { askText: async () => handle };
  const context = {
    config: { mentionRateLimit: { count: 5, windowMs: 60_000 }, mentionQueueLimit: 5 },
    logger: silentLogger,
    sessions: { conversationForText: async () => conversation, rooms: { load: async () => ({ isOptedOut: () => false }) } },
    budget: WITHIN_BUDGET,
  } as unknown as BotContext;
  return { context, handle, cancelled: () => cancelled };
}

/** Lets promise callbacks run (setImmediate is not mocked). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

test('an answer that never comes: apology at the timeout, typing stopped, the response cancelled', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  try {
    const { context, cancelled } = contextNeverAnswering();
    const handler = new MentionHandler(context, { answerTimeoutMs: 30_000 });
    const outcomes: MentionOutcome[] = [];
    handler.on('handled', ({ outcome }) => outcomes.push(outcome));
    const { message, typing, replies, setNow } = mention('what time is it?');
    const handled = handler.handle(message);
    await settle();
    assert.equal(typing.length, 1, 'typing at once');
    for (let t = 8_000; t <= 24_000; t += 8_000) {
      setNow(t);
      mock.timers.tick(8_000);
      await settle();
    }
    assert.equal(typing.length, 4, 'typing refreshed every 8 s while waiting');
    assert.deepEqual(replies, [], 'nothing said before the timeout');
    mock.timers.tick(6_000); // 30 s: the handler's timeout
    await settle();
    mock.timers.tick(5_000); // the streamed reply's final write
    await settle();
    await handled;
    assert.deepEqual(replies, ["Sorry, I couldn't answer in time."]);
    assert.equal(cancelled(), true, 'the response that never came is cancelled');
    assert.deepEqual(outcomes, ['failed']);
    const typingAtEnd = typing.length;
    mock.timers.tick(60_000);
    await settle();
    assert.equal(typing.length, typingAtEnd, 'typing stopped');
  } finally {
    mock.timers.reset();
  }
});

test('a conversation that is closed: a short apology at once, no waiting', async () => {
  const context = {
    config: { mentionRateLimit: { count: 5, windowMs: 60_000 }, mentionQueueLimit: 5 },
    logger: silentLogger,
    sessions: {
      rooms: { load: async () => ({ isOptedOut: () => false }) },
      conversationForText: async () => ({
        askText: async () => {
          throw new Error('the conversation with the AI model is closed');
        },
      }),
    },
    budget: WITHIN_BUDGET,
  } as unknown as BotContext;
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  try {
    const handler = new MentionHandler(context, { answerTimeoutMs: 60_000 });
    const { message, replies } = mention('hello?');
    const handled = handler.handle(message);
    await settle(); // no timer is advanced: the apology must not wait for one
    assert.deepEqual(replies, ["Sorry, I can't answer right now: the AI model is unavailable."]);
    await handled;
  } finally {
    mock.timers.reset();
  }
});

test('a server past its spend limit: the reason and when it resets, the model never asked', async () => {
  let asked = 0;
  const resetsAt = new Date(Date.now() + 90 * 60_000);
  const context = {
    config: { mentionRateLimit: { count: 5, windowMs: 60_000 } },
    logger: silentLogger,
    sessions: { conversationForText: async () => ({ askText: async () => void asked++ }), rooms: { load: async () => ({ isOptedOut: () => false }) } },
    budget: { refusal: async () => ({ scope: 'daily', spentUsd: 2.5, limitUsd: 2, resetsAt }) },
  } as unknown as BotContext;
  const handler = new MentionHandler(context);
  const outcomes: MentionOutcome[] = [];
  handler.on('handled', ({ outcome }) => outcomes.push(outcome));
  const { message, replies } = mention('hello?');
  await handler.handle(message);
  assert.equal(asked, 0, 'nothing asked of the model');
  assert.deepEqual(outcomes, ['overBudget']);
  assert.equal(replies.length, 1);
  assert.match(replies[0]!, /daily AI budget is used up \(\$2\.50 of \$2\.00\)\. It resets at midnight UTC .*\/budget daily/);
});

test('a member who opted out with /privacy: told so, and nothing reaches the model', async () => {
  let asked = 0;
  const context = {
    config: { mentionRateLimit: { count: 5, windowMs: 60_000 } },
    logger: silentLogger,
    sessions: {
      rooms: { load: async () => ({ isOptedOut: (userId: string) => userId === '200' }) },
      conversationForText: async () => {
        asked++;
        return { askText: async () => new ResponseHandle({ outOfBand: false }, () => undefined) };
      },
    },
  } as unknown as BotContext;
  const { message, replies, typing } = mention('what is the capital of France?');
  const handler = new MentionHandler(context);
  const outcomes: MentionOutcome[] = [];
  handler.on('handled', ({ outcome }) => outcomes.push(outcome));
  await handler.handle(message);
  assert.deepEqual(outcomes, ['optedOut']);
  assert.equal(asked, 0, 'no conversation asked');
  assert.equal(typing.length, 0, 'no typing shown');
  assert.match(replies.join('\n'), /opted out with `\/privacy`/);
});

/** A context whose questions are answered only when the test says so, in order. */
function contextAnsweringOnDemand(queueLimit: number) {
  const asked: string[] = [];
  const handles: ResponseHandle[] = [];
  let previous: Promise<unknown> = Promise.resolve();
  const conversation = {
    // Like GuildConversation.askText: a question is taken once the previous answer is done.
    askText: async (_author: string, text: string) => {
      const wait = previous;
      const handle = new ResponseHandle({ outOfBand: false }, () => undefined);
      previous = handle.done;
      await wait;
      asked.push(text);
      handles.push(handle);
      return handle;
    },
  };
  const context = {
    config: { mentionRateLimit: { count: 5, windowMs: 60_000 }, mentionQueueLimit: queueLimit },
    logger: silentLogger,
    sessions: { conversationForText: async () => conversation, rooms: { load: async () => ({ isOptedOut: () => false }) } },
    budget: { refusal: async () => null },
  } as unknown as BotContext;
  return { context, asked, handles };
}

test('typing is shown only for the question being answered, not for those waiting their turn', async () => {
  const { context, asked, handles } = contextAnsweringOnDemand(5);
  const handler = new MentionHandler(context, { answerTimeoutMs: 60_000 });
  const first = mention('first?', { author: '201' });
  const second = mention('second?', { author: '202' });
  const handledFirst = handler.handle(first.message);
  const handledSecond = handler.handle(second.message);
  await settle();
  assert.deepEqual(asked, ['first?']);
  assert.equal(first.typing.length, 1, 'typing for the question being answered');
  assert.equal(second.typing.length, 0, 'no typing while the second waits');
  handles[0]!.finish('completed', null);
  await handledFirst;
  await settle();
  assert.deepEqual(asked, ['first?', 'second?']);
  assert.equal(second.typing.length, 1, 'typing once its turn comes');
  handles[1]!.finish('completed', null);
  await handledSecond;
});

test('past MENTION_QUEUE_LIMIT questions in a server, the next is refused politely and never reaches the model', async () => {
  const { context, asked, handles } = contextAnsweringOnDemand(2);
  const handler = new MentionHandler(context, { answerTimeoutMs: 60_000 });
  const outcomes: MentionOutcome[] = [];
  handler.on('handled', ({ outcome }) => outcomes.push(outcome));
  const waiting = [handler.handle(mention('one', { author: '201' }).message), handler.handle(mention('two', { author: '202' }).message)];
  const third = mention('three', { author: '203' });
  await handler.handle(third.message);
  assert.deepEqual(outcomes, ['busy']);
  assert.match(third.replies[0] ?? '', /busy with several questions/);
  handles[0]!.finish('completed', null);
  await settle();
  handles[1]!.finish('completed', null);
  await Promise.all(waiting);
  assert.deepEqual(asked, ['one', 'two'], 'the refused question was never asked');
  // Room again once they are answered.
  const fourth = handler.handle(mention('four', { author: '204' }).message);
  await settle();
  assert.deepEqual(asked, ['one', 'two', 'four']);
  handles[2]!.finish('completed', null);
  await fourth;
});

test('no Send Messages where the mention was made: nothing is spent on an answer', async () => {
  const { context, asked } = contextAnsweringOnDemand(5);
  const handler = new MentionHandler(context);
  const outcomes: MentionOutcome[] = [];
  handler.on('handled', ({ outcome }) => outcomes.push(outcome));
  const muted = mention('hello?', { canSend: false });
  await handler.handle(muted.message);
  assert.deepEqual(outcomes, ['noPermission']);
  assert.deepEqual(asked, []);
  assert.deepEqual(muted.typing, []);
});

test('under a flood, one "busy" notice per channel: Discord allows ~5 messages per 5 s there and answers would wait behind refusals', async () => {
  const { context, handles } = contextAnsweringOnDemand(1);
  const handler = new MentionHandler(context, { answerTimeoutMs: 60_000 });
  const outcomes: MentionOutcome[] = [];
  handler.on('handled', ({ outcome }) => outcomes.push(outcome));
  const answering = handler.handle(mention('one', { author: '201' }).message);
  const refused = [mention('two', { author: '202' }), mention('three', { author: '203' }), mention('four', { author: '204', channelId: '301' })];
  for (const { message } of refused) await handler.handle(message);
  assert.deepEqual(outcomes, ['busy', 'busy', 'busy']);
  assert.match(refused[0]!.replies[0] ?? '', /busy with several questions/);
  assert.deepEqual(refused[1]!.replies, [], 'the second refusal in the channel posts nothing');
  assert.match(refused[2]!.replies[0] ?? '', /busy with several questions/, 'another channel gets its own notice');
  handles[0]!.finish('completed', null);
  await answering;
});
