/**
 * Token usage and cost. `response.done` reports tokens split into text and audio, with cached input
 * tokens a subset of input tokens; prices are per million tokens and live in configuration.
 */

/** Tokens of one response (or a sum), split text/audio × input/cached input/output. Cached ⊂ input. */
export interface TokenUsage {
  inputTextTokens: number;
  inputAudioTokens: number;
  cachedTextTokens: number;
  cachedAudioTokens: number;
  outputTextTokens: number;
  outputAudioTokens: number;
}

/**
 * Input transcription of one user turn, billed apart from the model by the transcription model
 * (reference "Usage and price"): by duration (whisper-1) or by tokens (gpt-4o transcribe models).
 */
export interface TranscriptionUsage {
  /** Seconds of audio billed (duration billing; 0 for token billing). */
  seconds: number;
  inputTokens: number;
  outputTokens: number;
}

/** Input transcription totals: usage, transcribed turns and their estimated cost in USD. */
export interface TranscriptionTotals extends TranscriptionUsage {
  turns: number;
  costUsd: number;
}

/** Running totals: tokens, number of responses counted, and the estimated cost in USD (of everything counted). */
export interface UsageTotals extends TokenUsage {
  responses: number;
  costUsd: number;
}

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
 * Defaults: whisper-1 from the reference ($0.006/min); the gpt-4o transcribe models from OpenAI's
 * model pages (developers.openai.com/api/docs/models/gpt-4o-transcribe and …-mini-transcribe).
 */
export const DEFAULT_TRANSCRIPTION_PRICES: TranscriptionPriceTable = {
  'whisper-1': { perMinute: 0.006 },
  'gpt-4o-transcribe': { input: 2.5, output: 10 },
  'gpt-4o-mini-transcribe': { input: 1.25, output: 5 },
};

/** Estimated cost in USD of an input transcription; 0 for a model missing from the table. */
export function transcriptionCost(usage: TranscriptionUsage, model: string, prices: TranscriptionPriceTable = DEFAULT_TRANSCRIPTION_PRICES): number {
  const p = Object.hasOwn(prices, model) ? prices[model] : undefined;
  if (!p) return 0;
  return (usage.seconds / 60) * (p.perMinute ?? 0) + (usage.inputTokens * (p.input ?? 0) + usage.outputTokens * (p.output ?? 0)) / 1_000_000;
}

/** Transcription totals at zero. */
export function emptyTranscriptionTotals(): TranscriptionTotals {
  return { seconds: 0, inputTokens: 0, outputTokens: 0, turns: 0, costUsd: 0 };
}

/**
 * A transcription as the store keeps it, under the transcription model's name: input tokens as input
 * audio, output tokens as output text (a duration-billed one has no tokens, only its cost).
 */
export function transcriptionAsTokenUsage(usage: TranscriptionUsage): TokenUsage {
  return { ...emptyUsage(), inputAudioTokens: usage.inputTokens, outputTextTokens: usage.outputTokens };
}

/** A usage with every count at zero. */
export function emptyUsage(): TokenUsage {
  return { inputTextTokens: 0, inputAudioTokens: 0, cachedTextTokens: 0, cachedAudioTokens: 0, outputTextTokens: 0, outputAudioTokens: 0 };
}

/** Totals with every count at zero. */
export function emptyTotals(): UsageTotals {
  return { ...emptyUsage(), responses: 0, costUsd: 0 };
}

/**
 * Prices of a model: its exact name, else the name of which it is a dated snapshot
 * (`gpt-realtime-2025-08-28` → `gpt-realtime`, but never `gpt-realtime-2`), else null.
 */
export function pricesFor(model: string, prices: PriceTable = DEFAULT_PRICES): ModelPrices | null {
  if (Object.hasOwn(prices, model)) return prices[model] ?? null;
  const snapshot = /^(.+)-\d{4}-\d{2}-\d{2}$/.exec(model);
  return snapshot?.[1] && Object.hasOwn(prices, snapshot[1]) ? (prices[snapshot[1]] ?? null) : null;
}

/** Estimated cost in USD; 0 for a model missing from the table. */
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

