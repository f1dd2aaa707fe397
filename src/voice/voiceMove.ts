/**
 * Waiting for a move to another voice channel to really happen. `VoiceConnection.rejoin()` from a
 * ready connection leaves its status at `ready` (@discordjs/voice 0.19.2, VoiceConnection.rejoin:
 * only a connection that is not ready goes back to `signalling`), so waiting for `ready` alone
 * returns at once, even when Discord never lets the bot in. The move is done when Discord says so:
 * the bot's own voice state names the new channel; then the connection must be ready there.
 */
import { performance } from 'node:perf_hooks';
import { entersState, VoiceConnectionStatus, type VoiceConnection } from '@discordjs/voice';
import { Events, type VoiceBasedChannel, type VoiceState } from 'discord.js';

/**
 * Resolves once the bot's voice state is in `channel` and `connection` is ready; rejects after
 * `timeoutMs` (Discord never moved the bot, or the connection never became ready there).
 */
export async function waitForMove(connection: VoiceConnection, channel: VoiceBasedChannel, timeoutMs: number): Promise<void> {
  const started = performance.now();
  const client = channel.client;
  const inChannel = (state: VoiceState | undefined | null) => state?.channelId === channel.id;
  if (!inChannel(channel.guild.members.me?.voice)) {
    await new Promise<void>((resolve, reject) => {
      const onVoiceState = (_before: VoiceState, after: VoiceState) => {
        if (after.id !== client.user.id || after.guild.id !== channel.guild.id || !inChannel(after)) return;
        stop();
        resolve();
      };
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`Discord did not move the bot to channel ${channel.id} within ${timeoutMs} ms`));
      }, timeoutMs);
      const stop = () => {
        clearTimeout(timer);
        client.off(Events.VoiceStateUpdate, onVoiceState);
      };
      client.on(Events.VoiceStateUpdate, onVoiceState);
    });
  }
  await entersState(connection, VoiceConnectionStatus.Ready, Math.max(1, timeoutMs - (performance.now() - started)));
}
