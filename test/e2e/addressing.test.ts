/**
 * End to end: answering only when addressed, with the real bot on the local Discord and the
 * realtime simulator transcribing each utterance as the test scripts it, 300 ms after its commit
 * (a real transcriber's delay). `auto` mode with three people: chatter without the name gets no
 * reply (the conversation still has it), "Hey <name>, …" does, and so does the same person's
 * follow-up within the window; someone else's turn without the name does not; alone with one
 * person, every turn is answered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LocalStack } from '../../scripts/localStack.ts';
import { botSeesVoiceState, botSettled, eventually, joinBot, received, startStack, utterance, voiceSession, waitForReply } from './helpers.ts';

const TRANSCRIPT_DELAY_MS = 300;

describe('addressing (auto mode, transcripts 300 ms after each commit)', () => {
  let stack: LocalStack;
  before(async () => {
    stack = await startStack({ env: { VOICE_ADDRESSING: 'auto' }, realtime: { replyAudioMs: 800, transcriptDelayMs: TRANSCRIPT_DELAY_MS } });
    await Promise.all(['Alice', 'Bob', 'Carol'].map((name) => stack.discord.member(name).joinVoice()));
    await joinBot(stack, stack.discord.member('Alice'));
  });
  after(async () => {
    await stack?.close();
  });
  const member = (name: string) => stack.discord.member(name);

  /** `name` says `text` (scripted as the transcript of the turn); resolves once the bot decided whether it was addressed. */
  async function say(name: string, text: string, seed: number): Promise<{ endedAt: number; answered: boolean }> {
    await botSettled(stack);
    const session = voiceSession(stack);
    const { addressed, notAddressed } = session.addressing;
    stack.realtime!.scriptTranscript(text);
    const { endedAt } = await member(name).speak(utterance(0.8, seed));
    await eventually(() => session.addressing.addressed + session.addressing.notAddressed > addressed + notAddressed, `the bot to decide whether "${text}" addressed it`);
    return { endedAt, answered: session.addressing.addressed > addressed };
  }

  test('two people chatting without the name: no reply, but the conversation heard them', async () => {
    const session = voiceSession(stack);
    assert.equal(session.addressing.mode, 'name', 'auto with three people heard');
    const since = Date.now();
    const assistantBefore = stack.realtime!.sessions.at(-1)!.items.filter((item) => item.role === 'assistant' && item.text.length > 0).length;
    const alice = await say('Alice', 'did you see the game last night', 11);
    assert.equal(alice.answered, false);
    const bob = await say('Bob', 'yeah it was great', 12);
    assert.equal(bob.answered, false);
    await botSettled(stack);
    assert.equal(member('Carol').firstPacketAfter(alice.endedAt), undefined, 'nobody heard a reply');
    // The turns are in the conversation (context); each answer started for them was cancelled, or
    // (when it was already complete before the transcript came) truncated to nothing.
    const commits = stack.realtime!.sessions.at(-1)!.items.filter((item) => item.role === 'user' && item.audioMs !== null);
    assert.ok(commits.some((item) => item.text === 'did you see the game last night'));
    assert.ok(commits.some((item) => item.text === 'yeah it was great'));
    assert.equal(received(stack, 'response.create', since).length, 2, 'an answer asked for at once for each turn');
    // The bot is settled once it has sent the cancel or truncation; the simulator reads it a moment later.
    const undone = () => {
      const cancelled = received(stack, 'response.cancel', since).length;
      const truncatedToNothing = received(stack, 'conversation.item.truncate', since).filter((entry) => entry.event.audio_end_ms === 0).length;
      return { cancelled, truncatedToNothing, both: cancelled + truncatedToNothing >= 2 };
    };
    await eventually(() => undone().both, 'both answers to be undone', 5_000).catch(() => {
      const { cancelled, truncatedToNothing } = undone();
      assert.fail(`both answers undone (${cancelled} cancelled, ${truncatedToNothing} truncated to 0 ms)`);
    });
    assert.equal(stack.realtime!.sessions.at(-1)!.items.filter((item) => item.role === 'assistant' && item.text.length > 0).length, assistantBefore, 'the model believes it said nothing');
  });

  test('"Hey <name>, …": a reply, held only until the transcript came', async () => {
    const alice = await say('Alice', 'Hey Realtime Bot, what is the capital of France?', 13);
    assert.equal(alice.answered, true);
    const reply = await waitForReply(member('Carol'), alice.endedAt);
    assert.ok(reply.ms >= 700, `heard ${reply.ms} ms of an 800 ms reply`);
  });

  test('the same person following up without the name: a reply', async () => {
    const alice = await say('Alice', 'and what about Germany?', 14);
    assert.equal(alice.answered, true);
    await waitForReply(member('Carol'), alice.endedAt);
  });

  test('someone else without the name right after: no reply', async () => {
    const bob = await say('Bob', 'I think it is Berlin', 15);
    assert.equal(bob.answered, false);
    await botSettled(stack);
    assert.equal(member('Carol').firstPacketAfter(bob.endedAt), undefined);
  });

  test('a mis-heard name still counts ("hey real-time bott")', async () => {
    const bob = await say('Bob', 'hey real-time bott, are you there', 16);
    assert.equal(bob.answered, true);
    await waitForReply(member('Carol'), bob.endedAt);
  });

  test('one human in the channel (auto): a reply to everything', async () => {
    await member('Bob').leaveVoice();
    await member('Carol').leaveVoice();
    await botSeesVoiceState(stack, member('Bob'), null);
    await botSeesVoiceState(stack, member('Carol'), null);
    const session = voiceSession(stack);
    assert.equal(session.addressing.mode, 'always');
    await botSettled(stack);
    const since = performance.now();
    stack.realtime!.scriptTranscript('I wonder what the weather will be');
    const { endedAt } = await member('Alice').speak(utterance(0.8, 17));
    const reply = await waitForReply(member('Alice'), endedAt);
    assert.ok(reply.firstAt >= since);
  });
});

