import type { VoiceBasedChannel } from 'discord.js';
import { AloneWatch } from './aloneWatch.ts';
import type { RoomPolicy } from './roomPolicy.ts';
import { speakerLabel, toSpeakerLabel, type SpeakerLabel } from './speakerLabels.ts';

/**
 * The channel a voice session is in and the people there: who the room policy lets be heard, how
 * each is labelled for the model, and the timer that ends the session once no human is left.
 */
export class ChannelPresence {
  readonly #room: RoomPolicy;
  readonly #alone: AloneWatch;
  #channel: VoiceBasedChannel;
  #stopped = false;

  /** `onAlone` runs once no human has been in the channel for `aloneTimeoutMs`. */
  constructor(channel: VoiceBasedChannel, room: RoomPolicy, aloneTimeoutMs: number, onAlone: () => void) {
    this.#channel = channel;
    this.#room = room;
    this.#alone = new AloneWatch(aloneTimeoutMs, onAlone);
  }

  /** The channel the bot is in, as discord.js knows it. */
  get channel(): VoiceBasedChannel {
    return this.#channel;
  }

  /** The bot is in `channel` now (a move it asked for, or one Discord made); call {@link check} once its members are known. */
  moved(channel: VoiceBasedChannel): void {
    this.#channel = channel;
  }

  /** When the bot leaves because no human is in the channel (Date.now() ms), or null while someone is. */
  get leavesAloneAt(): number | null {
    return this.#alone.leavesAt;
  }

  /** A human whose voice the room policy lets reach the model (checked at every new receive subscription). */
  mayHear(userId: string): boolean {
    const member = this.#channel.guild.members.cache.get(userId);
    return member !== undefined && this.#room.hears({ id: userId, bot: member.user.bot, roleIds: [...member.roles.cache.keys()] });
  }

  /** A person's speaker label (see speakerLabels.ts). */
  label(userId: string): SpeakerLabel {
    const members = this.#channel.guild.members.cache;
    const member = members.get(userId);
    return member ? speakerLabel(member, members.values()) : toSpeakerLabel(`user ${userId}`);
  }

  /** Re-arms or disarms the alone timer (call whenever who is in the channel may have changed). */
  check(): void {
    if (this.#stopped) return;
    this.#alone.update(this.#channel.members.some((member) => !member.user.bot));
  }

  /** The session ended: the timer is disarmed for good. */
  stop(): void {
    this.#stopped = true;
    this.#alone.stop();
  }
}
