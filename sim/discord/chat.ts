import { Permission } from './permissions.ts';
import type { APIMessage } from 'discord-api-types/v10';
import { Intent, type GatewaySession } from './gateway.ts';
import type { GuildState } from './guild.ts';
import { randomToken, snowflake } from './ids.ts';
import { InteractionRecord, typeOption, type InteractionMessage } from './interactions.ts';
import type { SimulatedMember } from './member.ts';
import { SimMessage } from './messages.ts';
import type { SimGuild } from './simGuild.ts';
import type { DiscordSimulator } from './simulator.ts';

/**
 * Text side of the simulator, for every guild: members' messages and slash commands, the bot's
 * messages and interaction messages. Each carries the guild and channel ids of where it was sent.
 */
export class ChatDesk {
  /** Every message in the guilds' channels, by id (members' and the bot's). */
  readonly stored = new Map<string, APIMessage>();
  readonly #sim: DiscordSimulator;

  constructor(sim: DiscordSimulator) {
    this.#sim = sim;
  }

  #memberWithoutUser(guild: GuildState, userId: string) {
    const { user: _user, ...member } = guild.apiMember(userId);
    return member;
  }

  /** A member sends a message: MESSAGE_CREATE (content hidden from sessions without MessageContent unless the bot is mentioned). */
  say(where: SimGuild, member: SimulatedMember, content: string, options: { mentionBot?: boolean; mentionEveryone?: boolean; channelId?: string }): SimMessage {
    const sim = this.#sim;
    const guild = where.guild;
    const channelId = options.channelId ?? where.textChannelId;
    // Discord refuses a message where its author cannot see or post (403 Missing Access / Missing
    // Permissions): a test cannot make someone write in a channel hidden from them.
    const permissions = guild.permissionsOf(member.id, channelId);
    if ((permissions & Permission.ViewChannel) === 0n || (permissions & Permission.SendMessages) === 0n) {
      throw new Error(`${member.name} cannot send messages in channel ${channelId} (403 Missing Permissions)`);
    }
    const text = options.mentionBot && !content.includes(`<@${sim.botUserId}>`) ? `<@${sim.botUserId}> ${content}` : content;
    const mentionedIds = [...text.matchAll(/<@!?(\d+)>/g)].map((m) => m[1]!).filter((id, i, all) => all.indexOf(id) === i && guild.members.has(id));
    const message = {
      id: snowflake(),
      channel_id: channelId,
      guild_id: guild.id,
      author: guild.apiUser(guild.members.get(member.id)!.user),
      member: this.#memberWithoutUser(guild, member.id),
      content: text,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: Boolean(options.mentionEveryone),
      mentions: mentionedIds.map((id) => ({ ...guild.apiUser(guild.members.get(id)!.user), member: this.#memberWithoutUser(guild, id) })),
      mention_roles: [],
      attachments: [],
      embeds: [],
      pinned: false,
      type: 0,
      flags: 0,
      components: [],
      nonce: snowflake(),
    } as unknown as APIMessage;
    this.stored.set(message.id, message);
    const mentionsBot = mentionedIds.includes(sim.botUserId);
    // Without the privileged MessageContent intent, Discord blanks content unless the bot is mentioned.
    const hideContent = (session: GatewaySession, d: unknown) =>
      (session.intents & Intent.MessageContent) !== 0 || mentionsBot ? d : { ...(d as object), content: '', embeds: [], attachments: [], components: [] };
    sim.gateway.dispatch('MESSAGE_CREATE', message, Intent.GuildMessages, hideContent);
    return new SimMessage(message.id, channelId, text, sim.botMessages);
  }

  /** A member runs a slash command: INTERACTION_CREATE (type 2) with typed options and resolved channels/users. */
  runCommand(where: SimGuild, member: SimulatedMember, name: string, options: Record<string, string | number | boolean>, subcommand?: string, channelId?: string, focused?: string): InteractionRecord {
    const sim = this.#sim;
    const guild = where.guild;
    const inChannel = channelId ?? where.textChannelId;
    if (focused !== undefined) {
      // Discord sends autocomplete only for an option registered with `autocomplete: true`, whose
      // partial input comes as the focused option's value (a string while typing).
      const registered = sim.registeredOption(name, guild.id, focused, subcommand);
      if (!registered?.autocomplete) throw new Error(`/${name}${subcommand ? ` ${subcommand}` : ''} ${focused}: not registered with autocomplete, Discord would not ask the bot`);
    }
    const typed = Object.entries(options).map(([key, value]) => {
      if (key === focused) return { name: key, type: sim.registeredOptionType(name, guild.id, key, subcommand) ?? 3, value: String(value), focused: true };
      const option = typeOption(key, value, (id) => guild.channels.has(id), (id) => guild.members.has(id), (id) => guild.roles.has(id));
      // A whole number given to a NUMBER option is still a NUMBER (type 10), as Discord sends it.
      if (option.type === 4 && sim.registeredOptionType(name, guild.id, key, subcommand) === 10) return { ...option, type: 10 };
      return option;
    });
    const resolved: { channels?: Record<string, unknown>; users?: Record<string, unknown>; members?: Record<string, unknown>; roles?: Record<string, unknown> } = {};
    for (const option of typed) {
      const id = String(option.value);
      if (option.type === 7) {
        const channel = guild.apiChannel(id) as { name: string; type: number };
        (resolved.channels ??= {})[id] = { id, name: channel.name, type: channel.type, permissions: guild.permissionsOf(member.id, id).toString() };
      } else if (option.type === 6) {
        (resolved.users ??= {})[id] = guild.apiUser(guild.members.get(id)!.user);
        (resolved.members ??= {})[id] = { ...this.#memberWithoutUser(guild, id), permissions: guild.permissionsOf(id, inChannel).toString() };
      } else if (option.type === 8) {
        (resolved.roles ??= {})[id] = guild.apiRole(id);
      }
    }
    const record = new InteractionRecord({ id: snowflake(), token: `aW50ZXJhY3Rpb24${randomToken(48)}`, name, subcommand, options, userId: member.id, guildId: guild.id, channelId: inChannel, autocomplete: focused !== undefined });
    // A guild's own registration of the name wins over the global one; only guild commands carry data.guild_id.
    const command = sim.registeredCommand(name, guild.id);
    sim.recorded.interactions.push(record);
    const payload = {
      id: record.id,
      application_id: sim.applicationId,
      type: focused === undefined ? 2 : 4, // APPLICATION_COMMAND or APPLICATION_COMMAND_AUTOCOMPLETE
      token: record.token,
      version: 1,
      guild_id: guild.id,
      channel_id: inChannel,
      channel: guild.apiChannel(inChannel),
      member: { ...guild.apiMember(member.id), permissions: guild.permissionsOf(member.id, inChannel).toString() },
      app_permissions: guild.permissionsOf(sim.botUserId, inChannel).toString(),
      locale: 'en-US',
      guild_locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': guild.id },
      context: 0,
      attachment_size_limit: 10_485_760,
      data: {
        id: command?.id ?? snowflake(),
        name,
        type: 1,
        ...(command?.guildScoped === false ? {} : { guild_id: guild.id }),
        options: subcommand ? [{ type: 1, name: subcommand, options: typed }] : typed,
        ...(Object.keys(resolved).length > 0 && focused === undefined ? { resolved } : {}),
      },
    };
    sim.gateway.dispatch('INTERACTION_CREATE', payload);
    return record;
  }

  /** The message object returned by webhook routes (interaction responses are webhook messages). */
  webhookMessage(message: InteractionMessage, record: InteractionRecord): APIMessage {
    const sim = this.#sim;
    const guild = sim.guildById(record.guildId)!.guild;
    return {
      id: message.id,
      channel_id: record.channelId,
      author: guild.apiUser(sim.botUser),
      content: message.content,
      timestamp: new Date().toISOString(),
      edited_timestamp: message.history.length > 1 ? new Date().toISOString() : null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: message.embeds,
      pinned: false,
      type: 20, // ChatInputCommand
      flags: message.flags,
      webhook_id: sim.applicationId,
      application_id: sim.applicationId,
      interaction_metadata: { id: record.id, type: 2, user: guild.apiUser(guild.members.get(record.userId)!.user), authorizing_integration_owners: { '0': guild.id } },
      components: [],
    } as unknown as APIMessage;
  }

  /** POST /channels/{id}/messages (the route checked the channel): stores, logs and dispatches MESSAGE_CREATE of the bot's own message. */
  createBotMessage(channelId: string, body: any): APIMessage {
    const sim = this.#sim;
    const guild = sim.guildOfChannel(channelId)!.guild;
    const replyTo = body.message_reference?.message_id ?? null;
    const message = {
      id: snowflake(),
      channel_id: channelId,
      guild_id: guild.id,
      author: guild.apiUser(sim.botUser),
      member: this.#memberWithoutUser(guild, sim.botUserId),
      content: body.content ?? '',
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: Boolean(body.tts),
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: body.embeds ?? [],
      pinned: false,
      type: replyTo ? 19 : 0, // 19 = Reply
      flags: body.flags ?? 0,
      components: body.components ?? [],
      ...(replyTo ? { message_reference: { type: 0, message_id: replyTo, channel_id: channelId, guild_id: guild.id }, referenced_message: this.stored.get(replyTo) ?? null } : {}),
    } as unknown as APIMessage;
    this.stored.set(message.id, message);
    sim.botMessages.add({ id: message.id, channelId, content: message.content, history: [message.content], replyTo, allowedMentions: body.allowed_mentions, createdAt: performance.now(), editedAt: null });
    sim.gateway.dispatch('MESSAGE_CREATE', message, Intent.GuildMessages);
    return message;
  }

  /** PATCH /channels/{id}/messages/{mid}: only the bot's own messages can be edited. */
  editBotMessage(channelId: string, messageId: string, body: any): APIMessage | undefined {
    const sim = this.#sim;
    const stored = this.stored.get(messageId);
    if (!stored || stored.channel_id !== channelId || stored.author.id !== sim.botUserId) return undefined;
    const edited = { ...stored, ...(typeof body.content === 'string' ? { content: body.content } : {}), ...(body.embeds ? { embeds: body.embeds } : {}), edited_timestamp: new Date().toISOString() };
    this.stored.set(messageId, edited);
    sim.botMessages.edit(messageId, body.content);
    sim.gateway.dispatch('MESSAGE_UPDATE', edited, Intent.GuildMessages);
    return edited;
  }

  deleteMessage(messageId: string): boolean {
    const stored = this.stored.get(messageId);
    if (!stored) return false;
    this.stored.delete(messageId);
    this.#sim.gateway.dispatch('MESSAGE_DELETE', { id: messageId, channel_id: stored.channel_id, guild_id: (stored as { guild_id?: string }).guild_id }, Intent.GuildMessages);
    return true;
  }
}
