import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { appendFrame, writeBase64 } from '../../src/realtime/appendFrame.ts';

test('an append frame has the bytes of JSON.stringify of the event, for every length remainder', () => {
  for (const length of [0, 1, 2, 3, 4, 5, 959, 960, 961, 962, 4800]) {
    const pcm = randomBytes(length);
    const expected = JSON.stringify({ type: 'input_audio_buffer.append', audio: pcm.toString('base64'), event_id: 'evt_c12_345' });
    const frame = appendFrame(pcm, 'evt_c12_345');
    assert.equal(frame.toString('utf8'), expected, `${length} bytes`);
  }
});

test('every byte value encodes as Node encodes it, from a view into a larger buffer', () => {
  const all = Buffer.alloc(3 * 256 + 10);
  for (let i = 0; i < all.length; i++) all[i] = (i * 97 + 13) & 255;
  const view = all.subarray(7, 7 + 3 * 256 + 1);
  const out = Buffer.alloc(2000, 0x21);
  const end = writeBase64(view, out, 5);
  assert.equal(out.subarray(5, end).toString('latin1'), view.toString('base64'));
  assert.equal(out[4], 0x21, 'nothing written before the offset');
  assert.equal(out[end], 0x21, 'nothing written after the end');
});

test('an odd event id is still a JSON string', () => {
  const frame = appendFrame(Buffer.from([1, 2, 3]), 'a"b\\c');
  assert.deepEqual(JSON.parse(frame.toString('utf8')), { type: 'input_audio_buffer.append', audio: 'AQID', event_id: 'a"b\\c' });
});

test('ws masks every client frame with native code (bufferutil), not its JavaScript byte loop', () => {
  // ws loads bufferutil when it can (ws/lib/buffer-util.js) and otherwise masks byte by byte in
  // JavaScript: 3.5–5.5 µs per append frame against 0.6–1.1 µs (bench/README.md, "Load with DAVE,
  // session 6"), one append per session per 20 ms. Its fallback is JavaScript too: the prebuilt must load.
  const { mask } = createRequire(import.meta.url)('bufferutil') as { mask: (...args: unknown[]) => void };
  assert.match(Function.prototype.toString.call(mask), /\[native code\]/);
});

