/**
 * The simulated session configuration: defaults, validation of `session.update` in each dialect
 * (GA refuses beta-only fields as unknown parameters, as OpenAI does; the beta endpoint accepts both
 * shapes, as CometAPI does), and its wire representation in `session.created` / `session.updated`.
 */
import { parseSessionTools, parseToolChoice, toolsToWire, type SimTool } from './tools.ts';
import { expect, GA_ONLY_VOICES, isObject, onlyKeys, SimRequestError, simErrors, VOICES, type SimDialect } from './wire.ts';

/** Turn detection as the simulator applies it. */
export interface SimTurnDetection {
  type: 'server_vad' | 'semantic_vad';
  threshold: number;
  prefixPaddingMs: number;
  silenceDurationMs: number;
  createResponse: boolean;
  interruptResponse: boolean;
  eagerness?: string;
}

/** The session configuration. */
export interface SimConfig {
  instructions: string;
  voice: string;
  modalities: ('audio' | 'text')[];
  transcription: { model: string; language?: string } | null;
  turnDetection: SimTurnDetection | null;
  /** Input noise reduction, or null (off, the service's default). */
  noiseReduction: 'near_field' | 'far_field' | null;
  maxOutputTokens: number | 'inf';
  tools: SimTool[];
}

/** The service's defaults: server VAD that answers and interrupts on its own. */
export function defaultConfig(dialect: SimDialect): SimConfig {
  return {
    instructions: '',
    voice: dialect === 'ga' ? 'marin' : 'alloy',
    modalities: dialect === 'ga' ? ['audio'] : ['text', 'audio'],
    transcription: null,
    turnDetection: { type: 'server_vad', threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500, createResponse: true, interruptResponse: true },
    noiseReduction: null,
    maxOutputTokens: 'inf',
    tools: [],
  };
}

const GA_KEYS = ['type', 'model', 'instructions', 'output_modalities', 'audio', 'max_output_tokens', 'tools', 'tool_choice', 'tracing', 'truncation', 'include', 'prompt', 'reasoning'];
const BETA_KEYS = ['modalities', 'instructions', 'voice', 'input_audio_format', 'output_audio_format', 'input_audio_transcription', 'turn_detection', 'tools', 'tool_choice', 'temperature', 'max_response_output_tokens', 'input_audio_noise_reduction', 'speed', 'tracing', 'model', 'include'];
const EAGERNESS_SILENCE: Record<string, number> = { low: 1500, medium: 800, auto: 800, high: 300 };

/** Applies a `session.update` body to a configuration; throws {@link SimRequestError} on a bad field. */
export function applySessionUpdate(current: SimConfig, session: unknown, dialect: SimDialect): SimConfig {
  if (!isObject(session)) throw new SimRequestError(simErrors.missingParameter('session'));
  const next: SimConfig = { ...current };
  if (dialect === 'ga') {
    onlyKeys(session, GA_KEYS, 'session');
    if (session.type === undefined) throw new SimRequestError(simErrors.missingParameter('session.type'));
  } else {
    onlyKeys(session, [...new Set([...BETA_KEYS, ...GA_KEYS])], 'session');
  }
  if (session.type !== undefined && session.type !== 'realtime') {
    throw new SimRequestError(simErrors.invalidValue('session.type', "expected 'realtime'"));
  }
  if (session.instructions !== undefined) {
    expect(typeof session.instructions === 'string', 'session.instructions', 'a string');
    next.instructions = session.instructions;
  }
  const modalities = session.output_modalities ?? session.modalities;
  if (modalities !== undefined) next.modalities = parseModalities(modalities, session.output_modalities !== undefined ? 'session.output_modalities' : 'session.modalities', dialect);
  const max = session.max_output_tokens ?? session.max_response_output_tokens;
  if (max !== undefined) next.maxOutputTokens = parseMaxTokens(max, 'session.max_output_tokens');
  if (session.voice !== undefined) next.voice = parseVoice(session.voice, 'session.voice', dialect);
  if (session.tools !== undefined) next.tools = parseSessionTools(session.tools, dialect, 'session.tools');
  if (session.tool_choice !== undefined) parseToolChoice(session.tool_choice, 'session.tool_choice');
  if (session.turn_detection !== undefined) next.turnDetection = parseTurnDetection(session.turn_detection, 'session.turn_detection');
  if (session.input_audio_transcription !== undefined) next.transcription = parseTranscription(session.input_audio_transcription, 'session.input_audio_transcription');
  if (session.input_audio_noise_reduction !== undefined) next.noiseReduction = parseNoiseReduction(session.input_audio_noise_reduction, 'session.input_audio_noise_reduction');
  if (session.input_audio_format !== undefined) expect(session.input_audio_format === 'pcm16', 'session.input_audio_format', "'pcm16'");
  if (session.audio !== undefined) {
    expect(isObject(session.audio), 'session.audio', 'an object');
    onlyKeys(session.audio, ['input', 'output'], 'session.audio');
    const { input, output } = session.audio;
    if (input !== undefined) {
      expect(isObject(input), 'session.audio.input', 'an object');
      onlyKeys(input, ['format', 'noise_reduction', 'transcription', 'turn_detection'], 'session.audio.input');
      checkFormat(input.format, 'session.audio.input.format');
      if (input.turn_detection !== undefined) next.turnDetection = parseTurnDetection(input.turn_detection, 'session.audio.input.turn_detection');
      if (input.transcription !== undefined) next.transcription = parseTranscription(input.transcription, 'session.audio.input.transcription');
      if (input.noise_reduction !== undefined) next.noiseReduction = parseNoiseReduction(input.noise_reduction, 'session.audio.input.noise_reduction');
    }
    if (output !== undefined) {
      expect(isObject(output), 'session.audio.output', 'an object');
      onlyKeys(output, ['format', 'voice', 'speed'], 'session.audio.output');
      checkFormat(output.format, 'session.audio.output.format');
      if (output.voice !== undefined) next.voice = parseVoice(output.voice, 'session.audio.output.voice', dialect);
    }
  }
  return next;
}

