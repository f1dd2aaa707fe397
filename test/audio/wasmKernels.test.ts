import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { availableResamplerKernels, Downsampler, resamplerKernel, Upsampler } from '../../src/audio/resampler.ts';
import { DOWN_TAPS, UP_TAPS } from '../../src/audio/resampler.ts';
import { compileKernels, renderKernelsModule } from '../../src/audio/wasm/build.ts';
import { generateKernelsWat } from '../../src/audio/wasm/generateKernels.ts';
import { concatInt16 } from '../helpers/signal.ts';

/** Deterministic full-scale white noise (xorshift), so both kernels also meet saturation. */
function noise(length: number, seed: number, amplitude = 32768): Int16Array {
  const out = new Int16Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = Math.max(-32768, Math.min(32767, Math.round(((x / 2 ** 32) * 2 - 1) * amplitude)));
  }
  return out;
}

/** Cuts `input` into irregular pieces (multiples of `unit`), some larger than the kernel's chunk. */
function pieces(input: Int16Array, unit: number): Int16Array[] {
  const sizes = [1, 7, 480, 961, 3, 5000, 2, 960, 2049, 33];
  const out: Int16Array[] = [];
  for (let i = 0, s = 0; i < input.length; s++) {
    const size = sizes[s % sizes.length]! * unit;
    out.push(input.subarray(i, i + size));
    i += size;
  }
  return out;
}

function assertClose(actual: Int16Array, expected: Int16Array, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let differing = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    assert.ok(d <= 1, `${label}: sample ${i} differs by ${d}`);
    if (d !== 0) differing++;
  }
  // float32 vs float64 arithmetic only changes a sample when it lands within ~1e-3 of a rounding tie.
  assert.ok(differing <= expected.length / 100, `${label}: ${differing} of ${expected.length} samples differ by 1`);
}

/**
 * AUDIO_RESAMPLER_KERNEL=js runs everything on the fallback (as on a runtime without wasm SIMD). The
 * kernel is chosen at module load, so the fallback is checked in a child process with that variable.
 */
describe('resampler kernels', () => {
  it('falls back to the JavaScript kernel when asked to (AUDIO_RESAMPLER_KERNEL=js)', () => {
    const probe = `
      const { availableResamplerKernels, Downsampler, resamplerKernel, Upsampler } = await import(${JSON.stringify(new URL('../../src/audio/resampler.ts', import.meta.url).href)});
      let refused = false;
      try { new Upsampler({ kernel: 'wasm-simd' }); } catch (error) { refused = /not available/.test(error.message); }
      console.log(JSON.stringify({ resamplerKernel, availableResamplerKernels, downsampler: new Downsampler().kernel, refused }));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {
      env: { ...process.env, AUDIO_RESAMPLER_KERNEL: 'js' },
      encoding: 'utf8',
    });
    assert.equal(child.status, 0, child.stderr);
    assert.deepEqual(JSON.parse(child.stdout.trim()), { resamplerKernel: 'js', availableResamplerKernels: ['js'], downsampler: 'js', refused: true });
  });

  it('uses WebAssembly SIMD by default on this runtime, keeping the JavaScript kernel available', () => {
    assert.equal(resamplerKernel, 'wasm-simd');
    assert.deepEqual([...availableResamplerKernels].sort(), ['js', 'wasm-simd']);
    assert.equal(new Downsampler().kernel, 'wasm-simd');
    assert.equal(new Upsampler({ kernel: 'js' }).kernel, 'js');
  });

  it('ships the WAT the generator writes for the current filter lengths (regenerate: node bin/run.mjs src/audio/wasm/generateKernels.ts)', () => {
    const committed = readFileSync(new URL('../../src/audio/wasm/resamplerKernels.wat', import.meta.url), 'utf8');
    assert.equal(committed, generateKernelsWat(DOWN_TAPS.length, UP_TAPS.length));
  });

  it('ships exactly the bytes the WAT source compiles to (rebuild: node bin/run.mjs src/audio/wasm/build.ts)', async () => {
    const committed = readFileSync(new URL('../../src/audio/wasm/resamplerKernels.wasm.ts', import.meta.url), 'utf8');
    assert.equal(committed, renderKernelsModule(await compileKernels()));
  });

  it('downsamples like the JavaScript kernel (within 1 LSB), across pieces, chunks and interleaved streams', () => {
    const inputs = [noise(2 * 24_000, 1), noise(2 * 24_000, 2, 8000), noise(2 * 24_000, 3, 40_000)];
    const expected = inputs.map((input) => new Downsampler({ kernel: 'js' }).process(input));
    // Three streams fed in turns: every call moves the shared kernel memory to another stream.
    const streams = inputs.map(() => new Downsampler({ kernel: 'wasm-simd' }));
    const split = inputs.map((input) => pieces(input, 2));
    const outputs: Int16Array[][] = inputs.map(() => []);
    for (let p = 0; split.some((s) => p < s.length); p++) {
      for (let s = 0; s < streams.length; s++) if (p < split[s]!.length) outputs[s]!.push(streams[s]!.process(split[s]![p]!));
    }
    for (let s = 0; s < streams.length; s++) assertClose(concatInt16(outputs[s]!), expected[s]!, `stream ${s}`);
  });

  it('upsamples like the JavaScript kernel (within 1 LSB), across pieces, chunks and interleaved streams', () => {
    const inputs = [noise(24_000, 4), noise(24_000, 5, 8000), noise(24_000, 6, 40_000)];
    const expected = inputs.map((input) => new Upsampler({ kernel: 'js' }).process(input));
    const streams = inputs.map(() => new Upsampler({ kernel: 'wasm-simd' }));
    const split = inputs.map((input) => pieces(input, 1));
    const outputs: Int16Array[][] = inputs.map(() => []);
    for (let p = 0; split.some((s) => p < s.length); p++) {
      for (let s = 0; s < streams.length; s++) if (p < split[s]!.length) outputs[s]!.push(streams[s]!.process(split[s]![p]!));
    }
    for (let s = 0; s < streams.length; s++) assertClose(concatInt16(outputs[s]!), expected[s]!, `stream ${s}`);
  });

  it('resets a stream whether or not it holds the shared kernel memory', () => {
    for (const Resampler of [Downsampler, Upsampler]) {
      const input = noise(1920, 7);
      const fresh = new Resampler({ kernel: 'wasm-simd' }).process(input);
      const a = new Resampler({ kernel: 'wasm-simd' });
      const b = new Resampler({ kernel: 'wasm-simd' });
      a.process(noise(1920, 8));
      a.reset(); // a holds the memory
      assert.deepEqual(a.process(input), fresh);
      a.process(noise(1920, 9));
      b.process(noise(1920, 10)); // now b holds it
      a.reset();
      assert.deepEqual(a.process(input), fresh);
    }
  });

  it('writes into a caller-provided buffer and handles empty input', () => {
    const input = noise(1920, 11);
    for (const kernel of availableResamplerKernels) {
      const expected = new Downsampler({ kernel }).process(input);
      const target = new Int16Array(600);
      const result = new Downsampler({ kernel }).process(input, target);
      assert.equal(result.buffer, target.buffer);
      assert.deepEqual(result, expected);
      assert.equal(new Downsampler({ kernel }).process(new Int16Array(0)).length, 0);
      assert.equal(new Upsampler({ kernel }).process(new Int16Array(0)).length, 0);
      assert.throws(() => new Downsampler({ kernel }).process(input, new Int16Array(10)), RangeError);
    }
  });
});
