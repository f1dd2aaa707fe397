/**
 * The life of a client's server sessions: the first connect, the current session, losing it and
 * reconnecting ({@link Reconnector}), rotating to a fresh one ({@link SessionRotation}), and the end
 * — closed on purpose, or failed for good. What flows through a session (input, responses, history)
 * is the client's business; this owns only which session is current and the client's state.
 *
 *   idle → connecting → open ⇄ reconnecting
 *            ↓            ↓         ↓
 *          (idle)       closed ← ───┘     (closed is final: a fatal error or close())
 */
import type { Logger } from 'pino';
import type { RealtimeClientOptions } from './clientOptions.ts';
import { RealtimeConnection } from './connection.ts';
import { sessionToWire, type WireEvent } from './dialect.ts';
import { ConnectionError, RealtimeError } from './errors.ts';
import { handshakeHeaders } from './presets.ts';
import { Reconnector } from './reconnector.ts';
import { SessionRotation } from './sessionRotation.ts';
import type { ClientState, RealtimeEventMap, SessionConfig } from './types.ts';

/** How a session became current. */
export type SessionStart = 'connected' | 'reconnected' | 'rotated';

/** What the lifecycle needs from the client. */
export interface LifecycleHost {
  log: Logger;
  options: RealtimeClientOptions;
  /** The URL every session is opened on (the model in it). */
  url: string;
  /** The configuration every new session is opened with (live updates included). */
  sessionConfig(): SessionConfig;
  /** `conn` becomes current: reset per-session state, route its events, re-seed it, send held input. */
  prepareSession(conn: RealtimeConnection): void;
  /** The session became current and is receiving events (the client announces it). */
  sessionStarted(how: SessionStart): void;
  /** The current session is gone (its in-flight response is lost). */
  sessionLost(): void;
  /** The client closed for good, for `reason`. */
  closed(reason: string): void;
  /** An error for the client's listeners. */
  reportError(error: RealtimeError): void;
  emit<K extends 'reconnecting' | 'session_updated'>(name: K, ...args: RealtimeEventMap[K]): void;
  /** Whether a response is requested or active (a rotation never cuts it). */
  responseInFlight(): boolean;
  /** Whether a user turn is in progress (a rotation waits for it, up to a grace period). */
  userTurnInProgress(): boolean;
  /** Sends input held during a rotation's hand-over. */
  flushInput(): void;
  /** Responses may not be sent before this time (rate limit). */
  pausedUntil(): number;
}

/** Owns the client's state and its current server session. */
export class SessionLifecycle {
  readonly #host: LifecycleHost;
  readonly #rotation: SessionRotation;
  readonly #reconnector: Reconnector;
  #state: ClientState = 'idle';
  #conn: RealtimeConnection | null = null;
  /** Resolves once the sockets open when {@link close} was called are gone. */
  #socketsClosed: Promise<void> = Promise.resolve();
  /** Why the server said it would close the socket (e.g. session_expired), for the close that follows. */
  #closeReason: string | null = null;

