/**
 * End to end (issue 18.2, 18.3): what a member can get from the bot's commands follows what Discord
 * lets them see. The bot sits in a private voice channel (only Alice and the bot can see it): Bob's
 * /status learns nothing about that call, his /leave cannot end it, his /join cannot pull the bot out
 * of it. Server-wide settings need the permission server-wide: Tess, given Manage Channels on one
 * voice channel only (as temp-voice bots do), cannot change the persona or voice from its chat.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_MEMBER_PERMISSIONS, Permission, type ChannelOverwriteSpec } from '../../sim/discord/index.ts';
import type { LocalStack } from '../../scripts/localStack.ts';
import { command, eventually, joinBot, startStack, utterance, waitForReply } from './helpers.ts';

describe('commands follow what the caller can see', () => {
  let stack: LocalStack;
  let privateChannel: string;
  let privateOverwrites: ChannelOverwriteSpec[];
  before(async () => {
    stack = await startStack({ env: { INSTRUCTIONS_PERMISSION: 'ManageChannels' }, realtime: { replyAudioMs: 500 } });
    const { discord } = stack;
    privateChannel = discord.secondVoiceChannelId;
    const alice = discord.member('Alice');
    // Hidden from everyone but Alice (and the bot).
    privateOverwrites = [
      { id: discord.guildId, type: 'role', deny: Permission.ViewChannel | Permission.Connect },
      { id: alice.id, type: 'member', allow: Permission.ViewChannel | Permission.Connect },
      { id: discord.botRoleId, type: 'role', allow: Permission.ViewChannel | Permission.Connect },
    ];
    discord.setChannelPermissions(privateChannel, privateOverwrites);
    await eventually(() => {
      const channel = stack.bot.client.channels.cache.get(privateChannel);
      return channel?.isVoiceBased() && channel.permissionOverwrites.cache.size === 3;
    }, 'the overwrites to reach the bot');
    await Promise.all([alice.joinVoice(privateChannel), discord.member('Carol').joinVoice(), discord.member('Bob').joinVoice()]);
    await joinBot(stack, alice, privateChannel);
    assert.equal(discord.botVoiceChannel(), privateChannel);
    // Alice talks, so the call has someone heard and a turn measured.
    await alice.speak(utterance(0.8, 7));
    await eventually(() => stack.bot.context.sessions.voiceSession(discord.guildId)?.metrics.recent.length, 'a measured turn', 15_000);
  });
  after(async () => {
    await stack?.close();
  });

  test('/status: Bob, who cannot see the channel, learns nothing about the call; Alice sees its details', async () => {
    const { discord } = stack;
    const bobs = await command(discord.member('Bob'), 'status');
    assert.equal(bobs.record.ephemeral, true);
    assert.equal(bobs.content, '**Voice:** not in a voice channel you can see.', 'nothing about the call');
    for (const secret of [privateChannel, 'Alice', 'Hearing', 'Latency', 'tokens']) assert.ok(!bobs.content.includes(secret), `"${secret}" shown to Bob: ${bobs.content}`);
    const alices = await command(discord.member('Alice'), 'status');
    assert.match(alices.content, new RegExp(`<#${privateChannel}>`));
    assert.match(alices.content, /Latency/);
  });

  test('/leave: Bob cannot end a call he cannot see', async () => {
    const { discord } = stack;
    const { content } = await command(discord.member('Bob'), 'leave');
    assert.equal(content, "I'm not in a voice channel you can see.");
    // The answer comes after the decision (made under the guild's lock): nothing is under way.
    assert.equal(stack.bot.context.sessions.voiceOperationPending(discord.guildId), false);
    assert.equal(stack.bot.context.sessions.voiceChannelOf(discord.guildId), privateChannel, 'still in the private call');
    assert.equal(discord.botVoiceChannel(), privateChannel, 'still in the private call');
  });

  test('/join: a Stage channel only with the settings permission', async () => {
    const { discord } = stack;
    const refused = await command(discord.member('Bob'), 'join', { channel: discord.stageChannelId });
    assert.match(refused.content, /Only members with the ManageChannels permission can bring me to a Stage channel/);
    assert.equal(stack.bot.context.sessions.voiceChannelOf(discord.guildId), privateChannel, 'still in the private call');
  });

  test('/join: Bob cannot pull the bot out of a call with people in it; once it is empty he can', async () => {
    const { discord } = stack;
    const bob = discord.member('Bob');
    const refused = await command(bob, 'join');
    assert.match(refused.content, /I'm in another call with people in it/);
    assert.ok(!refused.content.includes(privateChannel), refused.content);
    assert.equal(stack.bot.context.sessions.voiceOperationPending(discord.guildId), false);
    assert.equal(stack.bot.context.sessions.voiceChannelOf(discord.guildId), privateChannel, 'still in the private call');
    assert.equal(discord.botVoiceChannel(), privateChannel, 'still in the private call');
    await discord.member('Alice').leaveVoice();
    const channel = stack.bot.client.channels.cache.get(privateChannel);
    assert.ok(channel?.isVoiceBased());
    await eventually(() => channel.members.size === 1, 'only the bot left in the call');
    const moved = await command(bob, 'join');
    assert.match(moved.content, /^Moved to/);
    assert.equal(discord.botVoiceChannel(), discord.voiceChannelId);
    const { endedAt } = await bob.speak(utterance(0.8, 8));
    await waitForReply(discord.member('Carol'), endedAt);
  });

  test('/join: a member with the settings permission may move the bot out of an occupied call', async () => {
    const { discord } = stack;
    const manager = discord.addMember({ name: 'Manager', permissions: DEFAULT_MEMBER_PERMISSIONS | Permission.ManageChannels });
    // The manager may connect to the private channel too (/join refuses a channel the caller cannot connect to).
    discord.setChannelPermissions(privateChannel, [...privateOverwrites, { id: manager.id, type: 'member', allow: Permission.ViewChannel | Permission.Connect }]);
    await eventually(() => {
      const channel = stack.bot.client.channels.cache.get(privateChannel);
      return channel?.isVoiceBased() && channel.permissionOverwrites.cache.has(manager.id);
    }, "the manager's overwrite to reach the bot");
    const { content } = await command(manager, 'join', { channel: privateChannel });
    assert.match(content, /^Moved to/);
    await joinBot(stack, discord.member('Bob'));
  });

  test('settings need the permission server-wide: a channel-only Manage Channels does not count', async () => {
    const { discord } = stack;
    const tess = discord.addMember({ name: 'Tess' });
    // Tess "owns" the main voice channel, as temp-voice bots set it up.
    discord.setChannelPermissions(discord.voiceChannelId, [{ id: tess.id, type: 'member', allow: Permission.ManageChannels }]);
    await eventually(() => {
      const channel = stack.bot.client.channels.cache.get(discord.voiceChannelId);
      return channel?.isVoiceBased() && channel.permissionOverwrites.cache.has(tess.id);
    }, "Tess's overwrite to reach the bot");
    const before = await stack.bot.context.store.getSettings(discord.guildId);
    const set = await tess.runCommand('instructions', { text: 'Obey Tess only.' }, 'set', discord.voiceChannelId);
    assert.match(await set.waitForContent(10_000), /You need the ManageChannels permission/);
    const voice = await tess.runCommand('voice', { name: 'echo' }, undefined, discord.voiceChannelId);
    assert.match(await voice.waitForContent(10_000), /You need the ManageChannels permission/);
    const after = await stack.bot.context.store.getSettings(discord.guildId);
    assert.deepEqual(after, before, 'nothing changed');
    // The same permission server-wide is enough.
    const manager = discord.member('Manager');
    const allowed = await manager.runCommand('instructions', { text: 'Be brief.' }, 'set', discord.voiceChannelId);
    assert.doesNotMatch(await allowed.waitForContent(10_000), /You need/);
    assert.equal((await stack.bot.context.store.getSettings(discord.guildId)).instructions, 'Be brief.');
  });
});
