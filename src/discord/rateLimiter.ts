/**
 * A per-key sliding-window limit: at most `count` hits per `windowMs`. Bounded: keys whose hits have
 * all expired are dropped as the map is used, so a flood of distinct users cannot grow it forever.
 */
export class SlidingWindowLimiter {
  readonly #count: number;
  readonly #windowMs: number;
  readonly #hits = new Map<string, number[]>();
  readonly #notices: NoticeThrottle;

  constructor(count: number, windowMs: number) {
    this.#count = count;
    this.#windowMs = windowMs;
    this.#notices = new NoticeThrottle(windowMs);
  }

  /** Records a hit; returns 0 when allowed, else the milliseconds until the next hit would be allowed. */
  hit(key: string, now = Date.now()): number {
    this.#prune(now);
    const hits = (this.#hits.get(key) ?? []).filter((at) => now - at < this.#windowMs);
    if (hits.length >= this.#count) {
      this.#hits.set(key, hits);
      return this.#windowMs - (now - hits[0]!);
    }
    hits.push(now);
    this.#hits.set(key, hits);
    return 0;
  }

  /** Whether to tell this key it is limited: once per window, so a flood gets one notice, not one per message. */
  shouldNotify(key: string, now = Date.now()): boolean {
    return this.#notices.allow(key, now);
  }

  /** Keys currently tracked (for tests and metrics). */
  get size(): number {
    return this.#hits.size;
  }

  #prune(now: number): void {
    if (this.#hits.size < 1_000) return;
    for (const [key, hits] of this.#hits) if (hits.every((at) => now - at >= this.#windowMs)) this.#hits.delete(key);
  }
}

/**
 * At most one notice per key per `intervalMs` (the first one passes). Bounded: keys whose last notice
 * is older than the interval are dropped as the map grows.
 */
export class NoticeThrottle {
  readonly #intervalMs: number;
  readonly #lastAt = new Map<string, number>();

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** Whether a notice for `key` may go out now (and, if so, records it). */
  allow(key: string, now = Date.now()): boolean {
    const last = this.#lastAt.get(key);
    if (last !== undefined && now - last < this.#intervalMs) return false;
    if (this.#lastAt.size >= 1_000) for (const [other, at] of this.#lastAt) if (now - at >= this.#intervalMs) this.#lastAt.delete(other);
    this.#lastAt.set(key, now);
    return true;
  }
}
