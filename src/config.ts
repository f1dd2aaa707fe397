import { z } from 'zod';
import { ConfigError } from './configErrors.ts';
import { integer, number, optionalText } from './envFields.ts';
import { resolvePermissionName, type PermissionName } from './permissionNames.ts';
import { resolveEndpoint } from './realtimeEndpoint.ts';
import { checkServiceUrl, urlSecrets } from './redact.ts';
import { mcpSecrets, resolveToolsConfig, type ToolsConfig } from './tools/config.ts';

export { ConfigError, loadOrExit, settingsSourceHint } from './configErrors.ts';
export { resolvePermissionName, type PermissionName } from './permissionNames.ts';

/** Voices the realtime models accept (GA adds marin and cedar; beta endpoints know the first eight). */
export const SUPPORTED_VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', 'cedar'] as const;
export type VoiceName = (typeof SUPPORTED_VOICES)[number];
/** Voices only the GA dialect has: a beta-dialect endpoint may refuse them (reference "Session changes"). */
export const GA_ONLY_VOICES: readonly VoiceName[] = ['marin', 'cedar'];

/** The voices a dialect offers. */
export function voicesFor(dialect: 'ga' | 'beta'): string[] {
  return SUPPORTED_VOICES.filter((voice) => dialect === 'ga' || !GA_ONLY_VOICES.includes(voice));
}

export const DEFAULT_INSTRUCTIONS =
  'You are a friendly voice assistant in a Discord voice channel. Several people may talk to you; each of their ' +
  'turns is labelled like [speaker: Name]. Address people by name when it helps, keep answers short and ' +
  'conversational, and stop when someone interrupts you.';

const envSchema = z.object({
  DISCORD_TOKEN: optionalText,
  DISCORD_APPLICATION_ID: optionalText,
  DISCORD_GUILD_ID: optionalText,
  DISCORD_API_URL: optionalText,
  REALTIME_PROVIDER: optionalText,
  REALTIME_URL: optionalText,
  REALTIME_DIALECT: optionalText,
  REALTIME_MODEL: optionalText,
  REALTIME_API_KEY: optionalText,
  REALTIME_MODELS: optionalText,
  OPENAI_API_KEY: optionalText,
  REALTIME_VOICE: optionalText,
  DEFAULT_INSTRUCTIONS: optionalText,
  DATABASE_PATH: optionalText,
  DATABASE_URL: optionalText,
  DATABASE_POOL_MAX: integer('DATABASE_POOL_MAX', 1, 100, 5),
  BUDGET_GLOBAL_DAILY_USD: optionalText,
  LOG_LEVEL: optionalText,
  ALONE_TIMEOUT_SECONDS: integer('ALONE_TIMEOUT_SECONDS', 0, 86_400, 60),
  MODEL_UNAVAILABLE_LEAVE_SECONDS: integer('MODEL_UNAVAILABLE_LEAVE_SECONDS', 0, 86_400, 120),
  BARGE_IN_MIN_MS: integer('BARGE_IN_MIN_MS', 0, 5_000, 500),
  BARGE_IN_MIN_DBFS: number('BARGE_IN_MIN_DBFS', -100, 0, -45),
  PLAYBACK_PREBUFFER_MS: integer('PLAYBACK_PREBUFFER_MS', 0, 1_000, 40),
  VOICE_ADDRESSING: optionalText,
  VOICE_TRANSCRIPTION_MODEL: optionalText,
  SESSION_ROTATE_MINUTES: number('SESSION_ROTATE_MINUTES', 0.01, 59, 55),
  HISTORY_TOKEN_BUDGET: integer('HISTORY_TOKEN_BUDGET', 0, 1_000_000, 6_000),
  INSTRUCTIONS_MAX_CHARS: integer('INSTRUCTIONS_MAX_CHARS', 100, 16_000, 4_000),
  MENTION_RATE_LIMIT: integer('MENTION_RATE_LIMIT', 1, 1_000, 5),
  MENTION_RATE_WINDOW_SECONDS: integer('MENTION_RATE_WINDOW_SECONDS', 1, 86_400, 60),
  TEXT_SESSION_IDLE_SECONDS: integer('TEXT_SESSION_IDLE_SECONDS', 5, 86_400, 300),
  MENTION_QUEUE_LIMIT: integer('MENTION_QUEUE_LIMIT', 1, 1_000, 5),
  TEXT_MAX_OUTPUT_TOKENS: integer('TEXT_MAX_OUTPUT_TOKENS', 1, 4_096, 1_500),
  MAX_MODEL_SESSIONS: integer('MAX_MODEL_SESSIONS', 1, 100_000, 100),
  METRICS_PORT: integer('METRICS_PORT', 0, 65_535, 0),
  METRICS_HOST: optionalText,
  INSTRUCTIONS_PERMISSION: optionalText,
  // Tools (src/tools/config.ts).
  TOOLS_PERMISSION: optionalText,
  TOOL_TIMEOUT_SECONDS: integer('TOOL_TIMEOUT_SECONDS', 1, 600, 15),
  TOOL_FILLER: optionalText,
  TOOL_FILLER_AFTER_MS: integer('TOOL_FILLER_AFTER_MS', 100, 10_000, 700),
  MCP_SERVERS: optionalText,
});

