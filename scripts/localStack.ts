import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startDiscordSimulator, trustSimulatorCertificate, type DiscordSimulator, type DiscordSimulatorOptions } from '../sim/discord/index.ts';
import { startRealtimeSimulator, type RealtimeSimulator, type RealtimeSimulatorOptions } from '../sim/realtime/index.ts';
import { commands } from '../commands/index.ts';
import { tools } from '../tools/index.ts';
import { createBot, type Bot, type BotOptions } from '../src/bot.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { deployCommands } from '../src/discord/deployCommands.ts';
import { createLogger } from '../src/log.ts';
import type { ToolDefinition } from '../src/tools/types.ts';

/** A real model service to use instead of the realtime simulator. */
export interface ExternalRealtime {
  url: string;
  dialect: 'ga' | 'beta';
  apiKey: string;
  model?: string;
}

/** Options of {@link startLocalStack}. */
export interface LocalStackOptions {
  /** Extra configuration, as environment variables (e.g. ALONE_TIMEOUT_SECONDS). */
  env?: Record<string, string | undefined>;
  /** Options of the bot beyond its configuration (e.g. a short voice ready timeout for fault tests). */
  bot?: Omit<BotOptions, 'commands'>;
  discord?: DiscordSimulatorOptions;
  realtime?: RealtimeSimulatorOptions;
  /** Use this model service instead of starting the realtime simulator. */
  external?: ExternalRealtime;
  /** Bot log level (default 'info'); every line is kept in `logs`. */
  logLevel?: string;
  /** Also write the bot's log lines here. */
  logEcho?: NodeJS.WritableStream;
  /** Function tools besides the bot's own (tests add slow or failing ones). */
  extraTools?: readonly ToolDefinition[];
  /** SQLite path (default: a new temporary directory, removed by close()). */
  databasePath?: string;
}

/** The simulators and the real bot running against them. */
export interface LocalStack {
  discord: DiscordSimulator;
  realtime: RealtimeSimulator | null;
  bot: Bot;
  config: Config;
  /** The bot's log lines (JSON), in order. */
  logs: string[];
  /** Stops the bot and starts a new one on the same database and simulators (a restart). */
  restartBot(): Promise<Bot>;
  close(): Promise<void>;
}

/**
 * Starts a local Discord, a realtime simulator (or uses an external model service) and the real bot
 * configured against them, with its slash commands deployed to the local guild. Used by the demo,
 * the end-to-end tests and the benchmarks.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  trustSimulatorCertificate();
  const realtime = options.external ? null : await startRealtimeSimulator(options.realtime ?? {});
  const discord = await startDiscordSimulator(options.discord ?? {});
  const tempDir = options.databasePath ? null : mkdtempSync(join(tmpdir(), 'voice-bot-'));
  const databasePath = options.databasePath ?? join(tempDir!, 'bot.sqlite');
  const external = options.external;
  const config = loadConfig(
    {
      // Simulated members say no words unless a test scripts transcripts, so they could never name the
      // bot: the local stack answers every turn unless told otherwise (addressing tests set auto/name).
      VOICE_ADDRESSING: 'always',
      ...options.env,
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_GUILD_ID: discord.guildId,
      DISCORD_API_URL: discord.rest,
      REALTIME_PROVIDER: 'custom',
      REALTIME_URL: external?.url ?? realtime!.url,
      REALTIME_DIALECT: external?.dialect ?? options.env?.REALTIME_DIALECT ?? 'ga',
      REALTIME_MODEL: external?.model ?? options.env?.REALTIME_MODEL ?? 'gpt-realtime',
      REALTIME_API_KEY: external?.apiKey ?? realtime!.apiKey,
      DATABASE_PATH: databasePath,
      LOG_LEVEL: options.logLevel ?? 'info',
    },
    { requireDiscord: true, requireRealtimeKey: true },
  );
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const text = chunk.toString('utf8');
      for (const line of text.split('\n')) if (line.length > 0) logs.push(line);
      options.logEcho?.write(text);
      callback();
    },
  });
  const logger = createLogger({ level: config.logLevel, destination: sink });
  await deployCommands({ token: config.discord.token!, applicationId: discord.applicationId, guildId: discord.guildId, api: discord.rest }, commands);

  const botTools = [...tools, ...(options.extraTools ?? [])];
  let bot = createBot(config, logger, { ...options.bot, commands, tools: botTools });
  await bot.start();
  return {
    discord,
    realtime,
    get bot() {
      return bot;
    },
    config,
    logs,
    async restartBot() {
      await bot.stop();
      bot = createBot(config, logger, { ...options.bot, commands, tools: botTools });
      await bot.start();
      return bot;
    },
    async close() {
      await bot.stop().catch(() => undefined);
      await discord.close().catch(() => undefined);
      await realtime?.close().catch(() => undefined);
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    },
  };
}
