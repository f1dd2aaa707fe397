/**
 * Realtime client benchmarks against the in-process simulator (no model latency: the simulator
 * answers at once, so these figures are the overhead of our client + socket + simulator):
 * - connect: handshake to a configured session;
 * - end of input → first audio delta, manual turns (commit + response.create);
 * - end of speech → first audio delta through server VAD (the bot's path: input_committed → response).
 */
import { performance } from 'node:perf_hooks';
import { RealtimeClient, type SessionConfig } from '../src/realtime/index.ts';
import { startRealtimeSimulator } from '../sim/realtime/index.ts';
import { silentLogger } from '../src/log.ts';

type Row = { name: string; value: number; unit: string; [extra: string]: unknown };

const TURNS = 30;

function tone(ms: number): Buffer {
  const out = Buffer.alloc(ms * 48);
  for (let i = 0; i < ms * 24; i++) out.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / 24000) * 9000), i * 2);
  return out;
}

function stats(values: number[]): { median: number; p95: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: Math.round(at(0.5) * 100) / 100, p95: Math.round(at(0.95) * 100) / 100 };
}

/** Runs the realtime benchmarks and reports rows. */
export async function run(report: (row: Row) => void): Promise<void> {
  const sim = await startRealtimeSimulator({ replyAudioMs: 400, burstFactor: 50 });
  const session = (turnDetection: SessionConfig['turnDetection']): SessionConfig => ({
    instructions: 'bench',
    voice: 'marin',
    outputModalities: ['audio'],
    inputTranscription: null,
    turnDetection,
  });
  try {
    // Connect.
    const connects: number[] = [];
    for (let i = 0; i < 10; i++) {
      const client = new RealtimeClient({ url: sim.url, model: 'gpt-realtime', dialect: 'ga', apiKey: sim.apiKey, session: session({ type: 'manual' }), logger: silentLogger });
      const t0 = performance.now();
      await client.connect();
      connects.push(performance.now() - t0);
      await client.close();
    }
    const c = stats(connects.slice(2));
    report({ name: 'realtime_connect_median', value: c.median, unit: 'ms', p95: c.p95 });

    // Manual turns: end of input → first audio delta.
    const manual = new RealtimeClient({ url: sim.url, model: 'gpt-realtime', dialect: 'ga', apiKey: sim.apiKey, session: session({ type: 'manual' }), logger: silentLogger });
    await manual.connect();
    const speech = tone(1000);
    const manualTimes: number[] = [];
    for (let i = 0; i < TURNS + 3; i++) {
      manual.appendAudio(speech);
      manual.commitAudio();
      const t0 = performance.now();
      const handle = manual.createResponse();
      const first = new Promise<number>((resolve) => handle.once('audio', () => resolve(performance.now() - t0)));
      const elapsed = await first;
      await handle.done;
      if (i >= 3) manualTimes.push(elapsed); // first turns warm the JIT
    }
    await manual.close();
    const m = stats(manualTimes);
    report({ name: 'realtime_end_of_input_to_first_audio_median', value: m.median, unit: 'ms', p95: m.p95, turns: TURNS, path: 'manual commit + response.create, local simulator' });

    // Server VAD (the bot's path): the chunk that completes the silence → first audio delta.
    const vad = new RealtimeClient({
      url: sim.url,
      model: 'gpt-realtime',
      dialect: 'ga',
      apiKey: sim.apiKey,
      logger: silentLogger,
      session: session({ type: 'server_vad', createResponse: false, interruptResponse: false, silenceDurationMs: 200 }),
    });
    let handleFirst: ((ms: number) => void) | null = null;
    let t0 = 0;
    vad.on('input_committed', () => {
      vad.addContextNote('[speaker: Bench]');
      const handle = vad.createResponse();
      handle.once('audio', () => handleFirst?.(performance.now() - t0));
    });
    await vad.connect();
    const vadTimes: number[] = [];
    const silence20 = Buffer.alloc(20 * 48);
    for (let i = 0; i < TURNS + 3; i++) {
      const first = new Promise<number>((resolve) => (handleFirst = resolve));
      vad.appendAudio(speech, ['Bench']);
      for (let k = 0; k < 9; k++) vad.appendAudio(silence20);
      t0 = performance.now();
      vad.appendAudio(silence20); // 200 ms of silence reached: the VAD ends the turn
      const elapsed = await first;
      await new Promise<void>((resolve) => vad.once('response_done', () => resolve()));
      if (i >= 3) vadTimes.push(elapsed);
    }
    await vad.close();
    const v = stats(vadTimes);
    report({ name: 'realtime_end_of_speech_to_first_audio_median', value: v.median, unit: 'ms', p95: v.p95, turns: TURNS, path: 'server VAD → input_committed → note + response.create, local simulator' });
  } finally {
    await sim.close();
  }
}

/** The module for bench/index.ts (`{ name, run }`). */
export const realtimeBenchmarks = { name: 'realtime', run };

if (process.argv[1]?.endsWith('bench/realtime.ts')) await run((row) => console.log(JSON.stringify(row)));
