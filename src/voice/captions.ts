/**
 * Captions of a voice conversation, posted in the voice channel's own text chat (opt-in per server):
 * each turn's input transcript labelled with who spoke it, and the bot's spoken answers.
 *
 * Why the voice channel's chat and not a thread: Discord voice channels have their own text chat but
 * cannot hold threads (creating one answers 50024 "Cannot execute action on this channel type"), and
 * the people who need captions are the ones in the channel, who see its chat beside the call.
 *
 * Pacing: lines are batched into one message, sent or edited at most once per `intervalMs` (1 s) with
 * one request in flight at a time, so a channel gets ≤ 1 message request per second, well inside
 * Discord's per-channel limit (5 per 5 s). A message holds lines until the next would pass 2,000
 * characters or it is older than {@link CONTINUE_MS}; then a new message starts.
 *
 * Labels cannot be forged: a line starts with the speaker's user mention (`<@id>`, which Discord
 * renders as their current name and nobody can type for someone else), sent with no allowed
 * mentions so nobody is pinged; a transcript is one line (line breaks folded), its markdown and
 * mention syntax escaped, so no transcript can start a line or look like a label.
 *
 * Order: a user turn reserves its place when it is committed, and lines after it wait for its
 * transcript (at most {@link TRANSCRIPT_WAIT_MS}); so the bot's answer never appears above the words
 * it answers.
 */
import { escapeMarkdown } from 'discord.js';
import type { Logger } from 'pino';
import type { ResponseResult } from '../realtime/index.ts';
import type { RoomPolicy } from './roomPolicy.ts';

/** Captions ping nobody (the same as src/discord/noPings.ts, which this layer may not import). */
const NO_PINGS = { parse: [] as never[], repliedUser: false };

/** Discord's message length limit. */
export const MAX_MESSAGE_LENGTH = 2_000;
/** A caption line is cut to this many characters (a message always holds at least one line). */
const MAX_LINE_LENGTH = 1_800;
/** A message keeps growing for this long; later lines start a new one (so captions stay at the bottom of the chat). */
export const CONTINUE_MS = 60_000;
/** A committed turn whose transcript never comes stops holding the lines after it after this long. */
export const TRANSCRIPT_WAIT_MS = 5_000;
/** Discord errors after which this channel gets no more captions (no access, channel gone). */
const FATAL_CODES = new Set([50001, 50013, 10003, 50024]);

/** What captions need of a sent message (a discord.js Message). */
export interface CaptionMessage {
  edit(options: { content: string; allowedMentions: typeof NO_PINGS }): Promise<unknown>;
}
/** What captions need of the channel (a discord.js voice channel: its chat). */
export interface CaptionChannel {
  readonly id: string;
  send(options: { content: string; allowedMentions: typeof NO_PINGS }): Promise<CaptionMessage>;
}

/** Options of {@link Captions}. */
export interface CaptionsOptions {
  /** The channel captions go to now (the session's channel; it can move). */
  channel(): CaptionChannel | null;
  /** Whether the server has captions on (read at every line: /settings applies at once). */
  enabled(): boolean;
  logger: Logger;
  /** Least time between two message requests, ms (default 1000). */
  intervalMs?: number;
  now?: () => number;
}

interface Line {
  key: string | null;
  userIds: readonly string[];
  text: string | null;
  at: number;
}

/** Transcript text as it may appear in a caption: one line, markdown and mentions escaped. */
export function captionText(text: string): string {
  const oneLine = text.replace(/[\r\n\u2028\u2029\u0085]+/g, ' ').replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim();
  const escaped = escapeMarkdown(oneLine).replace(/</g, '\\<').replace(/@(everyone|here)/gi, '@\u200b$1');
  return escaped.length > MAX_LINE_LENGTH ? `${escaped.slice(0, MAX_LINE_LENGTH - 1)}…` : escaped;
}

