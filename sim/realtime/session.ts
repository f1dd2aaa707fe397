/**
 * One simulated realtime session (one WebSocket): validates client events and answers invalid ones
 * with the service's error shape and codes, keeps the conversation, runs energy VAD on appended audio,
 * transcribes deterministically, and streams responses.
 */
import type WebSocket from 'ws';
import type { Logger } from 'pino';
import { SimResponse, type ResponseHost, type StreamOptions } from './responder.ts';
import type { SimItem } from './replies.ts';
import { applySessionUpdate, configToWire, defaultConfig, setsVoice, type SimConfig } from './sessionConfig.ts';
import { validateClientEvent, parseItem, parseResponseCreate } from './validate.ts';
import { rateLimitRefusal, type FaultState } from './faultState.ts';
import { SimInputBuffer } from './inputBuffer.ts';
import type { SimMcpNetwork } from './mcp.ts';
import type { ScriptedTranscript } from './inputBuffer.ts';
import { SessionTools, type SimToolsOptions } from './sessionTools.ts';
import { errorBody, eventName, SimRequestError, simErrors, type BetaNaming, type SimDialect, type SimError } from './wire.ts';

export type { ScriptedTranscript } from './inputBuffer.ts';

/** A client event as recorded by the simulator (audio payloads replaced by their size). */
export interface ReceivedEvent {
  sessionId: string;
  at: number;
  event: Record<string, unknown> & { type: string };
}

/** Options of a session. */
export interface SimSessionOptions {
  id: string;
  dialect: SimDialect;
  model: string;
  naming: BetaNaming;
  stream: StreamOptions;
  faults: FaultState;
  log: Logger;
  record: (entry: ReceivedEvent) => void;
  /** Sees every appended chunk of input audio (the fidelity benchmark's probe). */
  onInputAudio?: (pcm: Buffer, sessionId: string) => void;
  tools: SimToolsOptions;
  /** Transcripts scripted by a test, taken in order by the next committed audio turns (of any session). */
  transcripts: ScriptedTranscript[];
}

/** A simulated session. Public fields are for tests to inspect. */
/** A server event a session sent, as kept for diagnostics (see {@link SimSession.sent}). */
export interface SentEvent {
  /** Date.now() when it was sent. */
  at: number;
  /** Its GA name. */
  type: string;
  /** The response id and status, or the error code, it carried (empty when none). */
  detail: string;
}

/** How many sent events each session keeps. */
const SENT_LOG_LIMIT = 400;

export class SimSession implements ResponseHost {
  readonly id: string;
  readonly dialect: SimDialect;
  readonly model: string;
  readonly stream: StreamOptions;
  config: SimConfig;
  readonly items: SimItem[] = [];
  readonly received: ReceivedEvent[] = [];
  /**
   * The last server events this session sent (type, time, and the response id or error code they
   * carry), for the diagnostics of a failed end-to-end wait; bounded by {@link SENT_LOG_LIMIT}.
   */
  readonly sent: SentEvent[] = [];
  /** Responses created in this session (including out-of-band). */
  responsesCreated = 0;
  /** Whether the session has produced assistant audio (after which the voice cannot change). */
  hasAssistantAudio = false;
  /** Rate-limit refusals of this session (both forms). */
  rateLimitRefusals = 0;
  previousInputTokens = 0;
  closed = false;
  /** WebSocket close code once closed (1000 = the client closed the session properly; 1006 = dropped). */
  closeCode: number | null = null;
  readonly #ws: WebSocket;
  readonly #opts: SimSessionOptions;
  #events = 0;
  #itemCounter = 0;
  readonly #input: SimInputBuffer;
  #active: SimResponse | null = null;
  #delayed: Promise<void> = Promise.resolve();
  #pendingDelayed = 0;
  readonly #tools: SessionTools;

