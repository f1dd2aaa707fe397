/** The vocabulary of a guild's conversation (see guildConversation.ts): its states, errors, options and events. */
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { NoiseReductionType, RealtimeClientOptions } from '../realtime/index.ts';
import type { BudgetGuard } from '../budget/index.ts';
import type { BotStore, GuildSettings } from '../store/index.ts';
import type { ToolRuntime } from '../tools/runtime.ts';

/**
 * Where a guild's conversation with the model stands: `connecting` → `ready` ⇄ `reconnecting`, then
 * `failed` (the model connection ended for good: a revoked key, the service down beyond retries) or
 * `closed` (closed on purpose; also a conversation that never started). Both are final.
 */
export type ConversationState = 'connecting' | 'ready' | 'reconnecting' | 'failed' | 'closed';

/** A request on a conversation that failed or was closed: settles at once with this error. */
export class ConversationUnavailableError extends Error {
  override name = 'ConversationUnavailableError';
}

/** Options of {@link GuildConversation}. */
export interface GuildConversationOptions {
  guildId: string;
  config: Config;
  store: BotStore;
  /** The guild's saved settings, read by whoever creates the conversation. */
  settings: GuildSettings;
  /** Spend limits: checked before responses start, told about each response's cost (absent: none). */
  budget?: BudgetGuard | undefined;
  logger: Logger;
  /** Voice conversations take audio and answer by voice; text-only ones answer mentions. */
  mode: 'voice' | 'text';
  /** The guild's input noise reduction (/settings), voice only; null or absent = off. */
  noiseReduction?: NoiseReductionType | null;
  /** The bot's tools: the conversation's session offers them and its calls run here. */
  tools?: ToolRuntime;
  /** How the model connection's TCP/TLS socket is made (default: to the URL's host; tests reroute it). */
  createConnection?: RealtimeClientOptions['createConnection'];
}

/** Events of a {@link GuildConversation}. */
export interface GuildConversationEvents {
  stateChange: [previous: ConversationState, next: ConversationState];
  /** The conversation failed for good (emitted once), with the reason shown to people. */
  failed: [reason: string];
}
