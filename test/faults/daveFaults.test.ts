/**
 * FAULT: DAVE (end-to-end encryption) failure modes against the real bot and the real
 * @discordjs/voice 0.19.2 on the local Discord, whose members are real MLS members. In every one:
 * the process survives (no uncaught exception), no frame still DAVE-encrypted reaches an Opus
 * decoder, the bot hears again and its outgoing audio is E2EE once the group is ready.
 * Re-keys (joins, leaves, the bot's commit losing the race) are in daveRekeys.test.ts.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import { utterance } from '../../sim/speech.ts';
import { assertHeardE2ee, speakUntil, watchDecoderInput, type DecoderInputWatch } from './daveHelpers.ts';
import { collectCrashes, eventually, logLines, startVoiceStack, voiceTurn, waitForPlaybackIdle, type VoiceStack } from './helpers.ts';

const crashes = collectCrashes();
let s: VoiceStack;
let decoder: DecoderInputWatch;
let seed = 300;

before(async () => {
  decoder = watchDecoderInput();
  s = await startVoiceStack();
  await eventually(() => s.voice().receiveHealth.groupReady && !group().busy && s.voice().receiveHealth.pendingTransitions === 0, 'the bot to be in the DAVE group, the transition executed');
});
after(async () => {
  await s?.close();
  decoder?.restore();
  crashes.assertNone();
});

const health = () => s.voice().receiveHealth;
const group = () => s.stack.discord.voice.dave.group(s.stack.discord.voiceChannelId);

/** The bot hears Alice, Carol hears the answer end-to-end encrypted, and nothing undecrypted was decoded. */
async function stillTalking(label: string): Promise<void> {
  await eventually(() => health().groupReady && !group().busy, `${label}: the bot back in the DAVE group`);
  await waitForPlaybackIdle(s.voice);
  const startedAt = performance.now();
  const heard = await voiceTurn(s.alice, s.carol, seed++);
  assert.ok(heard >= 300, `${label}: Carol heard ${heard} ms of reply`);
  assertHeardE2ee(s.carol, startedAt, label);
  await waitForPlaybackIdle(s.voice);
  assert.equal(decoder.stillEncrypted, 0, `${label}: frames still DAVE-encrypted reached the Opus decoder`);
  crashes.assertNone();
}

/** Rejoin warnings logged since `from` (index into the log). */
const rejoinLines = (from: number) => logLines(s.stack, /voice receive recovery: rejoining the channel/).slice(from);

test('baseline: DAVE v1 group with the members, /status shows the voice privacy code, metrics count', async () => {
  const state = health();
  assert.equal(state.protocolVersion, 1);
  const carolCode = s.stack.discord.voice.dave.memberSession(s.carol.id)!.voicePrivacyCode;
  assert.equal(state.voicePrivacyCode, carolCode, 'the bot sees the code every member sees');
  const record = await s.alice.runCommand('status');
  const content = await record.waitForContent(10_000);
  assert.match(content, /\*\*Encryption:\*\* end-to-end \(DAVE v1\), voice privacy code `(\d{5} ){5}\d{5}`/);
  assert.ok(content.includes(carolCode.match(/.{5}/g)!.join(' ')), '/status shows the group\'s code');
  assert.match(content, /frames dropped: \d+ still encrypted, \d+ undecryptable/);
  const metrics = await s.stack.bot.metrics.render();
  assert.match(metrics, /voicebot_dave_frames_dropped_total\{reason="still_encrypted"\} \d+/);
  assert.match(metrics, /voicebot_voice_sessions_e2ee 1/);
  await stillTalking('baseline');
});

test('a proposal about a user not announced by op 11: the davey error is contained, logged once with the guild, and the bot rejoins', async () => {
  const sim = s.stack.discord;
  const logFrom = logLines(s.stack, /voice receive recovery: rejoining the channel/).length;
  const session = sim.voice.botSession;
  const stranger = sim.faults.daveProposeUnannouncedUser();
  assert.ok(stranger);
  await eventually(() => health().daveErrorsContained >= 1, 'the DAVE error to be contained');
  await eventually(() => sim.voice.botSession !== session && health().groupReady, 'a new voice session in the group');
  crashes.assertNone();
  const lines = rejoinLines(logFrom);
  assert.equal(lines.length, 1, 'one warning');
  assert.equal(lines[0]!.guildId, sim.guildId);
  assert.equal(lines[0]!.reason, 'dave-error');
  assert.match(String(lines[0]!.err), new RegExp(`UnexpectedUser\\(${stranger}\\)`));
  assert.equal(lines[0]!.op, 27);
  await stillTalking('after the unexpected user');
});

