import type { VoiceConnection } from '@discordjs/voice';
import { networkingOf, receiverOf, swapListener, udpOf } from './voiceInternals.ts';

/** Smallest datagram that can hold an RTP header (12 bytes); anything shorter is not audio. */
const MIN_RTP_BYTES = 12;

/**
 * Hardens the connection's receiver against hostile or broken datagrams. @discordjs/voice 0.19.2
 * skips datagrams of up to 8 bytes, then reads the SSRC at offset 8, so a 9–11-byte datagram
 * throws a RangeError inside the UDP socket's 'message' event: an uncaught exception that takes the
 * whole process down. The guard drops such datagrams and turns any other throw into a counted drop.
 * It must be installed right after `joinVoiceChannel`, before the networking binds the handler
 * (the connection registers `receiver.onUdpMessage` on every UDP socket it opens later); if a
 * socket is already bound, the handler is swapped on it too. Internals: see voiceInternals.ts.
 */
export function guardReceiver(connection: VoiceConnection, onDrop: (error: unknown) => void): void {
  const receiver = receiverOf(connection);
  const original = receiver.onUdpMessage;
  const guarded = (message: Buffer) => {
    if (message.length < MIN_RTP_BYTES) return;
    try {
      original(message);
    } catch (error) {
      onDrop(error);
    }
  };
  receiver.onUdpMessage = guarded;
  const udp = udpOf(networkingOf(connection));
  if (udp) swapListener(udp, 'message', original, guarded);
}
