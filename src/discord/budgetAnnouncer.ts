import type { Client } from 'discord.js';
import type { Logger } from 'pino';
import { noticeText, spokenNotice, type BudgetGuard, type BudgetNotice } from '../budget/index.ts';
import type { SessionRegistry } from '../voice/sessionRegistry.ts';

/** Notices ping nobody. */
const NO_PINGS = { parse: [] as never[] };

/** Options of {@link BudgetAnnouncer}. */
export interface BudgetAnnouncerOptions {
  budget: BudgetGuard;
  sessions: SessionRegistry;
  client: Client;
  logger: Logger;
  now?: () => Date;
}

/**
 * Tells a server about its budget (each notice is given once, see BudgetGuard): in text in the voice
 * channel's chat while the bot is in voice there, else in the channel of the latest mention; and at
 * 100%, also aloud in the voice channel, so the people talking know why the bot went quiet.
 */
export class BudgetAnnouncer {
  readonly #options: BudgetAnnouncerOptions;
  /** Channel of the latest mention per guild (one entry per guild the bot answered in). */
  readonly #mentionChannels = new Map<string, string>();
  readonly #onNotice = (notice: BudgetNotice) => void this.#announce(notice);

  constructor(options: BudgetAnnouncerOptions) {
    this.#options = options;
    options.budget.on('notice', this.#onNotice);
  }

  /** Remembers where a guild last talked to the bot in text (the notices' channel when not in voice). */
  noteMentionChannel(guildId: string, channelId: string): void {
    this.#mentionChannels.set(guildId, channelId);
  }

  /** Stops announcing. */
  detach(): void {
    this.#options.budget.off('notice', this.#onNotice);
  }

  async #announce(notice: BudgetNotice): Promise<void> {
    const { sessions, client, logger } = this.#options;
    const now = this.#options.now?.() ?? new Date();
    const voice = sessions.voiceSession(notice.guildId);
    const log = logger.child({ guildId: notice.guildId });
    log.info({ level: notice.level, scope: notice.line.scope, spentUsd: notice.line.spentUsd, limitUsd: notice.line.limitUsd }, 'budget notice');
    if (notice.level === 100 && voice && voice.status !== 'destroyed') {
      try {
        // After the answer that crossed the limit has played out (it is not cut).
        voice.announce(`Tell the people in the voice channel, in one short sentence and in their language: "${spokenNotice(notice.line)}" Say nothing else.`);
      } catch (error) {
        log.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not say the budget notice');
      }
    }
    const channelId = voice && voice.status !== 'destroyed' ? voice.channelId : this.#mentionChannels.get(notice.guildId);
    if (!channelId) return;
    try {
      const channel = await client.channels.fetch(channelId);
      if (!channel?.isSendable()) throw new Error('not a channel the bot can send to');
      await channel.send({ content: noticeText(notice, now), allowedMentions: NO_PINGS });
    } catch (error) {
      log.warn({ channelId, err: error instanceof Error ? error.message : String(error) }, 'could not post the budget notice');
    }
  }
}
