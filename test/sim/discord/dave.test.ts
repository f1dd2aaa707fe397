/**
 * The local Discord negotiates DAVE as real Discord does, checked with the real @discordjs/voice
 * (and its davey) as the client and simulated members that are real MLS members.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import type { VoiceConnection } from '@discordjs/voice';
import { createOpusCodec, encodeOpusFrames } from '../../../sim/discord/opus.ts';
import { eventually, joinVoice, playPcm, sine, startHarness, voice, zeroCrossingHz, type Harness } from './helpers.ts';

const VOICE_PRIVACY_CODE = /^\d{30}$/;

/** Frames the bot's receiver hands out for one user (Opus, after transport and DAVE decryption). */
function receive(connection: VoiceConnection, userId: string): { frames: Buffer[] } {
  const frames: Buffer[] = [];
  connection.receiver.subscribe(userId, { end: { behavior: voice.EndBehaviorType.Manual } }).on('data', (frame: Buffer) => frames.push(frame));
  return { frames };
}

function decode(frames: Buffer[]): Int16Array {
  const codec = createOpusCodec();
  const chunks = frames.filter((f) => f.length > 3).map((f) => {
    const pcm = codec.decode(f);
    return new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength));
  });
  return Int16Array.from(chunks.flatMap((c) => [...c]));
}