describe('addressing with a streaming transcriber (gpt-realtime-whisper: words while the person speaks)', () => {
  let stack: LocalStack;
  before(async () => {
    stack = await startStack({
      env: { VOICE_ADDRESSING: 'name', VOICE_TRANSCRIPTION_MODEL: 'gpt-realtime-whisper' },
      realtime: { replyAudioMs: 600, streamingTranscription: { msPerWord: 150, lagMs: 100 } },
    });
    await Promise.all(['Alice', 'Bob'].map((name) => stack.discord.member(name).joinVoice()));
    await joinBot(stack, stack.discord.member('Alice'));
  });
  after(async () => {
    await stack?.close();
  });

  test('the name heard while the person speaks releases the answer long before the whole transcript comes', async () => {
    await botSettled(stack);
    // The completed transcript comes 8 s after the commit: an answer within 7 s of the end of speech
    // can only have been released by the words streamed while Alice spoke.
    stack.realtime!.scriptTranscript({ text: 'Hey Realtime Bot, what is the capital of Portugal?', delayMs: 8_000 });
    const { endedAt } = await stack.discord.member('Alice').speak(utterance(1.2, 21));
    await waitForReply(stack.discord.member('Bob'), endedAt, 7_000);
    assert.ok(received(stack, 'session.update').some((entry) => JSON.stringify(entry.event).includes('gpt-realtime-whisper')), 'the session transcribes with the streaming model');
  });

  test('streamed words without the name never release the answer', async () => {
    await botSettled(stack);
    const session = voiceSession(stack);
    const before = session.addressing.notAddressed;
    // Bob (Alice, just answered, would be in her follow-up window).
    stack.realtime!.scriptTranscript({ text: 'so what do you all think about the game', delayMs: 1_000 });
    const { endedAt } = await stack.discord.member('Bob').speak(utterance(1.2, 22));
    await eventually(() => session.addressing.notAddressed > before, 'the turn to be found not addressed');
    await botSettled(stack);
    assert.equal(stack.discord.member('Alice').firstPacketAfter(endedAt), undefined, 'nobody heard a reply');
  });
});
