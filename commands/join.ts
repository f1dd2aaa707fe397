import { ChannelType, InteractionContextType, PermissionFlagsBits, SlashCommandBuilder, type GuildBasedChannel } from 'discord.js';
import { JoinError } from '../src/voice/sessionRegistry.ts';
import type { Command } from './index.ts';
import { NO_PINGS, replyPrivately } from './replies.ts';

const join: Command = {
  data: new SlashCommandBuilder()
    .setName('join')
    .setDescription('Join a voice channel and start talking (defaults to your current channel)')
    .setContexts(InteractionContextType.Guild)
    .addChannelOption((option) =>
      option
        .setName('channel')
        .setDescription('Voice channel to join')
        .addChannelTypes(ChannelType.GuildVoice, ChannelType.GuildStageVoice)
        .setRequired(false),
    )
    .toJSON(),

  async execute(interaction, { sessions }) {
    if (!interaction.inCachedGuild()) return replyPrivately(interaction, 'Use /join in a server.');
    const member = interaction.member;
    const chosen = interaction.options.getChannel('channel');
    const channel: GuildBasedChannel | null | undefined = chosen ? interaction.guild.channels.cache.get(chosen.id) : member.voice.channel;
    if (!channel) return replyPrivately(interaction, 'Join a voice channel first, or pick one with `/join channel:`.');
    if (!channel.isVoiceBased()) return replyPrivately(interaction, `<#${channel.id}> is not a voice channel.`);

    // Cheap checks first, answered privately before anything slow happens.
    const callerPermissions = channel.permissionsFor(member);
    if (!callerPermissions.has(PermissionFlagsBits.ViewChannel) || !callerPermissions.has(PermissionFlagsBits.Connect)) {
      return replyPrivately(interaction, `You can't connect to <#${channel.id}>, so I won't join it for you.`);
    }
    const me = interaction.guild.members.me;
    const botPermissions = me ? channel.permissionsFor(me) : null;
    const missing = [
      ['View Channel', PermissionFlagsBits.ViewChannel],
      ['Connect', PermissionFlagsBits.Connect],
      ['Speak', PermissionFlagsBits.Speak],
    ]
      .filter(([, flag]) => !botPermissions?.has(flag as bigint))
      .map(([name]) => name);
    if (missing.length > 0) {
      return replyPrivately(interaction, `I'm missing the ${missing.join(', ')} permission${missing.length > 1 ? 's' : ''} in <#${channel.id}>.`);
    }
    const alreadyThere = me?.voice.channelId === channel.id;
    if (!alreadyThere && channel.userLimit > 0 && channel.members.size >= channel.userLimit && !botPermissions?.has(PermissionFlagsBits.MoveMembers)) {
      return replyPrivately(interaction, `<#${channel.id}> is full (${channel.userLimit} people).`);
    }

    // Connecting can take seconds: acknowledge first so Discord never says "the application did not respond".
    await interaction.deferReply();
    try {
      const result = await sessions.join(channel, member);
      const verb = result === 'moved' ? 'Moved to' : result === 'already' ? "I'm already in" : 'Joined';
      await interaction.editReply({ content: `${verb} <#${channel.id}>. Talk to me!`, allowedMentions: NO_PINGS });
    } catch (error) {
      const message = error instanceof JoinError ? error.message : 'Something went wrong while joining; please try again.';
      await interaction.editReply({ content: `Couldn't join <#${channel.id}>: ${message}`, allowedMentions: NO_PINGS });
    }
  },
};

export default join;
