/**
 * The standalone local Discord (`npm run sim:discord`, its own process) with a plain discord.js
 * client that is none of the project's code: discord.js + @discordjs/voice as anyone would use them,
 * only `rest.api` pointed at the simulator and its CA trusted. With DAVE (the library's default) the
 * client is welcomed into the channel's MLS group and shows the voice privacy code the members see;
 * with DAVE switched off it is closed with 4017, as real Discord does since March 2026.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { entersState, joinVoiceChannel, VoiceConnectionStatus, type VoiceConnection } from '@discordjs/voice';
import { Client, GatewayIntentBits, type Guild } from 'discord.js';
import { trustSimulatorCertificate } from '../../sim/discord/index.ts';
import { eventually, ROOT, spawnProcess, type BotProcess } from './helpers.ts';

describe('a plain discord.js client against the standalone npm run sim:discord', () => {
  let simDiscord: BotProcess;
  let info: { rest: string; token: string; guildId: string; voiceChannelId: string };
  let client: Client;
  let guild: Guild;

  before(async () => {
    simDiscord = spawnProcess(process.execPath, ['bin/run.mjs', 'sim/discord/cli.ts', '--json', '--no-record', '--members', '2'], { cwd: ROOT, env: {}, stdin: 'pipe' });
    const first = await eventually(() => simDiscord.lines.find((line) => line.startsWith('{"rest"')), 'the simulator to print its JSON line', 30_000);
    info = JSON.parse(first);
    trustSimulatorCertificate(); // the simulator's CA (the same file the JSON line names as `ca`)
    client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates], rest: { api: info.rest } });
    const ready = new Promise<void>((resolve) => client.once('clientReady', () => resolve()));
    await client.login(info.token);
    await ready;
    guild = client.guilds.cache.get(info.guildId)!;
    assert.ok(guild, 'the guild is in the cache after ready');
  });
  after(async () => {
    await client?.destroy();
    simDiscord?.child.stdin?.write('quit\n');
    await Promise.race([simDiscord?.exited, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    simDiscord?.kill();
  });

  test('with DAVE the client gets an MLS group and the voice privacy code every member sees', async () => {
    const connection = joinVoiceChannel({ channelId: info.voiceChannelId, guildId: guild.id, adapterCreator: guild.voiceAdapterCreator, selfDeaf: false });
    try {
      await entersState(connection, VoiceConnectionStatus.Ready, 15_000);
      const code = await eventually(() => connection.voicePrivacyCode, 'a voice privacy code on the client', 15_000);
      assert.match(code, /^\d{30}$/);
      // The simulator logs each re-key with the code its members see.
      const rekey = await simDiscord.waitForLog((log) => log.msg === 'dave group re-keyed' && log.voicePrivacyCode === code, `a re-key whose members see the client's code ${code}`);
      assert.equal(rekey.members, 3, 'the group of Alice, Bob and the client');
    } finally {
      connection.destroy();
    }
  });

  test('with DAVE switched off the client is closed with 4017 and never gets a voice session', async () => {
    const closeCodes: number[] = [];
    const connection: VoiceConnection = joinVoiceChannel({ channelId: info.voiceChannelId, guildId: guild.id, adapterCreator: guild.voiceAdapterCreator, selfDeaf: false, daveEncryption: false });
    const watched = new WeakSet<object>();
    connection.on('stateChange', (_old, state) => {
      // The library rejoins after any close but 4014; each networking layer reports its close code.
      if ('networking' in state && !watched.has(state.networking)) {
        watched.add(state.networking);
        state.networking.on('close', (code: number) => closeCodes.push(code));
      }
    });
    try {
      await eventually(() => closeCodes.includes(4017), 'a 4017 close', 15_000);
      assert.notEqual(connection.state.status, VoiceConnectionStatus.Ready);
      assert.equal(connection.voicePrivacyCode, undefined);
    } finally {
      connection.destroy();
    }
  });
});
