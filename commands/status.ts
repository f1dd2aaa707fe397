import { InteractionContextType, SlashCommandBuilder, type GuildBasedChannel } from 'discord.js';
import type { GuildStatusReport } from '../src/voice/sessionRegistry.ts';
import { formatUsd, refusalText } from '../src/budget/index.ts';
import { guildModel } from '../src/voice/guildModel.ts';
import { budgetLines } from './budget.ts';
import type { Command } from './index.ts';
import { canSeeVoiceChannel } from '../src/discord/voiceAccess.ts';
import { toolStatusLines } from '../src/tools/statusLines.ts';
import { inputAudioStatusLine } from '../src/voice/inputAudioReport.ts';
import { replyPrivately } from './replies.ts';

const formatMs = (ms: number | null) => (ms === null ? 'n/a' : `${Math.round(ms)} ms`);

/** Input transcription, billed apart from the model and included in the cost. */
const transcribed = ({ seconds, tokens }: { seconds: number; tokens: number }) => {
  const parts = [...(seconds > 0 ? [`${seconds.toFixed(1)} s`] : []), ...(tokens > 0 ? [`${tokens} tokens`] : [])];
  return parts.length > 0 ? ` + ${parts.join(', ')} of speech transcribed` : '';
};
/** The DAVE line: protocol, group, the voice privacy code as Discord shows it (groups of five digits), dropped frames. */
function formatEncryption(dave: NonNullable<GuildStatusReport['dave']>): string {
  let state: string;
  if (dave.protocolVersion === null) state = 'connecting';
  else if (dave.protocolVersion === 0) state = 'not end-to-end encrypted (DAVE off in this channel)';
  else if (!dave.groupReady) state = `DAVE v${dave.protocolVersion}, joining the encrypted group`;
  else state = `end-to-end (DAVE v${dave.protocolVersion}), voice privacy code \`${dave.voicePrivacyCode?.match(/.{1,5}/g)?.join(' ') ?? '?'}\``;
  const dropped = `frames dropped: ${dave.framesDroppedUndecrypted} still encrypted, ${dave.framesUndecryptable} undecryptable`;
  const recoveries = dave.rejoins > 0 ? `, ${dave.rejoins} recovery rejoin${dave.rejoins === 1 ? '' : 's'}` : '';
  return `**Encryption:** ${state}; ${dropped}${recoveries}`;
}

/** How many people opted out (never who): in the server, and among those in the bot's voice channel. */
function optedOutLine(count: number, channel: GuildBasedChannel | undefined, isOptedOut: (userId: string) => boolean): string {
  const people = (n: number) => `${n} ${n === 1 ? 'person' : 'people'}`;
  const here = channel?.isVoiceBased() ? channel.members.filter((member) => isOptedOut(member.id)).size : null;
  return `${people(count)} opted out with /privacy${here !== null ? ` (${here} in the voice channel, not heard)` : ''}`;
}

const status: Command = {
  data: new SlashCommandBuilder().setName('status').setDescription('Show the voice session, latency and cost').setContexts(InteractionContextType.Guild).toJSON(),

  async execute(interaction, { sessions, store, budget, config }) {
    if (!interaction.inCachedGuild()) return replyPrivately(interaction, 'Use /status in a server.');
    const report = sessions.status(interaction.guildId, interaction.channelId);
    // The call's details (channel, who is heard, its session) only for members who can see its
    // channel or are in it; the others get the line they would get with no call at all.
    const channel = report.voiceChannelId ? interaction.guild.channels.cache.get(report.voiceChannelId) : undefined;
    if (report.voiceChannelId && !(channel?.isVoiceBased() && canSeeVoiceChannel(interaction.member, channel))) {
      return replyPrivately(interaction, '**Voice:** not in a voice channel you can see.');
    }
    const [guildUsage, spend, settings] = await Promise.all([store.getUsage(interaction.guildId), budget.refresh(interaction.guildId), store.getSettings(interaction.guildId)]);
    const model = sessions.conversation(interaction.guildId)?.realtime.model ?? guildModel(config, settings.model);
    const room = await sessions.rooms.load(interaction.guildId).catch(() => null);
    const lines = [
      `**Voice:** ${report.voiceChannelId ? `<#${report.voiceChannelId}> (${report.voiceState})` : 'not in a voice channel'}${
        report.silenced ? ` — ${report.silenced}: I listen but don't speak until a moderator lets me` : ''
      }`,
      ...(report.dave ? [formatEncryption(report.dave)] : []),
      `**Model:** ${model}`,
      `**Model session:** ${report.conversationState}${report.problem ? ` — ${report.problem}` : ''}${
        report.leavingInSeconds !== null ? ` (use /join to start a fresh one; leaving voice in ${report.leavingInSeconds} s otherwise)` : ''
      }`,
      `**Hearing:** ${report.speakers.length > 0 ? report.speakers.join(', ') : 'nobody right now'}`,
      ...[inputAudioStatusLine(report.inputAudio)].filter((line) => line !== null),
      `**Privacy:** ${room ? optedOutLine(room.optedOutCount, report.voiceChannelId ? interaction.guild.channels.cache.get(report.voiceChannelId) : undefined, (id) => room.isOptedOut(id)) + (room.settings.captions === true ? "; captions on (what is said is posted in the voice channel's chat)" : '') : 'settings unavailable'}`,
      `**Latency** (speech end → first reply audio, last ${report.latency.turns} turns): p50 ${formatMs(report.latency.p50)}, p95 ${formatMs(report.latency.p95)}`,
      `**This session:** ${report.session.tokens} tokens${transcribed(report.session.transcription)}, ~${formatUsd(report.session.costUsd)}`,
      `**This server (all time):** ${guildUsage.inputTextTokens + guildUsage.outputTextTokens + guildUsage.inputAudioTokens + guildUsage.outputAudioTokens} tokens in ${guildUsage.responses} replies, ~${formatUsd(guildUsage.costUsd)} (transcription included)`,
      ...budgetLines(spend),
      ...(spend.exhausted ? [`**Paused:** ${refusalText(spend.exhausted, new Date())}`] : []),
      ...toolStatusLines(
        sessions.conversation(interaction.guildId)?.tools?.activity ?? null,
        config.tools.mcpServers.map((server) => server.serverLabel),
        config.realtime.dialect === 'ga',
      ),
    ];
    await replyPrivately(interaction, lines.join('\n'));
  },
};

export default status;
