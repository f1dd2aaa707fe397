import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convertPcm } from '../../src/audio/convert.ts';

const tone = (rate: number, channels: number, hz: number, seconds: number, amplitude = 10_000) => {
  const frames = Math.round(rate * seconds);
  const out = new Int16Array(frames * channels);
  for (let i = 0; i < frames; i++) out.fill(Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate)), i * channels, (i + 1) * channels);
  return out;
};
const rms = (pcm: Int16Array, channels: number, channel = 0) => {
  let sum = 0;
  let n = 0;
  // Skip the first and last 10%: the filter's edges.
  const frames = pcm.length / channels;
  for (let i = Math.floor(frames * 0.1); i < Math.floor(frames * 0.9); i++, n++) sum += pcm[i * channels + channel]! ** 2;
  return Math.sqrt(sum / n);
};
const crossingsHz = (pcm: Int16Array, channels: number, rate: number) => {
  let crossings = 0;
  const frames = pcm.length / channels;
  for (let i = 1; i < frames; i++) if ((pcm[(i - 1) * channels]! < 0) !== (pcm[i * channels]! < 0)) crossings++;
  return crossings / 2 / (frames / rate);
};

test('44.1 kHz stereo → 48 kHz stereo: length, pitch and level kept, channels equal', () => {
  const out = convertPcm(tone(44_100, 2, 1000, 1), 2, 44_100, 48_000, 2);
  assert.equal(out.length, 48_000 * 2);
  assert.ok(Math.abs(crossingsHz(out, 2, 48_000) - 1000) < 5, `pitch ${crossingsHz(out, 2, 48_000)} Hz`);
  const level = rms(out, 2) / (10_000 / Math.SQRT2);
  assert.ok(level > 0.97 && level < 1.03, `level ${level}`);
  for (let i = 0; i < out.length; i += 2) assert.equal(out[i], out[i + 1]);
});

test('48 kHz → 24 kHz mono removes what 24 kHz cannot hold (a 20 kHz tone) and keeps speech frequencies', () => {
  const alias = convertPcm(tone(48_000, 1, 20_000, 0.5), 1, 48_000, 24_000, 1);
  assert.equal(alias.length, 12_000);
  assert.ok(20 * Math.log10(rms(alias, 1) / (10_000 / Math.SQRT2)) < -40, 'a 20 kHz tone is gone (below -40 dB)');
  const voice = convertPcm(tone(48_000, 1, 300, 0.5), 1, 48_000, 24_000, 1);
  assert.ok(Math.abs(rms(voice, 1) / (10_000 / Math.SQRT2) - 1) < 0.03);
});

test('same rate and channels: an untouched copy', () => {
  const input = tone(24_000, 1, 440, 0.1);
  const out = convertPcm(input, 1, 24_000, 24_000, 1);
  assert.deepEqual(out, input);
  assert.notEqual(out, input);
});
