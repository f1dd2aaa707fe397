/** Discord's limit on a message's content. */
export const DISCORD_MESSAGE_LIMIT = 2_000;

/**
 * Splits text into pieces of at most `limit` characters, cutting at a paragraph, line or word
 * boundary when one is in the last fifth of the piece, so words are not broken needlessly.
 */
export function splitForDiscord(text: string, limit = DISCORD_MESSAGE_LIMIT): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    const window = rest.slice(0, limit);
    const floor = Math.floor(limit * 0.8);
    let cut = -1;
    for (const separator of ['\n\n', '\n', ' ']) {
      const at = window.lastIndexOf(separator);
      if (at >= floor) {
        cut = at + separator.length;
        break;
      }
    }
    if (cut <= 0) cut = limit;
    pieces.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > 0 || pieces.length === 0) pieces.push(rest);
  return pieces;
}

/** How a {@link StreamedReply} talks to Discord (injected, so the logic is testable without it). */
export interface ReplyTransport<M> {
  /** Sends the first message, as a reply to the person's message. */
  sendFirst(content: string): Promise<M>;
  /** Sends a later message when the text outgrows the previous one. */
  sendNext(content: string): Promise<M>;
  edit(message: M, content: string): Promise<void>;
}

/**
 * A reply that grows while the model streams text: the first message appears with the first text,
 * then is edited at most once per `editIntervalMs` (Discord allows about 5 edits per 5 s per channel),
 * and continues in new messages past 2,000 characters. `finish()` writes the final text exactly.
 */
export class StreamedReply<M> {
  readonly #transport: ReplyTransport<M>;
  readonly #editIntervalMs: number;
  /** Sent messages, what each shows, and when it was last written (Date.now()). */
  readonly #messages: { message: M; shown: string; writtenAt: number }[] = [];
  #text = '';
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #finished = false;

  constructor(transport: ReplyTransport<M>, options: { editIntervalMs?: number } = {}) {
    this.#transport = transport;
    this.#editIntervalMs = options.editIntervalMs ?? 1_200;
  }

  /** The whole text received so far. */
  get text(): string {
    return this.#text;
  }

  /** Number of messages sent so far. */
  get messageCount(): number {
    return this.#messages.length;
  }

  /** Adds streamed text; the visible messages catch up at the next flush. */
  append(delta: string): void {
    if (this.#finished || delta.length === 0) return;
    this.#text += delta;
    if (this.#messages.length === 0) this.#schedule(0);
    else this.#schedule(this.#editIntervalMs);
  }

  /** Writes the final text (or `fallback` if nothing came) and stops editing. */
  async finish(fallback?: string): Promise<void> {
    this.#finished = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#text.trim().length === 0 && fallback) this.#text = fallback;
    await this.#enqueueFlush();
  }

  #schedule(delayMs: number): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#enqueueFlush();
    }, delayMs);
  }

  #enqueueFlush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flush()).catch(() => undefined);
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    // Even the final edit waits out the interval since the message was last written, so a message is
    // never edited twice within `editIntervalMs` (the answer may end just after a throttled edit).
    const pending = splitForDiscord(this.#text);
    const waitMs = Math.max(
      0,
      ...this.#messages.filter((sent, index) => pending[index] !== undefined && pending[index] !== sent.shown).map((sent) => sent.writtenAt + this.#editIntervalMs - Date.now()),
    );
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    const pieces = splitForDiscord(this.#text);
    for (let index = 0; index < pieces.length; index++) {
      const content = pieces[index]!;
      if (content.length === 0) continue;
      const existing = this.#messages[index];
      if (!existing) {
        const message = index === 0 ? await this.#transport.sendFirst(content) : await this.#transport.sendNext(content);
        this.#messages.push({ message, shown: content, writtenAt: Date.now() });
      } else if (existing.shown !== content) {
        await this.#transport.edit(existing.message, content);
        existing.shown = content;
        existing.writtenAt = Date.now();
      }
    }
  }
}
