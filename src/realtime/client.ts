/**
 * The realtime client: one logical conversation over a succession of server sessions. It reconnects
 * with backoff when the socket drops, rotates to a fresh session before the service's maximum
 * duration, and re-seeds every new session with the configuration and the transcript history.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { realtimeBytesToMs, REALTIME_BYTES_PER_MS } from '../audio/format.ts';
import { InputAttribution } from './attribution.ts';
import { backoffDelay, Sleeper, type ReconnectOptions } from './backoff.ts';
import { RealtimeConnection, type ConnectionOptions } from './connection.ts';
import { messageItem, sessionToWire, type WireEvent } from './dialect.ts';
import { ConnectionError, RealtimeError } from './errors.ts';
import { ConversationHistory, cutTranscript } from './history.ts';
import { dispatchServerEvent } from './dispatch.ts';
import { handshakeHeaders, modelInUrl, realtimeUrl } from './presets.ts';
import type { ResponseHandle } from './responseHandle.ts';
import { ResponseTracker } from './responses.ts';
import type { ClientState, CreateResponseOptions, Dialect, HistoryEntry, OutOfBandResponseOptions, RealtimeEventMap, ResponseResult, SessionConfig } from './types.ts';
import { addUsage, DEFAULT_PRICES, emptyTotals, estimateCost, UsageLedger, type PriceTable, type TokenUsage, type UsageTotals } from './usage.ts';

/** Options of {@link RealtimeClient}. */
export interface RealtimeClientOptions {
  /** The service's URL; `?model=` is added (by `realtimeUrl`) when it has no `model` parameter. */
  url: string;
  /** The model: put in the URL when it names none, and used for prices (a model in the URL wins). */
  model: string;
  dialect: Dialect;
  apiKey: string;
  /** Extra handshake headers (override the defaults). */
  headers?: Record<string, string>;
  session: SessionConfig;
  logger: Logger;
  reconnect?: ReconnectOptions;
  /** Rotate to a fresh server session after this long (default 55 min, for the 60-minute limit). 0 disables. */
  rotateAfterMs?: number;
  /** How long a due rotation may wait for a user turn in progress to end (default 4 min). */
  rotateGraceMs?: number;
  /** Token budget of the history re-seeded into a new session (default 6000). */
  historyTokenBudget?: number;
  prices?: PriceTable;
  /** Key for per-key totals in the ledger (the bot uses the guild id; default "default"). */
  usageKey?: string;
  /** Ledger shared between clients to total usage per key. */
  usageLedger?: UsageLedger;
  /**
   * How the TCP or TLS connection under the WebSocket is made (ws's `createConnection`); by default a
   * normal connection to the URL's host. Tests use it to route a real host name to a local server.
   */
  createConnection?: ConnectionOptions['createConnection'];
  /** Limit for the TCP + HTTP upgrade (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Limit for the session configuration to be confirmed (default 10 s). */
  sessionTimeoutMs?: number;
  /** Input audio kept while there is no usable session (reconnecting, rotating), newest kept (default 5 s). */
  maxBufferedAudioMs?: number;
  /** A response (or request) with no event about it for this long is given up as failed (default 20 s). */
  responseStallMs?: number;
}

type InputOp = { kind: 'audio'; pcm: Buffer; labels: readonly string[] } | { kind: 'commit' } | { kind: 'clear' };

/** Largest single `input_audio_buffer.append` (the service accepts up to 15 MiB). */
const MAX_APPEND_BYTES = 1 << 20;

/** A realtime speech-to-speech conversation. See {@link RealtimeEventMap} for its events. */
export class RealtimeClient extends EventEmitter<RealtimeEventMap> {
  readonly #opts: RealtimeClientOptions;
  /** The URL dialed for every session: the model always in it. */
  readonly #url: string;
  /** The model of that URL (priced). */
  readonly #model: string;
  readonly #log: Logger;
  #session: SessionConfig;
  #state: ClientState = 'idle';
  #conn: RealtimeConnection | null = null;
  #standby: RealtimeConnection | null = null;
  #attribution = new InputAttribution();
  readonly #history = new ConversationHistory();
  readonly #responses: ResponseTracker;
  readonly #usage = emptyTotals();
  #sessionUsage = emptyTotals();
  readonly #ledger: UsageLedger;
  #pendingInput: InputOp[] = [];
  #speechActive = false;
  #rotationTimer: NodeJS.Timeout | null = null;
  #rotationDueAt: number | null = null;
  #rotating = false;
  #pausedUntil = 0;
  #pauseTimer: NodeJS.Timeout | null = null;
  #closeReason: string | null = null;
  readonly #sleeper = new Sleeper();
  readonly #truncatedMs = new Map<string, number>();

