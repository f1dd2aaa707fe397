import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { silentLogger } from '../../src/log.ts';
import { CA_PATH } from './certs.ts';
import { GatewayServer, Intent } from './gateway.ts';
import { GuildState, type SimUser } from './guild.ts';
import { randomToken, snowflake } from './ids.ts';
import type { InteractionRecord } from './interactions.ts';
import { SimulatedMember, type MemberHub } from './member.ts';
import { BotMessageLog, SimMessage } from './messages.ts';
import { DEFAULT_MEMBER_PERMISSIONS, Permission } from './permissions.ts';
import { RestRouter } from './rest.ts';
import { registerRoutes } from './routes.ts';
import { ENCRYPTION_MODES, type EncryptionMode, type RtpHeader } from './rtp.ts';
import { ChatDesk } from './chat.ts';
import { createFaults, type Faults } from './faults.ts';
import type { ChannelOverwriteSpec, RecordedRequest } from './types.ts';
import { VoiceHub } from './voiceHub.ts';

/** Options of {@link startDiscordSimulator}. */
export interface DiscordSimulatorOptions {
  /** Port of the REST + gateway HTTP server (default 0: any free port). */
  port?: number;
  /** Encryption modes offered in voice Ready, in order (the client picks the first it supports). */
  encryptionModes?: EncryptionMode[];
  /** Human members (default Alice, Bob, Carol); an `Owner` member owns the guild in addition. */
  members?: { name: string; id?: string }[];
  botName?: string;
  /** Permissions of the bot's role (default: view, send, embed, history, connect, speak, VAD). */
  botPermissions?: bigint;
  /** How long the bot has to acknowledge an interaction before Discord refuses it (default 3000 ms). */
  interactionDeadlineMs?: number;
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
}

export const DEFAULT_BOT_PERMISSIONS =
  Permission.ViewChannel | Permission.SendMessages | Permission.EmbedLinks | Permission.ReadMessageHistory |
  Permission.Connect | Permission.Speak | Permission.UseVAD | Permission.UseApplicationCommands;

/**
 * A local Discord for one bot and one guild: REST (`rest`) and gateway on one HTTP port, voice
 * servers on TLS + UDP ports. Build it with {@link startDiscordSimulator}.
 */
export class DiscordSimulator {
  /** Bot token; like Discord's, its first segment is the base64 of the bot user id. */
  readonly token: string;
  readonly applicationId: string;
  readonly botUserId: string;
  readonly botUser: SimUser;
  readonly guild: GuildState;
  readonly guildId: string;
  readonly textChannelId: string;
  readonly voiceChannelId: string;
  readonly secondVoiceChannelId: string;
  readonly botRoleId: string;
  /** The role humans get unless `addMember` is given explicit permissions. */
  readonly memberRoleId: string;
  readonly caPath = CA_PATH;
  readonly recorded: Recorded = { interactions: [], messages: [], routes: [], commands: [] };
  /** Registered application commands by scope (`global` or a guild id). */
  readonly commands = new Map<string, any[]>();
  readonly interactionDeadlineMs: number;
  readonly gateway: GatewayServer;
  readonly voice: VoiceHub;
  readonly botMessages = new BotMessageLog();
  /** Failure injection (voice closes, endpoint moves, gateway drops, UDP loss, bad RTP). */
  readonly faults: Faults = createFaults(this);
  readonly logger: Logger;
  readonly #members = new Map<string, SimulatedMember>();
  readonly #router: RestRouter;
  readonly #http: Server;
  readonly #chat: ChatDesk;
  #port = 0;

