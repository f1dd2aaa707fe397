/**
 * The input side of a conversation: audio appended, turns committed or cleared, with the speaker
 * labels of every chunk recorded on the session's timeline ({@link InputAttribution}).
 *
 * Input that arrives while there is no session it may go to — before the first session is
 * configured, while a rotation hands over to the next one, while reconnecting — is kept in order and
 * sent to the next session. Audio kept is bounded, the oldest dropped first, so a long outage never
 * grows memory nor makes the model hear stale speech minutes late.
 */
import { REALTIME_BYTES_PER_MS } from '../audio/format.ts';
import { InputAttribution } from './attribution.ts';
import type { WireEvent } from './dialect.ts';

/** One input operation, as the caller made it. */
export type InputOp = { kind: 'audio'; pcm: Buffer; labels: readonly string[] } | { kind: 'commit' } | { kind: 'clear' };

/** Input audio kept by default while there is no usable session (newest kept). */
export const DEFAULT_MAX_BUFFERED_AUDIO_MS = 5_000;

/** Largest single `input_audio_buffer.append` (the service accepts up to 15 MiB). */
const MAX_APPEND_BYTES = 1 << 20;

/** What {@link SessionInput} sends through. */
export interface SessionInputHost {
  /** Sends on the current session; null when there is none (or the socket is gone). */
  send(event: WireEvent): string | null;
  /** Sends `input_audio_buffer.append` with this PCM on the current session; null when there is none. */
  sendAudioAppend(pcm: Buffer): string | null;
  /** Whether input may go to the current session now (there is one, and no rotation is handing over). */
  canSendNow(): boolean;
  /** Whether there is a current session at all (held input is flushed to it). */
  hasSession(): boolean;
}

/** Sends input to the current session, or holds it (bounded) until there is one. */
export class SessionInput {
  readonly #host: SessionInputHost;
  readonly #maxHeldBytes: number;
  #held: InputOp[] = [];
  #heldAudioBytes = 0;
  #attribution = new InputAttribution();

  constructor(host: SessionInputHost, maxBufferedAudioMs = DEFAULT_MAX_BUFFERED_AUDIO_MS) {
    this.#host = host;
    this.#maxHeldBytes = maxBufferedAudioMs * REALTIME_BYTES_PER_MS;
  }

  /** Who said what on the current session's input timeline. */
  get attribution(): InputAttribution {
    return this.#attribution;
  }

  /** Audio bytes held for the next session. */
  get heldAudioBytes(): number {
    return this.#heldAudioBytes;
  }

  /** Sends an operation now, or holds it for the next session. */
  submit(op: InputOp): void {
    if (this.#host.canSendNow()) this.#send(op);
    else this.#hold(op);
  }

  /** A new session starts: its input timeline starts empty. */
  newSession(): void {
    this.#attribution = new InputAttribution();
  }

  /** Sends what was held to the current session, in order (nothing happens without a session). */
  flush(): void {
    if (!this.#host.hasSession()) return;
    const held = this.#held;
    this.#held = [];
    this.#heldAudioBytes = 0;
    for (const op of held) this.#send(op);
  }

  /** Forgets what was held (the client closed). */
  clear(): void {
    this.#held = [];
    this.#heldAudioBytes = 0;
  }

  #hold(op: InputOp): void {
    this.#held.push(op);
    if (op.kind === 'audio') this.#heldAudioBytes += op.pcm.length;
    while (this.#heldAudioBytes > this.#maxHeldBytes) {
      const index = this.#held.findIndex((o) => o.kind === 'audio');
      const [dropped] = this.#held.splice(index, 1);
      if (dropped?.kind === 'audio') this.#heldAudioBytes -= dropped.pcm.length;
    }
  }

  #send(op: InputOp): void {
    if (op.kind === 'audio') {
      for (let offset = 0; offset < op.pcm.length; offset += MAX_APPEND_BYTES) {
        const chunk = op.pcm.subarray(offset, offset + MAX_APPEND_BYTES);
        if (this.#host.sendAudioAppend(chunk) !== null) {
          this.#attribution.append(chunk.length, op.labels);
        }
      }
    } else if (op.kind === 'commit') {
      this.#host.send({ type: 'input_audio_buffer.commit' });
    } else {
      this.#host.send({ type: 'input_audio_buffer.clear' });
      this.#attribution.cleared();
    }
  }
}
