import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DISCORD_FRAME_SAMPLES, DISCORD_SAMPLE_RATE, OPUS_SILENCE_FRAME, REALTIME_FRAME_SAMPLES } from '../../src/audio/format.ts';
import { SpeakerMixer, type FrameDecoder, type MixedFrame } from '../../src/audio/mixer.ts';
import { OpusFrameEncoder } from '../../src/audio/opusCodec.ts';
import { sine } from '../helpers/signal.ts';

const N = REALTIME_FRAME_SAMPLES;

/** Decoders whose frames carry the packet's value (an Int16 in the packet), counting destroy() calls. */
function fakeDecoders() {
  const destroyed: number[] = [];
  let made = 0;
  const create = (): FrameDecoder => {
    const id = made++;
    return {
      decode: (p) => new Int16Array(N).fill(p.equals(OPUS_SILENCE_FRAME) ? 0 : p.readInt16LE(0)),
      conceal: () => new Int16Array(N),
      destroy: () => void destroyed.push(id),
    };
  };
  return { create, destroyed };
}

const packetOf = (value: number) => Buffer.from(new Int16Array([value]).buffer);

/** Pushes one packet per speaker per tick (values from `valueAt`), pulls each tick; returns the frames. */
function run(mixer: SpeakerMixer, speakers: Record<string, (k: number) => number | undefined>, ticks: number): MixedFrame[] {
  const out: MixedFrame[] = [];
  for (let n = 0; n < ticks; n++) {
    for (const [id, valueAt] of Object.entries(speakers)) {
      const value = valueAt(n);
      if (value !== undefined) mixer.push(id, packetOf(value), { timestamp: 960 * n, arrivalMs: 20 * n });
    }
    out.push(mixer.pull(20 * n));
  }
  return out;
}

