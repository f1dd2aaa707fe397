/**
 * `npm run talk -- [options] IN.wav OUT.wav` — check your model endpoint and key with one spoken turn.
 *
 * Sends IN.wav (any PCM16 WAV, resampled to 24 kHz mono) as one spoken user turn, writes the spoken
 * reply to OUT.wav (24 kHz mono), and prints the reply's transcript, the time from the end of input to
 * the first audio delta, and the usage. It connects exactly as the bot would: the same variables
 * (REALTIME_PROVIDER, REALTIME_URL, REALTIME_MODEL, REALTIME_DIALECT, REALTIME_API_KEY / OPENAI_API_KEY,
 * REALTIME_VOICE) from the environment and `.env` (npm reads it), resolved by the bot's own
 * configuration code; flags override them. With no key and no URL anywhere (or with --local) it talks
 * to the in-process local simulator. Every failure prints one line and exits non-zero.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { readWavFile, writeWavFile, pcmBufferToSamples, samplesToPcmBuffer, WavFormatError } from '../src/audio/wav.ts';
import { REALTIME_SAMPLE_RATE, realtimeMsToBytes } from '../src/audio/format.ts';
import { convertPcm } from '../src/audio/convert.ts';
import { ConfigError, loadConfig, type VoiceName } from '../src/config.ts';
import { RealtimeClient, RealtimeError } from '../src/realtime/index.ts';
import { hostOf } from '../src/realtime/errors.ts';
import { startRealtimeSimulator, type RealtimeSimulator } from '../sim/realtime/index.ts';
import { silentLogger } from '../src/log.ts';

/** A one-line failure for the user. */
class UsageError extends Error {}


const USAGE =
  'usage: npm run talk -- [--provider openai|cometapi|custom] [--url URL] [--model M] [--dialect ga|beta] [--key K] [--voice V] [--local] [--timeout SECONDS] IN.wav OUT.wav';

/** The variables of the bot's configuration that choose and reach the model (the rest is not talk's business). */
const MODEL_VARIABLES = ['REALTIME_PROVIDER', 'REALTIME_URL', 'REALTIME_MODEL', 'REALTIME_DIALECT', 'REALTIME_API_KEY', 'OPENAI_API_KEY', 'REALTIME_VOICE'] as const;

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        provider: { type: 'string' },
        url: { type: 'string' },
        model: { type: 'string' },
        dialect: { type: 'string' },
        key: { type: 'string' },
        voice: { type: 'string' },
        local: { type: 'boolean', default: false },
        timeout: { type: 'string', default: '60' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    // parseArgs explains unknown options and missing values in its first sentence.
    throw new UsageError(`${(err as Error).message.split('\n')[0]} (${USAGE})`);
  }
}

