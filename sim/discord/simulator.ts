import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { silentLogger } from '../../src/log.ts';
import { CA_PATH } from './certs.ts';
import { GatewayServer, Intent } from './gateway.ts';
import type { GuildState, SimUser } from './guild.ts';
import { randomToken, shardOf, snowflake } from './ids.ts';
import type { InteractionRecord } from './interactions.ts';
import type { SimulatedMember } from './member.ts';
import { BotMessageLog, SimMessage } from './messages.ts';
import { Permission } from './permissions.ts';
import { RestRouter } from './rest.ts';
import { registerRoutes } from './routes.ts';
import { ENCRYPTION_MODES, type EncryptionMode } from './rtp.ts';
import { ChatDesk } from './chat.ts';
import type { Faults } from './faults.ts';
import { SimGuild } from './simGuild.ts';
import type { ChannelOverwriteSpec, RecordedRequest } from './types.ts';
import type { VoiceHub } from './voiceHub.ts';
import { DISCORD_MESSAGE_RATE_LIMIT, MessageRateLimits, type MessageRateLimit } from './rateLimits.ts';
import { TimedSender, type TimedSenderOptions } from './timedSender.ts';

/** Options of {@link startDiscordSimulator}. */
export interface DiscordSimulatorOptions {
  /** Port of the REST + gateway HTTP server (default 0: any free port). */
  port?: number;
  /** Encryption modes offered in voice Ready, in order (the client picks the first it supports). */
  encryptionModes?: EncryptionMode[];
  /**
   * DAVE end-to-end encryption in voice channels (default true, as Discord requires since March 2026:
   * version 1 is negotiated and a client offering `max_dave_protocol_version: 0` is closed with 4017).
   * false negotiates version 0, only to measure what DAVE costs; Stage channels always use 0.
   */
  dave?: boolean;
  /**
   * Guilds the bot is in (default 1). Each gets its own roles, channels, voice servers and members
   * (the same names in every guild, distinct user ids).
   */
  guilds?: number;
  /**
   * Human members of each guild (default Alice, Bob, Carol); an `Owner` member owns each guild in
   * addition. A given `id` is used in the first guild only (user ids are unique in the simulator).
   */
  members?: { name: string; id?: string }[];
  botName?: string;
  /** Permissions of the bot's role (default: view, send, embed, history, connect, speak, VAD). */
  botPermissions?: bigint;
  /** How long the bot has to acknowledge an interaction before Discord refuses it (default 3000 ms). */
  interactionDeadlineMs?: number;
  /**
   * Shard count `GET /gateway/bot` recommends (default: one per 1000 guilds, at least 1, as Discord
   * roughly does). A client may identify with any count; guilds go to shards by
   * `(guild_id >> 22) % shard_count`.
   */
  recommendedShards?: number;
  /**
   * Per-channel limit on creating and on editing messages, as on Discord (5 per 5 s each, answered
   * 429 with the headers @discordjs/rest waits by). On by default, as on Discord: the simulator is
   * at least as strict as the service. `false` turns it off, only for a run whose point is a flood
   * (say why where it is turned off); an object sets another limit.
   */
  messageRateLimit?: MessageRateLimit | boolean;
  logger?: Logger;
}

/** Everything the bot did over REST, for assertions. */
export interface Recorded {
  interactions: InteractionRecord[];
  /** Channel message create/edit/delete and typing requests. */
  messages: RecordedRequest[];
  /** Every REST request, including unknown routes (status 404). */
  routes: RecordedRequest[];
  /** Application command registrations (PUT/POST). */
  commands: RecordedRequest[];
  /** Message requests refused with 429 by {@link DiscordSimulatorOptions.messageRateLimit}. */
  rateLimited: RecordedRequest[];
}

export const DEFAULT_BOT_PERMISSIONS =
  Permission.ViewChannel | Permission.SendMessages | Permission.EmbedLinks | Permission.ReadMessageHistory |
  Permission.Connect | Permission.Speak | Permission.UseVAD | Permission.UseApplicationCommands;

/**
 * A local Discord for one bot in one or more guilds (`options.guilds`): REST (`rest`) and gateway on
 * one HTTP port, voice servers on TLS + UDP ports per guild. The per-guild properties and methods
 * (`guild`, `guildId`, channel ids, `member()`, `voice`, …) refer to the first guild; every guild is
 * in {@link guilds}. Build it with {@link startDiscordSimulator}.
 */
