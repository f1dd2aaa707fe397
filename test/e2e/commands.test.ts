/**
 * End to end: the slash commands (/join, /leave, /instructions, /voice, /status) of the real bot on
 * the local Discord (XChaCha20 voice encryption in this file) and the realtime simulator, including
 * bad input, and per-guild settings and usage surviving a restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import type { VoiceChannel } from 'discord.js';
import { CallbackType, DEFAULT_BOT_PERMISSIONS, Permission } from '../../sim/discord/index.ts';
import type { LocalStack } from '../../scripts/localStack.ts';
import { assertNoPings, command, eventually, joinBot, received, startStack, utterance, voiceSession, waitForReply } from './helpers.ts';

const MAX_CHARS = 500;

describe('slash commands', () => {
  let stack: LocalStack;
  before(async () => {
    stack = await startStack({
      env: { INSTRUCTIONS_MAX_CHARS: String(MAX_CHARS) },
      discord: { encryptionModes: ['aead_xchacha20_poly1305_rtpsize'] },
      realtime: { replyAudioMs: 600 },
    });
  });
  after(async () => {
    await stack?.close();
  });

  const alice = () => stack.discord.member('Alice');
  const bob = () => stack.discord.member('Bob');
  const owner = () => stack.discord.member('Owner');
  /** The bot's view (discord.js cache) of a guild channel, once the gateway has delivered it. */
  const botView = (channelId: string) => stack.bot.client.channels.cache.get(channelId) as VoiceChannel | undefined;
  /** Whether the bot, as its discord.js cache sees it now, has `permission` in the channel. */
  const botHas = (channelId: string, permission: bigint): boolean | undefined => {
    const channel = botView(channelId);
    const me = channel?.guild.members.me;
    return me ? (channel!.permissionsFor(me)?.has(permission) ?? undefined) : undefined;
  };

  test('/join with the caller outside voice is refused privately', async () => {
    const { record, content } = await command(alice(), 'join');
    assert.equal(record.ephemeral, true);
    assert.match(content, /Join a voice channel first/);
    assert.equal(stack.discord.botVoiceChannel(), null);
  });

  test('/leave when not in voice answers privately', async () => {
    const { record, content } = await command(alice(), 'leave');
    assert.equal(record.ephemeral, true);
    assert.match(content, /not in a voice channel/);
  });

  test('/join refuses privately when the bot lacks Speak in the channel', async () => {
    const { discord } = stack;
    await alice().joinVoice();
    discord.setChannelPermissions(discord.voiceChannelId, [{ id: discord.botRoleId, type: 'role', deny: Permission.Speak }]);
    try {
      await eventually(() => botHas(discord.voiceChannelId, Permission.Speak) === false, 'the bot to see its Speak permission denied (CHANNEL_UPDATE)');
      const { record, content } = await command(alice(), 'join');
      assert.equal(record.ephemeral, true);
      assert.match(content, /missing the Speak permission/);
      assert.equal(discord.botVoiceChannel(), null);
    } finally {
      discord.setChannelPermissions(discord.voiceChannelId, []);
      await eventually(() => botHas(discord.voiceChannelId, Permission.Speak) === true, 'the bot to see Speak allowed again');
    }
  });

  test('/join refuses privately when the bot lacks Connect', async () => {
    const { discord } = stack;
    discord.setBotPermissions(DEFAULT_BOT_PERMISSIONS & ~Permission.Connect);
    try {
      await eventually(() => botHas(discord.voiceChannelId, Permission.Connect) === false, 'the bot to see its role without Connect (GUILD_ROLE_UPDATE)');
      const { record, content } = await command(alice(), 'join');
      assert.equal(record.ephemeral, true);
      assert.match(content, /missing the Connect permission/);
      assert.equal(discord.botVoiceChannel(), null);
    } finally {
      discord.setBotPermissions(DEFAULT_BOT_PERMISSIONS);
      await eventually(() => botHas(discord.voiceChannelId, Permission.Connect) === true, 'the bot to see Connect again');
    }
  });

  test('/join refuses privately when the channel is full', async () => {
    const { discord } = stack;
    discord.setUserLimit(discord.voiceChannelId, 1); // Alice is in it
    try {
      await eventually(() => botView(discord.voiceChannelId)?.userLimit === 1, 'the bot to see the user limit (CHANNEL_UPDATE)');
      const { record, content } = await command(alice(), 'join');
      assert.equal(record.ephemeral, true);
      assert.match(content, /is full/);
      assert.equal(discord.botVoiceChannel(), null);
    } finally {
      discord.setUserLimit(discord.voiceChannelId, 0);
      await eventually(() => botView(discord.voiceChannelId)?.userLimit === 0, 'the bot to see the limit lifted');
    }
  });

  test('/join channel: refuses a channel the caller cannot see or connect to', async () => {
    const { discord } = stack;
    discord.setChannelPermissions(discord.secondVoiceChannelId, [{ id: discord.memberRoleId, type: 'role', deny: Permission.ViewChannel | Permission.Connect }]);
    const memberRoleDenied = () => botView(discord.secondVoiceChannelId)?.permissionOverwrites.cache.get(discord.memberRoleId)?.deny.has(Permission.Connect);
    try {
      await eventually(() => memberRoleDenied() === true, 'the bot to see the overwrite (CHANNEL_UPDATE)');
      const { record, content } = await command(alice(), 'join', { channel: discord.secondVoiceChannelId });
      assert.equal(record.ephemeral, true);
      assert.match(content, /can't connect/);
      assert.equal(discord.botVoiceChannel(), null);
    } finally {
      discord.setChannelPermissions(discord.secondVoiceChannelId, []);
      await eventually(() => botView(discord.secondVoiceChannelId) && memberRoleDenied() === undefined, 'the bot to see the overwrite removed');
    }
  });

  test('/join channel: with a text channel is refused privately', async () => {
    const { record, content } = await command(alice(), 'join', { channel: stack.discord.textChannelId });
    assert.equal(record.ephemeral, true);
    assert.match(content, /is not a voice channel/);
    assert.equal(stack.discord.botVoiceChannel(), null);
  });

  test("/join defers first, then joins the caller's channel undeafened; again says already; moves on request", async () => {
    const { discord } = stack;
    const record = await joinBot(stack, alice());
    assert.equal(record.callback?.type, CallbackType.DeferReply, 'the first callback is a deferral');
    assert.equal(record.ephemeral, false);
    assert.match(record.content, /^Joined/);
    assertNoPings(record);
    assert.equal(discord.botVoiceChannel(), discord.voiceChannelId);
    const state = discord.guild.apiVoiceState(discord.botUserId) as { self_deaf: boolean; channel_id: string };
    assert.equal(state.self_deaf, false);
    assert.equal(state.channel_id, discord.voiceChannelId);

    const again = await command(alice(), 'join');
    assert.match(again.content, /already in/);

    const moved = await command(alice(), 'join', { channel: discord.secondVoiceChannelId });
    assert.match(moved.content, /^Moved to/);
    await eventually(() => discord.botVoiceChannel() === discord.secondVoiceChannelId, 'the bot in the second channel');
    assert.equal(voiceSession(stack).channelId, discord.secondVoiceChannelId);

    const back = await command(alice(), 'join');
    assert.match(back.content, /^Moved to/);
    await eventually(() => discord.botVoiceChannel() === discord.voiceChannelId, 'the bot back in the first channel');
    await eventually(() => voiceSession(stack).status === 'ready', 'ready after moving back');
  });

  test('/voice before the bot has spoken applies at once, in the same model session', async () => {
    const realtime = stack.realtime!;
    const session = realtime.openSessions().at(-1)!;
    assert.equal(session.hasAssistantAudio, false);
    const sessionsBefore = realtime.sessions.length;
    const { content } = await command(owner(), 'voice', { name: 'coral' });
    assert.match(content, /Voice set to \*\*coral\*\*\. It applies now\./);
    await eventually(() => session.config.voice === 'coral', 'the live session to use coral');
    assert.equal(realtime.sessions.length, sessionsBefore, 'no new session');
    assert.equal(stack.bot.context.sessions.status(stack.discord.guildId).problem, null);
  });

  test('a voice turn works after the moves, and /status shows session, speakers, latency and cost', async () => {
    const carol = stack.discord.member('Carol');
    await carol.joinVoice();
    const { endedAt } = await alice().speak(utterance(1.0, 3));
    const reply = await waitForReply(carol, endedAt);
    assert.ok(reply.ms >= 300, `heard ${reply.ms} ms of reply`);
    await eventually(() => (stack.bot.context.sessions.status(stack.discord.guildId).session.tokens > 0 ? true : false), 'usage recorded');

    const { record, content } = await command(alice(), 'status');
    assert.equal(record.ephemeral, true);
    assert.match(content, new RegExp(`\\*\\*Voice:\\*\\* <#${stack.discord.voiceChannelId}> \\(ready\\)`));
    assert.match(content, /\*\*Model session:\*\* ready/);
    assert.match(content, /\*\*Hearing:\*\* Alice/);
    assert.match(content, /p50 \d+ ms, p95 \d+ ms/);
    // Model tokens, and the input transcription (whisper-1, billed by the second) in the cost too.
    const session = /\*\*This session:\*\* (\d+) tokens \+ ([\d.]+) s of speech transcribed, ~\$[\d.]+/.exec(content);
    const sessionTokens = Number(session?.[1]);
    assert.ok(sessionTokens > 0, `session tokens in ${content}`);
    assert.ok(Number(session?.[2]) >= 1.0, `transcribed seconds in ${content}`);
    const guildTokens = Number(/\*\*This server \(all time\):\*\* (\d+) tokens in (\d+) replies, ~\$[\d.]+/.exec(content)?.[1]);
    assert.ok(guildTokens >= sessionTokens, `guild tokens in ${content}`);
  });

  test('/instructions set by a plain member is refused; the owner sets them and the live session gets them', async () => {
    const refused = await command(bob(), 'instructions', { text: 'Be rude.' }, 'set');
    assert.equal(refused.record.ephemeral, true);
    assert.match(refused.content, /You need the ManageGuild permission/);
    assert.equal((await stack.bot.context.store.getSettings(stack.discord.guildId)).instructions, null);

    const since = Date.now();
    const { record, content } = await command(owner(), 'instructions', { text: 'You are a pirate. Answer like one.' }, 'set');
    assert.match(content, /Instructions updated .* Applied to the conversation in progress\./);
    assertNoPings(record);
    await eventually(() => received(stack, 'session.update', since).some((entry) => JSON.stringify(entry.event).includes('You are a pirate')), 'session.update with the instructions');

    const appended = await command(owner(), 'instructions', { text: 'Never say arr.' }, 'append');
    assert.match(appended.content, /Instructions extended/);
    assert.equal((await stack.bot.context.store.getSettings(stack.discord.guildId)).instructions, 'You are a pirate. Answer like one.\nNever say arr.');

    const shown = await command(bob(), 'instructions', {}, 'show');
    assert.equal(shown.record.ephemeral, true);
    assert.match(shown.content, /custom/);
    assert.match(shown.content, /Never say arr\./);
  });

  test('/instructions refuses text over INSTRUCTIONS_MAX_CHARS with a clear message (set and append)', async () => {
    const before = (await stack.bot.context.store.getSettings(stack.discord.guildId)).instructions;
    const long = await command(owner(), 'instructions', { text: 'x'.repeat(6_000) }, 'set');
    assert.equal(long.record.ephemeral, true);
    assert.match(long.content, new RegExp(`6000 characters long; the limit is ${MAX_CHARS}`));
    const append = await command(owner(), 'instructions', { text: 'y'.repeat(MAX_CHARS - 10) }, 'append');
    assert.equal(append.record.ephemeral, true);
    assert.match(append.content, new RegExp(`the limit is ${MAX_CHARS}`));
    const empty = await command(owner(), 'instructions', { text: '\u0007\u0001  ' }, 'set');
    assert.equal(empty.record.ephemeral, true);
    assert.match(empty.content, /empty/);
    assert.equal((await stack.bot.context.store.getSettings(stack.discord.guildId)).instructions, before, 'nothing changed');
  });

  test('hostile instruction text: mentions never ping, fences cannot break the quote, control characters are dropped', async () => {
    const { discord } = stack;
    const aliceId = alice().id;
    const hostile = `@everyone @here <@&${discord.memberRoleId}> <@${aliceId}>\n\`\`\`\nescaped?\n\`\`\`\n**bold** \u0007\u001b[31mred\u0000 end`;
    const set = await command(owner(), 'instructions', { text: hostile }, 'set');
    assert.match(set.content, /Instructions updated/);
    assertNoPings(set.record);
    const stored = (await stack.bot.context.store.getSettings(discord.guildId)).instructions!;
    assert.ok(!/[\u0000-\u0008\u001b]/.test(stored), `control characters removed: ${JSON.stringify(stored)}`);
    assert.ok(stored.includes('@everyone') && stored.includes('end'));

    const shown = await command(owner(), 'instructions', {}, 'show');
    assertNoPings(shown.record);
    assert.equal(shown.record.ephemeral, true);
    // The whole text sits in one code block: exactly one opening and one closing fence.
    assert.equal(shown.content.split('```').length - 1, 2, shown.content);
    assert.ok(shown.content.trimEnd().endsWith('```'));

    const resetAt = Date.now();
    const reset = await command(owner(), 'instructions', {}, 'reset');
    assert.match(reset.content, /reset to the default\. Applied to the conversation in progress\./);
    const defaults = stack.config.defaultInstructions;
    await eventually(() => received(stack, 'session.update', resetAt).some((entry) => JSON.stringify(entry.event).includes(JSON.stringify(defaults).slice(1, 60))), 'the default instructions applied live');
    assert.equal((await stack.bot.context.store.getSettings(discord.guildId)).instructions, null);
    const afterReset = await command(owner(), 'instructions', {}, 'show');
    assert.match(afterReset.content, /\(default, /);
  });

  test('/voice refuses an unknown voice and a plain member', async () => {
    const unknown = await command(owner(), 'voice', { name: 'robot' });
    assert.equal(unknown.record.ephemeral, true);
    assert.match(unknown.content, /Unknown voice/);
    const plain = await command(bob(), 'voice', { name: 'sage' });
    assert.equal(plain.record.ephemeral, true);
    assert.match(plain.content, /permission/);
    assert.equal((await stack.bot.context.store.getSettings(stack.discord.guildId)).voice, 'coral', 'unchanged');
  });

  test('/voice after the bot has spoken stores the voice and rotates to a new realtime session that uses it; voice turns continue there', async () => {
    const realtime = stack.realtime!;
    const sessionsBefore = realtime.sessions.length;
    const spoken = realtime.openSessions().at(-1)!;
    assert.ok(spoken.hasAssistantAudio);
    const { record, content } = await command(owner(), 'voice', { name: 'shimmer' });
    assert.match(content, /Voice set to \*\*shimmer\*\*\. The conversation switches to it after the current reply/);
    assertNoPings(record);
    assert.equal((await stack.bot.context.store.getSettings(stack.discord.guildId)).voice, 'shimmer');
    const fresh = await eventually(() => realtime.sessions.length > sessionsBefore && realtime.sessions.at(-1), 'a new realtime session');
    await eventually(() => fresh.config.voice === 'shimmer', 'the new session to use shimmer', 10_000);
    await eventually(() => realtime.sessions.slice(0, -1).every((session) => session.closed), 'the old session to close');
    // The service refuses a voice change after assistant audio: none was sent to the session that had spoken.
    assert.ok(!spoken.received.some((entry) => entry.event.type === 'session.update' && /shimmer/.test(JSON.stringify(entry.event))));

    const carol = stack.discord.member('Carol');
    const { endedAt } = await alice().speak(utterance(1.0, 4));
    await waitForReply(carol, endedAt);
    assert.ok(fresh.responsesCreated >= 1, 'the reply came from the new session');
  });

  test('settings and usage survive a restart (same SQLite file)', async () => {
    const { discord } = stack;
    await command(owner(), 'instructions', { text: 'Remember me after a restart.' }, 'set');
    const usageBefore = await stack.bot.context.store.getUsage(discord.guildId);
    assert.ok(usageBefore.responses >= 2 && usageBefore.costUsd > 0, JSON.stringify(usageBefore));

    await stack.restartBot();
    await eventually(() => discord.botVoiceChannel() === null, 'the old bot to leave voice');
    const store = stack.bot.context.store;
    assert.equal((await store.getSettings(discord.guildId)).instructions, 'Remember me after a restart.');
    assert.equal((await store.getSettings(discord.guildId)).voice, 'shimmer');
    assert.deepEqual(await store.getUsage(discord.guildId), usageBefore);

    const shown = await command(owner(), 'instructions', {}, 'show');
    assert.match(shown.content, /Remember me after a restart\./);
    const status = await command(alice(), 'status');
    assert.match(status.content, /\*\*Voice:\*\* not in a voice channel/);
    assert.match(status.content, /p50 n\/a, p95 n\/a/);
    const guildTokens = Number(/\*\*This server \(all time\):\*\* (\d+) tokens in (\d+) replies/.exec(status.content)?.[1]);
    const total = usageBefore.inputTextTokens + usageBefore.outputTextTokens + usageBefore.inputAudioTokens + usageBefore.outputAudioTokens;
    assert.equal(guildTokens, total);

    // A new conversation after the restart starts with the saved voice and instructions.
    const sessionsBefore = stack.realtime!.sessions.length;
    await joinBot(stack, alice());
    const fresh = await eventually(() => stack.realtime!.sessions.length > sessionsBefore && stack.realtime!.sessions.at(-1), 'a new session');
    await eventually(() => fresh.config.voice === 'shimmer' && fresh.config.instructions === 'Remember me after a restart.', 'saved settings applied');
    assert.equal(stack.realtime!.sessions.length, sessionsBefore + 1, 'one new model session for the join');
    const left = await command(alice(), 'leave');
    assert.match(left.content, /^Left/);
    assertNoPings(left.record);
    await eventually(() => discord.botVoiceChannel() === null, 'the bot to leave');
  });
});
