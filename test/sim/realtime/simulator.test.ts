import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { defaultReplyGenerator, type RealtimeSimulator, type SimItem } from '../../../sim/realtime/index.ts';
import { rawClient, silence, startSim, tone, until } from '../../realtime/helpers.ts';

const GA_SESSION = { type: 'realtime', instructions: 'x', audio: { input: { turn_detection: null } } };

describe('realtime simulator', () => {
  let sim: RealtimeSimulator;
  before(async () => {
    sim = await startSim();
  });
  after(() => sim.close());

  it('refuses a bad key at the HTTP upgrade with 401', async () => {
    const ws = new WebSocket(sim.url, { headers: { Authorization: 'Bearer wrong' } });
    ws.on('error', () => {});
    const [, res] = await once(ws, 'unexpected-response');
    assert.equal(res.statusCode, 401);
    res.resume();
  });

  it('refuses an upgrade without a model with 400 and an OpenAI-style JSON error body', async () => {
    for (const [query, code] of [
      ['', 'missing_required_parameter'],
      ['?foo=1', 'missing_required_parameter'],
      ['?model=', 'invalid_value'],
    ] as const) {
      const ws = new WebSocket(`${sim.url}${query}`, { headers: { Authorization: `Bearer ${sim.apiKey}` } });
      ws.on('error', () => {});
      const [, res] = await once(ws, 'unexpected-response');
      assert.equal(res.statusCode, 400);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      let body = '';
      for await (const chunk of res) body += chunk;
      const { error } = JSON.parse(body) as { error: Record<string, unknown> };
      assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'param', 'type']);
      assert.equal(error.code, code);
      assert.equal(error.type, 'invalid_request_error');
      assert.equal(error.param, 'model');
      assert.match(String(error.message), /'model'/);
      assert.equal(sim.upgrades.at(-1)!.status, 400);
      assert.equal(sim.upgrades.at(-1)!.path, `/v1/realtime${query}`);
    }
  });

  it('chooses the dialect from the handshake: beta names with the beta header, GA names without', async () => {
    for (const beta of [false, true]) {
      const c = await rawClient(sim, { beta });
      const created = await c.next('session.created');
      const session = created.session as Record<string, unknown>;
      assert.equal('output_modalities' in session, !beta);
      assert.equal('modalities' in session, beta);
      c.send({ type: 'session.update', session: beta ? { modalities: ['text'] } : { type: 'realtime', output_modalities: ['text'] } });
      await c.next('session.updated');
      c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] } });
      await c.next(beta ? 'conversation.item.created' : 'conversation.item.added');
      c.send({ type: 'response.create' });
      const delta = await c.next(beta ? 'response.text.delta' : 'response.output_text.delta');
      assert.match(String(delta.delta), /Reply/);
      await c.next('response.done');
      c.close();
    }
  });

  it('answers invalid client events with the real error shape and codes', async () => {
    const c = await rawClient(sim);
    await c.next('session.created');
    const expectError = async (event: Record<string, unknown>, code: string, messagePattern?: RegExp) => {
      c.send({ ...event, event_id: `e_${code}` });
      const error = (await c.next('error')).error as Record<string, unknown>;
      assert.equal(error.code, code);
      assert.equal(error.event_id, `e_${code}`);
      assert.equal(typeof error.type, 'string');
      if (messagePattern) assert.match(String(error.message), messagePattern);
      return error;
    };
    await expectError({ type: 'bogus.event' }, 'invalid_value', /bogus\.event/);
    // A beta-shaped session.update on a GA socket: unknown parameter, like OpenAI.
    const unknown = await expectError({ type: 'session.update', session: { type: 'realtime', modalities: ['text', 'audio'] } }, 'unknown_parameter');
    assert.equal(unknown.param, 'session.modalities');
    await expectError({ type: 'session.update', session: { instructions: 'x' } }, 'missing_required_parameter');
    await expectError({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: { type: 'server_vad', threshold: 3 } } } } }, 'invalid_value');
    c.send({ type: 'session.update', session: GA_SESSION });
    await c.next('session.updated');
    c.send({ type: 'input_audio_buffer.append', audio: silence(50).toString('base64') });
    await expectError({ type: 'input_audio_buffer.commit' }, 'input_audio_buffer_commit_empty', /100ms/);
    await expectError({ type: 'response.cancel' }, 'response_cancel_not_active');
    c.close();
  });

  it('refuses a second response while one is active, and truncation beyond the audio', async () => {
    const c = await rawClient(sim);
    c.send({ type: 'session.update', session: GA_SESSION });
    await c.next('session.updated');
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] } });
    c.send({ type: 'response.create' });
    c.send({ type: 'response.create', event_id: 'second' });
    const error = (await c.next('error')).error as Record<string, unknown>;
    assert.equal(error.code, 'conversation_already_has_active_response');
    assert.equal(error.event_id, 'second');
    const done = (await c.next('response.done')).response as { output: Array<{ id: string }> };
    const itemId = done.output[0]!.id;
    const item = sim.openSessions().at(-1)!.items.find((i) => i.id === itemId)!;
    assert.equal(item.audioMs, 600);
    c.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: 601 });
    const tooLong = (await c.next('error')).error as Record<string, unknown>;
    assert.match(String(tooLong.message), /Audio content of 600ms is already shorter than 601ms/);
    c.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: 300 });
    const truncated = await c.next('conversation.item.truncated');
    assert.equal(truncated.audio_end_ms, 300);
    assert.equal(item.audioMs, 300);
    const full = 'Reply 1. You said: "hello"';
    assert.equal(item.text, full.slice(0, Math.round(full.length / 2))); // transcript cut with the audio
    c.close();
  });

  it('runs server VAD with prefix padding and silence duration, transcribes, and answers on its own', async () => {
    const c = await rawClient(sim);
    c.send({
      type: 'session.update',
      session: {
        type: 'realtime',
        audio: { input: { transcription: { model: 'whisper-1' }, turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 200, silence_duration_ms: 400, create_response: true } } },
      },
    });
    await c.next('session.updated');
    const audio = Buffer.concat([silence(1000), tone(800), silence(600)]);
    for (let offset = 0; offset < audio.length; offset += 960) c.send({ type: 'input_audio_buffer.append', audio: audio.subarray(offset, offset + 960).toString('base64') });
    const started = await c.next('input_audio_buffer.speech_started');
    assert.equal(started.audio_start_ms, 800); // 1000 − 200 ms prefix padding
    const stopped = await c.next('input_audio_buffer.speech_stopped');
    assert.equal(stopped.audio_end_ms, 2200); // speech ends at 1800, + 400 ms of silence
    const committed = await c.next('input_audio_buffer.committed');
    assert.equal(committed.item_id, started.item_id);
    const transcript = await c.next('conversation.item.input_audio_transcription.completed');
    assert.equal(transcript.transcript, '[speech 1.40 s]');
    const reply = await c.next('response.output_audio_transcript.done');
    assert.equal(reply.transcript, 'Reply 1. I heard 1.4 seconds of audio.');
    c.close();
  });

  it('delays server events in order when told to', async () => {
    const c = await rawClient(sim);
    await c.next('session.created');
    sim.injectFault({ delayMs: 20 });
    try {
      c.send({ type: 'session.update', session: { ...GA_SESSION, output_modalities: ['text'] } });
      c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'slow' }] } });
      c.send({ type: 'response.create' });
      await c.next('response.done');
      const types = c.events.map((e) => e.type);
      assert.ok(types.indexOf('session.updated') < types.indexOf('conversation.item.added'));
      assert.ok(types.indexOf('conversation.item.added') < types.indexOf('response.created'));
      assert.ok(types.lastIndexOf('response.output_text.delta') < types.indexOf('response.done'));
    } finally {
      sim.injectFault({ delayMs: 0 });
      c.close();
    }
  });

  it('drops the socket only after the events before the drop were written', async () => {
    const slow = await startSim({ firstDeltaDelayMs: 2_000 }); // the first delta in another turn, later
    const c = await rawClient(slow);
    c.send({ type: 'session.update', session: { ...GA_SESSION, output_modalities: ['text'] } });
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] } });
    await c.next('conversation.item.done');
    c.send({ type: 'response.create' });
    await c.next('response.done');
    slow.injectFault({ dropAfterEvents: 4 });
    const closed = once(c.ws, 'close');
    const eventsBeforeDrop = c.events.length;
    c.send({ type: 'response.create' });
    await closed;
    assert.deepEqual(
      c.events.slice(eventsBeforeDrop).map((e) => e.type),
      ['response.created', 'rate_limits.updated', 'response.output_item.added', 'conversation.item.added'],
      'the four events sent before the drop, in the turn that dropped the socket',
    );
    await slow.close();
  });

  it('keeps out-of-band responses out of the conversation', async () => {
    const c = await rawClient(sim);
    c.send({ type: 'session.update', session: GA_SESSION });
    await c.next('session.updated');
    c.send({ type: 'response.create', response: { conversation: 'none', output_modalities: ['text'], metadata: { purpose: 'summary' }, input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'summarise' }] }] } });
    const created = (await c.next('response.created')).response as Record<string, unknown>;
    assert.deepEqual(created.metadata, { purpose: 'summary' });
    const done = (await c.next('response.done')).response as { output: Array<{ content: Array<{ text: string }> }> };
    assert.equal(done.output[0]!.content[0]!.text, 'Reply 1. You said: "summarise"');
    assert.equal(sim.openSessions().at(-1)!.items.length, 0);
    c.close();
  });

  it('expires sessions, refuses beta when told to, and sends garbage on request', async () => {
    const expiring = await startSim({ expireSessionsAfterMs: 50, rejectBeta: true });
    try {
      const c = await rawClient(expiring);
      const error = (await c.next('error')).error as Record<string, unknown>;
      assert.equal(error.code, 'session_expired');
      await once(c.ws, 'close');
      const b = await rawClient(expiring, { beta: true });
      const disabled = (await b.next('error')).error as Record<string, unknown>;
      assert.equal(disabled.code, 'beta_api_shape_disabled');
      const [code] = await once(b.ws, 'close');
      assert.equal(code, 4000);
    } finally {
      await expiring.close();
    }
    const c = await rawClient(sim);
    await c.next('session.created');
    const before = c.frames.total;
    sim.injectFault({ garbage: 50 });
    await until(() => c.frames.total >= before + 50);
    assert.equal(c.frames.total, before + 50);
    c.close();
  });
});

