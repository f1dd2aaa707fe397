/**
 * The demo does not depend on the simulator's conventions: against a model service that answers
 * something unrelated, at other lengths and another pace (started here, reached through REALTIME_URL
 * as a real service would be), `npm run demo -- --json` still passes every step.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startRealtimeSimulator } from '../../sim/realtime/index.ts';

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

test('npm run demo -- --json passes against a model service that answers something unrelated, at other lengths and pace (REALTIME_URL without a model)', async () => {
  // Not the simulator's conventions: no "Reply N" wording, replies of 0.9 to 4 s, 700 ms of
  // thinking before the first audio, audio streamed at 1.5× real time.
  const lengths = [900, 2_600, 4_000];
  const service = await startRealtimeSimulator({
    replyGenerator: ({ n, modalities }) => ({ text: `Bananas are berries, but strawberries are not (${n}).`, audioMs: modalities.includes('audio') ? lengths[n % lengths.length] : undefined }),
    firstDeltaDelayMs: 700,
    burstFactor: 1.5,
    deltaMs: 60,
  });
  const dir = mkdtempSync(join(tmpdir(), 'demo-any-'));
  try {
    const wav = join(dir, 'heard.wav');
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? dir,
      REALTIME_URL: service.url,
      REALTIME_DIALECT: 'ga',
      REALTIME_API_KEY: service.apiKey,
    };
    const { code, stdout, stderr } = await run(['bin/run.mjs', 'scripts/demo.ts', '--json', '--out', wav], env, 110_000);
    const last = stdout.trim().split('\n').at(-1) ?? '';
    let summary: any;
    assert.doesNotThrow(() => (summary = JSON.parse(last)), `last stdout line is JSON: ${last}\n${stderr}`);
    assert.equal(summary.ok, true, stderr);
    assert.equal(code, 0);
    assert.ok(summary.steps.every((step: { ok: boolean }) => step.ok), stderr);
    assert.match(summary.text_reply, /^Bananas are berries, but strawberries are not \(\d+\)\.$/);
    assert.ok(summary.turns >= 3, `turns ${summary.turns}`);
    // The demo dialed this service with the model in the URL (the configuration added it).
    assert.ok(service.upgrades.length > 0 && service.upgrades.every((upgrade) => upgrade.path === '/v1/realtime?model=gpt-realtime' && upgrade.status === 101));
  } finally {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
