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

/** Running totals: tokens, number of responses counted, and the estimated cost in USD. */
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
  readonly #prices: PriceTable;
  readonly #totals = new Map<string, UsageTotals>();

  constructor(prices: PriceTable = DEFAULT_PRICES) {
    this.#prices = prices;
  }

  /** Counts one response's usage under `key`, priced for `model`. */
  add(key: string, usage: TokenUsage, model: string): void {
    let totals = this.#totals.get(key);
    if (!totals) this.#totals.set(key, (totals = emptyTotals()));
    addUsage(totals, usage, estimateCost(usage, model, this.#prices));
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
}

/**
 * One client's usage: over all its server sessions and over the current one, each response priced
 * once, and also counted in a ledger shared between clients.
 */
export class UsageMeter {
  readonly #model: string;
  readonly #prices: PriceTable;
  readonly #ledger: UsageLedger;
  readonly #ledgerKey: string;
  readonly #total = emptyTotals();
  #session = emptyTotals();

  constructor(options: { model: string; prices?: PriceTable; ledger?: UsageLedger; ledgerKey?: string }) {
    this.#model = options.model;
    this.#prices = options.prices ?? DEFAULT_PRICES;
    this.#ledger = options.ledger ?? new UsageLedger(this.#prices);
    this.#ledgerKey = options.ledgerKey ?? 'default';
  }

  /** Totals over every session (a copy). */
  get total(): UsageTotals {
    return { ...this.#total };
  }

  /** Totals of the current session (a copy). */
  get session(): UsageTotals {
    return { ...this.#session };
  }

  /** Counts one response's usage. */
  add(usage: TokenUsage): void {
    const cost = estimateCost(usage, this.#model, this.#prices);
    addUsage(this.#total, usage, cost);
    addUsage(this.#session, usage, cost);
    this.#ledger.add(this.#ledgerKey, usage, this.#model);
  }

  /** A new server session starts: its totals start at zero. */
  newSession(): void {
    this.#session = emptyTotals();
  }
}
