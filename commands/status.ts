import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { GuildStatusReport } from '../src/voice/sessionRegistry.ts';
import type { Command } from './index.ts';
import { replyPrivately } from './replies.ts';

const formatMs = (ms: number | null) => (ms === null ? 'n/a' : `${Math.round(ms)} ms`);
const formatUsd = (usd: number) => `$${usd < 0.01 && usd > 0 ? usd.toFixed(4) : usd.toFixed(2)}`;

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

const status: Command = {
  data: new SlashCommandBuilder().setName('status').setDescription('Show the voice session, latency and cost').setContexts(InteractionContextType.Guild).toJSON(),

  async execute(interaction, { sessions, store }) {
    if (!interaction.inCachedGuild()) return replyPrivately(interaction, 'Use /status in a server.');
    const report = sessions.status(interaction.guildId);
    const guildUsage = await store.getUsage(interaction.guildId);
    const lines = [
      `**Voice:** ${report.voiceChannelId ? `<#${report.voiceChannelId}> (${report.voiceState})` : 'not in a voice channel'}`,
      ...(report.dave ? [formatEncryption(report.dave)] : []),
      `**Model session:** ${report.conversationState}${report.problem ? ` — ${report.problem}` : ''}${
        report.leavingInSeconds !== null ? ` (use /join to start a fresh one; leaving voice in ${report.leavingInSeconds} s otherwise)` : ''
      }`,
      `**Hearing:** ${report.speakers.length > 0 ? report.speakers.join(', ') : 'nobody right now'}`,
      `**Latency** (speech end → first reply audio, last ${report.latency.turns} turns): p50 ${formatMs(report.latency.p50)}, p95 ${formatMs(report.latency.p95)}`,
      `**This session:** ${report.session.tokens} tokens${transcribed(report.session.transcription)}, ~${formatUsd(report.session.costUsd)}`,
      `**This server (all time):** ${guildUsage.inputTextTokens + guildUsage.outputTextTokens + guildUsage.inputAudioTokens + guildUsage.outputAudioTokens} tokens in ${guildUsage.responses} replies, ~${formatUsd(guildUsage.costUsd)} (transcription included)`,
    ];
    await replyPrivately(interaction, lines.join('\n'));
  },
};

export default status;
