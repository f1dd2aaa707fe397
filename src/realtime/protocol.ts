/**
 * Tolerant parsing of server events. Each event the client acts on has a zod schema checking only the
 * fields it uses (extra fields pass through); events of other types are returned as `unknown` events;
 * malformed JSON or wrong-typed fields are logged and dropped — parsing never throws.
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import { canonicalEventType } from './dialect.ts';
import type { TokenUsage } from './usage.ts';

const id = z.string().min(1);
const nullableString = z.string().nullish();

const usageSchema = z.looseObject({
  input_token_details: z
    .looseObject({
      text_tokens: z.number().optional(),
      audio_tokens: z.number().optional(),
      cached_tokens: z.number().optional(),
      cached_tokens_details: z.looseObject({ text_tokens: z.number().optional(), audio_tokens: z.number().optional() }).nullish(),
    })
    .nullish(),
  output_token_details: z.looseObject({ text_tokens: z.number().optional(), audio_tokens: z.number().optional() }).nullish(),
});

/** Schemas by canonical (GA) event name. */
export const SERVER_EVENT_SCHEMAS = {
  error: z.looseObject({
    error: z.looseObject({
      type: nullableString,
      code: nullableString,
      message: z.string().default('unknown error'),
      param: nullableString,
      event_id: nullableString,
    }),
  }),
  'session.created': z.looseObject({ session: z.looseObject({ id: z.string().optional() }) }),
  'session.updated': z.looseObject({ session: z.looseObject({ id: z.string().optional() }) }),
  'input_audio_buffer.speech_started': z.looseObject({ item_id: id, audio_start_ms: z.number() }),
  'input_audio_buffer.speech_stopped': z.looseObject({ item_id: id, audio_end_ms: z.number() }),
  'input_audio_buffer.committed': z.looseObject({ item_id: id, previous_item_id: nullableString }),
  'input_audio_buffer.cleared': z.looseObject({}),
  'conversation.item.input_audio_transcription.completed': z.looseObject({ item_id: id, transcript: z.string() }),
  'conversation.item.added': z.looseObject({
    item: z.looseObject({ id, type: z.string(), role: z.string().optional() }),
    previous_item_id: nullableString,
  }),
  'conversation.item.truncated': z.looseObject({ item_id: id, audio_end_ms: z.number() }),
  'response.created': z.looseObject({
    response: z.looseObject({ id, metadata: z.record(z.string(), z.unknown()).nullish() }),
  }),
  'response.output_item.added': z.looseObject({ response_id: id, item: z.looseObject({ id, type: z.string().optional() }) }),
  // Tools (reference "Tools"; openai package ResponseFunctionCallArgumentsDoneEvent, McpListTools*,
  // ResponseMcpCall*). Items are checked further, tolerantly, by ToolCallTracker.
  'response.output_item.done': z.looseObject({ response_id: id, item: z.looseObject({ id, type: z.string().optional() }) }),
  'response.function_call_arguments.done': z.looseObject({ response_id: id, item_id: id, call_id: id, name: z.string(), arguments: z.string() }),
  'conversation.item.done': z.looseObject({ item: z.looseObject({ id, type: z.string() }) }),
  'mcp_list_tools.in_progress': z.looseObject({ item_id: id }),
  'mcp_list_tools.completed': z.looseObject({ item_id: id }),
  'mcp_list_tools.failed': z.looseObject({ item_id: id }),
  'response.mcp_call.failed': z.looseObject({ item_id: id }),
  'response.output_audio.delta': z.looseObject({ response_id: id, item_id: id, delta: z.string() }),
  'response.output_audio.done': z.looseObject({ response_id: id, item_id: id }),
  'response.output_audio_transcript.delta': z.looseObject({ response_id: id, item_id: id, delta: z.string() }),
  'response.output_text.delta': z.looseObject({ response_id: id, item_id: id, delta: z.string() }),
  'response.done': z.looseObject({
    response: z.looseObject({
      id,
      status: z.string().optional(),
      status_details: z
        .looseObject({ type: nullableString, reason: nullableString, error: z.looseObject({ code: nullableString }).nullish() })
        .nullish(),
      usage: usageSchema.nullish(),
      metadata: z.record(z.string(), z.unknown()).nullish(),
    }),
  }),
  'rate_limits.updated': z.looseObject({
    rate_limits: z.array(z.looseObject({ name: z.string().optional(), remaining: z.number().optional(), reset_seconds: z.number().optional() })),
  }),
} as const;

