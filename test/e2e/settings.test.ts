/**
 * End to end: /settings with the real bot on the local Discord and the realtime simulator — admin
 * only, clear errors for bad input, addressing and wake names applied to the conversation in
 * progress, turn detection sent to the live model session, role restrictions on who is heard and
 * who may /join, the consent notice switched off or replaced, and every choice (with /privacy
 * opt-outs) still there after a restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LocalStack } from '../../scripts/localStack.ts';
import { DEFAULT_MEMBER_PERMISSIONS } from '../../sim/discord/permissions.ts';
import { botSettled, command, eventually, joinBot, received, startStack, utterance, voiceSession, waitForReply } from './helpers.ts';

describe('/settings', () => {
  let stack: LocalStack;
  let danaRoleId: string;
  before(async () => {
    stack = await startStack({ realtime: { replyAudioMs: 600 } });
    stack.discord.addMember({ name: 'Dana', permissions: DEFAULT_MEMBER_PERMISSIONS }); // a role of her own
    danaRoleId = [...stack.discord.guilds[0]!.guild.roles.entries()].find(([, role]) => role.name === 'Dana role')![0];
    await Promise.all(['Alice', 'Carol', 'Dana'].map((name) => stack.discord.member(name).joinVoice()));
    await joinBot(stack, stack.discord.member('Alice'));
  });
  after(async () => {
    await stack?.close();
  });
  const member = (name: string) => stack.discord.member(name);
  const owner = () => member('Owner');
  const voiceNotices = () => [...stack.discord.botMessages.byId.values()].filter((message) => message.channelId === stack.discord.voiceChannelId);

  /** `name` says something scripted as `text`; resolves with whether a reply was heard (after the bot settled). */
  async function saidAndAnswered(name: string, text: string, seed: number): Promise<boolean> {
    await botSettled(stack);
    const session = voiceSession(stack);
    const { addressed, notAddressed } = session.addressing;
    stack.realtime!.scriptTranscript(text);
    const { endedAt } = await member(name).speak(utterance(0.8, seed));
    await eventually(() => session.addressing.addressed + session.addressing.notAddressed > addressed + notAddressed, `a decision on "${text}"`);
    const answered = session.addressing.addressed > addressed;
    if (answered) await waitForReply(member('Carol'), endedAt);
    await botSettled(stack);
    return answered;
  }

  test('a plain member cannot change settings; bad input gets a clear error and changes nothing', async () => {
    const refused = await command(member('Alice'), 'settings', { mode: 'name' }, 'addressing');
    assert.equal(refused.record.ephemeral, true);
    assert.match(refused.content, /You need the ManageGuild permission/);
    assert.match((await command(owner(), 'settings', { wake_names: ' , ;' }, 'addressing')).content, /at least one name/);
    assert.match((await command(owner(), 'settings', { wake_names: 'x' }, 'addressing')).content, /at least two letters/);
    assert.match((await command(owner(), 'settings', {}, 'addressing')).content, /Give a mode, wake names or a follow-up window/);
    assert.match((await command(owner(), 'settings', { type: 'server_vad', eagerness: 'high' }, 'turn-detection')).content, /Eagerness is a semantic_vad setting/);
    assert.match((await command(owner(), 'settings', { type: 'server_vad', silence_ms: 50 }, 'turn-detection')).content, /silence_ms is 200 to 3000/);
    assert.match((await command(owner(), 'settings', { type: 'bogus' }, 'turn-detection')).content, /The type is server_vad, semantic_vad or default/);
    const room = await stack.bot.context.store.rooms.getRoomSettings(stack.discord.guildId);
    assert.equal(room.addressing, null);
    assert.equal(room.wakeNames, null);
    assert.equal((await stack.bot.context.store.getSettings(stack.discord.guildId)).turnDetection, null);
  });

  test('addressing and wake names apply to the conversation in progress', async () => {
    assert.equal(await saidAndAnswered('Alice', 'just talking to myself', 21), true, 'always (the local default) answers');
    const { content } = await command(owner(), 'settings', { mode: 'name', wake_names: 'Jarvis, Computer', follow_up_seconds: 0.5 }, 'addressing');
    assert.match(content, /Saved/);
    assert.match(content, /\*\*Addressing:\*\* name — wake names: Jarvis, Computer; follow-up window 0.5 s/);
    assert.equal(await saidAndAnswered('Alice', 'hello there everyone', 22), false);
    assert.equal(await saidAndAnswered('Alice', 'Computer, what time is it?', 23), true);
    assert.equal(await saidAndAnswered('Alice', 'Realtime Bot, are you there?', 24), false, 'the display name is no longer a wake name');
  });

  test('turn detection goes to the live model session at once', async () => {
    const since = Date.now();
    const { content } = await command(owner(), 'settings', { type: 'semantic_vad', eagerness: 'high' }, 'turn-detection');
    assert.match(content, /applied to the conversation in progress/);
    assert.match(content, /\*\*Turn detection:\*\* semantic VAD, eagerness high/);
    const update = await eventually(() => received(stack, 'session.update', since).at(-1), 'a session.update');
    const td = (update.event as any).session.audio.input.turn_detection;
    assert.equal(td.type, 'semantic_vad');
    assert.equal(td.eagerness, 'high');
    assert.equal(stack.realtime!.sessions.at(-1)!.config.turnDetection?.type, 'semantic_vad', 'the service took it');
    await command(owner(), 'settings', { type: 'server_vad', silence_ms: 600 }, 'turn-detection');
    await eventually(() => stack.realtime!.sessions.at(-1)!.config.turnDetection?.type === 'server_vad', 'server VAD back');
  });

  test('noise reduction: switched on in the live session; switching it off waits for the next session', async () => {
    const on = await command(owner(), 'settings', { mode: 'far_field' }, 'noise-reduction');
    assert.match(on.content, /Saved and applied to the conversation in progress/);
    assert.match(on.content, /\*\*Noise reduction:\*\* far_field/);
    await eventually(() => stack.realtime!.sessions.at(-1)!.config.noiseReduction === 'far_field', 'the service to take far_field');
    const off = await command(owner(), 'settings', { mode: 'off' }, 'noise-reduction');
    assert.match(off.content, /takes effect in the next model session/);
    assert.equal((await stack.bot.context.store.rooms.getRoomSettings(stack.discord.guildId)).noiseReduction, null);
  });

  test('roles: only members with a heard role reach the model; only join roles may /join', async () => {
    await command(owner(), 'settings', { mode: 'always' }, 'addressing');
    const { content } = await command(owner(), 'settings', { list: 'heard', action: 'add', role: danaRoleId }, 'roles');
    assert.match(content, /\*\*Heard:\*\* @Dana role/);
    await botSettled(stack);
    const since = Date.now();
    const { endedAt } = await member('Alice').speak(utterance(0.8, 25));
    const dana = await member('Dana').speak(utterance(0.8, 26));
    await waitForReply(member('Carol'), dana.endedAt);
    assert.ok(endedAt < dana.endedAt);
    const notes = JSON.stringify(received(stack, 'conversation.item.create', since));
    assert.match(notes, /\[speaker: Dana\]/);
    assert.doesNotMatch(notes, /Alice/, 'Alice has no heard role: never heard, never named');
    assert.equal(voiceSession(stack).mixerStats.speakers[member('Alice').id], undefined, 'Alice never reached the mixer');

    await command(owner(), 'settings', { list: 'join', action: 'add', role: danaRoleId }, 'roles');
    await command(owner(), 'leave');
    await eventually(() => !stack.bot.context.sessions.voiceSession(stack.discord.guildId), 'the bot to leave');
    const refused = await command(member('Alice'), 'join');
    assert.match(refused.content, /allowed only some roles to use \/join/);
    await joinBot(stack, member('Dana'));
    await command(owner(), 'settings', { list: 'heard', action: 'clear' }, 'roles');
    await command(owner(), 'settings', { list: 'join', action: 'clear' }, 'roles');
  });

  test('the consent notice can be switched off or replaced', async () => {
    await command(owner(), 'settings', { enabled: false }, 'notice');
    await command(owner(), 'leave');
    await eventually(() => !stack.bot.context.sessions.voiceSession(stack.discord.guildId), 'the bot to leave');
    const before = voiceNotices().length;
    await joinBot(stack, member('Alice'));
    await botSettled(stack);
    assert.equal(voiceNotices().length, before, 'no notice while switched off');

    const { content } = await command(owner(), 'settings', { enabled: true, text: 'This bot sends your voice to an AI. /privacy opt-out to stop.' }, 'notice');
    assert.match(content, /on, custom text/);
    await command(owner(), 'leave');
    await eventually(() => !stack.bot.context.sessions.voiceSession(stack.discord.guildId), 'the bot to leave');
    await joinBot(stack, member('Alice'));
    const notice = await eventually(() => voiceNotices().at(-1)?.content.startsWith('This bot sends') && voiceNotices().at(-1), 'the custom notice');
    assert.equal(notice.content, 'This bot sends your voice to an AI. /privacy opt-out to stop.');
  });

  test('every choice survives a restart, /privacy opt-outs too', async () => {
    await command(member('Dana'), 'privacy', {}, 'opt-out');
    await command(owner(), 'settings', { mode: 'name', wake_names: 'Jarvis, Computer', follow_up_seconds: 7.5 }, 'addressing');
    await command(owner(), 'settings', { type: 'semantic_vad', eagerness: 'low' }, 'turn-detection');
    await command(owner(), 'settings', { mode: 'far_field' }, 'noise-reduction');
    await command(owner(), 'settings', { enabled: true }, 'captions');
    await stack.restartBot();
    const { content } = await command(owner(), 'settings', {}, 'show');
    assert.match(content, /\*\*Addressing:\*\* name — wake names: Jarvis, Computer; follow-up window 7.5 s/);
    assert.match(content, /\*\*Turn detection:\*\* semantic VAD, eagerness low/);
    assert.match(content, /\*\*Consent notice on join:\*\* on, custom text:.*\(says captions are on\)/);
    assert.match(content, /\*\*Noise reduction:\*\* far_field/);
    assert.match(content, /\*\*Captions:\*\* on, in the voice channel's chat/);
    const policy = await stack.bot.context.sessions.rooms.load(stack.discord.guildId);
    assert.equal(policy.isOptedOut(member('Dana').id), true);
    assert.match((await command(member('Dana'), 'privacy', {}, 'show')).content, /You're opted out/);
  });
});

