import { EventEmitter } from 'node:events';
import { waitUntil } from './wait.ts';

/** A message the bot created in a channel, with its edits. */
export interface BotMessage {
  id: string;
  channelId: string;
  content: string;
  /** Contents in order: the created one, then each edit. */
  history: string[];
  /** `message_reference.message_id` if it replies to a message. */
  replyTo: string | null;
  allowedMentions: unknown;
  createdAt: number;
  editedAt: number | null;
}

/**
 * Messages the bot posted (created via REST, edited via PATCH). Emits `change` after each create or
 * edit so {@link SimMessage} waits can re-check.
 */
export class BotMessageLog extends EventEmitter {
  readonly byId = new Map<string, BotMessage>();

  add(message: BotMessage): void {
    this.byId.set(message.id, message);
    this.emit('change');
  }

  edit(id: string, content: string | undefined): BotMessage | undefined {
    const message = this.byId.get(id);
    if (!message) return undefined;
    if (content !== undefined) {
      message.content = content;
      message.history.push(content);
    }
    message.editedAt = performance.now();
    this.emit('change');
    return message;
  }

  repliesTo(messageId: string): BotMessage[] {
    return [...this.byId.values()].filter((m) => m.replyTo === messageId);
  }
}

/** A message a simulated member sent (MESSAGE_CREATE); lets a test wait for the bot's replies to it. */
export class SimMessage {
  readonly id: string;
  readonly channelId: string;
  readonly content: string;
  readonly sentAt = performance.now();
  readonly #log: BotMessageLog;

  constructor(id: string, channelId: string, content: string, log: BotMessageLog) {
    this.id = id;
    this.channelId = channelId;
    this.content = content;
    this.#log = log;
  }

  /** The bot's messages replying to this one (message_reference), with current content after edits. */
  replies(): BotMessage[] {
    return this.#log.repliesTo(this.id);
  }

  /** Resolves with the first reply satisfying `predicate` (default: any reply), checking after every create/edit. */
  waitForReply(predicate: (reply: BotMessage) => boolean = () => true, timeoutMs = 10_000): Promise<BotMessage> {
    return waitUntil(this.#log, 'change', () => this.replies().find(predicate), timeoutMs, () => `a reply to message ${this.id} (replies: ${JSON.stringify(this.replies().map((r) => r.content))})`);
  }
}
