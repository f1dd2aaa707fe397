/**
 * One simulated response: `response.created`, the output item, audio deltas in bursts faster than real
 * time with transcript deltas spread over them (or text deltas), then the `*.done` events and
 * `response.done` with usage. Cancellation stops it where it is, like the service.
 */
import { REALTIME_BYTES_PER_MS } from '../../src/audio/format.ts';
import type { SimMcpNetwork } from './mcp.ts';
import { sharedReplySignal, type ReplyGenerator, type SimItem } from './replies.ts';
import { runStep, speaksAfter, type ToolStep } from './toolSteps.ts';
import type { SimDialect, SimError } from './wire.ts';
import type { StreamingTranscription } from './inputBuffer.ts';

/** Streaming parameters. */

export interface StreamOptions {
  replyAudioMs: number;
  /** Audio per delta, ms. */
  deltaMs: number;
  /** How much faster than real time deltas are sent. */
  burstFactor: number;
  /** Delay before the first delta (model "thinking" time). */
  firstDeltaDelayMs: number;
  /** Delay of input transcription events after a commit, ms (a scripted transcript may set its own). */
  transcriptDelayMs: number;
  /** Pace of the streaming transcriber's words (sessions transcribing with gpt-realtime-whisper). */
  streamingTranscription: StreamingTranscription;
  replyGenerator: ReplyGenerator;
  /**
   * The audio of each audio reply (24 kHz mono PCM16); default: `replySignal(replyAudioMs)`. Read,
   * not copied, and its deltas' base64 is kept per buffer: do not change a buffer once returned.
   */
  replyAudio?: () => Buffer;
}

/** What a response needs from its session. */
export interface ResponseHost {
  readonly dialect: SimDialect;
  readonly stream: StreamOptions;
  send(gaName: string, body: Record<string, unknown>): void;
  /** Adds the assistant item to the conversation (in-band responses only). */
  addItem(item: SimItem): void;
  newItemId(): string;
  /** Input tokens of the previous response (for the cached-token estimate), updated by each response. */
  previousInputTokens: number;
  /** The response sent assistant audio (the session's voice is fixed from then on). */
  assistantAudioSent(): void;
  finished(response: SimResponse): void;
  /** The MCP servers the service can reach. */
  readonly mcp: SimMcpNetwork;
  /** The conversation's items now. */
  conversation(): readonly SimItem[];
}

/** Parameters of one response. */
export interface ResponseParams {
  id: string;
  n: number;
  outOfBand: boolean;
  modalities: ('audio' | 'text')[];
  instructions: string;
  metadata: Record<string, string> | null;
  context: readonly SimItem[];
  /** Tool output items before the message (function calls, MCP calls, approval requests); see toolSteps.ts. */
  steps?: ToolStep[];
}

/** A response being streamed. */
export class SimResponse {
  readonly params: ResponseParams;
  readonly item: SimItem;
  /** The reply text, chosen when the message starts (after any tool items, whose results it may use). */
  text = '';
  #host: ResponseHost;
  /** Final wire form of the tool items produced so far. */
  readonly #toolItems: Record<string, unknown>[] = [];
  #messageStarted = false;
  /** Set when a cancel arrives while tool items stream: they end first (cut short), then the response. */
  #cancelWhileSteps: 'client_cancelled' | 'turn_detected' | null = null;
  #stepsRunning = false;
  #timer: NodeJS.Timeout | null = null;
  #audio: Buffer;
  #sentBytes = 0;
  #sentChars = 0;
  #done = false;
  #startedAt = 0;

  constructor(host: ResponseHost, params: ResponseParams) {
    this.#host = host;
    this.params = params;
    const audio = params.modalities.includes('audio');
    this.#audio = audio ? (host.stream.replyAudio?.() ?? sharedReplySignal(host.stream.replyAudioMs)) : Buffer.alloc(0);
    this.item = { id: host.newItemId(), type: 'message', role: 'assistant', text: '', audioMs: audio ? 0 : null, status: 'in_progress' };
  }

