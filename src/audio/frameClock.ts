/**
 * One 20 ms ticker for every voice session of a bot (like @discordjs/voice's audio cycle): many
 * sessions share a timer instead of each drifting on its own `setInterval`. The bot's composition
 * root (`createBot`) makes one and hands it down; there is no process-wide instance.
 *
 * Drift-free: tick n is due at start + n·20 ms on `performance.now()`, and each timeout is set for
 * the next deadline rather than "20 ms from now", so timer lateness never accumulates. When the
 * event loop was blocked, the missed ticks still all fire, back to back (each reporting how late it
 * is) — consumers count frames by ticks, so the counter must never skip.
 *
 * @module
 */
import { FRAME_MS } from './format.ts';
import type { Logger } from '../log.ts';

/** What a subscriber receives on every tick. */
export interface FrameTick {
  /** Consecutive from 0 for the clock's lifetime (continues across stop/start). */
  frameIndex: number;
  /** When this tick was due, on the clock's time source (ms). */
  scheduledMs: number;
  /** How much later than due it actually ran (ms, ≥ 0). */
  lateMs: number;
}

/** A tick subscriber. */
export type FrameTickListener = (tick: FrameTick) => void;

/** Options of {@link FrameClock}: where errors go, and an injectable time source and timer (tests drive the clock without waiting). */
export interface FrameClockOptions {
  /** Monotonic milliseconds (default `performance.now()`). */
  now?: () => number;
  /** Runs `fn` after `delayMs`; returns a function that cancels it (default `setTimeout`). */
  schedule?: (fn: () => void, delayMs: number) => () => void;
  /** Tick period (default 20 ms). */
  intervalMs?: number;
  /** Where subscriber exceptions are logged. */
  logger: Logger;
  /**
   * Runs once after each tick, in the check phase (`setImmediate`) after the tick's own listeners and
   * whatever they deferred with `setImmediate` — the moment of the cycle farthest from any packet due
   * (the bot uses it for {@link createMinorGcPacer}). Not called while the clock is stopped.
   */
  afterTick?: () => void;
}

function defaultSchedule(fn: () => void, delayMs: number): () => void {
  const timer = setTimeout(fn, delayMs);
  return () => clearTimeout(timer);
}

/** A shared drift-free ticker that runs only while it has subscribers. */
export class FrameClock {
  readonly #now: () => number;
  readonly #schedule: (fn: () => void, delayMs: number) => () => void;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  readonly #afterTick: (() => void) | undefined;
  readonly #runAfterTick = (): void => {
    try {
      this.#afterTick!();
    } catch (error) {
      this.#logger.error({ err: error }, 'frame clock afterTick threw');
    }
  };
  /** Wrapper objects, so the same function subscribed twice is two subscriptions. */
  readonly #subscribers = new Set<{ fn: FrameTickListener }>();
  #frameIndex = 0;
  #startMs = 0;
  #ticksSinceStart = 0;
  #cancel: (() => void) | undefined;

  constructor(options: FrameClockOptions) {
    this.#now = options.now ?? (() => performance.now());
    this.#schedule = options.schedule ?? defaultSchedule;
    this.#intervalMs = options.intervalMs ?? FRAME_MS;
    this.#logger = options.logger;
    this.#afterTick = options.afterTick;
  }

  /** Number of current subscriptions. */
  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** Whether the timer is running (it is exactly while there are subscribers). */
  get running(): boolean {
    return this.#cancel !== undefined;
  }

  /**
   * Calls `fn` on every tick from the next one on; the first subscriber starts the clock (its first
   * tick is due immediately). Returns the unsubscribe function; the last one out stops the clock.
   * An exception thrown by `fn` is logged and does not affect other subscribers or later ticks.
   */
  subscribe(fn: FrameTickListener): () => void {
    const entry = { fn };
    this.#subscribers.add(entry);
    if (!this.running) {
      this.#startMs = this.#now();
      this.#ticksSinceStart = 0;
      this.#scheduleNext();
    }
    return () => {
      if (!this.#subscribers.delete(entry)) return;
      if (this.#subscribers.size === 0) this.#stop();
    };
  }

  #scheduleNext(): void {
    const due = this.#startMs + this.#ticksSinceStart * this.#intervalMs;
    this.#cancel = this.#schedule(() => this.#tick(due), Math.max(0, due - this.#now()));
  }

  #tick(scheduledMs: number): void {
    this.#cancel = undefined;
    const tick: FrameTick = { frameIndex: this.#frameIndex++, scheduledMs, lateMs: Math.max(0, this.#now() - scheduledMs) };
    this.#ticksSinceStart++;
    // A snapshot, so (un)subscribing from inside a listener affects the next tick, not this one;
    // but a listener removed during this tick is not called.
    for (const entry of [...this.#subscribers]) {
      if (!this.#subscribers.has(entry)) continue;
      try {
        entry.fn(tick);
      } catch (error) {
        this.#logger.error({ err: error, frameIndex: tick.frameIndex }, 'frame clock subscriber threw');
      }
    }
    if (this.#afterTick) setImmediate(this.#runAfterTick);
    if (this.#subscribers.size > 0 && this.#cancel === undefined) this.#scheduleNext();
  }

  #stop(): void {
    this.#cancel?.();
    this.#cancel = undefined;
  }
}
