/**
 * What a voice session does when its connection is disconnected, following @discordjs/voice's
 * reconnect guidance: a moved or resumed connection recovers by itself; otherwise rejoin with a
 * growing delay, and give up after a few attempts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { VoiceConnectionDisconnectReason, VoiceConnectionStatus, entersState, type VoiceConnection, type VoiceConnectionState } from '@discordjs/voice';

/** Rejoin attempts before the session gives up. */
const MAX_REJOIN_ATTEMPTS = 5;

/** What recovery may do to the session. */
export interface RecoveryHost {
  /** Whether the session was destroyed meanwhile (nothing more to do). */
  destroyed(): boolean;
  destroy(reason: string): void;
}

/** What following the connection's status tells the session. */
export interface ConnectionHost extends RecoveryHost {
  /** The connection is ready (again). */
  ready(): void;
  /** The connection was lost; recovery is under way. */
  reconnecting(): void;
}

/** Follows `connection`'s status: ready, destroyed (the session ends), disconnected (recovered, see {@link recoverDisconnected}). */
export function followConnection(connection: VoiceConnection, host: ConnectionHost): void {
  connection.on('stateChange', async (previous, next) => {
    if (next.status === VoiceConnectionStatus.Ready) host.ready();
    else if (next.status === VoiceConnectionStatus.Destroyed) host.destroy('voice connection destroyed');
    else if (next.status === VoiceConnectionStatus.Disconnected && previous.status !== VoiceConnectionStatus.Disconnected) {
      host.reconnecting();
      await recoverDisconnected(connection, next, host);
    }
  });
}

/** Recovers a connection that just became Disconnected, or ends the session. */
export async function recoverDisconnected(
  connection: VoiceConnection,
  state: VoiceConnectionState & { status: VoiceConnectionStatus.Disconnected },
  host: RecoveryHost,
): Promise<void> {
  if (state.reason === VoiceConnectionDisconnectReason.WebSocketClose && state.closeCode === 4014) {
    // 4014: moved to another channel or kicked. If moved, a new connection attempt follows promptly.
    try {
      await entersState(connection, VoiceConnectionStatus.Connecting, 5_000);
    } catch {
      host.destroy('disconnected from the voice channel');
    }
    return;
  }
  if (connection.rejoinAttempts < MAX_REJOIN_ATTEMPTS) {
    await sleep((connection.rejoinAttempts + 1) * 1_000);
    if (!host.destroyed() && connection.state.status === VoiceConnectionStatus.Disconnected) connection.rejoin();
  } else {
    host.destroy('voice connection lost');
  }
}
