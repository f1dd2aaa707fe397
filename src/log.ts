import { pino, type Logger } from 'pino';

/**
 * Paths that hold secrets wherever they appear in a log object. pino replaces them before
 * serialising, so a token passed by mistake in a field never reaches the output.
 */
export const REDACTED_PATHS = [
  'token',
  'apiKey',
  'key',
  'authorization',
  'Authorization',
  'headers.authorization',
  'headers.Authorization',
  '*.token',
  '*.apiKey',
  '*.authorization',
  '*.Authorization',
  'config.discordToken',
  'config.realtimeApiKey',
];

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level?: string;
  /** Where to write; defaults to stdout. Tests pass a stream to inspect what was logged. */
  destination?: NodeJS.WritableStream;
  name?: string;
}

/** Creates the root logger: JSON lines, static messages, values in fields, secrets redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  return pino(
    { level, name: options.name, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: undefined },
    (options.destination ?? process.stdout) as pino.DestinationStream,
  );
}

/** A logger that discards everything (for library use and tests that do not inspect logs). */
export const silentLogger: Logger = pino({ level: 'silent' });

export type { Logger };
