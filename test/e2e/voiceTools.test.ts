/**
 * End to end, in voice: the real bot in a voice channel of the local Discord, the realtime simulator
 * calling tools when the (scripted) transcript of a spoken turn has a trigger. A tool runs with the
 * rights of who spoke; a slow one gets a filler about 700 ms after the call, then the answer; talking
 * over the filler stops it and the follow-up; "leave" says goodbye, then leaves.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { Permission } from '../../sim/discord/permissions.ts';
import type { LocalStack } from '../../scripts/localStack.ts';
import type { ResponseHandle } from '../../src/realtime/index.ts';
import { command, eventually, joinBot, lastAssistantText, nextBargeIn, received, startStack, utterance, voiceSession, waitForReply, slowLookupTool } from './helpers.ts';

const finished: string[] = [];
const slow = slowLookupTool(finished);

const REPLY_MS = 600;

/** Rejects if `promise` does not settle within `ms` (a missing event fails instead of hanging). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, sleep(ms).then(() => Promise.reject(new Error(`timed out waiting for ${what}`)))]);
}

describe('tools in voice', () => {
  let stack: LocalStack;
  before(async () => {
    stack = await startStack({ env: { TOOL_TIMEOUT_SECONDS: '8' }, extraTools: [slow], realtime: { replyAudioMs: REPLY_MS } });
    await Promise.all(['Alice', 'Bob', 'Carol'].map((name) => stack.discord.member(name).joinVoice()));
    await joinBot(stack, stack.discord.member('Alice'));
  });
  after(async () => {
    await stack?.close();
  });

  const member = (name: string) => stack.discord.member(name);
  /** `name` says something whose transcript is `transcript` (the simulator's model reads the transcript). */
  const say = async (name: string, transcript: string, seconds = 0.8) => {
    stack.realtime!.scriptTranscript(transcript);
    return member(name).speak(utterance(seconds, transcript.length));
  };
  const runner = () => stack.bot.context.sessions.conversation(stack.discord.guildId)!.tools!.runner;
  const botMessages = () => [...stack.discord.botMessages.byId.values()];

  test('a spoken request runs the tool as the speaker; the answer with its result is heard; the reminder comes in the voice chat', async () => {
    const alice = member('Alice');
    const before = botMessages().length;
    const { endedAt } = await say('Alice', 'remind me ⟦call set_reminder {"text": "water the plants", "in_minutes": 0.03}⟧');
    const heard = await waitForReply(member('Carol'), endedAt);
    assert.ok(heard.ms >= REPLY_MS - 100, `the answer was heard (${heard.ms} ms)`);
    await eventually(() => /The set_reminder tool answered: .*"for":"Alice"/.test(lastAssistantText(stack)), 'the answer with the result');
    const reminder = await eventually(() => botMessages().slice(before).find((message) => message.content.includes('Reminder: water the plants')), 'the reminder', 15_000);
    assert.equal(reminder.channelId, stack.discord.voiceChannelId, "delivered in the voice channel's chat");
    assert.equal(reminder.content, `<@${alice.id}> ⏰ Reminder: water the plants`);
  });

  test('who_is_here names the people in the channel but never one who opted out with /privacy (only counted)', async () => {
    const { content } = await command(member('Bob'), 'privacy', {}, 'opt-out');
    assert.match(content, /opted out/);
    try {
      const { endedAt } = await say('Alice', 'who is here? ⟦call who_is_here {}⟧');
      await waitForReply(member('Carol'), endedAt);
      const answer = await eventually(() => /The who_is_here tool answered: (\{.*\})/.exec(lastAssistantText(stack))?.[1], 'the answer with the result');
      const result = JSON.parse(answer) as { people: { name: string }[]; othersNotListed?: number };
      assert.deepEqual(result.people.map((person) => person.name).sort(), ['Alice', 'Carol']);
      assert.equal(result.othersNotListed, 1);
      assert.ok(!answer.includes('Bob'), 'Bob is not named');
    } finally {
      await command(member('Bob'), 'privacy', {}, 'opt-in');
    }
  });

  test('a speaker without the tools permission is refused (told to the model, said to them); the bot stays', async () => {
    const guest = stack.discord.addMember({ name: 'Guest', permissions: Permission.ViewChannel | Permission.Connect | Permission.Speak | Permission.UseVAD | Permission.SendMessages });
    await guest.joinVoice();
    const { endedAt } = await say('Guest', 'please go away ⟦call leave_voice_channel {}⟧');
    await waitForReply(member('Carol'), endedAt);
    await eventually(() => /The leave_voice_channel tool answered: .*"error":"permission_denied".*Guest lacks/.test(lastAssistantText(stack)), 'the refusal in the answer');
    assert.equal(stack.bot.context.sessions.voiceChannelOf(stack.discord.guildId), stack.discord.voiceChannelId, 'still in the channel');
    await guest.leaveVoice();
  });

  test('a slow tool: a spoken filler about 700 ms after the call, then the answer with the result', async () => {
    const session = voiceSession(stack);
    const filler = new Promise<{ calledAt: number; at: number; mode: string }>((resolve) => session.once('filler', resolve));
    const since = Date.now();
    const carol = member('Carol');
    const { endedAt } = await say('Alice', 'look it up ⟦call slow_lookup {"ms": 2500}⟧');
    const started = await within(filler, 10_000, 'the filler');
    assert.equal(started.mode, 'speech');
    const delay = started.at - started.calledAt;
    assert.ok(delay >= 690 && delay < 1_500, `filler ${Math.round(delay)} ms after the call`);
    // The model was asked for it out of band (it does not enter the conversation).
    const asked = await eventually(() => received(stack, 'response.create', since).find((entry) => (entry.event.response as { metadata?: Record<string, string> })?.metadata?.purpose === 'filler'), 'the filler request');
    assert.equal((asked.event.response as { conversation?: string }).conversation, 'none');
    const fillerHeard = carol.firstPacketAfter(endedAt);
    assert.ok(fillerHeard && fillerHeard.arrivalMs < performance.now(), 'the filler was heard');
    await eventually(() => finished.includes('slow 2500'), 'the tool to finish', 10_000);
    await eventually(() => /The slow_lookup tool answered: \{"ok":true,"waited":2500\}/.test(lastAssistantText(stack)), 'the answer with the result', 10_000);
    const answerHeard = await waitForReply(carol, performance.now() - 200);
    assert.ok(answerHeard.ms > 0);
  });

  test('talking over the filler stops it and the answer: the result still reaches the model, no follow-up is spoken', async () => {
    const session = voiceSession(stack);
    let request: ResponseHandle | null = null;
    const continuedFrom: ResponseHandle[] = [];
    const onStarted = (call: { name: string; handle: ResponseHandle | null }) => {
      if (call.name === 'slow_lookup') request = call.handle;
    };
    const onContinued = (from: ResponseHandle) => continuedFrom.push(from);
    runner().on('callStarted', onStarted);
    runner().on('continued', onContinued);
    const filler = new Promise((resolve) => session.once('filler', resolve));
    await say('Alice', 'check that ⟦call slow_lookup {"ms": 3000}⟧');
    await within(filler, 10_000, 'the filler');
    const bargeIn = nextBargeIn(session);
    void member('Bob').speak(utterance(1.5, 77));
    const stopped = await bargeIn;
    assert.equal(stopped.userId, member('Bob').id);
    await eventually(() => finished.includes('slow 3000'), 'the tool to finish', 10_000);
    const conversation = stack.realtime!.sessions.at(-1)!;
    await eventually(() => conversation.items.some((item) => item.type === 'function_call_output' && item.tool?.output === '{"ok":true,"waited":3000}'), 'the result to reach the model');
    assert.ok(request, 'the call was seen');
    assert.ok(!continuedFrom.includes(request), 'no follow-up for the stopped answer');
    runner().off('callStarted', onStarted);
    runner().off('continued', onContinued);
  });

  test('"leave" runs the tool, says goodbye, then the bot leaves the channel', async () => {
    await eventually(() => !voiceSession(stack).turnState || voiceSession(stack).turnState.status === 'idle', 'the bot to be free', 15_000);
    const carol = member('Carol');
    const { endedAt } = await say('Alice', 'you can go now ⟦call leave_voice_channel {}⟧');
    const goodbye = await waitForReply(carol, endedAt);
    assert.ok(goodbye.ms >= REPLY_MS - 100, `the goodbye was heard whole (${goodbye.ms} ms)`);
    await eventually(() => stack.bot.context.sessions.voiceChannelOf(stack.discord.guildId) === null, 'the bot to leave', 10_000);
    await eventually(() => stack.discord.botVoiceChannel() === null, 'Discord to see the bot leave', 10_000);
    assert.match(lastAssistantText(stack), /The leave_voice_channel tool answered: \{"ok":true,"leaving":/);
  });
});
