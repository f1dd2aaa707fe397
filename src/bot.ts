import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Events, GatewayIntentBits, Partials, RESTEvents, type Channel, type ClientOptions } from 'discord.js';
import type { Logger } from 'pino';
import { FrameClock, loadOpusBackend, OpusEncoderThread } from './audio/index.ts';
import { createMinorGcPacer } from './audio/minorGcPacer.ts';
import type { Config } from './config.ts';
import type { BotContext } from './context.ts';
import { routeInteraction, type SlashCommand } from './discord/interactionRouter.ts';
import { BudgetAnnouncer } from './discord/budgetAnnouncer.ts';
import { MentionHandler } from './discord/mentionHandler.ts';
import { mayCarryConversation } from './discord/audience.ts';
import { postConsentNotice } from './discord/consentNotice.ts';
import { BotMetrics, startMetricsServer, type MetricsServer } from './metrics/index.ts';
import { BudgetGuard } from './budget/index.ts';
import { createStore } from './store/index.ts';
import { unpricedModels } from './voice/guildModel.ts';
import { SessionRegistry } from './voice/sessionRegistry.ts';
import { ToolRuntime } from './tools/runtime.ts';
import type { ToolDefinition } from './tools/types.ts';

/** A running bot: the Discord client and what it works with. */
export interface Bot {
  client: Client;
  context: BotContext;
  metrics: BotMetrics;
  /** Answers @mentions; emits `handled` for every message it looked at. */
  mentions: MentionHandler;
  /** The 20 ms clock every voice session of this bot ticks on. */
  clock: FrameClock;
  /** The worker thread that Opus-encodes every session's reply audio. */
  encoderThread: OpusEncoderThread;
  /** The health and metrics endpoint, once started (null when METRICS_PORT is 0). */
  readonly metricsServer: MetricsServer | null;
  /** Starts the metrics endpoint (if configured) and logs in; resolves when the client is ready. */
  start(): Promise<void>;
  /** Leaves every channel, closes model sessions, flushes the database, logs out, closes the endpoint. */
  stop(): Promise<void>;
}

/** How long stop() waits for Discord to confirm the bot left its voice channels. */
const LEAVE_CONFIRM_MS = 1_500;

/** What {@link createBot} is given besides the configuration and the logger. */
export interface BotOptions {
  /** The slash commands it answers (`commands/index.ts`; passed in so `src/` never imports `commands/`). */
  commands: readonly SlashCommand[];
  /** The function tools the model may call (`tools/index.ts`; passed in like the commands). */
  tools?: readonly ToolDefinition[];
  /** discord.js client options (tests and the load benchmark adjust caching and timeouts). */
  clientOptions?: Partial<ClientOptions>;
  /** Young-generation collections paced by the frame clock (default true; the load benchmark compares). */
  gcPacing?: boolean;
  /** How long a voice connection may take to become ready (join, move) before it counts as failed (default 20 s). */
  voiceReadyTimeoutMs?: number;
}

