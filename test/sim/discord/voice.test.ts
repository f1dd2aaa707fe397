import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import type { VoiceConnection } from '@discordjs/voice';
import { createOpusCodec } from '../../../sim/discord/opus.ts';
import type { EncryptionMode } from '../../../sim/discord/index.ts';
import { eventually, joinVoice, playPcm, rms, sine, startHarness, voice, zeroCrossingHz, type Harness } from './helpers.ts';

/** Collects decoded PCM the bot receives from one user through the real VoiceReceiver. */
function listen(connection: VoiceConnection, userId: string): { pcm: () => Int16Array; packets: () => number } {
  const stream = connection.receiver.subscribe(userId, { end: { behavior: voice.EndBehaviorType.Manual } });
  const codec = createOpusCodec();
  const chunks: Int16Array[] = [];
  let packets = 0;
  stream.on('data', (opus: Buffer) => {
    packets++;
    const pcm = codec.decode(opus);
    chunks.push(new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength)));
  });
  return {
    pcm: () => Int16Array.from(chunks.flatMap((c) => [...c])),
    packets: () => packets,
  };
}

for (const mode of ['aead_aes256_gcm_rtpsize', 'aead_xchacha20_poly1305_rtpsize'] as EncryptionMode[]) {
  describe(`voice with ${mode} offered first`, () => {
    let h: Harness;
    let connection: VoiceConnection;
    before(async () => {
      const modes = mode === 'aead_aes256_gcm_rtpsize' ? ['aead_aes256_gcm_rtpsize', 'aead_xchacha20_poly1305_rtpsize'] : ['aead_xchacha20_poly1305_rtpsize', 'aead_aes256_gcm_rtpsize'];
      h = await startHarness({ encryptionModes: modes as EncryptionMode[] });
      await h.sim.member('Alice').joinVoice();
      connection = await joinVoice(h);
    });
    after(async () => {
      connection?.destroy();
      await h?.close();
    });

    test('the bot joins the voice channel and the session uses the offered mode', () => {
      assert.equal(h.sim.botVoiceChannel(), h.sim.voiceChannelId);
      assert.equal(h.sim.voice.botSession?.mode, mode);
      assert.equal(h.guild.members.me?.voice.channelId, h.sim.voiceChannelId);
    });

    test('a member hears what the bot plays', async () => {
      const alice = h.sim.member('Alice');
      alice.clearHeard();
      const startedAt = performance.now();
      await playPcm(connection, sine(1000, 440));
      await alice.waitForAudio({ minMs: 900, timeoutMs: 5000, after: startedAt });
      const { pcm, packets } = alice.heard();
      assert.ok(packets.length >= 50, `packets: ${packets.length}`);
      assert.ok(packets.some((p) => p.silence), 'the silence frames ending the burst arrive too');
      for (let i = 1; i < packets.length; i++) assert.equal((packets[i]!.seq - packets[i - 1]!.seq + 65536) % 65536, 1, 'consecutive sequence numbers');
      assert.ok(rms(pcm) > 3000, `rms ${rms(pcm)}`);
      assert.ok(Math.abs(zeroCrossingHz(pcm) - 440) < 20, `frequency ${zeroCrossingHz(pcm)}`);
      assert.ok(alice.firstPacketAfter(startedAt)!.arrivalMs >= startedAt);
    });

    test('the bot hears a member after the op 5 SSRC mapping', async () => {
      const alice = h.sim.member('Alice');
      const heard = listen(connection, alice.id);
      await alice.speak(sine(1000, 660));
      await eventually(() => heard.packets() >= 50, 'the bot to receive 50 packets');
      assert.equal(connection.receiver.ssrcMap.get(alice.ssrc)?.userId, alice.id);
      assert.ok(heard.packets() >= 50, `packets ${heard.packets()}`);
      const pcm = heard.pcm();
      assert.ok(Math.abs(zeroCrossingHz(pcm.subarray(0, 96000)) - 660) < 20, `frequency ${zeroCrossingHz(pcm)}`);
    });
  });
}

describe('members in voice', () => {
  let h: Harness;
  let connection: VoiceConnection;
  before(async () => {
    h = await startHarness();
    await h.sim.member('Alice').joinVoice();
    connection = await joinVoice(h);
  });
  after(async () => {
    connection?.destroy();
    await h?.close();
  });

  const connected = () => (connection.state as any).networking.state.connectionData.connectedClients as Set<string>;

  test('members already present and members joining/leaving reach the bot as op 11 / op 13 and VOICE_STATE_UPDATE', async () => {
    const { sim } = h;
    const alice = sim.member('Alice');
    const bob = sim.member('Bob');
    assert.ok(connected().has(alice.id), 'op 11 after the session description lists Alice');
    const joined = new Promise<void>((resolve) => h.client.on('voiceStateUpdate', (_o, n) => n.id === bob.id && n.channelId && resolve()));
    await bob.joinVoice();
    await joined;
    assert.equal(h.guild.voiceStates.cache.get(bob.id)?.channelId, sim.voiceChannelId);
    assert.equal(sim.voiceStates().get(bob.id), sim.voiceChannelId);
    await eventually(() => connected().has(bob.id), 'op 11 for Bob');
    await alice.speak(sine(60)); // maps Alice's SSRC
    await eventually(() => connection.receiver.ssrcMap.get(alice.ssrc)?.userId === alice.id, 'op 5 mapping of Alice');
    await alice.leaveVoice();
    await eventually(() => !connected().has(alice.id), 'op 13 for Alice');
    assert.equal(connection.receiver.ssrcMap.get(alice.ssrc), undefined, 'and drops her SSRC mapping');
    await alice.joinVoice();
  });

  test('speak options: loss drops, duplicate repeats, sequence numbers stay those of the sender', async () => {
    const bob = h.sim.member('Bob');
    await bob.joinVoice();
    const seqs: number[] = [];
    const udp = (connection.state as any).networking.state.udp;
    const onMessage = (msg: Buffer) => {
      if (msg.length > 12 && msg.readUInt32BE(8) === bob.ssrc) seqs.push(msg.readUInt16BE(2));
    };
    udp.on('message', onMessage);
    await bob.speak(sine(1000), { loss: 0.2, duplicate: 0.2, reorder: 0.2, jitterMs: 10 });
    await new Promise((r) => setTimeout(r, 100));
    udp.off('message', onMessage);
    const unique = new Set(seqs);
    assert.ok(unique.size > 25 && unique.size < 55, `some of 55 packets lost (${unique.size} distinct)`);
    assert.ok(seqs.length > unique.size, 'some packets duplicated');
    const span = (Math.max(...unique) - Math.min(...unique) + 65536) % 65536;
    assert.ok(span <= 54, `sequence numbers come from one 55-packet burst (span ${span})`);
  });
});
