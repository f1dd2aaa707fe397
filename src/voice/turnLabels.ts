import type { SpeakerLabel, TurnModel } from './turnTypes.ts';

/**
 * The speaker labels turn-taking adds to the conversation (`[speaker: Alice]` before a turn): a turn
 * resumed by the same people is not labelled again until the bot has answered, so a sentence split
 * by a pause reads as one.
 */
export class TurnLabels {
  readonly #model: Pick<TurnModel, 'addContextNote'>;
  readonly #label: SpeakerLabel;
  /** The label last added, until the bot answers. */
  #last: string | null = null;

  constructor(model: Pick<TurnModel, 'addContextNote'>, label: SpeakerLabel) {
    this.#model = model;
    this.#label = label;
  }

  /** Adds the label of `speakers` to the conversation, unless it is the one added last (none for nobody). */
  add(speakers: string[]): void {
    const label = speakers.length > 0 ? this.#label(speakers) : null;
    if (label !== null && label !== this.#last) {
      this.#model.addContextNote(label);
      this.#last = label;
    }
  }

  /** The bot answers: whoever speaks next is labelled again. */
  answered(): void {
    this.#last = null;
  }
}
