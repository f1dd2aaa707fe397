/**
 * Audio fidelity through the real bot on the local stack, both directions, against ideal references
 * (bench/fidelity/references.ts: an ideal whole-signal resampler and an Opus-only path).
 *
 * Inbound (a member speaks → what the model service receives, 24 kHz): a log sweep, speech-like
 * audio, tones above 12.5 kHz (alias levels), one speaker at −3 dBFS, two loud speakers at once
 * (clipping, THD+N), and speech at 10% loss + 0–40 ms jitter (SNR, concealed and silenced ms,
 * clicks). Outbound (the model's reply → what a listening member hears, 48 kHz): a log sweep,
 * speech-like audio, tones up to 11.5 kHz (image levels) and a reply that stops dead (is its end
 * played?). Delays: capture → model for the input path (mean over each utterance), first reply
 * sample received by the bot → heard for the output path.
 *
 *   npm run bench -- fidelity        (or node bin/run.mjs bench/fidelity.ts)
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalStack } from '../scripts/localStack.ts';
import type { SimulatedMember, SpeakOptions } from '../sim/discord/member.ts';
import { prng, speechLike, utterance } from '../sim/speech.ts';
import { bandPass, thdPlusNoiseDb } from '../test/helpers/spectrum.ts';
import { toneAmplitude } from '../test/helpers/signal.ts';
import type { BenchModule, BenchRow, Report } from './harness.ts';
import { alignTo, captureWindow, type Aligned, countClicks, frameShifts, frequencyResponse, lastAbove, median, segmentalSnrDb, silencedMs, snrDb, type CapturedChunk } from './fidelity/measures.ts';
import { downmix, idealResample, left, MemberOpusReference, OPUS_DELAY_48K, replyOpusReference } from './fidelity/references.ts';
import { abruptChirp, fromDb, logSweep, pcm16, stereo16, toneBursts } from './fidelity/signals.ts';

const RESPONSE_HZ = [100, 300, 1000, 3000, 6000, 8000, 9000, 10_000, 10_500, 11_000, 11_500];
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const maxAbs = (values: Iterable<number>) => Math.max(...[...values].map(Math.abs));

interface Context {
  alice: SimulatedMember;
  bob: SimulatedMember;
  carol: SimulatedMember;
  captured: CapturedChunk[];
  /** Calls `listener` for each audio delta the bot's conversation receives; returns the unsubscribe. */
  onDelta(listener: () => void): () => void;
  setReply(pcm: Int16Array): void;
  mixerStats(): { speakers: Record<string, Record<string, number>> };
}

/** SNR after gain match with both signals band-limited to 8 kHz. */
function lowBandSnr(signal: ArrayLike<number>, aligned: Aligned, rate: number): number {
  const low = (x: ArrayLike<number>) => bandPass(x, rate, 0, 8_000);
  return snrDb(low(signal), { ...aligned, reference: low(aligned.reference) }).snrDb;
}

/** One utterance through the input path, as spoken and as the model received it. */
interface InboundCapture {
  stereo: Int16Array;
  startedAt: number;
  window: ReturnType<typeof captureWindow>;
}

/** Speaks and records. No analysis here: anything slow would stall the bot, which runs in this process. */
async function speakAndCapture(ctx: Context, stereo: Int16Array, options: SpeakOptions = {}, member = ctx.alice): Promise<InboundCapture> {
  const { startedAt, endedAt } = await member.speak(stereo, options);
  await sleep(600); // the jitter buffer's tail and the last chunks
  return { stereo, startedAt, window: captureWindow(ctx.captured, startedAt, endedAt + 600) };
}

/** Aligns a captured utterance with its ideal reference (24 kHz) and measures the capture → model delay. */
async function analyseInbound({ startedAt, window }: InboundCapture, decoded: Int16Array) {
  const reference = await idealResample(downmix(decoded), 48_000, 24_000);
  const aligned = alignTo(reference, window.pcm, 24_000);
  // Reference sample r is decoded sample 2r, i.e. input sample s = 2r − 312, captured (its 20 ms
  // frame ended) at startedAt + (s − 959) / 48 ms. Where the jitter buffer moved the audio by a
  // frame (a stretch, a quiet frame left out), r is found that frame later or sooner.
  const shifts = frameShifts(window.pcm, aligned, 24_000);
  const delays: number[] = [];
  for (let r = OPUS_DELAY_48K / 2; r < reference.length; r += 480) {
    const m0 = Math.round(r + aligned.delay);
    const m = m0 + shifts.at(m0);
    if (m >= window.pcm.length) break;
    delays.push(window.deliveredAt(m) - (startedAt + (2 * r - OPUS_DELAY_48K - 959) / 48));
  }
  return { window, reference, decoded, aligned, shifts, delayMs: delays.reduce((a, b) => a + b, 0) / delays.length };
}

