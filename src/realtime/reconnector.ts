/**
 * Reconnection after a lost server session: attempts with exponential backoff and jitter (never
 * sooner than a rate-limit pause allows), until one succeeds, a fatal error (bad key, wrong dialect)
 * makes retrying pointless, or the attempts run out.
 */
import type { Logger } from 'pino';
import { backoffDelay, Sleeper, type ReconnectOptions } from './backoff.ts';
import type { RealtimeConnection } from './connection.ts';
import { ConnectionError, RealtimeError } from './errors.ts';

/** Attempts before giving up by default. */
export const DEFAULT_MAX_RECONNECT_ATTEMPTS = 10;

/** What reconnection needs from the client. */
export interface ReconnectHost {
  log: Logger;
  /** Whether the client still wants to reconnect (false once it was closed meanwhile). */
  stillReconnecting(): boolean;
  /** Responses may not be sent before this time (rate limit): no point reconnecting earlier. */
  pausedUntil(): number;
  /** Announces an attempt (the client emits `reconnecting`). */
  attempting(info: { attempt: number; delayMs: number; reason: string }): void;
  /** Opens and configures a new server session. */
  openSession(): Promise<RealtimeConnection>;
  /** An attempt succeeded: `conn` becomes the session. */
  reconnected(conn: RealtimeConnection): void;
  /** Reconnecting is over for good (fatal error, or attempts exhausted): the client stops with `closeReason`. */
  fail(error: RealtimeError, closeReason?: string): void;
}

/** Runs the attempts of one reconnection at a time. */
export class Reconnector {
  readonly #host: ReconnectHost;
  readonly #options: ReconnectOptions;
  readonly #sleeper = new Sleeper();

  constructor(host: ReconnectHost, options: ReconnectOptions = {}) {
    this.#host = host;
    this.#options = options;
  }

  /** Reconnects after losing the session for `reason`; `immediate` skips the first delay (an expected close). */
  async run(reason: string, immediate: boolean): Promise<void> {
    const maxAttempts = this.#options.maxAttempts ?? DEFAULT_MAX_RECONNECT_ATTEMPTS;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let delayMs = attempt === 1 && immediate ? 0 : backoffDelay(attempt, this.#options);
      delayMs = Math.max(delayMs, this.#host.pausedUntil() - Date.now());
      this.#host.attempting({ attempt, delayMs, reason });
      await this.#sleeper.sleep(delayMs);
      if (!this.#host.stillReconnecting()) return;
      try {
        const conn = await this.#host.openSession();
        if (!this.#host.stillReconnecting()) {
          conn.close();
          return;
        }
        this.#host.reconnected(conn);
        return;
      } catch (err) {
        if (!this.#host.stillReconnecting()) return;
        const error = err instanceof RealtimeError ? err : new ConnectionError(String(err), { cause: err });
        if (error.fatal) {
          this.#host.fail(error);
          return;
        }
        this.#host.log.warn({ attempt, code: error.code, msg: error.message }, 'reconnect attempt failed');
        reason = error.message;
      }
    }
    this.#host.fail(new ConnectionError(`gave up reconnecting after ${maxAttempts} attempts: ${reason}`, { fatal: true, code: 'reconnect_failed' }), 'reconnect failed');
  }

  /** Cuts a backoff wait short (the client is closing: the loop then sees it and stops). */
  stop(): void {
    this.#sleeper.wake();
  }
}
