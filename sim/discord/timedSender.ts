import { Worker } from 'node:worker_threads';
import type { TimedPacket } from './timedSenderWorker.ts';

/**
 * Sends datagrams at given times from a thread of its own (sim/discord/timedSenderWorker.ts), so that
 * packets prepared ahead leave on time however busy the simulator's event loop is: a member's audio
 * reaches the bot with the jitter of a network, not of the process that simulates Discord. Used by
 * the load benchmark (`DiscordSimulator.startTransmitThread`); the packets come from the worker's
 * own UDP socket (another source port than the voice server's: @discordjs/voice does not check
 * where a datagram comes from).
 */
export class TimedSender {
  readonly #worker: Worker;
  #nextId = 0;
  #batch: TimedPacket[] = [];
  #flushScheduled = false;
  readonly #onSent = new Map<number, (lateMs: number) => void>();

  /** The sending thread's Linux thread id (null elsewhere): its CPU priority can be set apart from the process's. */
  readonly threadId: number | null;

  private constructor(worker: Worker, threadId: number | null) {
    this.#worker = worker;
    this.threadId = threadId;
    worker.on('message', (message: { type: string; reports?: [number, number][] }) => {
      if (message.type !== 'sent') return;
      for (const [id, lateMs] of message.reports!) {
        const onSent = this.#onSent.get(id);
        this.#onSent.delete(id);
        onSent?.(lateMs);
      }
    });
    worker.unref();
  }

  /** Starts the thread; resolves once its socket is bound. */
  static async start(): Promise<TimedSender> {
    const worker = new Worker(new URL('./timedSenderWorker.ts', import.meta.url));
    const threadId = await new Promise<number | null>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (message: { type: string; threadId?: number | null }) => (message.type === 'ready' ? resolve(message.threadId ?? null) : reject(new Error(`unexpected ${message.type}`))));
    });
    return new TimedSender(worker, threadId);
  }

  /**
   * Sends `packet` to `address:port` at `atMs` (this thread's `performance.now()` time; at once if
   * past), then calls `onSent` with how late it left (ms). Packets handed over in one turn of the
   * loop travel to the thread in one message.
   */
  sendAt(packet: Uint8Array, address: string, port: number, atMs: number, onSent?: (lateMs: number) => void): void {
    const id = this.#nextId++;
    if (onSent) this.#onSent.set(id, onSent);
    this.#batch.push({ id, bytes: packet, address, port, dueAt: performance.timeOrigin + atMs });
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      const packets = this.#batch;
      this.#batch = [];
      this.#worker.postMessage({ type: 'send', packets });
    });
  }

  /** Stops the thread (packets not yet sent are dropped). */
  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