/** One reply through the output path: what Carol heard (48 kHz left channel) and when. */
interface OutboundCapture {
  reply: Int16Array;
  heard: Float64Array;
  firstHeardAt: number;
  firstDeltaAt: number;
}

async function replyAndCapture(ctx: Context, reply: Int16Array, trigger: Int16Array): Promise<OutboundCapture> {
  // A fresh voice session, so the bot's Opus encoder starts fresh, as the reference's does.
  await (await ctx.alice.runCommand('leave')).waitForContent(20_000);
  await (await ctx.alice.runCommand('join')).waitForContent(20_000);
  ctx.setReply(reply);
  ctx.carol.clearHeard();
  const deltas: number[] = [];
  const unsubscribe = ctx.onDelta(() => deltas.push(performance.now()));
  const spoken = await ctx.alice.speak(trigger);
  await ctx.carol.waitForReplyEnd({ after: spoken.endedAt, timeoutMs: 30_000 });
  unsubscribe();
  const { pcm, packets } = ctx.carol.heard();
  return { reply, heard: left(pcm), firstHeardAt: packets.find((p) => !p.silence)!.arrivalMs, firstDeltaAt: deltas[0]! };
}

async function analyseOutbound({ reply, heard, firstHeardAt, firstDeltaAt }: OutboundCapture) {
  const ideal = await idealResample(reply, 24_000, 48_000);
  const fromIdeal = alignTo(ideal, heard, 4800);
  const opusOnly = alignTo(left(await replyOpusReference(reply)), heard, 4800);
  return { heard, ideal, fromIdeal, opusOnly, delayMs: firstHeardAt + fromIdeal.delay / 48 - firstDeltaAt };
}

