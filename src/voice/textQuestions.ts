import type { ResponseHandle } from '../realtime/index.ts';

/**
 * The text questions of one conversation, taken one at a time: each is put to the model only once
 * the previous one's whole answer is over (its follow-ups after tool calls included), so a queued
 * response never answers a later question instead of its own.
 */
export class TextQuestions {
  /** Settles when the latest question's answer is over. */
  #last: Promise<void> = Promise.resolve();
  #pending = 0;
  readonly #answerOver: (handle: ResponseHandle) => Promise<void>;
  readonly #settled: () => void;

  /**
   * `answerOver`: resolves when the whole answer begun by a handle is over; `settled`: called when a
   * question leaves the queue (answered, or refused when its turn came).
   */
  constructor(options: { answerOver: (handle: ResponseHandle) => Promise<void>; settled: () => void }) {
    this.#answerOver = options.answerOver;
    this.#settled = options.settled;
  }

  /** Questions asked and not yet answered (waiting for their turn or being answered). */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Waits for every earlier question's answer, then calls `ask` (which puts this question to the
   * model and returns its response, or throws) and returns what it returned. The next question waits
   * until this one's answer is over, or until `ask` threw.
   */
  async ask(ask: () => ResponseHandle): Promise<ResponseHandle> {
    const previous = this.#last;
    let release!: () => void;
    this.#last = new Promise<void>((resolve) => (release = resolve));
    this.#pending++;
    const done = () => {
      this.#pending--;
      this.#settled();
      release();
    };
    await previous;
    try {
      const handle = ask();
      void this.#answerOver(handle).finally(done);
      return handle;
    } catch (error) {
      done();
      throw error;
    }
  }
}
