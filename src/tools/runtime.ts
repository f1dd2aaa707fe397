/**
 * The bot's tools, put together once in the composition root: the registry (function tools of
 * `tools/` and the operator's MCP servers), the per-server switches (cached, stored), the reminders,
 * and a {@link ToolRunner} for each conversation, whose calls run with the rights of the member whose
 * turn asked for them.
 */
import { PermissionFlagsBits, type Client, type GuildMember, type GuildTextBasedChannel, type VoiceBasedChannel } from 'discord.js';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { BotContext } from '../context.ts';
import type { RealtimeClient, ToolSpec } from '../realtime/index.ts';
import type { BotStore, Reminder } from '../store/index.ts';
import { ToolActivity } from './activity.ts';
import { ToolRegistry, mcpKey } from './registry.ts';
import { ReminderService } from './reminders.ts';
import { ToolRunner, type AfterAnswer } from './toolRunner.ts';
import { refuse, type Requester, type ToolContext, type ToolDefinition, type ToolResult } from './types.ts';

/** Options of {@link ToolRuntime}. */
export interface ToolRuntimeOptions {
  definitions: readonly ToolDefinition[];
  config: Config;
  store: BotStore;
  logger: Logger;
  /** The Discord client (reminders are delivered through it; a shard delivers its own guilds' reminders). */
  client: Client;
  /** The bot's context, once it is built (tools use the voice sessions, the store…). */
  bot: () => BotContext;
}

/** Tools of a conversation: its runner and what it did. */
export interface ConversationTools {
  runner: ToolRunner;
  activity: ToolActivity;
}

/** The tools of a bot. */
export class ToolRuntime {
  readonly registry: ToolRegistry;
  readonly reminders: ReminderService;
  readonly #options: ToolRuntimeOptions;
  readonly #log: Logger;
  /** Switched-off tools per guild, as last read or set. */
  readonly #disabled = new Map<string, Set<string>>();
  /** Live conversations' realtime clients per guild, to apply a switch at once. */
  readonly #clients = new Map<string, Set<RealtimeClient>>();

