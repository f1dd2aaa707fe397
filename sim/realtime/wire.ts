/**
 * Wire details of the simulated service: event names per dialect and the error event shape
 * (`{type:"error", event_id, error:{type, code, message, param, event_id}}`).
 */

/** The dialect a connection speaks, chosen from its handshake (beta header or not). */
export type SimDialect = 'ga' | 'beta';

/** How a beta connection names its events: beta names, GA names, or a mix (like CometAPI). */
export type BetaNaming = 'beta' | 'ga' | 'mixed';

const GA_TO_BETA: Readonly<Record<string, string>> = {
  'response.output_audio.delta': 'response.audio.delta',
  'response.output_audio.done': 'response.audio.done',
  'response.output_audio_transcript.delta': 'response.audio_transcript.delta',
  'response.output_audio_transcript.done': 'response.audio_transcript.done',
  'response.output_text.delta': 'response.text.delta',
  'response.output_text.done': 'response.text.done',
  'conversation.item.added': 'conversation.item.created',
};

/** Name of a server event (given by its GA name) in a dialect. */
export function eventName(gaName: string, dialect: SimDialect, naming: BetaNaming, counter: number): string {
  if (dialect === 'ga') return gaName;
  const beta = GA_TO_BETA[gaName];
  if (!beta || naming === 'ga') return gaName;
  if (naming === 'mixed' && counter % 2 === 0) return gaName;
  return beta;
}

/** An error of the service. */
export interface SimError {
  type?: string;
  /** The error code; null for the errors the service sends without one. */
  code: string | null;
  message: string;
  param?: string | null;
}

/** The body of an `error` event. */
export function errorBody(error: SimError, eventId: string | null): Record<string, unknown> {
  return {
    error: {
      type: error.type ?? 'invalid_request_error',
      code: error.code,
      message: error.message,
      param: error.param ?? null,
      event_id: eventId,
    },
  };
}

/** Thrown inside event handling to answer the client event with an error. */
export class SimRequestError extends Error {
  readonly error: SimError;
  /**
   * The error names no client event (`error.event_id: null`) even though one caused it, as the real
   * service does for some errors (e.g. `cannot_update_voice`, openai/openai-agents-python#1661).
   */
  readonly withoutEventId: boolean;
  constructor(error: SimError, options: { withoutEventId?: boolean } = {}) {
    super(error.message);
    this.error = error;
    this.withoutEventId = options.withoutEventId ?? false;
  }
}

/** Voices the service knows (reference "Session changes the service refuses"). */
export const VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', 'cedar'] as const;
/** Voices only the GA dialect has: a beta endpoint may refuse them, so the simulator does. */
export const GA_ONLY_VOICES: readonly string[] = ['marin', 'cedar'];

/**
 * A rate-limit hint as OpenAI writes it in "Please try again in 1m26.4s." / "in 6s" / "in 20ms"
 * (openai/openai-agents-js#1022).
 */
export function retryHint(ms: number): string {
  const rounded = Math.max(0, Math.round(ms));
  if (rounded < 1000) return `${rounded}ms`;
  const seconds = (value: number) => `${Number(value.toFixed(3))}s`;
  if (rounded < 60_000) return seconds(rounded / 1000);
  return `${Math.floor(rounded / 60_000)}m${seconds((rounded % 60_000) / 1000)}`;
}

/** Errors with the service's codes and wording. */
export const simErrors = {
  /** openai/openai-agents-python#1661: message, type and code as the service sent them, with `event_id: null`. */
  cannotUpdateVoice: (): SimError => ({ type: 'invalid_request_error', code: 'cannot_update_voice', message: "Cannot update a conversation's voice if assistant audio is present." }),
  /** The error-event form of a rate limit (openai/openai-agents-js#1022 wording). */
  rateLimited: (model: string, retryAfterMs: number, code = 'rate_limit_exceeded'): SimError => ({
    type: 'invalid_request_error',
    code,
    message: `Rate limit reached for ${model} in organization org-sim on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in ${retryHint(retryAfterMs)}. Visit https://platform.openai.com/account/rate-limits to learn more.`,
  }),
  unknownParameter: (param: string): SimError => ({ code: 'unknown_parameter', message: `Unknown parameter: '${param}'.`, param }),
  missingParameter: (param: string): SimError => ({ code: 'missing_required_parameter', message: `Missing required parameter: '${param}'.`, param }),
  invalidValue: (param: string, detail: string): SimError => ({ code: 'invalid_value', message: `Invalid value for '${param}': ${detail}.`, param }),
  invalidType: (param: string, expected: string): SimError => ({ code: 'invalid_type', message: `Invalid type for '${param}': expected ${expected}.`, param }),
};

/** Throws an invalid-type error unless the check holds. */
export function expect(condition: boolean, param: string, expected: string): asserts condition {
  if (!condition) throw new SimRequestError(simErrors.invalidType(param, expected));
}

/** Throws an unknown-parameter error for any key of `object` not in `allowed`. */
export function onlyKeys(object: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) throw new SimRequestError(simErrors.unknownParameter(`${path}.${key}`));
  }
}

/** Whether a value is a plain object. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
