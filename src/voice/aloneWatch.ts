/** Leaving a voice channel nobody (no human) is in any more, after a grace period. */
export class AloneWatch {
  readonly #timeoutMs: number;
  readonly #onAlone: () => void;
  #timer: NodeJS.Timeout | undefined;
  #leavesAt: number | null = null;

  /** `onAlone` runs once the bot has been without humans for `timeoutMs`. */
  constructor(timeoutMs: number, onAlone: () => void) {
    this.#timeoutMs = timeoutMs;
    this.#onAlone = onAlone;
  }

  /** When `onAlone` will run (Date.now() ms), or null while someone is there. */
  get leavesAt(): number | null {
    return this.#leavesAt;
  }

  /** Call whenever who is in the channel may have changed. */
  update(humansPresent: boolean): void {
    if (humansPresent) {
      this.stop();
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#leavesAt = null;
        this.#onAlone();
      }, this.#timeoutMs);
      this.#timer.unref();
      this.#leavesAt = Date.now() + this.#timeoutMs;
    }
  }

  /** Disarms (someone is there, or the session ends). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#leavesAt = null;
  }
}
