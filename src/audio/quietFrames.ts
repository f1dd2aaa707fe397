/**
 * Which decoded frames of a talkspurt are quiet enough to leave out unheard: the pauses between
 * syllables and words that speech is full of. The jitter buffer takes a grown playout delay back
 * by skipping one such frame (20 ms of near-silence) rather than compressing speech; WebRTC's NetEq
 * likewise accelerates freely on quiet signal.
 *
 * @module
 */

/** Options of {@link QuietFrames}. */
export interface QuietFramesOptions {
  /** Below this RMS a frame is quiet whatever the speaker's level (default 33: −60 dBFS). */
  floorRms?: number;
  /** A frame this far (dB) below the talkspurt's loud frames is quiet too (default 30). */
  belowLoudDb?: number;
}

/** RMS of PCM16 samples. */
export function rmsOf(pcm: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += pcm[i]! * pcm[i]!;
  return Math.sqrt(sum / Math.max(1, pcm.length));
}

/** Follows one speaker's level and says which frames are quiet. */
export class QuietFrames {
  readonly #floorRms: number;
  readonly #belowLoud: number;
  /** RMS of the talkspurt's loud frames: a peak that decays by half in about 2 s (100 frames). */
  #loudRms = 0;

  constructor(options: QuietFramesOptions = {}) {
    this.#floorRms = options.floorRms ?? 33;
    this.#belowLoud = 10 ** (-(options.belowLoudDb ?? 30) / 20);
  }

  /** A new talkspurt: its level is measured afresh. */
  reset(): void {
    this.#loudRms = 0;
  }

  /** Takes one decoded frame into the level; returns its RMS. */
  observe(pcm: Int16Array): number {
    const rms = rmsOf(pcm);
    this.#loudRms = Math.max(rms, this.#loudRms * 0.993);
    return rms;
  }

  /** Whether a frame of this RMS is quiet: below the floor, or far below the talkspurt's loud frames. */
  isQuiet(rms: number): boolean {
    return rms <= Math.max(this.#floorRms, this.#loudRms * this.#belowLoud);
  }
}
