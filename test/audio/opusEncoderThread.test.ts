import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { OpusEncoderThread, OpusFrameEncoder } from '../../src/audio/index.ts';
import { OpusFrameDecoder, opusPacketSamples48k } from '../../src/audio/opusCodec.ts';
import { silentLogger, type Logger } from '../../src/log.ts';
import { toneAmplitude } from '../helpers/signal.ts';

/** Samples of a frame the thread takes: 20 ms of the model's 24 kHz mono (written out: not the constant under test). */
const SAMPLES = 480;

/** A 24 kHz mono tone frame; `n` moves the phase so consecutive frames differ. */
function toneFrame(hz: number, n: number): Int16Array {
  const frame = new Int16Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) frame[i] = Math.round(9000 * Math.sin((2 * Math.PI * hz * (n * SAMPLES + i)) / 24_000));
  return frame;
}

/** What a 24 kHz mono encoder on this thread makes of the same frames (libopus is deterministic). */
function encodeHere(frames: Int16Array[]): Buffer[] {
  const encoder = new OpusFrameEncoder({ format: 'realtime' });
  return frames.map((frame) => encoder.encode(frame));
}

function recordingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = { warn: (_obj: unknown, msg: string) => void warnings.push(msg) } as unknown as Logger;
  return { logger, warnings };
}

test('two interleaved streams on the worker give exactly the packets of separate encoders here, in one message per tick', async () => {
  const thread = new OpusEncoderThread({ logger: silentLogger });
  try {
    const a = thread.createStream();
    const b = thread.createStream();
    const framesA = Array.from({ length: 6 }, (_, n) => toneFrame(440, n));
    const framesB = Array.from({ length: 6 }, (_, n) => toneFrame(1000, n));
    const packetsA: Buffer[] = [];
    const packetsB: Buffer[] = [];
    for (let n = 0; n < 6; n++) {
      // Both streams' frames requested in the same macrotask, as on a clock tick.
      const [pa, pb] = await Promise.all([a.encode(framesA[n]!), b.encode(framesB[n]!)]);
      packetsA.push(pa);
      packetsB.push(pb);
    }
    assert.deepEqual(packetsA, encodeHere(framesA), 'stream A keeps its own continuous encoder state');
    assert.deepEqual(packetsB, encodeHere(framesB), 'stream B is not disturbed by A');
    assert.ok(thread.onWorker);
    assert.deepEqual(thread.stats, { batches: 6, workerFrames: 12, fallbackFrames: 0 });
    a.destroy();
    b.destroy();
    assert.equal(thread.streamCount, 0);
  } finally {
    await thread.close();
  }
});

test('frames asked for in separate immediate callbacks of one loop turn travel in one message', async () => {
  // Playback reads ahead in a setImmediate after each session's send: 40 sessions are 40 callbacks
  // in one check phase, and must still make one message to the worker (not one each).
  const thread = new OpusEncoderThread({ logger: silentLogger });
  try {
    const streams = Array.from({ length: 4 }, () => thread.createStream());
    const frames = streams.map((_, n) => toneFrame(400 + 100 * n, n));
    const packets = await Promise.all(streams.map((stream, n) => new Promise<Buffer>((resolve) => setImmediate(() => resolve(stream.encode(frames[n]!))))));
    assert.deepEqual(packets, frames.map((frame) => encodeHere([frame])[0]));
    assert.deepEqual(thread.stats, { batches: 1, workerFrames: 4, fallbackFrames: 0 });
    for (const stream of streams) stream.destroy();
  } finally {
    await thread.close();
  }
});

test('frames resolve in call order even when many are in flight', async () => {
  const thread = new OpusEncoderThread({ logger: silentLogger });
  try {
    const stream = thread.createStream();
    const frames = Array.from({ length: 20 }, (_, n) => toneFrame(300 + 20 * n, n));
    const order: number[] = [];
    const packets = await Promise.all(frames.map((frame, n) => stream.encode(frame).then((packet) => (order.push(n), packet))));
    assert.deepEqual(order, frames.map((_, n) => n));
    assert.deepEqual(packets, encodeHere(frames));
  } finally {
    await thread.close();
  }
});

