/**
 * FUZZ: 10,000 malformed server events into the real bot's realtime session while it sits in a voice
 * channel — 5,000 from the simulator's `garbage` fault (broken JSON, non-objects, wrong-typed fields,
 * prototype-pollution keys, deep nesting, bad base64, binary frames) and 5,000 structurally valid
 * events with wrong field types, unknown types and huge strings. No crash, no unhandled rejection, the
 * conversation stays up and the bot still answers by voice and in text.
 */
import assert from 'node:assert/strict';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { prng } from '../../sim/realtime/garbage.ts';
import { collectCrashes, eventually, startVoiceStack, voiceTurn, waitForPlaybackIdle, type VoiceStack } from '../faults/helpers.ts';

const crashes = collectCrashes();
let s: VoiceStack;
const random = prng(777);
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

before(async () => {
  s = await startVoiceStack();
  assert.ok((await voiceTurn(s.alice, s.carol, 1)) >= 300);
  await waitForPlaybackIdle(s.voice);
});
after(async () => {
  await s?.close();
  crashes.assertNone();
});

const TYPES = [
  'session.created', 'session.updated', 'input_audio_buffer.speech_started', 'input_audio_buffer.speech_stopped', 'input_audio_buffer.committed',
  'input_audio_buffer.cleared', 'conversation.item.input_audio_transcription.completed', 'conversation.item.added', 'conversation.item.truncated',
  'response.created', 'response.output_item.added', 'response.output_audio.delta', 'response.output_audio.done', 'response.output_audio_transcript.delta',
  'response.output_text.delta', 'response.done', 'rate_limits.updated', 'error', 'response.audio.delta', 'response.text.delta',
];
const HUGE = 'x'.repeat(300_000);
const WEIRD: unknown[] = [null, true, 0, -1, 2 ** 53, -1e308, 1e308, '', 'NaN', '-Infinity', [], [null], {}, { a: { b: { c: [] } } }, '\u0000\u202e\ud800', HUGE, '💥'.repeat(10_000), { __proto__: { polluted: 1 } }];

/** A structurally valid event (an object with a string type) whose fields are wrong, unknown or huge. */
function validButWrong(i: number): string {
  const event: Record<string, unknown> = { type: i % 10 === 0 ? `x.${HUGE.slice(0, 1 + (i % 5000))}` : i % 10 === 1 ? `unknown.type.${i}` : pick(TYPES), event_id: pick(WEIRD) };
  for (const key of ['response', 'item', 'item_id', 'response_id', 'delta', 'transcript', 'audio_start_ms', 'audio_end_ms', 'previous_item_id', 'error', 'session', 'rate_limits', 'output_index', 'content_index']) {
    if (random() < 0.5) event[key] = pick(WEIRD);
  }
  if (i % 7 === 0) event.response = { id: pick(WEIRD), status: pick(WEIRD), status_details: pick(WEIRD), usage: { input_tokens: pick(WEIRD), output_tokens: pick(WEIRD), input_token_details: pick(WEIRD), output_token_details: { audio_tokens: pick(WEIRD) } }, metadata: pick(WEIRD) };
  if (i % 11 === 0) event.error = { message: pick([HUGE, 5, null, {}]), code: pick(['server_error', 'unknown', 5, null, 'conversation_already_has_active_response', 'response_cancel_not_active']), type: pick(WEIRD) };
  if (i % 13 === 0) event.delta = pick(['!!!not-base64', 'A', 'AA=', HUGE.slice(0, 50_000), 'QUJD']);
  return JSON.stringify(event);
}

test('10,000 malformed realtime events: no crash, the conversation stays up, replies still arrive', async () => {
  const realtime = s.stack.realtime!;
  const session = realtime.openSessions().at(-1)!;
  const client = s.conversation().realtime;
  const errors: string[] = [];
  const onError = (error: Error) => errors.push(error.message.slice(0, 80));
  client.on('error', onError);
  for (let batch = 0; batch < 10; batch++) {
    realtime.injectFault({ garbage: 500 });
    await yieldLoop();
  }
  for (let i = 0; i < 5_000; i++) {
    session.sendRaw(validButWrong(i));
    if (i % 100 === 99) await yieldLoop();
  }
  // The events above sit in the bot's socket until it has parsed them all (about 1 GB of JSON: up to 20 s
  // on a loaded machine), and a turn spoken meanwhile queues behind them. A marker sent last tells when
  // the bot has read everything, so the turn below is timed from there, not from the sending.
  session.sendRaw(JSON.stringify({ type: 'error', event_id: null, error: { type: 'invalid_request_error', code: 'fuzz_marker', message: 'fuzz marker: every event before this one was read' } }));
  await eventually(() => errors.some((message) => message.startsWith('fuzz marker')), 'the bot to read every fuzz event', 90_000);
  // Everything was delivered to the bot on the same socket; a normal turn after it is answered.
  await eventually(() => !session.closed && client.state === 'open', 'the session to still be open');
  assert.equal(realtime.openSessions().length, 1);
  assert.equal(realtime.openSessions()[0], session, 'the bot did not need to reconnect');
  assert.equal(s.conversation().state, 'ready');
  // Forged response.created events may leave a response that will never finish: given up after 20 s.
  await eventually(() => client.activeResponseId === null && client.queuedResponses === 0, 'no response stuck in flight', 45_000);
  await waitForPlaybackIdle(s.voice);
  const heard = await voiceTurn(s.alice, s.carol, 2, { minMs: 1_000, countFromSpeechStart: true });
  assert.ok(heard >= 1_000, `a whole reply after the fuzz (${heard} ms)`);
  await waitForPlaybackIdle(s.voice);
  const message = await s.bob.say('are you still there?', { mentionBot: true });
  const reply = await message.waitForReply((candidate) => candidate.content.includes('Reply'), 20_000);
  assert.ok(reply.content.length > 0);
  client.off('error', onError);
  // Every stored number stayed finite (no NaN or Infinity from garbage usage).
  const usage = await s.stack.bot.context.store.getUsage(s.stack.discord.guildId);
  for (const [key, value] of Object.entries(usage)) assert.ok(Number.isFinite(value), `usage ${key} is ${value}`);
  const totals = client.usage;
  for (const [key, value] of Object.entries(totals)) if (typeof value === 'number') assert.ok(Number.isFinite(value), `client usage ${key} is ${value}`);
});
