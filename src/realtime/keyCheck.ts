/**
 * The start-up check of the model key: open one WebSocket to the configured endpoint exactly as a
 * conversation would (same URL with the model, same headers), wait for the service's first event, and
 * close. Nothing is sent on the socket — no session.update, no audio, no response — so nothing is
 * billed; a session that only existed is free.
 *
 * The real service refuses a key in two ways, and both count as "refused":
 * - at the HTTP upgrade, with 401 or 403 (seen from OpenAI for keys without realtime access:
 *   openai/openai-realtime-api-beta#2, openai/openai-realtime-agents#6);
 * - after accepting the upgrade, with an `error` event whose code is `invalid_api_key`, then close
 *   code 3000 "invalid_request_error.invalid_api_key" (seen for unknown keys:
 *   openai/openai-realtime-api-beta#2, twilio-samples/speech-assistant-openai-realtime-api-python#4).
 */
import type { Logger } from 'pino';
import { RealtimeConnection } from './connection.ts';
import { AuthenticationError, ConnectionError, hostOf } from './errors.ts';
import { handshakeHeaders } from './presets.ts';
import type { Dialect } from './types.ts';

/** What the service said about the key. */
export type KeyCheckResult =
  | { status: 'accepted'; ms: number }
  | { status: 'refused'; reason: string; httpStatus?: number; code?: string }
  /** Could not tell: unreachable, another HTTP status, an unexpected close, or no answer in time. */
  | { status: 'unknown'; reason: string; httpStatus?: number };

/** Options of {@link checkModelKey}. */
export interface KeyCheckOptions {
  /** The URL a conversation dials (the model in it). */
  url: string;
  dialect: Dialect;
  apiKey: string;
  logger: Logger;
  /** How long to wait for the handshake and the first event (default 10 s). */
  timeoutMs?: number;
}

const REFUSED_CODES = new Set(['invalid_api_key', 'insufficient_quota', 'unauthorized', 'forbidden']);

/** Opens, waits for the first event, closes. Never throws. */
export async function checkModelKey(options: KeyCheckOptions): Promise<KeyCheckResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const started = performance.now();
  let connection: RealtimeConnection;
  try {
    connection = await RealtimeConnection.open({
      url: options.url,
      headers: handshakeHeaders(options.dialect, options.apiKey),
      logger: options.logger,
      handshakeTimeoutMs: timeoutMs,
    });
  } catch (error) {
    if (error instanceof AuthenticationError) return { status: 'refused', reason: error.message, httpStatus: error.status };
    const httpStatus = error instanceof ConnectionError ? (error.status ?? undefined) : undefined;
    return { status: 'unknown', reason: error instanceof Error ? error.message : String(error), httpStatus };
  }
  return new Promise<KeyCheckResult>((resolve) => {
    const finish = (result: KeyCheckResult) => {
      clearTimeout(timer);
      connection.removeAllListeners();
      connection.on('event', () => undefined);
      connection.close(1000, 'key check done');
      resolve(result);
    };
    const timer = setTimeout(() => finish({ status: 'unknown', reason: `${hostOf(options.url)} sent nothing within ${timeoutMs} ms after the handshake` }), timeoutMs);
    connection.on('event', (event) => {
      if (event.type === 'session.created' || event.type === 'session.updated') {
        finish({ status: 'accepted', ms: Math.round(performance.now() - started) });
      } else if (event.type === 'error') {
        const error = (event as { error?: { code?: string | null; type?: string | null; message?: string } }).error ?? {};
        const code = error.code ?? undefined;
        const refused = (code !== undefined && REFUSED_CODES.has(code)) || error.type === 'authentication_error';
        const reason = `${hostOf(options.url)} answered ${code ?? error.type ?? 'an error'}${error.message ? `: ${error.message}` : ''}`;
        finish(refused ? { status: 'refused', reason, code } : { status: 'unknown', reason });
      }
    });
    connection.on('close', (code, reason) => {
      const text = `${hostOf(options.url)} closed the connection (${code}${reason ? ` ${reason}` : ''}) before the session started`;
      finish(/invalid_api_key|unauthori[sz]ed|forbidden/i.test(reason) ? { status: 'refused', reason: text, code: 'invalid_api_key' } : { status: 'unknown', reason: text });
    });
    connection.releaseEvents();
  });
}

/**
 * Runs {@link checkModelKey} and logs the outcome: `info` when the key is accepted, a `warn` that says
 * what will fail and what to fix when it is refused or the service cannot be asked. Never the key.
 */
export async function reportModelKeyCheck(options: Omit<KeyCheckOptions, 'logger'> & { model: string; logger: Logger }): Promise<KeyCheckResult> {
  const log = options.logger.child({ component: 'realtime' });
  const result = await checkModelKey({ ...options, logger: log });
  const where = { host: hostOf(options.url), model: options.model, dialect: options.dialect };
  if (result.status === 'accepted') {
    log.info({ ...where, ms: result.ms }, 'model key accepted');
  } else if (result.status === 'refused') {
    log.warn(
      { ...where, reason: result.reason, httpStatus: result.httpStatus, code: result.code },
      'model key refused: the model service rejected REALTIME_API_KEY, so /join and mentions will fail until it is fixed (check the key and REALTIME_PROVIDER/REALTIME_URL; `npm run talk` tests it)',
    );
  } else {
    log.warn({ ...where, reason: result.reason, httpStatus: result.httpStatus }, 'model key not checked: the model service could not be asked at start');
  }
  return result;
}
