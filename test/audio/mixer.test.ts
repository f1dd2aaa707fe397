import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REALTIME_FRAME_SAMPLES } from '../../src/audio/format.ts';
import { SpeakerMixer, type MixedFrame, type SpeakerMixerOptions } from '../../src/audio/mixer.ts';

const N = REALTIME_FRAME_SAMPLES;

/** A frame whose every sample is `value`: the output then shows sample-exactly where it went. */
const flat = (value: number) => new Int16Array(N).fill(value);
/** Speaker frame k carries the value 100·(k+1) (+ `offset`), never 0. */
const valueOf = (k: number, offset = 0) => 100 * (k + 1) + offset;

interface Arrival {
  speaker: string;
  /** Sequence number of the frame in the speaker's stream (its RTP timestamp is base + 960·k). */
  k: number;
  arrivalMs: number;
  pcm?: Int16Array;
  rtp?: number | null; // null: no timestamp
}

/**
 * Plays a scenario on a simulated clock: at each tick t = 20·n ms, every arrival with
 * arrivalMs ≤ t is pushed (in arrival order, stable), then the mixer is pulled at t.
 */
function run(arrivals: Arrival[], ticks: number, options?: SpeakerMixerOptions, rtpBase = 123_456) {
  const mixer = new SpeakerMixer(options);
  const pending = [...arrivals].sort((a, b) => a.arrivalMs - b.arrivalMs);
  const out: MixedFrame[] = [];
  for (let n = 0; n < ticks; n++) {
    const now = 20 * n;
    while (pending.length > 0 && pending[0]!.arrivalMs <= now) {
      const a = pending.shift()!;
      const rtpTimestamp = a.rtp === null ? undefined : (a.rtp ?? (rtpBase + 960 * a.k) >>> 0);
      mixer.push(a.speaker, a.pcm ?? flat(valueOf(a.k)), { rtpTimestamp, arrivalMs: a.arrivalMs });
    }
    out.push(mixer.pull(now));
  }
  return { mixer, out };
}

/** The constant value of each output frame (throws if a frame is not constant: misaligned audio). */
function frameValues(out: MixedFrame[]): number[] {
  return out.map((f, n) => {
    const v = f.pcm[0]!;
    assert.ok(f.pcm.every((s) => s === v), `output frame ${n} is not one whole input frame`);
    return v;
  });
}

