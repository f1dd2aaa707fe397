/** Options of {@link DeafnessWatch}. */
export interface DeafnessWatchOptions {
  /** How long a speaker's packets may arrive without a single frame coming out (default 3000 ms). */
  windowMs?: number;
  /** Voiced packets that must have arrived in that time (default 50: a second of speech). */
  minPackets?: number;
  /** Packets older than this no longer count as "still arriving" (default 1000 ms). */
  staleMs?: number;
}

interface SpeakerTrack {
  /** First voiced packet since the last frame came out (null: frames are flowing). */
  since: number | null;
  packets: number;
  lastPacketAt: number;
}

/**
 * Detects silent deafness: a speaker's voiced packets keep arriving on the socket but no frame
 * comes out of the receiver for a bounded time. @discordjs/voice 0.19.2 reports no error in that
 * case (DAVE decryption failures during a pending transition are neither counted nor thrown, and
 * undecrypted frames are dropped before the decoder), so only this comparison sees it. Pure logic:
 * the caller feeds packets and frames with their times and asks at its own pace.
 */
export class DeafnessWatch {
  readonly #windowMs: number;
  readonly #minPackets: number;
  readonly #staleMs: number;
  readonly #tracks = new Map<string, SpeakerTrack>();

  constructor(options: DeafnessWatchOptions = {}) {
    this.#windowMs = options.windowMs ?? 3_000;
    this.#minPackets = options.minPackets ?? 50;
    this.#staleMs = options.staleMs ?? 1_000;
  }

  /** A voiced packet from this speaker arrived (silence and keep-alive packets do not count). */
  packet(userId: string, at: number): void {
    let track = this.#tracks.get(userId);
    if (!track) {
      track = { since: null, packets: 0, lastPacketAt: at };
      this.#tracks.set(userId, track);
    }
    track.since ??= at;
    track.packets += 1;
    track.lastPacketAt = at;
  }

  /** A voiced frame from this speaker reached the decoder: the speaker is heard. */
  frame(userId: string): void {
    const track = this.#tracks.get(userId);
    if (!track) return;
    track.since = null;
    track.packets = 0;
  }

  /** Speakers heard by nobody for the whole window while their packets kept arriving; each is reported once per episode. */
  check(now: number): string[] {
    const deaf: string[] = [];
    for (const [userId, track] of this.#tracks) {
      if (track.since === null || track.packets < this.#minPackets) continue;
      if (now - track.since < this.#windowMs || now - track.lastPacketAt > this.#staleMs) continue;
      deaf.push(userId);
      track.since = null; // a new episode must last a full window again
      track.packets = 0;
    }
    return deaf;
  }

  /** Stops tracking one speaker (left the channel). */
  forget(userId: string): void {
    this.#tracks.delete(userId);
  }

  /** Starts over (a new voice connection: new keys, new SSRCs). */
  reset(): void {
    this.#tracks.clear();
  }

  /** Speakers tracked (bounded by the speakers mapped on the connection). */
  get size(): number {
    return this.#tracks.size;
  }
}
