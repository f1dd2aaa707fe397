/**
 * End to end: consent and privacy with the real bot on the local Discord and the realtime
 * simulator — the notice posted in the voice channel's chat when the bot joins, /privacy opt-out
 * (the member's audio never reaches the model, checked at the simulator; their mentions are not
 * answered; /status counts them without names), and opting back in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LocalStack } from '../../scripts/localStack.ts';
import { DEFAULT_CONSENT_NOTICE } from '../../src/discord/consentNotice.ts';
import { botSettled, command, eventually, joinBot, lastAssistantText, received, startStack, utterance, voiceSession, waitForReply, watchMentions } from './helpers.ts';

/** Bytes of input audio the simulator received since `since` (Date.now()). */
function appendedBytes(stack: LocalStack, since: number): number {
  return received(stack, 'input_audio_buffer.append', since).reduce((sum, entry) => sum + Number(/<(\d+) bytes>/.exec(String(entry.event.audio))?.[1] ?? 0), 0);
}

/** Peak level of each chunk of input audio the simulator received, with when it arrived (Date.now()). */
const inputPeaks: { at: number; peak: number }[] = [];
function recordInput(pcm: Buffer): void {
  let peak = 0;
  for (let i = 0; i + 1 < pcm.length; i += 2) peak = Math.max(peak, Math.abs(pcm.readInt16LE(i)));
  inputPeaks.push({ at: Date.now(), peak });
}

describe('consent notice and /privacy', () => {
  let stack: LocalStack;
  before(async () => {
    stack = await startStack({ realtime: { replyAudioMs: 600, onInputAudio: recordInput } });
    await Promise.all(['Alice', 'Bob', 'Carol'].map((name) => stack.discord.member(name).joinVoice()));
  });
  after(async () => {
    await stack?.close();
  });
  const member = (name: string) => stack.discord.member(name);

  test('joining posts the consent notice in the voice channel chat, without pings', async () => {
    await joinBot(stack, member('Alice'));
    const notice = await eventually(
      () => [...stack.discord.botMessages.byId.values()].find((message) => message.channelId === stack.discord.voiceChannelId),
      'the consent notice in the voice channel chat',
    );
    assert.equal(notice.content, DEFAULT_CONSENT_NOTICE);
    assert.match(notice.content, /\/privacy opt-out/);
    assert.deepEqual((notice.allowedMentions as { parse?: unknown[] })?.parse, []);
  });

  test('an opted-out member talking alone: the model receives no audio at all, and no answer comes', async () => {
    const { record, content } = await command(member('Bob'), 'privacy', {}, 'opt-out');
    assert.ok(record.ephemeral, 'the /privacy answer is private');
    assert.match(content, /opted out/);
    await botSettled(stack);
    const since = Date.now();
    const responses = received(stack, 'response.create').length;
    const { endedAt } = await member('Bob').speak(utterance(1.2, 3));
    // Then Alice speaks and is answered: whatever the bot did with Bob's speech happened before that.
    const aliceFrom = Date.now();
    const alice = await member('Alice').speak(utterance(0.8, 4));
    await waitForReply(member('Carol'), alice.endedAt);
    assert.ok(endedAt < alice.endedAt);
    assert.equal(appendedBytes(stack, since) > 0, true, 'Alice was heard');
    assert.equal(received(stack, 'input_audio_buffer.append', since).filter((entry) => entry.at < aliceFrom).length, 0, 'nothing of Bob was appended');
    assert.equal(received(stack, 'response.create').length, responses + 1, 'one answer, to Alice');
    assert.doesNotMatch(JSON.stringify(received(stack, 'conversation.item.create', since)), /Bob/, 'Bob never named to the model');
  });

  test('an opted-out member talking with someone: only the other is heard, labelled and counted', async () => {
    await botSettled(stack);
    const since = Date.now();
    // Bob talks for 2.5 s; Alice says 0.8 s at the same time.
    const [, alice] = await Promise.all([member('Bob').speak(utterance(2.5, 5)), member('Alice').speak(utterance(0.8, 6))]);
    await waitForReply(member('Carol'), alice.endedAt);
    const notes = JSON.stringify(received(stack, 'conversation.item.create', since));
    assert.doesNotMatch(notes, /Bob/);
    const heardSeconds = Number(/I heard (\d\.\d) seconds/.exec(lastAssistantText(stack))?.[1]);
    // Alice's 0.8 s with the VAD's padding and end silence is under 2 s; with Bob's 2.5 s it would be over 2.5 s.
    assert.ok(heardSeconds > 0.7 && heardSeconds < 2.2, `the model heard ${heardSeconds} s: Bob's 2.5 s never reached it`);
    assert.equal(voiceSession(stack).mixerStats.speakers[member('Bob').id], undefined, 'Bob never reached the mixer');
  });

  test("an opted-out member's mention is not answered and never reaches the model", async () => {
    const mentions = watchMentions(stack);
    const since = Date.now();
    const message = await member('Bob').say('what is the capital of France?', { mentionBot: true });
    assert.equal(await mentions.handled(message.id), 'optedOut');
    const reply = await message.waitForReply();
    assert.match(reply.content, /opted out/);
    assert.doesNotMatch(JSON.stringify(stack.realtime!.received.filter((entry) => entry.at >= since)), /capital of France/);
  });

  test('/status counts opted-out members without naming them', async () => {
    const { content } = await command(member('Carol'), 'status');
    assert.match(content, /\*\*Privacy:\*\* 1 person opted out with \/privacy \(1 in the voice channel, not heard\)/);
    assert.doesNotMatch(content, /Bob/);
  });

  test('opting back in: heard and answered again', async () => {
    const { content } = await command(member('Bob'), 'privacy', {}, 'opt-in');
    assert.match(content, /opted in/);
    await botSettled(stack);
    const since = Date.now();
    const bob = await member('Bob').speak(utterance(0.8, 7));
    await waitForReply(member('Carol'), bob.endedAt);
    assert.match(JSON.stringify(received(stack, 'conversation.item.create', since)), /\[speaker: Bob\]/);
  });

  test('opting out mid-sentence stops hearing the member at once', async () => {
    await botSettled(stack);
    const session = voiceSession(stack);
    const bob = member('Bob');
    const speaking = bob.speak(utterance(3, 8));
    await eventually(() => session.activeSpeakers.includes('Bob'), 'the bot to hear Bob');
    await command(bob, 'privacy', {}, 'opt-out');
    const cutAt = Date.now();
    await speaking;
    assert.equal(session.mixerStats.speakers[bob.id], undefined, 'Bob is out of the mixer');
    // Bob went on talking for seconds: what reached the model after the opt-out (the hang-over) is digital silence.
    const before = inputPeaks.filter((chunk) => chunk.at < cutAt);
    const afterCut = inputPeaks.filter((chunk) => chunk.at > cutAt + 100);
    assert.ok(before.some((chunk) => chunk.peak > 1_000), 'Bob was heard before');
    assert.deepEqual(afterCut.filter((chunk) => chunk.peak > 0), [], 'no audio of Bob after the opt-out');
    await command(bob, 'privacy', {}, 'opt-in');
  });
});
