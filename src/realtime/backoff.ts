/** Reconnect timing. */

/** Reconnect settings (all optional in the client options). */
export interface ReconnectOptions {
  /** First delay before reconnecting, in ms (default 500). */
  initialDelayMs?: number;
  /** Cap on the delay, in ms (default 30 000). */
  maxDelayMs?: number;
  /** Attempts before giving up (default 10). */
  maxAttempts?: number;
}

/**
 * Delay before reconnect attempt `attempt` (1-based): exponential, capped, with "equal jitter" (half
 * fixed, half random) so that many bots dropped together by an outage do not reconnect in lockstep.
 */
export function backoffDelay(attempt: number, options: ReconnectOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialDelayMs ?? 500;
  const max = options.maxDelayMs ?? 30_000;
  const base = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + random() * (base / 2));
}

/** A sleep that can be cut short (resolves early) by `wake()`. */
export class Sleeper {
  #timer: NodeJS.Timeout | null = null;
  #resolve: (() => void) | null = null;

  sleep(ms: number): Promise<void> {
    this.wake();
    return new Promise((resolve) => {
      this.#resolve = resolve;
      this.#timer = setTimeout(() => this.wake(), Math.max(0, ms));
    });
  }

  wake(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const resolve = this.#resolve;
    this.#resolve = null;
    resolve?.();
  }
}
