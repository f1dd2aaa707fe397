/**
 * FUZZ: hostile voice input against the real bot in a voice channel — 10,000 fuzzed RTP datagrams
 * (random bytes, runts of 0–11 bytes, truncated packets, a member's SSRC with garbage, wrong payload
 * types, unknown SSRCs, bogus header extensions) and 10,000 fuzzed Opus frames, both through
 * OpusFrameDecoder directly and encrypted as a member's packets through the real receive path.
 * No crash, and the bot still hears members and answers afterwards.
 */
import assert from 'node:assert/strict';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { OpusFrameDecoder, OpusFrameEncoder } from '../../src/audio/index.ts';
import { DISCORD_CHANNELS, DISCORD_FRAME_SAMPLES } from '../../src/audio/format.ts';
import { prng } from '../../sim/realtime/garbage.ts';
import { rtpHeader } from '../../sim/discord/rtp.ts';
import { utterance } from '../../sim/speech.ts';
import { collectCrashes, eventually, startVoiceStack, voiceTurn, waitForPlaybackIdle, type VoiceStack } from '../faults/helpers.ts';

const crashes = collectCrashes();
let s: VoiceStack;
const random = prng(20260705);
const int = (n: number) => Math.floor(random() * n);
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

before(async () => {
  s = await startVoiceStack();
  // Alice speaks once so her SSRC is announced and the bot is subscribed to her.
  assert.ok((await voiceTurn(s.alice, s.carol, 1)) >= 300);
  await waitForPlaybackIdle(s.voice);
});
after(async () => {
  await s?.close();
  crashes.assertNone();
});

/** Real Opus frames of speech, to mutate. */
function realOpusFrames(count: number): Buffer[] {
  const encoder = new OpusFrameEncoder();
  const pcm = utterance((count * 20) / 1000, 7);
  const step = DISCORD_FRAME_SAMPLES * DISCORD_CHANNELS;
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) frames.push(Buffer.from(encoder.encode(pcm.subarray(i * step, (i + 1) * step))));
  return frames;
}

/** The i-th fuzzed Opus frame: random, bit-flipped, truncated or extended real frames, odd TOCs, huge. */
function fuzzedOpus(i: number, real: Buffer[]): Buffer {
  const base = real[i % real.length]!;
  switch (i % 8) {
    case 0:
      return bytes(1 + int(400));
    case 1: {
      const copy = Buffer.from(base);
      for (let k = 0; k < 1 + int(8); k++) copy[int(copy.length)]! ^= 1 << int(8);
      return copy;
    }
    case 2:
      return base.subarray(0, int(base.length));
    case 3:
      return Buffer.concat([base, bytes(1 + int(200))]);
    case 4: {
      const copy = Buffer.from(base);
      copy[0] = int(256); // any TOC: other modes, durations (2.5–120 ms), stereo flags, code 3 frame counts
      return copy;
    }
    case 5:
      return Buffer.from([int(256)]); // a lone TOC byte
    case 6:
      return Buffer.concat([Buffer.from([0xff, 0xff]), bytes(int(1200))]); // code 3, 48 frames claimed
    default:
      return Buffer.alloc(0);
  }
}

test('10,000 fuzzed Opus frames through OpusFrameDecoder: always one 20 ms frame, never a throw', () => {
  const decoder = new OpusFrameDecoder();
  const real = realOpusFrames(50);
  for (let i = 0; i < 10_000; i++) {
    const pcm = decoder.decode(fuzzedOpus(i, real));
    assert.equal(pcm.length, DISCORD_FRAME_SAMPLES * DISCORD_CHANNELS);
  }
  assert.ok(decoder.badPackets > 1_000, `bad packets counted (${decoder.badPackets})`);
  // Still decodes real speech afterwards.
  const good = decoder.decode(real[10]!);
  assert.ok(good.some((sample) => sample !== 0));
});

