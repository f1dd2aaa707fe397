/**
 * A mention flood while a voice conversation runs: 20 accounts each mention the bot 5 times in the
 * server's text channel (within about 5 s) while one member keeps talking to the bot in voice and
 * another listens. Reports what a busy server does to the bot and what it costs:
 * - `flood_answered` / `flood_refused` / `flood_unanswered`: mentions answered, politely refused
 *   (queue full, rate limit, capacity), and still without any reply of their own when the window ends;
 * - `flood_outcomes`: how the bot dealt with each mention (answered, busy, rateLimited…): a "busy"
 *   refusal is one notice per channel at a time, so most busy mentions have no reply of their own;
 * - `flood_max_waiting`: most questions waiting at once in the bot (asked, not yet answered);
 * - `flood_typing_calls`: "typing…" requests the bot made;
 * - `flood_voice_latency_*`: end of speech → first reply packet heard, before the flood and during it;
 * - `flood_tokens_*`: tokens the model service billed during the window (the bot's usage records).
 *
 * The realtime simulator takes {@link THINKING_MS} before the first delta of every response (a real
 * model's time to first token; voice replies pay it too), then streams faster than real time. "Answered" means a reply in the simulator's answer convention (`Reply N.`).
 * Run alone with `node bin/run.mjs bench/flood.ts` (or `npm run bench -- flood`), under the CPU lock.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SimMessage } from '../sim/discord/index.ts';
import { utterance } from '../sim/speech.ts';
import { startLocalStack } from '../scripts/localStack.ts';
import type { BenchModule, Report } from './harness.ts';

const ACCOUNTS = 20;
const MENTIONS_EACH = 5;
/** How long after the first mention the outcome is counted. */
const WINDOW_MS = 90_000;
const BASELINE_TURNS = 4;
/** Model time to first delta, for text and voice alike. */
const THINKING_MS = 500;

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const round = (value: number) => Math.round(value);

