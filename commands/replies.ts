import { MessageFlags, PermissionFlagsBits, type ChatInputCommandInteraction, type InteractionReplyOptions } from 'discord.js';
import type { PermissionName } from '../src/config.ts';
import { NO_PINGS } from '../src/discord/noPings.ts';

export { NO_PINGS } from '../src/discord/noPings.ts';

/** Replies (or edits a deferred reply) with a message only the caller sees, and no pings. */
export async function replyPrivately(interaction: ChatInputCommandInteraction, content: string): Promise<void> {
  const options: InteractionReplyOptions = { content, allowedMentions: NO_PINGS, flags: MessageFlags.Ephemeral };
  if (interaction.deferred) await interaction.editReply({ content, allowedMentions: NO_PINGS });
  else if (interaction.replied) await interaction.followUp(options);
  else await interaction.reply(options);
}

/** Shows user-provided text safely: inside a code block that cannot be closed early, cut to `max` characters. */
export function quoteBlock(text: string, max = 1_700): string {
  const safe = text.replaceAll('```', '`\u200b``');
  const shown = safe.length > max ? `${safe.slice(0, max)}…` : safe;
  const more = safe.length > max ? `\n(${safe.length - max} more characters not shown)` : '';
  return `\`\`\`\n${shown}\n\`\`\`${more}`;
}

/**
 * Whether the caller holds the configured permission (INSTRUCTIONS_PERMISSION, default ManageGuild)
 * needed to change server-wide settings (persona, voice, moving the bot out of a call, Stage
 * channels). Checked at run time because server admins may loosen a command's default permission in
 * Server Settings → Integrations. Checked **server-wide** (`member.permissions`: roles, owner,
 * Administrator), never with the channel's overwrites (`interaction.memberPermissions`): a member
 * given Manage Channels on one voice channel (as temp-voice bots do) must not change the whole
 * server's settings from that channel's chat.
 */
export function hasSettingsPermission(interaction: ChatInputCommandInteraction<'cached'>, permission: PermissionName): boolean {
  // The name was validated against PermissionFlagsBits once, in config (no fallback that hides a typo).
  return interaction.member.permissions.has(PermissionFlagsBits[permission]);
}
