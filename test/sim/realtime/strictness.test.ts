/**
 * The simulator refuses what the real service refuses and sends what it sends, quirks included
 * (each fact's source is in the simulator's comments). Raw WebSocket clients: no bot code involved.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RealtimeSimulator } from '../../../sim/realtime/index.ts';
import { rawClient, startSim } from '../../realtime/helpers.ts';

const GA_SESSION = { type: 'realtime', instructions: 'x', audio: { input: { turn_detection: null } } };
const USER_TEXT = { type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] } };

describe('realtime simulator strictness', () => {
  let sim: RealtimeSimulator;
  before(async () => {
    sim = await startSim();
  });
  after(() => sim.close());

  it('refuses any voice in session.update once there is assistant audio (cannot_update_voice, event_id null), and only then', async () => {
    const c = await rawClient(sim);
    c.send({ type: 'session.update', session: GA_SESSION });
    await c.next('session.updated');
    // No assistant audio yet: the voice may change.
    c.send({ type: 'session.update', event_id: 'v1', session: { type: 'realtime', audio: { output: { voice: 'verse' } } } });
    const updated = (await c.next('session.updated')).session as { audio: { output: { voice: string } } };
    assert.equal(updated.audio.output.voice, 'verse');
    c.send(USER_TEXT);
    c.send({ type: 'response.create' });
    await c.next('response.output_audio.delta');
    await c.next('response.done');
    for (const voice of ['alloy', 'verse']) {
      c.send({ type: 'session.update', event_id: `v_${voice}`, session: { type: 'realtime', instructions: 'changed', audio: { output: { voice } } } });
      const error = (await c.next('error')).error as Record<string, unknown>;
      assert.deepEqual(error, {
        type: 'invalid_request_error',
        code: 'cannot_update_voice',
        message: "Cannot update a conversation's voice if assistant audio is present.",
        param: null,
        event_id: null,
      });
    }
    const session = sim.sessions.at(-1)!;
    assert.equal(session.config.instructions, 'x', 'the refused update changed nothing');
    assert.equal(session.config.voice, 'verse');
    // Without a voice the update goes through.
    c.send({ type: 'session.update', session: { type: 'realtime', instructions: 'changed' } });
    await c.next('session.updated');
    assert.equal(session.config.instructions, 'changed');
    c.close();
  });

  it('refuses unknown voices, and the GA-only voices on a beta connection', async () => {
    const ga = await rawClient(sim);
    ga.send({ type: 'session.update', session: { type: 'realtime', audio: { output: { voice: 'robot' } } } });
    const unknown = (await ga.next('error')).error as Record<string, unknown>;
    assert.equal(unknown.code, 'invalid_value');
    assert.equal(unknown.param, 'session.audio.output.voice');
    ga.send({ type: 'session.update', session: { type: 'realtime', audio: { output: { voice: 'cedar' } } } });
    await ga.next('session.updated');
    ga.close();
    const beta = await rawClient(sim, { beta: true });
    beta.send({ type: 'session.update', session: { voice: 'marin' } });
    const marin = (await beta.next('error')).error as Record<string, unknown>;
    assert.equal(marin.code, 'invalid_value');
    assert.equal(marin.param, 'session.voice');
    assert.doesNotMatch(String(marin.message).split('Supported values')[1]!, /marin|cedar/);
    beta.close();
  });

  it('sends rate_limits.updated when a response starts, and response payloads with real quirks', async () => {
    const c = await rawClient(sim);
    c.send({ type: 'session.update', session: GA_SESSION });
    await c.next('session.updated');
    c.send(USER_TEXT);
    c.send({ type: 'response.create' });
    await c.next('response.done');
    const types = c.events.map((event) => event.type);
    const created = types.indexOf('response.created');
    assert.equal(types[created + 1], 'rate_limits.updated');
    assert.ok(types.indexOf('response.output_audio.delta') > created + 1);
    assert.equal(types.filter((type) => type === 'rate_limits.updated').length, 1);
    const limits = c.events[created + 1]!.rate_limits as Array<Record<string, unknown>>;
    assert.deepEqual(limits.map((limit) => limit.name), ['requests', 'tokens']);
    const response = c.events[created]!.response as Record<string, unknown>;
    assert.equal(response.status_details, null);
    assert.equal(response.usage, null);
    assert.equal(response.max_output_tokens, 'inf');
    assert.equal(typeof response.conversation_id, 'string');
    assert.match(String((response.metadata as Record<string, unknown>).request_id), /^req_/);
    const session = c.events.find((event) => event.type === 'session.created')!.session as Record<string, unknown>;
    assert.equal(session.tracing, null);
    assert.equal(session.max_output_tokens, 'inf');
    c.close();
  });

  it('reports input transcription usage: duration for the models billed by the minute, tokens for the gpt-4o transcribe models', async () => {
    for (const [model, expected] of [
      ['whisper-1', { type: 'duration', seconds: 0.3 }],
      ['gpt-realtime-whisper', { type: 'duration', seconds: 0.3 }],
      ['gpt-4o-transcribe', { type: 'tokens', input_tokens: 3, output_tokens: 4, total_tokens: 7, input_token_details: { audio_tokens: 3, text_tokens: 0 } }],
    ] as const) {
      const c = await rawClient(sim);
      c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { transcription: { model }, turn_detection: null } } } });
      await c.next('session.updated');
      c.send({ type: 'input_audio_buffer.append', audio: Buffer.alloc(300 * 48).toString('base64') });
      c.send({ type: 'input_audio_buffer.commit' });
      const completed = await c.next('conversation.item.input_audio_transcription.completed');
      assert.equal(completed.transcript, '[speech 0.30 s]');
      assert.deepEqual(completed.usage, expected);
      assert.equal(completed.logprobs, null);
      c.close();
    }
  });

  it("refuses an append whose audio is not base64 (invalid_type, param 'audio') and takes unpadded or loosely padded base64 as the pattern does", async () => {
    const c = await rawClient(sim);
    c.send({ type: 'session.update', session: GA_SESSION });
    await c.next('session.updated');
    const session = sim.sessions.at(-1)!;
    const canonical = Buffer.alloc(4800, 1).toString('base64'); // 100 ms
    const unpadded = Buffer.alloc(4801, 1).toString('base64').replace(/=+$/, ''); // 4,801 bytes: 100 ms counted
    const strayBits = `${Buffer.alloc(4800, 1).toString('base64')}AB==`; // decodes to 4,801 bytes; 'AB==' is not canonical ('AA==')
    const appends: [string, unknown, boolean][] = [
      ['ok_canonical', canonical, true],
      ['bad_char', `${canonical.slice(0, -4)}QQ$=`, false],
      ['ok_unpadded', unpadded, true],
      ['bad_inner_pad', `QQ=Q${canonical}`, false],
      ['ok_stray_bits', strayBits, true],
      ['ok_empty', '', true],
      ['bad_three_pads', 'Q===', false],
      ['bad_space', `${canonical.slice(0, 8)} ${canonical.slice(8)}`, false],
      ['bad_number', 12, false],
    ];
    for (const [eventId, audio] of appends) c.send({ type: 'input_audio_buffer.append', event_id: eventId, audio });
    await c.next('error', (e) => (e.error as { event_id?: string }).event_id === 'bad_number');
    const refused = c.events.filter((e) => e.type === 'error').map((e) => e.error as { event_id: string; code: string; param: string });
    assert.deepEqual(refused.map((e) => e.event_id), appends.filter(([, , ok]) => !ok).map(([id]) => id));
    assert.ok(refused.every((e) => e.code === 'invalid_type' && e.param === 'audio'), JSON.stringify(refused));
    assert.equal(session.appendedMs, 300, 'the three non-empty accepted appends, 100 ms each');
    c.close();
  });

  it('sends chosen errors with event_id null', async () => {
    const anonymous = await startSim({ errorsWithoutEventId: ['conversation_already_has_active_response'] });
    try {
      const c = await rawClient(anonymous);
      c.send(USER_TEXT);
      c.send({ type: 'response.create', event_id: 'first' });
      c.send({ type: 'response.create', event_id: 'second' });
      const busy = (await c.next('error')).error as Record<string, unknown>;
      assert.equal(busy.code, 'conversation_already_has_active_response');
      assert.equal(busy.event_id, null);
      anonymous.injectFault({ failNext: { eventType: 'conversation.item.create', error: { code: 'server_error', type: 'server_error', message: 'boom' }, withoutEventId: true } });
      c.send({ ...USER_TEXT, event_id: 'item' });
      assert.equal(((await c.next('error', (e) => (e.error as { code: string }).code === 'server_error')).error as Record<string, unknown>).event_id, null);
      c.close();
    } finally {
      await anonymous.close();
    }
  });

  for (const form of ['error', 'response'] as const) {
    it(`rate-limits response.create in the ${form} form, hinting the wait, until the hinted time has passed`, async () => {
      const c = await rawClient(sim);
      c.send({ type: 'session.update', session: { ...GA_SESSION, output_modalities: ['text'] } });
      await c.next('session.updated');
      c.send(USER_TEXT);
      sim.injectFault({ rateLimit: { form, retryAfterMs: 86_400 } });
      c.send({ type: 'response.create', event_id: 'r1' });
      const hint = /Please try again in 1m26\.4s\./;
      if (form === 'error') {
        const error = (await c.next('error')).error as Record<string, unknown>;
        assert.equal(error.code, 'rate_limit_exceeded');
        assert.equal(error.event_id, 'r1');
        assert.match(String(error.message), hint);
        assert.ok(!c.events.some((event) => event.type === 'response.created'));
      } else {
        const created = await c.next('response.created');
        assert.equal((await c.next('rate_limits.updated')).type, 'rate_limits.updated');
        const done = (await c.next('response.done')).response as Record<string, any>;
        assert.equal(done.id, (created.response as { id: string }).id);
        assert.equal(done.status, 'failed');
        assert.equal(done.status_details.type, 'failed');
        assert.equal(done.status_details.error.code, 'rate_limit_exceeded');
        assert.match(done.status_details.error.message, hint);
        assert.ok(!c.events.some((event) => event.type === 'response.output_text.delta'));
      }
      // Still limited: refused again, with the remaining time.
      c.send({ type: 'response.create', event_id: 'r2' });
      const again = form === 'error' ? String(((await c.next('error')).error as { message: string }).message) : String(((await c.next('response.done')).response as any).status_details.error.message);
      assert.match(again, /Please try again in 1m2\d\.\d+s\./);
      assert.equal(sim.sessions.at(-1)!.rateLimitRefusals, 2);
      c.close();
    });
  }

  it('writes rate-limit hints like the service: 20ms, 6s, 1m26.4s', async () => {
    const { retryHint } = await import('../../../sim/realtime/wire.ts');
    assert.deepEqual([20, 6_000, 86_400, 1_500, 60_000].map(retryHint), ['20ms', '6s', '1m26.4s', '1.5s', '1m0s']);
  });
});
