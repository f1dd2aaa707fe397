import type { Message } from 'discord.js';
import type { Logger } from 'pino';
import type { BotContext } from '../context.ts';
import { SlidingWindowLimiter } from './rateLimiter.ts';
import { StreamedReply } from './streamedReply.ts';

/** Replies never ping anyone, not even the person asked. */
const NO_PINGS = { parse: [] as never[], repliedUser: false };
/** Discord shows "typing…" for about 10 s per call. */
const TYPING_REFRESH_MS = 8_000;

/**
 * Answers `@bot question` in text channels: in the guild's voice conversation when one is active
 * (voice and text share context), else in a text-only conversation. Shows typing while waiting,
 * streams the answer into edits, splits past 2,000 characters, pings nobody, limits each user's rate.
 */
export class MentionHandler {
  readonly #context: BotContext;
  readonly #limiter: SlidingWindowLimiter;
  readonly #log: Logger;

  constructor(context: BotContext) {
    this.#context = context;
    this.#limiter = new SlidingWindowLimiter(context.config.mentionRateLimit.count, context.config.mentionRateLimit.windowMs);
    this.#log = context.logger.child({ component: 'mentions' });
  }

  /** Whether a message is addressed to the bot (a direct mention by a human in a guild). */
  static isAddressedTo(message: Message, botUserId: string): boolean {
    if (message.author.bot || message.webhookId || !message.inGuild()) return false;
    // @everyone/@here and role mentions don't count: only a mention of the bot itself.
    return message.mentions.users.has(botUserId);
  }

  /** Handles a message; never throws (errors become a short reply or a log line). */
  async handle(message: Message): Promise<void> {
    const botUserId = message.client.user?.id;
    if (!botUserId || !MentionHandler.isAddressedTo(message, botUserId) || !message.inGuild()) return;
    const waitMs = this.#limiter.hit(message.author.id);
    if (waitMs > 0) {
      if (this.#limiter.shouldNotify(message.author.id)) {
        await message
          .reply({ content: `You're asking a lot at once: try again in ${Math.ceil(waitMs / 1000)} s.`, allowedMentions: NO_PINGS })
          .catch(() => undefined);
      }
      return;
    }
    const question = message.content.replace(new RegExp(`<@!?${botUserId}>`, 'g'), '').trim();
    if (question.length === 0) {
      await message.reply({ content: 'Yes? Ask me something after the mention.', allowedMentions: NO_PINGS }).catch(() => undefined);
      return;
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
    try {
      const conversation = await this.#context.sessions.conversationForText(message.guildId);
      const handle = await conversation.askText(name, question);
      handle.on('text', (delta) => {
        clearInterval(typing);
        reply.append(delta);
      });
      const result = await handle.done;
      const fallback = result.status === 'completed' ? '(no answer)' : `Sorry, I couldn't answer that (${result.status}).`;
      await reply.finish(fallback);
    } catch (error) {
      this.#log.warn({ guildId: message.guildId, err: error instanceof Error ? error.message : String(error) }, 'mention reply failed');
      await reply.finish(`Sorry, the AI model is unavailable right now.`);
    } finally {
      clearInterval(typing);
    }
  }
}
