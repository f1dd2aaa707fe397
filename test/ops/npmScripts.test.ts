/**
 * The README's operator route, run literally against the local Discord and model simulators:
 * `cp .env.example .env`, fill in the required values, `npm start` (and `npm run start:sharded`), then
 * SIGTERM to the outermost process — npm itself. The npm scripts read `.env` with Node's loader (the
 * environment wins), `SHARD_COUNT=auto` from the shipped file does not reach a plain `npm start`, and
 * the signal reaches every bot process: each logs `stopped` and exits within 5 s, nothing is left.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { writeWavFile } from '../../src/audio/wav.ts';
import { eventually, spawnProcess, startSimulators, type BotProcess, type Simulators } from './helpers.ts';
import { commandLine, isRunning, npmCommand, operatorInstall, processTree, type OperatorInstall } from './install.ts';

const STOP_LIMIT_MS = 5_000;

/** The values an operator fills in (the three required ones), plus what points the bot at the simulators. */
function operatorValues(sims: Simulators): Record<string, string> {
  return {
    DISCORD_TOKEN: sims.discord.token,
    DISCORD_APPLICATION_ID: sims.discord.applicationId,
    REALTIME_API_KEY: sims.realtime.apiKey,
    DISCORD_API_URL: sims.discord.rest,
    DISCORD_GUILD_ID: sims.discord.guildId,
    REALTIME_PROVIDER: 'custom',
    REALTIME_URL: sims.realtime.url,
    // Unquoted, with spaces and a comma: the whole rest of the line is the value.
    DEFAULT_INSTRUCTIONS: 'Speak like a lighthouse keeper, briefly and kindly',
    REALTIME_VOICE: 'ash',
  };
}

/** Runs `npm run <script>` in the install, with only what an operator's shell would add to the environment. */
function npmRun(install: OperatorInstall, script: string, env: Record<string, string>, args: string[] = []): BotProcess {
  const npm = npmCommand();
  return spawnProcess(npm.command, [...npm.args, 'run', script, ...(args.length > 0 ? ['--', ...args] : [])], { cwd: install.dir, env });
}

/** Sends SIGTERM to npm (the outermost process) and checks that every process below it stops in time. */
async function sigtermToNpm(run: BotProcess, botProcesses: number): Promise<{ elapsedMs: number; commands: string[] }> {
  const npmPid = run.child.pid!;
  // Every process npm started: its shell (if any), the bot or the manager, and the shards.
  const tree = processTree(npmPid);
  const commands = tree.map(commandLine);
  assert.ok(tree.length >= 1 + botProcesses, `npm and ${botProcesses} bot process(es): ${commands.join(' | ')}`);
  const sentAt = performance.now();
  process.kill(npmPid, 'SIGTERM');
  const exit = await run.exited;
  await eventually(() => tree.every((pid) => !isRunning(pid)), 'every process npm started to exit', STOP_LIMIT_MS + 1_000).catch(() => {
    throw new Error(`still running after SIGTERM to npm: ${tree.filter(isRunning).map(commandLine).join(' | ')}`);
  });
  const elapsedMs = performance.now() - sentAt;
  assert.equal(exit.code, 0, `npm exit status (signal ${exit.signal}):\n${run.lines.slice(-15).join('\n')}`);
  assert.ok(elapsedMs < STOP_LIMIT_MS, `everything stopped ${Math.round(elapsedMs)} ms after the signal (limit ${STOP_LIMIT_MS} ms)`);
  return { elapsedMs, commands };
}

