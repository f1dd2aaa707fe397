/**
 * A voice session's captions (see captions.ts for how lines are posted): which turns and answers
 * are captioned, and how much of an answer that was cut off.
 */
import type { Logger } from 'pino';
import { cutTranscript, type ResponseResult } from '../realtime/index.ts';
import { Captions, type CaptionChannel } from './captions.ts';
import type { RoomPolicy } from './roomPolicy.ts';

/** An answer as the model gave it: its transcript and the audio received for it. */
interface Answer {
  transcript: string;
  audioMs: number;
}

/**
 * A voice session's captions: its turns (opted-out members left out, as the room policy says now)
 * and its spoken answers, captioned once heard — at once if the answer's audio already plays, else
 * when it starts; an answer never played (not addressed, cancelled) is never captioned.
 *
 * An answer stopped part way (barge-in, server mute, …) is captioned as far as it was heard, marked
 * interrupted, whether it is stopped before the model finished it or after (then its line is
 * amended). Where to cut: the model's transcript has no word timings, and its deltas arrive as the
 * text is generated, ahead of the audio and in bursts, so when a delta arrived says nothing about
 * when its words were played. The cut is proportional — the played milliseconds (the figure the
 * item was truncated to) over the audio received for the answer, at a word boundary — which is
 * exactly how the client cuts the model's own copy (`cutTranscript`, history.ts): the caption and
 * what the model remembers having said agree, and both are an estimate to within a few words.
 */
export class SessionCaptions {
  readonly #captions: Captions;
  readonly #room: RoomPolicy;
  readonly #botId: () => string;
  /** Answers waiting for their audio to start, by first item id (the last few). */
  readonly #answers = new Map<string, Answer>();
  /** Answers captioned, by first item id (the last few): a later stop amends their line. */
  readonly #captioned = new Map<string, Answer>();
  /** Reply items that started playing (the last few). */
  readonly #played = new Set<string>();
  /** Reply items stopped part way, and how much of each was played (ms; the last few). */
  readonly #stoppedAt = new Map<string, number>();

  constructor(options: { channel(): CaptionChannel | null; room: RoomPolicy; botId(): string; logger: Logger }) {
    this.#room = options.room;
    this.#botId = options.botId;
    this.#captions = new Captions({ channel: options.channel, enabled: () => options.room.settings.captions === true, logger: options.logger });
  }

  /** A user turn was committed (opted-out members are never heard, so never in a turn; checked again here all the same). */
  committed(itemId: string, speakers: readonly string[]): void {
    this.#captions.expectTurn(itemId, speakers.filter((id) => !this.#room.isOptedOut(id)));
  }

  transcript(itemId: string, text: string): void {
    this.#captions.transcript(itemId, text);
  }

  /** A response ended: its transcript is captioned once its audio is heard. */
  answerDone(result: ResponseResult): void {
    if (result.outOfBand || result.transcript.trim() === '' || result.itemIds.length === 0) return;
    const answer = { transcript: result.transcript, audioMs: result.audioMs };
    const itemId = result.itemIds[0]!;
    if (result.itemIds.some((id) => this.#played.has(id))) return this.#say(itemId, answer);
    remember(this.#answers, itemId, answer, 8);
  }

  /** A reply item's first packet was sent. */
  replyStarted(itemId: string): void {
    this.#played.add(itemId);
    if (this.#played.size > 16) this.#played.delete(this.#played.values().next().value!);
    const answer = this.#answers.get(itemId);
    if (answer === undefined) return;
    this.#answers.delete(itemId);
    this.#say(itemId, answer);
  }

  /**
   * The reply playing was stopped after `playedMs` of item `itemId` (the figure it is truncated to;
   * null ids or times: nothing of it was played). Its caption keeps only what was heard.
   */
  replyStopped(itemId: string | null, playedMs: number | null): void {
    if (itemId === null || playedMs === null) return;
    remember(this.#stoppedAt, itemId, playedMs, 16);
    const answer = this.#captioned.get(itemId);
    if (answer === undefined) return; // not finished yet (captioned when it is), or never captioned
    const heard = heardPart(answer, playedMs);
    if (heard.interrupted) this.#captions.amend(itemId, heard.text, heard);
  }

  /** The room policy changed: lines not yet posted of members who opted out meanwhile are dropped. */
  recheck(): void {
    this.#captions.forgetSpeakers((userId) => this.#room.isOptedOut(userId));
  }

  destroy(): void {
    this.#captions.destroy();
  }

  #say(itemId: string, answer: Answer): void {
    remember(this.#captioned, itemId, answer, 8);
    const stoppedAt = this.#stoppedAt.get(itemId);
    const heard = stoppedAt === undefined ? { text: answer.transcript, interrupted: false } : heardPart(answer, stoppedAt);
    this.#captions.say([this.#botId()], heard.text, { key: itemId, interrupted: heard.interrupted });
  }
}

/** What was heard of `answer` when it was stopped after `playedMs` (see {@link SessionCaptions} for why proportional). */
function heardPart(answer: Answer, playedMs: number): { text: string; interrupted: boolean } {
  if (playedMs >= answer.audioMs) return { text: answer.transcript, interrupted: false };
  return { text: cutTranscript(answer.transcript, playedMs, answer.audioMs), interrupted: true };
}

/** Sets `key` in a map kept to its `limit` newest entries. */
function remember<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > limit) map.delete(map.keys().next().value!);
}
