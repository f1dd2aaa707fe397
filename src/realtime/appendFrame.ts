/**
 * The `input_audio_buffer.append` client event written straight as the bytes of its WebSocket text
 * frame: the PCM base64-encoded into the frame's Buffer, no heap string on the way.
 *
 * Input audio is most of what the bot sends: one append per session every 20 ms. As
 * `JSON.stringify({ type, audio: pcm.toString('base64'), event_id })` every append made two heap
 * strings (≈ 1.3 KB of base64, ≈ 1.4 KB of JSON) — at 40 sessions ≈ 5 MB of young-generation garbage a
 * second, a scavenge (3–11 ms under load, each delaying a tick of the 20 ms clock) every ≈ 1.5 s from
 * this alone. A Buffer of this size is a slice of Node's pool: the young generation gets its
 * object header only. The bytes are the same as `JSON.stringify`'s (a test compares them).
 *
 * @module
 */

const PREFIX = Buffer.from('{"type":"input_audio_buffer.append","audio":"', 'latin1');
const MIDDLE = Buffer.from('","event_id":', 'latin1');
const SUFFIX = 0x7d; // }

const ALPHABET = new Uint8Array(Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1'));
const PAD = 0x3d; // =

/** Length of the standard (padded) base64 encoding of `bytes` bytes. */
function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** Writes the padded base64 of `src` into `dst` from `offset`; returns the offset after it. */
export function writeBase64(src: Uint8Array, dst: Uint8Array, offset: number): number {
  const whole = src.length - (src.length % 3);
  let o = offset;
  for (let i = 0; i < whole; i += 3) {
    const n = (src[i]! << 16) | (src[i + 1]! << 8) | src[i + 2]!;
    dst[o] = ALPHABET[n >>> 18]!;
    dst[o + 1] = ALPHABET[(n >>> 12) & 63]!;
    dst[o + 2] = ALPHABET[(n >>> 6) & 63]!;
    dst[o + 3] = ALPHABET[n & 63]!;
    o += 4;
  }
  const rest = src.length - whole;
  if (rest === 1) {
    const n = src[whole]! << 16;
    dst[o] = ALPHABET[n >>> 18]!;
    dst[o + 1] = ALPHABET[(n >>> 12) & 63]!;
    dst[o + 2] = PAD;
    dst[o + 3] = PAD;
    o += 4;
  } else if (rest === 2) {
    const n = (src[whole]! << 16) | (src[whole + 1]! << 8);
    dst[o] = ALPHABET[n >>> 18]!;
    dst[o + 1] = ALPHABET[(n >>> 12) & 63]!;
    dst[o + 2] = ALPHABET[(n >>> 6) & 63]!;
    dst[o + 3] = PAD;
    o += 4;
  }
  return o;
}

/**
 * The UTF-8 bytes of `JSON.stringify({ type: 'input_audio_buffer.append', audio: base64(pcm), event_id: eventId })`.
 * `eventId` is the client's own id (ASCII letters, digits, `_`); it is still written as a JSON string.
 */
export function appendFrame(pcm: Uint8Array, eventId: string): Buffer {
  const id = JSON.stringify(eventId);
  const idBytes = Buffer.byteLength(id);
  const frame = Buffer.allocUnsafe(PREFIX.length + base64Length(pcm.length) + MIDDLE.length + idBytes + 1);
  let offset = PREFIX.copy(frame, 0);
  offset = writeBase64(pcm, frame, offset);
  offset += MIDDLE.copy(frame, offset);
  offset += frame.write(id, offset, 'utf8');
  frame[offset] = SUFFIX;
  return frame;
}
