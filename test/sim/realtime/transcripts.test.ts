/**
 * The simulator's input transcripts, with a raw WebSocket client: each committed turn takes the next
 * scripted transcript, which arrives after its own delay (or the simulator's), after the commit —
 * as the real service transcribes asynchronously; unscripted turns get a placeholder.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import type { RealtimeSimulator } from '../../../sim/realtime/index.ts';
import { rawClient, silence, startSim, tone } from '../../realtime/helpers.ts';

const SESSION = { type: 'session.update', session: { type: 'realtime', output_modalities: ['text'], audio: { input: { transcription: { model: 'whisper-1' }, turn_detection: null } } } };

describe('realtime simulator input transcripts', () => {
  let sim: RealtimeSimulator;
  before(async () => {
    sim = await startSim({ transcriptDelayMs: 150 });
  });
  after(() => sim.close());

  it('scripted per utterance, each after its delay; unscripted turns get a placeholder', async () => {
    const c = await rawClient(sim);
    c.send(SESSION);
    await c.next('session.updated');
    sim.scriptTranscript('Hey Jarvis, lights on', { text: 'and the heating', delayMs: 400 });
    const committedAt: number[] = [];
    const transcripts: { text: string; at: number; itemId: string }[] = [];
    for (let turn = 0; turn < 3; turn++) {
      c.send({ type: 'input_audio_buffer.append', audio: Buffer.concat([tone(300), silence(100)]).toString('base64') });
      c.send({ type: 'input_audio_buffer.commit' });
      const committed = await c.next('input_audio_buffer.committed');
      committedAt.push(performance.now());
      const done = await c.next('conversation.item.input_audio_transcription.completed', (event) => event.item_id === committed.item_id);
      transcripts.push({ text: String(done.transcript), at: performance.now(), itemId: String(done.item_id) });
    }
    assert.deepEqual(transcripts.map((entry) => entry.text), ['Hey Jarvis, lights on', 'and the heating', '[speech 0.40 s]']);
    const delays = transcripts.map((entry, i) => entry.at - committedAt[i]!);
    assert.ok(delays[0]! >= 140, `first transcript ${delays[0]} ms after its commit (simulator delay 150 ms)`);
    assert.ok(delays[1]! >= 390, `second transcript ${delays[1]} ms after its commit (its own delay 400 ms)`);
    assert.ok(delays[2]! >= 140);
    c.close();
  });

  it('gpt-realtime-whisper streams the words while the person speaks, before the commit; whisper-1 sends one delta after it', async () => {
    const vad = { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 300, create_response: false, interrupt_response: false };
    const types = (events: { type: string }[]) => events.map((event) => event.type).filter((type) => type.startsWith('input_audio_buffer.committed') || type.includes('transcription'));
    for (const model of ['gpt-realtime-whisper', 'whisper-1']) {
      const c = await rawClient(sim);
      c.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'], audio: { input: { transcription: { model }, turn_detection: vad } } } });
      await c.next('session.updated');
      sim.scriptTranscript('Hey Jarvis, turn the lights on');
      // 2.4 s of speech in 100 ms chunks: at 300 ms per word and 300 ms of lag, five words are due before it ends.
      for (let i = 0; i < 24; i++) c.send({ type: 'input_audio_buffer.append', audio: tone(100).toString('base64') });
      for (let i = 0; i < 8; i++) c.send({ type: 'input_audio_buffer.append', audio: silence(100).toString('base64') });
      const done = await c.next('conversation.item.input_audio_transcription.completed');
      const deltas = c.events.filter((event) => event.type === 'conversation.item.input_audio_transcription.delta');
      const committedAt = c.events.findIndex((event) => event.type === 'input_audio_buffer.committed');
      assert.equal(deltas.map((event) => event.delta).join(''), 'Hey Jarvis, turn the lights on', `${model}: the deltas add up to the transcript`);
      assert.equal(done.transcript, 'Hey Jarvis, turn the lights on');
      const beforeCommit = c.events.slice(0, committedAt).filter((event) => event.type === 'conversation.item.input_audio_transcription.delta');
      if (model === 'whisper-1') assert.deepEqual(types(c.events), ['input_audio_buffer.committed', 'conversation.item.input_audio_transcription.delta', 'conversation.item.input_audio_transcription.completed']);
      else {
        assert.ok(beforeCommit.length >= 2, `${model}: words streamed before the commit (${JSON.stringify(types(c.events))})`);
        assert.equal(beforeCommit[0]!.delta, 'Hey');
        assert.equal(beforeCommit[1]!.delta, ' Jarvis,', 'incremental text, a leading space before each later word');
        assert.equal(beforeCommit[0]!.item_id, done.item_id, 'the item id of speech_started');
      }
      c.close();
    }
  });
});
