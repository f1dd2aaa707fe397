/**
 * The shipped systemd unit (deploy/realtime-voice-bot.service): its command is `npm start`'s without
 * npm (same Node flags, same .env loader), node is the process systemd signals, the stop timeout
 * covers the bot's 5 s shutdown, and a configuration error is not restarted in a loop. Then its
 * ExecStart is run as systemd runs it (working directory, clean environment, SIGTERM to that very
 * process) against the simulators.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { ROOT, spawnProcess, startSimulators, type Simulators } from './helpers.ts';
import { operatorInstall, type OperatorInstall } from './install.ts';

const UNIT_PATH = join(ROOT, 'deploy', 'realtime-voice-bot.service');

/** `[Section]` → key → values (a key may repeat), comments and blank lines dropped. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const at = line.indexOf('=');
    assert.ok(current && at > 0, `a key=value line inside a section: ${line}`);
    const key = line.slice(0, at).trim();
    current.set(key, [...(current.get(key) ?? []), line.slice(at + 1).trim()]);
  }
  return sections;
}

const unitText = readFileSync(UNIT_PATH, 'utf8');
const unit = parseUnit(unitText);
const service = unit.get('Service')!;
const one = (key: string) => {
  const values = service.get(key);
  assert.ok(values && values.length === 1, `exactly one ${key}=`);
  return values[0]!;
};

describe('systemd unit', () => {
  test('runs npm start\'s command directly: node from the install, same flags, .env read by Node, in the working directory', () => {
    const workingDirectory = one('WorkingDirectory');
    const [command, ...args] = one('ExecStart').split(/\s+/);
    assert.equal(command, `${workingDirectory}/node_modules/.bin/node`, 'the Node the project installs (npm ci), not whatever node is on PATH');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const start = pkg.scripts.start!.split(/\s+/);
    assert.deepEqual(start.slice(0, 2), ['exec', 'node']);
    assert.deepEqual(args, start.slice(2), 'the arguments of npm start');
    assert.equal(one('Type'), 'exec');
  });

  test('stops like the README says: SIGTERM to node only, more time than the bot\'s 5 s, no restart loop on bad configuration', () => {
    assert.equal(service.get('KillSignal')?.[0] ?? 'SIGTERM', 'SIGTERM');
    assert.equal(one('KillMode'), 'mixed', 'SIGTERM to the main process (node or the sharding manager), which stops the rest itself');
    assert.ok(Number(one('TimeoutStopSec')) > 6.5, 'longer than a shard\'s own stop limit (6.5 s) and the bot\'s 5 s');
    assert.equal(one('Restart'), 'on-failure');
    assert.deepEqual(one('RestartPreventExitStatus').split(/\s+/).sort(), ['73', '78'], 'configuration (78) and database-folder (73) errors');
    assert.notEqual(one('User'), 'root');
    assert.ok(one('ReadWritePaths').split(/\s+/).includes(`${one('WorkingDirectory')}/data`), 'the default DATABASE_PATH (data/bot.sqlite) stays writable');
    assert.deepEqual(unit.get('Install')?.get('WantedBy'), ['multi-user.target']);
  });

  test('systemd-analyze verify accepts it (paths pointed at this checkout)', (t) => {
    const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((path) => existsSync(path));
    if (!analyze) return t.diagnostic('systemd-analyze is not installed here; the unit was checked by the tests above only');
    const dir = mkdtempSync(join(tmpdir(), 'voice-bot-unit-'));
    const copy = join(dir, 'realtime-voice-bot.service');
    writeFileSync(copy, unitText.replaceAll('/opt/realtime-voice-bot', ROOT));
    try {
      // It exits 0 even for values it ignores ("Failed to parse kill mode …"): any output is a complaint.
      const result = spawnSync(analyze, ['verify', copy], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(`${result.stdout}${result.stderr}`.split('\n').filter((line) => line.trim() !== ''), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('its ExecStart, run as systemd runs it', () => {
    let sims: Simulators;
    let install: OperatorInstall;
    before(async () => {
      sims = await startSimulators();
      install = operatorInstall();
    });
    after(async () => {
      install?.close();
      await sims?.close();
    });

    test('reads .env, logs in, and SIGTERM to the main process stops the bot gracefully within 5 s', async () => {
      install.writeEnvFromExample({
        DISCORD_TOKEN: sims.discord.token,
        DISCORD_APPLICATION_ID: sims.discord.applicationId,
        REALTIME_API_KEY: sims.realtime.apiKey,
        DISCORD_API_URL: sims.discord.rest,
        REALTIME_PROVIDER: 'custom',
        REALTIME_URL: sims.realtime.url,
      });
      const [command, ...args] = one('ExecStart').replaceAll(one('WorkingDirectory'), install.dir).split(/\s+/);
      // systemd starts services with an almost empty environment (no npm_* variables, no shell).
      const run = spawnProcess(command!, args, { cwd: install.dir, env: { NODE_EXTRA_CA_CERTS: sims.discord.caPath } });
      try {
        await run.waitForLog((line) => line.msg === 'logged in', 'the bot to log in', 30_000);
        const sentAt = performance.now();
        run.child.kill('SIGTERM');
        const exit = await run.exited;
        assert.equal(exit.code, 0, run.lines.slice(-10).join('\n'));
        assert.ok(exit.at - sentAt < 5_000, `stopped in ${Math.round(exit.at - sentAt)} ms`);
        assert.ok(run.logs().some((line) => line.msg === 'stopped'));
        assert.ok(existsSync(join(install.dir, 'data', 'bot.sqlite')), 'the database in the ReadWritePaths folder');
      } finally {
        run.kill();
      }
    });
  });
});
