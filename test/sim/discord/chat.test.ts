import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { ChannelType, Events, MessageFlags, PermissionFlagsBits, REST, Routes, type ChatInputCommandInteraction, type Message } from 'discord.js';
import { DEFAULT_BOT_PERMISSIONS, EPHEMERAL, Permission } from '../../../sim/discord/index.ts';
import { startHarness, voice, type Harness } from './helpers.ts';

describe('text, slash commands and REST', () => {
  let h: Harness;
  const handlers = new Map<string, (i: ChatInputCommandInteraction) => Promise<void>>();
  before(async () => {
    h = await startHarness();
    h.client.on(Events.InteractionCreate, (interaction) => {
      if (interaction.isChatInputCommand()) void handlers.get(interaction.commandName)?.(interaction);
    });
  });
  after(async () => {
    await h?.close();
  });

  test('the guild arrives with channels, members (display names), roles, permissions and user limits', async () => {
    const { guild, sim } = h;
    assert.equal(guild.channels.cache.get(sim.voiceChannelId)?.type, ChannelType.GuildVoice);
    assert.equal(guild.channels.cache.get(sim.textChannelId)?.type, ChannelType.GuildText);
    assert.equal(guild.members.cache.get(sim.member('Alice').id)?.displayName, 'Alice');
    assert.ok(guild.members.me, 'the bot member is cached');
    const me = guild.members.me!;
    assert.ok(guild.channels.cache.get(sim.voiceChannelId)!.permissionsFor(me).has(PermissionFlagsBits.Connect));
    sim.setUserLimit(sim.voiceChannelId, 2);
    await once(h.client, Events.ChannelUpdate);
    const channel = guild.channels.cache.get(sim.voiceChannelId);
    assert.equal(channel?.type === ChannelType.GuildVoice ? channel.userLimit : -1, 2);
    sim.setUserLimit(sim.voiceChannelId, 0);
    await once(h.client, Events.ChannelUpdate);
  });

  test('command registration is recorded and answered with ids', async () => {
    const rest = new REST({ api: h.sim.rest }).setToken(h.sim.token);
    const body = [{ name: 'status', description: 'Show status' }, { name: 'join', description: 'Join', options: [{ type: 7, name: 'channel', description: 'c' }] }];
    const created = (await rest.put(Routes.applicationGuildCommands(h.sim.applicationId, h.sim.guildId), { body })) as { id: string; name: string }[];
    assert.deepEqual(created.map((c) => c.name), ['status', 'join']);
    assert.ok(created.every((c) => /^\d+$/.test(c.id)));
    await rest.put(Routes.applicationCommands(h.sim.applicationId), { body: [] });
    assert.deepEqual(h.sim.recorded.commands.map((r) => r.path), [`/applications/${h.sim.applicationId}/guilds/${h.sim.guildId}/commands`, `/applications/${h.sim.applicationId}/commands`]);
  });

  test('reply with ephemeral flag', async () => {
    handlers.set('status', async (i) => {
      assert.equal(i.member && 'displayName' in i.member ? i.member.displayName : '', 'Bob');
      assert.ok(i.memberPermissions?.has(PermissionFlagsBits.Connect));
      assert.ok(i.appPermissions.has(PermissionFlagsBits.SendMessages));
      await i.reply({ content: 'All good', flags: MessageFlags.Ephemeral });
    });
    const record = await h.sim.member('Bob').runCommand('status');
    const callback = await record.waitForResponse();
    assert.equal(callback.type, 4);
    assert.equal(record.content, 'All good');
    assert.equal(record.ephemeral, true);
    assert.equal(callback.data.flags & EPHEMERAL, EPHEMERAL);
  });

  test('deferReply, editReply and followUp, with a channel option resolved', async () => {
    handlers.set('join', async (i) => {
      await i.deferReply();
      const channel = i.options.getChannel('channel', true);
      await i.editReply(`Joining ${channel.name}`);
      await i.followUp({ content: 'Connected', flags: MessageFlags.Ephemeral });
    });
    const record = await h.sim.member('Alice').runCommand('join', { channel: h.sim.secondVoiceChannelId });
    await record.waitFor((r) => r.followUps.length === 1);
    assert.equal(record.callback?.type, 5);
    assert.equal(record.content, 'Joining Second Voice');
    assert.equal(record.followUps[0]!.content, 'Connected');
    assert.equal(record.followUps[0]!.flags, EPHEMERAL);
    assert.deepEqual(record.requests.map((r) => r.method), ['POST', 'PATCH', 'POST']);
  });

  test('subcommands with typed options', async () => {
    handlers.set('instructions', async (i) => {
      await i.reply(`${i.options.getSubcommand()}:${i.options.getString('text')}:${i.options.getInteger('n')}:${i.options.getBoolean('b')}`);
    });
    const record = await h.sim.member('Carol').runCommand('instructions', { text: 'Be brief', n: 3, b: true }, 'set');
    assert.equal(await record.waitForContent(), 'set:Be brief:3:true');
  });

  test('a callback after the 3 s deadline is refused (Unknown interaction) and marked expired', async () => {
    handlers.set('slow', async (i) => {
      await new Promise((r) => setTimeout(r, 3100));
      await i.reply('too late').catch(() => {});
    });
    const record = await h.sim.member('Bob').runCommand('slow');
    await record.waitFor((r) => r.requests.length === 1, 6000);
    assert.equal(record.expired, true);
    assert.equal(record.requests[0]!.status, 404);
    assert.equal(record.acknowledged, false);
  });

  test('a message mentioning the bot carries content and mentions; reply, edit and typing are recorded', async () => {
    const messages: Message[] = [];
    const onMessage = (m: Message) => void messages.push(m);
    h.client.on(Events.MessageCreate, onMessage);
    const seen = new Promise<Message>((resolve) => h.client.once(Events.MessageCreate, resolve));
    const sent = await h.sim.member('Alice').say('hello there', { mentionBot: true });
    const message = await seen;
    assert.equal(message.content, `<@${h.sim.botUserId}> hello there`);
    assert.ok(message.mentions.users.has(h.sim.botUserId));
    assert.equal(message.member?.displayName, 'Alice');
    assert.ok(message.channel.isSendable());
    await message.channel.sendTyping();
    const reply = await message.reply({ content: 'Hi Alice', allowedMentions: { repliedUser: false } });
    await reply.edit('Hi Alice!');
    const final = await sent.waitForReply((r) => r.content === 'Hi Alice!');
    assert.deepEqual(final.history, ['Hi Alice', 'Hi Alice!']);
    assert.deepEqual(h.sim.recorded.messages.map((r) => `${r.method} ${r.path.replace(/\d+/g, 'N')}`), ['POST /channels/N/typing', 'POST /channels/N/messages', 'PATCH /channels/N/messages/N']);
    const post = h.sim.recorded.messages[1]!;
    assert.equal(post.body.message_reference.message_id, sent.id);
    assert.deepEqual(post.body.allowed_mentions.replied_user, false);
    h.client.off(Events.MessageCreate, onMessage);
    assert.ok(messages.some((m) => m.author.id === h.sim.botUserId), 'the bot receives its own message too');
  });

  test('without MessageContent, content of messages that do not mention the bot is blank', async () => {
    const seen = new Promise<Message>((resolve) => h.client.once(Events.MessageCreate, resolve));
    await h.sim.member('Bob').say('just chatting');
    assert.equal((await seen).content, '');
  });

  test('unknown routes answer 404 JSON and are recorded; missing permissions answer 403', async () => {
    const rest = new REST({ api: h.sim.rest }).setToken(h.sim.token);
    await assert.rejects(rest.get('/nope/123' as `/${string}`), (e: Error & { status?: number; code?: number }) => e.status === 404 && e.code === 0);
    assert.ok(h.sim.recorded.routes.some((r) => r.path === '/nope/123' && r.status === 404));
    h.sim.setBotPermissions(DEFAULT_BOT_PERMISSIONS & ~Permission.SendMessages);
    await once(h.client, Events.GuildRoleUpdate);
    await assert.rejects(rest.post(Routes.channelMessages(h.sim.textChannelId), { body: { content: 'x' } }), (e: Error & { code?: number }) => e.code === 50013);
    h.sim.setBotPermissions(DEFAULT_BOT_PERMISSIONS);
    await once(h.client, Events.GuildRoleUpdate);
  });

  test('a join to a full channel or without Connect is refused (no voice state, no server update)', async () => {
    h.sim.setChannelPermissions(h.sim.secondVoiceChannelId, [{ id: h.sim.botUserId, type: 'member', deny: Permission.Connect }]);
    await once(h.client, Events.ChannelUpdate);
    const connection = voice.joinVoiceChannel({ channelId: h.sim.secondVoiceChannelId, guildId: h.sim.guildId, adapterCreator: h.guild.voiceAdapterCreator, selfDeaf: false });
    const [reason] = await once(h.sim.voice, 'refusedJoin');
    assert.equal(reason, 'missing-permissions');
    assert.equal(connection.state.status, voice.VoiceConnectionStatus.Signalling);
    connection.destroy();
    assert.equal(h.sim.botVoiceChannel(), null);
  });
});
