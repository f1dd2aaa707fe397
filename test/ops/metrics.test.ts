/**
 * The health and Prometheus endpoint, scraped while the real bot talks on the local Discord with
 * the realtime simulator: values follow a voice turn, a barge-in, a realtime reconnect and /leave.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { Client, GatewayIntentBits } from 'discord.js';
import { startLocalStack, type LocalStack } from '../../scripts/localStack.ts';
import { utterance } from '../../sim/speech.ts';
import { loadConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { BotMetrics, metricsPortFor, startMetricsServer } from '../../src/metrics/index.ts';
import { createStore } from '../../src/store/index.ts';
import type { GuildConversation } from '../../src/voice/guildConversation.ts';
import { SessionRegistry } from '../../src/voice/sessionRegistry.ts';
import type { VoiceSession } from '../../src/voice/voiceSession.ts';
import { eventually, freePort, parsePrometheus } from './helpers.ts';
import { FrameClock, OpusEncoderThread } from '../../src/audio/index.ts';

/** The clock and encoder thread a registry hands its voice sessions (these tests join no channel: the worker never starts). */
const sharedVoiceObjects = () => ({ clock: new FrameClock({ logger: silentLogger }), encoderThread: new OpusEncoderThread({ logger: silentLogger }) });

async function scrape(base: string): Promise<Map<string, number>> {
  const response = await fetch(`${base}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await response.text());
}

describe('metrics endpoint during a conversation', () => {
  let stack: LocalStack;
  let base: string;
  let port: number;

  before(async () => {
    port = await freePort();
    stack = await startLocalStack({ logLevel: 'warn', env: { METRICS_PORT: String(port), ALONE_TIMEOUT_SECONDS: '30' }, realtime: { replyAudioMs: 2_500 } });
    base = stack.bot.metricsServer!.url;
  });
  after(async () => {
    await stack?.close();
  });

  test('binds to 127.0.0.1 on METRICS_PORT; /healthz is 200 with JSON once Discord is ready', async () => {
    assert.equal(base, `http://127.0.0.1:${port}`);
    const response = await fetch(`${base}/healthz`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
    const health = (await response.json()) as Record<string, unknown>;
    assert.equal(health.status, 'ok');
    assert.equal(health.discordReady, true);
    assert.equal(health.guilds, 1);
    assert.equal(health.voiceSessions, 0);
    assert.equal((await fetch(`${base}/nothing`)).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
  });

  test('voice sessions, speakers, turn latency, tokens, cost, barge-ins, reconnects and playback are exported', async () => {
    const { discord } = stack;
    const guildId = discord.guildId;
    const [alice, bob, carol] = [discord.member('Alice'), discord.member('Bob'), discord.member('Carol')];
    let values = await scrape(base);
    assert.equal(values.get('voicebot_discord_ready'), 1);
    assert.equal(values.get('voicebot_voice_sessions'), 0);
    assert.equal(values.get('voicebot_turn_latency_seconds_count'), 0);
    assert.equal(values.get('voicebot_tokens_total{kind="input_audio"}'), 0);
    assert.ok(values.has('process_resident_memory_bytes'), 'standard process metrics are there');

    await Promise.all([alice.joinVoice(), bob.joinVoice(), carol.joinVoice()]);
    const join = await alice.runCommand('join');
    assert.match(await join.waitForContent(20_000), /^Joined/);
    const session = stack.bot.context.sessions.voiceSession(guildId)!;
    const latencies: number[] = [];
    session.on('turn', ({ firstAudioAfterSpeechEndMs }) => latencies.push(firstAudioAfterSpeechEndMs));

    // A turn: scrape while the reply is playing.
    const { endedAt } = await alice.speak(utterance(1.6, 10));
    await carol.waitForAudio({ minMs: 200, timeoutMs: 20_000, after: endedAt });
    values = await scrape(base);
    assert.equal(values.get('voicebot_voice_sessions'), 1);
    assert.equal(values.get('voicebot_realtime_sessions{state="ready"}'), 1);
    assert.ok(values.get('voicebot_speakers_active')! >= 1, 'Alice was heard in the last seconds');
    assert.equal(values.get('voicebot_turn_latency_seconds_count'), 1);
    assert.equal(latencies.length, 1);
    assert.ok(Math.abs(values.get('voicebot_turn_latency_seconds_sum')! - latencies[0]! / 1000) < 1e-6, 'the histogram holds the turn event latency');
    const bucket = values.get('voicebot_turn_latency_seconds_bucket{le="10"}');
    assert.equal(bucket, 1);
    assert.ok(values.get('voicebot_playback_frames_total')! > 0, 'reply frames were sent');
    assert.ok(values.has('voicebot_input_frames_concealed_total{method="plc"}') && values.has('voicebot_input_packets_late_total'), 'input audio counters are exported');
    assert.ok(values.get('voicebot_input_playout_delay_seconds{stat="max"}')! >= 0);
    assert.ok(values.has('voicebot_playback_underruns_total') && values.has('voicebot_playback_late_frames_total'));

    // Usage arrives with response.done at the end of the reply.
    values = await eventually(async () => {
      const now = await scrape(base);
      return now.get('voicebot_tokens_total{kind="output_audio"}')! > 0 ? now : null;
    }, 'the reply usage to be counted', 20_000);
    assert.ok(values.get('voicebot_tokens_total{kind="input_audio"}')! > 0);
    assert.ok(values.get('voicebot_cost_usd_total')! > 0, 'an estimated cost');
    assert.ok(values.get('voicebot_responses_total{status="completed"}')! >= 1);
    assert.equal(values.get('voicebot_barge_ins_total'), 0);

    // A barge-in: once the first reply has played out, Bob asks and Alice talks over the reply.
    await eventually(() => {
      const last = carol.heard().packets.filter((packet) => !packet.silence).at(-1);
      return last !== undefined && performance.now() - last.arrivalMs > 400;
    }, 'the first reply to finish playing', 20_000);
    const bob1 = await bob.speak(utterance(1.4, 21));
    await carol.waitForAudio({ minMs: 400, timeoutMs: 20_000, after: bob1.endedAt });
    const bargedIn = new Promise((resolve) => session.once('bargeIn', resolve));
    void alice.speak(utterance(1.8, 22));
    await bargedIn;
    values = await scrape(base);
    assert.equal(values.get('voicebot_barge_ins_total'), 1);

    // A realtime reconnect: the model's socket drops; the bot reconnects.
    const reconnectsBefore = values.get('voicebot_realtime_reconnects_total');
    assert.equal(reconnectsBefore, 0);
    stack.realtime!.openSessions().at(-1)!.drop();
    values = await eventually(async () => {
      const now = await scrape(base);
      return now.get('voicebot_realtime_reconnects_total')! >= 1 && now.get('voicebot_realtime_sessions{state="ready"}') === 1 ? now : null;
    }, 'the reconnect to be counted', 15_000);

    // /leave: the session gauge drops and the leave is not a barge-in.
    const leave = await alice.runCommand('leave');
    await leave.waitForContent(10_000);
    values = await eventually(async () => {
      const now = await scrape(base);
      return now.get('voicebot_voice_sessions') === 0 ? now : null;
    }, 'the voice session gauge to drop');
    assert.equal(values.get('voicebot_barge_ins_total'), 1);
    assert.ok(values.get('voicebot_playback_frames_total')! > 0, 'frames of a closed session stay counted');
  });
});

