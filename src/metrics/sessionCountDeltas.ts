import type { VoiceSession } from '../voice/voiceSession.ts';

/**
 * Turns the cumulative counts each voice session keeps into process-wide counter increments: on every
 * scrape (`addGrowth`) and once more when a session ends, what grew since the last look is handed to
 * `add`. A scrape must never throw, so anything but a finite count that grew adds nothing, and a
 * session whose counts cannot be read adds nothing that time.
 */
export class SessionCountDeltas<K extends string> {
  readonly #seen = new Map<VoiceSession, Record<K, number>>();
  readonly #keys: readonly K[];
  readonly #read: (session: VoiceSession) => Partial<Record<K, number>> | undefined;
  readonly #add: (grew: Record<K, number>) => void;

  constructor(keys: readonly K[], read: (session: VoiceSession) => Partial<Record<K, number>> | undefined, add: (grew: Record<K, number>) => void) {
    this.#keys = keys;
    this.#read = read;
    this.#add = add;
  }

  /** The sessions followed now. */
  get sessions(): IterableIterator<VoiceSession> {
    return this.#seen.keys();
  }

  /** Follows a voice session until it is destroyed (its last growth is added then). */
  track(session: VoiceSession): void {
    this.#seen.set(session, Object.fromEntries(this.#keys.map((key) => [key, 0])) as Record<K, number>);
    session.once('destroyed', () => {
      this.#addGrowthOf(session);
      this.#seen.delete(session);
    });
  }

  /** Adds what every followed session's counts grew by since the last look (a scrape). */
  addGrowth(): void {
    for (const session of this.#seen.keys()) this.#addGrowthOf(session);
  }

  #addGrowthOf(session: VoiceSession): void {
    const seen = this.#seen.get(session);
    const now = seen && this.#read(session);
    if (!seen || !now) return;
    const grew = {} as Record<K, number>;
    for (const key of this.#keys) {
      const value = now[key];
      grew[key] = typeof value === 'number' && Number.isFinite(value) ? Math.max(0, value - seen[key]) : 0;
    }
    this.#add(grew);
    const next = { ...seen };
    for (const key of this.#keys) next[key] = seen[key] + grew[key];
    this.#seen.set(session, next);
  }
}
