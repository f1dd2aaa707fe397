/**
 * Answers only when addressed, without making addressed turns slower. Modes per server: `always`
 * (every turn), `name` (turns that say a wake name, or follow-ups of the person just answered
 * within a short window), `auto` (`always` while one person is heard, `name` with more).
 *
 * Design: the answer is asked for at once, as for any turn, and its audio is held back until the
 * turn's input transcript says whether the bot was addressed. The transcript is read as it streams
 * (`…input_audio_transcription.delta`): the held audio is released as soon as the words so far
 * name the bot, so with a streaming transcriber (gpt-realtime-whisper: words while the person
 * speaks) the name is known before the turn even ends and nothing is added; with one that
 * transcribes after the commit (whisper-1), the only delay is how much later the transcript came
 * than the first audio (bench/addressingLatency.ts). Not addressed: the answer
 * is stopped before a sound is played and its item truncated to nothing, so the model does not
 * believe it said anything; the turn stays in the conversation as context. The cost is a response
 * started (and cancelled within the transcription delay) for turns not addressed to the bot.
 * Waiting for the transcript before asking would add the whole transcription delay to every
 * addressed turn instead (measured in bench/voice.ts, `name` vs `always`).
 */
import type { Logger } from 'pino';
import type { CreateResponseOptions, ResponseHandle } from '../realtime/index.ts';
import type { AddressingMode } from '../store/index.ts';
import type { TurnModel, TurnPlayback } from './turnTaking.ts';
import { mentionsWakeName } from './wakeNames.ts';

/** The words of a partial transcript that are complete: all but the last unless the text ends a word. */
function wholeWords(partial: string): string {
  return /[\s\p{P}]$/u.test(partial) ? partial : partial.replace(/[^\s\p{P}]+$/u, '');
}

/** Follow-ups of the person just answered need no name for this long after the answer ends, by default. */
export const DEFAULT_FOLLOW_UP_SECONDS = 10;
/** A turn whose transcript never comes is treated as not addressed after this long. */
const TRANSCRIPT_TIMEOUT_MS = 5_000;

/** What the gate reads at each decision (live: a /settings change applies to the next turn). */
export interface AddressingSettings {
  mode(): AddressingMode;
  /** Names the bot answers to (its display name unless the server set others). */
  wakeNames(): readonly string[];
  followUpMs(): number;
  /** People heard in the channel now (humans, not opted out), for `auto`. */
  humansHeard(): number;
}

/** Options of {@link AddressingGate}. */
export interface AddressingGateOptions {
  settings: AddressingSettings;
  logger: Logger;
  /** Stops the answer being held (turn-taking's stop): called when its turn was not addressed. */
  drop(): void;
  now?: () => number;
}

interface CommittedTurn {
  itemId: string;
  speakers: readonly string[];
  transcript: string | null;
}

interface Decision {
  request: ResponseHandle;
  turns: CommittedTurn[];
  timer: NodeJS.Timeout | null;
}

/**
 * Sits between turn-taking and the model and playback of one voice session: sees each committed turn
 * and its transcript, each answer asked for, and holds that answer's audio until it is decided.
 */
export class AddressingGate {
  readonly #options: AddressingGateOptions;
  readonly #now: () => number;
  /** Turns committed and not yet covered by an answer that was played or dropped. */
  #unanswered: CommittedTurn[] = [];
  /** The answer whose audio is held, awaiting transcripts. */
  #pending: Decision | null = null;
  /** When each person was last answered (the end of the reply), for the follow-up window (read live from the settings). */
  readonly #answeredAt = new Map<string, number>();
  /** Audio of the pending answer, in arrival order. */
  #held: { itemId: string; pcm: Buffer | null }[] = [];
  #inner: TurnPlayback | null = null;
  /** The people of the last answer played, whose follow-up window restarts when the reply ends. */
  #lastAnswered: readonly string[] = [];
  /** Input transcripts as streamed so far (deltas), by item id: a streaming transcriber sends them before the commit. */
  readonly #partials = new Map<string, string>();
  /** Answers played and dropped, for /status and tests. */
  readonly counts = { addressed: 0, notAddressed: 0 };

