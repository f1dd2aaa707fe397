/**
 * The realtime client: one logical conversation over a succession of server sessions. It reconnects
 * with backoff when the socket drops, rotates to a fresh session before the service's maximum
 * duration, and re-seeds every new session with the configuration and the transcript history.
 *
 * Who owns what: {@link SessionLifecycle} the client's state and current session (with
 * {@link Reconnector} and {@link SessionRotation}); {@link SessionInput} the input audio and its
 * speakers; {@link ResponseTracker} the requested and active responses; {@link ConversationHistory}
 * the transcript; {@link UsageMeter} tokens and cost. This class is the public surface over them.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { realtimeBytesToMs } from '../audio/format.ts';
import type { RealtimeClientOptions } from './clientOptions.ts';
import type { RealtimeConnection } from './connection.ts';
import { messageItem, sessionToWire, voiceOfWireSession, type WireEvent } from './dialect.ts';
import type { RealtimeError } from './errors.ts';
import { ConversationHistory, truncationPointMs } from './history.ts';
import { dispatchServerEvent, type DispatchContext } from './dispatch.ts';
import { SessionInput } from './sessionInput.ts';
import { SessionLifecycle } from './sessionLifecycle.ts';
import { modelInUrl, realtimeUrl } from './presets.ts';
import type { ResponseHandle } from './responseHandle.ts';
import { ResponseTracker } from './responses.ts';
import { ToolCallTracker } from './toolCalls.ts';
import type { ClientState, CreateResponseOptions, Dialect, HistoryEntry, OutOfBandResponseOptions, RealtimeEventMap, ResponseResult, SessionConfig } from './types.ts';
import { UsageMeter, type TranscriptionTotals, type UsageTotals } from './usage.ts';

/** A realtime speech-to-speech conversation. See {@link RealtimeEventMap} for its events. */
export class RealtimeClient extends EventEmitter<RealtimeEventMap> {
  readonly #opts: RealtimeClientOptions;
  /** The URL dialed for every session: the model always in it. */
  readonly #url: string;
  /** The model of that URL (priced). */
  readonly #model: string;
  readonly #log: Logger;
  #session: SessionConfig;
  readonly #lifecycle: SessionLifecycle;
  readonly #history = new ConversationHistory();
  readonly #responses: ResponseTracker;
  readonly #usage: UsageMeter;
  readonly #input: SessionInput;
  readonly #tools: ToolCallTracker;
  #speechActive = false;
  #pausedUntil = 0;
  #pauseTimer: NodeJS.Timeout | null = null;

