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
  code: string;
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
  constructor(error: SimError) {
    super(error.message);
    this.error = error;
  }
}

/** Errors with the service's codes and wording. */
export const simErrors = {
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
