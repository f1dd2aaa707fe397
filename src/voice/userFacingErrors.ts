/**
 * What people are told when the model service fails: a short, generic sentence. The details (host,
 * HTTP status, the service's own message, which may echo a URL and its secrets) go to the log only,
 * and even there through the scrubber (`src/log.ts`).
 */

/** The fields of a realtime error that decide what people are told. */
export interface ProblemSource {
  code?: string | null;
  type?: string | null;
  name?: string;
}

/** A service error code as shown to people: a bare identifier, or nothing (never free text). */
function safeCode(code: string | null | undefined): string | null {
  return code && /^[a-z][a-z0-9_.]{0,63}$/i.test(code) ? code : null;
}

/**
 * Why the model cannot be used, for a message people see (the /join reply, /status): whether the key
 * was refused, the service is rate limiting, or it is unreachable — never a host, URL or message text.
 */
export function modelUnavailableReason(error: unknown): string {
  const source = (typeof error === 'object' && error !== null ? error : {}) as ProblemSource;
  if (source.name === 'AuthenticationError' || source.code === 'invalid_api_key') return 'the AI model service did not accept the bot\'s API key';
  if (source.code === 'rate_limit_exceeded') return 'the AI model service is rate limiting the bot';
  if (source.name === 'DialectError') return 'the AI model service speaks another protocol version than the bot is configured for';
  return 'the AI model service is unavailable right now';
}

/** A model error reported during a conversation, as /status shows it: the error code only. */
export function problemFromError(error: ProblemSource): string {
  const code = safeCode(error.code) ?? safeCode(error.type);
  return code ? `the model service reported an error (${code})` : 'the model service reported an error';
}