  constructor(options: RealtimeClientOptions) {
    super();
    this.#opts = options;
    this.#url = realtimeUrl(options.url, options.model);
    this.#model = modelInUrl(this.#url) || options.model;
    this.#log = options.logger.child({ component: 'realtime', dialect: options.dialect, model: this.#model });
    this.#session = { ...options.session };
    this.#ledger = options.usageLedger ?? new UsageLedger(options.prices ?? DEFAULT_PRICES);
    this.#responses = new ResponseTracker({
      dialect: options.dialect,
      log: this.#log,
      emit: (name, ...args) => this.#emitTyped(name, args),
      send: (event) => this.#send(event),
      finished: (handle, result, usage) => this.#finished(handle, result, usage),
      idle: () => {
        this.#maybeRotate();
        this.#pump();
      },
      stallMs: options.responseStallMs,
    });
  }

  /** The URL every session is opened on (the model in its query). */
  get url(): string {
    return this.#url;
  }
  /** The model of that URL, used for prices. */
  get model(): string {
    return this.#model;
  }
  /** Connection state. */
  get state(): ClientState {
    return this.#state;
  }
  /** The current session configuration (with live updates applied). */
  get session(): Readonly<SessionConfig> {
    return this.#session;
  }
  /** The conversation as remembered for re-seeding (entries with text, oldest first). */
  get history(): readonly HistoryEntry[] {
    return this.#history.entries();
  }
  /** This client's usage over all its server sessions. */
  get usage(): UsageTotals {
    return { ...this.#usage };
  }
  /** Usage of the current server session. */
  get sessionUsage(): UsageTotals {
    return { ...this.#sessionUsage };
  }
  /** Id of the active response, once the server created it. */
  get activeResponseId(): string | null {
    return this.#responses.activeResponseId;
  }
  /** Number of requested responses waiting for the active one to finish. */
  get queuedResponses(): number {
    return this.#responses.queued;
  }

  /**
   * Opens the first session and resolves once it is configured. Rejects with AuthenticationError
   * (bad key), DialectError (wrong dialect), SessionConfigError or ConnectionError; no retry here.
   */
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
      this.emit('open');
    } catch (err) {
      if (this.#state === 'connecting') this.#state = 'idle';
      throw err;
    }
  }

  /** Closes the client for good: pending responses resolve as cancelled, timers stop, no reconnect. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#shutdown('client closed');
  }

  /** Applies a configuration change now (`session.update`) and remembers it for new sessions. */
  updateSession(patch: Partial<SessionConfig>): void {
    this.#session = { ...this.#session, ...patch };
    if (this.#conn) this.#send({ type: 'session.update', session: sessionToWire(patch, this.#opts.dialect) });
  }

  /** Appends 24 kHz mono PCM16. `contributors` are the speaker labels whose audio is in this chunk. */
  appendAudio(pcm24kMono: Buffer, contributors: readonly string[] = []): void {
    if (pcm24kMono.length === 0) return;
    this.#input({ kind: 'audio', pcm: pcm24kMono, labels: contributors });
  }

  /** Commits the input buffer as a user turn (manual turn detection). */
  commitAudio(): void {
    this.#input({ kind: 'commit' });
  }

  /** Drops uncommitted input audio. */
  clearInputAudio(): void {
    this.#input({ kind: 'clear' });
  }

  /** Requests a response; queued while another is active. */
  createResponse(options: CreateResponseOptions = {}): ResponseHandle {
    const handle = this.#responses.request({ ...options, outOfBand: false });
    this.#pump();
    return handle;
  }

  /** Requests a response outside the conversation (`conversation: "none"`), e.g. a summary. */
  createOutOfBandResponse(options: OutOfBandResponseOptions): ResponseHandle {
    const handle = this.#responses.request({ modalities: ['text'], ...options, outOfBand: true });
    this.#pump();
    return handle;
  }

  /** Cancels the active response if there really is one (else nothing is sent). Queued ones stay. */
  cancelResponse(): void {
    this.#responses.cancelActive();
  }

  /** Drops the queued (not yet started) responses; they resolve `cancelled`. */
  cancelQueued(): void {
    this.#responses.cancelQueued();
  }

  /**
   * Truncates an assistant item's audio to what was played. `audioEndMs` is floored to an integer and
   * clamped to the audio received for the item (the server refuses anything longer).
   */
  truncate(itemId: string, audioEndMs: number): void {
    const received = this.#responses.itemAudioBytes(itemId);
    if (received === undefined) {
      this.#log.debug({ itemId }, 'truncate ignored: no audio received for this item in this session');
      return;
    }
    const receivedMs = Math.floor(received / REALTIME_BYTES_PER_MS);
    const endMs = Math.min(receivedMs, Math.max(0, Math.floor(Number.isFinite(audioEndMs) ? audioEndMs : 0)));
    this.#truncatedMs.set(itemId, endMs);
    if (this.#truncatedMs.size > 256) this.#truncatedMs.delete(this.#truncatedMs.keys().next().value!);
    const entry = this.#history.byItemId(itemId);
    if (entry) entry.text = cutTranscript(entry.text, endMs, realtimeBytesToMs(received));
    this.#send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: endMs });
  }

  /** Adds a user text message to the conversation (and history). */
  addUserText(text: string, options: { name?: string } = {}): void {
    this.#history.add({ role: 'user', text, kind: 'text', ...(options.name === undefined ? {} : { name: options.name }) });
    this.#send({ type: 'conversation.item.create', item: messageItem('user', text, this.#opts.dialect) });
  }

  /** Adds a user-role note such as "[speaker: Alice]" (recorded in history as a note). */
  addContextNote(text: string): void {
    this.#history.add({ role: 'user', text, kind: 'note' });
    this.#send({ type: 'conversation.item.create', item: messageItem('user', text, this.#opts.dialect) });
  }

  // ---- internals -------------------------------------------------------------------------------

  /** Emits with arguments typed by a generic key (EventEmitter's overloads cannot express this). */
  #emitTyped<K extends keyof RealtimeEventMap>(name: K, args: RealtimeEventMap[K]): void {
    (this.emit as (name: string, ...args: unknown[]) => boolean)(name, ...args);
  }

  #send(event: WireEvent): string | null {
    return this.#conn?.send(event) ?? null;
  }

  /** Errors are emitted only to listeners: an unobserved `error` event must not crash the bot. */
  #emitError(err: RealtimeError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.#log.warn({ code: err.code, fatal: err.fatal, msg: err.message }, 'realtime error');
  }

  #input(op: InputOp): void {
    if (this.#conn && !this.#rotating) this.#sendInput(op);
    else this.#bufferInput(op);
  }

  #sendInput(op: InputOp): void {
    if (op.kind === 'audio') {
      for (let offset = 0; offset < op.pcm.length; offset += MAX_APPEND_BYTES) {
        const chunk = op.pcm.subarray(offset, offset + MAX_APPEND_BYTES);
        if (this.#send({ type: 'input_audio_buffer.append', audio: chunk.toString('base64') }) !== null) {
          this.#attribution.append(chunk.length, op.labels);
        }
      }
    } else if (op.kind === 'commit') {
      this.#send({ type: 'input_audio_buffer.commit' });
    } else {
      this.#send({ type: 'input_audio_buffer.clear' });
      this.#attribution.cleared();
    }
  }

  #bufferInput(op: InputOp): void {
    this.#pendingInput.push(op);
    const limit = (this.#opts.maxBufferedAudioMs ?? 5000) * REALTIME_BYTES_PER_MS;
    let bytes = this.#pendingInput.reduce((sum, o) => sum + (o.kind === 'audio' ? o.pcm.length : 0), 0);
    while (bytes > limit) {
      const index = this.#pendingInput.findIndex((o) => o.kind === 'audio');
      const [dropped] = this.#pendingInput.splice(index, 1);
      if (dropped?.kind === 'audio') bytes -= dropped.pcm.length;
    }
  }

  #canSend(): boolean {
    return this.#state === 'open' && this.#conn !== null && !this.#rotating && Date.now() >= this.#pausedUntil;
  }

  #pump(): void {
    this.#responses.pump(this.#canSend());
  }

  /** Stops sending responses for a while (rate limit), then resumes. */
  pauseResponses(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + ms);
    if (this.#pauseTimer) clearTimeout(this.#pauseTimer);
    this.#pauseTimer = setTimeout(() => this.#pump(), this.#pausedUntil - Date.now() + 1);
  }

  async #openSession(): Promise<RealtimeConnection> {
    const headers = handshakeHeaders(this.#opts.dialect, this.#opts.apiKey, this.#opts.headers);
    const conn = await RealtimeConnection.open({
      url: this.#url,
      headers,
      logger: this.#log,
      handshakeTimeoutMs: this.#opts.handshakeTimeoutMs,
      createConnection: this.#opts.createConnection,
    });
    try {
      await conn.configure(sessionToWire(this.#session, this.#opts.dialect), this.#opts.sessionTimeoutMs ?? 10_000);
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  /** Makes `conn` the current session: re-seed history, flush buffered input, arm rotation. */
  #attach(conn: RealtimeConnection): void {
    this.#conn = conn;
    this.#attribution = new InputAttribution();
    this.#sessionUsage = emptyTotals();
    this.#speechActive = false;
    this.#truncatedMs.clear();
    this.#responses.newSession();
    const context = this.#dispatchContext();
    conn.on('event', (event) => {
      if (this.#conn === conn) dispatchServerEvent(context, event);
    });
    conn.on('close', (code, reason) => this.#onClose(conn, code, reason));
    const seed = this.#history.withinBudget(this.#opts.historyTokenBudget ?? 6000);
    for (const entry of seed) this.#send({ type: 'conversation.item.create', item: messageItem(entry.role, entry.text, this.#opts.dialect) });
    if (seed.length > 0) this.#log.info({ items: seed.length }, 'session re-seeded from history');
    for (const op of this.#pendingInput.splice(0)) this.#sendInput(op);
    this.#scheduleRotation();
    this.emit('session_updated');
    conn.start();
    if (conn.closed && this.#conn === conn) this.#onClose(conn, 1006, 'closed during setup');
  }

  #dispatchContext() {
    return {
      log: this.#log,
      responses: this.#responses,
      attribution: this.#attribution,
      history: this.#history,
      transcribing: () => Boolean(this.#session.inputTranscription),
      emit: <K extends keyof RealtimeEventMap>(name: K, ...args: RealtimeEventMap[K]) => this.#emitTyped(name, args),
      emitError: (err: RealtimeError) => this.#emitError(err),
      setSpeechActive: (active: boolean) => {
        this.#speechActive = active;
        if (!active) this.#maybeRotate();
      },
      afterResponse: () => {
        this.#maybeRotate();
        this.#pump();
      },
      pauseResponses: (ms: number) => this.pauseResponses(ms),
      retrySoon: () => setTimeout(() => this.#pump(), 250),
      expecting: (reason: string) => (this.#closeReason = reason),
      fatal: (err: RealtimeError) => {
        this.#emitError(err);
        this.#shutdown(err.message);
      },
    };
  }

  #finished(handle: ResponseHandle, result: ResponseResult, usage: TokenUsage | null): void {
    if (usage) {
      const cost = estimateCost(usage, this.#model, this.#opts.prices ?? DEFAULT_PRICES);
      addUsage(this.#usage, usage, cost);
      addUsage(this.#sessionUsage, usage, cost);
      this.#ledger.add(this.#opts.usageKey ?? 'default', usage, this.#model);
      this.emit('usage', this.usage);
    }
    if (result.outOfBand) return;
    let text = result.transcript || result.text;
    const itemId = result.itemIds[0];
    const truncated = itemId === undefined ? undefined : this.#truncatedMs.get(itemId);
    if (truncated !== undefined) text = cutTranscript(text, truncated, realtimeBytesToMs(handle.audioBytes));
    if (text) this.#history.add({ role: 'assistant', text, kind: result.transcript ? 'transcript' : 'text', ...(itemId ? { itemId } : {}) });
  }

  #onClose(conn: RealtimeConnection, code: number, reason: string): void {
    if (conn !== this.#conn) return;
    this.#conn = null;
    this.#speechActive = false;
    this.#responses.sessionLost('disconnected');
    if (this.#state !== 'open') return;
    const why = this.#closeReason ?? `socket closed (${code}${reason ? ` ${reason}` : ''})`;
    this.#closeReason = null;
    this.#log.warn({ code, why }, 'realtime session lost');
    void this.#reconnect(why, why === 'session_expired');
  }

  async #reconnect(reason: string, immediate: boolean): Promise<void> {
    this.#state = 'reconnecting';
    this.#clearRotation();
    const maxAttempts = this.#opts.reconnect?.maxAttempts ?? 10;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let delayMs = attempt === 1 && immediate ? 0 : backoffDelay(attempt, this.#opts.reconnect);
      delayMs = Math.max(delayMs, this.#pausedUntil - Date.now());
      this.emit('reconnecting', { attempt, delayMs, reason });
      await this.#sleeper.sleep(delayMs);
      if (this.#state !== 'reconnecting') return;
      try {
        const conn = await this.#openSession();
        if (this.#state !== 'reconnecting') {
          conn.close();
          return;
        }
        this.#state = 'open';
        this.#attach(conn);
        this.emit('reconnected');
        this.#pump();
        return;
      } catch (err) {
        if (this.#state !== 'reconnecting') return;
        const error = err instanceof RealtimeError ? err : new ConnectionError(String(err), { cause: err });
        if (error.fatal) {
          this.#emitError(error);
          this.#shutdown(error.message);
          return;
        }
        this.#log.warn({ attempt, code: error.code, msg: error.message }, 'reconnect attempt failed');
        reason = error.message;
      }
    }
    this.#emitError(new ConnectionError(`gave up reconnecting after ${maxAttempts} attempts: ${reason}`, { fatal: true, code: 'reconnect_failed' }));
    this.#shutdown('reconnect failed');
  }

  #shutdown(reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#sleeper.wake();
    this.#clearRotation();
    if (this.#pauseTimer) clearTimeout(this.#pauseTimer);
    const conn = this.#conn;
    this.#conn = null;
    conn?.close(1000, 'client closing');
    this.#standby?.close(1000, 'client closing');
    this.#standby = null;
    this.#pendingInput = [];
    this.#responses.closeAll(reason);
    this.emit('closed', reason);
  }

  // ---- rotation --------------------------------------------------------------------------------

  /**
   * Moves to a fresh server session now (carrying configuration and history), as at the time limit:
   * after the response in flight and the user turn in progress, never cutting them. Used when a
   * setting the service cannot change mid-session (the voice) must take effect.
   */
  rotate(): void {
    if (this.#state !== 'open') return;
    this.#rotationDueAt ??= Date.now();
    this.#maybeRotate();
  }

  #clearRotation(): void {
    if (this.#rotationTimer) clearTimeout(this.#rotationTimer);
    this.#rotationTimer = null;
    this.#rotationDueAt = null;
  }

  #scheduleRotation(): void {
    this.#clearRotation();
    const after = this.#opts.rotateAfterMs ?? 55 * 60_000;
    if (!(after > 0) || !Number.isFinite(after)) return;
    this.#rotationTimer = setTimeout(() => {
      this.#rotationDueAt = Date.now();
      // Re-check when the grace for a turn in progress runs out.
      this.#rotationTimer = setTimeout(() => this.#maybeRotate(), this.#opts.rotateGraceMs ?? 4 * 60_000);
      this.#maybeRotate();
    }, after);
  }

  /** Rotates if due and nothing would be cut: no response in flight, no user turn in progress (up to the grace). */
  #maybeRotate(): void {
    if (this.#rotationDueAt === null || this.#rotating || this.#state !== 'open') return;
    if (this.#responses.busy) return;
    if (this.#standby) {
      this.#swap(this.#standby);
      return;
    }
    const graceOver = Date.now() - this.#rotationDueAt >= (this.#opts.rotateGraceMs ?? 4 * 60_000);
    const manual = this.#session.turnDetection.type === 'manual';
    const inputPending = this.#speechActive || (manual && this.#attribution.uncommittedMs > 0);
    if (inputPending && !graceOver) return;
    void this.#rotate();
  }

  async #rotate(): Promise<void> {
    this.#rotating = true;
    this.#log.info('rotating to a fresh realtime session');
    let next: RealtimeConnection;
    try {
      next = await this.#openSession();
    } catch (err) {
      this.#rotating = false;
      const error = err instanceof RealtimeError ? err : new ConnectionError(String(err), { cause: err });
      if (error.fatal) {
        this.#emitError(error);
        this.#shutdown(error.message);
        return;
      }
      this.#log.warn({ code: error.code, msg: error.message }, 'rotation failed; retrying later');
      this.#flushPending();
      setTimeout(() => this.#maybeRotate(), backoffDelay(1, this.#opts.reconnect)).unref();
      return;
    }
    this.#rotating = false;
    if (this.#state !== 'open') {
      next.close();
      return;
    }
    if (this.#responses.busy) {
      // A server-created response started meanwhile: swap when it is done.
      this.#standby = next;
      this.#flushPending();
      return;
    }
    this.#swap(next);
  }

  #flushPending(): void {
    if (this.#conn) for (const op of this.#pendingInput.splice(0)) this.#sendInput(op);
  }

  #swap(next: RealtimeConnection): void {
    this.#standby = null;
    const old = this.#conn;
    this.#conn = null;
    old?.removeAllListeners();
    old?.close(1000, 'session rotated');
    this.#attach(next);
    this.emit('rotated');
    this.#pump();
  }
}
