/**
 * Shared pieces of the end-to-end tests: the real bot (discord.js + @discordjs/voice) on the local
 * Discord simulator and the realtime simulator, started once per test file.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Permission, type InteractionRecord, type SimulatedMember } from '../../sim/discord/index.ts';
import { defaultReplyGenerator, type ReplyContext } from '../../sim/realtime/replies.ts';
import type { ReceivedEvent } from '../../sim/realtime/index.ts';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../scripts/localStack.ts';
import type { VoiceSession } from '../../src/voice/voiceSession.ts';
export { slowLookupTool } from '../helpers/tools.ts';

export { utterance } from '../../sim/speech.ts';

/** Starts the stack with quiet logs and short timeouts unless the test file says otherwise. */
export async function startStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const stack = await startLocalStack({ logLevel: 'warn', ...options, env: { ALONE_TIMEOUT_SECONDS: '30', ...options.env } });
  latestStack = stack;
  return stack;
}

/** The stack this test file started last: failed waits describe what the bot and the model did. */
let latestStack: LocalStack | undefined;

/**
 * What the bot and the model service were doing since `sinceMs` (performance.now()), for the message of
 * a failed wait: the client events the simulator received and the events it sent back (runs of one
 * type collapsed; response ids, statuses and error codes shown), turn-taking,
 * who is heard and what the mixer counted. A flaky end-to-end failure on a CI machine is then readable.
 */
export function describeStack(stack: LocalStack | undefined = latestStack, sinceMs = performance.now() - 10_000): string {
  if (!stack) return '';
  try {
    const since = Date.now() - (performance.now() - sinceMs);
    const events: string[] = [];
    for (const entry of stack.realtime?.received ?? []) {
      if (entry.at < since) continue;
      const label = `${entry.event.type}@${Math.round(entry.at - since)}`;
      const previous = events.at(-1);
      if (previous?.startsWith(`${entry.event.type}@`)) events[events.length - 1] = `${previous.replace(/×\d+$/, '')}×${Number(/×(\d+)$/.exec(previous)?.[1] ?? 1) + 1}`;
      else events.push(label);
    }
    const serverEvents: string[] = [];
    for (const simSession of stack.realtime?.openSessions() ?? []) {
      for (const entry of simSession.sent) {
        if (entry.at < since) continue;
        const label = `${entry.type}${entry.detail ? `(${entry.detail})` : ''}@${Math.round(entry.at - since)}`;
        const previous = serverEvents.at(-1);
        if (previous?.startsWith(`${entry.type}@`) && !entry.detail) serverEvents[serverEvents.length - 1] = `${previous.replace(/×\d+$/, '')}×${Number(/×(\d+)$/.exec(previous)?.[1] ?? 1) + 1}`;
        else serverEvents.push(label);
      }
    }
    const conversation = stack.bot.context.sessions.conversation(stack.discord.guildId);
    const session = stack.bot.context.sessions.voiceSession(stack.discord.guildId);
    const state = {
      activeResponseId: conversation?.realtime.activeResponseId,
      queuedResponses: conversation?.realtime.queuedResponses,
      turnState: session?.turnState.status,
      activeSpeakers: session?.activeSpeakers,
      silenced: session?.silenced,
      mixer: session?.mixerStats,
      playback: session?.playbackStats,
    };
    return `\n  model events since the wait began (ms after): ${events.join(' ') || 'none'}\n  the model service sent: ${serverEvents.join(' ') || 'nothing'}\n  bot: ${JSON.stringify(state)}`;
  } catch (error) {
    return `\n  (could not describe the stack: ${String(error)})`;
  }
}

/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | null | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Client events the realtime simulator received, of one type (optionally after a time, Date.now() based). */
export function received(stack: LocalStack, type: string, since = 0): ReceivedEvent[] {
  return stack.realtime!.received.filter((entry) => entry.event.type === type && entry.at >= since);
}

/** Waits until the listener heard a reply that started after `after` and then went quiet for 400 ms. */
export async function waitForReply(listener: SimulatedMember, after: number, timeoutMs = 20_000): Promise<{ firstAt: number; ms: number }> {
  try {
    return await listener.waitForReplyEnd({ after, timeoutMs });
  } catch (error) {
    if (error instanceof Error) error.message += describeStack(latestStack, after - 3_000);
    throw error;
  }
}

/** The guild's voice session (fails if the bot is not in voice). */
export function voiceSession(stack: LocalStack): VoiceSession {
  const session = stack.bot.context.sessions.voiceSession(stack.discord.guildId);
  assert.ok(session, 'the bot has a voice session');
  return session;
}

/** Text of the last assistant item in the guild conversation's history. */
export function lastAssistantText(stack: LocalStack): string {
  const conversation = stack.bot.context.sessions.conversation(stack.discord.guildId);
  return conversation?.realtime.history.filter((entry) => entry.role === 'assistant').at(-1)?.text ?? '';
}

