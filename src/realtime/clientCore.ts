/**
 * The realtime client's parts wired to each other: what happens when a server session becomes
 * current (per-session state afresh, its events routed, the history re-seeded), when a response
 * finishes (usage, history) and when the service rate-limits us (a pause, then the queue resumes).
 * {@link RealtimeClient} is the public surface over this; it holds no state of its own.
 */
import type { Logger } from 'pino';
import { realtimeBytesToMs } from '../audio/format.ts';
import type { RealtimeClientOptions } from './clientOptions.ts';
import type { RealtimeConnection } from './connection.ts';
import { messageItem, sessionToWire, voiceOfWireSession, type WireEvent } from './dialect.ts';
import { dispatchServerEvent, type DispatchContext } from './dispatch.ts';
import type { RealtimeError } from './errors.ts';
import { ConversationHistory } from './history.ts';
import type { ResponseHandle } from './responseHandle.ts';
import { ResponseTracker } from './responses.ts';
import { SessionInput } from './sessionInput.ts';
import { SessionLifecycle } from './sessionLifecycle.ts';
import { ToolCallTracker } from './toolCalls.ts';
import type { RealtimeEventMap, ResponseResult, SessionConfig } from './types.ts';
import { UsageMeter } from './usage.ts';

/** Emits a client event with arguments typed by its name. */
export type EmitClientEvent = <K extends keyof RealtimeEventMap>(name: K, ...args: RealtimeEventMap[K]) => void;

/** What the core needs from the client that owns it. */
export interface ClientCoreHost {
  options: RealtimeClientOptions;
  /** The URL every session is opened on (the model in it). */
  url: string;
  /** The model priced. */
  model: string;
  log: Logger;
  emit: EmitClientEvent;
  /** Reports an error (to listeners, or to the log when nobody listens). */
  reportError: (error: RealtimeError) => void;
}

/** The parts of one realtime client and the rules between them. */
export class RealtimeClientCore {
  readonly history = new ConversationHistory();
  readonly responses: ResponseTracker;
  readonly usage: UsageMeter;
  readonly input: SessionInput;
  readonly tools: ToolCallTracker;
  readonly lifecycle: SessionLifecycle;
  /** The session configuration, with live updates applied (what every new session is opened with). */
  session: SessionConfig;
  readonly #host: ClientCoreHost;
  readonly #log: Logger;
  #speechActive = false;
  #pausedUntil = 0;
  #pauseTimer: NodeJS.Timeout | null = null;

