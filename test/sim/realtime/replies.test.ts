import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { replySignal, sharedReplySignal } from '../../../sim/realtime/replies.ts';
import { rawClient, startSim } from '../../realtime/helpers.ts';
import type { RealtimeSimulatorOptions } from '../../../sim/realtime/index.ts';

/** 24 kHz mono PCM16: 48 bytes per ms. */
const BYTES_PER_MS = 48;

/** One audio response over a raw client: its decoded deltas, in order. */
async function audioReply(options: RealtimeSimulatorOptions): Promise<Buffer[]> {
  const sim = await startSim(options);
  try {
    const c = await rawClient(sim);
    await c.next('session.created');
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] } });
    c.send({ type: 'response.create' });
    await c.next('response.done');
    c.close();
    return c.events.filter((e) => e.type === 'response.output_audio.delta').map((e) => Buffer.from(e.delta as string, 'base64'));
  } finally {
    await sim.close();
  }
}

describe('reply audio', () => {
  it('the shared reply signal is made once per duration: the same bytes as a fresh one, each duration its own', () => {
    const long = sharedReplySignal(2_000);
    const short = sharedReplySignal(500);
    assert.equal(long.length, 2_000 * BYTES_PER_MS);
    assert.equal(short.length, 500 * BYTES_PER_MS);
    assert.deepEqual(short, long.subarray(0, short.length), 'the signal depends on the sample index only: a shorter one is a prefix');
    assert.equal(sharedReplySignal(2_000), long, 'made once');
    const fresh = replySignal(2_000);
    assert.notEqual(fresh, long, 'replySignal returns a buffer of its own');
    assert.deepEqual(fresh, long);
    fresh.fill(0);
    assert.ok(long.some((byte) => byte !== 0), 'changing a fresh copy leaves the shared signal alone');
  });

  it('streams the reply signal in deltas of its delta size, the same audio whatever the delta size of another simulator in the process', async () => {
    for (const deltaMs of [100, 60, 100]) {
      const deltas = await audioReply({ replyAudioMs: 700, deltaMs });
      assert.deepEqual(Buffer.concat(deltas), sharedReplySignal(700), `deltaMs ${deltaMs}: the whole signal, in order`);
      assert.ok(deltas.slice(0, -1).every((d) => d.length === deltaMs * BYTES_PER_MS), `deltaMs ${deltaMs}: every delta but the last is ${deltaMs} ms`);
    }
  });

  it('a reply generator that sets the audio length gets that length, not the default one', async () => {
    const deltas = await audioReply({ replyAudioMs: 700, replyGenerator: () => ({ text: 'short', audioMs: 300 }) });
    assert.deepEqual(Buffer.concat(deltas), sharedReplySignal(300));
  });
});
