import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { Client } from 'discord.js';
import { INTENTS, playPcm, sine, voice } from './helpers.ts';

let child: ChildProcess;
let info: Record<string, any>;
const stderrLines: string[] = [];
const stderrWaiters: (() => void)[] = [];

before(async () => {
  child = spawn(process.execPath, ['bin/run.mjs', 'sim/discord/cli.ts', '--json', '--members', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderrLines.push(line);
    for (const w of stderrWaiters.splice(0)) w();
  });
  const lines = createInterface({ input: child.stdout! });
  const [first] = (await once(lines, 'line')) as [string];
  info = JSON.parse(first);
});

after(async () => {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});

function waitForLog(pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    const check = () => {
      const line = stderrLines.find((l) => pattern.test(l));
      if (line) resolve(line);
      else stderrWaiters.push(check);
    };
    check();
  });
}

test('the first stdout line is the JSON a bot needs', () => {
  for (const key of ['rest', 'token', 'applicationId', 'guildId', 'voiceChannelId', 'textChannelId', 'ca']) assert.ok(info[key], key);
  assert.match(info.rest, /^http:\/\/127\.0\.0\.1:\d+\/api$/);
  assert.deepEqual(info.members.map((m: { name: string }) => m.name), ['Alice', 'Bob']);
});

test('NODE_EXTRA_CA_CERTS=<ca> makes another process trust the voice endpoint', () => {
  const [host, port] = String(info.voiceEndpoint).split(':');
  const script = `require('tls').connect({ host: '${host}', port: ${port}, servername: '${host}' }, function () { console.log(this.authorized ? 'trusted' : 'untrusted'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); });`;
  const withCa = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: info.ca }, encoding: 'utf8' });
  assert.equal(withCa.stdout.trim(), 'trusted');
  const without = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: '' }, encoding: 'utf8' });
  assert.notEqual(without.stdout.trim(), 'trusted');
});

test('a plain discord.js client logs in, joins voice, reaches Ready and is heard', async () => {
  // In-process equivalent of NODE_EXTRA_CA_CERTS: add the printed CA to the default trust store.
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), readFileSync(info.ca, 'utf8')]);
  const client = new Client({ intents: INTENTS, rest: { api: info.rest } });
  try {
    const ready = once(client, 'clientReady');
    await client.login(info.token);
    await ready;
    const guild = client.guilds.cache.get(info.guildId)!;
    assert.equal(guild.channels.cache.get(info.voiceChannelId)?.name, 'Voice');
    const connection = voice.joinVoiceChannel({ channelId: info.voiceChannelId, guildId: guild.id, adapterCreator: guild.voiceAdapterCreator, selfDeaf: false });
    await voice.entersState(connection, voice.VoiceConnectionStatus.Ready, 10_000);
    await playPcm(connection, sine(1500));
    const line = await waitForLog(/member heard bot audio/);
    assert.match(line, /"member":"(Alice|Bob)"/);
    connection.destroy();
  } finally {
    await client.destroy();
  }
});