  constructor(options: AddressingGateOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The mode in effect now (`auto` resolved by how many people are heard). */
  get effectiveMode(): 'always' | 'name' {
    const mode = this.#options.settings.mode();
    if (mode === 'auto') return this.#options.settings.humansHeard() > 1 ? 'name' : 'always';
    return mode;
  }

  /** A user turn was committed (call before turn-taking hears of it). */
  committed(itemId: string, speakers: readonly string[]): void {
    this.#unanswered.push({ itemId, speakers, transcript: null });
    if (this.#unanswered.length > 50) this.#unanswered.shift();
  }

  /** A turn's input transcript arrived. */
  transcript(itemId: string, text: string): void {
    const turn = this.#unanswered.find((candidate) => candidate.itemId === itemId);
    if (!turn) return;
    turn.transcript = text;
    if (this.#pending?.turns.includes(turn)) this.#decide(this.#pending);
  }

  /**
   * A piece of a turn's transcript as it streams: the answer is released as soon as the words heard
   * so far name the bot (only whole words count: the last one may still be growing, "Jar" of
   * "Jarvinen"). Deciding that a turn was NOT addressed waits for the whole transcript.
   */
  transcriptDelta(itemId: string, delta: string): void {
    this.#partials.set(itemId, (this.#partials.get(itemId) ?? '') + delta);
    if (this.#partials.size > 50) this.#partials.delete(this.#partials.keys().next().value!);
    const pending = this.#pending;
    if (pending?.turns.some((turn) => turn.itemId === itemId && turn.transcript === null)) this.#decide(pending);
  }

  /** Whether this person may talk over the bot: anyone in `always`; in `name`, the people being answered. */
  mayInterrupt(userId: string): boolean {
    if (this.effectiveMode === 'always') return true;
    return this.#inFollowUp(userId, this.#now()) || (this.#pending?.turns.some((turn) => turn.speakers.includes(userId)) ?? false);
  }

  /** The model as turn-taking sees it: every answer asked for is decided here. */
  model(inner: TurnModel): TurnModel {
    return {
      addContextNote: (text) => inner.addContextNote(text),
      truncate: (itemId, ms) => inner.truncate(itemId, ms),
      createResponse: (options: CreateResponseOptions, turn) => {
        const request = inner.createResponse(options, turn);
        this.#asked(request);
        return request;
      },
    };
  }

  /** Playback as turn-taking sees it: audio of an undecided answer is held. */
  playback(inner: TurnPlayback): TurnPlayback {
    this.#inner = inner;
    const gate = this;
    return {
      get isPlaying() {
        return gate.#pending !== null ? gate.#held.length > 0 : inner.isPlaying;
      },
      push: (itemId, pcm) => (this.#pending ? this.#held.push({ itemId, pcm }) : inner.push(itemId, pcm)),
      endItem: (itemId) => (this.#pending ? this.#held.push({ itemId, pcm: null }) : inner.endItem(itemId)),
      stop: () => {
        const heldItem = this.#held[0]?.itemId ?? null;
        this.#clearPending();
        const stopped = inner.stop();
        // Nothing of a held answer was heard: its item is truncated to nothing.
        return stopped ?? (heldItem ? { itemId: heldItem, playedMs: 0 } : null);
      },
    };
  }

  /** Ends a session: nothing more is decided. */
  destroy(): void {
    this.#clearPending();
  }

  #asked(request: ResponseHandle): void {
    // A new request replaces the one being decided (a turn went on while the model was thinking).
    this.#clearPending();
    const turns = [...this.#unanswered];
    if (request.settled || turns.length === 0 || this.effectiveMode === 'always') {
      this.#answered(turns, 'always'); // not a user turn (a tool's follow-up, a greeting), or always mode
      return;
    }
    const decision: Decision = { request, turns, timer: null };
    this.#pending = decision;
    decision.timer = setTimeout(() => this.#decide(decision, true), TRANSCRIPT_TIMEOUT_MS);
    decision.timer.unref();
    // Decided now when it can be (a follow-up, transcripts already in), else when the transcripts come.
    queueMicrotask(() => this.#decide(decision));
  }

  #decide(decision: Decision, timedOut = false): void {
    if (this.#pending !== decision) return;
    const now = this.#now();
    const followUp = decision.turns.some((turn) => turn.speakers.some((speaker) => this.#inFollowUp(speaker, now)));
    const names = this.#options.settings.wakeNames();
    const named = decision.turns.some((turn) => {
      if (turn.transcript !== null) return mentionsWakeName(turn.transcript, names);
      const partial = this.#partials.get(turn.itemId);
      return partial !== undefined && mentionsWakeName(wholeWords(partial), names);
    });
    if (followUp || named) {
      this.#release(decision, followUp ? 'follow-up' : 'name');
      return;
    }
    if (!timedOut && decision.turns.some((turn) => turn.transcript === null)) return; // wait for the rest
    this.#options.logger.debug({ timedOut }, 'turn not addressed to the bot: kept as context, not answered');
    this.counts.notAddressed++;
    this.#consume(decision.turns);
    this.#options.drop(); // stops the request; playback.stop() clears the pending decision
    if (this.#pending === decision) this.#clearPending();
  }

  #release(decision: Decision, why: string): void {
    const held = this.#held;
    this.#clearPending();
    this.#answered(decision.turns, why);
    for (const chunk of held) {
      if (chunk.pcm) this.#inner?.push(chunk.itemId, chunk.pcm);
      else this.#inner?.endItem(chunk.itemId);
    }
  }

  #answered(turns: CommittedTurn[], why: string): void {
    if (turns.length > 0) {
      this.counts.addressed++;
      this.#options.logger.debug({ why }, 'turn addressed to the bot: answering');
    }
    const now = this.#now();
    const speakers = [...new Set(turns.flatMap((turn) => turn.speakers))];
    for (const speaker of speakers) this.#answeredAt.set(speaker, now);
    if (speakers.length > 0) this.#lastAnswered = speakers;
    this.#consume(turns);
  }

  /** The bot finished a reply: the follow-up window of the people it answered starts again from now. */
  replyEnded(): void {
    const now = this.#now();
    for (const speaker of this.#lastAnswered) this.#answeredAt.set(speaker, now);
    if (this.#answeredAt.size > 100) this.#answeredAt.delete(this.#answeredAt.keys().next().value!);
  }

  #inFollowUp(userId: string, now: number): boolean {
    const at = this.#answeredAt.get(userId);
    return at !== undefined && now - at <= this.#options.settings.followUpMs();
  }

  #consume(turns: CommittedTurn[]): void {
    this.#unanswered = this.#unanswered.filter((turn) => !turns.includes(turn));
    for (const turn of turns) this.#partials.delete(turn.itemId);
  }

  #clearPending(): void {
    if (this.#pending?.timer) clearTimeout(this.#pending.timer);
    this.#pending = null;
    this.#held = [];
  }
}