export class DiscordSimulator {
  /** Bot token; like Discord's, its first segment is the base64 of the bot user id. */
  readonly token: string;
  readonly applicationId: string;
  readonly botUserId: string;
  readonly botUser: SimUser;
  /** Every guild, in the order of READY (index 0 is the first guild). */
  readonly guilds: readonly SimGuild[];
  readonly guild: GuildState;
  readonly guildId: string;
  readonly textChannelId: string;
  readonly voiceChannelId: string;
  readonly secondVoiceChannelId: string;
  readonly stageChannelId: string;
  readonly botRoleId: string;
  /** The role humans get unless `addMember` is given explicit permissions. */
  readonly memberRoleId: string;
  readonly caPath = CA_PATH;
  readonly recorded: Recorded = { interactions: [], messages: [], routes: [], commands: [], rateLimited: [] };
  /** Message rate limits per channel, or null when off. */
  readonly messageLimits: MessageRateLimits | null;
  /** Registered application commands by scope (`global` or a guild id). */
  readonly commands = new Map<string, any[]>();
  readonly interactionDeadlineMs: number;
  readonly gateway: GatewayServer;
  /** The first guild's voice hub (each guild has its own: `guilds[i].voice`). */
  readonly voice: VoiceHub;
  readonly botMessages = new BotMessageLog();
  /** Failure injection (voice closes, endpoint moves, gateway drops, UDP loss, bad RTP) in the first guild. */
  readonly faults: Faults;
  readonly logger: Logger;
  readonly #router: RestRouter;
  readonly #http: Server;
  readonly #chat: ChatDesk;
  readonly #recommendedShards: number | undefined;
  #port = 0;
  #transmitter: TimedSender | null = null;

