/**
 * How people are named to the model: a user-role note `[speaker: Alice]` before what they said (voice
 * turns) or at the start of their message (mentions). Display names are untrusted text, so a label is
 * built only from what Discord vouches for. A display name is cleaned ({@link labelName}: NFKC,
 * invisible and direction characters gone, bracket look-alikes made parentheses); when another member
 * the bot knows has a name that looks the same (same {@link skeleton}: case, accents, look-alike
 * letters and spacing ignored), or the name is blank, the label adds the unique username:
 * `Sam (@sam_k)`. Usernames are unique on Discord and limited to `a-z 0-9 _ .`, and a cleaned display
 * name can contain neither `@` nor `(@`, so `(@…)` in a label always comes from here.
 */
import { labelName, skeleton } from './untrustedText.ts';

export { labelName } from './untrustedText.ts';

/** A label made here or by {@link toSpeakerLabel}: safe to put in `[speaker: …]` as it is. */
export type SpeakerLabel = string & { readonly __speakerLabel: true };

/** What a label is made from (a discord.js GuildMember has these). */
export interface LabelledPerson {
  id: string;
  displayName: string;
  user: { username: string };
}

/** A display name cleaned for a label, without telling apart (for names with no member behind them). */
export function toSpeakerLabel(name: string): SpeakerLabel {
  return labelName(name) as SpeakerLabel;
}

/**
 * The label of `person` among `others` (the guild's known members; `person` may be among them):
 * the cleaned display name, plus ` (@username)` when someone else's display name or username looks
 * the same, or the display name is blank.
 */
export function speakerLabel(person: LabelledPerson, others: Iterable<LabelledPerson>): SpeakerLabel {
  const name = labelName(person.displayName);
  const key = skeleton(person.displayName);
  let ambiguous = key === '' || name === 'someone';
  if (!ambiguous) {
    for (const other of others) {
      if (other.id === person.id) continue;
      if (skeleton(other.displayName) === key || skeleton(other.user.username) === key) {
        ambiguous = true;
        break;
      }
    }
  }
  if (!ambiguous) return name as SpeakerLabel;
  const username = person.user.username.replace(/[^a-z0-9_.]/gi, '').slice(0, 32) || person.id;
  return `${name} (@${username})` as SpeakerLabel;
}

/**
 * The note of a turn spoken by people with `labels` (already labels: {@link speakerLabel}, not
 * cleaned again): `[speaker: Alice]` or `[speakers: Alice, Sam (@sam_k)]`.
 */
export function turnLabel(labels: readonly string[]): string {
  return `[${labels.length > 1 ? 'speakers' : 'speaker'}: ${labels.join(', ')}]`;
}
