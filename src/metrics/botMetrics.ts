/**
 * Prometheus metrics of one bot process, built on prom-client (the Prometheus client for Node that
 * the field uses: exposition format, histogram buckets, label escaping and the standard process
 * metrics come with it, so they need no hand-written code here and stay correct).
 *
 * Everything is per process, without per-guild labels (a guild label would grow without bound on a
 * large bot); in a sharded deployment each shard process is its own scrape target.
 */
import { gatewayPingMs } from './gatewayPing.ts';
import type { Client } from 'discord.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TokenUsage } from '../realtime/index.ts';
import type { GuildConversation } from '../voice/guildConversation.ts';
import type { SessionRegistry } from '../voice/sessionRegistry.ts';
import type { VoiceSession } from '../voice/voiceSession.ts';
import { VoiceHealthMetrics } from './voiceHealthMetrics.ts';
import { InputAudioMetrics } from './inputAudioMetrics.ts';

/** Seconds from the end of speech to the first reply packet: realtime replies land from ~0.2 s to a few s. */
export const TURN_LATENCY_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];

/** Token kinds of the `voicebot_tokens_total` counter, from a response's usage. */
const TOKEN_KINDS: [kind: string, field: keyof TokenUsage][] = [
  ['input_text', 'inputTextTokens'],
  ['input_audio', 'inputAudioTokens'],
  ['cached_text', 'cachedTextTokens'],
  ['cached_audio', 'cachedAudioTokens'],
  ['output_text', 'outputTextTokens'],
  ['output_audio', 'outputAudioTokens'],
];

/**
 * Adds a count reported by the model service. Counting must never throw into the realtime client's
 * event dispatch: prom-client throws on non-finite values, so only finite positive values are added.
 */
function addCount<T extends string>(counter: Counter<T>, value: number, labels?: Partial<Record<T, string>>): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return;
  if (labels) counter.inc(labels, value);
  else counter.inc(value);
}

/** Options of {@link BotMetrics}. */
export interface BotMetricsOptions {
  client: Client;
  sessions: SessionRegistry;
  /** Also export prom-client's process metrics (CPU, memory, event loop lag, GC); default true. */
  processMetrics?: boolean;
}

/** The bot's metrics: attaches to the session registry and renders the Prometheus text format. */
export class BotMetrics {
  readonly registry = new Registry();
  readonly #voiceSessions = new Set<VoiceSession>();
  readonly #conversations = new Set<GuildConversation>();
  /** Playback counts already added to the counters, per live session (they are cumulative per session). */
  readonly #playbackSeen = new Map<VoiceSession, { framesSent: number; framesLate: number; underruns: number }>();
  readonly #turnLatency: Histogram;
  readonly #tokens: Counter<'kind'>;
  readonly #cost: Counter;
  readonly #responses: Counter<'status'>;
  readonly #reconnects: Counter;
  readonly #rateLimited: Counter;
  readonly #bargeIns: Counter;
  readonly #framesSent: Counter;
  readonly #framesLate: Counter;
  readonly #underruns: Counter;
  readonly #detach: () => void;

