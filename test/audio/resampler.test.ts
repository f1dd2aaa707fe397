import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DISCORD_FRAME_SAMPLES, DISCORD_SAMPLE_RATE, REALTIME_FRAME_SAMPLES, REALTIME_SAMPLE_RATE } from '../../src/audio/format.ts';
import { availableResamplerKernels, Downsampler, Upsampler, type ResamplerKernel } from '../../src/audio/resampler.ts';
import { channel, chunks, concatInt16, sine, toneAmplitude } from '../helpers/signal.ts';

const tail = (signal: Float64Array | Int16Array, n: number) => signal.subarray(signal.length - n);
const db = (ratio: number) => 20 * Math.log10(ratio);

const AMPLITUDE = 16384; // −6 dBFS
/** 1 s of signal; levels are measured on the last 100 ms (2400 samples at 24 kHz, exact 10 Hz bins). */
const SECONDS = 1;
const MEASURE_24K = 2400;
const MEASURE_48K = 4800;

// Every property below is checked for every kernel this runtime has (WebAssembly SIMD and the
// JavaScript fallback): each is a complete resampler on its own.
for (const kernel of availableResamplerKernels) describeKernel(kernel);

function describeKernel(kernel: ResamplerKernel): void {
/** Runs a 48 kHz stereo sine through a Downsampler frame by frame; returns the 24 kHz mono output. */
function downsampleTone(hz: number, amplitude = AMPLITUDE): Int16Array {
  const input = sine({ hz, rate: DISCORD_SAMPLE_RATE, length: DISCORD_SAMPLE_RATE * SECONDS, amplitude, channels: 2 });
  const down = new Downsampler({ kernel });
  return concatInt16(chunks(input, DISCORD_FRAME_SAMPLES * 2).map((frame) => down.process(frame)));
}

/** Runs a 24 kHz mono sine through an Upsampler frame by frame; returns the 48 kHz stereo output. */
function upsampleTone(hz: number, amplitude = AMPLITUDE): Int16Array {
  const input = sine({ hz, rate: REALTIME_SAMPLE_RATE, length: REALTIME_SAMPLE_RATE * SECONDS, amplitude });
  const up = new Upsampler({ kernel });
  return concatInt16(chunks(input, REALTIME_FRAME_SAMPLES).map((frame) => up.process(frame)));
}


describe(`Downsampler (${kernel})`, () => {
  it('turns a 20 ms stereo frame into a 20 ms mono frame', () => {
    const out = new Downsampler({ kernel }).process(new Int16Array(DISCORD_FRAME_SAMPLES * 2));
    assert.equal(out.length, REALTIME_FRAME_SAMPLES);
  });

  it('averages left and right', () => {
    const down = new Downsampler({ kernel });
    const frame = new Int16Array(DISCORD_FRAME_SAMPLES * 2);
    for (let i = 0; i < frame.length; i += 2) {
      frame[i] = 1000;
      frame[i + 1] = -3000;
    }
    let out: Int16Array = new Int16Array(0);
    for (let i = 0; i < 5; i++) out = down.process(frame);
    assert.ok(out.every((s) => s === -1000), 'DC (1000 + −3000) / 2 settles at exactly −1000');
  });

  it('keeps the passband flat within ±0.1 dB up to 11 kHz', () => {
    for (const hz of [100, 440, 1000, 3000, 5000, 7000, 9000, 10_000, 10_500, 11_000]) {
      const gain = db(toneAmplitude(tail(downsampleTone(hz), MEASURE_24K), hz, REALTIME_SAMPLE_RATE) / AMPLITUDE);
      assert.ok(Math.abs(gain) <= 0.1, `${hz} Hz: gain ${gain.toFixed(4)} dB`);
    }
  });

  it('puts tones above 12.5 kHz (which alias into 0–11.5 kHz) at least 70 dB below a 1 kHz tone of the same level', () => {
    const reference = toneAmplitude(tail(downsampleTone(1000), MEASURE_24K), 1000, REALTIME_SAMPLE_RATE);
    for (const hz of [12_500, 12_600, 13_000, 14_000, 15_000, 18_000, 20_000, 23_500]) {
      const alias = REALTIME_SAMPLE_RATE - hz; // where a 48 kHz tone above 12 kHz folds to at 24 kHz
      const output = tail(downsampleTone(hz), MEASURE_24K);
      const rejection = db(reference / Math.max(toneAmplitude(output, alias, REALTIME_SAMPLE_RATE), 1e-9));
      assert.ok(rejection >= 70, `${hz} Hz → ${alias} Hz alias only ${rejection.toFixed(1)} dB down`);
    }
  });

  it('gives the same samples frame by frame as in one piece (state carried across frames)', () => {
    const input = sine({ hz: 1234, rate: DISCORD_SAMPLE_RATE, length: 48_000, amplitude: 20_000, channels: 2 });
    const whole = new Downsampler({ kernel }).process(input);
    const framed = new Downsampler({ kernel });
    // Irregular piece sizes, including odd numbers of stereo pairs, must not change the result.
    const pieces: Int16Array[] = [];
    for (let i = 0, size = 2; i < input.length; i += size, size = ((size * 7) % 1900) + 2) {
      pieces.push(framed.process(input.subarray(i, i + size)));
    }
    const joined = concatInt16(pieces);
    assert.equal(joined.length, whole.length);
    for (let i = 0; i < whole.length; i++) assert.ok(Math.abs(joined[i]! - whole[i]!) <= 1, `sample ${i}`);
  });

  it('saturates instead of wrapping around on full-scale square waves', () => {
    // A full-scale square wave overshoots (Gibbs) after low-pass filtering: the ideal output leaves
    // the int16 range. The same input at half level stays in range and shows the ideal shape.
    const square = (level: number) => {
      const frame = new Int16Array(DISCORD_FRAME_SAMPLES * 2 * 3);
      for (let i = 0; i < frame.length / 2; i++) frame[2 * i] = frame[2 * i + 1] = Math.floor(i / 20) % 2 === 0 ? level : -level;
      return frame;
    };
    const full = new Downsampler({ kernel }).process(square(32767));
    const half = new Downsampler({ kernel }).process(square(16383));
    let clipped = 0;
    for (let i = 0; i < full.length; i++) {
      const ideal = half[i]! * (32767 / 16383);
      const expected = Math.max(-32768, Math.min(32767, ideal));
      if (expected !== ideal) clipped++;
      assert.ok(Math.abs(full[i]! - expected) <= 3, `sample ${i}: ${full[i]} instead of ≈ ${expected.toFixed(0)}`);
    }
    assert.ok(clipped > 0, 'the test signal really overshoots');
  });

  it('starts from silence again after reset()', () => {
    const down = new Downsampler({ kernel });
    const first = down.process(sine({ hz: 500, rate: DISCORD_SAMPLE_RATE, length: 960, channels: 2 }));
    down.process(sine({ hz: 3000, rate: DISCORD_SAMPLE_RATE, length: 960, channels: 2 }));
    down.reset();
    const again = down.process(sine({ hz: 500, rate: DISCORD_SAMPLE_RATE, length: 960, channels: 2 }));
    assert.deepEqual(again, first);
  });

  it('rejects an odd interleaved length', () => {
    assert.throws(() => new Downsampler({ kernel }).process(new Int16Array(3)), RangeError);
  });
});

describe(`Upsampler (${kernel})`, () => {
  it('turns a 20 ms mono frame into a 20 ms stereo frame with equal channels', () => {
    const out = new Upsampler({ kernel }).process(sine({ hz: 700, rate: REALTIME_SAMPLE_RATE, length: REALTIME_FRAME_SAMPLES }));
    assert.equal(out.length, DISCORD_FRAME_SAMPLES * 2);
    for (let i = 0; i < out.length; i += 2) assert.equal(out[i], out[i + 1]);
  });

  it('keeps the passband flat within ±0.1 dB up to 11 kHz', () => {
    for (const hz of [100, 1000, 4000, 8000, 10_000, 10_500, 11_000]) {
      const left = tail(channel(upsampleTone(hz), 2, 0), MEASURE_48K);
      const gain = db(toneAmplitude(left, hz, DISCORD_SAMPLE_RATE) / AMPLITUDE);
      assert.ok(Math.abs(gain) <= 0.1, `${hz} Hz: gain ${gain.toFixed(4)} dB`);
    }
  });

  it('keeps the images of content up to 11.5 kHz (at 12.5 kHz and above) at least 70 dB down', () => {
    for (const hz of [1000, 3000, 6000, 9000, 10_000, 11_000, 11_400, 11_500]) {
      const left = tail(channel(upsampleTone(hz), 2, 0), MEASURE_48K);
      const tone = toneAmplitude(left, hz, DISCORD_SAMPLE_RATE);
      const image = toneAmplitude(left, REALTIME_SAMPLE_RATE - hz, DISCORD_SAMPLE_RATE);
      const rejection = db(tone / Math.max(image, 1e-9));
      assert.ok(rejection >= 70, `${hz} Hz: image at ${REALTIME_SAMPLE_RATE - hz} Hz only ${rejection.toFixed(1)} dB down`);
    }
  });

  it('gives the same samples frame by frame as in one piece', () => {
    const input = sine({ hz: 2345, rate: REALTIME_SAMPLE_RATE, length: 24_000, amplitude: 30_000 });
    const whole = new Upsampler({ kernel }).process(input);
    const framed = new Upsampler({ kernel });
    const joined = concatInt16(chunks(input, 481).map((piece) => framed.process(piece)));
    assert.equal(joined.length, whole.length);
    for (let i = 0; i < whole.length; i++) assert.ok(Math.abs(joined[i]! - whole[i]!) <= 1, `sample ${i}`);
  });

  it('saturates instead of wrapping around', () => {
    const square = (level: number) => {
      const input = new Int16Array(REALTIME_FRAME_SAMPLES * 2);
      for (let i = 0; i < input.length; i++) input[i] = Math.floor(i / 6) % 2 === 0 ? level : -level;
      return input;
    };
    const full = new Upsampler({ kernel }).process(square(32767));
    const half = new Upsampler({ kernel }).process(square(16383));
    let clipped = 0;
    for (let i = 0; i < full.length; i++) {
      const ideal = half[i]! * (32767 / 16383);
      const expected = Math.max(-32768, Math.min(32767, ideal));
      if (expected !== ideal) clipped++;
      assert.ok(Math.abs(full[i]! - expected) <= 3, `sample ${i}: ${full[i]} instead of ≈ ${expected.toFixed(0)}`);
    }
    assert.ok(clipped > 0, 'the test signal really overshoots');
  });

  it('writes into a caller-provided buffer', () => {
    const input = sine({ hz: 440, rate: REALTIME_SAMPLE_RATE, length: REALTIME_FRAME_SAMPLES });
    const expected = new Upsampler({ kernel }).process(input);
    const target = new Int16Array(DISCORD_FRAME_SAMPLES * 2);
    const result = new Upsampler({ kernel }).process(input, target);
    assert.equal(result, target);
    assert.deepEqual(target, expected);
    assert.throws(() => new Upsampler({ kernel }).process(input, new Int16Array(10)), RangeError);
  });
});
}
