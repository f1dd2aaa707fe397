import { EventEmitter } from 'node:events';
import type { RecordedRequest } from './types.ts';
import { waitUntil } from './wait.ts';

/** Interaction callback types discord.js sends (4 reply, 5 deferReply, 6 deferUpdate, 7 update, 9 modal). */
export const CallbackType = { Reply: 4, DeferReply: 5, DeferUpdate: 6, Update: 7, AutocompleteResult: 8, Modal: 9 } as const;
/** Message flag: only the invoking user sees the message. */
export const EPHEMERAL = 64;

/** A message the bot posted through the interaction (original response or follow-up). */
export interface InteractionMessage {
  id: string;
  content: string;
  flags: number;
  embeds: unknown[];
  /** Every content the message had, in order (reply, then each edit). */
  history: string[];
}

/**
 * Everything the bot did for one slash command: the callback and every webhook request with its
 * token, in order. Tests await {@link waitForResponse} or {@link waitFor}.
 */
export class InteractionRecord extends EventEmitter {
  readonly id: string;
  readonly token: string;
  readonly name: string;
  readonly subcommand: string | undefined;
  readonly options: Record<string, string | number | boolean>;
  readonly userId: string;
  /** The guild and channel the command was run in. */
  readonly guildId: string;
  readonly channelId: string;
  /** `performance.now()` when INTERACTION_CREATE was dispatched. */
  readonly createdAt = performance.now();
  /** The callback/webhook requests for this interaction, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** The first accepted callback (type 4/5/...), with when it came. */
  callback: { type: number; data: any; at: number } | null = null;
  /** The original response message, once there is one (reply, or edit after a deferral). */
  original: InteractionMessage | null = null;
  readonly followUps: InteractionMessage[] = [];
  /** True if the bot's callback came after the acknowledgement deadline and was refused (10062). */
  expired = false;
  /** An autocomplete interaction (type 4): answered only with choices (callback type 8). */
  readonly autocomplete: boolean;

  constructor(init: { id: string; token: string; name: string; subcommand?: string; options: Record<string, string | number | boolean>; userId: string; guildId: string; channelId: string; autocomplete?: boolean }) {
    super();
    this.autocomplete = init.autocomplete ?? false;
    this.id = init.id;
    this.token = init.token;
    this.name = init.name;
    this.subcommand = init.subcommand;
    this.options = init.options;
    this.userId = init.userId;
    this.guildId = init.guildId;
    this.channelId = init.channelId;
  }

  /** True once acknowledged. */
  get acknowledged(): boolean {
    return this.callback !== null;
  }

  /** Whether the response is ephemeral (flag 64 on the callback). */
  get ephemeral(): boolean {
    return ((Number(this.callback?.data?.flags ?? 0)) & EPHEMERAL) !== 0;
  }

  /** The current text of the original response ('' while only deferred). */
  get content(): string {
    return this.original?.content ?? '';
  }

  /** All text the bot showed for this interaction: original then follow-ups. */
  get texts(): string[] {
    return [this.original?.content ?? '', ...this.followUps.map((m) => m.content)].filter((t) => t !== '');
  }

  /** @internal Called by the REST layer after each request for this interaction. */
  noteRequest(request: RecordedRequest): void {
    this.requests.push(request);
    this.emit('change');
  }

  /** Resolves with the callback once the bot acknowledged (reply or defer). */
  waitForResponse(timeoutMs = 5_000): Promise<{ type: number; data: any; at: number }> {
    return waitUntil(this, 'change', () => this.callback ?? undefined, timeoutMs, () => `a response to /${this.name}`);
  }

  /** The choices the bot offered for an autocomplete interaction (waits for its answer). */
  async waitForChoices(timeoutMs = 5_000): Promise<{ name: string; value: string | number }[]> {
    const callback = await this.waitForResponse(timeoutMs);
    return callback.data?.choices ?? [];
  }

  /** Resolves once `predicate(this)` holds (checked after each request), e.g. `r => r.content.includes('Joined')`. */
  waitFor(predicate: (record: InteractionRecord) => boolean, timeoutMs = 10_000): Promise<InteractionRecord> {
    return waitUntil(this, 'change', () => (predicate(this) ? this : undefined), timeoutMs, () => `/${this.name} to satisfy the predicate (content so far: ${JSON.stringify(this.texts)})`);
  }

  /** Resolves with the original response's text once it is non-empty (after a reply or an editReply). */
  async waitForContent(timeoutMs = 10_000): Promise<string> {
    await this.waitFor((r) => r.content !== '', timeoutMs);
    return this.content;
  }
}

/** An option value typed as Discord types it (application command option types). */
export interface TypedOption {
  name: string;
  type: number;
  value: string | number | boolean;
}

/** Option types: 3 string, 4 integer, 5 boolean, 6 user, 7 channel, 8 role, 10 number. */
export function typeOption(name: string, value: string | number | boolean, isChannel: (id: string) => boolean, isUser: (id: string) => boolean, isRole: (id: string) => boolean = () => false): TypedOption {
  if (typeof value === 'boolean') return { name, type: 5, value };
  if (typeof value === 'number') return { name, type: Number.isInteger(value) ? 4 : 10, value };
  if (isChannel(value)) return { name, type: 7, value };
  if (isUser(value)) return { name, type: 6, value };
  if (isRole(value)) return { name, type: 8, value };
  return { name, type: 3, value };
}
