/**
 * One WebSocket to the service = one server session. Classifies handshake failures (bad key vs
 * unreachable), stamps client events with ids (so server errors can be matched to requests), parses
 * server events tolerantly, and performs the session configuration handshake.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import type { Logger } from 'pino';
import { AuthenticationError, ConnectionError, DialectError, RealtimeError, SessionConfigError, hostOf } from './errors.ts';
import { redactUrlsIn } from '../redact.ts';
import { parseServerEvent, type ServerEvent } from './protocol.ts';
import type { WireEvent } from './dialect.ts';
import { appendFrame } from './appendFrame.ts';
import { parseServerFrame } from './audioDeltaFrame.ts';

/** Options of {@link RealtimeConnection.open}. */
export interface ConnectionOptions {
  url: string;
  headers: Record<string, string>;
  logger: Logger;
  /** Limit for the TCP + HTTP upgrade, in ms. */
  handshakeTimeoutMs?: number;
  /** ws's `createConnection`: how the TCP/TLS connection is made (default: to the URL's host). */
  createConnection?: WebSocket.ClientOptions['createConnection'];
}

let connectionCounter = 0;

/** A connected socket. Emits parsed server events and a single `close`. */
export class RealtimeConnection extends EventEmitter<{ event: [ServerEvent]; close: [code: number, reason: string] }> {
  readonly #ws: WebSocket;
  readonly #log: Logger;
  readonly #prefix: string;
  #sent = 0;
  /** Types of the recently sent client events by id, to tell what a server error is about. */
  readonly #sentTypes = new Map<string, string>();
  #closed = false;
  /** Resolves once the socket has closed (its TCP connection gone), whoever closed it. */
  readonly #whenClosed: Promise<void>;
  /**
   * Events held until a consumer is ready. ws emits every frame of a TCP chunk synchronously, so an
   * event right after `open` (e.g. `beta_api_shape_disabled`) or right after `session.updated` would
   * otherwise reach nobody while the consumer is still being attached.
   */
  #held: ServerEvent[] | null = [];

