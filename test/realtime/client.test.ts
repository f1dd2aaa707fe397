import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RealtimeSimulator } from '../../sim/realtime/index.ts';
import { RealtimeClient, type Dialect, type ResponseResult } from '../../src/realtime/index.ts';
import { silentLogger } from '../../src/log.ts';
import { botSession, makeClient, silence, startSim, tone, until, waitFor } from './helpers.ts';

for (const dialect of ['ga', 'beta'] as const satisfies Dialect[]) {
  describe(`realtime client (${dialect})`, () => {
    let sim: RealtimeSimulator;
    before(async () => {
      sim = await startSim({ betaNaming: 'mixed' });
    });
    after(() => sim.close());

    it('configures the session in the dialect shape', async () => {
      const client = makeClient(sim, dialect);
      await client.connect();
      const session = sim.sessions.at(-1)!;
      assert.equal(session.dialect, dialect);
      assert.equal(session.config.instructions, 'You are a test.');
      assert.deepEqual(session.config.turnDetection, { type: 'server_vad', threshold: 0.5, prefixPaddingMs: 100, silenceDurationMs: 300, createResponse: false, interruptResponse: false });
      assert.deepEqual(session.config.transcription, { model: 'whisper-1' });
      const update = session.received.find((r) => r.event.type === 'session.update')!.event.session as Record<string, unknown>;
      assert.equal('audio' in update, dialect === 'ga');
      assert.equal('turn_detection' in update, dialect === 'beta');
      // Live instruction change: only the instructions are sent, and they apply at once.
      client.updateSession({ instructions: 'Be brief.' });
      await waitFor(client, 'session_updated');
      assert.equal(session.config.instructions, 'Be brief.');
      const live = session.received.filter((r) => r.event.type === 'session.update').at(-1)!.event.session as Record<string, unknown>;
      assert.deepEqual(Object.keys(live).filter((k) => k !== 'type'), ['instructions']);
      await client.close();
      assert.equal(client.state, 'closed');
    });

    it('runs a voice turn: VAD events with contributors, labelled reply, audio, transcript, usage, history', async () => {
      const client = makeClient(sim, dialect, { usageKey: 'guild-1' });
      await client.connect();
      const stopped = waitFor<{ contributors: string[]; audioEndMs: number }>(client, 'speech_stopped');
      const committed = waitFor<{ itemId: string; contributors: string[] }>(client, 'input_committed');
      client.appendAudio(silence(200), []);
      client.appendAudio(tone(300), ['Alice']);
      client.appendAudio(tone(300), ['Alice', 'Bob']);
      client.appendAudio(silence(400), []);
      assert.deepEqual((await stopped).contributors, ['Alice', 'Bob']);
      const turn = await committed;
      assert.deepEqual(turn.contributors, ['Alice', 'Bob']);
      client.addContextNote('[speakers: Alice, Bob]');
      const handle = client.createResponse();
      const pcm: Buffer[] = [];
      handle.on('audio', (chunk) => pcm.push(chunk));
      const result = await handle.done;
      assert.equal(result.status, 'completed');
      assert.equal(result.transcript, 'Reply 1. Hello Alice, Bob. I heard 1.0 seconds of audio.');
      assert.equal(Buffer.concat(pcm).length, 600 * 48);
      assert.equal(result.audioMs, 600);
      assert.ok(result.usage && result.usage.outputAudioTokens > 0 && result.usage.inputAudioTokens > 0);
      assert.equal(client.usage.responses, 1);
      assert.ok(client.usage.costUsd > 0);
      await until(() => client.history.some((h) => h.text === '[speech 1.00 s]'));
      assert.deepEqual(
        client.history.map((h) => [h.role, h.kind, h.text]),
        [
          ['user', 'transcript', '[speech 1.00 s]'],
          ['user', 'note', '[speakers: Alice, Bob]'],
          ['assistant', 'transcript', 'Reply 1. Hello Alice, Bob. I heard 1.0 seconds of audio.'],
        ],
      );
      await client.close();
    });

    it('queues a response requested while one is active instead of provoking an error', async () => {
      const client = makeClient(sim, dialect);
      const errors: string[] = [];
      client.on('error', (e) => errors.push(e.code));
      await client.connect();
      client.addUserText('first');
      const first = client.createResponse({ modalities: ['text'] });
      const second = client.createResponse({ modalities: ['text'] });
      assert.equal(client.queuedResponses, 1);
      const texts: string[] = [];
      second.on('text', (d) => texts.push(d));
      const [a, b] = await Promise.all([first.done, second.done]);
      assert.equal(a.text, 'Reply 1. You said: "first"');
      assert.equal(b.text, 'Reply 2. You said: "first"');
      assert.equal(texts.join(''), b.text);
      assert.notEqual(a.responseId, b.responseId);
      assert.deepEqual(errors, []);
      const session = sim.sessions.at(-1)!;
      const types = session.received.map((r) => r.event.type).filter((t) => t === 'response.create');
      assert.equal(types.length, 2);
      // A queued response can be dropped before it starts.
      const third = client.createResponse();
      const fourth = client.createResponse();
      client.cancelQueued();
      assert.equal((await fourth.done).status, 'cancelled');
      assert.equal((await third.done).status, 'completed');
      await client.close();
    });

    it('cancels and truncates to the played ms, clamped to the audio received', async () => {
      const slow = await startSim({ replyAudioMs: 3000, burstFactor: 2, deltaMs: 100 });
      const client = makeClient(slow, dialect);
      try {
        await client.connect();
        client.cancelResponse(); // nothing active: nothing sent
        client.addUserText('talk to me');
        const handle = client.createResponse();
        let itemId = '';
        let received = 0;
        await new Promise<void>((resolve) =>
          handle.on('audio', (pcm) => {
            received += pcm.length;
            if (!itemId) itemId = handle.itemIds[0]!;
            if (received >= 300 * 48) resolve();
          }),
        );
        client.cancelResponse();
        client.cancelResponse(); // second call: no second response.cancel
        const result = await handle.done;
        assert.equal(result.status, 'cancelled');
        assert.equal(result.reason, 'client_cancelled');
        const receivedMs = result.audioMs;
        assert.ok(receivedMs < 3000);
        const truncated = waitFor<{ itemId: string; audioEndMs: number }>(client, 'item_truncated');
        client.truncate(itemId, receivedMs + 5000.7); // more than was received: clamped
        const event = await truncated;
        assert.equal(event.itemId, itemId);
        assert.equal(event.audioEndMs, Math.floor(receivedMs));
        const again = waitFor<{ audioEndMs: number }>(client, 'item_truncated');
        client.truncate(itemId, 123.9);
        assert.equal((await again).audioEndMs, 123);
        const session = slow.sessions.at(-1)!;
        const sent = session.received.map((r) => r.event);
        assert.equal(sent.filter((e) => e.type === 'response.cancel').length, 1);
        assert.ok(sent.filter((e) => e.type === 'conversation.item.truncate').every((e) => Number.isInteger(e.audio_end_ms)));
        assert.equal(session.items.find((i) => i.id === itemId)!.audioMs, 123);
        // History keeps only what was heard: the start of the transcript, about 123 ms' worth of it.
        const entry = client.history.find((h) => h.role === 'assistant')!;
        assert.ok(result.transcript.length > 0);
        assert.ok(entry.text.length > 0 && result.transcript.startsWith(entry.text), `a prefix: ${JSON.stringify(entry.text)}`);
        const share = (result.transcript.length * 123) / receivedMs;
        assert.ok(entry.text.length <= Math.ceil(share) && entry.text.length > share - 20, `${entry.text.length} characters kept of ${result.transcript.length} for 123 of ${receivedMs} ms`);
      } finally {
        await client.close();
        await slow.close();
      }
    });

    it('answers text with text and keeps out-of-band responses out of history', async () => {
      const client = makeClient(sim, dialect);
      await client.connect();
      client.addUserText('[speaker: Carol] what is up', { name: 'Carol' });
      const reply = await client.createResponse({ modalities: ['text'] }).done;
      assert.equal(reply.text, 'Reply 1. Hello Carol. You said: "[speaker: Carol] what is up"');
      assert.equal(reply.audioMs, 0);
      const outOfBand = client.createOutOfBandResponse({ input: [{ role: 'user', text: 'summarise please' }], metadata: { purpose: 'summary' } });
      const done: ResponseResult[] = [];
      client.on('response_done', (r) => done.push(r));
      const summary = await outOfBand.done;
      assert.equal(summary.outOfBand, true);
      assert.equal(summary.text, 'Reply 2. You said: "summarise please"');
      assert.deepEqual(summary.metadata, { purpose: 'summary' });
      assert.equal(done[0], summary);
      assert.deepEqual(client.history.map((h) => h.text), ['[speaker: Carol] what is up', reply.text]);
      const session = sim.sessions.at(-1)!;
      assert.equal(session.items.length, 2); // the user text and the in-band reply only
      await client.close();
    });
  });
}