/** Output modalities of a request: GA allows exactly one, beta lists text with audio. */
export function parseModalities(value: unknown, param: string, dialect: SimDialect): ('audio' | 'text')[] {
  expect(Array.isArray(value) && value.length > 0 && value.every((m) => m === 'audio' || m === 'text'), param, "a non-empty array of 'audio' | 'text'");
  if (dialect === 'ga' && value.length > 1) throw new SimRequestError(simErrors.invalidValue(param, "expected ['audio'] or ['text']"));
  return [...new Set(value as ('audio' | 'text')[])];
}

/** Max output tokens: 1..4096 or 'inf'. */
export function parseMaxTokens(value: unknown, param: string): number | 'inf' {
  if (value === 'inf') return 'inf';
  expect(typeof value === 'number' && Number.isInteger(value), param, "an integer or 'inf'");
  if (value < 1 || value > 4096) throw new SimRequestError(simErrors.invalidValue(param, 'expected 1..4096'));
  return value;
}

/**
 * A voice the service has: unknown names are refused with the service's supported-values wording, and
 * the GA-only voices on a beta connection (reference: "a beta-dialect endpoint may refuse them").
 */
function parseVoice(value: unknown, param: string, dialect: SimDialect): string {
  expect(typeof value === 'string' && value.length > 0, param, 'a voice name');
  const known = dialect === 'ga' ? VOICES : VOICES.filter((voice) => !GA_ONLY_VOICES.includes(voice));
  if (!(known as readonly string[]).includes(value)) {
    throw new SimRequestError({ code: 'invalid_value', message: `Invalid value: '${value.slice(0, 64)}'. Supported values are: ${known.map((v) => `'${v}'`).join(', ')}.`, param });
  }
  return value;
}

/** Whether a `session.update` body sets the voice (beta `voice` or GA `audio.output.voice`), whatever the value. */
export function setsVoice(session: unknown): boolean {
  if (!isObject(session)) return false;
  if (session.voice !== undefined) return true;
  return isObject(session.audio) && isObject(session.audio.output) && session.audio.output.voice !== undefined;
}

function checkFormat(value: unknown, param: string): void {
  if (value === undefined) return;
  expect(isObject(value), param, 'an object');
  if (value.type !== undefined && value.type !== 'audio/pcm') throw new SimRequestError(simErrors.invalidValue(`${param}.type`, "the simulator supports 'audio/pcm' only"));
  if (value.rate !== undefined && value.rate !== 24000) throw new SimRequestError(simErrors.invalidValue(`${param}.rate`, 'expected 24000'));
}

/** `{ type: 'near_field' | 'far_field' }` or null (off), as the API reference of session.update lists them. */
function parseNoiseReduction(value: unknown, param: string): SimConfig['noiseReduction'] {
  if (value === null) return null;
  expect(isObject(value), param, 'an object or null');
  onlyKeys(value, ['type'], param);
  if (value.type !== 'near_field' && value.type !== 'far_field') throw new SimRequestError(simErrors.invalidValue(`${param}.type`, "expected 'near_field' or 'far_field'"));
  return value.type;
}

function parseTranscription(value: unknown, param: string): SimConfig['transcription'] {
  if (value === null) return null;
  expect(isObject(value), param, 'an object or null');
  onlyKeys(value, ['model', 'language', 'prompt', 'delay'], param);
  expect(typeof value.model === 'string', `${param}.model`, 'a string');
  if (value.language !== undefined) expect(typeof value.language === 'string', `${param}.language`, 'a string');
  return { model: value.model, ...(typeof value.language === 'string' ? { language: value.language } : {}) };
}

