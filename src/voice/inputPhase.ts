/**
 * The input phase of each clock tick: every voice session's input work (pull the mixed frame, send it
 * to the model) in one check-phase callback (`setImmediate`) per tick, after every session's output
 * packet of that tick has gone out in the tick's own listeners.
 *
 * Each session used to subscribe to the clock and defer its own work with `setImmediate(() => …)`:
 * at 40 sessions, 2,000 closures and Immediate objects a second (≈ 9 MB of the 187 MB the bot's
 * main thread allocated in a 40-session load run, bench/README.md "Load with DAVE, session 6") and
 * as many trips through the check-phase queue. One phase per clock runs them all, in the order the
 * sessions joined.
 *
 * @module
 */
import type { FrameClock, FrameTick } from '../audio/index.ts';
import type { Logger } from '../log.ts';

/** One session's input work for the tick that was due at `scheduledMs`. */
export type InputWork = (scheduledMs: number) => void;

interface Entry {
  work: InputWork;
  logger: Logger;
}

/** The input phase of one clock: subscribed while it has work, one `setImmediate` per tick. */
class InputPhase {
  readonly #clock: FrameClock;
  readonly #entries = new Set<Entry>();
  /** The entries in order, remade when they change (not a copy per tick): what a phase runs. */
  #list: Entry[] = [];
  #unsubscribe: (() => void) | undefined;
  readonly #onTick = (tick: FrameTick): void => {
    setImmediate(this.#run, tick.scheduledMs);
  };
  readonly #run = (scheduledMs: number): void => {
    // The list as the phase starts: work added during it starts at the next tick; work removed is not run.
    const list = this.#list;
    for (let i = 0; i < list.length; i++) {
      const entry = list[i]!;
      if (!this.#entries.has(entry)) continue;
      try {
        entry.work(scheduledMs);
      } catch (error) {
        // One session's failure must not starve the others of their input.
        entry.logger.error({ err: error }, 'voice input work threw');
      }
    }
  };

  constructor(clock: FrameClock) {
    this.#clock = clock;
  }

  add(work: InputWork, logger: Logger): () => void {
    const entry = { work, logger };
    this.#entries.add(entry);
    this.#list = [...this.#entries];
    this.#unsubscribe ??= this.#clock.subscribe(this.#onTick);
    return () => {
      if (!this.#entries.delete(entry)) return;
      this.#list = [...this.#entries];
      if (this.#entries.size > 0) return;
      this.#unsubscribe?.();
      this.#unsubscribe = undefined;
    };
  }
}

/**
 * Each clock's input phase, keyed by the clock the composition root made (so separate clocks, as in
 * tests, never share one). This is module state: the phase would sit more naturally on FrameClock
 * itself, beside its `afterTick` immediate.
 */
const phases = new WeakMap<FrameClock, InputPhase>();

/**
 * Runs `work` on every tick of `clock`, in the check phase after the tick's listeners, together with
 * every other session's input work on that clock (see the module comment). An exception is logged
 * with `logger` and does not stop the others. Returns the function that stops it.
 */
export function onInputPhase(clock: FrameClock, work: InputWork, logger: Logger): () => void {
  let phase = phases.get(clock);
  if (!phase) {
    phase = new InputPhase(clock);
    phases.set(clock, phase);
  }
  return phase.add(work, logger);
}
