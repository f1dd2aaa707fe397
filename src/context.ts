import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { BudgetGuard } from './budget/index.ts';
import type { BotStore } from './store/index.ts';
import type { SessionRegistry } from './voice/sessionRegistry.ts';
import type { ToolRuntime } from './tools/runtime.ts';

/** What command handlers and event handlers are given: built once in the composition root. */
export interface BotContext {
  config: Config;
  store: BotStore;
  /** Spend limits (per server, and for the whole deployment). */
  budget: BudgetGuard;
  sessions: SessionRegistry;
  logger: Logger;
  /** Function tools, MCP servers, per-server switches and reminders. */
  tools: ToolRuntime;
}