type Schemas = typeof SERVER_EVENT_SCHEMAS;
/** Canonical names of the events the client acts on. */
export type KnownEventType = keyof Schemas;
/** A parsed server event the client acts on, discriminated by its canonical `type`. */
export type KnownServerEvent = { [K in KnownEventType]: z.infer<Schemas[K]> & { type: K } }[KnownEventType];
/** A well-formed server event of a type the client does not act on. */
export interface UnknownServerEvent {
  type: 'unknown';
  originalType: string;
}
export type ServerEvent = KnownServerEvent | UnknownServerEvent;

function isKnown(type: string): type is KnownEventType {
  return Object.hasOwn(SERVER_EVENT_SCHEMAS, type);
}

/**
 * Parses one frame. Returns null (after logging at warn) for malformed JSON, a frame that is not an
 * event object, or a known event with wrong-typed fields.
 */
export function parseServerEvent(data: string, log: Logger): ServerEvent | null {
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    log.warn({ bytes: data.length }, 'dropped server frame: malformed JSON');
    return null;
  }
  if (typeof raw !== 'object' || raw === null || typeof (raw as { type?: unknown }).type !== 'string') {
    log.warn('dropped server frame: not an event object');
    return null;
  }
  const originalType = (raw as { type: string }).type;
  const type = canonicalEventType(originalType);
  if (!isKnown(type)) return { type: 'unknown', originalType };
  const result = SERVER_EVENT_SCHEMAS[type].safeParse(raw);
  if (!result.success) {
    log.warn({ type: originalType, issues: result.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`) }, 'dropped server event: wrong-typed fields');
    return null;
  }
  return { ...result.data, type } as KnownServerEvent;
}

/** Token usage of a `response.done` usage object (missing counts are 0). */
export function usageFromWire(usage: z.infer<typeof usageSchema> | null | undefined): TokenUsage | null {
  if (!usage) return null;
  const input = usage.input_token_details;
  const cached = input?.cached_tokens_details;
  const output = usage.output_token_details;
  const n = (v: number | undefined) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
  return {
    inputTextTokens: n(input?.text_tokens),
    inputAudioTokens: n(input?.audio_tokens),
    cachedTextTokens: n(cached?.text_tokens),
    cachedAudioTokens: n(cached?.audio_tokens),
    outputTextTokens: n(output?.text_tokens),
    outputAudioTokens: n(output?.audio_tokens),
  };
}

/** Longest pause a rate-limit hint may impose: a hostile or garbled hint must not mute the bot for hours. */
export const MAX_RATE_LIMIT_PAUSE_MS = 60_000;

/**
 * Retry delay hinted by a rate-limit message ("…try again in 1.5s" / "in 200ms"), else the fallback;
 * clamped to 0…{@link MAX_RATE_LIMIT_PAUSE_MS}.
 */
export function retryAfterFromMessage(message: string, fallbackMs = 1000): number {
  const match = /try again in ([\d.]+)\s*(ms|s)\b/i.exec(message);
  if (!match?.[1]) return fallbackMs;
  const value = Number(match[1]);
  if (!Number.isFinite(value)) return fallbackMs;
  const ms = Math.round(match[2]?.toLowerCase() === 'ms' ? value : value * 1000);
  return Math.min(Math.max(ms, 0), MAX_RATE_LIMIT_PAUSE_MS);
}
