/**
 * Worker-thread side of {@link OpusEncoderThread}: one Opus encoder per stream, fed in batches.
 *
 * Protocol (structured clone; the PCM and packet bytes travel as transferred ArrayBuffers):
 *   ← { type: 'encode', id, streams: number[], bitrates: number[], pcm: ArrayBuffer }
 *        `pcm` holds one 20 ms frame of 24 kHz mono (480 samples) per entry of `streams`, in order.
 *   → { type: 'encoded', id, packets: ArrayBuffer, lengths: number[] }
 *   ← { type: 'close', stream }   frees that stream's encoder
 * A frame that fails to encode comes back with length 0 (the main thread then encodes it itself).
 *
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { PLAYBACK_FRAME_SAMPLES } from './format.ts';
import { OpusFrameEncoder } from './opusCodec.ts';

/** A batch of frames to encode. */
export interface EncodeRequest {
  type: 'encode';
  id: number;
  streams: number[];
  bitrates: number[];
  pcm: ArrayBuffer;
}

/** The packets of one {@link EncodeRequest}, concatenated; `lengths[i]` is 0 when frame i failed. */
export interface EncodeReply {
  type: 'encoded';
  id: number;
  packets: ArrayBuffer;
  lengths: number[];
}

/** Frees the encoder of a stream. */
export interface CloseRequest {
  type: 'close';
  stream: number;
}

const encoders = new Map<number, OpusFrameEncoder>();
const SAMPLES = PLAYBACK_FRAME_SAMPLES;
// Load libopus and warm the encode path at boot, not when the first reply's first frame is waiting
// (loading the binding and the first encode take tens of milliseconds: bench/README.md).
new OpusFrameEncoder({ format: 'realtime' }).encode(new Int16Array(SAMPLES));

function encoderFor(stream: number, bitrate: number): OpusFrameEncoder {
  let encoder = encoders.get(stream);
  if (!encoder) encoders.set(stream, (encoder = new OpusFrameEncoder({ bitrate, format: 'realtime' })));
  return encoder;
}

parentPort?.on('message', (message: EncodeRequest | CloseRequest) => {
  if (message.type === 'close') {
    encoders.get(message.stream)?.destroy();
    encoders.delete(message.stream);
    return;
  }
  const packets: Buffer[] = [];
  const lengths: number[] = [];
  for (let i = 0; i < message.streams.length; i++) {
    try {
      const packet = encoderFor(message.streams[i]!, message.bitrates[i]!).encode(new Int16Array(message.pcm, i * SAMPLES * 2, SAMPLES));
      packets.push(packet);
      lengths.push(packet.length);
    } catch {
      lengths.push(0);
    }
  }
  const joined = Buffer.concat(packets);
  // A fresh, exactly-sized ArrayBuffer that can be transferred (Buffer.concat may return a pool slice).
  const out = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.length);
  const reply: EncodeReply = { type: 'encoded', id: message.id, packets: out, lengths };
  parentPort!.postMessage(reply, [out]);
});