  private constructor(ws: WebSocket, log: Logger) {
    super();
    this.#ws = ws;
    this.#log = log;
    this.#prefix = `evt_c${++connectionCounter}_`;
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        log.warn('dropped binary server frame');
        return;
      }
      const event = Buffer.isBuffer(data) ? parseServerFrame(data, log) : parseServerEvent(data.toString(), log);
      if (!event) return;
      if (this.#held) {
        if (this.#held.length < 10_000) this.#held.push(event);
      } else {
        this.emit('event', event);
      }
    });
    let socketClosed!: () => void;
    this.#whenClosed = new Promise((resolve) => (socketClosed = resolve));
    ws.on('close', (code, reason) => {
      this.#closed = true;
      socketClosed();
      this.emit('close', code, reason.toString());
    });
    // After the handshake, socket errors are followed by `close`; they are logged, never thrown.
    ws.on('error', (err) => log.warn({ err: err.message }, 'realtime socket error'));
  }

  /** Opens the socket. Rejects with {@link AuthenticationError} on 401/403, else {@link ConnectionError}. */
  static open(options: ConnectionOptions): Promise<RealtimeConnection> {
    const { url, headers, logger } = options;
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url, {
          headers,
          handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
          perMessageDeflate: false,
          ...(options.createConnection ? { createConnection: options.createConnection } : {}),
        });
      } catch (err) {
        reject(new ConnectionError(`invalid realtime URL: ${redactUrlsIn((err as Error).message)}`, { cause: err, fatal: true }));
        return;
      }
      let settled = false;
      const fail = (err: RealtimeError) => {
        if (settled) return;
        settled = true;
        ws.removeAllListeners();
        ws.on('error', () => {}); // a late error of an aborted handshake must not become an uncaught exception
        ws.terminate();
        reject(err);
      };
      ws.once('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        if (status === 401 || status === 403) {
          res.resume();
          fail(new AuthenticationError(status, url));
          return;
        }
        // The service explains a refusal in a JSON error body (e.g. 400 "Missing required parameter:
        // 'model'."): read a little of it for the message, without waiting on a slow body.
        readErrorBody(res).then((detail) => {
          // The service's message may echo the request URL: quoted without its secrets.
          const message = `${hostOf(url)} refused the WebSocket upgrade with HTTP ${status}${detail.message ? `: ${redactUrlsIn(detail.message)}` : ''}`;
          // A malformed request (400, 404, 422) fails the same way every time: retrying cannot help.
          const fatal = status === 400 || status === 404 || status === 422;
          fail(new ConnectionError(message, { status, code: detail.code ?? 'handshake_refused', fatal }));
        });
      });
      ws.once('error', (err) => {
        const code = (err as NodeJS.ErrnoException).code;
        fail(new ConnectionError(`cannot reach ${hostOf(url)}: ${code ?? err.message}`, { cause: err }));
      });
      ws.once('open', () => {
        ws.removeAllListeners();
        resolve(new RealtimeConnection(ws, logger));
      });
    });
  }

  /** Whether the socket has closed. */
  get closed(): boolean {
    return this.#closed || this.#ws.readyState >= WebSocket.CLOSING;
  }

  /** Delivers held events and every later one as they come (the consumer is attached). */
  releaseEvents(): void {
    const held = this.#held;
    this.#held = null;
    for (let i = 0; i < (held?.length ?? 0); i++) {
      // A listener may call holdEvents() again while we replay (configure resolving): keep the rest held.
      const rest = this.#held as ServerEvent[] | null;
      if (rest) rest.push(held![i]!);
      else this.emit('event', held![i]!);
    }
  }

  /** Holds events until the next {@link releaseEvents} (no consumer attached yet). */
  holdEvents(): void {
    this.#held ??= [];
  }

  /**
   * Sends a client event stamped with a fresh `event_id`, remembered to match errors; returns the id
   * (or null if the socket is gone). Audio goes through {@link sendAudioAppend}, never here.
   */
  send(event: WireEvent): string | null {
    if (this.closed) return null;
    const eventId = `${this.#prefix}${++this.#sent}`;
    this.#ws.send(JSON.stringify({ ...event, event_id: eventId }));
    this.#sentTypes.set(eventId, event.type);
    if (this.#sentTypes.size > MAX_REMEMBERED_EVENTS) this.#sentTypes.delete(this.#sentTypes.keys().next().value!);
    return eventId;
  }

  /**
   * Sends `input_audio_buffer.append` with this PCM (stamped like {@link send}), written as the bytes of
   * the text frame ({@link appendFrame}: no heap strings on the 20 ms input path); returns the id, or null.
   * Its id is not remembered: appends are most of the traffic and the service answers them with nothing,
   * so they would push the events errors are matched against out of {@link sentEventType}'s memory.
   */
  sendAudioAppend(pcm: Uint8Array): string | null {
    if (this.closed) return null;
    const eventId = `${this.#prefix}${++this.#sent}`;
    this.#ws.send(appendFrame(pcm, eventId), { binary: false });
    return eventId;
  }

  /** Type of a client event sent on this socket, by its `event_id` (the last few hundred are remembered). */
  sentEventType(eventId: string): string | undefined {
    return this.#sentTypes.get(eventId);
  }

  /** The `session` object this session was configured with (null before {@link configure}). */
  configuredSession: object | null = null;

  /** Sends `session.update` and waits for `session.updated`; rejects if the server refuses it or closes. */
  configure(session: object, timeoutMs: number): Promise<void> {
    this.configuredSession = session;
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('close', onClose);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new ConnectionError('the service did not confirm the session configuration in time', { code: 'session_timeout' }));
      }, timeoutMs);
      const onClose = (code: number, reason: string) => {
        cleanup();
        reject(new ConnectionError(`the service closed the connection before the session was ready (${code}${reason ? ` ${reason}` : ''})`, {}));
      };
      const onEvent = (event: ServerEvent) => {
        if (event.type === 'session.updated') {
          cleanup();
          this.holdEvents(); // what follows waits for the client to attach
          resolve();
        } else if (event.type === 'error') {
          const err = sessionError(event.error, eventId);
          if (err) {
            cleanup();
            reject(err);
          }
        }
      };
      this.on('event', onEvent);
      this.on('close', onClose);
      const eventId = this.send({ type: 'session.update', session });
      this.releaseEvents();
    });
  }

  /**
   * Resolves once the socket has closed: the closing handshake done (or ws's own close timeout hit)
   * and the TCP connection released.
   */
  whenClosed(): Promise<void> {
    return this.#whenClosed;
  }

  /**
   * Closes the socket (idempotent); {@link whenClosed} tells when it is gone. A server that does not
   * answer the closing handshake within {@link CLOSE_HANDSHAKE_MS} has the socket cut (ws alone would
   * wait 30 s), so closing a client never waits long.
   */
  close(code = 1000, reason = 'client closing'): void {
    if (this.#ws.readyState === WebSocket.CONNECTING) this.#ws.terminate();
    else if (this.#ws.readyState === WebSocket.OPEN) {
      this.#ws.close(code, reason);
      const cut = setTimeout(() => this.#ws.terminate(), CLOSE_HANDSHAKE_MS);
      cut.unref();
      void this.#whenClosed.then(() => clearTimeout(cut));
    }
  }
}

/** How long a closing handshake may take before the socket is cut. */
const CLOSE_HANDSHAKE_MS = 2000;

/** Client events remembered for matching errors (errors answer within moments; appends are not counted). */
const MAX_REMEMBERED_EVENTS = 512;

/** Longest part of a refused handshake's body that is read for its message. */
const MAX_ERROR_BODY_BYTES = 4096;

/**
 * The `error.message` and `error.code` of a refused handshake's JSON body (OpenAI's error object),
 * from at most 4 KiB read within 1 s; empty when there is none. Never rejects.
 */
function readErrorBody(res: IncomingMessage): Promise<{ message?: string; code?: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      res.removeAllListeners('data');
      res.resume();
      try {
        const error = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: { message?: unknown; code?: unknown } }).error;
        const clean = (value: unknown) => (typeof value === 'string' ? value.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 300) : undefined);
        resolve({ message: clean(error?.message), code: clean(error?.code) });
      } catch {
        resolve({});
      }
    };
    const timer = setTimeout(finish, 1000);
    res.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_ERROR_BODY_BYTES) finish();
    });
    res.once('end', finish);
    res.once('error', finish);
  });
}

/** Error shape of a server `error` event. */
export interface WireError {
  type?: string | null;
  code?: string | null;
  message: string;
  param?: string | null;
  event_id?: string | null;
}

/**
 * The error that makes session configuration fail, or null if the error is unrelated (a stray
 * error event during the handshake is left to the normal error path).
 */
function sessionError(error: WireError, updateEventId: string | null): RealtimeError | null {
  const init = { code: error.code ?? 'unknown', type: error.type ?? undefined, param: error.param, eventId: error.event_id, fatal: true };
  if (error.code === 'beta_api_shape_disabled') {
    return new DialectError(`the service has disabled the beta API shape: use dialect "ga" (${error.message})`, init);
  }
  const aboutUpdate = error.event_id != null ? error.event_id === updateEventId : (error.param ?? '').startsWith('session');
  if (!aboutUpdate) return null;
  if (error.code === 'unknown_parameter' || error.code === 'missing_required_parameter') {
    return new DialectError(`the service refused the session shape (${error.message}): the dialect setting is probably wrong`, init);
  }
  return new SessionConfigError(`the service refused the session configuration: ${error.message}`, init);
}
