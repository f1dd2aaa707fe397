/**
 * What /status shows as wrong with a guild's conversation, kept by cause so that each clears when
 * its cause is gone: a lost connection when a session is back (reconnected or rotated), a rate limit
 * when the pause is over and the next reply came, an error of the service when a reply completes or
 * a fresh session starts, a held voice change when the fresh session carrying it is current.
 */

/** The causes of a problem, in the order /status lists them. */
export const PROBLEM_KINDS = ['failure', 'connection', 'rate_limit', 'error', 'voice'] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

/** A problem's text, or a function giving it now (null when the problem has gone by itself). */
type ProblemText = string | (() => string | null);

/** The problems of one conversation, one per cause. */
export class ConversationProblems {
  readonly #problems = new Map<ProblemKind, ProblemText>();

  /** Sets (or replaces) the problem of a cause. */
  set(kind: ProblemKind, text: ProblemText): void {
    this.#problems.set(kind, text);
  }

  /** The cause's condition is gone. */
  clear(...kinds: ProblemKind[]): void {
    for (const kind of kinds) this.#problems.delete(kind);
  }

  /** Whether a problem of this cause is shown. */
  has(kind: ProblemKind): boolean {
    return this.current().some((problem) => problem.kind === kind);
  }

  /** The problems as they stand now, in display order. */
  current(): { kind: ProblemKind; text: string }[] {
    const out: { kind: ProblemKind; text: string }[] = [];
    for (const kind of PROBLEM_KINDS) {
      const entry = this.#problems.get(kind);
      if (entry === undefined) continue;
      const text = typeof entry === 'function' ? entry() : entry;
      if (text === null) this.#problems.delete(kind);
      else out.push({ kind, text });
    }
    return out;
  }

  /** One line for /status, or null when all is well. */
  get summary(): string | null {
    const problems = this.current();
    return problems.length === 0 ? null : problems.map((problem) => problem.text).join('; ');
  }
}

/**
 * The rate limit as /status words it: which limit (when the service's message names it, e.g.
 * "requests per min (RPM)") and when the bot tries again. Null once the pause is over and nothing is
 * waiting for it any more.
 */
export function rateLimitText(message: string, pausedUntil: number, waiting: boolean, now = Date.now()): string | null {
  const limit = /on (requests|tokens) per (min|day|minute|hour)/i.exec(message);
  const which = limit ? ` (${limit[1]!.toLowerCase()} per ${limit[2]!.toLowerCase().replace('minute', 'min')})` : '';
  const left = pausedUntil - now;
  if (left > 0) return `rate limited by the model service${which}, retrying in ${Math.ceil(left / 1000)} s`;
  return waiting ? `rate limited by the model service${which}, retrying now` : null;
}
