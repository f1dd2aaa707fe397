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

/** A connection that records what would go to Discord. */
function recordingConnection() {
  const packets: Buffer[] = [];
  const speaking: boolean[] = [];
  const connection = {
    playOpusPacket: (packet: Buffer) => void packets.push(packet),
    setSpeaking: (value: boolean) => void speaking.push(value),
  } as unknown as VoiceConnection;
  return { connection, packets, speaking };
}

const isSilenceFrame = (packet: Buffer) => packet.equals(Buffer.from(OPUS_SILENCE_FRAME));

/** 24 kHz mono tone (so decoded packets are recognisably not silence). */
function tone(ms: number): Buffer {
  const pcm = Buffer.alloc(realtimeMsToBytes(ms));
  for (let i = 0; i < pcm.length / 2; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 24_000)), i * 2);
  return pcm;
}

test('a reply plays as one packet per tick, then five silence frames and speaking off', async () => {
  const { connection, packets, speaking } = recordingConnection();
  const playback = new VoicePlayback({ connection, clock: new FrameClock({ logger: silentLogger }), prebufferMs: 40, encoder: encoderThread.createStream() });
  playback.push('item1', tone(200));
  playback.endItem('item1');
  for (let i = 0; i < 100 && (playback.isPlaying || speaking.at(-1) !== false); i++) await sleep(20);
  const audio = packets.filter((packet) => !isSilenceFrame(packet));
  assert.equal(audio.length, 10, '200 ms of audio = 10 packets');
  assert.equal(packets.filter(isSilenceFrame).length, 5);
  assert.deepEqual(speaking, [true, false]);
  assert.equal(playback.playedMs('item1'), 200);
  const decoded = new OpusFrameDecoder().decode(audio[3]!);
  assert.ok(decoded.some((sample) => Math.abs(sample) > 1000), 'packets carry the tone');
  playback.destroy();
});

test('stop() reports only what was sent: the packet encoded ahead is dropped, never played', async () => {
  const { connection, packets } = recordingConnection();
  const playback = new VoicePlayback({ connection, clock: new FrameClock({ logger: silentLogger }), prebufferMs: 40, encoder: encoderThread.createStream() });
  playback.push('item1', tone(2_000));
  await sleep(150);
  const stopped = playback.stop();
  const sentAudio = packets.filter((packet) => !isSilenceFrame(packet)).length;
  assert.ok(stopped, 'an item was playing');
  assert.equal(stopped.itemId, 'item1');
  assert.equal(stopped.playedMs, sentAudio * 20, 'truncation point = audio actually sent');
  await sleep(120);
  assert.equal(packets.filter((packet) => !isSilenceFrame(packet)).length, sentAudio, 'nothing stale after stop');
  assert.ok(packets.slice(-5).every(isSilenceFrame), 'the burst ends with silence frames');
  playback.destroy();
});
