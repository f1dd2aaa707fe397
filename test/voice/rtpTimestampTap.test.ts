import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { VoiceConnection } from '@discordjs/voice';
import { RtpTimestampTap } from '../../src/voice/rtpTimestampTap.ts';

/** The part of a VoiceConnection the tap reads: its networking's UDP socket and the receiver's SSRC map. */
function fakeConnection(users: Record<number, string>) {
  const udp = new EventEmitter();
  const networking = Object.assign(new EventEmitter(), { state: { udp } });
  const ssrcMap = Object.assign(new EventEmitter(), {
    get: (target: number | string) => {
      if (typeof target === 'number') return users[target] === undefined ? undefined : { userId: users[target], audioSSRC: target };
      const ssrc = Object.keys(users).find((key) => users[Number(key)] === target);
      return ssrc === undefined ? undefined : { userId: target, audioSSRC: Number(ssrc) };
    },
  });
  const connection = Object.assign(new EventEmitter(), { receiver: { ssrcMap }, state: { status: 'ready', networking } }) as unknown as VoiceConnection;
  return { connection, udp };
}

/** An RTP packet (v2, Opus payload type) with this sequence, timestamp and SSRC, and `payload` bytes after the header. */
function rtp(sequence: number, timestamp: number, ssrc: number, payload = 40): Buffer {
  const packet = Buffer.alloc(12 + payload);
  packet[0] = 0x80;
  packet[1] = 0x78;
  packet.writeUInt16BE(sequence, 2);
  packet.writeUInt32BE(timestamp, 4);
  packet.writeUInt32BE(ssrc, 8);
  return packet;
}

test("each packet's header is the one read for it, packet after packet and speaker by speaker", () => {
  const { connection, udp } = fakeConnection({ 11: 'alice', 22: 'bob' });
  const voiced: string[] = [];
  const tap = new RtpTimestampTap(connection, { onVoicedPacket: (userId) => voiced.push(userId) });
  const seen: [string, number, number][] = [];
  for (let k = 0; k < 5; k++) {
    for (const [ssrc, user] of [[11, 'alice'], [22, 'bob']] as const) {
      udp.emit('message', rtp((65_534 + k) & 0xffff, (4_294_966_000 + 960 * k) >>> 0, ssrc));
      const header = tap.latestFor(user)!;
      seen.push([user, header.sequence, header.timestamp]);
      assert.equal(header.ssrc, ssrc);
    }
  }
  const expected = [0, 1, 2, 3, 4].flatMap((k) => ['alice', 'bob'].map((user) => [user, (65_534 + k) & 0xffff, (4_294_966_000 + 960 * k) >>> 0]));
  assert.deepEqual(seen, expected);
  assert.equal(tap.size, 2);
  assert.equal(voiced.length, 10);
  // An unmapped SSRC, a keepalive and a short packet change nothing.
  udp.emit('message', rtp(7, 7, 33));
  udp.emit('message', Buffer.alloc(8));
  assert.equal(tap.size, 2);
  assert.equal(tap.latestFor('alice')!.sequence, 2);
  tap.destroy();
});
