/**
 * `npm run demo [-- --json] [-- --out FILE.wav]`: the real bot on the embedded local Discord and the
 * realtime simulator (or a real model service when REALTIME_URL, REALTIME_DIALECT and
 * REALTIME_API_KEY are set). Simulated members join, talk, interrupt, talk at once, mention the bot,
 * change its instructions and make it leave; the demo prints what happened with per-turn latency and
 * writes what a listening member heard to a WAV file.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeWavFile } from '../src/audio/wav.ts';
import { DISCORD_CHANNELS, DISCORD_SAMPLE_RATE } from '../src/audio/format.ts';
import { utterance } from '../sim/speech.ts';
import type { SimulatedMember } from '../sim/discord/index.ts';
import { startLocalStack, type ExternalRealtime, type LocalStack } from './localStack.ts';

const args = process.argv.slice(2);
const json = args.includes('--json');
const outIndex = args.indexOf('--out');
const wavPath = resolve(outIndex >= 0 && args[outIndex + 1] ? args[outIndex + 1]! : 'out/demo-heard.wav');

/** Prints the readable account (to stderr with --json, so stdout ends with the JSON line). */
const say = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);

interface Step {
  name: string;
  ok: boolean;
  detail: string;
}

const steps: Step[] = [];
const replyAudioMs: number[] = [];
const latencies: number[] = [];
let bargeInTruncatedMs: number | null = null;
let textReply: string | null = null;

function externalRealtime(): ExternalRealtime | undefined {
  const { REALTIME_URL: url, REALTIME_DIALECT: dialect, REALTIME_API_KEY: apiKey } = process.env;
  if (!url || !dialect || !apiKey) return undefined;
  if (dialect !== 'ga' && dialect !== 'beta') throw new Error(`REALTIME_DIALECT must be ga or beta (got "${dialect}")`);
  return { url, dialect, apiKey, model: process.env.REALTIME_MODEL };
}

async function step(name: string, run: () => Promise<string>): Promise<boolean> {
  const started = performance.now();
  try {
    const detail = await run();
    steps.push({ name, ok: true, detail });
    say(`  ✔ ${name} (${Math.round(performance.now() - started)} ms): ${detail}`);
    return true;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    steps.push({ name, ok: false, detail });
    say(`  ✘ ${name}: ${detail}`);
    return false;
  }
}

/**
 * How long the demo waits for what the model service decides: the first audio of a reply, a whole
 * reply, a text answer. Nothing in the scenario depends on the simulator's wording, reply length or
 * pace, so a real service (which may think for seconds and answer at any length) passes too.
 */
const MODEL_WAIT_MS = 90_000;

/** Polls `condition` every 50 ms until it holds; rejects with `what` after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = MODEL_WAIT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Lays what the listener heard on a timeline (arrival times), so pauses between replies stay pauses. */
function heardTimeline(listener: SimulatedMember, startedAt: number): Int16Array {
  const { pcm, packets } = listener.heard();
  const voiced = packets.filter((packet) => !packet.silence && packet.samples > 0);
  const lastAt = voiced.at(-1)?.arrivalMs ?? startedAt;
  const totalFrames = Math.ceil(((lastAt - startedAt) / 1000) * DISCORD_SAMPLE_RATE) + 48_000;
  const out = new Int16Array(totalFrames * DISCORD_CHANNELS);
  let read = 0;
  let writeFrame = 0;
  for (const packet of voiced) {
    const atFrame = Math.round(((packet.arrivalMs - startedAt) / 1000) * DISCORD_SAMPLE_RATE);
    writeFrame = Math.max(writeFrame, atFrame);
    const samples = packet.samples * DISCORD_CHANNELS;
    if ((writeFrame + packet.samples) * DISCORD_CHANNELS > out.length) break;
    out.set(pcm.subarray(read, read + samples), writeFrame * DISCORD_CHANNELS);
    read += samples;
    writeFrame += packet.samples;
  }
  return out.subarray(0, writeFrame * DISCORD_CHANNELS);
}

