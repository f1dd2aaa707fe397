import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { VoiceConnection } from '@discordjs/voice';
import { FrameClock, OpusEncoderThread, OpusFrameDecoder } from '../../src/audio/index.ts';
import { OPUS_SILENCE_FRAME, realtimeMsToBytes } from '../../src/audio/format.ts';
import { VoicePlayback } from '../../src/voice/voicePlayback.ts';
import { silentLogger } from '../../src/log.ts';
import { after } from 'node:test';

const encoderThread = new OpusEncoderThread({ logger: silentLogger });
after(() => encoderThread.close());

/** A connection that records what would go to Discord: like @discordjs/voice, it holds one prepared packet, which playing another replaces. */
function recordingConnection() {
  const packets: Buffer[] = [];
  const speaking: boolean[] = [];
  let prepared: Buffer | undefined;
  const connection = {
    prepareAudioPacket: (packet: Buffer) => (prepared = packet),
    dispatchAudio: () => {
      if (!prepared) return false;
      packets.push(prepared);
      prepared = undefined;
      return true;
    },
    playOpusPacket: (packet: Buffer) => {
      prepared = undefined;
      packets.push(packet);
    },
    setSpeaking: (value: boolean) => void speaking.push(value),
  } as unknown as VoiceConnection;
  return { connection, packets, speaking };
}

/** Polls `condition` every few ms; fails after 5 s (a safety limit, not a timing assertion). */
async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  for (const started = Date.now(); !condition(); await sleep(5)) if (Date.now() - started > 5_000) assert.fail(`timed out waiting for ${what}`);
}

const isSilenceFrame = (packet: Buffer) => packet.equals(Buffer.from(OPUS_SILENCE_FRAME));

/** 24 kHz mono tone (so decoded packets are recognisably not silence). */
function tone(ms: number): Buffer {
  const pcm = Buffer.alloc(realtimeMsToBytes(ms));
  for (let i = 0; i < pcm.length / 2; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 24_000)), i * 2);
  return pcm;
}

test('a reply plays as one packet per tick, then the packet that flushes its end, five silence frames and speaking off', async () => {
  const { connection, packets, speaking } = recordingConnection();
  const playback = new VoicePlayback({ connection, clock: new FrameClock({ logger: silentLogger }), prebufferMs: 40, encoder: encoderThread.createStream() });
  playback.push('item1', tone(200));
  playback.endItem('item1');
  await waitUntil(() => !playback.isPlaying && speaking.at(-1) === false, 'the reply to play out');
  const audio = packets.filter((packet) => !isSilenceFrame(packet));
  assert.equal(audio.length, 11, '200 ms of audio = 10 packets, and one more that carries its end out of the encoder');
  assert.ok(packets.slice(-5).every(isSilenceFrame), 'then the five silence frames');
  assert.equal(packets.filter(isSilenceFrame).length, 5);
  assert.deepEqual(speaking, [true, false]);
  assert.equal(playback.playedMs('item1'), 200);
  const decoder = new OpusFrameDecoder();
  const decoded = audio.map((packet) => decoder.decode(packet));
  assert.ok(decoded[3]!.some((sample) => Math.abs(sample) > 1000), 'packets carry the tone');
  // The reply's last 6.5 ms (the encoder's look-ahead; nothing else delays it: the model's 24 kHz
  // mono is encoded as it is) come out of the last packet: the tone goes on for 6 ms, then silence.
  const last = decoded[10]!;
  assert.ok(last.subarray(2 * 48 * 5, 2 * 48 * 6).some((sample) => Math.abs(sample) > 4000), 'the end of the reply is in the flush packet');
  assert.ok(last.subarray(2 * 48 * 8).every((sample) => Math.abs(sample) < 300), 'and nothing after it');
  assert.ok(audio.every((packet) => (packet[0]! & 0x04) === 0), 'mono packets (TOC stereo flag 0), decoded by a stereo listener');
  playback.destroy();
});

test('stop() reports only what was sent: the packet encoded ahead is dropped, never played', async () => {
  const { connection, packets, speaking } = recordingConnection();
  const playback = new VoicePlayback({ connection, clock: new FrameClock({ logger: silentLogger }), prebufferMs: 40, encoder: encoderThread.createStream() });
  playback.push('item1', tone(2_000));
  await waitUntil(() => packets.length >= 5, 'five packets sent');
  const stopped = playback.stop();
  const sentAudio = packets.filter((packet) => !isSilenceFrame(packet)).length;
  assert.ok(stopped, 'an item was playing');
  assert.equal(stopped.itemId, 'item1');
  assert.equal(stopped.playedMs, sentAudio * 20, 'truncation point = audio actually sent');
  await waitUntil(() => speaking.at(-1) === false, 'the trailing silence to be sent and speaking off');
  assert.equal(packets.filter((packet) => !isSilenceFrame(packet)).length, sentAudio, 'nothing stale after stop');
  assert.ok(packets.slice(-5).every(isSilenceFrame), 'the burst ends with silence frames');
  playback.destroy();
});

