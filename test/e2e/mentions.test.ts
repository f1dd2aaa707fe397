/**
 * End to end: `@bot question` in a text channel, answered by the real bot through the realtime
 * simulator — reply to the message, typing, streamed edits at a safe rate, split past 2,000
 * characters, no pings, shared context with an active voice session, text-only sessions closed when
 * idle, the per-user rate limit, and what is ignored (@everyone only, other bots).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BotMessage } from '../../sim/discord/index.ts';
import type { LocalStack } from '../../scripts/localStack.ts';
import { eventually, joinBot, received, startStack, utterance, waitForReply, watchMentions } from './helpers.ts';

const RATE_LIMIT = 3;
const NO_PINGS = { parse: [], replied_user: false };

describe('mentions', () => {
  let stack: LocalStack;
  let mentions: ReturnType<typeof watchMentions>;
  before(async () => {
    stack = await startStack({
      env: { MENTION_RATE_LIMIT: String(RATE_LIMIT), MENTION_RATE_WINDOW_SECONDS: '60', TEXT_SESSION_IDLE_SECONDS: '5' },
      realtime: { replyAudioMs: 600 },
    });
    mentions = watchMentions(stack);
  });
  after(async () => {
    await stack?.close();
  });

  const member = (name: string) => stack.discord.member(name);
  /** The bot's messages in the text channel created after `since` (performance.now()), oldest first. */
  const botMessagesSince = (since: number): BotMessage[] =>
    [...stack.discord.botMessages.byId.values()].filter((message) => message.createdAt >= since).sort((a, b) => a.createdAt - b.createdAt);
  const typingSince = (since: number) => stack.discord.recorded.messages.filter((request) => request.method === 'POST' && request.path.endsWith('/typing') && request.at >= since);

  test('without voice: a text-only session answers as a reply to the message, with typing and no pings, and closes when idle', async () => {
    const realtime = stack.realtime!;
    const sessionsBefore = realtime.sessions.length;
    const message = await member('Alice').say('what is the capital of France? @everyone', { mentionBot: true });
    const reply = await message.waitForReply((candidate) => candidate.content.endsWith('@everyone"'), 15_000);
    assert.equal(reply.replyTo, message.id, 'a reply to the message (message_reference)');
    assert.match(reply.content, /^Reply 1\. Hello Alice\. You said: "\[speaker: Alice\] what is the capital of France\? @everyone"$/);
    assert.deepEqual(reply.allowedMentions, NO_PINGS);
    assert.ok(typingSince(message.sentAt).length >= 1, 'typing was shown');
    const typingAt = typingSince(message.sentAt)[0]!.at;
    assert.ok(typingAt <= reply.createdAt, 'typing came before the answer');

    assert.equal(realtime.sessions.length, sessionsBefore + 1, 'one text-only realtime session');
    const session = realtime.sessions.at(-1)!;
    assert.deepEqual(session.config.modalities, ['text'], 'a text-only session');
    assert.equal(stack.bot.context.sessions.conversation(stack.discord.guildId)?.mode, 'text');
    await eventually(() => session.closed, 'the idle text session to close', 20_000);
    assert.equal(stack.bot.context.sessions.conversation(stack.discord.guildId), undefined);
  });

  test('a long answer streams into edits no faster than about one per second and is split under 2,000 characters', async () => {
    const message = await member('Bob').say('please give me a long answer', { mentionBot: true });
    await message.waitForReply((candidate) => candidate.content.startsWith('Reply'), 15_000);
    const conversation = stack.bot.context.sessions.conversation(stack.discord.guildId)!;
    const full = await eventually(() => {
      const text = conversation.realtime.history.filter((entry) => entry.role === 'assistant').at(-1)?.text ?? '';
      return text.length > 4_000 ? text : undefined;
    }, 'the whole answer');
    const messages = await eventually(() => {
      const sent = botMessagesSince(message.sentAt);
      const joined = sent.map((m) => m.content).join(' ');
      return joined.replace(/\s+/g, ' ') === full.replace(/\s+/g, ' ') ? sent : undefined;
    }, 'the split messages to hold the whole answer', 15_000);
    assert.ok(messages.length >= 3, `${messages.length} messages for ${full.length} characters`);
    assert.equal(messages[0]!.replyTo, message.id);
    for (const sent of messages) {
      assert.ok(sent.content.length <= 2_000, `a message of ${sent.content.length} characters`);
      assert.deepEqual(sent.allowedMentions, NO_PINGS);
      for (const version of sent.history) assert.ok(version.length <= 2_000);
    }
    // Edits per message: no two within a second of each other.
    const edits = stack.discord.recorded.messages.filter((request) => request.method === 'PATCH' && request.at >= message.sentAt);
    assert.ok(edits.length >= 1, 'the first message was edited while streaming');
    for (const sent of messages) {
      const times = edits.filter((request) => request.path.endsWith(`/${sent.id}`)).map((request) => request.at);
      for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 950, `edits of one message ${Math.round(times[i]! - times[i - 1]!)} ms apart`);
      for (const request of edits.filter((r) => r.path.endsWith(`/${sent.id}`))) assert.deepEqual((request.body as any).allowed_mentions, NO_PINGS);
    }
  });

  test('a slowly streamed answer: the final edit also keeps a second from the previous edit', async () => {
    const stream = stack.realtime!.sessions.at(-1)!.stream;
    const saved = { ...stream };
    // 40 characters per 100 ms: the answer ends at an arbitrary point between two throttled edits.
    Object.assign(stream, { burstFactor: 1, deltaMs: 100 });
    try {
      const question = `tell me about ${'the weather and '.repeat(6)}nothing else`;
      const message = await member('Carol').say(question, { mentionBot: true });
      const reply = await message.waitForReply((candidate) => candidate.content.endsWith('nothing else"'), 20_000);
      assert.equal(await mentions.handled(message.id), 'answered'); // every edit written
      const times = stack.discord.recorded.messages
        .filter((request) => request.method === 'PATCH' && request.path.endsWith(`/${reply.id}`))
        .map((request) => request.at);
      assert.ok(times.length >= 1, 'edited while streaming');
      const created = stack.discord.recorded.messages.find((request) => request.method === 'POST' && request.at >= message.sentAt && !request.path.endsWith('/typing'))!.at;
      const all = [created, ...times];
      for (let i = 1; i < all.length; i++) assert.ok(all[i]! - all[i - 1]! >= 950, `message writes ${Math.round(all[i]! - all[i - 1]!)} ms apart`);
    } finally {
      Object.assign(stream, { burstFactor: saved.burstFactor, deltaMs: saved.deltaMs });
    }
  });

  test('with an active voice session, text and voice share one conversation (one realtime session)', async () => {
    const { discord } = stack;
    const realtime = stack.realtime!;
    // Let the text-only conversation of the earlier tests close, so the voice one is fresh.
    await eventually(() => realtime.openSessions().length === 0, 'no open realtime session', 20_000);
    await Promise.all([member('Alice').joinVoice(), member('Carol').joinVoice()]);
    await joinBot(stack, member('Alice'));
    assert.equal(realtime.openSessions().length, 1);
    const voiceSessionId = realtime.openSessions()[0]!.id;
    const { endedAt } = await member('Alice').speak(utterance(0.8, 1));
    await waitForReply(member('Carol'), endedAt);

    const since = Date.now();
    const message = await member('Carol').say('what did Alice just say?', { mentionBot: true });
    const reply = await message.waitForReply((candidate) => candidate.content.includes('You said'), 15_000);
    assert.match(reply.content, /^Reply 2\. Hello Carol\./, 'the second reply of the voice session');
    assert.equal(realtime.sessions.filter((session) => !session.closed).length, 1, 'still one realtime session');
    const textItems = received(stack, 'conversation.item.create', since).filter((entry) => JSON.stringify(entry.event).includes('what did Alice just say?'));
    assert.equal(textItems.length, 1);
    assert.equal(textItems[0]!.sessionId, voiceSessionId, 'the text landed in the voice session');
    assert.ok(received(stack, 'input_audio_buffer.append').some((entry) => entry.sessionId === voiceSessionId), 'the voice audio went to the same session');
    await mentions.handled(message.id);
    await member('Alice').runCommand('leave');
    await eventually(() => discord.botVoiceChannel() === null, 'the bot to leave');
  });

  test('a flood of mentions is rate limited per user with one clear notice', async () => {
    const dave = stack.discord.addMember({ name: 'Dave' });
    await eventually(() => stack.bot.client.guilds.cache.get(stack.discord.guildId)?.members.cache.has(dave.id), 'the bot to know Dave');
    const messages = [];
    for (let i = 0; i < RATE_LIMIT + 4; i++) messages.push(await dave.say(`question number ${i}`, { mentionBot: true }));
    for (let i = 0; i < RATE_LIMIT; i++) await messages[i]!.waitForReply((candidate) => candidate.content.includes(`question number ${i}`), 15_000);
    const outcomes = await Promise.all(messages.map((message) => mentions.handled(message.id)));
    assert.deepEqual(outcomes, [...Array(RATE_LIMIT).fill('answered'), ...Array(4).fill('rateLimited')]);
    const notices = messages.flatMap((message) => message.replies()).filter((reply) => /You're asking a lot at once: try again in \d+ s\./.test(reply.content));
    assert.equal(notices.length, 1, 'one notice for the whole flood');
    assert.deepEqual(notices[0]!.allowedMentions, NO_PINGS);
    for (const message of messages.slice(RATE_LIMIT)) {
      assert.ok(!message.replies().some((reply) => reply.content.includes('question number')), `${message.content} was not answered`);
    }
    // Another user is not affected by Dave's limit.
    const other = await member('Bob').say('am I limited too?', { mentionBot: true });
    await other.waitForReply((candidate) => candidate.content.includes('am I limited too?'), 15_000);
  });

  test('/join while a text-only conversation is open turns it into the voice conversation', async () => {
    const { discord } = stack;
    const realtime = stack.realtime!;
    const open = realtime.openSessions();
    // #general's text-only conversation (the flood's) is open; the voice channel's own chat may still
    // hold the previous call's conversation until it idles out. #general's, the most recent, is adopted.
    const flooded = received(stack, 'conversation.item.create').filter((entry) => JSON.stringify(entry.event).includes('am I limited too?'));
    const general = open.find((session) => session.id === flooded.at(-1)?.sessionId);
    assert.ok(general, "the text-only session of the flood is still open");
    await Promise.all([member('Alice').joinVoice(), member('Carol').joinVoice()]);
    await joinBot(stack, member('Alice'));
    await eventually(() => general.config.modalities.includes('audio'), 'the session to switch to audio');
    assert.equal(realtime.openSessions().length, open.length, 'no new session: the text one became the voice one');
    const { endedAt } = await member('Alice').speak(utterance(0.8, 2));
    await waitForReply(member('Carol'), endedAt);
    assert.match(stack.bot.context.sessions.conversation(discord.guildId)!.realtime.history.filter((entry) => entry.role === 'assistant').at(-1)!.text, /Hello Alice\. I heard/);
    await member('Alice').runCommand('leave');
    await eventually(() => discord.botVoiceChannel() === null, 'the bot to leave');
  });

  test('@everyone-only mentions, messages from other bots and an empty mention', async () => {
    const { discord } = stack;
    const robo = discord.addMember({ name: 'Robo', bot: true });
    const before = discord.recorded.messages.length;
    const everyone = await member('Carol').say('@everyone look at this', { mentionEveryone: true });
    const fromBot = await robo.say('hello fellow bot', { mentionBot: true });
    const empty = await member('Carol').say('', { mentionBot: true });
    const nudge = await empty.waitForReply(() => true, 10_000);
    assert.match(nudge.content, /Ask me something after the mention/);
    assert.deepEqual(nudge.allowedMentions, NO_PINGS);
    assert.deepEqual(await Promise.all([everyone, fromBot, empty].map((message) => mentions.handled(message.id))), ['ignored', 'ignored', 'empty']);
    assert.deepEqual(everyone.replies(), []);
    assert.deepEqual(fromBot.replies(), []);
    const requests = discord.recorded.messages.slice(before);
    assert.equal(requests.filter((request) => request.path.endsWith('/typing')).length, 0, 'no typing for ignored messages');
    assert.equal(requests.length, 1, 'only the nudge was sent');
  });
});
