/**
 * The realtime client against what the real service does (as the strict simulator does it): event
 * ids and errors without them, both rate-limit forms, the voice that cannot change after assistant
 * audio, input transcription billed apart.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RealtimeError, ResponseResult } from '../../src/realtime/index.ts';
import { MAX_RATE_LIMIT_RETRIES } from '../../src/realtime/requestErrors.ts';
import type { RealtimeSimulator } from '../../sim/realtime/index.ts';
import { makeClient, silence, startSim, tone, until, waitFor } from './helpers.ts';

/** Runs `body` with a fresh simulator, closing it afterwards. */
async function withSim(options: Parameters<typeof startSim>[0], body: (sim: RealtimeSimulator) => Promise<void>): Promise<void> {
  const sim = await startSim(options);
  try {
    await body(sim);
  } finally {
    await sim.close();
  }
}

/** A connected client whose errors are kept; the service will refuse its next `conversation.item.create`. */
async function clientWithRefusedItem(sim: RealtimeSimulator) {
  const client = makeClient(sim, 'ga');
  const errors: RealtimeError[] = [];
  client.on('error', (error) => errors.push(error));
  await client.connect();
  sim.injectFault({ failNext: { eventType: 'conversation.item.create', error: { type: 'invalid_request_error', code: 'invalid_value', message: 'bad item' } } });
  return { client, errors };
}

const received = (sim: RealtimeSimulator, type: string) => sim.sessions.at(-1)!.received.filter((r) => r.event.type === type);

describe('event ids and errors', () => {
  it('every client event carries its own event_id, and an error naming one is matched to its event type', () =>
    withSim({}, async (sim) => {
      const { client, errors } = await clientWithRefusedItem(sim);
      client.addUserText('refused');
      client.appendAudio(tone(100));
      client.addUserText('accepted');
      await client.createResponse({ modalities: ['text'] }).done;
      const events = sim.sessions.at(-1)!.received.map((r) => r.event);
      const ids = events.map((event) => event.event_id);
      assert.ok(ids.every((id) => typeof id === 'string' && id.length > 0), 'every event has an id');
      assert.equal(new Set(ids).size, ids.length, 'ids are unique');
      assert.equal(errors.length, 1);
      assert.equal(errors[0]!.eventType, 'conversation.item.create');
      assert.equal(errors[0]!.eventId, events.find((event) => event.type === 'conversation.item.create')!.event_id);
      await client.close();
    }));

  it('an error is matched to its event even after more audio appends than the events remembered (appends are not remembered)', () =>
    withSim({}, async (sim) => {
      const { client, errors } = await clientWithRefusedItem(sim);
      client.addUserText('refused');
      // Sent in the same tick, before the error can arrive: 600 appends (512 events are remembered).
      for (let i = 0; i < 600; i++) client.appendAudio(tone(20));
      await until(() => errors.length > 0);
      const appendsSent = () => sim.sessions.at(-1)!.received.filter((r) => r.event.type === 'input_audio_buffer.append').length;
      await until(() => appendsSent() === 600);
      assert.equal(errors.length, 1);
      assert.equal(errors[0]!.eventType, 'conversation.item.create');
      await client.close();
    }));

  it('an error with event_id null fails the waiting request at once, not at the stall watchdog', () =>
    withSim({}, async (sim) => {
      const client = makeClient(sim, 'ga', { responseStallMs: 30_000 });
      client.on('error', () => {});
      await client.connect();
      client.addUserText('hello');
      sim.injectFault({ failNext: { eventType: 'response.create', error: { type: 'server_error', code: 'server_error', message: 'The server had an error.' }, withoutEventId: true } });
      const result = await client.createResponse({ modalities: ['text'] }).done;
      assert.equal(result.status, 'failed');
      assert.equal(result.reason, 'server_error'); // the watchdog would say 'stalled', after 30 s
      // The next request goes through.
      assert.equal((await client.createResponse({ modalities: ['text'] }).done).status, 'completed');
      await client.close();
    }));

  it('an anonymous error that belongs to another kind of event leaves the waiting request alone', () =>
    withSim({}, async (sim) => {
      const client = makeClient(sim, 'ga');
      client.on('error', () => {});
      await client.connect();
      client.addUserText('hello');
      const handle = client.createResponse({ modalities: ['text'] });
      sim.injectFault({ error: { type: 'invalid_request_error', code: 'item_not_found', message: "Item with item_id 'x' not found.", param: 'item_id' } });
      assert.equal((await handle.done).status, 'completed');
      await client.close();
    }));

  it('conversation_already_has_active_response with event_id null re-queues the request, which is then answered', () =>
    withSim({ errorsWithoutEventId: ['conversation_already_has_active_response'] }, async (sim) => {
      const client = makeClient(sim, 'ga', { responseStallMs: 30_000 });
      const errors: RealtimeError[] = [];
      client.on('error', (error) => errors.push(error));
      await client.connect();
      client.addUserText('hello');
      sim.injectFault({
        failNext: {
          eventType: 'response.create',
          error: { code: 'conversation_already_has_active_response', message: 'Conversation already has an active response in progress: resp_x.' },
        },
      });
      const result = await client.createResponse({ modalities: ['text'] }).done;
      assert.equal(result.status, 'completed');
      assert.equal(received(sim, 'response.create').length, 2);
      assert.deepEqual(errors, [], 'not reported as an error');
      await client.close();
    }));
});

