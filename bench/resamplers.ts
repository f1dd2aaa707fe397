/**
 * The two resampler candidates behind one interface, so the benchmark measures speed and quality
 * of both the same way: ours (src/audio/resampler.ts) and libsamplerate-js (WASM libsamplerate).
 */
import * as libsamplerateNamespace from '@alexanderolsen/libsamplerate-js';
import { designHalfBandOddTaps } from '../src/audio/halfBandFilter.ts';
import { availableResamplerKernels, Downsampler, Upsampler, type ResamplerKernel } from '../src/audio/resampler.ts';
import { compileKernels } from '../src/audio/wasm/build.ts';
import { generateKernelsWat, type KernelShape } from '../src/audio/wasm/generateKernels.ts';
import { loadWasmResamplerKernels } from '../src/audio/wasm/wasmKernel.ts';

/** A streaming 48 kHz stereo → 24 kHz mono and 24 kHz mono → 48 kHz stereo pair, int16 in and out. */
export interface ResamplerPair {
  down(stereo48k: Int16Array): Int16Array;
  up(mono24k: Int16Array): Int16Array;
}

/** A named way to build fresh {@link ResamplerPair}s. */
export interface ResamplerCandidate {
  name: string;
  create(): Promise<ResamplerPair>;
}

/** Ours on one kernel (a new output array per frame, as the bot's inbound path does). */
export function oursCandidate(kernel: ResamplerKernel): ResamplerCandidate {
  return {
    name: kernel === 'js' ? 'ours_halfband_js' : 'ours_halfband_wasm_simd',
    create: async () => {
      const down = new Downsampler({ kernel });
      const up = new Upsampler({ kernel });
      return { down: (frame) => down.process(frame), up: (frame) => up.process(frame) };
    },
  };
}

/** Ours on every kernel this runtime has, the default one first. */
export const oursCandidates: ResamplerCandidate[] = availableResamplerKernels.map(oursCandidate);

/** Ours on other half-band taps and another kernel shape (one shared kernel instance per candidate). */
async function wasmDesignCandidate(name: string, downTaps: Float64Array, upTaps: Float64Array, shape: KernelShape): Promise<ResamplerCandidate> {
  const bytes = await compileKernels(generateKernelsWat(downTaps.length, upTaps.length, shape));
  const kernels = loadWasmResamplerKernels(downTaps, upTaps, bytes);
  return {
    name,
    create: async () => {
      const down = kernels.downsampler();
      const up = kernels.upsampler();
      return { down: (frame) => down.process(frame, undefined), up: (frame) => up.process(frame, undefined) };
    },
  };
}

/**
 * The design before issue 19 (15 + 19 coefficient pairs, 10–14 kHz transition band), on the same
 * kernel generator and shape it shipped with (2 groups, taps unrolled, no fused multiply-add), so
 * the speed of the steeper filters is measured side by side with it in one process.
 */
export function previousDesignCandidate(): Promise<ResamplerCandidate> {
  return wasmDesignCandidate('previous_halfband_15_19_wasm_simd', designHalfBandOddTaps(15, 9.5), designHalfBandOddTaps(19, 10), { groups: 2, fma: false });
}

/**
 * The steep design as session 4 found it (Kaiser, 56 pairs, β = 7.3; taps unrolled, 2 groups, fused
 * multiply-adds): the "before" of the equiripple design and the loop kernels, same quality goals.
 */
export function kaiser56UnrolledCandidate(): Promise<ResamplerCandidate> {
  const taps = designHalfBandOddTaps(56, 7.3);
  return wasmDesignCandidate('before_kaiser_56_unrolled_wasm_simd', taps, taps, { groups: 2, fma: true });
}

// The package is CommonJS: under Node's ESM loader its functions sit on the default export.
type Libsamplerate = typeof import('@alexanderolsen/libsamplerate-js');
const libsamplerate: Libsamplerate =
  (libsamplerateNamespace as unknown as { default?: Libsamplerate }).default ?? libsamplerateNamespace;

/**
 * libsamplerate-js with the given converter. What the bot would have to do around it is included:
 * the stereo downmix, int16 ⇄ float32 conversion, and duplicating mono into stereo.
 */
export function libsamplerateCandidate(name: string, converterType: 0 | 1 | 2): ResamplerCandidate {
  return {
    name,
    create: async () => {
      const downSrc = await libsamplerate.create(1, 48_000, 24_000, { converterType });
      const upSrc = await libsamplerate.create(1, 24_000, 48_000, { converterType });
      let downIn = new Float32Array(0);
      let upIn = new Float32Array(0);
      let downOut = new Float32Array(0);
      let upOut = new Float32Array(0);
      const written = { frames: 0 };
      return {
        down(stereo48k) {
          const n = stereo48k.length / 2;
          if (downIn.length !== n) downIn = new Float32Array(n);
          if (downOut.length < n) downOut = new Float32Array(n); // room for the ~n/2 frames out
          for (let i = 0; i < n; i++) downIn[i] = (stereo48k[2 * i]! + stereo48k[2 * i + 1]!) / 65536;
          downSrc.full(downIn, downOut, written);
          const out = new Int16Array(written.frames);
          for (let i = 0; i < out.length; i++) out[i] = clip(downOut[i]! * 32768);
          return out;
        },
        up(mono24k) {
          const n = mono24k.length;
          if (upIn.length !== n) upIn = new Float32Array(n);
          if (upOut.length < 2 * n + 64) upOut = new Float32Array(2 * n + 64);
          for (let i = 0; i < n; i++) upIn[i] = mono24k[i]! / 32768;
          upSrc.full(upIn, upOut, written);
          const out = new Int16Array(written.frames * 2);
          for (let i = 0; i < written.frames; i++) out[2 * i] = out[2 * i + 1] = clip(upOut[i]! * 32768);
          return out;
        },
      };
    },
  };
}

function clip(x: number): number {
  const r = Math.round(x);
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}

export const libsamplerateFastest = libsamplerateCandidate('libsamplerate_sinc_fastest', 2);
export const libsamplerateMedium = libsamplerateCandidate('libsamplerate_sinc_medium', 1);