/** Builds the bot from a validated configuration: the composition root (main.ts, the demo and tests use it). */
export function createBot(config: Config, logger: Logger, options: BotOptions): Bot {
  const { commands, clientOptions = {} } = options;
  // The objects every voice session shares are made here, once per bot, and passed down.
  loadOpusBackend({ logger }); // the one line saying native Opus is missing is logged here, at start
  warnUnpricedModels(config, logger);
  // Young-generation collections right after a tick's sends, not on the next tick (minorGcPacer.ts).
  const clock = new FrameClock({ logger, afterTick: options.gcPacing === false ? undefined : createMinorGcPacer() });
  const encoderThread = new OpusEncoderThread({ logger });
  encoderThread.start(); // booted before the first reply needs it
  const store = createStore({
    databaseUrl: config.databaseUrl,
    databasePath: config.databasePath,
    poolMax: config.databasePoolMax,
    logger: logger.child({ component: 'store' }),
  });
  const budget = new BudgetGuard({ store, globalDailyLimitUsd: config.globalDailyLimitUsd, logger: logger.child({ component: 'budget' }) });
  const client = new Client({
    // GuildVoiceStates is required for voice (without it the connection never leaves "signalling");
    // GuildMessages delivers mentions (which carry their content without the privileged intent).
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates, GatewayIntentBits.GuildMessages],
    partials: [Partials.GuildMember],
    ...(config.discord.apiUrl ? { rest: { api: config.discord.apiUrl } } : {}),
    ...clientOptions,
  });
  const tools = new ToolRuntime({ definitions: options.tools ?? [], config, store, logger, client, bot: () => context });
  const sessions = new SessionRegistry({ config, store, budget, logger, clock, encoderThread, tools, voiceReadyTimeoutMs: options.voiceReadyTimeoutMs, mayCarryConversation });
  // Dragged into another channel by a moderator: the people there learn what the bot does with their voice.
  sessions.on('dragged', ({ guildId, to }) => void postNoticeIn(client.channels.cache.get(to), sessions, guildId, logger));
  const context: BotContext = { config, store, budget, sessions, logger, tools };
  const announcer = new BudgetAnnouncer({ budget, sessions, client, logger });
  const mentions = new MentionHandler(context, { onMention: (guildId, channelId) => announcer.noteMentionChannel(guildId, channelId) });
  client.on(Events.InteractionCreate, (interaction) => void routeInteraction(interaction, context, commands));
  client.on(Events.MessageCreate, (message) => void mentions.handle(message));
  client.on(Events.VoiceStateUpdate, (previous, next) => sessions.onVoiceStateUpdate(previous, next));
  client.on(Events.Error, (error) => logger.error({ err: error.message }, 'discord client error'));
  client.on(Events.ShardDisconnect, (event, shardId) => logger.warn({ code: event.code, shardId }, 'gateway disconnected'));
  client.on(Events.ShardResume, (shardId) => logger.info({ shardId }, 'gateway resumed'));
  client.on(Events.Warn, (message) => logger.warn({ detail: message }, 'discord client warning'));
  // discord.js's own diagnostics (gateway, heartbeats) at debug. It prints the token censored; the
  // root logger of index.ts also scrubs the token from every line.
  const discordLog = logger.child({ component: 'discord.js' });
  client.on(Events.Debug, (message) => discordLog.debug({ detail: message }, 'discord.js debug'));
  client.rest.on(RESTEvents.RateLimited, (info) =>
    logger.warn({ route: info.route, method: info.method, retryAfterMs: info.retryAfter, global: info.global }, 'discord rate limited'),
  );
  // Process metrics (GC observer, event-loop monitor) cannot be switched off again: only when served.
  const metrics = new BotMetrics({ client, sessions, processMetrics: config.metricsPort > 0 });

  let metricsServer: MetricsServer | null = null;
  let stopped = false;
  return {
    client,
    context,
    metrics,
    mentions,
    clock,
    encoderThread,
    get metricsServer() {
      return metricsServer;
    },
    async start() {
      await store.open(); // migrations, and a clear failure when the database is unusable, before going online
      logger.info({ backend: store.backend }, 'database ready');
      if (config.metricsPort > 0) {
        metricsServer = await startMetricsServer({ port: config.metricsPort, host: config.metricsHost, client, sessions, metrics, logger });
      }
      const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
      client.once(Events.ClientReady, () => tools.start()); // reminders of this process's guilds, due ones first
      await client.login(config.discord.token);
      await ready;
      logger.info({ user: client.user?.tag, guilds: client.guilds.cache.size, shards: client.shard?.ids }, 'logged in');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const started = performance.now();
      metricsServer?.markStopping();
      const guildsInVoice = [...client.guilds.cache.values()].filter((guild) => sessions.voiceSession(guild.id)).map((guild) => guild.id);
      tools.stop();
      await sessions.shutdown();
      // The leave (op 4) goes out on the gateway: give Discord a moment to confirm it before the
      // gateway closes, so members see the bot leave at once rather than when its session times out.
      const deadline = performance.now() + LEAVE_CONFIRM_MS;
      const inVoice = () => guildsInVoice.filter((id) => client.guilds.cache.get(id)?.members.me?.voice.channelId);
      while (client.isReady() && inVoice().length > 0 && performance.now() < deadline) await sleep(20);
      const notConfirmed = client.isReady() ? inVoice() : [];
      await client.destroy();
      budget.stop();
      announcer.detach();
      await store.close().catch((error: unknown) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not close the database cleanly'));
      await encoderThread.close();
      await metricsServer?.close();
      metrics.detach();
      // Voice channels left, model sessions closed, database flushed, gateway closed.
      logger.info(
        { leftVoice: guildsInVoice.length, unconfirmedLeaves: notConfirmed.length, ms: Math.round(performance.now() - started) },
        'stopped',
      );
    },
  };
}

/** Posts the server's consent notice in the voice channel the bot was dragged into (its text chat). */
async function postNoticeIn(channel: Channel | undefined, sessions: SessionRegistry, guildId: string, logger: Logger): Promise<void> {
  if (!channel?.isSendable()) return;
  try {
    const room = await sessions.rooms.load(guildId);
    await postConsentNotice(channel, room.settings, logger);
  } catch (error) {
    logger.warn({ guildId, channelId: channel.id, err: error instanceof Error ? error.message : String(error) }, 'could not post the consent notice after a move');
  }
}

/** Says at start which configured models have no price: their cost would be counted as $0 (budgets would not see it). */
export function warnUnpricedModels(config: Config, logger: Logger): void {
  const unpriced = unpricedModels(config);
  const fix = 'add its prices to src/realtime/prices.ts (its usage is counted, its cost is not: budgets and /usage see $0)';
  for (const model of unpriced.realtime) logger.warn({ model }, `no price known for realtime model ${model}: ${fix}`);
  if (unpriced.transcription) logger.warn({ model: unpriced.transcription }, `no price known for transcription model ${unpriced.transcription}: ${fix}`);
}
