/**
 * The realtime model of a guild: the bot's configured model unless the guild's admins chose another of
 * the provider's models with /model (applied from the guild's next model session, priced as itself).
 */
import type { Config } from '../config.ts';
import { isProviderName, modelInUrl, pricesFor, PROVIDER_PRESETS, realtimeUrl, transcriptionPricesFor } from '../realtime/index.ts';

/**
 * Models a guild may choose, the configured one first: REALTIME_MODELS when the operator set it, else
 * the provider's preset models. A custom endpoint without REALTIME_MODELS offers only its configured
 * model (nobody but its operator knows what else it serves).
 */
export function modelChoices(config: Config): readonly string[] {
  const provider = config.realtime.provider;
  const offered = config.realtime.models ?? (isProviderName(provider) ? PROVIDER_PRESETS[provider].models : []);
  return [...new Set([config.realtime.model, ...offered])];
}

/** The model a guild's conversation uses: its choice while the provider still offers it, else the configured one. */
export function guildModel(config: Config, chosen: string | null): string {
  return chosen !== null && modelChoices(config).includes(chosen) ? chosen : config.realtime.model;
}

/**
 * The configured models the price tables do not know (src/realtime/prices.ts): the realtime models a
 * guild may use, and the input transcription model. Their usage would be counted at $0.
 */
export function unpricedModels(config: Config): { realtime: string[]; transcription: string | null } {
  return {
    realtime: modelChoices(config).filter((model) => pricesFor(model) === null),
    transcription: transcriptionPricesFor(config.transcriptionModel) === null ? config.transcriptionModel : null,
  };
}

/**
 * The configured URL with `model` in place of the configured model: the `model` query parameter is
 * removed and the one URL builder (`realtimeUrl`) adds the new one; the rest of the URL is kept as is.
 */
export function urlForModel(url: string, model: string): string {
  if (modelInUrl(url) === model) return url;
  const hashAt = url.indexOf('#');
  const head = hashAt < 0 ? url : url.slice(0, hashAt);
  const fragment = hashAt < 0 ? '' : url.slice(hashAt);
  const queryAt = head.indexOf('?');
  if (queryAt < 0) return realtimeUrl(url, model);
  const kept = head
    .slice(queryAt + 1)
    .split('&')
    .filter((pair) => pair !== '' && paramName(pair) !== 'model');
  const base = `${head.slice(0, queryAt)}${kept.length > 0 ? `?${kept.join('&')}` : ''}${fragment}`;
  return realtimeUrl(base, model);
}

function paramName(pair: string): string {
  const name = pair.split('=')[0]!.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(name);
  } catch {
    return name; // a malformed escape is not "model"
  }
}
