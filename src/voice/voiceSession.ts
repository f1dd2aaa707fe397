import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import {
  VoiceConnectionStatus,
  entersState,
  joinVoiceChannel,
  type VoiceConnection,
  type VoiceConnectionState,
} from '@discordjs/voice';
import type { VoiceBasedChannel } from 'discord.js';
import type { Logger } from 'pino';
import type { FrameClock, OpusEncoderThread } from '../audio/index.ts';
import type { Config } from '../config.ts';
import type { ResponseHandle, ResponseResult } from '../realtime/index.ts';
import { guardReceiver } from './receiverGuard.ts';
import type { GuildConversation } from './guildConversation.ts';
import { attachTurnTaking } from './conversationTurns.ts';
import { recoverDisconnected } from './voiceRecovery.ts';
import { speakerLabel, toSpeakerLabel } from './speakerLabels.ts';
import { TurnMetrics } from './turnMetrics.ts';
import type { StopReason, TurnState, TurnTaking } from './turnTaking.ts';
import { AloneWatch } from './aloneWatch.ts';
import type { RoomPolicy } from './roomPolicy.ts';
import { AddressingGate, DEFAULT_FOLLOW_UP_SECONDS } from './addressing.ts';
import { SessionCaptions } from './captions.ts';
import { inputAudioReport, type InputAudioReport } from './inputAudioReport.ts';
import { VoiceInput, type InputSink } from './voiceInput.ts';
import { VoicePlayback } from './voicePlayback.ts';
import { waitForMove } from './voiceMove.ts';

/** Where a voice session stands. */
export type VoiceSessionStatus = 'connecting' | 'ready' | 'reconnecting' | 'destroyed';

