/** One voice turn's latency: from the end of the person's speech to the first reply packet sent. */
export interface TurnLatency {
  at: number;
  firstAudioAfterSpeechEndMs: number;
}

/**
 * Keeps the latencies of recent turns and answers percentiles for /status and metrics. Bounded: the
 * oldest turns fall off after `capacity`.
 */
export class TurnMetrics {
  readonly #capacity: number;
  readonly #turns: TurnLatency[] = [];
  #total = 0;

  constructor(capacity = 50) {
    this.#capacity = capacity;
  }

  /** Records a turn. */
  record(firstAudioAfterSpeechEndMs: number, at = Date.now()): void {
    if (!Number.isFinite(firstAudioAfterSpeechEndMs) || firstAudioAfterSpeechEndMs < 0) return;
    this.#turns.push({ at, firstAudioAfterSpeechEndMs });
    if (this.#turns.length > this.#capacity) this.#turns.shift();
    this.#total++;
  }

  /** Turns recorded since start (not just those kept). */
  get totalTurns(): number {
    return this.#total;
  }

  /** The kept latencies, oldest first. */
  get recent(): readonly TurnLatency[] {
    return this.#turns;
  }

  /** The p-th percentile (0–100, nearest rank) of kept latencies, or null when there are none. */
  percentile(p: number): number | null {
    if (this.#turns.length === 0) return null;
    const sorted = this.#turns.map((turn) => turn.firstAudioAfterSpeechEndMs).sort((a, b) => a - b);
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[rank]!;
  }
}
