/**
 * Opus for Discord voice: 48 kHz stereo, 20 ms frames. Uses the native `@discordjs/opus` binding
 * when it loads and falls back to `opusscript` (WASM, slower) when it does not, saying so once.
 *
 * @module
 */
import { createRequire } from 'node:module';
import { DISCORD_CHANNELS, DISCORD_FRAME_BYTES, DISCORD_FRAME_SAMPLES, DISCORD_SAMPLE_RATE } from './format.ts';
import type { Logger } from '../log.ts';

const require = createRequire(import.meta.url);

/** Which Opus implementation is in use. */
export type OpusBackendName = 'native' | 'opusscript';

/** The little the codec classes need from either implementation: one object encodes and decodes. */
interface OpusHandle {
  encode(pcm: Buffer): Buffer;
  decode(packet: Buffer): Buffer;
  setBitrate(bitsPerSecond: number): void;
  destroy(): void;
}

/** A loaded Opus implementation. */
export interface OpusBackend {
  readonly name: OpusBackendName;
  /** A new encoder/decoder state for 48 kHz stereo. */
  create(): OpusHandle;
}

/** Options for {@link loadOpusBackend}. */
export interface LoadOpusOptions {
  /** Behave as if the native module could not load (tests, or to rule the binding out). */
  forceFallback?: boolean;
  /** Where the one fallback warning goes (default: nowhere). */
  logger?: Logger;
}

const OPUS_SET_BITRATE_REQUEST = 4002; // opus_defines.h, for opusscript which has no setBitrate

function loadNative(): OpusBackend {
  const { OpusEncoder } = require('@discordjs/opus') as typeof import('@discordjs/opus');
  return {
    name: 'native',
    create: () => {
      const codec = new OpusEncoder(DISCORD_SAMPLE_RATE, DISCORD_CHANNELS);
      return {
        encode: (pcm) => codec.encode(pcm),
        decode: (packet) => codec.decode(packet),
        setBitrate: (bps) => codec.setBitrate(bps),
        destroy: () => {}, // freed by the garbage collector
      };
    },
  };
}

function loadOpusscript(): OpusBackend {
  const OpusScript = require('opusscript') as typeof import('opusscript');
  return {
    name: 'opusscript',
    create: () => {
      const codec = new OpusScript(DISCORD_SAMPLE_RATE, DISCORD_CHANNELS, OpusScript.Application.AUDIO);
      return {
        // opusscript hands back views of its WASM heap, which the next call overwrites: copy.
        encode: (pcm) => Buffer.from(codec.encode(pcm, DISCORD_FRAME_SAMPLES)),
        decode: (packet) => Buffer.from(codec.decode(packet)),
        setBitrate: (bps) => codec.encoderCTL(OPUS_SET_BITRATE_REQUEST, bps),
        destroy: () => codec.delete(), // WASM memory is not garbage-collected
      };
    },
  };
}

const cache: { normal?: OpusBackend; forced?: OpusBackend } = {};

/**
 * Loads the Opus implementation once per process (cached): the native binding if it loads,
 * otherwise opusscript, with exactly one warning log line naming the reason. `forceFallback`
 * takes the fallback path (with its warning) without trying the native module; it is cached apart.
 */
export function loadOpusBackend(options: LoadOpusOptions = {}): OpusBackend {
  const key = options.forceFallback ? 'forced' : 'normal';
  const cached = cache[key];
  if (cached) return cached;
  const logger = options.logger;
  let backend: OpusBackend;
  if (options.forceFallback) {
    logger?.warn({ reason: 'forced' }, 'native Opus (@discordjs/opus) not used; falling back to opusscript (slower)');
    backend = loadOpusscript();
  } else {
    try {
      backend = loadNative();
      backend.create(); // a binding built for another ABI can load yet fail on first use
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      logger?.warn({ reason }, 'native Opus (@discordjs/opus) not available; falling back to opusscript (slower)');
      backend = loadOpusscript();
    }
  }
  cache[key] = backend;
  return backend;
}