describe('default reply generator', () => {
  const item = (role: SimItem['role'], text: string, audioMs: number | null = null): SimItem => ({ id: `i${Math.random()}`, type: 'message', role, text, audioMs, status: 'completed' });
  const reply = (items: SimItem[]) => defaultReplyGenerator({ n: 3, items, outOfBand: false, modalities: ['audio'], instructions: '' });

  it('greets the labelled speakers of the current turn and describes the audio', () => {
    assert.equal(reply([item('user', '', 1234), item('user', '[speakers: Alice, Bob]')]), 'Reply 3. Hello Alice, Bob. I heard 1.2 seconds of audio.');
    assert.equal(reply([item('user', '[speaker: Carol]'), item('assistant', 'x'), item('user', 'hi there')]), 'Reply 3. You said: "hi there"');
    assert.equal(reply([item('user', '[speaker: Dan] what time is it')]), 'Reply 3. Hello Dan. You said: "[speaker: Dan] what time is it"');
  });

  it('gives a ~4,500 character answer when asked for a long answer', () => {
    const text = reply([item('user', 'please give me a long answer')]);
    assert.ok(text.length >= 4500 && text.length < 4700, `length ${text.length}`);
    assert.ok(text.startsWith('Reply 3. You said: "please give me a long answer"'));
  });
});
