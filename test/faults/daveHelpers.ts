/**
 * Observation points of the DAVE fault tests, independent of the code under test: what reaches the
 * Opus decoder, what the listening member heard, who the bot hears.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type { SimulatedMember } from '../../sim/discord/index.ts';
import { OpusFrameDecoder } from '../../src/audio/index.ts';
import type { VoiceSession } from '../../src/voice/voiceSession.ts';
import { eventually } from './helpers.ts';

/** A DAVE frame ends with its supplemental size and the marker 0xFAFA (daveprotocol.com, "Frame format"). */
function looksDaveEncrypted(frame: Buffer): boolean {
  return frame.length > 12 && frame[frame.length - 1] === 0xfa && frame[frame.length - 2] === 0xfa && frame[frame.length - 3]! >= 12;
}

/** Counts every frame given to any Opus decoder of the process, and those still DAVE-encrypted. */
export interface DecoderInputWatch {
  frames: number;
  stillEncrypted: number;
  restore(): void;
}

export function watchDecoderInput(): DecoderInputWatch {
  const prototype = OpusFrameDecoder.prototype;
  const decode = prototype.decode;
  const watch: DecoderInputWatch = {
    frames: 0,
    stillEncrypted: 0,
    restore: () => {
      prototype.decode = decode;
    },
  };
  prototype.decode = function (this: OpusFrameDecoder, packet: Buffer) {
    watch.frames++;
    if (looksDaveEncrypted(packet)) watch.stillEncrypted++;
    return decode.call(this, packet);
  };
  return watch;
}

/** Asserts that everything `listener` heard of the bot after `after` was end-to-end encrypted (all but `allowance` voiced frames). */
export function assertHeardE2ee(listener: SimulatedMember, after: number, label: string, allowance = 0): void {
  const voiced = listener.heard().packets.filter((p) => !p.silence && p.arrivalMs >= after);
  assert.ok(voiced.length > 0, `${label}: ${listener.name} heard the bot`);
  const clear = voiced.filter((p) => !p.e2ee);
  assert.ok(clear.length <= allowance, `${label}: ${clear.length} of ${voiced.length} frames the bot sent were not E2EE`);
}

/** Resolves with the ms from `since` until the bot hears `member` speak (voiced frames decoded). */
export async function timeUntilHeard(voice: () => VoiceSession, member: SimulatedMember, since: number, timeoutMs = 15_000): Promise<number> {
  await eventually(() => voice().activeSpeakers.includes(member.name), `the bot to hear ${member.name}`, timeoutMs);
  return performance.now() - since;
}

/** Speaks short utterances back to back until `done()` holds (or `timeoutMs`); returns how long it spoke. */
export async function speakUntil(member: SimulatedMember, done: () => boolean, utterance: (seed: number) => Int16Array, timeoutMs: number): Promise<number> {
  const started = performance.now();
  let seed = 900;
  while (!done()) {
    if (performance.now() - started > timeoutMs) throw new Error(`${member.name} spoke ${timeoutMs} ms and the condition never held`);
    await member.speak(utterance(seed++));
  }
  return performance.now() - started;
}