describe('npm start, configured by .env as the README says', () => {
  let sims: Simulators;
  let install: OperatorInstall;
  before(async () => {
    // Two guilds: with SHARD_COUNT=2 each shard owns one ((guild_id >> 22) % 2, as on Discord).
    sims = await startSimulators({ discord: { guilds: 2 } });
    install = operatorInstall();
  });
  after(async () => {
    install?.close();
    await sims?.close();
  });

  test('without a .env the missing settings are named with a pointer to .env', async () => {
    const run = npmRun(install, 'start', {});
    const exit = await run.exited;
    assert.equal(exit.code, 78, run.lines.join('\n'));
    const output = run.lines.join('\n');
    assert.match(output, /DISCORD_TOKEN is missing/);
    assert.match(output, new RegExp(`There is no \\.env file in ${install.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the npm scripts read one when it exists \\(cp \\.env\\.example \\.env`));
  });

  test('cp .env.example .env + the required values: the bot starts, reads .env (environment wins), stops on SIGTERM to npm', async () => {
    const envText = install.writeEnvFromExample(operatorValues(sims));
    assert.match(envText, /^SHARD_COUNT=auto$/m, 'the shipped SHARD_COUNT line is still there');
    // What the shell adds: the simulator's CA (Node reads NODE_EXTRA_CA_CERTS before any env file) and
    // one variable that the environment overrides.
    const run = npmRun(install, 'start', { NODE_EXTRA_CA_CERTS: sims.discord.caPath, REALTIME_VOICE: 'coral' });
    try {
      const starting = await run.waitForLog((line) => line.msg === 'starting', 'the bot to start', 30_000);
      await run.waitForLog((line) => line.msg === 'logged in', 'the bot to log in', 30_000);
      assert.equal(starting.shard, undefined, 'not a shard: SHARD_COUNT from .env did not reach discord.js');
      assert.ok(existsSync(join(install.dir, 'data', 'bot.sqlite')), 'the default DATABASE_PATH, relative to the install');

      const alice = sims.discord.member('Alice');
      await alice.joinVoice();
      const joinCommand = await alice.runCommand('join');
      assert.match(await joinCommand.waitForContent(20_000), /^Joined/);
      const session = await eventually(() => sims.realtime.sessions.find((s) => s.config.instructions.includes('lighthouse')), 'a model session with the instructions from .env', 20_000);
      assert.match(session.config.instructions, /Speak like a lighthouse keeper, briefly and kindly/);
      assert.equal(session.config.voice, 'coral', 'the environment wins over .env');

      const { elapsedMs, commands } = await sigtermToNpm(run, 1);
      const stopped = run.logs().filter((line) => line.msg === 'stopped');
      assert.equal(stopped.length, 1, 'the bot logged stopped');
      assert.equal(stopped[0]!.leftVoice, 1);
      assert.equal(sims.discord.botVoiceChannel(), null, 'the bot left voice');
      console.log(`# npm start: ${commands.length} processes (${commands.join(' | ')}) gone ${Math.round(elapsedMs)} ms after SIGTERM to npm`);
    } finally {
      for (const pid of processTree(run.child.pid ?? 0).slice(1)) process.kill(pid, 'SIGKILL');
      run.kill();
    }
  });

  test('npm run talk uses the bot\'s provider settings from the same .env (a flag overrides one)', async () => {
    install.writeEnvFromExample({ ...operatorValues(sims), REALTIME_MODEL: 'gpt-realtime-mini' });
    const input = join(install.dir, 'hello.wav');
    const samples = new Int16Array(24_000).map((_, i) => Math.round(6000 * Math.sin((2 * Math.PI * 220 * i) / 24_000)));
    await writeWavFile(input, { sampleRate: 24_000, channels: 1, samples });
    const before = sims.realtime.sessions.length;
    const run = npmRun(install, 'talk', {}, ['--voice', 'sage', 'hello.wav', 'reply.wav']);
    const exit = await run.exited;
    assert.equal(exit.code, 0, run.lines.join('\n'));
    assert.equal(sims.realtime.sessions.length, before + 1, 'it talked to the model service of .env');
    const session = sims.realtime.sessions.at(-1)!;
    assert.equal(session.model, 'gpt-realtime-mini');
    assert.equal(session.config.voice, 'sage', 'the flag wins');
    assert.ok(existsSync(join(install.dir, 'reply.wav')));
  });

  test('npm killed outright (SIGKILL, as a process manager does after its timeout): the bot notices and stops', async () => {
    install.writeEnvFromExample(operatorValues(sims));
    const run = npmRun(install, 'start', { NODE_EXTRA_CA_CERTS: sims.discord.caPath });
    let bots: number[] = [];
    try {
      await run.waitForLog((line) => line.msg === 'logged in', 'the bot to log in', 30_000);
      bots = processTree(run.child.pid!).slice(1);
      assert.ok(bots.length >= 1, 'npm started the bot');
      const sentAt = performance.now();
      process.kill(run.child.pid!, 'SIGKILL');
      await eventually(() => bots.every((pid) => !isRunning(pid)), 'the orphaned bot to exit', STOP_LIMIT_MS + 1_000);
      const elapsedMs = performance.now() - sentAt;
      assert.ok(elapsedMs < STOP_LIMIT_MS, `the bot stopped ${Math.round(elapsedMs)} ms after npm was killed`);
      await eventually(() => run.logs().some((line) => line.msg === 'stopped'), 'the bot to log stopped (its stdout outlives npm)');
      assert.ok(run.logs().some((line) => line.msg === 'shutting down' && line.signal === 'parent process exited'));
    } finally {
      for (const pid of bots.filter(isRunning)) process.kill(pid, 'SIGKILL');
      run.kill();
    }
  });

  test('npm run start:sharded with SHARD_COUNT=2: SIGTERM to npm stops the manager and both shards', async () => {
    install.writeEnvFromExample({ ...operatorValues(sims), SHARD_COUNT: '2' });
    const run = npmRun(install, 'start:sharded', { NODE_EXTRA_CA_CERTS: sims.discord.caPath });
    try {
      const spawning = await run.waitForLog((line) => line.msg === 'spawning shards', 'the manager to start', 30_000);
      const shards = (spawning.shardList as number[]).length;
      assert.equal(shards, 2);
      await run.waitForLog((line) => line.msg === 'all shards ready', 'every shard to be ready', 60_000);
      for (let shard = 0; shard < shards; shard++) {
        // The manager hears a shard is ready over IPC; the shard's own log line comes through its stdout
        // pipe and can arrive after that: wait for it rather than expect it already there.
        const loggedIn = await run.waitForLog((line) => line.msg === 'logged in' && line.shard === shard, `shard ${shard} to log in`, 30_000);
        assert.equal(loggedIn.guilds, 1, `shard ${shard} serves the one guild (guild_id >> 22) % 2 gives it`);
      }
      const { elapsedMs, commands } = await sigtermToNpm(run, 1 + shards);
      const logs = run.logs();
      for (let shard = 0; shard < shards; shard++) {
        assert.ok(logs.some((line) => line.msg === 'stopped' && line.shard === shard), `shard ${shard} logged stopped`);
      }
      assert.ok(logs.some((line) => line.msg === 'shards stopped' && line.failed === 0), 'the manager saw every shard stop');
      console.log(`# npm run start:sharded: ${commands.length} processes (${commands.join(' | ')}) gone ${Math.round(elapsedMs)} ms after SIGTERM to npm`);
    } finally {
      for (const pid of processTree(run.child.pid ?? 0).slice(1)) process.kill(pid, 'SIGKILL');
      run.kill();
    }
  });
});
