/**
 * Secrets that travel inside URLs: `user:password@` credentials and query-string parameters such as
 * `?api-key=…` or `&token=…`. A URL is configuration, so it ends up in error messages and log lines;
 * these helpers take the secrets out before any text leaves the process (a user-facing message or a
 * log line), and validate the URLs the configuration gives.
 */

/** What replaces a removed secret. */
export const REDACTED_MARK = '[redacted]';

/**
 * Query-string keys whose values are secrets, compared without case, `-` or `_`: API keys, tokens,
 * signatures (Azure SAS `sig`, AWS `X-Amz-Signature`/`Credential`), passwords, OAuth codes.
 */
const SECRET_QUERY_KEYS = new Set([
  'apikey', 'key', 'token', 'accesstoken', 'refreshtoken', 'idtoken', 'authtoken', 'auth', 'authorization',
  'bearer', 'secret', 'clientsecret', 'password', 'passwd', 'pwd', 'pass', 'sig', 'signature', 'code',
  'session', 'sessionid', 'sessiontoken', 'xamzsignature', 'xamzcredential', 'xamzsecuritytoken', 'credential',
  'jwt', 'ticket', 'hmac',
]);

/** Whether a query-string key names a secret (`api-key`, `API_KEY`, `access_token`, `sig`, …). */
export function isSecretQueryKey(key: string): boolean {
  const squashed = key.toLowerCase().replace(/[-_.\s]/g, '');
  return SECRET_QUERY_KEYS.has(squashed) || /(?:apikey|token|secret|password|signature)$/.test(squashed);
}

/** Anything that looks like an absolute URL in free text (`scheme://…` up to whitespace or a quote). */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'`<>]+/gi;

/**
 * A URL for a message shown to people or logged: scheme, host, port and path only. Credentials and
 * the whole query are removed (`?…` marks that there was one), as is a fragment. Text that does not
 * parse as a URL is reduced to what precedes any `@`, `?` or `#` after the scheme, so a malformed URL
 * cannot smuggle its secrets through either.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.host === '') throw new Error('no authority: not a URL to keep');
    const query = parsed.search.length > 1 ? '?…' : '';
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}${query}`;
  } catch {
    const scheme = /^([a-z][a-z0-9+.-]*:\/\/)?(.*)$/is.exec(url)!;
    const rest = scheme[2]!;
    const withoutCredentials = rest.includes('@') ? rest.slice(rest.lastIndexOf('@') + 1) : rest;
    const cut = withoutCredentials.search(/[?#]/);
    const kept = cut < 0 ? withoutCredentials : `${withoutCredentials.slice(0, cut)}${withoutCredentials[cut] === '?' ? '?…' : ''}`;
    return `${scheme[1] ?? ''}${kept}`;
  }
}

/** `text` with every URL in it passed through {@link redactUrl} (for error messages shown or logged). */
export function redactUrlsIn(text: string): string {
  return text.replace(URL_IN_TEXT, (match) => {
    // Punctuation ending a sentence is not part of the URL.
    const trailing = /[.,;:!?)\]]+$/.exec(match)?.[0] ?? '';
    return `${redactUrl(match.slice(0, match.length - trailing.length))}${trailing}`;
  });
}

/**
 * The secret parts of a URL, to scrub from logs wherever they appear: the password (or a user name
 * standing alone, a token in that place), and the values of secret query parameters ({@link isSecretQueryKey}). Values shorter than 4
 * characters are left out (they would scrub ordinary text). Empty for text that is not a URL.
 */
export function urlSecrets(url: string | undefined): string[] {
  if (!url) return [];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const secrets = new Set<string>();
  // A user name is a secret only when it stands alone (`https://TOKEN@host`); beside a password it is
  // an account name, scrubbing which would blank ordinary words such as "postgres" from every line.
  for (const part of parsed.password ? [parsed.password] : [parsed.username]) {
    if (!part) continue;
    secrets.add(part);
    secrets.add(safeDecode(part));
  }
  for (const [key, value] of parsed.searchParams) {
    if (!isSecretQueryKey(key) || !value) continue;
    secrets.add(value);
    secrets.add(encodeURIComponent(value));
  }
  return [...secrets].filter((secret) => secret.length >= 4);
}

/**
 * Removes URL secrets from any text, whatever produced it (a library's message, an error echoing a
 * URL): `scheme://user:password@` credentials become `scheme://[redacted]@`, and the value of every
 * secret query parameter becomes `[redacted]`. Other parameters (`v=10`, `model=…`) are kept.
 */
export function scrubUrlSecrets(text: string): string {
  if (!text.includes('://') && !text.includes('=')) return text;
  let out = text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@"'`<>]+@/gi, `$1${REDACTED_MARK}@`);
  out = out.replace(/([?&;]|\\u0026)([^=&\s"'`<>?#]{1,64})=([^&\s"'`<>#]*)/g, (match, separator: string, key: string, value: string) =>
    isSecretQueryKey(safeDecode(key)) && value.length > 0 && value !== REDACTED_MARK ? `${separator}${key}=${REDACTED_MARK}` : match,
  );
  return out;
}

/**
 * Validates a service URL given in the configuration: it must parse (`new URL`), use one of
 * `schemes`, have a host, no fragment and, when `credentials` is false, no user name or password.
 * Returns one sentence per problem; the URL is quoted only through {@link redactUrl}.
 */
export function checkServiceUrl(name: string, value: string, options: { schemes: readonly string[]; credentials?: boolean; hint?: string }): string[] {
  const shown = redactUrl(value);
  const schemes = options.schemes.map((scheme) => `${scheme}//`).join(' or ');
  let parsed: URL;
  try {
    if (/\s/.test(value)) throw new Error('whitespace');
    parsed = new URL(value);
  } catch {
    return [`${name} must be a ${schemes} URL (got "${shown}", which is not a valid URL)`];
  }
  const problems: string[] = [];
  if (!options.schemes.includes(parsed.protocol)) problems.push(`${name} must be a ${schemes} URL (got "${shown}")`);
  if (parsed.hostname === '') problems.push(`${name} has no host name (got "${shown}")`);
  if (parsed.port === '0') problems.push(`${name} has port 0, which cannot be dialled (got "${shown}")`);
  if (parsed.hash !== '' || value.includes('#')) problems.push(`${name} must not have a #fragment (got "${shown}")`);
  if (!options.credentials && (parsed.username !== '' || parsed.password !== '')) {
    problems.push(`${name} must not contain a user name or password (got "${shown}")${options.hint ? `: ${options.hint}` : ''}`);
  }
  return problems;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

