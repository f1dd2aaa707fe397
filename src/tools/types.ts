/**
 * What a tool is (one file per tool in `tools/`, like the slash commands in `commands/`) and what it
 * gets when it runs: the members whose turn asked for it, where that turn happened, and the bot.
 */
import type { Guild, GuildMember, GuildTextBasedChannel, VoiceBasedChannel } from 'discord.js';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { BotContext } from '../context.ts';
import type { ReminderService } from './reminders.ts';

/** A function tool the model can call. */
export interface ToolDefinition<Args extends z.ZodObject = z.ZodObject> {
  /** Name the model calls it by: 1-64 lowercase letters, digits and `_`. */
  name: string;
  /** What it does and when to use it, for the model (and in /tools list). */
  description: string;
  /** Its arguments; turned into the JSON Schema the model sees, and checked before `execute`. */
  parameters: Args;
  /**
   * Whether it changes anything (posts, leaves, stores…): then every member of the asking turn needs
   * the configured permission (TOOLS_PERMISSION), and the tool checks their rights where it acts.
   */
  changes: boolean;
  /** Longest it may run before the model gets a timeout result (default TOOL_TIMEOUT_SECONDS). */
  timeoutMs?: number;
  /**
   * Runs the tool. Returns what the model is told (an object is sent as JSON). A refusal is a result
   * ({@link refuse}), never an exception; a thrown error becomes an error result too.
   */
  execute(args: z.infer<Args>, context: ToolContext): Promise<ToolResult>;
}

/**
 * Declares a tool (one per file in `tools/`), with its arguments typed from its schema:
 * `export default defineTool({ name, description, parameters: z.object({…}), changes, execute })`.
 */
export function defineTool<Args extends z.ZodObject>(tool: ToolDefinition<Args>): ToolDefinition {
  return tool as unknown as ToolDefinition;
}

/** What the model is told: `{ ok: true, … }` or a refusal / error `{ ok: false, error, message }`. */
export type ToolResult = { ok: true; [key: string]: unknown } | { ok: false; error: string; message: string };

/** A successful result with the given fields. */
export function done(fields: Record<string, unknown> = {}): ToolResult {
  return { ok: true, ...fields };
}

/** A refusal or failure the model should explain to the person (`error` is a short machine-readable code). */
export function refuse(error: string, message: string): ToolResult {
  return { ok: false, error, message };
}

/** Who asked, and where: the turn a response answers. */
export interface Requester {
  guild: Guild;
  /** User ids of the turn's speakers in order of first appearance (one for a text mention). */
  userIds: string[];
  via: 'voice' | 'text';
  /** The channel of the turn: the voice channel, or the text channel of the mention. */
  channelId: string;
}

/** What a tool gets when it runs. */
export interface ToolContext {
  guild: Guild;
  /** The member the tool acts for: the (first) speaker of the turn, or the author of the mention. */
  member: GuildMember;
  /** Every member of the turn (several people may speak in one voice turn). */
  members: GuildMember[];
  via: 'voice' | 'text';
  /** The voice channel the bot is in here, if any. */
  voiceChannel: VoiceBasedChannel | null;
  /** Where to post: the channel of the mention, or the voice channel's text chat. */
  textChannel: GuildTextBasedChannel | null;
  bot: BotContext;
  reminders: ReminderService;
  /**
   * Runs `action` once the answer is over (the follow-up spoken or written): e.g. leaving the channel
   * after saying goodbye. Errors are logged.
   */
  afterAnswer(action: () => void | Promise<void>): void;
  /** Aborted when the tool's time is up (its late result is ignored). */
  signal: AbortSignal;
  /**
   * When the tool's time is up (`performance.now()` ms; set by the call runner). A tool whose work
   * may finish later anyway (a post queued behind Discord's rate limit) returns an honest result before it.
   */
  deadline?: number;
  log: Logger;
}
