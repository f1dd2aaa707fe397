import type { Logger } from 'pino';
import type { ChatDesk } from './chat.ts';
import { createFaults, type Faults } from './faults.ts';
import { Intent, type GatewayServer } from './gateway.ts';
import { GuildState, type SimUser } from './guild.ts';
import { snowflake } from './ids.ts';
import { SimulatedMember, type MemberHub } from './member.ts';
import { DEFAULT_MEMBER_PERMISSIONS, Permission } from './permissions.ts';
import { apiError, type RestReply } from './rest.ts';
import type { EncryptionMode, RtpHeader } from './rtp.ts';
import type { ChannelOverwriteSpec } from './types.ts';
import { VoiceHub } from './voiceHub.ts';
import type { SendTiming } from './voiceUdp.ts';

/** What a guild shares with the rest of its simulator (one bot, one gateway, one chat desk). */
export interface SimGuildInit {
  /** Position in `sim.guilds` (0 = the first guild). */
  index: number;
  /**
   * When the guild was created (ms since the Unix epoch; its id's timestamp). The simulator gives guild i
   * `first - i`, read from the clock once, so consecutive guilds land on consecutive shards.
   */
  createdAt: number;
  name: string;
  gateway: GatewayServer;
  botUser: SimUser;
  botPermissions: bigint;
  /** Human members; an `Owner` member owning the guild is added first. */
  members: { name: string; id?: string }[];
  encryptionModes: EncryptionMode[];
  /** DAVE protocol version of voice channels (1 as on Discord; 0 only for reference measurements). */
  daveVersion: number;
  chat: ChatDesk;
  /** User ids of every human member of the simulator, so that ids stay unique across guilds. */
  userIds: Set<string>;
  /** Usernames taken in the simulator: unique, as on Discord (display names need not be). */
  usernames: Set<string>;
  logger: Logger;
}

/**
 * One guild of the simulator: its state (roles, channels, members, voice states), its simulated
 * members, and its own voice hub (voice servers) for the bot's voice session in this guild.
 */
export class SimGuild {
  readonly index: number;
  readonly guild: GuildState;
  readonly guildId: string;
  readonly textChannelId: string;
  readonly voiceChannelId: string;
  readonly secondVoiceChannelId: string;
  /** A Stage channel: DAVE does not cover Stage, so its voice sessions negotiate DAVE version 0. */
  readonly stageChannelId: string;
  readonly botRoleId: string;
  /** The role humans get unless `addMember` is given explicit permissions. */
  readonly memberRoleId: string;
  readonly botUserId: string;
  readonly gateway: GatewayServer;
  /** This guild's voice state and voice servers (the bot's voice session in this guild). */
  readonly voice: VoiceHub;
  /** Failure injection for this guild's voice session (gateway faults act on the shared gateway). */
  readonly faults: Faults;
  readonly #members = new Map<string, SimulatedMember>();
  readonly #userIds: Set<string>;
  readonly #usernames: Set<string>;
  readonly #chat: ChatDesk;

  constructor(init: SimGuildInit) {
    this.index = init.index;
    this.gateway = init.gateway;
    this.botUserId = init.botUser.id;
    this.#userIds = init.userIds;
    this.#usernames = init.usernames;
    this.#chat = init.chat;
    this.guild = new GuildState(init.name, snowflake(init.createdAt));
    this.guildId = this.guild.id;
    this.memberRoleId = this.guild.addRole('Member', DEFAULT_MEMBER_PERMISSIONS);
    this.botRoleId = this.guild.addRole(init.botUser.username, init.botPermissions);
    this.textChannelId = this.guild.addChannel({ type: 0, name: 'general' }).id;
    this.voiceChannelId = this.guild.addChannel({ type: 2, name: 'Voice' }).id;
    this.secondVoiceChannelId = this.guild.addChannel({ type: 2, name: 'Second Voice' }).id;
    this.stageChannelId = this.guild.addChannel({ type: 13, name: 'Stage' }).id;
    this.voice = new VoiceHub({
      modes: init.encryptionModes,
      gateway: this.gateway,
      guild: this.guild,
      botUserId: this.botUserId,
      members: () => this.#members.values(),
      logger: init.logger,
      daveVersion: init.daveVersion,
    });
    this.faults = createFaults(this);
    const owner = this.addMember({ name: 'Owner' });
    this.guild.ownerId = owner.id;
    this.guild.addMember(init.botUser, [this.botRoleId]);
    // A given id is used in the first guild only: user ids are unique across the simulator.
    for (const spec of init.members) this.addMember({ name: spec.name, id: this.index === 0 ? spec.id : undefined });
  }

