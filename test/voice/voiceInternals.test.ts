/**
 * The fence around our patches of @discordjs/voice internals (receiverGuard.ts, rtpTimestampTap.ts,
 * daveGuard.ts, all through voiceInternals.ts): fails loudly, naming what moved, when an upgrade
 * changes them; and the patches' behaviour on a real connection to the local Discord.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import * as voiceLibrary from '@discordjs/voice';
// @ts-expect-error plain JS module without declarations, kept JS so it loads on any Node
import { installedVoiceVersion } from '../../bin/runtimeRequirements.mjs';
import type { VoiceConnection } from '@discordjs/voice';
import { DaveGuard } from '../../src/voice/daveGuard.ts';
import { RtpTimestampTap } from '../../src/voice/rtpTimestampTap.ts';
import { PATCHED_VOICE_VERSION, checkVoiceInternals, daveOf, networkingOf } from '../../src/voice/voiceInternals.ts';
import { eventually, joinVoice, sine, startHarness, type Harness } from '../sim/discord/helpers.ts';

const PATCHES = 'src/voice/receiverGuard.ts, rtpTimestampTap.ts and daveGuard.ts (through voiceInternals.ts)';

describe('the fence: the installed @discordjs/voice is the one the patches were written for', () => {
  test('installed version = PATCHED_VOICE_VERSION (package.json pins it exactly)', () => {
    const installed = installedVoiceVersion();
    const pinned = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).dependencies['@discordjs/voice'] as string;
    assert.equal(pinned, PATCHED_VOICE_VERSION, `package.json must pin @discordjs/voice to exactly ${PATCHED_VOICE_VERSION}, the version ${PATCHES} were checked against`);
    assert.equal(installed, PATCHED_VOICE_VERSION, `@discordjs/voice ${installed} is installed, but ${PATCHES} patch private internals of ${PATCHED_VOICE_VERSION}: re-read them in node_modules/@discordjs/voice/dist/index.js, run this file, then update PATCHED_VOICE_VERSION`);
  });

  // The library code each patch relies on or works around, by class and method: [what, source, must contain, why].
  const expectations: [string, () => unknown, string, string][] = [
    ['VoiceReceiver.onUdpMessage', () => voiceLibrary.VoiceReceiver.prototype.onUdpMessage, 'msg.length <= 8', 'receiverGuard.ts drops the 9–11-byte datagrams this check lets through'],
    ['VoiceConnection.updateReceiveBindings', () => (voiceLibrary.VoiceConnection.prototype as any).updateReceiveBindings, 'newUdp?.on("message", this.receiver.onUdpMessage)', 'receiverGuard.ts replaces receiver.onUdpMessage so new sockets get the guarded handler'],
    ['Networking.createWebSocket', () => (voiceLibrary.Networking.prototype as any).createWebSocket, 'ws.on("binary", this.onWsBinary)', 'daveGuard.ts replaces networking.onWsBinary so resumed sockets get the guarded handler'],
    ['Networking.onWsBinary', () => (voiceLibrary.Networking.prototype as any).onWsBinary, 'processProposals(message.payload', 'daveGuard.ts contains davey errors thrown here'],
    ['DAVESession.decrypt', () => voiceLibrary.DAVESession.prototype.decrypt, '!canDecrypt || !this.session) return packet', 'frames pass undecrypted before the Welcome: receiveHealth.ts drops them (daveFrames.ts)'],
    ['DAVESession.decrypt', () => voiceLibrary.DAVESession.prototype.decrypt, 'return null', 'daveGuard.ts counts the nulls as undecryptable frames'],
  ];
  for (const [what, source, text, why] of expectations) {
    test(`${what} still contains \`${text}\``, () => {
      const fn = source();
      assert.equal(typeof fn, 'function', `${what} is gone: ${why}`);
      assert.ok(String(fn).includes(text), `${what} changed (no \`${text}\`): ${why}. Re-check ${PATCHES}.`);
    });
  }
});

describe('the patches on a real DAVE connection', () => {
  let h: Harness;
  let connection: VoiceConnection;
  const errors: { error: unknown; op: number }[] = [];
  const undecryptable: string[] = [];
  let guard: DaveGuard;
  let tap: RtpTimestampTap;
  before(async () => {
    h = await startHarness();
    await h.sim.member('Alice').joinVoice();
    await h.sim.member('Bob').joinVoice();
    connection = voiceLibrary.joinVoiceChannel({ channelId: h.sim.voiceChannelId, guildId: h.guild.id, adapterCreator: h.guild.voiceAdapterCreator, selfDeaf: false });
    guard = new DaveGuard({ connection, onError: (error, op) => errors.push({ error, op }), onUndecryptable: (userId) => undecryptable.push(userId) });
    tap = new RtpTimestampTap(connection);
    await voiceLibrary.entersState(connection, voiceLibrary.VoiceConnectionStatus.Ready, 10_000);
    // Ready, the transition executed on the server and its op 22 processed here.
    await eventually(() => guard.state().groupReady && !h.sim.voice.dave.group(h.sim.voiceChannelId).busy && guard.state().pendingTransitions === 0, 'the DAVE group');
  });
  after(async () => {
    guard?.destroy();
    tap?.destroy();
    connection?.destroy();
    await h?.close();
  });

  test('every internal the patches touch is where they expect it', () => {
    assert.deepEqual(checkVoiceInternals(connection), [], `@discordjs/voice internals moved; re-check ${PATCHES}`);
  });

  test('DAVE state: version 1, group ready, the members\' voice privacy code, the epoch', () => {
    const state = guard.state();
    assert.equal(state.protocolVersion, 1);
    assert.equal(state.voicePrivacyCode, h.sim.voice.dave.memberSession(h.sim.member('Alice').id)?.voicePrivacyCode);
    assert.equal(state.epoch, Number(h.sim.voice.dave.group(h.sim.voiceChannelId).epoch));
    assert.equal(state.pendingTransitions, 0);
  });

  test('a davey error thrown in the WebSocket handler is contained and reported with its opcode', () => {
    const ws = networkingOf(connection)!.state.ws!;
    assert.doesNotThrow(() => ws.emit('binary', { op: 27, seq: 1, payload: Buffer.from([0, 5, 1, 2, 3, 4, 5]) }));
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.op, 27);
    assert.match(String((errors[0]!.error as Error).message), /proposals/i);
  });

  test('an error outside DAVE handling still propagates (nothing else is swallowed)', () => {
    const ws = networkingOf(connection)!.state.ws!;
    assert.throws(() => ws.emit('packet', { op: 11, d: {} }), TypeError, 'a malformed op 11 throws out of the handler as before');
    assert.equal(errors.length, 1, 'and is not reported as a DAVE error');
  });

  test('frames the library cannot decrypt are counted per user', () => {
    const dave = daveOf(networkingOf(connection))!;
    const garbage = Buffer.concat([Buffer.alloc(30, 7), Buffer.from([12, 0xfa, 0xfa])]);
    assert.equal(dave.decrypt(garbage, h.sim.member('Alice').id), null);
    assert.deepEqual(undecryptable, [h.sim.member('Alice').id]);
  });

  test('the RTP tap keeps only SSRCs mapped to members and forgets a member who leaves', async () => {
    const alice = h.sim.member('Alice');
    await alice.speak(sine(200));
    await eventually(() => tap.latestFor(alice.id) !== undefined, "Alice's header");
    assert.equal(tap.size, 1);
    const sent = h.sim.faults.sendMalformedRtp(40);
    assert.ok(sent.unknownSsrc! >= 10);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(tap.size, 1, 'unknown SSRCs are not remembered');
    await alice.leaveVoice();
    await eventually(() => tap.size === 0, "Alice's SSRC to be forgotten after op 13");
  });

  test('after a resume the new WebSocket is guarded too', async () => {
    const session = h.sim.voice.botSession!;
    h.sim.faults.closeVoice(4015);
    await eventually(() => session.stats.resumes === 1 && connection.state.status === voiceLibrary.VoiceConnectionStatus.Ready, 'the resume');
    const ws = networkingOf(connection)!.state.ws!;
    assert.doesNotThrow(() => ws.emit('packet', { op: 24, d: { epoch: 1, protocol_version: 99 } }), 'prepare_epoch for an unsupported version throws inside davey');
    assert.equal(errors.at(-1)!.op, 24);
  });
});