describe('realtime client construction', () => {
  it('rejects connect() on a closed client and reports state', async () => {
    const sim = await startSim();
    const client = new RealtimeClient({ url: sim.url, model: 'gpt-realtime', dialect: 'ga', apiKey: sim.apiKey, session: botSession(), logger: silentLogger });
    assert.equal(client.state, 'idle');
    await client.connect();
    assert.equal(client.state, 'open');
    await client.close();
    await assert.rejects(client.connect(), /state closed/);
    await sim.close();
  });

  it('close() resolves once the socket is gone, not merely asked to close', async () => {
    const sim = await startSim();
    const sockets = () => process.getActiveResourcesInfo().filter((type) => type === 'TCPSocketWrap').length;
    const before = sockets();
    const client = makeClient(sim, 'ga');
    try {
      await client.connect();
      assert.equal(sockets(), before + 2, 'the bot side and the simulator side of the model socket');
      await client.close();
      assert.equal(sockets(), before, 'no socket left in its closing handshake');
    } finally {
      await client.close();
      await sim.close();
    }
  });

  it('settles a response requested after close at once, as failed with reason client_closed', async () => {
    const sim = await startSim();
    const client = makeClient(sim, 'ga');
    await client.connect();
    const queued = client.createResponse({ modalities: ['text'] });
    await client.close();
    assert.equal(queued.settled, true, 'a request pending at close settles with the close');
    for (const late of [client.createResponse({ modalities: ['text'] }), client.createOutOfBandResponse({ input: [{ role: 'user', text: 'hi' }] })]) {
      assert.equal(late.settled, true, 'settled synchronously, not left waiting for a session');
      const result = await late.done;
      assert.equal(result.status, 'failed');
      assert.equal(result.reason, 'client_closed');
    }
    await sim.close();
  });
});
