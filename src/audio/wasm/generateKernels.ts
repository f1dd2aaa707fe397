/**
 * Writes `resamplerKernels.wat`, the WebAssembly SIMD kernels of the half-band resamplers, for given
 * numbers of coefficient pairs and a loop shape (see {@link DEFAULT_SHAPE}: one f32x4 multiply-add
 * per coefficient pair and group of 4 outputs, the groups' memory offsets constants). Layout
 * addresses and shapes are easier to get right generated than by hand: this generator is the
 * source of the WAT, the WAT is the source of the committed bytes (build.ts), and
 * test/audio/wasmKernels.test.ts checks both steps.
 *
 *   node bin/run.mjs src/audio/wasm/generateKernels.ts           # rewrite resamplerKernels.wat
 *   node bin/run.mjs src/audio/wasm/build.ts                     # then rebuild the bytes
 *
 * @module
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Most samples per channel one kernel call takes (the JS side cuts longer inputs). */
export const KERNEL_CHUNK = 2048;

/** How the kernels' loops are shaped (the benchmark compares shapes; the committed kernels use the default). */
export interface KernelShape {
  /** Groups of 4 outputs computed per pass, sharing each coefficient load (even: stores go 8 at a time). */
  groups: number;
  /** Fused multiply-add (relaxed SIMD's f32x4.relaxed_madd) instead of a multiply and an add. */
  fma: boolean;
  /**
   * Coefficient pairs per iteration of a loop over the taps, each into its own accumulator per
   * group (so that many multiply-add chains run at once); undefined: every tap unrolled, two
   * accumulators per group (the shape the kernels had before session 4, kept for the benchmark).
   */
  tapLoop?: number;
}

/**
 * The committed shape. Shapes were compared on the kernel exports alone, side by side in one
 * process (figures in bench/README.md, "Resampler speed, session 4"; `npm run bench -- audio`
 * measures the committed shape against the unrolled one it replaced). Fully unrolled taps (the
 * shape before) made V8's optimising compiler issue the loads far ahead of their use and spill
 * hundreds of vectors to the stack (`node --print-wasm-code`: 0xf30 bytes of spill slots in `up`),
 * so TurboFan's code ran slower than the baseline compiler's; a loop over the taps keeps every
 * value in a register. One tap per iteration for 4 groups (16 outputs) is the most that stays
 * spill-free (4 accumulators, a coefficient and 8 loads live: V8 still issues all of an
 * iteration's loads first); 2 taps per iteration spilled and ran slower, and 2 groups, or a
 * multiply then a multiply-add per 2 taps, were no faster.
 */
export const DEFAULT_SHAPE: KernelShape = { groups: 4, fma: true, tapLoop: 1 };

/** Byte addresses of the kernel memory's regions (one fixed 64 KiB page). */
export interface KernelLayout {
  downCoeffs: number;
  upCoeffs: number;
  downIn: number;
  downEven: number;
  downOdd: number;
  downOut: number;
  upIn: number;
  upWork: number;
  upOut: number;
  end: number;
}

/** Lays the regions out one after the other, each 256-byte aligned, with room for every overrun the kernels allow. */
export function kernelLayout(downPairs: number, upPairs: number, groups = DEFAULT_SHAPE.groups): KernelLayout {
  const reach = 4 * groups; // outputs a pass may compute past the last one needed
  let at = 0;
  const region = (bytes: number) => {
    const start = at;
    at = Math.ceil((at + bytes) / 256) * 256;
    return start;
  };
  const downCoeffs = region(16 * (downPairs + 1));
  const upCoeffs = region(16 * upPairs);
  const downIn = region(4 * KERNEL_CHUNK + 32);
  // Per phase: the history (≤ 2·pairs) plus half a chunk, plus the 8 outputs' reach past the last one.
  const phaseBytes = 4 * (KERNEL_CHUNK / 2 + 2 * downPairs + 2 * reach);
  const downEven = region(phaseBytes);
  const downOdd = region(phaseBytes);
  const downOut = region(2 * (KERNEL_CHUNK / 2 + 2 * reach));
  const upIn = region(2 * KERNEL_CHUNK + 32);
  const upWork = region(4 * (2 * upPairs + KERNEL_CHUNK + 2 * reach));
  const upOut = region(8 * (KERNEL_CHUNK + reach));
  if (at > 65_536) throw new Error(`kernel memory needs ${at} bytes, more than one page`);
  return { downCoeffs, upCoeffs, downIn, downEven, downOdd, downOut, upIn, upWork, upOut, end: at };
}

