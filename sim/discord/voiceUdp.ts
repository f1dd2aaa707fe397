import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { TimedSender } from './timedSender.ts';

/** IP discovery packets are 74 bytes: type u16, length u16 (= 70), SSRC u32, 64-byte address, port u16. */
const DISCOVERY_LENGTH = 74;
const DISCOVERY_REQUEST = 1;
const DISCOVERY_RESPONSE = 2;
/** @discordjs/voice sends an 8-byte keep-alive (a little-endian counter) every 5 s. */
const KEEPALIVE_LENGTH = 8;

/** Callbacks from the voice UDP socket to the voice server. */
export interface VoiceUdpHandlers {
  /** An IP discovery request for this SSRC arrived from `from`; return false to ignore it (unknown SSRC). */
  onDiscovery(ssrc: number, from: RemoteInfo): boolean;
  /** Any other datagram longer than a keep-alive: an RTP packet (still encrypted). */
  onRtp(packet: Buffer, from: RemoteInfo, arrivalMs: number): void;
}

/** When a packet prepared ahead is due (performance.now() time) and who wants to know how late it left. */
export interface SendTiming {
  at: number;
  onSent?: (lateMs: number) => void;
}

/**
 * The UDP side of a voice server: answers IP discovery with the sender's address as seen here,
 * ignores keep-alives, hands RTP to the server, and applies simulated loss in both directions.
 */
export class VoiceUdp {
  readonly socket: Socket = createSocket('udp4');
  /** Fraction (0..1) of RTP datagrams dropped, in each direction. */
  loss = 0;
  keepalives = 0;
  /** Where packets with a send time go (a thread of their own, see TimedSender); null: this loop's timers. */
  sender: TimedSender | null = null;
  readonly #handlers: VoiceUdpHandlers;

  constructor(handlers: VoiceUdpHandlers) {
    this.#handlers = handlers;
    this.socket.on('message', (msg, from) => this.#onMessage(msg, from));
    this.socket.on('error', () => {}); // e.g. ICMP port unreachable after the bot closed its socket
  }

  async listen(host: string): Promise<number> {
    await new Promise<void>((resolve) => this.socket.bind(0, host, resolve));
    return this.socket.address().port;
  }

  #onMessage(msg: Buffer, from: RemoteInfo): void {
    const arrivalMs = performance.now();
    if (msg.length === DISCOVERY_LENGTH && msg.readUInt16BE(0) === DISCOVERY_REQUEST) {
      const ssrc = msg.readUInt32BE(4);
      if (!this.#handlers.onDiscovery(ssrc, from)) return;
      const reply = Buffer.alloc(DISCOVERY_LENGTH);
      reply.writeUInt16BE(DISCOVERY_RESPONSE, 0);
      reply.writeUInt16BE(70, 2);
      reply.writeUInt32BE(ssrc, 4);
      reply.write(from.address, 8, 'utf8'); // NUL-terminated: the rest of the 64 bytes stays zero
      reply.writeUInt16BE(from.port, DISCOVERY_LENGTH - 2);
      this.socket.send(reply, from.port, from.address);
      return;
    }
    if (msg.length <= KEEPALIVE_LENGTH) {
      this.keepalives += 1;
      return;
    }
    if (this.loss > 0 && Math.random() < this.loss) return;
    this.#handlers.onRtp(msg, from, arrivalMs);
  }

  /**
   * Sends an RTP datagram (subject to loss unless `reliable`), now or, given `timing`, at `timing.at`
   * (performance.now() time) — from the timed sender's thread if there is one — then calls
   * `timing.onSent` with how late it left.
   */
  send(packet: Buffer, address: string, port: number, reliable = false, timing?: SendTiming): void {
    if (!reliable && this.loss > 0 && Math.random() < this.loss) return;
    if (!timing) {
      this.socket.send(packet, port, address);
      return;
    }
    if (this.sender) return this.sender.sendAt(packet, address, port, timing.at, timing.onSent);
    const sendNow = () => {
      this.socket.send(packet, port, address);
      timing.onSent?.(performance.now() - timing.at);
    };
    const delay = timing.at - performance.now();
    if (delay <= 0) sendNow();
    else setTimeout(sendNow, delay);
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}
