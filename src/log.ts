import { pino, type Logger } from 'pino';
import { scrubUrlSecrets } from './redact.ts';

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
  'discord.token',
  'realtime.apiKey',
  'config.discord.token',
  'config.realtime.apiKey',
];

/** What replaces a secret in a log line. */
export const REDACTED = '[redacted]';

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level?: string;
  /** Where to write; defaults to stdout. Tests pass a stream to inspect what was logged. */
  destination?: NodeJS.WritableStream;
  name?: string;
  /**
   * Secret values (bot token, API keys, the secret parts of configured URLs: `configSecrets`) to
   * remove from every line whatever field or message they are in: the last line of defence behind
   * the path redaction, for values that reach a message (an error text echoing a key, a library's
   * debug output). URL credentials and secret query parameters are removed from every line anyway.
   */
  secrets?: readonly (string | undefined)[];
}

/**
 * The strings to scrub for a set of secrets: each value, and for a Discord token (`id.time.hmac`)
 * its HMAC part on its own as well (the part that is the secret; discord.js logs the rest censored).
 * Values shorter than 8 characters are ignored (they would scrub ordinary text).
 */
export function secretPatterns(secrets: readonly (string | undefined)[]): string[] {
  const patterns = new Set<string>();
  for (const secret of secrets) {
    if (!secret || secret.length < 8) continue;
    patterns.add(secret);
    const parts = secret.split('.');
    const last = parts.at(-1);
    if (parts.length === 3 && last && last.length >= 16) patterns.add(last);
  }
  // Longest first, so a value containing another is replaced whole.
  return [...patterns].sort((a, b) => b.length - a.length);
}

/**
 * A pino destination that replaces every occurrence of the secrets in each line before writing it,
 * and removes URL secrets whatever URL they are in (`user:password@`, `?api-key=…`, `&token=…`:
 * {@link scrubUrlSecrets}).
 */
export function scrubbingDestination(destination: NodeJS.WritableStream, secrets: readonly (string | undefined)[]): pino.DestinationStream {
  const patterns = secretPatterns(secrets);
  return {
    write(line: string) {
      let out = scrubUrlSecrets(line);
      for (const pattern of patterns) if (out.includes(pattern)) out = out.replaceAll(pattern, REDACTED);
      destination.write(out);
    },
  };
}

/** Creates the root logger: JSON lines, static messages, values in fields, secrets redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  const destination = options.destination ?? process.stdout;
  return pino(
    { level, name: options.name, redact: { paths: REDACTED_PATHS, censor: REDACTED }, base: undefined },
    scrubbingDestination(destination, options.secrets ?? []),
  );
}

/** A logger that discards everything (for library use and tests that do not inspect logs). */
export const silentLogger: Logger = pino({ level: 'silent' });

export type { Logger };
