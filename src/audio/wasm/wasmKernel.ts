/**
 * Loads the WebAssembly SIMD resampler kernels (`resamplerKernels.wat`, committed as bytes in
 * `resamplerKernels.wasm.ts`) and wraps them as per-stream states for `../resampler.ts`.
 *
 * One module instance (one fixed 64 KiB memory) is shared by every stream of the process. Each
 * stream keeps its own filter history in a small Float32Array; the history is copied into the
 * instance's memory when a different stream than the last one calls the kernel, and the previous
 * stream's history is copied out at that moment (so a single speaker, the common case, never copies).
 * JavaScript is single-threaded and the kernels are synchronous, so the sharing needs no locking.
 * Sharing matters: every wasm memory reserves gigabytes of address space for its guard region in
 * V8, so one memory per speaker would not scale to many guilds.
 *
 * @module
 */
import { newPcm16 } from '../pcmPool.ts';
import { RESAMPLER_KERNELS_WASM_BASE64 } from './resamplerKernels.wasm.ts';


// The project compiles against ES2023 + Node types, which do not declare the WebAssembly global
// (TypeScript's lib.dom does); the little used here, typed locally.
interface WasmGlobal {
  value: unknown;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: object };
}

interface KernelExports {
  memory: { buffer: ArrayBuffer };
  down(held: number, pairs: number): number;
  up(n: number): void;
  DOWN_PAIRS: WasmGlobal;
  UP_PAIRS: WasmGlobal;
  DOWN_COEFFS: WasmGlobal;
  UP_COEFFS: WasmGlobal;
  DOWN_IN: WasmGlobal;
  DOWN_EVEN: WasmGlobal;
  DOWN_ODD: WasmGlobal;
  DOWN_OUT: WasmGlobal;
  UP_IN: WasmGlobal;
  UP_WORK: WasmGlobal;
  UP_OUT: WasmGlobal;
  CHUNK: WasmGlobal;
}

/** The instantiated kernels and typed views of their memory. */
class SharedKernels {
  readonly exports: KernelExports;
  readonly i16: Int16Array;
  readonly f32: Float32Array;
  /** Element indices (not bytes) of the memory regions, in the view that reads them. */
  readonly downIn: number;
  readonly downEven: number;
  readonly downOdd: number;
  readonly downOut: number;
  readonly upIn: number;
  readonly upWork: number;
  readonly upOut: number;
  /** Most samples per channel one kernel call takes. */
  readonly chunk: number;
  /** The decimator's history in DOWN_EVEN and DOWN_ODD, entries per phase (held ≤ 4·pairs − 2 mono samples). */
  readonly downHistoryPerPhase: number;
  /** Mono samples the decimator keeps between calls after a reset (its window, 4·pairs − 1, minus one). */
  readonly downInitialHeld: number;
  /** The interpolator's history in UP_WORK (2·pairs − 1 samples). */
  readonly upHistory: number;
  /** The stream whose history is in the memory now. */
  downOwner: WasmDownsamplerState | undefined;
  upOwner: WasmUpsamplerState | undefined;

  constructor(exports: KernelExports, downTaps: Float64Array, upTaps: Float64Array) {
    this.exports = exports;
    const buffer = exports.memory.buffer; // fixed size (1 page, max 1): views never detach
    this.i16 = new Int16Array(buffer);
    this.f32 = new Float32Array(buffer);
    const address = (g: WasmGlobal) => g.value as number;
    this.downIn = address(exports.DOWN_IN) >> 1;
    this.downEven = address(exports.DOWN_EVEN) >> 2;
    this.downOdd = address(exports.DOWN_ODD) >> 2;
    this.downOut = address(exports.DOWN_OUT) >> 1;
    this.upIn = address(exports.UP_IN) >> 1;
    this.upWork = address(exports.UP_WORK) >> 2;
    this.upOut = address(exports.UP_OUT) >> 1;
    this.chunk = address(exports.CHUNK);
    this.downHistoryPerPhase = 2 * downTaps.length;
    this.downInitialHeld = 4 * downTaps.length - 2;
    this.upHistory = 2 * upTaps.length - 1;
    // Coefficients as f32x4 splats. Down: the downmix ½ and the decimator's ½ folded in.
    const splat = (slot: number, value: number) => this.f32.fill(value, slot, slot + 4);
    const downCoeffs = address(exports.DOWN_COEFFS) >> 2;
    splat(downCoeffs, 0.25);
    for (let j = 0; j < downTaps.length; j++) splat(downCoeffs + 4 * (j + 1), 0.5 * downTaps[j]!);
    const upCoeffs = address(exports.UP_COEFFS) >> 2;
    for (let j = 0; j < upTaps.length; j++) splat(upCoeffs + 4 * j, 2 * upTaps[j]!);
  }
}

/** The caller's buffer (or a view of its start) when given, else a new array of `length`. */
function destination(out: Int16Array | undefined, length: number): Int16Array {
  if (out === undefined) return newPcm16(length);
  if (out.length < length) throw new RangeError(`output buffer too small: ${out.length} < ${length}`);
  return out.length === length ? out : out.subarray(0, length);
}

/** Copies `count` samples of the kernel memory from `from` into `target` at `at`. */
function copyOut(memory: Int16Array, from: number, count: number, target: Int16Array, at: number): void {
  // set() from a view of the wasm memory is a memcpy.
  target.set(memory.subarray(from, from + count), at);
}