describe('DAVE in a voice channel (version 1, as on Discord)', () => {
  let h: Harness;
  let connection: VoiceConnection;
  const group = () => h.sim.voice.dave.group(h.sim.voiceChannelId);
  const idle = () => !group().busy;
  before(async () => {
    h = await startHarness();
    await h.sim.member('Alice').joinVoice();
    await h.sim.member('Bob').joinVoice();
    connection = await joinVoice(h);
    await eventually(() => connection.voicePrivacyCode !== undefined && idle(), 'the bot to be welcomed into the group');
  });
  after(async () => {
    connection?.destroy();
    await h?.close();
  });

  test('the session negotiates version 1 and the bot is welcomed into the members\' group: one voice privacy code for all', () => {
    const session = h.sim.voice.botSession!;
    assert.equal(session.grant.daveVersion, 1);
    assert.equal(session.maxDaveVersion, 1, 'the library offers DAVE');
    assert.equal(session.dave.keyPackages, 1);
    assert.equal(session.dave.sent[30], 1, 'one Welcome (op 30)');
    assert.equal(session.dave.transitionReadies, 1, 'the bot acknowledged the transition (op 23)');
    assert.equal(session.dave.sent[22], 1, 'and it was executed (op 22)');
    const code = connection.voicePrivacyCode!;
    assert.match(code, VOICE_PRIVACY_CODE);
    for (const name of ['Alice', 'Bob']) assert.equal(h.sim.voice.dave.memberSession(h.sim.member(name).id)?.voicePrivacyCode, code, name);
    assert.deepEqual(new Set(group().memberIds), new Set([h.sim.member('Alice').id, h.sim.member('Bob').id, h.sim.botUserId]));
  });

  test('what the bot plays reaches members end-to-end encrypted; what a member says reaches the bot decrypted', async () => {
    const alice = h.sim.member('Alice');
    alice.clearHeard();
    const startedAt = performance.now();
    await playPcm(connection, sine(600, 440));
    await alice.waitForAudio({ minMs: 500, timeoutMs: 5000, after: startedAt });
    const voiced = alice.heard().packets.filter((p) => !p.silence);
    assert.ok(voiced.length >= 25, `voiced packets ${voiced.length}`);
    assert.ok(voiced.every((p) => p.e2ee && !p.undecryptable), 'every voiced frame from the bot was E2EE and decrypted by the member');

    const received = receive(connection, alice.id);
    const sentBefore = h.sim.voice.dave.memberSession(alice.id)!.stats.e2eeSent;
    await alice.speak(sine(1000, 660));
    await eventually(() => received.frames.length >= 50, 'the bot to receive 50 frames');
    assert.ok(h.sim.voice.dave.memberSession(alice.id)!.stats.e2eeSent - sentBefore >= 45, 'Alice encrypted what she said');
    assert.ok(received.frames.every((f) => f.length < 2 || f.readUInt16BE(f.length - 2) !== 0xfafa), 'the library decrypted every frame');
    const hz = zeroCrossingHz(decode(received.frames));
    assert.ok(Math.abs(hz - 660) < 20, `the bot heard 660 Hz (${hz.toFixed(0)})`);
  });

  test('a listener keeping packets only (hearing: packets) still tells E2EE, silence and samples, without the sound', async () => {
    const [alice, bob] = [h.sim.member('Alice'), h.sim.member('Bob')];
    alice.clearHeard();
    bob.clearHeard();
    bob.hearing = 'packets';
    try {
      const startedAt = performance.now();
      await playPcm(connection, sine(400, 440));
      await eventually(() => bob.heard().packets.filter((p) => p.silence).length >= 5 && alice.heard().packets.filter((p) => p.silence).length >= 5, 'both to hear the burst end');
      const [decoded, counted] = [alice.heard(), bob.heard()];
      assert.equal(counted.pcm.length, 0, 'no sound kept');
      assert.ok(decoded.pcm.length > 0, 'the decoding listener keeps the sound');
      const facts = (packets: typeof counted.packets) => packets.map((p) => ({ seq: p.seq, samples: p.samples, silence: p.silence, e2ee: p.e2ee, undecryptable: p.undecryptable }));
      assert.deepEqual(facts(counted.packets), facts(decoded.packets), 'the same facts per packet as a listener that decodes');
      const voiced = counted.packets.filter((p) => !p.silence);
      assert.ok(voiced.length >= 15 && voiced.every((p) => p.e2ee && p.samples === 960), 'voiced frames E2EE, 960 samples each');
      assert.equal(bob.heardMs(startedAt), alice.heardMs(startedAt));
    } finally {
      bob.hearing = 'pcm';
    }
  });

  test('a member not simulated as a listener (hearing: none) hears and decrypts nothing; the others hear as before', async () => {
    const [alice, bob] = [h.sim.member('Alice'), h.sim.member('Bob')];
    alice.clearHeard();
    bob.clearHeard();
    bob.hearing = 'none';
    const bobStats = { ...h.sim.voice.dave.memberSession(bob.id)!.stats };
    try {
      await playPcm(connection, sine(400, 440));
      await eventually(() => alice.heard().packets.filter((p) => p.silence).length >= 5, 'Alice to hear the burst end');
      assert.ok(alice.heard().packets.filter((p) => !p.silence && p.e2ee).length >= 15, 'Alice heard the burst, E2EE');
      assert.equal(bob.heard().packets.length, 0, 'Bob keeps nothing');
      const after = h.sim.voice.dave.memberSession(bob.id)!.stats;
      assert.deepEqual([after.e2eeHeard, after.plainHeard, after.undecryptable], [bobStats.e2eeHeard, bobStats.plainHeard, bobStats.undecryptable], 'Bob decrypted nothing');
    } finally {
      bob.hearing = 'pcm';
    }
  });

  test('packets prepared ahead and sent from the transmit thread reach the bot E2EE-decrypted, each reported sent', async () => {
    await h.sim.startTransmitThread();
    const alice = h.sim.member('Alice');
    const received = receive(connection, alice.id);
    const opus = encodeOpusFrames(sine(1000, 660));
    const reported: number[] = [];
    const sentBefore = h.sim.voice.dave.memberSession(alice.id)!.stats.e2eeSent;
    await alice.speak({ opus }, { aheadMs: 60, onSent: (header) => reported.push(header.sequence) });
    await eventually(() => received.frames.length >= opus.length && reported.length === opus.length + 5, 'the bot to receive every frame and every send to be reported');
    assert.ok(h.sim.voice.dave.memberSession(alice.id)!.stats.e2eeSent - sentBefore >= opus.length, 'Alice encrypted what she said');
    assert.ok(received.frames.every((f) => f.length < 2 || f.readUInt16BE(f.length - 2) !== 0xfafa), 'the library decrypted every frame');
    assert.deepEqual(received.frames.filter((f) => f.length > 3), opus, 'the bot got the prepared Opus, in order');
  });

  test('a member joining and one leaving re-key the group while audio flows both ways', async () => {
    const alice = h.sim.member('Alice');
    const carol = h.sim.member('Carol');
    const bob = h.sim.member('Bob');
    const epoch = group().epoch;
    const codeBefore = connection.voicePrivacyCode;
    alice.clearHeard();
    const received = receive(connection, bob.id);
    const startedAt = performance.now();
    const playing = playPcm(connection, sine(3000, 440));
    const speaking = bob.speak(sine(1600, 550));
    await new Promise((r) => setTimeout(r, 400));
    await carol.joinVoice();
    await eventually(() => idle() && group().epoch === epoch + 1n, 'Carol to be added');
    await speaking;
    await bob.leaveVoice();
    await eventually(() => idle() && group().epoch === epoch + 2n, 'Bob to be removed');
    await playing;
    await eventually(() => connection.voicePrivacyCode === h.sim.voice.dave.memberSession(carol.id)?.voicePrivacyCode, 'the bot and Carol to share a code');
    assert.notEqual(connection.voicePrivacyCode, codeBefore, 'a new epoch, a new voice privacy code');
    assert.equal(h.sim.voice.dave.memberSession(alice.id)?.voicePrivacyCode, connection.voicePrivacyCode);
    const voiced = alice.heard().packets.filter((p) => !p.silence && p.arrivalMs >= startedAt);
    const heardMs = alice.heardMs(startedAt);
    assert.ok(heardMs >= 2_800, `Alice heard ${heardMs} ms of the bot's 3 s through two re-keys`);
    assert.ok(voiced.filter((p) => p.e2ee).length >= voiced.length - 2, 'all but at most two frames E2EE and decrypted');
    assert.ok(received.frames.length >= 75, `the bot heard ${received.frames.length} of Bob's 80 frames`);
  });
});

