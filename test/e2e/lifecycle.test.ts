/**
 * End to end: when the real bot leaves voice (alone timeout, /leave, kicked) and how it recovers a
 * voice disconnect (resumable close, session-ending close), on the local Discord and the realtime
 * simulator with ALONE_TIMEOUT_SECONDS=1.
 */
import assert from 'node:assert/strict';
import { Events } from 'discord.js';
import { after, before, describe, test } from 'node:test';
import type { LocalStack } from '../../scripts/localStack.ts';
import { FRAME_MS } from '../../src/audio/format.ts';
import { assertNoPings, botSeesVoiceState, command, eventually, joinBot, lastAssistantText, nextReplyStop, startStack, utterance, voiceSession, waitForReply } from './helpers.ts';

describe('voice lifecycle', () => {
  let stack: LocalStack;
  before(async () => {
    stack = await startStack({ env: { ALONE_TIMEOUT_SECONDS: '1' }, realtime: { replyAudioMs: 600 } });
  });
  after(async () => {
    await stack?.close();
  });

  const member = (name: string) => stack.discord.member(name);
  const hasSession = () => stack.bot.context.sessions.voiceSession(stack.discord.guildId) !== undefined;

  /** Alice speaks; Carol must hear an answer addressed to Alice. */
  async function assertStillTalks(seed: number): Promise<void> {
    const { endedAt } = await member('Alice').speak(utterance(0.8, seed));
    const reply = await waitForReply(member('Carol'), endedAt);
    assert.ok(reply.ms >= 500, `heard ${reply.ms} ms`);
    assert.match(lastAssistantText(stack), /Hello Alice\./);
  }

  test('/join while the model service refuses connections fails with a clear message and stays out of voice', async () => {
    const { discord } = stack;
    assert.equal(stack.bot.context.sessions.conversation(discord.guildId), undefined, 'no conversation yet');
    await member('Alice').joinVoice();
    stack.realtime!.injectFault({ refuseUpgrades: { count: 1_000, status: 401 } });
    try {
      const { record, content } = await command(member('Alice'), 'join');
      assert.equal(record.callback?.type, 5);
      assert.match(content, /^Couldn't join <#\d+>: the AI model service did not accept the bot's API key\.$/);
      assertNoPings(record);
      await eventually(() => !stack.bot.context.sessions.voiceOperationPending(discord.guildId), 'the failed /join to be over');
      assert.equal(discord.botVoiceChannel(), null);
      assert.equal(hasSession(), false);
    } finally {
      stack.realtime!.injectFault({ refuseUpgrades: { count: 0, status: 401 } });
    }
    await joinBot(stack, member('Alice'));
    await command(member('Alice'), 'leave');
    await eventually(() => discord.botVoiceChannel() === null, 'the bot to leave');
  });

  test('the bot stays while a human is there and leaves after ALONE_TIMEOUT_SECONDS once only a bot is left', async () => {
    const { discord } = stack;
    await member('Alice').joinVoice();
    await joinBot(stack, member('Alice'));
    const robo = discord.addMember({ name: 'Robo', bot: true });
    await robo.joinVoice();
    await botSeesVoiceState(stack, robo, discord.voiceChannelId);
    assert.equal(voiceSession(stack).leavesAloneAt, null, 'not leaving: Alice is there');
    await member('Alice').leaveVoice();
    await botSeesVoiceState(stack, member('Alice'), null);
    assert.ok(voiceSession(stack).leavesAloneAt !== null, 'alone with a bot: the timer runs');
    await eventually(() => discord.botVoiceChannel() === null, 'the bot to leave when alone', 6_000);
    await eventually(() => !hasSession(), 'the voice session to be gone');
    await robo.leaveVoice();
  });

  test('moved into an empty channel, the bot leaves after the alone timeout', async () => {
    const { discord } = stack;
    await member('Alice').joinVoice();
    await joinBot(stack, member('Alice'));
    const moved = await command(member('Alice'), 'join', { channel: discord.secondVoiceChannelId });
    assert.match(moved.content, /^Moved to/);
    await eventually(() => discord.botVoiceChannel() === null, 'the bot to leave the empty channel', 8_000);
    assert.equal(hasSession(), false);
  });

  test('someone leaving and coming back within the timeout keeps the bot in the channel', async () => {
    const { discord } = stack;
    await member('Alice').joinVoice();
    await joinBot(stack, member('Alice'));
    await member('Alice').leaveVoice();
    await botSeesVoiceState(stack, member('Alice'), null);
    assert.ok(voiceSession(stack).leavesAloneAt !== null, 'alone: the timer runs');
    await member('Alice').joinVoice();
    await botSeesVoiceState(stack, member('Alice'), discord.voiceChannelId);
    assert.equal(voiceSession(stack).leavesAloneAt, null, 'Alice is back: the timer is off');
    assert.equal(discord.botVoiceChannel(), discord.voiceChannelId, 'still in the channel');
    assert.equal(hasSession(), true);
    await command(member('Alice'), 'leave');
    await eventually(() => discord.botVoiceChannel() === null, 'the bot to leave');
  });

  test('/leave during a reply silences it at once', async () => {
    const { discord } = stack;
    const carol = member('Carol');
    await Promise.all([member('Alice').joinVoice(), carol.joinVoice()]);
    await joinBot(stack, member('Alice'));
    const stream = stack.realtime!.sessions.at(-1)!.stream;
    const saved = stream.replyAudioMs;
    stream.replyAudioMs = 3_000;
    try {
      const { endedAt } = await member('Alice').speak(utterance(0.8, 5));
      await carol.waitForAudio({ minMs: 300, timeoutMs: 20_000, after: endedAt });
      const session = voiceSession(stack);
      let bargeIns = 0;
      session.on('bargeIn', () => bargeIns++);
      const stopped = nextReplyStop(session);
      const record = await member('Alice').runCommand('leave');
      const stop = await stopped;
      assert.equal(stop.reason, 'leave');
      assert.equal(bargeIns, 0, '/leave is not counted as a barge-in');
      const stoppedAt = stop.at;
      await record.waitForContent();
      await eventually(() => discord.botVoiceChannel() === null && discord.voice.botSession === null, 'the bot to leave and its voice session to end');
      assert.equal(carol.heardMs(stoppedAt + 2 * FRAME_MS), 0, 'nothing played after /leave');
      assert.ok(carol.heardMs(endedAt) < 2_500, 'the reply was cut short');
    } finally {
      stream.replyAudioMs = saved;
    }
  });

  test('/leave leaves at once and says so without pinging', async () => {
    const { discord } = stack;
    await Promise.all([member('Alice').joinVoice(), member('Carol').joinVoice()]);
    await joinBot(stack, member('Alice'));
    const { record, content } = await command(member('Carol'), 'leave');
    assert.match(content, new RegExp(`^Left <#${discord.voiceChannelId}>`));
    assertNoPings(record);
    await eventually(() => discord.botVoiceChannel() === null, 'the bot to leave');
    assert.equal(hasSession(), false);
  });

  test('a resumable voice close (4015) is resumed: same session, still talking afterwards', async () => {
    const { discord } = stack;
    await joinBot(stack, member('Alice'));
    const session = voiceSession(stack);
    const resumesBefore = discord.voice.botSession!.stats.resumes;
    discord.faults.closeVoice(4015);
    await eventually(() => discord.voice.botSession?.stats.resumes === resumesBefore + 1, 'the voice session to be resumed');
    await eventually(() => session.status === 'ready', 'ready again');
    assert.equal(voiceSession(stack), session, 'the same voice session');
    assert.equal(discord.botVoiceChannel(), discord.voiceChannelId);
    await assertStillTalks(1);
  });

  test('a session-ending voice close (4006) reconnects with a new voice session and keeps talking', async () => {
    const { discord } = stack;
    const session = voiceSession(stack);
    const before = discord.voice.botSession;
    discord.faults.closeVoice(4006);
    await eventually(() => session.status === 'ready' && discord.voice.botSession !== null && discord.voice.botSession !== before, 'ready on a new voice session after re-signalling', 15_000);
    assert.equal(voiceSession(stack), session);
    await assertStillTalks(2);
  });

  test('a main gateway drop (resumed by discord.js) does not disturb voice', async () => {
    const { discord } = stack;
    const session = voiceSession(stack);
    const resumed = new Promise((resolve) => stack.bot.client.once(Events.ShardResume, resolve));
    discord.faults.disconnectGateway(4000);
    await resumed;
    assert.ok(stack.bot.client.isReady(), 'the client is ready again');
    assert.equal(voiceSession(stack), session);
    await assertStillTalks(4);
    // Commands still work after the resume.
    const status = await command(member('Alice'), 'status');
    assert.match(status.content, /\(ready\)/);
  });

  test('kicked from voice: the bot leaves cleanly (session gone, no rejoin) and can be invited back', async () => {
    const { discord } = stack;
    const session = voiceSession(stack);
    const destroyed = new Promise<string>((resolve) => session.once('destroyed', resolve));
    discord.faults.kickBotFromVoice();
    const reason = await destroyed;
    assert.match(reason, /disconnected|destroyed/);
    assert.equal(hasSession(), false);
    // Destroyed: nothing is left that could rejoin by itself.
    assert.equal(discord.botVoiceChannel(), null, 'it did not rejoin by itself');
    assert.equal(discord.voice.botSession, null);

    await joinBot(stack, member('Alice'));
    await assertStillTalks(3);
    await command(member('Alice'), 'leave');
    await eventually(() => discord.botVoiceChannel() === null, 'the bot to leave');
  });
});
