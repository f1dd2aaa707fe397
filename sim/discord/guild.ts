import type { APIChannel, APIGuildMember, APIRole, APIUser, APIVoiceState, GatewayGuildCreateDispatchData } from 'discord-api-types/v10';
import { snowflake } from './ids.ts';
import { computePermissions, EVERYONE_PERMISSIONS, type PermissionOverwrite } from './permissions.ts';

/** A user of the simulated Discord (a human member or the bot). */
export interface SimUser {
  id: string;
  username: string;
  globalName: string | null;
  bot: boolean;
}

/** A guild member: the user, their roles and when they joined. */
export interface SimMemberState {
  user: SimUser;
  nick: string | null;
  roleIds: string[];
  joinedAt: string;
}

/** A text (type 0), voice (type 2) or Stage (type 13) channel. */
export interface SimChannel {
  id: string;
  type: 0 | 2 | 13;
  name: string;
  position: number;
  overwrites: PermissionOverwrite[];
  /** Voice channels: 0 = unlimited. */
  userLimit: number;
  bitrate: number;
}

/** Where a user is in voice (Discord keeps one voice state per user per guild). */
export interface SimVoiceState {
  userId: string;
  channelId: string;
  sessionId: string;
  selfMute: boolean;
  selfDeaf: boolean;
  /** Server-muted by a moderator (`mute`): Discord delivers none of their audio. */
  serverMute?: boolean;
  /** In a Stage's audience (`suppress`): not a speaker, their audio is not delivered. */
  suppress?: boolean;
  /** In a Stage's audience: when they asked to speak (ISO 8601), or null. */
  requestToSpeakAt?: string | null;
}

/**
 * The live state of the one simulated guild: roles, channels, members and voice states. Payload
 * builders turn it into the API shapes discord.js parses, so every dispatch reflects current state.
 */
export class GuildState {
  readonly id: string;
  readonly name: string;
  ownerId = '';
  readonly roles = new Map<string, { name: string; permissions: bigint; position: number }>();
  readonly channels = new Map<string, SimChannel>();
  readonly members = new Map<string, SimMemberState>();
  readonly voiceStates = new Map<string, SimVoiceState>();

  /** `id`: the guild's snowflake (default: a new one); its time bits decide the guild's shard. */
  constructor(name: string, id: string = snowflake()) {
    this.id = id;
    this.name = name;
    // The @everyone role has the guild's id.
    this.roles.set(this.id, { name: '@everyone', permissions: EVERYONE_PERMISSIONS, position: 0 });
  }

  addRole(name: string, permissions: bigint): string {
    const id = snowflake();
    this.roles.set(id, { name, permissions, position: this.roles.size });
    return id;
  }

  addChannel(spec: { type: 0 | 2 | 13; name: string; userLimit?: number }): SimChannel {
    const channel: SimChannel = {
      id: snowflake(),
      type: spec.type,
      name: spec.name,
      position: this.channels.size,
      overwrites: [],
      userLimit: spec.userLimit ?? 0,
      bitrate: 64_000,
    };
    this.channels.set(channel.id, channel);
    return channel;
  }

  addMember(user: SimUser, roleIds: string[] = []): SimMemberState {
    const member: SimMemberState = { user, nick: null, roleIds, joinedAt: new Date().toISOString() };
    this.members.set(user.id, member);
    return member;
  }

  /** The member's permissions, in a channel when given (with its overwrites). */
  permissionsOf(userId: string, channelId?: string): bigint {
    const member = this.members.get(userId);
    const rolePermissions = new Map([...this.roles].map(([id, role]) => [id, role.permissions]));
    return computePermissions({
      guildId: this.id,
      ownerId: this.ownerId,
      userId,
      memberRoleIds: member?.roleIds ?? [],
      rolePermissions,
      overwrites: channelId ? this.channels.get(channelId)?.overwrites : undefined,
    });
  }

  /** User ids currently in a voice channel. */
  usersInVoice(channelId: string): string[] {
    return [...this.voiceStates.values()].filter((v) => v.channelId === channelId).map((v) => v.userId);
  }

  apiUser(user: SimUser): APIUser {
    return {
      id: user.id,
      username: user.username,
      discriminator: '0',
      global_name: user.globalName,
      avatar: null,
      bot: user.bot,
      system: false,
      public_flags: 0,
      flags: 0,
    } as unknown as APIUser;
  }

  apiMember(userId: string): APIGuildMember {
    const member = this.members.get(userId);
    if (!member) throw new Error(`no member ${userId}`);
    return {
      user: this.apiUser(member.user),
      nick: member.nick,
      avatar: null,
      banner: null,
      roles: member.roleIds,
      joined_at: member.joinedAt,
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
      communication_disabled_until: null,
    } as unknown as APIGuildMember;
  }

  apiRole(id: string): APIRole {
    const role = this.roles.get(id)!;
    return {
      id,
      name: role.name,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      position: role.position,
      permissions: role.permissions.toString(),
      managed: false,
      mentionable: false,
      flags: 0,
    } as unknown as APIRole;
  }

  apiChannel(id: string): APIChannel {
    const channel = this.channels.get(id);
    if (!channel) throw new Error(`no channel ${id}`);
    const base = {
      id,
      type: channel.type,
      guild_id: this.id,
      name: channel.name,
      position: channel.position,
      parent_id: null,
      nsfw: false,
      flags: 0,
      permission_overwrites: channel.overwrites.map((o) => ({ id: o.id, type: o.type, allow: o.allow.toString(), deny: o.deny.toString() })),
    };
    if (channel.type === 2 || channel.type === 13) {
      return { ...base, bitrate: channel.bitrate, user_limit: channel.userLimit, rtc_region: null, video_quality_mode: 1, rate_limit_per_user: 0, last_message_id: null } as APIChannel;
    }
    return { ...base, topic: null, rate_limit_per_user: 0, last_message_id: null } as APIChannel;
  }

  apiVoiceState(userId: string): APIVoiceState {
    const state = this.voiceStates.get(userId);
    return {
      guild_id: this.id,
      channel_id: state?.channelId ?? null,
      user_id: userId,
      member: this.apiMember(userId),
      session_id: state?.sessionId ?? '',
      deaf: false,
      mute: state?.serverMute ?? false,
      self_deaf: state?.selfDeaf ?? false,
      self_mute: state?.selfMute ?? false,
      self_video: false,
      suppress: state?.suppress ?? false,
      request_to_speak_timestamp: state?.requestToSpeakAt ?? null,
    };
  }

  /** GUILD_CREATE: the whole guild including members (with the bot), channels, roles and voice states. */
  guildCreate(botUserId: string): GatewayGuildCreateDispatchData {
    const voiceStates = [...this.voiceStates.keys()].map((userId) => {
      const { guild_id: _omit, ...rest } = this.apiVoiceState(userId);
      return rest;
    });
    return {
      id: this.id,
      name: this.name,
      icon: null,
      splash: null,
      discovery_splash: null,
      owner_id: this.ownerId,
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: [...this.roles.keys()].map((id) => this.apiRole(id)),
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      preferred_locale: 'en-US',
      public_updates_channel_id: null,
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
      safety_alerts_channel_id: null,
      joined_at: this.members.get(botUserId)?.joinedAt ?? new Date().toISOString(),
      large: false,
      unavailable: false,
      member_count: this.members.size,
      voice_states: voiceStates,
      members: [...this.members.keys()].map((id) => this.apiMember(id)),
      channels: [...this.channels.keys()].map((id) => this.apiChannel(id)),
      threads: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    } as unknown as GatewayGuildCreateDispatchData;
  }
}
