/**
 * Who may see or act on the bot's voice call. Discord draws the line: a member who cannot see a voice
 * channel must learn nothing about the call in it from the bot (/status), nor end it (/leave), and a
 * call with people in it is theirs (/join elsewhere does not take the bot away from them).
 */
import { ChannelType, PermissionFlagsBits, type GuildMember, type VoiceBasedChannel } from 'discord.js';

/** Whether `member` is in `channel` or could see it (View Channel there, overwrites included). */
export function canSeeVoiceChannel(member: GuildMember, channel: VoiceBasedChannel): boolean {
  if (member.voice.channelId === channel.id) return true;
  return channel.permissionsFor(member)?.has(PermissionFlagsBits.ViewChannel) ?? false;
}

/** Humans (not bots) in a voice channel, other than `except`. */
export function peopleInCall(channel: VoiceBasedChannel, except?: string): number {
  return channel.members.filter((member) => !member.user.bot && member.id !== except).size;
}

/**
 * Whether `member` may move the bot out of `current` (the channel it is in): yes when nobody else is
 * in that call, when the member is in it, or when they hold the server's settings permission
 * (`hasSettingsPermission`, server-wide).
 */
export function mayMoveBotOutOf(current: VoiceBasedChannel, member: GuildMember, hasSettingsPermission: boolean): boolean {
  if (hasSettingsPermission) return true;
  if (member.voice.channelId === current.id) return true;
  return peopleInCall(current, member.id) === 0;
}

/** Whether a channel is a Stage channel (a talk to an audience, not a conversation). */
export function isStageChannel(channel: VoiceBasedChannel): boolean {
  return channel.type === ChannelType.GuildStageVoice;
}
