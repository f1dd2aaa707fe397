/**
 * Tool benchmarks (`npm run bench -- tools`):
 * - our own overhead on a fast function tool: from `response.function_call_arguments.done` parsed by
 *   the client to the `function_call_output` handed to the socket (arguments parsed and checked
 *   against the schema, context built, tool run, result serialised, sent), against a reference in the
 *   same process that only parses the arguments and sends a fixed result (the floor of any client);
 * - a slow tool in a voice channel, with the real bot on the local Discord and simulator: from the
 *   call to the first packet of filler audio (spoken filler: the model is asked out of band; cue:
 *   played locally), and the configured delay before it.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { startLocalStack } from '../scripts/localStack.ts';
import { utterance } from '../sim/speech.ts';
import { startRealtimeSimulator } from '../sim/realtime/index.ts';
import { silentLogger } from '../src/log.ts';
import { RealtimeClient, type FunctionCall } from '../src/realtime/index.ts';
import { ToolActivity } from '../src/tools/activity.ts';
import { ToolRegistry } from '../src/tools/registry.ts';
import { ToolRunner } from '../src/tools/toolRunner.ts';
import { defineTool, done, type ToolContext } from '../src/tools/types.ts';
import { slowLookupTool } from '../test/helpers/tools.ts';
import type { BenchModule, Report } from './harness.ts';

const CALLS = 200;

function stats(values: number[]): { median: number; p95: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: Math.round(at(0.5) * 1000) / 1000, p95: Math.round(at(0.95) * 1000) / 1000 };
}

const lookup = defineTool({
  name: 'fast_lookup',
  description: 'Looks a word up in a small table',
  parameters: z.object({ word: z.string().min(1).max(100), limit: z.number().int().min(1).max(10).optional() }).strict(),
  changes: false,
  async execute({ word }) {
    return done({ word, meaning: `the meaning of ${word}` });
  },
});

/** Overhead of a fast tool through the ToolRunner, and the reference path, on one text session. */
async function fastToolOverhead(report: Report): Promise<void> {
  const sim = await startRealtimeSimulator({ replyAudioMs: 200, burstFactor: 50 });
  const registry = new ToolRegistry([lookup]);
  const client = new RealtimeClient({
    url: sim.url,
    model: 'gpt-realtime',
    dialect: 'ga',
    apiKey: sim.apiKey,
    logger: silentLogger,
    session: { instructions: 'bench', voice: 'marin', outputModalities: ['text'], inputTranscription: null, turnDetection: { type: 'manual' }, tools: registry.specs(new Set()) },
  });
  await client.connect();
  // Everything a real context has that a tool reads; no Discord is involved in this figure.
  const context = { guild: { id: 'bench' } } as unknown as ToolContext;
  let calledAt = 0;
  let sentAt = 0;
  const send = client.sendFunctionOutput.bind(client);
  client.sendFunctionOutput = (callId: string, output: string) => {
    const sent = send(callId, output);
    sentAt = performance.now();
    return sent;
  };
  client.on('function_call', () => (calledAt = performance.now()));
  const measureRound = async (prompt: string, answer: () => void): Promise<number> => {
    client.addUserText(prompt);
    const handle = client.createResponse({ modalities: ['text'] });
    const call = new Promise<FunctionCall>((resolve) => client.once('function_call', resolve));
    answer();
    await call;
    await handle.done;
    // Wait for the output to be sent (the runner's path is asynchronous), then the follow-up.
    while (sentAt < calledAt) await sleep(0);
    const elapsed = sentAt - calledAt;
    await client.createResponse({ modalities: ['text'] }).done.catch(() => undefined);
    return elapsed;
  };

  // Reference: parse the arguments and send a fixed result, nothing else.
  const reference: number[] = [];
  const onCall = (call: FunctionCall) => {
    JSON.parse(call.arguments);
    client.sendFunctionOutput(call.callId, '{"ok":true}');
  };
  client.on('function_call', onCall);
  for (let i = 0; i < CALLS + 20; i++) {
    const ms = await measureRound(`⟦call fast_lookup {"word": "w${i}", "limit": 3}⟧`, () => undefined);
    if (i >= 20) reference.push(ms);
  }
  client.off('function_call', onCall);

  // The bot's path: the ToolRunner (its follow-up replaces the manual one above).
  const runner = new ToolRunner({
    client,
    logger: silentLogger,
    activity: new ToolActivity(),
    tool: (name) => registry.get(name),
    enabled: () => true,
    timeoutMs: 15_000,
    context: async () => context,
    mayApprove: async () => ({ approve: false }),
  });
  const measured: number[] = [];
  for (let i = 0; i < CALLS + 20; i++) {
    client.addUserText(`⟦call fast_lookup {"word": "w${i}", "limit": 3}⟧`);
    const handle = client.createResponse({ modalities: ['text'] });
    runner.register(handle, { guild: context.guild, userIds: ['u'], via: 'text', channelId: 'c' });
    await handle.done;
    const next = await runner.continuationOf(handle);
    await next?.done;
    if (i >= 20) measured.push(sentAt - calledAt);
  }
  runner.close();
  await client.close();
  await sim.close();
  const ours = stats(measured);
  const floor = stats(reference);
  report({
    name: 'tools_fast_call_overhead_median',
    value: ours.median,
    unit: 'ms',
    p95: ours.p95,
    reference_median: floor.median,
    ratio: Math.round((ours.median / Math.max(floor.median, 0.001)) * 10) / 10,
    calls: CALLS,
    goal: '< 5 ms',
    path: 'function_call_arguments.done parsed → JSON + zod check → context → tool → JSON result → function_call_output sent',
  });
}

