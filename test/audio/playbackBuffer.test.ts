import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REALTIME_SAMPLE_RATE } from '../../src/audio/format.ts';
import { PlaybackBuffer } from '../../src/audio/playbackBuffer.ts';
import { concatInt16, sine } from '../helpers/signal.ts';

/** `ms` of a 24 kHz tone as PCM16LE bytes. */
function toneBytes(ms: number, hz = 440): Buffer {
  const samples = sine({ hz, rate: REALTIME_SAMPLE_RATE, length: (ms * REALTIME_SAMPLE_RATE) / 1000, amplitude: 12_000 });
  return Buffer.from(samples.buffer);
}

/** Reads frames until read() returns null. */
function drain(buffer: PlaybackBuffer): Int16Array[] {
  const frames: Int16Array[] = [];
  for (let frame = buffer.read(); frame !== null; frame = buffer.read()) frames.push(frame);
  return frames;
}

/**
 * These samples as they are, zero-padded to whole 480-sample frames: the buffer hands the encoder the
 * model's 24 kHz mono untouched (no upsampling, no upmix; the encoder takes 24 kHz mono).
 */
function expectedFrames(samples: Int16Array): Int16Array {
  const padded = new Int16Array(Math.ceil(samples.length / 480) * 480);
  padded.set(samples);
  return padded;
}

/** The item's samples followed by `samples` of silence. */
function withSilence(bytes: Buffer, samples: number): Int16Array {
  const out = new Int16Array(bytes.length / 2 + samples);
  out.set(new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2));
  return out;
}

