/**
 * Conversation latency through the whole bot: the real bot on the local Discord and the realtime
 * simulator, a member speaking several turns and another listening. Reports what playback adds to a
 * reply (first audio delta → first packet sent; goal ≤ 60 ms, the best peer adds 500 ms) and the
 * turn latency a listener experiences (last speech packet sent → first reply packet heard), which
 * here excludes model thinking time (the simulator answers at once) but includes the end-of-turn
 * silence the server VAD waits for (silence_duration_ms, 500 ms by default).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { utterance } from '../sim/speech.ts';
import { startLocalStack } from '../scripts/localStack.ts';
import { addressingLatency } from './addressingLatency.ts';
import type { BenchModule, Report } from './harness.ts';

const TURNS = 8;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const round = (value: number) => Math.round(value * 10) / 10;

async function run(report: Report): Promise<void> {
  // Bursty deltas as the real service sends them: 100 ms of audio per delta, 4× faster than real time.
  const stack = await startLocalStack({ logLevel: 'warn', realtime: { replyAudioMs: 1_200, deltaMs: 100, burstFactor: 4 } });
  try {
    const { discord } = stack;
    const speaker = discord.member('Alice');
    const listener = discord.member('Carol');
    await Promise.all([speaker.joinVoice(), listener.joinVoice()]);
    await (await speaker.runCommand('join')).waitForContent(20_000);
    const session = stack.bot.context.sessions.voiceSession(discord.guildId)!;
    const added: number[] = [];
    session.on('replyStarted', ({ firstDeltaToPacketMs }) => added.push(firstDeltaToPacketMs));
    const heardLatency: number[] = [];
    for (let turn = 0; turn < TURNS; turn++) {
      const { endedAt } = await speaker.speak(utterance(1.0, 100 + turn));
      await listener.waitForAudio({ minMs: 1_000, timeoutMs: 20_000, after: endedAt });
      heardLatency.push(listener.firstPacketAfter(endedAt)!.arrivalMs - endedAt);
      await sleep(800); // let the reply finish before the next turn
    }
    const stats = session.playbackStats;
    report({ name: 'playback_added_delay_p50', value: round(percentile(added, 50)), unit: 'ms', goal: '<= 60', turns: added.length });
    report({ name: 'playback_added_delay_max', value: round(Math.max(...added)), unit: 'ms', goal: '<= 60', prebuffer_ms: stack.config.playbackPrebufferMs });
    report({ name: 'turn_latency_heard_p50', value: round(percentile(heardLatency, 50)), unit: 'ms', note: 'last speech packet sent → first reply packet heard; simulator answers instantly; includes 500 ms VAD end-of-turn silence' });
    report({ name: 'turn_latency_heard_p95', value: round(percentile(heardLatency, 95)), unit: 'ms' });
    report({ name: 'turn_latency_bot_p50', value: round(session.metrics.percentile(50) ?? Number.NaN), unit: 'ms', note: 'bot-side: last voiced frame received → first reply packet sent' });
    report({ name: 'playback_underruns', value: stats.underruns, unit: 'count', frames: stats.framesSent });
    report({ name: 'playback_late_frames', value: stats.framesLate, unit: 'count', frames: stats.framesSent, late_threshold_ms: 5 });
  } finally {
    await stack.close();
  }
  // Issue 14: what `name` mode adds to an addressed turn, with a 300 ms transcription delay.
  await addressingLatency(report);
}

/** The conversation latency benchmark module. */
export const voiceBenchmarks: BenchModule = { name: 'voice', run };

// Allow `node bin/run.mjs bench/voice.ts` on its own.
if (import.meta.url === `file://${process.argv[1]}`) {
  const started = performance.now();
  await run((row) => console.log(JSON.stringify(row)));
  console.log(JSON.stringify({ name: 'voice_bench_duration', value: Math.round(performance.now() - started), unit: 'ms' }));
}
