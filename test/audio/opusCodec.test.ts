import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { DISCORD_FRAME_SAMPLES, DISCORD_SAMPLE_RATE, OPUS_SILENCE_FRAME, REALTIME_SAMPLE_RATE } from '../../src/audio/format.ts';
import { loadOpusBackend, opusBackendName, type OpusBackend, type OpusHandle } from '../../src/audio/opusBackend.ts';
import { OPUS_ENCODER_DELAY_24K, opusPacketSamples48k, OpusFrameDecoder, OpusFrameEncoder } from '../../src/audio/opusCodec.ts';
import { createLogger } from '../../src/log.ts';
import { channel, concatInt16, sine, toneAmplitude } from '../helpers/signal.ts';

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

    it('turns empty, corrupt and wrong-length packets into one concealed frame each, never throwing', () => {
      const backend = load();
      const decoder = new OpusFrameDecoder({ backend });
      const encoder = new OpusFrameEncoder({ backend });
      const silence = new Int16Array(1920);
      // TOC 0xFF = CELT 20 ms stereo, code 3; count byte 3 → a valid packet of three frames (60 ms).
      const sixtyMs = Buffer.from([0xff, 0x03]);
      const corrupt = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]); // libopus: "invalid packet"
      // Nothing decoded yet: nothing to continue, so concealment is silence.
      for (const packet of [Buffer.alloc(0), corrupt, sixtyMs]) assert.deepEqual(decoder.decode(packet), silence);
      assert.equal(decoder.badPackets, 3);
      // Still usable afterwards; after real audio, a bad packet continues it instead of a hole.
      const tone = sine({ hz: 500, rate: DISCORD_SAMPLE_RATE, length: 960 * 5, amplitude: 10_000, channels: 2 });
      for (let f = 0; f < 5; f++) assert.equal(decoder.decode(encoder.encode(tone.subarray(f * 1920, (f + 1) * 1920))).length, 1920);
      const concealed = decoder.decode(corrupt);
      assert.ok(toneAmplitude(channel(concealed, 2, 0), 500, DISCORD_SAMPLE_RATE, true) > 2000, 'the 500 Hz tone goes on through the bad packet');
      assert.equal(decoder.decode(OPUS_SILENCE_FRAME as Buffer).length, 1920);
      assert.equal(decoder.badPackets, 4);
      assert.equal(decoder.concealedFrames, 4);
      decoder.destroy();
      encoder.destroy();
    });

    it('conceals a lost frame with libopus PLC: the signal continues, then fades over consecutive losses', () => {
      const backend = load();
      const decoder = new OpusFrameDecoder({ backend, format: 'realtime' });
      const encoder = new OpusFrameEncoder({ backend });
      assert.equal(decoder.canUseFec, false, 'neither backend can decode in-band FEC');
      const tone = sine({ hz: 440, rate: DISCORD_SAMPLE_RATE, length: 960 * 10, amplitude: 12_000, channels: 2 });
      for (let f = 0; f < 10; f++) decoder.decode(encoder.encode(tone.subarray(f * 1920, (f + 1) * 1920)));
      const levels = Array.from({ length: 6 }, () => toneAmplitude(decoder.conceal(), 440, REALTIME_SAMPLE_RATE, true));
      assert.ok(levels[0]! > 6000, `first concealed frame carries the tone (${levels[0]!.toFixed(0)})`);
      assert.ok(levels[5]! < levels[0]! / 2, `and fades (${levels.map((l) => l.toFixed(0)).join(', ')})`);
      assert.equal(decoder.concealedFrames, 6);
      assert.equal(decoder.badPackets, 0);
      decoder.destroy();
      encoder.destroy();
    });

    it('decodes straight to 24 kHz mono: flat to 11 kHz, a 12.5 kHz tone ≥ 70 dB down at its alias', () => {
      const backend = load();
      const levels = (hz: number) => {
        const decoder = new OpusFrameDecoder({ backend, format: 'realtime' });
        const encoder = new OpusFrameEncoder({ backend });
        const tone = sine({ hz, rate: DISCORD_SAMPLE_RATE, length: 960 * 25, amplitude: 16_384, channels: 2 });
        const out: Int16Array[] = [];
        for (let f = 0; f < 25; f++) out.push(decoder.decode(encoder.encode(tone.subarray(f * 1920, (f + 1) * 1920))));
        const last = concatInt16(out.slice(5));
        assert.equal(out[0]!.length, 480);
        decoder.destroy();
        encoder.destroy();
        return { tone: toneAmplitude(last, hz, REALTIME_SAMPLE_RATE, true), alias: toneAmplitude(last, REALTIME_SAMPLE_RATE - hz, REALTIME_SAMPLE_RATE, true) };
      };
      const reference = levels(1000).tone;
      for (const hz of [3000, 8000, 11_000]) {
        const gain = 20 * Math.log10(levels(hz).tone / reference);
        assert.ok(Math.abs(gain) < 1, `${hz} Hz: ${gain.toFixed(2)} dB from 1 kHz (Opus' own coding, not a filter slope)`);
      }
      const alias = 20 * Math.log10(levels(12_500).alias / reference);
      assert.ok(alias <= -70, `12.5 kHz aliases at ${alias.toFixed(1)} dB`);
    });

    it('frees its memory once: destroy() is idempotent and using a destroyed decoder throws', () => {
      const decoder = new OpusFrameDecoder({ backend: load(), format: 'realtime' });
      decoder.destroy();
      decoder.destroy();
      assert.equal(decoder.destroyed, true);
      assert.throws(() => decoder.decode(OPUS_SILENCE_FRAME as Buffer), /after destroy/);
    });

    it('rejects a PCM frame of the wrong length when encoding', () => {
      const encoder = new OpusFrameEncoder({ backend: load(), bitrate: 32_000 });
      assert.throws(() => encoder.encode(new Int16Array(960)), RangeError);
      encoder.destroy();
      const mono = new OpusFrameEncoder({ backend: load(), format: 'realtime' });
      assert.throws(() => mono.encode(new Int16Array(1920)), RangeError, '24 kHz mono takes 480 samples, not 48 kHz stereo');
      mono.destroy();
    });

    it('encodes the model\'s 24 kHz mono as mono 20 ms packets that a 48 kHz stereo decoder plays on both channels, 6.5 ms later', () => {
      // The bot's playback encoder (format 'realtime'): what a listener's client (48 kHz stereo) gets.
      const encoder = new OpusFrameEncoder({ backend: load(), format: 'realtime' });
      const decoder = new OpusFrameDecoder({ backend: load() });
      // A 2 kHz burst under a narrow Gaussian envelope, centred on 24 kHz sample 1200 (50 ms).
      const source = Int16Array.from({ length: 480 * 10 }, (_, i) => Math.round(16_000 * Math.exp(-((i - 1200) ** 2) / 3200) * Math.cos((2 * Math.PI * 2000 * (i - 1200)) / 24_000)));
      const left: number[] = [];
      for (let f = 0; f < 10; f++) {
        const packet = encoder.encode(source.subarray(f * 480, (f + 1) * 480));
        assert.equal(packet[0]! & 0x04, 0, 'TOC stereo flag 0: a mono packet (RFC 6716 §3.1)');
        assert.equal(opusPacketSamples48k(packet), 960, 'one 20 ms frame at 48 kHz');
        const pcm = decoder.decode(packet);
        assert.equal(pcm.length, 1920);
        for (let i = 0; i < 960; i++) {
          assert.equal(pcm[2 * i], pcm[2 * i + 1], 'both channels equal');
          left.push(pcm[2 * i]!);
        }
      }
      const peak = left.reduce((best, value, i) => (Math.abs(value) > Math.abs(left[best]!) ? i : best), 0);
      // 48 kHz sample 2 × 1200, plus the encoder's look-ahead: 6.5 ms = 312 samples at 48 kHz (156 at 24).
      assert.equal(peak, 2 * 1200 + 312);
      assert.equal(OPUS_ENCODER_DELAY_24K * 2, 312);
      assert.ok(Math.abs(left[peak]!) > 14_000 && Math.abs(left[peak]!) < 18_000, `peak level ${left[peak]}`);
      encoder.destroy();
      decoder.destroy();
    });
  });
}