async function runScenario(stack: LocalStack): Promise<void> {
  const { discord } = stack;
  const guildId = discord.guildId;
  const alice = discord.member('Alice');
  const bob = discord.member('Bob');
  const carol = discord.member('Carol'); // listens, never speaks: what she hears goes to the WAV
  const conversation = () => stack.bot.context.sessions.conversation(guildId);
  const voice = () => stack.bot.context.sessions.voiceSession(guildId);
  /** Whether the bot is answering a turn (waiting for the model, or playing its reply). */
  const answering = () => ['thinking', 'speaking'].includes(voice()?.turnState.status ?? 'idle');

  /**
   * Waits for the bot's answer to speech that ended at `after`: its first audio, then its end — the
   * listener hears nothing for a moment and the bot's turn-taking is no longer answering (a pause in
   * the middle of a reply is not its end).
   */
  const waitForReply = async (listener: SimulatedMember, after: number): Promise<{ firstAt: number; ms: number }> => {
    for (;;) {
      const reply = await listener.waitForReplyEnd({ after, timeoutMs: MODEL_WAIT_MS, quietMs: 300 });
      if (!answering()) return reply;
      await until(() => !answering() || listener.heardMs(performance.now() - 100) > 0, 'the reply to go on or end');
    }
  };

  await step('members join the voice channel', async () => {
    await Promise.all([alice.joinVoice(), bob.joinVoice(), carol.joinVoice()]);
    return 'Alice, Bob and Carol are in the voice channel';
  });

  await step('/join', async () => {
    const record = await alice.runCommand('join');
    const content = await record.waitForContent(20_000);
    if (!content.startsWith('Joined')) throw new Error(`unexpected reply: ${content}`);
    const ackMs = Math.round(record.callback!.at - record.createdAt);
    return `"${content}" (acknowledged in ${ackMs} ms, deferred: ${record.callback!.type === 5})`;
  });

  const turn = async (label: string, speakers: SimulatedMember[], seconds: number) => {
    await step(label, async () => {
      const results = await Promise.all(speakers.map((member, i) => member.speak(utterance(seconds, 10 + i + replyAudioMs.length))));
      const endedAt = Math.max(...results.map((result) => result.endedAt));
      const reply = await waitForReply(carol, endedAt);
      const latency = reply.firstAt - endedAt;
      latencies.push(Math.round(latency));
      replyAudioMs.push(Math.round(reply.ms));
      const transcript = conversation()?.realtime.history.filter((entry) => entry.role === 'assistant').at(-1)?.text ?? '';
      return `${Math.round(reply.ms)} ms of reply, first audio ${Math.round(latency)} ms after speech ended — "${transcript}"`;
    });
  };

  await turn('Alice speaks, the bot answers', [alice], 1.6);

  await step('Bob speaks, Alice interrupts the reply', async () => {
    // Alice talks as soon as the reply starts. A reply that ends before her speech is long enough to
    // count as an interruption (a real model may answer briefly) is let be: she is answered, and Bob
    // asks again, up to three times.
    for (let attempt = 1; ; attempt++) {
      const { endedAt } = await bob.speak(utterance(1.4, 20 + attempt));
      await carol.waitForAudio({ minMs: 60, timeoutMs: MODEL_WAIT_MS, after: endedAt });
      const firstAt = carol.firstPacketAfter(endedAt)!.arrivalMs;
      const session = voice();
      if (!session) throw new Error('no voice session');
      let bargeIn: { playedMs: number | null } | null = null;
      let stoppedAt = 0;
      const onBargeIn = (event: { playedMs: number | null }) => {
        bargeIn = event;
        stoppedAt = performance.now();
      };
      session.once('bargeIn', onBargeIn);
      const spoken = await alice.speak(utterance(1.8, 30 + attempt));
      session.off('bargeIn', onBargeIn);
      if (bargeIn === null) {
        if (attempt === 3) throw new Error('three replies in a row ended before Alice could interrupt them');
        say(`    (the reply ended before Alice's interruption counted; attempt ${attempt + 1})`);
        await waitForReply(carol, spoken.endedAt);
        continue;
      }
      latencies.push(Math.round(firstAt - endedAt));
      // Nothing stale may play after the stop (allow two frames in flight), until Alice's answer.
      const staleMs = carol.heardMs(stoppedAt + 40) - carol.heardMs(spoken.endedAt);
      if (staleMs > 0) throw new Error(`${staleMs} ms of the interrupted reply played after the stop`);
      replyAudioMs.push(Math.round(carol.heardMs(endedAt) - carol.heardMs(stoppedAt)));
      const { playedMs } = bargeIn as { playedMs: number | null };
      bargeInTruncatedMs = playedMs;
      const truncate = stack.realtime?.received.findLast((received) => received.event.type === 'conversation.item.truncate');
      const serverMs = truncate?.event.audio_end_ms;
      const reply = await waitForReply(carol, spoken.endedAt);
      latencies.push(Math.round(reply.firstAt - spoken.endedAt));
      replyAudioMs.push(Math.round(reply.ms));
      return `the bot stopped after ${playedMs} ms of its reply (truncated on the server to ${serverMs ?? 'n/a'} ms), nothing stale played, then answered Alice`;
    }
  });

  await turn('Alice and Bob speak at once', [alice, bob], 1.5);

  await step('Alice mentions the bot in text', async () => {
    // The answer is whatever the model says: wait for its text response to finish, then for the
    // streamed messages to show all of it (they are edited as the text arrives).
    const realtime = conversation()?.realtime;
    if (!realtime) throw new Error('no conversation');
    let text: string | null = null;
    const onDone = (result: { text: string; outOfBand: boolean; status: string }) => {
      if (!result.outOfBand && result.text.length > 0 && result.status === 'completed') text = result.text;
    };
    realtime.on('response_done', onDone);
    const message = await alice.say('what have we talked about so far?', { mentionBot: true });
    try {
      await until(() => text !== null, 'the text answer');
    } finally {
      realtime.off('response_done', onDone);
    }
    const shown = () => message.replies().map((candidate) => candidate.content).join('');
    const squash = (value: string) => value.replace(/\s+/g, '');
    await until(() => squash(shown()) === squash(text!), 'the streamed reply to show the whole answer', 20_000);
    textReply = message.replies().map((candidate) => candidate.content).join('\n');
    const pings = JSON.stringify(message.replies()[0]?.allowedMentions);
    return `replied "${textReply}" (allowed_mentions ${pings})`;
  });

  await step('/instructions set (by the server owner)', async () => {
    const owner = discord.member('Owner');
    const record = await owner.runCommand('instructions', { text: 'You are a pirate. Answer like one.' }, 'set');
    const content = await record.waitForContent(10_000);
    const applied = stack.realtime
      ? stack.realtime.received.some((received) => received.event.type === 'session.update' && JSON.stringify(received.event).includes('You are a pirate'))
      : true;
    if (!applied) throw new Error('the live session did not receive the new instructions');
    return `"${content}"`;
  });

  await step('/leave', async () => {
    const record = await alice.runCommand('leave');
    const content = await record.waitForContent(10_000);
    await until(() => discord.botVoiceChannel() === null, 'the bot to leave the voice channel', 5_000);
    return `"${content}"`;
  });
}

