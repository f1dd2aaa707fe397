/**
 * Token usage and what it cost: totals per client and per key. `response.done` reports tokens split
 * into text and audio, cached input tokens a subset of input tokens; the prices are in prices.ts.
 */
import { canPriceTranscription, DEFAULT_PRICES, DEFAULT_TRANSCRIPTION_PRICES, estimateCost, pricesFor, transcriptionCost, type PriceTable, type TranscriptionPriceTable } from './prices.ts';

export * from './prices.ts';

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
  readonly #onUnpriced: (model: string, what: UnpricedUsage) => void;
  /** Models already reported as unpriced (once each). */
  readonly #reported = new Set<string>();

  constructor(options: {
    model: string;
    prices?: PriceTable;
    transcriptionPrices?: TranscriptionPriceTable;
    ledger?: UsageLedger;
    ledgerKey?: string;
    /**
     * Usage the tables cannot price arrived (an unknown model, or a transcription billed in a way its
     * model has no price for): it is counted at $0, so budgets and /usage miss it. Called once per model.
     */
    onUnpriced?: (model: string, what: UnpricedUsage) => void;
  }) {
    this.#model = options.model;
    this.#onUnpriced = options.onUnpriced ?? (() => {});
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
    const tokens = usage.inputTextTokens + usage.inputAudioTokens + usage.outputTextTokens + usage.outputAudioTokens;
    if (tokens > 0 && pricesFor(this.#model, this.#prices) === null) this.#unpriced(this.#model, 'responses');
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
    if (!canPriceTranscription(usage, model, this.#transcriptionPrices)) this.#unpriced(model, 'transcription');
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

  #unpriced(model: string, what: UnpricedUsage): void {
    if (this.#reported.has(`${what}:${model}`)) return;
    this.#reported.add(`${what}:${model}`);
    this.#onUnpriced(model, what);
  }
}

/** What could not be priced: a response of the realtime model, or an input transcription. */
export type UnpricedUsage = 'responses' | 'transcription';
