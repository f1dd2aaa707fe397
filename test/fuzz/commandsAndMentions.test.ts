/**
 * FUZZ: abusive slash-command options and mention floods against the real bot — maximum-length and
 * over-long options, mention and markdown injection, control characters, unknown commands and
 * subcommands, unknown voices; then hundreds of mentions from several users. Every command gets a
 * private or non-pinging answer, the per-user mention rate limit holds, the bot sends a bounded
 * number of messages, settings saved before the flood are intact, and nothing crashes.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { startLocalStack, type LocalStack } from '../../scripts/localStack.ts';
import { collectCrashes, eventually } from '../faults/helpers.ts';

const crashes = collectCrashes();
let stack: LocalStack;

before(async () => {
  stack = await startLocalStack({ logLevel: 'info', env: { MENTION_RATE_LIMIT: '3', MENTION_RATE_WINDOW_SECONDS: '60' } });
});
after(async () => {
  await stack?.close();
  crashes.assertNone();
});

const SAVED = 'You are a careful assistant. Keep answers short.';

test('abusive command options are answered with clear errors, pinging nobody', async () => {
  const owner = stack.discord.member('Owner');
  const alice = stack.discord.member('Alice');
  const set = await owner.runCommand('instructions', { text: SAVED }, 'set');
  assert.match(await set.waitForContent(10_000), /Instructions updated/);

  const maxChars = stack.config.instructionsMaxChars;
  const cases: { label: string; run: () => ReturnType<typeof owner.runCommand>; expect: RegExp; ephemeral?: boolean }[] = [
    { label: 'over-long instructions', run: () => owner.runCommand('instructions', { text: 'a'.repeat(maxChars + 1) }, 'set'), expect: /limit is \d+/, ephemeral: true },
    { label: '6000-character option', run: () => owner.runCommand('instructions', { text: 'b'.repeat(6_000) }, 'append'), expect: /limit is \d+/, ephemeral: true },
    { label: 'only control characters', run: () => owner.runCommand('instructions', { text: '\u0000\u0001\u0007\u001b\u007f' }, 'set'), expect: /The text is empty/, ephemeral: true },
    { label: 'unknown voice', run: () => owner.runCommand('voice', { name: 'x'.repeat(500) + '<@&1>' }), expect: /Unknown voice\. Choose one of/, ephemeral: true },
    { label: 'unknown command', run: () => alice.runCommand('definitely-not-a-command', { text: '@everyone' }), expect: /Unknown command/, ephemeral: true },
    { label: 'instructions without permission', run: () => alice.runCommand('instructions', { text: 'pwned' }, 'set'), expect: /You need the .* permission/, ephemeral: true },
    { label: 'unknown subcommand', run: () => owner.runCommand('instructions', {}, 'nonsense'), expect: /Unknown subcommand: use \/instructions show, set, append or reset/, ephemeral: true },
  ];
  for (const { label, run, expect, ephemeral } of cases) {
    const record = await run();
    const content = await record.waitForContent(10_000);
    assert.match(content, expect, label);
    if (ephemeral) assert.equal(record.ephemeral, true, `${label}: answered privately`);
  }
  assert.equal((await stack.bot.context.store.getSettings(stack.discord.guildId)).instructions, SAVED, 'no abusive option changed the settings');

  // Injection in accepted text: stored as given (minus control characters), echoed without pinging anyone.
  const injected = '@everyone <@&123> <@456> **bold** `code` ||spoiler|| \u202eevil\u0000';
  const accepted = await owner.runCommand('instructions', { text: injected }, 'set');
  await accepted.waitForContent(10_000);
  const pinging = [accepted.callback?.data, ...(accepted.followUps ?? [])].filter((data) => {
    const mentions = (data as { allowed_mentions?: { parse?: string[] } } | undefined)?.allowed_mentions;
    return mentions === undefined || (mentions.parse?.length ?? 0) > 0;
  });
  assert.equal(pinging.length, 0, 'the answer disables every ping');
  assert.equal((await stack.bot.context.store.getSettings(stack.discord.guildId)).instructions, injected.replace('\u0000', '').trim());
  const shown = await owner.runCommand('instructions', {}, 'show');
  assert.ok((await shown.waitForContent(10_000)).includes('@everyone'), 'shown back as text');
  assert.equal(shown.ephemeral, true);
  const restore = await owner.runCommand('instructions', { text: SAVED }, 'set');
  await restore.waitForContent(10_000);
});

test('a mention flood from several users: the per-user limit holds, bounded messages, settings intact', async () => {
  const users = ['Alice', 'Bob', 'Carol'].map((name) => stack.discord.member(name));
  // Messages the bot created (not typing, not requests Discord refused with 429).
  const postedMessages = () => stack.discord.recorded.messages.filter((entry) => entry.method === 'POST' && entry.path.endsWith('/messages') && entry.status === 200).length;
  const messagesBefore = postedMessages();
  const outcomes: Record<string, number> = {};
  const onHandled = ({ outcome }: { outcome: string }) => void (outcomes[outcome] = (outcomes[outcome] ?? 0) + 1);
  // The bot's own messages are 'ignored' (it sees its replies too): only the users' mentions count.
  const handled = () => Object.entries(outcomes).reduce((sum, [outcome, n]) => (outcome === 'ignored' ? sum : sum + n), 0);
  stack.bot.mentions.on('handled', onHandled);
  const floods = users.map(async (user, u) => {
    for (let i = 0; i < 100; i++) {
      await user.say(`${'<@' + stack.discord.botUserId + '> '.repeat(1 + (i % 3))} question ${i} from ${u} **${'#'.repeat(i % 50)}** @everyone`, { mentionBot: true });
      if (i % 10 === 9) await sleep(5);
    }
  });
  await Promise.all(floods);
  // Let the admitted answers stream and every notice go out.
  await eventually(() => {
    const conversation = stack.bot.context.sessions.conversation(stack.discord.guildId);
    return conversation !== undefined && conversation.realtime.activeResponseId === null && conversation.realtime.queuedResponses === 0;
  }, 'the admitted mentions to be answered', 60_000);
  await eventually(() => handled() >= 300, 'every mention to be dealt with (answers and notices written)', 60_000);
  stack.bot.mentions.off('handled', onHandled);
  // Past the per-user limit (3 per 60 s each) 9 questions get through; the server's queue
  // (MENTION_QUEUE_LIMIT) answers them or refuses them as busy.
  assert.equal(outcomes.rateLimited, 3 * 97, JSON.stringify(outcomes));
  const answered = outcomes.answered ?? 0;
  assert.equal(answered + (outcomes.busy ?? 0), 3 * 3, JSON.stringify(outcomes));
  assert.ok(answered >= 1, JSON.stringify(outcomes));
  const posts = postedMessages() - messagesBefore;
  // Each answer is at least one message, each user gets one "asking a lot" notice, and "busy" is one
  // notice per channel every 15 s (at most 2 here).
  assert.ok(posts >= answered + 3, `the admitted mentions were answered and each user told once (${posts} messages, ${JSON.stringify(outcomes)})`);
  assert.ok(posts <= answered * 2 + 3 + 2, `a bounded number of messages for 300 mentions (${posts}, ${JSON.stringify(outcomes)})`);
  assert.equal((await stack.bot.context.store.getSettings(stack.discord.guildId)).instructions, SAVED, 'settings saved before the flood are intact');
  const status = await stack.discord.member('Owner').runCommand('status');
  assert.match(await status.waitForContent(10_000), /Model session/);
});
