import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QuietFrames, rmsOf } from '../../src/audio/quietFrames.ts';

const frame = (value: number) => new Int16Array(480).fill(value);

describe('QuietFrames', () => {
  it('calls a frame quiet below −60 dBFS, or 30 dB below the talkspurt’s loud frames', () => {
    const quiet = new QuietFrames();
    assert.equal(quiet.isQuiet(quiet.observe(frame(30))), true, 'below the −60 dBFS floor with nothing loud yet');
    assert.equal(quiet.isQuiet(quiet.observe(frame(200))), false, 'nothing loud yet: 200 is speech');
    quiet.observe(frame(10_000)); // speech at about −10 dBFS
    assert.equal(quiet.isQuiet(rmsOf(frame(300))), true, '30.5 dB below the loud frame: a pause');
    assert.equal(quiet.isQuiet(rmsOf(frame(320))), false, '29.9 dB below: still speech');
    quiet.reset();
    assert.equal(quiet.isQuiet(rmsOf(frame(300))), false, 'a new talkspurt forgets the last one’s level');
  });

  it('lets the loud level decay (by half in about 100 frames), so a speaker who turns quieter is measured again', () => {
    const quiet = new QuietFrames();
    quiet.observe(frame(10_000));
    for (let i = 0; i < 100; i++) quiet.observe(frame(0));
    assert.equal(quiet.isQuiet(rmsOf(frame(200))), false, 'after 2 s the level is about 5,000: 200 is 28 dB below it');
  });
});
