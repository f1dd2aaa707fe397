/**
 * Translation between the normalized model and each wire dialect (see the table in
 * /work/shared/reference/realtime-api.md). Outgoing events take the configured dialect's shape;
 * incoming event names of both dialects map to one canonical (GA) name, because CometAPI mixes them.
 */
import type { ConversationInput, CreateResponseOptions, Dialect, McpApprovalPolicy, Modality, NoiseReductionType, SessionConfig, ToolSpec, TurnDetection } from './types.ts';

/** A client event as sent on the wire. */
export type WireEvent = { type: string; event_id?: string } & Record<string, unknown>;

/** Beta (and legacy) server event names → canonical GA names. Names not listed are already canonical. */
export const SERVER_EVENT_ALIASES: Readonly<Record<string, string>> = {
  'response.audio.delta': 'response.output_audio.delta',
  'response.audio.done': 'response.output_audio.done',
  'response.audio_transcript.delta': 'response.output_audio_transcript.delta',
  'response.audio_transcript.done': 'response.output_audio_transcript.done',
  'response.text.delta': 'response.output_text.delta',
  'response.text.done': 'response.output_text.done',
  'conversation.item.created': 'conversation.item.added',
};

/** Canonical name of a server event type, whichever dialect named it. */
export function canonicalEventType(type: string): string {
  return SERVER_EVENT_ALIASES[type] ?? type;
}

/** Turn detection on the wire (both dialects use the same object; `null` = manual). */
export type WireTurnDetection =
  | { type: 'server_vad'; threshold?: number; prefix_padding_ms?: number; silence_duration_ms?: number; create_response?: boolean; interrupt_response?: boolean; idle_timeout_ms?: number }
  | { type: 'semantic_vad'; eagerness?: 'low' | 'medium' | 'high' | 'auto'; create_response?: boolean; interrupt_response?: boolean }
  | null;

/** PCM16 24 kHz mono, the only format the client uses. */
const GA_PCM = { type: 'audio/pcm', rate: 24000 } as const;

/** The GA `session` object of `session.update` (a subset of the official type). */
export interface GaSessionWire {
  type: 'realtime';
  instructions?: string;
  output_modalities?: ('audio' | 'text')[];
  audio?: {
    input?: { format?: typeof GA_PCM; transcription?: { model: string; language?: string }; turn_detection?: WireTurnDetection; noise_reduction?: { type: NoiseReductionType } };
    output?: { format?: typeof GA_PCM; voice?: string };
  };
  max_output_tokens?: number | 'inf';
  tools?: (GaFunctionToolWire | GaMcpToolWire)[];
  tool_choice?: 'auto';
}

