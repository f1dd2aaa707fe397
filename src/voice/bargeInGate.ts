/** Speech is voiced about half the time (syllables); clicks, taps and typing are voiced far less. */
const MIN_VOICED_FRACTION = 0.4;

/** Options of {@link BargeInGate}. */
export interface BargeInGateOptions {
  /**
   * How long a run of speech must last (gaps bridged) before it counts as an interruption, with at
   * least 40% of it voiced; shorter sounds (coughs, clicks, "uh-huh") and sparse ones (typing) are ignored.
   */
  minSpeechMs: number;
  /** Frame level (dBFS RMS) at or above which a frame counts as speech. */
  minLevelDbfs: number;
  /** A dip below the level up to this long does not end a speaker's run (gaps between syllables and words). */
  bridgeGapMs?: number;
}

/**
 * Decides when a person is really talking over the bot. Each speaker's frames are measured
 * separately, so two people murmuring do not add up to an interruption. A run of speech (gaps up to
 * `bridgeGapMs` bridged, as speech pauses between syllables) must span `minSpeechMs` and be voiced
 * for at least 40% of its span before the gate opens.
 */
export class BargeInGate {
  readonly #options: Required<BargeInGateOptions>;
  readonly #runs = new Map<string, { startMs: number; lastVoicedMs: number; voicedMs: number; fired: boolean }>();

  constructor(options: BargeInGateOptions) {
    this.#options = { bridgeGapMs: 250, ...options };
  }

  /**
   * Feeds one frame of one speaker, received at `nowMs`. Gaps are measured in time, not in frames:
   * Discord clients send nothing while their user is silent, so a pause shows up as no frames at all.
   * Returns true when this frame completes a run long and loud enough to interrupt (once per run).
   */
  observe(speakerId: string, levelDbfs: number, frameMs: number, nowMs: number): boolean {
    if (levelDbfs < this.#options.minLevelDbfs) return false;
    let run = this.#runs.get(speakerId);
    if (!run || nowMs - run.lastVoicedMs > this.#options.bridgeGapMs + frameMs) {
      run = { startMs: nowMs - frameMs, lastVoicedMs: nowMs, voicedMs: 0, fired: false };
      this.#runs.set(speakerId, run);
    }
    run.lastVoicedMs = nowMs;
    run.voicedMs += frameMs;
    const spanMs = nowMs - run.startMs;
    if (!run.fired && spanMs >= this.#options.minSpeechMs && run.voicedMs >= MIN_VOICED_FRACTION * spanMs) {
      run.fired = true;
      return true;
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
