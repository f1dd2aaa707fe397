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

/**
 * Runs `npm run talk` (via bin/run.mjs) with none of the model settings of the developer's environment,
 * plus `env`. A run that does not end within 30 s is killed and reported as a hang.
 */
function talk(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(REALTIME_|OPENAI_API_KEY$)/.test(name)));
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/run.mjs', 'scripts/talk.ts', ...args], { env: { ...clean, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const killed = (err as { killed?: boolean } | null)?.killed;
      resolve({ code: killed ? -1 : err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr: killed ? `HUNG: ${stderr}` : stderr });
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

  it('connects as the bot would: REALTIME_* from the environment, resolved by the bot\'s configuration (model in the URL)', async () => {
    const before = sim.sessions.length;
    const env = { REALTIME_PROVIDER: 'custom', REALTIME_URL: sim.url, REALTIME_API_KEY: sim.apiKey, REALTIME_MODEL: 'gpt-realtime-mini', REALTIME_VOICE: 'coral' };
    const run = await talk([input, join(dir, 'env.wav')], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /talking to 127\.0\.0\.1:\d+, model gpt-realtime-mini, dialect ga, voice coral/);
    assert.equal(sim.sessions.length, before + 1, 'the simulator configured in the environment, not OpenAI and not a local one');
    const session = sim.sessions.at(-1)!;
    assert.equal(session.model, 'gpt-realtime-mini', 'REALTIME_MODEL reached the URL');
    assert.equal(session.config.voice, 'coral', 'REALTIME_VOICE as the bot uses it');
  });

  it('flags override the environment', async () => {
    const env = { REALTIME_PROVIDER: 'custom', REALTIME_URL: 'ws://127.0.0.1:1/v1/realtime', REALTIME_API_KEY: 'wrong-key', REALTIME_MODEL: 'gpt-realtime-mini' };
    const run = await talk(['--url', sim.url, '--key', sim.apiKey, '--model', 'gpt-realtime-2', input, join(dir, 'flags.wav')], env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(sim.sessions.at(-1)!.model, 'gpt-realtime-2');
  });

  it('a CometAPI operator\'s settings never send the key to OpenAI: the provider decides the host', async () => {
    // The key is refused by nobody here: the point is which host is dialled (cometapi, beta dialect).
    const run = await talk([input, join(dir, 'comet.wav')], { REALTIME_PROVIDER: 'cometapi', REALTIME_API_KEY: 'sk-comet-test', REALTIME_URL: sim.url.replace(/\/v1\/realtime$/, '/v1/realtime?model=gpt-4o-realtime') });
    assert.match(run.stdout, /talking to 127\.0\.0\.1:\d+, model gpt-4o-realtime, dialect beta/);
    assert.doesNotMatch(run.stdout + run.stderr, /openai\.com/);
  });

  const missing = () => join(dir, 'missing.wav');
  const notWav = () => join(import.meta.dirname, 'talk.test.ts');
  const out = () => join(dir, 'never.wav');
  for (const [name, argv, pattern, env] of [
    ['an unknown flag', () => ['--frobnicate', 'x', input, out()], /^error: Unknown option '--frobnicate'.*usage: npm run talk/, {}],
    ['a flag without its value', () => [input, out(), '--url'], /^error: Option '--url <value>' argument missing/, {}],
    ['a missing output folder', () => [input, join(dir, 'nowhere', 'out.wav')], /^error: the output folder \S+nowhere does not exist: create it first/, {}],
    ['a missing input file (local simulator: nothing left running)', () => ['--local', missing(), out()], /^error: cannot read \S+missing\.wav: ENOENT$/, {}],
    ['a file that is not a WAV', () => ['--local', notWav(), out()], /^error: \S+talk\.test\.ts: /, {}],
    ['a bad setting in the environment', () => [input, out()], /^error: REALTIME_DIALECT must be "ga" .*\(from the environment, \.env and the flags\)$/, { REALTIME_DIALECT: 'gamma', REALTIME_API_KEY: 'k' }],
    ['a key but an unknown provider', () => [input, out()], /^error: REALTIME_PROVIDER must be openai, cometapi or custom \(got "acme"\)/, { REALTIME_PROVIDER: 'acme', REALTIME_API_KEY: 'k' }],
    ['a bad timeout', () => ['--timeout', 'soon', input, out()], /^error: --timeout must be a number of seconds above 0/, {}],
    ['one file only', () => [input], /^error: IN\.wav and OUT\.wav are needed/, {}],
  ] as const) {
    it(`explains ${name} in one line and exits non-zero, without hanging`, async () => {
      const run = await talk([...argv()], env);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr.trimEnd(), pattern);
      assert.equal(run.stderr.trimEnd().split('\n').length, 1, `one line: ${run.stderr}`);
    });
  }

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
