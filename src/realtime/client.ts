/**
 * The realtime client: one logical conversation over a succession of server sessions. It reconnects
 * with backoff when the socket drops, rotates to a fresh session before the service's maximum
 * duration, and re-seeds every new session with the configuration and the transcript history.
 *
 * Who owns what: {@link SessionLifecycle} the client's state and current session (with
 * {@link Reconnector} and {@link SessionRotation}); {@link SessionInput} the input audio and its
 * speakers; {@link ResponseTracker} the requested and active responses; {@link ConversationHistory}
 * the transcript; {@link UsageMeter} tokens and cost; {@link RealtimeClientCore} wires them to each
 * other. This class is the public surface over them.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { realtimeBytesToMs } from '../audio/format.ts';
import { RealtimeClientCore } from './clientCore.ts';
import type { RealtimeClientOptions } from './clientOptions.ts';
import { messageItem, sessionToWire } from './dialect.ts';
import type { RealtimeError } from './errors.ts';
import { truncationPointMs } from './history.ts';
import { modelInUrl, realtimeUrl } from './presets.ts';
import type { ResponseHandle } from './responseHandle.ts';
import type { ClientState, CreateResponseOptions, HistoryEntry, OutOfBandResponseOptions, RealtimeEventMap, SessionConfig } from './types.ts';
import type { TranscriptionTotals, UsageTotals } from './usage.ts';

/** A realtime speech-to-speech conversation. See {@link RealtimeEventMap} for its events. */
export class RealtimeClient extends EventEmitter<RealtimeEventMap> {
  readonly #opts: RealtimeClientOptions;
  /** The URL dialed for every session: the model always in it. */
  readonly #url: string;
  /** The model of that URL (priced). */
  readonly #model: string;
  readonly #log: Logger;
  readonly #core: RealtimeClientCore;

  constructor(options: RealtimeClientOptions) {
    super();
    this.#opts = options;
    this.#url = realtimeUrl(options.url, options.model);
    this.#model = modelInUrl(this.#url) || options.model;
    this.#log = options.logger.child({ component: 'realtime', dialect: options.dialect, model: this.#model });
    this.#core = new RealtimeClientCore({
      options,
      url: this.#url,
      model: this.#model,
      log: this.#log,
      emit: (name, ...args) => this.#emitTyped(name, args),
      reportError: (error) => this.#emitError(error),
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
    return this.#core.lifecycle.state;
  }
  /** The current session configuration (with live updates applied). */
  get session(): Readonly<SessionConfig> {
    return this.#core.session;
  }
  /** The conversation as remembered for re-seeding (entries with text, oldest first). */
  get history(): readonly HistoryEntry[] {
    return this.#core.history.entries();
  }
  /** This client's usage over all its server sessions (`costUsd` includes input transcription). */
  get usage(): UsageTotals {
    return this.#core.usage.total;
  }
  /** Input transcription usage over all its server sessions. */
  get transcriptionUsage(): TranscriptionTotals {
    return this.#core.usage.transcription;
  }
  /** Until when responses are paused for a rate limit (epoch ms; in the past when they are not). */
  get pausedUntil(): number {
    return this.#core.pausedUntil;
  }
  /** Usage of the current server session. */
  get sessionUsage(): UsageTotals {
    return this.#core.usage.session;
  }
  /** Id of the active response, once the server created it. */
  get activeResponseId(): string | null {
    return this.#core.responses.activeResponseId;
  }
  /** Whether a response is requested (awaiting the server) or active. */
  get responseInFlight(): boolean {
    return this.#core.responses.busy;
  }
  /** Number of requested responses waiting for the active one to finish. */
  get queuedResponses(): number {
    return this.#core.responses.queued;
  }

  /**
   * Opens the first session and resolves once it is configured. Rejects with AuthenticationError
   * (bad key), DialectError (wrong dialect), SessionConfigError or ConnectionError; no retry here.
   */
  async connect(): Promise<void> {
    await this.#core.lifecycle.connect();
  }

