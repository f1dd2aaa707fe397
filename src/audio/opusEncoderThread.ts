/**
 * Opus encoding for playback on a worker thread, shared by every voice session of a bot (the
 * composition root, `createBot`, makes one and hands it down; there is no process-wide instance).
 *
 * Why: encoding is most of the bot's CPU, and on the main thread it ran as one block after every
 * clock tick (every session's frame), stretched further when the two cores are busy — which is what
 * made later ticks, and so packets, late under load (`npm run bench -- load`; the figures with and
 * without this thread are in bench/README.md). Frames requested in one macrotask (one clock tick:
 * every session's next frame) go to the worker as ONE message with the PCM transferred, and come back
 * as one message, so the cost of crossing threads is paid once per tick, not once per frame.
 *
 * If the worker cannot start or dies, every stream falls back to encoding on the calling thread
 * (including the frames that were in flight), with one warning: playback never stops over it.
 *
 * @module
 */
import { Worker } from 'node:worker_threads';
import { PLAYBACK_FRAME_SAMPLES } from './format.ts';
import { OpusFrameEncoder } from './opusCodec.ts';
import type { EncodeReply, EncodeRequest } from './opusEncodeWorker.ts';
import type { Logger } from '../log.ts';

/** Samples of one frame handed over: the model's 24 kHz mono, as it is encoded (480; 48 kHz stereo was 1920). */
const FRAME_SAMPLES = PLAYBACK_FRAME_SAMPLES;

/** One playback's encoder: frames are encoded in order with continuous Opus state. */
export interface OpusEncodeStream {
  /** Encodes one 20 ms frame of 24 kHz mono (480 samples, PLAYBACK_FRAME_SAMPLES) into a mono Opus packet; resolves in call order. */
  encode(pcm24kMono: Int16Array): Promise<Buffer>;
  /** Frees the stream's encoder; pending frames still resolve. */
  destroy(): void;
}

/** Options of {@link OpusEncoderThread}. */
export interface OpusEncoderThreadOptions {
  /** Where the one fallback warning goes. */
  logger: Logger;
  /** The worker script (tests point it at one that fails). */
  workerUrl?: URL;
}

/** Counters of an {@link OpusEncoderThread}. */
export interface OpusEncoderThreadStats {
  /** Messages sent to the worker (one per macrotask that requested frames). */
  batches: number;
  /** Frames encoded by the worker. */
  workerFrames: number;
  /** Frames encoded on the calling thread (the worker failed, or could not encode one). */
  fallbackFrames: number;
}

interface Job {
  stream: number;
  bitrate: number;
  pcm: Int16Array;
  resolve: (packet: Buffer) => void;
  fallback: () => OpusFrameEncoder;
}

/** A worker thread that encodes Opus frames for any number of streams. */
export class OpusEncoderThread {
  readonly #logger: Logger;
  readonly #workerUrl: URL;
  #worker: Worker | null = null;
  #failed = false;
  #nextStream = 1;
  #nextBatch = 1;
  #queued: Job[] = [];
  #flushScheduled = false;
  readonly #inFlight = new Map<number, Job[]>();
  /** Streams whose worker-side encoder is freed with the next flush. */
  #closing: number[] = [];
  #openStreams = 0;
  readonly #stats: OpusEncoderThreadStats = { batches: 0, workerFrames: 0, fallbackFrames: 0 };

  constructor(options: OpusEncoderThreadOptions) {
    this.#logger = options.logger;
    this.#workerUrl = options.workerUrl ?? new URL('./opusEncodeWorker.ts', import.meta.url);
  }

  /** Whether frames are encoded on the worker (false after a failure: then on the calling thread). */
  get onWorker(): boolean {
    return !this.#failed;
  }