/** Adds a usage to totals in place, with its cost. */
export function addUsage(totals: UsageTotals, usage: TokenUsage, costUsd: number): void {
  totals.inputTextTokens += usage.inputTextTokens;
  totals.inputAudioTokens += usage.inputAudioTokens;
  totals.cachedTextTokens += usage.cachedTextTokens;
  totals.cachedAudioTokens += usage.cachedAudioTokens;
  totals.outputTextTokens += usage.outputTextTokens;
  totals.outputAudioTokens += usage.outputAudioTokens;
  totals.responses += 1;
  totals.costUsd += costUsd;
}

/** Totals per caller-chosen key (the bot uses the guild id). Share one ledger between clients. */
export class UsageLedger {
  readonly #totals = new Map<string, UsageTotals>();

  /** Counts one response's usage and its cost (priced once, by the caller) under `key`. */
  add(key: string, usage: TokenUsage, costUsd: number): void {
    addUsage(this.#entry(key), usage, costUsd);
  }

  /** Counts a cost that is not a response's (input transcription) under `key`. */
  addCost(key: string, costUsd: number): void {
    this.#entry(key).costUsd += costUsd;
  }

  /** A copy of the totals of `key` (zeros if nothing was counted). */
  totals(key: string): UsageTotals {
    const totals = this.#totals.get(key);
    return totals ? { ...totals } : emptyTotals();
  }

  /** Keys with counted usage. */
  keys(): string[] {
    return [...this.#totals.keys()];
  }

  #entry(key: string): UsageTotals {
    let totals = this.#totals.get(key);
    if (!totals) this.#totals.set(key, (totals = emptyTotals()));
    return totals;
  }
}

/**
 * One client's usage: over all its server sessions and over the current one, also counted in a ledger
 * shared between clients. This is where a response and a transcription are priced, once each; the
 * cost then travels with the result (`ResponseResult.costUsd`, the `transcription_usage` event).
 */
export class UsageMeter {
  readonly #model: string;
  readonly #prices: PriceTable;
  readonly #transcriptionPrices: TranscriptionPriceTable;
  readonly #ledger: UsageLedger;
  readonly #ledgerKey: string;
  readonly #total = emptyTotals();
  #session = emptyTotals();
  readonly #transcription = emptyTranscriptionTotals();

  constructor(options: { model: string; prices?: PriceTable; transcriptionPrices?: TranscriptionPriceTable; ledger?: UsageLedger; ledgerKey?: string }) {
    this.#model = options.model;
    this.#prices = options.prices ?? DEFAULT_PRICES;
    this.#transcriptionPrices = options.transcriptionPrices ?? DEFAULT_TRANSCRIPTION_PRICES;
    this.#ledger = options.ledger ?? new UsageLedger();
    this.#ledgerKey = options.ledgerKey ?? 'default';
  }

  /** Totals over every session (a copy); `costUsd` includes input transcription. */
  get total(): UsageTotals {
    return { ...this.#total };
  }

  /** Totals of the current session (a copy); `costUsd` includes input transcription. */
  get session(): UsageTotals {
    return { ...this.#session };
  }

  /** Input transcription over every session (a copy). */
  get transcription(): TranscriptionTotals {
    return { ...this.#transcription };
  }

  /** The estimated cost of a response's usage: the one place a response is priced. */
  price(usage: TokenUsage): number {
    return estimateCost(usage, this.#model, this.#prices);
  }

  /** Counts one response's usage with its cost (from {@link price}). */
  addResponse(usage: TokenUsage, costUsd: number): void {
    addUsage(this.#total, usage, costUsd);
    addUsage(this.#session, usage, costUsd);
    this.#ledger.add(this.#ledgerKey, usage, costUsd);
  }

  /** Prices and counts one input transcription by `model`; returns its cost. */
  addTranscription(usage: TranscriptionUsage, model: string): number {
    const costUsd = transcriptionCost(usage, model, this.#transcriptionPrices);
    const t = this.#transcription;
    t.seconds += usage.seconds;
    t.inputTokens += usage.inputTokens;
    t.outputTokens += usage.outputTokens;
    t.turns += 1;
    t.costUsd += costUsd;
    this.#total.costUsd += costUsd;
    this.#session.costUsd += costUsd;
    this.#ledger.addCost(this.#ledgerKey, costUsd);
    return costUsd;
  }

  /** A new server session starts: its totals start at zero. */
  newSession(): void {
    this.#session = emptyTotals();
  }
}
