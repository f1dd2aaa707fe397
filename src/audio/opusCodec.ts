/**
 * Opus for Discord voice, 20 ms frames. Uses the native `@discordjs/opus` binding when it loads and
 * falls back to `opusscript` (WASM, slower) when it does not, saying so once.
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
import { DISCORD_CHANNELS, DISCORD_FRAME_SAMPLES, DISCORD_SAMPLE_RATE, REALTIME_CHANNELS, REALTIME_FRAME_SAMPLES, REALTIME_SAMPLE_RATE } from './format.ts';
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

/**
 * The PCM a codec object takes or gives: Discord's 48 kHz interleaved stereo (1920 samples per
 * 20 ms), or the realtime model's 24 kHz mono (480). libopus decodes straight to 24 kHz mono: it
 * leaves out the bands above 12 kHz in the codec's own domain and downmixes, which measured better
 * than decoding at 48 kHz and resampling (a 12.5 kHz tone aliases at −75 dB, 13 kHz at −83 dB, flat
 * to 11.5 kHz: `npm run bench -- fidelity`), for the same decoding cost.
 */
export type PcmFormat = 'discord' | 'realtime';

const FORMATS: Record<PcmFormat, { rate: number; channels: number; samples: number }> = {
  discord: { rate: DISCORD_SAMPLE_RATE, channels: DISCORD_CHANNELS, samples: DISCORD_FRAME_SAMPLES * DISCORD_CHANNELS },
  realtime: { rate: REALTIME_SAMPLE_RATE, channels: REALTIME_CHANNELS, samples: REALTIME_FRAME_SAMPLES * REALTIME_CHANNELS },
};

/** Options for {@link loadOpusBackend}. */
export interface LoadOpusOptions {
  /** Behave as if the native module could not load (tests, or to rule the binding out). */
  forceFallback?: boolean;
  /** Where the one fallback warning goes (default: nowhere). */
  logger?: Logger;
}

/**
 * Samples at 48 kHz by which a decoded packet lags the audio encoded into it: the encoder's
 * look-ahead (2.5 ms) plus its delay compensation (4 ms), as OPUS_GET_LOOKAHEAD reports for a 48 kHz
 * encoder in the AUDIO application (neither binding exposes that getter). The last 6.5 ms of what
 * was encoded only come out with the next packet.
 */
export const OPUS_ENCODER_DELAY_48K = 312;

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

/** Options shared by the codec classes. */
export interface CodecOptions {
  /** Implementation to use; default {@link loadOpusBackend}(). */
  backend?: OpusBackend;
}

/** Options of {@link OpusFrameDecoder}. */
export interface OpusDecoderOptions extends CodecOptions {
  /** The PCM it returns (default 'discord': 48 kHz stereo). */
  format?: PcmFormat;
}

/** Samples per channel at 48 kHz in an Opus packet (RFC 6716 §3.1), or −1 when it is malformed. */
export function opusPacketSamples48k(packet: Buffer): number {
  if (packet.length === 0) return -1;
  const config = packet[0]! >> 3;
  const perFrame = config < 12 ? [480, 960, 1920, 2880][config & 3]! : config < 16 ? [480, 960][config & 1]! : [120, 240, 480, 960][config & 3]!;
  const code = packet[0]! & 3;
  if (code === 0) return perFrame;
  if (code !== 3) return 2 * perFrame;
  return packet.length < 2 ? -1 : (packet[1]! & 0x3f) * perFrame;
}

/** The TOC byte of a one-frame, 20 ms packet of the same mode, bandwidth and channels as `toc`. */
function twentyMsToc(toc: number): number {
  const config = toc >> 3;
  const twenty = config < 12 ? (config & ~3) | 1 : config < 16 ? (config & ~1) | 1 : config | 3;
  return (twenty << 3) | (toc & 0x04); // code 0: one frame
}

/**
 * Decodes one speaker's Opus packets in order (Opus is stateful: one decoder per speaker, fed the
 * stream in order). Every call returns exactly one 20 ms frame in the decoder's {@link PcmFormat}:
 * a lost packet is concealed with {@link OpusFrameDecoder.conceal}; a packet that is empty, corrupt
 * or not 20 ms long is concealed the same way (counted in `badPackets`), never an exception.
 */
