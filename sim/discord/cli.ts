/**
 * Standalone local Discord: `npm run sim:discord -- [--port P] [--json] [--guilds N] [--members N]
 * [--shards N] [--record DIR] [--speak] [--modes gcm,xchacha]`. The first stdout line is a JSON object
 * with what a bot needs (`rest`, `token`, ids of the first guild, `guilds` with every guild's ids, `ca`
 * for NODE_EXTRA_CA_CERTS); logs go to stderr. Then it reads commands on stdin (console.ts: make a
 * member join voice, run a slash command, speak a WAV, type a mention, leave) and prints what the bot
 * answers and what members hear. Serves until `quit`, SIGINT or SIGTERM.
 */
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DISCORD_SAMPLE_RATE } from '../../src/audio/format.ts';
import { createLogger } from '../../src/log.ts';
import { CONSOLE_HELP, SimConsole } from './console.ts';
import { startDiscordSimulator, type EncryptionMode } from './index.ts';

const NAMES = ['Alice', 'Bob', 'Carol', 'Dave', 'Erin', 'Frank', 'Grace', 'Heidi'];

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
    guilds: { type: 'string', default: '1' },
    members: { type: 'string', default: '3' },
    speak: { type: 'boolean', default: false },
    modes: { type: 'string', default: 'gcm,xchacha' },
    shards: { type: 'string' },
    record: { type: 'string', default: 'out/sim-discord' },
    'no-record': { type: 'boolean', default: false },
  },
});

const logger = createLogger({ destination: process.stderr, name: 'sim-discord' });
const count = Math.max(0, Math.min(NAMES.length, Number(values.members)));
const modes = values.modes.split(',').map((m): EncryptionMode => (m.trim().startsWith('x') ? 'aead_xchacha20_poly1305_rtpsize' : 'aead_aes256_gcm_rtpsize'));
const guildCount = Math.max(1, Math.floor(Number(values.guilds)) || 1);
const recommendedShards = values.shards === undefined ? undefined : Math.max(1, Math.floor(Number(values.shards)) || 1);
const sim = await startDiscordSimulator({ port: Number(values.port), guilds: guildCount, members: NAMES.slice(0, count).map((name) => ({ name })), encryptionModes: modes, recommendedShards, logger });
const humansOf = (guild: (typeof sim.guilds)[number]) => guild.members().filter((m) => m.name !== 'Owner');

const info = {
  rest: sim.rest,
  token: sim.token,
  applicationId: sim.applicationId,
  botUserId: sim.botUserId,
  guildId: sim.guildId,
  voiceChannelId: sim.voiceChannelId,
  secondVoiceChannelId: sim.secondVoiceChannelId,
  stageChannelId: sim.stageChannelId,
  textChannelId: sim.textChannelId,
  ca: sim.caPath,
  gateway: sim.gatewayUrl,
  voiceEndpoint: sim.voice.current.endpoint,
  members: humansOf(sim.guilds[0]!).map((m) => ({ id: m.id, name: m.name })),
  recommendedShards: sim.recommendedShards,
  guilds: sim.guilds.map((g) => ({
    guildId: g.guildId,
    voiceChannelId: g.voiceChannelId,
    secondVoiceChannelId: g.secondVoiceChannelId,
    textChannelId: g.textChannelId,
    voiceEndpoint: g.voice.current.endpoint,
    members: humansOf(g).map((m) => ({ id: m.id, name: m.name })),
  })),
};
process.stdout.write(`${JSON.stringify(info)}\n`);
if (!values.json) {
  process.stdout.write(
    `Local Discord simulator running.\n  rest.api: ${info.rest}\n  token:    ${info.token}\n  app id:   ${info.applicationId}\n  guild:    ${info.guildId}${guildCount > 1 ? ` (+${guildCount - 1} more)` : ''}\n` +
      `  voice:    ${info.voiceChannelId}\n  text:     ${info.textChannelId}\n  trust:    NODE_EXTRA_CA_CERTS=${info.ca}\n` +
      `Point your bot at it: in .env set DISCORD_TOKEN=${info.token} DISCORD_APPLICATION_ID=${info.applicationId} DISCORD_GUILD_ID=${info.guildId} ` +
      `DISCORD_API_URL=${info.rest}, run npm run deploy, then NODE_EXTRA_CA_CERTS=${info.ca} npm start.\n` +
      `Members ${info.members.map((m) => m.name).join(", ")} sit in the voice channel (Owner, who may change the instructions, does not). Type commands here:\n${CONSOLE_HELP}\n`,
  );
}

// Human members sit in the main voice channel of every guild.
for (const guild of sim.guilds) {
  for (const member of humansOf(guild)) await member.joinVoice();
  guild.voice.on('botReady', () => logger.info({ guildId: guild.guildId, channelId: guild.botVoiceChannel() }, 'bot voice session ready'));
  // DAVE: every re-key of the main channel's MLS group, with the voice privacy code its members now see.
  const group = guild.voice.dave.group(guild.voiceChannelId);
  group.on('transition', ({ epoch }: { epoch: bigint }) => {
    const member = humansOf(guild).find((m) => guild.voice.dave.memberSession(m.id)?.ready);
    const voicePrivacyCode = member ? guild.voice.dave.memberSession(member.id)!.voicePrivacyCode : null;
    logger.info({ guildId: guild.guildId, channelId: group.channelId, epoch: Number(epoch), members: group.memberIds.length, voicePrivacyCode }, 'dave group re-keyed');
  });
}

const stop = async () => {
  clearInterval(timer);
  simConsole.close();
  await sim.close();
  process.exit(0);
};

// What a person types: one command per line (see console.ts); the answers go to stdout.
const simConsole = new SimConsole({
  sim,
  print: (line) => process.stdout.write(`${line}\n`),
  recordDir: values['no-record'] ? null : resolve(values.record),
  shardCount: sim.recommendedShards,
  logger,
  onQuit: () => void stop(),
});
const input = createInterface({ input: process.stdin, terminal: false });
let queue = Promise.resolve();
input.on('line', (line) => {
  queue = queue.then(() => simConsole.run(line));
});
input.on('close', () => {
  void queue.then(() => logger.info('standard input closed; still serving until SIGINT/SIGTERM'));
});

// --speak: in each guild where the bot is in voice, members take turns saying a one-second tone every four seconds.
let timer: NodeJS.Timeout | undefined;
if (values.speak && count > 0) {
  let turn = 0;
  timer = setInterval(() => {
    turn++;
    const hz = 300 + 110 * (turn % 5);
    const pcm = new Int16Array(DISCORD_SAMPLE_RATE * 2);
    for (let i = 0; i < DISCORD_SAMPLE_RATE; i++) pcm[2 * i] = pcm[2 * i + 1] = Math.round(6000 * Math.sin((2 * Math.PI * hz * i) / DISCORD_SAMPLE_RATE));
    for (const guild of sim.guilds) {
      if (!guild.voice.botSession) continue;
      const humans = humansOf(guild);
      const member = humans[(turn - 1) % humans.length]!;
      void member.speak(pcm).then(() => logger.info({ guildId: guild.guildId, member: member.name, hz }, 'member spoke'));
    }
  }, 4000);
}

process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
