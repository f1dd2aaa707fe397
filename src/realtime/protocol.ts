/**
 * Tolerant parsing of server events. Each event the client acts on has a zod schema checking only the
 * fields it uses (extra fields pass through); events of other types are returned as `unknown` events;
 * malformed JSON or wrong-typed fields are logged and dropped — parsing never throws.
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import { canonicalEventType } from './dialect.ts';
import type { TokenUsage, TranscriptionUsage } from './usage.ts';

const id = z.string().min(1);

/**
 * A number, also from a numeric string ("1.5"); anything else (null, "inf", an object) becomes
 * undefined. Real payloads put strings where the types say number (`max_output_tokens: "inf"`), so a
 * field the client only reads must never make it drop the event.
 */
const lenientNumber = z
  .unknown()
  .transform((value): number | undefined => {
    if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
    if (typeof value === 'string' && value.trim() !== '') {
      const parsed = Number(value);
      return Number.isFinite(parsed) ? parsed : undefined;
    }
    return undefined;
  })
  .optional();
/** A string, or null for anything else (absent, null, numbers, objects). Never fails. */
const lenientString = z
  .unknown()
  .transform((value): string | null => (typeof value === 'string' ? value : null))
  .optional()
  .transform((value) => value ?? null);
/** An object the client only reads: parsed when it can be, else null (never drops the event). */
const lenient = <T extends z.ZodType>(schema: T) => schema.nullish().catch(null);

const usageSchema = z.looseObject({
  input_token_details: lenient(
    z.looseObject({
      text_tokens: lenientNumber,
      audio_tokens: lenientNumber,
      cached_tokens: lenientNumber,
      cached_tokens_details: lenient(z.looseObject({ text_tokens: lenientNumber, audio_tokens: lenientNumber })),
    }),
  ),
  output_token_details: lenient(z.looseObject({ text_tokens: lenientNumber, audio_tokens: lenientNumber })),
});

/** Input transcription usage: by tokens (gpt-4o transcribe models) or by duration (whisper-1). */
const transcriptionUsageSchema = z.looseObject({
  type: lenientString,
  seconds: lenientNumber,
  input_tokens: lenientNumber,
  output_tokens: lenientNumber,
  input_token_details: lenient(z.looseObject({ text_tokens: lenientNumber, audio_tokens: lenientNumber })),
});

/**
 * Schemas by canonical (GA) event name. Only what identifies an event (its ids, a delta) is required;
 * every other field is read leniently: extra fields pass, nulls and odd types become null/undefined.
 */