describe('real payloads', () => {
  it('rate_limits.updated at the start, nulls, "inf" and metadata.request_id change nothing: replies complete and are counted, ours and the server\'s own', () =>
    withSim({}, async (sim) => {
      const client = makeClient(sim, 'ga', { session: { ...makeClient(sim, 'ga').session, turnDetection: { type: 'server_vad', createResponse: true, interruptResponse: false, silenceDurationMs: 300, prefixPaddingMs: 100 } } });
      const limited: unknown[] = [];
      client.on('rate_limited', (info) => limited.push(info));
      const done: ResponseResult[] = [];
      client.on('response_done', (result) => done.push(result));
      await client.connect();
      // The server answers this turn on its own (its response.created carries metadata {request_id}).
      client.appendAudio(Buffer.concat([silence(200), tone(500), silence(400)]));
      await until(() => done.length === 1);
      assert.equal(done[0]!.status, 'completed');
      assert.ok(done[0]!.usage && done[0]!.costUsd > 0);
      // Then ours, matched to our request.
      client.addUserText('and now you');
      const ours = await client.createResponse({ modalities: ['text'] }).done;
      assert.equal(ours.status, 'completed');
      assert.match(ours.text, /and now you/);
      assert.equal(client.usage.responses, 2);
      assert.deepEqual(limited, [], 'rate_limits.updated is information, not a refusal');
      await client.close();
    }));
});

describe('events in unexpected numbers', () => {
  it('a commit repeated for the same item is not a second turn', () =>
    withSim({}, async (sim) => {
      const client = makeClient(sim, 'ga');
      await client.connect();
      const commits: string[] = [];
      client.on('input_committed', ({ itemId }) => commits.push(itemId));
      const first = waitFor<{ itemId: string }>(client, 'input_committed');
      client.appendAudio(Buffer.concat([silence(200), tone(500), silence(400)]));
      const { itemId } = await first;
      const session = sim.sessions.at(-1)!;
      for (let i = 0; i < 3; i++) session.sendRaw(JSON.stringify({ type: 'input_audio_buffer.committed', event_id: `dup_${i}`, item_id: itemId, previous_item_id: null }));
      session.sendRaw(JSON.stringify({ type: 'input_audio_buffer.committed', event_id: 'other', item_id: 'item_other', previous_item_id: 7 }));
      await waitFor(client, 'input_committed', (e: { itemId: string }) => e.itemId === 'item_other');
      assert.deepEqual(commits, [itemId, 'item_other']);
      await client.close();
    }));
});