/** Fails unless `path`'s folder exists and is a folder, before anything is sent. */
function checkOutputFolder(path: string): void {
  const folder = dirname(resolve(path));
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    throw new UsageError(`the output folder ${folder} does not exist: create it first (mkdir -p ${folder})`);
  }
  if (!isFolder) throw new UsageError(`${folder} is not a folder, so ${path} cannot be written there`);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError(positionals.length < 2 ? `IN.wav and OUT.wav are needed (${USAGE})` : `too many arguments: ${positionals.slice(2).join(' ')} (${USAGE})`);
  const [inPath, outPath] = positionals as [string, string];
  const timeoutS = Number(values.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new UsageError(`--timeout must be a number of seconds above 0 (got "${values.timeout}")`);
  checkOutputFolder(outPath);

  // The bot's model settings from the environment (npm has read .env into it), then the flags on top.
  const settings: Record<string, string | undefined> = Object.fromEntries(MODEL_VARIABLES.map((name) => [name, process.env[name]]));
  const flags: Record<string, string | undefined> = {
    REALTIME_PROVIDER: values.provider,
    REALTIME_URL: values.url,
    REALTIME_MODEL: values.model,
    REALTIME_DIALECT: values.dialect,
    REALTIME_API_KEY: values.key,
    REALTIME_VOICE: values.voice,
  };
  for (const [name, value] of Object.entries(flags)) if (value !== undefined) settings[name] = value;
  // A provider given on the command line means its own URL, not one left in the environment.
  if (values.provider !== undefined && values.url === undefined && values.provider !== 'custom') delete settings.REALTIME_URL;
  const blank = (value: string | undefined) => value === undefined || value.trim() === '';
  const local = values.local || (blank(settings.REALTIME_API_KEY) && blank(settings.OPENAI_API_KEY) && blank(settings.REALTIME_URL));

  const wav = await readWavFile(inPath).catch((err: unknown) => {
    if (err instanceof WavFormatError) throw new UsageError(`${inPath}: ${err.message}`);
    throw new UsageError(`cannot read ${inPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  });

  let sim: RealtimeSimulator | null = null;
  let client: RealtimeClient | null = null;
  try {
    if (local) {
      sim = await startRealtimeSimulator({ replyAudioMs: 2000 });
      Object.assign(settings, { REALTIME_PROVIDER: 'custom', REALTIME_URL: sim.url, REALTIME_API_KEY: sim.apiKey, OPENAI_API_KEY: undefined });
      console.log(`(no API key and no URL configured${values.local ? ', --local' : ''}: using the local simulator at ${sim.url})`);
    }
    let config;
    try {
      config = loadConfig(settings, { requireRealtimeKey: true });
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(`${err.problems.join('; ')} (from the environment, .env and the flags)`);
      throw err;
    }
    const { url, model, dialect, apiKey, voice } = config.realtime;
    if (!local) console.log(`(talking to ${hostOf(url)}, model ${model}, dialect ${dialect}, voice ${voice})`);
    return await talkOnce({ url, model, dialect, apiKey: apiKey ?? '', voice, wav, outPath, timeoutMs: timeoutS * 1000, onClient: (c) => (client = c) });
  } finally {
    await (client as RealtimeClient | null)?.close();
    await sim?.close();
  }
}

/** One spoken turn: connect, send the audio, wait for the whole reply (bounded), write it, print figures. */
async function talkOnce(options: {
  url: string;
  model: string;
  dialect: 'ga' | 'beta';
  apiKey: string;
  voice: string;
  wav: Awaited<ReturnType<typeof readWavFile>>;
  outPath: string;
  timeoutMs: number;
  onClient(client: RealtimeClient): void;
}): Promise<number> {
  const { url, model, dialect, apiKey, wav, outPath } = options;
  let pcm = samplesToPcmBuffer(convertPcm(wav.samples, wav.channels, wav.sampleRate, REALTIME_SAMPLE_RATE, 1));
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
      voice: options.voice as VoiceName,
      outputModalities: ['audio'],
      inputTranscription: null,
      turnDetection: { type: 'manual' },
    },
    reconnect: { maxAttempts: 0 },
    rotateAfterMs: 0,
  });
  options.onClient(client);
  client.on('error', (err) => console.error(`warning: ${err.message}`));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UsageError(`no complete reply within ${options.timeoutMs / 1000} s (--timeout)`)), options.timeoutMs);
  });
  try {
    return await Promise.race([turn(client, pcm, outPath), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function turn(client: RealtimeClient, pcm: Buffer, outPath: string): Promise<number> {
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
        `output text ${u.outputTextTokens}, output audio ${u.outputAudioTokens}; ≈ $${result.costUsd.toFixed(5)} (${client.model}; priced by the client)`,
    );
  }
  return 0;
}

let code: number;
try {
  code = await main(process.argv.slice(2));
} catch (err) {
  const message = err instanceof UsageError || err instanceof RealtimeError ? err.message : `unexpected failure: ${(err as Error)?.message ?? String(err)}`;
  console.error(`error: ${message.split('\n')[0]}`);
  code = 1;
}
// Everything is closed by now; exiting explicitly means no leftover timer or socket can keep a
// one-shot tool waiting.
process.exit(code);