  constructor(options: BotMetricsOptions) {
    const { client, sessions } = options;
    const registers = [this.registry];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const playback = () => this.#collectPlayback();
    const voiceSessions = this.#voiceSessions;
    const conversations = this.#conversations;

    new Gauge({
      name: 'voicebot_discord_ready',
      help: '1 when the Discord client is logged in and ready, else 0.',
      registers,
      collect() {
        this.set(client.isReady() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'voicebot_guilds',
      help: 'Guilds this process serves.',
      registers,
      collect() {
        this.set(client.guilds.cache.size);
      },
    });
    new Gauge({
      name: 'voicebot_gateway_ping_seconds',
      help: 'Discord gateway heartbeat round trip (absent until the first heartbeat).',
      registers,
      collect() {
        this.reset();
        const ping = gatewayPingMs(client);
        if (ping !== null) this.set(ping / 1000);
      },
    });
    new Gauge({
      name: 'voicebot_voice_sessions',
      help: 'Voice channels the bot is in.',
      registers,
      collect() {
        this.set(sessions.voiceSessionCount);
      },
    });
    new Gauge({
      name: 'voicebot_speakers_active',
      help: 'People heard speaking in the last 5 s, over all voice sessions.',
      registers,
      collect() {
        let speakers = 0;
        for (const session of voiceSessions) speakers += session.activeSpeakers.length;
        this.set(speakers);
      },
    });
    new Gauge<'state'>({
      name: 'voicebot_realtime_sessions',
      help: 'Conversations with the realtime model, by state.',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const state of ['connecting', 'ready', 'reconnecting', 'failed']) this.set({ state }, 0);
        for (const conversation of conversations) this.inc({ state: conversation.state });
      },
    });
    this.#turnLatency = new Histogram({
      name: 'voicebot_turn_latency_seconds',
      help: 'From the end of a speaker\'s speech to the first packet of the bot\'s voice reply.',
      buckets: TURN_LATENCY_BUCKETS,
      registers,
    });
    this.#bargeIns = new Counter({ name: 'voicebot_barge_ins_total', help: 'Replies interrupted by someone talking over the bot.', registers });
    this.#tokens = new Counter({
      name: 'voicebot_tokens_total',
      help: 'Tokens reported by the realtime model, by kind (cached_* are a part of input_*).',
      labelNames: ['kind'],
      registers,
    });
    this.#cost = new Counter({ name: 'voicebot_cost_usd_total', help: 'Estimated cost of the realtime model usage (responses and input transcription), in US dollars.', registers });
    this.#responses = new Counter({
      name: 'voicebot_responses_total',
      help: 'Realtime model responses finished, by status (completed, cancelled, incomplete, failed).',
      labelNames: ['status'],
      registers,
    });
    this.#reconnects = new Counter({
      name: 'voicebot_realtime_reconnects_total',
      help: 'Reconnections to the realtime model after a lost session.',
      registers,
    });
    this.#rateLimited = new Counter({ name: 'voicebot_realtime_rate_limited_total', help: 'Rate-limit refusals from the realtime model.', registers });
    this.#framesSent = new Counter({ name: 'voicebot_playback_frames_total', help: 'Voice frames (20 ms) sent to Discord.', registers, collect: playback });
    this.#framesLate = new Counter({
      name: 'voicebot_playback_late_frames_total',
      help: 'Voice frames sent late (the frame clock was behind by more than a frame).',
      registers,
      collect: playback,
    });
    this.#underruns = new Counter({
      name: 'voicebot_playback_underruns_total',
      help: 'Times reply audio ran out mid-reply (the model sent audio slower than real time).',
      registers,
      collect: playback,
    });
    for (const kind of TOKEN_KINDS) this.#tokens.inc({ kind: kind[0] }, 0);
    const voiceHealth = new VoiceHealthMetrics(this.registry);
    const inputAudio = new InputAudioMetrics(this.registry);

    const onConversation = (conversation: GuildConversation) => {
      conversations.add(conversation);
      // Dropped as soon as it closes (scraped or not): the set never outgrows the live conversations.
      conversation.on('stateChange', (_previous, next) => {
        if (next === 'closed') conversations.delete(conversation);
      });
      const realtime = conversation.realtime;
      realtime.on('reconnecting', () => this.#reconnects.inc());
      realtime.on('rate_limited', () => this.#rateLimited.inc());
      realtime.on('response_done', (result) => {
        this.#responses.inc({ status: String(result.status) });
        if (!result.usage) return;
        for (const [kind, field] of TOKEN_KINDS) addCount(this.#tokens, result.usage[field], { kind });
        addCount(this.#cost, result.costUsd); // priced once, by the realtime client
      });
      realtime.on('transcription_usage', ({ costUsd }) => addCount(this.#cost, costUsd));
    };
    const onVoiceSession = (session: VoiceSession) => {
      voiceSessions.add(session);
      voiceHealth.track(session);
      inputAudio.track(session);
      this.#playbackSeen.set(session, { framesSent: 0, framesLate: 0, underruns: 0 });
      session.on('turn', ({ firstAudioAfterSpeechEndMs: ms }) => {
        if (Number.isFinite(ms) && ms >= 0) this.#turnLatency.observe(ms / 1000);
      });
      session.on('bargeIn', () => this.#bargeIns.inc());
      session.once('destroyed', () => {
        this.#addPlayback(session);
        voiceSessions.delete(session);
        this.#playbackSeen.delete(session);
      });
    };
    sessions.on('conversation', onConversation);
    sessions.on('voiceSession', onVoiceSession);
    this.#detach = () => {
      sessions.off('conversation', onConversation);
      sessions.off('voiceSession', onVoiceSession);
    };
  }

  /** Conversations the metrics follow (live ones only: closed ones are dropped at once). */
  get trackedConversations(): number {
    return this.#conversations.size;
  }

  /** Voice sessions the metrics follow (until they are destroyed). */
  get trackedVoiceSessions(): number {
    return this.#voiceSessions.size;
  }

  /** The Prometheus text exposition of every metric. */
  async render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content-Type of {@link render}'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stops listening to the registry. */
  detach(): void {
    this.#detach();
  }

  #collectPlayback(): void {
    for (const session of this.#voiceSessions) this.#addPlayback(session);
  }

  /** Adds what a session played since the last look (its stats only grow). */
  #addPlayback(session: VoiceSession): void {
    const seen = this.#playbackSeen.get(session);
    if (!seen) return;
    const now = session.playbackStats;
    this.#framesSent.inc(Math.max(0, now.framesSent - seen.framesSent));
    this.#framesLate.inc(Math.max(0, now.framesLate - seen.framesLate));
    this.#underruns.inc(Math.max(0, now.underruns - seen.underruns));
    this.#playbackSeen.set(session, { framesSent: now.framesSent, framesLate: now.framesLate, underruns: now.underruns });
  }
}
