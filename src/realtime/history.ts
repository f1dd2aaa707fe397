/**
 * The conversation as text, kept by the client so that a new server session (after a reconnect or a
 * rotation) can be re-seeded with it. Audio is never replayed: transcripts stand in for it.
 */
import { REALTIME_BYTES_PER_MS } from '../audio/format.ts';
import type { HistoryEntry } from './types.ts';

/** Rough token count of a text item: ~4 characters per token plus per-item overhead. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4) + 4;
}

/** Truncation points remembered per session (a reply's transcript may finish after its truncation). */
const MAX_TRUNCATIONS = 256;

/** The remembered conversation, bounded in entries. */
export class ConversationHistory {
  readonly #entries: HistoryEntry[] = [];
  readonly #limit: number;
  /** Where assistant items of the current session were truncated (ms of their audio heard). */
  readonly #truncatedMs = new Map<string, number>();

  constructor(limit = 1000) {
    this.#limit = limit;
  }

  /** Entries that have text, oldest first. */
  entries(): HistoryEntry[] {
    return this.#entries.filter((entry) => entry.text.length > 0);
  }

  /** Records an entry (possibly with empty text, to be filled later: keeps the order of turns). */
  add(entry: Omit<HistoryEntry, 'at'> & { at?: number }): HistoryEntry {
    const full: HistoryEntry = { ...entry, at: entry.at ?? Date.now() };
    this.#entries.push(full);
    if (this.#entries.length > this.#limit) this.#entries.splice(0, this.#entries.length - this.#limit);
    return full;
  }

  /**
   * An assistant item's audio was truncated at `heardMs` of the `receivedMs` received: its transcript,
   * now or when the reply finishes, keeps only what was heard.
   */
  truncated(itemId: string, heardMs: number, receivedMs: number): void {
    this.#truncatedMs.set(itemId, heardMs);
    if (this.#truncatedMs.size > MAX_TRUNCATIONS) this.#truncatedMs.delete(this.#truncatedMs.keys().next().value!);
    const entry = this.byItemId(itemId);
    if (entry) entry.text = cutTranscript(entry.text, heardMs, receivedMs);
  }

  /**
   * Records a finished assistant reply (its audio transcript, else its text), cut to what was heard
   * if it was truncated; `audioMs` is the audio received for it. Empty replies are not recorded.
   */
  addReply(reply: { transcript: string; text: string; itemId: string | undefined; audioMs: number }): void {
    let text = reply.transcript || reply.text;
    const heardMs = reply.itemId === undefined ? undefined : this.#truncatedMs.get(reply.itemId);
    if (heardMs !== undefined) text = cutTranscript(text, heardMs, reply.audioMs);
    if (!text) return;
    this.add({ role: 'assistant', text, kind: reply.transcript ? 'transcript' : 'text', ...(reply.itemId ? { itemId: reply.itemId } : {}) });
  }

  /** A new server session starts: item ids of the previous one mean nothing there. */
  newSession(): void {
    this.#truncatedMs.clear();
  }

  /** The most recent entry for a server item id. */
  byItemId(itemId: string): HistoryEntry | undefined {
    for (let i = this.#entries.length - 1; i >= 0; i--) if (this.#entries[i]?.itemId === itemId) return this.#entries[i];
    return undefined;
  }

  /**
   * The most recent entries (with text) whose estimated tokens fit in the budget, oldest first. The
   * newest entry that does not fit ends the selection, so the re-seeded conversation has no gaps.
   */
  withinBudget(tokenBudget: number): HistoryEntry[] {
    const picked: HistoryEntry[] = [];
    let used = 0;
    const entries = this.entries();
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!;
      const cost = estimateTokens(entry.text);
      if (used + cost > tokenBudget) break;
      used += cost;
      picked.push(entry);
    }
    return picked.reverse();
  }
}

/**
 * Where to truncate an assistant item asked to stop at `requestedMs`: floored to whole milliseconds
 * (the service takes an integer) and clamped to the whole milliseconds of audio received for it
 * (`receivedBytes`; the server refuses anything longer). Non-finite or negative requests give 0.
 */
export function truncationPointMs(requestedMs: number, receivedBytes: number): number {
  const receivedMs = Math.floor(receivedBytes / REALTIME_BYTES_PER_MS);
  return Math.min(receivedMs, Math.max(0, Math.floor(Number.isFinite(requestedMs) ? requestedMs : 0)));
}

/**
 * The part of an assistant transcript that was heard when its audio was truncated at `playedMs` of
 * `totalMs`, cut at a word boundary. The server cuts its own transcript; this keeps history consistent.
 */
export function cutTranscript(text: string, playedMs: number, totalMs: number): string {
  if (totalMs <= 0 || playedMs >= totalMs) return text;
  if (playedMs <= 0) return '';
  const cut = Math.round((text.length * playedMs) / totalMs);
  const head = text.slice(0, cut);
  const space = head.lastIndexOf(' ');
  return (cut < text.length && space > 0 ? head.slice(0, space) : head).trimEnd();
}
