/**
 * Opus for Discord voice, 20 ms frames: one speaker's decoder (in order, with concealment of lost
 * and bad packets) and the playback encoder, on the implementation {@link loadOpusBackend} loaded
 * (see opusBackend.ts for what each one offers for lost packets).
 *
 * @module
 */
import { DISCORD_CHANNELS, DISCORD_FRAME_SAMPLES, DISCORD_SAMPLE_RATE, REALTIME_CHANNELS, REALTIME_FRAME_SAMPLES, REALTIME_SAMPLE_RATE } from './format.ts';
import { loadOpusBackend, type OpusBackend, type OpusBackendName, type OpusHandle } from './opusBackend.ts';

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

/**
 * Samples at 48 kHz by which a decoded packet lags the audio encoded into it: the encoder's
 * look-ahead (2.5 ms) plus its delay compensation (4 ms), as OPUS_GET_LOOKAHEAD reports for a 48 kHz
 * encoder in the AUDIO application (neither binding exposes that getter). The last 6.5 ms of what
 * was encoded only come out with the next packet.
 */
export const OPUS_ENCODER_DELAY_48K = 312;

/**
 * The same delay for an encoder fed 24 kHz (the bot's playback encoder): Fs/400 + Fs/250 = 60 + 96
 * samples, 6.5 ms as at 48 kHz (libopus `opus_encoder_ctl`, OPUS_GET_LOOKAHEAD, AUDIO application).
 */
export const OPUS_ENCODER_DELAY_24K = 156;

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
  #fecRecovered = 0;
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

  /** Frames {@link conceal} recovered from the next packet's in-band FEC (part of {@link concealedFrames}). */
  get fecRecoveredFrames(): number {
    return this.#fecRecovered;
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
      if (recovered) {
        this.#fecRecovered++;
        return recovered;
      }
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
  /**
   * The PCM it takes (default 'discord': 48 kHz interleaved stereo, 1920 samples a frame, as a
   * member's client encodes; 'realtime': the model's 24 kHz mono, 480, which is what the bot plays).
   */
  format?: PcmFormat;
}

/**
 * Encodes 20 ms frames. The bot plays the model's 24 kHz mono as it comes (format 'realtime'): the
 * packets are mono (TOC stereo flag 0), decoded at 48 kHz by any receiver; a 20 ms frame costs
 * about 94 µs against 166 µs for 48 kHz stereo (`opus_encode_*` rows of `npm run bench -- audio`).
 */
export class OpusFrameEncoder {
  readonly backend: OpusBackendName;
  readonly format: PcmFormat;
  readonly #samples: number;
  #codec: OpusHandle;

  constructor(options: OpusEncoderOptions = {}) {
    const backend = options.backend ?? loadOpusBackend();
    this.backend = backend.name;
    this.format = options.format ?? 'discord';
    const { rate, channels, samples } = FORMATS[this.format];
    this.#samples = samples;
    this.#codec = backend.create(rate, channels);
    this.#codec.setBitrate(options.bitrate ?? 64_000);
  }

  /** Encodes exactly one frame of the encoder's format (480 or 1920 samples); throws RangeError for any other length (a caller bug). */
  encode(pcm: Int16Array): Buffer {
    if (pcm.length !== this.#samples) {
      throw new RangeError(`OpusFrameEncoder.encode needs ${this.#samples} samples (${this.format}), got ${pcm.length}`);
    }
    return this.#codec.encode(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  }

  #destroyed = false;

  /** Frees the encoder's memory (needed for opusscript; harmless otherwise). Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#codec.destroy();
  }
}