async function run(report: Report): Promise<void> {
  const stack = await startLocalStack({ logLevel: 'warn', realtime: { replyAudioMs: 1_200, deltaMs: 100, burstFactor: 4, firstDeltaDelayMs: THINKING_MS } });
  try {
    const { discord } = stack;
    const speaker = discord.member('Alice');
    const listener = discord.member('Carol');
    const accounts = Array.from({ length: ACCOUNTS }, (_, i) => discord.addMember({ name: `Flooder${String(i + 1).padStart(2, '0')}` }));
    await Promise.all([speaker.joinVoice(), listener.joinVoice()]);
    await (await speaker.runCommand('join')).waitForContent(20_000);

    /** One voice turn: speak, wait for the reply to be heard and end; returns the heard latency. */
    let seed = 500;
    const voiceTurn = async (): Promise<number | null> => {
      const { endedAt } = await speaker.speak(utterance(1.0, seed++));
      try {
        const { firstAt } = await listener.waitForReplyEnd({ after: endedAt, timeoutMs: 30_000 });
        return firstAt - endedAt;
      } catch {
        return null; // no reply within 30 s
      }
    };
    const baseline: number[] = [];
    for (let turn = 0; turn < BASELINE_TURNS; turn++) {
      const latency = await voiceTurn();
      if (latency !== null) baseline.push(latency);
      await sleep(500);
    }

    const guildId = discord.guildId;
    const usageBefore = await stack.bot.context.store.getUsage(guildId);
    const typingBefore = discord.recorded.messages.filter((r) => r.method === 'POST' && r.path.endsWith('/typing')).length;
    // How the bot dealt with each mention (a "busy" refusal posts one notice per channel at a time, so
    // refused mentions may have no reply of their own).
    const handled: Record<string, number> = {};
    stack.bot.mentions.on('handled', ({ outcome }) => void (handled[outcome] = (handled[outcome] ?? 0) + 1));
    const floodStart = performance.now();
    const messages: SimMessage[] = [];
    const sending = accounts.map(async (account, a) => {
      await sleep(a * 50);
      for (let m = 0; m < MENTIONS_EACH; m++) {
        messages.push(await account.say(`question ${m + 1} from ${account.name}: what do you think about topic ${a * MENTIONS_EACH + m}?`, { mentionBot: true }));
        await sleep(1_000);
      }
    });

    // Voice keeps going during the flood.
    const during: number[] = [];
    let voiceFailures = 0;
    let maxWaiting = 0;
    const sampler = setInterval(() => {
      const waiting = messages.filter((message) => message.replies().length === 0).length;
      maxWaiting = Math.max(maxWaiting, waiting);
    }, 100);
    while (performance.now() - floodStart < WINDOW_MS - 10_000) {
      const latency = await voiceTurn();
      if (latency === null) voiceFailures++;
      else during.push(latency);
      await sleep(1_500);
    }
    await Promise.all(sending);
    const allReplied = () => messages.length === ACCOUNTS * MENTIONS_EACH && messages.every((message) => message.replies().length > 0);
    while (performance.now() - floodStart < WINDOW_MS && !allReplied()) await sleep(250);
    clearInterval(sampler);
    await sleep(1_500); // let the last edits land

    const outcome = (message: SimMessage): 'answered' | 'refused' | 'unanswered' => {
      const replies = message.replies();
      if (replies.length === 0) return 'unanswered';
      return /^Reply \d+\./.test(replies[0]!.content) ? 'answered' : 'refused';
    };
    const counts = { answered: 0, refused: 0, unanswered: 0 };
    for (const message of messages) counts[outcome(message)]++;
    const typing = discord.recorded.messages.filter((r) => r.method === 'POST' && r.path.endsWith('/typing')).length - typingBefore;
    const usage = await stack.bot.context.store.getUsage(guildId);
    const windowS = Math.round((performance.now() - floodStart) / 1000);
    const context = { mentions: messages.length, accounts: ACCOUNTS, window_s: windowS };
    report({ name: 'flood_answered', value: counts.answered, unit: 'count', ...context });
    report({ name: 'flood_refused', value: counts.refused, unit: 'count', ...context });
    report({ name: 'flood_unanswered', value: counts.unanswered, unit: 'count', ...context });
    report({ name: 'flood_outcomes', value: Object.values(handled).reduce((sum, n) => sum + n, 0), unit: 'count', ...handled });
    report({ name: 'flood_max_waiting', value: maxWaiting, unit: 'count', note: 'mentions without any reply yet, sampled every 100 ms' });
    report({ name: 'flood_typing_calls', value: typing, unit: 'count' });
    report({ name: 'flood_voice_latency_before_p50', value: round(percentile(baseline, 50)), unit: 'ms', turns: baseline.length });
    report({ name: 'flood_voice_latency_during_p50', value: round(percentile(during, 50)), unit: 'ms', turns: during.length, unanswered_turns: voiceFailures });
    report({ name: 'flood_voice_latency_during_max', value: round(Math.max(...during)), unit: 'ms' });
    report({ name: 'flood_tokens_input', value: usage.inputTextTokens + usage.inputAudioTokens - usageBefore.inputTextTokens - usageBefore.inputAudioTokens, unit: 'tokens' });
    report({ name: 'flood_tokens_output', value: usage.outputTextTokens + usage.outputAudioTokens - usageBefore.outputTextTokens - usageBefore.outputAudioTokens, unit: 'tokens' });
  } finally {
    await stack.close();
  }
}

/** The mention-flood benchmark module. */
export const floodBenchmarks: BenchModule = { name: 'flood', run };

// Allow `node bin/run.mjs bench/flood.ts` on its own.
if (import.meta.url === `file://${process.argv[1]}`) {
  const started = performance.now();
  await run((row) => console.log(JSON.stringify(row)));
  console.log(JSON.stringify({ name: 'flood_bench_duration', value: Math.round(performance.now() - started), unit: 'ms' }));
}
