/**
 * FAULT: model-service failures against the real bot in a voice channel — session rotation at the
 * time limit (SESSION_ROTATE_MINUTES=0.02, i.e. every 1.2 s), rate limits (as an error event and as
 * the refusal of a response.create), other error events, session_expired, and refused reconnects.
 * The bot must keep answering, back off when rate limited, and say why in /status.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { utterance } from '../../sim/speech.ts';
import { collectCrashes, eventually, startVoiceStack, voiceTurn, waitForPlaybackIdle, waitForReplyAudio, type VoiceStack } from './helpers.ts';

const crashes = collectCrashes();
after(() => crashes.assertNone());

async function statusLine(s: VoiceStack): Promise<string> {
  const record = await s.bob.runCommand('status');
  const content = await record.waitForContent(10_000);
  const line = content.split('\n').find((text) => text.startsWith('**Model session:**'));
  assert.ok(line, `/status has a model session line: ${content}`);
  return line;
}

describe('session rotation at the time limit', () => {
  let s: VoiceStack;
  before(async () => {
    s = await startVoiceStack({ env: { SESSION_ROTATE_MINUTES: '0.02' } });
  });
  after(() => s?.close());

  test('rotates repeatedly between turns, keeps talking and keeps the history', async () => {
    const realtime = s.stack.realtime!;
    const client = s.conversation().realtime;
    let rotations = 0;
    client.on('rotated', () => rotations++);
    for (let i = 0; i < 4; i++) {
      const heard = await voiceTurn(s.alice, s.carol, 200 + i, { minMs: 1_000 });
      assert.ok(heard >= 1_000, `turn ${i}: a whole reply was heard (${heard} ms), not cut by a rotation`);
      await waitForPlaybackIdle(s.voice);
      const sessionsBefore = realtime.sessions.length;
      await eventually(() => realtime.sessions.length > sessionsBefore, `a rotation after turn ${i}`);
    }
    assert.ok(rotations >= 4, `${rotations} rotations`);
    await eventually(() => realtime.openSessions().length === 1, 'old sessions closed after rotating');
    const newest = realtime.openSessions()[0]!;
    await eventually(
      () => newest.received.some((entry) => entry.event.type === 'conversation.item.create' && JSON.stringify(entry.event).includes('Reply 1.')),
      'the newest session to be re-seeded with the first reply',
    );
    assert.equal(s.conversation().state, 'ready');
  });
});

describe('rate limits, errors, expiry and refused reconnects', () => {
  let s: VoiceStack;
  before(async () => {
    s = await startVoiceStack();
  });
  after(() => s?.close());

  test('a refused response.create (rate_limit_exceeded): the bot backs off, /status says why, the reply comes after the pause', async () => {
    const realtime = s.stack.realtime!;
    realtime.injectFault({
      failNext: { eventType: 'response.create', error: { type: 'tokens', code: 'rate_limit_exceeded', message: 'Rate limit reached for gpt-realtime. Please try again in 2.5s.' } },
    });
    const limited = once(s.conversation().realtime, 'rate_limited');
    const { endedAt } = await s.alice.speak(utterance(0.8, 301));
    const [info] = (await limited) as [{ retryAfterMs: number }];
    assert.equal(info.retryAfterMs, 2_500);
    assert.match(await statusLine(s), /rate limited by the model service, retrying in [1-3] s/);
    await waitForReplyAudio(s.carol, endedAt);
    // The retried request was not sent before the pause the service asked for.
    const creates = realtime.received.filter((entry) => entry.event.type === 'response.create');
    assert.ok(creates.length >= 2, 'the refused request was sent again');
    const refusedAt = creates.at(-2)!.at;
    assert.ok(creates.at(-1)!.at - refusedAt >= 2_400, `retried ${creates.at(-1)!.at - refusedAt} ms after the refusal`);
    await waitForPlaybackIdle(s.voice);
  });

  test('a rate_limit_exceeded error event: responses pause, then the next turn is answered', async () => {
    const realtime = s.stack.realtime!;
    realtime.injectFault({ error: { type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached. Please try again in 1500ms.' } });
    await once(s.conversation().realtime, 'rate_limited');
    assert.match(await statusLine(s), /rate limited by the model service, retrying in [12] s/);
    assert.ok((await voiceTurn(s.alice, s.carol, 302)) >= 300);
    await waitForPlaybackIdle(s.voice);
  });

  for (const [form, withoutEventId] of [
    ['response', false],
    ['error', true],
  ] as const) {
    test(`a rate limit in the ${form} form${withoutEventId ? ' with event_id null' : ''}: the bot waits the hinted time, /status says which limit and why, then answers`, async () => {
      const realtime = s.stack.realtime!;
      const refusals = () => realtime.sessions.reduce((sum, session) => sum + session.rateLimitRefusals, 0);
      const refusalsBefore = refusals();
      realtime.injectFault({ rateLimit: { form, retryAfterMs: 2_500, withoutEventId } });
      const limited = once(s.conversation().realtime, 'rate_limited');
      const { endedAt } = await s.alice.speak(utterance(0.8, form === 'response' ? 305 : 306));
      const [info] = (await limited) as [{ retryAfterMs: number }];
      assert.equal(info.retryAfterMs, 2_500);
      assert.match(await statusLine(s), /rate limited by the model service \(requests per min\), retrying in [1-3] s/);
      await waitForReplyAudio(s.carol, endedAt);
      const creates = realtime.received.filter((entry) => entry.event.type === 'response.create');
      // The simulator refuses any request before the hinted time: one refusal means the bot waited.
      assert.equal(refusals() - refusalsBefore, 1);
      assert.ok(creates.at(-1)!.at - creates.at(-2)!.at >= 2_400, `retried ${creates.at(-1)!.at - creates.at(-2)!.at} ms after the refusal`);
      await waitForPlaybackIdle(s.voice);
      await eventually(() => s.conversation().problem === null, 'the rate limit to leave /status once answered');
    });
  }

  test('a server_error event is shown by /status and the conversation goes on', async () => {
    s.stack.realtime!.injectFault({ error: { type: 'server_error', code: 'server_error', message: 'The server had an error while processing your request.' } });
    await eventually(() => s.conversation().problem?.includes('server_error'), 'the problem to be recorded');
    // People see the code only; the service's message goes to the log.
    assert.match(await statusLine(s), /the model service reported an error \(server_error\)/);
    assert.doesNotMatch(await statusLine(s), /The server had an error/);
    assert.ok((await voiceTurn(s.alice, s.carol, 303)) >= 300);
    await waitForPlaybackIdle(s.voice);
    assert.equal(s.conversation().state, 'ready');
  });

  test('session_expired: reconnects at once and keeps talking', async () => {
    const realtime = s.stack.realtime!;
    const before = realtime.sessions.length;
    // (events.once would reject on the 'error' event the expiry also emits)
    const reconnected = new Promise<void>((resolve) => s.conversation().realtime.once('reconnected', () => resolve()));
    realtime.injectFault({ error: { type: 'invalid_request_error', code: 'session_expired', message: 'Your session hit the maximum duration of 60 minutes.' } });
    await reconnected;
    assert.equal(realtime.sessions.length, before + 1);
    assert.ok((await voiceTurn(s.alice, s.carol, 304)) >= 300);
    await waitForPlaybackIdle(s.voice);
  });

  test('the socket drops and the first reconnects are refused (503): /status shows reconnecting, then it recovers', async () => {
    const realtime = s.stack.realtime!;
    const client = s.conversation().realtime;
    realtime.injectFault({ refuseUpgrades: { count: 2, status: 503 } });
    const attempts: number[] = [];
    const onReconnecting = ({ attempt }: { attempt: number }) => attempts.push(attempt);
    client.on('reconnecting', onReconnecting);
    const reconnected = once(client, 'reconnected');
    realtime.openSessions().at(-1)!.drop();
    await eventually(() => attempts.length >= 2, 'a second reconnect attempt');
    assert.match(await statusLine(s), /reconnecting — reconnecting to the model service/);
    await reconnected;
    client.off('reconnecting', onReconnecting);
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.equal(s.conversation().problem, null);
    assert.ok((await voiceTurn(s.alice, s.carol, 305)) >= 300);
    await waitForPlaybackIdle(s.voice);
    assert.equal(realtime.openSessions().length, 1);
  });
});
