import type { Dialect } from './types.ts';

/** Connection settings of a known provider. */
export interface ProviderPreset {
  url: string;
  model: string;
  dialect: Dialect;
}

/**
 * Known providers. OpenAI speaks GA only (the beta shape answers `beta_api_shape_disabled`);
 * CometAPI documents the beta header and beta event names (and mixes in GA ones).
 */
export const PROVIDER_PRESETS = {
  openai: { url: 'wss://api.openai.com/v1/realtime?model=gpt-realtime', model: 'gpt-realtime', dialect: 'ga' },
  cometapi: { url: 'wss://api.cometapi.com/v1/realtime?model=gpt-4o-realtime', model: 'gpt-4o-realtime', dialect: 'beta' },
} as const satisfies Record<string, ProviderPreset>;

/** Name of a provider in {@link PROVIDER_PRESETS}. */
export type ProviderName = keyof typeof PROVIDER_PRESETS;

/**
 * The HTTP headers of the handshake: bearer token, the beta header in the beta dialect, then the caller's
 * extra headers (which may override both, e.g. for a proxy).
 */
export function handshakeHeaders(dialect: Dialect, apiKey: string, extra: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = { Authorization: `Bearer ${apiKey}` };
  if (dialect === 'beta') headers['OpenAI-Beta'] = 'realtime=v1';
  return { ...headers, ...extra };
}