const ROUND = '(v128.const f32x4 0.5 0.5 0.5 0.5)';

/** acc ← acc + a·b, or a·b when acc is null. */
function madd(shape: KernelShape, a: string, b: string, acc: string | null): string {
  if (acc === null) return `(f32x4.mul ${a} ${b})`;
  return shape.fma ? `(f32x4.relaxed_madd ${a} ${b} (local.get ${acc}))` : `(f32x4.add (local.get ${acc}) (f32x4.mul ${a} ${b}))`;
}

/** Where one kernel's folded taps sit: y = Σ_j c_j·(x[pairs − 1 − j] + x[pairs + j]) from the output's slot. */
interface FoldedTaps {
  pairs: number;
  /** Byte address of the float32 samples (x[0] of the first output, at pointer 0). */
  samples: number;
  /** Byte address of c_0's f32x4 splat (c_j is 16·j bytes further). */
  coeffs: number;
  /** The local holding the byte offset (4·index) of the pass's first output. */
  pointer: string;
  /** An expression to start group g's first accumulator from (the down kernel's centre tap), or null. */
  first: ((g: number) => string) | null;
}

/** Accumulator u of group g. */
const acc = (g: number, u: number) => `$g${g}_${u}`;

/** How many accumulators per group a shape uses. */
const chainsOf = (shape: KernelShape) => shape.tapLoop ?? 2;

/** The sum of group g's accumulators. */
function groupSum(shape: KernelShape, g: number): string {
  let sum = `(local.get ${acc(g, 0)})`;
  for (let u = 1; u < chainsOf(shape); u++) sum = `(f32x4.add ${sum} (local.get ${acc(g, u)}))`;
  return sum;
}

/**
 * The multiply-adds of every group, every tap unrolled with constant offsets (each coefficient
 * loaded once per pass; tap j sums into accumulator j mod 2).
 */
function unrolledTerms(t: FoldedTaps, shape: KernelShape): string[] {
  const lines: string[] = [];
  const load = (index: number, g: number) => `(v128.load offset=${t.samples + 4 * index + 16 * g} (local.get ${t.pointer}))`;
  for (let g = 0; g < shape.groups; g++) if (t.first) lines.push(`(local.set ${acc(g, 1)} ${t.first(g)})`);
  for (let j = 0; j < t.pairs; j++) {
    lines.push(`(local.set $c (v128.load offset=${t.coeffs + 16 * j} (i32.const 0)))`);
    for (let g = 0; g < shape.groups; g++) {
      const a = acc(g, j % 2);
      const started = j >= 2 || (j === 1 && t.first !== null);
      lines.push(`(local.set ${a} ${madd(shape, `(f32x4.add ${load(t.pairs - 1 - j, g)} ${load(t.pairs + j, g)})`, '(local.get $c)', started ? a : null)})`);
    }
  }
  return lines;
}

/**
 * The multiply-adds as a loop over the taps, \`tapLoop\` taps per iteration: $l and $r walk out from
 * the centre (left and right sample of tap j), $cp through the coefficients; the taps that do not
 * fill a whole iteration follow the loop.
 */
