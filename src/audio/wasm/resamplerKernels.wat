;; WebAssembly SIMD (f32x4) kernels of the half-band resamplers in ../resampler.ts.
;;
;; Source of truth for resamplerKernels.wasm.ts (the committed bytes): rebuild with
;;   node bin/run.mjs src/audio/wasm/build.ts
;; and test/audio/wasmKernels.test.ts checks that this file still compiles to exactly those bytes.
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
  ;; 16 × v128 splats: [0] = 0.25 (centre tap ½ × downmix ½), [1 + j] = ½·g_j (½ is the downmix average).
  (global (export "DOWN_COEFFS") i32 (i32.const 0))
  ;; 19 × v128 splats: 2·u_j (×2: zero-stuffing halves the level, the interpolator restores it).
  (global (export "UP_COEFFS") i32 (i32.const 256))
  ;; Interleaved int16 stereo input of down (CHUNK pairs).
  (global (export "DOWN_IN") i32 (i32.const 1024))
  ;; float32 L+R sums at even and odd 48 kHz positions (the polyphase split of the decimator's
  ;; window: even positions meet the odd taps, odd positions the centre tap). Entry 0 of each is the
  ;; start of the next output's window; the first 29 (30) are history between calls.
  (global (export "DOWN_EVEN") i32 (i32.const 9216))
  (global (export "DOWN_ODD") i32 (i32.const 13824))
  ;; int16 mono 24 kHz output of down.
  (global (export "DOWN_OUT") i32 (i32.const 18432))
  ;; int16 mono 24 kHz input of up (CHUNK samples).
  (global (export "UP_IN") i32 (i32.const 22528))
  ;; float32 input samples; the first 37 are history between calls.
  (global (export "UP_WORK") i32 (i32.const 26624))
  ;; Interleaved int16 stereo 48 kHz output of up (4 per input sample).
  (global (export "UP_OUT") i32 (i32.const 35328))
  (global (export "CHUNK") i32 (i32.const 2048))

  ;; Downmix + decimate. Appends `pairs` stereo pairs from DOWN_IN to the `held` mono samples
  ;; already in DOWN_EVEN/DOWN_ODD, writes every output whose 59-sample window is complete to
  ;; DOWN_OUT, drops the consumed samples (2 per output) and returns the output count; the new
  ;; held count is held + pairs − 2·outputs.
  (func (export "down") (param $held i32) (param $pairs i32) (result i32)
    (local $n i32) (local $i i32) (local $end i32) (local $outs i32) (local $k i32) (local $kEnd i32)
    (local $a v128) (local $b v128) (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
    (local.set $n (local.get $held))
    (local.set $end (i32.shl (local.get $pairs) (i32.const 2)))
    ;; An odd held count: the first new sample is an odd position; after it the SIMD loop is aligned.
    (if (i32.and (i32.and (local.get $n) (i32.const 1)) (i32.gt_s (local.get $end) (i32.const 0)))
      (then
        (f32.store offset=13824 (i32.shl (i32.shr_u (local.get $n) (i32.const 1)) (i32.const 2))
          (f32.convert_i32_s (i32.add (i32.load16_s offset=1024 (i32.const 0)) (i32.load16_s offset=1026 (i32.const 0)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (local.set $i (i32.const 4))))
    ;; 8 stereo pairs (32 bytes) → 8 mono sums: pairwise-add L and R into i32 lanes, split even/odd.
    (block $done
      (loop $simd
        (br_if $done (i32.gt_s (i32.add (local.get $i) (i32.const 32)) (local.get $end)))
        (local.set $a (i32x4.extadd_pairwise_i16x8_s (v128.load offset=1024 (local.get $i))))
        (local.set $b (i32x4.extadd_pairwise_i16x8_s (v128.load offset=1040 (local.get $i))))
        (v128.store offset=9216 (i32.shl (local.get $n) (i32.const 1))
          (f32x4.convert_i32x4_s (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a) (local.get $b))))
        (v128.store offset=13824 (i32.shl (local.get $n) (i32.const 1))
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
            (select (i32.const 13824) (i32.const 9216) (i32.and (local.get $n) (i32.const 1)))
            (i32.shl (i32.shr_u (local.get $n) (i32.const 1)) (i32.const 2)))
          (f32.convert_i32_s (i32.add (i32.load16_s offset=1024 (local.get $i)) (i32.load16_s offset=1026 (local.get $i)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail)))
    ;; Outputs whose window (59 mono samples) is complete.
    (local.set $outs
      (select (i32.add (i32.shr_u (i32.sub (local.get $n) (i32.const 59)) (i32.const 1)) (i32.const 1)) (i32.const 0)
        (i32.ge_s (local.get $n) (i32.const 59))))
    ;; 8 outputs per pass (two f32x4 groups, each summed in two chains to hide add latency):
    ;; y[k] = 0.25·odd[14 + k] + Σ_j ½g_j·(even[15 + k + j] + even[14 + k − j]). The last pass may
    ;; compute up to 7 outputs past `outs` from stale memory; the caller never reads them.
    ;; $k is the byte offset of output k in the float arrays (4·k).
    (local.set $kEnd (i32.shl (local.get $outs) (i32.const 2)))
    (block $outDone
      (loop $out
        (br_if $outDone (i32.ge_s (local.get $k) (local.get $kEnd)))
        (local.set $acc0 (f32x4.mul (v128.load offset=13880 (local.get $k)) (v128.load offset=0 (i32.const 0))))
        (local.set $acc1 (f32x4.mul (f32x4.add (v128.load offset=9276 (local.get $k)) (v128.load offset=9272 (local.get $k))) (v128.load offset=16 (i32.const 0))))
        (local.set $acc2 (f32x4.mul (v128.load offset=13896 (local.get $k)) (v128.load offset=0 (i32.const 0))))
        (local.set $acc3 (f32x4.mul (f32x4.add (v128.load offset=9292 (local.get $k)) (v128.load offset=9288 (local.get $k))) (v128.load offset=16 (i32.const 0))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (f32x4.add (v128.load offset=9280 (local.get $k)) (v128.load offset=9268 (local.get $k))) (v128.load offset=32 (i32.const 0)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (f32x4.add (v128.load offset=9296 (local.get $k)) (v128.load offset=9284 (local.get $k))) (v128.load offset=32 (i32.const 0)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.add (v128.load offset=9284 (local.get $k)) (v128.load offset=9264 (local.get $k))) (v128.load offset=48 (i32.const 0)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (f32x4.add (v128.load offset=9300 (local.get $k)) (v128.load offset=9280 (local.get $k))) (v128.load offset=48 (i32.const 0)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (f32x4.add (v128.load offset=9288 (local.get $k)) (v128.load offset=9260 (local.get $k))) (v128.load offset=64 (i32.const 0)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (f32x4.add (v128.load offset=9304 (local.get $k)) (v128.load offset=9276 (local.get $k))) (v128.load offset=64 (i32.const 0)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.add (v128.load offset=9292 (local.get $k)) (v128.load offset=9256 (local.get $k))) (v128.load offset=80 (i32.const 0)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (f32x4.add (v128.load offset=9308 (local.get $k)) (v128.load offset=9272 (local.get $k))) (v128.load offset=80 (i32.const 0)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (f32x4.add (v128.load offset=9296 (local.get $k)) (v128.load offset=9252 (local.get $k))) (v128.load offset=96 (i32.const 0)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (f32x4.add (v128.load offset=9312 (local.get $k)) (v128.load offset=9268 (local.get $k))) (v128.load offset=96 (i32.const 0)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.add (v128.load offset=9300 (local.get $k)) (v128.load offset=9248 (local.get $k))) (v128.load offset=112 (i32.const 0)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (f32x4.add (v128.load offset=9316 (local.get $k)) (v128.load offset=9264 (local.get $k))) (v128.load offset=112 (i32.const 0)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (f32x4.add (v128.load offset=9304 (local.get $k)) (v128.load offset=9244 (local.get $k))) (v128.load offset=128 (i32.const 0)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (f32x4.add (v128.load offset=9320 (local.get $k)) (v128.load offset=9260 (local.get $k))) (v128.load offset=128 (i32.const 0)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.add (v128.load offset=9308 (local.get $k)) (v128.load offset=9240 (local.get $k))) (v128.load offset=144 (i32.const 0)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (f32x4.add (v128.load offset=9324 (local.get $k)) (v128.load offset=9256 (local.get $k))) (v128.load offset=144 (i32.const 0)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (f32x4.add (v128.load offset=9312 (local.get $k)) (v128.load offset=9236 (local.get $k))) (v128.load offset=160 (i32.const 0)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (f32x4.add (v128.load offset=9328 (local.get $k)) (v128.load offset=9252 (local.get $k))) (v128.load offset=160 (i32.const 0)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.add (v128.load offset=9316 (local.get $k)) (v128.load offset=9232 (local.get $k))) (v128.load offset=176 (i32.const 0)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (f32x4.add (v128.load offset=9332 (local.get $k)) (v128.load offset=9248 (local.get $k))) (v128.load offset=176 (i32.const 0)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (f32x4.add (v128.load offset=9320 (local.get $k)) (v128.load offset=9228 (local.get $k))) (v128.load offset=192 (i32.const 0)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (f32x4.add (v128.load offset=9336 (local.get $k)) (v128.load offset=9244 (local.get $k))) (v128.load offset=192 (i32.const 0)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.add (v128.load offset=9324 (local.get $k)) (v128.load offset=9224 (local.get $k))) (v128.load offset=208 (i32.const 0)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (f32x4.add (v128.load offset=9340 (local.get $k)) (v128.load offset=9240 (local.get $k))) (v128.load offset=208 (i32.const 0)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (f32x4.add (v128.load offset=9328 (local.get $k)) (v128.load offset=9220 (local.get $k))) (v128.load offset=224 (i32.const 0)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (f32x4.add (v128.load offset=9344 (local.get $k)) (v128.load offset=9236 (local.get $k))) (v128.load offset=224 (i32.const 0)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.add (v128.load offset=9332 (local.get $k)) (v128.load offset=9216 (local.get $k))) (v128.load offset=240 (i32.const 0)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (f32x4.add (v128.load offset=9348 (local.get $k)) (v128.load offset=9232 (local.get $k))) (v128.load offset=240 (i32.const 0)))))
        ;; Math.round semantics (floor(x + ½), exact in float32 at these magnitudes), then saturate.
        (v128.store offset=18432 (i32.shr_u (local.get $k) (i32.const 1))
          (i16x8.narrow_i32x4_s
            (i32x4.trunc_sat_f32x4_s (f32x4.floor (f32x4.add (f32x4.add (local.get $acc0) (local.get $acc1)) (v128.const f32x4 0.5 0.5 0.5 0.5))))
            (i32x4.trunc_sat_f32x4_s (f32x4.floor (f32x4.add (f32x4.add (local.get $acc2) (local.get $acc3)) (v128.const f32x4 0.5 0.5 0.5 0.5))))))
        (local.set $k (i32.add (local.get $k) (i32.const 32)))
        (br $out)))
    ;; Drop the consumed samples: entry `outs` of each phase becomes entry 0.
    (memory.copy (i32.const 9216) (i32.add (i32.const 9216) (local.get $kEnd))
      (i32.shl (i32.sub (i32.shr_u (i32.add (local.get $n) (i32.const 1)) (i32.const 1)) (local.get $outs)) (i32.const 2)))
    (memory.copy (i32.const 13824) (i32.add (i32.const 13824) (local.get $kEnd))
      (i32.shl (i32.sub (i32.shr_u (local.get $n) (i32.const 1)) (local.get $outs)) (i32.const 2)))
    (local.get $outs))

  ;; Interpolate. Converts `n` int16 samples from UP_IN to float32 after the 37 history samples
  ;; in UP_WORK, writes 4·n interleaved int16 samples to UP_OUT (per input sample: the centre-tap
  ;; sample twice, then the interpolated one twice) and keeps the last 37 samples as history.
  (func (export "up") (param $n i32)
    (local $i i32) (local $end i32) (local $p i32) (local $pEnd i32) (local $v v128)
    (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128) (local $x v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 1)))
    ;; 8 samples per pass; the last pass may convert up to 7 stale samples past n (never read back
    ;; into a result).
    (block $inDone
      (loop $in
        (br_if $inDone (i32.ge_s (local.get $i) (local.get $end)))
        (local.set $v (v128.load offset=22528 (local.get $i)))
        (v128.store offset=26772 (i32.shl (local.get $i) (i32.const 1)) (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $v))))
        (v128.store offset=26788 (i32.shl (local.get $i) (i32.const 1)) (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $v))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $in)))
    ;; 8 output pairs per pass; $p is the byte offset of work sample p (4·p):
    ;; between[p] = Σ_j 2u_j·(w[18 + p − j] + w[19 + p + j]), direct[p] = w[18 + p].
    (local.set $pEnd (i32.shl (local.get $n) (i32.const 2)))
    (block $outDone
      (loop $out
        (br_if $outDone (i32.ge_s (local.get $p) (local.get $pEnd)))
        (local.set $acc0 (f32x4.mul (f32x4.add (v128.load offset=26696 (local.get $p)) (v128.load offset=26700 (local.get $p))) (v128.load offset=256 (i32.const 0))))
        (local.set $acc2 (f32x4.mul (f32x4.add (v128.load offset=26712 (local.get $p)) (v128.load offset=26716 (local.get $p))) (v128.load offset=256 (i32.const 0))))
        (local.set $acc1 (f32x4.mul (f32x4.add (v128.load offset=26692 (local.get $p)) (v128.load offset=26704 (local.get $p))) (v128.load offset=272 (i32.const 0))))
        (local.set $acc3 (f32x4.mul (f32x4.add (v128.load offset=26708 (local.get $p)) (v128.load offset=26720 (local.get $p))) (v128.load offset=272 (i32.const 0))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.add (v128.load offset=26688 (local.get $p)) (v128.load offset=26708 (local.get $p))) (v128.load offset=288 (i32.const 0)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (f32x4.add (v128.load offset=26704 (local.get $p)) (v128.load offset=26724 (local.get $p))) (v128.load offset=288 (i32.const 0)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (f32x4.add (v128.load offset=26684 (local.get $p)) (v128.load offset=26712 (local.get $p))) (v128.load offset=304 (i32.const 0)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (f32x4.add (v128.load offset=26700 (local.get $p)) (v128.load offset=26728 (local.get $p))) (v128.load offset=304 (i32.const 0)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.add (v128.load offset=26680 (local.get $p)) (v128.load offset=26716 (local.get $p))) (v128.load offset=320 (i32.const 0)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (f32x4.add (v128.load offset=26696 (local.get $p)) (v128.load offset=26732 (local.get $p))) (v128.load offset=320 (i32.const 0)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (f32x4.add (v128.load offset=26676 (local.get $p)) (v128.load offset=26720 (local.get $p))) (v128.load offset=336 (i32.const 0)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (f32x4.add (v128.load offset=26692 (local.get $p)) (v128.load offset=26736 (local.get $p))) (v128.load offset=336 (i32.const 0)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.add (v128.load offset=26672 (local.get $p)) (v128.load offset=26724 (local.get $p))) (v128.load offset=352 (i32.const 0)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (f32x4.add (v128.load offset=26688 (local.get $p)) (v128.load offset=26740 (local.get $p))) (v128.load offset=352 (i32.const 0)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (f32x4.add (v128.load offset=26668 (local.get $p)) (v128.load offset=26728 (local.get $p))) (v128.load offset=368 (i32.const 0)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (f32x4.add (v128.load offset=26684 (local.get $p)) (v128.load offset=26744 (local.get $p))) (v128.load offset=368 (i32.const 0)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.add (v128.load offset=26664 (local.get $p)) (v128.load offset=26732 (local.get $p))) (v128.load offset=384 (i32.const 0)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (f32x4.add (v128.load offset=26680 (local.get $p)) (v128.load offset=26748 (local.get $p))) (v128.load offset=384 (i32.const 0)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (f32x4.add (v128.load offset=26660 (local.get $p)) (v128.load offset=26736 (local.get $p))) (v128.load offset=400 (i32.const 0)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (f32x4.add (v128.load offset=26676 (local.get $p)) (v128.load offset=26752 (local.get $p))) (v128.load offset=400 (i32.const 0)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.add (v128.load offset=26656 (local.get $p)) (v128.load offset=26740 (local.get $p))) (v128.load offset=416 (i32.const 0)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (f32x4.add (v128.load offset=26672 (local.get $p)) (v128.load offset=26756 (local.get $p))) (v128.load offset=416 (i32.const 0)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (f32x4.add (v128.load offset=26652 (local.get $p)) (v128.load offset=26744 (local.get $p))) (v128.load offset=432 (i32.const 0)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (f32x4.add (v128.load offset=26668 (local.get $p)) (v128.load offset=26760 (local.get $p))) (v128.load offset=432 (i32.const 0)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.add (v128.load offset=26648 (local.get $p)) (v128.load offset=26748 (local.get $p))) (v128.load offset=448 (i32.const 0)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (f32x4.add (v128.load offset=26664 (local.get $p)) (v128.load offset=26764 (local.get $p))) (v128.load offset=448 (i32.const 0)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (f32x4.add (v128.load offset=26644 (local.get $p)) (v128.load offset=26752 (local.get $p))) (v128.load offset=464 (i32.const 0)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (f32x4.add (v128.load offset=26660 (local.get $p)) (v128.load offset=26768 (local.get $p))) (v128.load offset=464 (i32.const 0)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.add (v128.load offset=26640 (local.get $p)) (v128.load offset=26756 (local.get $p))) (v128.load offset=480 (i32.const 0)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (f32x4.add (v128.load offset=26656 (local.get $p)) (v128.load offset=26772 (local.get $p))) (v128.load offset=480 (i32.const 0)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (f32x4.add (v128.load offset=26636 (local.get $p)) (v128.load offset=26760 (local.get $p))) (v128.load offset=496 (i32.const 0)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (f32x4.add (v128.load offset=26652 (local.get $p)) (v128.load offset=26776 (local.get $p))) (v128.load offset=496 (i32.const 0)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.add (v128.load offset=26632 (local.get $p)) (v128.load offset=26764 (local.get $p))) (v128.load offset=512 (i32.const 0)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (f32x4.add (v128.load offset=26648 (local.get $p)) (v128.load offset=26780 (local.get $p))) (v128.load offset=512 (i32.const 0)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (f32x4.add (v128.load offset=26628 (local.get $p)) (v128.load offset=26768 (local.get $p))) (v128.load offset=528 (i32.const 0)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (f32x4.add (v128.load offset=26644 (local.get $p)) (v128.load offset=26784 (local.get $p))) (v128.load offset=528 (i32.const 0)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.add (v128.load offset=26624 (local.get $p)) (v128.load offset=26772 (local.get $p))) (v128.load offset=544 (i32.const 0)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (f32x4.add (v128.load offset=26640 (local.get $p)) (v128.load offset=26788 (local.get $p))) (v128.load offset=544 (i32.const 0)))))
        ;; [d0 d1 d2 d3 b0 b1 b2 b3] (saturating narrow), then each pair as d d b b.
        (local.set $x (i16x8.narrow_i32x4_s
          (i32x4.trunc_sat_f32x4_s (v128.load offset=26696 (local.get $p)))
          (i32x4.trunc_sat_f32x4_s (f32x4.floor (f32x4.add (f32x4.add (local.get $acc0) (local.get $acc1)) (v128.const f32x4 0.5 0.5 0.5 0.5))))))
        (v128.store offset=35328 (i32.shl (local.get $p) (i32.const 1))
          (i8x16.shuffle 0 1 0 1 8 9 8 9 2 3 2 3 10 11 10 11 (local.get $x) (local.get $x)))
        (v128.store offset=35344 (i32.shl (local.get $p) (i32.const 1))
          (i8x16.shuffle 4 5 4 5 12 13 12 13 6 7 6 7 14 15 14 15 (local.get $x) (local.get $x)))
        ;; [d0 d1 d2 d3 b0 b1 b2 b3] (saturating narrow), then each pair as d d b b.
        (local.set $x (i16x8.narrow_i32x4_s
          (i32x4.trunc_sat_f32x4_s (v128.load offset=26712 (local.get $p)))
          (i32x4.trunc_sat_f32x4_s (f32x4.floor (f32x4.add (f32x4.add (local.get $acc2) (local.get $acc3)) (v128.const f32x4 0.5 0.5 0.5 0.5))))))
        (v128.store offset=35360 (i32.shl (local.get $p) (i32.const 1))
          (i8x16.shuffle 0 1 0 1 8 9 8 9 2 3 2 3 10 11 10 11 (local.get $x) (local.get $x)))
        (v128.store offset=35376 (i32.shl (local.get $p) (i32.const 1))
          (i8x16.shuffle 4 5 4 5 12 13 12 13 6 7 6 7 14 15 14 15 (local.get $x) (local.get $x)))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (br $out)))
    (memory.copy (i32.const 26624) (i32.add (i32.const 26624) (local.get $pEnd)) (i32.const 148)))
)