describe('metrics endpoint without a ready client', () => {
  test('/healthz is 503 while Discord is not ready, and when stopping', async () => {
    const config = loadConfig({ METRICS_HOST: '127.0.0.1' });
    const store = createStore({ databasePath: ':memory:', logger: silentLogger });
    const sessions = new SessionRegistry({ config, store, logger: silentLogger, ...sharedVoiceObjects() });
    const client = new Client({ intents: [GatewayIntentBits.Guilds] });
    const metrics = new BotMetrics({ client, sessions, processMetrics: false });
    const server = await startMetricsServer({ port: 0, host: config.metricsHost, client, sessions, metrics, logger: silentLogger });
    try {
      const response = await fetch(`${server.url}/healthz`);
      assert.equal(response.status, 503);
      assert.equal(((await response.json()) as { status: string }).status, 'starting');
      const values = parsePrometheus(await (await fetch(`${server.url}/metrics`)).text());
      assert.equal(values.get('voicebot_discord_ready'), 0);
      assert.equal(values.has('process_resident_memory_bytes'), false);
      server.markStopping();
      assert.equal(((await (await fetch(`${server.url}/healthz`)).json()) as { status: string }).status, 'stopping');
    } finally {
      await server.close();
      await sessions.shutdown();
      await client.destroy();
      await store.close();
    }
  });
});

