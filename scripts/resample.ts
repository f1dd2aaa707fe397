/**
 * `npm run resample -- --to 24000 IN.wav OUT.wav` (48 kHz stereo → 24 kHz mono, as the bot hears)
 * `npm run resample -- --to 48000 IN.wav OUT.wav` (24 kHz mono → 48 kHz stereo, as the bot speaks)
 *
 * Runs the bot's own streaming resampler over a PCM16 WAV in 20 ms frames. Output has exactly half
 * (or twice) the input's samples per channel; the filter's group delay (< 1 ms) is kept, as in the bot.
 * Any problem is one line on stderr and a non-zero exit code, never a stack trace.
 */
import { readFile } from 'node:fs/promises';
import { DISCORD_FRAME_SAMPLES, DISCORD_SAMPLE_RATE, REALTIME_FRAME_SAMPLES, REALTIME_SAMPLE_RATE } from '../src/audio/format.ts';
import { Downsampler, Upsampler } from '../src/audio/resampler.ts';
import { parseWav, WavFormatError, writeWavFile, type PcmWav } from '../src/audio/wav.ts';

const USAGE = 'usage: npm run resample -- --to 24000|48000 IN.wav OUT.wav';

/** A problem worth one line to the user; `exitCode` 2 for bad arguments, 1 for everything else. */
class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

function parseArgs(argv: string[]): { to: 24000 | 48000; input: string; output: string } {
  let to: string | undefined;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--to') {
      to = argv[++i];
      if (to === undefined) throw new CliError(`--to needs a value. ${USAGE}`, 2);
    } else if (arg.startsWith('--to=')) to = arg.slice('--to='.length);
    else if (arg === '-h' || arg === '--help') throw new CliError(USAGE, 2);
    else if (arg.startsWith('-') && arg !== '-') throw new CliError(`unknown option ${arg}. ${USAGE}`, 2);
    else files.push(arg);
  }
  if (to === undefined) throw new CliError(`missing --to. ${USAGE}`, 2);
  if (to !== '24000' && to !== '48000') throw new CliError(`--to must be 24000 or 48000, not ${JSON.stringify(to)}. ${USAGE}`, 2);
  if (files.length !== 2) throw new CliError(`expected IN.wav and OUT.wav, got ${files.length} file argument(s). ${USAGE}`, 2);
  return { to: to === '24000' ? 24000 : 48000, input: files[0]!, output: files[1]! };
}

/** Feeds `samples` through `process` in `frameLength`-sample pieces and joins the results. */
function streamFrames(samples: Int16Array, frameLength: number, process: (frame: Int16Array) => Int16Array, ratio: number): Int16Array {
  const out = new Int16Array(Math.round(samples.length * ratio));
  let written = 0;
  for (let offset = 0; offset < samples.length; offset += frameLength) {
    const result = process(samples.subarray(offset, offset + frameLength));
    out.set(result, written);
    written += result.length;
  }
  return out;
}

function convert(wav: PcmWav, to: 24000 | 48000): PcmWav {
  const describe = `${wav.sampleRate} Hz ${wav.channels === 1 ? 'mono' : wav.channels === 2 ? 'stereo' : `${wav.channels}-channel`}`;
  if (to === REALTIME_SAMPLE_RATE) {
    if (wav.sampleRate !== DISCORD_SAMPLE_RATE || wav.channels !== 2) {
      throw new CliError(`--to 24000 needs a 48000 Hz stereo WAV; the input is ${describe}`);
    }
    const down = new Downsampler();
    return { sampleRate: REALTIME_SAMPLE_RATE, channels: 1, samples: streamFrames(wav.samples, DISCORD_FRAME_SAMPLES * 2, (f) => down.process(f), 1 / 4) };
  }
  if (wav.sampleRate !== REALTIME_SAMPLE_RATE || wav.channels !== 1) {
    throw new CliError(`--to 48000 needs a 24000 Hz mono WAV; the input is ${describe}`);
  }
  const up = new Upsampler();
  return { sampleRate: DISCORD_SAMPLE_RATE, channels: 2, samples: streamFrames(wav.samples, REALTIME_FRAME_SAMPLES, (f) => up.process(f), 4) };
}

function describeFsError(error: unknown, path: string, verb: string): CliError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
  return new CliError(`cannot ${verb} ${path}: ${reason}`);
}

async function main(argv: string[]): Promise<void> {
  const { to, input, output } = parseArgs(argv);
  let bytes: Buffer;
  try {
    bytes = await readFile(input);
  } catch (error) {
    throw describeFsError(error, input, 'read');
  }
  let wav: PcmWav;
  try {
    wav = parseWav(bytes);
  } catch (error) {
    if (error instanceof WavFormatError) throw new CliError(`${input}: ${error.message}`);
    throw error;
  }
  const converted = convert(wav, to);
  try {
    await writeWavFile(output, converted);
  } catch (error) {
    throw describeFsError(error, output, 'write');
  }
  const seconds = converted.samples.length / converted.channels / converted.sampleRate;
  console.log(`wrote ${output}: ${converted.sampleRate} Hz ${converted.channels === 1 ? 'mono' : 'stereo'}, ${seconds.toFixed(3)} s`);
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`resample: error: ${message.split('\n')[0]}`);
  process.exitCode = error instanceof CliError ? error.exitCode : 1;
}
