import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { DECODED_AUDIO, decodeBase64, parseAudioDeltaFrame, parseServerFrame } from '../../src/realtime/audioDeltaFrame.ts';
import { parseServerEvent, type ServerEvent } from '../../src/realtime/protocol.ts';

const pcm = randomBytes(4800);
const b64 = pcm.toString('base64');
const odd = randomBytes(4801).toString('base64'); // one byte of padding short of a whole sample
const ids = '"response_id":"resp_1","item_id":"item_1","output_index":0,"content_index":0';

/** Frames the fast path should take: the service's shape, the beta name, fields in any order, messy extras. */
const FAST = [
  `{"type":"response.output_audio.delta","event_id":"event_1",${ids},"delta":"${b64}"}`,
  `{"type":"response.audio.delta","event_id":"event_2",${ids},"delta":"${b64}"}`,
  `{"delta":"${b64}","item_id":"item_1","response_id":"resp_1","type":"response.output_audio.delta"}`,
  `{"type":"response.output_audio.delta","event_id":null,${ids},"obfuscation":null,"extra":{"a":[1,null,"é"]},"delta":"${b64}","x":1e3}`,
  `{"type":"response.output_audio.delta",${ids},"delta":"${odd}"}`,
  `{"type":"response.output_audio.delta",${ids},"delta":"${randomBytes(4799).toString('base64')}"}`,
];

/** Frames the fast path must leave to the full parser, with whatever result that gives. */
const SLOW = [
  `{"type": "response.output_audio.delta", "response_id": "resp_1", "item_id": "item_1", "delta": "${b64}"}`, // spaces
  `{"type":"response.output_audio.delta",${ids},"delta":"${b64.replaceAll('/', '\\/')}"}`, // escaped slashes
  `{"type":"response.output_audio.delta",${ids},"delta":"${b64.replace(/=+$/, '')}AB"}`, // unpadded
  `{"type":"response.output_audio.delta",${ids},"delta":"${b64.slice(0, 100)}-_${b64.slice(102)}"}`, // base64url characters
  `{"type":"response.output_audio.delta",${ids},"delta":"${b64.slice(0, 100)}\\n${b64.slice(100)}"}`, // an escape inside
  `{"type":"response.output_audio.delta",${ids},"delta":"${b64}","delta":"${b64.slice(8)}"}`, // the key twice: JSON takes the last
  `{"type":"response.output_audio.delta",${ids},"item":{"delta":"${b64}"},"delta":"AAAA"}`, // a nested delta first
  `{"type":"response.output_audio.delta",${ids},"delta":"${b64}","delta":""}`,
  `{"type":"response.output_audio.delta",${ids},"item":{"delta":"${b64}"},"delta": "${b64.slice(4)}"}`, // the only "delta":" is nested
  `{"type":"response.output_audio.delta","item_id":"item_1","delta":"${b64}"}`, // no response id: dropped
  `{"type":"response.output_audio.delta",${ids},"delta":"${b64}"`, // truncated JSON: dropped
  `{"type":"response.output_audio.delta",${ids},"delta":null,"note":"${b64}"}`,
  `{"type":"response.output_audio_transcript.delta",${ids},"pad":"${'x'.repeat(600)}","delta":"Hello"}`,
  `{"type":"response.output_audio.done",${ids},"pad":"${'x'.repeat(600)}","last":"audio.delta","delta":"AAAA"}`,
  `{"type":"response.output_audio.delta",${ids},"delta":"${b64.slice(0, 100)}"}`, // too small to bother
  `[{"type":"response.output_audio.delta",${ids},"delta":"${b64}"}]`,
];

/** The event as the application sees it: the delta as PCM, whichever way it was decoded. */
function normalized(event: ServerEvent | null): unknown {
  if (event === null || event.type !== 'response.output_audio.delta') return event;
  const decoded = (event as { [DECODED_AUDIO]?: Buffer })[DECODED_AUDIO];
  const { delta, ...rest } = event;
  return { ...Object.fromEntries(Object.entries(rest)), pcm: decoded ?? Buffer.from(delta, 'base64') }; // string keys only
}

test('the fast path takes the audio deltas it is sure of, with the same event and samples as the full parser', () => {
  for (const text of FAST) {
    const frame = Buffer.from(text);
    const fast = parseAudioDeltaFrame(frame);
    assert.ok(fast, `taken: ${text.slice(0, 80)}`);
    assert.deepEqual(normalized(fast), normalized(parseServerEvent(text, silentLogger)), text.slice(0, 80));
  }
  const first = parseAudioDeltaFrame(Buffer.from(FAST[0]!))!;
  assert.deepEqual(first[DECODED_AUDIO], pcm);
  assert.equal(first.delta, '');
});

test('anything the fast path is unsure of is parsed whole, as before', () => {
  for (const text of SLOW) {
    const frame = Buffer.from(text);
    assert.equal(parseAudioDeltaFrame(frame), undefined, `not taken: ${text.slice(0, 80)}`);
    assert.deepEqual(normalized(parseServerFrame(frame, silentLogger)), normalized(parseServerEvent(text, silentLogger)), text.slice(0, 80));
  }
});

test('the base64 decoder agrees with Node on every length and byte, and refuses what is not plain padded base64', () => {
  for (let length = 0; length < 40; length++) {
    const bytes = Buffer.alloc(length);
    for (let i = 0; i < length; i++) bytes[i] = (i * 89 + length * 31) & 255;
    const text = Buffer.from(`xx${bytes.toString('base64')}yy`, 'latin1');
    assert.deepEqual(decodeBase64(text, 2, text.length - 2), bytes, `${length} bytes`);
  }
  const all = Buffer.from(Array.from({ length: 768 }, (_, i) => i & 255));
  const text = Buffer.from(all.toString('base64'), 'latin1');
  assert.deepEqual(decodeBase64(text, 0, text.length), all);
  for (const bad of ['AAA', 'AA=A', 'A===', '-AAA', 'AA_A', 'AA A', 'AAAA=AAA']) assert.equal(decodeBase64(Buffer.from(bad), 0, bad.length), null, bad);
});
