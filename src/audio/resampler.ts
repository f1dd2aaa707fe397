/**
 * Streaming 48 kHz ⇄ 24 kHz conversion between Discord's stereo and the realtime model's mono.
 *
 * Both directions are polyphase half-band FIRs (see `halfBandFilter.ts`); the filter state (the last
 * input samples) is carried across calls, so a stream cut into 20 ms frames gives exactly the same
 * samples as the same stream processed in one piece.
 *
 * - Downsampler: 15 coefficient pairs (59 taps), Kaiser β = 9.5: passband ripple ≤ 0.02 dB to 10 kHz,
 *   ≥ 95 dB attenuation from 15 kHz (everything that would alias into 0–9 kHz).
 * - Upsampler: 19 pairs (75 taps), β = 10: ripple ≤ 0.0002 dB to 10 kHz, ≥ 94 dB from 14 kHz, so the
 *   images of a 0–10 kHz signal (which land at 14–24 kHz) are ≥ 94 dB down.
 *
 * Why hand-written rather than libsamplerate-js: see the comparison below, with the figures.
 *
 * Two kernels compute the same filters, picked once at module load (see {@link resamplerKernel}):
 * - 'wasm-simd' (default): WebAssembly SIMD, `wasm/resamplerKernels.wat`, ≈ 2.3 µs per 20 ms frame
 *   each way. It wins by 4.5–5.5× because it does 4 outputs per instruction in float32 (f32x4; the
 *   JS kernel's float64 scalar code does 1), splits the decimator's input into even and odd
 *   positions while downmixing (one i32x4.extadd_pairwise per 4 L/R pairs) so each tap pair is two
 *   contiguous vector loads, keeps 4 independent add chains so the adds pipeline, and converts back
 *   with a saturating narrow (i16x8.narrow_i32x4_s) instead of a compare per sample. Outputs are
 *   within 1 LSB of the JS kernel (float32 vs float64 rounding; both pass every quality test).
 * - 'js': the reference and fallback for runtimes without wasm SIMD (or AUDIO_RESAMPLER_KERNEL=js).
 *   Unrolled by hand with the coefficients in locals: V8 does not unroll the inner tap loop, and
 *   keeping the coefficients in registers instead of reloading them from a typed array cut the cost
 *   per 20 ms frame from ≈ 19 µs to ≈ 11 µs on the 2-core development machine.
 *
 * @module
 */
import { designHalfBandOddTaps, toInt16 } from './halfBandFilter.ts';
import { newPcm16 } from './pcmPool.ts';
import { loadWasmResamplerKernels, type WasmResamplerKernels } from './wasm/wasmKernel.ts';

/*
 * Why this resampler and not libsamplerate-js (WASM libsamplerate), measured side by side by
 * `npm run bench` in one process (20 ms frames, median of 5 runs, this project's 2-core machine,
 * int16 in and out; for libsamplerate the downmix and int16 ⇄ float32 copies are included; ours
 * returning a new array per frame, as the bot uses it, and in brackets writing into `out`):
 *
 *   per 20 ms frame            down 48k st → 24k mono   up 24k mono → 48k st   meets quality bar
 *   ours, wasm-simd kernel       ≈ 2.1–3.5 (2.3) µs        ≈ 2.5–3.3 (2.3–2.6) µs       yes
 *   ours, js kernel              ≈ 10.6 (10.4) µs          ≈ 13–14.5 (12.5) µs          yes
 *   libsamplerate SINC_FASTEST       ≈ 80 µs                 ≈ 101 µs                no: −6.3 dB at 10 kHz
 *   libsamplerate SINC_MEDIUM        ≈ 171 µs                ≈ 200 µs                yes
 *
 * Ours is ≈ 60× (wasm-simd) or 13–16× (js) faster than the libsamplerate converter that passes the
 * same quality tests, is synchronous (libsamplerate-js must be created asynchronously), and has no
 * start-up latency jitter (libsamplerate's first call returns 461 samples, later ones 480). The
 * ≤ 10 µs goal per frame is met by the wasm-simd kernel with a wide margin; the JS kernel alone
 * misses it narrowly (its cost is the float64 multiply-adds themselves: 15 (down) and 19 (up) per
 * output sample, which the filter specs need). New output arrays come from a pool (`pcmPool.ts`):
 * a fresh 480-sample Int16Array per frame cost up to ≈ 2.6 µs in V8, a pooled one ≈ 0.15 µs.
 */