  constructor(host: ClientCoreHost) {
    this.#host = host;
    const { options, log, emit } = host;
    this.#log = log;
    this.session = { ...options.session };
    this.usage = new UsageMeter({
      model: host.model,
      prices: options.prices,
      ledger: options.usageLedger,
      ledgerKey: options.usageKey,
      onUnpriced: (model, what) =>
        log.warn({ model, what }, 'no price known for this model: its usage is counted at $0 (budgets, /usage and the cost metric miss it); add it to the price table in src/realtime/prices.ts'),
    });
    this.responses = new ResponseTracker({
      dialect: options.dialect,
      log,
      emit,
      send: (event) => this.send(event),
      price: (usage) => this.usage.price(usage),
      finished: (handle, result) => this.#finished(handle, result),
      rateLimited: (retryAfterMs, message) => this.#rateLimited(retryAfterMs, message),
      idle: () => this.#afterResponse(),
      stallMs: options.responseStallMs,
    });
    this.tools = new ToolCallTracker({
      log,
      emit,
      send: (event) => this.send(event),
      handleOf: (responseId) => this.responses.handleOf(responseId),
      cancelRequested: (responseId) => this.responses.cancelRequested(responseId),
      active: () => this.responses.active,
    });
    this.input = new SessionInput(
      {
        send: (event) => this.send(event),
        sendAudioAppend: (pcm) => this.lifecycle.sendAudioAppend(pcm),
        canSendNow: () => this.lifecycle.connection !== null && !this.lifecycle.handingOver,
        hasSession: () => this.lifecycle.connection !== null,
      },
      options.maxBufferedAudioMs,
    );
    this.lifecycle = new SessionLifecycle({
      log,
      options,
      url: host.url,
      sessionConfig: () => this.session,
      prepareSession: (conn) => this.#prepareSession(conn),
      sessionStarted: (how) => {
        if (how === 'connected') emit('open');
        else {
          emit(how);
          this.pump();
        }
      },
      sessionLost: () => {
        this.#speechActive = false;
        this.responses.sessionLost('disconnected');
      },
      closed: (reason) => {
        if (this.#pauseTimer) clearTimeout(this.#pauseTimer);
        this.input.clear();
        this.responses.closeAll(reason);
        emit('closed', reason);
      },
      reportError: host.reportError,
      emit,
      // A function call waiting for its result is part of the response: the new session could not take the result.
      responseInFlight: () => this.responses.busy || this.tools.owed > 0,
      userTurnInProgress: () => this.#speechActive || (this.session.turnDetection.type === 'manual' && this.input.attribution.uncommittedMs > 0),
      flushInput: () => this.input.flush(),
      pausedUntil: () => this.#pausedUntil,
    });
  }

  /** Until when responses are paused for a rate limit (epoch ms; in the past when they are not). */
  get pausedUntil(): number {
    return this.#pausedUntil;
  }

  /** Sends on the current session; the event's id, or null when there is none. */
  send(event: WireEvent): string | null {
    return this.lifecycle.send(event);
  }

  /** Sends the next queued response request when the session can take it. */
  pump(): void {
    const canSend = this.lifecycle.state === 'open' && this.lifecycle.connection !== null && !this.lifecycle.handingOver && Date.now() >= this.#pausedUntil;
    this.responses.pump(canSend);
  }

  /** Stops sending responses for a while (rate limit), then resumes. */
  pauseResponses(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + ms);
    if (this.#pauseTimer) clearTimeout(this.#pauseTimer);
    this.#pauseTimer = setTimeout(() => this.pump(), this.#pausedUntil - Date.now() + 1);
  }

  /**
   * Whether a voice change sent now is sure to land before any assistant audio: the session has
   * none, nothing is requested or playing, and the server will not start a response on its own.
   */
  voiceChangeableNow(): boolean {
    const td = this.session.turnDetection;
    const serverMayRespond = td.type !== 'manual' && td.createResponse !== false && this.#speechActive;
    return !this.lifecycle.handingOver && !this.responses.stream.hasAssistantAudio && !this.responses.busy && !serverMayRespond;
  }

  /** A server session becomes current: per-session state starts afresh, its events are routed, it is re-seeded. */
  #prepareSession(conn: RealtimeConnection): void {
    const { dialect, historyTokenBudget } = this.#host.options;
    // A session opened before the latest voice change (a rotation's standby) gets it now: it has no audio yet.
    const configuredVoice = voiceOfWireSession(conn.configuredSession);
    if (configuredVoice !== undefined && configuredVoice !== this.session.voice) {
      conn.send({ type: 'session.update', session: sessionToWire({ voice: this.session.voice }, dialect) });
    }
    this.input.newSession();
    this.usage.newSession();
    this.#speechActive = false;
    this.history.newSession();
    this.responses.stream.newSession();
    this.tools.newSession();
    const context = this.#dispatchContext(conn);
    conn.on('event', (event) => {
      if (this.lifecycle.connection === conn) dispatchServerEvent(context, event);
    });
    const seed = this.history.withinBudget(historyTokenBudget ?? 6000);
    for (const entry of seed) this.send({ type: 'conversation.item.create', item: messageItem(entry.role, entry.text, dialect) });
    if (seed.length > 0) this.#log.info({ items: seed.length }, 'session re-seeded from history');
    this.input.flush();
  }

  #dispatchContext(conn: RealtimeConnection): DispatchContext {
    const { emit } = this.#host;
    return {
      log: this.#log,
      responses: this.responses,
      tools: this.tools,
      attribution: this.input.attribution,
      history: this.history,
      transcriptionModel: () => this.session.inputTranscription?.model ?? null,
      countTranscription: (usage, model) => {
        const costUsd = this.usage.addTranscription(usage, model);
        emit('usage', this.usage.total);
        return costUsd;
      },
      sentEventType: (eventId) => conn.sentEventType(eventId),
      emit,
      emitError: this.#host.reportError,
      setSpeechActive: (active: boolean) => {
        this.#speechActive = active;
        if (!active) this.lifecycle.maybeRotate();
      },
      afterResponse: () => this.#afterResponse(),
      rateLimited: (retryAfterMs, message) => this.#rateLimited(retryAfterMs, message),
      retrySoon: () => setTimeout(() => this.pump(), 250),
      voiceChangeRefused: () => this.lifecycle.rotate(),
      expecting: (reason: string) => this.lifecycle.expectClose(reason),
      fatal: (err: RealtimeError) => this.lifecycle.fail(err),
    };
  }

  /** A response finished or was given up: rotate if due, send the next queued one. */
  #afterResponse(): void {
    this.lifecycle.maybeRotate();
    this.pump();
  }

  /** The service rate-limits us: responses pause for the hinted time (capped), and listeners hear why. */
  #rateLimited(retryAfterMs: number, message: string): void {
    this.pauseResponses(retryAfterMs);
    this.#host.emit('rate_limited', { retryAfterMs, message });
  }

  #finished(handle: ResponseHandle, result: ResponseResult): void {
    if (result.usage) {
      this.usage.addResponse(result.usage, result.costUsd);
      this.#host.emit('usage', this.usage.total);
    }
    if (result.outOfBand) return;
    this.history.addReply({ transcript: result.transcript, text: result.text, itemId: result.itemIds[0], audioMs: realtimeBytesToMs(handle.audioBytes) });
  }
}