describe('metrics never disturb the bot', () => {
  test('absurd counts from the model service (NaN, Infinity, negative) are ignored instead of throwing into the client', async () => {
    const config = loadConfig({});
    const store = createStore({ databasePath: ':memory:', logger: silentLogger });
    const sessions = new SessionRegistry({ config, store, logger: silentLogger, ...sharedVoiceObjects() });
    const client = new Client({ intents: [GatewayIntentBits.Guilds] });
    const metrics = new BotMetrics({ client, sessions, processMetrics: false });
    try {
      const realtime = new EventEmitter();
      const conversation = Object.assign(new EventEmitter(), { realtime, state: 'ready' });
      sessions.emit('conversation', conversation as unknown as GuildConversation);
      const usage = { inputTextTokens: Number.NaN, inputAudioTokens: Number.POSITIVE_INFINITY, cachedTextTokens: -5, cachedAudioTokens: 0, outputTextTokens: 7, outputAudioTokens: 1e308 };
      assert.doesNotThrow(() => realtime.emit('response_done', { status: 'completed', usage, costUsd: Number.POSITIVE_INFINITY }));
      const voice = new EventEmitter() as EventEmitter & { playbackStats: object; activeSpeakers: string[]; receiveHealth: object; inputAudio: object };
      voice.playbackStats = { framesSent: 0, framesLate: 0, underruns: 0 };
      voice.activeSpeakers = [];
      voice.receiveHealth = { groupReady: true, framesDroppedUndecrypted: 12, framesUndecryptable: Number.NaN, daveErrorsContained: 1, deafnessDetected: 0, rejoins: 1 };
      const speaker = (name: string, talking: boolean, playoutDelayMs: number) => ({ speaker: name, talking, playoutDelayMs, targetDelayMs: 41, jitterMs: 39, concealed: 0, fecRecovered: 0, late: 0 });
      voice.inputAudio = {
        speakers: [speaker('Alice', true, 45), speaker('Bob', true, 25), speaker('Carol', false, 90)],
        totals: { concealed: 7, fecRecovered: 2, late: 3, stretched: 1, trimmed: Number.NaN },
      };
      sessions.emit('voiceSession', voice as unknown as VoiceSession);
      assert.doesNotThrow(() => voice.emit('turn', { speakers: [], firstAudioAfterSpeechEndMs: Number.POSITIVE_INFINITY }));
      voice.emit('turn', { speakers: [], firstAudioAfterSpeechEndMs: 250 });
      const values = parsePrometheus(await metrics.render());
      assert.equal(values.get('voicebot_tokens_total{kind="output_text"}'), 7);
      assert.equal(values.get('voicebot_tokens_total{kind="input_text"}'), 0);
      assert.equal(values.get('voicebot_tokens_total{kind="input_audio"}'), 0);
      assert.equal(values.get('voicebot_tokens_total{kind="cached_text"}'), 0);
      assert.equal(values.get('voicebot_cost_usd_total'), 0, 'an infinite cost is not added');
      assert.equal(values.get('voicebot_realtime_sessions{state="ready"}'), 1);
      assert.equal(values.get('voicebot_turn_latency_seconds_count'), 1);
      assert.equal(values.get('voicebot_turn_latency_seconds_sum'), 0.25);
      assert.equal(values.get('voicebot_dave_frames_dropped_total{reason="still_encrypted"}'), 12);
      assert.equal(values.get('voicebot_dave_frames_dropped_total{reason="undecryptable"}'), 0, 'a NaN count adds nothing');
      assert.equal(values.get('voicebot_dave_errors_contained_total'), 1);
      assert.equal(values.get('voicebot_voice_recovery_rejoins_total'), 1);
      assert.equal(values.get('voicebot_voice_sessions_e2ee'), 1);
      assert.equal(values.get('voicebot_input_frames_concealed_total{method="plc"}'), 5, 'concealed frames not recovered from FEC');
      assert.equal(values.get('voicebot_input_frames_concealed_total{method="fec"}'), 2);
      assert.equal(values.get('voicebot_input_packets_late_total'), 3);
      assert.equal(values.get('voicebot_input_delay_adjustments_total{direction="stretched"}'), 1);
      assert.equal(values.get('voicebot_input_delay_adjustments_total{direction="trimmed"}'), 0, 'a NaN count adds nothing');
      assert.equal(values.get('voicebot_input_playout_delay_seconds{stat="max"}'), 0.045, 'of the speakers talking now (Carol is not)');
      assert.equal(values.get('voicebot_input_playout_delay_seconds{stat="mean"}'), 0.035);
      (voice.inputAudio as { totals: object }).totals = { concealed: 10, fecRecovered: 2, late: 3, stretched: 1, trimmed: 0 };
      const later = parsePrometheus(await metrics.render());
      assert.equal(later.get('voicebot_input_frames_concealed_total{method="plc"}'), 8, 'what grew since the last scrape is added');
    } finally {
      metrics.detach();
      await sessions.shutdown();
      await client.destroy();
      await store.close();
    }
  });
});

describe('metrics configuration', () => {
  test('off by default, bound to 127.0.0.1 by default, METRICS_HOST changes it', () => {
    const defaults = loadConfig({});
    assert.equal(defaults.metricsPort, 0);
    assert.equal(defaults.metricsHost, '127.0.0.1');
    assert.equal(loadConfig({ METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0' }).metricsHost, '0.0.0.0');
    assert.throws(() => loadConfig({ METRICS_HOST: 'not a host' }), /METRICS_HOST/);
  });

  test('each shard process serves on METRICS_PORT + its shard id', () => {
    assert.equal(metricsPortFor(9464, undefined), 9464);
    assert.equal(metricsPortFor(9464, '0'), 9464);
    assert.equal(metricsPortFor(9464, '3'), 9467);
    assert.equal(metricsPortFor(9464, '[5]'), 9469);
    assert.equal(metricsPortFor(0, '3'), 0, 'off stays off');
  });
});
