/**
 * Soak: the real bot through many joins and leaves, /join while the model refuses connections (failed
 * starts), mentions (text conversations started and closed) and the occasional spoken turn — and
 * nothing grows: heap after a full collection, active handles, the registry's guild slots, the
 * conversations and voice sessions the metrics follow.
 *
 * Figures are printed as a diagnostic line (`# soak: …`) for the closing note of issue 11.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LocalStack } from '../../scripts/localStack.ts';
import { command, eventually, joinBot, startStack, utterance, waitForReply, watchMentions } from '../e2e/helpers.ts';
import { forceGc } from '../faults/helpers.ts';

const WARMUP_CYCLES = 5;
/**
 * 30 cycles take about 75 s, inside the runner's 120 s per file. A longer soak, by hand:
 * `SOAK_CYCLES=120 node --import ./bin/sodiumCompat.mjs --test --test-timeout=900000 test/soak/lifecycle.test.ts`
 * (the growth per cycle is what tells a leak from noise; the simulators in the same process keep
 * every session and message they saw, so a little growth is theirs).
 */
const CYCLES = Number(process.env.SOAK_CYCLES) || 30;

let stack: LocalStack;
let mentions: ReturnType<typeof watchMentions>;
before(async () => {
  // One mention a cycle, faster than the per-user limit allows by default (5 a minute).
  stack = await startStack({ env: { TEXT_SESSION_IDLE_SECONDS: '5', MENTION_RATE_LIMIT: '1000' }, realtime: { replyAudioMs: 300 } });
  mentions = watchMentions(stack);
  await Promise.all(['Alice', 'Carol'].map((name) => stack.discord.member(name).joinVoice()));
});
after(async () => {
  await stack?.close();
});

interface Sample {
  heapMb: number;
  handles: number;
  /** Active resources by type (Timeout, TCPWRAP…): names the kind of handle that grew. */
  byType: Record<string, number>;
  guildSlots: number;
  conversations: number;
  voiceSessions: number;
}

function countByType(types: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of types) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

function sample(): Sample {
  forceGc();
  return {
    heapMb: process.memoryUsage().heapUsed / 1_048_576,
    // Timers, sockets, the worker…: what keeps the process alive or leaks with each cycle.
    handles: process.getActiveResourcesInfo().filter((type) => type !== 'TTYWrap').length,
    byType: countByType(process.getActiveResourcesInfo().filter((type) => type !== 'TTYWrap')),
    guildSlots: stack.bot.context.sessions.guildCount,
    conversations: stack.bot.metrics.trackedConversations,
    voiceSessions: stack.bot.metrics.trackedVoiceSessions,
  };
}

/** One cycle: a failed /join, a join (and every 5th time a spoken turn), a leave, a mention. */
async function cycle(n: number): Promise<void> {
  const { discord } = stack;
  const alice = discord.member('Alice');
  const realtime = stack.realtime!;
  // The model refuses: /join fails and its conversation is closed (unless one is already running).
  if (!stack.bot.context.sessions.conversation(discord.guildId)) {
    realtime.injectFault({ refuseUpgrades: { count: 1_000, status: 503 } });
    try {
      const refused = await command(alice, 'join');
      assert.match(refused.content, /^Couldn't join/);
    } finally {
      realtime.injectFault({ refuseUpgrades: { count: 0, status: 503 } });
    }
  }
  await joinBot(stack, alice);
  if (n % 5 === 0) {
    const { endedAt } = await alice.speak(utterance(0.6, 100 + n));
    await waitForReply(discord.member('Carol'), endedAt);
  }
  const left = await command(alice, 'leave');
  assert.match(left.content, /^Left/);
  await eventually(() => discord.botVoiceChannel() === null && stack.bot.context.sessions.voiceSession(discord.guildId) === undefined, 'the bot to leave');
  const message = await alice.say(`question ${n}`, { mentionBot: true });
  assert.equal(await mentions.handled(message.id), 'answered');
}

/**
 * Waits until the text conversation closed for being idle, its model socket included (the registry
 * forgets it at once, the closing handshake follows): the steady state between cycles.
 */
async function idle(): Promise<void> {
  const { sessions } = stack.bot.context;
  await eventually(() => sessions.conversation(stack.discord.guildId) === undefined && sessions.closingTextConversations === 0, 'the idle text conversation to close', 20_000);
}

test(`${CYCLES} cycles of failed joins, joins, leaves and mentions leave heap and handles flat`, async () => {
  for (let n = 0; n < WARMUP_CYCLES; n++) await cycle(n);
  await idle();
  const baseline = sample();
  for (let n = WARMUP_CYCLES; n < WARMUP_CYCLES + CYCLES; n++) await cycle(n);
  await idle();
  const end = sample();
  const growthMb = end.heapMb - baseline.heapMb;
  console.log(
    `# soak: ${CYCLES} cycles — heap ${baseline.heapMb.toFixed(1)} → ${end.heapMb.toFixed(1)} MB (${growthMb >= 0 ? '+' : ''}${growthMb.toFixed(2)}), ` +
      `handles ${baseline.handles} → ${end.handles}, guild slots ${baseline.guildSlots} → ${end.guildSlots}, ` +
      `metrics conversations ${baseline.conversations} → ${end.conversations}, voice sessions ${baseline.voiceSessions} → ${end.voiceSessions}, ` +
      `handles by type ${JSON.stringify(baseline.byType)} → ${JSON.stringify(end.byType)}`,
  );
  assert.deepEqual(
    { guildSlots: end.guildSlots, conversations: end.conversations, voiceSessions: end.voiceSessions },
    { guildSlots: 0, conversations: 0, voiceSessions: 0 },
    'nothing is kept for a guild with no voice session and no conversation',
  );
  assert.ok(end.handles <= baseline.handles, `active handles ${baseline.handles} → ${end.handles} (by type ${JSON.stringify(baseline.byType)} → ${JSON.stringify(end.byType)})`);
  // Each cycle creates and closes two conversations and a voice session: a leak of even one
  // conversation (its realtime client, history, sockets) per cycle would show as megabytes.
  // Measured on 2026-11-30: the heap settles about 2.6–3.0 MB above the baseline whatever the number of
  // cycles (30: +2.80/+3.03, 40: +2.65, 120: −0.82), caches filled once after the warm-up, not a
  // growth per cycle; the bound sits above that plateau, well below what a per-cycle leak adds.
  assert.ok(growthMb < 5, `heap grew ${growthMb.toFixed(2)} MB over ${CYCLES} cycles`);
});
