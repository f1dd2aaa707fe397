import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import type { VoiceConnection } from '@discordjs/voice';
import { ChannelType, Client, Events, GatewayIntentBits, REST, Routes, type ChatInputCommandInteraction, type Guild, type Message, type VoiceState } from 'discord.js';
import { createOpusCodec } from '../../../sim/discord/opus.ts';
import { startDiscordSimulator, trustSimulatorCertificate, type DiscordSimulator, type SimGuild } from '../../../sim/discord/index.ts';
import { eventually, INTENTS, playPcm, sine, voice, zeroCrossingHz } from './helpers.ts';

/** One simulator with three guilds and ONE discord.js client (the real library) in all of them. */
describe('one bot in three guilds', () => {
  let sim: DiscordSimulator;
  let client: Client;
  let rest: REST;
  const cached = (g: SimGuild): Guild => client.guilds.cache.get(g.guildId)!;

  before(async () => {
    trustSimulatorCertificate();
    sim = await startDiscordSimulator({ guilds: 3 });
    client = new Client({ intents: [...INTENTS, GatewayIntentBits.GuildMembers], rest: { api: sim.rest } });
    const ready = once(client, 'clientReady');
    await client.login(sim.token);
    await ready;
    rest = new REST({ api: sim.rest }).setToken(sim.token);
  });
  after(async () => {
    await client?.destroy();
    await sim?.close();
  });

  test('the client has all three guilds, each with its own channels, roles, owner and members', () => {
    assert.equal(sim.guilds.length, 3);
    assert.deepEqual([...client.guilds.cache.keys()].sort(), sim.guilds.map((g) => g.guildId).sort());
    const allMemberIds: string[] = [];
    const allChannelIds: string[] = [];
    for (const g of sim.guilds) {
      const guild = cached(g);
      assert.equal(guild.name, g.index === 0 ? 'Simulated Guild' : `Simulated Guild ${g.index + 1}`);
      assert.equal(guild.channels.cache.get(g.textChannelId)?.type, ChannelType.GuildText);
      assert.equal(guild.channels.cache.get(g.voiceChannelId)?.name, 'Voice');
      assert.equal(guild.channels.cache.get(g.secondVoiceChannelId)?.name, 'Second Voice');
      assert.equal(guild.channels.cache.get(g.stageChannelId)?.type, ChannelType.GuildStageVoice);
      assert.equal(guild.channels.cache.size, 4);
      assert.ok(guild.roles.cache.has(g.botRoleId) && guild.roles.cache.has(g.memberRoleId));
      assert.equal(guild.ownerId, g.member('Owner').id);
      assert.ok(guild.members.me, 'the bot member is cached in every guild');
      assert.deepEqual(g.members().map((m) => m.name), ['Owner', 'Alice', 'Bob', 'Carol']);
      for (const member of g.members()) {
        assert.equal(guild.members.cache.get(member.id)?.displayName, member.name);
        allMemberIds.push(member.id);
      }
      assert.equal(guild.members.cache.size, 5, 'four humans and the bot');
      allChannelIds.push(...guild.channels.cache.keys());
    }
    assert.equal(new Set(allMemberIds).size, 12, 'member ids are unique across guilds');
    assert.equal(new Set(allChannelIds).size, 12, 'channel ids are unique across guilds');
  });

  test('the single-guild API refers to the first guild', () => {
    const first = sim.guilds[0]!;
    assert.equal(sim.guild, first.guild);
    assert.equal(sim.guildId, first.guildId);
    assert.equal(sim.textChannelId, first.textChannelId);
    assert.equal(sim.voiceChannelId, first.voiceChannelId);
    assert.equal(sim.secondVoiceChannelId, first.secondVoiceChannelId);
    assert.equal(sim.botRoleId, first.botRoleId);
    assert.equal(sim.memberRoleId, first.memberRoleId);
    assert.equal(sim.voice, first.voice);
    assert.equal(sim.faults, first.faults);
    assert.equal(sim.member('Alice'), first.member('Alice'));
    assert.deepEqual(sim.members(), first.members());
    assert.notEqual(sim.guilds[1]!.voice, first.voice, 'each guild has its own voice hub');
    assert.equal(sim.member(sim.guilds[2]!.member('Bob').id), sim.guilds[2]!.member('Bob'), 'members of other guilds by id');
  });

  test('REST reads and op 8 answer for the guild that owns the id; unknown ids answer 404', async () => {
    const [, second, third] = sim.guilds as [SimGuild, SimGuild, SimGuild];
    const channels = (await rest.get(Routes.guildChannels(second.guildId))) as { id: string; guild_id: string }[];
    assert.deepEqual(channels.map((c) => c.id).sort(), [second.textChannelId, second.voiceChannelId, second.secondVoiceChannelId, second.stageChannelId].sort());
    assert.ok(channels.every((c) => c.guild_id === second.guildId));
    const channel = (await rest.get(Routes.channel(third.voiceChannelId))) as { guild_id: string };
    assert.equal(channel.guild_id, third.guildId);
    const alice = (await rest.get(Routes.guildMember(second.guildId, second.member('Alice').id))) as { user: { id: string } };
    assert.equal(alice.user.id, second.member('Alice').id);
    await assert.rejects(rest.get(Routes.guildMember(second.guildId, third.member('Alice').id)), (e: Error & { code?: number }) => e.code === 10007);
    await assert.rejects(rest.get(Routes.guild('1234')), (e: Error & { status?: number; code?: number }) => e.status === 404 && e.code === 10004);
    await assert.rejects(rest.get(Routes.channel('1234')), (e: Error & { code?: number }) => e.code === 10003);

    const fetched = await cached(third).members.fetch(); // op 8 → GUILD_MEMBERS_CHUNK
    assert.deepEqual([...fetched.keys()].sort(), [...third.guild.members.keys()].sort());
    assert.ok(fetched.every((m) => m.guild.id === third.guildId));
  });

  test('dispatches carry the guild id: member add, channel update, a member joining voice', async () => {
    const [first, second, third] = sim.guilds as [SimGuild, SimGuild, SimGuild];
    const added = once(client, Events.GuildMemberAdd);
    const dave = second.addMember({ name: 'Dave' });
    const [member] = (await added) as [{ id: string; guild: Guild }];
    assert.equal(member.id, dave.id);
    assert.equal(member.guild.id, second.guildId);
    assert.ok(!cached(first).members.cache.has(dave.id));

    const updated = once(client, Events.ChannelUpdate);
    sim.setUserLimit(third.voiceChannelId, 2); // the legacy method finds the channel's guild
    const [, channel] = (await updated) as [unknown, { id: string; guildId: string; userLimit: number }];
    assert.equal(channel.id, third.voiceChannelId);
    assert.equal(channel.guildId, third.guildId);
    assert.equal(channel.userLimit, 2);
    third.setUserLimit(third.voiceChannelId, 0);
    await once(client, Events.ChannelUpdate);

    const bob = third.member('Bob');
    const joined = new Promise<VoiceState>((resolve) => client.on(Events.VoiceStateUpdate, (_old, state) => state.id === bob.id && state.channelId && resolve(state)));
    await bob.joinVoice();
    const state = await joined;
    assert.equal(state.guild.id, third.guildId);
    assert.equal(state.channelId, third.voiceChannelId);
    assert.equal(third.voiceStates().get(bob.id), third.voiceChannelId);
    assert.ok(!sim.voiceStates().has(bob.id), 'not a voice state of the first guild');
    await bob.leaveVoice();
  });

  describe('voice in two guilds at the same time', () => {
    const connections: VoiceConnection[] = [];
    before(async () => {
      for (const g of sim.guilds.slice(0, 2)) {
        await g.member('Alice').joinVoice();
        const guild = cached(g);
        connections.push(voice.joinVoiceChannel({ channelId: g.voiceChannelId, guildId: guild.id, adapterCreator: guild.voiceAdapterCreator, selfDeaf: false }));
      }
      await Promise.all(connections.map((c) => voice.entersState(c, voice.VoiceConnectionStatus.Ready, 10_000)));
      // Routing is the point here, not the DAVE group founding: a member's frames sent between the
      // bot's Welcome and the transition's execution are refused by davey, so wait until it is done.
      await eventually(() => sim.guilds.slice(0, 2).every((g, i) => connections[i]!.voicePrivacyCode !== undefined && !g.voice.dave.group(g.voiceChannelId).busy), 'both DAVE groups');
    });
    after(() => {
      for (const connection of connections) if (connection.state.status !== voice.VoiceConnectionStatus.Destroyed) connection.destroy();
    });

    test('each guild has its own bot voice session on its own voice server', () => {
      const [first, second, third] = sim.guilds as [SimGuild, SimGuild, SimGuild];
      assert.equal(first.botVoiceChannel(), first.voiceChannelId);
      assert.equal(second.botVoiceChannel(), second.voiceChannelId);
      assert.equal(third.botVoiceChannel(), null);
      assert.ok(first.voice.botSession && second.voice.botSession);
      assert.notEqual(first.voice.botSession, second.voice.botSession);
      assert.notEqual(first.voice.botServer!.port, second.voice.botServer!.port);
      assert.equal(cached(second).members.me?.voice.channelId, second.voiceChannelId);
      assert.equal(cached(third).members.me?.voice.channelId ?? null, null);
    });

    test("the bot receives each guild's member only on that guild's connection", async () => {
      const alices = sim.guilds.slice(0, 2).map((g) => g.member('Alice'));
      const tones = [440, 880];
      const ssrcsSeen = connections.map(() => new Set<number>());
      const udpSockets = connections.map((c, i) => {
        const udp = (c.state as any).networking.state.udp;
        const onMessage = (msg: Buffer) => msg.length > 12 && ssrcsSeen[i]!.add(msg.readUInt32BE(8));
        udp.on('message', onMessage);
        return { udp, onMessage };
      });
      const received = connections.map((c, i) => {
        const stream = c.receiver.subscribe(alices[i]!.id, { end: { behavior: voice.EndBehaviorType.Manual } });
        const codec = createOpusCodec();
        const chunks: Int16Array[] = [];
        stream.on('data', (opus: Buffer) => {
          const pcm = codec.decode(opus);
          chunks.push(new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength)));
        });
        return { stream, chunks };
      });
      await Promise.all(alices.map((alice, i) => alice.speak(sine(1000, tones[i]))));
      await eventually(() => received.every((r) => r.chunks.length >= 50), 'both connections to receive 50 packets from their Alice', 10_000);
      for (const { udp, onMessage } of udpSockets) udp.off('message', onMessage);
      for (const { stream } of received) stream.destroy();

      for (let i = 0; i < 2; i++) {
        const own = alices[i]!;
        const other = alices[1 - i]!;
        assert.ok(ssrcsSeen[i]!.has(own.ssrc), `connection ${i} got RTP from its guild's Alice`);
        assert.ok(!ssrcsSeen[i]!.has(other.ssrc), `connection ${i} got no RTP from the other guild's Alice`);
        assert.equal(connections[i]!.receiver.ssrcMap.get(own.ssrc)?.userId, own.id);
        assert.equal(connections[i]!.receiver.ssrcMap.get(other.ssrc), undefined);
        const pcm = Int16Array.from(received[i]!.chunks.flatMap((c) => [...c]));
        assert.ok(Math.abs(zeroCrossingHz(pcm.subarray(0, 96_000)) - tones[i]!) < 20, `connection ${i} heard ${zeroCrossingHz(pcm)} Hz`);
      }
    });

    test("a member hears the bot only from its own guild's connection", async () => {
      const alices = sim.guilds.map((g) => g.member('Alice'));
      await alices[2]!.joinVoice(); // in voice in the third guild, where the bot is not
      for (const alice of alices) alice.clearHeard();
      const tones = [440, 880];
      const t = performance.now();
      await Promise.all(connections.map((c, i) => playPcm(c, sine(1000, tones[i]))));
      for (let i = 0; i < 2; i++) {
        const alice = alices[i]!;
        await alice.waitForAudio({ minMs: 900, timeoutMs: 5000, after: t });
        const { pcm, packets } = alice.heard();
        assert.ok(packets.length <= 55, `${packets.length} packets: one playback (50 frames + 5 silence), not both`);
        assert.ok(Math.abs(zeroCrossingHz(pcm) - tones[i]!) < 20, `Alice of guild ${i} heard ${zeroCrossingHz(pcm)} Hz`);
      }
      assert.equal(alices[2]!.heard().packets.length, 0, 'the third guild has no bot in voice');
      await alices[2]!.leaveVoice();
    });

    test("a guild's voice fault and leaving voice affect that guild only", async () => {
      const [first, second] = sim.guilds as [SimGuild, SimGuild];
      const firstSession = first.voice.botSession!;
      const resumesBefore = firstSession.stats.resumes;
      const before = second.voice.botSession!;
      second.faults.closeVoice(4015);
      const resumed = await second.voice.waitForBotReady();
      assert.equal(resumed, before);
      assert.equal(resumed.stats.resumes, 1);
      assert.equal(first.voice.botSession, firstSession);
      assert.equal(firstSession.stats.resumes, resumesBefore);

      connections[1]!.destroy(); // op 4 with channel null for the second guild only
      await eventually(() => second.botVoiceChannel() === null, "the bot's voice state in the second guild to be cleared");
      assert.equal(first.botVoiceChannel(), first.voiceChannelId);
      assert.equal(connections[0]!.state.status, voice.VoiceConnectionStatus.Ready);
    });
  });

  describe('commands and messages per guild', () => {
    const seen: ChatInputCommandInteraction[] = [];
    const ids = { ping: '', local: '' };
    before(async () => {
      const app = sim.applicationId;
      const second = sim.guilds[1]!;
      const global = (await rest.put(Routes.applicationCommands(app), { body: [{ name: 'ping', description: 'Ping' }] })) as { id: string }[];
      const local = (await rest.put(Routes.applicationGuildCommands(app, second.guildId), { body: [{ name: 'local', description: 'Local' }] })) as { id: string }[];
      ids.ping = global[0]!.id;
      ids.local = local[0]!.id;
      client.on(Events.InteractionCreate, (interaction) => {
        if (!interaction.isChatInputCommand()) return;
        seen.push(interaction);
        void (async () => {
          await interaction.deferReply();
          await interaction.editReply(`${interaction.commandName} from ${interaction.guild?.name}`);
        })();
      });
    });

    test("a slash command run by a member of the second guild carries that guild's ids and its reply is recorded", async () => {
      const second = sim.guilds[1]!;
      const bob = second.member('Bob');
      const record = await bob.runCommand('ping');
      assert.equal(await record.waitForContent(), 'ping from Simulated Guild 2');
      const interaction = seen.find((i) => i.id === record.id)!;
      assert.equal(interaction.guildId, second.guildId);
      assert.equal(interaction.channelId, second.textChannelId);
      assert.equal(interaction.user.id, bob.id);
      assert.equal(interaction.member && 'displayName' in interaction.member ? interaction.member.displayName : '', 'Bob');
      assert.equal(interaction.commandId, ids.ping);
      assert.equal(interaction.commandGuildId, null, 'a global command has no guild_id in its data');
      assert.equal(record.guildId, second.guildId);
      assert.equal(record.channelId, second.textChannelId);
      assert.equal(record.callback?.type, 5);
      assert.deepEqual(record.requests.map((r) => r.method), ['POST', 'PATCH']);
      assert.ok(sim.recorded.interactions.includes(record));
      const reply = await interaction.fetchReply();
      assert.equal(reply.channelId, second.textChannelId, 'the response message is in the channel of the command');
    });

    test('a guild command applies to its guild only; global commands to every guild', async () => {
      const [first, second, third] = sim.guilds as [SimGuild, SimGuild, SimGuild];
      const local = await second.member('Carol').runCommand('local');
      assert.equal(await local.waitForContent(), 'local from Simulated Guild 2');
      const localInteraction = seen.find((i) => i.id === local.id)!;
      assert.equal(localInteraction.commandId, ids.local);
      assert.equal(localInteraction.commandGuildId, second.guildId);

      const elsewhere = await first.member('Carol').runCommand('local');
      await elsewhere.waitForContent();
      assert.notEqual(seen.find((i) => i.id === elsewhere.id)!.commandId, ids.local, "the second guild's command is not the first guild's");

      const ping = await third.member('Alice').runCommand('ping');
      assert.equal(await ping.waitForContent(), 'ping from Simulated Guild 3');
      const pingInteraction = seen.find((i) => i.id === ping.id)!;
      assert.equal(pingInteraction.guildId, third.guildId);
      assert.equal(pingInteraction.commandId, ids.ping);
    });

    test('a message in the third guild reaches the bot with its ids and the reply is posted there', async () => {
      const third = sim.guilds[2]!;
      const carol = third.member('Carol');
      const arrived = new Promise<Message>((resolve) => client.on(Events.MessageCreate, (m) => m.author.id === carol.id && resolve(m)));
      const sent = await carol.say('hello', { mentionBot: true });
      const message = await arrived;
      assert.equal(message.guildId, third.guildId);
      assert.equal(message.channelId, third.textChannelId);
      assert.equal(message.member?.displayName, 'Carol');
      const reply = await message.reply('Hi Carol');
      assert.equal(reply.guildId, third.guildId);
      assert.equal((await sent.waitForReply()).content, 'Hi Carol');
      assert.equal(sim.recorded.messages.at(-1)?.path, `/channels/${third.textChannelId}/messages`);
    });
  });
});

test('the CLI with --guilds lists every guild in its JSON line, and a client gets them all', async () => {
  const child = spawn(process.execPath, ['bin/run.mjs', 'sim/discord/cli.ts', '--json', '--guilds', '3', '--members', '2'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let client: Client | undefined;
  try {
    const [first] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    const info = JSON.parse(first);
    assert.equal(info.guilds.length, 3);
    assert.equal(info.guilds[0].guildId, info.guildId);
    assert.equal(info.guilds[0].voiceChannelId, info.voiceChannelId);
    assert.equal(new Set(info.guilds.map((g: { guildId: string }) => g.guildId)).size, 3);
    for (const g of info.guilds) assert.deepEqual(g.members.map((m: { name: string }) => m.name), ['Alice', 'Bob']);
    assert.equal(new Set(info.guilds.flatMap((g: { members: { id: string }[] }) => g.members.map((m) => m.id))).size, 6);
    client = new Client({ intents: INTENTS, rest: { api: info.rest } });
    const ready = once(client, 'clientReady');
    await client.login(info.token);
    await ready;
    assert.deepEqual([...client.guilds.cache.keys()].sort(), info.guilds.map((g: { guildId: string }) => g.guildId).sort());
  } finally {
    await client?.destroy();
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
});
