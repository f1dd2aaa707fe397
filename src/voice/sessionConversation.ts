import { EventEmitter } from 'node:events';
import type { VoiceBasedChannel } from 'discord.js';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { ResponseResult } from '../realtime/index.ts';
import type { AddressingGate } from './addressing.ts';
import type { SessionCaptions } from './sessionCaptions.ts';
import { attachTurnTaking } from './conversationTurns.ts';
import type { GuildConversation } from './guildConversation.ts';
import type { SpeechActivity } from './speechActivity.ts';
import type { TurnPlayback, TurnTaking, TurnTakingEvents } from './turnTaking.ts';
import type { InputSink } from './voiceInput.ts';
import type { VoiceToolsEvents } from './voiceTools.ts';

/** Events of a {@link SessionConversation}: its turn-taking's and tools', whichever conversation is current. */
export interface SessionConversationEvents {
  bargeIn: TurnTakingEvents['bargeIn'];
  answered: TurnTakingEvents['answered'];
  stopped: TurnTakingEvents['stopped'];
  filler: VoiceToolsEvents['filler'];
}

/** What a voice session lends its conversation. */
export interface SessionConversationOptions {
  /** Sees every committed turn and transcript first, and decides which answers are played. */
  addressing: AddressingGate;
  captions: SessionCaptions;
  playback: TurnPlayback;
  /** The session's speech activity: how long the turn was voiced, when speech ended. */
  speech: SpeechActivity;
  tools: Config['tools'];
  /** A turn finished during a reply, and that lasted at least this long, is answered after the reply. */
  answerAfterReplyMinMs: number;
  logger: Logger;
  /** A person's speaker label. */
  displayName(userId: string): string;
  /** The channel the session is in now (tools act there). */
  channel(): VoiceBasedChannel;
}

/**
 * The conversation a voice session talks in and the turn-taking on it. When the guild's conversation
 * is replaced, {@link use} detaches every listener from the old one and starts turn-taking afresh
 * on the new one, so nothing of the old one can reach the channel; the events stay this object's.
 */
export class SessionConversation extends EventEmitter<SessionConversationEvents> {
  readonly #options: SessionConversationOptions;
  #conversation: GuildConversation;
  #turns: TurnTaking;
  #detach: () => void;
  #closed = false;
  /** Heard audio is not fed to the conversation: dragged to a wider audience, until the call's fresh conversation is in place. */
  #inputHeld = false;
  /** Why the bot may not speak (server-muted, in a Stage's audience), or null. */
  #silenced: string | null = null;