  /**
   * Closes the client for good: pending responses resolve as cancelled, timers stop, no reconnect.
   * Resolves once its sockets are gone (the closing handshake done), not merely asked to close.
   */
  async close(): Promise<void> {
    await this.#core.lifecycle.close('client closed');
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
    this.#core.session = { ...this.#core.session, ...patch };
    if (!this.#core.lifecycle.connection) return 'next-session';
    let wire = patch;
    let outcome: 'now' | 'next-session' = 'now';
    if (patch.voice !== undefined && !this.#core.voiceChangeableNow()) {
      const { voice: _voice, ...rest } = patch;
      wire = rest;
      outcome = 'next-session';
      this.#log.info({ assistantAudio: this.#core.responses.stream.hasAssistantAudio, responseInFlight: this.#core.responses.busy }, 'voice change held for a fresh session');
      this.#core.lifecycle.rotate();
    }
    if (Object.keys(wire).length > 0) this.#core.send({ type: 'session.update', session: sessionToWire(wire, this.#opts.dialect) });
    return outcome;
  }

  /** Whether the current session has produced assistant audio (its voice can no longer change). */
  get hasAssistantAudio(): boolean {
    return this.#core.responses.stream.hasAssistantAudio;
  }

  /** Appends 24 kHz mono PCM16. `contributors` are the speaker labels whose audio is in this chunk. */
  appendAudio(pcm24kMono: Buffer, contributors: readonly string[] = []): void {
    if (pcm24kMono.length === 0) return;
    this.#core.input.submit({ kind: 'audio', pcm: pcm24kMono, labels: contributors });
  }

  /** Commits the input buffer as a user turn (manual turn detection). */
  commitAudio(): void {
    this.#core.input.submit({ kind: 'commit' });
  }

  /** Drops uncommitted input audio. */
  clearInputAudio(): void {
    this.#core.input.submit({ kind: 'clear' });
  }

  /** Requests a response; queued while another is active. On a closed client it fails at once (reason `client_closed`). */
  createResponse(options: CreateResponseOptions = {}): ResponseHandle {
    const handle = this.#core.responses.request({ ...options, outOfBand: false });
    this.#core.pump();
    return handle;
  }

  /** Requests a response outside the conversation (`conversation: "none"`), e.g. a summary. Fails at once on a closed client. */
  createOutOfBandResponse(options: OutOfBandResponseOptions): ResponseHandle {
    const handle = this.#core.responses.request({ modalities: ['text'], ...options, outOfBand: true });
    this.#core.pump();
    return handle;
  }

  /**
   * Sends a function call's result (a `function_call_output` item). Returns false when the call is not
   * owed in the current session (already answered, or made in a session that was replaced since): the
   * service would refuse it. The caller then creates the follow-up response itself.
   */
  sendFunctionOutput(callId: string, output: string): boolean {
    return this.#core.tools.sendOutput(callId, output, (name) => this.#core.history.add({ role: 'user', kind: 'note', text: `[${name} result: ${output.slice(0, 300)}]` }));
  }

  /** Answers a remote MCP approval request; false when the request is not known in this session. */
  answerMcpApproval(requestId: string, approve: boolean, reason?: string): boolean {
    return this.#core.tools.answerApproval(requestId, approve, reason);
  }

  /** Function calls of the current session still waiting for their result. */
  get owedFunctionResults(): number {
    return this.#core.tools.owed;
  }

  /** Cancels the active response if there really is one (else nothing is sent). Queued ones stay. */
  cancelResponse(): void {
    this.#core.responses.cancelActive();
  }

  /** Drops the queued (not yet started) responses; they resolve `cancelled`. */
  cancelQueued(): void {
    this.#core.responses.cancelQueued();
  }

  /**
   * Truncates an assistant item's audio to what was played. `audioEndMs` is floored to an integer and
   * clamped to the audio received for the item (the server refuses anything longer).
   */
  truncate(itemId: string, audioEndMs: number): void {
    const received = this.#core.responses.stream.itemAudioBytes(itemId);
    if (received === undefined) {
      this.#log.debug({ itemId }, 'truncate ignored: no audio received for this item in this session');
      return;
    }
    const endMs = truncationPointMs(audioEndMs, received);
    this.#core.history.truncated(itemId, endMs, realtimeBytesToMs(received));
    this.#core.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: endMs });
  }

  /** Adds a user text message to the conversation (and history). */
  addUserText(text: string, options: { name?: string } = {}): void {
    this.#core.history.add({ role: 'user', text, kind: 'text', ...(options.name === undefined ? {} : { name: options.name }) });
    this.#core.send({ type: 'conversation.item.create', item: messageItem('user', text, this.#opts.dialect) });
  }

  /** Adds a user-role note such as "[speaker: Alice]" (recorded in history as a note). */
  addContextNote(text: string): void {
    this.#core.history.add({ role: 'user', text, kind: 'note' });
    this.#core.send({ type: 'conversation.item.create', item: messageItem('user', text, this.#opts.dialect) });
  }

  /**
   * Moves to a fresh server session now (carrying configuration and history), as at the time limit:
   * after the response in flight and the user turn in progress, never cutting them. Used when a
   * setting the service cannot change mid-session (the voice) must take effect.
   */
  rotate(): void {
    this.#core.lifecycle.rotate();
  }

  /** Stops sending responses for a while (rate limit), then resumes. */
  pauseResponses(ms: number): void {
    this.#core.pauseResponses(ms);
  }

  // ---- internals -------------------------------------------------------------------------------

  /** Emits with arguments typed by a generic key (EventEmitter's overloads cannot express this). */
  #emitTyped<K extends keyof RealtimeEventMap>(name: K, args: RealtimeEventMap[K]): void {
    (this.emit as (name: string, ...args: unknown[]) => boolean)(name, ...args);
  }

  /** Errors are emitted only to listeners: an unobserved `error` event must not crash the bot. */
  #emitError(err: RealtimeError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.#log.warn({ code: err.code, fatal: err.fatal, msg: err.message }, 'realtime error');
  }
}