function loopedTerms(t: FoldedTaps, shape: KernelShape): string[] {
  const chains = chainsOf(shape);
  const inLoop = t.pairs - (t.pairs % chains);
  const lines: string[] = [];
  for (let g = 0; g < shape.groups; g++) {
    for (let u = 0; u < chains; u++) lines.push(`(local.set ${acc(g, u)} ${u === 0 && t.first ? t.first(g) : '(v128.const i32x4 0 0 0 0)'})`);
  }
  lines.push(`(local.set $l (i32.add (local.get ${t.pointer}) (i32.const ${4 * (t.pairs - 1)})))`);
  lines.push(`(local.set $r (i32.add (local.get ${t.pointer}) (i32.const ${4 * t.pairs})))`);
  lines.push('(local.set $cp (i32.const 0))');
  // Tap u of this step: left sample at $l − 4u, right at $r + 4u (offsets stay non-negative:
  // $l ≥ pointer ≥ 0 and the sample region starts well above 4·tapLoop).
  const step = (u: number) => {
    const out = [`(local.set $c (v128.load offset=${t.coeffs + 16 * u} (local.get $cp)))`];
    for (let g = 0; g < shape.groups; g++) {
      const left = `(v128.load offset=${t.samples + 16 * g - 4 * u} (local.get $l))`;
      const right = `(v128.load offset=${t.samples + 16 * g + 4 * u} (local.get $r))`;
      out.push(`(local.set ${acc(g, u)} ${madd(shape, `(f32x4.add ${left} ${right})`, '(local.get $c)', acc(g, u))})`);
    }
    return out;
  };
  const advance = (taps: number) => [
    `(local.set $l (i32.sub (local.get $l) (i32.const ${4 * taps})))`,
    `(local.set $r (i32.add (local.get $r) (i32.const ${4 * taps})))`,
    `(local.set $cp (i32.add (local.get $cp) (i32.const ${16 * taps})))`,
  ];
  if (inLoop > 0) {
    lines.push('(loop $taps');
    for (let u = 0; u < chains; u++) lines.push(...step(u).map((line) => '  ' + line));
    lines.push(...advance(chains).map((line) => '  ' + line));
    lines.push(`  (br_if $taps (i32.lt_u (local.get $cp) (i32.const ${16 * inLoop}))))`);
  }
  for (let u = 0; u < t.pairs - inLoop; u++) lines.push(...step(u));
  return lines;
}

function tapTerms(t: FoldedTaps, shape: KernelShape): string[] {
  return shape.tapLoop === undefined ? unrolledTerms(t, shape) : loopedTerms(t, shape);
}