/** A caption line: the speakers' mentions, then what they said. */
export function captionLine(userIds: readonly string[], text: string): string {
  return `${userIds.map((id) => `<@${id}>`).join(', ')}: ${captionText(text)}`;
}

/** The captions of one voice session. */
export class Captions {
  readonly #options: CaptionsOptions;
  readonly #now: () => number;
  readonly #intervalMs: number;
  #lines: Line[] = [];
  #current: { channelId: string; message: CaptionMessage; content: string; createdAt: number } | null = null;
  #lastRequestAt = -Infinity;
  #inFlight = false;
  #timer: NodeJS.Timeout | null = null;
  #retry: NodeJS.Timeout | null = null;
  /** Formatted lines waiting for the next request, in order. */
  #ready: { userIds: readonly string[]; text: string }[] = [];
  /** Channels that refused captions (no access): nothing more is sent there. */
  readonly #refused = new Set<string>();
  #destroyed = false;
  /** Message requests made (created, edited), for tests and /status. */
  readonly counts = { created: 0, edited: 0, failed: 0 };

  constructor(options: CaptionsOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#intervalMs = options.intervalMs ?? 1_000;
  }

  /** A user turn was committed: its line is kept in place until its transcript comes. */
  expectTurn(key: string, userIds: readonly string[]): void {
    if (userIds.length === 0 || !this.#options.enabled()) return;
    this.#lines.push({ key, userIds, text: null, at: this.#now() });
    if (this.#lines.length > 100) this.#lines.shift();
  }

  /** A committed turn's transcript arrived (ignored unless the turn was expected). */
  transcript(key: string, text: string): void {
    const line = this.#lines.find((candidate) => candidate.key === key && candidate.text === null);
    if (!line) return;
    if (text.trim() === '') this.#lines = this.#lines.filter((candidate) => candidate !== line);
    else line.text = text;
    this.#schedule();
  }

  /** Drops the lines not yet posted of speakers who may no longer be captioned (they opted out meanwhile). */
  forgetSpeakers(isGone: (userId: string) => boolean): void {
    this.#lines = this.#lines.filter((line) => !line.userIds.some(isGone));
    this.#ready = this.#ready.filter((line) => !line.userIds.some(isGone));
  }

  /** A finished line (the bot's answer). */
  say(userIds: readonly string[], text: string): void {
    if (text.trim() === '' || !this.#options.enabled()) return;
    this.#lines.push({ key: null, userIds, text, at: this.#now() });
    if (this.#lines.length > 100) this.#lines.shift();
    this.#schedule();
  }

  /** Stops: lines not yet posted are dropped. */
  destroy(): void {
    this.#destroyed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#retry) clearTimeout(this.#retry);
    this.#timer = this.#retry = null;
    this.#lines = [];
    this.#ready = [];
  }

  #schedule(): void {
    if (this.#destroyed || this.#inFlight || this.#timer) return;
    const wait = Math.max(0, this.#lastRequestAt + this.#intervalMs - this.#now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#flush();
    }, wait);
    this.#timer.unref?.();
  }

  /** Moves the lines ready to post, in order, to the queue: up to the first turn still waiting for its transcript. */
  #collectReady(): void {
    const now = this.#now();
    this.#lines = this.#lines.filter((line) => line.text !== null || now - line.at < TRANSCRIPT_WAIT_MS);
    while (this.#lines.length > 0 && this.#lines[0]!.text !== null) {
      const line = this.#lines.shift()!;
      this.#ready.push({ userIds: line.userIds, text: captionLine(line.userIds, line.text!) });
    }
    if (this.#lines.length > 0 && !this.#retry) {
      // A turn still awaits its transcript: look again when it is due to give up.
      this.#retry = setTimeout(() => {
        this.#retry = null;
        this.#schedule();
      }, Math.max(10, TRANSCRIPT_WAIT_MS - (now - this.#lines[0]!.at) + 10));
      this.#retry.unref?.();
    }
  }

  /** The longest run of `lines` from the start that fits after `base` in one message. */
  static #fit(base: string, lines: readonly { text: string }[]): { content: string; count: number } {
    let content = base;
    let count = 0;
    for (const { text: line } of lines) {
      const next = content === '' ? line : `${content}\n${line}`;
      if (next.length > MAX_MESSAGE_LENGTH) break;
      content = next;
      count++;
    }
    return { content, count };
  }

  async #flush(): Promise<void> {
    if (this.#destroyed) return;
    const channel = this.#options.channel();
    if (!channel || this.#refused.has(channel.id) || !this.#options.enabled()) {
      this.#lines = this.#lines.filter((line) => line.text === null);
      this.#ready = [];
      return;
    }
    this.#collectReady();
    if (this.#ready.length === 0) return;
    const now = this.#now();
    const current = this.#current?.channelId === channel.id && now - this.#current.createdAt < CONTINUE_MS ? this.#current : null;
    let batch = current ? Captions.#fit(current.content, this.#ready) : { content: '', count: 0 };
    const appendToCurrent = current !== null && batch.count > 0;
    if (!appendToCurrent) batch = Captions.#fit('', this.#ready);
    this.#ready.splice(0, batch.count);
    this.#inFlight = true;
    this.#lastRequestAt = now;
    try {
      if (appendToCurrent) {
        await current.message.edit({ content: batch.content, allowedMentions: NO_PINGS });
        current.content = batch.content;
        this.counts.edited++;
      } else {
        const message = await channel.send({ content: batch.content, allowedMentions: NO_PINGS });
        this.#current = { channelId: channel.id, message, content: batch.content, createdAt: now };
        this.counts.created++;
      }
    } catch (error) {
      this.counts.failed++;
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'number' && FATAL_CODES.has(code)) {
        this.#refused.add(channel.id);
        this.#options.logger.warn({ channelId: channel.id, code }, 'captions cannot be posted in this channel: no more captions here');
      } else {
        // The message was deleted (10008) or the request failed: those lines are lost, the next start a new message.
        this.#current = null;
        this.#options.logger.warn({ channelId: channel.id, err: error instanceof Error ? error.message : String(error) }, 'a caption could not be posted');
      }
    } finally {
      this.#inFlight = false;
      this.#lastRequestAt = this.#now(); // the next request waits a full interval after this one ended
    }
    if (this.#ready.length > 0 || this.#lines.some((line) => line.text !== null)) this.#schedule();
  }
}

/**
 * A voice session's captions: its turns (opted-out members left out, as the room policy says now)
 * and its spoken answers, captioned once heard — at once if the answer's audio already plays, else
 * when it starts; an answer never played (not addressed, cancelled) is never captioned.
 */
export class SessionCaptions {
  readonly #captions: Captions;
  readonly #room: RoomPolicy;
  readonly #botId: () => string;
  /** Answers waiting for their audio to start, by first item id (the last few). */
  readonly #answers = new Map<string, string>();
  /** Reply items that started playing (the last few). */
  readonly #played = new Set<string>();

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
    if (result.itemIds.some((id) => this.#played.has(id))) return this.#captions.say([this.#botId()], result.transcript);
    this.#answers.set(result.itemIds[0]!, result.transcript);
    if (this.#answers.size > 8) this.#answers.delete(this.#answers.keys().next().value!);
  }

  /** A reply item's first packet was sent. */
  replyStarted(itemId: string): void {
    this.#played.add(itemId);
    if (this.#played.size > 16) this.#played.delete(this.#played.values().next().value!);
    const answer = this.#answers.get(itemId);
    if (answer === undefined) return;
    this.#answers.delete(itemId);
    this.#captions.say([this.#botId()], answer);
  }

  /** The room policy changed: lines not yet posted of members who opted out meanwhile are dropped. */
  recheck(): void {
    this.#captions.forgetSpeakers((userId) => this.#room.isOptedOut(userId));
  }

  destroy(): void {
    this.#captions.destroy();
  }
}