export const SERVER_EVENT_SCHEMAS = {
  error: z.looseObject({
    error: z
      .looseObject({
        type: lenientString,
        code: lenientString,
        message: z
          .unknown()
          .optional()
          .transform((value) => (typeof value === 'string' && value !== '' ? value : 'unknown error')),
        param: lenientString,
        event_id: lenientString,
      })
      .catch({ type: null, code: null, message: 'unknown error', param: null, event_id: null }),
  }),
  'session.created': z.looseObject({ session: lenient(z.looseObject({ id: lenientString })) }),
  'session.updated': z.looseObject({ session: lenient(z.looseObject({ id: lenientString })) }),
  'input_audio_buffer.speech_started': z.looseObject({ item_id: id, audio_start_ms: lenientNumber }),
  'input_audio_buffer.speech_stopped': z.looseObject({ item_id: id, audio_end_ms: lenientNumber }),
  'input_audio_buffer.committed': z.looseObject({ item_id: id, previous_item_id: lenientString }),
  'input_audio_buffer.cleared': z.looseObject({}),
  'conversation.item.input_audio_transcription.delta': z.looseObject({ item_id: id, delta: lenientString }),
  'conversation.item.input_audio_transcription.completed': z.looseObject({
    item_id: id,
    transcript: lenientString,
    usage: lenient(transcriptionUsageSchema),
  }),
  // The item identifies the event (tool calls are tracked by it): required, its other fields lenient.
  'conversation.item.added': z.looseObject({ item: z.looseObject({ id, type: z.string(), role: z.string().nullish().catch(undefined) }), previous_item_id: lenientString }),
  'conversation.item.truncated': z.looseObject({ item_id: id, audio_end_ms: lenientNumber }),
  'response.created': z.looseObject({
    response: z.looseObject({ id, metadata: lenient(z.record(z.string(), z.unknown())) }),
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
      status: lenientString,
      status_details: lenient(
        z.looseObject({
          type: lenientString,
          reason: lenientString,
          error: lenient(z.looseObject({ code: lenientString, type: lenientString, message: lenientString })),
        }),
      ),
      usage: lenient(usageSchema),
      metadata: lenient(z.record(z.string(), z.unknown())),
    }),
  }),
  'rate_limits.updated': z.looseObject({
    rate_limits: z
      .array(z.looseObject({ name: lenientString, limit: lenientNumber, remaining: lenientNumber, reset_seconds: lenientNumber }).catch({ name: null, limit: undefined, remaining: undefined, reset_seconds: undefined }))
      .catch([]),
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
  if (DELTA_SHAPED.has(type)) {
    const event = deltaEvent(raw as Record<string, unknown>, type);
    if (event) return event;
  }
  const result = SERVER_EVENT_SCHEMAS[type].safeParse(raw);
  if (!result.success) {
    log.warn({ type: originalType, issues: result.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`) }, 'dropped server event: wrong-typed fields');
    return null;
  }
  return { ...result.data, type } as KnownServerEvent;
}

/** Canonical types whose schema is `{ response_id: id, item_id: id, delta: string }`: the frequent ones (several a second per reply). */
const DELTA_SHAPED: ReadonlySet<string> = new Set(['response.output_audio.delta', 'response.output_audio_transcript.delta', 'response.output_text.delta']);

/** A delta-shaped event as its schema parses it. */
type DeltaShapedEvent = Extract<KnownServerEvent, { type: 'response.output_audio.delta' | 'response.output_audio_transcript.delta' | 'response.output_text.delta' }>;

/**
 * The delta-shaped schema checked by hand, for the events that come several times a second per reply:
 * the object `{ ...schema.parse(raw), type }` would be — the three fields first, then every other field
 * of `raw` in its order (`type` made canonical, `__proto__` left out, as zod's looseObject does) — or
 * undefined when a field does not pass, for zod to parse and explain (figures: bench/README.md, "Load
 * with DAVE, session 6"). A test holds both to the same result on messy input.
 */
export function deltaEvent(raw: Record<string, unknown>, type: string): DeltaShapedEvent | undefined {
  const { response_id: responseId, item_id: itemId, delta } = raw;
  if (typeof responseId !== 'string' || responseId === '' || typeof itemId !== 'string' || itemId === '' || typeof delta !== 'string') return undefined;
  const event: Record<string, unknown> = { response_id: responseId, item_id: itemId, delta };
  for (const key in raw) {
    if (key === 'response_id' || key === 'item_id' || key === 'delta' || key === '__proto__') continue;
    event[key] = key === 'type' ? type : raw[key];
  }
  return event as DeltaShapedEvent;
}

/** Token usage of a `response.done` usage object (missing or unusable counts are 0). */
export function usageFromWire(usage: z.infer<typeof usageSchema> | null | undefined): TokenUsage | null {
  if (!usage) return null;
  const input = usage.input_token_details;
  const cached = input?.cached_tokens_details;
  const output = usage.output_token_details;
  return {
    inputTextTokens: count(input?.text_tokens),
    inputAudioTokens: count(input?.audio_tokens),
    cachedTextTokens: count(cached?.text_tokens),
    cachedAudioTokens: count(cached?.audio_tokens),
    outputTextTokens: count(output?.text_tokens),
    outputAudioTokens: count(output?.audio_tokens),
  };
}

/** Input transcription usage of a `…input_audio_transcription.completed` event, or null if it has none. */
export function transcriptionUsageFromWire(usage: z.infer<typeof transcriptionUsageSchema> | null | undefined): TranscriptionUsage | null {
  if (!usage) return null;
  if (usage.type === 'duration' || (usage.type !== 'tokens' && usage.seconds !== undefined)) {
    return { seconds: count(usage.seconds), inputTokens: 0, outputTokens: 0 };
  }
  return { seconds: 0, inputTokens: count(usage.input_tokens), outputTokens: count(usage.output_tokens) };
}

/**
 * Largest token count (or seconds of transcribed audio) one event can plausibly report. The models' whole
 * context is at most a few hundred thousand tokens, so a count above this is garbled: priced as it is, a
 * count of 1e308 made the cost Infinity, and with a spend limit set one such event would stop the bot.
 */
export const MAX_PLAUSIBLE_COUNT = 10_000_000;

/** A count as reported: a finite, non-negative number up to {@link MAX_PLAUSIBLE_COUNT}, else 0. */
function count(value: number | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= MAX_PLAUSIBLE_COUNT ? value : 0;
}

/** Longest pause a rate-limit hint may impose: a hostile or garbled hint must not mute the bot for hours. */
export const MAX_RATE_LIMIT_PAUSE_MS = 60_000;

/**
 * Retry delay hinted by a rate-limit message, in the forms the service writes ("Please try again in
 * 1m26.4s." / "in 6s" / "in 20ms", openai/openai-agents-js#1022; also hours), else the fallback;
 * clamped to 0…{@link MAX_RATE_LIMIT_PAUSE_MS}.
 */
export function retryAfterFromMessage(message: string | null | undefined, fallbackMs = 1000): number {
  const match = /try again in ((?:\d+(?:\.\d+)?(?:ms|h|m|s)\s*)+)/i.exec(message ?? '');
  if (!match?.[1]) return fallbackMs;
  const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let ms = 0;
  for (const part of match[1].matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/gi)) ms += Number(part[1]) * unitMs[part[2]!.toLowerCase()]!;
  if (!Number.isFinite(ms)) return fallbackMs;
  return Math.min(Math.max(Math.round(ms), 0), MAX_RATE_LIMIT_PAUSE_MS);
}