test('10,000 fuzzed Opus frames as Alice\'s encrypted RTP through the real receive path: no crash, still heard', async () => {
  const sim = s.stack.discord;
  const real = realOpusFrames(50);
  let sequence = int(65536);
  let timestamp = int(2 ** 31);
  let delivered = 0;
  for (let i = 0; i < 10_000; i++) {
    sequence = (sequence + 1) & 0xffff;
    timestamp = (timestamp + 960) >>> 0;
    if (sim.voice.deliverAudio(s.alice, { sequence, timestamp, ssrc: s.alice.ssrc }, fuzzedOpus(i, real))) delivered++;
    if (i % 100 === 99) await yieldLoop();
  }
  assert.equal(delivered, 10_000);
  await waitForPlaybackIdle(s.voice);
  assert.ok((await voiceTurn(s.alice, s.carol, 2)) >= 300, 'the bot still hears Alice and answers');
  await waitForPlaybackIdle(s.voice);
});

test('10,000 fuzzed RTP datagrams: no crash, dropped and counted, the bot still hears and answers', async () => {
  const sim = s.stack.discord;
  const kinds: Record<string, number> = {};
  const count = (kind: string) => (kinds[kind] = (kinds[kind] ?? 0) + 1);
  const failuresBefore = s.voice().decryptFailures;
  for (let i = 0; i < 10_000; i++) {
    const server = sim.voice.botServer;
    const session = sim.voice.botSession;
    if (!server || !session) {
      // The bot may be rejoining after repeated decryption failures (by design): wait for it.
      await eventually(() => sim.voice.botSession !== null, 'the bot voice session to come back');
      i--;
      continue;
    }
    const header = rtpHeader({ sequence: int(65536), timestamp: int(2 ** 32), ssrc: i % 3 === 0 ? s.alice.ssrc : 1 + int(2 ** 31) });
    let datagram: Buffer;
    switch (i % 10) {
      case 0:
        datagram = bytes(int(12)); // runt: 0–11 bytes (9–11 crash @discordjs/voice 0.19.2 unguarded)
        count('runt');
        break;
      case 1:
        datagram = bytes(12 + int(1400)); // random
        count('random');
        break;
      case 2:
        datagram = Buffer.concat([header, bytes(int(28))]); // truncated: shorter than tag + nonce
        count('truncated');
        break;
      case 3:
        datagram = Buffer.concat([header, bytes(20 + int(300))]); // right or random SSRC, garbage ciphertext
        count('garbageBody');
        break;
      case 4:
        header[1] = int(256); // wrong payload type / marker
        datagram = Buffer.concat([header, bytes(40)]);
        count('wrongPayloadType');
        break;
      case 5:
        header[0] = 0x90 | int(16); // extension bit + CSRC count
        datagram = Buffer.concat([header, Buffer.from([0xbe, 0xde, 0xff, 0xff]), bytes(int(60))]); // huge extension length
        count('badExtension');
        break;
      case 6:
        header[0] = int(256); // any version / padding / CSRC bits
        datagram = Buffer.concat([header, bytes(int(100))]);
        count('badFirstByte');
        break;
      case 7:
        datagram = header; // header only
        count('headerOnly');
        break;
      default:
        datagram = Buffer.concat([header, bytes(int(2000))]);
        count('oversized');
    }
    server.sendRaw(session, datagram);
    if (i % 50 === 49) await yieldLoop();
  }
  assert.equal(Object.values(kinds).reduce((a, b) => a + b, 0), 10_000);
  assert.ok(s.voice().decryptFailures > failuresBefore, 'garbage under Alice\'s SSRC reached decryption and was recovered from');
  await eventually(() => s.voice().status === 'ready' && sim.voice.botSession !== null, 'the voice session to be ready');
  await waitForPlaybackIdle(s.voice);
  assert.ok((await voiceTurn(s.alice, s.carol, 3)) >= 300, 'the bot still hears Alice and answers');
  assert.ok((await voiceTurn(s.bob, s.carol, 4)) >= 300, 'the bot hears Bob too');
});
