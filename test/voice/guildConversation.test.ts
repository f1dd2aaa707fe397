/**
 * A guild's conversation against the strict simulator: /status problems that clear when their cause
 * is gone (after a rotation too), the voice applied at once or through a fresh session, and usage —
 * replies and input transcription — saved once with the cost the client computed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { createStore, defaultSettings, type BotStore } from '../../src/store/index.ts';
import { ConversationProblems, rateLimitText } from '../../src/voice/conversationProblems.ts';
import { GuildConversation } from '../../src/voice/guildConversation.ts';
import { toSpeakerLabel } from '../../src/voice/speakerLabels.ts';
import type { RealtimeSimulator } from '../../sim/realtime/index.ts';
import { silence, startSim, tone, until, waitFor } from '../realtime/helpers.ts';

let sim: RealtimeSimulator;
let store: BotStore;
before(async () => {
  sim = await startSim();
  store = createStore({ databasePath: ':memory:', logger: silentLogger });
});
after(async () => {
  await store.close();
  await sim.close();
});

let guilds = 0;
async function conversation(mode: 'voice' | 'text' = 'text'): Promise<GuildConversation> {
  const config = loadConfig({ REALTIME_URL: sim.url, REALTIME_API_KEY: sim.apiKey });
  const created = new GuildConversation({ guildId: `g${++guilds}`, config, store, settings: defaultSettings(), logger: silentLogger, mode });
  await created.start();
  return created;
}

/** A spoken reply in the conversation (the session then has assistant audio). */
async function spokenReply(c: GuildConversation): Promise<void> {
  c.realtime.addUserText('say something');
  assert.equal((await c.realtime.createResponse({ modalities: ['audio'] }).done).status, 'completed');
}

describe('/status problems clear when their cause is gone', () => {
  it('a service error clears when a reply completes', async () => {
    const c = await conversation();
    sim.injectFault({ error: { type: 'server_error', code: 'server_error', message: 'The server had an error while processing your request.' } });
    await until(() => c.problem !== null);
    assert.equal(c.problem, 'the model service reported an error (server_error)', 'the code only: the message goes to the log');
    await (await c.askText(toSpeakerLabel('Alice'), 'hello')).done;
    assert.equal(c.problem, null);
    await c.close();
  });

  it('a service error clears after a rotation (a fresh session)', async () => {
    const c = await conversation();
    sim.injectFault({ error: { type: 'invalid_request_error', code: 'invalid_value', message: 'Something was wrong.', param: 'item_id' } });
    await until(() => c.problem !== null);
    c.realtime.rotate();
    await waitFor(c.realtime, 'rotated');
    assert.equal(c.problem, null);
    await c.close();
  });

  it('a rate limit says which limit and when the bot retries, then clears once answered', async () => {
    const c = await conversation();
    sim.injectFault({ rateLimit: { form: 'response', retryAfterMs: 2_000 } });
    const limited = waitFor(c.realtime, 'rate_limited');
    const handle = await c.askText(toSpeakerLabel('Alice'), 'hello');
    await limited;
    assert.match(c.problem ?? '', /^rate limited by the model service \(requests per min\), retrying in [12] s$/);
    assert.equal((await handle.done).status, 'completed');
    assert.equal(c.problem, null);
    await c.close();
  });

  it('the words of a rate limit, and problems shown together in order', () => {
    const now = 1_000_000;
    const message = 'Rate limit reached for gpt-realtime in organization org-1 on tokens per min (TPM): Limit 40000. Please try again in 6s.';
    assert.equal(rateLimitText(message, now + 5_500, true, now), 'rate limited by the model service (tokens per min), retrying in 6 s');
    assert.equal(rateLimitText('slow down', now - 1, true, now), 'rate limited by the model service, retrying now');
    assert.equal(rateLimitText(message, now - 1, false, now), null, 'over, and nothing waits for it');
    const problems = new ConversationProblems();
    problems.set('voice', 'voice later');
    problems.set('connection', 'reconnecting');
    let gone = false;
    problems.set('rate_limit', () => (gone ? null : 'limited'));
    assert.equal(problems.summary, 'reconnecting; limited; voice later');
    gone = true;
    problems.clear('connection', 'voice');
    assert.equal(problems.summary, null);
  });
});