/** Runs /join as `member` and waits until the bot says it joined (and is ready in the channel). */
export async function joinBot(stack: LocalStack, member: SimulatedMember, channelId?: string): Promise<InteractionRecord> {
  const record = await member.runCommand('join', channelId ? { channel: channelId } : {});
  const content = await record.waitForContent(20_000);
  assert.match(content, /^(Joined|Moved to|I'm already in)/, `unexpected /join reply: ${content}`);
  await eventually(() => stack.bot.context.sessions.voiceSession(stack.discord.guildId)?.status === 'ready', 'the voice session to be ready');
  return record;
}

/** Runs a command and waits for its first visible text. */
export async function command(member: SimulatedMember, name: string, options: Record<string, string | number | boolean> = {}, subcommand?: string): Promise<{ record: InteractionRecord; content: string }> {
  const record = await member.runCommand(name, options, subcommand);
  const content = await record.waitForContent(15_000);
  return { record, content };
}

/**
 * Asserts that every message the bot sent for an interaction (callback, edits, follow-ups) carried
 * `allowed_mentions` with an empty `parse` list, so nothing it echoes can ping anyone.
 */
export function assertNoPings(record: InteractionRecord): void {
  const bodies = record.requests
    .filter((request) => request.method !== 'GET' && request.method !== 'DELETE')
    .map((request) => ((request.body as any)?.data ?? request.body) as any)
    .filter((body) => body && typeof body.content === 'string');
  assert.ok(bodies.length > 0, `/${record.name} sent a message`);
  for (const body of bodies) {
    assert.deepEqual(body.allowed_mentions?.parse, [], `allowed_mentions of ${JSON.stringify(body.content.slice(0, 60))}`);
  }
}

/** Resolves with the next barge-in of the session (or rejects after `timeoutMs`). */
export function nextBargeIn(session: VoiceSession, timeoutMs = 10_000): Promise<{ itemId: string | null; playedMs: number | null; userId: string; at: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the bot did not stop talking')), timeoutMs);
    session.once('bargeIn', (event) => {
      clearTimeout(timer);
      resolve({ ...event, at: performance.now() });
    });
  });
}

/** Resolves when the session next stops a reply for any reason (barge-in, /leave…), with the time it did. */
export function nextReplyStop(session: VoiceSession, timeoutMs = 10_000): Promise<{ reason: string; itemId: string | null; playedMs: number | null; at: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the bot did not stop talking')), timeoutMs);
    session.once('replyStopped', (event) => {
      clearTimeout(timer);
      resolve({ reason: event.reason.kind, itemId: event.itemId, playedMs: event.playedMs, at: performance.now() });
    });
  });
}

/** Waits until the bot's own Discord client sees `member` in `channelId` (null: in no voice channel). */
export function botSeesVoiceState(stack: LocalStack, member: SimulatedMember, channelId: string | null): Promise<true> {
  const seen = () => stack.bot.client.guilds.cache.get(stack.discord.guildId)?.voiceStates.cache.get(member.id)?.channelId ?? null;
  return eventually(() => seen() === channelId || undefined, `the bot to see ${member.name} in ${channelId ?? 'no voice channel'}`);
}

/** Waits until the guild's voice turn-taking is idle and no model response is active or queued. */
export function botSettled(stack: LocalStack, timeoutMs = 15_000): Promise<true> {
  return eventually(() => {
    const realtime = stack.bot.context.sessions.conversation(stack.discord.guildId)?.realtime;
    const session = stack.bot.context.sessions.voiceSession(stack.discord.guildId);
    return (!realtime || (realtime.activeResponseId === null && realtime.queuedResponses === 0)) && (!session || session.turnState.status === 'idle') ? true : undefined;
  }, 'the bot to have nothing in progress', timeoutMs);
}

/** How the bot's mention handler ended each message so far (message id → outcome), kept up to date. */
export function watchMentions(stack: LocalStack): { outcome(messageId: string): string | undefined; handled(messageId: string, timeoutMs?: number): Promise<string> } {
  const outcomes = new Map<string, string>();
  stack.bot.mentions.on('handled', ({ messageId, outcome }) => outcomes.set(messageId, outcome));
  return {
    outcome: (messageId) => outcomes.get(messageId),
    handled: (messageId, timeoutMs = 15_000) => eventually(() => outcomes.get(messageId), `the bot to be done with message ${messageId}`, timeoutMs),
  };
}


/** A model that, asked to "repeat everything", repeats every user message it was given: it leaks whatever it holds. */
export function leakyReplyGenerator(context: ReplyContext): string {
  const last = context.items.filter((item) => item.role === 'user').at(-1);
  if (last && /repeat everything/i.test(last.text)) {
    return `Everything: ${context.items.filter((item) => item.role === 'user').map((item) => item.text).join(' | ')}`;
  }
  return defaultReplyGenerator(context);
}

/** `who` mentions the bot in `channelId`; returns the bot's complete answer (fails unless it was answered). */
export async function askBot(mentions: ReturnType<typeof watchMentions>, who: SimulatedMember, text: string, channelId: string): Promise<string> {
  const message = await who.say(text, { mentionBot: true, channelId });
  const outcome = await mentions.handled(message.id, 20_000);
  const replies = message.replies().map((reply) => reply.content);
  assert.equal(outcome, 'answered', `${text}: ${JSON.stringify(replies)}`);
  return replies.join('');
}

/** Overwrites that hide a channel from everyone but the bot and one member, who gets `allow`. */
export function onlyFor(stack: LocalStack, memberId: string, allow: bigint) {
  const { discord } = stack;
  return [
    { id: discord.guildId, type: 'role' as const, deny: Permission.ViewChannel },
    { id: discord.botRoleId, type: 'role' as const, allow: Permission.ViewChannel | Permission.SendMessages | Permission.Connect | Permission.Speak },
    { id: memberId, type: 'member' as const, allow },
  ];
}

/** Waits until the bot's cache holds `count` permission overwrites on the channel (set on the local Discord). */
export function overwritesReachBot(stack: LocalStack, channelId: string, count = 3): Promise<true> {
  return eventually(() => {
    const channel = stack.bot.client.channels.cache.get(channelId);
    return channel && 'permissionOverwrites' in channel && channel.permissionOverwrites.cache.size === count ? true : undefined;
  }, 'the overwrites to reach the bot');
}
