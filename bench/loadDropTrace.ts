/**
 * Load benchmark instrument: which member packets the bot's jitter buffers dropped as late, and how
 * late the simulator had sent them. Wraps `SpeakerJitterBuffer.prototype.insert` in this process
 * without changing what it does: after an insert that returned no frame (the only case where `late`
 * can grow) it reads the buffer's counters once; a grown `late` is a drop, recorded with the packet's
 * RTP timestamp and the buffer's delay then. Reading the counters on every insert would cost ≈ 20 µs
 * each (they sort the estimator's window); on empty returns only, a few hundred reads per run.
 */
import { SpeakerJitterBuffer } from '../src/audio/speakerJitterBuffer.ts';

export interface LateDrop {
  timestamp: number;
  /** The buffer's playout delay (target plus stretch) when the packet was dropped. */
  delayMs: number;
}

export function traceLateDrops(): { drops: LateDrop[]; stop(): void } {
  const drops: LateDrop[] = [];
  const lateSeen = new WeakMap<SpeakerJitterBuffer, number>();
  const original = SpeakerJitterBuffer.prototype.insert;
  SpeakerJitterBuffer.prototype.insert = function (this: SpeakerJitterBuffer, packet, timing) {
    const frames = original.call(this, packet, timing);
    if (frames.length === 0) {
      const stats = this.stats();
      if (stats.late > (lateSeen.get(this) ?? 0) && timing.timestamp !== undefined) drops.push({ timestamp: timing.timestamp, delayMs: stats.delayMs });
      lateSeen.set(this, stats.late);
    }
    return frames;
  };
  return { drops, stop: () => void (SpeakerJitterBuffer.prototype.insert = original) };
}

/**
 * Joins the bot's late drops with the simulator's send lateness (by RTP timestamp: each member's
 * starts at random, so timestamps do not collide across members in practice).
 */
export function correlateLateDrops(drops: LateDrop[], sendLateByTimestamp: [number, number][]) {
  const sentLate = new Map(sendLateByTimestamp);
  const matched = drops.filter((d) => sentLate.has(d.timestamp)).map((d) => ({ ...d, sentLateMs: sentLate.get(d.timestamp)! }));
  const sorted = matched.map((d) => d.sentLateMs).sort((a, b) => a - b);
  const delays = matched.map((d) => d.delayMs).sort((a, b) => a - b);
  return {
    late_drops_traced: drops.length,
    late_drops_matched_to_a_send: matched.length,
    // Sent later than the whole playout delay: late on arrival whatever the bot did.
    late_drops_sent_later_than_buffer_delay: matched.filter((d) => d.sentLateMs > d.delayMs).length,
    // Sent late by at least 20 ms (a frame): the simulator's lateness was a large part of it.
    late_drops_sent_over_20ms_late: matched.filter((d) => d.sentLateMs > 20).length,
    late_drops_sent_late_p50_ms: sorted.length ? sorted[Math.floor(sorted.length / 2)] : null,
    late_drops_sent_late_min_ms: sorted.length ? sorted[0] : null,
    late_drops_buffer_delay_p50_ms: delays.length ? Math.round(delays[Math.floor(delays.length / 2)]!) : null,
  };
}
