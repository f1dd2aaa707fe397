/**
 * Public types of the realtime client: one normalized model whatever the wire dialect.
 * Nothing here mentions Discord; the bot maps its own concepts (guilds, speakers) onto these.
 */
import type { RealtimeError } from './errors.ts';
import type { ResponseHandle } from './responseHandle.ts';
import type { TokenUsage, TranscriptionUsage, UsageTotals } from './usage.ts';

/** Wire dialect: `ga` (OpenAI today) or `beta` (`OpenAI-Beta: realtime=v1`, e.g. CometAPI). */
export type Dialect = 'ga' | 'beta';

/** What a response produces. GA allows one of them per response; beta always adds text to audio. */
export type Modality = 'audio' | 'text';

/** Turn detection. `manual` means none: the caller commits the input buffer and creates responses. */
export type TurnDetection =
  | {
      type: 'server_vad';
      /** Activation threshold, 0..1 (server default 0.5). */
      threshold?: number;
      /** Audio kept before detected speech, in ms. */
      prefixPaddingMs?: number;
      /** Silence that ends a turn, in ms. */
      silenceDurationMs?: number;
      /** Whether the server creates a response at the end of each turn. */
      createResponse?: boolean;
      /** Whether the server cancels the active response when speech starts. */
      interruptResponse?: boolean;
      idleTimeoutMs?: number;
    }
  | {
      type: 'semantic_vad';
      eagerness?: 'low' | 'medium' | 'high' | 'auto';
      createResponse?: boolean;
      interruptResponse?: boolean;
    }
  | { type: 'manual' };

/** Input noise reduction types of the realtime API. */
export type NoiseReductionType = 'near_field' | 'far_field';

/** The session configuration, remembered by the client and restored on every new server session. */
export interface SessionConfig {
  instructions: string;
  voice: string;
  outputModalities: Modality[];
  /** Transcription of user audio (needed for transcript history); `null`/absent disables it. */
  inputTranscription?: { model: string; language?: string } | null;
  turnDetection: TurnDetection;
  /** The service's input noise reduction (`near_field`: a headset; `far_field`: a laptop or room mic); null/absent = off. */
  noiseReduction?: NoiseReductionType | null;
  maxOutputTokens?: number | 'inf';
  /** Tools the model may call (function tools run by the bot, remote MCP servers run by the service); absent = none. */
  tools?: ToolSpec[];
}

/** A function tool: the model asks for it, the bot runs it and sends the result back. */
export interface FunctionToolSpec {
  type: 'function';
  name: string;
  description: string;
  /** JSON Schema of the arguments (an object schema). */
  parameters: Record<string, unknown>;
}

/** Which MCP tools need an approval before the service runs them. */
export type McpApprovalPolicy = 'always' | 'never' | { always?: string[]; never?: string[] };

/**
 * A remote MCP server: the service lists its tools and runs them itself (GA dialect only). `headers`
 * hold credentials: they are sent to the service and must never be logged.
 */
export interface McpToolSpec {
  type: 'mcp';
  serverLabel: string;
  serverUrl: string;
  description?: string;
  /** Only these of the server's tools are offered to the model (absent = all of them). */
  allowedTools?: string[];
  requireApproval: McpApprovalPolicy;
  headers?: Record<string, string>;
}

/** A tool of the session configuration. */
export type ToolSpec = FunctionToolSpec | McpToolSpec;

/** The model asked the bot to run a function tool. */
export interface FunctionCall {
  /** The response that made the call (its handle, when the response was requested by this client). */
  responseId: string;
  handle: ResponseHandle | null;
  itemId: string;
  callId: string;
  name: string;
  /** The arguments exactly as the model wrote them (a JSON text that may be malformed). */
  arguments: string;
  /** The client had asked to cancel the response: the call was cut off and must not run (it still needs an answer). */
  interrupted: boolean;
}

/** Progress of the service listing a remote MCP server's tools. */
export interface McpToolsEvent {
  itemId: string;
  serverLabel: string;
  status: 'in_progress' | 'completed' | 'failed';
  /** The tools listed (on `completed`). */
  tools: string[];
}

/** A remote MCP tool call the service ran, once it ended. */
export interface McpCallEvent {
  itemId: string;
  responseId: string | null;
  serverLabel: string;
  name: string;
  status: 'completed' | 'failed';
  /** What went wrong (on `failed`): the error's type and message as the service reported them. */
  error?: string;
}

/** The service asks whether an MCP tool call may run. */
export interface McpApprovalRequest {
  /** Id of the approval request item (answer it with {@link RealtimeClient.answerMcpApproval}). */
  id: string;
  responseId: string | null;
  handle: ResponseHandle | null;
  serverLabel: string;
  name: string;
  arguments: string;
}