/** Anti-alias filter of the 2:1 decimator. */
export const DOWN_TAPS: Float64Array = designHalfBandOddTaps(15, 9.5);
/** Anti-image filter of the 1:2 interpolator. */
export const UP_TAPS: Float64Array = designHalfBandOddTaps(19, 10);

// The kernels below are unrolled for exactly these pair counts.
if (DOWN_TAPS.length !== 15 || UP_TAPS.length !== 19) throw new Error('resampler kernels out of step with their filter designs');

/** 48 kHz mono samples one decimated output depends on (4·15 − 1). */
const DOWN_WINDOW = 4 * DOWN_TAPS.length - 1;
/** 24 kHz samples one interpolated output pair depends on (2·19). */
const UP_WINDOW = 2 * UP_TAPS.length;


/** Grows a float work buffer, keeping its first `keep` samples. */
function ensureCapacity(buffer: Float64Array, needed: number, keep: number): Float64Array {
  if (buffer.length >= needed) return buffer;
  const grown = new Float64Array(Math.max(needed, buffer.length * 2));
  grown.set(buffer.subarray(0, keep));
  return grown;
}

/** The caller's buffer (or a view of its start) when given, else a new array of `length`. */
function destination(out: Int16Array | undefined, length: number): Int16Array {
  if (out === undefined) return newPcm16(length);
  if (out.length < length) throw new RangeError(`output buffer too small: ${out.length} < ${length}`);
  return out.length === length ? out : out.subarray(0, length);
}

/** The JavaScript decimator (fallback and reference for the WebAssembly one): one stream's state. */
class JsDownsamplerState {
  /** L+R sums at 48 kHz not yet consumed; the first DOWN_WINDOW − 1 are history. */
  #work: Float64Array = new Float64Array(DOWN_WINDOW - 1 + 960);
  #held = DOWN_WINDOW - 1;

  process(stereo48k: Int16Array, out: Int16Array | undefined): Int16Array {
    this.#work = ensureCapacity(this.#work, this.#held + stereo48k.length / 2, this.#held);
    const w = this.#work;
    let held = this.#held;
    // Store L+R: the 1/2 of the downmix average is applied once per output, not per input.
    for (let i = 0; i < stereo48k.length; i += 2) w[held++] = stereo48k[i]! + stereo48k[i + 1]!;

    // Coefficients in locals (registers), not module constants (context loads with TDZ checks).
    const d0 = DOWN_TAPS[0]!;
    const d1 = DOWN_TAPS[1]!;
    const d2 = DOWN_TAPS[2]!;
    const d3 = DOWN_TAPS[3]!;
    const d4 = DOWN_TAPS[4]!;
    const d5 = DOWN_TAPS[5]!;
    const d6 = DOWN_TAPS[6]!;
    const d7 = DOWN_TAPS[7]!;
    const d8 = DOWN_TAPS[8]!;
    const d9 = DOWN_TAPS[9]!;
    const d10 = DOWN_TAPS[10]!;
    const d11 = DOWN_TAPS[11]!;
    const d12 = DOWN_TAPS[12]!;
    const d13 = DOWN_TAPS[13]!;
    const d14 = DOWN_TAPS[14]!;
    const outCount = held >= DOWN_WINDOW ? ((held - DOWN_WINDOW) >> 1) + 1 : 0;
    const result = destination(out, outCount);
    for (let k = 0, c = (DOWN_WINDOW - 1) / 2; k < outCount; k++, c += 2) {
      const sum =
        0.5 * w[c]! +
        d0 * (w[c - 1]! + w[c + 1]!) +
        d1 * (w[c - 3]! + w[c + 3]!) +
        d2 * (w[c - 5]! + w[c + 5]!) +
        d3 * (w[c - 7]! + w[c + 7]!) +
        d4 * (w[c - 9]! + w[c + 9]!) +
        d5 * (w[c - 11]! + w[c + 11]!) +
        d6 * (w[c - 13]! + w[c + 13]!) +
        d7 * (w[c - 15]! + w[c + 15]!) +
        d8 * (w[c - 17]! + w[c + 17]!) +
        d9 * (w[c - 19]! + w[c + 19]!) +
        d10 * (w[c - 21]! + w[c + 21]!) +
        d11 * (w[c - 23]! + w[c + 23]!) +
        d12 * (w[c - 25]! + w[c + 25]!) +
        d13 * (w[c - 27]! + w[c + 27]!) +
        d14 * (w[c - 29]! + w[c + 29]!);
      result[k] = toInt16(0.5 * sum);
    }
    // Keep everything from the next output's window start: history plus any odd leftover sample.
    const consumed = outCount * 2;
    w.copyWithin(0, consumed, held);
    this.#held = held - consumed;
    return result;
  }