describe('the bot alone, then a member: the bot founds the group with its own commit', () => {
  let h: Harness;
  let connection: VoiceConnection;
  before(async () => {
    h = await startHarness();
    connection = await joinVoice(h, h.sim.secondVoiceChannelId);
  });
  after(async () => {
    connection?.destroy();
    await h?.close();
  });

  test('no group (no code) while alone; Alice joining gets a Welcome built from the bot\'s commit', async () => {
    const group = h.sim.voice.dave.group(h.sim.secondVoiceChannelId);
    await eventually(() => h.sim.voice.botSession?.dave.keyPackages === 1, 'the bot key package');
    assert.equal(connection.voicePrivacyCode, undefined, 'alone: a pending group only');
    const alice = h.sim.member('Alice');
    await alice.joinVoice(h.sim.secondVoiceChannelId);
    await eventually(() => group.stats.transitions === 1 && connection.voicePrivacyCode !== undefined, 'the group to be founded');
    assert.equal(group.stats.botCommitsChosen, 1, "the bot's commit founded the group");
    assert.equal(connection.voicePrivacyCode, h.sim.voice.dave.memberSession(alice.id)?.voicePrivacyCode);
  });
});

describe('what real Discord refuses or exempts', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.sim.member('Alice').joinVoice(h.sim.stageChannelId);
  });
  after(async () => h?.close());

  test('a client offering max_dave_protocol_version 0 is closed with 4017', async () => {
    const connection = voice.joinVoiceChannel({ channelId: h.sim.voiceChannelId, guildId: h.guild.id, adapterCreator: h.guild.voiceAdapterCreator, selfDeaf: false, daveEncryption: false });
    try {
      await eventually(() => h.sim.voice.current.refusedIdentifies.some((r) => r.code === 4017), 'a 4017 close');
      const refusal = h.sim.voice.current.refusedIdentifies.find((r) => r.code === 4017)!;
      assert.equal(refusal.maxDaveVersion, 0);
      assert.equal(h.sim.voice.botSession, null, 'no voice session was created');
      assert.notEqual(connection.state.status, voice.VoiceConnectionStatus.Ready);
    } finally {
      connection.destroy();
    }
  });

  test('a Stage channel negotiates version 0 (DAVE does not cover Stage), even for a client without DAVE', async () => {
    const connection = voice.joinVoiceChannel({ channelId: h.sim.stageChannelId, guildId: h.guild.id, adapterCreator: h.guild.voiceAdapterCreator, selfDeaf: false, daveEncryption: false });
    try {
      await voice.entersState(connection, voice.VoiceConnectionStatus.Ready, 10_000);
      assert.equal(h.sim.voice.botSession?.grant.daveVersion, 0);
      h.sim.moderateVoice({ suppress: false }); // everyone arrives in a Stage's audience: a moderator makes the bot a speaker
      const alice = h.sim.member('Alice');
      alice.clearHeard();
      const startedAt = performance.now();
      await playPcm(connection, sine(400, 440));
      await alice.waitForAudio({ minMs: 300, timeoutMs: 5000, after: startedAt });
      assert.ok(alice.heard().packets.every((p) => !p.e2ee && !p.undecryptable), 'plain Opus, as sent');
      assert.equal(connection.voicePrivacyCode, undefined);
    } finally {
      connection.destroy();
    }
  });
});
