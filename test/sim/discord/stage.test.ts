/**
 * The local Discord models Stage channels as Discord does (developer docs, Modify Current User Voice
 * State and Modify User Voice State): everyone arrives in the audience, whose audio nobody hears;
 * unsuppressing oneself needs Mute Members, asking to speak needs Request to Speak (which @everyone
 * has by default); a moderator unsuppressing the bot makes it a speaker at once.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { DiscordAPIError } from 'discord.js';
import type { VoiceConnection } from '@discordjs/voice';
import { DEFAULT_BOT_PERMISSIONS, Permission } from '../../../sim/discord/index.ts';
import { eventually, joinVoice, playPcm, sine, startHarness, type Harness } from './helpers.ts';

describe('Stage channels in the local Discord', () => {
  let h: Harness;
  let connection: VoiceConnection;
  const me = () => h.guild.members.me!.voice;
  const state = () => h.sim.guild.voiceStates.get(h.sim.botUserId);

  before(async () => {
    h = await startHarness();
    await h.sim.member('Alice').joinVoice(h.sim.stageChannelId);
    connection = await joinVoice(h, h.sim.stageChannelId);
  });
  after(async () => {
    connection?.destroy();
    await h?.close();
  });

  test('everyone arrives in the audience, and the audience is not heard', async () => {
    await eventually(() => me().suppress === true, 'the bot to see itself suppressed');
    assert.equal(h.sim.guild.voiceStates.get(h.sim.member('Alice').id)?.suppress, true);
    const alice = h.sim.member('Alice');
    alice.clearHeard();
    const startedAt = performance.now();
    await playPcm(connection, sine(300));
    // Nothing of what the bot sent reaches Alice; the check waits for a reply that must not come.
    await assert.rejects(alice.waitForAudio({ minMs: 100, timeoutMs: 1500, after: startedAt }));
  });

  test('unsuppressing oneself without Mute Members is refused (403, 50013); asking to speak is allowed', async () => {
    await assert.rejects(me().setSuppressed(false), (error: unknown) => error instanceof DiscordAPIError && error.status === 403 && error.code === 50013);
    assert.equal(state()?.suppress, true);
    await me().setRequestToSpeak(true);
    await eventually(() => me().requestToSpeakTimestamp !== null, 'the raised hand to reach the bot');
    await me().setRequestToSpeak(false);
    await eventually(() => me().requestToSpeakTimestamp === null, 'the hand lowered');
  });

  test('without Request to Speak, asking is refused', async () => {
    const channel = h.sim.stageChannelId;
    h.sim.setChannelPermissions(channel, [{ id: h.sim.guildId, type: 'role', deny: Permission.RequestToSpeak }]);
    await eventually(() => h.guild.channels.cache.get(channel)?.permissionsFor(h.guild.members.me!)?.has('RequestToSpeak') === false, 'the overwrite to reach the bot');
    await assert.rejects(me().setRequestToSpeak(true), (error: unknown) => error instanceof DiscordAPIError && error.code === 50013);
    h.sim.setChannelPermissions(channel, []);
  });

  test('with Mute Members the bot makes itself a speaker, and is heard', async () => {
    h.sim.setBotPermissions(DEFAULT_BOT_PERMISSIONS | Permission.MuteMembers);
    await eventually(() => h.guild.members.me!.permissions.has('MuteMembers'), 'the permission to reach the bot');
    await me().setSuppressed(false);
    await eventually(() => me().suppress === false, 'the bot to be a speaker');
    const alice = h.sim.member('Alice');
    alice.clearHeard();
    const startedAt = performance.now();
    await playPcm(connection, sine(400));
    await alice.waitForAudio({ minMs: 200, timeoutMs: 5000, after: startedAt });
  });
});
