/**
 * The Opus implementation: the native `@discordjs/opus` binding when it loads, `opusscript` (WASM,
 * slower) when it does not, saying so once. The codec classes ({@link ./opusCodec.ts}) use it.
 *
 * What each backend offers for lost packets (both wrap libopus 1.x; checked in their sources in
 * node_modules, @discordjs/opus 0.10.0 `src/node-opus.cc` and opusscript 0.0.8's handler):
 * - Packet-loss concealment: yes, both, through the packet data: both pass the buffer straight to
 *   `opus_decode`, and an Opus packet of only its TOC byte makes libopus conceal exactly one frame
 *   of the TOC's duration (`opus_decode_frame` with len ≤ 1). (An empty buffer also conceals, but
 *   for `frame_size` = the binding's whole output buffer: 120 ms native, 60 ms opusscript.)
 * - In-band FEC (LBRR): no, neither: both call `opus_decode(..., decode_fec = 0)` with no way to
 *   ask for 1, and no decoder CTL turns it on. {@link OpusFrameDecoder.conceal} takes the next packet
 *   anyway, for a backend that can (`decodeFec`), and falls back to concealment without it.
 *
 * @module
 */
import { createRequire } from 'node:module';
import { DISCORD_CHANNELS, DISCORD_SAMPLE_RATE } from './format.ts';
import type { Logger } from '../log.ts';

const require = createRequire(import.meta.url);

/** Which Opus implementation is in use. */
export type OpusBackendName = 'native' | 'opusscript';

/** The little the codec classes need from either implementation: one object encodes and decodes. */
export interface OpusHandle {
  encode(pcm: Buffer): Buffer;
  decode(packet: Buffer): Buffer;
  /** Decodes the frame before `packet` from its in-band FEC data; absent when the backend cannot. */
  decodeFec?(packet: Buffer): Buffer;
  setBitrate(bitsPerSecond: number): void;
  destroy(): void;
}

/** A loaded Opus implementation. */
export interface OpusBackend {
  readonly name: OpusBackendName;
  /** A new encoder/decoder state for PCM at `rate` with `channels` (default 48 kHz stereo). */
  create(rate?: number, channels?: number): OpusHandle;
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
    create: (rate = DISCORD_SAMPLE_RATE, channels = DISCORD_CHANNELS) => {
      const codec = new OpusEncoder(rate, channels);
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
    create: (rate = DISCORD_SAMPLE_RATE, channels = DISCORD_CHANNELS) => {
      const codec = new OpusScript(rate as 48_000, channels, OpusScript.Application.AUDIO);
      return {
        // opusscript hands back views of its WASM heap, which the next call overwrites: copy.
        encode: (pcm) => Buffer.from(codec.encode(pcm, rate / 50)),
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

