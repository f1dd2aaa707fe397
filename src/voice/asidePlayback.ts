import type { TurnPlayback } from './turnTypes.ts';

/**
 * Items turn-taking plays that are not in the conversation (a filler said out of band, a local cue
 * while tools run): stopping one truncates nothing in the conversation. Forgotten when the bot is idle.
 */
export class AsidePlayback {
  readonly #playback: TurnPlayback;
  readonly #items = new Set<string>();

  constructor(playback: TurnPlayback) {
    this.#playback = playback;
  }

  /** Plays `pcm` as (part of) the aside item `itemId`. */
  play(itemId: string, pcm: Buffer): void {
    this.#items.add(itemId);
    this.#playback.push(itemId, pcm);
  }

  /** Whether `itemId` was played as an aside (so it is not truncated in the conversation). */
  has(itemId: string): boolean {
    return this.#items.has(itemId);
  }

  clear(): void {
    this.#items.clear();
  }
}
