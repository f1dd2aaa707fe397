/**
 * End to end (issue 18.6): a process keeps at most MAX_MODEL_SESSIONS model sessions. Here the cap
 * is 1 and each text channel has its own conversation: while #general's answer is being written,
 * a mention in another channel is refused politely (nothing idle to close); once #general is idle,
 * its conversation makes room for the next channel's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LocalStack } from '../../scripts/localStack.ts';
import { eventually, startStack, watchMentions } from './helpers.ts';

describe('MAX_MODEL_SESSIONS', () => {
  let stack: LocalStack;
  let mentions: ReturnType<typeof watchMentions>;
  before(async () => {
    // The model takes 1.5 s before its first word: #general's conversation is busy meanwhile.
    stack = await startStack({ env: { MAX_MODEL_SESSIONS: '1' }, realtime: { firstDeltaDelayMs: 1_500 } });
    mentions = watchMentions(stack);
  });
  after(async () => {
    await stack?.close();
  });

  test('at the cap: refused while the only session is busy, the idle one closed to make room after', async () => {
    const { discord } = stack;
    const other = discord.addTextChannel('other');
    await eventually(() => stack.bot.client.channels.cache.has(other), 'the new channel to reach the bot');
    const sessions = stack.bot.context.sessions;
    const first = await discord.member('Alice').say('first question', { mentionBot: true });
    await eventually(() => sessions.modelSessionCount === 1, 'the #general conversation to start');
    const refused = await discord.member('Bob').say('second question', { mentionBot: true, channelId: other });
    assert.equal(await mentions.handled(refused.id), 'failed');
    assert.match(refused.replies()[0]?.content ?? '', /too many conversations right now/);
    assert.equal(await mentions.handled(first.id), 'answered');
    assert.equal(sessions.modelSessionCount, 1);

    const third = await discord.member('Bob').say('third question', { mentionBot: true, channelId: other });
    assert.equal(await mentions.handled(third.id), 'answered', 'the idle #general conversation made room');
    assert.equal(sessions.modelSessionCount, 1, 'still one session');
  });
});
