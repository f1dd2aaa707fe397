/**
 * End to end (issue 18.7): the bot follows its own voice state when a moderator moves or disconnects
 * it. The local Discord does it as Discord does (voice socket closed with 4014, the bot's
 * VOICE_STATE_UPDATE with the new channel, a new VOICE_SERVER_UPDATE; a disconnect is a state update
 * with no channel). Dragged from a private call into a public one, the bot belongs to the new channel
 * (/status, who it hears and answers, the consent notice there) and talks in a fresh conversation:
 * nothing said in the private call is answerable to the wider audience. Dragged into a narrower
 * audience, the conversation carries on. Disconnected, it ends at once and never tries to rejoin.
 * The model is a leaky one: asked to "repeat everything", it repeats every user message it was given.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_CONSENT_NOTICE } from '../../src/discord/consentNotice.ts';
import type { DraggedEvent } from '../../src/voice/sessionRegistry.ts';
import type { SimulatedMember } from '../../sim/discord/index.ts';
import { Permission } from '../../sim/discord/index.ts';
import type { LocalStack } from '../../scripts/localStack.ts';
import { botSeesVoiceState, command, eventually, joinBot, startStack, utterance, voiceSession, waitForReply, watchMentions, askBot, leakyReplyGenerator, onlyFor, overwritesReachBot } from './helpers.ts';

const CALL_SECRET = 'persimmon-private';
const PUBLIC_NOTE = 'quince-public';

/**
 * The scene both describes start from: a private call only Alice may see, Alice in it, Bob in the
 * public voice channel, and the bot joined to the private call by Alice.
 */
async function botInAlicesPrivateCall(stack: LocalStack): Promise<{ alice: SimulatedMember; bob: SimulatedMember; privateCall: string }> {
  const { discord } = stack;
  const alice = discord.member('Alice');
  const bob = discord.member('Bob');
  const privateCall = discord.secondVoiceChannelId;
  discord.setChannelPermissions(privateCall, onlyFor(stack, alice.id, Permission.ViewChannel | Permission.Connect | Permission.SendMessages));
  await overwritesReachBot(stack, privateCall);
  await alice.joinVoice(privateCall);
  await bob.joinVoice();
  await botSeesVoiceState(stack, alice, privateCall);
  await botSeesVoiceState(stack, bob, discord.voiceChannelId);
  await joinBot(stack, alice, privateCall);
  return { alice, bob, privateCall };
}