  /** How many frames went where (a copy). */
  get stats(): OpusEncoderThreadStats {
    return { ...this.#stats };
  }

  /** Streams created and not yet destroyed. */
  get streamCount(): number {
    return this.#openStreams;
  }

  /**
   * Starts the worker now (idempotent). Booting it takes tens of milliseconds, so the bot does this at
   * startup rather than when the first reply's first frame is waiting.
   */
  start(): void {
    this.#ensureWorker();
  }

  /** A new stream with its own encoder state; starts the worker on first use. */
  createStream(options: { bitrate?: number } = {}): OpusEncodeStream {
    const stream = this.#nextStream++;
    const bitrate = options.bitrate ?? 64_000;
    let local: OpusFrameEncoder | null = null;
    const fallback = () => (local ??= new OpusFrameEncoder({ bitrate, format: 'realtime' }));
    let destroyed = false;
    this.#openStreams++;
    this.#ensureWorker();
    return {
      encode: (pcm) => {
        if (pcm.length !== FRAME_SAMPLES) {
          return Promise.reject(new RangeError(`encode needs ${FRAME_SAMPLES} samples, got ${pcm.length}`));
        }
        return new Promise<Buffer>((resolve) => {
          this.#queued.push({ stream, bitrate, pcm, resolve, fallback });
          this.#scheduleFlush();
        });
      },
      destroy: () => {
        if (destroyed) return;
        destroyed = true;
        this.#openStreams--;
        local?.destroy();
        // Sent after any queued frames of this stream (one port, in order), so they still encode.
        this.#scheduleFlush();
        this.#closing.push(stream);
      },
    };
  }
  /** Stops the worker; later frames are encoded on the calling thread. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    this.#failed = true;
    this.#flush();
    if (worker) await worker.terminate();
  }

  #ensureWorker(): void {
    if (this.#worker || this.#failed) return;
    try {
      const worker = new Worker(this.#workerUrl);
      worker.on('message', (reply: EncodeReply) => this.#onReply(reply));
      worker.on('error', (error) => this.#fail(error));
      worker.on('exit', (code) => {
        if (this.#worker === worker) this.#fail(new Error(`encoder thread exited with code ${code}`));
      });
      // Keeps the process alive only while frames are in flight (after the listeners: adding one re-refs).
      worker.unref();
      this.#worker = worker;
    } catch (error) {
      this.#fail(error);
    }
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // The check phase (setImmediate) comes after the whole clock tick and after every session's
    // own immediate callbacks of this loop turn (playback reads ahead in one after each send), so
    // all of their frames travel in one message. A microtask would run after each of those callbacks:
    // one message per session per tick (40 messages, and 40 replies, at 40 sessions). Without the
    // worker, encoding there also means no session's send waits behind another's encoding.
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    const jobs = this.#queued;
    this.#queued = [];
    const closing = this.#closing;
    this.#closing = [];
    if (jobs.length > 0) {
      if (this.#failed || !this.#worker) {
        for (const job of jobs) job.resolve(this.#encodeHere(job.fallback, job.pcm));
      } else {
        const id = this.#nextBatch++;
        const pcm = new Int16Array(jobs.length * FRAME_SAMPLES);
        jobs.forEach((job, i) => pcm.set(job.pcm, i * FRAME_SAMPLES));
        if (this.#inFlight.size === 0) this.#worker.ref();
        this.#inFlight.set(id, jobs);
        const request: EncodeRequest = { type: 'encode', id, streams: jobs.map((j) => j.stream), bitrates: jobs.map((j) => j.bitrate), pcm: pcm.buffer };
        this.#worker.postMessage(request, [pcm.buffer]);
        this.#stats.batches++;
      }
    }
    for (const stream of closing) this.#worker?.postMessage({ type: 'close', stream });
  }

  #onReply(reply: EncodeReply): void {
    const jobs = this.#inFlight.get(reply.id);
    if (!jobs) return;
    this.#inFlight.delete(reply.id);
    if (this.#inFlight.size === 0) this.#worker?.unref();
    const bytes = Buffer.from(reply.packets);
    let offset = 0;
    jobs.forEach((job, i) => {
      const length = reply.lengths[i] ?? 0;
      // Length 0: the worker could not encode this frame; do it here rather than lose it.
      if (length > 0) this.#stats.workerFrames++;
      job.resolve(length > 0 ? bytes.subarray(offset, offset + length) : this.#encodeHere(job.fallback, job.pcm));
      offset += length;
    });
  }

  #fail(error: unknown): void {
    if (this.#failed) return; // already on the calling thread (or closed on purpose)
    this.#failed = true;
    const worker = this.#worker;
    this.#worker = null;
    void worker?.terminate();
    this.#logger.warn({ err: error }, 'Opus encoder thread failed; encoding on the main thread from now on');
    // Frames that were on their way are encoded here, in order, so no reply loses audio.
    const pending = [...this.#inFlight.values()].flat();
    this.#inFlight.clear();
    for (const job of pending) job.resolve(this.#encodeHere(job.fallback, job.pcm));
  }

  #encodeHere(encoder: () => OpusFrameEncoder, pcm: Int16Array): Buffer {
    this.#stats.fallbackFrames++;
    return encoder().encode(pcm);
  }
}
