import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { canonicalEventType } from '../../src/realtime/dialect.ts';
import { MAX_PLAUSIBLE_COUNT, MAX_RATE_LIMIT_PAUSE_MS, SERVER_EVENT_SCHEMAS, parseServerEvent, retryAfterFromMessage, transcriptionUsageFromWire, usageFromWire } from '../../src/realtime/protocol.ts';

test('rate-limit hints are read in seconds and milliseconds', () => {
  assert.equal(retryAfterFromMessage('Rate limit reached. Please try again in 1.5s.'), 1_500);
  assert.equal(retryAfterFromMessage('Please try again in 200ms'), 200);
  assert.equal(retryAfterFromMessage('slow down'), 1_000, 'no hint: the fallback');
  assert.equal(retryAfterFromMessage('try again in NaNs', 750), 750);
});

test('a huge or hostile hint cannot mute the bot for longer than the cap', () => {
  assert.equal(retryAfterFromMessage('try again in 86400s'), MAX_RATE_LIMIT_PAUSE_MS);
  assert.equal(retryAfterFromMessage('try again in 99999999999ms'), MAX_RATE_LIMIT_PAUSE_MS);
  // A number too large to represent is no hint at all: the short fallback applies.
  assert.equal(retryAfterFromMessage(`try again in ${'9'.repeat(400)}s`), 1_000);
});

test('rate-limit hints in the service\'s forms: 1m26.4s, 6s, 20ms (and hours, capped)', () => {
  const message = (hint: string) => `Rate limit reached for gpt-realtime in organization org-x on requests per day (RPD): Limit 1000, Used 1000, Requested 1. Please try again in ${hint}. Visit https://platform.openai.com/account/rate-limits to learn more.`;
  assert.equal(retryAfterFromMessage(message('6s')), 6_000);
  assert.equal(retryAfterFromMessage(message('20ms')), 20);
  assert.equal(retryAfterFromMessage(message('1m2.5s')), 60_000, 'capped');
  assert.equal(retryAfterFromMessage(message('0m2.5s')), 2_500);
  assert.equal(retryAfterFromMessage(message('1m26.4s'), 0), MAX_RATE_LIMIT_PAUSE_MS);
  assert.equal(retryAfterFromMessage(message('2h')), MAX_RATE_LIMIT_PAUSE_MS);
  assert.equal(retryAfterFromMessage(null), 1_000);
});

