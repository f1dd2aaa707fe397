import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuthenticationError, ConnectionError, DialectError, type RealtimeError } from '../../src/realtime/index.ts';
import { makeClient, startSim, until, waitFor } from './helpers.ts';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

/** Texts the simulator's session received as conversation items (the re-seeded history). */
function seededTexts(events: Array<{ event: Record<string, unknown> }>): string[] {
  return events
    .filter((r) => r.event.type === 'conversation.item.create')
    .map((r) => ((r.event.item as { content: Array<{ text: string }> }).content[0]!.text));
}

describe('realtime client resilience', () => {
  it('refuses a bad key with AuthenticationError and a single handshake (no retry storm)', async () => {
    const sim = await startSim();
    const client = makeClient(sim, 'ga', { apiKey: 'not-the-key' });
    await assert.rejects(client.connect(), (err: unknown) => err instanceof AuthenticationError && /bad API key/.test(err.message) && !err.message.includes('not-the-key'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(sim.handshakes, 1);
    assert.equal(client.state, 'idle');
    await sim.close();
  });

  it('reports a refused upgrade (400 without a model) with the service\'s message, once, without retrying', async () => {
    const sim = await startSim();
    try {
      // An explicitly empty model is left alone by the URL builder, and the service refuses it.
      const client = makeClient(sim, 'ga', { url: `${sim.url}?model=` });
      const error = await client.connect().then(
        () => assert.fail('connected'),
        (err: unknown) => err,
      );
      assert.ok(error instanceof ConnectionError);
      assert.equal(error.status, 400);
      assert.equal(error.fatal, true);
      assert.equal(error.code, 'invalid_value');
      assert.match(error.message, /^127\.0\.0\.1:\d+ refused the WebSocket upgrade with HTTP 400: Invalid value for 'model'/);
      assert.equal(sim.handshakes, 1);
      assert.equal(client.state, 'idle');
    } finally {
      await sim.close();
    }
  });

  it('reports an unreachable service as ConnectionError', async () => {
    const client = makeClient({ url: 'ws://127.0.0.1:1/v1/realtime', apiKey: 'k' } as never, 'ga');
    await assert.rejects(client.connect(), (err: unknown) => err instanceof ConnectionError && /cannot reach 127\.0\.0\.1:1/.test(err.message));
  });

  it('says to switch the dialect on beta_api_shape_disabled', async () => {
    const sim = await startSim({ rejectBeta: true });
    const client = makeClient(sim, 'beta');
    await assert.rejects(client.connect(), (err: unknown) => err instanceof DialectError && err.code === 'beta_api_shape_disabled' && /use dialect "ga"/.test(err.message));
    assert.equal(sim.handshakes, 1);
    await sim.close();
  });

  it('reconnects in the middle of a response and re-seeds the conversation', async () => {
    const sim = await startSim({ replyAudioMs: 2000, burstFactor: 4 });
    const client = makeClient(sim, 'ga');
    const reconnecting: Array<{ attempt: number; delayMs: number }> = [];
    client.on('reconnecting', (r) => reconnecting.push(r));
    await client.connect();
    client.addUserText('remember the number 42');
    const first = await client.createResponse({ modalities: ['text'] }).done;
    client.addUserText('now talk');
    const handle = client.createResponse();
    await waitFor(handle, 'audio');
    sim.injectFault({ dropAfterEvents: 2 });
    const queued = client.createResponse({ modalities: ['text'] }); // waits behind the doomed one
    const lost = await handle.done;
    assert.equal(lost.status, 'failed');
    assert.equal(lost.reason, 'disconnected');
    await waitFor(client, 'reconnected');
    assert.equal(client.state, 'open');
    assert.ok(reconnecting.length >= 1 && reconnecting[0]!.attempt === 1);
    assert.ok(reconnecting[0]!.delayMs >= 10 && reconnecting[0]!.delayMs <= 20); // equal jitter on 20 ms
    const next = sim.sessions.at(-1)!;
    assert.notEqual(next, sim.sessions[0]);
    await until(() => seededTexts(next.received).length >= 3);
    const seeded = seededTexts(next.received);
    assert.deepEqual(seeded.slice(0, 3), ['remember the number 42', first.text, 'now talk']);
    assert.equal(next.config.instructions, 'You are a test.');
    // The queued request survives the drop and runs on the new session, which knows the context.
    const after = await queued.done;
    assert.equal(after.status, 'completed');
    assert.match(after.text, /^Reply 1\. You said: "now talk"/);
    await client.close();
    await sim.close();
  });

  it('rotates before the maximum duration without cutting a response, keeping context', async () => {
    const sim = await startSim({ replyAudioMs: 1200, burstFactor: 4 });
    const client = makeClient(sim, 'beta', { rotateAfterMs: 150, historyTokenBudget: 40 });
    let rotated = 0;
    client.on('rotated', () => rotated++);
    await client.connect();
    client.addUserText('an old message that will not fit in the token budget at all, being long enough');
    client.addUserText('my name is Zoe');
    const handle = client.createResponse(); // ~300 ms of streaming: rotation falls due in the middle
    const result = await handle.done;
    assert.equal(result.status, 'completed');
    assert.equal(result.audioMs, 1200);
    await waitFor(client, 'rotated');
    const fresh = sim.sessions.at(-1)!;
    assert.equal(sim.sessions.length, 2);
    assert.equal(fresh.dialect, 'beta');
    await until(() => seededTexts(fresh.received).length >= 2);
    const seeded = seededTexts(fresh.received);
    assert.deepEqual(seeded, ['my name is Zoe', result.transcript]); // within the 40-token budget
    await until(() => sim.sessions[0]!.closed);
    // The response ended before the old session closed: it was completed, never cut.
    const old = sim.sessions[0]!;
    assert.ok(old.received.every((r) => r.event.type !== 'response.cancel'));
    const after = await client.createResponse({ modalities: ['text'] }).done;
    assert.equal(after.text, 'Reply 1. You said: "my name is Zoe"');
    await client.close();
    await sim.close();
  });

  it('rotate() on demand waits for the reply in flight, then moves to a new session with the new voice and the history', async () => {
    const sim = await startSim({ replyAudioMs: 800, burstFactor: 4 });
    const client = makeClient(sim, 'ga');
    await client.connect();
    client.addUserText('remember the word kiwi');
    const handle = client.createResponse();
    client.updateSession({ voice: 'verse' });
    client.rotate(); // requested mid-response: must not cut it
    const result = await handle.done;
    assert.equal(result.status, 'completed');
    await waitFor(client, 'rotated');
    assert.equal(sim.sessions.length, 2);
    const fresh = sim.sessions.at(-1)!;
    await until(() => seededTexts(fresh.received).length >= 2);
    assert.deepEqual(seededTexts(fresh.received), ['remember the word kiwi', result.transcript]);
    const update = fresh.received.find((r) => r.event.type === 'session.update')!;
    assert.equal((update.event.session as { audio: { output: { voice: string } } }).audio.output.voice, 'verse');
    assert.ok(sim.sessions[0]!.received.every((r) => r.event.type !== 'response.cancel'));
    await client.close();
    await sim.close();
  });

  it('reconnects at once on session_expired', async () => {
    const sim = await startSim({ expireSessionsAfterMs: 100 });
    const client = makeClient(sim, 'ga');
    const errors: RealtimeError[] = [];
    client.on('error', (e) => errors.push(e));
    await client.connect();
    client.addUserText('keep me');
    const reconnecting = await waitFor<{ delayMs: number; reason: string }>(client, 'reconnecting');
    assert.equal(reconnecting.reason, 'session_expired');
    assert.equal(reconnecting.delayMs, 0);
    await waitFor(client, 'reconnected');
    assert.ok(errors.some((e) => e.code === 'session_expired' && !e.fatal));
    await until(() => seededTexts(sim.sessions.at(-1)!.received).length >= 1);
    assert.deepEqual(seededTexts(sim.sessions.at(-1)!.received), ['keep me']);
    await client.close();
    await sim.close();
  });

  it('backs off on rate_limit_exceeded and retries the refused request', async () => {
    const sim = await startSim();
    const client = makeClient(sim, 'ga');
    await client.connect();
    sim.injectFault({ failNext: { eventType: 'response.create', error: { type: 'rate_limit_error', code: 'rate_limit_exceeded', message: 'Rate limit reached. Please try again in 150ms.' } } });
    const limited = waitFor<{ retryAfterMs: number }>(client, 'rate_limited');
    client.addUserText('hi');
    const handle = client.createResponse({ modalities: ['text'] });
    assert.equal((await limited).retryAfterMs, 150);
    const result = await handle.done;
    assert.equal(result.status, 'completed');
    const creates = sim.sessions.at(-1)!.received.filter((r) => r.event.type === 'response.create');
    assert.equal(creates.length, 2);
    assert.ok(creates[1]!.at - creates[0]!.at >= 140); // the retry waited for the hinted delay (timer granularity margin)
    await client.close();
    await sim.close();
  });

  it('stops (no reconnect loop) when the key is refused on reconnect', async () => {
    const sim = await startSim();
    const client = makeClient(sim, 'ga');
    const errors: RealtimeError[] = [];
    client.on('error', (e) => errors.push(e));
    await client.connect();
    sim.injectFault({ refuseUpgrades: { count: 100, status: 401 } });
    sim.openSessions()[0]!.drop();
    const reason = await waitFor<string>(client, 'closed');
    assert.match(reason, /bad API key/);
    assert.equal(client.state, 'closed');
    assert.equal(sim.handshakes, 2);
    assert.ok(errors.at(-1) instanceof AuthenticationError && errors.at(-1)!.fatal);
    await sim.close();
  });

  it('gives up after maxAttempts when the service stays down', async () => {
    const sim = await startSim();
    const client = makeClient(sim, 'ga', { reconnect: { initialDelayMs: 5, maxDelayMs: 10, maxAttempts: 3 } });
    client.on('error', () => {});
    await client.connect();
    sim.injectFault({ refuseUpgrades: { count: 100, status: 503 } });
    sim.openSessions()[0]!.drop();
    assert.equal(await waitFor<string>(client, 'closed'), 'reconnect failed');
    assert.equal(sim.handshakes, 4);
    await sim.close();
  });

  it('survives 1,000+ garbled or hostile server messages and keeps working', async () => {
    const sim = await startSim();
    for (const dialect of ['ga', 'beta'] as const) {
      const client = makeClient(sim, dialect);
      const errors: RealtimeError[] = [];
      client.on('error', (e) => errors.push(e));
      await client.connect();
      client.addUserText('still there?');
      const during = client.createResponse({ modalities: ['text'] });
      sim.injectFault({ garbage: 1200 });
      assert.equal((await during.done).status, 'completed');
      const after = await client.createResponse({ modalities: ['text'] }).done;
      assert.equal(after.status, 'completed');
      assert.match(after.text, /^Reply 2\./);
      assert.equal(client.state, 'open');
      assert.ok(errors.every((e) => !e.fatal));
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      await client.close();
    }
    assert.deepEqual(unhandled, []);
    await sim.close();
  });
});