describe('/voice', () => {
  it('applies at once while the model has not spoken in the session', async () => {
    const c = await conversation();
    const session = sim.sessions.at(-1)!;
    assert.equal(c.setVoice('coral'), 'applied');
    await until(() => session.config.voice === 'coral');
    assert.equal(sim.sessions.at(-1), session, 'same session');
    assert.equal(c.problem, null);
    await c.close();
  });

  it('after the model has spoken: no voice is sent to that session, a fresh one carries it, /status says so until then', async () => {
    const c = await conversation();
    await spokenReply(c);
    const old = sim.sessions.at(-1)!;
    c.realtime.addUserText('a long one');
    const inFlight = c.realtime.createResponse({ modalities: ['audio'] });
    await waitFor(c.realtime, 'audio_delta');
    assert.equal(c.setVoice('sage'), 'after-reply');
    assert.match(c.problem ?? '', /voice changes to sage after the current reply/);
    assert.equal((await inFlight.done).status, 'completed', 'the reply in flight is not cut');
    await waitFor(c.realtime, 'rotated');
    const fresh = sim.sessions.at(-1)!;
    assert.notEqual(fresh, old);
    assert.equal(fresh.config.voice, 'sage');
    assert.ok(!old.received.some((r) => r.event.type === 'session.update' && /sage/.test(JSON.stringify(r.event))), 'nothing about the voice reached the old session');
    assert.equal(c.problem, null, 'the held voice change is no longer a problem');
    await c.close();
  });
});

describe('usage is saved once, priced by the client', () => {
  it('replies and input transcription reach the store with the client\'s cost', async () => {
    const c = await conversation('voice');
    const replies: number[] = [];
    c.realtime.on('response_done', (result) => replies.push(result.costUsd));
    const transcribed = waitFor<{ costUsd: number }>(c.realtime, 'transcription_usage');
    c.realtime.appendAudio(Buffer.concat([silence(200), tone(700), silence(700)]));
    const transcription = await transcribed;
    await spokenReply(c);
    await until(() => replies.length === 1);
    const totals = await store.getUsage(c.guildId);
    assert.equal(totals.responses, 1, 'the transcription is not a reply');
    assert.ok(transcription.costUsd > 0 && replies[0]! > 0);
    assert.ok(Math.abs(totals.costUsd - (replies[0]! + transcription.costUsd)) < 1e-12, `${totals.costUsd} = reply + transcription`);
    assert.ok(Math.abs(c.realtime.usage.costUsd - totals.costUsd) < 1e-12, 'the client total is the same');
    await c.close();
  });
});

describe('text answers are bounded (issue 18.6)', () => {
  it('each text answer asks for at most TEXT_MAX_OUTPUT_TOKENS; spoken replies keep the session default', async () => {
    const config = loadConfig({ REALTIME_URL: sim.url, REALTIME_API_KEY: sim.apiKey, TEXT_MAX_OUTPUT_TOKENS: '321' });
    const c = new GuildConversation({ guildId: `g${++guilds}`, config, store, settings: defaultSettings(), logger: silentLogger, mode: 'text' });
    await c.start();
    const since = Date.now();
    assert.equal((await (await c.askText(toSpeakerLabel('Alice'), 'hello')).done).status, 'completed');
    await spokenReply(c);
    const creates = sim.received.filter((entry) => entry.event.type === 'response.create' && entry.at >= since).map((entry) => entry.event.response as Record<string, unknown>);
    assert.equal(creates.length, 2);
    assert.equal(creates[0]!.max_output_tokens, 321, 'the text answer');
    assert.equal(creates[1]!.max_output_tokens, undefined, 'the spoken reply');
    await c.close();
  });

  it('the default is 1500', () => {
    assert.equal(loadConfig({ REALTIME_URL: sim.url, REALTIME_API_KEY: sim.apiKey }).textMaxOutputTokens, 1500);
  });
});
