import { InteractionContextType, PermissionFlagsBits, SlashCommandBuilder } from 'discord.js';
import { SUPPORTED_VOICES, voicesFor } from '../src/config.ts';
import type { Command } from './index.ts';
import { NO_PINGS, hasSettingsPermission, replyPrivately } from './replies.ts';

const voice: Command = {
  data: new SlashCommandBuilder()
    .setName('voice')
    .setDescription("Choose the bot's voice for this server")
    .setContexts(InteractionContextType.Guild)
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
    .addStringOption((option) =>
      option
        .setName('name')
        .setDescription('Voice')
        .setRequired(true)
        .addChoices(...SUPPORTED_VOICES.map((name) => ({ name, value: name }))),
    )
    .toJSON(),

  async execute(interaction, { store, sessions, config }) {
    if (!interaction.inCachedGuild()) return replyPrivately(interaction, 'Use /voice in a server.');
    if (!hasSettingsPermission(interaction, config.instructionsPermission)) {
      return replyPrivately(interaction, `You need the ${config.instructionsPermission} permission to change the voice.`);
    }
    const name = interaction.options.getString('name', true);
    const available = voicesFor(config.realtime.dialect);
    if (!available.includes(name)) {
      const why = (SUPPORTED_VOICES as readonly string[]).includes(name) ? `${name} is not available on this model service (beta dialect). ` : 'Unknown voice. ';
      return replyPrivately(interaction, `${why}Choose one of: ${available.join(', ')}.`);
    }
    await store.updateSettings(interaction.guildId, { voice: name });
    const outcome = sessions.applyVoice(interaction.guildId, name);
    // The model cannot change its voice once it has spoken in a session (cannot_update_voice).
    const when =
      outcome === 'applied'
        ? 'It applies now.'
        : outcome === 'after-reply'
          ? 'The conversation switches to it after the current reply (a fresh model session carrying the conversation).'
          : 'It will be used from the next conversation.';
    await interaction.reply({ content: `Voice set to **${name}**. ${when}`, allowedMentions: NO_PINGS });
  },
};

export default voice;
