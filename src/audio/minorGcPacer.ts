/**
 * Runs V8's young-generation collection (a scavenge) at a moment of the 20 ms cycle that hurts no
 * packet: right after a tick's packets have been sent, once the young generation is more than half
 * full, instead of wherever an allocation happens to fill it.
 *
 * Why: at 40 sessions a scavenge pauses the thread for 3–11 ms (`npm run bench -- load`, gc_pauses),
 * and one landing just before a tick delays every session's packet of that tick past the 5 ms
 * lateness bound; about two thirds of the late output frames were ticks a scavenge landed on. Run
 * after the sends, the same pause ends long before the next tick is due (≈ 15 ms later). The check
 * (`v8.getHeapSpaceStatistics`, ≈ 12 µs) runs once per tick, only while the clock ticks (a reply
 * or someone's voice is being handled); an idle bot collects as V8 decides.
 *
 * @module
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** What the pacer reads and calls (tests inject both). */
export interface MinorGcPacerOptions {
  /** Bytes used and the capacity of the young generation's allocation space. */
  youngGeneration?: () => { used: number; capacity: number };
  /** Runs a young-generation collection now. */
  collect?: () => void;
  /** Share of the young generation in use above which it is collected (default 0.5). */
  threshold?: number;
}

/** The young generation now, as V8 reports it: `new_space` used, and used + available as its capacity. */
export function v8YoungGeneration(): { used: number; capacity: number } {
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name === 'new_space') return { used: space.space_used_size, capacity: space.space_used_size + space.space_available_size };
  }
  return { used: 0, capacity: Number.POSITIVE_INFINITY };
}

/**
 * V8's `gc({ type: 'minor' })`, or null where it cannot be had. `--expose-gc` is set at run time and
 * `gc` taken from a fresh context (the flag only affects contexts made after it), so no launcher
 * needs the flag and the main context's globals stay untouched.
 */
function v8MinorGc(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as ((options?: { type: 'minor' | 'major' }) => void) | undefined;
    return typeof gc === 'function' ? () => gc({ type: 'minor' }) : null;
  } catch {
    return null;
  }
}

/**
 * A function for {@link FrameClock}'s `afterTick`: collects the young generation when it is more than
 * `threshold` full. Undefined when V8's collector cannot be called (then V8 alone decides, as before).
 */
export function createMinorGcPacer(options: MinorGcPacerOptions = {}): (() => void) | undefined {
  const collect = options.collect ?? v8MinorGc();
  if (!collect) return undefined;
  const youngGeneration = options.youngGeneration ?? v8YoungGeneration;
  const threshold = options.threshold ?? 0.5;
  return () => {
    const { used, capacity } = youngGeneration();
    if (used > threshold * capacity) collect();
  };
}