describe('rate limits, both forms', () => {
  for (const form of ['error', 'response'] as const) {
    for (const withoutEventId of [false, true]) {
      it(`${form} form${withoutEventId ? ' (event_id null)' : ''}: pauses for the hinted time, then answers`, () =>
        withSim({}, async (sim) => {
          const client = makeClient(sim, 'ga', { responseStallMs: 30_000 });
          client.on('error', () => {});
          await client.connect();
          client.addUserText('hello');
          sim.injectFault({ rateLimit: { form, retryAfterMs: 1_500, withoutEventId } });
          const limited = waitFor<{ retryAfterMs: number; message: string }>(client, 'rate_limited');
          const handle = client.createResponse({ modalities: ['text'] });
          const info = await limited;
          assert.equal(info.retryAfterMs, 1_500);
          assert.match(info.message, /Please try again in 1\.5s/);
          assert.ok(client.pausedUntil > Date.now());
          const result = await handle.done;
          assert.equal(result.status, 'completed');
          assert.match(result.text, /hello/);
          const creates = received(sim, 'response.create');
          assert.equal(creates.length, 2, 'sent again once, after the pause (the simulator refuses any earlier one)');
          assert.equal(sim.sessions.at(-1)!.rateLimitRefusals, 1);
          assert.ok(creates[1]!.at - creates[0]!.at >= 1_450, `retried ${creates[1]!.at - creates[0]!.at} ms after the refusal`);
          await client.close();
        }));
    }
  }

  it('reads the service hints 1m26.4s, 6s and 20ms, capping the pause at a minute', () =>
    withSim({}, async (sim) => {
      const client = makeClient(sim, 'ga');
      await client.connect();
      client.addUserText('hello');
      sim.injectFault({ rateLimit: { form: 'response', retryAfterMs: 86_400 } });
      const limited = waitFor<{ retryAfterMs: number }>(client, 'rate_limited');
      client.createResponse({ modalities: ['text'] });
      assert.equal((await limited).retryAfterMs, 60_000);
      await client.close();
    }));

  it(`gives up on a request refused ${MAX_RATE_LIMIT_RETRIES + 1} times in a row, and answers the next one`, () =>
    withSim({}, async (sim) => {
      const client = makeClient(sim, 'ga');
      await client.connect();
      client.addUserText('hello');
      sim.injectFault({ rateLimit: { form: 'response', retryAfterMs: 20, count: MAX_RATE_LIMIT_RETRIES + 1 } });
      const result = await client.createResponse({ modalities: ['text'] }).done;
      assert.equal(result.status, 'failed');
      assert.equal(result.reason, 'rate_limit_exceeded');
      assert.equal(sim.sessions.at(-1)!.rateLimitRefusals, MAX_RATE_LIMIT_RETRIES + 1);
      await until(() => client.pausedUntil <= Date.now());
      assert.equal((await client.createResponse({ modalities: ['text'] }).done).status, 'completed');
      await client.close();
    }));
});

describe('the voice after assistant audio', () => {
  /** A completed spoken reply, so that the session has assistant audio. */
  async function spokenReply(client: ReturnType<typeof makeClient>): Promise<ResponseResult> {
    client.addUserText('say something');
    return client.createResponse({ modalities: ['audio'] }).done;
  }

  it('is applied at once while the session has no assistant audio', () =>
    withSim({}, async (sim) => {
      const client = makeClient(sim, 'ga');
      await client.connect();
      assert.equal(client.updateSession({ voice: 'verse' }), 'now');
      await waitFor(client, 'session_updated');
      assert.equal(sim.sessions.at(-1)!.config.voice, 'verse');
      assert.equal(sim.sessions.length, 1);
      await client.close();
    }));

  for (const dialect of ['ga', 'beta'] as const) {
    it(`is never sent to a session with assistant audio: a fresh session carries it (${dialect})`, () =>
      withSim({}, async (sim) => {
        const client = makeClient(sim, dialect);
        const errors: RealtimeError[] = [];
        client.on('error', (error) => errors.push(error));
        await client.connect();
        const first = await spokenReply(client);
        assert.ok(first.audioMs > 0 && client.hasAssistantAudio);
        const old = sim.sessions.at(-1)!;
        assert.equal(client.updateSession({ voice: 'verse', instructions: 'Be brief.' }), 'next-session');
        await waitFor(client, 'rotated');
        const fresh = sim.sessions.at(-1)!;
        assert.notEqual(fresh, old);
        assert.equal(fresh.config.voice, 'verse');
        assert.equal(fresh.config.instructions, 'Be brief.');
        const voiceUpdates = old.received.filter((r) => r.event.type === 'session.update' && JSON.stringify(r.event).includes('verse'));
        assert.deepEqual(voiceUpdates.map((r) => JSON.stringify(r.event.session)).filter((s) => /voice/.test(s)), [], 'no voice sent to the old session');
        assert.equal(old.config.instructions, 'Be brief.', 'the rest of the change was applied live');
        assert.ok(!errors.some((error) => error.code === 'cannot_update_voice'));
        assert.equal((await spokenReply(client)).status, 'completed');
        await client.close();
      }));
  }

  it('is held while a reply is in flight even before its first audio, then applied in a fresh session', () =>
    withSim({ firstDeltaDelayMs: 200 }, async (sim) => {
      const client = makeClient(sim, 'ga');
      await client.connect();
      client.addUserText('say something');
      const handle = client.createResponse({ modalities: ['audio'] });
      await waitFor(client, 'response_started');
      assert.equal(client.hasAssistantAudio, false);
      assert.equal(client.updateSession({ voice: 'coral' }), 'next-session');
      assert.equal((await handle.done).status, 'completed');
      await waitFor(client, 'rotated');
      assert.equal(sim.sessions.at(-1)!.config.voice, 'coral');
      assert.ok(sim.sessions.every((session) => session.received.every((r) => !(r.event.type === 'session.update' && session === sim.sessions[0] && JSON.stringify(r.event).includes('coral')))));
      await client.close();
    }));

  it('a voice change while a rotation is opening the next session still reaches that session', () =>
    withSim({}, async (sim) => {
      const client = makeClient(sim, 'ga');
      await client.connect();
      await spokenReply(client);
      sim.injectFault({ delayMs: 300 }); // holds session.updated: the next session is configured, not yet current
      client.rotate();
      await until(() => sim.sessions.length === 2 && sim.sessions[1]!.received.some((r) => r.event.type === 'session.update'));
      assert.equal(sim.sessions[1]!.config.voice, 'alloy', 'configured before the change');
      assert.equal(client.updateSession({ voice: 'ash' }), 'next-session');
      sim.injectFault({ delayMs: 0 });
      await waitFor(client, 'rotated');
      await until(() => sim.sessions[1]!.config.voice === 'ash');
      assert.ok(!sim.sessions[0]!.received.some((r) => r.event.type === 'session.update' && /ash/.test(JSON.stringify(r.event))));
      await client.close();
    }));

  it('a cannot_update_voice from the service anyway moves the conversation to a fresh session', () =>
    withSim({}, async (sim) => {
      const client = makeClient(sim, 'ga');
      await client.connect();
      sim.injectFault({ failNext: { eventType: 'session.update', error: { type: 'invalid_request_error', code: 'cannot_update_voice', message: "Cannot update a conversation's voice if assistant audio is present." }, withoutEventId: true } });
      client.updateSession({ instructions: 'Speak like a pirate.' });
      await waitFor(client, 'rotated');
      assert.equal(sim.sessions.at(-1)!.config.instructions, 'Speak like a pirate.');
      await client.close();
    }));
});

