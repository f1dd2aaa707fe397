/**
 * Hostile server frames for robustness tests: broken JSON, non-objects, known event types with
 * wrong-typed fields, unknown types, prototype-pollution keys, deep nesting, bad base64, binary frames.
 * Deterministic for a given seed.
 */

import { prng } from '../speech.ts';

export { prng };

const KNOWN_TYPES = [
  'error',
  'session.created',
  'session.updated',
  'input_audio_buffer.speech_started',
  'input_audio_buffer.speech_stopped',
  'input_audio_buffer.committed',
  'conversation.item.input_audio_transcription.completed',
  'conversation.item.created',
  'conversation.item.added',
  'conversation.item.truncated',
  'response.created',
  'response.output_item.added',
  'response.audio.delta',
  'response.output_audio.delta',
  'response.audio_transcript.delta',
  'response.output_audio_transcript.delta',
  'response.text.delta',
  'response.output_text.delta',
  'response.output_audio.done',
  'response.done',
  'rate_limits.updated',
];

const WEIRD_VALUES: unknown[] = [null, 42, -1, 1e308, 'x', '', true, [], {}, [1, 2], { nested: { deeper: null } }, 'NaN', '\u0000\uffff', '💥'.repeat(50)];

/** The `i`-th garbage frame of a sequence. */
export function garbageFrame(i: number, random: () => number): string | Buffer {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const type = pick(KNOWN_TYPES);
  switch (i % 12) {
    case 0:
      return '{"type": "response.done", "response": {'; // truncated JSON
    case 1:
      return Array.from({ length: 1 + Math.floor(random() * 64) }, () => String.fromCharCode(Math.floor(random() * 0xd7ff))).join('');
    case 2:
      return JSON.stringify(pick([null, 1, 'string', [1, 2, 3], true, [{ type: 'error' }]]));
    case 3:
      return JSON.stringify({ no_type: true, event_id: 'x' });
    case 4: {
      // A known type whose every field has a random wrong type.
      const event: Record<string, unknown> = { type };
      for (const key of ['response', 'error', 'item', 'item_id', 'response_id', 'delta', 'audio_start_ms', 'audio_end_ms', 'transcript', 'session', 'rate_limits', 'previous_item_id']) {
        if (random() < 0.6) event[key] = pick(WEIRD_VALUES);
      }
      return JSON.stringify(event);
    }
    case 5:
      return JSON.stringify({ type: `unknown.event.${i}`, payload: pick(WEIRD_VALUES) });
    case 6:
      return `{"type":"error","__proto__":{"polluted":true},"error":{"message":"x","__proto__":{"code":"session_expired"}}}`;
    case 7:
      return JSON.stringify({ type: pick(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) });
    case 8:
      return '['.repeat(5000) + ']'.repeat(5000);
    case 9:
      // Well-formed events about responses and items that do not exist, with bad base64.
      return JSON.stringify(
        pick([
          { type: 'response.output_audio.delta', response_id: 'resp_ghost', item_id: 'item_ghost', delta: '!!!not base64%%%' },
          { type: 'response.done', response: { id: 'resp_ghost', status: 'weird', usage: { input_token_details: 'x' } } },
          { type: 'input_audio_buffer.speech_stopped', item_id: 'item_ghost', audio_end_ms: -5 },
          { type: 'input_audio_buffer.committed', item_id: 'item_ghost', previous_item_id: 7 },
          { type: 'conversation.item.truncated', item_id: 'item_ghost', audio_end_ms: 'soon' },
          { type: 'error', error: { message: 'garbage error', code: 'rate_limit_exceeded_not' } },
          { type: 'response.created', response: { id: '', metadata: 'none' } },
        ]),
      );
    case 10:
      return Buffer.from(Array.from({ length: 32 }, () => Math.floor(random() * 256)));
    default:
      return JSON.stringify({ type, event_id: 1, error: { message: 5 }, response: { id: 7 } });
  }
}
