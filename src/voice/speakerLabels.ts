/**
 * How people are named to the model: a user-role note `[speaker: Alice]` before what they said (voice
 * turns) or at the start of their message (mentions). Display names are untrusted text.
 */

/**
 * A person's name as it appears in a `[speaker: …]` label: brackets become parentheses and control
 * characters spaces, so a display name can neither close the label early nor forge another one.
 */
export function labelName(name: string): string {
  const clean = name
    .replaceAll('[', '(')
    .replaceAll(']', ')')
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 64);
  return clean.length > 0 ? clean : 'someone';
}

/** The label of a turn spoken by `names`: `[speaker: Alice]` or `[speakers: Alice, Bob]`. */
export function speakerLabel(names: readonly string[]): string {
  return `[${names.length > 1 ? 'speakers' : 'speaker'}: ${names.map(labelName).join(', ')}]`;
}