/** One decimator stream (one speaker) on the shared WebAssembly kernel. */
export class WasmDownsamplerState {
  readonly #kernels: SharedKernels;
  /** Even-phase history, then odd-phase history, while another stream owns the kernel memory. */
  readonly #history: Float32Array;
  #held: number;

  constructor(kernels: SharedKernels) {
    this.#kernels = kernels;
    this.#history = new Float32Array(2 * kernels.downHistoryPerPhase);
    this.#held = kernels.downInitialHeld;
  }

  /** Downmixes and decimates `stereo48k` (even length, checked by the caller). */
  process(stereo48k: Int16Array, out: Int16Array | undefined): Int16Array {
    const k = this.#kernels;
    const pairs = stereo48k.length >> 1;
    const total = this.#held + pairs;
    const window = k.downInitialHeld + 1;
    const result = destination(out, total >= window ? ((total - window) >> 1) + 1 : 0);
    if (pairs === 0) return result;
    const previous = k.downOwner;
    if (previous !== this) {
      if (previous) previous.#save();
      this.#load();
      k.downOwner = this;
    }
    let held = this.#held;
    let written = 0;
    for (let done = 0; done < pairs; ) {
      const n = Math.min(k.chunk, pairs - done);
      k.i16.set(n === pairs ? stereo48k : stereo48k.subarray(2 * done, 2 * (done + n)), k.downIn);
      const outs = k.exports.down(held, n);
      if (outs > 0) copyOut(k.i16, k.downOut, outs, result, written);
      written += outs;
      held += n - 2 * outs;
      done += n;
    }
    this.#held = held;
    return result;
  }

  /** Silence as history. */
  reset(): void {
    if (this.#kernels.downOwner === this) this.#kernels.downOwner = undefined;
    this.#history.fill(0);
    this.#held = this.#kernels.downInitialHeld;
  }

  #save(): void {
    const { f32, downEven, downOdd, downHistoryPerPhase: n } = this.#kernels;
    this.#history.set(f32.subarray(downEven, downEven + n), 0);
    this.#history.set(f32.subarray(downOdd, downOdd + n), n);
  }

  #load(): void {
    const { f32, downEven, downOdd, downHistoryPerPhase: n } = this.#kernels;
    f32.set(this.#history.subarray(0, n), downEven);
    f32.set(this.#history.subarray(n), downOdd);
  }
}

/** One interpolator stream on the shared WebAssembly kernel. */
export class WasmUpsamplerState {
  readonly #kernels: SharedKernels;
  readonly #history: Float32Array;

  constructor(kernels: SharedKernels) {
    this.#kernels = kernels;
    this.#history = new Float32Array(kernels.upHistory);
  }

  /** Interpolates `mono24k` to interleaved stereo at 48 kHz (4 samples out per sample in). */
  process(mono24k: Int16Array, out: Int16Array | undefined): Int16Array {
    const k = this.#kernels;
    const n = mono24k.length;
    const result = destination(out, 4 * n);
    if (n === 0) return result;
    const previous = k.upOwner;
    if (previous !== this) {
      if (previous) previous.#save();
      this.#load();
      k.upOwner = this;
    }
    for (let done = 0; done < n; ) {
      const m = Math.min(k.chunk, n - done);
      k.i16.set(m === n ? mono24k : mono24k.subarray(done, done + m), k.upIn);
      k.exports.up(m);
      copyOut(k.i16, k.upOut, 4 * m, result, 4 * done);
      done += m;
    }
    return result;
  }

  reset(): void {
    if (this.#kernels.upOwner === this) this.#kernels.upOwner = undefined;
    this.#history.fill(0);
  }

  #save(): void {
    const { f32, upWork, upHistory } = this.#kernels;
    this.#history.set(f32.subarray(upWork, upWork + upHistory));
  }

  #load(): void {
    const { f32, upWork } = this.#kernels;
    f32.set(this.#history, upWork);
  }
}

/** Factory for streams on one shared instance of the kernels. */
export interface WasmResamplerKernels {
  downsampler(): WasmDownsamplerState;
  upsampler(): WasmUpsamplerState;
}

/**
 * Compiles and instantiates the kernels synchronously (a few KB: well within what V8 allows on the
 * main thread) with the given half-band taps. Throws when this runtime lacks WebAssembly or its
 * SIMD extension, or when the committed kernels were generated for other filter lengths; the caller
 * then keeps the JavaScript kernels. `bytes`: other kernels from generateKernels.ts + build.ts (the
 * benchmark compares filter lengths side by side); default the committed ones.
 */
export function loadWasmResamplerKernels(downTaps: Float64Array, upTaps: Float64Array, bytes: Uint8Array = Buffer.from(RESAMPLER_KERNELS_WASM_BASE64, 'base64')): WasmResamplerKernels {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (wasm === undefined) throw new Error('WebAssembly is not available');
  if (!wasm.validate(bytes)) throw new Error('WebAssembly SIMD is not supported by this runtime');
  const instance = new wasm.Instance(new wasm.Module(bytes));
  const exports = instance.exports as unknown as KernelExports;
  if (exports.DOWN_PAIRS.value !== downTaps.length || exports.UP_PAIRS.value !== upTaps.length) {
    throw new Error(`wasm kernels are generated for ${String(exports.DOWN_PAIRS.value)} and ${String(exports.UP_PAIRS.value)} coefficient pairs, not ${downTaps.length} and ${upTaps.length}: regenerate them`);
  }
  const kernels = new SharedKernels(exports, downTaps, upTaps);
  return {
    downsampler: () => new WasmDownsamplerState(kernels),
    upsampler: () => new WasmUpsamplerState(kernels),
  };
}
