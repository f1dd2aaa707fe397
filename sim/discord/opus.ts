import { createRequire } from 'node:module';
import { DISCORD_CHANNELS, DISCORD_FRAME_SAMPLES, DISCORD_SAMPLE_RATE, OPUS_SILENCE_FRAME } from '../../src/audio/format.ts';

/** The codec operations the simulator needs; @discordjs/opus and opusscript both provide them. */
export interface OpusCodec {
  encode(pcm: Buffer): Buffer;
  decode(opus: Buffer): Buffer;
}

const require = createRequire(import.meta.url);

/**
 * A 48 kHz stereo Opus codec: native @discordjs/opus when it loads, else opusscript (WebAssembly).
 * One instance per stream: Opus decoders carry state between frames.
 */
export function createOpusCodec(): OpusCodec {
  try {
    const { OpusEncoder } = require('@discordjs/opus') as { OpusEncoder: new (rate: number, channels: number) => OpusCodec };
    return new OpusEncoder(DISCORD_SAMPLE_RATE, DISCORD_CHANNELS);
  } catch {
    const OpusScript = require('opusscript') as {
      new (rate: number, channels: number, application: number): { encode(pcm: Buffer, frameSize: number): Buffer; decode(opus: Buffer): Buffer };
      Application: { AUDIO: number };
    };
    const codec = new OpusScript(DISCORD_SAMPLE_RATE, DISCORD_CHANNELS, OpusScript.Application.AUDIO);
    return { encode: (pcm) => Buffer.from(codec.encode(pcm, DISCORD_FRAME_SAMPLES)), decode: (opus) => Buffer.from(codec.decode(opus)) };
  }
}

/** True for the 3-byte Opus frame Discord clients send (five times) to end a burst. */
export function isSilenceFrame(opus: Buffer): boolean {
  return opus.equals(OPUS_SILENCE_FRAME);
}

/**
 * Encodes 48 kHz stereo PCM into one Opus frame per 20 ms (the last frame zero-padded), with one
 * encoder fed every frame in order, as a client's. For `speak({ opus })`: a benchmark encodes each
 * utterance once before its clock starts, as real members encode on their own machines, not on the
 * server that relays them.
 */
export function encodeOpusFrames(pcm: Int16Array, codec: OpusCodec = createOpusCodec()): Buffer[] {
  const frames: Buffer[] = [];
  for (let index = 0; index * FRAME_SAMPLES < pcm.length; index++) frames.push(codec.encode(pcmFrame(pcm, index)));
  return frames;
}

const FRAME_SAMPLES = DISCORD_FRAME_SAMPLES * DISCORD_CHANNELS;

/** Frame `index` (20 ms, 48 kHz stereo) of `pcm` as the bytes an encoder takes, the last one zero-padded. */
export function pcmFrame(pcm: Int16Array, index: number): Buffer {
  const frame = Buffer.alloc(FRAME_SAMPLES * 2);
  const chunk = pcm.subarray(index * FRAME_SAMPLES, (index + 1) * FRAME_SAMPLES);
  Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).copy(frame);
  return frame;
}

/** Frame durations in 48 kHz samples by TOC configuration (RFC 6716 §3.1, table 2): SILK, hybrid, CELT. */
const SILK_SAMPLES = [480, 960, 1920, 2880];
const HYBRID_SAMPLES = [480, 960];
const CELT_SAMPLES = [120, 240, 480, 960];

/**
 * Samples per channel an Opus packet decodes to at 48 kHz, read from its TOC byte and frame count
 * (RFC 6716 §3.1–3.2) without decoding it; null for a packet too short to say (or code 3 without
 * its count byte). A listener that keeps only packets (`hearing: 'packets'`) counts what it heard with it.
 */
export function opusPacketSamples(packet: Uint8Array): number | null {
  if (packet.length < 1) return null;
  const toc = packet[0]!;
  const config = toc >> 3;
  const perFrame = config < 12 ? SILK_SAMPLES[config % 4]! : config < 16 ? HYBRID_SAMPLES[config % 2]! : CELT_SAMPLES[config % 4]!;
  const code = toc & 3;
  if (code === 0) return perFrame;
  if (code !== 3) return 2 * perFrame;
  if (packet.length < 2) return null;
  return (packet[1]! & 0x3f) * perFrame;
}