test('the bot sends op 31 (a commit it cannot process) and is added again with a new key package', async () => {
  const sim = s.stack.discord;
  const bot = sim.voice.botSession!;
  const welcomes = bot.dave.sent[30] ?? 0;
  const keyPackages = bot.dave.keyPackages;
  const rejoins = health().rejoins;
  assert.ok(sim.faults.daveSendInvalidCommit());
  await eventually(() => bot.dave.invalidCommitWelcomes === 1, 'op 31 from the bot');
  await eventually(() => bot.dave.keyPackages === keyPackages + 1 && (bot.dave.sent[30] ?? 0) === welcomes + 1, 'a new key package and a new Welcome');
  assert.equal(sim.voice.botSession, bot, 'the same voice session: the library recovered by itself');
  await stillTalking('after op 31');
  assert.equal(health().rejoins, rejoins, 'no rejoin was needed');
});

test('a Welcome that arrives late while members already talk: nothing undecrypted is decoded, the bot hears once welcomed', async () => {
  const sim = s.stack.discord;
  sim.faults.daveDelayWelcome(1_500);
  try {
    const droppedBefore = health().framesDroppedUndecrypted;
    const session = sim.voice.botSession;
    // Alice talks without pause; a new voice session (close 4006) makes the bot wait for its Welcome.
    const talking = speakUntil(s.alice, () => sim.voice.botSession !== session && health().groupReady, (n) => utterance(0.6, n), 20_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    sim.faults.closeVoice(4006);
    await talking;
    const dropped = health().framesDroppedUndecrypted - droppedBefore;
    console.log(`late Welcome (1.5 s): ${dropped} frames still encrypted dropped before the Welcome`);
    assert.ok(dropped >= 40, `frames dropped before the Welcome: ${dropped}`);
    assert.equal(decoder.stillEncrypted, 0, 'none reached the decoder');
    assert.equal(health().deafnessDetected, 0, 'a Welcome 1.5 s late is within the deafness window');
  } finally {
    sim.faults.daveDelayWelcome(0);
  }
  await stillTalking('after the late Welcome');
});

test('op 22 withheld: the transition never executes, the bot goes silently deaf when the old keys expire; detected and recovered by rejoining', async () => {
  const sim = s.stack.discord;
  const deafBefore = health().deafnessDetected;
  const session = sim.voice.botSession;
  sim.faults.daveWithholdExecute();
  await s.bob.leaveVoice(); // a re-key whose op 22 never comes
  await eventually(() => group().busy && (session?.dave.transitionReadies ?? 0) > 0, 'the stuck transition');
  const stuckAt = performance.now();
  await speakUntil(s.alice, () => health().deafnessDetected > deafBefore, (n) => utterance(1, n), 25_000);
  const detectedAfter = performance.now() - stuckAt;
  console.log(`op 22 withheld: deafness detected ${Math.round(detectedAfter)} ms after the transition stalled (old keys expire after 10 s)`);
  await eventually(() => sim.voice.botSession !== session && health().groupReady, 'the rejoin');
  await s.bob.joinVoice();
  await stillTalking('after the withheld execute');
});

test('a member sending unencrypted frames: they are refused as undecryptable without re-keying the call, the others are still heard', async () => {
  const sim = s.stack.discord;
  const before = health();
  const bot = sim.voice.botSession!;
  const invalidBefore = bot.dave.invalidCommitWelcomes;
  sim.faults.daveMemberSendsUnencrypted(s.bob.id, true);
  try {
    await s.bob.speak(utterance(2, seed++));
  } finally {
    sim.faults.daveMemberSendsUnencrypted(s.bob.id, false);
  }
  const after = health();
  console.log(`unencrypted member: ${after.framesUndecryptable - before.framesUndecryptable} frames undecryptable, op 31 sent ${bot.dave.invalidCommitWelcomes - invalidBefore} times, ${after.rejoins - before.rejoins} rejoins, deafness detected ${after.deafnessDetected - before.deafnessDetected}`);
  assert.ok(after.framesUndecryptable - before.framesUndecryptable >= 90, 'Bob\'s plain frames were refused');
  assert.equal(bot.dave.invalidCommitWelcomes, invalidBefore, 'without re-initialising the bot\'s MLS session (op 31)');
  assert.equal(after.rejoins, before.rejoins);
  await stillTalking('after the unencrypted member');
});
