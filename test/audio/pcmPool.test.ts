import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newPcm16 } from '../../src/audio/pcmPool.ts';
import { samplesToPcmBuffer } from '../../src/audio/wav.ts';

describe('newPcm16', () => {
  it('hands out zero-filled arrays that share memory with no other array', () => {
    const arrays = Array.from({ length: 200 }, (_, i) => newPcm16(1 + ((i * 97) % 480)));
    for (const a of arrays) assert.ok(a.every((s) => s === 0));
    arrays.forEach((a, i) => a.fill(i + 1));
    arrays.forEach((a, i) => assert.ok(a.every((s) => s === i + 1), `array ${i} was overwritten`));
    for (const a of arrays) assert.equal(a.byteOffset % 8, 0);
  });

  it('gives large arrays their own buffer', () => {
    const big = newPcm16(1920 * 4);
    assert.equal(big.byteOffset, 0);
    assert.equal(big.buffer.byteLength, big.byteLength);
  });

  it('works with the project’s byte conversion (which honours byteOffset)', () => {
    newPcm16(3); // move off the slab start
    const a = newPcm16(2);
    a[0] = 0x0102;
    a[1] = -2;
    assert.deepEqual([...samplesToPcmBuffer(a)], [0x02, 0x01, 0xfe, 0xff]);
  });
});
