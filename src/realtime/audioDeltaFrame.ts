/**
 * A fast path for the most frequent server event, the reply's audio delta
 * (`response.output_audio.delta`, beta `response.audio.delta`): its base64 is decoded straight from
 * the frame's bytes, and only the rest of the frame (ids, type, extra fields: a few hundred bytes)
 * becomes a string for `JSON.parse` and the event's schema (checked by hand: `deltaEvent` in protocol.ts).
 *
 * Through {@link parseServerEvent} alone, each delta (100 ms of audio: ≈ 6.4 KB of base64) made the
 * whole frame a heap string, and `JSON.parse` a second copy of the base64: ≈ 13 KB of young-generation
 * garbage per delta, ≈ 130 KB a second per speaking session, each scavenge delaying a tick of the 20 ms
 * clock every session's packets are sent on.
 *
 * Whenever the fast path is unsure it answers `undefined` and the frame is parsed whole as before: a
 * `"delta":"` key written with spaces or escapes, not exactly once in the frame, a value that is not
 * plain padded base64, a rest that is not JSON, of another type, or whose schema fails. With the value
 * cut out, the rest is the same JSON token for token (base64 has no quote or backslash), so what it
 * parses to is the event itself with an empty delta — checked, not assumed.
 *
 * @module
 */
import type { Logger } from 'pino';
import { canonicalEventType } from './dialect.ts';
import { deltaEvent, parseServerEvent, type KnownServerEvent, type ServerEvent } from './protocol.ts';

/** Where an audio delta parsed by the fast path carries its PCM (its `delta` is then empty). */
export const DECODED_AUDIO: unique symbol = Symbol('decodedAudio');

/** An audio delta event, with its PCM already decoded when it came through the fast path. */
export type AudioDeltaEvent = Extract<KnownServerEvent, { type: 'response.output_audio.delta' }> & { [DECODED_AUDIO]?: Buffer };

const KEY = Buffer.from('"delta":"', 'latin1');
const TYPE_HINT = Buffer.from('audio.delta"', 'latin1');
/** Frames below this go the ordinary way: the fast path saves nothing worth its checks. */
const MIN_FRAME_BYTES = 512;

const DECODE = new Int8Array(256).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) DECODE[c.charCodeAt(0)] = i;
const PAD = 0x3d; // =
const QUOTE = 0x22; // "

/**
 * Decodes padded base64 `src[start..end)` into a new Buffer, or null if it is not plain padded base64
 * (the ordinary parser then decides, with Node's decoder).
 */
export function decodeBase64(src: Uint8Array, start: number, end: number): Buffer | null {
  const length = end - start;
  if (length % 4 !== 0) return null;
  if (length === 0) return Buffer.alloc(0);
  const padding = src[end - 1] === PAD ? (src[end - 2] === PAD ? 2 : 1) : 0;
  const out = Buffer.allocUnsafe((length / 4) * 3 - padding);
  const whole = end - (padding > 0 ? 4 : 0);
  let o = 0;
  let bad = 0;
  for (let i = start; i < whole; i += 4) {
    const a = DECODE[src[i]!]!;
    const b = DECODE[src[i + 1]!]!;
    const c = DECODE[src[i + 2]!]!;
    const d = DECODE[src[i + 3]!]!;
    bad |= a | b | c | d; // any -1 sets the sign bit
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o] = n >>> 16;
    out[o + 1] = (n >>> 8) & 255;
    out[o + 2] = n & 255;
    o += 3;
  }
  if (padding > 0) {
    const a = DECODE[src[whole]!]!;
    const b = DECODE[src[whole + 1]!]!;
    const c = padding === 1 ? DECODE[src[whole + 2]!]! : 0;
    bad |= a | b | c;
    const n = (a << 18) | (b << 12) | (c << 6);
    out[o] = n >>> 16;
    if (padding === 1) out[o + 1] = (n >>> 8) & 255;
  }
  return bad < 0 ? null : out;
}

/**
 * An audio delta parsed from the frame's bytes, with its PCM in {@link DECODED_AUDIO}; `undefined` when
 * the frame is not one the fast path is sure of (parse it whole).
 */
export function parseAudioDeltaFrame(frame: Buffer): AudioDeltaEvent | undefined {
  if (frame.length < MIN_FRAME_BYTES || frame.indexOf(TYPE_HINT) < 0) return undefined;
  const key = frame.indexOf(KEY);
  if (key < 0) return undefined;
  const start = key + KEY.length;
  const end = frame.indexOf(QUOTE, start);
  if (end < 0 || frame.indexOf(KEY, end) >= 0) return undefined;
  const pcm = decodeBase64(frame, start, end);
  if (!pcm) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(frame.toString('utf8', 0, start) + frame.toString('utf8', end));
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { type, delta } = raw as { type?: unknown; delta?: unknown };
  if (typeof type !== 'string' || canonicalEventType(type) !== 'response.output_audio.delta' || delta !== '') return undefined;
  const event = deltaEvent(raw as Record<string, unknown>, 'response.output_audio.delta') as AudioDeltaEvent | undefined;
  if (!event) return undefined;
  event[DECODED_AUDIO] = pcm;
  return event;
}

/** One server frame as received: audio deltas through the fast path, everything else (and any doubt) whole. */
export function parseServerFrame(frame: Buffer, log: Logger): ServerEvent | null {
  return parseAudioDeltaFrame(frame) ?? parseServerEvent(frame.toString(), log);
}
