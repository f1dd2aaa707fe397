/**
 * Server errors as they concern a response request: which errors are rate limits, and whether an
 * error (with or without the `event_id` of the client event it answers) is about the request waiting
 * for `response.created`.
 */

/** A server `error` as the tracker needs it. */
export interface ServerErrorInfo {
  code: string;
  type: string | null;
  message: string;
  param: string | null;
  /** The client event it names; null when the service named none. */
  eventId: string | null;
}

/** What a server error did to the pending request. */
export type RequestErrorOutcome = 'unrelated' | 'requeued' | 'failed';

/** How many times one request is retried after rate limits before it fails (the turn is stale by then). */
export const MAX_RATE_LIMIT_RETRIES = 3;

/** Whether an error code is a rate limit (`rate_limit_exceeded`, or `inference_rate_limit_exceeded`: livekit/agents#2967). */
export function isRateLimitCode(code: string | null | undefined): boolean {
  return typeof code === 'string' && /^(?:inference_)?rate_limit_exceeded$/.test(code);
}

/**
 * Whether a server error is about the request sent as `requestEventId`: named by its id, or, without
 * an id, one that only a `response.create` causes (a busy conversation, a rate limit, a refused
 * `response.*` parameter) or a server failure while it waits. Other anonymous errors (or forged ones)
 * leave it alone.
 */
export function concernsRequest(error: ServerErrorInfo, requestEventId: string): boolean {
  if (error.eventId !== null) return error.eventId === requestEventId;
  if (error.param) return error.param.startsWith('response');
  return error.code === 'conversation_already_has_active_response' || isRateLimitCode(error.code) || error.code === 'server_error' || error.type === 'server_error';
}
