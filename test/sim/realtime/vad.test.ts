import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EnergyVad, type VadEvent } from '../../../sim/realtime/vad.ts';

/**
 * 24 kHz mono PCM16 whose every sample has the same magnitude, so a frame's RMS is exact: 200 ms at
 * 818 (0.2% under the default threshold's RMS, 0.05 × 0.5 of full scale = 819.2), 300 ms at 820
 * (0.2% over), 600 ms at 818 again. A misread or missed sample tips a frame to the other side.
 */
function speech(): Buffer {
  const pcm = Buffer.alloc(1_100 * 48);
  for (let i = 0; i < 1_100 * 24; i++) {
    const magnitude = i >= 200 * 24 && i < 500 * 24 ? 820 : 818;
    pcm.writeInt16LE(i % 2 === 0 ? magnitude : -magnitude, i * 2);
  }
  return pcm;
}

const PARAMS = { threshold: 0.5, prefixPaddingMs: 100, silenceDurationMs: 500 };

function run(chunks: Buffer[]): VadEvent[] {
  const vad = new EnergyVad();
  return chunks.flatMap((chunk) => vad.feed(chunk, PARAMS, 0));
}

describe('EnergyVad', () => {
  it('finds the speech (start minus the prefix padding, stop after the silence duration) in appends of any size and byte alignment', () => {
    const pcm = speech();
    const expected: VadEvent[] = [
      { kind: 'start', audioStartMs: 100 },
      { kind: 'stop', audioEndMs: 1_000 },
    ];
    const appends = (bytes: number) => Array.from({ length: Math.ceil(pcm.length / bytes) }, (_, i) => pcm.subarray(i * bytes, (i + 1) * bytes));
    assert.deepEqual(run(appends(960)), expected, '20 ms appends');
    assert.deepEqual(run(appends(1_002)), expected, 'appends that split frames and samples (a carry across appends)');
    // The same bytes at an odd offset of their memory (an Int16Array cannot view them there).
    const odd = appends(960).map((chunk) => {
      const backing = Buffer.alloc(chunk.length + 1);
      chunk.copy(backing, 1);
      return backing.subarray(1);
    });
    assert.equal(odd[0]!.byteOffset % 2, 1);
    assert.deepEqual(run(odd), expected, 'odd byte offsets');
  });
});
