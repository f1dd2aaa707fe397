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
});