function parseTurnDetection(value: unknown, param: string): SimTurnDetection | null {
  if (value === null) return null;
  expect(isObject(value), param, 'an object or null');
  const type = value.type;
  if (type !== 'server_vad' && type !== 'semantic_vad') throw new SimRequestError(simErrors.invalidValue(`${param}.type`, "expected 'server_vad' or 'semantic_vad'"));
  const common = ['type', 'create_response', 'interrupt_response'];
  onlyKeys(value, type === 'server_vad' ? [...common, 'threshold', 'prefix_padding_ms', 'silence_duration_ms', 'idle_timeout_ms'] : [...common, 'eagerness'], param);
  const bool = (key: string, fallback: boolean) => {
    if (value[key] === undefined) return fallback;
    expect(typeof value[key] === 'boolean', `${param}.${key}`, 'a boolean');
    return value[key];
  };
  const ms = (key: string, fallback: number) => {
    const v = value[key];
    if (v === undefined) return fallback;
    expect(typeof v === 'number' && Number.isInteger(v) && v >= 0, `${param}.${key}`, 'a non-negative integer');
    return v;
  };
  let threshold = 0.5;
  if (value.threshold !== undefined) {
    expect(typeof value.threshold === 'number', `${param}.threshold`, 'a number');
    if (value.threshold < 0 || value.threshold > 1) throw new SimRequestError(simErrors.invalidValue(`${param}.threshold`, 'expected 0..1'));
    threshold = value.threshold;
  }
  let silence = ms('silence_duration_ms', 500);
  let eagerness: string | undefined;
  if (type === 'semantic_vad') {
    eagerness = value.eagerness === undefined ? 'auto' : String(value.eagerness);
    if (!(eagerness in EAGERNESS_SILENCE)) throw new SimRequestError(simErrors.invalidValue(`${param}.eagerness`, "expected 'low' | 'medium' | 'high' | 'auto'"));
    silence = EAGERNESS_SILENCE[eagerness]!;
  }
  return {
    type,
    threshold,
    prefixPaddingMs: ms('prefix_padding_ms', 300),
    silenceDurationMs: silence,
    createResponse: bool('create_response', true),
    interruptResponse: bool('interrupt_response', true),
    ...(eagerness ? { eagerness } : {}),
  };
}

function turnDetectionToWire(td: SimTurnDetection | null): Record<string, unknown> | null {
  if (!td) return null;
  if (td.type === 'semantic_vad') return { type: td.type, eagerness: td.eagerness, create_response: td.createResponse, interrupt_response: td.interruptResponse };
  return { type: td.type, threshold: td.threshold, prefix_padding_ms: td.prefixPaddingMs, silence_duration_ms: td.silenceDurationMs, create_response: td.createResponse, interrupt_response: td.interruptResponse };
}

/** The `session` object of `session.created` / `session.updated` in a dialect. */
export function configToWire(config: SimConfig, dialect: SimDialect, id: string, model: string): Record<string, unknown> {
  if (dialect === 'beta') {
    return {
      id,
      object: 'realtime.session',
      model,
      modalities: config.modalities,
      instructions: config.instructions,
      voice: config.voice,
      input_audio_format: 'pcm16',
      output_audio_format: 'pcm16',
      input_audio_transcription: config.transcription,
      turn_detection: turnDetectionToWire(config.turnDetection),
      max_response_output_tokens: config.maxOutputTokens,
      // Fields real payloads carry that the bot does not use (nulls and odd types on purpose).
      tools: toolsToWire(config.tools),
      tool_choice: 'auto',
      temperature: 0.8,
      input_audio_noise_reduction: config.noiseReduction ? { type: config.noiseReduction } : null,
      tracing: null,
      expires_at: Math.floor(Date.now() / 1000) + 3600,
    };
  }
  return {
    type: 'realtime',
    object: 'realtime.session',
    id,
    model,
    output_modalities: config.modalities,
    instructions: config.instructions,
    audio: {
      input: { format: { type: 'audio/pcm', rate: 24000 }, transcription: config.transcription, turn_detection: turnDetectionToWire(config.turnDetection), noise_reduction: config.noiseReduction ? { type: config.noiseReduction } : null },
      output: { format: { type: 'audio/pcm', rate: 24000 }, voice: config.voice, speed: 1 },
    },
    max_output_tokens: config.maxOutputTokens,
    // Fields real payloads carry that the bot does not use (nulls and odd types on purpose).
    tools: toolsToWire(config.tools),
    tool_choice: 'auto',
    tracing: null,
    prompt: null,
    include: null,
    truncation: 'auto',
    expires_at: Math.floor(Date.now() / 1000) + 3600,
  };
}
