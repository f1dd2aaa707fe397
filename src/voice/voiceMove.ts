/**
 * Where the voice connection goes: joining a channel, and moving to another one. Waiting for a move to another voice channel to really happen. `VoiceConnection.rejoin()` from a
 * ready connection leaves its status at `ready` (@discordjs/voice 0.19.2, VoiceConnection.rejoin:
 * only a connection that is not ready goes back to `signalling`), so waiting for `ready` alone
 * returns at once, even when Discord never lets the bot in. The move is done when Discord says so:
 * the bot's own voice state names the new channel; then the connection must be ready there.
 */
import { performance } from 'node:perf_hooks';
import { entersState, joinVoiceChannel, VoiceConnectionStatus, type VoiceConnection } from '@discordjs/voice';
import { Events, type VoiceBasedChannel, type VoiceState } from 'discord.js';
import type { Logger } from 'pino';
import { guardReceiver } from './receiverGuard.ts';

/** Joins `channel` unmuted and undeafened, with malformed datagrams dropped (see receiverGuard.ts) and connection errors logged. */
export function joinChannel(channel: VoiceBasedChannel, log: Logger): VoiceConnection {
  const connection = joinVoiceChannel({
    channelId: channel.id,
    guildId: channel.guild.id,
    adapterCreator: channel.guild.voiceAdapterCreator,
    selfDeaf: false, // a bot that must hear cannot be deafened
    selfMute: false,
  });
  guardReceiver(connection, (error) => {
    log.debug({ err: error instanceof Error ? error.message : String(error) }, 'malformed voice datagram dropped');
  });
  connection.on('error', (error) => log.warn({ err: error.message }, 'voice connection error'));
  return connection;
}

/**
 * Moves `connection` from `from` to `to` and waits until it is there (see {@link waitForMove}). If
 * Discord does not let the bot in, it is still where it was: the connection goes back to `from`
 * (unless the session `ended` meanwhile) and the error is rethrown.
 */
export async function moveConnection(
  connection: VoiceConnection,
  from: VoiceBasedChannel,
  to: VoiceBasedChannel,
  options: { timeoutMs: number; logger: Logger; ended(): boolean },
): Promise<void> {
  connection.rejoin({ channelId: to.id, selfDeaf: false, selfMute: false });
  try {
    await waitForMove(connection, to, options.timeoutMs);
  } catch (error) {
    options.logger.warn({ channelId: to.id, previousChannelId: from.id }, 'move failed; staying in the previous channel');
    if (!options.ended()) connection.rejoin({ channelId: from.id, selfDeaf: false, selfMute: false });
    throw error;
  }
}

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
