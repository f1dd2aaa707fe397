import { InteractionContextType, PermissionFlagsBits, SlashCommandBuilder } from 'discord.js';
import type { Command } from './index.ts';
import { NO_PINGS, hasSettingsPermission, quoteBlock, replyPrivately } from './replies.ts';

/** Discord's own cap on a string option; our configured limit is checked at run time. */
const OPTION_MAX = 6_000;

/** Removes control characters that mean nothing in instructions (keeps newlines and tabs). */
export function cleanInstructionText(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '').trim();
}

const instructions: Command = {
  data: new SlashCommandBuilder()
    .setName('instructions')
    .setDescription("Show or change the bot's persona for this server")
    .setContexts(InteractionContextType.Guild)
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
    .addSubcommand((sub) => sub.setName('show').setDescription('Show the current instructions'))
    .addSubcommand((sub) =>
      sub
        .setName('set')
        .setDescription('Replace the instructions')
        .addStringOption((option) => option.setName('text').setDescription('New instructions').setRequired(true).setMaxLength(OPTION_MAX)),
    )
    .addSubcommand((sub) =>
      sub
        .setName('append')
        .setDescription('Add to the instructions')
        .addStringOption((option) => option.setName('text').setDescription('Text to add').setRequired(true).setMaxLength(OPTION_MAX)),
    )
    .addSubcommand((sub) => sub.setName('reset').setDescription('Go back to the default instructions'))
    .toJSON(),

  async execute(interaction, { store, sessions, config }) {
    if (!interaction.inCachedGuild()) return replyPrivately(interaction, 'Use /instructions in a server.');
    const guildId = interaction.guildId;
    const sub = interaction.options.getSubcommand(true);
    // Discord only sends registered subcommands, but stale registrations or a forged payload may not.
    if (!['show', 'set', 'append', 'reset'].includes(sub)) {
      return replyPrivately(interaction, 'Unknown subcommand: use /instructions show, set, append or reset.');
    }
    const saved = (await store.getSettings(guildId)).instructions;
    const current = saved ?? config.defaultInstructions;

    if (sub === 'show') {
      const origin = saved === null ? 'default' : 'custom';
      return replyPrivately(interaction, `Current instructions (${origin}, ${current.length} characters):\n${quoteBlock(current)}`);
    }

    // Server admins may loosen the command's default permission in Server Settings → Integrations;
    // changing the persona still needs the configured permission.
    if (!hasSettingsPermission(interaction, config.instructionsPermission)) return replyPrivately(interaction, `You need the ${config.instructionsPermission} permission to change the instructions.`);

    let next: string | null;
    if (sub === 'reset') {
      next = null;
    } else {
      const text = cleanInstructionText(interaction.options.getString('text', true));
      if (text.length === 0) return replyPrivately(interaction, 'The text is empty.');
      next = sub === 'append' ? `${current}\n${text}` : text;
      if (next.length > config.instructionsMaxChars) {
        return replyPrivately(
          interaction,
          `That would make the instructions ${next.length} characters long; the limit is ${config.instructionsMaxChars}. Shorten it or use /instructions set.`,
        );
      }
    }
    await store.updateSettings(guildId, { instructions: next });
    const effective = next ?? config.defaultInstructions;
    const live = sessions.applyInstructions(guildId, effective);
    const where = live ? ' Applied to the conversation in progress.' : '';
    const what = sub === 'reset' ? 'Instructions reset to the default.' : `Instructions ${sub === 'append' ? 'extended' : 'updated'} (${effective.length} characters).`;
    await interaction.reply({ content: `${what}${where}`, allowedMentions: NO_PINGS });
  },
};

export default instructions;
