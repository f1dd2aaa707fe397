/**
 * Response bookkeeping: a queue of requested responses, the one request awaiting `response.created`,
 * and the active response. Only one response is in flight per session, so a request made while one
 * is active waits here instead of provoking `conversation_already_has_active_response`. The active
 * response's streamed output is applied by its {@link ResponseStream}; which server errors concern a
 * request is decided in requestErrors.ts.
 */
import type { Logger } from 'pino';
import { responseToWire, type WireEvent } from './dialect.ts';
import { retryAfterFromMessage, usageFromWire } from './protocol.ts';
import { concernsRequest, isRateLimitCode, MAX_RATE_LIMIT_RETRIES, type RequestErrorOutcome, type ServerErrorInfo } from './requestErrors.ts';
import { ResponseHandle, type ResponseRequest } from './responseHandle.ts';
import { ResponseStream, type EventOf } from './responseStream.ts';
import type { Dialect, RealtimeEventMap, ResponseResult, ResponseStatus } from './types.ts';
import type { TokenUsage } from './usage.ts';

type Emit = <K extends keyof RealtimeEventMap>(name: K, ...args: RealtimeEventMap[K]) => void;

/** Metadata key carrying the client's reference of a request, to match `response.created` to it. */
export const REF_METADATA_KEY = 'client_ref';

/** Dependencies of {@link ResponseTracker}. */
export interface ResponseTrackerDeps {
  dialect: Dialect;
  log: Logger;
  emit: Emit;
  /** Sends on the current session; null when there is none. */
  send: (event: WireEvent) => string | null;
  /** The estimated cost of a response's usage: computed once here, then carried by the result. */
  price: (usage: TokenUsage) => number;
  /** Called once per finished response that the server reported (usage, history), before `response_done`. */
  finished: (handle: ResponseHandle, result: ResponseResult) => void;
  /** A request was refused for rate limiting: pause responses this long (the request waits at the head of the queue). */
  rateLimited: (retryAfterMs: number, message: string) => void;
  /** Called when a stalled response was given up, so the next queued one can be sent. */
  idle?: () => void;
  /** A request or active response with no event about it for this long is given up (default 20 s). */
  stallMs?: number;
}

const STATUSES: readonly ResponseStatus[] = ['completed', 'cancelled', 'failed', 'incomplete'];

/** Reason of a response requested after the client closed (it fails at once). */
export const CLIENT_CLOSED = 'client_closed';

/** Tracks and sequences responses of the current server session. */
export class ResponseTracker {
  readonly #deps: ResponseTrackerDeps;
  readonly #queue: ResponseHandle[] = [];
  #requested: { handle: ResponseHandle; eventId: string } | null = null;
  #active: ResponseHandle | null = null;
  #cancelSent = false;
  /** Whether this service echoes request metadata in `response.created` (then a response without our reference is the server's own). */
  #echoesMetadata = false;
  /** The active response's output as it streams in (its audio per item, whether the session has any). */
  readonly stream: ResponseStream;
  #stallTimer: NodeJS.Timeout | null = null;
  /** Set once the client closed: later requests settle at once instead of waiting for a session that never comes. */
  #closedReason: string | null = null;