describe('OpusFrameDecoder with a backend that can decode in-band FEC', () => {
  it('recovers a lost frame from the next packet, and conceals without one', () => {
    const calls: string[] = [];
    const frame = (value: number) => Buffer.from(new Int16Array(480).fill(value).buffer);
    const handle: OpusHandle = {
      encode: () => Buffer.alloc(0),
      decode: (packet) => {
        calls.push(packet.length === 1 ? `plc ${packet[0]!.toString(16)}` : `decode ${packet[1]}`);
        return frame(packet.length === 1 ? -1 : packet[1]!);
      },
      decodeFec: (packet) => {
        calls.push(`fec ${packet[1]}`);
        return frame(1000 + packet[1]!);
      },
      setBitrate: () => {},
      destroy: () => {},
    };
    const decoder = new OpusFrameDecoder({ backend: { name: 'native', create: () => handle }, format: 'realtime' });
    assert.equal(decoder.canUseFec, true);
    const packet = (n: number) => Buffer.from([0xfc, n]); // CELT FB 20 ms stereo, one frame
    assert.equal(decoder.decode(packet(1))[0], 1);
    assert.equal(decoder.conceal(packet(3))[0], 1003, 'frame 2 from packet 3');
    assert.equal(decoder.conceal()[0], -1, 'no next packet: concealment');
    // A 40 ms packet (code 1: two frames) never reaches libopus, which would move the stream by 40 ms.
    assert.equal(decoder.decode(Buffer.from([0xfd, 9, 9]))[0], -1);
    assert.deepEqual(calls, ['decode 1', 'fec 3', 'plc fc', 'plc fc']);
    assert.equal(decoder.badPackets, 1);
    assert.deepEqual([decoder.concealedFrames, decoder.fecRecoveredFrames], [3, 1], 'one of three concealed frames came from FEC');
  });
});

describe('opusPacketSamples48k', () => {
  it('reads the duration from the TOC and frame count (RFC 6716 §3.1)', () => {
    assert.equal(opusPacketSamples48k(Buffer.from([0xfc, 1, 2])), 960, 'CELT FB 20 ms, one frame');
    assert.equal(opusPacketSamples48k(Buffer.from([0xf8, 0xff, 0xfe])), 960, "Discord's silence frame");
    assert.equal(opusPacketSamples48k(Buffer.from([0x08 | 0x01, 0])), 1920, 'SILK NB 20 ms, code 1: two frames');
    assert.equal(opusPacketSamples48k(Buffer.from([0x00])), 480, 'SILK NB 10 ms');
    assert.equal(opusPacketSamples48k(Buffer.from([0x78 | 0x03, 3])), 960 * 3, 'hybrid FB 20 ms, code 3: three frames');
    assert.equal(opusPacketSamples48k(Buffer.from([0x80])), 120, 'CELT NB 2.5 ms');
    assert.equal(opusPacketSamples48k(Buffer.alloc(0)), -1);
    assert.equal(opusPacketSamples48k(Buffer.from([0x03])), -1, 'code 3 without its count byte');
  });
});
