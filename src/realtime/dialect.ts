/**
 * Translation between the normalized model and each wire dialect (see the table in
 * /work/shared/reference/realtime-api.md). Outgoing events take the configured dialect's shape;
 * incoming event names of both dialects map to one canonical (GA) name, because CometAPI mixes them.
 */
import type { ConversationInput, CreateResponseOptions, Dialect, Modality, SessionConfig, TurnDetection } from './types.ts';

/** A client event as sent on the wire. */
export type WireEvent = { type: string; event_id?: string } & Record<string, unknown>;

/** Beta (and legacy) server event names → canonical GA names. Names not listed are already canonical. */
export const SERVER_EVENT_ALIASES: Readonly<Record<string, string>> = {
  'response.audio.delta': 'response.output_audio.delta',
  'response.audio.done': 'response.output_audio.done',
  'response.audio_transcript.delta': 'response.output_audio_transcript.delta',
  'response.audio_transcript.done': 'response.output_audio_transcript.done',
  'response.text.delta': 'response.output_text.delta',
  'response.text.done': 'response.output_text.done',
  'conversation.item.created': 'conversation.item.added',
};

/** Canonical name of a server event type, whichever dialect named it. */
export function canonicalEventType(type: string): string {
  return SERVER_EVENT_ALIASES[type] ?? type;
}

function turnDetectionToWire(td: TurnDetection): Record<string, unknown> | null {
  switch (td.type) {
    case 'manual':
      return null;
    case 'server_vad':
      return compact({
        type: 'server_vad',
        threshold: td.threshold,
        prefix_padding_ms: td.prefixPaddingMs,
        silence_duration_ms: td.silenceDurationMs,
        create_response: td.createResponse,
        interrupt_response: td.interruptResponse,
        idle_timeout_ms: td.idleTimeoutMs,
      });
    case 'semantic_vad':
      return compact({
        type: 'semantic_vad',
        eagerness: td.eagerness,
        create_response: td.createResponse,
        interrupt_response: td.interruptResponse,
      });
  }
}

/** GA output modalities: exactly one of audio (which includes a transcript) or text. */
export function gaModalities(modalities: readonly Modality[]): ['audio'] | ['text'] {
  return modalities.includes('audio') ? ['audio'] : ['text'];
}

/** Beta modalities: audio responses must also list text. */
export function betaModalities(modalities: readonly Modality[]): ('text' | 'audio')[] {
  return modalities.includes('audio') ? ['text', 'audio'] : ['text'];
}

/**
 * The `session` object of a `session.update` for a (partial) configuration. Only the given fields are
 * included, so a live instruction change does not resend the voice (which servers refuse to change
 * once audio has been produced).
 */
export function sessionToWire(config: Partial<SessionConfig>, dialect: Dialect): Record<string, unknown> {
  const transcription =
    config.inputTranscription === undefined
      ? undefined
      : config.inputTranscription === null
        ? null
        : compact({ model: config.inputTranscription.model, language: config.inputTranscription.language });
  const turnDetection = config.turnDetection === undefined ? undefined : turnDetectionToWire(config.turnDetection);
  if (dialect === 'beta') {
    return compact({
      instructions: config.instructions,
      voice: config.voice,
      modalities: config.outputModalities && betaModalities(config.outputModalities),
      input_audio_format: config.turnDetection !== undefined || config.voice !== undefined ? 'pcm16' : undefined,
      output_audio_format: config.voice !== undefined ? 'pcm16' : undefined,
      input_audio_transcription: transcription,
      turn_detection: turnDetection,
      max_response_output_tokens: config.maxOutputTokens,
    });
  }
  const input = compact({
    format: config.turnDetection !== undefined ? { type: 'audio/pcm', rate: 24000 } : undefined,
    // GA has no null transcription: disabling is expressed by leaving it out of a full configuration.
    transcription: transcription ?? undefined,
    turn_detection: turnDetection,
  });
  const output = compact({
    format: config.voice !== undefined ? { type: 'audio/pcm', rate: 24000 } : undefined,
    voice: config.voice,
  });
  const audio = compact({
    input: Object.keys(input).length > 0 ? input : undefined,
    output: Object.keys(output).length > 0 ? output : undefined,
  });
  return compact({
    type: 'realtime',
    instructions: config.instructions,
    output_modalities: config.outputModalities && gaModalities(config.outputModalities),
    audio: Object.keys(audio).length > 0 ? audio : undefined,
    max_output_tokens: config.maxOutputTokens,
  });
}

/** A message item with text content, in the dialect's content types. */
export function messageItem(role: 'user' | 'assistant' | 'system', text: string, dialect: Dialect): Record<string, unknown> {
  const contentType = role === 'assistant' ? (dialect === 'ga' ? 'output_text' : 'text') : 'input_text';
  return { type: 'message', role, content: [{ type: contentType, text }] };
}

/** The `response` object of a `response.create`. */
export function responseToWire(
  options: CreateResponseOptions & { input?: ConversationInput[]; outOfBand?: boolean },
  dialect: Dialect,
): Record<string, unknown> {
  const modalities =
    options.modalities === undefined
      ? undefined
      : dialect === 'ga'
        ? gaModalities(options.modalities)
        : betaModalities(options.modalities);
  const input = options.input?.map((entry) =>
    'itemId' in entry ? { type: 'item_reference', id: entry.itemId } : messageItem(entry.role, entry.text, dialect),
  );
  return compact({
    conversation: options.outOfBand ? 'none' : undefined,
    input,
    instructions: options.instructions,
    metadata: options.metadata,
    [dialect === 'ga' ? 'output_modalities' : 'modalities']: modalities,
  });
}

/** Copy without the keys whose value is `undefined` (`null` is kept: it means "disable"). */
export function compact<T extends Record<string, unknown>>(object: T): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) if (value !== undefined) out[key] = value;
  return out;
}
