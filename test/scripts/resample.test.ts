import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeWav, readWavFile } from '../../src/audio/wav.ts';
import { channel, sine, toneAmplitude } from '../helpers/signal.ts';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'resample-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function resample(...args: string[]) {
  const result = spawnSync(process.execPath, [join(root, 'bin/run.mjs'), join(root, 'scripts/resample.ts'), ...args], { encoding: 'utf8', cwd: root });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function writeWav(name: string, sampleRate: number, channels: number, samples: Int16Array): string {
  const path = join(dir, name);
  writeFileSync(path, encodeWav({ sampleRate, channels, samples }));
  return path;
}

/** Asserts a clean failure: non-zero exit, exactly one stderr line matching `pattern`, no stack trace. */
function assertCleanFailure(result: ReturnType<typeof resample>, pattern: RegExp) {
  assert.notEqual(result.status, 0);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected, got:\n${result.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at |Error:/);
}

describe('npm run resample', () => {
  it('converts 48 kHz stereo to 24 kHz mono with the bot\'s resampler', async () => {
    const input = writeWav('in48.wav', 48_000, 2, sine({ hz: 1000, rate: 48_000, length: 48_000, amplitude: 10_000, channels: 2 }));
    const output = join(dir, 'out24.wav');
    const result = resample('--to', '24000', input, output);
    assert.equal(result.status, 0, result.stderr);
    const wav = await readWavFile(output);
    assert.equal(wav.sampleRate, 24_000);
    assert.equal(wav.channels, 1);
    assert.equal(wav.samples.length, 24_000);
    const level = toneAmplitude(wav.samples.subarray(21_600), 1000, 24_000);
    assert.ok(Math.abs(level - 10_000) < 20, `1 kHz level ${level}`);
  });

  it('converts 24 kHz mono to 48 kHz stereo', async () => {
    const input = writeWav('in24.wav', 24_000, 1, sine({ hz: 2000, rate: 24_000, length: 12_000, amplitude: 8000 }));
    const output = join(dir, 'out48.wav');
    const result = resample('--to=48000', input, output);
    assert.equal(result.status, 0, result.stderr);
    const wav = await readWavFile(output);
    assert.equal(wav.sampleRate, 48_000);
    assert.equal(wav.channels, 2);
    assert.equal(wav.samples.length, 12_000 * 2 * 2);
    const left = channel(wav.samples, 2, 0).subarray(19_200);
    assert.ok(Math.abs(toneAmplitude(left, 2000, 48_000) - 8000) < 20);
  });

  it('refuses a WAV of the wrong rate or channels for the direction', () => {
    const mono48 = writeWav('mono48.wav', 48_000, 1, new Int16Array(4800));
    assertCleanFailure(resample('--to', '24000', mono48, join(dir, 'x.wav')), /needs a 48000 Hz stereo WAV; the input is 48000 Hz mono/);
    const stereo24 = writeWav('stereo24.wav', 24_000, 2, new Int16Array(4800));
    assertCleanFailure(resample('--to', '48000', stereo24, join(dir, 'x.wav')), /needs a 24000 Hz mono WAV; the input is 24000 Hz stereo/);
  });

  it('refuses non-PCM16, damaged and missing files', () => {
    const float = encodeWav({ sampleRate: 48_000, channels: 2, samples: new Int16Array(100) });
    float.writeUInt16LE(3, 20); // format tag 3: IEEE float
    const floatPath = join(dir, 'float.wav');
    writeFileSync(floatPath, float);
    assertCleanFailure(resample('--to', '24000', floatPath, join(dir, 'x.wav')), /only 16-bit PCM/);
    const junk = join(dir, 'junk.wav');
    writeFileSync(junk, 'this is not audio');
    assertCleanFailure(resample('--to', '24000', junk, join(dir, 'x.wav')), /not a WAV file/);
    const truncated = join(dir, 'truncated.wav');
    writeFileSync(truncated, encodeWav({ sampleRate: 48_000, channels: 2, samples: new Int16Array(100) }).subarray(0, 30));
    assertCleanFailure(resample('--to', '24000', truncated, join(dir, 'x.wav')), /damaged WAV/);
    assertCleanFailure(resample('--to', '24000', join(dir, 'missing.wav'), join(dir, 'x.wav')), /cannot read .*missing\.wav: no such file/);
  });

  it('refuses bad arguments with a usage hint', () => {
    const input = writeWav('args.wav', 48_000, 2, new Int16Array(960 * 2));
    assertCleanFailure(resample(input, join(dir, 'x.wav')), /missing --to/);
    assertCleanFailure(resample('--to', '44100', input, join(dir, 'x.wav')), /--to must be 24000 or 48000/);
    assertCleanFailure(resample('--to', '24000', input), /expected IN\.wav and OUT\.wav/);
    assertCleanFailure(resample('--to'), /--to needs a value/);
    assertCleanFailure(resample('--fast', '--to', '24000', input, join(dir, 'x.wav')), /unknown option --fast/);
    assertCleanFailure(resample('--to', '24000', input, join(dir, 'no-such-dir', 'x.wav')), /cannot write .*: no such file/);
  });
});
