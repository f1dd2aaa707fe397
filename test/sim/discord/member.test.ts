import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { DISCORD_FRAME_BYTES, OPUS_SILENCE_FRAME } from '../../../src/audio/format.ts';
import { SimulatedMember, type MemberHub } from '../../../sim/discord/member.ts';
import { createOpusCodec, encodeOpusFrames, opusPacketSamples } from '../../../sim/discord/opus.ts';
import type { RtpHeader } from '../../../sim/discord/rtp.ts';
import { prng, utterance } from '../../../sim/speech.ts';

/** A hub that only records what the member sends. */
function recordingHub(): { hub: MemberHub; sent: { header: RtpHeader; opus: Buffer }[] } {
  const sent: { header: RtpHeader; opus: Buffer }[] = [];
  const hub = {
    defaultVoiceChannelId: 'voice',
    setVoiceChannel: () => {},
    deliverAudio: (_member: SimulatedMember, header: RtpHeader, opus: Buffer) => void sent.push({ header, opus }),
    runCommand: () => {
      throw new Error('not used');
    },
    say: () => {
      throw new Error('not used');
    },
  } as unknown as MemberHub;
  return { hub, sent };
}

describe('SimulatedMember.speak', () => {
  test('encodes every frame in capture order, whatever the network loses, delays or reorders', async () => {
    const { hub, sent } = recordingHub();
    const member = new SimulatedMember('1', 'Alice', hub);
    const pcm = utterance(0.6, 3);
    await member.speak(pcm, { loss: 0.3, reorder: 0.3, jitterMs: 30, random: prng(7) });

    // The reference: one encoder fed every frame in order, as a real client's.
    const encoder = createOpusCodec();
    const inOrder: Buffer[] = [];
    for (let offset = 0; offset < pcm.length; offset += DISCORD_FRAME_BYTES / 2) {
      const frame = Buffer.alloc(DISCORD_FRAME_BYTES);
      const chunk = pcm.subarray(offset, offset + DISCORD_FRAME_BYTES / 2);
      Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).copy(frame);
      inOrder.push(encoder.encode(frame));
    }
    // The first frames may be lost: frame k of the lowest sequence number that arrived is where that
    // packet's bytes are found in the reference (the only unknown; every other packet must then match).
    const lowest = sent.reduce((a, b) => (((b.header.sequence - a.header.sequence + 65536) % 65536) > 32768 ? b : a));
    const skipped = inOrder.findIndex((packet) => packet.equals(lowest.opus));
    assert.ok(skipped >= 0 && skipped < 10, 'the earliest packet that arrived is one of the first frames');
    const first = (lowest.header.sequence - skipped + 65536) % 65536;
    const arrivalOrder = sent.map((p) => (p.header.sequence - first + 65536) % 65536);
    assert.ok(arrivalOrder.length < inOrder.length + 5, 'some packets were lost');
    assert.ok(arrivalOrder.some((k, i) => i > 0 && k < arrivalOrder[i - 1]!), 'some packets arrived out of order');
    for (const { header, opus } of sent) {
      const k = (header.sequence - first + 65536) % 65536;
      if (k >= inOrder.length) assert.deepEqual(opus, OPUS_SILENCE_FRAME, `packet ${k} ends the burst`);
      else assert.deepEqual(opus, inOrder[k], `packet ${k} is what an in-order encoder produced for frame ${k}`);
    }
  });

  test('onSent reports each packet sent with how late it left against its schedule', async () => {
    const { hub, sent } = recordingHub();
    // A hub whose third send blocks the event loop for 60 ms: that packet leaves on time, the next ones late.
    const deliver = hub.deliverAudio;
    hub.deliverAudio = (member, header, opus) => {
      deliver(member, header, opus);
      if (sent.length === 3) for (const until = performance.now() + 60; performance.now() < until; );
    };
    const member = new SimulatedMember('1', 'Alice', hub);
    const reports: { sequence: number; lateMs: number }[] = [];
    await member.speak(utterance(0.2, 3), { onSent: (header, lateMs) => reports.push({ sequence: header.sequence, lateMs }) });
    assert.deepEqual(reports.map((r) => r.sequence), sent.map((p) => p.header.sequence), 'one report per packet sent, in send order');
    assert.ok(reports[3]!.lateMs >= 60 - 2 * 20, `the packet after the block left late (${reports[3]!.lateMs} ms)`);
  });

  test('a seeded random source repeats the same losses', async () => {
    const runs: number[][] = [];
    for (let run = 0; run < 2; run++) {
      const { hub, sent } = recordingHub();
      await new SimulatedMember('1', 'Alice', hub).speak(utterance(0.3, 1), { loss: 0.4, random: prng(11) });
      const first = sent[0]!.header.sequence;
      runs.push(sent.map((p) => (p.header.sequence - first + 65536) % 65536));
    }
    assert.deepEqual(runs[0], runs[1]);
  });

  test('prepared Opus is sent as given, byte for byte, at the same 20 ms pace and numbering as live encoding', async () => {
    const pcm = utterance(0.5, 4);
    const live = recordingHub();
    await new SimulatedMember('1', 'Alice', live.hub).speak(pcm);
    const opus = encodeOpusFrames(pcm);
    assert.equal(opus.length, Math.ceil(pcm.length / (DISCORD_FRAME_BYTES / 2)), 'one frame per 20 ms');
    const ahead = recordingHub();
    const lateness: number[] = [];
    const { startedAt, endedAt } = await new SimulatedMember('2', 'Bob', ahead.hub).speak({ opus }, { onSent: (_header, lateMs) => lateness.push(lateMs) });
    // The same bytes as a member encoding on the way (then five silence frames): the bot receives the same stream.
    assert.deepEqual(ahead.sent.map((p) => p.opus), live.sent.map((p) => p.opus));
    assert.equal(ahead.sent.length, opus.length + 5);
    for (let i = 1; i < ahead.sent.length; i++) {
      const [a, b] = [ahead.sent[i - 1]!.header, ahead.sent[i]!.header];
      assert.equal((b.sequence - a.sequence + 65536) % 65536, 1, `sequence +1 at ${i}`);
      assert.equal((b.timestamp - a.timestamp + 2 ** 32) % 2 ** 32, 960, `timestamp +960 at ${i}`);
    }
    // Paced, not sent in a burst: the last packet leaves no earlier than its capture time.
    assert.ok(endedAt - startedAt >= (ahead.sent.length - 1) * 20 - 1, `sent over ${(endedAt - startedAt).toFixed(0)} ms`);
    assert.ok(lateness.every((ms) => ms > -2), 'no packet before its schedule (timers may fire a fraction of a ms early)');
  });
});

