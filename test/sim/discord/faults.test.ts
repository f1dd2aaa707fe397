import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import type { VoiceConnection } from '@discordjs/voice';
import { joinVoice, playPcm, sine, startHarness, voice, type Harness } from './helpers.ts';

const { entersState, VoiceConnectionStatus } = voice;

/** Both directions still carry audio: the bot hears Alice and Alice hears the bot. */
async function assertAudioBothWays(h: Harness, connection: VoiceConnection): Promise<void> {
  const alice = h.sim.member('Alice');
  const stream = connection.receiver.subscribe(alice.id, { end: { behavior: voice.EndBehaviorType.Manual } });
  let received = 0;
  stream.on('data', () => received++);
  stream.on('error', () => {});
  await alice.speak(sine(400));
  await new Promise((r) => setTimeout(r, 100));
  stream.destroy();
  assert.ok(received >= 20, `bot received ${received} packets from Alice`);
  const t = performance.now();
  await playPcm(connection, sine(400));
  await alice.waitForAudio({ minMs: 300, timeoutMs: 5000, after: t });
}

describe('faults', () => {
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

  test('a resumable voice close (4015) is resumed with op 7 on the same session and keys', async () => {
    const before = h.sim.voice.botSession!;
    const key = before.key;
    h.sim.faults.closeVoice(4015);
    const resumed = await h.sim.voice.waitForBotReady();
    assert.equal(resumed, before, 'same voice session');
    assert.equal(resumed.stats.resumes, 1);
    assert.equal(resumed.key, key);
    await entersState(connection, VoiceConnectionStatus.Ready, 5000);
    await assertAudioBothWays(h, connection);
  });

  test('an abrupt drop (1006, no close frame) is resumed too', async () => {
    const session = h.sim.voice.botSession!;
    const resumes = session.stats.resumes;
    h.sim.faults.closeVoice(1006);
    const resumed = await h.sim.voice.waitForBotReady();
    assert.equal(resumed.stats.resumes, resumes + 1);
    await assertAudioBothWays(h, connection);
  });

  test('a non-resumable close (4006) makes the bot re-signal with op 4 and identify a new session', async () => {
    const old = h.sim.voice.botSession!;
    h.sim.faults.closeVoice(4006);
    const fresh = await h.sim.voice.waitForBotReady();
    assert.notEqual(fresh, old);
    assert.notEqual(fresh.ssrc, old.ssrc);
    await entersState(connection, VoiceConnectionStatus.Ready, 5000);
    await assertAudioBothWays(h, connection);
  });

  test('the voice endpoint moves to a new server and port', async () => {
    const oldPort = h.sim.voice.botServer!.port;
    await h.sim.faults.moveVoiceEndpoint();
    assert.notEqual(h.sim.voice.botServer!.port, oldPort);
    assert.equal(h.sim.voice.botServer, h.sim.voice.current);
    await entersState(connection, VoiceConnectionStatus.Ready, 5000);
    await assertAudioBothWays(h, connection);
  });

  test('4014 leaves the connection Disconnected; kickBotFromVoice also clears the voice state', async () => {
    h.sim.faults.kickBotFromVoice();
    await entersState(connection, VoiceConnectionStatus.Disconnected, 5000);
    assert.equal(h.sim.botVoiceChannel(), null);
    assert.equal(h.sim.voiceStates().get(h.sim.botUserId), null);
    connection.rejoin();
    await entersState(connection, VoiceConnectionStatus.Ready, 5000);
    assert.equal(h.sim.botVoiceChannel(), h.sim.voiceChannelId);
  });

  test('malformed RTP is ignored by the receiver unless it carries a mapped SSRC (then the stream errors)', async () => {
    const alice = h.sim.member('Alice');
    await alice.speak(sine(100)); // maps Alice's SSRC on this session
    const stream = connection.receiver.subscribe(alice.id, { end: { behavior: voice.EndBehaviorType.Manual } });
    const errored = once(stream, 'error');
    const sent = h.sim.faults.sendMalformedRtp(4);
    assert.deepEqual(sent, { garbage: 1, wrongPayloadType: 1, unknownSsrc: 1, badAuthTag: 1 });
    // @discordjs/voice 0.19.2 destroys the subscription on the first packet that fails authentication.
    const [error] = await errored;
    assert.match(String(error), /authenticate/);
    if (!stream.closed) await once(stream, 'close'); // the receiver forgets the subscription on close
    assert.equal(connection.state.status, VoiceConnectionStatus.Ready, 'the connection itself survives');
    await assertAudioBothWays(h, connection);
  });

  test('UDP loss drops packets in both directions', async () => {
    const alice = h.sim.member('Alice');
    h.sim.faults.setUdpLoss(0.5);
    try {
      alice.clearHeard();
      await playPcm(connection, sine(1000));
      await new Promise((r) => setTimeout(r, 100));
      const heard = alice.heard().packets.length;
      assert.ok(heard > 5 && heard < 50, `heard ${heard} of 55 packets at 50% loss`);
    } finally {
      h.sim.faults.setUdpLoss(0);
    }
  });

  test('a gateway disconnect is resumed and events sent meanwhile are replayed', async () => {
    const resumed = once(h.client, 'shardResume');
    const bob = h.sim.member('Bob');
    h.sim.faults.disconnectGateway(4000);
    await bob.joinVoice(h.sim.secondVoiceChannelId); // dispatched while the socket is down or reconnecting
    await resumed;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(h.guild.voiceStates.cache.get(bob.id)?.channelId, h.sim.secondVoiceChannelId);
    assert.equal(h.sim.gateway.sessions.size, 1, 'resumed, not re-identified');
  });
});