  constructor(deps: ResponseTrackerDeps) {
    this.#deps = deps;
    this.stream = new ResponseStream({ log: deps.log, emit: deps.emit, current: (id) => this.#current(id), activity: () => this.#rearmStallWatchdog() });
  }

  /** Id of the active response, if the server has created it. */
  get activeResponseId(): string | null {
    return this.#active?.responseId ?? null;
  }

  /** True while a request awaits `response.created` or a response is active. */
  get busy(): boolean {
    return this.#requested !== null || this.#active !== null;
  }

  /** Number of queued (not yet sent) requests. */
  get queued(): number {
    return this.#queue.length;
  }

  /** The handle of the active response with this id (null when it is not the active one). */
  handleOf(responseId: string): ResponseHandle | null {
    return this.#current(responseId);
  }

  /** The active response's handle, if any. */
  get active(): ResponseHandle | null {
    return this.#active;
  }

  /** Whether a cancel was sent for the active response with this id. */
  cancelRequested(responseId: string): boolean {
    return this.#cancelSent && this.#current(responseId) !== null;
  }

  /** Creates a handle and queues it. */
  request(request: ResponseRequest): ResponseHandle {
    const handle = new ResponseHandle(request, (h) => this.cancel(h));
    if (this.#closedReason !== null) this.#settleUnsent(handle, 'failed', CLIENT_CLOSED);
    else this.#queue.push(handle);
    return handle;
  }

  /** Sends the next queued request if nothing is in flight and sending is allowed. */
  pump(canSend: boolean): void {
    if (!canSend || this.busy) return;
    const handle = this.#queue.shift();
    if (!handle) return;
    const metadata = { ...handle.request.metadata, [REF_METADATA_KEY]: handle.ref };
    const response = responseToWire({ ...handle.request, metadata }, this.#deps.dialect);
    const eventId = this.#deps.send({ type: 'response.create', response });
    if (eventId === null) {
      this.#queue.unshift(handle);
      return;
    }
    this.#requested = { handle, eventId };
    this.#rearmStallWatchdog();
  }

  /**
   * (Re)arms the stall watchdog while something is in flight. A response that stops producing events
   * (a lost or forged `response.created`, a server that never answers) would otherwise keep
   * `busy` true forever and every later request would wait behind it: the bot would go mute.
   */
  #rearmStallWatchdog(): void {
    if (this.#stallTimer) clearTimeout(this.#stallTimer);
    this.#stallTimer = null;
    if (!this.busy) return;
    this.#stallTimer = setTimeout(() => this.#onStall(), this.#deps.stallMs ?? 20_000);
    this.#stallTimer.unref();
  }

  #onStall(): void {
    this.#stallTimer = null;
    const inFlight = this.#active ?? this.#requested?.handle ?? null;
    if (!inFlight) return;
    this.#deps.log.warn({ responseId: inFlight.responseId }, 'response stalled: no event about it for too long; giving up on it');
    this.#active = null;
    this.#requested = null;
    this.#cancelSent = false;
    const result = inFlight.finish('failed', null, 'stalled');
    this.#deps.finished(inFlight, result);
    this.#deps.emit('response_done', result);
    this.#deps.idle?.();
  }

  /** Cancels the active response (no-op if none, or if a cancel was already sent for it). */
  cancelActive(): void {
    if (!this.busy || this.#cancelSent) return;
    const responseId = this.#active?.responseId;
    this.#cancelSent = this.#deps.send(responseId ? { type: 'response.cancel', response_id: responseId } : { type: 'response.cancel' }) !== null;
  }

  /** Drops every queued request (they resolve `cancelled`). */
  cancelQueued(): void {
    for (const handle of this.#queue.splice(0)) this.#settleUnsent(handle, 'cancelled', 'client_cancelled');
  }

  /** Cancels one handle wherever it is. */
  cancel(handle: ResponseHandle): void {
    const index = this.#queue.indexOf(handle);
    if (index >= 0) {
      this.#queue.splice(index, 1);
      this.#settleUnsent(handle, 'cancelled', 'client_cancelled');
    } else if (this.#active === handle || this.#requested?.handle === handle) {
      this.cancelActive();
    }
  }

  /** The session is gone: the in-flight response is lost (resolves `failed`), queued ones wait for the next session. */
  sessionLost(reason: string): void {
    const inFlight = this.#active ?? this.#requested?.handle ?? null;
    this.#active = null;
    this.#requested = null;
    this.#cancelSent = false;
    this.#rearmStallWatchdog();
    this.stream.forgetItems();
    if (inFlight) {
      const result = inFlight.finish('failed', null, reason);
      this.#deps.finished(inFlight, result);
      this.#deps.emit('response_done', result);
    }
  }

  /** The client is closing: everything resolves, and so will every later request, at once. */
  closeAll(reason: string): void {
    this.#closedReason = reason;
    this.sessionLost(reason);
    for (const handle of this.#queue.splice(0)) this.#settleUnsent(handle, 'cancelled', reason);
  }

  /**
   * A server `error` event, matched to the pending request by its `event_id`. An error without one
   * (the service leaves it null for some errors) is taken as the pending request's when only a
   * `response.create` could have caused it (see concernsRequest): waiting for the stall watchdog
   * would leave the turn unanswered for 20 s. A busy conversation or a rate limit puts the request back at
   * the head of the queue; any other error fails it at once.
   */
  requestError(error: ServerErrorInfo): RequestErrorOutcome {
    const requested = this.#requested;
    if (!requested || !concernsRequest(error, requested.eventId)) return 'unrelated';
    this.#requested = null;
    this.#rearmStallWatchdog();
    if (error.code === 'conversation_already_has_active_response') {
      // Not the request's fault (a response of the server's own started first): it waits for that one.
      this.#queue.unshift(requested.handle);
      return 'requeued';
    }
    if (isRateLimitCode(error.code)) return this.#rateLimited(requested.handle, error.message) ? 'requeued' : 'failed';
    this.#deps.log.warn({ code: error.code, anonymous: error.eventId === null }, 'response request refused');
    this.#settleUnsent(requested.handle, 'failed', error.code);
    return 'failed';
  }

  /**
   * A request refused for rate limiting: back to the head of the queue and a pause for the hinted
   * time, up to {@link MAX_RATE_LIMIT_RETRIES} times. Returns false (and fails the request) after that.
   */
  #rateLimited(handle: ResponseHandle, message: string | null): boolean {
    const retryAfterMs = retryAfterFromMessage(message);
    if (handle.rateLimitRetries >= MAX_RATE_LIMIT_RETRIES) {
      this.#deps.log.warn({ retries: handle.rateLimitRetries }, 'response request still rate-limited; giving up on it');
      this.#deps.rateLimited(retryAfterMs, message ?? 'rate limit exceeded');
      this.#settleUnsent(handle, 'failed', 'rate_limit_exceeded');
      return false;
    }
    handle.rateLimitRetries++;
    handle.prepareRetry();
    this.#queue.unshift(handle);
    this.#deps.rateLimited(retryAfterMs, message ?? 'rate limit exceeded');
    return true;
  }

  onCreated(event: EventOf<'response.created'>): void {
    const id = event.response.id;
    const ref = event.response.metadata?.[REF_METADATA_KEY];
    if (ref !== undefined) this.#echoesMetadata = true;
    let handle: ResponseHandle;
    const byOrder = ref === undefined && !this.#echoesMetadata;
    if (this.#requested && (ref === this.#requested.handle.ref || byOrder)) {
      // Matched by our reference, or (services never seen echoing metadata) by order.
      handle = this.#requested.handle;
      this.#requested = null;
    } else {
      // Created by the server itself (server VAD with create_response).
      handle = new ResponseHandle({ outOfBand: false, serverCreated: true }, (h) => this.cancel(h));
    }
    const previous = this.#active;
    if (previous && previous !== handle && previous.responseId !== id) {
      // Only one response is active at a time: one that was never finished must still resolve.
      this.#deps.log.warn({ previous: previous.responseId, next: id }, 'response.created while another response was active; giving up on the previous one');
      this.#active = null;
      const result = previous.finish('failed', null, 'superseded');
      this.#deps.finished(previous, result);
      this.#deps.emit('response_done', result);
    }
    handle.responseId = id;
    this.#active = handle;
    this.#cancelSent = false;
    this.#rearmStallWatchdog();
    this.#deps.emit('response_started', { responseId: id });
  }

  #current(responseId: string): ResponseHandle | null {
    return this.#active?.responseId === responseId ? this.#active : null;
  }

  onDone(event: EventOf<'response.done'>): void {
    const handle = this.#current(event.response.id);
    if (!handle) {
      this.#deps.log.debug({ responseId: event.response.id }, 'response.done for an unknown response');
      return;
    }
    this.#active = null;
    this.#cancelSent = false;
    this.#rearmStallWatchdog();
    const raw = event.response.status ?? 'completed';
    const status: ResponseStatus = (STATUSES as readonly string[]).includes(raw) ? (raw as ResponseStatus) : 'failed';
    const details = event.response.status_details;
    // The other form of a rate limit: the response fails at once with the code in status_details
    // (livekit/agents#2967). A request of ours is retried after the pause, like a refused request.
    if (status === 'failed' && isRateLimitCode(details?.error?.code)) {
      if (!handle.request.serverCreated) {
        this.#rateLimited(handle, details?.error?.message ?? null);
        return;
      }
      this.#deps.rateLimited(retryAfterFromMessage(details?.error?.message), details?.error?.message ?? 'rate limit exceeded');
    }
    const reason = status === 'completed' ? undefined : (details?.reason ?? details?.error?.code ?? undefined);
    const usage = usageFromWire(event.response.usage);
    const result = handle.finish(status, usage, reason, usage ? this.#deps.price(usage) : 0);
    this.#deps.finished(handle, result);
    this.#deps.emit('response_done', result);
  }

  #settleUnsent(handle: ResponseHandle, status: ResponseStatus, reason: string): void {
    const result = handle.finish(status, null, reason);
    this.#deps.emit('response_done', result);
  }
}
