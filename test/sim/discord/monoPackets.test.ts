import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OpusFrameEncoder } from '../../../src/audio/opusCodec.ts';
import { createOpusCodec, opusPacketSamples } from '../../../sim/discord/opus.ts';

/**
 * The bot plays mono Opus encoded from 24 kHz (as Discord's own clients send mono). A simulated
 * listener must take it as a real client does: a 48 kHz stereo decoder plays it on both channels,
 * and a packet-only listener counts the same 960 samples per channel from the TOC.
 */
describe('simulated listeners and the bot\'s mono packets', () => {
  test('a 20 ms mono packet counts 960 samples and decodes to 48 kHz stereo with both channels equal', () => {
    const encoder = new OpusFrameEncoder({ format: 'realtime' });
    const listener = createOpusCodec();
    for (let f = 0; f < 10; f++) {
      const frame = Int16Array.from({ length: 480 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * (f * 480 + i)) / 24_000)));
      const packet = encoder.encode(frame);
      assert.equal(packet[0]! & 0x04, 0, 'a mono packet');
      assert.equal(opusPacketSamples(packet), 960);
      const decoded = listener.decode(packet);
      const pcm = new Int16Array(decoded.buffer, decoded.byteOffset, decoded.byteLength / 2);
      assert.equal(pcm.length, 1920, '960 samples per channel, two channels');
      for (let i = 0; i < 960; i++) assert.equal(pcm[2 * i], pcm[2 * i + 1]);
      if (f === 9) assert.ok(pcm.some((sample) => Math.abs(sample) > 6000), 'the tone is heard');
    }
    encoder.destroy();
  });
});
