/**
 * The ideal references the fidelity benchmark compares the bot with:
 * - an ideal resampler: the whole signal band-limited in the frequency domain (the limit of an
 *   arbitrarily long linear-phase filter: zero delay, flat to 11.8 kHz, nothing from 12 kHz).
 *   libsamplerate's SINC_BEST_QUALITY was the first choice, but it rolls off from ≈ 10.5 kHz
 *   (−0.4 dB at 11 kHz), which would have counted against the bot;
 * - an Opus-only path: the same Opus encoder as the sender, fed every frame in order, and a fresh
 *   decoder fed every packet in order — what a perfect network and a perfect receiver would deliver.
 */
import { DISCORD_FRAME_SAMPLES, OPUS_SILENCE_FRAME, REALTIME_FRAME_SAMPLES } from '../../src/audio/format.ts';
import { OpusFrameDecoder, OpusFrameEncoder } from '../../src/audio/opusCodec.ts';
import { createOpusCodec } from '../../sim/discord/opus.ts';
import { fft, nextPow2 } from '../../test/helpers/spectrum.ts';

/** Samples of delay Opus adds at 48 kHz (2.5 ms look-ahead + 4 ms delay compensation). */
export const OPUS_DELAY_48K = 312;

/** Gain of the ideal low-pass at `hz`: 1 to 11.8 kHz, a raised-cosine step to 0 at 12 kHz. */
function idealLowPass(hz: number): number {
  if (hz <= 11_800) return 1;
  if (hz >= 12_000) return 0;
  return 0.5 * (1 + Math.cos((Math.PI * (hz - 11_800)) / 200));
}

/** Resamples a whole mono float signal between 48 and 24 kHz (either way), ideally (see the module comment). */
export async function idealResample(signal: ArrayLike<number>, fromRate: number, toRate: number): Promise<Float64Array> {
  const up = toRate > fromRate;
  const highRate = Math.max(fromRate, toRate);
  const length = up ? 2 * signal.length : signal.length;
  const n = nextPow2(length + highRate); // a second of room: the filter's ringing never wraps around
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  if (up) for (let i = 0; i < signal.length; i++) re[2 * i] = 2 * signal[i]!; // zero-stuffed, level restored
  else for (let i = 0; i < signal.length; i++) re[i] = signal[i]!;
  fft(re, im);
  for (let k = 0; k < n; k++) {
    const gain = idealLowPass((Math.min(k, n - k) * highRate) / n);
    re[k] = re[k]! * gain;
    im[k] = im[k]! * gain;
  }
  fft(re, im, true);
  return up ? re.slice(0, length) : Float64Array.from({ length: Math.floor(length / 2) }, (_, i) => re[2 * i]!);
}

/** Mean of the two channels of interleaved stereo, as floats. */
export function downmix(stereo: ArrayLike<number>): Float64Array {
  const out = new Float64Array(Math.floor(stereo.length / 2));
  for (let i = 0; i < out.length; i++) out[i] = (stereo[2 * i]! + stereo[2 * i + 1]!) / 2;
  return out;
}

/** Left channel of interleaved stereo, as floats. */
export function left(stereo: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: Math.floor(stereo.length / 2) }, (_, i) => stereo[2 * i]!);
}

/** Cuts interleaved 48 kHz stereo into 20 ms frames, the last one zero-padded. */
function frames(stereo: Int16Array): Buffer[] {
  const size = DISCORD_FRAME_SAMPLES * 2;
  const out: Buffer[] = [];
  for (let offset = 0; offset < stereo.length; offset += size) {
    const frame = Buffer.alloc(size * 2);
    const chunk = stereo.subarray(offset, offset + size);
    Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).copy(frame);
    out.push(frame);
  }
  return out;
}

/**
 * What a member's speech sounds like after a perfect network, utterance by utterance: the member's
 * Opus encoder and the bot's decoder carry state from one burst to the next, so this reference
 * keeps one encoder and one decoder and must be given every utterance the member spoke, in order.
 * Each is encoded as the simulated member does (its codec, every frame in order; the five silence
 * frames that end a burst are canned, not encoded) and decoded in order with those silence frames.
 */
export class MemberOpusReference {
  readonly #encoder = createOpusCodec();
  readonly #decoder = createOpusCodec();

  /** The next utterance as decoded: 48 kHz stereo, delayed by {@link OPUS_DELAY_48K}, plus 100 ms of the silence frames. */
  next(stereo: Int16Array): Int16Array {
    const packets = [...frames(stereo).map((frame) => this.#encoder.encode(frame)), ...Array.from({ length: 5 }, () => Buffer.from(OPUS_SILENCE_FRAME))];
    const decoded = packets.map((packet) => this.#decoder.decode(packet));
    const out = new Int16Array(decoded.reduce((n, b) => n + b.length / 2, 0));
    let at = 0;
    for (const pcm of decoded) {
      out.set(new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength)), at);
      at += pcm.length / 2;
    }
    return out;
  }
}

/**
 * What a reply sounds like through a perfect bot: the reply's 24 kHz mono encoded as the bot
 * encodes it (a fresh encoder for 24 kHz mono input, 64 kb/s, 480-sample frames, one more frame of
 * silence so nothing stays in the encoder's look-ahead) and decoded in order by a fresh 48 kHz stereo
 * decoder, as a listener's client does. 48 kHz stereo (both channels equal), delayed by {@link OPUS_DELAY_48K}.
 * (The benchmark plays each reply in a fresh voice session, so the bot's encoder is fresh too.)
 * Until session 6 the bot upsampled to 48 kHz stereo first; the `_vs_ideal` rows compare across that.
 */
export async function replyOpusReference(mono24k: Int16Array): Promise<Int16Array> {
  const frame = REALTIME_FRAME_SAMPLES;
  const padded = new Int16Array((Math.ceil(mono24k.length / frame) + 1) * frame);
  padded.set(mono24k);
  const encoder = new OpusFrameEncoder({ bitrate: 64_000, format: 'realtime' });
  const decoder = new OpusFrameDecoder();
  try {
    const size = DISCORD_FRAME_SAMPLES * 2;
    const out = new Int16Array((padded.length / frame) * size);
    for (let f = 0; f < padded.length / frame; f++) out.set(decoder.decode(encoder.encode(padded.subarray(f * frame, (f + 1) * frame))), f * size);
    return out;
  } finally {
    encoder.destroy();
    decoder.destroy();
  }
}
