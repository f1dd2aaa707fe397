import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OPUS_SILENCE_FRAME, REALTIME_FRAME_SAMPLES } from '../../src/audio/format.ts';
import type { JitterEstimatorOptions } from '../../src/audio/jitterEstimator.ts';
import { SpeakerJitterBuffer, type FrameDecoder } from '../../src/audio/speakerJitterBuffer.ts';
import { prng } from '../../sim/speech.ts';

const N = REALTIME_FRAME_SAMPLES;
const BASE_TS = 123_456;

/** Packet of frame k: its value is 100·(k + 1), never 0. */
const packet = (k: number) => Buffer.from(new Int16Array([100 * (k + 1)]).buffer);
const valueOf = (k: number) => 100 * (k + 1);
/** A concealed frame shows as −1 (or −(value of the next packet) when FEC had it). */
const CONCEALED = -1;

/** A decoder that makes every output frame show which packet it came from, and logs its calls. */
function fakeDecoder() {
  const log: string[] = [];
  let destroyed = 0;
  let fec = 0;
  const decoder: FrameDecoder = {
    get fecRecoveredFrames() {
      return fec;
    },
    decode(p) {
      const end = p.equals(OPUS_SILENCE_FRAME);
      const value = end ? 0 : p.readInt16LE(0);
      log.push(end ? 'end' : String(value / 100 - 1));
      return new Int16Array(N).fill(value);
    },
    conceal(next) {
      log.push(next ? `fec(${next.readInt16LE(0) / 100 - 1})` : 'plc');
      if (next) fec++;
      return new Int16Array(N).fill(next ? -next.readInt16LE(0) : CONCEALED);
    },
    destroy: () => void destroyed++,
  };
  return { decoder, log, destroyed: () => destroyed };
}

interface Arrival {
  k: number;
  at: number;
  /** Default: BASE_TS + 960·k; null: no RTP timestamp known. */
  ts?: number | null;
  payload?: Buffer;
}

/**
 * Plays arrivals on a simulated 20 ms clock: at tick n (t = 20·n) every arrival with at ≤ t is
 * inserted (in arrival order), then output frame n is taken. Returns each frame's value (0 = none).
 */