describe('SpeakerMixer', () => {
  it('sums simultaneous speakers and records who contributed', () => {
    const { create } = fakeDecoders();
    const mixer = new SpeakerMixer({ createDecoder: create });
    const frames = run(mixer, { a: (n) => (n < 10 ? 1000 : undefined), b: (n) => (n >= 3 && n < 10 ? -300 : undefined), c: (n) => (n < 10 ? 0 : undefined) }, 14);
    // Each starts 40 ms (two frames) after its first packet: a at frame 2, b at frame 5.
    assert.deepEqual(frames.map((f) => f.pcm[0]), [0, 0, 1000, 1000, 1000, 700, 700, 700, 700, 700, 700, 700, 0, 0]);
    assert.deepEqual(frames[6]!.contributors, ['a', 'b'], 'c only sent silence');
    assert.deepEqual(frames[2]!.contributors, ['a']);
    assert.equal(frames[0]!.silent, true);
    assert.deepEqual(frames.map((f) => f.frameIndex), Array.from({ length: 14 }, (_, i) => i));
    assert.equal(mixer.speakerCount, 3);
    assert.equal(mixer.stats().speakers.a!.contributed, 10);
  });

  it('never clips: two loud speakers are brought under full scale smoothly, not cut off', () => {
    const { create } = fakeDecoders();
    const mixer = new SpeakerMixer({ createDecoder: create });
    const frames = run(mixer, { a: () => 30_000, b: () => 30_000 }, 12);
    for (const frame of frames.slice(2)) assert.ok(frame.pcm.every((s) => s <= 32_767 && s >= 30_000), 'limited to the range, not hard-clipped to 60 000');
    assert.ok(mixer.stats().limitedFrames >= 10);
  });

  it('after two loud speakers stop, the frames are silent while the limiter recovers (not the last loud sum again)', () => {
    const { create } = fakeDecoders();
    const mixer = new SpeakerMixer({ createDecoder: create });
    const frames = run(mixer, { a: (n) => (n < 8 ? 30_000 : undefined), b: (n) => (n < 8 ? 30_000 : undefined) }, 30);
    assert.ok(mixer.stats().limitedFrames >= 5, 'the two were limited');
    const after = frames.slice(16); // their talkspurts have ended (concealed frames ended too)
    assert.ok(after.every((f) => f.silent && f.pcm.every((s) => s === 0)), 'silence comes out as zeros');
  });

  it('passes one speaker at −3 dBFS through bit-exact (real Opus, real decoder)', () => {
    const encoder = new OpusFrameEncoder();
    const mixer = new SpeakerMixer();
    const tone = sine({ hz: 440, rate: DISCORD_SAMPLE_RATE, length: DISCORD_FRAME_SAMPLES * 30, amplitude: Math.round(32_767 * 10 ** (-3 / 20)), channels: 2 });
    const pushed: Int16Array[] = [];
    const pulled: Int16Array[] = [];
    for (let n = 0; n < 40; n++) {
      const packet = n < 30 ? encoder.encode(tone.subarray(n * 1920, (n + 1) * 1920)) : Buffer.from(OPUS_SILENCE_FRAME);
      if (n < 35) pushed.push(...mixer.push('a', packet, { timestamp: 960 * n, arrivalMs: 20 * n }));
      const frame = mixer.pull(20 * n);
      if (!frame.silent) pulled.push(Int16Array.from(frame.pcm));
    }
    encoder.destroy();
    assert.ok(pulled.length >= 30);
    pushed.slice(0, 30).forEach((frame, i) => assert.deepEqual(pulled[i], frame, `frame ${i} unchanged`));
    assert.equal(mixer.stats().limitedFrames, 0);
    mixer.removeAll();
  });

  it('frees a speaker’s decoder when the speaker is removed, and every decoder on removeAll', () => {
    const { create, destroyed } = fakeDecoders();
    const mixer = new SpeakerMixer({ createDecoder: create });
    for (const id of ['a', 'b', 'c']) mixer.push(id, packetOf(5), { timestamp: 0, arrivalMs: 0 });
    mixer.removeSpeaker('a');
    assert.deepEqual(destroyed, [0]);
    assert.equal(mixer.speakerCount, 2);
    assert.deepEqual(Object.keys(mixer.stats().speakers), ['b', 'c']);
    mixer.removeAll();
    assert.deepEqual(destroyed.sort(), [0, 1, 2]);
    assert.equal(mixer.speakerCount, 0);
  });

  it('counts concealed and late frames per speaker and in totals that keep a removed speaker’s counts', () => {
    const { create } = fakeDecoders();
    const mixer = new SpeakerMixer({ createDecoder: create, jitter: { initialDelayMs: 0, marginMs: 0, minDelayMs: 0 } });
    // Speaker a: packet 3 lost, packet 6 late (arrives after its frame was concealed); b: clean.
    const a = (k: number) => (k === 3 || k === 6 ? undefined : 100 + k);
    run(mixer, { a, b: (k) => 200 + k }, 10);
    mixer.push('a', packetOf(106), { timestamp: 960 * 6, arrivalMs: 20 * 10 });
    let stats = mixer.stats();
    assert.deepEqual([stats.speakers.a!.concealed, stats.speakers.a!.late, stats.speakers.a!.talking], [2, 1, true]);
    assert.deepEqual([stats.speakers.b!.concealed, stats.speakers.b!.late], [0, 0]);
    assert.deepEqual(stats.totals, { concealed: 2, fecRecovered: 0, late: 1, stretched: 0, trimmed: 0 });
    mixer.removeSpeaker('a');
    stats = mixer.stats();
    assert.deepEqual(Object.keys(stats.speakers), ['b']);
    assert.deepEqual(stats.totals, { concealed: 2, fecRecovered: 0, late: 1, stretched: 0, trimmed: 0 }, 'a left: its counts stay in the totals');
  });

  it('tells the jitter buffers when a pull runs behind its schedule (the bot stalled): a missing packet is waited for', () => {
    const stallOf = (lateMs: number) => {
      const { create } = fakeDecoders();
      const mixer = new SpeakerMixer({ createDecoder: create, jitter: { initialDelayMs: 0, marginMs: 0, minDelayMs: 0 } });
      run(mixer, { a: (k) => 100 + k }, 30); // frames 0–29 played as they come
      mixer.pull(20 * 30, 20 * 30 - lateMs); // packet 30 not read yet
      return mixer.stats().speakers.a!;
    };
    assert.equal(stallOf(60).stretched, 1, 'the pull ran 60 ms behind: wait for the packet');
    assert.equal(stallOf(0).stretched, 0, 'on time, at a delay meeting the jitter: taken for lost');
  });

  it('keeps at least one packet (20 ms) of playout delay on a clean network: a packet 15 ms late is still played', () => {
    const { create } = fakeDecoders();
    const mixer = new SpeakerMixer({ createDecoder: create });
    // Talkspurt 1: 40 packets exactly on time, then the silence frames that end it (the delay is
    // measured now: no jitter at all). Talkspurt 2, anchored on that measurement: packet 5 comes 15 ms late.
    const packets: Array<{ packet: Buffer; slot: number; arrivalMs: number }> = [];
    for (let k = 0; k < 40; k++) packets.push({ packet: packetOf(1000 + k), slot: k, arrivalMs: 20 * k });
    for (let k = 40; k < 45; k++) packets.push({ packet: Buffer.from(OPUS_SILENCE_FRAME), slot: k, arrivalMs: 20 * k });
    for (let k = 60; k < 80; k++) packets.push({ packet: packetOf(2000 + k), slot: k, arrivalMs: 20 * k + (k === 65 ? 15 : 0) });
    for (let k = 80; k < 85; k++) packets.push({ packet: Buffer.from(OPUS_SILENCE_FRAME), slot: k, arrivalMs: 20 * k });
    for (let t = 0; t < 100; t++) {
      for (const p of packets) if (p.arrivalMs <= 20 * t && p.arrivalMs > 20 * (t - 1)) mixer.push('a', p.packet, { timestamp: 960 * p.slot, arrivalMs: p.arrivalMs });
      mixer.pull(20 * t + 10);
    }
    const stats = mixer.stats().speakers.a!;
    assert.equal(stats.late, 0, 'the 15 ms late packet was in time for its frame');
    assert.equal(stats.concealed, 0);
    assert.ok(stats.delayMs >= 20, `delay ${stats.delayMs} ms`);
  });

  it('forgets a removed speaker: its buffered audio is not played', () => {
    const { create } = fakeDecoders();
    const mixer = new SpeakerMixer({ createDecoder: create });
    mixer.push('a', packetOf(5), { timestamp: 0, arrivalMs: 0 });
    mixer.push('b', packetOf(6), { timestamp: 0, arrivalMs: 0 });
    mixer.removeSpeaker('a');
    const frames = [0, 20, 40].map((t) => mixer.pull(t));
    assert.deepEqual(frames[2]!.contributors, ['b']);
    assert.equal(frames[2]!.pcm[0], 6);
  });

  it('each frame with audio is its own array, kept as it was by later pulls; silent frames are zeros without contributors', () => {
    const { create } = fakeDecoders();
    const mixer = new SpeakerMixer({ createDecoder: create });
    const frames = run(mixer, { a: (n) => (n < 6 ? 100 * (n + 1) : undefined) }, 16);
    const voiced = frames.filter((f) => !f.silent);
    assert.deepEqual(voiced.map((f) => f.pcm[N - 1]), [100, 200, 300, 400, 500, 600], 'earlier frames unchanged by the later pulls');
    assert.equal(new Set(voiced.map((f) => f.pcm)).size, voiced.length);
    const silent = frames.filter((f) => f.silent);
    assert.ok(silent.length >= 8);
    for (const frame of silent) {
      assert.deepEqual(frame.contributors, []);
      assert.ok(frame.pcm.length === N && frame.pcm.every((s) => s === 0));
    }
  });
});
