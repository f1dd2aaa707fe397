/**
 * Turn-taking in a voice channel: when the bot asks the model for an answer, what it plays, and when
 * it stops. One owner for the pending request, the reply being played and the rules, as an explicit
 * state machine:
 *
 *   idle ─speech─► userSpeaking ─turn committed─► thinking{request} ─first audio─► speaking{request, item}
 *     ▲                                              │  ▲ turn committed: cancel, ask once for all   │
 *     │                                              │  └───────────────────────────────────────────┤ (reply done and played out → idle)
 *     │                                 talked over: │                                               │ talked over:
 *     │                                              ▼                                               ▼
 *     └──────── cancelled response done ──── interrupted{cancelled} ◄──────── stop, cancel, truncate ┘
 *
 * Tools: a reply that ends with tool calls (the answer goes on once their results are in) waits in
 * `waitingForTools{request, filler}` — still busy, so talking over it stops it — where a filler ("one
 * moment…") may play; the follow-up response then becomes the request (`continueWith`), or, if there
 * is none, the bot goes idle (`toolsEnded`).
 *
 * The rules:
 * - A finished turn while the model is still thinking cancels the pending response and asks once for
 *   the whole turn: the bot never plays two answers to one turn.
 * - Talking over the bot counts as barge-in while it is thinking exactly as while it is speaking.
 * - A turn finished while the bot speaks without interrupting it (too short or quiet for the barge-in
 *   gate) is answered after the reply when it lasted at least `answerAfterReplyMinMs`; shorter ones
 *   (a cough, "uh-huh") stay in the conversation as context. Nothing someone said is dropped silently.
 * - Audio of any response but the current request's never plays (a cancelled or stale reply).
 * - What was heard of an interrupted reply is counted once, in whole milliseconds, here.
 */
import { EventEmitter } from 'node:events';
import type { CreateResponseOptions, ResponseHandle, ResponseResult } from '../realtime/index.ts';
import { AsidePlayback } from './asidePlayback.ts';
import { TurnLabels } from './turnLabels.ts';
import { callsTools, mergeTurns, NO_TURN, type PendingTurn, type SpeakerLabel, type StopReason, type TurnState, type TurnTakingEvents, type TurnTakingOptions } from './turnTypes.ts';

export type { PendingTurn, SpeakerLabel, StopReason, TurnModel, TurnPlayback, TurnState, TurnTakingEvents, TurnTakingOptions } from './turnTypes.ts';

/** The turn-taking state machine of one voice session. */
export class TurnTaking extends EventEmitter<TurnTakingEvents> {
  readonly #options: TurnTakingOptions;
  readonly #labels: TurnLabels;
  #state: TurnState = { status: 'idle' };
  /** A long enough turn finished while the bot was speaking: answered when the reply is over. */
  #heardDuringReply: PendingTurn | null = null;
  /** Items played that are not in the conversation (fillers, cues): never truncated. Emptied when idle. */
  readonly #asides: AsidePlayback;

  constructor(options: TurnTakingOptions, label: SpeakerLabel) {
    super();
    this.#options = options;
    this.#labels = new TurnLabels(options.model, label);
    this.#asides = new AsidePlayback(options.playback);
  }

  /** The current state. */
  get state(): TurnState {
    return this.#state;
  }

  /** Whether the bot has an answer in progress (asked for, or playing): talking over it interrupts it. */
  get busy(): boolean {
    const { status } = this.#state;
    return status === 'thinking' || status === 'speaking' || status === 'waitingForTools';
  }