/** Every variable {@link loadConfig} reads (its schema's keys); test/ops/docs.test.ts keeps README and .env.example in step. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/** The validated configuration of the bot. */
export interface Config {
  discord: {
    /** Bot token; absent only where the caller said it is not needed (demo, tests). */
    token: string | undefined;
    applicationId: string | undefined;
    /** Register commands in this guild only (instant) instead of globally (up to an hour). */
    guildId: string | undefined;
    /** discord.js `rest.api` override, for a local Discord. */
    apiUrl: string | undefined;
  };
  realtime: {
    provider: string;
    /** The URL the bot dials: the provider's or REALTIME_URL, with the model in its query. */
    url: string;
    dialect: 'ga' | 'beta';
    /** The model in that URL (also the one priced). */
    model: string;
    /** Models a server's admins may choose with /model (REALTIME_MODELS); null = the provider's presets. */
    models: string[] | null;
    apiKey: string | undefined;
    voice: VoiceName;
  };
  defaultInstructions: string;
  /** SQLite file, used when there is no {@link databaseUrl}. */
  databasePath: string;
  /** PostgreSQL connection URL (`postgres://…`), shared by every shard; undefined = SQLite. */
  databaseUrl: string | undefined;
  /** Connections in each process's PostgreSQL pool. */
  databasePoolMax: number;
  /** Spend limit per UTC day for the whole deployment (every server, every shard), USD; null = none. */
  globalDailyLimitUsd: number | null;
  logLevel: string;
  aloneTimeoutMs: number;
  /** Leave the voice channel after the model conversation has been failed (unrecovered) this long. */
  modelUnavailableLeaveMs: number;
  bargeIn: { minSpeechMs: number; minLevelDbfs: number };
  playbackPrebufferMs: number;
  /** When the bot answers a voice turn in servers that did not choose (/settings addressing): `auto` by default. */
  defaultAddressing: 'always' | 'name' | 'auto';
  /** Transcription of what people say (history, wake names, captions): whisper-1 by default; gpt-realtime-whisper streams words as people speak. */
  transcriptionModel: string;
  sessionRotateMs: number;
  historyTokenBudget: number;
  instructionsMaxChars: number;
  mentionRateLimit: { count: number; windowMs: number };
  textSessionIdleMs: number;
  /** Text questions a server may have waiting or being answered at once; more are refused politely. */
  mentionQueueLimit: number;
  /** Longest text answer (max_output_tokens of text responses). */
  textMaxOutputTokens: number;
  /** Model sessions (voice and text conversations) this process keeps open at most. */
  maxModelSessions: number;
  /** 0 = metrics endpoint off. */
  metricsPort: number;
  /** Interface the metrics endpoint binds to (default 127.0.0.1: not reachable from other machines). */
  metricsHost: string;
  /** Discord permission flag needed for /instructions set|append|reset and /voice (validated name). */
  instructionsPermission: PermissionName;
  /** Tools: timeout, filler, permission, remote MCP servers. */
  tools: ToolsConfig;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Parses and validates the environment once. Every problem is collected, so a user fixes them all in
 * one go. `requireDiscord` and `requireRealtimeKey` say whether this entry point needs those secrets.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: { requireDiscord?: boolean; requireRealtimeKey?: boolean; requireApplicationId?: boolean } = {},
): Config {
  // Field errors first, but without stopping: the fields that failed fall back to their defaults for
  // the checks that follow, so one message lists every problem.
  const parsed = envSchema.safeParse(env);
  const problems: string[] = parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
  const failed = new Set(parsed.success ? [] : parsed.error.issues.map((issue) => String(issue.path[0])));
  const e = parsed.success ? parsed.data : envSchema.parse(Object.fromEntries(Object.entries(env).filter(([name]) => !failed.has(name))));

  const endpoint = resolveEndpoint(e, problems);
  const apiKey = e.REALTIME_API_KEY ?? e.OPENAI_API_KEY;
  if (options.requireRealtimeKey && !apiKey) problems.push('REALTIME_API_KEY is missing: set it to your OpenAI or CometAPI key');

  if (options.requireDiscord && !e.DISCORD_TOKEN) problems.push('DISCORD_TOKEN is missing: copy the bot token from the Discord developer portal');
  if (options.requireApplicationId && !e.DISCORD_APPLICATION_ID) {
    problems.push('DISCORD_APPLICATION_ID is missing: copy the Application ID from the Discord developer portal (General Information)');
  }
  if (e.DISCORD_TOKEN !== undefined && !/^[\w.-]{20,}$/.test(e.DISCORD_TOKEN)) {
    problems.push('DISCORD_TOKEN does not look like a bot token (letters, digits, dots, dashes, underscores)');
  }
  for (const [name, value] of [
    ['DISCORD_APPLICATION_ID', e.DISCORD_APPLICATION_ID],
    ['DISCORD_GUILD_ID', e.DISCORD_GUILD_ID],
  ] as const) {
    if (value !== undefined && !/^\d{5,25}$/.test(value)) problems.push(`${name} must be a numeric Discord id (got "${value}")`);
  }
  if (e.DISCORD_API_URL !== undefined) problems.push(...checkServiceUrl('DISCORD_API_URL', e.DISCORD_API_URL, { schemes: ['http:', 'https:'] }));
  const voice = (e.REALTIME_VOICE ?? 'alloy').toLowerCase();
  if (!(SUPPORTED_VOICES as readonly string[]).includes(voice)) {
    problems.push(`REALTIME_VOICE must be one of ${SUPPORTED_VOICES.join(', ')} (got "${e.REALTIME_VOICE}")`);
  } else if (endpoint?.dialect === 'beta' && !voicesFor('beta').includes(voice)) {
    problems.push(`REALTIME_VOICE ${voice} is GA-only; with the beta dialect use one of ${voicesFor('beta').join(', ')}`);
  }
  const logLevel = (e.LOG_LEVEL ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${e.LOG_LEVEL}")`);
  const permission = resolvePermissionName(e.INSTRUCTIONS_PERMISSION ?? 'ManageGuild');
  if ('problem' in permission) problems.push(permission.problem);
  const instructionsPermission = 'name' in permission ? permission.name : 'ManageGuild';
  // Tools that change something: by default whoever may use the bot's slash commands.
  const toolsPermission = resolvePermissionName(e.TOOLS_PERMISSION ?? 'UseApplicationCommands', 'TOOLS_PERMISSION');
  if ('problem' in toolsPermission) problems.push(toolsPermission.problem);
  const tools = resolveToolsConfig(e, 'name' in toolsPermission ? toolsPermission.name : 'UseApplicationCommands', problems);
  const metricsHost = e.METRICS_HOST ?? '127.0.0.1';
  if (!/^[\w.:-]+$/.test(metricsHost)) problems.push(`METRICS_HOST must be an IP address or host name such as 127.0.0.1 or 0.0.0.0 (got "${metricsHost}")`);
  if (e.DATABASE_URL !== undefined && !/^postgres(ql)?:\/\/\S+$/.test(e.DATABASE_URL)) {
    problems.push('DATABASE_URL must be a PostgreSQL URL such as postgres://user:password@host:5432/voicebot (leave it empty for SQLite)');
  }
  const globalDailyLimitUsd = e.BUDGET_GLOBAL_DAILY_USD === undefined ? null : Number(e.BUDGET_GLOBAL_DAILY_USD);
  if (globalDailyLimitUsd !== null && !(Number.isFinite(globalDailyLimitUsd) && globalDailyLimitUsd >= 0 && globalDailyLimitUsd <= 1_000_000)) {
    problems.push(`BUDGET_GLOBAL_DAILY_USD must be an amount of USD from 0 to 1000000, or empty for no limit (got "${e.BUDGET_GLOBAL_DAILY_USD}")`);
  }
  const models = e.REALTIME_MODELS === undefined ? null : e.REALTIME_MODELS.split(',').map((name) => name.trim()).filter((name) => name.length > 0);
  if (models !== null && (models.length === 0 || models.some((name) => !/^[\w.:-]{1,100}$/.test(name)))) {
    problems.push(`REALTIME_MODELS must be model names separated by commas, such as gpt-realtime,gpt-realtime-mini (got "${e.REALTIME_MODELS}")`);
  }
  const defaultAddressing = (e.VOICE_ADDRESSING ?? 'auto').toLowerCase();
  if (!['always', 'name', 'auto'].includes(defaultAddressing)) {
    problems.push(`VOICE_ADDRESSING must be "always", "name" or "auto" (got "${e.VOICE_ADDRESSING}")`);
  }
  const transcriptionModel = e.VOICE_TRANSCRIPTION_MODEL ?? 'whisper-1';
  if (!/^[\w.:-]{1,100}$/.test(transcriptionModel)) problems.push(`VOICE_TRANSCRIPTION_MODEL must be a model name such as whisper-1 (got "${transcriptionModel}")`);
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    discord: { token: e.DISCORD_TOKEN, applicationId: e.DISCORD_APPLICATION_ID, guildId: e.DISCORD_GUILD_ID, apiUrl: e.DISCORD_API_URL },
    realtime: { ...endpoint!, models, apiKey, voice: voice as VoiceName },
    defaultInstructions: e.DEFAULT_INSTRUCTIONS ?? DEFAULT_INSTRUCTIONS,
    databasePath: e.DATABASE_PATH ?? 'data/bot.sqlite',
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    globalDailyLimitUsd,
    logLevel,
    aloneTimeoutMs: e.ALONE_TIMEOUT_SECONDS * 1000,
    modelUnavailableLeaveMs: e.MODEL_UNAVAILABLE_LEAVE_SECONDS * 1000,
    bargeIn: { minSpeechMs: e.BARGE_IN_MIN_MS, minLevelDbfs: e.BARGE_IN_MIN_DBFS },
    playbackPrebufferMs: e.PLAYBACK_PREBUFFER_MS,
    defaultAddressing: defaultAddressing as Config['defaultAddressing'],
    transcriptionModel,
    sessionRotateMs: Math.round(e.SESSION_ROTATE_MINUTES * 60_000),
    historyTokenBudget: e.HISTORY_TOKEN_BUDGET,
    instructionsMaxChars: e.INSTRUCTIONS_MAX_CHARS,
    mentionRateLimit: { count: e.MENTION_RATE_LIMIT, windowMs: e.MENTION_RATE_WINDOW_SECONDS * 1000 },
    textSessionIdleMs: e.TEXT_SESSION_IDLE_SECONDS * 1000,
    mentionQueueLimit: e.MENTION_QUEUE_LIMIT,
    textMaxOutputTokens: e.TEXT_MAX_OUTPUT_TOKENS,
    maxModelSessions: e.MAX_MODEL_SESSIONS,
    metricsPort: e.METRICS_PORT,
    metricsHost,
    instructionsPermission,
    tools,
  };
}

/**
 * Every secret in a configuration, for the logger to scrub: the Discord token, the model key, and the
 * secret parts of the configured URLs (user names, passwords, secret query parameters: `urlSecrets`),
 * the database password among them; and the remote MCP servers' credentials (headers, URL secrets).
 */
export function configSecrets(config: Config): string[] {
  const secrets = [config.discord.token, config.realtime.apiKey, ...mcpSecrets(config.tools.mcpServers), ...urlSecrets(config.realtime.url), ...urlSecrets(config.discord.apiUrl), ...urlSecrets(config.databaseUrl)];
  return [...new Set(secrets.filter((secret): secret is string => typeof secret === 'string' && secret.length > 0))];
}
