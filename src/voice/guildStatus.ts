/** What /status shows about a guild, from its slot in the session registry. */
import type { ConversationState, GuildConversation } from './guildConversation.ts';
import type { GuildSlot } from './guildSlots.ts';
import type { ReceiveHealthReport } from './receiveHealth.ts';
import type { InputAudioReport } from './inputAudioReport.ts';

/** What /status shows about a guild. */
export interface GuildStatusReport {
  voiceChannelId: string | null;
  voiceState: string;
  /** Why the bot may not speak in its channel (server-muted, suppressed), or null. */
  silenced: string | null;
  conversationState: ConversationState | 'none';
  problem: string | null;
  /** When the conversation failed for good: seconds until the bot leaves voice (null otherwise). */
  leavingInSeconds: number | null;
  speakers: string[];
  latency: { p50: number | null; p95: number | null; turns: number };
  /**
   * This conversation's model tokens, its input transcription (seconds billed by duration, tokens by
   * token-billed models) and the estimated cost of both.
   */
  session: { tokens: number; costUsd: number; transcription: { seconds: number; tokens: number } };
  /** End-to-end encryption (DAVE) of the voice connection and what the receiver dropped; null when not in voice. */
  dave: ReceiveHealthReport | null;
  /** Each speaker's jitter-buffer delay and what the network cost (see inputAudioReport.ts); null when not in voice. */
  inputAudio: InputAudioReport | null;
}

/**
 * The report of a guild (everything empty when it has no slot: no voice session, no conversation).
 * Without a voice conversation, `textConversation` (the one of the channel /status was used in) is reported.
 */
export function guildStatus(slot: GuildSlot | undefined, textConversation?: GuildConversation): GuildStatusReport {
  const session = slot?.voice ?? undefined;
  const conversation = slot?.conversation ?? textConversation;
  const usage = conversation?.realtime.usage;
  const transcription = conversation?.realtime.transcriptionUsage;
  return {
    voiceChannelId: session?.channelId ?? null,
    voiceState: session?.status ?? 'none',
    silenced: session?.silenced ?? null,
    conversationState: conversation?.state ?? 'none',
    problem: conversation?.problem ?? null,
    leavingInSeconds: slot?.failedLeaveAt ? Math.max(0, Math.ceil((slot.failedLeaveAt - Date.now()) / 1000)) : null,
    speakers: session?.activeSpeakers ?? [],
    latency: {
      p50: session?.metrics.percentile(50) ?? null,
      p95: session?.metrics.percentile(95) ?? null,
      turns: session?.metrics.recent.length ?? 0,
    },
    session: {
      tokens: usage ? usage.inputTextTokens + usage.inputAudioTokens + usage.outputTextTokens + usage.outputAudioTokens : 0,
      costUsd: usage?.costUsd ?? 0,
      transcription: { seconds: transcription?.seconds ?? 0, tokens: (transcription?.inputTokens ?? 0) + (transcription?.outputTokens ?? 0) },
    },
    dave: session?.receiveHealth ?? null,
    inputAudio: session?.inputAudio ?? null,
  };
}
