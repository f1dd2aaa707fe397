import { EventEmitter } from 'node:events';
import type { Message } from 'discord.js';
import type { Logger } from 'pino';
import { refusalText } from '../budget/index.ts';
import type { BotContext } from '../context.ts';
import type { ResponseHandle } from '../realtime/index.ts';
import { NO_PINGS } from './noPings.ts';
import { SlidingWindowLimiter } from './rateLimiter.ts';
import { StreamedReply } from './streamedReply.ts';

/** Discord shows "typing…" for about 10 s per call. */
const TYPING_REFRESH_MS = 8_000;
/** Longest a mention waits for its whole answer by default (a long streamed answer takes ~20 s). */
const DEFAULT_ANSWER_TIMEOUT_MS = 90_000;

/** Options of {@link MentionHandler}. */
export interface MentionHandlerOptions {
  /** Longest time from the mention to the end of the answer; then the bot apologises (default 90 s). */
  answerTimeoutMs?: number;
  /** Learns where each guild last talked to the bot (budget notices go there when it is not in voice). */
  onMention?: (guildId: string, channelId: string) => void;
}

/**
 * How a message ended up: not for the bot, refused by the rate limit, an empty mention, refused because
 * the server's spend limit is used up, answered, apologised for, or from a member who opted out (/privacy).
 */
export type MentionOutcome = 'ignored' | 'rateLimited' | 'empty' | 'overBudget' | 'answered' | 'failed' | 'optedOut';

/** Events of {@link MentionHandler}. */
export interface MentionHandlerEvents {
  /** A message was dealt with completely (its reply, if any, fully written). */
  handled: [{ messageId: string; outcome: MentionOutcome }];
}

/** An answer that did not finish within the handler's timeout. */
class AnswerTimeout extends Error {}

/**
 * Answers `@bot question` in text channels: in the guild's voice conversation when one is active
 * (voice and text share context), else in a text-only conversation. Shows typing while waiting,
 * streams the answer into edits, splits past 2,000 characters, pings nobody, limits each user's rate.
 */
export class MentionHandler extends EventEmitter<MentionHandlerEvents> {
  readonly #context: BotContext;
  readonly #limiter: SlidingWindowLimiter;
  readonly #log: Logger;
  readonly #answerTimeoutMs: number;

  readonly #onMention: ((guildId: string, channelId: string) => void) | undefined;

  constructor(context: BotContext, options: MentionHandlerOptions = {}) {
    super();
    this.#context = context;
    this.#answerTimeoutMs = options.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS;
    this.#onMention = options.onMention;
    this.#limiter = new SlidingWindowLimiter(context.config.mentionRateLimit.count, context.config.mentionRateLimit.windowMs);
    this.#log = context.logger.child({ component: 'mentions' });
  }

  /** Whether a message is addressed to the bot (a direct mention by a human in a guild). */
  static isAddressedTo(message: Message, botUserId: string): boolean {
    if (message.author.bot || message.webhookId || !message.inGuild()) return false;
    // @everyone/@here and role mentions don't count: only a mention of the bot itself.
    return message.mentions.users.has(botUserId);
  }

  /** Handles a message; never throws (errors become a short reply or a log line). Emits `handled` when done. */
  async handle(message: Message): Promise<void> {
    const outcome = await this.#handle(message);
    this.emit('handled', { messageId: message.id, outcome });
  }

  async #handle(message: Message): Promise<MentionOutcome> {
    const botUserId = message.client.user?.id;
    if (!botUserId || !MentionHandler.isAddressedTo(message, botUserId) || !message.inGuild()) return 'ignored';
    // A member who opted out with /privacy is never sent to the model (nor is the server's when its choices cannot be read).
    const optedOut = await this.#context.sessions.rooms.load(message.guildId).then(
      (policy) => policy.isOptedOut(message.author.id),
      () => null,
    );
    if (optedOut !== false) {
      const content = optedOut ? "You've opted out with `/privacy`, so I don't read or answer your messages. Use `/privacy opt-in` to change that." : "Sorry, I can't answer right now.";
      await message.reply({ content, allowedMentions: NO_PINGS }).catch(() => undefined);
      return optedOut ? 'optedOut' : 'failed';
    }
    const waitMs = this.#limiter.hit(message.author.id);
    if (waitMs > 0) {
      if (this.#limiter.shouldNotify(message.author.id)) {
        await message
          .reply({ content: `You're asking a lot at once: try again in ${Math.ceil(waitMs / 1000)} s.`, allowedMentions: NO_PINGS })
          .catch(() => undefined);
      }
      return 'rateLimited';
    }
    const question = message.content.replace(new RegExp(`<@!?${botUserId}>`, 'g'), '').trim();
    if (question.length === 0) {
      await message.reply({ content: 'Yes? Ask me something after the mention.', allowedMentions: NO_PINGS }).catch(() => undefined);
      return 'empty';
    }
    this.#onMention?.(message.guildId, message.channelId);
    // A server past its spend limit gets the reason instead of an answer (nothing is asked of the model).
    const refusal = await this.#context.budget.refusal(message.guildId).catch(() => null);
    if (refusal) {
      await message.reply({ content: refusalText(refusal, new Date()), allowedMentions: NO_PINGS }).catch(() => undefined);
      return 'overBudget';
    }
    const name = message.member?.displayName ?? message.author.displayName;
    const typing = setInterval(() => void message.channel.sendTyping().catch(() => undefined), TYPING_REFRESH_MS);
    void message.channel.sendTyping().catch(() => undefined);
    const reply = new StreamedReply<Message>({
      sendFirst: (content) => message.reply({ content, allowedMentions: NO_PINGS }),
      sendNext: (content) => message.channel.send({ content, allowedMentions: NO_PINGS }),
      edit: async (sent, content) => {
        await sent.edit({ content, allowedMentions: NO_PINGS });
      },
    });
    // Every way out — answered, failed, closed conversation, timeout — stops typing and says something.
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new AnswerTimeout()), this.#answerTimeoutMs);
    });
    let handle: ResponseHandle | undefined;
    try {
      const conversation = await Promise.race([this.#context.sessions.conversationForText(message.guildId), timedOut]);
      handle = await Promise.race([conversation.askText(name, question), timedOut]);
      handle.on('text', (delta) => {
        clearInterval(typing);
        reply.append(delta);
      });
      const result = await Promise.race([handle.done, timedOut]);
      const fallback = result.status === 'completed' ? '(no answer)' : `Sorry, I couldn't answer that (${result.status}).`;
      await reply.finish(fallback);
      return result.status === 'completed' ? 'answered' : 'failed';
    } catch (error) {
      const timeout = error instanceof AnswerTimeout;
      handle?.cancel();
      this.#log.warn(
        { guildId: message.guildId, reason: timeout ? `no answer within ${this.#answerTimeoutMs} ms` : error instanceof Error ? error.message : String(error) },
        'mention reply failed',
      );
      if (timeout) reply.append(reply.text.trim().length === 0 ? "Sorry, I couldn't answer in time." : ' … (cut short: it took too long)');
      await reply.finish("Sorry, I can't answer right now: the AI model is unavailable.");
      return 'failed';
    } finally {
      clearTimeout(timer);
      clearInterval(typing);
    }
  }
}