/** The WAT source of the kernels for half-band filters with these coefficient pair counts. */
export function generateKernelsWat(downPairs: number, upPairs: number, shape: KernelShape = DEFAULT_SHAPE): string {
  if (shape.groups % 2 !== 0) throw new Error('kernel groups come in pairs (8 outputs per store)');
  const m = kernelLayout(downPairs, upPairs, shape.groups);
  const accumulators = Array.from({ length: shape.groups }, (_, g) => Array.from({ length: chainsOf(shape) }, (_, u) => `(local ${acc(g, u)} v128)`).join(' ')).join(' ') + ' (local $l i32) (local $r i32) (local $cp i32)';
  const perPass = 4 * shape.groups;
  const window = 4 * downPairs - 1;
  const upHistory = 2 * upPairs - 1;
  const indent = (depth: number, lines: string[]) => lines.map((line) => ' '.repeat(depth) + line);
  const upStore = (g: number) => [
    ';; [d0 d1 d2 d3 b0 b1 b2 b3] (saturating narrow), then each pair as d d b b.',
    '(local.set $x (i16x8.narrow_i32x4_s',
    `  (i32x4.trunc_sat_f32x4_s (v128.load offset=${m.upWork + 4 * (upPairs - 1) + 16 * g} (local.get $p)))`,
    `  (i32x4.trunc_sat_f32x4_s (f32x4.floor (f32x4.add ${groupSum(shape, g)} ${ROUND})))))`,
    `(v128.store offset=${m.upOut + 32 * g} (i32.shl (local.get $p) (i32.const 1))`,
    '  (i8x16.shuffle 0 1 0 1 8 9 8 9 2 3 2 3 10 11 10 11 (local.get $x) (local.get $x)))',
    `(v128.store offset=${m.upOut + 32 * g + 16} (i32.shl (local.get $p) (i32.const 1))`,
    '  (i8x16.shuffle 4 5 4 5 12 13 12 13 6 7 6 7 14 15 14 15 (local.get $x) (local.get $x)))',
  ];
  const rounded = (g: number) => `(i32x4.trunc_sat_f32x4_s (f32x4.floor (f32x4.add ${groupSum(shape, g)} ${ROUND})))`;
  const downStores = Array.from({ length: shape.groups / 2 }, (_, h) => [
    `(v128.store offset=${m.downOut + 16 * h} (i32.shr_u (local.get $k) (i32.const 1))`,
    `  (i16x8.narrow_i32x4_s ${rounded(2 * h)}`,
    `    ${rounded(2 * h + 1)}))`,
  ]).flat();
  return `;; WebAssembly SIMD (f32x4) kernels of the half-band resamplers in ../resampler.ts.
;;
;; Generated by generateKernels.ts for ${downPairs} (down) and ${upPairs} (up) coefficient pairs, ${perPass} outputs per
;; pass${shape.fma ? ', fused multiply-adds (relaxed SIMD)' : ''}: do not edit;
;; regenerate, then rebuild the committed bytes (resamplerKernels.wasm.ts) with
;;   node bin/run.mjs src/audio/wasm/generateKernels.ts && node bin/run.mjs src/audio/wasm/build.ts
;; test/audio/wasmKernels.test.ts checks that this file is what the generator writes and that it
;; compiles to exactly the committed bytes.
;;
;; One instance serves every Downsampler and Upsampler of the process: the JS side (wasmKernel.ts)
;; copies an instance's filter history in before a call and out after it, only when another
;; instance used the kernel in between. The filter is the same as the JS kernels' (same taps, same
;; windows); the arithmetic is float32 instead of float64, which leaves outputs within 1 LSB of the
;; JS kernels (float32 rounding is ~1e-7 relative, far below the int16 LSB of the outputs).
;;
;; Memory (one 64 KiB page, fixed; the JS side cuts inputs into chunks of at most CHUNK samples
;; per channel so nothing ever grows). Byte addresses; the loads and stores below use them as
;; static offsets, so they are written out as numbers there, and exported here for the JS side.
(module
  (memory (export "memory") 1 1)
  (global (export "DOWN_PAIRS") i32 (i32.const ${downPairs}))
  (global (export "UP_PAIRS") i32 (i32.const ${upPairs}))
  ;; ${downPairs + 1} × v128 splats: [0] = 0.25 (centre tap ½ × downmix ½), [1 + j] = ½·g_j (½ is the downmix average).
  (global (export "DOWN_COEFFS") i32 (i32.const ${m.downCoeffs}))
  ;; ${upPairs} × v128 splats: 2·u_j (×2: zero-stuffing halves the level, the interpolator restores it).
  (global (export "UP_COEFFS") i32 (i32.const ${m.upCoeffs}))
  ;; Interleaved int16 stereo input of down (CHUNK pairs).
  (global (export "DOWN_IN") i32 (i32.const ${m.downIn}))
  ;; float32 L+R sums at even and odd 48 kHz positions (the polyphase split of the decimator's
  ;; window: even positions meet the odd taps, odd positions the centre tap). Entry 0 of each is the
  ;; start of the next output's window; the first ${2 * downPairs - 1} are history between calls.
  (global (export "DOWN_EVEN") i32 (i32.const ${m.downEven}))
  (global (export "DOWN_ODD") i32 (i32.const ${m.downOdd}))
  ;; int16 mono 24 kHz output of down.
  (global (export "DOWN_OUT") i32 (i32.const ${m.downOut}))
  ;; int16 mono 24 kHz input of up (CHUNK samples).
  (global (export "UP_IN") i32 (i32.const ${m.upIn}))
  ;; float32 input samples; the first ${upHistory} are history between calls.
  (global (export "UP_WORK") i32 (i32.const ${m.upWork}))
  ;; Interleaved int16 stereo 48 kHz output of up (4 per input sample).
  (global (export "UP_OUT") i32 (i32.const ${m.upOut}))
  (global (export "CHUNK") i32 (i32.const ${KERNEL_CHUNK}))

  ;; Downmix + decimate. Appends \`pairs\` stereo pairs from DOWN_IN to the \`held\` mono samples
  ;; already in DOWN_EVEN/DOWN_ODD, writes every output whose ${window}-sample window is complete to
  ;; DOWN_OUT, drops the consumed samples (2 per output) and returns the output count; the new
  ;; held count is held + pairs − 2·outputs.
  (func (export "down") (param $held i32) (param $pairs i32) (result i32)
    (local $n i32) (local $i i32) (local $end i32) (local $outs i32) (local $k i32) (local $kEnd i32)
    (local $a v128) (local $b v128) (local $c v128) ${accumulators}
    (local.set $n (local.get $held))
    (local.set $end (i32.shl (local.get $pairs) (i32.const 2)))
    ;; An odd held count: the first new sample is an odd position; after it the SIMD loop is aligned.
    (if (i32.and (i32.and (local.get $n) (i32.const 1)) (i32.gt_s (local.get $end) (i32.const 0)))
      (then
        (f32.store offset=${m.downOdd} (i32.shl (i32.shr_u (local.get $n) (i32.const 1)) (i32.const 2))
          (f32.convert_i32_s (i32.add (i32.load16_s offset=${m.downIn} (i32.const 0)) (i32.load16_s offset=${m.downIn + 2} (i32.const 0)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (local.set $i (i32.const 4))))
    ;; 8 stereo pairs (32 bytes) → 8 mono sums: pairwise-add L and R into i32 lanes, split even/odd.
    (block $done
      (loop $simd
        (br_if $done (i32.gt_s (i32.add (local.get $i) (i32.const 32)) (local.get $end)))
        (local.set $a (i32x4.extadd_pairwise_i16x8_s (v128.load offset=${m.downIn} (local.get $i))))
        (local.set $b (i32x4.extadd_pairwise_i16x8_s (v128.load offset=${m.downIn + 16} (local.get $i))))
        (v128.store offset=${m.downEven} (i32.shl (local.get $n) (i32.const 1))
          (f32x4.convert_i32x4_s (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a) (local.get $b))))
        (v128.store offset=${m.downOdd} (i32.shl (local.get $n) (i32.const 1))
          (f32x4.convert_i32x4_s (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a) (local.get $b))))
        (local.set $n (i32.add (local.get $n) (i32.const 8)))
        (local.set $i (i32.add (local.get $i) (i32.const 32)))
        (br $simd)))
    ;; The rest one by one (n is even on entry, so DOWN_EVEN + 2n is even position n's slot).
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_s (local.get $i) (local.get $end)))
        (f32.store
          (i32.add
            (select (i32.const ${m.downOdd}) (i32.const ${m.downEven}) (i32.and (local.get $n) (i32.const 1)))
            (i32.shl (i32.shr_u (local.get $n) (i32.const 1)) (i32.const 2)))
          (f32.convert_i32_s (i32.add (i32.load16_s offset=${m.downIn} (local.get $i)) (i32.load16_s offset=${m.downIn + 2} (local.get $i)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail)))
    ;; Outputs whose window (${window} mono samples) is complete.
    (local.set $outs
      (select (i32.add (i32.shr_u (i32.sub (local.get $n) (i32.const ${window})) (i32.const 1)) (i32.const 1)) (i32.const 0)
        (i32.ge_s (local.get $n) (i32.const ${window}))))
    ;; ${perPass} outputs per pass (${shape.groups} f32x4 groups, each summed in two chains to hide add latency, every
    ;; coefficient loaded once per pass): y[k] = 0.25·odd[${downPairs - 1} + k] + Σ_j ½g_j·(even[${downPairs} + k + j] + even[${downPairs - 1} + k − j]).
    ;; The last pass may compute up to ${perPass - 1} outputs past \`outs\` from stale memory; the caller never reads them.
    ;; $k is the byte offset of output k in the float arrays (4·k).
    (local.set $kEnd (i32.shl (local.get $outs) (i32.const 2)))
    (block $outDone
      (loop $out
        (br_if $outDone (i32.ge_s (local.get $k) (local.get $kEnd)))
${indent(8, tapTerms({ pairs: downPairs, samples: m.downEven, coeffs: m.downCoeffs + 16, pointer: '$k', first: (g) => madd(shape, `(v128.load offset=${m.downOdd + 4 * (downPairs - 1) + 16 * g} (local.get $k))`, `(v128.load offset=${m.downCoeffs} (i32.const 0))`, null) }, shape)).join('\n')}
        ;; Math.round semantics (floor(x + ½), exact in float32 at these magnitudes), then saturate.
${indent(8, downStores).join('\n')}
        (local.set $k (i32.add (local.get $k) (i32.const ${4 * perPass})))
        (br $out)))
    ;; Drop the consumed samples: entry \`outs\` of each phase becomes entry 0.
    (memory.copy (i32.const ${m.downEven}) (i32.add (i32.const ${m.downEven}) (local.get $kEnd))
      (i32.shl (i32.sub (i32.shr_u (i32.add (local.get $n) (i32.const 1)) (i32.const 1)) (local.get $outs)) (i32.const 2)))
    (memory.copy (i32.const ${m.downOdd}) (i32.add (i32.const ${m.downOdd}) (local.get $kEnd))
      (i32.shl (i32.sub (i32.shr_u (local.get $n) (i32.const 1)) (local.get $outs)) (i32.const 2)))
    (local.get $outs))

  ;; Interpolate. Converts \`n\` int16 samples from UP_IN to float32 after the ${upHistory} history samples
  ;; in UP_WORK, writes 4·n interleaved int16 samples to UP_OUT (per input sample: the centre-tap
  ;; sample twice, then the interpolated one twice) and keeps the last ${upHistory} samples as history.
  (func (export "up") (param $n i32)
    (local $i i32) (local $end i32) (local $p i32) (local $pEnd i32) (local $v v128) (local $c v128) (local $x v128)
    ${accumulators}
    (local.set $end (i32.shl (local.get $n) (i32.const 1)))
    ;; 8 samples per pass; the last pass may convert up to 7 stale samples past n (never read back
    ;; into a result).
    (block $inDone
      (loop $in
        (br_if $inDone (i32.ge_s (local.get $i) (local.get $end)))
        (local.set $v (v128.load offset=${m.upIn} (local.get $i)))
        (v128.store offset=${m.upWork + 4 * upHistory} (i32.shl (local.get $i) (i32.const 1)) (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $v))))
        (v128.store offset=${m.upWork + 4 * upHistory + 16} (i32.shl (local.get $i) (i32.const 1)) (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $v))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $in)))
    ;; ${perPass} output pairs per pass; $p is the byte offset of work sample p (4·p):
    ;; between[p] = Σ_j 2u_j·(w[${upPairs - 1} + p − j] + w[${upPairs} + p + j]), direct[p] = w[${upPairs - 1} + p].
    (local.set $pEnd (i32.shl (local.get $n) (i32.const 2)))
    (block $outDone
      (loop $out
        (br_if $outDone (i32.ge_s (local.get $p) (local.get $pEnd)))
${indent(8, tapTerms({ pairs: upPairs, samples: m.upWork, coeffs: m.upCoeffs, pointer: '$p', first: null }, shape)).join('\n')}
${indent(8, Array.from({ length: shape.groups }, (_, g) => upStore(g)).flat()).join('\n')}
        (local.set $p (i32.add (local.get $p) (i32.const ${4 * perPass})))
        (br $out)))
    (memory.copy (i32.const ${m.upWork}) (i32.add (i32.const ${m.upWork}) (local.get $pEnd)) (i32.const ${4 * upHistory})))
)
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { DOWN_TAPS, UP_TAPS } = await import('../resampler.ts');
  const path = fileURLToPath(new URL('./resamplerKernels.wat', import.meta.url));
  writeFileSync(path, generateKernelsWat(DOWN_TAPS.length, UP_TAPS.length));
  console.log(`wrote ${path}`);
}