/** A function tool on the wire (both dialects). */
export interface GaFunctionToolWire {
  type: 'function';
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** A remote MCP server on the wire (GA only). */
export interface GaMcpToolWire {
  type: 'mcp';
  server_label: string;
  server_url: string;
  server_description?: string;
  allowed_tools?: string[];
  require_approval: 'always' | 'never' | { always?: { tool_names: string[] }; never?: { tool_names: string[] } };
  headers?: Record<string, string>;
}

/** The beta `session` object of `session.update`. */
export interface BetaSessionWire {
  instructions?: string;
  voice?: string;
  modalities?: ('text' | 'audio')[];
  input_audio_format?: 'pcm16';
  output_audio_format?: 'pcm16';
  input_audio_transcription?: { model: string; language?: string };
  turn_detection?: WireTurnDetection;
  input_audio_noise_reduction?: { type: NoiseReductionType };
  max_response_output_tokens?: number | 'inf';
  tools?: GaFunctionToolWire[];
  tool_choice?: 'auto';
}

function approvalToWire(policy: McpApprovalPolicy): GaMcpToolWire['require_approval'] {
  if (typeof policy === 'string') return policy;
  return compact({
    always: policy.always && { tool_names: [...policy.always] },
    never: policy.never && { tool_names: [...policy.never] },
  });
}

/**
 * Tools in a dialect. Function tools have one shape in both; remote MCP servers exist only in GA
 * (the beta API's tools are functions only, so a beta session never gets them).
 */
export function toolsToWire(tools: readonly ToolSpec[], dialect: Dialect): (GaFunctionToolWire | GaMcpToolWire)[] {
  const out: (GaFunctionToolWire | GaMcpToolWire)[] = [];
  for (const tool of tools) {
    if (tool.type === 'function') out.push({ type: 'function', name: tool.name, description: tool.description, parameters: tool.parameters });
    else if (dialect === 'ga') {
      out.push(
        compact({
          type: 'mcp' as const,
          server_label: tool.serverLabel,
          server_url: tool.serverUrl,
          server_description: tool.description,
          allowed_tools: tool.allowedTools && [...tool.allowedTools],
          require_approval: approvalToWire(tool.requireApproval),
          headers: tool.headers && { ...tool.headers },
        }),
      );
    }
  }
  return out;
}

function turnDetectionToWire(td: TurnDetection): WireTurnDetection {
  switch (td.type) {
    case 'manual':
      return null;
    case 'server_vad':
      return {
        type: 'server_vad',
        threshold: td.threshold,
        prefix_padding_ms: td.prefixPaddingMs,
        silence_duration_ms: td.silenceDurationMs,
        create_response: td.createResponse,
        interrupt_response: td.interruptResponse,
        idle_timeout_ms: td.idleTimeoutMs,
      };
    case 'semantic_vad':
      return { type: 'semantic_vad', eagerness: td.eagerness, create_response: td.createResponse, interrupt_response: td.interruptResponse };
  }
}

/** GA output modalities: exactly one of audio (which includes a transcript) or text. */
export function gaModalities(modalities: readonly Modality[]): ['audio'] | ['text'] {
  return modalities.includes('audio') ? ['audio'] : ['text'];
}

/** Beta modalities: audio responses must also list text. */
export function betaModalities(modalities: readonly Modality[]): ('text' | 'audio')[] {
  return modalities.includes('audio') ? ['text', 'audio'] : ['text'];
}

/**
 * Transcription settings; disabling (`null`) is expressed by leaving them out of a full configuration,
 * as both dialects' official types have no null here.
 */
function transcriptionToWire(config: Partial<SessionConfig>): { model: string; language?: string } | undefined {
  const t = config.inputTranscription;
  if (t === undefined || t === null) return undefined;
  return t.language === undefined ? { model: t.model } : { model: t.model, language: t.language };
}

/**
 * Noise reduction on the wire: `{ type }` when on. Off is expressed by leaving it out (the official
 * types of both dialects have no null here), so switching it off reaches the next server session.
 */
function noiseReductionToWire(value: NoiseReductionType | null | undefined): { type: NoiseReductionType } | undefined {
  return value ? { type: value } : undefined;
}

/**
 * The GA `session` for a (partial) configuration. Only the given fields are included (undefined keys
 * vanish in JSON), so a live instruction change does not resend the voice, which servers refuse to
 * change once audio has been produced. GA has no null transcription: a full configuration without one
 * simply leaves it out.
 */
export function gaSession(config: Partial<SessionConfig>): GaSessionWire {
  const full = config.turnDetection !== undefined;
  const input = full || config.inputTranscription || config.noiseReduction
    ? {
        format: full ? GA_PCM : undefined,
        transcription: transcriptionToWire(config),
        turn_detection: full ? turnDetectionToWire(config.turnDetection!) : undefined,
        noise_reduction: noiseReductionToWire(config.noiseReduction),
      }
    : undefined;
  const output = config.voice !== undefined ? { format: GA_PCM, voice: config.voice } : undefined;
  return compact({
    type: 'realtime' as const,
    instructions: config.instructions,
    output_modalities: config.outputModalities && gaModalities(config.outputModalities),
    audio: input || output ? compact({ input: input && compact(input), output }) : undefined,
    max_output_tokens: config.maxOutputTokens,
    tools: config.tools && toolsToWire(config.tools, 'ga'),
    tool_choice: config.tools ? ('auto' as const) : undefined,
  });
}

/** The beta `session` for a (partial) configuration. */
export function betaSession(config: Partial<SessionConfig>): BetaSessionWire {
  return compact({
    instructions: config.instructions,
    voice: config.voice,
    modalities: config.outputModalities && betaModalities(config.outputModalities),
    input_audio_format: config.turnDetection !== undefined ? ('pcm16' as const) : undefined,
    output_audio_format: config.voice !== undefined ? ('pcm16' as const) : undefined,
    input_audio_transcription: transcriptionToWire(config),
    turn_detection: config.turnDetection === undefined ? undefined : turnDetectionToWire(config.turnDetection),
    input_audio_noise_reduction: noiseReductionToWire(config.noiseReduction),
    max_response_output_tokens: config.maxOutputTokens,
    tools: config.tools && (toolsToWire(config.tools, 'beta') as GaFunctionToolWire[]),
    tool_choice: config.tools ? ('auto' as const) : undefined,
  });
}

/** The `session` object of a `session.update` in a dialect. */
export function sessionToWire(config: Partial<SessionConfig>, dialect: Dialect): GaSessionWire | BetaSessionWire {
  return dialect === 'ga' ? gaSession(config) : betaSession(config);
}

/** A GA message item with text content. */
export type GaMessageWire =
  | { type: 'message'; role: 'user'; content: { type: 'input_text'; text: string }[] }
  | { type: 'message'; role: 'system'; content: { type: 'input_text'; text: string }[] }
  | { type: 'message'; role: 'assistant'; content: { type: 'output_text'; text: string }[] };

/** A beta message item with text content. */
export type BetaMessageWire =
  | { type: 'message'; role: 'user' | 'system'; content: { type: 'input_text'; text: string }[] }
  | { type: 'message'; role: 'assistant'; content: { type: 'text'; text: string }[] };

/** A GA message item. */
export function gaMessage(role: 'user' | 'assistant' | 'system', text: string): GaMessageWire {
  if (role === 'assistant') return { type: 'message', role, content: [{ type: 'output_text', text }] };
  return { type: 'message', role, content: [{ type: 'input_text', text }] };
}

/** A beta message item. */
export function betaMessage(role: 'user' | 'assistant' | 'system', text: string): BetaMessageWire {
  if (role === 'assistant') return { type: 'message', role, content: [{ type: 'text', text }] };
  return { type: 'message', role, content: [{ type: 'input_text', text }] };
}

/** A message item with text content, in the dialect's content types. */
export function messageItem(role: 'user' | 'assistant' | 'system', text: string, dialect: Dialect): GaMessageWire | BetaMessageWire {
  return dialect === 'ga' ? gaMessage(role, text) : betaMessage(role, text);
}

/** The item carrying a function tool's result (same shape in both dialects). */
export function functionOutputItem(callId: string, output: string): { type: 'function_call_output'; call_id: string; output: string } {
  return { type: 'function_call_output', call_id: callId, output };
}

/** The item answering an MCP approval request (GA only). */
export function mcpApprovalItem(requestId: string, approve: boolean, reason?: string): { type: 'mcp_approval_response'; approval_request_id: string; approve: boolean; reason?: string } {
  return compact({ type: 'mcp_approval_response' as const, approval_request_id: requestId, approve, reason });
}

/** What a response request carries, before translation. */
export type ResponseRequestFields = CreateResponseOptions & { input?: ConversationInput[]; outOfBand?: boolean };

/** The GA `response` of `response.create`. */
export interface GaResponseWire {
  conversation?: 'none';
  input?: GaMessageWire[];
  instructions?: string;
  metadata?: Record<string, string>;
  output_modalities?: ['audio'] | ['text'];
  max_output_tokens?: number;
}

/** The beta `response` of `response.create`. */
export interface BetaResponseWire {
  conversation?: 'none';
  input?: BetaMessageWire[];
  instructions?: string;
  metadata?: Record<string, string>;
  modalities?: ('text' | 'audio')[];
  max_response_output_tokens?: number;
}

/** The GA `response` of a `response.create`. */
export function gaResponse(options: ResponseRequestFields): GaResponseWire {
  return compact({
    conversation: options.outOfBand ? ('none' as const) : undefined,
    input: options.input?.map((entry) => gaMessage(entry.role, entry.text)),
    instructions: options.instructions,
    metadata: options.metadata,
    output_modalities: options.modalities && gaModalities(options.modalities),
    max_output_tokens: options.maxOutputTokens,
  });
}

/** The beta `response` of a `response.create`. */
export function betaResponse(options: ResponseRequestFields): BetaResponseWire {
  return compact({
    conversation: options.outOfBand ? ('none' as const) : undefined,
    input: options.input?.map((entry) => betaMessage(entry.role, entry.text)),
    instructions: options.instructions,
    metadata: options.metadata,
    modalities: options.modalities && betaModalities(options.modalities),
    max_response_output_tokens: options.maxOutputTokens,
  });
}

/** The `response` object of a `response.create` in a dialect. */
export function responseToWire(options: ResponseRequestFields, dialect: Dialect): GaResponseWire | BetaResponseWire {
  return dialect === 'ga' ? gaResponse(options) : betaResponse(options);
}

/** Copy without the keys whose value is `undefined` (`null` is kept: it means "disable"). */
export function compact<T extends object>(object: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) if (value !== undefined) out[key] = value;
  return out as T;
}

/** The voice a wire `session` object sets (GA `audio.output.voice`, beta `voice`), if any. */
export function voiceOfWireSession(session: unknown): string | undefined {
  if (typeof session !== 'object' || session === null) return undefined;
  const wire = session as { voice?: unknown; audio?: { output?: { voice?: unknown } } };
  const voice = wire.voice ?? wire.audio?.output?.voice;
  return typeof voice === 'string' ? voice : undefined;
}
