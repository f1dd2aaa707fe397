/**
 * "Try your own running bot locally", as the README says, every piece a separate process: the local
 * Discord (`npm run sim:discord`, driven by commands on its standard input), the bot from an operator's
 * checkout (`.env` from the simulator's first line, `npm run deploy`, `npm start`), and a person typing
 * commands: a member runs /join, speaks, another hears the reply (written to a WAV), a member mentions
 * the bot and reads its answer, /leave, then SIGTERM to npm and `quit`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readWavFile } from '../../src/audio/wav.ts';
import { startRealtimeSimulator, type RealtimeSimulator } from '../../sim/realtime/index.ts';
import { eventually, ROOT, spawnProcess, type BotProcess } from './helpers.ts';
import { npmCommand, operatorInstall, type OperatorInstall } from './install.ts';

describe('a person drives the local Discord against their own running bot', () => {
  let realtime: RealtimeSimulator;
  let install: OperatorInstall;
  let recordDir: string;
  let simDiscord: BotProcess;
  let bot: BotProcess | undefined;
  let info: Record<string, any>;
  /** Lines the console printed (not the JSON logs on stderr). */
  const printed = () => simDiscord.lines.filter((line) => !line.startsWith('{'));
  const type = (line: string) => simDiscord.child.stdin!.write(`${line}\n`);
  const waitForPrinted = (pattern: RegExp, what: string, timeoutMs = 20_000) =>
    eventually(() => printed().find((line) => pattern.test(line)), `${what}:\n${printed().slice(-15).join('\n')}`, timeoutMs);

  before(async () => {
    realtime = await startRealtimeSimulator({ replyAudioMs: 1200 });
    install = operatorInstall();
    recordDir = mkdtempSync(join(tmpdir(), 'voice-bot-heard-'));
    simDiscord = spawnProcess(process.execPath, ['bin/run.mjs', 'sim/discord/cli.ts', '--record', recordDir], { cwd: ROOT, env: {}, stdin: 'pipe' });
    const first = await eventually(() => simDiscord.lines.find((line) => line.startsWith('{"rest"')), 'the simulator to print its JSON line');
    info = JSON.parse(first) as Record<string, any>;
  });
  after(async () => {
    bot?.kill();
    simDiscord?.kill();
    await realtime?.close();
    install?.close();
    rmSync(recordDir, { recursive: true, force: true });
  });

  test('.env from the simulator\'s first line, npm run deploy, npm start', async () => {
    install.writeEnvFromExample({
      DISCORD_TOKEN: info.token,
      DISCORD_APPLICATION_ID: info.applicationId,
      DISCORD_GUILD_ID: info.guildId,
      DISCORD_API_URL: info.rest,
      REALTIME_PROVIDER: 'custom',
      REALTIME_URL: realtime.url,
      REALTIME_API_KEY: realtime.apiKey,
      // As the README says for the local model: its members speak tones, never the bot's name, and Alice and
      // Bob are both in the channel, so the default addressing (auto → name) would never answer.
      VOICE_ADDRESSING: 'always',
    });
    const npm = npmCommand();
    const deploy = spawnProcess(npm.command, [...npm.args, 'run', 'deploy'], { cwd: install.dir, env: {} });
    const deployed = await deploy.exited;
    assert.equal(deployed.code, 0, deploy.lines.join('\n'));
    assert.ok(deploy.lines.some((line) => new RegExp(`^Registered \\d+ commands in guild ${info.guildId}\\.$`).test(line)), deploy.lines.join('\n'));
    bot = spawnProcess(npm.command, [...npm.args, 'start'], { cwd: install.dir, env: { NODE_EXTRA_CA_CERTS: info.ca } });
    await bot.waitForLog((line) => line.msg === 'logged in', 'the bot to log in', 30_000);
  });

  test('cmd Alice /join: the console prints the bot\'s answer and that it joined', async () => {
    type('cmd Alice /join');
    await waitForPrinted(/^\[bot → Alice \/join\] Joined #Voice\. Talk to me!$/, 'the /join answer, mentions shown as names');
    await waitForPrinted(/^\[bot joined voice channel "Voice"\]$/, 'the bot in voice');
  });

  test('speak Alice tone …, wait reply Bob: Bob heard the reply, written to a WAV file', async () => {
    type('speak Alice tone 1.2 330');
    type('wait reply Bob');
    const heard = await waitForPrinted(/^\[Bob heard [\d.]+ s of the bot → .+\.wav\]$/, 'Bob to hear a reply', 30_000);
    const [, secondsText, file] = /^\[Bob heard ([\d.]+) s of the bot → (.+\.wav)\]$/.exec(heard)!;
    assert.ok(Number(secondsText) > 0.8, `a whole reply (${secondsText} s of 1.2 s)`);
    await eventually(() => existsSync(file!), 'the WAV file');
    const wav = await eventually(async () => {
      const read = await readWavFile(file!).catch(() => undefined);
      return read && read.samples.length > 0 ? read : undefined;
    }, 'the WAV to be written');
    assert.equal(wav.sampleRate, 48_000);
    assert.equal(wav.channels, 2);
    assert.ok(Math.abs(wav.samples.length / 2 / 48_000 - Number(secondsText)) < 0.02, 'the file holds what was reported');
    assert.ok(printed().includes('Alice speaks: a 1.2 s tone of 330 Hz'));
  });

  test('say Alice @bot …: the bot\'s text answer is printed', async () => {
    type('say Alice @bot what did we just decide?');
    await waitForPrinted(/^Alice in #general: @bot what did we just decide\?$/, 'the message');
    await waitForPrinted(/^\[bot in #general(, edited)?\] Reply \d+\. .*Alice/, 'the bot\'s answer');
  });

  test('a mistake is one line; cmd Alice /leave; SIGTERM to npm; quit', async () => {
    type('speak Zed tone');
    await waitForPrinted(/^! no member "Zed" in guild 1 \(members: Owner, Alice, Bob, Carol\)$/, 'the mistake');
    type('cmd Alice /leave');
    await waitForPrinted(/^\[bot → Alice \/leave\]/, 'the /leave answer');
    await waitForPrinted(/^\[bot left voice\]$/, 'the bot to leave');
    bot!.child.kill('SIGTERM');
    const stopped = await bot!.exited;
    assert.equal(stopped.code, 0);
    assert.ok(bot!.logs().some((line) => line.msg === 'stopped'));
    type('quit');
    const exit = await simDiscord.exited;
    assert.equal(exit.code, 0);
  });
});
