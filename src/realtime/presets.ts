/**
 * The one table of realtime model providers and the one builder of the URL the bot dials. The bot's
 * configuration, `npm run talk`, the demo and the docs all take providers from here, and every
 * connection goes through {@link realtimeUrl} (in RealtimeClient), so the model always reaches the URL.
 */
import type { Dialect } from './types.ts';

/** Connection settings of a known provider. */
export interface ProviderPreset {
  /** The endpoint without a model: {@link realtimeUrl} adds `?model=`. */
  url: string;
  /** Model used when none is configured. */
  model: string;
  dialect: Dialect;
  /** Realtime models the provider is known to serve (all priced in `DEFAULT_PRICES`). */
  models: readonly string[];
}

/**
 * Known providers. OpenAI speaks GA only (the beta shape answers `beta_api_shape_disabled`);
 * CometAPI documents the beta header and beta event names (and mixes in GA ones). Both route by the
 * `model` query parameter (see /work/shared/reference/realtime-api.md, "Two dialects").
 */
export const PROVIDER_PRESETS = {
  openai: {
    url: 'wss://api.openai.com/v1/realtime',
    model: 'gpt-realtime',
    dialect: 'ga',
    models: ['gpt-realtime', 'gpt-realtime-mini', 'gpt-realtime-1.5', 'gpt-realtime-2', 'gpt-realtime-2.1', 'gpt-realtime-2.1-mini'],
  },
  cometapi: { url: 'wss://api.cometapi.com/v1/realtime', model: 'gpt-4o-realtime', dialect: 'beta', models: ['gpt-4o-realtime'] },
} as const satisfies Record<string, ProviderPreset>;

/** Name of a provider in {@link PROVIDER_PRESETS}. */
export type ProviderName = keyof typeof PROVIDER_PRESETS;

/** Whether `name` is a provider of {@link PROVIDER_PRESETS}. */
export function isProviderName(name: string): name is ProviderName {
  return Object.hasOwn(PROVIDER_PRESETS, name);
}

/**
 * The `model` query parameter of a URL: its (decoded) value, `''` when present but empty, or null
 * when absent or when the URL does not parse.
 */
export function modelInUrl(url: string): string | null {
  try {
    return new URL(url).searchParams.get('model');
  } catch {
    return null;
  }
}

/**
 * The URL to dial for `model`: `url` itself when it already has a `model` parameter (whatever its
 * value: the configuration checks conflicts), else `url` with `model=NAME` appended to its query
 * (`?` or `&`), the name percent-encoded, everything else of the URL kept byte for byte.
 */
export function realtimeUrl(url: string, model: string): string {
  if (modelInUrl(url) !== null) return url;
  const hashAt = url.indexOf('#');
  const head = hashAt < 0 ? url : url.slice(0, hashAt);
  const fragment = hashAt < 0 ? '' : url.slice(hashAt);
  const separator = !head.includes('?') ? '?' : head.endsWith('?') || head.endsWith('&') ? '' : '&';
  return `${head}${separator}model=${encodeURIComponent(model)}${fragment}`;
}

/** The URL the bot dials for a preset (with its default model unless another is given). */
export function presetUrl(name: ProviderName, model: string = PROVIDER_PRESETS[name].model): string {
  return realtimeUrl(PROVIDER_PRESETS[name].url, model);
}

/**
 * The HTTP headers of the handshake: bearer token, the beta header in the beta dialect, then the caller's
 * extra headers (which may override both, e.g. for a proxy).
 */
export function handshakeHeaders(dialect: Dialect, apiKey: string, extra: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = { Authorization: `Bearer ${apiKey}` };
  if (dialect === 'beta') headers['OpenAI-Beta'] = 'realtime=v1';
  return { ...headers, ...extra };
}
