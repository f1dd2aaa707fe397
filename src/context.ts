import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { BotStore } from './store/index.ts';
import type { SessionRegistry } from './voice/sessionRegistry.ts';

/** What command handlers and event handlers are given: built once in the composition root. */
export interface BotContext {
  config: Config;
  store: BotStore;
  sessions: SessionRegistry;
  logger: Logger;
}
