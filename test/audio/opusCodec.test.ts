import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { DISCORD_FRAME_SAMPLES, DISCORD_SAMPLE_RATE, OPUS_SILENCE_FRAME } from '../../src/audio/format.ts';
import { loadOpusBackend, opusBackendName, OpusFrameDecoder, OpusFrameEncoder, type OpusBackend } from '../../src/audio/opusCodec.ts';
import { createLogger } from '../../src/log.ts';
import { channel, sine, toneAmplitude } from '../helpers/signal.ts';

function captureLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ destination, level: 'debug' }), lines };
}

/** Encodes and decodes 200 ms of a 1 kHz stereo tone; returns the last decoded frames' left channel. */
function roundTrip(backend: OpusBackend): Float64Array {
  const encoder = new OpusFrameEncoder({ backend });
  const decoder = new OpusFrameDecoder({ backend });
  const tone = sine({ hz: 1000, rate: DISCORD_SAMPLE_RATE, length: DISCORD_FRAME_SAMPLES * 10, amplitude: 10_000, channels: 2 });
  let last: Int16Array = new Int16Array(0);
  for (let f = 0; f < 10; f++) {
    const packet = encoder.encode(tone.subarray(f * 1920, (f + 1) * 1920));
    assert.ok(packet.length > 3 && packet.length < 1275, `packet size ${packet.length}`);
    last = decoder.decode(packet);
    assert.equal(last.length, 1920);
  }
  encoder.destroy();
  decoder.destroy();
  return channel(last, 2, 0);
}

describe('Opus backend loading', () => {
  it('uses the native binding here (it is installed)', () => {
    assert.equal(opusBackendName(), 'native');
    assert.equal(new OpusFrameDecoder().backend, 'native');
  });

  it('falls back to opusscript with exactly one log line, once', () => {
    const { logger, lines } = captureLogger();
    const first = loadOpusBackend({ forceFallback: true, logger });
    const second = loadOpusBackend({ forceFallback: true, logger });
    assert.equal(first.name, 'opusscript');
    assert.equal(second, first, 'cached');
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0]!) as { level: number; msg: string };
    assert.equal(line.level, 40, 'warn');
    assert.match(line.msg, /opusscript/);
  });
});

for (const name of ['native', 'opusscript'] as const) {
  describe(`OpusFrameDecoder/Encoder (${name})`, () => {
    // Looked up lazily: loading the fallback at collection time would log before the test above.
    const load = () => (name === 'native' ? loadOpusBackend() : loadOpusBackend({ forceFallback: true }));

    it('round-trips a tone at the right frequency and about the right level', () => {
      const left = roundTrip(load());
      const level = toneAmplitude(left, 1000, DISCORD_SAMPLE_RATE);
      assert.ok(level > 8000 && level < 12_000, `1 kHz level ${level.toFixed(0)}`);
    });

    it('turns empty, corrupt and wrong-length packets into one silent frame each, never throwing', () => {
      const backend = load();
      const decoder = new OpusFrameDecoder({ backend });
      const encoder = new OpusFrameEncoder({ backend });
      const silence = new Int16Array(1920);
      // TOC 0xFF = CELT 20 ms stereo, code 3; count byte 3 → a valid packet of three frames (60 ms).
      const sixtyMs = Buffer.from([0xff, 0x03]);
      const corrupt = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]); // libopus: "invalid packet"
      for (const packet of [Buffer.alloc(0), corrupt, sixtyMs]) assert.deepEqual(decoder.decode(packet), silence);
      assert.equal(decoder.badPackets, 3);
      // Still usable afterwards.
      const pcm = decoder.decode(encoder.encode(sine({ hz: 500, rate: DISCORD_SAMPLE_RATE, length: 960, channels: 2 })));
      assert.equal(pcm.length, 1920);
      assert.equal(decoder.decode(OPUS_SILENCE_FRAME as Buffer).length, 1920);
      assert.equal(decoder.badPackets, 3);
      decoder.destroy();
      encoder.destroy();
    });

    it('rejects a PCM frame of the wrong length when encoding', () => {
      const encoder = new OpusFrameEncoder({ backend: load(), bitrate: 32_000 });
      assert.throws(() => encoder.encode(new Int16Array(960)), RangeError);
      encoder.destroy();
    });
  });
}