  constructor(conversation: GuildConversation, options: SessionConversationOptions) {
    super();
    this.#options = options;
    this.#conversation = conversation;
    [this.#turns, this.#detach] = this.#attach(conversation);
  }

  /** The conversation talked in now. */
  get conversation(): GuildConversation {
    return this.#conversation;
  }

  /** Turn-taking with the current conversation (a new one when the conversation is replaced). */
  get turns(): TurnTaking {
    return this.#turns;
  }

  /** Talks in `conversation` from now on: any answer in progress is dropped and turn-taking starts afresh. */
  use(conversation: GuildConversation): void {
    this.#inputHeld = false;
    if (conversation === this.#conversation) return;
    this.#turns.stop({ kind: 'conversationChanged' });
    this.#detach();
    this.#conversation = conversation;
    [this.#turns, this.#detach] = this.#attach(conversation);
  }

  /** `held`: heard audio is dropped until {@link use} gives the call a conversation (a wider audience must not feed the old one). */
  holdInput(held: boolean): void {
    this.#inputHeld = held;
  }

  /** Where heard audio goes now, or null to drop it. */
  inputSink(): InputSink | null {
    if (this.#inputHeld) return null; // heard in a channel whose conversation is not in place yet
    if (this.#conversation.state !== 'ready') return null;
    if (!this.#conversation.mayRespond()) return null; // paused by the spend limit: nothing is sent, nothing is billed
    return this.#conversation.realtime;
  }

  /** Why the bot may not speak now, or null. */
  get silenced(): string | null {
    return this.#silenced;
  }

  /**
   * The bot may not speak (`reason`) or may again (null). While silenced it starts no spoken reply
   * (nobody would hear it, and each costs) and stops the one in progress; it keeps listening.
   */
  silence(reason: string | null): void {
    if (reason === this.#silenced) return;
    this.#silenced = reason;
    this.#options.logger.info({ silenced: reason }, reason ? 'cannot speak: spoken replies paused' : 'may speak again');
    if (reason) this.#turns.stop({ kind: 'silenced' });
  }

  /** Says something once the answer in progress (if any) is over, without cutting it. */
  announce(instructions: string): void {
    const turns = this.#turns;
    const speakWhenFree = () => {
      if (this.#closed || turns !== this.#turns) return; // left, or another conversation: dropped
      if (turns.busy || turns.state.status === 'interrupted') turns.once('stateChange', speakWhenFree);
      else turns.requestReply({ instructions });
    };
    speakWhenFree();
  }

  /** Detaches from the conversation for good (the session left). */
  close(): void {
    this.#closed = true;
    this.#detach();
  }

  /** Turn-taking on `conversation`'s realtime client; its events become this object's. */
  #attach(conversation: GuildConversation): [TurnTaking, () => void] {
    const { addressing, captions } = this.#options;
    // Registered before turn-taking's listeners: the gate knows of a turn before an answer is asked for it.
    const onCommitted = ({ itemId, contributors }: { itemId: string; contributors: string[] }) => {
      const speakers = [...new Set(contributors)];
      addressing.committed(itemId, speakers);
      // Opted-out members are never heard, so never in a turn; checked again here all the same.
      captions.committed(itemId, speakers);
    };
    const onTranscript = ({ itemId, text }: { itemId: string; text: string }) => {
      addressing.transcript(itemId, text);
      captions.transcript(itemId, text);
    };
    const onResponseDone = (result: ResponseResult) => captions.answerDone(result);
    const onTranscriptDelta = ({ itemId, delta }: { itemId: string; delta: string }) => addressing.transcriptDelta(itemId, delta);
    conversation.realtime.on('input_transcript_delta', onTranscriptDelta);
    conversation.realtime.on('input_committed', onCommitted);
    conversation.realtime.on('input_transcript', onTranscript);
    conversation.realtime.on('response_done', onResponseDone);
    const { filler, fillerAfterMs } = this.#options.tools;
    const runner = conversation.tools?.runner ?? null;
    const { speech, displayName, channel } = this.#options;
    const { turns, tools, detach: detachTurns } = attachTurnTaking(conversation.realtime, {
      wrapModel: (model) => addressing.model(model),
      playback: addressing.playback(this.#options.playback),
      logger: this.#options.logger,
      answerAfterReplyMinMs: this.#options.answerAfterReplyMinMs,
      mayRespond: () => conversation.mayRespond(), // the spend limit
      silenced: () => this.#silenced,
      turnOf: (contributorIds) => {
        const voicedMs = speech.takeVoicedMs();
        const speakerIds = [...new Set(contributorIds)];
        return { speechEndAt: speech.lastVoicedAt, speakers: speakerIds.map((id) => displayName(id)), speakerIds, voicedMs };
      },
      // Tools an answer calls act for the speakers of its turn, in the channel they spoke in.
      tools: runner && {
        runner,
        filler,
        fillerAfterMs,
        requester: (turn) => (turn.speakerIds.length > 0 ? { guild: channel().guild, userIds: turn.speakerIds, via: 'voice', channelId: channel().id } : null),
      },
    });
    tools?.on('filler', (event) => this.emit('filler', event));
    turns.on('bargeIn', (event) => this.emit('bargeIn', event));
    turns.on('stopped', (event) => {
      captions.replyStopped(event.itemId, event.playedMs); // the caption keeps what was heard
      this.emit('stopped', event);
    });
    turns.on('stateChange', (previous, next) => {
      if (previous.status === 'speaking' && next.status === 'idle') addressing.replyEnded();
    });
    const detach = () => {
      conversation.realtime.off('input_committed', onCommitted);
      conversation.realtime.off('input_transcript', onTranscript);
      conversation.realtime.off('response_done', onResponseDone);
      conversation.realtime.off('input_transcript_delta', onTranscriptDelta);
      detachTurns();
    };
    turns.on('answered', (turn) => this.emit('answered', turn));
    return [turns, detach];
  }
}
