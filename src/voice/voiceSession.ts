import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { VoiceConnectionStatus, entersState, type VoiceConnection } from '@discordjs/voice';
import type { VoiceBasedChannel } from 'discord.js';
import type { Logger } from 'pino';
import type { ResponseHandle } from '../realtime/index.ts';
import type { GuildConversation } from './guildConversation.ts';
import { followConnection } from './voiceRecovery.ts';
import { TurnMetrics } from './turnMetrics.ts';
import type { StopReason, TurnState } from './turnTaking.ts';
import type { VoiceSessionEvents, VoiceSessionOptions, VoiceSessionStatus } from './voiceSessionTypes.ts';
import { ChannelPresence } from './channelPresence.ts';
import { AddressingGate, DEFAULT_FOLLOW_UP_SECONDS } from './addressing.ts';
import { SessionCaptions } from './sessionCaptions.ts';
import { inputAudioReport, type InputAudioReport } from './inputAudioReport.ts';
import { VoiceInput } from './voiceInput.ts';
import { SessionConversation } from './sessionConversation.ts';
import { VoicePlayback } from './voicePlayback.ts';
import { joinChannel, moveConnection } from './voiceMove.ts';

export type { VoiceSessionEvents, VoiceSessionOptions, VoiceSessionStatus } from './voiceSessionTypes.ts';

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
  /** Hearing: receive streams, mixer, receive health, barge-in gate, the frames fed to the model (see voiceInput.ts). */
  readonly #input: VoiceInput;
  readonly #playback: VoicePlayback;
  /** The conversation talked in and the turn-taking on it (see sessionConversation.ts). */
  readonly #talk: SessionConversation;
  /** The channel, who may be heard there, speaker labels, the alone timer (see channelPresence.ts). */
  readonly #here: ChannelPresence;
  #status: VoiceSessionStatus = 'connecting';
  /** Answers only turns addressed to the bot, per the server's addressing mode (see addressing.ts). */
  readonly #addressing: AddressingGate;
  /** Captions in the channel's chat when the server turned them on (see captions.ts). */
  readonly #captions: SessionCaptions;

  constructor(options: VoiceSessionOptions) {
    super();
    this.#options = options;
    this.guildId = options.channel.guild.id;
    this.#log = options.logger.child({ component: 'voice' });
    this.#here = new ChannelPresence(options.channel, options.room, options.config.aloneTimeoutMs, () => this.destroy('alone in the channel'));
    this.connection = joinChannel(options.channel, this.#log);
    followConnection(this.connection, {
      ready: () => this.#setStatus('ready'),
      reconnecting: () => this.#setStatus('reconnecting'),
      destroyed: () => this.#status === 'destroyed',
      destroy: (reason) => this.destroy(reason),
    });
    this.#input = new VoiceInput({
      connection: this.connection,
      clock: options.clock,
      bargeIn: options.config.bargeIn,
      logger: this.#log,
      mayHear: (userId) => this.#here.mayHear(userId),
      sink: () => this.#talk.inputSink(),
      // In `name` mode only the people being answered interrupt: others chatting nearby do not.
      talkedOver: (userId) => {
        if (this.#addressing.mayInterrupt(userId)) this.#talk.turns.talkedOver(userId);
      },
      ready: () => this.#status === 'ready',
      rejoin: () => this.#status !== 'destroyed' && this.connection.rejoin(),
    });
    this.#playback = new VoicePlayback({
      connection: this.connection,
      clock: options.clock,
      prebufferMs: options.config.playbackPrebufferMs,
      encoder: options.encoderThread.createStream(),
      onFirstPacket: (itemId, sentAt, firstDeltaAt) => this.#onFirstPacket(itemId, sentAt, firstDeltaAt),
      onIdle: () => this.#talk.turns.playbackIdle(),
    });
    this.#addressing = new AddressingGate({
      settings: {
        mode: () => options.room.settings.addressing ?? options.config.defaultAddressing,
        wakeNames: () => options.room.settings.wakeNames ?? [this.#here.channel.guild.members.me?.displayName ?? this.#here.channel.client.user.username],
        followUpMs: () => (options.room.settings.followUpSeconds ?? DEFAULT_FOLLOW_UP_SECONDS) * 1000,
        humansHeard: () => this.#here.channel.members.filter((member) => this.#here.mayHear(member.id)).size,
      },
      logger: this.#log,
      drop: () => this.#talk.turns.stop({ kind: 'notAddressed' }),
    });
    this.#captions = new SessionCaptions({
      channel: () => (this.#here.channel.isSendable() ? this.#here.channel : null),
      room: options.room,
      botId: () => this.#here.channel.client.user.id,
      logger: this.#log,
    });
    this.#talk = new SessionConversation(options.conversation, {
      addressing: this.#addressing,
      captions: this.#captions,
      playback: this.#playback,
      speech: this.#input.speech,
      tools: options.config.tools,
      answerAfterReplyMinMs: options.config.bargeIn.minSpeechMs,
      logger: this.#log,
      displayName: (userId) => this.#here.label(userId),
      channel: () => this.#here.channel,
    });
    this.#talk.on('filler', (event) => this.emit('filler', event));
    this.#talk.on('bargeIn', (event) => {
      this.#input.bargeInHandled();
      this.emit('bargeIn', event);
    });
    this.#talk.on('stopped', (event) => this.emit('replyStopped', event));
    this.#talk.on('answered', (turn) => {
      this.metrics.record(turn.firstAudioAfterSpeechEndMs);
      this.emit('turn', turn);
    });
    this.#here.check();
  }

  /** Current status. */
  get status(): VoiceSessionStatus {
    return this.#status;
  }

  /** The channel the bot is in. */
  get channelId(): string {
    return this.#here.channel.id;
  }

  /** The channel the bot is in, as discord.js knows it. */
  get channel(): VoiceBasedChannel {
    return this.#here.channel;
  }

  /** Display names of the people heard in the last few seconds. */
  get activeSpeakers(): string[] {
    const now = performance.now();
    return this.#input.speech.activeSpeakers(now).map((userId) => this.#here.label(userId));
  }

  /** Playback figures (frames sent, late frames, underruns). */
  get playbackStats() {
    return { ...this.#playback.stats };
  }

  /** The input mixer's counters (frames received, late, overflow… per speaker). */
  get mixerStats() {
    return this.#input.mixerStats;
  }

  /** Each speaker's jitter-buffer delay and loss counters, by speaker label (see inputAudioReport.ts). */
  get inputAudio(): InputAudioReport {
    return inputAudioReport(this.#input.mixerStats, (userId) => this.#here.label(userId));
  }

  /** When the bot leaves because no human is in the channel (Date.now() ms), or null while someone is. */
  get leavesAloneAt(): number | null {
    return this.#here.leavesAloneAt;
  }

  /** Where turn-taking stands (idle, thinking, speaking…). */
  get turnState(): TurnState {
    return this.#talk.turns.state;
  }

  /** The conversation this session talks in. */
  get conversation(): GuildConversation {
    return this.#talk.conversation;
  }

  /** End-to-end encryption (DAVE) state and receive-health counters, for /status and metrics. */
  get receiveHealth() {
    return this.#input.health;
  }

  /** Decryption failures recovered by re-subscribing. */
  get decryptFailures(): number {
    return this.#input.decryptFailures;
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
    await moveConnection(this.connection, this.#here.channel, channel, {
      timeoutMs: this.#options.readyTimeoutMs ?? 20_000,
      logger: this.#log,
      ended: () => this.#status === 'destroyed',
    });
    // Recorded only once the move succeeded: a failed move leaves the session where it was.
    this.#here.moved(channel);
    this.#here.check();
  }

  /**
   * Discord moved the bot to `channel` (a moderator dragged it): the connection follows by itself
   * (@discordjs/voice keeps the channel of the state update and reconnects on the server update), and
   * from now on the session belongs to the new channel: the answer in progress stops (it was for the
   * people left behind), people not in the new channel are no longer heard, and the alone timer and
   * addressing count the new channel's members. `holdInput`: nothing heard reaches the conversation
   * until {@link useConversation} gives the call another one (a wider audience must not feed, or be
   * answered from, the old one).
   */
  followMove(channel: VoiceBasedChannel, options: { holdInput: boolean }): void {
    if (this.#status === 'destroyed' || channel.id === this.#here.channel.id) return;
    this.#log.info({ previousChannelId: this.#here.channel.id, channelId: channel.id }, 'moved to another voice channel by Discord');
    this.#here.moved(channel);
    this.#talk.holdInput(options.holdInput);
    this.#talk.turns.stop({ kind: 'leave' });
    for (const userId of this.#input.userIds) if (!channel.members.has(userId)) this.onVoiceStateChanged(userId, null);
    this.#here.check();
  }

  /** Re-evaluates who is in the channel (call on every voice state update of the guild). */
  onVoiceStateChanged(userId: string, channelId: string | null): void {
    if (channelId !== this.#here.channel.id) {
      this.#input.forget(userId);
    }
    this.#here.check();
  }

  /**
   * Stops hearing anyone the room policy no longer allows (a /privacy opt-out, a role setting): their
   * receive stream is closed at once, so nothing more of them reaches the mixer. Someone allowed
   * again is heard at once, even mid-sentence (see `SpeakerInputs.subscribeTalking`).
   */
  recheckHearing(): void {
    this.#captions.recheck();
    this.#input.recheck();
  }

  /**
   * The bot's own voice state changed: a moderator server-muted it or (in a Stage) left it in the
   * audience. While it may not speak, it starts no spoken reply (nobody would hear it, and each costs)
   * and stops the one in progress; it keeps listening, and answers again once allowed.
   */
  onOwnVoiceState(state: { serverMute: boolean; suppress: boolean; requestedToSpeak?: boolean }): void {
    const audience = state.requestedToSpeak ? 'in the Stage audience, asked to speak' : 'suppressed (in the Stage audience)';
    const silenced = state.serverMute ? 'server-muted' : state.suppress ? audience : null;
    this.#talk.silence(silenced);
  }

  /** Why the bot may not speak here (server-muted, suppressed), or null. */
  get silenced(): string | null {
    return this.#talk.silenced;
  }

  /** Stops talking at once (the pending answer is cancelled, what was heard is kept): barge-in, /leave. */
  stopReply(reason: StopReason): void {
    this.#talk.turns.stop(reason);
  }

  /** Asks the model to speak now, outside a user turn (see {@link TurnTaking.requestReply}); returns the request. */
  requestReply(options: { instructions?: string } = {}): ResponseHandle {
    return this.#talk.turns.requestReply(options);
  }

  /**
   * Says something once the answer in progress (if any) is over, without cutting it: a notice such as
   * the spend limit being reached. `instructions` tell the model what to say.
   */
  announce(instructions: string): void {
    this.#talk.announce(instructions);
  }

  /**
   * Talks in another conversation from now on (the guild's previous one failed and a fresh one
   * replaced it): any answer in progress is dropped and turn-taking starts afresh.
   */
  useConversation(conversation: GuildConversation): void {
    this.#talk.use(conversation);
  }

  /** Leaves the channel and releases everything. Safe to call twice. */
  destroy(reason: string): void {
    if (this.#status === 'destroyed') return;
    this.#setStatus('destroyed');
    this.#here.stop();
    this.#talk.close();
    this.#addressing.destroy();
    this.#captions.destroy();
    this.#input.destroy();
    this.#playback.destroy();
    if (this.connection.state.status !== VoiceConnectionStatus.Destroyed) this.connection.destroy();
    this.#log.info({ reason }, 'left voice channel');
    this.emit('destroyed', reason);
  }

  /** The addressing mode in effect now (`auto` resolved by how many people are heard) and its decisions so far. */
  get addressing(): { mode: 'always' | 'name'; addressed: number; notAddressed: number } {
    return { mode: this.#addressing.effectiveMode, ...this.#addressing.counts };
  }

  #onFirstPacket(itemId: string, sentAt: number, firstDeltaAt: number): void {
    this.#captions.replyStarted(itemId);
    this.emit('replyStarted', { itemId, firstDeltaToPacketMs: sentAt - firstDeltaAt });
    this.#talk.turns.firstPacket(sentAt);
  }

  #setStatus(next: VoiceSessionStatus): void {
    if (next === this.#status) return;
    const previous = this.#status;
    this.#status = next;
    this.emit('stateChange', previous, next);
  }
}