/** Events of a {@link VoiceSession}. */
export interface VoiceSessionEvents {
  stateChange: [previous: VoiceSessionStatus, next: VoiceSessionStatus];
  /** A person interrupted the bot; `playedMs` is what the item was truncated to. */
  bargeIn: [{ itemId: string | null; playedMs: number | null; userId: string }];
  /** A voice turn was answered; latency from the end of speech to the first packet sent. */
  turn: [{ speakers: string[]; firstAudioAfterSpeechEndMs: number }];
  /** The bot stopped talking before the end of a reply: barge-in, /leave, a replaced conversation. */
  replyStopped: [{ reason: StopReason; itemId: string | null; playedMs: number | null }];
  /** A reply item started playing; `firstDeltaToPacketMs` is the delay playback added (pre-buffer, encoding). */
  replyStarted: [{ itemId: string; firstDeltaToPacketMs: number }];
  /** A tool ran long and a filler began ("one moment…" or a cue); `calledAt` is when the tool was called. */
  filler: [{ mode: 'speech' | 'cue'; calledAt: number; at: number }];
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
  /** The server's room choices: who may be heard (opted-out members and unheard roles never are). */
  room: RoomPolicy;
}

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
  #conversation: GuildConversation;
  /** Turn-taking with the current conversation (a new one when the conversation is replaced). */
  #turns: TurnTaking;
  /** Input is not fed to the conversation: dragged to a wider audience, until the call's fresh conversation is in place. */
  #inputHeld = false;
  /** Why the bot may not speak (see onOwnVoiceState), or null. */
  #silenced: string | null = null;
  #detachConversation: () => void;
  #channel: VoiceBasedChannel;
  #status: VoiceSessionStatus = 'connecting';
  readonly #alone: AloneWatch;
  /** Answers only turns addressed to the bot, per the server's addressing mode (see addressing.ts). */
  readonly #addressing: AddressingGate;
  /** Captions in the channel's chat when the server turned them on (see captions.ts). */
  readonly #captions: SessionCaptions;

  constructor(options: VoiceSessionOptions) {
    super();
    this.#options = options;
    this.#channel = options.channel;
    this.guildId = options.channel.guild.id;
    this.#log = options.logger.child({ component: 'voice' });
    this.#alone = new AloneWatch(options.config.aloneTimeoutMs, () => this.destroy('alone in the channel'));
    this.connection = joinVoiceChannel({
      channelId: options.channel.id,
      guildId: this.guildId,
      adapterCreator: options.channel.guild.voiceAdapterCreator,
      selfDeaf: false, // a bot that must hear cannot be deafened
      selfMute: false,
    });
    guardReceiver(this.connection, (error) => {
      this.#log.debug({ err: error instanceof Error ? error.message : String(error) }, 'malformed voice datagram dropped');
    });
    this.connection.on('stateChange', (previous, next) => this.#onConnectionState(previous, next));
    this.connection.on('error', (error) => this.#log.warn({ err: error.message }, 'voice connection error'));
    this.#input = new VoiceInput({
      connection: this.connection,
      clock: options.clock,
      bargeIn: options.config.bargeIn,
      logger: this.#log,
      mayHear: (userId) => this.#mayHear(userId),
      sink: () => this.#inputSink(),
      // In `name` mode only the people being answered interrupt: others chatting nearby do not.
      talkedOver: (userId) => {
        if (this.#addressing.mayInterrupt(userId)) this.#turns.talkedOver(userId);
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
      onIdle: () => this.#turns.playbackIdle(),
    });
    this.#addressing = new AddressingGate({
      settings: {
        mode: () => options.room.settings.addressing ?? options.config.defaultAddressing,
        wakeNames: () => options.room.settings.wakeNames ?? [this.#channel.guild.members.me?.displayName ?? this.#channel.client.user.username],
        followUpMs: () => (options.room.settings.followUpSeconds ?? DEFAULT_FOLLOW_UP_SECONDS) * 1000,
        humansHeard: () => this.#channel.members.filter((member) => this.#mayHear(member.id)).size,
      },
      logger: this.#log,
      drop: () => this.#turns.stop({ kind: 'notAddressed' }),
    });
    this.#captions = new SessionCaptions({
      channel: () => (this.#channel.isSendable() ? this.#channel : null),
      room: options.room,
      botId: () => this.#channel.client.user.id,
      logger: this.#log,
    });
    this.#conversation = options.conversation;
    [this.#turns, this.#detachConversation] = this.#attachConversation(options.conversation);
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

  /** The channel the bot is in, as discord.js knows it. */
  get channel(): VoiceBasedChannel {
    return this.#channel;
  }

  /** Display names of the people heard in the last few seconds. */
  get activeSpeakers(): string[] {
    const now = performance.now();
    return this.#input.speech.activeSpeakers(now).map((userId) => this.#displayName(userId));
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
    return inputAudioReport(this.#input.mixerStats, (userId) => this.#displayName(userId));
  }

  /** When the bot leaves because no human is in the channel (Date.now() ms), or null while someone is. */
  get leavesAloneAt(): number | null {
    return this.#alone.leavesAt;
  }

  /** Where turn-taking stands (idle, thinking, speaking…). */
  get turnState(): TurnState {
    return this.#turns.state;
  }

  /** The conversation this session talks in. */
  get conversation(): GuildConversation {
    return this.#conversation;
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
    const previous = this.#channel;
    this.connection.rejoin({ channelId: channel.id, selfDeaf: false, selfMute: false });
    try {
      await waitForMove(this.connection, channel, this.#options.readyTimeoutMs ?? 20_000);
    } catch (error) {
      // Discord did not let the bot in: it is still where it was, so the connection goes back there.
      this.#log.warn({ channelId: channel.id, previousChannelId: previous.id }, 'move failed; staying in the previous channel');
      if (this.#status !== 'destroyed') this.connection.rejoin({ channelId: previous.id, selfDeaf: false, selfMute: false });
      throw error;
    }
    // Recorded only once the move succeeded: a failed move leaves the session where it was.
    this.#channel = channel;
    this.#checkAlone();
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
    if (this.#status === 'destroyed' || channel.id === this.#channel.id) return;
    this.#log.info({ previousChannelId: this.#channel.id, channelId: channel.id }, 'moved to another voice channel by Discord');
    this.#channel = channel;
    this.#inputHeld = options.holdInput;
    this.#turns.stop({ kind: 'leave' });
    for (const userId of this.#input.userIds) if (!channel.members.has(userId)) this.onVoiceStateChanged(userId, null);
    this.#checkAlone();
  }

  /** Re-evaluates who is in the channel (call on every voice state update of the guild). */
  onVoiceStateChanged(userId: string, channelId: string | null): void {
    if (channelId !== this.#channel.id) {
      this.#input.forget(userId);
    }
    this.#checkAlone();
  }

  /**
   * Stops hearing anyone the room policy no longer allows (a /privacy opt-out, a role setting): their
   * receive stream is closed at once, so nothing more of them reaches the mixer. Someone allowed
   * again is heard from the next time they speak.
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
    if (silenced === this.#silenced) return;
    this.#silenced = silenced;
    this.#log.info({ silenced }, silenced ? 'cannot speak: spoken replies paused' : 'may speak again');
    if (silenced) this.#turns.stop({ kind: 'silenced' });
  }

  /** Why the bot may not speak here (server-muted, suppressed), or null. */
  get silenced(): string | null {
    return this.#silenced;
  }

  /** Stops talking at once (the pending answer is cancelled, what was heard is kept): barge-in, /leave. */
  stopReply(reason: StopReason): void {
    this.#turns.stop(reason);
  }

  /** Asks the model to speak now, outside a user turn (see {@link TurnTaking.requestReply}); returns the request. */
  requestReply(options: { instructions?: string } = {}): ResponseHandle {
    return this.#turns.requestReply(options);
  }

  /**
   * Says something once the answer in progress (if any) is over, without cutting it: a notice such as
   * the spend limit being reached. `instructions` tell the model what to say.
   */
  announce(instructions: string): void {
    const turns = this.#turns;
    const speakWhenFree = () => {
      if (this.#status === 'destroyed' || turns !== this.#turns) return; // left, or another conversation: dropped
      if (turns.busy || turns.state.status === 'interrupted') turns.once('stateChange', speakWhenFree);
      else turns.requestReply({ instructions });
    };
    speakWhenFree();
  }

  /**
   * Talks in another conversation from now on (the guild's previous one failed and a fresh one
   * replaced it): any answer in progress is dropped and turn-taking starts afresh.
   */
  useConversation(conversation: GuildConversation): void {
    this.#inputHeld = false;
    if (conversation === this.#conversation) return;
    this.#turns.stop({ kind: 'conversationChanged' });
    this.#detachConversation();
    this.#conversation = conversation;
    [this.#turns, this.#detachConversation] = this.#attachConversation(conversation);
  }

  /** Leaves the channel and releases everything. Safe to call twice. */
  destroy(reason: string): void {
    if (this.#status === 'destroyed') return;
    this.#setStatus('destroyed');
    this.#alone.stop();
    this.#detachConversation();
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

  /** Turn-taking on `conversation`'s realtime client; its events become this session's. */
  #attachConversation(conversation: GuildConversation): [TurnTaking, () => void] {
    // Registered before turn-taking's listeners: the gate knows of a turn before an answer is asked for it.
    const onCommitted = ({ itemId, contributors }: { itemId: string; contributors: string[] }) => {
      const speakers = [...new Set(contributors)];
      this.#addressing.committed(itemId, speakers);
      // Opted-out members are never heard, so never in a turn; checked again here all the same.
      this.#captions.committed(itemId, speakers);
    };
    const onTranscript = ({ itemId, text }: { itemId: string; text: string }) => {
      this.#addressing.transcript(itemId, text);
      this.#captions.transcript(itemId, text);
    };
    const onResponseDone = (result: ResponseResult) => this.#captions.answerDone(result);
    const onTranscriptDelta = ({ itemId, delta }: { itemId: string; delta: string }) => this.#addressing.transcriptDelta(itemId, delta);
    conversation.realtime.on('input_transcript_delta', onTranscriptDelta);
    conversation.realtime.on('input_committed', onCommitted);
    conversation.realtime.on('input_transcript', onTranscript);
    conversation.realtime.on('response_done', onResponseDone);
    const { filler, fillerAfterMs } = this.#options.config.tools;
    const runner = conversation.tools?.runner ?? null;
    const { turns, tools, detach: detachTurns } = attachTurnTaking(conversation.realtime, {
      wrapModel: (model) => this.#addressing.model(model),
      playback: this.#addressing.playback(this.#playback),
      logger: this.#log,
      answerAfterReplyMinMs: this.#options.config.bargeIn.minSpeechMs,
      mayRespond: () => conversation.mayRespond(), // the spend limit
      silenced: () => this.#silenced,
      turnOf: (contributorIds) => {
        const voicedMs = this.#input.speech.takeVoicedMs();
        const speakerIds = [...new Set(contributorIds)];
        return { speechEndAt: this.#input.speech.lastVoicedAt, speakers: speakerIds.map((id) => this.#displayName(id)), speakerIds, voicedMs };
      },
      // Tools an answer calls act for the speakers of its turn, in the channel they spoke in.
      tools: runner && {
        runner,
        filler,
        fillerAfterMs,
        requester: (turn) => (turn.speakerIds.length > 0 ? { guild: this.#channel.guild, userIds: turn.speakerIds, via: 'voice', channelId: this.#channel.id } : null),
      },
    });
    tools?.on('filler', (event) => this.emit('filler', event));
    turns.on('bargeIn', (event) => {
      this.#input.bargeInHandled();
      this.emit('bargeIn', event);
    });
    turns.on('stopped', (event) => this.emit('replyStopped', event));
    turns.on('stateChange', (previous, next) => {
      if (previous.status === 'speaking' && next.status === 'idle') this.#addressing.replyEnded();
    });
    const detach = () => {
      conversation.realtime.off('input_committed', onCommitted);
      conversation.realtime.off('input_transcript', onTranscript);
      conversation.realtime.off('response_done', onResponseDone);
      conversation.realtime.off('input_transcript_delta', onTranscriptDelta);
      detachTurns();
    };
    turns.on('answered', (turn) => {
      this.metrics.record(turn.firstAudioAfterSpeechEndMs);
      this.emit('turn', turn);
    });
    return [turns, detach];
  }

  /** Where heard audio goes now, or null to drop it. */
  #inputSink(): InputSink | null {
    if (this.#inputHeld) return null; // heard in a channel whose conversation is not in place yet
    if (this.#conversation.state !== 'ready') return null;
    if (!this.#conversation.mayRespond()) return null; // paused by the spend limit: nothing is sent, nothing is billed
    return this.#conversation.realtime;
  }

  #onFirstPacket(itemId: string, sentAt: number, firstDeltaAt: number): void {
    this.#captions.replyStarted(itemId);
    this.emit('replyStarted', { itemId, firstDeltaToPacketMs: sentAt - firstDeltaAt });
    this.#turns.firstPacket(sentAt);
  }

  /** A human whose voice the room policy lets reach the model (checked at every new receive subscription). */
  #mayHear(userId: string): boolean {
    const member = this.#channel.guild.members.cache.get(userId);
    return member !== undefined && this.#options.room.hears({ id: userId, bot: member.user.bot, roleIds: [...member.roles.cache.keys()] });
  }

  /** A person's speaker label (see speakerLabels.ts). */
  #displayName(userId: string): string {
    const members = this.#channel.guild.members.cache;
    const member = members.get(userId);
    return member ? speakerLabel(member, members.values()) : toSpeakerLabel(`user ${userId}`);
  }

  #checkAlone(): void {
    if (this.#status === 'destroyed') return;
    this.#alone.update(this.#channel.members.some((member) => !member.user.bot));
  }

  async #onConnectionState(previous: VoiceConnectionState, next: VoiceConnectionState): Promise<void> {
    if (next.status === VoiceConnectionStatus.Ready) this.#setStatus('ready');
    else if (next.status === VoiceConnectionStatus.Destroyed) this.destroy('voice connection destroyed');
    else if (next.status === VoiceConnectionStatus.Disconnected && previous.status !== VoiceConnectionStatus.Disconnected) {
      this.#setStatus('reconnecting');
      await recoverDisconnected(this.connection, next, { destroyed: () => this.#status === 'destroyed', destroy: (reason) => this.destroy(reason) });
    }
  }

  #setStatus(next: VoiceSessionStatus): void {
    if (next === this.#status) return;
    const previous = this.#status;
    this.#status = next;
    this.emit('stateChange', previous, next);
  }
}
