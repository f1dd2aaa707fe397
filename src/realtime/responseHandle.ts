import { EventEmitter } from 'node:events';
import type { CreateResponseOptions, ConversationInput, ResponseResult, ResponseStatus } from './types.ts';
import type { TokenUsage } from './usage.ts';
import { REALTIME_BYTES_PER_MS } from '../audio/format.ts';

/** Events of one response: its text deltas, audio transcript deltas, audio chunks, and its end. */
export interface ResponseHandleEvents {
  text: [delta: string];
  transcript: [delta: string];
  audio: [pcm: Buffer];
  done: [result: ResponseResult];
}

/** What was asked for, kept to (re)send the request. */
export interface ResponseRequest extends CreateResponseOptions {
  input?: ConversationInput[];
  outOfBand: boolean;
  /** A response the server started on its own (server VAD), not requested by the client. */
  serverCreated?: boolean;
}

let handleCounter = 0;

/**
 * One requested response, from queued to done. `done` never rejects: a response that fails, is
 * cancelled while queued or is lost with the connection resolves with that status.
 */
export class ResponseHandle extends EventEmitter<ResponseHandleEvents> {
  /** Server id, known once the server created the response. */
  responseId: string | null = null;
  /** Resolves once with the result. */
  readonly done: Promise<ResponseResult>;
  /** Client-side reference, echoed in metadata to match `response.created` to this request. */
  readonly ref = `r${++handleCounter}`;
  readonly request: ResponseRequest;
  /** Output item ids. */
  readonly itemIds: string[] = [];
  text = '';
  transcript = '';
  audioBytes = 0;
  /** Function calls made by the response (call ids). */
  readonly functionCallIds: string[] = [];
  /** MCP approval requests the response made (request item ids). */
  readonly mcpApprovalIds: string[] = [];
  /** Times the request was refused for rate limiting and put back in the queue. */
  rateLimitRetries = 0;
  #settled = false;
  #resolve!: (result: ResponseResult) => void;
  readonly #cancel: (handle: ResponseHandle) => void;

  /** @internal created by the client. */
  constructor(request: ResponseRequest, cancel: (handle: ResponseHandle) => void) {
    super();
    this.request = request;
    this.#cancel = cancel;
    this.done = new Promise((resolve) => (this.#resolve = resolve));
  }

  /** Whether the handle has resolved. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Cancels this response: removed from the queue if still queued, else `response.cancel` if active. */
  cancel(): void {
    if (!this.#settled) this.#cancel(this);
  }

  /** @internal the server refused or failed this request without output: it will be sent again. */
  prepareRetry(): void {
    this.responseId = null;
    this.itemIds.length = 0;
  }

  /** @internal resolves the handle (once) and returns the result; `costUsd` is the usage's price. */
  finish(status: ResponseStatus, usage: TokenUsage | null, reason?: string, costUsd = 0): ResponseResult {
    const result: ResponseResult = {
      responseId: this.responseId,
      status,
      ...(reason === undefined ? {} : { reason }),
      text: this.text,
      transcript: this.transcript,
      usage,
      costUsd,
      itemIds: [...this.itemIds],
      outOfBand: this.request.outOfBand,
      ...(this.request.metadata ? { metadata: this.request.metadata } : {}),
      audioMs: this.audioBytes / REALTIME_BYTES_PER_MS,
      functionCallIds: [...this.functionCallIds],
      mcpApprovalIds: [...this.mcpApprovalIds],
    };
    if (this.#settled) return result;
    this.#settled = true;
    this.#resolve(result);
    this.emit('done', result);
    return result;
  }
}
