import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import davey from '@snazzah/davey';
import { ExternalSender, groupIdOf, parseCommitWelcome, proposalsPayload } from '../../sim/discord/mls.ts';
import { createOpusCodec } from '../../sim/discord/opus.ts';
import { utterance } from '../../sim/speech.ts';
import { DISCORD_FRAME_SAMPLES, OPUS_SILENCE_FRAME } from '../../src/audio/format.ts';
import { isOpusSilence, isUndecryptedDaveFrame } from '../../src/voice/daveFrames.ts';

/** Two davey members in one established group (the first encrypts). */
function encryptingMember(): davey.DAVESession {
  const channelId = '1100000000000000001';
  const sender = new ExternalSender();
  const a = new davey.DAVESession(1, '1200000000000000001', channelId);
  const b = new davey.DAVESession(1, '1200000000000000002', channelId);
  a.setExternalSender(sender.package());
  b.setExternalSender(sender.package());
  const proposals = proposalsPayload([sender.add(groupIdOf(channelId), 0n, b.getSerializedKeyPackage())]);
  const { commit, welcome } = a.processProposals(0 as davey.ProposalsOperationType, proposals.subarray(1), ['1200000000000000001', '1200000000000000002']);
  a.processCommit(parseCommitWelcome(Buffer.concat([commit!, welcome!])).commit);
  return a;
}

/** Opus frames of `seconds` of speech-like audio. */
function opusFrames(seconds: number, seed: number): Buffer[] {
  const codec = createOpusCodec();
  const pcm = utterance(seconds, seed);
  const step = DISCORD_FRAME_SAMPLES * 2;
  const frames: Buffer[] = [];
  for (let offset = 0; offset + step <= pcm.length; offset += step) {
    const chunk = pcm.subarray(offset, offset + step);
    frames.push(codec.encode(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  }
  return frames;
}

describe('isUndecryptedDaveFrame', () => {
  it('recognises every frame davey encrypts, whatever its size and nonce length', () => {
    const member = encryptingMember();
    const frames = opusFrames(8, 3); // 400 frames: the nonce grows past one ULEB128 byte
    for (const frame of [...frames, Buffer.from([0xfc, 1]), Buffer.alloc(1200, 0x78)]) {
      const encrypted = member.encryptOpus(frame);
      assert.ok(isUndecryptedDaveFrame(encrypted), `an encrypted ${frame.length}-byte frame (${encrypted.length} bytes)`);
    }
  });

  it('lets real Opus frames and the silence frame through (speech where plain Opus frames end in 0xFAFA)', () => {
    // Seeds 8 and 11 include frames ending in FA FA with a plausible size byte: only the parse tells them apart.
    const frames = [...opusFrames(30, 8), ...opusFrames(30, 11), ...opusFrames(30, 7)];
    assert.ok(frames.some((f) => f.readUInt16BE(f.length - 2) === 0xfafa), 'the speech has frames ending in the marker');
    const flagged = frames.filter(isUndecryptedDaveFrame);
    assert.equal(flagged.length, 0, `${flagged.length} of ${frames.length} speech frames taken for DAVE frames`);
    assert.equal(isUndecryptedDaveFrame(OPUS_SILENCE_FRAME), false);
  });

  it('needs a plausible supplemental size before the marker', () => {
    const frame = Buffer.alloc(40, 1);
    frame.writeUInt16BE(0xfafa, 38);
    frame[37] = 11; // smaller than tag + nonce + size + marker
    assert.equal(isUndecryptedDaveFrame(frame), false);
    frame[37] = 40; // the whole frame: no payload left
    assert.equal(isUndecryptedDaveFrame(frame), false);
    frame[37] = 12; // tag at 28–35, a 1-byte nonce at 36
    assert.equal(isUndecryptedDaveFrame(frame), true);
    frame[37] = 13; // tag at 27–34, nonce at 35, then an unencrypted-range offset at 36 without its size
    assert.equal(isUndecryptedDaveFrame(frame), false);
    frame[35] = 0x81; // a 2-byte nonce at 35–36 ending right before the size byte
    assert.equal(isUndecryptedDaveFrame(frame), true);
  });

  it('isOpusSilence is exactly the 3-byte silence frame', () => {
    assert.equal(isOpusSilence(Buffer.from(OPUS_SILENCE_FRAME)), true);
    assert.equal(isOpusSilence(Buffer.from([0xf8, 0xff, 0xfe, 0])), false);
  });
});
