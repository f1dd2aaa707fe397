/** Options of the realtime client, with the defaults documented where they apply. */
import type { Logger } from 'pino';
import type { ReconnectOptions } from './backoff.ts';
import type { ConnectionOptions } from './connection.ts';
import type { Dialect, SessionConfig } from './types.ts';
import type { PriceTable, UsageLedger } from './usage.ts';

/** Options of {@link RealtimeClient}. */
export interface RealtimeClientOptions {
  /** The service's URL; `?model=` is added (by `realtimeUrl`) when it has no `model` parameter. */
  url: string;
  /** The model: put in the URL when it names none, and used for prices (a model in the URL wins). */
  model: string;
  dialect: Dialect;
  apiKey: string;
  /** Extra handshake headers (override the defaults). */
  headers?: Record<string, string>;
  session: SessionConfig;
  logger: Logger;
  reconnect?: ReconnectOptions;
  /** Rotate to a fresh server session after this long (default 55 min, for the 60-minute limit). 0 disables. */
  rotateAfterMs?: number;
  /** How long a due rotation may wait for a user turn in progress to end (default 4 min). */
  rotateGraceMs?: number;
  /** Token budget of the history re-seeded into a new session (default 6000). */
  historyTokenBudget?: number;
  prices?: PriceTable;
  /** Key for per-key totals in the ledger (the bot uses the guild id; default "default"). */
  usageKey?: string;
  /** Ledger shared between clients to total usage per key. */
  usageLedger?: UsageLedger;
  /**
   * How the TCP or TLS connection under the WebSocket is made (ws's `createConnection`); by default a
   * normal connection to the URL's host. Tests use it to route a real host name to a local server.
   */
  createConnection?: ConnectionOptions['createConnection'];
  /** Limit for the TCP + HTTP upgrade (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Limit for the session configuration to be confirmed (default 10 s). */
  sessionTimeoutMs?: number;
  /** Input audio kept while there is no usable session (reconnecting, rotating), newest kept (default 5 s). */
  maxBufferedAudioMs?: number;
  /** A response (or request) with no event about it for this long is given up as failed (default 20 s). */
  responseStallMs?: number;
}
