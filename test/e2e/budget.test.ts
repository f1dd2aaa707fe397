/**
 * End to end: spend limits, the model per server and /usage on the real bot with the local Discord and
 * the realtime simulator. Earlier spend of the day is put in the database directly (as if the server
 * had talked all day); the responses that cross 80% and 100% are real ones, and so are the notices,
 * the refusals and the commands.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { BotMessage } from '../../sim/discord/index.ts';
import type { LocalStack } from '../../scripts/localStack.ts';
import { emptyUsage } from '../../src/realtime/usage.ts';
import { dayKey } from '../../src/store/index.ts';
import { command, eventually, joinBot, received, startStack, utterance, waitForReply } from './helpers.ts';

/** gpt-realtime-mini's prices from the reference table (USD per 1M tokens), written out here on purpose. */
const MINI = { textIn: 0.6, textCached: 0.06, textOut: 2.4, audioIn: 10, audioCached: 0.3, audioOut: 20 };

describe('budgets, /model and /usage', () => {
  let stack: LocalStack;
  before(async () => {
    stack = await startStack({ env: { TEXT_SESSION_IDLE_SECONDS: '5', MENTION_RATE_LIMIT: '50', REALTIME_MODELS: 'gpt-realtime,gpt-realtime-mini' }, realtime: { replyAudioMs: 400 } });
  });
  after(async () => {
    await stack?.close();
  });

  const member = (name: string) => stack.discord.member(name);
  const guildId = () => stack.discord.guildId;
  const store = () => stack.bot.context.store;
  const today = () => dayKey(new Date());
  /** The bot's channel messages (not replies to commands) created since `since`, oldest first. */
  const postedSince = (since: number): BotMessage[] =>
    [...stack.discord.botMessages.byId.values()].filter((message) => message.createdAt >= since && message.replyTo === null).sort((a, b) => a.createdAt - b.createdAt);
  const responsesCreated = () => stack.realtime!.sessions.reduce((total, session) => total + session.responsesCreated, 0);
  /** Puts earlier spend of today in the database, as other conversations would have. */
  const spendEarlier = (usd: number) => store().addUsage(guildId(), 'gpt-realtime', emptyUsage(), usd);
  /** Asks by mention; resolves with the bot's reply. */
  const ask = async (name: string, text: string) => {
    const message = await member(name).say(text, { mentionBot: true });
    return message.waitForReply(() => true, 15_000);
  };

  test('/budget: anyone may look, only Manage Server may set; limits are shown against the spend', async () => {
    const shown = await command(member('Alice'), 'budget', {}, 'show');
    assert.equal(shown.record.ephemeral, true);
    assert.match(shown.content, /\*\*Spent today\*\* \(UTC\): \$0\.00 \(no limit\)/);
    const refused = await command(member('Alice'), 'budget', { usd: 1 }, 'daily');
    assert.equal(refused.record.ephemeral, true);
    assert.match(refused.content, /You need the Manage Server permission/);
    assert.equal((await store().getSettings(guildId())).dailyLimitUsd, null);
    const hostile = await command(member('Owner'), 'budget', { usd: -3 }, 'daily');
    assert.match(hostile.content, /must be an amount from 0/);
    const set = await command(member('Owner'), 'budget', { usd: 1 }, 'daily');
    assert.match(set.content, /^Daily limit set to \$1\.00\./);
    assert.match(set.content, /\*\*Spent today\*\* \(UTC\): \$0\.00 of \$1\.00 \(0%\)/);
    assert.equal((await store().getSettings(guildId())).dailyLimitUsd, 1);
  });

  test('80%: the response that crosses it is answered, and the server is told once, in the channel it talks in', async () => {
    await spendEarlier(0.7995);
    const since = performance.now();
    const reply = await ask('Alice', 'how much have we spent?');
    assert.match(reply.content, /^Reply/);
    const warning = await eventually(() => postedSince(since).find((message) => message.content.startsWith('Heads-up')), 'the 80% notice');
    assert.equal(warning.channelId, stack.discord.textChannelId, 'where the server last talked to the bot');
    assert.match(warning.content, /this server's daily AI budget is 80% used \(\$0\.80 of \$1\.00\)\. It resets at midnight UTC/);
    assert.match((await ask('Bob', 'and now?')).content, /^Reply/, 'responses continue');
    await ask('Bob', 'still there?');
    assert.equal(postedSince(since).filter((message) => message.content.startsWith('Heads-up')).length, 1, 'the warning is given once');
  });

  test('100%: told once; mentions and /join are refused with when it resets; /status shows it; nothing more is asked of the model', async () => {
    const spent = await store().spend(guildId(), today(), today());
    await spendEarlier(0.9999 - spent); // the next response crosses the limit
    const since = performance.now();
    assert.match((await ask('Alice', 'one more question')).content, /^Reply/);
    const stop = await eventually(() => postedSince(since).find((message) => message.content.startsWith("I've reached")), 'the limit notice');
    assert.match(stop.content, /^I've reached this server's daily AI budget \(\$1\.00 of \$1\.00\), so I'll stay quiet until it resets at midnight UTC \(in .+\), or an admin raises it with \/budget daily\.$/);

    const responses = responsesCreated();
    const refused = await ask('Bob', 'are you there?');
    assert.match(refused.content, /^This server's daily AI budget is used up \(\$1\.00 of \$1\.00\)\. It resets at midnight UTC/);
    await member('Alice').joinVoice();
    const join = await command(member('Alice'), 'join');
    assert.match(join.content, /^I won't join <#\d+>: This server's daily AI budget is used up/);
    assert.equal(stack.discord.botVoiceChannel(), null, 'the bot stayed out');
    const status = await command(member('Alice'), 'status');
    assert.match(status.content, /\*\*Spent today\*\* \(UTC\): \$1\.00 of \$1\.00 \(100%\)/);
    assert.match(status.content, /\*\*Paused:\*\* This server's daily AI budget is used up/);
    assert.equal(responsesCreated(), responses, 'no response was asked of the model');
    assert.equal(postedSince(since).filter((message) => message.content.startsWith("I've reached")).length, 1, 'the limit notice is given once');
  });

  test('raise: an admin raising the limit lets the bot answer and join again', async () => {
    const raised = await command(member('Owner'), 'budget', { usd: 5 }, 'daily');
    assert.match(raised.content, /^Daily limit set to \$5\.00\.\n/);
    assert.doesNotMatch(raised.content, /used up/);
    assert.match((await ask('Bob', 'back again?')).content, /^Reply/);
    const join = await command(member('Alice'), 'join');
    assert.match(join.content, /^Joined/);
    await command(member('Alice'), 'leave');
    await eventually(() => stack.discord.botVoiceChannel() === null, 'the bot to leave');
  });

  test("/usage: today's tokens and cost for admins only", async () => {
    const refused = await command(member('Bob'), 'usage');
    assert.match(refused.content, /You need the ManageGuild permission/);
    const { record, content } = await command(member('Owner'), 'usage');
    assert.equal(record.ephemeral, true);
    const totals = (await store().usageByDay(guildId(), today(), today()))[0]!;
    const row = content.split('\n').find((line) => line.startsWith(today().slice(5)));
    assert.ok(row, `a row for today in:\n${content}`);
    const cells = row.trim().split(/\s+/);
    assert.equal(cells[1], String(totals.responses));
    assert.equal(cells[4], `$${totals.costUsd.toFixed(2)}`);
    assert.equal(totals.responses, 7, "2 seeded and 5 answered today");
    assert.match(content, /^total\s+/m);
  });

  test('/model: an admin picks gpt-realtime-mini; the next conversation dials it and is priced as it', async () => {
    const shown = await command(member('Bob'), 'model', {}, 'show');
    assert.match(shown.content, /\*\*Model:\*\* gpt-realtime\n/);
    assert.match(shown.content, /gpt-realtime-mini — audio \$10 in \/ \$20 out, text \$0\.6 \/ \$2\.4 per 1M tokens/);
    const refused = await command(member('Bob'), 'model', { name: 'gpt-realtime-mini' }, 'set');
    assert.match(refused.content, /You need the ManageGuild permission/);
    const foreign = await command(member('Owner'), 'model', { name: 'gpt-4o-realtime' }, 'set');
    assert.match(foreign.content, /does not offer gpt-4o-realtime/);
    // The text conversation of the questions above is still open: it keeps its model.
    const set = await command(member('Owner'), 'model', { name: 'gpt-realtime-mini' }, 'set');
    assert.match(set.content, /^Model set to \*\*gpt-realtime-mini\*\*\./);
    await eventually(() => stack.bot.context.sessions.conversation(guildId()) === undefined, 'the idle text conversation to close', 20_000);

    const before = await store().getUsage(guildId());
    const upgrades = stack.realtime!.upgrades.length;
    assert.match((await ask('Alice', 'which model are you?')).content, /^Reply/);
    const dialed = stack.realtime!.upgrades.slice(upgrades).map((upgrade) => upgrade.path);
    assert.deepEqual(dialed, ['/v1/realtime?model=gpt-realtime-mini']);
    let saved = await store().getUsage(guildId());
    for (let waited = 0; saved.responses === before.responses; waited += 50) {
      assert.ok(waited < 10_000, 'the response to be saved');
      await sleep(50);
      saved = await store().getUsage(guildId());
    }
    const delta = (key: keyof typeof saved) => (saved[key] as number) - (before[key] as number);
    const expected =
      ((delta('inputTextTokens') - delta('cachedTextTokens')) * MINI.textIn + delta('cachedTextTokens') * MINI.textCached + delta('outputTextTokens') * MINI.textOut +
        (delta('inputAudioTokens') - delta('cachedAudioTokens')) * MINI.audioIn + delta('cachedAudioTokens') * MINI.audioCached + delta('outputAudioTokens') * MINI.audioOut) /
      1_000_000;
    assert.ok(expected > 0);
    assert.ok(Math.abs(delta('costUsd') - expected) < 1e-12, `cost ${delta('costUsd')} vs ${expected} at gpt-realtime-mini prices`);
    const status = await command(member('Alice'), 'status');
    assert.match(status.content, /\*\*Model:\*\* gpt-realtime-mini/);
  });

  test('in voice at 100%: the reply plays out, the bot says so aloud and in the voice chat once, then sends and answers nothing until raised', async () => {
    const { discord } = stack;
    await member('Bob').joinVoice();
    await joinBot(stack, member('Alice'));
    // Leave the server 0.00005 USD under a limit in whole cents: the next spoken reply crosses it.
    const spent = await store().spend(guildId(), today(), today());
    const limit = Math.ceil((spent + 0.01) * 100) / 100;
    assert.match((await command(member('Owner'), 'budget', { usd: limit }, 'daily')).content, /^Daily limit set/);
    await spendEarlier(limit - 0.00005 - spent);

    const since = Date.now();
    const posted = performance.now();
    const { endedAt } = await member('Alice').speak(utterance(0.8, 7));
    await eventually(() => received(stack, 'response.create', since).find((entry) => JSON.stringify(entry.event).includes("I've reached this server's daily budget")), 'the spoken notice', 15_000);
    // The reply that crossed the limit (400 ms) is heard whole, then the notice (400 ms): not cut short.
    await eventually(() => member('Bob').heardMs(endedAt) >= 720, 'the reply and the notice to be heard', 15_000);
    const text = await eventually(() => postedSince(posted).find((message) => message.content.startsWith("I've reached")), 'the notice in the voice chat');
    assert.equal(text.channelId, discord.voiceChannelId, "in the voice channel's chat, where the people talking are");
    await waitForReply(member('Bob'), endedAt); // all quiet again

    const paused = Date.now();
    await member('Alice').speak(utterance(0.8, 8));
    await sleep(1_500); // the end-of-turn silence and a reply would have come by now
    assert.equal(received(stack, 'response.create', paused).length, 0, 'no answer asked for');
    assert.equal(received(stack, 'input_audio_buffer.append', paused).length, 0, 'no audio sent to the model while paused');
    assert.equal(postedSince(posted).filter((message) => message.content.startsWith("I've reached")).length, 1, 'told once');

    assert.match((await command(member('Owner'), 'budget', { usd: limit + 5 }, 'daily')).content, /^Daily limit set/);
    const { endedAt: resumed } = await member('Alice').speak(utterance(0.8, 9));
    await waitForReply(member('Bob'), resumed);
  });
});
