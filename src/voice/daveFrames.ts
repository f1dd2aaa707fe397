import { OPUS_SILENCE_FRAME } from '../audio/format.ts';

/** DAVE's magic marker, the last two bytes of every end-to-end encrypted frame. */
const MARKER = 0xfafa;
/**
 * Smallest DAVE supplemental data: 8-byte truncated tag, 1-byte ULEB128 nonce, the size byte
 * itself and the 2-byte marker (daveprotocol.com, "Frame format"; davey writes exactly this for Opus).
 */
const MIN_SUPPLEMENTAL_BYTES = 12;

/** Reads a ULEB128 from `at`; returns the offset after it, or -1 if it runs past `end` (or beyond 5 bytes). */
function skipUleb128(frame: Buffer, at: number, end: number): number {
  if (at < 0) return -1;
  for (let i = 0; i < 5 && at + i < end; i++) if ((frame[at + i]! & 0x80) === 0) return at + i + 1;
  return -1;
}

/**
 * True if a frame handed out by the receiver is still DAVE-encrypted: it ends with the marker
 * `0xFAFA` preceded by a supplemental-data size whose contents parse — the 8-byte truncated tag,
 * a ULEB128 nonce, then ULEB128 pairs of unencrypted ranges ending exactly at the size byte.
 * @discordjs/voice passes such frames on unchanged before the bot's MLS Welcome (and while its DAVE
 * session re-initialises); decoded as Opus they come out as loud noise. Real Opus frames end in
 * `0xFAFA` about once in 4,500 (measured on speech), but none of 60,000 also parsed as supplemental
 * data: at worst one 20 ms frame would be lost, never a word.
 */
export function isUndecryptedDaveFrame(frame: Buffer): boolean {
  const length = frame.length;
  if (length < MIN_SUPPLEMENTAL_BYTES + 1 || frame.readUInt16BE(length - 2) !== MARKER) return false;
  const supplemental = frame[length - 3]!;
  if (supplemental < MIN_SUPPLEMENTAL_BYTES || supplemental >= length) return false;
  const end = length - 3;
  let at = skipUleb128(frame, length - supplemental + 8, end); // after the tag: the nonce
  while (at >= 0 && at < end) at = skipUleb128(frame, skipUleb128(frame, at, end), end); // range offset, size
  return at === end;
}

/** The 3-byte Opus silence frame clients send at the end of a burst (never E2EE-encrypted). */
export function isOpusSilence(frame: Buffer): boolean {
  return frame.length === OPUS_SILENCE_FRAME.length && frame.equals(OPUS_SILENCE_FRAME);
}