describe('tolerant parsing of real payloads', () => {
  const parse = (event: Record<string, unknown>) => parseServerEvent(JSON.stringify(event), silentLogger);

  test('response.created with nulls, "inf", extra fields and metadata.request_id', () => {
    const event = parse({
      type: 'response.created',
      event_id: 'event_1',
      response: { object: 'realtime.response', id: 'resp_1', status: 'in_progress', status_details: null, output: [], conversation_id: 'conv_1', output_modalities: ['audio'], max_output_tokens: 'inf', audio: { output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin' } }, usage: null, metadata: { request_id: 'req_1' } },
    });
    assert.ok(event && event.type === 'response.created');
    assert.equal(event.response.id, 'resp_1');
    assert.deepEqual(event.response.metadata, { request_id: 'req_1' });
  });

  test('response.done whose usage has nulls and numeric strings, and a failed status_details', () => {
    const event = parse({
      type: 'response.done',
      response: {
        id: 'resp_1',
        status: 'failed',
        status_details: { type: 'failed', reason: null, error: { type: 'invalid_request_error', code: 'rate_limit_exceeded', message: 'Please try again in 6s.', extra: 1 } },
        max_output_tokens: 'inf',
        usage: { total_tokens: '12', input_tokens: null, input_token_details: { text_tokens: '7', audio_tokens: null, cached_tokens_details: null, image_tokens: 0 }, output_token_details: null },
      },
    });
    assert.ok(event && event.type === 'response.done');
    assert.equal(event.response.status_details?.error?.code, 'rate_limit_exceeded');
    assert.equal(event.response.status_details?.error?.message, 'Please try again in 6s.');
    assert.deepEqual(usageFromWire(event.response.usage), { inputTextTokens: 7, inputAudioTokens: 0, cachedTextTokens: 0, cachedAudioTokens: 0, outputTextTokens: 0, outputAudioTokens: 0 });
    // Usage of the wrong type altogether: the event still counts (as a response without usage).
    const odd = parse({ type: 'response.done', response: { id: 'resp_2', status: 7, status_details: 'x', usage: 'lots', metadata: [1] } });
    assert.ok(odd && odd.type === 'response.done');
    assert.equal(odd.response.usage, null);
    assert.equal(odd.response.status, null);
  });

  test('errors with event_id null, a missing param and extra fields; session events full of nulls', () => {
    const error = parse({ type: 'error', event_id: 'event_9', error: { type: 'invalid_request_error', code: 'cannot_update_voice', message: "Cannot update a conversation's voice if assistant audio is present.", event_id: null, extra: { a: 1 } } });
    assert.ok(error && error.type === 'error');
    assert.deepEqual(error.error, { type: 'invalid_request_error', code: 'cannot_update_voice', message: "Cannot update a conversation's voice if assistant audio is present.", param: null, event_id: null, extra: { a: 1 } });
    const bare = parse({ type: 'error', error: null });
    assert.ok(bare && bare.type === 'error');
    assert.equal(bare.error.message, 'unknown error');
    for (const type of ['session.created', 'session.updated']) {
      const session = parse({ type, session: { id: 'sess_1', tracing: null, tools: [], prompt: null, max_output_tokens: 'inf', expires_at: 1e9, audio: { input: { noise_reduction: null } } } });
      assert.ok(session && session.type === type);
      assert.ok(parse({ type, session: null }), `${type} with a null session is kept`);
    }
  });

  test('numbers as strings or nulls in VAD, transcription and rate-limit events', () => {
    const started = parse({ type: 'input_audio_buffer.speech_started', item_id: 'item_1', audio_start_ms: '120' });
    assert.ok(started && started.type === 'input_audio_buffer.speech_started');
    assert.equal(started.audio_start_ms, 120);
    const stopped = parse({ type: 'input_audio_buffer.speech_stopped', item_id: 'item_1', audio_end_ms: null });
    assert.ok(stopped && stopped.type === 'input_audio_buffer.speech_stopped');
    assert.equal(stopped.audio_end_ms, undefined);
    const transcript = parse({ type: 'conversation.item.input_audio_transcription.completed', item_id: 'item_1', content_index: 0, transcript: null, logprobs: null, usage: { type: 'tokens', input_tokens: '31', output_tokens: 5, total_tokens: 36, input_token_details: null } });
    assert.ok(transcript && transcript.type === 'conversation.item.input_audio_transcription.completed');
    assert.equal(transcript.transcript, null);
    assert.deepEqual(transcriptionUsageFromWire(transcript.usage), { seconds: 0, inputTokens: 31, outputTokens: 5 });
    const limits = parse({ type: 'rate_limits.updated', rate_limits: [{ name: 'requests', limit: 5000, remaining: '4999', reset_seconds: '0.012' }, null, { name: 7 }] });
    assert.ok(limits && limits.type === 'rate_limits.updated');
    assert.equal(limits.rate_limits.length, 3);
    assert.equal(limits.rate_limits[0]!.remaining, 4999);
    assert.ok(parse({ type: 'rate_limits.updated', rate_limits: null }));
  });

  test('what identifies an event is still required: an audio delta without ids is dropped', () => {
    assert.equal(parse({ type: 'response.output_audio.delta', delta: 'AAAA' }), null);
    assert.equal(parse({ type: 'response.created', response: { id: '' } }), null);
  });
});

test('a garbled, huge usage count is dropped, not priced: 1e308 tokens would make the cost Infinity', () => {
  const usage = usageFromWire({ input_token_details: { text_tokens: 1e308, audio_tokens: 120_000 }, output_token_details: { audio_tokens: 10_000_001 } } as never);
  assert.deepEqual(usage, { inputTextTokens: 0, inputAudioTokens: 120_000, cachedTextTokens: 0, cachedAudioTokens: 0, outputTextTokens: 0, outputAudioTokens: 0 });
  assert.equal(MAX_PLAUSIBLE_COUNT, 10_000_000);
  assert.deepEqual(transcriptionUsageFromWire({ type: 'duration', seconds: 1e300 } as never), { seconds: 0, inputTokens: 0, outputTokens: 0 });
  assert.deepEqual(transcriptionUsageFromWire({ type: 'tokens', input_tokens: 2e9, output_tokens: 15 } as never), { seconds: 0, inputTokens: 0, outputTokens: 15 });
});

describe('delta events checked by hand parse exactly as their zod schema does', () => {
  /** What parseServerEvent returned before the hand check: the schema's parse, with the canonical type. */
  function viaZod(text: string): unknown {
    const raw = JSON.parse(text) as { type: string };
    const type = canonicalEventType(raw.type) as 'response.output_text.delta';
    const result = SERVER_EVENT_SCHEMAS[type].safeParse(raw);
    return result.success ? { ...result.data, type } : null;
  }
  const types = ['response.output_audio.delta', 'response.audio.delta', 'response.output_audio_transcript.delta', 'response.audio_transcript.delta', 'response.output_text.delta', 'response.text.delta'];
  const ids = '"response_id":"resp_1","item_id":"item_1"';
  const bodies = [
    `${ids},"delta":"Hello"`,
    `"event_id":"event_1",${ids},"output_index":0,"content_index":0,"delta":"AAAA"`,
    `"delta":"","item_id":"item_1","response_id":"resp_1"`, // fields in another order, an empty delta
    `${ids},"delta":"é \\u0000 \\"q\\"","event_id":null,"obfuscation":null,"extra":{"a":[1,null,"x"],"b":{}},"n":1e3,"t":true`,
    `${ids},"delta":"x","__proto__":{"polluted":true},"1":"numeric key","constructor":"c"`,
    `${ids},"delta":"first","delta":"second"`, // JSON keeps the last
    `${ids},"delta":"x","type":"response.output_text.delta"`, // a second type: JSON keeps the last
    // What must stay dropped: a missing, null or odd-typed delta or id, an empty id.
    `${ids}`,
    `${ids},"delta":null`,
    `${ids},"delta":5`,
    `${ids},"delta":["a"]`,
    `${ids},"delta":{"audio":"AAAA"}`,
    `"response_id":"","item_id":"item_1","delta":"x"`,
    `"response_id":"resp_1","item_id":null,"delta":"x"`,
    `"response_id":7,"item_id":"item_1","delta":"x"`,
    `"item_id":"item_1","delta":"x"`,
  ];

  test('same object (fields, their order, prototype) or the same drop, for every dialect name and messy body', () => {
    let taken = 0;
    for (const type of types) {
      for (const body of bodies) {
        const text = `{"type":"${type}",${body}}`;
        const expected = viaZod(text);
        const actual = parseServerEvent(text, silentLogger);
        assert.deepStrictEqual(actual, expected, text);
        if (expected === null) continue;
        taken++;
        assert.deepEqual(Object.keys(actual as object), Object.keys(expected as object), `field order: ${text}`);
        assert.equal(Object.getPrototypeOf(actual), Object.prototype, text);
        assert.equal((actual as { polluted?: unknown }).polluted, undefined, text);
      }
    }
    assert.equal(taken, types.length * 7);
  });
});
