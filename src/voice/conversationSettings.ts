/** The session configuration a guild's conversation runs with, from the bot's config and the guild's saved settings. */
import type { Config } from '../config.ts';
import type { SessionConfig, TurnDetection } from '../realtime/index.ts';
import type { GuildSettings, StoredTurnDetection } from '../store/index.ts';


/** The turn detection the bot runs with: the server finds turns, the bot decides when to answer. */
export function toTurnDetection(stored: StoredTurnDetection | null): TurnDetection {
  const chosen = stored ?? { type: 'server_vad' as const };
  if (chosen.type === 'manual') return { type: 'manual' };
  if (chosen.type === 'semantic_vad') {
    return { type: 'semantic_vad', eagerness: chosen.eagerness ?? 'auto', createResponse: false, interruptResponse: false };
  }
  return {
    type: 'server_vad',
    threshold: chosen.threshold ?? 0.5,
    prefixPaddingMs: chosen.prefixPaddingMs ?? 300,
    silenceDurationMs: chosen.silenceDurationMs ?? 500,
    createResponse: false,
    interruptResponse: false,
  };
}

/**
 * The session of a voice conversation (audio out, transcribed input, server turn detection) or of a
 * text-only one (text out, no turn detection), with the guild's instructions and voice.
 */
export function sessionConfigFor(config: Config, settings: GuildSettings, mode: 'voice' | 'text'): SessionConfig {
  return {
    instructions: settings.instructions ?? config.defaultInstructions,
    voice: settings.voice ?? config.realtime.voice,
    outputModalities: mode === 'voice' ? ['audio'] : ['text'],
    inputTranscription: mode === 'voice' ? { model: config.transcriptionModel } : null,
    turnDetection: mode === 'voice' ? toTurnDetection(settings.turnDetection) : { type: 'manual' },
  };
}
