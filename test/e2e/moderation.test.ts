/**
 * End to end (issue 18.7): moderation is respected. Server-muted by a moderator, the bot keeps
 * listening (turns stay in the conversation) but starts no spoken reply, which nobody would hear and
 * which would still be paid for, cuts the one it is playing, and /status says why; unmuted, it
 * answers again. Where it may not
 * post, a mention costs nothing: no model request is made.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { Permission } from '../../sim/discord/index.ts';
import type { LocalStack } from '../../scripts/localStack.ts';
import { command, eventually, joinBot, nextReplyStop, received, startStack, utterance, voiceSession, waitForReply, watchMentions } from './helpers.ts';

describe('moderation is respected', () => {
  let stack: LocalStack;
  before(async () => {
    stack = await startStack({ realtime: { replyAudioMs: 400 } });
    const { discord } = stack;
    await Promise.all([discord.member('Alice').joinVoice(), discord.member('Carol').joinVoice()]);
    await joinBot(stack, discord.member('Alice'));
  });
  after(async () => {
    await stack?.close();
  });

  test('server-muted: no spoken reply is started, /status says so; unmuted: answers again', async () => {
    const { discord } = stack;
    const alice = discord.member('Alice');
    const carol = discord.member('Carol');
    const first = await alice.speak(utterance(0.8, 11));
    await waitForReply(carol, first.endedAt);

    discord.moderateVoice({ mute: true });
    const session = voiceSession(stack);
    await eventually(() => session.silenced, 'the bot to see its server mute');
    const status = await command(alice, 'status');
    assert.match(status.content, /server-muted: I listen but don't speak/);

    // Carol speaks while the bot is muted: her turn is committed (and kept), no answer is asked for.
    const since = Date.now();
    const committed = once(session.conversation.realtime, 'input_committed');
    await carol.speak(utterance(0.8, 12));
    await committed;
    // Turn-taking handled the commit before this test's listener ran: nothing was asked.
    assert.equal(session.turnState.status, 'idle');
    assert.deepEqual(received(stack, 'response.create', since), [], 'no response requested while muted');
    await eventually(() => received(stack, 'conversation.item.create', since).some((entry) => JSON.stringify(entry.event).includes('[speaker: Carol]')), "Carol's turn labelled in the conversation");

    discord.moderateVoice({ mute: false });
    await eventually(() => session.silenced === null, 'the bot to see the mute lifted');
    assert.doesNotMatch((await command(alice, 'status')).content, /server-muted/);
    const again = await alice.speak(utterance(0.8, 13));
    await waitForReply(carol, again.endedAt);
  });

  test('no Send Messages where it is mentioned: nothing is asked of the model', async () => {
    const { discord } = stack;
    const mentions = watchMentions(stack);
    discord.setChannelPermissions(discord.textChannelId, [{ id: discord.botRoleId, type: 'role', deny: Permission.SendMessages }]);
    await eventually(() => {
      const channel = stack.bot.client.channels.cache.get(discord.textChannelId);
      return channel && 'permissionOverwrites' in channel && channel.permissionOverwrites.cache.has(discord.botRoleId);
    }, 'the overwrite to reach the bot');
    const since = Date.now();
    const message = await discord.member('Bob').say('what is the capital of France?', { mentionBot: true });
    assert.equal(await mentions.handled(message.id), 'noPermission');
    assert.deepEqual(received(stack, 'conversation.item.create', since), [], 'the question never reached the model');
    assert.deepEqual(received(stack, 'response.create', since), []);
  });
});

describe('server-muted in the middle of a reply', () => {
  let stack: LocalStack;
  after(async () => {
    await stack?.close();
  });

  test('the reply being played stops at once, and the model is told how much was heard', async () => {
    // Replies of 6 s: the mute lands while most of it is still to play.
    stack = await startStack({ realtime: { replyAudioMs: 6_000 } });
    const { discord } = stack;
    const alice = discord.member('Alice');
    await alice.joinVoice();
    await joinBot(stack, alice);
    const session = voiceSession(stack);
    await alice.speak(utterance(0.8, 14));
    await eventually(() => session.turnState.status === 'speaking' && session.playbackStats.framesSent > 0, 'the bot to be speaking', 20_000);
    const since = Date.now();
    const stopped = nextReplyStop(session, 10_000);
    discord.moderateVoice({ mute: true });
    const stop = await stopped;
    assert.equal(stop.reason, 'silenced');
    assert.ok(stop.playedMs !== null && stop.playedMs < 6_000, `cut short: ${stop.playedMs} ms of 6000 played`);
    assert.equal(session.silenced, 'server-muted');
    // The model's copy of the reply is cut to what was played, as after a barge-in.
    const truncated = await eventually(() => received(stack, 'conversation.item.truncate', since)[0], 'the reply truncated at the model');
    assert.equal((truncated.event as { audio_end_ms?: number }).audio_end_ms, stop.playedMs);
    await eventually(() => session.turnState.status === 'idle', 'turn-taking idle');
  });
});
