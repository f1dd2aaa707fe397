/**
 * End to end, in text: the real bot on the local Discord and the realtime simulator, whose model calls
 * tools when a scripted trigger is in the question. Built-in tools (who is here, post a message,
 * reminders delivered at their time and after a restart), per-server switches, the rights of the
 * member who asked, bad input as results with one log line each, timeouts, and /status.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import type { BotMessage } from '../../sim/discord/index.ts';
import { Permission } from '../../sim/discord/permissions.ts';
import type { LocalStack } from '../../scripts/localStack.ts';
import { defineTool } from '../../src/tools/types.ts';
import { command, eventually, received, startStack, slowLookupTool } from './helpers.ts';

/** A tool that throws (a bug, or a library failing inside a tool). */
const explode = defineTool({
  name: 'explode',
  description: 'Test tool that always throws',
  parameters: z.object({}).strict(),
  changes: false,
  async execute() {
    throw new Error('kaboom');
  },
});

/** A tool slower than the timeout; records when its late result arrives. */
const lateResults: string[] = [];
const slow = slowLookupTool(lateResults);

describe('tools in text', () => {
  let stack: LocalStack;
  before(async () => {
    stack = await startStack({ env: { TOOL_TIMEOUT_SECONDS: '1', MENTION_RATE_LIMIT: '100' }, extraTools: [explode, slow], logLevel: 'info' });
  });
  after(async () => {
    await stack?.close();
  });

  /** Asks and waits for the whole answer (it streams into edits; a tool answer ends with its JSON result). */
  const ask = async (name: string, text: string, match: (content: string) => boolean = (content) => content.startsWith('Reply') && /[}"]$/.test(content)) => {
    const message = await stack.discord.member(name).say(text, { mentionBot: true });
    const reply = await message.waitForReply((candidate) => match(candidate.content), 20_000);
    return reply.content;
  };
  /** The JSON result the simulated model was told (it repeats it in "The NAME tool answered: …"). */
  const toldResult = (content: string, tool: string): Record<string, unknown> => {
    const match = new RegExp(`The ${tool} tool answered: (\\{.*\\})`).exec(content);
    assert.ok(match, `the answer reports ${tool}'s result: ${content}`);
    return JSON.parse(match[1]!) as Record<string, unknown>;
  };
  const toolLogLines = (since: number) =>
    stack.logs
      .slice(since)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === 'tool call');
  const botMessagesAfter = (count: number): BotMessage[] => [...stack.discord.botMessages.byId.values()].slice(count);

  test('the session offers the tools; a function call runs and the answer goes on with its result', async () => {
    const asked = Date.now();
    const reply = await ask('Alice', 'who is around? ⟦call who_is_here {}⟧');
    // The answer and its follow-up after the tool both keep the text answer's output cap (TEXT_MAX_OUTPUT_TOKENS, 1500 by default).
    const creates = received(stack, 'response.create', asked).map((entry) => (entry.event.response as { max_output_tokens?: unknown } | undefined)?.max_output_tokens);
    assert.deepEqual(creates, [1_500, 1_500], 'the first answer and the follow-up are capped');
    const session = stack.realtime!.sessions.at(-1)!;
    assert.deepEqual(
      session.config.tools.map((tool) => (tool.type === 'function' ? tool.name : tool.serverLabel)).sort(),
      ['cancel_reminder', 'explode', 'leave_voice_channel', 'list_my_reminders', 'post_message', 'set_reminder', 'slow_lookup', 'who_is_here'],
    );
    const setReminder = session.config.tools.find((tool) => tool.type === 'function' && tool.name === 'set_reminder');
    assert.deepEqual(setReminder && setReminder.type === 'function' && (setReminder.parameters as { required: string[] }).required, ['text'], 'the zod schema became JSON Schema');
    assert.deepEqual(toldResult(reply, 'who_is_here'), { ok: true, inVoiceChannel: false, people: [], note: 'You are not in a voice channel in this server.' });
    const outputs = session.items.filter((item) => item.type === 'function_call_output');
    assert.equal(outputs.length, 1, 'the result went back to the model once');
  });

  test('post_message posts in the channel without pings, with the rights of the member who asked', async () => {
    const before = stack.discord.botMessages.byId.size;
    const reply = await ask('Alice', 'send the link ⟦call post_message {"text": "https://example.com/notes @everyone <@&1>"}⟧');
    assert.equal(toldResult(reply, 'post_message').ok, true);
    const posted = botMessagesAfter(before).find((message) => message.content.startsWith('https://example.com/notes'));
    assert.ok(posted, 'the message was posted');
    assert.equal(posted.channelId, stack.discord.textChannelId);
    assert.equal(posted.content, 'https://example.com/notes @everyone <@&1>\n-# for Alice');
    assert.deepEqual(posted.allowedMentions, { parse: [] }, 'pings nobody');

    // A member without the tools permission (Use Application Commands here) is refused, as a result.
    stack.discord.addMember({ name: 'Guest', permissions: Permission.ViewChannel | Permission.SendMessages | Permission.ReadMessageHistory });
    const count = stack.discord.botMessages.byId.size;
    const refused = await ask('Guest', 'post it ⟦call post_message {"text": "spam"}⟧');
    const result = toldResult(refused, 'post_message');
    assert.equal(result.error, 'permission_denied');
    assert.match(String(result.message), /Guest lacks the "UseApplicationCommands" permission/);
    assert.ok(!botMessagesAfter(count).some((message) => message.content.startsWith('spam')), 'nothing was posted');
    // Reading is allowed to anyone.
    assert.equal(toldResult(await ask('Guest', 'who? ⟦call who_is_here {}⟧'), 'who_is_here').ok, true);
  });

  test('post_message in a channel held by its message rate limit: the model is told it is queued, and it appears once when the limit lets it', async () => {
    const { discord } = stack;
    const channelId = discord.textChannelId;
    const post = 'https://example.com/queued-notes';
    const since = performance.now();
    const logsBefore = stack.logs.length;
    // The channel's 5 messages per 5 s are used up: 5 posted straight to the API (discord.js learns of
    // the limit from a 429 with retry_after) and 5 more the bot sends through discord.js, which queues
    // them; the tool's post waits behind them, past the tool's confirmation wait.
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${discord.rest}/v10/channels/${channelId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bot ${discord.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: `busy ${i}` }),
      });
      assert.equal(response.status, 200);
    }
    const channel = stack.bot.client.channels.cache.get(channelId);
    assert.ok(channel?.isSendable());
    const queuedAhead = Array.from({ length: 5 }, (_, i) => channel.send({ content: `queued ahead ${i}` }));
    const reply = await ask('Alice', `post the notes ⟦call post_message {"text": "${post}"}⟧`);
    const result = toldResult(reply, 'post_message');
    assert.deepEqual({ ok: result.ok, posted: result.posted, queued: result.queued }, { ok: true, posted: false, queued: true }, JSON.stringify(result));
    assert.match(String(result.message), /Do not post it again/);
    await Promise.all(queuedAhead);
    // It appears once the limit lets it through, and once.
    const posted = await eventually(() => {
      const messages = [...discord.botMessages.byId.values()].filter((message) => message.content.startsWith(post));
      return messages.length > 0 && messages;
    }, 'the queued post in the channel', 20_000);
    assert.equal(posted.length, 1);
    assert.equal(posted[0]!.channelId, channelId);
    await eventually(() => stack.logs.slice(logsBefore).some((line) => line.includes('queued post_message message posted')), 'the late confirmation logged');
    const creates = discord.recorded.messages.filter((request) => request.method === 'POST' && String(request.body?.content ?? '').startsWith(post));
    assert.equal(creates.length, 1, 'created once: the tool did not send it again');
    assert.ok(discord.recorded.rateLimited.some((request) => request.at >= since && request.path === `/channels/${channelId}/messages`), 'Discord answered 429 in the channel meanwhile');
    // One call, one result: nothing made the model post it a second time.
    const calls = stack.realtime!.sessions.flatMap((session) => session.items).filter((item) => item.type === 'function_call' && item.tool?.name === 'post_message' && String(item.tool.arguments).includes(post));
    assert.equal(calls.length, 1);
  });

  test('bad input becomes a clear result and one log line each; the conversation goes on', async () => {
    const since = stack.logs.length;
    const cases = [
      { text: '⟦call who_is_here {"oops":⟧', tool: 'who_is_here', error: 'invalid_arguments', outcome: 'invalid_arguments', message: /not valid JSON/ },
      { text: '⟦call format_disk {}⟧', tool: 'format_disk', error: 'unknown_tool', outcome: 'unknown_tool', message: /no tool named "format_disk"/ },
      { text: '⟦call set_reminder {"text": 5, "in_minutes": "soon"}⟧', tool: 'set_reminder', error: 'invalid_arguments', outcome: 'invalid_arguments', message: /text: .*expected string/i },
      { text: '⟦call explode {}⟧', tool: 'explode', error: 'tool_failed', outcome: 'error', message: /failed: kaboom/ },
      { text: '⟦call slow_lookup {"ms": 1500}⟧', tool: 'slow_lookup', error: 'timeout', outcome: 'timeout', message: /did not finish within 1 s/ },
    ];
    for (const { text, tool, error, outcome, message } of cases) {
      const result = toldResult(await ask('Bob', text), tool);
      assert.equal(result.ok, false, tool);
      assert.equal(result.error, error, tool);
      assert.match(String(result.message), message);
      const lines = toolLogLines(since).filter((line) => line.tool === tool);
      assert.equal(lines.length, 1, `one log line for ${tool}`);
      assert.equal(lines[0]!.outcome, outcome);
      assert.equal(lines[0]!.level, 40, `${tool} is logged at warn`);
      assert.ok(!JSON.stringify(lines[0]).includes(text.slice(7, 20)) || tool === 'format_disk', 'the arguments are not logged');
    }
    // The slow tool's late result is ignored (logged), never sent.
    await eventually(() => lateResults.includes('slow 1500'), 'the slow tool to finish');
    await eventually(() => stack.logs.slice(since).some((line) => line.includes('tool finished after its timeout')), 'the late result to be logged');
    // Still talking.
    assert.match(await ask('Bob', 'are you still there?'), /You said: "\[speaker: Bob\] are you still there\?"/);
    assert.equal(stack.bot.context.sessions.conversation(stack.discord.guildId)?.state, 'ready');
  });

  test('admins switch a tool off per server: it leaves the session and a call to it is refused; back on again', async () => {
    const owner = stack.discord.member('Owner');
    const { content } = await command(owner, 'tools', { name: 'post_message' }, 'disable');
    assert.match(content, /`post_message` is now off/);
    const session = stack.realtime!.sessions.at(-1)!;
    await eventually(() => !session.config.tools.some((tool) => tool.type === 'function' && tool.name === 'post_message'), 'the live session to lose the tool');
    assert.equal(toldResult(await ask('Alice', '⟦call post_message {"text": "x"}⟧'), 'post_message').error, 'tool_disabled');
    const { content: list } = await command(owner, 'tools', {}, 'list');
    assert.match(list, /`post_message` — \*\*off\*\*/);
    // A member without the settings permission cannot switch tools.
    const { content: denied } = await command(stack.discord.member('Carol'), 'tools', { name: 'post_message' }, 'enable');
    assert.match(denied, /You need the ManageGuild permission/);
    await command(owner, 'tools', { name: 'post_message' }, 'enable');
    await eventually(() => session.config.tools.some((tool) => tool.type === 'function' && tool.name === 'post_message'), 'the tool back in the session');
    assert.deepEqual(await stack.bot.context.store.tools.disabledTools(stack.discord.guildId), []);
  });

  test('a reminder is stored, delivered as a mention at its time, and survives a restart', async () => {
    const alice = stack.discord.member('Alice');
    const before = stack.discord.botMessages.byId.size;
    const reply = await ask('Alice', 'remind me ⟦call set_reminder {"text": "stretch your legs @everyone", "in_minutes": 0.03}⟧');
    const result = toldResult(reply, 'set_reminder');
    assert.equal(result.ok, true);
    assert.equal(result.for, 'Alice');
    const delivered = await eventually(() => botMessagesAfter(before).find((message) => message.content.includes('Reminder: stretch your legs')), 'the reminder', 15_000);
    assert.equal(delivered.content, `<@${alice.id}> ⏰ Reminder: stretch your legs @everyone`);
    assert.deepEqual(delivered.allowedMentions, { users: [alice.id], parse: [] }, 'pings only Alice');
    assert.equal(delivered.channelId, stack.discord.textChannelId);

    // Set one, then the bot restarts before it is due: the new bot delivers it, once.
    const reply2 = await ask('Alice', '⟦call set_reminder {"text": "after the restart", "in_minutes": 0.08}⟧');
    assert.equal(toldResult(reply2, 'set_reminder').ok, true);
    const count = stack.discord.botMessages.byId.size;
    await stack.restartBot();
    const afterRestart = await eventually(() => {
      const found = botMessagesAfter(count).filter((message) => message.content.includes('Reminder: after the restart'));
      return found.length > 0 ? found : undefined;
    }, 'the reminder after the restart', 20_000);
    assert.equal(afterRestart.length, 1);
    // Marked delivered in the database (claimed once: see the store test), so never sent again.
    const deadline = Date.now() + 10_000;
    while ((await stack.bot.context.store.tools.pendingReminders(stack.discord.guildId, alice.id)).length > 0) {
      assert.ok(Date.now() < deadline, 'the reminder is marked delivered');
      await sleep(25);
    }
  });

  test('/status shows the tools called in this session and how each ended', async () => {
    await ask('Alice', '⟦call who_is_here {}⟧');
    await ask('Alice', '⟦call explode {}⟧');
    const { content } = await command(stack.discord.member('Alice'), 'status');
    assert.match(content, /\*\*Tools:\*\* \d+ calls? this session — .*who_is_here ok \d+ ms.*explode error \d+ ms \(kaboom\)/);
  });
});
