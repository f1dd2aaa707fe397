/**
 * Stage channels: everyone arrives in the audience (suppressed) and only speakers are heard. The bot
 * asks once per arrival, as a polite guest would: a bot holding Mute Members there (a Stage
 * moderator) makes itself a speaker; otherwise it raises its hand (Request to Speak) and waits for a
 * moderator to invite it; without either permission it just listens. What a moderator decides later
 * (back to the audience, the hand lowered) stands: the bot does not ask again until it arrives anew.
 * Discord's rules (developer docs, Modify Current User Voice State): unsuppressing oneself needs Mute
 * Members, requesting needs Request to Speak; a bot unsuppressed by a moderator speaks at once.
 */
import { ChannelType, PermissionFlagsBits, type VoiceState } from 'discord.js';
import type { Logger } from 'pino';

/** What the bot did on arriving in a Stage's audience. */
export type StageRequest = 'unsuppressed' | 'requested' | 'not-allowed';

/** Becomes a speaker (Mute Members), else asks to speak (Request to Speak), else does nothing. */
export async function askToSpeak(own: VoiceState): Promise<StageRequest> {
  const me = own.member;
  const permissions = me ? own.channel?.permissionsFor(me) : null;
  if (permissions?.has(PermissionFlagsBits.MuteMembers)) {
    await own.setSuppressed(false);
    return 'unsuppressed';
  }
  if (permissions?.has(PermissionFlagsBits.RequestToSpeak)) {
    await own.setRequestToSpeak(true);
    return 'requested';
  }
  return 'not-allowed';
}

/** Asks to speak once per arrival in a Stage (per voice session; see the file comment). */
export class StageSpeaker {
  /** The Stage the bot last arrived in (asked there already), or null when not in a Stage. */
  #arrivedIn: string | null = null;
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** The bot's own voice state changed. */
  update(own: VoiceState): void {
    if (own.channel?.type !== ChannelType.GuildStageVoice) {
      this.#arrivedIn = null;
      return;
    }
    if (this.#arrivedIn === own.channelId) return;
    this.#arrivedIn = own.channelId;
    if (!own.suppress || own.requestToSpeakTimestamp !== null) return;
    const log = this.#logger.child({ guildId: own.guild.id, channelId: own.channelId });
    askToSpeak(own).then(
      (outcome) => log.info({ outcome }, outcome === 'not-allowed' ? 'in the Stage audience without Request to Speak: listening only' : 'arrived in the Stage audience: asked to speak'),
      (error: unknown) => log.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not ask to speak in the Stage'),
    );
  }
}
