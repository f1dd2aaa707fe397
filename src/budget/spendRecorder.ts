import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { TokenUsage } from '../realtime/usage.ts';
import type { BotStore } from '../store/index.ts';
import type { BudgetGuard } from './budgetGuard.ts';

/** Waits before the 2nd, 3rd and 4th attempt to save a response's usage. */
const RETRY_DELAYS_MS = [500, 2_000, 5_000];

/** Options of {@link SpendRecorder}. */
export interface SpendRecorderOptions {
  store: BotStore;
  /** Told after each saved response, to re-check the limits (absent: no budgets). */
  budget?: BudgetGuard | undefined;
  logger: Logger;
  /** Retry delays (tests shorten them). */
  retryDelaysMs?: readonly number[];
}

/**
 * Saves each response's usage and cost (computed once, by the caller) in the store, then lets the
 * budget see the new spend. A database that is briefly unreachable (restart, failover) does not lose
 * the usage: the write is retried a few times over ~8 s; only then is it given up, logged with its
 * amounts. Never throws.
 */
export class SpendRecorder {
  readonly #options: SpendRecorderOptions;

  constructor(options: SpendRecorderOptions) {
    this.#options = options;
  }

  /** Records one response's usage (or a transcription's: `responses` 0); resolves when saved and checked (or given up). */
  async record(guildId: string, model: string, usage: TokenUsage, costUsd: number, options: { responses?: number; at?: Date } = {}): Promise<void> {
    const at = options.at ?? new Date(); // the moment it was spent, also when saved on a retry
    const { store, budget, logger } = this.#options;
    const delays = this.#options.retryDelaysMs ?? RETRY_DELAYS_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await store.addUsage(guildId, model, usage, costUsd, { responses: options.responses, at });
        break;
      } catch (error) {
        const err = error instanceof Error ? error.message : String(error);
        if (attempt >= delays.length) {
          logger.error({ guildId, model, costUsd, usage, err }, 'could not save usage; giving up');
          return;
        }
        logger.warn({ guildId, attempt: attempt + 1, err }, 'could not save usage; retrying');
        await sleep(delays[attempt]!);
      }
    }
    if (!budget) return;
    try {
      await budget.afterSpend(guildId);
    } catch (error) {
      logger.warn({ guildId, err: error instanceof Error ? error.message : String(error) }, 'could not check the budget after a response');
    }
  }
}
