/**
 * End to end: two things at once — the races and lifecycle bugs of issue 11, each reproduced with the
 * real bot on the local Discord and the realtime simulator: two /join at the same moment, a turn
 * continued or talked over while the model is still thinking, the model connection failing for good
 * while the bot is in voice, and a mention arriving while its conversation is closing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BotMessage } from '../../sim/discord/index.ts';
import type { LocalStack } from '../../scripts/localStack.ts';
import type { VoiceSession } from '../../src/voice/voiceSession.ts';
import { logLines } from '../faults/helpers.ts';
import { command, eventually, joinBot, received, startStack, utterance, voiceSession, waitForReply } from './helpers.ts';

const REPLY_MS = 600;
const LEAVE_AFTER_S = 2;

describe('two things at once', () => {
  let stack: LocalStack;
  before(async () => {
    stack = await startStack({
      env: { MODEL_UNAVAILABLE_LEAVE_SECONDS: String(LEAVE_AFTER_S) },
      realtime: { replyAudioMs: REPLY_MS },
      bot: { voiceReadyTimeoutMs: 2_000 }, // a move Discord never answers fails in 2 s, not 20
    });
    await Promise.all(['Alice', 'Bob', 'Carol'].map((name) => stack.discord.member(name).joinVoice()));
  });
  after(async () => {
    await stack?.close();
  });

  const member = (name: string) => stack.discord.member(name);
  /** Counts events of the guild conversation's realtime client from now on. */
  function countEvents(): { committed: number; answered: number; stop(): void } {
    const realtime = stack.bot.context.sessions.conversation(stack.discord.guildId)!.realtime;
    const counts = { committed: 0, answered: 0, stop: () => {} };
    const onCommitted = () => counts.committed++;
    const onDone = (result: { status: string; audioMs: number }) => {
      if (result.status === 'completed' && result.audioMs > 0) counts.answered++;
    };
    realtime.on('input_committed', onCommitted);
    realtime.on('response_done', onDone);
    counts.stop = () => {
      realtime.off('input_committed', onCommitted);
      realtime.off('response_done', onDone);
    };
    return counts;
  }
  const stream = () => stack.realtime!.sessions.at(-1)!.stream;
  const guildId = () => stack.discord.guildId;
  /** The bot's messages in a channel created after `since` (performance.now()), oldest first. */
  const botMessagesIn = (channelId: string, since: number): BotMessage[] =>
    [...stack.discord.botMessages.byId.values()].filter((m) => m.channelId === channelId && m.createdAt >= since).sort((a, b) => a.createdAt - b.createdAt);
  /** Waits until no answer is requested, queued or playing, then returns what Carol heard since `after`. */
  async function heardOnceSettled(after: number): Promise<number> {
    const realtime = stack.bot.context.sessions.conversation(guildId())!.realtime;
    await eventually(() => realtime.activeResponseId === null && realtime.queuedResponses === 0 && voiceSession(stack).turnState.status === 'idle', 'every answer to be over', 20_000);
    return member('Carol').heardMs(after);
  }
  async function leave(): Promise<void> {
    if (!stack.discord.botVoiceChannel()) return;
    await command(member('Alice'), 'leave');
    await eventually(() => stack.discord.botVoiceChannel() === null && !stack.bot.context.sessions.voiceSession(guildId()), 'the bot to leave');
  }

  test('two members run /join at the same moment: one voice session, each sound sent and each reply played once', async () => {
    const created: VoiceSession[] = [];
    const onCreated = (session: VoiceSession) => created.push(session);
    stack.bot.context.sessions.on('voiceSession', onCreated);
    try {
      const records = await Promise.all([member('Alice').runCommand('join'), member('Bob').runCommand('join')]);
      const replies = await Promise.all(records.map((record) => record.waitForContent(20_000)));
      const channel = `<#${stack.discord.voiceChannelId}>`;
      assert.deepEqual(replies.sort(), [`I'm already in ${channel}. Talk to me!`, `Joined ${channel}. Talk to me!`]);
      assert.equal(created.length, 1, 'one voice session');
      await eventually(() => voiceSession(stack).status === 'ready', 'the voice session to be ready');

      const createsBefore = received(stack, 'response.create').length;
      const { endedAt } = await member('Alice').speak(utterance(0.8, 31));
      const reply = await waitForReply(member('Carol'), endedAt);
      assert.ok(reply.ms <= REPLY_MS + 100, `the reply played once (heard ${reply.ms} ms of a ${REPLY_MS} ms reply)`);
      assert.equal(received(stack, 'response.create').length - createsBefore, 1, 'one answer asked for');
      // Every 20 ms of the mix went to the model once: no second session appending the same audio.
      const appended = received(stack, 'input_audio_buffer.append').filter((entry) => entry.at >= Date.now() - 5_000);
      const bytes = (entry: { event: Record<string, unknown> }) => Number(/^<(\d+) bytes>$/.exec(String(entry.event.audio))?.[1] ?? Number.NaN);
      const appendedMs = appended.reduce((sum, entry) => sum + bytes(entry) / 48, 0); // 24 kHz PCM16: 48 bytes per ms
      assert.ok(appended.length > 0 && Number.isFinite(appendedMs), 'the appended audio was measured');
      assert.ok(appendedMs < 5_000 * 1.1, `${Math.round(appendedMs)} ms of input appended in 5 s`);
    } finally {
      stack.bot.context.sessions.off('voiceSession', onCreated);
      await leave();
    }
  });

  test('a sentence added while the model is still thinking: the pending answer is cancelled and the whole turn answered once', async () => {
    await joinBot(stack, member('Alice'));
    const saved = stream().firstDeltaDelayMs;
    stream().firstDeltaDelayMs = 2_500; // the model "thinks" 2.5 s before its first audio
    const counts = countEvents();
    try {
      const since = Date.now();
      const first = await member('Alice').speak(utterance(0.8, 32));
      await eventually(() => received(stack, 'response.create', since).length === 1, 'the first part to be sent for an answer');
      const committedBefore = counts.committed;
      // Short enough not to count as talking over the bot: only the end of its turn reaches it.
      await member('Alice').speak(utterance(0.3, 33));
      await eventually(() => counts.committed > committedBefore, 'the second part to be committed');
      const reply = await waitForReply(member('Carol'), first.endedAt, 20_000);
      assert.ok(reply.ms <= REPLY_MS + 100, `one answer heard (${reply.ms} ms of a ${REPLY_MS} ms reply)`);
      const creates = received(stack, 'response.create', since);
      assert.equal(creates.length, 2, 'asked again once, for the whole turn');
      assert.equal(received(stack, 'response.cancel', since).length, 1, 'the answer to the first part was cancelled');
      assert.equal(counts.answered, 1, 'one answer completed');
      const heard = await heardOnceSettled(first.endedAt);
      assert.ok(heard <= REPLY_MS + 100, `nothing more was played (${heard} ms in all)`);
    } finally {
      counts.stop();
      stream().firstDeltaDelayMs = saved;
      await leave();
    }
  });

  test('talking over the bot while the model is still thinking interrupts it like talking over its voice', async () => {
    await joinBot(stack, member('Alice'));
    const saved = stream().firstDeltaDelayMs;
    stream().firstDeltaDelayMs = 2_500;
    const session = voiceSession(stack);
    const bargeIns: { itemId: string | null; playedMs: number | null }[] = [];
    const onBargeIn = (event: { itemId: string | null; playedMs: number | null }) => bargeIns.push(event);
    session.on('bargeIn', onBargeIn);
    try {
      const since = Date.now();
      const first = await member('Alice').speak(utterance(0.8, 34));
      await eventually(() => received(stack, 'response.create', since).length === 1, 'the first turn to be sent for an answer');
      await member('Bob').speak(utterance(1.2, 35)); // long and loud: a barge-in
      assert.equal(bargeIns.length, 1, 'Bob interrupted the thinking bot');
      assert.deepEqual([bargeIns[0]!.itemId, bargeIns[0]!.playedMs], [null, null], 'nothing had played yet');
      assert.equal(received(stack, 'conversation.item.truncate', since).length, 0, 'nothing to truncate');
      const reply = await waitForReply(member('Carol'), first.endedAt, 20_000);
      assert.ok(reply.ms <= REPLY_MS + 100, `one answer heard (${reply.ms} ms)`);
      assert.equal(received(stack, 'response.create', since).length, 2);
      const heard = await heardOnceSettled(first.endedAt);
      assert.ok(heard <= REPLY_MS + 100, `nothing more was played (${heard} ms in all)`);
    } finally {
      session.off('bargeIn', onBargeIn);
      stream().firstDeltaDelayMs = saved;
      await leave();
    }
  });

  test('the model connection failing for good: said once where /join was used, shown by /status, and the next /join starts afresh', async () => {
    const realtime = stack.realtime!;
    const textChannel = stack.discord.textChannelId;
    await joinBot(stack, member('Alice'));
    const since = performance.now();
    const failed = stack.bot.context.sessions.conversation(guildId())!;
    realtime.injectFault({ refuseUpgrades: { count: 1_000, status: 401 } }); // the key was revoked
    try {
      realtime.injectFault({ error: { type: 'invalid_request_error', code: 'session_expired', message: 'Your session hit the maximum duration of 60 minutes.' } });
      const notice = await eventually(() => botMessagesIn(textChannel, since)[0], 'a notice in the channel /join was used in');
      assert.match(notice.content, /^I lost my connection to the AI model, so I can't hear or answer in <#\d+> right now \(.+\)\. Use \/join to try again/);
      assert.doesNotMatch(notice.content, /127\.0\.0\.1|ws:|\b401\b/, 'generic words only: no host, URL or status');
      assert.equal(failed.state, 'failed');
      // Operators see it too: one warn line (pino level 40) with the guild, the cause in the log only.
      const warned = logLines(stack, /^conversation with the model failed$/).filter((line) => line.guildId === guildId());
      assert.equal(warned.length, 1, 'the failure logged once');
      assert.equal(warned[0]!.level, 40, 'at warn');
      const status = await command(member('Bob'), 'status');
      assert.match(status.content, /\*\*Model session:\*\* failed — .+ \(use \/join to start a fresh one; leaving voice in \d s otherwise\)/);
      assert.equal(stack.discord.botVoiceChannel(), stack.discord.voiceChannelId, 'still in voice, waiting for /join');
    } finally {
      realtime.injectFault({ refuseUpgrades: { count: 0, status: 401 } }); // the key works again
    }
    const rejoined = await command(member('Bob'), 'join');
    assert.equal(rejoined.content, `Reconnected to the AI model in <#${stack.discord.voiceChannelId}>. Talk to me!`);
    const fresh = stack.bot.context.sessions.conversation(guildId())!;
    assert.notEqual(fresh, failed);
    assert.equal(fresh.state, 'ready');
    assert.equal(failed.state, 'closed', 'the failed conversation was closed');
    const { endedAt } = await member('Alice').speak(utterance(0.8, 36));
    const reply = await waitForReply(member('Carol'), endedAt);
    assert.ok(reply.ms >= REPLY_MS - 100, 'answered in the fresh conversation, in the same voice session');
    assert.equal(botMessagesIn(textChannel, since).length, 1, 'the failure was announced once');
    await leave();
  });

  test(`left failed, the bot leaves voice after MODEL_UNAVAILABLE_LEAVE_SECONDS (${LEAVE_AFTER_S} s) and says so`, async () => {
    const realtime = stack.realtime!;
    const textChannel = stack.discord.textChannelId;
    await joinBot(stack, member('Alice'));
    const since = performance.now();
    realtime.injectFault({ refuseUpgrades: { count: 1_000, status: 401 } });
    try {
      realtime.injectFault({ error: { type: 'invalid_request_error', code: 'session_expired', message: 'Your session hit the maximum duration of 60 minutes.' } });
      await eventually(() => stack.discord.botVoiceChannel() === null, 'the bot to leave voice', 10_000);
      const messages = await eventually(() => {
        const posted = botMessagesIn(textChannel, since).map((m) => m.content);
        return posted.length >= 2 ? posted : undefined;
      }, 'the notice and the leaving message');
      assert.equal(messages.length, 2, JSON.stringify(messages));
      assert.match(messages[0]!, /^I lost my connection to the AI model/);
      assert.equal(messages[1], `Left <#${stack.discord.voiceChannelId}>: the AI model is still unavailable. Use /join when it's back.`);
      await eventually(() => stack.bot.context.sessions.conversation(guildId()) === undefined, 'the failed conversation to be dropped');
    } finally {
      realtime.injectFault({ refuseUpgrades: { count: 0, status: 401 } });
    }
  });

  test('a move Discord never lets happen: the bot stays (and says it stays) in the channel it was in', async () => {
    const { discord } = stack;
    await joinBot(stack, member('Alice'));
    discord.faults.leaveVoiceJoinsUnanswered(discord.secondVoiceChannelId);
    try {
      const moved = await command(member('Alice'), 'join', { channel: discord.secondVoiceChannelId });
      assert.match(moved.content, /^Couldn't join <#\d+>: the voice connection did not become ready in time\.$/);
      assert.equal(stack.bot.context.sessions.voiceChannelOf(guildId()), discord.voiceChannelId, 'the session is still in the first channel');
      const status = await command(member('Bob'), 'status');
      assert.match(status.content, new RegExp(`\\*\\*Voice:\\*\\* <#${discord.voiceChannelId}>`));
    } finally {
      discord.faults.leaveVoiceJoinsUnanswered(null);
    }
    await eventually(() => voiceSession(stack).status === 'ready' && discord.botVoiceChannel() === discord.voiceChannelId, 'back in the first channel');
    const { endedAt } = await member('Alice').speak(utterance(0.8, 37));
    const reply = await waitForReply(member('Carol'), endedAt);
    assert.ok(reply.ms >= REPLY_MS - 100, 'still hears and answers there');
    await leave();
  });

  test('/join, /leave and /join to another channel at the same moment, in every order: one voice session, where the bot really is', async () => {
    const { discord } = stack;
    const join = () => member('Alice').runCommand('join');
    const leaveNow = () => member('Bob').runCommand('leave');
    const joinSecond = () => member('Carol').runCommand('join', { channel: discord.secondVoiceChannelId });
    const orders = [
      [join, leaveNow, joinSecond],
      [leaveNow, joinSecond, join],
      [joinSecond, join, leaveNow],
      [join, joinSecond, leaveNow],
    ];
    const created: VoiceSession[] = [];
    const onCreated = (session: VoiceSession) => created.push(session);
    stack.bot.context.sessions.on('voiceSession', onCreated);
    try {
      for (const [round, order] of orders.entries()) {
        const records = await Promise.all(order.map((run) => run()));
        const replies = await Promise.all(records.map((record) => record.waitForContent(20_000)));
        assert.equal(replies.length, 3, `round ${round}: every command answered`);
        // Settled: either out of voice with no session, or one ready session in the channel the bot is in.
        await eventually(() => {
          const session = stack.bot.context.sessions.voiceSession(guildId());
          const channel = discord.botVoiceChannel();
          return channel === null ? session === undefined : session?.status === 'ready' && session.channelId === channel;
        }, `round ${round}: the voice session to match where the bot is`);
        assert.ok(stack.bot.metrics.trackedVoiceSessions <= 1, `round ${round}: ${stack.bot.metrics.trackedVoiceSessions} live voice sessions`);
        const live = created.filter((session) => session.status !== 'destroyed');
        assert.ok(live.length <= 1, `round ${round}: ${live.length} voice sessions not destroyed`);
      }
      // Whatever the last round left, the bot still works: back with the members, one answer per turn.
      await joinBot(stack, member('Alice'));
      await eventually(() => voiceSession(stack).status === 'ready' && discord.botVoiceChannel() === discord.voiceChannelId, 'ready with the members');
      const createsBefore = received(stack, 'response.create').length;
      const { endedAt } = await member('Alice').speak(utterance(0.8, 41));
      const reply = await waitForReply(member('Carol'), endedAt);
      assert.ok(reply.ms <= REPLY_MS + 100, `the reply played once (heard ${reply.ms} ms of a ${REPLY_MS} ms reply)`);
      assert.equal(received(stack, 'response.create').length - createsBefore, 1, 'one answer asked for');
    } finally {
      stack.bot.context.sessions.off('voiceSession', onCreated);
      await leave();
    }
  });

  test('a mention arriving while its conversation is closing gets a short apology at once, and typing stops', async () => {
    const realtime = stack.realtime!;
    // A long text answer is streaming (slowed down) and a second question waits its turn behind it.
    const first = await member('Alice').say('please give me a long answer', { mentionBot: true });
    await first.waitForReply(() => true, 15_000);
    realtime.injectFault({ delayMs: 200 });
    const second = await member('Bob').say('and what about tomorrow?', { mentionBot: true });
    const { discord } = stack;
    await eventually(() => stack.bot.context.sessions.textConversation(discord.guildId, discord.textChannelId)?.pendingQuestions === 2, 'the second question to wait its turn');
    // Typing shows only for the question being answered (issue 18.6), not for one waiting its turn.
    assert.equal(discord.recorded.messages.filter((r) => r.path.endsWith('/typing') && r.at >= second.sentAt).length, 0, 'no typing for the waiting question');
    // Now the conversation fails for good (the service disabled this API shape) and closes.
    realtime.injectFault({ delayMs: 0 });
    realtime.injectFault({ error: { type: 'invalid_request_error', code: 'beta_api_shape_disabled', message: 'The beta API shape is disabled.' } });
    const apology = await second.waitForReply(() => true, 5_000);
    assert.match(apology.content, /^Sorry, I can't answer right now: the AI model is unavailable\.$/);
    const typingAfter = stack.discord.recorded.messages.filter((r) => r.path.endsWith('/typing') && r.at > apology.createdAt);
    assert.equal(typingAfter.length, 0, 'no typing after the answer');
    // The next mention starts a fresh conversation and is answered.
    const third = await member('Carol').say('are you back?', { mentionBot: true });
    const answer = await third.waitForReply((reply) => reply.content.endsWith('are you back?"'), 15_000);
    assert.match(answer.content, /Hello Carol\. You said: "\[speaker: Carol\] are you back\?"/);
  });
});