describe('opusPacketSamples', () => {
  test('counts the samples a packet decodes to from its TOC, as the decoder does', () => {
    const decoder = createOpusCodec();
    for (const packet of encodeOpusFrames(utterance(0.2, 5))) {
      assert.equal(opusPacketSamples(packet), decoder.decode(packet).length / 4, 'samples per channel of a 20 ms frame');
    }
    assert.equal(opusPacketSamples(OPUS_SILENCE_FRAME), 960, 'the silence frame is one 20 ms CELT frame');
    // RFC 6716 §3.1: config 0 (SILK NB 10 ms) code 0; config 1 (20 ms) code 1 (two frames); config 16
    // (CELT 2.5 ms) code 2; config 19 (CELT 20 ms) code 3 with a count of 3; config 13 (hybrid 20 ms).
    assert.equal(opusPacketSamples(Buffer.from([0x00, 0])), 480);
    assert.equal(opusPacketSamples(Buffer.from([(1 << 3) | 1, 0])), 1920);
    assert.equal(opusPacketSamples(Buffer.from([(16 << 3) | 2, 0])), 240);
    assert.equal(opusPacketSamples(Buffer.from([(19 << 3) | 3, 3])), 2880);
    assert.equal(opusPacketSamples(Buffer.from([13 << 3])), 960);
    assert.equal(opusPacketSamples(Buffer.alloc(0)), null);
    assert.equal(opusPacketSamples(Buffer.from([(19 << 3) | 3])), null, 'code 3 without its count byte');
  });
});

describe('SimulatedMember.speak with aheadMs', () => {
  test('hands each packet over aheadMs before it is due, with its send time, and reports what the network reports', async () => {
    const handed: { at: number; handedAt: number; sequence: number; onSent?: (lateMs: number) => void }[] = [];
    const hub = {
      defaultVoiceChannelId: 'voice',
      deliverAudio: (_member: SimulatedMember, header: RtpHeader, _opus: Buffer, timing?: { at: number; onSent?: (lateMs: number) => void }) => {
        assert.ok(timing, 'a send time with every packet');
        handed.push({ at: timing.at, handedAt: performance.now(), sequence: header.sequence, onSent: timing.onSent });
      },
    } as unknown as MemberHub;
    const reports: { sequence: number; lateMs: number }[] = [];
    const opus = encodeOpusFrames(utterance(0.3, 2));
    const { startedAt, endedAt } = await new SimulatedMember('1', 'Alice', hub).speak({ opus }, { aheadMs: 60, onSent: (header, lateMs) => reports.push({ sequence: header.sequence, lateMs }) });
    assert.equal(handed.length, opus.length + 5);
    handed.forEach((p, i) => assert.ok(Math.abs(p.at - (startedAt + i * 20)) < 0.001, `packet ${i} due at its capture time`));
    const later = handed.filter((p) => p.at - 60 > startedAt); // the first three are due within aheadMs of the start
    assert.ok(later.length >= 15 && later.every((p) => p.handedAt < p.at - 20), 'each handed over well before it is due');
    assert.ok(endedAt > handed.at(-1)!.at - 2, 'speak resolves once the last packet is due (timers may fire a fraction of a ms early)');
    assert.equal(reports.length, 0, 'sends are reported by the network, not assumed');
    handed.forEach((p, i) => p.onSent?.(i));
    assert.deepEqual(reports, handed.map((p, i) => ({ sequence: p.sequence, lateMs: i })));
  });
});