  get done(): boolean {
    return this.#done;
  }

  get #audioMode(): boolean {
    return this.item.audioMs !== null;
  }

  /**
   * The `response` object, with the quirks of real payloads (reference "Limits and errors"):
   * `status_details: null`, `usage: null`, `conversation_id`, `metadata: {request_id}` when the
   * client gave none, and `max_output_tokens: "inf"` — a string where the types say number.
   */
  #wireResponse(status: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const { dialect } = this.#host;
    return {
      object: 'realtime.response',
      id: this.params.id,
      status,
      status_details: null,
      output: [],
      conversation_id: this.params.outOfBand ? null : 'conv_sim',
      [dialect === 'ga' ? 'output_modalities' : 'modalities']: dialect === 'ga' ? this.params.modalities : this.#audioMode ? ['text', 'audio'] : ['text'],
      max_output_tokens: 'inf',
      metadata: this.params.metadata ?? { request_id: `req_sim_${this.params.id}` },
      usage: null,
      ...extra,
    };
  }

  /** `rate_limits.updated`, sent when a response starts (openai package: "Emitted at the beginning of a Response"). */
  #rateLimits(remaining: number): void {
    this.#host.send('rate_limits.updated', {
      rate_limits: [
        { name: 'requests', limit: 5000, remaining: Math.max(0, remaining), reset_seconds: 0.012 },
        { name: 'tokens', limit: 40000, remaining: Math.max(0, remaining * 8), reset_seconds: 1.5 },
      ],
    });
  }

  /**
   * The response form of a rate limit: created, then done at once with `status: "failed"` and the
   * error in `status_details.error` (livekit/agents#2967), the retry hint in its message.
   */
  failAtOnce(error: SimError): void {
    const h = this.#host;
    this.#done = true;
    h.send('response.created', { response: this.#wireResponse('in_progress') });
    this.#rateLimits(0);
    h.send('response.done', {
      response: this.#wireResponse('failed', {
        status_details: { type: 'failed', reason: null, error: { type: error.type ?? 'invalid_request_error', code: error.code, message: error.message } },
      }),
    });
    h.finished(this);
  }

  #wireItem(): Record<string, unknown> {
    const ga = this.#host.dialect === 'ga';
    const content = this.#audioMode
      ? [{ type: ga ? 'output_audio' : 'audio', transcript: this.item.text }]
      : [{ type: ga ? 'output_text' : 'text', text: this.item.text }];
    return { id: this.item.id, object: 'realtime.item', type: 'message', role: 'assistant', status: this.item.status, content };
  }

  /** Output index of the message (after the tool items). */
  get #messageIndex(): number {
    return this.params.steps?.length ?? 0;
  }

  /** Sends the opening events, then the tool items (if any), then streams the message. */
  start(): void {
    const h = this.#host;
    this.#startedAt = Date.now();
    h.send('response.created', { response: this.#wireResponse('in_progress') });
    this.#rateLimits(4999 - this.params.n);
    const steps = this.params.steps ?? [];
    if (steps.length === 0) return this.#startMessage();
    void this.#runSteps(steps);
  }

  async #runSteps(steps: ToolStep[]): Promise<void> {
    const h = this.#host;
    const stepHost = {
      dialect: h.dialect,
      deltaPauseMs: h.stream.deltaMs / h.stream.burstFactor,
      mcp: h.mcp,
      send: (name: string, body: Record<string, unknown>) => h.send(name, body),
      addItem: (item: SimItem) => h.addItem(item),
      newItemId: () => h.newItemId(),
      cancelled: () => this.#done || this.#cancelWhileSteps !== null,
    };
    this.#stepsRunning = true;
    for (const [index, step] of steps.entries()) {
      if (this.#done || this.#cancelWhileSteps !== null) break;
      this.#toolItems.push(await runStep(stepHost, step, this.params.id, index));
    }
    this.#stepsRunning = false;
    if (this.#done) return;
    if (this.#cancelWhileSteps !== null) this.#finish('cancelled', this.#cancelWhileSteps);
    else if (speaksAfter(steps)) this.#startMessage();
    else this.#finish('completed');
  }

  #startMessage(): void {
    const h = this.#host;
    const { params } = this;
    this.#messageStarted = true;
    // Chosen now: the context includes the tool items this response produced (an MCP call's result).
    const context = params.steps?.length ? h.conversation() : params.context;
    const reply = h.stream.replyGenerator({ n: params.n, items: context, outOfBand: params.outOfBand, modalities: params.modalities, instructions: params.instructions });
    this.text = typeof reply === 'string' ? reply : reply.text;
    if (typeof reply === 'object' && reply.audioMs !== undefined && this.#audioMode) this.#audio = sharedReplySignal(Math.max(20, reply.audioMs));
    if (!this.params.outOfBand) h.addItem(this.item);
    h.send('response.output_item.added', { response_id: this.params.id, output_index: this.#messageIndex, item: this.#wireItem() });
    if (!this.params.outOfBand) h.send('conversation.item.added', { previous_item_id: null, item: this.#wireItem() });
    const part = this.#audioMode ? { type: h.dialect === 'ga' ? 'output_audio' : 'audio', transcript: '' } : { type: h.dialect === 'ga' ? 'output_text' : 'text', text: '' };
    h.send('response.content_part.added', { response_id: this.params.id, item_id: this.item.id, output_index: this.#messageIndex, content_index: 0, part });
    this.#timer = setTimeout(() => this.#tick(), h.stream.firstDeltaDelayMs);
  }

  #tick(): void {
    if (this.#done) return;
    const { stream } = this.#host;
    const ids = { response_id: this.params.id, item_id: this.item.id, output_index: this.#messageIndex, content_index: 0 };
    if (this.#audioMode) {
      const step = Math.max(2, Math.round(stream.deltaMs * REALTIME_BYTES_PER_MS) & ~1);
      const start = this.#sentBytes;
      this.#sentBytes = Math.min(this.#audio.length, start + step);
      this.item.audioMs = this.#sentBytes / REALTIME_BYTES_PER_MS;
      this.#host.send('response.output_audio.delta', { ...ids, delta: base64Slice(this.#audio, start, this.#sentBytes) });
      this.#host.assistantAudioSent();
      // Transcript keeps pace with the audio, cut at word ends.
      const target = this.#sentBytes >= this.#audio.length ? this.text.length : wordEnd(this.text, Math.floor((this.text.length * this.#sentBytes) / this.#audio.length));
      this.#sendText('response.output_audio_transcript.delta', ids, target);
      if (this.#sentBytes >= this.#audio.length) return this.#finish('completed');
    } else {
      this.#sendText('response.output_text.delta', ids, wordEnd(this.text, this.#sentChars + 40));
      if (this.#sentChars >= this.text.length) return this.#finish('completed');
    }
    this.#timer = setTimeout(() => this.#tick(), stream.deltaMs / stream.burstFactor);
  }

  #sendText(name: string, ids: Record<string, unknown>, upTo: number): void {
    if (upTo <= this.#sentChars) return;
    const delta = this.text.slice(this.#sentChars, upTo);
    this.#sentChars = upTo;
    this.item.text += delta;
    this.#host.send(name, { ...ids, delta });
  }

  /** Stops the response (client cancel or turn detected). */
  cancel(reason: 'client_cancelled' | 'turn_detected'): void {
    if (this.#stepsRunning) this.#cancelWhileSteps ??= reason;
    else this.#finish('cancelled', reason);
  }

  /** Stops silently (socket gone). */
  abort(): void {
    this.#done = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  #finish(status: 'completed' | 'cancelled', reason?: string): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer) clearTimeout(this.#timer);
    const h = this.#host;
    const statusDetails = status === 'cancelled' ? { type: 'cancelled', reason } : null;
    if (!this.#messageStarted) {
      h.send('response.done', { response: this.#wireResponse(status, { status_details: statusDetails, output: this.#toolItems, usage: this.#usage() }) });
      h.finished(this);
      return;
    }
    const ids = { response_id: this.params.id, item_id: this.item.id, output_index: this.#messageIndex, content_index: 0 };
    this.item.status = status === 'completed' ? 'completed' : 'incomplete';
    if (this.item.audioMs !== null) this.item.fullAudioMs = this.item.audioMs;
    if (status === 'completed') {
      if (this.#audioMode) {
        h.send('response.output_audio.done', ids);
        h.send('response.output_audio_transcript.done', { ...ids, transcript: this.item.text });
      } else {
        h.send('response.output_text.done', { ...ids, text: this.item.text });
      }
      h.send('response.content_part.done', { ...ids, part: (this.#wireItem().content as unknown[])[0] });
    }
    h.send('response.output_item.done', { response_id: this.params.id, output_index: this.#messageIndex, item: this.#wireItem() });
    if (!this.params.outOfBand && h.dialect === 'ga') h.send('conversation.item.done', { previous_item_id: null, item: this.#wireItem() });
    h.send('response.done', { response: this.#wireResponse(status, { status_details: statusDetails, output: [...this.#toolItems, this.#wireItem()], usage: this.#usage() }) });
    h.finished(this);
  }

  /** Usage: ~4 characters per text token, 10 audio tokens/s in, 20 audio tokens/s out; cached = previous input. */
  #usage(): Record<string, unknown> {
    let textIn = Math.ceil(this.params.instructions.length / 4);
    let audioIn = 0;
    for (const item of this.params.context) {
      if (item.audioMs !== null) audioIn += Math.round(item.audioMs / 100);
      else textIn += Math.ceil(item.text.length / 4);
    }
    const cachedTotal = Math.floor(Math.min(this.#host.previousInputTokens, textIn + audioIn) / 64) * 64;
    this.#host.previousInputTokens = textIn + audioIn;
    const cachedAudio = Math.min(audioIn, cachedTotal);
    const cachedText = Math.min(textIn, cachedTotal - cachedAudio);
    const audioOut = this.item.audioMs === null ? 0 : Math.round(this.item.audioMs / 50);
    const textOut = Math.ceil(this.item.text.length / 4);
    return {
      total_tokens: textIn + audioIn + textOut + audioOut,
      input_tokens: textIn + audioIn,
      output_tokens: textOut + audioOut,
      input_token_details: { text_tokens: textIn, audio_tokens: audioIn, image_tokens: 0, cached_tokens: cachedTotal, cached_tokens_details: { text_tokens: cachedText, audio_tokens: cachedAudio, image_tokens: 0 } },
      output_token_details: { text_tokens: textOut, audio_tokens: audioOut },
    };
  }

  /** Wall-clock ms since start (for logs). */
  get ageMs(): number {
    return Date.now() - this.#startedAt;
  }
}

/** Base64 of slices of reply audio already sent once, by buffer (the shared reply signal is sent by every session). */
const base64Slices = new WeakMap<Buffer, Map<string, string>>();

/** `audio.subarray(start, end).toString('base64')`, encoded once per buffer and slice. */
function base64Slice(audio: Buffer, start: number, end: number): string {
  let slices = base64Slices.get(audio);
  if (!slices) base64Slices.set(audio, (slices = new Map()));
  const key = `${start}:${end}`;
  let text = slices.get(key);
  if (text === undefined) slices.set(key, (text = audio.subarray(start, end).toString('base64')));
  return text;
}

/** Index just after the word that contains `index` (so deltas end at word boundaries). */
function wordEnd(text: string, index: number): number {
  if (index >= text.length) return text.length;
  const space = text.indexOf(' ', index);
  return space < 0 ? text.length : space + 1;
}
