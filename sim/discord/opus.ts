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