  constructor(options: DiscordSimulatorOptions = {}) {
    this.logger = options.logger ?? silentLogger;
    this.interactionDeadlineMs = options.interactionDeadlineMs ?? 3_000;
    this.guild = new GuildState('Simulated Guild');
    this.guildId = this.guild.id;
    this.applicationId = snowflake();
    this.botUserId = this.applicationId; // bots created with an application share its id
    this.token = `${Buffer.from(this.botUserId).toString('base64url')}.${randomToken(4)}.${randomToken(20)}`;
    this.botUser = { id: this.botUserId, username: options.botName ?? 'Realtime Bot', globalName: null, bot: true };
    this.memberRoleId = this.guild.addRole('Member', DEFAULT_MEMBER_PERMISSIONS);
    this.botRoleId = this.guild.addRole(this.botUser.username, options.botPermissions ?? DEFAULT_BOT_PERMISSIONS);
    this.textChannelId = this.guild.addChannel({ type: 0, name: 'general' }).id;
    this.voiceChannelId = this.guild.addChannel({ type: 2, name: 'Voice' }).id;
    this.secondVoiceChannelId = this.guild.addChannel({ type: 2, name: 'Second Voice' }).id;
    const owner = this.addMember({ name: 'Owner' });
    this.guild.ownerId = owner.id;
    this.guild.addMember(this.botUser, [this.botRoleId]);
    for (const spec of options.members ?? [{ name: 'Alice' }, { name: 'Bob' }, { name: 'Carol' }]) this.addMember(spec);

    this.gateway = new GatewayServer({
      token: this.token,
      logger: this.logger,
      readyPayload: () => ({
        v: 10,
        user: { ...this.guild.apiUser(this.botUser), verified: true, mfa_enabled: false },
        guilds: [{ id: this.guildId, unavailable: true }],
        session_type: 'normal',
        shard: [0, 1],
        application: { id: this.applicationId, flags: 0 },
        private_channels: [],
        relationships: [],
        presences: [],
        guild_join_requests: [],
        geo_ordered_rtc_regions: ['local'],
        user_settings: {},
      }),
      afterReady: () => [{ t: 'GUILD_CREATE', d: this.guild.guildCreate(this.botUserId) }],
      onVoiceStateUpdate: (session, d) => this.voice.onBotVoiceStateUpdate(session, d),
      membersChunk: () => ({ guild_id: this.guildId, members: [...this.guild.members.keys()].map((id) => this.guild.apiMember(id)), chunk_index: 0, chunk_count: 1 }),
    });
    this.voice = new VoiceHub({
      modes: options.encryptionModes ?? [...ENCRYPTION_MODES],
      gateway: this.gateway,
      guild: this.guild,
      botUserId: this.botUserId,
      members: () => this.#members.values(),
      logger: this.logger,
    });
    this.#chat = new ChatDesk(this);
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
    await this.voice.addServer();
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

  /** A member by display name (or id). */
  member(name: string): SimulatedMember {
    const found = [...this.#members.values()].find((m) => m.name === name || m.id === name);
    if (!found) throw new Error(`no simulated member named ${name} (have ${[...this.#members.values()].map((m) => m.name).join(', ')})`);
    return found;
  }

  members(): SimulatedMember[] {
    return [...this.#members.values()];
  }

  /**
   * Adds a human (or bot) member with the Member role, or, given `permissions`, a personal role with
   * exactly those (plus @everyone's View Channel / Read History). Dispatches GUILD_MEMBER_ADD.
   */
  addMember(spec: { name: string; id?: string; bot?: boolean; permissions?: bigint }): SimulatedMember {
    const id = spec.id ?? snowflake();
    const user: SimUser = { id, username: spec.name.toLowerCase().replace(/[^a-z0-9_.]/g, '_'), globalName: spec.name, bot: Boolean(spec.bot) };
    const roleIds = spec.permissions !== undefined ? [this.guild.addRole(`${spec.name} role`, spec.permissions)] : [this.memberRoleId];
    this.guild.addMember(user, roleIds);
    const member = new SimulatedMember(id, spec.name, this.#hub);
    this.#members.set(id, member);
    if (this.gateway) {
      for (const roleId of roleIds.filter((r) => r !== this.memberRoleId)) this.gateway.dispatch('GUILD_ROLE_CREATE', { guild_id: this.guildId, role: this.guild.apiRole(roleId) }, Intent.Guilds);
      this.gateway.dispatch('GUILD_MEMBER_ADD', { ...this.guild.apiMember(id), guild_id: this.guildId });
    }
    return member;
  }

  /** Replaces a channel's permission overwrites (CHANNEL_UPDATE). */
  setChannelPermissions(channelId: string, overwrites: ChannelOverwriteSpec[]): void {
    const channel = this.#channel(channelId);
    channel.overwrites = overwrites.map((o) => ({ id: o.id, type: o.type === 'role' ? 0 : 1, allow: o.allow ?? 0n, deny: o.deny ?? 0n }));
    this.gateway.dispatch('CHANNEL_UPDATE', this.guild.apiChannel(channelId), Intent.Guilds);
  }

  /** Sets a voice channel's user limit, 0 = unlimited (CHANNEL_UPDATE). */
  setUserLimit(channelId: string, limit: number): void {
    this.#channel(channelId).userLimit = limit;
    this.gateway.dispatch('CHANNEL_UPDATE', this.guild.apiChannel(channelId), Intent.Guilds);
  }

  /** Sets the bot role's permissions (GUILD_ROLE_UPDATE). */
  setBotPermissions(permissions: bigint): void {
    this.guild.roles.get(this.botRoleId)!.permissions = permissions;
    this.gateway.dispatch('GUILD_ROLE_UPDATE', { guild_id: this.guildId, role: this.guild.apiRole(this.botRoleId) }, Intent.Guilds);
  }

  #channel(channelId: string) {
    const channel = this.guild.channels.get(channelId);
    if (!channel) throw new Error(`no channel ${channelId}`);
    return channel;
  }

  /** Live voice states: every member's channel id, or null when not in voice. */
  voiceStates(): Map<string, string | null> {
    return new Map([...this.guild.members.keys()].map((id) => [id, this.guild.voiceStates.get(id)?.channelId ?? null]));
  }

  botVoiceChannel(): string | null {
    return this.voice.botChannel();
  }

  readonly #hub: MemberHub = (() => {
    const sim = this;
    return {
      get defaultVoiceChannelId() {
        return sim.voiceChannelId;
      },
      setVoiceChannel: (userId: string, channelId: string | null) => sim.voice.setMemberChannel(userId, channelId),
      deliverAudio: (member: SimulatedMember, header: RtpHeader, opus: Buffer) => void sim.voice.deliverAudio(member, header, opus),
      runCommand: (member: SimulatedMember, name: string, options: Record<string, string | number | boolean>, subcommand?: string, channelId?: string) =>
        sim.#chat.runCommand(member, name, options, subcommand, channelId),
      say: (member: SimulatedMember, content: string, options: { mentionBot?: boolean; mentionEveryone?: boolean; channelId?: string }) => sim.#chat.say(member, content, options),
    };
  })();


  /** @internal for routes */
  interactionByToken(token: string): InteractionRecord | undefined {
    return this.recorded.interactions.find((r) => r.token === token);
  }

  /** @internal Stable command ids per name (so INTERACTION_CREATE matches what PUT returned). */
  commandId(name: string): string {
    for (const list of this.commands.values()) for (const c of list) if (c.name === name) return c.id;
    return snowflake();
  }

  applicationPayload(): Record<string, unknown> {
    return { id: this.applicationId, name: this.botUser.username, icon: null, description: '', bot_public: true, bot_require_code_grant: false, verify_key: '0'.repeat(64), flags: 0, bot: this.guild.apiUser(this.botUser) };
  }

  webhookMessage = (message: Parameters<ChatDesk['webhookMessage']>[0], record: InteractionRecord) => this.#chat.webhookMessage(message, record);
  createBotMessage = (channelId: string, body: any) => this.#chat.createBotMessage(channelId, body);
  editBotMessage = (channelId: string, messageId: string, body: any) => this.#chat.editBotMessage(channelId, messageId, body);
  storedMessage = (messageId: string) => this.#chat.stored.get(messageId);
  deleteMessage = (messageId: string) => this.#chat.deleteMessage(messageId);

  /** Stops all servers and closes every socket. */
  async close(): Promise<void> {
    this.gateway.close();
    await this.voice.close();
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }
}

export { SimMessage };
