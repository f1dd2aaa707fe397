/**
 * End to end: captions with the real bot on the local Discord (Discord's per-channel message rate
 * limit is on there by default, as on Discord) and the realtime simulator transcribing each
 * utterance as the test scripts it.
 * Captions are off until an admin turns them on; then each turn's transcript, labelled with the
 * speaker's mention, and the bot's answer are posted in the voice channel's own chat, in order,
 * without pings, at most one message request per second (never rate limited); a member who opted
 * out is never captioned; turning them off stops them at once. The local Discord refuses threads on
 * a voice channel, as Discord does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LocalStack } from '../../scripts/localStack.ts';
import { CAPTIONS_NOTICE } from '../../src/discord/consentNotice.ts';
import { INTERRUPTED_MARK } from '../../src/voice/captions.ts';
import { botSettled, command, eventually, joinBot, nextBargeIn, startStack, utterance, voiceSession, waitForReply } from './helpers.ts';

describe('captions in the voice channel chat', () => {
  let stack: LocalStack;
  before(async () => {
    stack = await startStack({
      env: { VOICE_ADDRESSING: 'always' },
      realtime: { replyAudioMs: 600, transcriptDelayMs: 200 },
    });
    await Promise.all(['Alice', 'Bob', 'Carol'].map((name) => stack.discord.member(name).joinVoice()));
  });
  after(async () => {
    await stack?.close();
  });
  const member = (name: string) => stack.discord.member(name);
  /** The bot's messages in the voice channel's chat, oldest first. */
  const voiceChat = () => [...stack.discord.botMessages.byId.values()].filter((message) => message.channelId === stack.discord.voiceChannelId);
  /** Every caption line posted so far, in order. */
  const captionLines = () => voiceChat().flatMap((message) => message.content.split('\n')).filter((line) => /^<@\d+>: /.test(line));
  /** Message requests (create, edit) the bot made to the voice channel's chat. */
  const voiceChatRequests = () => stack.discord.recorded.messages.filter((request) => request.path.startsWith(`/channels/${stack.discord.voiceChannelId}/messages`) && request.method !== 'DELETE');

  async function say(name: string, text: string, seed: number): Promise<void> {
    await botSettled(stack);
    stack.realtime!.scriptTranscript(text);
    const { endedAt } = await member(name).speak(utterance(0.8, seed));
    await waitForReply(member('Carol'), endedAt);
  }

  test('off by default: /settings show says so and a turn is not captioned', async () => {
    const { content } = await command(member('Owner'), 'settings', {}, 'show');
    assert.match(content, /\*\*Captions:\*\* off \(default\)/);
    await joinBot(stack, member('Alice'));
    await say('Alice', 'Nobody should see this line', 1);
    await command(member('Owner'), 'settings', { enabled: true }, 'captions');
    // Turned on: the people in the channel are told in its chat.
    await eventually(() => voiceChat().find((message) => message.content === CAPTIONS_NOTICE), 'the captions notice in the voice channel chat');
    await say('Alice', 'What time is it in Lisbon?', 2);
    const lines = await eventually(() => (captionLines().length >= 2 ? captionLines() : undefined), 'the first captions');
    assert.ok(!lines.some((line) => line.includes('Nobody should see')), 'a turn spoken while captions were off is never posted');
  });

  test("each turn is labelled with the speaker's mention and followed by the bot's answer, without pings", async () => {
    const alice = member('Alice').id;
    const bot = stack.discord.botUserId;
    const lines = await eventually(() => (captionLines().length >= 2 ? captionLines() : undefined), 'two caption lines');
    assert.equal(lines[0], `<@${alice}>: What time is it in Lisbon?`);
    assert.ok(lines[1]!.startsWith(`<@${bot}>: `) && lines[1]!.length > `<@${bot}>: `.length, lines[1]);
    for (const request of voiceChatRequests()) {
      assert.deepEqual((request.body as { allowed_mentions?: { parse?: unknown[] } }).allowed_mentions?.parse, [], 'no caption pings anyone');
    }
  });

  test('an opted-out member is never captioned; the others go on being captioned in order, paced and never rate limited', async () => {
    await command(member('Bob'), 'privacy', {}, 'opt-out');
    await botSettled(stack);
    const bobSpoke = await member('Bob').speak(utterance(0.8, 3));
    await say('Carol', 'Bob just said something', 4);
    await say('Alice', 'And a third question', 5);
    const carol = member('Carol').id;
    const alice = member('Alice').id;
    const lines = await eventually(() => (captionLines().some((line) => line.includes('third question')) ? captionLines() : undefined), 'the third question captioned');
    assert.ok(bobSpoke.endedAt > 0);
    assert.ok(!lines.some((line) => line.includes(member('Bob').id)), `Bob is never captioned nor named: ${JSON.stringify(lines)}`);
    const carolAt = lines.indexOf(`<@${carol}>: Bob just said something`);
    const aliceAt = lines.indexOf(`<@${alice}>: And a third question`);
    assert.ok(carolAt > 0 && aliceAt > carolAt + 1, `turns in order, each followed by the answer: ${JSON.stringify(lines)}`);
    assert.ok(lines[carolAt + 1]!.startsWith(`<@${stack.discord.botUserId}>: `));
    // Pacing: message requests to the channel at least a second apart (a 5 ms allowance for timers).
    const requests = voiceChatRequests();
    const captionRequests = requests.filter((request) => /^<@\d+>: /m.test(String((request.body as { content?: string }).content ?? '')));
    assert.ok(captionRequests.length >= 2 && captionRequests.some((request) => request.method === 'PATCH'), 'lines are batched by editing the message');
    for (let i = 1; i < captionRequests.length; i++) {
      const gap = captionRequests[i]!.at - captionRequests[i - 1]!.at;
      assert.ok(gap >= 995, `caption requests ${gap.toFixed(0)} ms apart`);
    }
    assert.equal(stack.discord.recorded.rateLimited.length, 0, 'Discord never had to refuse a caption (429)');
    for (const message of voiceChat()) assert.ok(message.content.length <= 2000);
  });

  test('turned off, captions stop at once; turned on again, they resume', async () => {
    await command(member('Owner'), 'settings', { enabled: false }, 'captions');
    await say('Alice', 'This one is not captioned', 6);
    await command(member('Owner'), 'settings', { enabled: true }, 'captions');
    await say('Alice', 'This one is captioned again', 7);
    const lines = await eventually(() => (captionLines().some((line) => line.includes('captioned again')) ? captionLines() : undefined), 'captions again');
    assert.ok(!lines.some((line) => line.includes('not captioned')), JSON.stringify(lines));
    // Everyone can see that captions are on.
    assert.match((await command(member('Carol'), 'status')).content, /\*\*Privacy:\*\* .*; captions on/);
  });

  test('an answer interrupted part way is captioned as far as it was heard, in place, marked interrupted', async () => {
    const session = voiceSession(stack);
    const stream = () => stack.realtime!.sessions.at(-1)!.stream;
    const saved = stream().replyAudioMs;
    // 4 s, streamed faster than it plays: the model has finished it (and it is captioned) long before the barge-in.
    stream().replyAudioMs = 4_000;
    let stop: { itemId: string | null; playedMs: number | null };
    try {
      await botSettled(stack);
      stack.realtime!.scriptTranscript('Tell me a long story', 'Wait, stop');
      const { endedAt } = await member('Alice').speak(utterance(0.8, 8));
      await member('Carol').waitForAudio({ minMs: 1_000, timeoutMs: 20_000, after: endedAt });
      const bargeIn = nextBargeIn(session);
      const interruption = member('Alice').speak(utterance(1.2, 9));
      stop = await bargeIn;
      stream().replyAudioMs = saved; // the answer to the interruption
      await interruption;
    } finally {
      stream().replyAudioMs = saved;
    }
    assert.ok(stop.itemId !== null && stop.playedMs !== null && stop.playedMs < 3_500, `stopped part way: ${JSON.stringify(stop)}`);
    const bot = `<@${stack.discord.botUserId}>: `;
    const line = await eventually(() => captionLines().find((candidate) => candidate.startsWith(bot) && candidate.endsWith(INTERRUPTED_MARK)), 'the interrupted answer captioned as such');
    const heard = line.slice(bot.length, -INTERRUPTED_MARK.length);
    // The service cut its copy at the same played time (proportionally, mid-word); the caption stops at the word boundary before.
    const modelCopy = stack.realtime!.sessions.at(-1)!.items.find((item) => item.id === stop.itemId)!.text;
    assert.ok(heard.length > 0 && modelCopy.startsWith(heard), `caption ${JSON.stringify(heard)}, the model's copy ${JSON.stringify(modelCopy)}`);
    assert.match(modelCopy.slice(heard.length), /^ ?\S*$/, 'at most the word being said is left out');
    // Amended in place: the answer has one line, and no line shows it whole.
    const answerLines = captionLines().filter((candidate) => candidate.startsWith(bot + heard));
    assert.deepEqual(answerLines, [line]);
    assert.equal(stack.discord.recorded.rateLimited.length, 0);
  });

  test('the local Discord refuses a thread on a voice channel (50024) and rate limits a sixth message in 5 s (429)', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${stack.discord.rest}/v10${path}`, { method: 'POST', headers: { authorization: `Bot ${stack.discord.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const thread = await post(`/channels/${stack.discord.voiceChannelId}/threads`, { name: 'captions', type: 11 });
    assert.equal(thread.status, 400);
    assert.equal(((await thread.json()) as { code: number }).code, 50024);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post(`/channels/${stack.discord.textChannelId}/messages`, { content: `message ${i}` })).status);
    assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200]);
    assert.equal(statuses[5], 429);
  });
});