/**
 * Playback on a hand-driven clock (time, ticks and an encoder that answers at once), so a test can
 * stop it between two exact ticks.
 */
function drivenPlayback() {
  const { connection, packets } = recordingConnection();
  let time = 0;
  const listeners = new Set<(tick: { frameIndex: number; scheduledMs: number; lateMs: number }) => void>();
  const clock = {
    subscribe(fn: (tick: { frameIndex: number; scheduledMs: number; lateMs: number }) => void) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  } as unknown as FrameClock;
  const encoder = { encode: async () => Buffer.from([0xfc, 0x01, 0x02]), destroy() {} };
  const playback = new VoicePlayback({ connection, clock, prebufferMs: 40, encoder, now: () => time });
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve)); // the encoder's answers
  let frameIndex = 0;
  return {
    playback,
    audioPackets: () => packets.filter((packet) => !isSilenceFrame(packet)).length,
    settle,
    async tick() {
      time += 20;
      for (const fn of [...listeners]) fn({ frameIndex: frameIndex++, scheduledMs: time, lateMs: 0 });
      await settle();
    },
  };
}

test('stop() in the last, partial frame of an item counts the partial frame read ahead by its own length, not 20 ms', async () => {
  // 210 ms: ten whole frames and a last one of 10 ms. With two frames read ahead, once nine have been
  // sent the unsent ones are frame 10 (20 ms) and the partial frame 11 (10 ms).
  const driven = drivenPlayback();
  driven.playback.push('item1', tone(210));
  driven.playback.endItem('item1');
  await driven.settle(); // the first packet leaves as soon as it is encoded
  while (driven.audioPackets() < 9) await driven.tick();
  const stopped = driven.playback.stop();
  assert.deepEqual(stopped, { itemId: 'item1', playedMs: 9 * 20 }, 'what was sent: nine packets of 20 ms');
  driven.playback.destroy();
});

test('playedMs of a whole item counts the partial last frame once it is sent', async () => {
  const driven = drivenPlayback();
  driven.playback.push('item1', tone(210));
  driven.playback.endItem('item1');
  await driven.settle();
  while (driven.audioPackets() < 11) await driven.tick();
  assert.equal(driven.playback.playedMs('item1'), 210);
  driven.playback.destroy();
});

test('on the tick a prepared packet is only dispatched; every frame leaves once, in order, even when the prepared one is lost', async () => {
  const sent: { how: 'dispatch' | 'play'; packet: Buffer }[] = [];
  let prepared: Buffer | undefined;
  let prepares = 0;
  let loseNext = 3; // the connection drops a prepared packet now and then (as on a reconnect)
  const connection = {
    prepareAudioPacket: (packet: Buffer) => {
      prepares++;
      prepared = packet;
      return packet;
    },
    dispatchAudio: () => {
      if (--loseNext === 0) {
        loseNext = 4;
        prepared = undefined;
      }
      if (!prepared) return false;
      sent.push({ how: 'dispatch', packet: prepared });
      prepared = undefined;
      return true;
    },
    playOpusPacket: (packet: Buffer) => {
      prepared = undefined;
      sent.push({ how: 'play', packet });
    },
    setSpeaking: () => {},
  } as unknown as VoiceConnection;
  const encoded: Buffer[] = [];
  const stream = encoderThread.createStream();
  const recording = {
    encode: async (pcm: Int16Array) => {
      const packet = await stream.encode(pcm);
      encoded.push(packet);
      return packet;
    },
    destroy: () => stream.destroy(),
  };
  const playback = new VoicePlayback({ connection, clock: new FrameClock({ logger: silentLogger }), prebufferMs: 40, encoder: recording });
  playback.push('item1', tone(600));
  playback.endItem('item1');
  for (let i = 0; i < 150 && playback.isPlaying; i++) await sleep(20);
  const audio = sent.filter(({ packet }) => !isSilenceFrame(packet));
  // 600 ms = 30 packets, and one flush frame: the last frame is full, so the upsampler's and the
  // encoder's delay (the reply's last few ms) follow in a frame of their own (src/audio/playbackBuffer.ts).
  assert.equal(audio.length, 31, '600 ms = 30 packets + the flush frame');
  assert.deepEqual(audio.map(({ packet }) => encoded.indexOf(packet)), [...encoded.keys()], 'each encoded frame sent once, in order');
  const dispatched = audio.filter(({ how }) => how === 'dispatch').length;
  assert.ok(dispatched >= 20, `most packets were prepared ahead and only dispatched on the tick (${dispatched} of 30)`);
  assert.ok(audio.some(({ how }) => how === 'play'), 'a lost prepared packet is sent the plain way');
  assert.ok(prepares >= dispatched);
  playback.destroy();
});
