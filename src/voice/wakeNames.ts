/**
 * Whether a transcript addresses the bot by one of its wake names, tolerant of what transcription
 * does to names: case, accents, punctuation, split or joined words ("Voice Bot", "voicebot"), and
 * common mis-hearings (a letter or two off, sound-alike spellings: "Jarvis" heard as "Jervis",
 * "Kira" as "Keira", "Max" as "Macs").
 */

/** Lower case, accents removed, everything but letters and digits turned into single spaces. */
export function normalizeSpeech(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** A rough sound-alike key: spellings English transcription mixes up are folded together. */
export function soundKey(word: string): string {
  return word
    .replace(/ph/g, 'f')
    .replace(/x|cs/g, 'ks')
    .replace(/ck|q|c(?=[aou])/g, 'k')
    .replace(/c/g, 's')
    .replace(/z/g, 's')
    .replace(/y/g, 'i')
    .replace(/ee|ea|ei|ie/g, 'i')
    .replace(/oo|ou/g, 'u')
    .replace(/h(?![aeiou])/g, '')
    .replace(/([a-z])\1+/g, '$1')
    .replace(/(?<=.)[aeiou]+$/g, '');
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps), stopping early past `max`. */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  let beforePrevious: number[] = [];
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, beforePrevious[j - 2]! + 1);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > max) return max + 1;
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length]!;
}

/** How many edits a name of this length tolerates: none for short names (too many false hits), more for long ones. */
function tolerance(length: number): number {
  if (length < 4) return 0;
  if (length < 8) return 1;
  return 2;
}

/** One name compared with a run of spoken words, spaces removed. */
function sameName(spoken: string, name: string): boolean {
  if (spoken === name) return true;
  const max = tolerance(name.length);
  if (max > 0 && editDistance(spoken, name, max) <= max) return true;
  const spokenKey = soundKey(spoken);
  const nameKey = soundKey(name);
  return spokenKey.length > 0 && (spokenKey === nameKey || (name.length >= 6 && editDistance(spokenKey, nameKey, 1) <= 1));
}

/**
 * Whether `transcript` contains one of `names` as whole words (a name may be heard as one word more
 * or less: "Voice Bot" matches "voicebot" and "voice bot"). A name needs at least two letters.
 */
export function mentionsWakeName(transcript: string, names: readonly string[]): boolean {
  const words = normalizeSpeech(transcript).split(' ').filter(Boolean);
  for (const rawName of names) {
    const nameWords = normalizeSpeech(rawName).split(' ').filter(Boolean);
    const name = nameWords.join('');
    if (name.length < 2) continue;
    for (let size = Math.max(1, nameWords.length - 1); size <= nameWords.length + 1; size++) {
      for (let start = 0; start + size <= words.length; start++) {
        if (sameName(words.slice(start, start + size).join(''), name)) return true;
      }
    }
  }
  return false;
}