describe('PlaybackBuffer', () => {
  it('flushes the end of an item: one more frame when the last frame has too little silence after it', () => {
    // The Opus encoder's look-ahead is 156 samples at 24 kHz (6.5 ms), and nothing else delays the
    // audio: the last frame needs 156 samples of silence after the item's end for all of it to be heard.
    for (const [samples, frames] of [[480 * 3, 4], [480 * 2 + 480 - 156, 3], [480 * 2 + 480 - 155, 4], [480 * 2 + 1, 3]] as const) {
      const buffer = new PlaybackBuffer({ prebufferMs: 0 });
      const bytes = Buffer.alloc(samples * 2, 7);
      buffer.push('a', bytes);
      buffer.endItem('a');
      const out = drain(buffer);
      assert.equal(out.length, frames, `${samples} samples → ${frames} frames`);
      assert.equal(buffer.stats().flushFrames, frames - Math.ceil(samples / 480));
      assert.deepEqual(concatInt16(out), expectedFrames(withSilence(bytes, frames * 480 - samples)));
      assert.equal(buffer.playedMs('a'), Math.floor(samples / 24));
      assert.equal(buffer.isPlaying, false);
    }
  });

  it('keeps playing (isPlaying) until the flush frame was handed out, and an item ended after its last frame still gets it', () => {
    const buffer = new PlaybackBuffer({ prebufferMs: 0 });
    buffer.push('a', toneBytes(40));
    assert.equal(drain(buffer).length, 2);
    buffer.endItem('a'); // ended exactly on a frame boundary, after its last frame was read
    assert.equal(buffer.isPlaying, true);
    assert.notEqual(buffer.read(), null, 'the flush frame');
    assert.equal(buffer.isPlaying, false);
    assert.equal(buffer.read(), null);
  });

  it('turns bursts of odd-sized deltas into continuous 20 ms frames, exactly', () => {
    const audio = toneBytes(1010); // 24240 samples: the last frame is half padding
    const buffer = new PlaybackBuffer();
    for (let offset = 0, size = 1; offset < audio.length; offset += size, size = (size * 5 + 3) % 2001) {
      buffer.push('item', audio.subarray(offset, offset + size));
    }
    buffer.endItem('item');
    const frames = drain(buffer);
    assert.equal(frames.length, 51);
    assert.ok(frames.every((f) => f.length === 480), '20 ms of 24 kHz mono each');
    assert.deepEqual(concatInt16(frames), expectedFrames(new Int16Array(audio.buffer, audio.byteOffset, audio.length / 2)));
    assert.equal(buffer.playedMs('item'), 1010);
    assert.equal(buffer.currentItemId, null);
    assert.equal(buffer.stats().underruns, 0);
    assert.equal(buffer.stats().itemsCompleted, 1);
  });

  it('reassembles samples split byte by byte, including negative ones', () => {
    const samples = Int16Array.from([-1, 256, -32768, 32767, 1, -256]);
    const bytes = Buffer.from(samples.buffer);
    const buffer = new PlaybackBuffer();
    for (const byte of bytes) buffer.push('x', Buffer.from([byte]));
    buffer.endItem('x');
    const frame = buffer.read()!;
    assert.deepEqual(frame, expectedFrames(samples));
  });

  it('waits for the prebuffer before the first frame, unless the item is complete', () => {
    const buffer = new PlaybackBuffer({ prebufferMs: 40 });
    buffer.push('a', toneBytes(20));
    assert.equal(buffer.read(), null);
    assert.equal(buffer.isPlaying, false);
    assert.equal(buffer.currentItemId, 'a');
    buffer.push('a', toneBytes(20));
    assert.notEqual(buffer.read(), null);
    assert.equal(buffer.isPlaying, true);

    const short = new PlaybackBuffer({ prebufferMs: 40 });
    short.push('b', toneBytes(10));
    short.endItem('b');
    assert.equal(short.read()?.length, 480);
    assert.equal(short.read(), null);
    assert.equal(short.playedMs('b'), 10);
    assert.equal(short.stats().underruns, 0);
  });

  it('counts an underrun once per dry spell in the middle of an item, then prebuffers again', () => {
    const buffer = new PlaybackBuffer({ prebufferMs: 40 });
    buffer.push('a', toneBytes(60));
    assert.equal(drain(buffer).length, 3);
    assert.equal(buffer.read(), null);
    assert.equal(buffer.read(), null);
    assert.equal(buffer.stats().underruns, 1);
    buffer.push('a', toneBytes(20));
    assert.equal(buffer.read(), null, 'prebuffering again after the underrun');
    buffer.push('a', toneBytes(20));
    assert.equal(drain(buffer).length, 2);
    assert.equal(buffer.stats().underruns, 2);
    assert.equal(buffer.playedMs('a'), 100);
  });

  it('plays items one after the other, padding each one', () => {
    const first = toneBytes(30, 300);
    const second = toneBytes(40, 700);
    const buffer = new PlaybackBuffer();
    buffer.push('a', first);
    buffer.push('b', second);
    buffer.endItem('a');
    buffer.endItem('b');
    const frames = drain(buffer);
    // a: 20 + 10 ms (10 ms of padding carry its end out); b: 20 + 20 ms, ending on a frame boundary,
    // so one frame of silence flushes its end out of the encoder's look-ahead.
    assert.equal(frames.length, 5);
    assert.deepEqual(concatInt16(frames.slice(0, 2)), expectedFrames(new Int16Array(first.buffer)));
    assert.deepEqual(concatInt16(frames.slice(2)), expectedFrames(withSilence(second, 480)));
    assert.equal(buffer.stats().flushFrames, 1);
    assert.equal(buffer.playedMs('a'), 30);
    assert.equal(buffer.playedMs('b'), 40);
  });

  it('clears instantly and reports how much of the current item was handed out', () => {
    const buffer = new PlaybackBuffer();
    buffer.push('a', toneBytes(1000));
    buffer.push('b', toneBytes(500));
    for (let i = 0; i < 5; i++) assert.notEqual(buffer.read(), null);
    assert.equal(buffer.bufferedMs, 1400);
    assert.deepEqual(buffer.clear(), { itemId: 'a', playedMs: 100 });
    assert.equal(buffer.bufferedMs, 0);
    assert.equal(buffer.read(), null);
    assert.equal(buffer.isPlaying, false);
    assert.equal(buffer.currentItemId, null);
    // The model keeps streaming the cancelled item for a moment: ignored.
    buffer.push('a', toneBytes(100));
    assert.equal(buffer.bufferedMs, 0);
    assert.equal(buffer.stats().ignoredPushes, 1);
    assert.equal(buffer.playedMs('a'), 100);
    assert.equal(buffer.clear(), null);
    // A new item plays as it came (and nothing is flushed after an interrupted one).
    const next = toneBytes(40, 900);
    buffer.push('c', next);
    buffer.endItem('c');
    assert.deepEqual(concatInt16(drain(buffer)), expectedFrames(withSilence(next, 480)));
  });

  it('floors handed-out milliseconds and ignores the padding', () => {
    const buffer = new PlaybackBuffer();
    buffer.push('a', Buffer.alloc(1000 * 2, 1)); // 1000 samples = 41.67 ms
    buffer.endItem('a');
    assert.equal(drain(buffer).length, 3);
    assert.equal(buffer.playedMs('a'), 41);
    assert.equal(buffer.playedMs('unknown'), 0);
  });

  it('drops audio beyond maxBufferedMs instead of growing without bound', () => {
    const buffer = new PlaybackBuffer({ maxBufferedMs: 100 });
    buffer.push('a', toneBytes(80));
    buffer.push('a', toneBytes(80));
    assert.equal(buffer.bufferedMs, 100);
    assert.equal(buffer.stats().droppedMs, 60);
    buffer.push('a', toneBytes(20));
    assert.equal(buffer.stats().droppedMs, 80);
  });
});