/** One remembered turn of the conversation, used to re-seed a new server session. */
export interface HistoryEntry {
  role: 'user' | 'assistant';
  text: string;
  /** Display name given with {@link RealtimeClient.addUserText}. Not sent to the server. */
  name?: string;
  /** Server item id in the session where the entry was produced. */
  itemId?: string;
  /** `Date.now()` when the entry was recorded. */
  at: number;
  /** transcript = from audio; text = typed text or a text reply; note = context note such as a speaker label. */
  kind: 'transcript' | 'text' | 'note';
}

/** An input item of an out-of-band response: a text message. */
export interface ConversationInput {
  role: 'user' | 'assistant' | 'system';
  text: string;
}

/** Final status of a response. `failed` also covers responses lost to a dropped connection. */
export type ResponseStatus = 'completed' | 'cancelled' | 'failed' | 'incomplete';

/** What a response produced, delivered once in `response_done` and by {@link ResponseHandle.done}. */
export interface ResponseResult {
  /** Server id; `null` if the response never started (cancelled while queued, refused, connection lost). */
  responseId: string | null;
  status: ResponseStatus;
  /** Why it ended that way when not completed (`client_cancelled`, `turn_detected`, `disconnected`, an error code…). */
  reason?: string;
  /** Text output (text modality). */
  text: string;
  /** Transcript of the audio output (audio modality). */
  transcript: string;
  usage: TokenUsage | null;
  /** Estimated cost of `usage` in USD (0 without usage), priced once by the client. */
  costUsd: number;
  /** Ids of the output items (assistant messages) of the response. */
  itemIds: string[];
  /** True for responses created with `conversation: "none"`: not in the conversation nor in history. */
  outOfBand: boolean;
  /** Metadata given when the response was requested. */
  metadata?: Record<string, string>;
  /** Milliseconds of audio received for the response. */
  audioMs: number;
  /** Function calls the response made (the bot owes their results, then a follow-up response). */
  functionCallIds: string[];
  /** MCP approval requests the response ended with (answered, then a follow-up response). */
  mcpApprovalIds: string[];
}

/** Options of {@link RealtimeClient.createResponse}. */
export interface CreateResponseOptions {
  modalities?: Modality[];
  /** Longest answer, in tokens (`max_output_tokens`; beta `max_response_output_tokens`); the session's by default. */
  maxOutputTokens?: number;
  instructions?: string;
  metadata?: Record<string, string>;
}

/** Options of {@link RealtimeClient.createOutOfBandResponse}. */
export interface OutOfBandResponseOptions extends CreateResponseOptions {
  input: ConversationInput[];
}

/** Connection state of the client. */
export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Events of {@link RealtimeClient}. Audio is 24 kHz mono PCM16. */
export interface RealtimeEventMap {
  open: [];
  closed: [reason: string];
  reconnecting: [{ attempt: number; delayMs: number; reason: string }];
  reconnected: [];
  rotated: [];
  session_updated: [];
  /** Errors from the server or the transport. Only emitted when someone listens (else logged). */
  error: [RealtimeError];
  speech_started: [{ itemId: string; audioStartMs: number }];
  speech_stopped: [{ itemId: string; audioEndMs: number; contributors: string[] }];
  input_committed: [{ itemId: string; previousItemId: string | null; contributors: string[] }];
  input_transcript: [{ itemId: string; text: string }];
  /**
   * A piece of a turn's input transcript as the transcriber streams it (incremental text). whisper-1
   * sends the whole transcript once; gpt-4o(-mini)-transcribe stream words after the turn is
   * committed; a streaming transcriber (gpt-realtime-whisper) streams them while the person speaks,
   * before the commit (the item id is the one of speech_started).
   */
  input_transcript_delta: [{ itemId: string; delta: string }];
  /** Input transcription usage of a user turn, priced once (billed apart by the transcription model). */
  transcription_usage: [{ itemId: string; model: string; usage: TranscriptionUsage; costUsd: number }];
  response_started: [{ responseId: string }];
  audio_delta: [{ responseId: string; itemId: string; pcm: Buffer }];
  audio_done: [{ responseId: string; itemId: string }];
  transcript_delta: [{ responseId: string; itemId: string; delta: string }];
  text_delta: [{ responseId: string; itemId: string; delta: string }];
  response_done: [ResponseResult];
  item_truncated: [{ itemId: string; audioEndMs: number }];
  rate_limited: [{ retryAfterMs: number; message: string }];
  usage: [UsageTotals];
  /** The model asked for a function tool (once per call, when its arguments are complete). */
  function_call: [FunctionCall];
  mcp_tools: [McpToolsEvent];
  mcp_call: [McpCallEvent];
  mcp_approval_request: [McpApprovalRequest];
}
