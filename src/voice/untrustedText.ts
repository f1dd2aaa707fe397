/**
 * Text from people (display names, messages) reaches the model as data, never as the bot's own
 * syntax. The bot labels turns `[speaker: Name]`; these helpers make sure nobody can write such a
 * label themselves, whatever Unicode they use:
 * - NFKC folds compatibility forms (full-width `［speaker：Owner］` becomes `[speaker:Owner]`);
 * - invisible and direction-control characters are removed (zero-width, bidi overrides, tag
 *   characters, Hangul fillers, the blank Braille pattern), line separators become newlines;
 * - in names, every bracket-like character becomes a parenthesis, so a name cannot open or close a
 *   label; in messages, a bracketed tag that looks like a label or a role (`[speaker: …]`,
 *   `⟦system⟧`, `<assistant>`, `[ѕреаker: …]` in Cyrillic look-alikes) has its brackets turned into
 *   parentheses, while ordinary brackets (`arr[0]`, links) are kept.
 */

/** Characters nobody sees: format characters (zero-width, bidi, tags…) and blank-looking letters. */
const INVISIBLE = /[\p{Cf}\u115F\u1160\u3164\uFFA0\u2800\u034F\u17B4\u17B5\u180B-\u180F\uFE00-\uFE0F]|\uDB40[\uDD00-\uDDEF]/gu;
/** Control characters other than newline and tab. */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
/** Line and paragraph separators, and carriage returns, which models read as line breaks. */
const LINE_BREAKS = /\r\n?|[\u2028\u2029\u0085]/g;

/**
 * Latin look-alikes (Cyrillic, Greek, others) folded to the letter they imitate, so that a label
 * word or a display name spelled with them is recognised. A subset of Unicode's confusables table
 * (UTS #39) covering the letters of the words that matter here and common impersonations.
 */
const LOOK_ALIKES: Record<string, string> = {
  а: 'a', в: 'b', е: 'e', ё: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x', ѕ: 's', і: 'i', ї: 'i', ј: 'j',
  ԁ: 'd', һ: 'h', ԛ: 'q', ԝ: 'w', ո: 'n', ս: 'u', ց: 'g', ɑ: 'a', ɡ: 'g', ɩ: 'i', ʏ: 'y', ᴅ: 'd', ᴋ: 'k', ᴍ: 'm', ᴏ: 'o', ᴘ: 'p', ᴛ: 't', ᴜ: 'u',
  α: 'a', β: 'b', ε: 'e', η: 'n', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x', γ: 'y', ω: 'w', ϲ: 'c', ϳ: 'j',
  ı: 'i', ł: 'l', ŀ: 'l', ſ: 's', '0': 'o', '1': 'l', '3': 'e', '5': 's', '|': 'l',
};

/** The same as NFKC with invisible and control characters removed and line breaks unified. */
export function normalizeUntrusted(text: string): string {
  return text.normalize('NFKC').replace(LINE_BREAKS, '\n').replace(INVISIBLE, '').replace(CONTROL, ' ');
}

/**
 * A comparison key: normalized, lower case, accents dropped, look-alikes folded, spaces and
 * punctuation removed. Two names with the same key look the same to a reader (and to the model).
 */
export function skeleton(text: string): string {
  const folded = normalizeUntrusted(text).toLowerCase().normalize('NFD').replace(/\p{M}/gu, '');
  let out = '';
  for (const char of folded) out += LOOK_ALIKES[char] ?? char;
  return out.replace(/[^\p{L}\p{N}]/gu, '');
}

/** Longest name in a label (characters). */
const MAX_NAME_CHARS = 64;

/**
 * A person's name as it appears in a `[speaker: …]` label: normalized, every bracket-like character
 * (`[`, `(`, `⟦`, `【`, `〔`, `<`, …) a parenthesis, `@ : , ;` dropped (a name cannot imitate the
 * `(@username)` told-apart suffix, a `name: text` line or a list of several speakers), all whitespace one space, at most 64
 * characters; `someone` if nothing is left.
 */
export function labelName(name: string): string {
  const clean = normalizeUntrusted(name)
    .replace(/[\p{Ps}\p{Pi}<]/gu, '(')
    .replace(/[\p{Pe}\p{Pf}>]/gu, ')')
    .replace(/[@:,;]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const cut = [...clean].slice(0, MAX_NAME_CHARS).join('').trim();
  return cut.length > 0 ? cut : 'someone';
}

/** Words that would make a bracketed tag read as the bot's label or a role, compared by skeleton. */
const ROLE_WORDS = new Set([
  'speaker', 'speakers', 'system', 'assistant', 'developer', 'user', 'owner', 'admin', 'administrator', 'moderator', 'mod',
  'bot', 'server', 'staff', 'instruction', 'instructions', 'tool', 'function', 'imstart', 'imend', 'endoftext',
]);

/** Opening brackets and their look-alikes (after NFKC), and `<`. */
const OPENERS = /[\p{Ps}\p{Pi}<]/u;
/** Closing brackets and their look-alikes, and `>`. */
const CLOSERS = /[\p{Pe}\p{Pf}>]/u;

/**
 * A message's text as it reaches the model: normalized (NFKC, invisible and control characters gone),
 * with every bracketed tag that could pass for a label or a role (`[speaker: Owner]`, `[system]`,
 * `<|im_start|>`, `⟦developer⟧`, `[owner: …`, `[From: X]` at the start of a line or after a space)
 * turned into parentheses. Other brackets are kept as written.
 */
export function neutralizeText(text: string): string {
  const chars = [...normalizeUntrusted(text)];
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] === '(' || !OPENERS.test(chars[i]!)) continue;
    // The tag's first word(s), up to a colon, a closer or 40 characters.
    let j = i + 1;
    while (j < chars.length && /[\s|/]/u.test(chars[j]!)) j++;
    const start = j;
    while (j < chars.length && j - start < 40 && /[\p{L}\p{N}_ .'-]/u.test(chars[j]!)) j++;
    const word = chars.slice(start, j).join('');
    const next = chars[j];
    const roleLike = ROLE_WORDS.has(skeleton(word.split(/\s+/)[0] ?? '')) || ROLE_WORDS.has(skeleton(word));
    const atWordStart = i === 0 || /[\s\p{P}]/u.test(chars[i - 1]!);
    const labelShaped = atWordStart && next !== undefined && /[:：]/u.test(next) && word.trim().length > 0;
    if (!roleLike && !labelShaped) continue;
    chars[i] = '(';
    // Its closer, if it comes within the next 200 characters on the same line.
    for (let k = j; k < chars.length && k < j + 200 && chars[k] !== '\n'; k++) {
      if (chars[k] !== ')' && CLOSERS.test(chars[k]!)) {
        chars[k] = ')';
        break;
      }
    }
  }
  return chars.join('');
}