  constructor(options: DiscordSimulatorOptions = {}) {
    this.logger = options.logger ?? silentLogger;
    this.interactionDeadlineMs = options.interactionDeadlineMs ?? 3_000;
    const limit = options.messageRateLimit === undefined || options.messageRateLimit === true ? DISCORD_MESSAGE_RATE_LIMIT : options.messageRateLimit || null;
    this.messageLimits = limit ? new MessageRateLimits(limit) : null;
    this.#recommendedShards = options.recommendedShards;
    this.applicationId = snowflake();
    this.botUserId = this.applicationId; // bots created with an application share its id
    this.token = `${Buffer.from(this.botUserId).toString('base64url')}.${randomToken(4)}.${randomToken(20)}`;
    this.botUser = { id: this.botUserId, username: options.botName ?? 'Realtime Bot', globalName: null, bot: true };

    this.gateway = new GatewayServer({
      token: this.token,
      logger: this.logger,
      readyPayload: (session) => ({
        v: 10,
        user: { ...this.guild.apiUser(this.botUser), verified: true, mfa_enabled: false },
        guilds: this.guildsOfShard(session.shard).map((g) => ({ id: g.guildId, unavailable: true })),
        session_type: 'normal',
        application: { id: this.applicationId, flags: 0 },
        private_channels: [],
        relationships: [],
        presences: [],
        guild_join_requests: [],
        geo_ordered_rtc_regions: ['local'],
        user_settings: {},
      }),
      afterReady: (session) => this.guildsOfShard(session.shard).map((g) => ({ t: 'GUILD_CREATE', d: g.guild.guildCreate(this.botUserId) })),
      guildCount: () => this.guilds.length,
      onVoiceStateUpdate: (session, d) => this.guildById(d?.guild_id)?.voice.onBotVoiceStateUpdate(session, d),
      membersChunk: (guildId) => {
        const guild = this.guildById(guildId)?.guild;
        return guild && { guild_id: guild.id, members: [...guild.members.keys()].map((id) => guild.apiMember(id)), chunk_index: 0, chunk_count: 1 };
      },
    });
    this.#chat = new ChatDesk(this);
    const count = Math.max(1, Math.floor(options.guilds ?? 1));
    const userIds = new Set<string>();
    const usernames = new Set<string>([this.botUser.username.toLowerCase()]);
    const guilds: SimGuild[] = [];
    // Guild i is created i ms before the first: consecutive timestamps give consecutive shards under
    // (guild_id >> 22) % shard_count, so N guilds cover every shard of a count up to N. The clock is read
    // once: read per guild, a millisecond passing between two guilds (a loaded machine) gave two
    // guilds the same timestamp, hence the same shard.
    const firstCreatedAt = Date.now();
    for (let index = 0; index < count; index++) {
      guilds.push(new SimGuild({
        index,
        createdAt: firstCreatedAt - index,
        name: index === 0 ? 'Simulated Guild' : `Simulated Guild ${index + 1}`,
        gateway: this.gateway,
        botUser: this.botUser,
        botPermissions: options.botPermissions ?? DEFAULT_BOT_PERMISSIONS,
        members: options.members ?? [{ name: 'Alice' }, { name: 'Bob' }, { name: 'Carol' }],
        encryptionModes: options.encryptionModes ?? [...ENCRYPTION_MODES],
        daveVersion: options.dave === false ? 0 : 1,
        chat: this.#chat,
        userIds,
        usernames,
        logger: this.logger,
      }));
    }
    this.guilds = guilds;
    const first = guilds[0]!;
    this.guild = first.guild;
    this.guildId = first.guildId;
    this.textChannelId = first.textChannelId;
    this.voiceChannelId = first.voiceChannelId;
    this.secondVoiceChannelId = first.secondVoiceChannelId;
    this.stageChannelId = first.stageChannelId;
    this.botRoleId = first.botRoleId;
    this.memberRoleId = first.memberRoleId;
    this.voice = first.voice;
    this.faults = first.faults;

    this.#router = new RestRouter(this.token, (request) => this.recorded.routes.push(request));
    registerRoutes(this.#router, this);
    this.#http = createServer((req, res) => void this.#router.handle(req, res));
    this.#http.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/gateway')) return socket.destroy();
      this.gateway.wss.handleUpgrade(req, socket, head, (ws) => this.gateway.wss.emit('connection', ws, req));
    });
  }

  /** @internal Binds the ports; use {@link startDiscordSimulator}. */
  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(port, '127.0.0.1', resolve);
    });
    this.#port = (this.#http.address() as { port: number }).port;
    this.gateway.url = this.gatewayUrl;
    for (const guild of this.guilds) await guild.voice.addServer();
    return this;
  }

  /** The value for discord.js `new Client({ rest: { api } })`. */
  get rest(): string {
    return `http://127.0.0.1:${this.#port}/api`;
  }

  get port(): number {
    return this.#port;
  }

  /** The gateway URL given in GET /gateway/bot and as `resume_gateway_url`. */
  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.#port}/gateway`;
  }

  /** The shard count `GET /gateway/bot` recommends. */
  get recommendedShards(): number {
    return this.#recommendedShards ?? Math.max(1, Math.ceil(this.guilds.length / 1000));
  }

  /** The guilds a gateway session of shard `[id, count]` serves: `(guild_id >> 22) % count == id`. */
  guildsOfShard([id, count]: readonly [number, number]): SimGuild[] {
    return this.guilds.filter((g) => shardOf(g.guildId, count) === id);
  }

  /** The guild with this id, if the bot is in it. */
  guildById(guildId: string | undefined): SimGuild | undefined {
    return this.guilds.find((g) => g.guildId === guildId);
  }

  /** The guild owning this channel, if any. */
  guildOfChannel(channelId: string | undefined): SimGuild | undefined {
    return channelId === undefined ? undefined : this.guilds.find((g) => g.guild.channels.has(channelId));
  }

  /** A member of the first guild by display name (or id); any guild's member by id. */
  member(name: string): SimulatedMember {
    const first = this.guilds[0]!;
    if (first.members().some((m) => m.name === name || m.id === name)) return first.member(name);
    for (const guild of this.guilds) if (guild.members().some((m) => m.id === name)) return guild.member(name);
    return first.member(name); // throws, listing the first guild's members
  }

  /** The first guild's members. */
  members(): SimulatedMember[] {
    return this.guilds[0]!.members();
  }

  /**
   * Adds a member to the first guild (`guilds[i].addMember` for another) with the Member role, or,
   * given `permissions`, a personal role with exactly those. Dispatches GUILD_MEMBER_ADD.
   */
  addMember(spec: { name: string; id?: string; bot?: boolean; permissions?: bigint; nick?: string; username?: string }): SimulatedMember {
    return this.guilds[0]!.addMember(spec);
  }

  /** A moderator server-mutes or suppresses someone in voice (the bot by default) in the first guild (see SimGuild.moderateVoice). */
  moderateVoice(changes: { mute?: boolean; suppress?: boolean }, userId?: string): void {
    this.guilds[0]!.moderateVoice(changes, userId);
  }

  /** A moderator drags someone in voice (the bot by default) to another channel, or disconnects them, in the first guild (see SimGuild.moderatorMoves). */
  moderatorMoves(channelId: string | null, userId?: string): void {
    this.guilds[0]!.moderatorMoves(channelId, userId);
  }

  /** Adds a text channel to the first guild (`guilds[i].addTextChannel` for another); returns its id. */
  addTextChannel(name: string, overwrites: ChannelOverwriteSpec[] = []): string {
    return this.guilds[0]!.addTextChannel(name, overwrites);
  }

  /** Replaces a channel's permission overwrites (CHANNEL_UPDATE), in whichever guild owns it. */
  setChannelPermissions(channelId: string, overwrites: ChannelOverwriteSpec[]): void {
    (this.guildOfChannel(channelId) ?? this.guilds[0]!).setChannelPermissions(channelId, overwrites);
  }

  /** Sets a voice channel's user limit, 0 = unlimited (CHANNEL_UPDATE), in whichever guild owns it. */
  setUserLimit(channelId: string, limit: number): void {
    (this.guildOfChannel(channelId) ?? this.guilds[0]!).setUserLimit(channelId, limit);
  }

  /** Sets the bot role's permissions in the first guild (GUILD_ROLE_UPDATE). */
  setBotPermissions(permissions: bigint): void {
    this.guilds[0]!.setBotPermissions(permissions);
  }

  /** Live voice states of the first guild: every member's channel id, or null when not in voice. */
  voiceStates(): Map<string, string | null> {
    return this.guilds[0]!.voiceStates();
  }

  /** The bot's voice channel in the first guild. */
  botVoiceChannel(): string | null {
    return this.guilds[0]!.botVoiceChannel();
  }

  /** @internal for routes */
  interactionByToken(token: string): InteractionRecord | undefined {
    return this.recorded.interactions.find((r) => r.token === token);
  }

  /**
   * @internal The registered command `name` a member of `guildId` runs: the guild's own registration
   * first, then the global one (undefined if neither has it).
   */
  registeredCommand(name: string, guildId: string): { id: string; guildScoped: boolean } | undefined {
    const own = this.commands.get(guildId)?.find((c) => c.name === name);
    if (own) return { id: own.id, guildScoped: true };
    const global = this.commands.get('global')?.find((c) => c.name === name);
    return global ? { id: global.id, guildScoped: false } : undefined;
  }

  /**
   * The registered type of a command's option (inside `subcommand` if given), or undefined. Discord
   * types each option of an interaction by the command's registration: a NUMBER option holding 5
   * arrives as type 10, not as an INTEGER.
   */
  registeredOptionType(name: string, guildId: string, option: string, subcommand?: string): number | undefined {
    return this.registeredOption(name, guildId, option, subcommand)?.type;
  }

  /** @internal The registered option (its type, choices, `autocomplete` flag), if any. */
  registeredOption(name: string, guildId: string, option: string, subcommand?: string): { type: number; autocomplete?: boolean } | undefined {
    const command = this.commands.get(guildId)?.find((c) => c.name === name) ?? this.commands.get('global')?.find((c) => c.name === name);
    const options: any[] = (subcommand ? command?.options?.find((o: any) => o.name === subcommand && o.type === 1)?.options : command?.options) ?? [];
    return options.find((o: any) => o.name === option);
  }

  /** @internal Stable command ids per scope and name (re-registering keeps the id, as on Discord). */
  commandId(name: string, scope: string): string {
    return this.commands.get(scope)?.find((c) => c.name === name)?.id ?? snowflake();
  }

  applicationPayload(): Record<string, unknown> {
    return { id: this.applicationId, name: this.botUser.username, icon: null, description: '', bot_public: true, bot_require_code_grant: false, verify_key: '0'.repeat(64), flags: 0, bot: this.guild.apiUser(this.botUser) };
  }

  webhookMessage = (message: Parameters<ChatDesk['webhookMessage']>[0], record: InteractionRecord) => this.#chat.webhookMessage(message, record);
  createBotMessage = (channelId: string, body: any) => this.#chat.createBotMessage(channelId, body);
  editBotMessage = (channelId: string, messageId: string, body: any) => this.#chat.editBotMessage(channelId, messageId, body);
  storedMessage = (messageId: string) => this.#chat.stored.get(messageId);
  deleteMessage = (messageId: string) => this.#chat.deleteMessage(messageId);

  /**
   * Members' packets prepared ahead (`speak(…, { aheadMs })`) leave from a thread of their own at
   * their send time (see TimedSender), in every guild: a benchmark's many members then reach the
   * bot on time however busy this simulator's loop is, as over a real network. `options` (batching
   * of the hand-over) apply to the thread this call starts; the first call starts it.
   */
  async startTransmitThread(options: TimedSenderOptions = {}): Promise<TimedSender> {
    this.#transmitter ??= await TimedSender.start(options);
    for (const guild of this.guilds) guild.voice.useSender(this.#transmitter);
    return this.#transmitter;
  }

  /** Stops all servers and closes every socket. */
  async close(): Promise<void> {
    await this.#transmitter?.close();
    this.gateway.close();
    await Promise.all(this.guilds.map((g) => g.voice.close()));
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }
}

export { SimGuild, SimMessage };
