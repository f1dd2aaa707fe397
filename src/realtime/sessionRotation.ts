/**
 * Rotation: moving a conversation to a fresh server session before the service's maximum session
 * duration (60 minutes for OpenAI), or on demand when a setting the service cannot change mid-session
 * (the voice) must take effect. It never cuts anything: it waits for the response in flight and for a
 * user turn in progress (up to a grace period), opens the next session while the current one keeps
 * serving, and swaps when nothing is in flight.
 */
import type { Logger } from 'pino';
import { backoffDelay, type ReconnectOptions } from './backoff.ts';
import type { RealtimeConnection } from './connection.ts';
import { ConnectionError, RealtimeError } from './errors.ts';

/** Rotate after this long by default (the service's limit is 60 minutes). */
export const DEFAULT_ROTATE_AFTER_MS = 55 * 60_000;
/** How long a due rotation waits by default for a user turn in progress to end. */
export const DEFAULT_ROTATE_GRACE_MS = 4 * 60_000;

/** What rotation needs from the client it rotates. */
export interface RotationHost {
  log: Logger;
  /** Whether the client is open (rotation only happens then). */
  isOpen(): boolean;
  /** Whether a response is requested or active (never cut). */
  responseInFlight(): boolean;
  /** Whether a user turn is in progress (waited for, up to the grace period). */
  userTurnInProgress(): boolean;
  /** Opens and configures a new server session. */
  openSession(): Promise<RealtimeConnection>;
  /** Makes `next` the current session (closing the old one). */
  swapTo(next: RealtimeConnection): void;
  /** Sends input buffered while the hand-over was under way to the current session. */
  flushInput(): void;
  /** A fatal error while opening the next session: the client stops for good. */
  fail(error: RealtimeError): void;
}

/** Options of {@link SessionRotation}. */
export interface RotationOptions {
  /** Rotate after this long (default 55 min). 0, negative or non-finite disables. */
  rotateAfterMs?: number;
  /** How long a due rotation may wait for a user turn in progress (default 4 min). */
  rotateGraceMs?: number;
  /** Backoff of a failed attempt (its first step is the delay before retrying). */
  reconnect?: ReconnectOptions;
}

/** Owns the rotation timer, the due time, the hand-over in progress and a standby session. */
export class SessionRotation {
  readonly #host: RotationHost;
  readonly #options: RotationOptions;
  #timer: NodeJS.Timeout | null = null;
  #dueAt: number | null = null;
  #opening = false;
  /** A session opened while a response started meanwhile: swapped in when that response is done. */
  #standby: RealtimeConnection | null = null;

  constructor(host: RotationHost, options: RotationOptions) {
    this.#host = host;
    this.#options = options;
  }

  /** True while the next session is being opened: input is buffered meanwhile, responses wait. */
  get handingOver(): boolean {
    return this.#opening;
  }

  get #graceMs(): number {
    return this.#options.rotateGraceMs ?? DEFAULT_ROTATE_GRACE_MS;
  }

  /** Arms the timer for a session that just started. */
  schedule(): void {
    this.clear();
    const after = this.#options.rotateAfterMs ?? DEFAULT_ROTATE_AFTER_MS;
    if (!(after > 0) || !Number.isFinite(after)) return;
    this.#timer = setTimeout(() => {
      this.#dueAt = Date.now();
      // Re-check when the grace for a turn in progress runs out.
      this.#timer = setTimeout(() => this.maybeRotate(), this.#graceMs);
      this.maybeRotate();
    }, after);
  }

  /** Disarms the timer and forgets a due rotation (the session was lost, or the client closes). */
  clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#dueAt = null;
  }

  /** Makes a rotation due now (it still waits for what is in flight). */
  requestNow(): void {
    if (!this.#host.isOpen()) return;
    this.#dueAt ??= Date.now();
    this.maybeRotate();
  }

  /** Rotates if due and nothing would be cut: no response in flight, no user turn in progress (up to the grace). */
  maybeRotate(): void {
    if (this.#dueAt === null || this.#opening || !this.#host.isOpen()) return;
    if (this.#host.responseInFlight()) return;
    if (this.#standby) {
      const next = this.#standby;
      this.#standby = null;
      this.#host.swapTo(next);
      return;
    }
    const graceOver = Date.now() - this.#dueAt >= this.#graceMs;
    if (this.#host.userTurnInProgress() && !graceOver) return;
    void this.#rotate();
  }

  /** Closes a standby session (the client closes); resolves once its socket is gone. */
  close(): Promise<void> {
    this.clear();
    const standby = this.#standby;
    this.#standby = null;
    standby?.close(1000, 'client closing');
    return standby ? standby.whenClosed() : Promise.resolve();
  }

  async #rotate(): Promise<void> {
    this.#opening = true;
    this.#host.log.info('rotating to a fresh realtime session');
    let next: RealtimeConnection;
    try {
      next = await this.#host.openSession();
    } catch (err) {
      this.#opening = false;
      const error = err instanceof RealtimeError ? err : new ConnectionError(String(err), { cause: err });
      if (error.fatal) {
        this.#host.fail(error);
        return;
      }
      this.#host.log.warn({ code: error.code, msg: error.message }, 'rotation failed; retrying later');
      this.#host.flushInput();
      setTimeout(() => this.maybeRotate(), backoffDelay(1, this.#options.reconnect)).unref();
      return;
    }
    this.#opening = false;
    if (!this.#host.isOpen()) {
      next.close();
      return;
    }
    if (this.#host.responseInFlight()) {
      // A server-created response started meanwhile: swap when it is done.
      this.#standby = next;
      this.#host.flushInput();
      return;
    }
    this.#host.swapTo(next);
  }
}
