/**
 * Server VAD by energy. The real service uses a model whose `threshold` is a probability; here a
 * 10 ms frame counts as speech when its RMS (0..1 of full scale) exceeds `threshold × 0.05` — so the
 * default 0.5 means about −32 dBFS: speech-level tones are detected, digital silence and hiss are not.
 */
import { REALTIME_BYTES_PER_MS } from '../../src/audio/format.ts';

/** VAD parameters, in the service's units. */
export interface VadParams {
  threshold: number;
  prefixPaddingMs: number;
  silenceDurationMs: number;
}

/** What the VAD saw in an appended chunk. */
export type VadEvent = { kind: 'start'; audioStartMs: number } | { kind: 'stop'; audioEndMs: number };

const FRAME_MS = 10;
const FRAME_BYTES = FRAME_MS * REALTIME_BYTES_PER_MS;

/** Energy VAD over the session's timeline of appended audio. */
export class EnergyVad {
  #speaking = false;
  #lastSpeechEndMs = 0;
  /** Bytes of an incomplete frame carried to the next append. */
  #carry = Buffer.alloc(0);
  #frameStartMs = 0;

  get speaking(): boolean {
    return this.#speaking;
  }

  /** Forgets a turn in progress (buffer cleared or committed by hand). */
  reset(): void {
    this.#speaking = false;
  }

  /**
   * Feeds appended audio. `bufferStartMs` bounds the prefix padding (no padding from committed audio).
   * Returns speech starts/stops in timeline order.
   */
  feed(pcm: Buffer, params: VadParams, bufferStartMs: number): VadEvent[] {
    const events: VadEvent[] = [];
    let data = this.#carry.length > 0 ? Buffer.concat([this.#carry, pcm]) : pcm;
    let offset = 0;
    const limit = (params.threshold * 0.05) ** 2; // compare mean squares, no sqrt per frame
    const samples = int16View(data);
    while (offset + FRAME_BYTES <= data.length) {
      let sum = 0;
      for (let i = offset / 2, end = (offset + FRAME_BYTES) / 2; i < end; i++) {
        const s = samples[i]! / 32768;
        sum += s * s;
      }
      const speech = sum / (FRAME_BYTES / 2) > limit;
      const start = this.#frameStartMs;
      const end = start + FRAME_MS;
      if (speech) {
        if (!this.#speaking) {
          this.#speaking = true;
          events.push({ kind: 'start', audioStartMs: Math.max(bufferStartMs, start - params.prefixPaddingMs) });
        }
        this.#lastSpeechEndMs = end;
      } else if (this.#speaking && end - this.#lastSpeechEndMs >= params.silenceDurationMs) {
        this.#speaking = false;
        events.push({ kind: 'stop', audioEndMs: end });
      }
      this.#frameStartMs = end;
      offset += FRAME_BYTES;
    }
    data = data.subarray(offset);
    this.#carry = Buffer.from(data);
    return events;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The PCM16 LE samples of `pcm` as an Int16Array (a view when aligned on this little-endian
 * machine, else a copy): the VAD then takes 1.6 µs per 20 ms append instead of 2.3 with
 * `readInt16LE` per sample (micro-benchmark, 2026-11-30); it runs on every append of every session.
 */
function int16View(pcm: Buffer): Int16Array {
  const count = pcm.length >> 1;
  if (LITTLE_ENDIAN && pcm.byteOffset % 2 === 0) return new Int16Array(pcm.buffer, pcm.byteOffset, count);
  const samples = new Int16Array(count);
  for (let i = 0; i < count; i++) samples[i] = pcm.readInt16LE(i * 2);
  return samples;
}