  reset(): void {
    this.#work.fill(0, 0, DOWN_WINDOW - 1);
    this.#held = DOWN_WINDOW - 1;
  }
}

/** The JavaScript interpolator (fallback and reference for the WebAssembly one): one stream's state. */
class JsUpsamplerState {
  /** Mono 24 kHz samples not yet consumed; the first UP_WINDOW − 1 are history. */
  #work: Float64Array = new Float64Array(UP_WINDOW - 1 + 480);
  #held = UP_WINDOW - 1;

  process(mono24k: Int16Array, out: Int16Array | undefined): Int16Array {
    const n = mono24k.length;
    this.#work = ensureCapacity(this.#work, this.#held + n, this.#held);
    const w = this.#work;
    const history = this.#held;
    for (let i = 0; i < n; i++) w[history + i] = mono24k[i]!;
    const held = history + n;

    const outPairs = held - (UP_WINDOW - 1);
    const u0 = UP_TAPS[0]!;
    const u1 = UP_TAPS[1]!;
    const u2 = UP_TAPS[2]!;
    const u3 = UP_TAPS[3]!;
    const u4 = UP_TAPS[4]!;
    const u5 = UP_TAPS[5]!;
    const u6 = UP_TAPS[6]!;
    const u7 = UP_TAPS[7]!;
    const u8 = UP_TAPS[8]!;
    const u9 = UP_TAPS[9]!;
    const u10 = UP_TAPS[10]!;
    const u11 = UP_TAPS[11]!;
    const u12 = UP_TAPS[12]!;
    const u13 = UP_TAPS[13]!;
    const u14 = UP_TAPS[14]!;
    const u15 = UP_TAPS[15]!;
    const u16 = UP_TAPS[16]!;
    const u17 = UP_TAPS[17]!;
    const u18 = UP_TAPS[18]!;

    const result = destination(out, outPairs * 4);
    for (let p = 0, o = 0, m = UP_WINDOW / 2 - 1; p < outPairs; p++, o += 4, m++) {
      const direct = w[m]!; // the centre tap: an input sample, already an in-range integer
      const between = toInt16(
        // ×2: zero-stuffing halves the level, the interpolator restores it.
        2 * (
        u0 * (w[m - 0]! + w[m + 1]!) +
        u1 * (w[m - 1]! + w[m + 2]!) +
        u2 * (w[m - 2]! + w[m + 3]!) +
        u3 * (w[m - 3]! + w[m + 4]!) +
        u4 * (w[m - 4]! + w[m + 5]!) +
        u5 * (w[m - 5]! + w[m + 6]!) +
        u6 * (w[m - 6]! + w[m + 7]!) +
        u7 * (w[m - 7]! + w[m + 8]!) +
        u8 * (w[m - 8]! + w[m + 9]!) +
        u9 * (w[m - 9]! + w[m + 10]!) +
        u10 * (w[m - 10]! + w[m + 11]!) +
        u11 * (w[m - 11]! + w[m + 12]!) +
        u12 * (w[m - 12]! + w[m + 13]!) +
        u13 * (w[m - 13]! + w[m + 14]!) +
        u14 * (w[m - 14]! + w[m + 15]!) +
        u15 * (w[m - 15]! + w[m + 16]!) +
        u16 * (w[m - 16]! + w[m + 17]!) +
        u17 * (w[m - 17]! + w[m + 18]!) +
        u18 * (w[m - 18]! + w[m + 19]!)),
      );
      result[o] = direct;
      result[o + 1] = direct;
      result[o + 2] = between;
      result[o + 3] = between;
    }
    w.copyWithin(0, outPairs, held);
    this.#held = held - outPairs;
    return result;
  }

  reset(): void {
    this.#work.fill(0, 0, UP_WINDOW - 1);
    this.#held = UP_WINDOW - 1;
  }
}