async function run(report: Report): Promise<void> {
  let reply: Int16Array = new Int16Array(1200); // 50 ms of silence while measuring the input path
  const captured: CapturedChunk[] = [];
  const stack = await startLocalStack({
    logLevel: 'warn',
    realtime: {
      replyAudio: () => Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength),
      onInputAudio: (pcm) => {
        const at = performance.now();
        captured.push({ at, pcm: new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength)) });
      },
    },
  });
  const row = (name: string, value: number, unit: string, extra: Omit<BenchRow, 'name' | 'value' | 'unit'> = {}) => report({ name: `fidelity_${name}`, value: round(value, 2), unit, ...extra });
  try {
    const { discord } = stack;
    const [alice, bob, carol] = [discord.member('Alice'), discord.member('Bob'), discord.member('Carol')];
    await Promise.all([alice.joinVoice(), bob.joinVoice(), carol.joinVoice()]);
    await (await alice.runCommand('join')).waitForContent(20_000);
    const session = stack.bot.context.sessions.voiceSession(discord.guildId)!;
    const ctx: Context = {
      alice, bob, carol, captured,
      onDelta: (listener) => {
        const client = stack.bot.context.sessions.conversation(discord.guildId)!.realtime;
        client.on('audio_delta', listener);
        return () => client.off('audio_delta', listener);
      },
      setReply: (pcm) => (reply = pcm),
      mixerStats: () => session.mixerStats as unknown as { speakers: Record<string, Record<string, number>> },
    };
    // Every signal is made before the first one is spoken, and analysed after the last one was heard:
    // the bot runs in this process, and a long computation would stall its clock.
    const aliasHz = [12_500, 13_000, 14_000];
    const aliasBursts = toneBursts(48_000, aliasHz.map((hz) => [{ hz, amplitude: fromDb(-6) }, { hz: 500, amplitude: fromDb(-30) }]), 0.6, 0.2);
    const imageHz = [10_500, 11_000, 11_500];
    const imageBursts = toneBursts(24_000, imageHz.map((hz) => [{ hz, amplitude: fromDb(-6) }]), 0.6, 0.2);
    const loud = (hz: number) => stereo16(toneBursts(48_000, [[{ hz, amplitude: fromDb(-3) }]], 1.5, 0.05).signal);
    const inputs = {
      warmUp: utterance(0.4, 99),
      sweep: stereo16(logSweep(48_000, 3, 50, 11_800, fromDb(-12))),
      speech: utterance(4, 7),
      probes: [utterance(1.5, 8), utterance(1.5, 9)],
      alias: stereo16(aliasBursts.signal),
      single: stereo16(toneBursts(48_000, [[{ hz: 440, amplitude: fromDb(-3) }]], 1, 0.1).signal),
      loudA: loud(440),
      loudB: loud(554.37),
      lossy: utterance(8, 21),
      triggers: [31, 32, 33, 34].map((seed) => utterance(0.6, seed)),
    };
    const replies = {
      sweep: pcm16(logSweep(24_000, 3, 50, 11_800, fromDb(-12))),
      speech: pcm16(speechLike(3, 24_000, 5)),
      image: pcm16(imageBursts.signal),
      tail: pcm16(abruptChirp(24_000, 0.5, 300, 3000, fromDb(-6))),
    };

    // ---- Capture ----
    await alice.speak(inputs.warmUp); // the speaker's first burst
    await sleep(1000);
    const clean = {
      sweep: await speakAndCapture(ctx, inputs.sweep),
      speech: await speakAndCapture(ctx, inputs.speech),
      alias: await speakAndCapture(ctx, inputs.alias),
      single: await speakAndCapture(ctx, inputs.single),
      probes: [await speakAndCapture(ctx, inputs.probes[0]!), await speakAndCapture(ctx, inputs.probes[1]!)],
    };
    const [loudSpoken] = await Promise.all([alice.speak(inputs.loudA), bob.speak(inputs.loudB)]);
    await sleep(600);
    const both = captureWindow(captured, loudSpoken.startedAt, loudSpoken.endedAt + 600).pcm;
    const statsBefore = ctx.mixerStats().speakers[alice.id] ?? {};
    const lossyCapture = await speakAndCapture(ctx, inputs.lossy, { loss: 0.1, jitterMs: 40, random: prng(4242) });
    const statsAfter = ctx.mixerStats().speakers[alice.id] ?? {};
    const out = {
      sweep: await replyAndCapture(ctx, replies.sweep, inputs.triggers[0]!),
      speech: await replyAndCapture(ctx, replies.speech, inputs.triggers[1]!),
      image: await replyAndCapture(ctx, replies.image, inputs.triggers[2]!),
      tail: await replyAndCapture(ctx, replies.tail, inputs.triggers[3]!),
    };

    // ---- Inbound, clean network ----
    // Alice's utterances decoded as a perfect network would deliver them, in the order she spoke them.
    const member = new MemberOpusReference();
    member.next(inputs.warmUp);
    const decoded = {
      sweep: member.next(inputs.sweep),
      speech: member.next(inputs.speech),
      alias: member.next(inputs.alias),
      single: member.next(inputs.single),
      probes: inputs.probes.map((probe) => member.next(probe)),
      loudA: member.next(inputs.loudA),
      lossy: member.next(inputs.lossy),
    };
    const sweep = await analyseInbound(clean.sweep, decoded.sweep);
    const sweepResponse = frequencyResponse(sweep.window.pcm, sweep.aligned, 24_000, RESPONSE_HZ);
    row('in_sweep_snr', snrDb(sweep.window.pcm, sweep.aligned).snrDb, 'dB', { reference: 'Opus-only + ideal resampler' });
    row('in_response_max_deviation_to_11k', maxAbs([...sweepResponse].filter(([hz]) => hz <= 11_000).map(([, db]) => db)), 'dB', { per_hz: Object.fromEntries([...sweepResponse].map(([hz, db]) => [hz, round(db, 2)])) });
    const speech = await analyseInbound(clean.speech, decoded.speech);
    row('in_speech_snr', snrDb(speech.window.pcm, speech.aligned).snrDb, 'dB');
    row('in_speech_snr_below_8k', lowBandSnr(speech.window.pcm, speech.aligned, 24_000), 'dB', { note: 'both band-limited to 8 kHz: above it Opus fills noise-like bands with noise, not the waveform' });

    // Alias: tones above 12.5 kHz (−6 dBFS) with a quiet 500 Hz guard tone that keeps the bot's voice detection on.
    const alias = await analyseInbound(clean.alias, decoded.alias);
    aliasHz.forEach((hz, b) => {
      const from48 = aliasBursts.starts[b]! + OPUS_DELAY_48K + 0.1 * aliasBursts.length;
      const to48 = from48 + 0.8 * aliasBursts.length;
      const toneIn = toneAmplitude(left(decoded.alias).subarray(from48, to48), hz, 48_000, true);
      const at = Math.round(from48 / 2 + alias.aligned.delay);
      const level = toneAmplitude(alias.window.pcm.subarray(at, at + (to48 - from48) / 2), 24_000 - hz, 24_000, true);
      row(`in_alias_${hz}hz`, 20 * Math.log10(level / toneIn), 'dB', { alias_hz: 24_000 - hz, required: '<= -70' });
    });
    const single = await analyseInbound(clean.single, decoded.single);
    row('in_single_speaker_minus3dbfs_gain', snrDb(single.window.pcm, single.aligned).gainDb, 'dB', { required: 'within ±0.1' });

    // Two loud speakers at once: 440 Hz and 554 Hz, each −3 dBFS (their sum peaks at +3 dBFS).
    const firstLoud = both.findIndex((v) => Math.abs(v) > 3000);
    const segment = both.subarray(firstLoud + 4800, lastAbove(both, 0, both.length, 0.1) - 4800);
    // Clipped: samples in flat tops (two or more in a row at full scale). A limiter may touch full
    // scale at a peak; only cutting the wave off leaves it there.
    const atFull = (i: number) => Math.abs(segment[i]!) >= 32767;
    let clipped = 0;
    for (let i = 0; i < segment.length; i++) if (atFull(i) && ((i > 0 && atFull(i - 1)) || (i + 1 < segment.length && atFull(i + 1)))) clipped++;
    row('in_two_speakers_clipped', (100 * clipped) / segment.length, '%', { speakers: 2, each_dbfs: -3, note: 'samples in flat tops at full scale' });
    row('in_two_speakers_thd_n', thdPlusNoiseDb(segment, 24_000, [440, 554.37]), 'dB');
    // Tones line up with their references only to a multiple of their period: delays from sweeps and speech.
    const cleanDelays = [sweep, speech, ...(await Promise.all(clean.probes.map((probe, i) => analyseInbound(probe, decoded.probes[i]!))))].map((result) => result.delayMs);
    row('in_delay_clean', median(cleanDelays), 'ms', { note: 'capture → model, mean per utterance, median of utterances', utterances: cleanDelays.map((d) => round(d)) });
    row('in_jitter_buffer_delay_clean', statsBefore.playoutDelayMs ?? statsBefore.delayMs ?? 60, 'ms', { note: 'playout delay of the last frame of the last clean utterance, from its earliest possible arrival to the pull that played it (the mixer tick included); before issue 19: a fixed 60 ms', target_ms: round(statsBefore.targetDelayMs ?? Number.NaN), measured_jitter_ms: round(statsBefore.jitterMs ?? Number.NaN) });

    // ---- Inbound, 10% loss + 0–40 ms jitter ----
    const lossy = await analyseInbound(lossyCapture, decoded.lossy);
    const counted = (key: string) => (statsAfter[key] ?? 0) - (statsBefore[key] ?? 0);
    const { from, to } = lossy.aligned;
    const high = (x: ArrayLike<number>) => bandPass(x, 24_000, 7_500, 11_000);
    row('in_lossy_snr', snrDb(lossy.window.pcm, lossy.aligned).snrDb, 'dB', { loss: 0.1, jitter_ms: 40, reference: 'the same speech on a perfect network', note: 'one alignment for the whole utterance: a time stretch counts as noise from there on' });
    row('in_lossy_segmental_snr', segmentalSnrDb(lossy.window.pcm, lossy.aligned, 24_000), 'dB', { loss: 0.1, jitter_ms: 40, note: 'median over 200 ms blocks, each aligned to the reference within whole 20 ms frames' });
    row('in_lossy_silenced', silencedMs(lossy.window.pcm, lossy.aligned.reference, from, to, 24_000, lossy.shifts.at), 'ms', { note: 'digital silence where the speech was (each 200 ms block against the reference at its own frame shift)', of_ms: round((to - from) / 24) });
    row('in_lossy_concealed', 20 * counted('concealed'), 'ms', { note: 'frames concealed by libopus PLC (mixer stats)' });
    row('in_lossy_clicks', countClicks(high(lossy.window.pcm), high(lossy.aligned.reference), from, to, 24_000), 'count', { note: '2.5 ms windows ≥ 10 dB above the reference in 7.5–11 kHz' });
    row('in_lossy_fec_recovered', 20 * counted('fecRecovered'), 'ms', { note: 'concealed frames recovered from the next packet’s in-band FEC (neither Opus binding can decode FEC: 0)' });
    row('in_lossy_late_dropped', counted('late'), 'frames');
    row('in_lossy_stretched', 20 * counted('stretched'), 'ms', { note: 'concealed in underruns without dropping a packet: the playout delay grew by this much' });
    row('in_delay_lossy', lossy.delayMs, 'ms', { loss: 0.1, jitter_ms: 40 });
    row('in_lossy_trimmed', 20 * counted('trimmed'), 'ms', { note: 'quiet frames left out to bring a grown delay back to the jitter target' });
    row('in_jitter_buffer_delay_lossy', statsAfter.playoutDelayMs ?? statsAfter.delayMs ?? 60, 'ms', { target_ms: round(statsAfter.targetDelayMs ?? Number.NaN), measured_jitter_ms: round(statsAfter.jitterMs ?? Number.NaN) });

    // ---- Outbound ----
    const outSweep = await analyseOutbound(out.sweep);
    const outResponse = frequencyResponse(outSweep.heard, outSweep.opusOnly, 48_000, RESPONSE_HZ);
    row('out_sweep_snr', snrDb(outSweep.heard, outSweep.opusOnly).snrDb, 'dB', { reference: 'ideal resampler + Opus-only' });
    row('out_response_max_deviation_to_11k', maxAbs([...outResponse].filter(([hz]) => hz <= 11_000).map(([, db]) => db)), 'dB', { per_hz: Object.fromEntries([...outResponse].map(([hz, db]) => [hz, round(db, 2)])) });
    // Against the reply itself (ideally resampled to 48 kHz, no Opus): what a member hears, codec
    // included, so it compares across changes of how the bot encodes (the Opus-only reference follows them).
    row('out_sweep_snr_vs_ideal', snrDb(outSweep.heard, outSweep.fromIdeal).snrDb, 'dB', { reference: 'ideal resampler, no Opus' });
    const outIdealResponse = frequencyResponse(outSweep.heard, outSweep.fromIdeal, 48_000, RESPONSE_HZ);
    row('out_response_max_deviation_to_11k_vs_ideal', maxAbs([...outIdealResponse].filter(([hz]) => hz <= 11_000).map(([, db]) => db)), 'dB', { per_hz: Object.fromEntries([...outIdealResponse].map(([hz, db]) => [hz, round(db, 2)])) });
    const outSpeech = await analyseOutbound(out.speech);
    row('out_speech_snr', snrDb(outSpeech.heard, outSpeech.opusOnly).snrDb, 'dB');
    row('out_speech_snr_below_8k', lowBandSnr(outSpeech.heard, outSpeech.opusOnly, 48_000), 'dB');
    row('out_speech_snr_vs_ideal', snrDb(outSpeech.heard, outSpeech.fromIdeal).snrDb, 'dB', { reference: 'ideal resampler, no Opus' });
    row('out_speech_snr_below_8k_vs_ideal', lowBandSnr(outSpeech.heard, outSpeech.fromIdeal, 48_000), 'dB', { reference: 'ideal resampler, no Opus' });
    const outImage = await analyseOutbound(out.image);
    imageHz.forEach((hz, b) => {
      const from48 = Math.round(2 * (imageBursts.starts[b]! + 0.1 * imageBursts.length) + outImage.fromIdeal.delay);
      const window = outImage.heard.subarray(from48, from48 + 1.6 * imageBursts.length);
      const level = 20 * Math.log10(toneAmplitude(window, 24_000 - hz, 48_000, true) / toneAmplitude(window, hz, 48_000, true));
      row(`out_image_${hz}hz`, level, 'dB', { image_hz: 24_000 - hz, required: '<= -70' });
    });
    const tail = await analyseOutbound(out.tail);
    const idealEnd = lastAbove(tail.ideal, 0, tail.ideal.length) + tail.fromIdeal.delay;
    const heardEnd = lastAbove(tail.heard, 0, tail.heard.length);
    row('out_reply_tail_lost', Math.max(0, (idealEnd - heardEnd) / 48), 'ms', { note: 'end of the reply missing from what the listener heard' });
    const outDelays = [outSweep, outSpeech, tail].map((result) => result.delayMs);
    row('out_delay_first_sample', median(outDelays), 'ms', { note: 'first reply delta at the bot → its first sample heard', replies: outDelays.map((d) => round(d)) });
  } finally {
    await stack.close();
  }
}

/** The fidelity benchmark module. */
export const fidelityBenchmarks: BenchModule = { name: 'fidelity', run };

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = performance.now();
  await run((row) => console.log(JSON.stringify(row)));
  console.log(JSON.stringify({ name: 'fidelity_bench_duration', value: Math.round(performance.now() - started), unit: 'ms' }));
}
