/**
 * The notice the bot posts in a voice channel's text chat when it joins: people in a channel did not
 * all agree to talk to an AI model, so it says what happens to their voice and how to opt out.
 * Admins change or switch it off with /settings.
 */
import type { SendableChannels } from 'discord.js';
import type { Logger } from 'pino';
import type { RoomSettings } from '../store/index.ts';
import { NO_PINGS } from './noPings.ts';

/** The notice unless a server sets its own. */
export const DEFAULT_CONSENT_NOTICE =
  "🎙️ I'm an AI voice assistant. While I'm in this channel, what people say here is sent to an AI model service to be " +
  'transcribed and answered. Prefer not? Use `/privacy opt-out`: I stop hearing you at once and never answer your mentions. ' +
  'Admins can change this notice with `/settings`.';

/** Longest custom notice (Discord messages hold 2,000 characters). */
export const MAX_NOTICE_LENGTH = 1_500;

/** Added to the notice (default or custom) while the server has captions on: people must know their words are posted. */
export const CAPTIONS_NOTICE = '📝 Captions are on: what is said in this channel is posted in this chat (not for people who opted out).';

/** The notice a server posts, or null when its admins switched it off. */
export function consentNoticeText(settings: Pick<RoomSettings, 'notice' | 'noticeText'> & Partial<Pick<RoomSettings, 'captions'>>): string | null {
  if (settings.notice === false) return null;
  const text = settings.noticeText?.trim() || DEFAULT_CONSENT_NOTICE;
  return settings.captions === true ? `${text}\n${CAPTIONS_NOTICE}` : text;
}

/** Posts the notice (no pings); a channel the bot cannot write in is logged, never fatal to the join. */
export async function postConsentNotice(channel: SendableChannels, settings: Pick<RoomSettings, 'notice' | 'noticeText'> & Partial<Pick<RoomSettings, 'captions'>>, logger: Logger): Promise<boolean> {
  const content = consentNoticeText(settings);
  if (content === null) return false;
  try {
    await channel.send({ content, allowedMentions: NO_PINGS });
    return true;
  } catch (error) {
    logger.warn({ channelId: channel.id, err: error instanceof Error ? error.message : String(error) }, 'could not post the consent notice');
    return false;
  }
}
