/**
 * Shared pieces of the fault and fuzz tests: the real bot on the local Discord and realtime
 * simulators (scripts/localStack.ts), collectors of unhandled errors, and waits for replies.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../scripts/localStack.ts';
import type { SimulatedMember } from '../../sim/discord/index.ts';
import { utterance } from '../../sim/speech.ts';
import type { VoiceSession } from '../../src/voice/voiceSession.ts';
import type { GuildConversation } from '../../src/voice/guildConversation.ts';

/** Every unhandled rejection and uncaught exception of the test process, collected (not fatal) so a test can assert none happened. */
export interface Crashes {
  rejections: unknown[];
  exceptions: unknown[];
  /** Asserts both lists are empty (shows the first error if not). */
  assertNone(): void;
}

export function collectCrashes(): Crashes {
  const crashes: Crashes = {
    rejections: [],
    exceptions: [],
    assertNone() {
      const first = crashes.exceptions[0] ?? crashes.rejections[0];
      assert.equal(crashes.exceptions.length + crashes.rejections.length, 0, `unhandled error: ${first instanceof Error ? first.stack : String(first)}`);
    },
  };
  process.on('unhandledRejection', (reason) => crashes.rejections.push(reason));
  process.on('uncaughtException', (error) => crashes.exceptions.push(error));
  return crashes;
}

/** Forces a full garbage collection (the test runner cannot pass --expose-gc to its workers). */
export function forceGc(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  gc();
}

/** Polls `check` until it returns a value other than undefined/false; rejects with `what` after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** The real bot joined to the voice channel with Alice (speaks) and Carol (listens). */
export interface VoiceStack {
  stack: LocalStack;
  alice: SimulatedMember;
  bob: SimulatedMember;
  carol: SimulatedMember;
  voice(): VoiceSession;
  conversation(): GuildConversation;
  close(): Promise<void>;
}

export async function startVoiceStack(options: LocalStackOptions = {}): Promise<VoiceStack> {
  const stack = await startLocalStack({ logLevel: 'info', ...options, realtime: { replyAudioMs: 1_200, ...options.realtime } });
  const { discord } = stack;
  const alice = discord.member('Alice');
  const bob = discord.member('Bob');
  const carol = discord.member('Carol');
  await Promise.all([alice.joinVoice(), bob.joinVoice(), carol.joinVoice()]);
  const record = await alice.runCommand('join');
  const content = await record.waitForContent(20_000);
  assert.match(content, /^Joined/);
  const voice = () => {
    const session = stack.bot.context.sessions.voiceSession(discord.guildId);
    assert.ok(session, 'the bot has a voice session');
    return session;
  };
  const conversation = () => {
    const found = stack.bot.context.sessions.conversation(discord.guildId);
    assert.ok(found, 'the bot has a conversation');
    return found;
  };
  await eventually(() => voice().status === 'ready', 'the voice session to be ready');
  return { stack, alice, bob, carol, voice, conversation, close: () => stack.close() };
}

/** Waits until `listener` heard at least `minMs` of reply audio after `after` (performance.now()). */
export async function waitForReplyAudio(listener: SimulatedMember, after: number, minMs = 300, timeoutMs = 20_000): Promise<number> {
  await listener.waitForAudio({ minMs, timeoutMs, after });
  return listener.heardMs(after);
}

/**
 * One voice turn: `speaker` says a short utterance, then waits until `listener` heard a reply that
 * started after the speech ended. Returns the ms of reply heard so far.
 */
export async function voiceTurn(
  speaker: SimulatedMember,
  listener: SimulatedMember,
  seed: number,
  options: { seconds?: number; minMs?: number; speak?: Parameters<SimulatedMember['speak']>[1]; countFromSpeechStart?: boolean } = {},
): Promise<number> {
  const { startedAt, endedAt } = await speaker.speak(utterance(options.seconds ?? 0.8, seed), options.speak);
  // Counting from the start of the speech also counts a reply that began before the last packet left
  // (a stalled test process can pause the speaker long enough for the server VAD to end the turn early).
  return waitForReplyAudio(listener, options.countFromSpeechStart ? startedAt : endedAt, options.minMs ?? 300);
}

/** Waits until the bot is no longer playing anything (the reply ended or was cut). */
export async function waitForPlaybackIdle(voice: () => VoiceSession, timeoutMs = 20_000): Promise<void> {
  let lastSent = -1;
  let stableSince = performance.now();
  await eventually(
    () => {
      const sent = voice().playbackStats.framesSent;
      if (sent !== lastSent) {
        lastSent = sent;
        stableSince = performance.now();
        return false;
      }
      return performance.now() - stableSince > 300;
    },
    'playback to go idle',
    timeoutMs,
  );
}

/** The lines of the bot's log whose `msg` matches. */
export function logLines(stack: LocalStack, msg: RegExp): Record<string, unknown>[] {
  return stack.logs
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return {};
      }
    })
    .filter((entry) => typeof entry.msg === 'string' && msg.test(entry.msg));
}