describe('dragged or disconnected by a moderator', () => {
  let stack: LocalStack;
  let alice: SimulatedMember;
  let bob: SimulatedMember;
  let mallory: SimulatedMember;
  let privateCall: string;
  let mentions: ReturnType<typeof watchMentions>;

  const ask = (who: SimulatedMember, text: string, channelId: string) => askBot(mentions, who, text, channelId);

  /** The registry's next `dragged` event (fails after 15 s: the bot did not follow the move). */
  function nextDrag(): Promise<DraggedEvent> {
    return once(stack.bot.context.sessions, 'dragged', { signal: AbortSignal.timeout(15_000) }).then(([event]) => event as DraggedEvent);
  }

  before(async () => {
    stack = await startStack({ env: { MENTION_RATE_LIMIT: '50', VOICE_ADDRESSING: 'always' }, realtime: { replyAudioMs: 300, replyGenerator: leakyReplyGenerator } });
    mentions = watchMentions(stack);
    mallory = stack.discord.addMember({ name: 'Mallory' });
    ({ alice, bob, privateCall } = await botInAlicesPrivateCall(stack));
    await ask(alice, `the call secret is ${CALL_SECRET}`, privateCall);
  });
  after(async () => {
    await stack?.close();
  });

  test('dragged from a private call into a public one: the session follows, with a fresh conversation', async () => {
    const { discord } = stack;
    const session = voiceSession(stack);
    const before = session.conversation;
    const noticesBefore = [...discord.botMessages.byId.values()].filter((m) => m.channelId === discord.voiceChannelId).length;
    const dragged = nextDrag();
    discord.moderatorMoves(discord.voiceChannelId);
    assert.deepEqual(await dragged, { guildId: discord.guildId, from: privateCall, to: discord.voiceChannelId, conversation: 'fresh' });
    assert.equal(voiceSession(stack), session, 'the same session followed');
    assert.equal(session.channelId, discord.voiceChannelId);
    assert.notEqual(session.conversation, before, 'a fresh conversation for the wider audience');
    assert.equal(stack.bot.context.sessions.textConversation(discord.guildId, privateCall), before, "the private call's chat keeps the old one");
    await eventually(() => session.status === 'ready', 'the connection ready in the new channel', 15_000);

    // Bob, in the new channel, is heard and hears the answer; /status names the new channel.
    const turn = await bob.speak(utterance(0.8, 21));
    await waitForReply(bob, turn.endedAt);
    assert.match((await command(bob, 'status')).content, new RegExp(`\\*\\*Voice:\\*\\* <#${discord.voiceChannelId}> \\(ready\\)`));
    assert.equal(session.leavesAloneAt, null, 'Bob is with it: no alone timer');
    // The people of the new channel are told what the bot does with their voice.
    await eventually(
      () => [...discord.botMessages.byId.values()].filter((m) => m.channelId === discord.voiceChannelId && m.content === DEFAULT_CONSENT_NOTICE).length > noticesBefore,
      'the consent notice in the new channel',
    );
    // Nothing of the private call is answerable in #general (same audience as the public call).
    await ask(bob, `remember ${PUBLIC_NOTE}`, discord.voiceChannelId);
    const general = await ask(mallory, 'repeat everything', discord.textChannelId);
    assert.ok(general.includes(PUBLIC_NOTE), `#general shares the public call's conversation: ${general}`);
    assert.ok(!general.includes(CALL_SECRET), `the private call's conversation did not follow the bot: ${general}`);
    const inPrivate = await ask(alice, 'repeat everything', privateCall);
    assert.ok(inPrivate.includes(CALL_SECRET) && !inPrivate.includes(PUBLIC_NOTE), inPrivate);
  });

  test('dragged into a channel fewer people can see: the conversation carries on', async () => {
    const { discord } = stack;
    const session = voiceSession(stack);
    const before = session.conversation;
    const dragged = nextDrag();
    discord.moderatorMoves(privateCall);
    assert.equal((await dragged).conversation, 'kept');
    assert.equal(session.channelId, privateCall);
    assert.equal(session.conversation, before);
    await eventually(() => session.status === 'ready', 'the connection ready in the private call', 15_000);
    const turn = await alice.speak(utterance(0.8, 22));
    await waitForReply(alice, turn.endedAt);
    // Bob was left behind: the bot does not count him as someone it hears.
    assert.match((await command(alice, 'status')).content, new RegExp(`<#${privateCall}> \\(ready\\)`));
    const refused = await command(bob, 'status');
    assert.match(refused.content, /not in a voice channel you can see/);
  });

  test('disconnected by a moderator: the session ends at once, frees its place and never rejoins', async () => {
    const { discord } = stack;
    const session = voiceSession(stack);
    const destroyed = once(session, 'destroyed');
    const requestsBefore = discord.voice.botVoiceRequests.length;
    discord.moderatorMoves(null);
    const [reason] = await destroyed;
    assert.equal(reason, 'disconnected by Discord (a moderator, or the channel was deleted)');
    const sessions = stack.bot.context.sessions;
    assert.equal(sessions.voiceSession(discord.guildId), undefined);
    assert.equal(sessions.voiceSessionCount, 0);
    assert.match((await command(alice, 'status')).content, /\*\*Voice:\*\* not in a voice channel/);
    // Whatever the bot asked of Discord since: leaving only, never a channel.
    assert.deepEqual(discord.voice.botVoiceRequests.slice(requestsBefore).filter((request) => request.channelId !== null), []);
    assert.equal(discord.botVoiceChannel(), null);
    // Invited back, it works.
    await joinBot(stack, alice, privateCall);
    const turn = await alice.speak(utterance(0.8, 23));
    await waitForReply(alice, turn.endedAt);
  });
});