  /** Whether `request` is the answer in progress (a follow-up after its tools may go on with it). */
  answering(request: ResponseHandle): boolean {
    return this.busy && (this.#state as { request: ResponseHandle }).request === request;
  }

  /** The server heard speech start. */
  speechStarted(): void {
    if (this.#state.status === 'idle') this.#set({ status: 'userSpeaking' });
  }

  /** The server heard speech stop (a commit normally follows). */
  speechStopped(): void {
    if (this.#state.status === 'userSpeaking') this.#set({ status: 'idle' });
  }

  /**
   * A user turn was committed (the server's VAD found its end). Asks for an answer, or — while the
   * model is still thinking about the previous part — cancels that request and asks once for all of it.
   */
  turnCommitted(turn: PendingTurn): void {
    const silenced = this.#options.silenced?.() ?? null;
    if (silenced !== null) {
      this.#labels.add(turn.speakers);
      this.#options.logger.debug({ silenced }, 'turn kept as context, not answered: the bot cannot speak here');
      return;
    }
    const state = this.#state;
    if (state.status !== 'speaking' && !this.#mayRespond()) {
      // Paused (spend limit): the turn stays in the conversation as context, unanswered.
      this.#options.logger.debug('turn not answered: responses are paused');
      if (state.status === 'userSpeaking') this.#set({ status: 'idle' });
      return;
    }
    switch (state.status) {
      case 'idle':
      case 'userSpeaking':
      case 'interrupted':
        this.#ask(turn);
        return;
      case 'thinking': {
        // The person went on after a pause: the answer being prepared covers only the first part.
        // The new request is made first, so the state never passes through idle; then the old one goes.
        const merged = mergeTurns(state.turn, turn);
        this.#options.logger.debug({ speakers: merged.speakers.length }, 'turn continued while the model was thinking: asking once for the whole turn');
        this.#ask(merged, turn.speakers);
        state.request.cancel();
        return;
      }
      case 'speaking':
      case 'waitingForTools':
        // Not loud or long enough to interrupt (the gate let it pass). A real sentence is answered
        // after the reply; a cough or "uh-huh" stays in the conversation as context.
        if (turn.voicedMs >= this.#options.answerAfterReplyMinMs) {
          const earlier = this.#heardDuringReply;
          this.#heardDuringReply = earlier ? mergeTurns(earlier, turn) : turn;
        } else {
          this.#options.logger.debug({ voicedMs: turn.voicedMs }, 'short sound while the bot was speaking kept as context, not answered');
        }
        return;
    }
  }

  /**
   * Asks the model to speak now, outside a user turn (what it says comes from the conversation: a
   * greeting, a tool's result, a text added just before). An answer in progress is stopped first:
   * every spoken reply goes through here or {@link turnCommitted}, so there is only ever one.
   */
  requestReply(options: Pick<CreateResponseOptions, 'instructions'> = {}): ResponseHandle {
    this.stop({ kind: 'replaced' });
    this.#heardDuringReply = null;
    // No speech ended this turn: no latency is reported for it.
    return this.#ask(NO_TURN, [], options);
  }

  /** Someone is talking over the bot (the barge-in gate opened): stops the answer if there is one. */
  talkedOver(userId: string): boolean {
    if (!this.busy) return false;
    this.stop({ kind: 'bargeIn', userId });
    return true;
  }

  /** Stops any answer now: the pending request is cancelled, playback emptied, the item truncated to what was heard. */
  stop(reason: StopReason): void {
    const state = this.#state;
    if (state.status !== 'thinking' && state.status !== 'speaking' && state.status !== 'waitingForTools') return;
    // While tools run, what plays is the filler: it is what gets cancelled (the request is over).
    const request = state.status === 'waitingForTools' ? (state.filler ?? state.request) : state.request;
    const stopped = this.#options.playback.stop();
    // The one place the played time is rounded: the truncation and the event use the same number.
    const playedMs = stopped ? Math.floor(stopped.playedMs) : null;
    // A filler is not in the conversation (out of band, or a local cue): nothing to truncate there.
    const truncate = stopped !== null && playedMs !== null && !this.#asides.has(stopped.itemId);
    this.#heardDuringReply = null;
    // The state moves first: cancelling a request still queued settles it (response_done) at once.
    this.#set({ status: 'interrupted', cancelled: request });
    request.cancel();
    if (state.status === 'thinking' && state.filler && !state.filler.settled) state.filler.cancel();
    if (truncate) this.#options.model.truncate(stopped.itemId, playedMs);
    if (request.settled) this.#leaveInterrupted(request);
    this.#options.logger.info({ reason: reason.kind, itemId: stopped?.itemId, playedMs }, 'reply stopped');
    this.emit('stopped', { reason, itemId: stopped?.itemId ?? null, playedMs });
    if (reason.kind === 'bargeIn') this.emit('bargeIn', { itemId: stopped?.itemId ?? null, playedMs, userId: reason.userId });
  }

  /** Reply audio arrived. Plays it only if it belongs to the current request. */
  audio(responseId: string, itemId: string, pcm: Buffer): void {
    const state = this.#state;
    if (state.status === 'waitingForTools') {
      // The filler plays while the tools run; the state stays until the follow-up comes.
      if (state.filler?.responseId === responseId) this.#asides.play(itemId, pcm);
      return;
    }
    if (state.status === 'thinking' && state.filler && state.filler.responseId === responseId) {
      // The rest of a filler that began while the tools ran: it plays out before the follow-up.
      this.#asides.play(itemId, pcm);
      return;
    }
    if ((state.status !== 'thinking' && state.status !== 'speaking') || state.request.responseId !== responseId) return;
    if (state.status === 'thinking') {
      this.#labels.answered();
      this.#set({ status: 'speaking', request: state.request, itemId, turn: state.turn, replyDone: false });
    }
    else if (state.itemId !== itemId) this.#set({ ...state, itemId });
    this.#options.playback.push(itemId, pcm);
  }

  /**
   * Plays a sound that is not part of the conversation (a cue while tools run) as one whole item;
   * talking over it stops it like a reply, without truncating anything in the conversation.
   */
  playCue(itemId: string, pcm: Buffer): void {
    if (this.#state.status !== 'waitingForTools') return;
    this.#asides.play(itemId, pcm);
    this.#options.playback.endItem(itemId);
  }

  /** An item of a response has all its audio. */
  audioDone(responseId: string, itemId: string): void {
    const state = this.#state;
    if (state.status === 'speaking' && state.request.responseId === responseId) this.#options.playback.endItem(itemId);
    if ((state.status === 'waitingForTools' || state.status === 'thinking') && state.filler?.responseId === responseId) this.#options.playback.endItem(itemId);
  }

  /** A response finished (any status): the current request's end, or a cancelled one's. */
  responseDone(result: ResponseResult): void {
    const state = this.#state;
    // Which response ended is told by the handles (a response that never started has no id).
    if (state.status === 'interrupted') {
      if (state.cancelled.settled) this.#leaveInterrupted(state.cancelled);
      return;
    }
    if (state.status === 'thinking' && state.request.settled) {
      if (callsTools(result)) return this.#set({ status: 'waitingForTools', request: state.request, turn: state.turn, filler: null });
      // No audio came (failed, cancelled by the service, or a text-only answer).
      if (result.status !== 'completed') this.#options.logger.info({ status: result.status, reason: result.reason }, 'voice answer ended without audio');
      this.#set({ status: 'idle' });
      this.#answerHeardDuringReply();
      return;
    }
    if (state.status === 'speaking' && state.request.settled && !state.replyDone) {
      // A reply cut short (socket dropped, failed) never gets audio_done: end its items so what was
      // received plays out and the next reply is not queued behind an item that never ends.
      for (const itemId of result.itemIds) this.#options.playback.endItem(itemId);
      this.#set({ ...state, replyDone: true, toolsPending: callsTools(result) });
      if (!this.#options.playback.isPlaying) this.playbackIdle();
      return;
    }
    if (state.status === 'waitingForTools' && state.filler?.settled) {
      for (const itemId of result.itemIds) this.#options.playback.endItem(itemId);
    }
  }

  /**
   * A filler began while the tools of `request` run. Returns false (the caller drops it) when the
   * answer is no longer waiting for them.
   */
  fillerStarted(request: ResponseHandle, filler: ResponseHandle): boolean {
    const state = this.#state;
    if (state.status !== 'waitingForTools' || state.request !== request || state.filler) return false;
    this.#set({ ...state, filler });
    return true;
  }

  /**
   * The answer to `from` goes on in `next` after its tools. Returns false (the caller cancels `next`)
   * when the answer was stopped or replaced meanwhile.
   */
  continueWith(from: ResponseHandle, next: ResponseHandle): boolean {
    const state = this.#state;
    if (!this.answering(from)) return false;
    if (state.status === 'speaking') {
      // The first part still plays: the follow-up's audio queues behind it.
      this.#set({ ...state, request: next, replyDone: false, toolsPending: false });
    } else if (state.status === 'waitingForTools' || state.status === 'thinking') {
      this.#set({ status: 'thinking', request: next, turn: state.turn ?? NO_TURN, filler: state.filler ?? null });
    }
    return true;
  }

  /** The tools of `from` are done and no follow-up comes (it failed, or the answer was over): the bot is free. */
  toolsEnded(from: ResponseHandle): void {
    const state = this.#state;
    if (state.status === 'speaking' && state.request === from && state.toolsPending) {
      this.#set({ ...state, toolsPending: false });
      if (state.replyDone && !this.#options.playback.isPlaying) this.playbackIdle();
    } else if (state.status === 'waitingForTools' && state.request === from) {
      this.#set({ status: 'idle' });
      this.#answerHeardDuringReply();
    }
  }

  /** Playback has sent everything it had. The reply is over once the response is done too. */
  playbackIdle(): void {
    const state = this.#state;
    if (state.status !== 'speaking' || !state.replyDone) return;
    if (state.toolsPending) return this.#set({ status: 'waitingForTools', request: state.request, turn: state.turn, filler: null });
    this.#set({ status: 'idle' });
    this.#answerHeardDuringReply();
  }

  /** The first packet of a reply item left: the answered turn's latency, once per turn. */
  firstPacket(sentAt: number): void {
    const state = this.#state;
    // The first thing heard after the turn counts, a filler included.
    if ((state.status !== 'speaking' && state.status !== 'waitingForTools') || !state.turn) return;
    const { turn } = state;
    this.#set({ ...state, turn: null });
    if (!Number.isFinite(turn.speechEndAt)) return; // asked for without a turn (requestReply)
    this.emit('answered', { speakers: turn.speakers, firstAudioAfterSpeechEndMs: sentAt - turn.speechEndAt });
  }

  #ask(turn: PendingTurn, newSpeakers: string[] = turn.speakers, options: Pick<CreateResponseOptions, 'instructions'> = {}): ResponseHandle {
    const { model } = this.#options;
    this.#labels.add(newSpeakers);
    const request = model.createResponse({ ...options, modalities: ['audio'] }, turn);
    this.#set(request.settled ? { status: 'idle' } : { status: 'thinking', request, turn });
    return request;
  }

  #leaveInterrupted(cancelled: ResponseHandle): void {
    const state = this.#state;
    if (state.status === 'interrupted' && state.cancelled === cancelled) this.#set({ status: 'idle' });
  }

  #answerHeardDuringReply(): void {
    const turn = this.#heardDuringReply;
    this.#heardDuringReply = null;
    if (turn && this.#state.status === 'idle' && this.#mayRespond() && (this.#options.silenced?.() ?? null) === null) this.#ask(turn, []);
  }

  #mayRespond(): boolean {
    return this.#options.mayRespond?.() ?? true;
  }

  #set(next: TurnState): void {
    const previous = this.#state;
    this.#state = next;
    if (next.status === 'idle') this.#asides.clear();
    if (previous.status !== next.status) this.emit('stateChange', previous, next);
  }
}
