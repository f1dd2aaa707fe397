import { EventEmitter } from 'node:events';
import { PermissionFlagsBits, type Message } from 'discord.js';
import type { Logger } from 'pino';
import { refusalText } from '../budget/index.ts';
import type { BotContext } from '../context.ts';
import type { ResponseHandle, ResponseResult } from '../realtime/index.ts';
import { CapacityError } from '../voice/sessionRegistry.ts';
import { speakerLabel, toSpeakerLabel } from '../voice/speakerLabels.ts';
import { sharesVoiceConversation } from './audience.ts';
import { NO_PINGS } from './noPings.ts';
import { NoticeThrottle, SlidingWindowLimiter } from './rateLimiter.ts';
import { StreamedReply } from './streamedReply.ts';

/** Discord shows "typing…" for about 10 s per call. */
const TYPING_REFRESH_MS = 8_000;
/** Longest a mention waits for its whole answer by default (a long streamed answer takes ~20 s). */
const DEFAULT_ANSWER_TIMEOUT_MS = 90_000;
/**
 * One "busy" notice per channel this often. Discord lets a bot post about 5 messages per 5 s in a
 * channel: under a flood, a refusal per mention would use that up (85 refusals took ~85 s in
 * bench/flood.ts) and the answers would wait behind them.
 */
const BUSY_NOTICE_INTERVAL_MS = 15_000;

/** Options of {@link MentionHandler}. */
export interface MentionHandlerOptions {
  /** Longest time from the mention to the end of the answer; then the bot apologises (default 90 s). */
  answerTimeoutMs?: number;
  /** Learns where each guild last talked to the bot (budget notices go there when it is not in voice). */
  onMention?: (guildId: string, channelId: string) => void;
}

/**
 * How a message ended up: not for the bot, refused by the rate limit, in a channel where the bot may
 * not answer, an empty mention, refused because the server's spend limit is used up or its queue of
 * questions is full, answered, apologised for, or from a member who opted out (/privacy).
 */
export type MentionOutcome = 'ignored' | 'rateLimited' | 'noPermission' | 'empty' | 'overBudget' | 'busy' | 'answered' | 'failed' | 'optedOut';

/** Events of {@link MentionHandler}. */
export interface MentionHandlerEvents {
  /** A message was dealt with completely (its reply, if any, fully written). */
  handled: [{ messageId: string; outcome: MentionOutcome }];
}

/** An answer that did not finish within the handler's timeout. */
class AnswerTimeout extends Error {}

/**
 * Answers `@bot question` in text channels: in the guild's voice conversation when the channel's
 * readers are exactly those who can see the voice channel (audience.ts), else in the channel's own
 * text-only conversation. Shows typing while waiting,
 * streams the answer into edits, splits past 2,000 characters, pings nobody, limits each user's rate.
 */
export class MentionHandler extends EventEmitter<MentionHandlerEvents> {
  readonly #context: BotContext;
  readonly #limiter: SlidingWindowLimiter;
  readonly #busyNotices = new NoticeThrottle(BUSY_NOTICE_INTERVAL_MS);
  readonly #log: Logger;
  readonly #answerTimeoutMs: number;
  /** Questions waiting or being answered, per guild (bounded by MENTION_QUEUE_LIMIT). */
  readonly #waiting = new Map<string, number>();

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
    // Nothing is spent on an answer the bot could not post (its own Send Messages in this channel).
    if (!canAnswerIn(message)) {
      this.#log.info({ guildId: message.guildId, channelId: message.channelId }, 'mention ignored: no permission to send messages here');
      return 'noPermission';
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
    // Per server, a bounded number of questions wait or are answered at once; the rest are refused
    // politely, with one notice per channel at a time (see BUSY_NOTICE_INTERVAL_MS).
    const waiting = this.#waiting.get(message.guildId) ?? 0;
    if (waiting >= this.#context.config.mentionQueueLimit) {
      this.#log.info({ guildId: message.guildId, waiting }, 'mention refused: too many questions waiting in this server');
      if (this.#busyNotices.allow(message.channelId)) {
        await message.reply({ content: "I'm busy with several questions in this server already: please ask again in a minute.", allowedMentions: NO_PINGS }).catch(() => undefined);
      }
      return 'busy';
    }
    this.#waiting.set(message.guildId, waiting + 1);
    try {
      return await this.#answer(message, question);
    } finally {
      const left = (this.#waiting.get(message.guildId) ?? 1) - 1;
      if (left > 0) this.#waiting.set(message.guildId, left);
      else this.#waiting.delete(message.guildId);
    }
  }

  async #answer(message: Message<true>, question: string): Promise<MentionOutcome> {
    // Told apart from look-alike names of the members the bot knows; never taken from the text.
    const name = message.member ? speakerLabel(message.member, message.guild.members.cache.values()) : toSpeakerLabel(message.author.displayName);
    // "typing…" only for the question being answered: it starts when the question's turn comes.
    let typing: NodeJS.Timeout | undefined;
    const startTyping = () => {
      void message.channel.sendTyping().catch(() => undefined);
      typing = setInterval(() => void message.channel.sendTyping().catch(() => undefined), TYPING_REFRESH_MS);
    };
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
      // The voice conversation only where the channel's readers are exactly those who can see the
      // voice channel (audience.ts); anywhere else the channel's own conversation.
      const sharesVoice = (voiceChannelId: string) => {
        const voiceChannel = message.guild.channels.cache.get(voiceChannelId);
        return voiceChannel !== undefined && sharesVoiceConversation(message.channel, voiceChannel);
      };
      const conversation = await Promise.race([this.#context.sessions.conversationForText(message.guildId, message.channelId, sharesVoice), timedOut]);
      const requester = { guild: message.guild, userIds: [message.author.id], via: 'text' as const, channelId: message.channelId };
      handle = await Promise.race([conversation.askText(name, question, requester), timedOut]);
      startTyping();
      let result!: ResponseResult;
      // The answer may go on in follow-up responses after tool calls: all of it goes into the reply.
      for (let current: ResponseHandle | null = handle; current; ) {
        handle = current;
        current.on('text', (delta) => {
          clearInterval(typing);
          reply.append(delta);
        });
        result = await Promise.race([current.done, timedOut]);
        current = await Promise.race([conversation.continuationOf(current), timedOut]);
        if (current && reply.text.length > 0 && !/\s$/.test(reply.text)) reply.append('\n');
      }
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
      await reply.finish(error instanceof CapacityError ? error.message : "Sorry, I can't answer right now: the AI model is unavailable.");
      return 'failed';
    } finally {
      clearTimeout(timer);
      clearInterval(typing);
    }
  }
}

/** Whether the bot may post its answer where `message` was sent (View Channel and Send Messages, in threads Send Messages in Threads). */
function canAnswerIn(message: Message<true>): boolean {
  const me = message.guild.members.me;
  const permissions = me ? message.channel.permissionsFor(me) : null;
  if (!permissions) return false;
  const send = message.channel.isThread() ? PermissionFlagsBits.SendMessagesInThreads : PermissionFlagsBits.SendMessages;
  return permissions.has(PermissionFlagsBits.ViewChannel) && permissions.has(send);
}
