import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { Command } from './index.ts';
import { NO_PINGS, replyPrivately } from './replies.ts';

const leave: Command = {
  data: new SlashCommandBuilder().setName('leave').setDescription('Leave the voice channel').setContexts(InteractionContextType.Guild).toJSON(),

  async execute(interaction, { sessions }) {
    if (!interaction.inCachedGuild()) return replyPrivately(interaction, 'Use /leave in a server.');
    if (!sessions.voiceChannelOf(interaction.guildId) && !sessions.voiceOperationPending(interaction.guildId)) {
      return replyPrivately(interaction, "I'm not in a voice channel here.");
    }
    await interaction.deferReply();
    // Waits for a /join under way, then leaves whatever channel that ended in.
    const left = await sessions.leave(interaction.guildId, 'command');
    await interaction.editReply({ content: left ? `Left <#${left}>. Bye!` : "I'm not in a voice channel here.", allowedMentions: NO_PINGS });
  },
};

export default leave;
