/** Named errors of the realtime client. Every one carries the server's code and type when there is one. */

/** Fields of {@link RealtimeError}. */
export interface RealtimeErrorInit {
  code: string;
  type?: string;
  /** True when the client stopped because of it (no reconnect will follow). */
  fatal?: boolean;
  param?: string | null;
  /** Id of the client event that caused it, as echoed by the server. */
  eventId?: string | null;
  /** Type of that client event, when the id matched one the client sent (e.g. `session.update`). */
  eventType?: string;
  cause?: unknown;
}

/** An error reported by the server (`error` event) or the transport. */
export class RealtimeError extends Error {
  override name = 'RealtimeError';
  /** Server error code (`rate_limit_exceeded`, `session_expired`…) or a client one (`connection_failed`…). */
  readonly code: string;
  /** Server error type (`invalid_request_error`, `server_error`…) or `client_error`. */
  readonly type: string;
  readonly fatal: boolean;
  readonly param: string | null;
  readonly eventId: string | null;
  /** Type of the client event that caused it, when the service named one the client sent. */
  readonly eventType: string | null;

  constructor(message: string, init: RealtimeErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.type = init.type ?? 'client_error';
    this.fatal = init.fatal ?? false;
    this.param = init.param ?? null;
    this.eventId = init.eventId ?? null;
    this.eventType = init.eventType ?? null;
  }
}

/** The service refused the API key at the handshake (HTTP 401/403). Never retried. */
export class AuthenticationError extends RealtimeError {
  override name = 'AuthenticationError';
  readonly status: number;
  constructor(status: number, url: string, cause?: unknown) {
    super(`bad API key: ${hostOf(url)} refused the connection with HTTP ${status}`, {
      code: 'invalid_api_key',
      type: 'authentication_error',
      fatal: true,
      cause,
    });
    this.status = status;
  }
}

/** The service speaks the other dialect (`beta_api_shape_disabled`, or it refused the session shape). */
export class DialectError extends RealtimeError {
  override name = 'DialectError';
}

/** The service refused the session configuration for another reason (bad voice, bad value…). */
export class SessionConfigError extends RealtimeError {
  override name = 'SessionConfigError';
}

/** Could not reach the service, the handshake failed, or the socket closed before the session was ready. */
export class ConnectionError extends RealtimeError {
  override name = 'ConnectionError';
  /** HTTP status of a refused handshake, if any. */
  readonly status: number | null;
  constructor(message: string, init: Omit<RealtimeErrorInit, 'code'> & { code?: string; status?: number | null }) {
    super(message, { ...init, code: init.code ?? 'connection_failed' });
    this.status = init.status ?? null;
  }
}

/** Host part of a URL, for messages (never the query, which could carry secrets). */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the service';
  }
}