test('a worker that cannot start: every frame is still encoded, here, with one warning', async () => {
  const { logger, warnings } = recordingLogger();
  const thread = new OpusEncoderThread({ logger, workerUrl: new URL('data:text/javascript,throw new Error("no worker today")') });
  try {
    const stream = thread.createStream();
    const frames = Array.from({ length: 4 }, (_, n) => toneFrame(500, n));
    const packets: Buffer[] = [];
    for (const frame of frames) packets.push(await stream.encode(frame));
    // The error arrives asynchronously; later frames are encoded here from then on.
    for (let i = 0; i < 100 && thread.onWorker; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    packets.push(await stream.encode(toneFrame(500, 4)));
    assert.equal(packets.length, 5);
    assert.ok(packets.every((packet) => packet.length > 3), 'real audio packets, not silence');
    assert.equal(thread.onWorker, false);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /encoder thread failed/);
    assert.ok(thread.stats.fallbackFrames >= 1);
  } finally {
    await thread.close();
  }
});

test('a worker that dies with frames in flight: those frames are encoded here, in order, none lost', async () => {
  const { logger, warnings } = recordingLogger();
  // Receives the first batch and exits without answering.
  const dying = new URL('data:text/javascript,import { parentPort } from "node:worker_threads"; parentPort.once("message", () => process.exit(7));');
  const thread = new OpusEncoderThread({ logger, workerUrl: dying });
  try {
    const stream = thread.createStream();
    const frames = Array.from({ length: 3 }, (_, n) => toneFrame(700, n));
    const packets = await Promise.all(frames.map((frame) => stream.encode(frame)));
    assert.deepEqual(packets, encodeHere(frames), 'the lost batch was re-encoded from the start of the stream');
    assert.equal(warnings.length, 1);
    assert.equal(thread.stats.fallbackFrames, 3);
  } finally {
    await thread.close();
  }
});

test('a frame of the wrong length is refused with a RangeError, a 48 kHz stereo frame included', async () => {
  const thread = new OpusEncoderThread({ logger: silentLogger });
  try {
    await assert.rejects(thread.createStream().encode(new Int16Array(100)), RangeError);
    await assert.rejects(thread.createStream().encode(new Int16Array(1920)), RangeError);
  } finally {
    await thread.close();
  }
});

test('the worker is handed 480 samples per frame (24 kHz mono, 960 bytes), not 48 kHz stereo', async () => {
  // A worker that answers each frame with the number of PCM bytes it was handed for it.
  const measuring = new URL(
    'data:text/javascript,import { parentPort } from "node:worker_threads"; parentPort.on("message", (m) => { if (m.type !== "encode") return; ' +
      'const out = new Uint32Array(m.streams.length).fill(m.pcm.byteLength / m.streams.length); parentPort.postMessage({ type: "encoded", id: m.id, packets: out.buffer, lengths: m.streams.map(() => 4) }); });',
  );
  const thread = new OpusEncoderThread({ logger: silentLogger, workerUrl: measuring });
  try {
    const streams = [thread.createStream(), thread.createStream()];
    const replies = await Promise.all(streams.map((stream, n) => stream.encode(toneFrame(500, n))));
    assert.deepEqual(replies.map((reply) => reply.readUInt32LE(0)), [960, 960]);
    assert.deepEqual(thread.stats, { batches: 1, workerFrames: 2, fallbackFrames: 0 });
  } finally {
    await thread.close();
  }
});

test('the packets are mono Opus of 20 ms that a 48 kHz stereo listener decodes to the tone on both channels', async () => {
  const thread = new OpusEncoderThread({ logger: silentLogger });
  try {
    const stream = thread.createStream();
    const packets = await Promise.all(Array.from({ length: 10 }, (_, n) => stream.encode(toneFrame(1000, n))));
    const listener = new OpusFrameDecoder(); // 48 kHz stereo, as a member's client
    let last: Int16Array = new Int16Array(0);
    for (const packet of packets) {
      assert.equal(packet[0]! & 0x04, 0, 'TOC stereo flag 0: mono');
      assert.equal(opusPacketSamples48k(packet), 960);
      last = listener.decode(packet); // in order: the decoder carries state
    }
    const left = Float64Array.from({ length: 960 }, (_, i) => last[2 * i]!);
    assert.ok(last.every((value, i) => i % 2 === 0 || value === last[i - 1]), 'both channels equal');
    assert.ok(toneAmplitude(left, 1000, 48_000) > 7000, 'the 1 kHz tone (amplitude 9000) is heard');
    assert.equal(thread.stats.workerFrames, 10);
  } finally {
    await thread.close();
  }
});
