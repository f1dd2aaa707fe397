import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWavFile, writeWavFile } from '../../src/audio/wav.ts';
import type { RealtimeSimulator } from '../../sim/realtime/index.ts';
import { startSim } from './helpers.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `npm run talk` (via bin/run.mjs) with no API key in the environment. */
function talk(args: string[]): Promise<Run> {
  const env = { ...process.env };
  delete env.OPENAI_API_KEY;
  delete env.REALTIME_API_KEY;
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/run.mjs', 'scripts/talk.ts', ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('npm run talk', () => {
  let dir: string;
  let input: string;
  let sim: RealtimeSimulator;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'talk-'));
    input = join(dir, 'in.wav');
    // 1.2 s of 44.1 kHz stereo: exercises the resampling to 24 kHz mono.
    const frames = Math.round(44100 * 1.2);
    const samples = new Int16Array(frames * 2);
    for (let i = 0; i < frames; i++) samples[2 * i] = samples[2 * i + 1] = Math.round(Math.sin((2 * Math.PI * 300 * i) / 44100) * 8000);
    await writeWavFile(input, { sampleRate: 44100, channels: 2, samples });
    sim = await startSim({ rejectBeta: true, replyAudioMs: 800 });
  });
  after(async () => {
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('talks to the local simulator when no URL or key is configured', async () => {
    const output = join(dir, 'out.wav');
    const run = await talk([input, output]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /reply: Reply 1\. I heard 1\.2 seconds of audio\./);
    assert.match(run.stdout, /first audio: [\d.]+ ms after end of input/);
    assert.match(run.stdout, /usage: input text \d+ \(cached \d+\), input audio \d+ .*output audio \d+/);
    const wav = await readWavFile(output);
    assert.equal(wav.sampleRate, 24000);
    assert.equal(wav.channels, 1);
    assert.equal(wav.samples.length, 2000 * 24); // the standalone simulator's 2 s reply
  });

  it('sends the input as one turn of the right length to a given URL', async () => {
    const output = join(dir, 'out2.wav');
    const run = await talk(['--url', sim.url, '--key', sim.apiKey, input, output]);
    assert.equal(run.code, 0, run.stderr);
    const session = sim.sessions.at(-1)!;
    const user = session.items.find((i) => i.role === 'user')!;
    assert.equal(user.audioMs, 1200);
    assert.equal((await readWavFile(output)).samples.length, 800 * 24);
  });

  for (const [name, args, pattern] of [
    ['a bad key', () => ['--url', sim.url, '--key', 'wrong-key'], /^error: bad API key: 127\.0\.0\.1:\d+ refused the connection with HTTP 401\n$/],
    ['an unreachable URL', () => ['--url', 'ws://127.0.0.1:1/v1/realtime', '--key', 'k'], /^error: cannot reach 127\.0\.0\.1:1: ECONNREFUSED\n$/],
    ['the wrong dialect', () => ['--url', sim.url, '--key', sim.apiKey, '--dialect', 'beta'], /^error: the service has disabled the beta API shape: use dialect "ga" .*\n$/],
  ] as const) {
    it(`explains ${name} in one line and exits non-zero`, async () => {
      const run = await talk([...args(), input, join(dir, 'never.wav')]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, pattern);
      assert.doesNotMatch(run.stderr, /wrong-key/);
    });
  }
});