/** Expected values: frame k of the stream at output frame k + delay, silence elsewhere. */
function expectedValues(ticks: number, delay: number, frames: number[], offset = 0): number[] {
  const expected = new Array<number>(ticks).fill(0);
  for (const k of frames) if (k + delay < ticks) expected[k + delay] = valueOf(k, offset);
  return expected;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
/** A deterministic jitter pattern in [0, 55) ms. */
const jitter = (k: number) => (k * 37) % 55;

describe('SpeakerMixer', () => {
  it('plays a steady speaker 60 ms (the jitter buffer) after its first frame arrives', () => {
    const arrivals = range(0, 20).map((k) => ({ speaker: 'a', k, arrivalMs: 20 * k }));
    const { out } = run(arrivals, 26);
    assert.deepEqual(frameValues(out), expectedValues(26, 3, range(0, 20)));
    assert.deepEqual(out.map((f) => f.frameIndex), range(0, 26));
    assert.deepEqual(out[5]!.contributors, ['a']);
    assert.equal(out[2]!.silent, true);
    assert.deepEqual(out[2]!.contributors, []);
  });

  it('absorbs jitter below the buffer delay, and puts reordered frames back in order', () => {
    const arrivals = range(0, 30).map((k) => ({ speaker: 'a', k, arrivalMs: 20 * k + (k === 0 ? 0 : jitter(k)) }));
    // Frames 10 and 11 arrive swapped; 20–22 arrive in reverse order together.
    arrivals[10]!.arrivalMs = 20 * 11 + 10;
    arrivals[11]!.arrivalMs = 20 * 11 + 5;
    for (const k of [20, 21, 22]) arrivals[k]!.arrivalMs = 20 * 22 + 30 - k;
    const { out, mixer } = run(arrivals, 36);
    assert.deepEqual(frameValues(out), expectedValues(36, 3, range(0, 30)));
    assert.deepEqual(mixer.stats().speakers.a, {
      received: 30, contributed: 30, late: 0, duplicate: 0, overflow: 0, reanchors: 0, bufferedMs: 0,
    });
  });

  it('keeps lost frames as silence and drops duplicates and late frames, counting them', () => {
    const frames = range(0, 20).filter((k) => k !== 7); // frame 7 is lost
    const arrivals: Arrival[] = frames.map((k) => ({ speaker: 'a', k, arrivalMs: 20 * k }));
    arrivals.push({ speaker: 'a', k: 4, arrivalMs: 20 * 4 + 15 }); // duplicate, on time
    arrivals.push({ speaker: 'a', k: 2, arrivalMs: 20 * 9 }); // duplicate, long after it played
    arrivals.find((a) => a.k === 12)!.arrivalMs = 20 * 15 + 1; // after its playout (tick 15): late
    const { out, mixer } = run(arrivals, 26);
    assert.deepEqual(frameValues(out), expectedValues(26, 3, frames.filter((k) => k !== 12)));
    const stats = mixer.stats().speakers.a!;
    assert.equal(stats.duplicate, 2);
    assert.equal(stats.late, 1);
    assert.equal(stats.reanchors, 0);
  });

  it('keeps a pause as silence when timestamps continue through it', () => {
    const frames = [...range(0, 10), ...range(60, 70)]; // 1 s of nothing between frames 9 and 60
    const arrivals = frames.map((k) => ({ speaker: 'a', k, arrivalMs: 20 * k + jitter(k) }));
    arrivals[0]!.arrivalMs = 0;
    const { out, mixer } = run(arrivals, 75);
    // After the pause the speaker is re-anchored at arrival + 60 ms; with jitter ≤ 54 ms that can
    // put frame 60 at most one frame later than its timestamp says, never earlier.
    const values = frameValues(out);
    const resumeAt = values.indexOf(valueOf(60));
    assert.ok(resumeAt === 63 || resumeAt === 64, `resumed at ${resumeAt}`);
    assert.deepEqual(values, expectedValues(75, 3, range(0, 10)).map((v, n) => (n >= resumeAt ? expectedValues(75, resumeAt - 60, range(60, 70))[n]! : v)));
    assert.equal(mixer.stats().speakers.a!.reanchors, 1);
  });

  it('re-anchors after a pause whose timestamps did not advance (never compressing the silence)', () => {
    const first = range(0, 10).map((k) => ({ speaker: 'a', k, arrivalMs: 20 * k }));
    // The sender resumes 1 s later but its timestamps continue from frame 10.
    const second = range(10, 20).map((k) => ({ speaker: 'a', k, arrivalMs: 1000 + 20 * (k - 10) }));
    const { out, mixer } = run([...first, ...second], 70);
    const expected = expectedValues(70, 3, range(0, 10));
    for (const k of range(10, 20)) expected[50 + (k - 10) + 3] = valueOf(k);
    assert.deepEqual(frameValues(out), expected);
    assert.equal(mixer.stats().speakers.a!.reanchors, 1);
  });

  it('re-anchors when a sender restarts its timestamps far behind', () => {
    const first = range(0, 10).map((k) => ({ speaker: 'a', k, arrivalMs: 20 * k }));
    // Then, 100 ms later (shorter than a pause), timestamps restart one minute back (and wrap).
    const restart = (123_456 - 48_000 * 60) >>> 0;
    const second = range(0, 5).map((k) => ({ speaker: 'a', k, arrivalMs: 300 + 20 * k, rtp: (restart + 960 * k) >>> 0, pcm: flat(7 + k) }));
    const { out, mixer } = run([...first, ...second], 25);
    const values = frameValues(out);
    assert.deepEqual(values.slice(18, 23), [7, 8, 9, 10, 11]); // arrival 300 ms + 60 ms = frame 18
    assert.deepEqual(values.slice(13, 18), [0, 0, 0, 0, 0]);
    assert.equal(mixer.stats().speakers.a!.late, 0);
    assert.equal(mixer.stats().speakers.a!.reanchors, 1);
  });

  it('re-anchors after a pause just over reanchorAfterGapMs even when the timestamps say to wait longer', () => {
    // Frames 0–4 play at output frames 3–7; the speaker is then silent for 300 ms (the default
    // threshold is 200 ms) and its clock says 500 ms passed (a sender whose clock runs apart from
    // ours). By timestamp frame 29 would wait until output frame 32; re-anchored, it plays 60 ms
    // after it arrived (380 ms → output frame 22).
    const arrivals: Arrival[] = range(0, 5).map((k) => ({ speaker: 'a', k, arrivalMs: 20 * k }));
    arrivals.push({ speaker: 'a', k: 29, arrivalMs: 80 + 300 });
    const { out, mixer } = run(arrivals, 35);
    const expected = expectedValues(35, 3, range(0, 5));
    expected[22] = valueOf(29);
    assert.deepEqual(frameValues(out), expected);
    assert.equal(mixer.stats().speakers.a!.reanchors, 1);
  });

  it('re-anchors a frame that, with nothing buffered and no pause, would land beyond the buffer bound', () => {
    // Frames 0–2 play at output frames 3–5. 80 ms after frame 2 (no pause), a frame arrives whose
    // timestamp is 2 s ahead — past the 1 s bound. It is re-anchored (plays 60 ms after arriving,
    // output frame 9), not dropped as overflow.
    const arrivals: Arrival[] = range(0, 3).map((k) => ({ speaker: 'a', k, arrivalMs: 20 * k }));
    arrivals.push({ speaker: 'a', k: 102, arrivalMs: 120 });
    const { out, mixer } = run(arrivals, 12);
    const expected = expectedValues(12, 3, range(0, 3));
    expected[9] = valueOf(102);
    assert.deepEqual(frameValues(out), expected);
    const stats = mixer.stats().speakers.a!;
    assert.equal(stats.overflow, 0);
    assert.equal(stats.reanchors, 1);
  });

  it('places frames by timestamp to the sample, across the 2^32 wrap', () => {
    const base = 2 ** 32 - 960 * 2; // wraps after the second frame
    const arrivals: Arrival[] = [
      { speaker: 'a', k: 0, arrivalMs: 0, rtp: base },
      { speaker: 'a', k: 1, arrivalMs: 20, rtp: base + 960 },
      // 10 ms later than the frame grid (480 ticks at 48 kHz = 240 output samples), after the wrap.
      { speaker: 'a', k: 2, arrivalMs: 45, rtp: (base + 960 * 2 + 480) % 2 ** 32 },
    ];
    const { out } = run(arrivals, 8);
    assert.ok(out[3]!.pcm.every((s) => s === valueOf(0)));
    assert.ok(out[4]!.pcm.every((s) => s === valueOf(1)));
    assert.ok(out[5]!.pcm.subarray(0, 240).every((s) => s === 0));
    assert.ok(out[5]!.pcm.subarray(240).every((s) => s === valueOf(2)));
    assert.ok(out[6]!.pcm.subarray(0, 240).every((s) => s === valueOf(2)));
    assert.ok(out[6]!.pcm.subarray(240).every((s) => s === 0));
    assert.deepEqual(out[6]!.contributors, ['a']);
  });

  it('sums simultaneous speakers with saturation and records who contributed', () => {
    const a = range(0, 10).map((k) => ({ speaker: 'a', k, arrivalMs: 20 * k, pcm: flat(k < 5 ? 1000 : 25_000) }));
    // b starts 100 ms later, so its own anchor is 5 frames later.
    const b = range(0, 10).map((k) => ({ speaker: 'b', k, arrivalMs: 100 + 20 * k, pcm: flat(k < 5 ? -300 : -25_000) }));
    const c = range(0, 10).map((k) => ({ speaker: 'c', k, arrivalMs: 100 + 20 * k, pcm: flat(0) })); // silent frames
    const { out, mixer } = run([...a, ...b, ...c], 20);
    const values = frameValues(out);
    assert.deepEqual(values.slice(3, 8), [1000, 1000, 1000, 1000, 1000]);
    assert.deepEqual(values.slice(8, 10), [25_000 - 300, 25_000 - 300]); // a 5–6 + b 0–1
    assert.equal(values[10], 25_000 - 300); // a 7 + b 2
    assert.deepEqual(values.slice(13, 18), [-25_000, -25_000, -25_000, -25_000, -25_000]);
    assert.deepEqual(out[8]!.contributors, ['a', 'b']);
    assert.deepEqual(out[14]!.contributors, ['b'], 'c only sent silence');
    assert.equal(mixer.speakerCount, 3);

    const loud = run(
      [
        { speaker: 'x', k: 0, arrivalMs: 0, pcm: flat(30_000) },
        { speaker: 'y', k: 0, arrivalMs: 0, pcm: flat(30_000) },
        { speaker: 'x', k: 1, arrivalMs: 20, pcm: flat(-30_000) },
        { speaker: 'y', k: 1, arrivalMs: 20, pcm: flat(-30_000) },
      ],
      6,
    );
    assert.deepEqual(frameValues(loud.out).slice(3, 5), [32_767, -32_768]);
  });

  it('places frames without timestamps in arrival order, keeping gaps as silence', () => {
    const arrivals: Arrival[] = range(0, 10).map((k) => ({ speaker: 'a', k, arrivalMs: 20 * k + jitter(k), rtp: null }));
    arrivals[0]!.arrivalMs = 0;
    // A pause: frames 10–14 arrive 400 ms later than the grid.
    for (const k of range(10, 15)) arrivals.push({ speaker: 'a', k, arrivalMs: 20 * k + 400, rtp: null });
    const { out, mixer } = run(arrivals, 40);
    const expected = expectedValues(40, 3, range(0, 10));
    for (const k of range(10, 15)) expected[k + 20 + 3] = valueOf(k);
    assert.deepEqual(frameValues(out), expected);
    assert.equal(mixer.stats().speakers.a!.reanchors, 1);
  });

  it('without timestamps, a frame arriving just as the previous one finished playing continues it (no re-anchor)', () => {
    // Frame 0 arrives at 0 ms and plays at output frame 3 (ends at the start of frame 4). Frame 1
    // arrives at 80 ms, when the playout point is exactly there: it continues at frame 4.
    const arrivals: Arrival[] = [
      { speaker: 'a', k: 0, arrivalMs: 0, rtp: null },
      { speaker: 'a', k: 1, arrivalMs: 80, rtp: null },
    ];
    const { out, mixer } = run(arrivals, 10);
    assert.deepEqual(frameValues(out), expectedValues(10, 3, [0, 1]));
    assert.equal(mixer.stats().speakers.a!.reanchors, 0);
  });

  it('bounds a flooding speaker to maxBufferedMs and keeps playing it in real time', () => {
    const flood = range(0, 500).map((k) => ({ speaker: 'a', k, arrivalMs: 0 }));
    const { out, mixer } = run(flood, 10, { maxBufferedMs: 200 });
    const stats = mixer.stats().speakers.a!;
    // Frames 0–6 fit between the anchor (frame 3) and 200 ms past the playout point (frame 10).
    assert.equal(stats.overflow, 500 - 7);
    assert.deepEqual(frameValues(out), expectedValues(10, 3, range(0, 7)));

    const untimed = run(range(0, 500).map((k) => ({ speaker: 'a', k, arrivalMs: 0, rtp: null })), 10, { maxBufferedMs: 200 });
    assert.equal(untimed.mixer.stats().speakers.a!.overflow, 500 - 7);
    assert.ok(untimed.mixer.stats().speakers.a!.bufferedMs <= 200);
  });

  it('forgets a removed speaker', () => {
    const mixer = new SpeakerMixer();
    mixer.push('a', flat(5), { rtpTimestamp: 0, arrivalMs: 0 });
    mixer.push('b', flat(6), { rtpTimestamp: 0, arrivalMs: 0 });
    assert.equal(mixer.speakerCount, 2);
    mixer.removeSpeaker('a');
    assert.equal(mixer.speakerCount, 1);
    const frames = [0, 20, 40, 60].map((t) => mixer.pull(t));
    assert.deepEqual(frames[3]!.contributors, ['b']);
    assert.equal(frames[3]!.pcm[0], 6);
    assert.deepEqual(Object.keys(mixer.stats().speakers), ['b']);
  });
  it('copies a lone speaker sample-exactly whatever its frame sizes, and never aliases pushed frames', () => {
    // Frames of 300 samples straddle the 480-sample output frames: some output frames hold one
    // input frame (the copy path), others two (the summing path); both must give the same stream.
    const mixer = new SpeakerMixer({ jitterBufferMs: 0 });
    const pushed: Int16Array[] = [];
    for (let k = 0; k < 16; k++) {
      const frame = new Int16Array(300);
      for (let i = 0; i < frame.length; i++) frame[i] = ((k * 300 + i) % 2000) - 1000;
      pushed.push(frame);
      mixer.push('a', frame, { arrivalMs: 0 });
    }
    const outputs = Array.from({ length: 10 }, (_, n) => mixer.pull(20 * n));
    const expected = new Int16Array(16 * 300);
    for (let i = 0; i < expected.length; i++) expected[i] = (i % 2000) - 1000;
    const joined = new Int16Array(outputs.length * N);
    outputs.forEach((f, n) => joined.set(f.pcm, n * N));
    assert.deepEqual(joined.subarray(0, expected.length), expected);
    assert.ok(joined.subarray(expected.length).every((s) => s === 0));
    // The output is the mixer's own copy: changing a pushed frame afterwards changes nothing.
    for (const frame of pushed) frame.fill(7);
    const again = new Int16Array(outputs.length * N);
    outputs.forEach((f, n) => again.set(f.pcm, n * N));
    assert.deepEqual(again, joined);
    assert.deepEqual(outputs.map((f) => f.contributors), Array.from({ length: 10 }, () => ['a']));
  });

  it('hands out a new, zero-filled array for every silent frame', () => {
    const mixer = new SpeakerMixer();
    const frames = Array.from({ length: 80 }, (_, n) => mixer.pull(20 * n));
    for (const f of frames) {
      assert.ok(f.silent && f.pcm.length === N && f.pcm.every((s) => s === 0));
      f.pcm.fill(1); // a consumer scribbling on its frame must not reach any other frame
    }
    assert.ok(mixer.pull(20 * 80).pcm.every((s) => s === 0));
    assert.equal(new Set(frames.map((f) => f.pcm)).size, frames.length);
  });
});
