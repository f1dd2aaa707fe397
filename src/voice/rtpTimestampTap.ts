import { EventEmitter } from 'node:events';
import type { VoiceConnection } from '@discordjs/voice';

/** The RTP fields of the latest packet from one SSRC. */
export interface RtpHeaderInfo {
  sequence: number;
  timestamp: number;
  ssrc: number;
}

/**
 * @discordjs/voice hands receivers only the Opus payload, dropping the RTP sequence number and
 * timestamp that the mixer needs to undo jitter, reordering and loss. This tap listens on the same
 * UDP socket, *before* the receiver (prependListener), and remembers each SSRC's latest header, so
 * when the receiver pushes that packet to a stream synchronously, the header is already known.
 * It follows the connection across reconnects (new networking, new UDP socket), as the receiver does.
 */
export class RtpTimestampTap {
  readonly #connection: VoiceConnection;
  readonly #latest = new Map<number, RtpHeaderInfo>();
  #networking: EventEmitter | undefined;
  #udp: EventEmitter | undefined;
  readonly #onMessage = (message: Buffer) => this.#record(message);
  readonly #onNetworkingState = () => this.#follow();
  readonly #onConnectionState = () => this.#follow();

  constructor(connection: VoiceConnection) {
    this.#connection = connection;
    connection.on('stateChange', this.#onConnectionState);
    this.#follow();
  }

  /** The latest RTP header seen from this user's SSRC, if the receiver has mapped the user. */
  latestFor(userId: string): RtpHeaderInfo | undefined {
    const ssrc = this.#connection.receiver.ssrcMap.get(userId)?.audioSSRC;
    return ssrc === undefined ? undefined : this.#latest.get(ssrc);
  }

  /** Stops listening. */
  destroy(): void {
    this.#connection.off('stateChange', this.#onConnectionState);
    this.#attachNetworking(undefined);
    this.#latest.clear();
  }

  #record(message: Buffer): void {
    if (message.length < 12 || message[0]! >> 6 !== 2) return; // not RTP v2 (e.g. keepalive)
    const ssrc = message.readUInt32BE(8);
    this.#latest.set(ssrc, { sequence: message.readUInt16BE(2), timestamp: message.readUInt32BE(4), ssrc });
  }

  #follow(): void {
    const state = this.#connection.state as { networking?: EventEmitter };
    this.#attachNetworking(state.networking);
    const networkingState = (this.#networking as unknown as { state?: { udp?: EventEmitter } } | undefined)?.state;
    this.#attachUdp(networkingState?.udp);
  }

  #attachNetworking(networking: EventEmitter | undefined): void {
    if (networking === this.#networking) return;
    this.#networking?.off('stateChange', this.#onNetworkingState);
    this.#networking = networking;
    networking?.on('stateChange', this.#onNetworkingState);
    if (!networking) this.#attachUdp(undefined);
  }

  #attachUdp(udp: EventEmitter | undefined): void {
    if (udp === this.#udp) return;
    this.#udp?.off('message', this.#onMessage);
    this.#udp = udp;
    this.#latest.clear(); // a new socket means new SSRCs and a new sequence space
    udp?.prependListener('message', this.#onMessage);
  }
}