  constructor(host: LifecycleHost) {
    this.#host = host;
    const { log, options } = host;
    this.#rotation = new SessionRotation(
      {
        log,
        isOpen: () => this.#state === 'open',
        responseInFlight: () => host.responseInFlight(),
        userTurnInProgress: () => host.userTurnInProgress(),
        openSession: () => this.#openSession(),
        swapTo: (next) => this.#swapTo(next),
        flushInput: () => host.flushInput(),
        fail: (error) => this.fail(error),
      },
      options,
    );
    this.#reconnector = new Reconnector(
      {
        log,
        stillReconnecting: () => this.#state === 'reconnecting',
        pausedUntil: () => host.pausedUntil(),
        attempting: (info) => host.emit('reconnecting', info),
        openSession: () => this.#openSession(),
        reconnected: (conn) => {
          this.#state = 'open';
          this.#attach(conn);
          host.sessionStarted('reconnected');
        },
        fail: (error, closeReason) => this.fail(error, closeReason),
      },
      options.reconnect,
    );
  }

  get state(): ClientState {
    return this.#state;
  }

  /** The current session, if any. */
  get connection(): RealtimeConnection | null {
    return this.#conn;
  }

  /** True while a rotation opens the next session: input is held and responses wait meanwhile. */
  get handingOver(): boolean {
    return this.#rotation.handingOver;
  }

  /** Sends on the current session; null when there is none. */
  send(event: WireEvent): string | null {
    return this.#conn?.send(event) ?? null;
  }

  /** Sends an audio append on the current session; null when there is none. */
  sendAudioAppend(pcm: Uint8Array): string | null {
    return this.#conn?.sendAudioAppend(pcm) ?? null;
  }

  /** Opens the first session (see RealtimeClient.connect). */
  async connect(): Promise<void> {
    if (this.#state !== 'idle') throw new RealtimeError(`connect() called in state ${this.#state}`, { code: 'invalid_state' });
    this.#state = 'connecting';
    this.#closeReason = null;
    try {
      const conn = await this.#openSession();
      if (this.#state !== 'connecting') {
        conn.close();
        throw new ConnectionError('the client was closed while connecting', { code: 'client_closed' });
      }
      this.#state = 'open';
      this.#attach(conn);
      this.#host.sessionStarted('connected');
    } catch (err) {
      if (this.#state === 'connecting') this.#state = 'idle';
      throw err;
    }
  }

  /** The server announced why it is about to close the socket. */
  expectClose(reason: string): void {
    this.#closeReason = reason;
  }

  /** A response finished or a turn ended: a due rotation may go ahead now. */
  maybeRotate(): void {
    this.#rotation.maybeRotate();
  }

  /** Makes a rotation due now (it still waits for what is in flight). */
  rotate(): void {
    this.#rotation.requestNow();
  }

  /** The one way a fatal error ends the client: reported to listeners, then closed for good. */
  fail(error: RealtimeError, closeReason = error.message): void {
    this.#host.reportError(error);
    void this.close(closeReason);
  }

  /**
   * Closes for good: no reconnect, timers stopped, the socket closed. The state changes at once; the
   * returned promise resolves once the sockets (live and standby) are gone, so whoever closes a client
   * can wait until it holds no connection.
   */
  close(reason: string): Promise<void> {
    if (this.#state === 'closed') return this.#socketsClosed;
    this.#state = 'closed';
    this.#reconnector.stop();
    const standbyClosed = this.#rotation.close();
    const conn = this.#conn;
    this.#conn = null;
    conn?.close(1000, 'client closing');
    this.#socketsClosed = Promise.all([standbyClosed, conn?.whenClosed()]).then(() => undefined);
    this.#host.closed(reason);
    return this.#socketsClosed;
  }

  async #openSession(): Promise<RealtimeConnection> {
    const { options, log } = this.#host;
    const headers = handshakeHeaders(options.dialect, options.apiKey, options.headers);
    const conn = await RealtimeConnection.open({
      url: this.#host.url,
      headers,
      logger: log,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
      createConnection: options.createConnection,
    });
    try {
      await conn.configure(sessionToWire(this.#host.sessionConfig(), options.dialect), options.sessionTimeoutMs ?? 10_000);
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  /** Makes `conn` the current session: the client prepares it, rotation is armed, held events flow. */
  #attach(conn: RealtimeConnection): void {
    this.#conn = conn;
    this.#host.prepareSession(conn);
    conn.on('close', (code, reason) => this.#onClose(conn, code, reason));
    this.#rotation.schedule();
    this.#host.emit('session_updated');
    conn.releaseEvents();
    if (conn.closed && this.#conn === conn) this.#onClose(conn, 1006, 'closed during setup');
  }

  #swapTo(next: RealtimeConnection): void {
    const old = this.#conn;
    this.#conn = null;
    old?.removeAllListeners();
    old?.close(1000, 'session rotated');
    this.#attach(next);
    this.#host.sessionStarted('rotated');
  }

  #onClose(conn: RealtimeConnection, code: number, reason: string): void {
    if (conn !== this.#conn) return;
    this.#conn = null;
    this.#host.sessionLost();
    if (this.#state !== 'open') return;
    const why = this.#closeReason ?? `socket closed (${code}${reason ? ` ${reason}` : ''})`;
    this.#closeReason = null;
    this.#host.log.warn({ code, why }, 'realtime session lost');
    this.#state = 'reconnecting';
    // A standby session opened for a rotation belongs to the lost one's timeline: drop it too.
    void this.#rotation.close();
    void this.#reconnector.run(why, why === 'session_expired');
  }
}
