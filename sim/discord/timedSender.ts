import { Worker } from 'node:worker_threads';
import type { TimedPacket } from './timedSenderWorker.ts';

/** Options of {@link TimedSender.start}. */
export interface TimedSenderOptions {
  /**
   * How long packets handed over may wait to travel to the thread together (ms; default 0: one
   * message per turn of the loop). A message to another thread costs 130–220 µs of CPU here for one
   * packet (mostly waking that thread), 16–20 µs a packet in batches of 35, so a benchmark whose
   * members prepare packets 250 ms ahead sends them in batches of 50 ms: 20 messages a second
   * instead of one per packet. A packet due within
   * {@link HANDOVER_GUARD_MS} of the batch's end does not wait: its batch leaves at once. The
   * thread's reports of sent packets come back in batches of the same span.
   */
  batchMs?: number;
}

/** A batch leaves at the latest this long before its earliest packet is due (time for the thread to take it). */
export const HANDOVER_GUARD_MS = 10;

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
  readonly #batchMs: number;
  #batch: TimedPacket[] = [];
  /** When the batch must leave (performance.now() time); Infinity while it is empty. */
  #flushBy = Number.POSITIVE_INFINITY;
  #flushTimer: NodeJS.Timeout | null = null;
  #flushQueued = false;
  /** Messages posted to the thread so far (each carries one batch). */
  batchesPosted = 0;
  readonly #onSent = new Map<number, (lateMs: number) => void>();

  /** The sending thread's Linux thread id (null elsewhere): its CPU priority can be set apart from the process's. */
  readonly threadId: number | null;

  private constructor(worker: Worker, threadId: number | null, batchMs: number) {
    this.#worker = worker;
    this.threadId = threadId;
    this.#batchMs = batchMs;
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
  static async start(options: TimedSenderOptions = {}): Promise<TimedSender> {
    const batchMs = Math.max(0, options.batchMs ?? 0);
    const worker = new Worker(new URL('./timedSenderWorker.ts', import.meta.url), { workerData: { reportEveryMs: batchMs } });
    const threadId = await new Promise<number | null>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (message: { type: string; threadId?: number | null }) => (message.type === 'ready' ? resolve(message.threadId ?? null) : reject(new Error(`unexpected ${message.type}`))));
    });
    return new TimedSender(worker, threadId, batchMs);
  }

  /**
   * Sends `packet` to `address:port` at `atMs` (this thread's `performance.now()` time; at once if
   * past), then calls `onSent` with how late it left (ms). Packets handed over in one turn of the
   * loop travel to the thread in one message; with `batchMs`, those handed over within that span
   * too, unless one of them is due too soon to wait (see {@link TimedSenderOptions.batchMs}).
   */
  sendAt(packet: Uint8Array, address: string, port: number, atMs: number, onSent?: (lateMs: number) => void): void {
    const id = this.#nextId++;
    if (onSent) this.#onSent.set(id, onSent);
    const now = performance.now();
    if (this.#batch.length === 0) this.#flushBy = now + this.#batchMs;
    this.#batch.push({ id, bytes: packet, address, port, dueAt: performance.timeOrigin + atMs });
    const flushBy = Math.min(this.#flushBy, atMs - HANDOVER_GUARD_MS);
    if (flushBy <= now) {
      if (this.#flushQueued) return;
      this.#flushQueued = true;
      queueMicrotask(() => this.#flush());
    } else if (flushBy < this.#flushBy || !this.#flushTimer) {
      this.#flushBy = flushBy;
      if (this.#flushTimer) clearTimeout(this.#flushTimer);
      this.#flushTimer = setTimeout(() => this.#flush(), flushBy - now);
    }
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    this.#flushBy = Number.POSITIVE_INFINITY;
    if (this.#batch.length === 0) return;
    const packets = this.#batch;
    this.#batch = [];
    this.batchesPosted += 1;
    this.#worker.postMessage({ type: 'send', packets });
  }

  /** Stops the thread (packets not yet sent are dropped). */
  async close(): Promise<void> {
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    await this.#worker.terminate();
  }
}
