/**
 * FAULT: Discord-side failures against the real bot in a voice channel — voice WebSocket closed
 * with resumable codes, voice endpoint moved, gateway dropped and reconnect requested, 10% UDP loss
 * with reordering, and the DAVE decryption-failure path (receive stream destroyed → re-subscribed;
 * repeated → rejoin). After each, the bot must still hear a member and answer in voice.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { collectCrashes, eventually, logLines, startVoiceStack, voiceTurn, waitForPlaybackIdle, type VoiceStack } from './helpers.ts';

const crashes = collectCrashes();
let s: VoiceStack;
let seed = 100;

before(async () => {
  s = await startVoiceStack();
});
after(async () => {
  await s?.close();
  crashes.assertNone();
});

/** The bot hears Alice and Carol hears the bot's answer. */
async function stillTalking(label: string, options: Parameters<typeof voiceTurn>[3] = {}): Promise<void> {
  await waitForPlaybackIdle(s.voice);
  const heard = await voiceTurn(s.alice, s.carol, seed++, options);
  assert.ok(heard >= 300, `${label}: Carol heard ${heard} ms of reply`);
  await waitForPlaybackIdle(s.voice);
}

test('baseline: a voice turn is answered', async () => {
  await stillTalking('baseline');
});

test('voice WebSocket closed with resumable codes (4015, 1006, 1001): resumed, same session, still talking', async () => {
  const sim = s.stack.discord;
  for (const code of [4015, 1006, 1001]) {
    const session = sim.voice.botSession!;
    const resumesBefore = session.stats.resumes;
    sim.faults.closeVoice(code);
    await eventually(() => sim.voice.botSession === session && session.stats.resumes > resumesBefore, `a resume after close ${code}`);
    await eventually(() => s.voice().status === 'ready', 'the voice session to be ready again');
    await stillTalking(`after close ${code}`);
  }
});

test('voice WebSocket closed with 4006 (session invalid): new session, still talking', async () => {
  const sim = s.stack.discord;
  const session = sim.voice.botSession!;
  sim.faults.closeVoice(4006);
  await eventually(() => sim.voice.botSession !== null && sim.voice.botSession !== session, 'a new voice session');
  await eventually(() => s.voice().status === 'ready', 'the voice session to be ready again');
  await stillTalking('after close 4006');
});

test('voice endpoint moved: the bot follows to the new server and keeps talking', async () => {
  const sim = s.stack.discord;
  const server = sim.voice.botServer;
  await sim.faults.moveVoiceEndpoint();
  assert.notEqual(sim.voice.botServer, server);
  await eventually(() => s.voice().status === 'ready', 'the voice session to be ready on the new server');
  await stillTalking('after endpoint move');
});

test('gateway dropped (4000 resume, 1006 abrupt) and op 7 reconnect: voice continues and commands still work', async () => {
  const sim = s.stack.discord;
  const faults: [string, () => void][] = [
    ['disconnectGateway(4000)', () => sim.faults.disconnectGateway(4000)],
    ['disconnectGateway(1006)', () => sim.faults.disconnectGateway(1006)],
    ['requestGatewayReconnect()', () => sim.faults.requestGatewayReconnect()],
  ];
  for (const [label, inject] of faults) {
    const resumedBefore = logLines(s.stack, /gateway resumed/).length;
    inject();
    await eventually(() => logLines(s.stack, /gateway resumed/).length > resumedBefore, `the gateway to resume after ${label}`);
    await stillTalking(`after ${label}`);
    const record = await s.alice.runCommand('status');
    assert.match(await record.waitForContent(10_000), /\*\*Voice:\*\* <#\d+> \(ready\)/, `/status after ${label}`);
  }
});

test('10% UDP loss both ways plus reordering: the bot still answers and members still hear it', async () => {
  const sim = s.stack.discord;
  sim.faults.setUdpLoss(0.1);
  try {
    for (let i = 0; i < 2; i++) await stillTalking(`lossy turn ${i}`, { seconds: 1.2, speak: { jitterMs: 15, reorder: 0.1, duplicate: 0.02 } });
  } finally {
    sim.faults.setUdpLoss(0);
  }
  // /status shows what the loss cost Alice's audio: frames concealed (about 12 of her ~120 packets were lost).
  const status = await (await s.alice.runCommand('status')).waitForContent(10_000);
  const alice = /\*\*Input audio\*\*[^\n]*Alice[^:\n]*: (\d+) ms buffered \(jitter (\d+) ms\), (\d+) concealed/.exec(status);
  assert.ok(alice, `an input audio line for Alice in /status: ${status}`);
  assert.ok(Number(alice[3]) > 0, `frames concealed for Alice after 10% loss: ${alice[0]}`);
  await stillTalking('after the loss stopped');
});

test('DAVE decryption failure: the destroyed receive stream is re-subscribed and logged, the member is heard again', async () => {
  const sim = s.stack.discord;
  const failuresBefore = s.voice().decryptFailures;
  // One packet with Alice's SSRC and a bad auth tag (every 4th datagram of sendMalformedRtp).
  const sent = sim.faults.sendMalformedRtp(4);
  assert.equal(sent.badAuthTag, 1);
  await eventually(() => s.voice().decryptFailures === failuresBefore + 1, 'the decryption failure to be counted');
  assert.ok(logLines(s.stack, /voice receive stream failed; re-subscribing/).length >= 1, 'the failure is logged');
  await stillTalking('after one decryption failure');
  assert.equal(logLines(s.stack, /rejoining the channel/).length, 0, 'a single failure does not make the session rejoin');
});

test('repeated DAVE decryption failures: the session rejoins the channel and hears again', async () => {
  const sim = s.stack.discord;
  const session = sim.voice.botSession;
  // Three failures within 10 s (counting the one above) make the session rejoin.
  let sent = 0;
  while (logLines(s.stack, /rejoining the channel/).length === 0) {
    assert.ok(sent < 3, 'the session rejoined after at most 3 failures');
    const failuresBefore = s.voice().decryptFailures;
    assert.equal(sim.faults.sendMalformedRtp(4).badAuthTag, 1);
    sent++;
    await eventually(() => s.voice().decryptFailures === failuresBefore + 1, `decryption failure ${sent}`);
    await sleep(50); // the re-subscription happens on a later turn of the loop
  }
  await eventually(() => s.voice().status === 'ready' && sim.voice.botSession !== null && sim.voice.botSession !== session, 'a new voice session after the rejoin');
  await stillTalking('after the rejoin');
});