export class OpusFrameDecoder {
  readonly backend: OpusBackendName;
  readonly format: PcmFormat;
  /** Whether {@link conceal} can recover a lost frame from the next packet's in-band FEC (no backend we ship can). */
  readonly canUseFec: boolean;
  readonly #codec: OpusHandle;
  readonly #samples: number;
  /** TOC of the last packet decoded, for the concealment packet; none before the first. */
  #lastToc: number | undefined;
  #badPackets = 0;
  #concealed = 0;
  #destroyed = false;

  constructor(options: OpusDecoderOptions = {}) {
    const backend = options.backend ?? loadOpusBackend();
    this.backend = backend.name;
    this.format = options.format ?? 'discord';
    const { rate, channels, samples } = FORMATS[this.format];
    this.#samples = samples;
    this.#codec = backend.create(rate, channels);
    this.canUseFec = this.#codec.decodeFec !== undefined;
  }

  /** Packets that could not be decoded (empty, corrupt or of another duration) and were concealed. */
  get badPackets(): number {
    return this.#badPackets;
  }

  /** Frames produced by concealment (lost packets and bad ones). */
  get concealedFrames(): number {
    return this.#concealed;
  }

  /** Decodes the next packet of the stream (a new array each call). */
  decode(packet: Buffer): Int16Array {
    // Only exact 20 ms packets: another duration would shift the timeline (and the decoder's state
    // would move by it), so such a packet is treated as lost, before it touches the decoder.
    if (opusPacketSamples48k(packet) !== DISCORD_FRAME_SAMPLES) return this.#bad();
    const pcm = this.#run(() => this.#codec.decode(packet));
    if (!pcm) return this.#bad();
    this.#lastToc = packet[0]!;
    return pcm;
  }

  /**
   * The next frame of the stream when its packet is lost: recovered from the in-band FEC of `next`
   * (the packet after it) when given and the backend can, otherwise libopus packet-loss
   * concealment (which continues the signal and fades it over consecutive losses). Before any packet
   * was decoded there is nothing to continue: silence.
   */
  conceal(next?: Buffer): Int16Array {
    this.#concealed++;
    if (this.#lastToc === undefined) return new Int16Array(this.#samples);
    if (next !== undefined && this.#codec.decodeFec && opusPacketSamples48k(next) === DISCORD_FRAME_SAMPLES) {
      const recovered = this.#run(() => this.#codec.decodeFec!(next));
      if (recovered) return recovered;
    }
    return this.#run(() => this.#codec.decode(Buffer.from([twentyMsToc(this.#lastToc!)]))) ?? new Int16Array(this.#samples);
  }

  /** Frees the decoder's memory (needed for opusscript's WebAssembly heap; harmless otherwise). Idempotent; the decoder is unusable after. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#codec.destroy();
  }

  /** Whether {@link destroy} was called. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** One libopus call, as an Int16Array of exactly one frame, or null when it threw or gave another length. */
  #run(call: () => Buffer): Int16Array | null {
    if (this.#destroyed) throw new Error('OpusFrameDecoder used after destroy()');
    let pcm: Buffer;
    try {
      pcm = call();
    } catch {
      return null;
    }
    if (pcm.length !== this.#samples * 2) return null;
    // Both backends hand back a Buffer of their own (opusscript's is already a copy), so viewing it
    // is safe and saves a copy plus an allocation per frame (about 1 µs in the bench). PCM16 is
    // little-endian, as is every platform Node runs on.
    if (pcm.byteOffset % 2 === 0) return new Int16Array(pcm.buffer, pcm.byteOffset, this.#samples);
    const frame = new Int16Array(this.#samples);
    new Uint8Array(frame.buffer).set(pcm);
    return frame;
  }

  #bad(): Int16Array {
    this.#badPackets++;
    return this.conceal();
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

  #destroyed = false;

  /** Frees the encoder's memory (needed for opusscript; harmless otherwise). Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#codec.destroy();
  }
}