describe('input transcription usage', () => {
  for (const [model, expected] of [
    // The turn is 1.1 s (100 ms prefix padding, 700 ms tone, 300 ms of silence), transcribed "[speech 1.10 s]".
    // whisper-1: $0.006 per minute of audio.
    ['whisper-1', { seconds: 1.1, inputTokens: 0, outputTokens: 0, costUsd: 0.00011 }],
    // gpt-realtime-whisper: $0.017 per minute (OpenAI's model page), billed by duration.
    ['gpt-realtime-whisper', { seconds: 1.1, inputTokens: 0, outputTokens: 0, costUsd: (1.1 / 60) * 0.017 }],
    // gpt-4o-transcribe: $2.50 / $10 per 1M tokens in / out; the simulator bills 10 tokens/s and 4 characters/token.
    ['gpt-4o-transcribe', { seconds: 0, inputTokens: 11, outputTokens: 4, costUsd: (11 * 2.5 + 4 * 10) / 1e6 }],
  ] as const) {
    it(`is counted in the client's usage and cost (${model})`, () =>
      withSim({}, async (sim) => {
        const client = makeClient(sim, 'ga', { session: { ...makeClient(sim, 'ga').session, inputTranscription: { model } } });
        await client.connect();
        const usage = waitFor<{ model: string; usage: Record<string, number>; costUsd: number }>(client, 'transcription_usage');
        client.appendAudio(Buffer.concat([silence(200), tone(700), silence(400)]));
        const event = await usage;
        assert.equal(event.model, model);
        assert.deepEqual(event.usage, { seconds: expected.seconds, inputTokens: expected.inputTokens, outputTokens: expected.outputTokens });
        assert.ok(Math.abs(event.costUsd - expected.costUsd) < 1e-12, `${event.costUsd} vs ${expected.costUsd}`);
        const totals = client.transcriptionUsage;
        assert.equal(totals.turns, 1);
        assert.ok(Math.abs(totals.costUsd - expected.costUsd) < 1e-12);
        assert.ok(Math.abs(client.usage.costUsd - expected.costUsd) < 1e-12, 'in the client total cost');
        assert.equal(client.usage.responses, 0);
        await client.close();
      }));
  }
});