describe('/settings autocomplete (delivered by the local Discord as Discord does: type 4, answered with choices)', () => {
  let stack: LocalStack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.close();
  });
  const owner = () => stack.discord.member('Owner');

  test('wake_names: what is typed (checked), the current names and default, as choices within Discord limits', async () => {
    await stack.bot.context.sessions.rooms.update(stack.discord.guildId, { wakeNames: ['Jarvis'] });
    const record = await owner().autocomplete('settings', { wake_names: 'Jarvis,  Computer,jarvis' }, 'wake_names', 'addressing');
    const choices = await record.waitForChoices();
    assert.equal(record.callback?.type, 8, 'an autocomplete result');
    assert.deepEqual(choices[0], { name: 'Jarvis, Computer, jarvis', value: 'Jarvis, Computer, jarvis' });
    assert.ok(choices.some((choice) => choice.value === 'Jarvis' && /current/.test(choice.name)), JSON.stringify(choices));
    assert.ok(choices.some((choice) => choice.value === 'Jarvis, Realtime Bot'), 'the current names plus the display name');
    assert.ok(choices.some((choice) => choice.value === 'default' && /Realtime Bot/.test(choice.name)));
    assert.ok(choices.length <= 25 && choices.every((choice) => choice.name.length <= 100 && String(choice.value).length <= 100));

    const bad = await (await owner().autocomplete('settings', { wake_names: 'x' }, 'wake_names', 'addressing')).waitForChoices();
    assert.match(bad[0]!.name, /^⚠ .*two letters/, 'a problem shows in the list before the admin sends it');
  });

  test('silence_ms: the typed value if in range, then the usual values with the current one marked', async () => {
    await stack.bot.context.store.updateSettings(stack.discord.guildId, { turnDetection: { type: 'server_vad', silenceDurationMs: 800 } });
    const choices = await (await owner().autocomplete('settings', { type: 'server_vad', silence_ms: 750 }, 'silence_ms', 'turn-detection')).waitForChoices();
    assert.deepEqual(choices[0], { name: '750 ms', value: 750 });
    assert.ok(choices.some((choice) => choice.value === 800 && /current/.test(choice.name)), JSON.stringify(choices));
    const outOfRange = await (await owner().autocomplete('settings', { type: 'server_vad', silence_ms: 99_999 }, 'silence_ms', 'turn-detection')).waitForChoices();
    assert.ok(!outOfRange.some((choice) => choice.value === 99_999));
  });

  test('the local Discord only asks for options registered with autocomplete', async () => {
    await assert.rejects(owner().autocomplete('settings', { mode: 'al' }, 'mode', 'addressing'), /not registered with autocomplete/);
    const record = await owner().runCommand('settings', {}, 'show');
    await record.waitForContent();
    assert.equal(record.callback?.type, 4, 'a command is answered with a message, not with choices');
  });
});
