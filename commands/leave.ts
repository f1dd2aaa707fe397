import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import { canSeeVoiceChannel } from '../src/discord/voiceAccess.ts';
import type { Command } from './index.ts';
import { NO_PINGS, replyPrivately } from './replies.ts';

/** What a member hears when the bot is in no voice channel they can see. */
const NOT_IN_A_VISIBLE_CHANNEL = "I'm not in a voice channel you can see.";

const leave: Command = {
  data: new SlashCommandBuilder().setName('leave').setDescription('Leave the voice channel').setContexts(InteractionContextType.Guild).toJSON(),

  async execute(interaction, { sessions }) {
    if (!interaction.inCachedGuild()) return replyPrivately(interaction, 'Use /leave in a server.');
    const guild = interaction.guild;
    // Only members who can see the bot's channel (or are in it) may end the call; others learn
    // nothing about it (the same answer as when the bot is in no channel they can see).
    const allowed = (channelId: string) => {
      const channel = guild.channels.cache.get(channelId);
      return channel?.isVoiceBased() === true && canSeeVoiceChannel(interaction.member, channel);
    };
    const current = sessions.voiceChannelOf(interaction.guildId);
    if ((!current || !allowed(current)) && !sessions.voiceOperationPending(interaction.guildId)) {
      return replyPrivately(interaction, NOT_IN_A_VISIBLE_CHANNEL);
    }
    await interaction.deferReply();
    // Waits for a /join under way, then decides (under the guild's lock) on whatever channel that ended in.
    const left = await sessions.leaveIf(interaction.guildId, 'command', allowed);
    const content = left === null || left === 'refused' ? NOT_IN_A_VISIBLE_CHANNEL : `Left <#${left}>. Bye!`;
    await interaction.editReply({ content, allowedMentions: NO_PINGS });
  },
};

export default leave;
