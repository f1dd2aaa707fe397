/**
 * End to end (issue 18.7, Stage channels): the local Discord models a Stage as Discord does — everyone
 * arrives in the audience (suppressed, not heard), asking to speak needs Request to Speak, becoming a
 * speaker oneself needs Mute Members, a moderator's invite makes a bot a speaker at once. The bot
 * brought to a Stage listens, raises its hand, answers nobody until invited, and then speaks; a bot
 * that is a Stage moderator makes itself a speaker; moved back to the audience, it stops and does not
 * ask again.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_BOT_PERMISSIONS, DEFAULT_MEMBER_PERMISSIONS, Permission, type SimulatedMember } from '../../sim/discord/index.ts';
import type { LocalStack } from '../../scripts/localStack.ts';
import { botSeesVoiceState, command, eventually, joinBot, received, startStack, utterance, voiceSession, waitForReply } from './helpers.ts';

describe('Stage channels', () => {
  let stack: LocalStack;
  let manager: SimulatedMember;
  let alice: SimulatedMember;
  let carol: SimulatedMember;
  const botState = () => stack.discord.guild.voiceStates.get(stack.discord.botUserId);

  before(async () => {
    stack = await startStack({ env: { VOICE_ADDRESSING: 'always', INSTRUCTIONS_PERMISSION: 'ManageChannels' }, realtime: { replyAudioMs: 400 } });
    const { discord } = stack;
    manager = discord.addMember({ name: 'Manager', permissions: DEFAULT_MEMBER_PERMISSIONS | Permission.ManageChannels });
    alice = discord.member('Alice');
    carol = discord.member('Carol');
    await Promise.all([alice.joinVoice(discord.stageChannelId), carol.joinVoice(discord.stageChannelId)]);
    discord.moderateVoice({ suppress: false }, alice.id); // Alice is a speaker; Carol listens in the audience
    await botSeesVoiceState(stack, carol, discord.stageChannelId);
  });
  after(async () => {
    await stack?.close();
  });

  test('arrives in the audience, asks to speak, answers nobody until a moderator invites it', async () => {
    const { discord } = stack;
    await joinBot(stack, manager, discord.stageChannelId);
    const session = voiceSession(stack);
    await eventually(() => botState()?.suppress === true && botState()?.requestToSpeakAt, 'the bot to raise its hand');
    await eventually(() => session.silenced === 'in the Stage audience, asked to speak', 'the bot to see its raised hand');
    assert.match((await command(manager, 'status')).content, /in the Stage audience, asked to speak: I listen but don't speak/);

    // Alice speaks: her turn is kept, no answer is asked for (nobody would hear it, and it costs).
    const since = Date.now();
    const committed = once(session.conversation.realtime, 'input_committed');
    await alice.speak(utterance(0.8, 31));
    await committed;
    assert.equal(session.turnState.status, 'idle');
    assert.deepEqual(received(stack, 'response.create', since), [], 'no response requested in the audience');

    // A moderator invites the bot: a bot becomes a speaker at once, and answers.
    discord.moderateVoice({ suppress: false });
    await eventually(() => session.silenced === null, 'the bot to see it may speak');
    assert.equal(botState()?.requestToSpeakAt, null);
    const turn = await alice.speak(utterance(0.8, 32));
    await waitForReply(carol, turn.endedAt);
  });

  test('a bot that is a Stage moderator (Mute Members) makes itself a speaker; moved back to the audience, it stops and does not ask again', async () => {
    const { discord } = stack;
    await command(manager, 'leave');
    await eventually(() => discord.botVoiceChannel() === null, 'the bot to leave the Stage');
    discord.setBotPermissions(DEFAULT_BOT_PERMISSIONS | Permission.MuteMembers);
    await eventually(() => stack.bot.client.guilds.cache.get(discord.guildId)?.members.me?.permissions.has('MuteMembers'), 'the new permission to reach the bot');
    await joinBot(stack, manager, discord.stageChannelId);
    const session = voiceSession(stack);
    await eventually(() => botState()?.suppress === false, 'the bot to make itself a speaker');
    assert.equal(botState()?.requestToSpeakAt, null, 'no hand raised: it did not need to ask');
    await eventually(() => session.silenced === null, 'the bot to see it may speak');
    const turn = await alice.speak(utterance(0.8, 33));
    await waitForReply(carol, turn.endedAt);

    // A moderator moves it back to the audience: it respects that (no new request, no self-unsuppress).
    const patchesBefore = discord.recorded.routes.filter((r) => r.method === 'PATCH' && r.path.includes('/voice-states/')).length;
    discord.moderateVoice({ suppress: true });
    await eventually(() => session.silenced !== null, 'the bot to see it is in the audience again');
    assert.match((await command(manager, 'status')).content, /suppressed \(in the Stage audience\)/);
    assert.equal(botState()?.suppress, true);
    assert.equal(discord.recorded.routes.filter((r) => r.method === 'PATCH' && r.path.includes('/voice-states/')).length, patchesBefore, 'it did not ask again');
  });
});
