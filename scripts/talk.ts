/**
 * `npm run talk -- [--url URL] [--dialect ga|beta] [--model M] [--key K] IN.wav OUT.wav`
 *
 * Sends IN.wav (any PCM16 WAV, resampled to 24 kHz mono) as one spoken user turn, writes the spoken
 * reply to OUT.wav (24 kHz mono), and prints the reply's transcript, the time from the end of input to
 * the first audio delta, and the usage. Without --url and without a key (--key, REALTIME_API_KEY or
 * OPENAI_API_KEY) it talks to the in-process local simulator. Failures print one line and exit 1.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { readWavFile, writeWavFile, pcmBufferToSamples, samplesToPcmBuffer, WavFormatError } from '../src/audio/wav.ts';
import { REALTIME_SAMPLE_RATE, realtimeMsToBytes } from '../src/audio/format.ts';
import { PROVIDER_PRESETS, RealtimeClient, RealtimeError, estimateCost, type Dialect } from '../src/realtime/index.ts';
import { startRealtimeSimulator, type RealtimeSimulator } from '../sim/realtime/index.ts';
import { silentLogger } from '../src/log.ts';

/** A one-line failure for the user. */
class UsageError extends Error {}

/**
 * Interleaved PCM16 at any rate → 24 kHz mono: downmix, then a windowed-sinc (Blackman, 16 zero
 * crossings) low-pass at 0.45 of the lower rate. Generic on purpose (any input rate); the bot's
 * streaming path uses src/audio/resampler.ts instead.
 */
export function toRealtimeMono(samples: Int16Array, channels: number, rate: number): Int16Array {
  const frames = Math.floor(samples.length / channels);
  const mono = new Float64Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += samples[i * channels + c]!;
    mono[i] = sum / channels;
  }
  if (rate === REALTIME_SAMPLE_RATE) return Int16Array.from(mono, (v) => Math.round(v));
  const ratio = REALTIME_SAMPLE_RATE / rate;
  const cutoff = 0.45 * Math.min(1, ratio); // in cycles per input sample
  const half = Math.ceil(16 / (2 * cutoff)); // 16 zero crossings each side
  const out = new Int16Array(Math.floor(frames * ratio));
  for (let j = 0; j < out.length; j++) {
    const center = j / ratio;
    const first = Math.max(0, Math.ceil(center - half));
    const last = Math.min(frames - 1, Math.floor(center + half));
    let acc = 0;
    let norm = 0;
    for (let i = first; i <= last; i++) {
      const x = i - center;
      const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
      const w = 0.42 + 0.5 * Math.cos((Math.PI * x) / half) + 0.08 * Math.cos((2 * Math.PI * x) / half);
      acc += mono[i]! * sinc * w;
      norm += sinc * w;
    }
    out[j] = Math.max(-32768, Math.min(32767, Math.round(norm === 0 ? 0 : acc / norm)));
  }
  return out;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { url: { type: 'string' }, dialect: { type: 'string' }, model: { type: 'string' }, key: { type: 'string' } },
  });
  if (positionals.length !== 2) throw new UsageError('usage: npm run talk -- [--url URL] [--dialect ga|beta] [--model M] [--key K] IN.wav OUT.wav');
  const [inPath, outPath] = positionals as [string, string];
  if (values.dialect !== undefined && values.dialect !== 'ga' && values.dialect !== 'beta') throw new UsageError('--dialect must be "ga" or "beta"');
  const key = values.key ?? process.env.REALTIME_API_KEY ?? process.env.OPENAI_API_KEY;

  let sim: RealtimeSimulator | null = null;
  let url = values.url;
  let apiKey = key ?? '';
  let dialect: Dialect = (values.dialect as Dialect | undefined) ?? 'ga';
  let model = values.model ?? 'gpt-realtime';
  if (!url && !key) {
    sim = await startRealtimeSimulator({ replyAudioMs: 2000 });
    url = sim.url;
    apiKey = sim.apiKey;
    console.log(`(no --url and no API key: using the local simulator at ${sim.url})`);
  } else if (!url) {
    const preset = PROVIDER_PRESETS.openai;
    url = preset.url;
    dialect = (values.dialect as Dialect | undefined) ?? preset.dialect;
    model = values.model ?? preset.model;
  }

  const wav = await readWavFile(inPath).catch((err: unknown) => {
    if (err instanceof WavFormatError) throw new UsageError(`${inPath}: ${err.message}`);
    throw new UsageError(`cannot read ${inPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  });
  let pcm = samplesToPcmBuffer(toRealtimeMono(wav.samples, wav.channels, wav.sampleRate));
  const minBytes = realtimeMsToBytes(200); // the service needs ≥ 100 ms to commit
  if (pcm.length < minBytes) pcm = Buffer.concat([pcm, Buffer.alloc(minBytes - pcm.length)]);

  // The client adds ?model= when the URL names none (the bot's one URL builder, realtimeUrl).
  const client = new RealtimeClient({
    url,
    model,
    dialect,
    apiKey,
    logger: silentLogger,
    session: {
      instructions: 'You are a helpful voice assistant. Answer briefly.',
      voice: dialect === 'ga' ? 'marin' : 'alloy',
      outputModalities: ['audio'],
      inputTranscription: null,
      turnDetection: { type: 'manual' },
    },
    reconnect: { maxAttempts: 0 },
    rotateAfterMs: 0,
  });
  client.on('error', (err) => console.error(`warning: ${err.message}`));
  try {
    await client.connect();
    client.appendAudio(pcm);
    client.commitAudio();
    const endOfInput = performance.now();
    const handle = client.createResponse({ modalities: ['audio'] });
    let firstAudioMs: number | null = null;
    const chunks: Buffer[] = [];
    handle.on('audio', (chunk) => {
      firstAudioMs ??= performance.now() - endOfInput;
      chunks.push(chunk);
    });
    const result = await handle.done;
    if (result.status !== 'completed') throw new UsageError(`the response ended as ${result.status}${result.reason ? ` (${result.reason})` : ''}`);
    await writeWavFile(outPath, { sampleRate: REALTIME_SAMPLE_RATE, channels: 1, samples: pcmBufferToSamples(Buffer.concat(chunks)) });
    console.log(`reply: ${result.transcript || result.text}`);
    console.log(`first audio: ${firstAudioMs === null ? 'none' : `${(firstAudioMs as number).toFixed(1)} ms after end of input`}; audio: ${(result.audioMs / 1000).toFixed(2)} s → ${outPath}`);
    const u = result.usage;
    if (u) {
      console.log(
        `usage: input text ${u.inputTextTokens} (cached ${u.cachedTextTokens}), input audio ${u.inputAudioTokens} (cached ${u.cachedAudioTokens}), ` +
          `output text ${u.outputTextTokens}, output audio ${u.outputAudioTokens}; ≈ $${estimateCost(u, model).toFixed(5)} (${model})`,
      );
    }
    return 0;
  } finally {
    await client.close();
    await sim?.close();
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  const message = err instanceof UsageError || err instanceof RealtimeError ? err.message : `unexpected failure: ${(err as Error)?.message ?? String(err)}`;
  console.error(`error: ${message.split('\n')[0]}`);
  process.exitCode = 1;
}
