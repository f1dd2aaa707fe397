import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  VoiceConnectionDisconnectReason,
  VoiceConnectionStatus,
  entersState,
  joinVoiceChannel,
  type VoiceConnection,
  type VoiceConnectionState,
} from '@discordjs/voice';
import type { VoiceBasedChannel } from 'discord.js';
import type { Logger } from 'pino';
import { SpeakerMixer, samplesToPcmBuffer, type FrameClock, type OpusEncoderThread } from '../audio/index.ts';
import { FRAME_MS } from '../audio/format.ts';
import type { Config } from '../config.ts';
import { BargeInGate } from './bargeInGate.ts';
import { guardReceiver } from './receiverGuard.ts';
import { labelName, type GuildConversation } from './guildConversation.ts';
import { SpeakerInputs } from './speakerInputs.ts';
import { TurnMetrics } from './turnMetrics.ts';
import { VoicePlayback } from './voicePlayback.ts';

/** Where a voice session stands. */
export type VoiceSessionStatus = 'connecting' | 'ready' | 'reconnecting' | 'destroyed';

/** Events of a {@link VoiceSession}. */
export interface VoiceSessionEvents {
  stateChange: [previous: VoiceSessionStatus, next: VoiceSessionStatus];
  /** A person interrupted the bot; `playedMs` is what the item was truncated to. */
  bargeIn: [{ itemId: string | null; playedMs: number | null; userId: string }];
  /** A voice turn was answered; latency from the end of speech to the first packet sent. */
  turn: [{ speakers: string[]; firstAudioAfterSpeechEndMs: number }];
  /** A reply item started playing; `firstDeltaToPacketMs` is the delay playback added (pre-buffer, encoding). */
  replyStarted: [{ itemId: string; firstDeltaToPacketMs: number }];
  destroyed: [reason: string];
}

/** Options of {@link VoiceSession}. */
export interface VoiceSessionOptions {
  channel: VoiceBasedChannel;
  conversation: GuildConversation;
  config: Config;
  clock: FrameClock;
  /** Where reply audio is Opus-encoded (the bot's encoder thread). */
  encoderThread: OpusEncoderThread;
  logger: Logger;
  /** How long to wait for the connection to become ready. */
  readyTimeoutMs?: number;
}

/** Keep sending audio this long after the last voiced frame, so the server's VAD sees the silence that ends a turn. */
const INPUT_HANGOVER_MS = 2_000;
/** A frame at or above this level counts as voiced for latency measurement. */
const VOICED_DBFS = -50;
const MAX_REJOIN_ATTEMPTS = 5;

/**
 * The bot in one voice channel: hears every human (mixed, attributed), feeds the guild's realtime
 * conversation, answers each finished turn in voice, stops the moment someone talks over it, and
 * recovers from voice disconnects following @discordjs/voice's reconnect guidance.
 */
export class VoiceSession extends EventEmitter<VoiceSessionEvents> {
  readonly guildId: string;
  readonly connection: VoiceConnection;
  readonly metrics = new TurnMetrics();
  readonly #options: VoiceSessionOptions;
  readonly #log: Logger;
  readonly #mixer = new SpeakerMixer();
  readonly #inputs: SpeakerInputs;
  readonly #playback: VoicePlayback;
  readonly #gate: BargeInGate;
  readonly #interrupted = new Set<string>();
  readonly #unsubscribeTick: () => void;
  readonly #detachConversation: () => void;
  #channel: VoiceBasedChannel;
  #status: VoiceSessionStatus = 'connecting';
  #lastVoicedAt = -Infinity;
  #lastVoicedBy = new Map<string, number>();
  /** Voice turn waiting for its first reply packet: when the speech ended and who spoke. */
  #pendingTurn: { speechEndAt: number; speakers: string[]; responseId: string | null } | null = null;
  #audioResponseId: string | null = null;
  #aloneTimer: NodeJS.Timeout | undefined;
  lastBargeIn: { itemId: string | null; playedMs: number | null; at: number } | null = null;
  /** Voice datagrams the receiver could not handle, dropped instead of crashing. */
  droppedDatagrams = 0;

