/** Which realtime endpoint the configuration dials: provider preset, URL, model and dialect. */
import type { Config } from './config.ts';
import { isProviderName, modelInUrl, PROVIDER_PRESETS, realtimeUrl } from './realtime/presets.ts';
import { checkServiceUrl } from './redact.ts';

/** The variables the endpoint is made of (as validated by the configuration's schema). */
export interface EndpointEnv {
  REALTIME_PROVIDER?: string | undefined;
  REALTIME_URL?: string | undefined;
  REALTIME_MODEL?: string | undefined;
  REALTIME_DIALECT?: string | undefined;
}

/**
 * Provider, URL, model and dialect: the preset of REALTIME_PROVIDER (default openai, or custom when
 * only REALTIME_URL is set) with the REALTIME_* overrides, and the URL with the model in it (built by
 * the one URL builder, `realtimeUrl`). Problems are appended; returns undefined if there are any.
 */
export function resolveEndpoint(e: EndpointEnv, problems: string[]): Pick<Config['realtime'], 'provider' | 'url' | 'dialect' | 'model'> | undefined {
  const provider = (e.REALTIME_PROVIDER ?? (e.REALTIME_URL ? 'custom' : 'openai')).toLowerCase();
  const preset = isProviderName(provider) ? PROVIDER_PRESETS[provider] : undefined;
  const before = problems.length;
  if (!preset && provider !== 'custom') {
    problems.push(`REALTIME_PROVIDER must be ${[...Object.keys(PROVIDER_PRESETS), 'custom'].join(', ').replace(/, (\w+)$/, ' or $1')} (got "${e.REALTIME_PROVIDER}")`);
  }
  const base = e.REALTIME_URL ?? preset?.url;
  if (provider === 'custom' && !base) problems.push('REALTIME_PROVIDER=custom needs REALTIME_URL (a ws:// or wss:// URL)');
  // Parsed and checked once here (scheme, host, port, no fragment, no credentials: `ws` would send
  // them as Basic auth in place of the key); every message quotes the URL without its secrets.
  if (base !== undefined) problems.push(...checkServiceUrl('REALTIME_URL', base, { schemes: ['ws:', 'wss:'], hint: 'put the key in REALTIME_API_KEY' }));
  const urlModel = base === undefined ? null : modelInUrl(base);
  if (urlModel === '') problems.push('REALTIME_URL has an empty model= parameter: put the model name there or remove it and set REALTIME_MODEL');
  if (urlModel && e.REALTIME_MODEL !== undefined && e.REALTIME_MODEL !== urlModel) {
    problems.push(`REALTIME_URL names the model "${urlModel}" but REALTIME_MODEL is "${e.REALTIME_MODEL}": set only one of them`);
  }
  const dialect = (e.REALTIME_DIALECT ?? preset?.dialect ?? 'ga').toLowerCase();
  if (dialect !== 'ga' && dialect !== 'beta') {
    problems.push(`REALTIME_DIALECT must be "ga" (OpenAI) or "beta" (OpenAI-Beta: realtime=v1, e.g. CometAPI) (got "${e.REALTIME_DIALECT}")`);
  }
  if (problems.length > before || base === undefined) return undefined;
  const model = urlModel || e.REALTIME_MODEL || preset?.model || 'gpt-realtime';
  return { provider, url: realtimeUrl(base, model), dialect: dialect as 'ga' | 'beta', model };
}
