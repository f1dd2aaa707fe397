/**
 * The price tables (USD; the defaults' sources are beside them) and the cost of a usage. A model
 * missing from a table costs 0 here: whoever prices usage must say so (see `UsageMeter`).
 */
import type { TokenUsage, TranscriptionUsage } from './usage.ts';

/** USD per 1M tokens of one kind. */
export interface TokenPrices {
  input: number;
  cached: number;
  output: number;
}

/** Prices of one model. */
export interface ModelPrices {
  text: TokenPrices;
  audio: TokenPrices;
}

/** Prices by model name (a dated snapshot of a listed model uses its prices). */
export type PriceTable = Record<string, ModelPrices>;

const REALTIME_1_5: ModelPrices = { text: { input: 4, cached: 0.4, output: 16 }, audio: { input: 32, cached: 0.4, output: 64 } };
const REALTIME_2: ModelPrices = { text: { input: 4, cached: 0.4, output: 24 }, audio: { input: 32, cached: 0.4, output: 64 } };
const REALTIME_MINI: ModelPrices = { text: { input: 0.6, cached: 0.06, output: 2.4 }, audio: { input: 10, cached: 0.3, output: 20 } };
const GPT_4O: ModelPrices = { text: { input: 5, cached: 2.5, output: 20 }, audio: { input: 40, cached: 2.5, output: 80 } };

/**
 * Defaults from the reference table (USD per 1M tokens). `gpt-realtime` is assumed to be priced as
 * gpt-realtime-1.5 (unconfirmed); CometAPI's `gpt-4o-realtime` as OpenAI's gpt-4o-realtime-preview.
 */
export const DEFAULT_PRICES: PriceTable = {
  'gpt-realtime': REALTIME_1_5,
  'gpt-realtime-1.5': REALTIME_1_5,
  'gpt-realtime-2': REALTIME_2,
  'gpt-realtime-2.1': REALTIME_2,
  'gpt-realtime-mini': REALTIME_MINI,
  'gpt-realtime-2.1-mini': REALTIME_MINI,
  'gpt-4o-realtime': GPT_4O,
  'gpt-4o-realtime-preview': GPT_4O,
};

/** Prices of an input transcription model: USD per minute of audio, or per 1M tokens in and out. */
export interface TranscriptionPrices {
  perMinute?: number;
  input?: number;
  output?: number;
}

/** Transcription prices by model name. */
export type TranscriptionPriceTable = Record<string, TranscriptionPrices>;

/**
 * Defaults: whisper-1 from the reference ($0.006/min); the others from OpenAI's model pages
 * (developers.openai.com/api/docs/models/NAME): gpt-4o-transcribe and gpt-4o-mini-transcribe per
 * token; gpt-realtime-whisper ("priced by audio duration rather than text tokens") and
 * gpt-live-transcribe at $0.017 per minute, gpt-transcribe at $0.0045 per minute.
 */
export const DEFAULT_TRANSCRIPTION_PRICES: TranscriptionPriceTable = {
  'whisper-1': { perMinute: 0.006 },
  'gpt-4o-transcribe': { input: 2.5, output: 10 },
  'gpt-4o-mini-transcribe': { input: 1.25, output: 5 },
  'gpt-realtime-whisper': { perMinute: 0.017 },
  'gpt-live-transcribe': { perMinute: 0.017 },
  'gpt-transcribe': { perMinute: 0.0045 },
};

/** Prices of a transcription model: its exact name, else the name of which it is a dated snapshot, else null. */
export function transcriptionPricesFor(model: string, prices: TranscriptionPriceTable = DEFAULT_TRANSCRIPTION_PRICES): TranscriptionPrices | null {
  return byNameOrSnapshot(prices, model);
}

/**
 * Whether the table prices this transcription usage: a known model with a price for each way it was
 * billed (by the minute for seconds, by the token for tokens). A usage it cannot price costs 0 and
 * must be reported (see `UsageMeter`).
 */
export function canPriceTranscription(usage: TranscriptionUsage, model: string, prices: TranscriptionPriceTable = DEFAULT_TRANSCRIPTION_PRICES): boolean {
  const p = transcriptionPricesFor(model, prices);
  if (!p) return usage.seconds === 0 && usage.inputTokens === 0 && usage.outputTokens === 0;
  if (usage.seconds > 0 && p.perMinute === undefined) return false;
  return !((usage.inputTokens > 0 && p.input === undefined) || (usage.outputTokens > 0 && p.output === undefined));
}

/** Estimated cost in USD of an input transcription; 0 for what the table cannot price ({@link canPriceTranscription}). */
export function transcriptionCost(usage: TranscriptionUsage, model: string, prices: TranscriptionPriceTable = DEFAULT_TRANSCRIPTION_PRICES): number {
  const p = transcriptionPricesFor(model, prices);
  if (!p) return 0;
  return (usage.seconds / 60) * (p.perMinute ?? 0) + (usage.inputTokens * (p.input ?? 0) + usage.outputTokens * (p.output ?? 0)) / 1_000_000;
}


/**
 * Prices of a model: its exact name, else the name of which it is a dated snapshot
 * (`gpt-realtime-2025-08-28` → `gpt-realtime`, but never `gpt-realtime-2`), else null.
 */
export function pricesFor(model: string, prices: PriceTable = DEFAULT_PRICES): ModelPrices | null {
  return byNameOrSnapshot(prices, model);
}

function byNameOrSnapshot<T>(table: Record<string, T>, model: string): T | null {
  if (Object.hasOwn(table, model)) return table[model] ?? null;
  const snapshot = /^(.+)-\d{4}-\d{2}-\d{2}$/.exec(model);
  return snapshot?.[1] && Object.hasOwn(table, snapshot[1]) ? (table[snapshot[1]] ?? null) : null;
}

/** Estimated cost in USD; 0 for a model missing from the table (the caller reports it: see `UsageMeter`). */
export function estimateCost(usage: TokenUsage, model: string, prices: PriceTable = DEFAULT_PRICES): number {
  const p = pricesFor(model, prices);
  if (!p) return 0;
  const cachedText = Math.min(usage.cachedTextTokens, usage.inputTextTokens);
  const cachedAudio = Math.min(usage.cachedAudioTokens, usage.inputAudioTokens);
  const micros =
    (usage.inputTextTokens - cachedText) * p.text.input +
    cachedText * p.text.cached +
    usage.outputTextTokens * p.text.output +
    (usage.inputAudioTokens - cachedAudio) * p.audio.input +
    cachedAudio * p.audio.cached +
    usage.outputAudioTokens * p.audio.output;
  return micros / 1_000_000;
}