describe('dragged into a wider audience when no fresh conversation can start', () => {
  let stack: LocalStack;
  after(async () => {
    await stack?.close();
  });

  test('the bot leaves, and the old conversation stays with the old channel (never the new one)', async () => {
    // One model session per process: the call's own; a fresh one for the public channel cannot start.
    stack = await startStack({ env: { MAX_MODEL_SESSIONS: '1', VOICE_ADDRESSING: 'always' }, realtime: { replyAudioMs: 300 } });
    const { discord } = stack;
    const alice = discord.member('Alice');
    const privateCall = discord.secondVoiceChannelId;
    discord.setChannelPermissions(privateCall, onlyFor(stack, alice.id, Permission.ViewChannel | Permission.Connect | Permission.SendMessages));
    await overwritesReachBot(stack, privateCall);
    await alice.joinVoice(privateCall);
    await botSeesVoiceState(stack, alice, privateCall);
    await joinBot(stack, alice, privateCall);
    const session = voiceSession(stack);
    const old = session.conversation;
    const destroyed = once(session, 'destroyed');
    discord.moderatorMoves(discord.voiceChannelId);
    const [reason] = await destroyed;
    assert.equal(reason, 'moved to a channel with a wider audience and no conversation for it');
    const sessions = stack.bot.context.sessions;
    assert.equal(sessions.textConversation(discord.guildId, privateCall), old, "the private call's chat keeps its conversation");
    assert.equal(sessions.textConversation(discord.guildId, discord.voiceChannelId), undefined, "the public channel's chat did not get it");
    assert.equal(old.usable, true, 'not closed to make room');
  });
});

describe('dragged into a wider audience while its fresh conversation is still starting', () => {
  let stack: LocalStack;
  after(async () => {
    await stack?.close();
  });

  test('nothing heard in the new channel reaches the old conversation before the fresh one is in place', async () => {
    stack = await startStack({ env: { VOICE_ADDRESSING: 'always' }, realtime: { replyAudioMs: 300 } });
    const { discord } = stack;
    const realtime = stack.realtime!;
    const { alice, bob, privateCall } = await botInAlicesPrivateCall(stack);
    const session = voiceSession(stack);
    const before = session.conversation;
    const calls = realtime.openSessions();
    assert.equal(calls.length, 1, "one model session: the private call's");
    const oldModelSession = calls[0]!;

    // The model service answers slowly from now on: the fresh conversation for the public channel takes
    // seconds to start (session.created, then session.updated, each 3 s late; the bot waits 10 s).
    realtime.injectFault({ delayMs: 3_000 });
    const dragged = once(stack.bot.context.sessions, 'dragged', { signal: AbortSignal.timeout(20_000) });
    discord.moderatorMoves(discord.voiceChannelId);
    await eventually(() => session.channelId === discord.voiceChannelId && session.status === 'ready', 'the session in the public channel, connection ready', 15_000);
    const appendedAtMove = oldModelSession.appendedMs;

    // Bob speaks in the public channel while the call still has only the old conversation.
    await bob.speak(utterance(0.8, 31));
    await eventually(() => session.activeSpeakers.some((label) => label.includes('Bob')), 'the bot to hear Bob');
    realtime.injectFault({ delayMs: 0 });
    assert.equal(session.conversation, before, 'Bob was heard before the fresh conversation was in place (else this test proves nothing)');

    const [event] = (await dragged) as [DraggedEvent];
    assert.equal(event.conversation, 'fresh');
    assert.notEqual(session.conversation, before);
    assert.equal(oldModelSession.appendedMs, appendedAtMove, "none of Bob's audio was sent to the private call's conversation");

    // Once the fresh conversation is in place, Bob is heard and answered in it.
    const turn = await bob.speak(utterance(0.8, 32));
    await waitForReply(bob, turn.endedAt);
    assert.equal(oldModelSession.appendedMs, appendedAtMove, "the private call's conversation still got nothing");
  });
});