  constructor(options: VoiceSessionOptions) {
    super();
    this.#options = options;
    this.#channel = options.channel;
    this.guildId = options.channel.guild.id;
    this.#log = options.logger.child({ component: 'voice' });
    this.#gate = new BargeInGate(options.config.bargeIn);
    this.connection = joinVoiceChannel({
      channelId: options.channel.id,
      guildId: this.guildId,
      adapterCreator: options.channel.guild.voiceAdapterCreator,
      selfDeaf: false, // a bot that must hear cannot be deafened
      selfMute: false,
    });
    guardReceiver(this.connection, (error) => {
      this.droppedDatagrams++;
      this.#log.debug({ err: error instanceof Error ? error.message : String(error) }, 'malformed voice datagram dropped');
    });
    this.connection.on('stateChange', (previous, next) => this.#onConnectionState(previous, next));
    this.connection.on('error', (error) => this.#log.warn({ err: error.message }, 'voice connection error'));
    this.#inputs = new SpeakerInputs({
      connection: this.connection,
      mixer: this.#mixer,
      shouldHear: (userId) => this.#isHuman(userId),
      onFrame: (userId, level) => this.#onSpeakerFrame(userId, level),
      onPersistentDecryptFailure: (userId) => this.#onDeaf(userId),
      logger: this.#log,
    });
    this.#playback = new VoicePlayback({
      connection: this.connection,
      clock: options.clock,
      prebufferMs: options.config.playbackPrebufferMs,
      encoder: options.encoderThread.createStream(),
      onFirstPacket: (itemId, sentAt, firstDeltaAt) => this.#onFirstPacket(itemId, sentAt, firstDeltaAt),
    });
    // Input work runs after every session's output packet of this tick has been sent (setImmediate),
    // so feeding the model never delays what people hear.
    this.#unsubscribeTick = options.clock.subscribe(() => setImmediate(() => this.#onInputTick()));
    this.#detachConversation = this.#attachConversation(options.conversation);
    this.#checkAlone();
  }

  /** Current status. */
  get status(): VoiceSessionStatus {
    return this.#status;
  }

  /** The channel the bot is in. */
  get channelId(): string {
    return this.#channel.id;
  }

  /** Display names of the people heard in the last few seconds. */
  get activeSpeakers(): string[] {
    const now = performance.now();
    return [...this.#lastVoicedBy].filter(([, at]) => now - at < 5_000).map(([userId]) => this.#displayName(userId));
  }

  /** Playback figures (frames sent, late frames, underruns). */
  get playbackStats() {
    return { ...this.#playback.stats };
  }

  /** The input mixer's counters (frames received, late, overflow… per speaker). */
  get mixerStats() {
    return this.#mixer.stats();
  }

  /** Decryption failures recovered by re-subscribing. */
  get decryptFailures(): number {
    return this.#inputs.decryptFailures;
  }

  /** Waits until the connection is ready; destroys the session and rejects if it does not get there. */
  async ready(): Promise<void> {
    try {
      await entersState(this.connection, VoiceConnectionStatus.Ready, this.#options.readyTimeoutMs ?? 20_000);
    } catch (error) {
      this.destroy('could not connect');
      throw error;
    }
  }

  /** Moves to another channel of the same guild. */
  async moveTo(channel: VoiceBasedChannel): Promise<void> {
    this.#channel = channel;
    this.connection.rejoin({ channelId: channel.id, selfDeaf: false, selfMute: false });
    await entersState(this.connection, VoiceConnectionStatus.Ready, this.#options.readyTimeoutMs ?? 20_000);
    this.#checkAlone();
  }

  /** Re-evaluates who is in the channel (call on every voice state update of the guild). */
  onVoiceStateChanged(userId: string, channelId: string | null): void {
    if (channelId !== this.#channel.id) {
      this.#inputs.remove(userId);
      this.#gate.forget(userId);
      this.#lastVoicedBy.delete(userId);
    }
    this.#checkAlone();
  }

  /** Stops talking at once: the barge-in path, also used by /leave. */
  interrupt(userId: string): void {
    const stopped = this.#playback.stop();
    const client = this.#options.conversation.client;
    const responseId = this.#audioResponseId;
    if (responseId && client.activeResponseId === responseId) client.cancelResponse();
    if (responseId) this.#interrupted.add(responseId);
    this.#audioResponseId = null;
    if (stopped && stopped.playedMs >= 0) client.truncate(stopped.itemId, Math.floor(stopped.playedMs));
    this.lastBargeIn = { itemId: stopped?.itemId ?? null, playedMs: stopped?.playedMs ?? null, at: Date.now() };
    this.#gate.reset();
    this.#log.info({ userId, itemId: stopped?.itemId, playedMs: stopped?.playedMs }, 'barge-in: playback stopped');
    this.emit('bargeIn', { itemId: stopped?.itemId ?? null, playedMs: stopped?.playedMs ?? null, userId });
  }

  /** Leaves the channel and releases everything. Safe to call twice. */
  destroy(reason: string): void {
    if (this.#status === 'destroyed') return;
    this.#setStatus('destroyed');
    clearTimeout(this.#aloneTimer);
    this.#unsubscribeTick();
    this.#detachConversation();
    this.#inputs.destroy();
    this.#playback.destroy();
    if (this.connection.state.status !== VoiceConnectionStatus.Destroyed) this.connection.destroy();
    this.#log.info({ reason }, 'left voice channel');
    this.emit('destroyed', reason);
  }

  #attachConversation(conversation: GuildConversation): () => void {
    const client = conversation.client;
    const onCommitted = ({ contributors }: { contributors: string[] }) => this.#onTurnCommitted(contributors);
    const onAudio = ({ responseId, itemId, pcm }: { responseId: string; itemId: string; pcm: Buffer }) => {
      if (this.#interrupted.has(responseId)) return; // stale audio of an interrupted reply never plays
      this.#audioResponseId = responseId;
      this.#playback.push(itemId, pcm);
    };
    const onAudioDone = ({ itemId }: { itemId: string }) => this.#playback.endItem(itemId);
    const onDone = ({ responseId, itemIds }: { responseId: string | null; itemIds: string[] }) => {
      // A reply cut short (socket dropped, failed) never gets audio_done: end its items so what was
      // received plays out and the next reply is not queued behind an item that never ends.
      for (const itemId of itemIds) this.#playback.endItem(itemId);
      if (responseId === null) return;
      if (this.#audioResponseId === responseId) this.#audioResponseId = null;
      this.#interrupted.delete(responseId);
    };
    client.on('input_committed', onCommitted);
    client.on('audio_delta', onAudio);
    client.on('audio_done', onAudioDone);
    client.on('response_done', onDone);
    return () => {
      client.off('input_committed', onCommitted);
      client.off('audio_delta', onAudio);
      client.off('audio_done', onAudioDone);
      client.off('response_done', onDone);
    };
  }

  #onInputTick(): void {
    if (this.#status === 'destroyed') return;
    const now = performance.now();
    const frame = this.#mixer.pull(now);
    // Only stream while someone is (or just was) talking: silence between turns costs nothing.
    if (now - this.#lastVoicedAt > INPUT_HANGOVER_MS && frame.silent) return;
    if (this.#options.conversation.state !== 'ready') return;
    this.#options.conversation.client.appendAudio(samplesToPcmBuffer(frame.pcm), frame.contributors);
  }

  #onSpeakerFrame(userId: string, level: number): void {
    const now = performance.now();
    if (level >= VOICED_DBFS) {
      this.#lastVoicedAt = now;
      this.#lastVoicedBy.set(userId, now);
    }
    if (this.#gate.observe(userId, level, FRAME_MS, now) && (this.#playback.isPlaying || this.#audioResponseId !== null)) {
      this.interrupt(userId);
    }
  }

  #onTurnCommitted(contributorIds: string[]): void {
    // A short sound while the bot talks (cough, "uh-huh") is not a turn to answer: the gate let it pass.
    if (this.#playback.isPlaying || this.#audioResponseId !== null) return;
    const speakers = [...new Set(contributorIds)].map((id) => this.#displayName(id));
    const client = this.#options.conversation.client;
    if (speakers.length > 0) client.addContextNote(`[${speakers.length > 1 ? 'speakers' : 'speaker'}: ${speakers.map(labelName).join(', ')}]`);
    const handle = client.createResponse({ modalities: ['audio'] });
    this.#pendingTurn = { speechEndAt: this.#lastVoicedAt, speakers, responseId: handle.responseId };
  }

  #onFirstPacket(itemId: string, sentAt: number, firstDeltaAt: number): void {
    this.emit('replyStarted', { itemId, firstDeltaToPacketMs: sentAt - firstDeltaAt });
    const turn = this.#pendingTurn;
    if (!turn) return;
    this.#pendingTurn = null;
    const latency = sentAt - turn.speechEndAt;
    this.metrics.record(latency);
    this.emit('turn', { speakers: turn.speakers, firstAudioAfterSpeechEndMs: latency });
  }

  #onDeaf(userId: string): void {
    this.#log.warn({ userId }, 'receive keeps failing to decrypt; rejoining the channel');
    if (this.#status === 'ready') this.connection.rejoin();
  }

  #isHuman(userId: string): boolean {
    const member = this.#channel.guild.members.cache.get(userId);
    return member !== undefined && !member.user.bot;
  }

  #displayName(userId: string): string {
    return this.#channel.guild.members.cache.get(userId)?.displayName ?? `user ${userId}`;
  }

  #checkAlone(): void {
    const humans = this.#channel.members.filter((member) => !member.user.bot).size;
    if (humans > 0) {
      clearTimeout(this.#aloneTimer);
      this.#aloneTimer = undefined;
    } else if (!this.#aloneTimer && this.#status !== 'destroyed') {
      this.#aloneTimer = setTimeout(() => this.destroy('alone in the channel'), this.#options.config.aloneTimeoutMs);
      this.#aloneTimer.unref();
    }
  }

  async #onConnectionState(previous: VoiceConnectionState, next: VoiceConnectionState): Promise<void> {
    if (next.status === VoiceConnectionStatus.Ready) this.#setStatus('ready');
    else if (next.status === VoiceConnectionStatus.Destroyed) this.destroy('voice connection destroyed');
    else if (next.status === VoiceConnectionStatus.Disconnected && previous.status !== VoiceConnectionStatus.Disconnected) {
      this.#setStatus('reconnecting');
      await this.#recover(next);
    }
  }

  /** @discordjs/voice's reconnect guidance: a moved or resumed connection recovers by itself; otherwise rejoin with backoff. */
  async #recover(state: VoiceConnectionState & { status: VoiceConnectionStatus.Disconnected }): Promise<void> {
    if (state.reason === VoiceConnectionDisconnectReason.WebSocketClose && state.closeCode === 4014) {
      // 4014: moved to another channel or kicked. If moved, a new connection attempt follows promptly.
      try {
        await entersState(this.connection, VoiceConnectionStatus.Connecting, 5_000);
      } catch {
        this.destroy('disconnected from the voice channel');
      }
      return;
    }
    if (this.connection.rejoinAttempts < MAX_REJOIN_ATTEMPTS) {
      await sleep((this.connection.rejoinAttempts + 1) * 1_000);
      if (this.#status !== 'destroyed' && this.connection.state.status === VoiceConnectionStatus.Disconnected) this.connection.rejoin();
    } else {
      this.destroy('voice connection lost');
    }
  }

  #setStatus(next: VoiceSessionStatus): void {
    if (next === this.#status) return;
    const previous = this.#status;
    this.#status = next;
    this.emit('stateChange', previous, next);
  }
}
