import { ChannelType, InteractionContextType, PermissionFlagsBits, SlashCommandBuilder, type GuildBasedChannel } from 'discord.js';
import { refusalText } from '../src/budget/index.ts';
import { postConsentNotice } from '../src/discord/consentNotice.ts';
import { JoinError, type JoinResult } from '../src/voice/sessionRegistry.ts';
import type { Command } from './index.ts';
import { mayCarryConversation, sharesVoiceConversation } from '../src/discord/audience.ts';
import { isStageChannel, mayMoveBotOutOf } from '../src/discord/voiceAccess.ts';
import { NO_PINGS, hasSettingsPermission, replyPrivately } from './replies.ts';

/** How the reply starts for each outcome of a join. */
const JOINED: Record<JoinResult, string> = {
  joined: 'Joined',
  moved: 'Moved to',
  already: "I'm already in",
  reconnected: 'Reconnected to the AI model in',
};

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

  async execute(interaction, { sessions, budget, logger, config }) {
    if (!interaction.inCachedGuild()) return replyPrivately(interaction, 'Use /join in a server.');
    const log = logger.child({ guildId: interaction.guildId, command: 'join', by: interaction.user.id });
    /** Every /join that does not happen is logged (at warn, with the reason) and answered privately. */
    const refuse = (reason: string, message: string) => {
      log.warn({ reason }, 'join refused');
      return replyPrivately(interaction, message);
    };
    const member = interaction.member;
    const chosen = interaction.options.getChannel('channel');
    const channel: GuildBasedChannel | null | undefined = chosen ? interaction.guild.channels.cache.get(chosen.id) : member.voice.channel;
    if (!channel) return refuse('no voice channel given or joined', 'Join a voice channel first, or pick one with `/join channel:`.');
    if (!channel.isVoiceBased()) return refuse('not a voice channel', `<#${channel.id}> is not a voice channel.`);
    const room = await sessions.rooms.load(interaction.guildId).catch(() => null);
    if (!room) return refuse('room settings unreadable', "I couldn't read this server's privacy settings; please try again.");
    if (!room.mayJoin({ id: member.id, bot: member.user.bot, roleIds: [...member.roles.cache.keys()] })) {
      return refuse('the caller lacks a join role', 'An admin allowed only some roles to use /join in this server, and you have none of them.');
    }

    // Cheap checks first, answered privately before anything slow happens.
    const callerPermissions = channel.permissionsFor(member);
    if (!callerPermissions.has(PermissionFlagsBits.ViewChannel) || !callerPermissions.has(PermissionFlagsBits.Connect)) {
      return refuse('the caller cannot connect to the channel', `You can't connect to <#${channel.id}>, so I won't join it for you.`);
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
      return refuse(`missing permissions: ${missing.join(', ')}`, `I'm missing the ${missing.join(', ')} permission${missing.length > 1 ? 's' : ''} in <#${channel.id}>.`);
    }
    const settingsPermission = hasSettingsPermission(interaction, config.instructionsPermission);
    // A Stage is a talk to an audience, not a conversation: only server managers bring the bot there.
    if (isStageChannel(channel) && !settingsPermission) {
      return refuse('a Stage channel without the settings permission', `Only members with the ${config.instructionsPermission} permission can bring me to a Stage channel.`);
    }
    const alreadyThere = me?.voice.channelId === channel.id;
    if (!alreadyThere && channel.userLimit > 0 && channel.members.size >= channel.userLimit && !botPermissions?.has(PermissionFlagsBits.MoveMembers)) {
      return refuse('the channel is full', `<#${channel.id}> is full (${channel.userLimit} people).`);
    }

    // Connecting can take seconds: acknowledge first so Discord never says "the application did not respond".
    await interaction.deferReply();
    // A server past its spend limit (or a deployment past its own) is not joined until it resets or is raised.
    const refusal = await budget.refusal(interaction.guildId).catch((error: unknown) => {
      log.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not read the budget for /join');
      return null;
    });
    if (refusal) return refuse('budget', `I won't join <#${channel.id}>: ${refusalText(refusal, new Date())}`);
    // Where the bot says so if the model connection later fails for good (and when it leaves because of it).
    const textChannel = interaction.channel;
    const announce = textChannel?.isSendable() ? (content: string) => textChannel.send({ content, allowedMentions: NO_PINGS }) : undefined;
    try {
      // A call with people in it is theirs: decided under the guild's lock, on the channel the bot is in then.
      const mayMoveFrom = (currentId: string) => {
        const current = interaction.guild.channels.cache.get(currentId);
        return !current?.isVoiceBased() || mayMoveBotOutOf(current, member, settingsPermission);
      };
      const refusal = `I'm in another call with people in it. Someone in that call, or a member with the ${config.instructionsPermission} permission, can move me.`;
      // Moving to a channel others can see starts a fresh conversation (the old one stays with the old channel's chat).
      const keepsConversation = (fromId: string) => {
        const from = interaction.guild.channels.cache.get(fromId);
        return from !== undefined && mayCarryConversation(from, channel);
      };
      // A text conversation of a channel with the call's audience (e.g. #general for a public call) carries on in the call.
      const adoptFrom = (textChannelId: string) => {
        const text = interaction.guild.channels.cache.get(textChannelId);
        return text !== undefined && sharesVoiceConversation(text, channel);
      };
      const result = await sessions.join(channel, member, { announce, mayMoveFrom, refusal, keepsConversation, adoptFrom });
      await interaction.editReply({ content: `${JOINED[result]} <#${channel.id}>. Talk to me!`, allowedMentions: NO_PINGS });
      // Everyone in the channel learns what the bot does with their voice and how to opt out.
      if ((result === 'joined' || result === 'moved') && channel.isSendable()) await postConsentNotice(channel, room.settings, log);
    } catch (error) {
      // Logged (with the reason) by the registry.
      const message = error instanceof JoinError ? error.message : 'Something went wrong while joining; please try again.';
      await interaction.editReply({ content: `Couldn't join <#${channel.id}>: ${message}`, allowedMentions: NO_PINGS });
    }
  },
};

export default join;
