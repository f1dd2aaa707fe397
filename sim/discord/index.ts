/**
 * Local Discord simulator: REST + gateway + voice (TLS WebSocket v8 + UDP/RTP) for the real
 * discord.js and @discordjs/voice, with simulated members who speak, listen, type and run commands.
 * See README.md.
 */
import { DiscordSimulator, type DiscordSimulatorOptions } from './simulator.ts';

export { trustSimulatorCertificate, CA_PATH } from './certs.ts';
export { DiscordSimulator, DEFAULT_BOT_PERMISSIONS, type DiscordSimulatorOptions, type Recorded } from './simulator.ts';
export { SimGuild } from './simGuild.ts';
export { SimulatedMember, type HeardPacket, type Hearing, type PreparedSpeech, type SpeakOptions } from './member.ts';
export { encodeOpusFrames } from './opus.ts';
export { InteractionRecord, EPHEMERAL, CallbackType, type InteractionMessage } from './interactions.ts';
export { SimMessage, type BotMessage } from './messages.ts';
export type { Faults } from './faults.ts';
export type { RecordedRequest, ChannelOverwriteSpec } from './types.ts';
export type { EncryptionMode } from './rtp.ts';
export { Permission, ALL_PERMISSIONS, EVERYONE_PERMISSIONS, DEFAULT_MEMBER_PERMISSIONS } from './permissions.ts';
export type { RefusedJoin } from './voiceHub.ts';

/** Starts a simulator on 127.0.0.1 (REST + gateway on `options.port`, default any free port). */
export async function startDiscordSimulator(options: DiscordSimulatorOptions = {}): Promise<DiscordSimulator> {
  return new DiscordSimulator(options).listen(options.port ?? 0);
}
