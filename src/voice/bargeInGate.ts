/** Options of {@link BargeInGate}. */
export interface BargeInGateOptions {
  /** Continuous speech needed before it counts as an interruption; shorter sounds (coughs, clicks, "uh-huh") are ignored. */
  minSpeechMs: number;
  /** Frame level (dBFS RMS) at or above which a frame counts as speech. */
  minLevelDbfs: number;
  /** A dip below the level shorter than this does not reset a speaker's run (syllable gaps). */
  bridgeGapMs?: number;
}

/**
 * Decides when a person is really talking over the bot. Each speaker's frames are measured
 * separately, so two people murmuring do not add up to an interruption, and a run of speech must
 * last `minSpeechMs` (gaps shorter than `bridgeGapMs` are bridged) before the gate opens.
 */
export class BargeInGate {
  readonly #options: Required<BargeInGateOptions>;
  readonly #runs = new Map<string, { speechMs: number; gapMs: number }>();

  constructor(options: BargeInGateOptions) {
    this.#options = { bridgeGapMs: 100, ...options };
  }

  /**
   * Feeds one frame of one speaker. Returns true when this frame completes a run long and loud enough
   * to interrupt (once per run: the run must end before it can fire again).
   */
  observe(speakerId: string, levelDbfs: number, frameMs: number): boolean {
    let run = this.#runs.get(speakerId);
    if (!run) {
      run = { speechMs: 0, gapMs: 0 };
      this.#runs.set(speakerId, run);
    }
    if (levelDbfs >= this.#options.minLevelDbfs) {
      const before = run.speechMs;
      run.speechMs += frameMs + run.gapMs; // a bridged gap counts as part of the utterance
      run.gapMs = 0;
      return before < this.#options.minSpeechMs && run.speechMs >= this.#options.minSpeechMs;
    }
    if (run.speechMs > 0) {
      run.gapMs += frameMs;
      if (run.gapMs > this.#options.bridgeGapMs) this.#runs.delete(speakerId);
    }
    return false;
  }

  /** Forgets a speaker (left the channel). */
  forget(speakerId: string): void {
    this.#runs.delete(speakerId);
  }

  /** Forgets every run (after an interruption was handled). */
  reset(): void {
    this.#runs.clear();
  }
}

/** RMS level of PCM16 samples in dBFS (full-scale sine ≈ -3 dBFS); -Infinity for digital silence. */
export function levelDbfs(samples: Int16Array): number {
  if (samples.length === 0) return -Infinity;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    sum += s * s;
  }
  const rms = Math.sqrt(sum / samples.length) / 32768;
  return rms === 0 ? -Infinity : 20 * Math.log10(rms);
}