  /** A member of this guild by display name (or id). */
  member(name: string): SimulatedMember {
    const found = [...this.#members.values()].find((m) => m.name === name || m.id === name);
    if (!found) throw new Error(`no simulated member named ${name} in guild ${this.index} (have ${this.members().map((m) => m.name).join(', ')})`);
    return found;
  }

  /** This guild's members (the Owner first), without the bot. */
  members(): SimulatedMember[] {
    return [...this.#members.values()];
  }

  /**
   * Adds a human (or bot) member with the Member role, or, given `permissions`, a personal role with
   * exactly those (plus @everyone's View Channel / Read History). Dispatches GUILD_MEMBER_ADD.
   * `name` is the display name (the user's global name); `nick` a server nickname shown instead.
   * The username is unique in the simulator as on Discord (2–32 of `a-z 0-9 _ .`): `username`, or
   * one made from the name (`sam`, then `sam_2`, …). Throws if `id` or `username` is already taken.
   */
  addMember(spec: { name: string; id?: string; bot?: boolean; permissions?: bigint; nick?: string; username?: string }): SimulatedMember {
    const id = spec.id ?? snowflake();
    if (this.#userIds.has(id) || id === this.botUserId) throw new Error(`user id ${id} is already taken in this simulator`);
    if (spec.username !== undefined && (this.#usernames.has(spec.username) || !/^[a-z0-9_.]{2,32}$/.test(spec.username))) {
      throw new Error(`username ${spec.username} is taken or not a valid Discord username`);
    }
    this.#userIds.add(id);
    const base = spec.name.toLowerCase().replace(/[^a-z0-9_.]/g, '_').slice(0, 28).padEnd(2, '_');
    let username = spec.username ?? base;
    for (let n = 2; this.#usernames.has(username); n++) username = `${base}_${n}`;
    this.#usernames.add(username);
    const user: SimUser = { id, username, globalName: spec.name, bot: Boolean(spec.bot) };
    const roleIds = spec.permissions !== undefined ? [this.guild.addRole(`${spec.name} role`, spec.permissions)] : [this.memberRoleId];
    this.guild.addMember(user, roleIds).nick = spec.nick ?? null;
    const member = new SimulatedMember(id, spec.name, this.#hub);
    this.#members.set(id, member);
    for (const roleId of roleIds.filter((r) => r !== this.memberRoleId)) this.gateway.dispatch('GUILD_ROLE_CREATE', { guild_id: this.guildId, role: this.guild.apiRole(roleId) }, Intent.Guilds);
    this.gateway.dispatch('GUILD_MEMBER_ADD', { ...this.guild.apiMember(id), guild_id: this.guildId });
    return member;
  }

  /** Adds a text channel (e.g. a staff-only `#staff`), with `overwrites` if given (CHANNEL_CREATE); returns its id. */
  addTextChannel(name: string, overwrites: ChannelOverwriteSpec[] = []): string {
    const channel = this.guild.addChannel({ type: 0, name });
    channel.overwrites = overwrites.map((o) => ({ id: o.id, type: o.type === 'role' ? 0 : 1, allow: o.allow ?? 0n, deny: o.deny ?? 0n }));
    this.gateway.dispatch('CHANNEL_CREATE', this.guild.apiChannel(channel.id), Intent.Guilds);
    return channel.id;
  }

  /** Replaces a channel's permission overwrites (CHANNEL_UPDATE). */
  setChannelPermissions(channelId: string, overwrites: ChannelOverwriteSpec[]): void {
    const channel = this.#channel(channelId);
    channel.overwrites = overwrites.map((o) => ({ id: o.id, type: o.type === 'role' ? 0 : 1, allow: o.allow ?? 0n, deny: o.deny ?? 0n }));
    this.gateway.dispatch('CHANNEL_UPDATE', this.guild.apiChannel(channelId), Intent.Guilds);
  }

  /**
   * A moderator server-mutes (`mute`) or moves to a Stage's audience (`suppress`) someone in voice —
   * the bot by default: VOICE_STATE_UPDATE with `mute`/`suppress`; their audio is no longer delivered.
   */
  moderateVoice(changes: { mute?: boolean; suppress?: boolean }, userId = this.botUserId): void {
    const state = this.guild.voiceStates.get(userId);
    if (!state) throw new Error(`user ${userId} is not in voice in guild ${this.index}`);
    if (changes.mute !== undefined) state.serverMute = changes.mute;
    if (changes.suppress !== undefined) {
      if (this.guild.channels.get(state.channelId)?.type !== 13) throw new Error('Cannot execute action on this channel type (50024): suppress is for Stage channels');
      state.suppress = changes.suppress;
      // Discord (Modify User Voice State): unsuppressed, a human is invited (their request_to_speak_timestamp
      // set to now, they accept themselves); a bot is not, it speaks at once; suppressed, the request is removed.
      state.requestToSpeakAt = !changes.suppress && userId !== this.botUserId ? new Date().toISOString() : null;
    }
    this.gateway.dispatch('VOICE_STATE_UPDATE', this.guild.apiVoiceState(userId), Intent.GuildVoiceStates);
  }

  /**
   * A moderator with Move Members drags someone in voice — the bot by default — into another voice
   * or Stage channel, or disconnects them (`null`), as Discord does it (see VoiceHub.moveBotByModerator;
   * a disconnect of the bot is Faults.kickBotFromVoice). Throws as Discord refuses (40032) when they are not in voice.
   */
  moderatorMoves(channelId: string | null, userId = this.botUserId): void {
    if (!this.guild.voiceStates.has(userId)) throw new Error(`Target user is not connected to voice. (40032): ${userId}`);
    if (userId !== this.botUserId) return this.voice.setMemberChannel(userId, channelId);
    if (channelId === null) return this.faults.kickBotFromVoice();
    this.voice.moveBotByModerator(channelId);
  }

  /**
   * `PATCH /guilds/{guild}/voice-states/@me` (Modify Current User Voice State), with Discord's caveats
   * (developer docs, Voice resource): `channel_id` must be a Stage the user is in; unsuppressing
   * oneself needs Mute Members there; asking to speak (`request_to_speak_timestamp`) needs Request to
   * Speak; suppressing oneself or clearing the request is always allowed. 204, then VOICE_STATE_UPDATE.
   */
  modifyOwnVoiceState(userId: string, body: { channel_id?: unknown; suppress?: unknown; request_to_speak_timestamp?: unknown }): RestReply {
    const state = this.guild.voiceStates.get(userId);
    if (!state) return apiError(404, 10065, 'Unknown Voice State');
    const channelId = typeof body?.channel_id === 'string' ? body.channel_id : null;
    if (channelId === null || channelId !== state.channelId) return apiError(400, 50035, 'Invalid Form Body', { channel_id: { _errors: [{ code: 'BASE_TYPE_CHOICES', message: 'Not connected to this channel.' }] } });
    if (this.guild.channels.get(channelId)?.type !== 13) return apiError(400, 50024, 'Cannot execute action on this channel type');
    const permissions = this.guild.permissionsOf(userId, channelId);
    const { suppress, request_to_speak_timestamp: requested } = body;
    if (suppress !== undefined && typeof suppress !== 'boolean') return apiError(400, 50035, 'Invalid Form Body');
    if (requested !== undefined && requested !== null && (typeof requested !== 'string' || Number.isNaN(Date.parse(requested)))) return apiError(400, 50035, 'Invalid Form Body');
    if (suppress === false && state.suppress && (permissions & Permission.MuteMembers) === 0n) return apiError(403, 50013, 'Missing Permissions');
    if (typeof requested === 'string' && (permissions & Permission.RequestToSpeak) === 0n) return apiError(403, 50013, 'Missing Permissions');
    if (typeof suppress === 'boolean') state.suppress = suppress;
    if (requested !== undefined) state.requestToSpeakAt = requested as string | null;
    this.gateway.dispatch('VOICE_STATE_UPDATE', this.guild.apiVoiceState(userId), Intent.GuildVoiceStates);
    return { status: 204 };
  }

  /** Sets a voice channel's user limit, 0 = unlimited (CHANNEL_UPDATE). */
  setUserLimit(channelId: string, limit: number): void {
    this.#channel(channelId).userLimit = limit;
    this.gateway.dispatch('CHANNEL_UPDATE', this.guild.apiChannel(channelId), Intent.Guilds);
  }

  /** Sets the bot role's permissions in this guild (GUILD_ROLE_UPDATE). */
  setBotPermissions(permissions: bigint): void {
    this.guild.roles.get(this.botRoleId)!.permissions = permissions;
    this.gateway.dispatch('GUILD_ROLE_UPDATE', { guild_id: this.guildId, role: this.guild.apiRole(this.botRoleId) }, Intent.Guilds);
  }

  #channel(channelId: string) {
    const channel = this.guild.channels.get(channelId);
    if (!channel) throw new Error(`no channel ${channelId} in guild ${this.index}`);
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
    const guild = this;
    return {
      get defaultVoiceChannelId() {
        return guild.voiceChannelId;
      },
      setVoiceChannel: (userId: string, channelId: string | null) => guild.voice.setMemberChannel(userId, channelId),
      deliverAudio: (member: SimulatedMember, header: RtpHeader, opus: Buffer, timing?: SendTiming) => void guild.voice.deliverAudio(member, header, opus, timing),
      runCommand: (member: SimulatedMember, name: string, options: Record<string, string | number | boolean>, subcommand?: string, channelId?: string, focused?: string) =>
        guild.#chat.runCommand(guild, member, name, options, subcommand, channelId, focused),
      say: (member: SimulatedMember, content: string, options: { mentionBot?: boolean; mentionEveryone?: boolean; channelId?: string }) => guild.#chat.say(guild, member, content, options),
    };
  })();
}