  constructor(ws: WebSocket, opts: SimSessionOptions) {
    this.#ws = ws;
    this.#opts = opts;
    this.id = opts.id;
    this.dialect = opts.dialect;
    this.model = opts.model;
    this.stream = opts.stream;
    this.config = defaultConfig(opts.dialect);
    this.#tools = new SessionTools(this, opts.tools);
    this.#input = new SimInputBuffer({
      session: this,
      transcripts: opts.transcripts,
      transcriptDelayMs: () => opts.stream.transcriptDelayMs,
      streaming: () => opts.stream.streamingTranscription,
      onInputAudio: opts.onInputAudio,
      respond: () => this.#startResponse({ outOfBand: false, modalities: this.config.modalities, instructions: this.config.instructions, metadata: null, input: null }),
    });
    ws.on('message', (data, isBinary) => this.#onMessage(isBinary ? '' : data.toString()));
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
      this.#active?.abort();
    });
    ws.on('error', () => {});
    this.send('session.created', { session: configToWire(this.config, this.dialect, this.id, this.model) });
  }

  /** The active response, if any. */
  get activeResponse(): SimResponse | null {
    return this.#active;
  }

  /** The MCP servers the simulated service reaches. */
  get mcp(): SimMcpNetwork {
    return this.#opts.tools.mcp;
  }

  /** The conversation's items now. */
  conversation(): readonly SimItem[] {
    return this.items;
  }

  /** Milliseconds of audio appended in this session. */
  get appendedMs(): number {
    return this.#input.appendedMs;
  }

  newItemId(): string {
    return `item_${this.id.slice(5)}_${++this.#itemCounter}`;
  }

  /** Sends a server event given by its GA name, in the session's dialect, subject to faults. */
  send(gaName: string, body: Record<string, unknown>): void {
    if (this.closed) return;
    const n = ++this.#events;
    this.#logSent(gaName, body);
    const text = JSON.stringify({ type: eventName(gaName, this.dialect, this.#opts.naming, n), event_id: `event_${this.id.slice(5)}_${n}`, ...body });
    this.sendRaw(text);
  }

  #logSent(type: string, body: Record<string, unknown>): void {
    const response = body.response as { id?: unknown; status?: unknown } | undefined;
    const error = body.error as { code?: unknown } | undefined;
    const detail = [response?.id, response?.status, body.response_id, error?.code].filter((value) => typeof value === 'string').join(' ');
    this.sent.push({ at: Date.now(), type, detail });
    if (this.sent.length > SENT_LOG_LIMIT) this.sent.splice(0, this.sent.length - SENT_LOG_LIMIT);
  }

  /** Sends a raw frame (garbage injection), subject to delay and drop faults. */
  sendRaw(frame: string | Buffer): void {
    const faults = this.#opts.faults;
    if (faults.delayMs > 0 || this.#pendingDelayed > 0) {
      const delay = faults.delayMs;
      this.#pendingDelayed++;
      this.#delayed = this.#delayed
        .then(() => new Promise<void>((resolve) => setTimeout(resolve, delay)))
        .then(() => {
          this.#pendingDelayed--;
          this.#write(frame);
        });
      return;
    }
    this.#write(frame);
  }

  #write(frame: string | Buffer): void {
    if (this.closed || this.#ws.readyState !== 1) return;
    this.#ws.send(frame);
    const faults = this.#opts.faults;
    if (faults.dropAfter !== null && --faults.dropAfter <= 0) {
      faults.dropAfter = null;
      this.#opts.log.info({ session: this.id }, 'fault: dropping socket');
      this.drop();
    }
  }

  // Not corked per turn: holding a turn's frames for one socket write (tried in 8bad416 to save the
  // simulators' syscalls in the load bench) made the realtime fuzz e2e lose its session (closed 1006
  // partway through 10,000 large events, test/fuzz/realtimeEvents.test.ts); each frame goes out as sent.

  /** Sends an error event. */
  sendError(error: SimError, eventId: string | null = null): void {
    this.send('error', errorBody(error, eventId));
  }

  /** Kills the socket without a closing handshake (a network drop). */
  drop(): void {
    this.closed = true;
    this.#active?.abort();
    this.#ws.terminate();
  }

  /** Closes the socket with a code. */
  close(code = 1000, reason = ''): void {
    this.#active?.abort();
    if (this.#ws.readyState === 1) this.#ws.close(code, reason);
    this.closed = true;
  }

  /** `session_expired` then close, like the service at its maximum duration. */
  expire(): void {
    this.sendError({ type: 'invalid_request_error', code: 'session_expired', message: 'Your session hit the maximum duration of 60 minutes.' });
    setTimeout(() => this.close(1000, 'session expired'), 5);
  }

  #onMessage(data: string): void {
    let event: Record<string, unknown> & { type: string };
    let audio: Buffer | null;
    let eventId: string | null = null;
    try {
      ({ event, audio } = validateClientEvent(data, this.dialect));
      eventId = typeof event.event_id === 'string' ? event.event_id : null;
      const recorded = event.type === 'input_audio_buffer.append' ? { ...event, audio: `<${Buffer.byteLength(String(event.audio), 'base64')} bytes>` } : event;
      const entry = { sessionId: this.id, at: Date.now(), event: recorded };
      this.received.push(entry);
      this.#opts.record(entry);
      const injected = this.#opts.faults.failNext.get(event.type);
      if (injected) {
        this.#opts.faults.failNext.delete(event.type);
        throw new SimRequestError(injected.error, { withoutEventId: injected.withoutEventId });
      }
      this.#handle(event, audio);
    } catch (err) {
      if (err instanceof SimRequestError) {
        const anonymous = err.withoutEventId || (err.error.code !== null && this.#opts.faults.errorsWithoutEventId.has(err.error.code));
        this.sendError(err.error, anonymous ? null : (eventId ?? extractEventId(data)));
      } else {
        this.#opts.log.error({ err }, 'simulator bug while handling a client event');
        this.sendError({ type: 'server_error', code: 'server_error', message: 'The server had an error while processing your request.' }, eventId);
      }
    }
  }

  #handle(event: Record<string, unknown> & { type: string }, audio: Buffer | null): void {
    switch (event.type) {
      case 'session.update':
        // The whole update is refused: the voice cannot change once the conversation has assistant
        // audio, even to the same voice (openai/openai-agents-python#1661 re-sent its initial voice).
        if (this.hasAssistantAudio && setsVoice(event.session)) throw new SimRequestError(simErrors.cannotUpdateVoice(), { withoutEventId: true });
        {
          const before = this.config.tools;
          this.config = applySessionUpdate(this.config, event.session, this.dialect);
          this.send('session.updated', { session: configToWire(this.config, this.dialect, this.id, this.model) });
          this.#tools.toolsUpdated(before, this.config.tools);
        }
        return;
      case 'input_audio_buffer.append':
        return this.#input.append(audio!);
      case 'input_audio_buffer.commit':
        return this.#input.commit();
      case 'input_audio_buffer.clear':
        return this.#input.clear();
      case 'conversation.item.create':
        return this.#createItem(event);
      case 'conversation.item.truncate':
        return this.#truncate(event);
      case 'conversation.item.delete':
        return this.#deleteItem(event.item_id as string);
      case 'response.create':
        return this.#createResponse(event.response);
      case 'response.cancel':
        if (!this.#active || (typeof event.response_id === 'string' && event.response_id !== this.#active.params.id)) {
          throw new SimRequestError({ code: 'response_cancel_not_active', message: 'Cancellation failed: no active response found' });
        }
        this.#active.cancel('client_cancelled');
        return;
    }
  }

  #createItem(event: Record<string, unknown>): void {
    const toolItem = this.#tools.createItem(event.item);
    if (toolItem) {
      const previous = this.items.at(-1)?.id ?? null;
      this.items.push(toolItem);
      const wire = this.#tools.wireItem(toolItem);
      this.send('conversation.item.added', { previous_item_id: previous, item: wire });
      if (this.dialect === 'ga') this.send('conversation.item.done', { previous_item_id: previous, item: wire });
      return;
    }
    const item = parseItem(event.item, this.dialect, 'item');
    if (item.id && this.items.some((i) => i.id === item.id)) {
      throw new SimRequestError({ code: 'item_already_exists', message: `Item with id '${item.id}' already exists.`, param: 'item.id' });
    }
    const simItem: SimItem = { id: item.id ?? this.newItemId(), type: 'message', role: item.role, text: item.text, audioMs: null, status: 'completed' };
    const previous = this.items.at(-1)?.id ?? null;
    this.items.push(simItem);
    const wire = { id: simItem.id, object: 'realtime.item', type: 'message', role: item.role, status: 'completed', content: item.content };
    this.send('conversation.item.added', { previous_item_id: previous, item: wire });
    if (this.dialect === 'ga') this.send('conversation.item.done', { previous_item_id: previous, item: wire });
  }

  #truncate(event: Record<string, unknown>): void {
    const itemId = event.item_id as string;
    const end = event.audio_end_ms as number;
    const item = this.items.find((i) => i.id === itemId);
    if (!item) throw new SimRequestError({ code: 'item_not_found', message: `Item with item_id '${itemId}' not found.`, param: 'item_id' });
    if (item.role !== 'assistant' || item.audioMs === null) {
      throw new SimRequestError({ code: 'invalid_value', message: 'Only assistant messages with audio can be truncated.', param: 'item_id' });
    }
    if (end > item.audioMs) {
      throw new SimRequestError({ code: 'invalid_value', message: `Audio content of ${Math.round(item.audioMs)}ms is already shorter than ${end}ms`, param: 'audio_end_ms' });
    }
    const total = item.audioMs;
    item.text = total > 0 ? item.text.slice(0, Math.round((item.text.length * end) / total)) : '';
    item.audioMs = end;
    this.send('conversation.item.truncated', { item_id: itemId, content_index: event.content_index, audio_end_ms: end });
  }

  #deleteItem(itemId: string): void {
    const index = this.items.findIndex((i) => i.id === itemId);
    if (index < 0) throw new SimRequestError({ code: 'item_not_found', message: `Item with item_id '${itemId}' not found.`, param: 'item_id' });
    this.items.splice(index, 1);
    this.send('conversation.item.deleted', { item_id: itemId });
  }

  #createResponse(body: unknown): void {
    const request = parseResponseCreate(body, this.dialect, this.items);
    const refusal = rateLimitRefusal(this.#opts.faults);
    if (refusal) {
      this.rateLimitRefusals++;
      const error = simErrors.rateLimited(this.model, refusal.retryAfterMs, refusal.code);
      if (refusal.form === 'error') throw new SimRequestError(error, { withoutEventId: refusal.withoutEventId });
      // The other form: a response that fails at once (livekit/agents#2967), with the hint in the
      // error message (not promised by the types: an extra field).
      const n = ++this.responsesCreated;
      const params = { id: `resp_${this.id.slice(5)}_${n}`, n, outOfBand: request.outOfBand, modalities: request.modalities ?? this.config.modalities, instructions: '', metadata: request.metadata, context: [] };
      new SimResponse(this, params).failAtOnce(error);
      return;
    }
    if (this.#active) {
      throw new SimRequestError({
        code: 'conversation_already_has_active_response',
        message: `Conversation already has an active response in progress: ${this.#active.params.id}. Wait until the response is finished before creating a new one.`,
      });
    }
    this.#startResponse({
      outOfBand: request.outOfBand,
      modalities: request.modalities ?? this.config.modalities,
      instructions: request.instructions ?? this.config.instructions,
      metadata: request.metadata,
      input: request.input,
    });
  }

  #startResponse(r: { outOfBand: boolean; modalities: ('audio' | 'text')[]; instructions: string; metadata: Record<string, string> | null; input: SimItem[] | null }): void {
    const n = ++this.responsesCreated;
    const context = r.input ?? [...this.items];
    // The model may call tools in an in-band response over the conversation (see tools.ts).
    const steps = r.outOfBand || r.input ? [] : this.#tools.stepsForResponse(this.config.tools);
    const response = new SimResponse(this, { id: `resp_${this.id.slice(5)}_${n}`, n, outOfBand: r.outOfBand, modalities: r.modalities, instructions: r.instructions, metadata: r.metadata, context, steps });
    this.#active = response;
    response.start();
  }

  /** A response sent assistant audio (the voice is fixed from now on). */
  assistantAudioSent(): void {
    this.hasAssistantAudio = true;
  }

  addItem(item: SimItem): void {
    this.items.push(item);
  }

  finished(response: SimResponse): void {
    if (this.#active === response) this.#active = null;
  }
}

function extractEventId(data: string): string | null {
  const match = /"event_id"\s*:\s*"([^"]{1,64})"/.exec(data);
  return match?.[1] ?? null;
}
