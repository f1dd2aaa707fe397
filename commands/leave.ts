import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { Command } from './index.ts';
import { NO_PINGS, replyPrivately } from './replies.ts';

const leave: Command = {
  data: new SlashCommandBuilder().setName('leave').setDescription('Leave the voice channel').setContexts(InteractionContextType.Guild).toJSON(),

  async execute(interaction, { sessions }) {
    if (!interaction.inCachedGuild()) return replyPrivately(interaction, 'Use /leave in a server.');
    const channelId = sessions.voiceChannelOf(interaction.guildId);
    if (!channelId) return replyPrivately(interaction, "I'm not in a voice channel here.");
    await interaction.deferReply();
    await sessions.leave(interaction.guildId, 'command');
    await interaction.editReply({ content: `Left <#${channelId}>. Bye!`, allowedMentions: NO_PINGS });
  },
};

export default leave;