/** Which implementation of the filter arithmetic a resampler uses. */
export type ResamplerKernel = 'wasm-simd' | 'js';

/** Options for {@link Downsampler} and {@link Upsampler}. */
export interface ResamplerOptions {
  /** The kernel (default {@link resamplerKernel}); 'wasm-simd' throws when it is unavailable. */
  kernel?: ResamplerKernel;
}

interface StreamState {
  process(input: Int16Array, out: Int16Array | undefined): Int16Array;
  reset(): void;
}

/**
 * The one place the kernel is picked, at module load: WebAssembly SIMD when the runtime has it,
 * unless AUDIO_RESAMPLER_KERNEL=js asks for the JavaScript kernels.
 */
const wasmKernels: WasmResamplerKernels | undefined = (() => {
  if (process.env.AUDIO_RESAMPLER_KERNEL === 'js') return undefined;
  try {
    return loadWasmResamplerKernels(DOWN_TAPS, UP_TAPS);
  } catch {
    return undefined; // no WebAssembly SIMD here: the JavaScript kernels are complete on their own
  }
})();

/** The kernel new resamplers use by default: 'wasm-simd' where available, else 'js'. */
export const resamplerKernel: ResamplerKernel = wasmKernels ? 'wasm-simd' : 'js';

/** Kernels this process can use (tests and benchmarks run every one). */
export const availableResamplerKernels: readonly ResamplerKernel[] = wasmKernels ? ['wasm-simd', 'js'] : ['js'];

function kernelFor(options: ResamplerOptions): ResamplerKernel {
  const kernel = options.kernel ?? resamplerKernel;
  if (kernel === 'wasm-simd' && !wasmKernels) throw new Error('the WebAssembly SIMD resampler kernel is not available in this runtime');
  return kernel;
}

/**
 * Discord → model: interleaved 48 kHz stereo to 24 kHz mono. Downmixes by averaging L and R, then
 * low-passes (anti-alias) and keeps every other sample. One instance per speaker: it carries state.
 */
export class Downsampler {
  readonly #state: StreamState;
  /** The kernel this instance runs on. */
  readonly kernel: ResamplerKernel;

  constructor(options: ResamplerOptions = {}) {
    this.kernel = kernelFor(options);
    this.#state = this.kernel === 'wasm-simd' ? wasmKernels!.downsampler() : new JsDownsamplerState();
  }

  /**
   * Converts the next piece of the stream. `stereo48k` is interleaved L/R with an even length (a
   * 20 ms Discord frame is 1920 samples). Returns one mono sample per two stereo sample pairs
   * (480 for a 20 ms frame); an odd pair count is fine, the phase carries over to the next call.
   * Throws RangeError for an odd length (not interleaved stereo).
   *
   * Pass `out` (at least as long as the result) to write into it instead of allocating. The result
   * is then `out` or a view of its start.
   */
  process(stereo48k: Int16Array, out?: Int16Array): Int16Array {
    if (stereo48k.length % 2 !== 0) throw new RangeError('Downsampler.process: interleaved stereo needs an even length');
    return this.#state.process(stereo48k, out);
  }

  /** Forgets the filter history (silence before the next input), e.g. when a speaker restarts. */
  reset(): void {
    this.#state.reset();
  }
}

/**
 * Model → Discord: 24 kHz mono to interleaved 48 kHz stereo (both channels equal). Doubles the
 * rate by half-band interpolation: every even output sample is an input sample (the centre tap),
 * every odd one is filtered, so images of the 0–12 kHz band above 12 kHz are suppressed.
 */
export class Upsampler {
  readonly #state: StreamState;
  /** The kernel this instance runs on. */
  readonly kernel: ResamplerKernel;

  constructor(options: ResamplerOptions = {}) {
    this.kernel = kernelFor(options);
    this.#state = this.kernel === 'wasm-simd' ? wasmKernels!.upsampler() : new JsUpsamplerState();
  }

  /**
   * Converts the next piece of the stream: n mono samples in, 4·n interleaved samples (2·n per
   * channel) out. `out`: optional destination, as for {@link Downsampler.process}.
   */
  process(mono24k: Int16Array, out?: Int16Array): Int16Array {
    return this.#state.process(mono24k, out);
  }

  /** Forgets the filter history (silence before the next input), e.g. between response items. */
  reset(): void {
    this.#state.reset();
  }
}