/** The name of the Opus implementation the codec classes use. */
export function opusBackendName(): OpusBackendName {
  return loadOpusBackend().name;
}

/** Options shared by the codec classes. */
interface CodecOptions {
  /** Implementation to use; default {@link loadOpusBackend}(). */
  backend?: OpusBackend;
}

/**
 * Decodes one speaker's Opus packets (Opus is stateful: one decoder per speaker). Every call
 * returns exactly one 20 ms frame; a packet that is empty, corrupt, or not 20 ms long yields
 * silence for that frame and is counted in {@link OpusFrameDecoder.badPackets}, never an exception.
 */
export class OpusFrameDecoder {
  readonly backend: OpusBackendName;
  #codec: OpusHandle;
  #badPackets = 0;

  constructor(options: CodecOptions = {}) {
    const backend = options.backend ?? loadOpusBackend();
    this.backend = backend.name;
    this.#codec = backend.create();
  }

  /** Packets that decoded to silence because they were empty, corrupt or of another duration. */
  get badPackets(): number {
    return this.#badPackets;
  }

  /** Decodes a packet to 1920 interleaved stereo samples at 48 kHz (a new array each call). */
  decode(packet: Buffer): Int16Array {
    if (packet.length === 0) return this.#silence();
    let pcm: Buffer;
    try {
      pcm = this.#codec.decode(packet);
    } catch {
      return this.#silence();
    }
    // An empty buffer makes libopus conceal a loss of up to 120 ms, and a valid packet of another
    // duration would shift the timeline: only an exact 20 ms frame is accepted.
    if (pcm.length !== DISCORD_FRAME_BYTES) return this.#silence();
    // Both backends hand back a Buffer of their own (opusscript's is already a copy), so viewing it
    // is safe and saves a copy plus an allocation per frame (about 1 µs in the bench). PCM16 is
    // little-endian, as is every platform Node runs on.
    if (pcm.byteOffset % 2 === 0) return new Int16Array(pcm.buffer, pcm.byteOffset, DISCORD_FRAME_SAMPLES * DISCORD_CHANNELS);
    const frame = new Int16Array(DISCORD_FRAME_SAMPLES * DISCORD_CHANNELS);
    new Uint8Array(frame.buffer).set(pcm);
    return frame;
  }

  #silence(): Int16Array {
    this.#badPackets++;
    return new Int16Array(DISCORD_FRAME_SAMPLES * DISCORD_CHANNELS);
  }

  /** Frees the decoder's memory (needed for opusscript; harmless otherwise). The decoder is unusable after. */
  destroy(): void {
    this.#codec.destroy();
  }
}

/** Options for {@link OpusFrameEncoder}. */
export interface OpusEncoderOptions extends CodecOptions {
  /** Target bitrate in bits per second (default 64000, Discord's default for voice channels). */
  bitrate?: number;
}

/** Encodes 20 ms 48 kHz stereo frames for playback. */
export class OpusFrameEncoder {
  readonly backend: OpusBackendName;
  #codec: OpusHandle;

  constructor(options: OpusEncoderOptions = {}) {
    const backend = options.backend ?? loadOpusBackend();
    this.backend = backend.name;
    this.#codec = backend.create();
    this.#codec.setBitrate(options.bitrate ?? 64_000);
  }

  /** Encodes exactly 1920 interleaved samples; throws RangeError for any other length (a caller bug). */
  encode(pcm48kStereo: Int16Array): Buffer {
    if (pcm48kStereo.length !== DISCORD_FRAME_SAMPLES * DISCORD_CHANNELS) {
      throw new RangeError(`OpusFrameEncoder.encode needs ${DISCORD_FRAME_SAMPLES * DISCORD_CHANNELS} samples, got ${pcm48kStereo.length}`);
    }
    return this.#codec.encode(Buffer.from(pcm48kStereo.buffer, pcm48kStereo.byteOffset, pcm48kStereo.byteLength));
  }

  /** Frees the encoder's memory (needed for opusscript; harmless otherwise). */
  destroy(): void {
    this.#codec.destroy();
  }
}