  constructor(options: ToolRuntimeOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'tools' });
    this.registry = new ToolRegistry(options.definitions, options.config.tools.mcpServers);
    if (options.config.realtime.dialect === 'beta' && options.config.tools.mcpServers.length > 0) {
      this.#log.warn({ servers: options.config.tools.mcpServers.length }, 'MCP servers are configured but the beta dialect has no remote MCP tools: they are not offered');
    }
    this.reminders = new ReminderService({
      store: options.store.tools,
      logger: options.logger,
      owns: (guildId) => options.client.guilds.cache.has(guildId),
      deliver: (reminder, lateMs) => this.#deliver(reminder, lateMs),
    });
  }

  /** Reads a guild's switches (once; later reads come from the cache). */
  async load(guildId: string): Promise<ReadonlySet<string>> {
    const cached = this.#disabled.get(guildId);
    if (cached) return cached;
    const disabled = new Set(await this.#options.store.tools.disabledTools(guildId));
    this.#disabled.set(guildId, disabled);
    return disabled;
  }

  /** Whether a tool (or `mcp:LABEL`) is switched on for a guild (as far as known: on until read otherwise). */
  enabled(guildId: string, key: string): boolean {
    return !(this.#disabled.get(guildId)?.has(key) ?? false);
  }

  /** The session tools of a guild (switched-off ones left out). */
  sessionTools(guildId: string): ToolSpec[] {
    return this.registry.specs(this.#disabled.get(guildId) ?? new Set());
  }

  /** Switches a tool on or off for a guild; live conversations there get the new tool list at once. */
  async setEnabled(guildId: string, key: string, enabled: boolean): Promise<void> {
    await this.#options.store.tools.setToolEnabled(guildId, key, enabled);
    const disabled = new Set(await this.load(guildId));
    if (enabled) disabled.delete(key);
    else disabled.add(key);
    this.#disabled.set(guildId, disabled);
    for (const client of this.#clients.get(guildId) ?? []) client.updateSession({ tools: this.sessionTools(guildId) });
  }

  /** Tools for a new conversation of a guild: its session gets the guild's tools, its calls a runner. */
  attach(guildId: string, client: RealtimeClient, logger: Logger): ConversationTools {
    client.updateSession({ tools: this.sessionTools(guildId) });
    let clients = this.#clients.get(guildId);
    if (!clients) this.#clients.set(guildId, (clients = new Set()));
    clients.add(client);
    client.once('closed', () => {
      clients.delete(client);
      if (clients.size === 0 && this.#clients.get(guildId) === clients) this.#clients.delete(guildId);
    });
    if (!this.#disabled.has(guildId)) {
      // Not read yet: read now and apply (calls check the switch again when they run).
      void this.load(guildId)
        .then(() => client.updateSession({ tools: this.sessionTools(guildId) }))
        .catch((error: unknown) => this.#log.warn({ guildId, err: error instanceof Error ? error.message : String(error) }, 'could not read the tool switches'));
    }
    const activity = new ToolActivity();
    const { config } = this.#options;
    const runner = new ToolRunner({
      client,
      logger,
      activity,
      tool: (name) => this.registry.get(name),
      enabled: (name) => this.enabled(guildId, name),
      timeoutMs: config.tools.timeoutMs,
      context: (requester, tool, signal, afterAnswer) => this.#context(requester, tool, signal, afterAnswer, logger),
      mayApprove: (requester) => this.#mayApprove(requester),
    });
    return { runner, activity };
  }

  /** Starts delivering reminders (once the Discord client is ready). */
  start(): void {
    this.reminders.start();
  }

  stop(): void {
    this.reminders.stop();
  }

  async #members(requester: Requester): Promise<GuildMember[]> {
    const { guild } = requester;
    const found = await Promise.all(requester.userIds.map((id) => guild.members.cache.get(id) ?? guild.members.fetch(id).catch(() => null)));
    return found.filter((member): member is GuildMember => member !== null);
  }

  /** Members of the turn who lack the tools permission in the turn's channel. */
  #lacking(requester: Requester, members: GuildMember[]): GuildMember[] {
    const flag = PermissionFlagsBits[this.#options.config.tools.permission as keyof typeof PermissionFlagsBits];
    const channel = requester.guild.channels.cache.get(requester.channelId);
    return members.filter((member) => !(channel ? channel.permissionsFor(member) : member.permissions).has(flag));
  }

  async #context(requester: Requester, tool: ToolDefinition, signal: AbortSignal, afterAnswer: (action: AfterAnswer) => void, log: Logger): Promise<ToolContext | ToolResult> {
    const members = await this.#members(requester);
    if (members.length === 0) return refuse('requester_gone', 'The person who asked is no longer in this server.');
    if (tool.changes) {
      const lacking = this.#lacking(requester, members);
      if (lacking.length > 0) {
        const names = lacking.map((member) => member.displayName).join(', ');
        return refuse('permission_denied', `${names} ${lacking.length > 1 ? 'lack' : 'lacks'} the "${this.#options.config.tools.permission}" permission needed to use ${tool.name} here. Tell them you cannot do it for them.`);
      }
    }
    const bot = this.#options.bot();
    const { guild } = requester;
    const voiceChannelId = bot.sessions.voiceChannelOf(guild.id);
    const voice = voiceChannelId ? guild.channels.cache.get(voiceChannelId) : undefined;
    const voiceChannel = voice?.isVoiceBased() ? (voice as VoiceBasedChannel) : null;
    const turnChannel = guild.channels.cache.get(requester.channelId);
    const textChannel = requester.via === 'text' ? (turnChannel?.isTextBased() ? (turnChannel as GuildTextBasedChannel) : null) : voiceChannel;
    return {
      guild,
      member: members[0]!,
      members,
      via: requester.via,
      voiceChannel,
      textChannel,
      bot,
      reminders: this.reminders,
      afterAnswer,
      signal,
      log: log.child({ tool: tool.name }),
    };
  }

  async #mayApprove(requester: Requester): Promise<{ approve: boolean; reason?: string }> {
    const members = await this.#members(requester);
    if (members.length === 0) return { approve: false, reason: 'the person who asked is no longer in the server' };
    const lacking = this.#lacking(requester, members);
    if (lacking.length === 0) return { approve: true };
    return { approve: false, reason: `${lacking.map((member) => member.displayName).join(', ')} may not use tools that need approval` };
  }

  async #deliver(reminder: Reminder, lateMs: number): Promise<void> {
    const channel = await this.#options.client.channels.fetch(reminder.channelId);
    if (!channel || !channel.isTextBased() || !('send' in channel)) throw new Error('the reminder channel is gone or not a text channel');
    const late = lateMs > 0 ? ` (late by ${Math.round(lateMs / 60_000)} min: I was offline)` : '';
    // Only the member is pinged, whatever the text says.
    await channel.send({ content: `<@${reminder.userId}> ⏰ Reminder: ${reminder.text}${late}`, allowedMentions: { users: [reminder.userId], parse: [] } });
  }
}

export { mcpKey };