  constructor(options: RealtimeClientOptions) {
    super();
    this.#opts = options;
    this.#url = realtimeUrl(options.url, options.model);
    this.#model = modelInUrl(this.#url) || options.model;
    this.#log = options.logger.child({ component: 'realtime', dialect: options.dialect, model: this.#model });
    this.#session = { ...options.session };
    this.#usage = new UsageMeter({ model: this.#model, prices: options.prices, ledger: options.usageLedger, ledgerKey: options.usageKey });
    this.#responses = new ResponseTracker({
      dialect: options.dialect,
      log: this.#log,
      emit: (name, ...args) => this.#emitTyped(name, args),
      send: (event) => this.#send(event),
      price: (usage) => this.#usage.price(usage),
      finished: (handle, result) => this.#finished(handle, result),
      rateLimited: (retryAfterMs, message) => this.#rateLimited(retryAfterMs, message),
      idle: () => {
        this.#lifecycle.maybeRotate();
        this.#pump();
      },
      stallMs: options.responseStallMs,
    });
    this.#tools = new ToolCallTracker({
      log: this.#log,
      emit: (name, ...args) => this.#emitTyped(name, args),
      send: (event) => this.#send(event),
      handleOf: (responseId) => this.#responses.handleOf(responseId),
      cancelRequested: (responseId) => this.#responses.cancelRequested(responseId),
      active: () => this.#responses.active,
    });
    this.#input = new SessionInput(
      {
        send: (event) => this.#send(event),
        canSendNow: () => this.#lifecycle.connection !== null && !this.#lifecycle.handingOver,
        hasSession: () => this.#lifecycle.connection !== null,
      },
      options.maxBufferedAudioMs,
    );
    this.#lifecycle = new SessionLifecycle({
      log: this.#log,
      options,
      url: this.#url,
      sessionConfig: () => this.#session,
      prepareSession: (conn) => this.#prepareSession(conn),
      sessionStarted: (how) => {
        if (how === 'connected') this.emit('open');
        else {
          this.emit(how);
          this.#pump();
        }
      },
      sessionLost: () => {
        this.#speechActive = false;
        this.#responses.sessionLost('disconnected');
      },
      closed: (reason) => {
        if (this.#pauseTimer) clearTimeout(this.#pauseTimer);
        this.#input.clear();
        this.#responses.closeAll(reason);
        this.emit('closed', reason);
      },
      reportError: (error) => this.#emitError(error),
      emit: (name, ...args) => this.#emitTyped(name, args),
      // A function call waiting for its result is part of the response: the new session could not take the result.
      responseInFlight: () => this.#responses.busy || this.#tools.owed > 0,
      userTurnInProgress: () => this.#speechActive || (this.#session.turnDetection.type === 'manual' && this.#input.attribution.uncommittedMs > 0),
      flushInput: () => this.#input.flush(),
      pausedUntil: () => this.#pausedUntil,
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
    return this.#lifecycle.state;
  }
  /** The current session configuration (with live updates applied). */
  get session(): Readonly<SessionConfig> {
    return this.#session;
  }
  /** The conversation as remembered for re-seeding (entries with text, oldest first). */
  get history(): readonly HistoryEntry[] {
    return this.#history.entries();
  }
  /** This client's usage over all its server sessions (`costUsd` includes input transcription). */
  get usage(): UsageTotals {
    return this.#usage.total;
  }
  /** Input transcription usage over all its server sessions. */
  get transcriptionUsage(): TranscriptionTotals {
    return this.#usage.transcription;
  }
  /** Until when responses are paused for a rate limit (epoch ms; in the past when they are not). */
  get pausedUntil(): number {
    return this.#pausedUntil;
  }
  /** Usage of the current server session. */
  get sessionUsage(): UsageTotals {
    return this.#usage.session;
  }
  /** Id of the active response, once the server created it. */
  get activeResponseId(): string | null {
    return this.#responses.activeResponseId;
  }
  /** Whether a response is requested (awaiting the server) or active. */
  get responseInFlight(): boolean {
    return this.#responses.busy;
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
    await this.#lifecycle.connect();
  }

  /** Closes the client for good: pending responses resolve as cancelled, timers stop, no reconnect. */
  async close(): Promise<void> {
    this.#lifecycle.close('client closed');
  }

  /**
   * Applies a configuration change now (`session.update`) and remembers it for new sessions. The voice
   * is the exception: the service refuses to change it once the session has assistant audio
   * (`cannot_update_voice`), and a reply in flight could produce audio before the update lands. Then
   * the voice is not sent: it applies through a fresh session after the reply in flight (a rotation,
   * carrying the conversation) and this returns `'next-session'`; else the change is live (`'now'`).
   * Without a live session every change applies to the next one (`'next-session'`).
   */
  updateSession(patch: Partial<SessionConfig>): 'now' | 'next-session' {
    this.#session = { ...this.#session, ...patch };
    if (!this.#lifecycle.connection) return 'next-session';
    let wire = patch;
    let outcome: 'now' | 'next-session' = 'now';
    if (patch.voice !== undefined && !this.#voiceChangeableNow()) {
      const { voice: _voice, ...rest } = patch;
      wire = rest;
      outcome = 'next-session';
      this.#log.info({ assistantAudio: this.#responses.hasAssistantAudio, responseInFlight: this.#responses.busy }, 'voice change held for a fresh session');
      this.#lifecycle.rotate();
    }
    if (Object.keys(wire).length > 0) this.#send({ type: 'session.update', session: sessionToWire(wire, this.#opts.dialect) });
    return outcome;
  }

  /** Whether the current session has produced assistant audio (its voice can no longer change). */
  get hasAssistantAudio(): boolean {
    return this.#responses.hasAssistantAudio;
  }

  /**
   * Whether a voice change sent now is sure to land before any assistant audio: the session has
   * none, nothing is requested or playing, and the server will not start a response on its own.
   */
  #voiceChangeableNow(): boolean {
    const td = this.#session.turnDetection;
    const serverMayRespond = td.type !== 'manual' && td.createResponse !== false && this.#speechActive;
    return !this.#lifecycle.handingOver && !this.#responses.hasAssistantAudio && !this.#responses.busy && !serverMayRespond;
  }

  /** Appends 24 kHz mono PCM16. `contributors` are the speaker labels whose audio is in this chunk. */
  appendAudio(pcm24kMono: Buffer, contributors: readonly string[] = []): void {
    if (pcm24kMono.length === 0) return;
    this.#input.submit({ kind: 'audio', pcm: pcm24kMono, labels: contributors });
  }

  /** Commits the input buffer as a user turn (manual turn detection). */
  commitAudio(): void {
    this.#input.submit({ kind: 'commit' });
  }

  /** Drops uncommitted input audio. */
  clearInputAudio(): void {
    this.#input.submit({ kind: 'clear' });
  }

  /** Requests a response; queued while another is active. On a closed client it fails at once (reason `client_closed`). */
  createResponse(options: CreateResponseOptions = {}): ResponseHandle {
    const handle = this.#responses.request({ ...options, outOfBand: false });
    this.#pump();
    return handle;
  }

  /** Requests a response outside the conversation (`conversation: "none"`), e.g. a summary. Fails at once on a closed client. */
  createOutOfBandResponse(options: OutOfBandResponseOptions): ResponseHandle {
    const handle = this.#responses.request({ modalities: ['text'], ...options, outOfBand: true });
    this.#pump();
    return handle;
  }

  /**
   * Sends a function call's result (a `function_call_output` item). Returns false when the call is not
   * owed in the current session (already answered, or made in a session that was replaced since): the
   * service would refuse it. The caller then creates the follow-up response itself.
   */
  sendFunctionOutput(callId: string, output: string): boolean {
    return this.#tools.sendOutput(callId, output, (name) => this.#history.add({ role: 'user', kind: 'note', text: `[${name} result: ${output.slice(0, 300)}]` }));
  }

  /** Answers a remote MCP approval request; false when the request is not known in this session. */
  answerMcpApproval(requestId: string, approve: boolean, reason?: string): boolean {
    return this.#tools.answerApproval(requestId, approve, reason);
  }

  /** Function calls of the current session still waiting for their result. */
  get owedFunctionResults(): number {
    return this.#tools.owed;
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
    const endMs = truncationPointMs(audioEndMs, received);
    this.#history.truncated(itemId, endMs, realtimeBytesToMs(received));
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

  /**
   * Moves to a fresh server session now (carrying configuration and history), as at the time limit:
   * after the response in flight and the user turn in progress, never cutting them. Used when a
   * setting the service cannot change mid-session (the voice) must take effect.
   */
  rotate(): void {
    this.#lifecycle.rotate();
  }

  /** Stops sending responses for a while (rate limit), then resumes. */
  pauseResponses(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + ms);
    if (this.#pauseTimer) clearTimeout(this.#pauseTimer);
    this.#pauseTimer = setTimeout(() => this.#pump(), this.#pausedUntil - Date.now() + 1);
  }

  // ---- internals -------------------------------------------------------------------------------

  /** Emits with arguments typed by a generic key (EventEmitter's overloads cannot express this). */
  #emitTyped<K extends keyof RealtimeEventMap>(name: K, args: RealtimeEventMap[K]): void {
    (this.emit as (name: string, ...args: unknown[]) => boolean)(name, ...args);
  }

  #send(event: WireEvent): string | null {
    return this.#lifecycle.send(event);
  }

  /** Errors are emitted only to listeners: an unobserved `error` event must not crash the bot. */
  #emitError(err: RealtimeError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.#log.warn({ code: err.code, fatal: err.fatal, msg: err.message }, 'realtime error');
  }

  #canSend(): boolean {
    return this.#lifecycle.state === 'open' && this.#lifecycle.connection !== null && !this.#lifecycle.handingOver && Date.now() >= this.#pausedUntil;
  }

  #pump(): void {
    this.#responses.pump(this.#canSend());
  }


  /** A server session becomes current: per-session state starts afresh, its events are routed, it is re-seeded. */
  #prepareSession(conn: RealtimeConnection): void {
    // A session opened before the latest voice change (a rotation's standby) gets it now: it has no audio yet.
    const configuredVoice = voiceOfWireSession(conn.configuredSession);
    if (configuredVoice !== undefined && configuredVoice !== this.#session.voice) {
      conn.send({ type: 'session.update', session: sessionToWire({ voice: this.#session.voice }, this.#opts.dialect) });
    }
    this.#input.newSession();
    this.#usage.newSession();
    this.#speechActive = false;
    this.#history.newSession();
    this.#responses.newSession();
    this.#tools.newSession();
    const context = this.#dispatchContext(conn);
    conn.on('event', (event) => {
      if (this.#lifecycle.connection === conn) dispatchServerEvent(context, event);
    });
    const seed = this.#history.withinBudget(this.#opts.historyTokenBudget ?? 6000);
    for (const entry of seed) this.#send({ type: 'conversation.item.create', item: messageItem(entry.role, entry.text, this.#opts.dialect) });
    if (seed.length > 0) this.#log.info({ items: seed.length }, 'session re-seeded from history');
    this.#input.flush();
  }

  #dispatchContext(conn: RealtimeConnection): DispatchContext {
    return {
      log: this.#log,
      responses: this.#responses,
      tools: this.#tools,
      attribution: this.#input.attribution,
      history: this.#history,
      transcriptionModel: () => this.#session.inputTranscription?.model ?? null,
      countTranscription: (usage, model) => {
        const costUsd = this.#usage.addTranscription(usage, model);
        this.emit('usage', this.usage);
        return costUsd;
      },
      sentEventType: (eventId) => conn.sentEventType(eventId),
      emit: <K extends keyof RealtimeEventMap>(name: K, ...args: RealtimeEventMap[K]) => this.#emitTyped(name, args),
      emitError: (err: RealtimeError) => this.#emitError(err),
      setSpeechActive: (active: boolean) => {
        this.#speechActive = active;
        if (!active) this.#lifecycle.maybeRotate();
      },
      afterResponse: () => {
        this.#lifecycle.maybeRotate();
        this.#pump();
      },
      rateLimited: (retryAfterMs, message) => this.#rateLimited(retryAfterMs, message),
      retrySoon: () => setTimeout(() => this.#pump(), 250),
      voiceChangeRefused: () => this.#lifecycle.rotate(),
      expecting: (reason: string) => this.#lifecycle.expectClose(reason),
      fatal: (err: RealtimeError) => this.#lifecycle.fail(err),
    };
  }

  /** The service rate-limits us: responses pause for the hinted time (capped), and listeners hear why. */
  #rateLimited(retryAfterMs: number, message: string): void {
    this.pauseResponses(retryAfterMs);
    this.emit('rate_limited', { retryAfterMs, message });
  }

  #finished(handle: ResponseHandle, result: ResponseResult): void {
    if (result.usage) {
      this.#usage.addResponse(result.usage, result.costUsd);
      this.emit('usage', this.usage);
    }
    if (result.outOfBand) return;
    this.#history.addReply({ transcript: result.transcript, text: result.text, itemId: result.itemIds[0], audioMs: realtimeBytesToMs(handle.audioBytes) });
  }
}