function run(arrivals: Arrival[], ticks: number, options: { jitter?: JitterEstimatorOptions; maxBufferedMs?: number; maxConcealedRun?: number; stalledTicks?: Set<number> } = {}) {
  const { decoder, log, destroyed } = fakeDecoder();
  const clock = { nextFrameIndex: 0, nextFrameMs: undefined as number | undefined, pullLateMs: 0 };
  const { stalledTicks, ...bufferOptions } = options;
  const buffer = new SpeakerJitterBuffer({ decoder, clock, ...bufferOptions });
  const pending = [...arrivals].sort((a, b) => a.at - b.at);
  const values: number[] = [];
  const decodedOnArrival: number[] = [];
  for (let n = 0; n < ticks; n++) {
    const now = 20 * n;
    while (pending.length > 0 && pending[0]!.at <= now) {
      const a = pending.shift()!;
      const timestamp = a.ts === null ? undefined : (a.ts ?? BASE_TS + 960 * a.k) >>> 0;
      decodedOnArrival.push(buffer.insert(a.payload ?? packet(a.k), { timestamp, arrivalMs: a.at }).length);
    }
    clock.pullLateMs = stalledTicks?.has(n) ? 60 : 0;
    const frame = buffer.take(n);
    if (frame) assert.ok(frame.every((s) => s === frame[0]), `frame ${n} is one whole decoded frame`);
    values.push(frame ? frame[0]! : 0);
    clock.nextFrameIndex = n + 1;
    clock.nextFrameMs = now + 20;
  }
  return { values, log, buffer, stats: buffer.stats(), destroyed, decodedOnArrival };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
/** Frame k at output frame k + delay, 0 elsewhere. */
function expected(ticks: number, delay: number, frames: number[], overrides: Record<number, number> = {}): number[] {
  const out = new Array<number>(ticks).fill(0);
  for (const k of frames) if (k + delay < ticks) out[k + delay] = valueOf(k);
  for (const [at, v] of Object.entries(overrides)) out[Number(at)] = v;
  return out;
}
const steady = (from: number, to: number, offsetMs = 0) => range(from, to).map((k) => ({ k, at: offsetMs + 20 * k }));
/** A burst ending as Discord clients end one: five silence frames after the last packet. */
const withEnd = (arrivals: Arrival[], lastK: number, offsetMs: number) => [
  ...arrivals,
  ...range(lastK + 1, lastK + 6).map((k) => ({ k, at: offsetMs + 20 * k, payload: Buffer.from(OPUS_SILENCE_FRAME) })),
];

describe('SpeakerJitterBuffer', () => {
  it('plays the first talkspurt the initial delay (40 ms) after its first packet, decoding each packet as it arrives', () => {
    const { values, stats, decodedOnArrival, log } = run(withEnd(steady(0, 20), 19, 0), 30);
    assert.deepEqual(values, expected(30, 2, range(0, 20)));
    assert.deepEqual(decodedOnArrival, new Array(25).fill(1), 'in-order packets are decoded at once (levels known on arrival)');
    assert.deepEqual(log, [...range(0, 20).map(String), 'end', 'end', 'end', 'end', 'end']);
    assert.equal(stats.delayMs, 40);
    assert.equal(stats.talkspurts, 1);
  });

  it('decodes reordered packets in stream order and plays them in order', () => {
    const arrivals = withEnd(steady(0, 30), 29, 0);
    arrivals[10]!.at = 20 * 11 + 10; // 10 and 11 swapped
    arrivals[11]!.at = 20 * 11 + 5;
    for (const k of [20, 21, 22]) arrivals[k]!.at = 20 * 20 + 35 - k; // 20–22 in reverse, together
    const { values, log, stats, decodedOnArrival } = run(arrivals, 40);
    assert.deepEqual(values, expected(40, 2, range(0, 30)));
    assert.deepEqual(log.slice(0, 30), range(0, 30).map(String), 'the decoder saw the stream in order');
    assert.deepEqual([stats.late, stats.duplicate, stats.concealed], [0, 0, 0]);
    assert.ok(decodedOnArrival.includes(0) && decodedOnArrival.includes(2), 'an early packet waits; the late one releases both');
  });

  it('conceals a packet still missing at its playout time, drops it when it comes late, and keeps decoding in order', () => {
    const arrivals = withEnd(steady(0, 20), 19, 0).filter((a) => a.k !== 7); // 7 is lost
    arrivals.find((a) => a.k === 12)!.at = 20 * 14 + 1; // 12 is due at tick 14 (delay 2): arrives just after
    arrivals.find((a) => a.k === 13)!.at = 20 * 15 + 1; // and 13 after its turn too: plain concealment for it
    const { values, log, stats } = run(arrivals, 30);
    // Packet 8 was already here when 7 was due: concealment could use its in-band FEC; 13 was not.
    // At 12's turn 13 was not here either (plain concealment); at 13's turn 14 was (FEC).
    assert.deepEqual(values, expected(30, 2, range(0, 20), { 9: -valueOf(8), 14: CONCEALED, 15: -valueOf(14) }));
    assert.deepEqual(log.slice(0, 20), [...range(0, 7).map(String), 'fec(8)', ...range(8, 12).map(String), 'plc', 'fec(14)', ...range(14, 20).map(String)]);
    assert.deepEqual([stats.concealed, stats.fecRecovered], [3, 2], "two of the three from the next packet's FEC");
    assert.equal(stats.late, 2);
  });

  it('drops duplicates, whether still buffered or long played', () => {
    const arrivals: Arrival[] = [...withEnd(steady(0, 20), 19, 0), { k: 4, at: 20 * 4 + 15 }, { k: 2, at: 20 * 9 }];
    const { values, stats, log } = run(arrivals, 30);
    assert.deepEqual(values, expected(30, 2, range(0, 20)));
    assert.equal(stats.duplicate, 2);
    assert.equal(stats.late, 0);
    assert.deepEqual(log.slice(0, 20), range(0, 20).map(String));
  });

  it('ends a talkspurt after its silence frames and anchors the next one with the delay the jitter calls for', () => {
    // 1 s of speech on a clean network, a pause, then more: the second talkspurt needs no jitter delay.
    const first = withEnd(steady(0, 50), 49, 0);
    const second = withEnd(range(100, 115).map((k) => ({ k, at: 20 * k + 7 })), 114, 7);
    const { values, stats, log } = run([...first, ...second], 125, { jitter: { marginMs: 0 } });
    assert.equal(stats.talkspurts, 2);
    assert.equal(stats.delayMs, 0, 'no jitter measured, no margin: no delay');
    assert.equal(stats.concealed, 0, 'the pause is not concealed');
    // Packet 100 arrives at 2007 ms: played by the first pull after it, tick 101.
    assert.deepEqual(values.slice(99, 104), [0, 0, valueOf(100), valueOf(101), valueOf(102)]);
    assert.ok(!log.includes('plc'));
  });

  it('follows the measured jitter: 0–40 ms of jitter gives about 40 ms, and it stays bounded', () => {
    const random = prng(3);
    const jittery = (from: number, to: number, maxMs: number) => range(from, to).map((k) => ({ k, at: 20 * k + random() * maxMs }));
    const measure = (maxMs: number) => {
      const first = withEnd(jittery(0, 60, maxMs), 59, 0);
      const second = withEnd(jittery(150, 160, maxMs), 159, 0);
      return run([...first, ...second], 170, { jitter: { maxDelayMs: 200 } }).stats;
    };
    const forty = measure(40);
    assert.ok(forty.delayMs >= 35 && forty.delayMs <= 45, `delay ${forty.delayMs.toFixed(1)} ms for 0–40 ms jitter`);
    assert.ok(forty.late <= 1, `at most one of the second talkspurt's ten packets too late (the 97% target): ${forty.late}`);
    const wild = measure(900);
    assert.equal(wild.delayMs, 200, 'bounded');
  });

  it('stretches time by a concealed frame when the network runs later than the measured jitter allows, dropping nothing more', () => {
    // Packets from 20 on arrive 50 ms late (a stall), 10 ms past their turn at the initial 40 ms delay.
    const arrivals = withEnd([...steady(0, 20), ...steady(20, 40, 50)], 39, 50);
    const { values, log, stats } = run(arrivals, 50);
    assert.deepEqual(values.slice(0, 22), expected(22, 2, range(0, 20)));
    // At 20's turn the delay is what the jitter measured so far calls for: its packet is taken for lost
    // (concealed, then dropped when it comes 10 ms later). Its lateness raises the target, so at 21's
    // turn the buffer waits: a concealed frame, and everything from 21 on plays one frame later.
    assert.deepEqual(values.slice(22, 24), [CONCEALED, CONCEALED]);
    assert.deepEqual(values.slice(24, 43), range(21, 40).map(valueOf), 'then everything from 21 on, one frame later');
    assert.deepEqual(log.slice(0, 41), [...range(0, 20).map(String), 'plc', 'plc', ...range(21, 40).map(String)]);
    assert.deepEqual([stats.late, stats.stretched, stats.concealed, stats.delayMs], [1, 1, 2, 60]);
    // The same stall with the delay already at its bound: no stretching, the late packets are concealed and dropped.
    const bounded = run(arrivals, 50, { jitter: { maxDelayMs: 40 } }).stats;
    assert.equal(bounded.stretched, 0);
    assert.ok(bounded.late > 0);
  });

  it('when the bot itself stalled (its pulls run behind), a missing packet is waited for, not dropped', () => {
    // Packets 30–34 are read only after the pulls of frames 32 and 33, which run 60 ms behind schedule.
    const arrivals = withEnd(steady(0, 50), 49, 0).map((a) => (a.k >= 30 && a.k <= 34 ? { ...a, at: 20 * 33 + 1 } : a));
    const stalled = run(arrivals, 60, { stalledTicks: new Set([32, 33]) });
    assert.deepEqual([stalled.stats.late, stalled.stats.stretched, stalled.stats.concealed], [0, 2, 2]);
    assert.deepEqual(stalled.values.slice(34, 37), [30, 31, 32].map(valueOf), 'nothing lost: 30 plays two frames later');
    // The same arrivals with pulls on time read as losses at a delay that meets the jitter: dropped as late.
    const onTime = run(arrivals, 60);
    assert.ok(onTime.stats.late >= 1 && onTime.stats.stretched === 0, `late ${onTime.stats.late}, stretched ${onTime.stats.stretched}`);
  });

  it('a sender clock that resumes a few ms off after a pause is not jitter: no late packets, no added delay', () => {
    // Clean network throughout; the second talkspurt's timestamps are 19 ms "behind" the first's
    // (a client resuming its RTP clock off step), and every other packet of it is 2 ms late.
    const first = withEnd(steady(0, 50), 49, 0);
    const second = withEnd(range(100, 130).map((k) => ({ k, at: 20 * k + 19 + (k % 2) * 2 })), 129, 19);
    const third = withEnd(steady(200, 210, 19), 209, 19);
    const { values, stats } = run([...first, ...second, ...third], 220);
    assert.equal(stats.talkspurts, 3);
    assert.equal(stats.late, 0, 'the step between talkspurts did not eat the headroom of the second');
    assert.equal(stats.concealed, 0);
    const start = values.indexOf(valueOf(100));
    assert.deepEqual(values.slice(start, start + 30), range(100, 130).map(valueOf));
    assert.ok(stats.delayMs <= 5, `the third talkspurt's delay follows the 2 ms jitter, not the 19 ms step: ${stats.delayMs} ms`);
  });

  it('conceals at most maxConcealedRun frames when a talkspurt just stops, then goes idle', () => {
    const { values, log, stats } = run([...steady(0, 10), ...steady(40, 45)], 60, { maxConcealedRun: 3 });
    assert.deepEqual(values.slice(12, 16), [CONCEALED, CONCEALED, CONCEALED, 0], 'three concealed frames, then silence');
    assert.deepEqual(log.slice(10, 13), ['plc', 'plc', 'plc']);
    assert.equal(stats.talkspurts, 2, 'the later packets start a new talkspurt');
    assert.equal(values.indexOf(valueOf(40)) > 40, true);
  });

  it('starts over when the sender restarts its timestamps (a new SSRC after a reconnect)', () => {
    const restart = (BASE_TS - 48_000 * 60) >>> 0;
    const second = range(0, 5).map((k) => ({ k: 50 + k, at: 300 + 20 * k, ts: (restart + 960 * k) >>> 0 }));
    const { values, stats } = run([...steady(0, 10), ...second], 30);
    assert.equal(stats.late, 0);
    assert.equal(stats.talkspurts, 2);
    const start = values.indexOf(valueOf(50));
    assert.ok(start >= 15 && start <= 18, `the restarted stream plays soon after it arrives (frame ${start})`);
    assert.deepEqual(values.slice(start, start + 5), range(50, 55).map(valueOf));
  });

  it('starts a new talkspurt (not an overflow) when timestamps jump beyond the buffer bound with nothing buffered', () => {
    const jump = range(0, 5).map((k) => ({ k: 30 + k, at: 300 + 20 * k, ts: BASE_TS + 960 * (10 + 75 + k) })); // 1.5 s ahead
    const { values, stats } = run([...steady(0, 10), ...jump], 30, { maxConcealedRun: 100 });
    assert.equal(stats.overflow, 0);
    assert.equal(stats.talkspurts, 2);
    assert.ok(values.includes(valueOf(30)));
  });

  it('never compresses a pause whose timestamps did not advance', () => {
    const first = withEnd(steady(0, 10), 9, 0);
    const second = range(15, 25).map((k) => ({ k, at: 1000 + 20 * (k - 15) })); // 1 s later, timestamps continue from 15
    const { values } = run([...first, ...second], 70);
    const start = values.indexOf(valueOf(15));
    assert.ok(start >= 50, `resumes at or after its arrival (frame ${start})`);
    assert.deepEqual(values.slice(start, start + 10), range(15, 25).map(valueOf));
  });

  it('places frames by timestamp across the 2^32 wrap', () => {
    const base = 2 ** 32 - 960 * 2;
    const arrivals = range(0, 6).map((k) => ({ k, at: 20 * k, ts: (base + 960 * k) % 2 ** 32 }));
    const { values } = run(arrivals, 8);
    assert.deepEqual(values, expected(8, 2, range(0, 6)));
  });

  it('plays packets without RTP timestamps in arrival order', () => {
    const arrivals = range(0, 10).map((k) => ({ k, at: 20 * k + (k % 3) * 5, ts: null as null }));
    const { values, log } = run(arrivals, 12);
    assert.deepEqual(values, expected(12, 2, range(0, 10)));
    assert.deepEqual(log, range(0, 10).map(String));
  });

  it('bounds a flooding speaker to maxBufferedMs', () => {
    const flood = range(0, 500).map((k) => ({ k, at: 0 }));
    const { values, stats } = run(flood, 10, { maxBufferedMs: 200 });
    assert.equal(stats.overflow, 490);
    assert.deepEqual(values, expected(10, 2, range(0, 8)));
  });

  it('takes a delay grown above what the jitter calls for back by leaving out a quiet frame, never a loud one', () => {
    // A clean network: the first talkspurt starts at the initial 40 ms; once 25 packets measured no
    // jitter, the target is the 2 ms margin. Packets 30–34 are a pause (quiet frames).
    const QUIET = (k: number) => k - 29; // values 1..5: far below −60 dBFS
    const arrivals = withEnd(steady(0, 60), 59, 0).map((a) => (a.k >= 30 && a.k < 35 ? { ...a, payload: Buffer.from(new Int16Array([QUIET(a.k)]).buffer) } : a));
    const { values, stats, log } = run(arrivals, 70);
    assert.deepEqual(values.slice(0, 32), expected(32, 2, range(0, 30)), 'loud frames before the pause all play, 40 ms late');
    assert.deepEqual(values.slice(32, 36), [2, 3, 4, 5], 'the pause: its first quiet frame left out');
    assert.deepEqual(values.slice(36, 61), range(35, 60).map(valueOf), 'everything after plays 20 ms sooner, nothing dropped');
    assert.deepEqual([stats.trimmed, stats.delayMs, stats.concealed, stats.late], [1, 20, 0, 0]);
    assert.equal(log.length, 65, 'every packet was decoded (the decoder saw the left-out frame too)');
    // The same talkspurt without a pause: the delay stays, no speech is cut.
    const loud = run(withEnd(steady(0, 60), 59, 0), 70).stats;
    assert.deepEqual([loud.trimmed, loud.delayMs], [0, 40]);
  });

  it('at 10% loss and 0–40 ms of jitter, keeps the delay within a frame of what the jitter calls for, and few packets late', () => {
    const random = prng(77);
    // Speech-like: 5 loud frames, then 5 quiet ones (a syllable every 200 ms); 20 s of it.
    const arrivals: Arrival[] = [];
    for (let k = 0; k < 1000; k++) {
      if (random() < 0.1) continue;
      const at = 20 * k + random() * 40;
      arrivals.push(k % 10 < 5 ? { k, at } : { k, at, payload: Buffer.from(new Int16Array([1 + (k % 10)]).buffer) });
    }
    const { stats } = run(withEnd(arrivals, 999, 0), 1020);
    assert.ok(stats.delayMs <= stats.targetDelayMs + 20, `delay ${stats.delayMs} ms, target ${stats.targetDelayMs.toFixed(1)} ms`);
    assert.ok(stats.targetDelayMs > 35 && stats.targetDelayMs < 45, `target ${stats.targetDelayMs.toFixed(1)} ms`);
    assert.ok(stats.late <= 0.03 * arrivals.length, `${stats.late} of ${arrivals.length} packets late`);
    assert.equal(stats.talkspurts, 1);
    assert.ok(stats.concealed <= 1000 - arrivals.length + stats.late + 2 * stats.stretched, 'concealed: the lost, the late and the stretches');
    assert.ok(stats.stretched <= 6 && stats.stretched >= stats.trimmed - 1, `stretched ${stats.stretched}, trimmed ${stats.trimmed}`);
  });

  it('frees its decoder once on destroy, and takes nothing after', () => {
    const { buffer, destroyed } = run(steady(0, 5), 3);
    buffer.destroy();
    buffer.destroy();
    assert.equal(destroyed(), 1);
    assert.equal(buffer.take(3), null);
    assert.deepEqual(buffer.insert(packet(9), { timestamp: BASE_TS + 960 * 9, arrivalMs: 100 }), []);
  });
});
