/** The simulator takes input noise reduction as the service does: near_field/far_field or null, anything else refused; both dialects. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RealtimeSimulator } from '../../../sim/realtime/index.ts';
import { sessionToWire } from '../../../src/realtime/index.ts';
import { rawClient, startSim } from '../../realtime/helpers.ts';

describe('realtime simulator noise reduction', () => {
  let sim: RealtimeSimulator;
  before(async () => {
    sim = await startSim();
  });
  after(() => sim.close());

  it('GA: set, echoed, switched off with null; an unknown type refused with invalid_value', async () => {
    const c = await rawClient(sim);
    c.send({ type: 'session.update', session: sessionToWire({ noiseReduction: 'near_field' }, 'ga') });
    const updated = (await c.next('session.updated')).session as any;
    assert.deepEqual(updated.audio.input.noise_reduction, { type: 'near_field' });
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { noise_reduction: null } } } });
    assert.equal(((await c.next('session.updated')).session as any).audio.input.noise_reduction, null);
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { noise_reduction: { type: 'studio' } } } } });
    const error = (await c.next('error')).error as { code: string; param: string };
    assert.equal(error.code, 'invalid_value');
    assert.equal(error.param, 'session.audio.input.noise_reduction.type');
    c.close();
  });

  it('beta: input_audio_noise_reduction', async () => {
    const c = await rawClient(sim, { beta: true });
    c.send({ type: 'session.update', session: sessionToWire({ noiseReduction: 'far_field' }, 'beta') });
    const updated = (await c.next('session.updated')).session as any;
    assert.deepEqual(updated.input_audio_noise_reduction, { type: 'far_field' });
    c.close();
  });
});