const slow = slowLookupTool();

/** The real bot in voice: call → first packet of filler audio, spoken and cue. */
async function fillerLatency(report: Report): Promise<void> {
  for (const mode of ['speech', 'cue'] as const) {
    const stack = await startLocalStack({ logLevel: 'warn', env: { TOOL_FILLER: mode, ALONE_TIMEOUT_SECONDS: '60' }, extraTools: [slow], realtime: { replyAudioMs: 600 } });
    try {
      const { discord } = stack;
      const alice = discord.member('Alice');
      await Promise.all([alice.joinVoice(), discord.member('Carol').joinVoice()]);
      const record = await alice.runCommand('join');
      await record.waitForContent(20_000);
      while (stack.bot.context.sessions.voiceSession(discord.guildId)?.status !== 'ready') await sleep(20);
      const session = stack.bot.context.sessions.voiceSession(discord.guildId)!;
      const delays: number[] = [];
      const afterCall: number[] = [];
      for (let i = 0; i < 6; i++) {
        while (session.turnState.status !== 'idle') await sleep(20);
        const filler = new Promise<{ calledAt: number; at: number }>((resolve) => session.once('filler', resolve));
        stack.realtime!.scriptTranscript('⟦call slow_lookup {"ms": 1500}⟧');
        await alice.speak(utterance(0.8, i + 1));
        const { calledAt, at } = await filler;
        const firstPacket = await new Promise<number>((resolve) => session.once('replyStarted', () => resolve(performance.now())));
        delays.push(at - calledAt);
        afterCall.push(firstPacket - calledAt);
        while (session.turnState.status !== 'idle') await sleep(20);
      }
      const heard = stats(afterCall.slice(1));
      report({
        name: `tools_slow_call_to_first_filler_audio_${mode}_median`,
        value: Math.round(heard.median),
        unit: 'ms',
        p95: Math.round(heard.p95),
        filler_delay_median: Math.round(stats(delays.slice(1)).median),
        filler_after_ms: stack.config.tools.fillerAfterMs,
        turns: afterCall.length - 1,
        path: mode === 'speech' ? 'call → 700 ms → out-of-band audio response (local simulator, no model latency) → first packet sent' : 'call → 700 ms → local cue → first packet sent',
      });
    } finally {
      await stack.close();
    }
  }
}

/** The module for bench/index.ts. */
export const toolsBenchmarks: BenchModule = {
  name: 'tools',
  async run(report) {
    await fastToolOverhead(report);
    await fillerLatency(report);
  },
};

if (process.argv[1]?.endsWith('bench/tools.ts')) await toolsBenchmarks.run((row) => console.log(JSON.stringify(row)));
