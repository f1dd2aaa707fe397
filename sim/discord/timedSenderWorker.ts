/**
 * Worker-thread side of {@link TimedSender}: sends each datagram from its own UDP socket when it is
 * due and reports how late it left. Its event loop does nothing else, so a busy simulator loop does
 * not delay what members say (a real network delivers a member's packet whatever the server is doing).
 *
 * Protocol (structured clone):
 *   ← { type: 'send', packets: { id, bytes: Uint8Array, address, port, dueAt }[] }   dueAt: ms since the epoch (timeOrigin-based)
 *   → { type: 'sent', reports: [id, lateMs][] }   batched per turn of the loop, or per `reportEveryMs` (workerData)
 *   → { type: 'ready', threadId } once the socket is bound (threadId: the Linux thread id, or null)
 *
 * @module
 */
import { createSocket } from 'node:dgram';
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

/** One datagram to send at `dueAt` (performance.timeOrigin + performance.now() of the sending side). */
export interface TimedPacket {
  id: number;
  bytes: Uint8Array;
  address: string;
  port: number;
  dueAt: number;
}

const port = parentPort!;
const socket = createSocket('udp4');
socket.on('error', () => {}); // e.g. ICMP port unreachable after the bot closed its socket
let reports: [number, number][] = [];
let flushing = false;
/** Reports wait this long to go back together (0: one message per turn of the loop): each message wakes the simulator's loop. */
const reportEveryMs = Number((workerData as { reportEveryMs?: number } | null)?.reportEveryMs ?? 0);

function flush(): void {
  flushing = false;
  port.postMessage({ type: 'sent', reports });
  reports = [];
}

function sendNow(packet: TimedPacket): void {
  socket.send(packet.bytes, packet.port, packet.address);
  reports.push([packet.id, performance.timeOrigin + performance.now() - packet.dueAt]);
  if (!flushing) {
    flushing = true;
    if (reportEveryMs > 0) setTimeout(flush, reportEveryMs);
    else setImmediate(flush);
  }
}

port.on('message', (message: { type: 'send'; packets: TimedPacket[] }) => {
  if (message.type !== 'send') return;
  for (const packet of message.packets) {
    const delay = packet.dueAt - (performance.timeOrigin + performance.now());
    if (delay <= 0) sendNow(packet);
    else setTimeout(sendNow, delay, packet);
  }
});

/** The kernel's id of this thread (Linux), so a benchmark can set the CPU priority of this thread alone. */
function linuxThreadId(): number | null {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop()) || null;
  } catch {
    return null;
  }
}

socket.bind(0, '127.0.0.1', () => port.postMessage({ type: 'ready', threadId: linuxThreadId() }));