async function main(): Promise<number> {
  if (process.env.DISCORD_TOKEN) say('note: DISCORD_TOKEN is set, but the demo always runs on the local Discord (use `npm start` for the real one).');
  const external = externalRealtime();
  say(`Starting the local Discord and ${external ? `the model service at ${new URL(external.url).host} (${external.dialect})` : 'the realtime simulator'}…`);
  const stack = await startLocalStack({ external, logLevel: process.env.LOG_LEVEL ?? 'warn', realtime: { replyAudioMs: 3_000 } });
  const startedAt = performance.now();
  say(`Bot logged in as ${stack.bot.client.user?.tag}. Scenario:`);
  try {
    await runScenario(stack);
    const carol = stack.discord.member('Carol');
    mkdirSync(dirname(wavPath), { recursive: true });
    await writeWavFile(wavPath, { sampleRate: DISCORD_SAMPLE_RATE, channels: DISCORD_CHANNELS, samples: heardTimeline(carol, startedAt) });
    say(`What Carol heard: ${wavPath}`);
  } finally {
    await stack.close();
  }
  const ok = steps.length > 0 && steps.every((entry) => entry.ok);
  say(`\n${ok ? 'OK' : 'FAILED'}: ${steps.filter((entry) => entry.ok).length}/${steps.length} steps; voice turns answered: ${latencies.length}`);
  if (latencies.length > 0) say(`Speech end → first reply audio (ms): ${latencies.join(', ')}`);
  if (json) {
    const summary = {
      ok,
      turns: latencies.length,
      reply_audio_ms: replyAudioMs,
      latency_ms: { first_audio_after_speech_end: latencies },
      barge_in_truncated_ms: bargeInTruncatedMs,
      text_reply: textReply,
      steps,
      wav: wavPath,
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  }
  return ok ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (error) {
  say(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: error instanceof Error ? error.message : String(error) })}\n`);
  process.exitCode = 1;
}
