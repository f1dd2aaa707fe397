/**
 * Who is talking, as the bot hears it from the frames it decodes (not the model's view): the last
 * voiced frame of each speaker and of anyone, and how much voiced audio came since the last turn.
 */
import { FRAME_MS } from '../audio/format.ts';

/** A frame at or above this level counts as voiced. */
const VOICED_DBFS = -50;
/** Someone voiced within this long counts as an active speaker (/status, metrics). */
const ACTIVE_SPEAKER_MS = 5_000;

/** Voiced-frame bookkeeping of one voice session. */
export class SpeechActivity {
  #lastVoicedAt = -Infinity;
  readonly #lastVoicedBy = new Map<string, number>();
  #voicedSinceTurnMs = 0;

  /** When the last voiced frame of anyone arrived (performance.now() ms; -Infinity before any). */
  get lastVoicedAt(): number {
    return this.#lastVoicedAt;
  }

  /** Records one 20 ms frame of `userId` at `levelDbfs`, received at `nowMs`. */
  frame(userId: string, levelDbfs: number, nowMs: number): void {
    if (levelDbfs < VOICED_DBFS) return;
    this.#voicedSinceTurnMs += FRAME_MS;
    this.#lastVoicedAt = nowMs;
    this.#lastVoicedBy.set(userId, nowMs);
  }

  /** The voiced time heard since the previous call (a turn was committed): how much that turn said. */
  takeVoicedMs(): number {
    const voiced = this.#voicedSinceTurnMs;
    this.#voicedSinceTurnMs = 0;
    return voiced;
  }

  /** Users heard in the last few seconds. */
  activeSpeakers(nowMs: number): string[] {
    return [...this.#lastVoicedBy].filter(([, at]) => nowMs - at < ACTIVE_SPEAKER_MS).map(([userId]) => userId);
  }

  /** Forgets a user (left the channel). */
  forget(userId: string): void {
    this.#lastVoicedBy.delete(userId);
  }
}
