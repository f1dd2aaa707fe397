/**
 * Who contributed to which milliseconds of the input audio of a server session. The server reports
 * turns as `audio_start_ms`/`audio_end_ms` on the timeline of all audio appended in the session, so the
 * client keeps the same timeline with the speaker labels the caller gave for each appended chunk.
 */
import { realtimeBytesToMs } from '../audio/format.ts';

interface Segment {
  startMs: number;
  endMs: number;
  labels: readonly string[];
}

/** How long segments are kept when no turn ever ends (bounded memory on endless silence or noise). */
const MAX_KEPT_MS = 10 * 60_000;

/** Per-session timeline of appended input audio and its contributors. */
export class InputAttribution {
  #segments: Segment[] = [];
  #appendedMs = 0;
  /** Start of the audio not yet committed (for manual commits). */
  #bufferStartMs = 0;
  readonly #speechStarts = new Map<string, number>();
  readonly #turnContributors = new Map<string, string[]>();
  /** Items already committed in this session (the last 1,024): the service commits an item once. */
  readonly #committedIds = new Set<string>();

  /** Total ms appended in this session. */
  get appendedMs(): number {
    return this.#appendedMs;
  }

  /** Ms appended since the last commit or clear (meaningful with manual turn detection). */
  get uncommittedMs(): number {
    return this.#appendedMs - this.#bufferStartMs;
  }

  /** Records an appended chunk of 24 kHz mono PCM16. */
  append(bytes: number, labels: readonly string[] = []): void {
    const startMs = this.#appendedMs;
    this.#appendedMs += realtimeBytesToMs(bytes);
    const last = this.#segments.at(-1);
    if (last && last.endMs === startMs && sameLabels(last.labels, labels)) last.endMs = this.#appendedMs;
    else this.#segments.push({ startMs, endMs: this.#appendedMs, labels: [...labels] });
    if (this.#segments.length > 1 && this.#segments[0]!.endMs < this.#appendedMs - MAX_KEPT_MS) this.#segments.shift();
  }

  /** Labels that contributed audio overlapping [startMs, endMs), in order of first appearance. */
  contributors(startMs: number, endMs: number): string[] {
    const seen = new Set<string>();
    for (const segment of this.#segments) {
      if (segment.endMs <= startMs || segment.startMs >= endMs) continue;
      for (const label of segment.labels) seen.add(label);
    }
    return [...seen];
  }

  /** Server VAD saw speech start for an item. */
  speechStarted(itemId: string, audioStartMs: number): void {
    this.#speechStarts.set(itemId, audioStartMs);
  }

  /** Server VAD saw speech stop: the contributors of the turn. */
  speechStopped(itemId: string, audioEndMs: number): string[] {
    const start = this.#speechStarts.get(itemId) ?? this.#bufferStartMs;
    const labels = this.contributors(start, audioEndMs);
    this.#turnContributors.set(itemId, labels);
    this.#bufferStartMs = Math.max(this.#bufferStartMs, audioEndMs);
    return labels;
  }

  /**
   * Whether `itemId` is committed for the first time in this session (and records it). A repeated
   * commit is a duplicated or forged event: answering it again would make the bot reply twice.
   */
  firstCommit(itemId: string): boolean {
    if (this.#committedIds.has(itemId)) return false;
    this.#committedIds.add(itemId);
    if (this.#committedIds.size > 1024) this.#committedIds.delete(this.#committedIds.values().next().value!);
    return true;
  }

  /** The input buffer was committed as an item: its contributors (VAD turn, or everything since the last commit). */
  committed(itemId: string): string[] {
    let labels = this.#turnContributors.get(itemId);
    if (!labels) {
      labels = this.contributors(this.#bufferStartMs, this.#appendedMs);
      this.#bufferStartMs = this.#appendedMs;
    }
    this.#speechStarts.delete(itemId);
    this.#turnContributors.delete(itemId);
    this.#prune();
    return labels;
  }

  /** The input buffer was cleared. */
  cleared(): void {
    this.#bufferStartMs = this.#appendedMs;
    this.#prune();
  }

  #prune(): void {
    // Keep audio a pending VAD turn may still refer to (its start can precede the buffer start).
    const keepFrom = Math.min(this.#bufferStartMs, ...this.#speechStarts.values());
    this.#segments = this.#segments.filter((segment) => segment.endMs > keepFrom);
  }
}

function sameLabels(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((label, i) => label === b[i]);
}
