/**
 * End to end, as processes: `npm start` with a broken configuration fails clearly, and the demo
 * (`scripts/demo.ts --json`) runs the whole scenario on the local stack and reports success.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

const ROOT = new URL('../..', import.meta.url).pathname;

function run(args: string[], env: Record<string, string>, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not finish in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** No JavaScript stack trace in the output. */
function assertNoStack(output: string): void {
  assert.doesNotMatch(output, /^\s+at .+(\(|:\d+:\d+)/m, `a stack trace in: ${output}`);
  assert.doesNotMatch(output, /node:internal|\.ts:\d+:\d+/);
}

describe('npm start with a broken configuration', () => {
  test('an empty environment: exits non-zero naming each missing setting, no stack trace', async () => {
    const { code, stdout, stderr } = await run(['bin/run.mjs', 'main.ts'], { PATH: process.env.PATH ?? '' }, 30_000);
    assert.notEqual(code, 0);
    assert.equal(code, 78, 'EX_CONFIG');
    assert.match(stderr, /invalid configuration:/);
    assert.match(stderr, /^ {2}- REALTIME_API_KEY is missing: set it to your OpenAI or CometAPI key$/m);
    assert.match(stderr, /^ {2}- DISCORD_TOKEN is missing: copy the bot token from the Discord developer portal$/m);
    assert.match(stderr, /See \.env\.example/);
    assertNoStack(stdout + stderr);
  });

  test('invalid values: every problem listed, one per line', async () => {
    const env = { PATH: process.env.PATH ?? '', ALONE_TIMEOUT_SECONDS: 'soon', MENTION_RATE_LIMIT: '0' };
    const { code, stdout, stderr } = await run(['bin/run.mjs', 'main.ts'], env, 30_000);
    assert.equal(code, 78);
    assert.match(stderr, /^ {2}- ALONE_TIMEOUT_SECONDS must be a whole number from 0 to 86400 \(got "soon"\)$/m);
    assert.match(stderr, /^ {2}- MENTION_RATE_LIMIT must be a whole number from 1 to 1000 \(got "0"\)$/m);
    assertNoStack(stdout + stderr);
  });
});

describe('npm run demo -- --json', () => {
  test('runs the whole scenario and ends with a JSON summary: ok, turns, latencies, barge-in, text reply', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-e2e-'));
    try {
      const wav = join(dir, 'heard.wav');
      const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir };
      const { code, stdout, stderr } = await run(['bin/run.mjs', 'scripts/demo.ts', '--json', '--out', wav], env, 120_000);
      const last = stdout.trim().split('\n').at(-1) ?? '';
      let summary: any;
      assert.doesNotThrow(() => (summary = JSON.parse(last)), `last stdout line is JSON: ${last}\n${stderr}`);
      assert.equal(summary.ok, true, stderr);
      assert.equal(code, 0);
      assert.ok(summary.turns >= 3, `turns ${summary.turns}`);
      const latencies: unknown[] = summary.latency_ms.first_audio_after_speech_end;
      assert.equal(latencies.length, summary.turns);
      for (const latency of latencies) assert.ok(typeof latency === 'number' && Number.isFinite(latency) && latency > 0, `latency ${latency}`);
      assert.equal(typeof summary.barge_in_truncated_ms, 'number');
      assert.ok(summary.barge_in_truncated_ms > 0);
      assert.equal(typeof summary.text_reply, 'string');
      assert.match(summary.text_reply, /Reply \d+\. Hello Alice\./);
      assert.ok(summary.steps.every((step: { ok: boolean }) => step.ok));
      assert.equal(summary.wav, wav);
      assert.ok(existsSync(wav) && statSync(wav).size > 48_000, 'the WAV of what the listener heard');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
