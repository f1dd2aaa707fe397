import { Client, Events, GatewayIntentBits, Partials, type ClientOptions } from 'discord.js';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { BotContext } from './context.ts';
import { routeInteraction } from './discord/interactionRouter.ts';
import { MentionHandler } from './discord/mentionHandler.ts';
import { BotStore } from './store/store.ts';
import { SessionRegistry } from './voice/sessionRegistry.ts';

/** A running bot: the Discord client and what it works with. */
export interface Bot {
  client: Client;
  context: BotContext;
  /** Logs in; resolves when the client is ready. */
  start(): Promise<void>;
  /** Leaves every channel, closes model sessions, flushes the database, logs out. */
  stop(): Promise<void>;
}

/** Builds the bot from a validated configuration (the composition root; index.ts and the demo use it). */
export function createBot(config: Config, logger: Logger, clientOptions: Partial<ClientOptions> = {}): Bot {
  const store = new BotStore(config.databasePath);
  const sessions = new SessionRegistry({ config, store, logger });
  const context: BotContext = { config, store, sessions, logger };
  const client = new Client({
    // GuildVoiceStates is required for voice (without it the connection never leaves "signalling");
    // GuildMessages delivers mentions (which carry their content without the privileged intent).
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates, GatewayIntentBits.GuildMessages],
    partials: [Partials.GuildMember],
    ...(config.discord.apiUrl ? { rest: { api: config.discord.apiUrl } } : {}),
    ...clientOptions,
  });
  const mentions = new MentionHandler(context);
  client.on(Events.InteractionCreate, (interaction) => void routeInteraction(interaction, context));
  client.on(Events.MessageCreate, (message) => void mentions.handle(message));
  client.on(Events.VoiceStateUpdate, (previous, next) => sessions.onVoiceStateUpdate(previous, next));
  client.on(Events.Error, (error) => logger.error({ err: error.message }, 'discord client error'));
  client.on(Events.ShardDisconnect, (event, shardId) => logger.warn({ code: event.code, shardId }, 'gateway disconnected'));
  client.on(Events.ShardResume, (shardId) => logger.info({ shardId }, 'gateway resumed'));

  let stopped = false;
  return {
    client,
    context,
    async start() {
      const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
      await client.login(config.discord.token);
      await ready;
      logger.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'logged in');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await sessions.shutdown();
      await client.destroy();
      store.close();
    },
  };
}
