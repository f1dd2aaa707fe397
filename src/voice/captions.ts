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
 *
 * Amending: a line said with a key can be rewritten later (an answer cut off after it was posted);
 * the message holding it is edited at the next request, if it is the message captions add to now.
 */
import { escapeMarkdown } from 'discord.js';
import type { Logger } from 'pino';

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
  /** The listeners heard only `text`: the rest was cut off. */
  interrupted: boolean;
  at: number;
}

/** A formatted line, waiting or posted; `key` finds it again to amend it. */
interface FormattedLine {
  key: string | null;
  userIds: readonly string[];
  text: string;
}

/** The message captions add to now: its lines as posted, and whether one was amended since. */
interface PostedMessage {
  channelId: string;
  message: CaptionMessage;
  lines: FormattedLine[];
  createdAt: number;
  /** A line was amended since the last request: the message must be edited even if nothing is added. */
  amended: boolean;
}

/** Marks the end of an answer the listeners heard only part of. */
export const INTERRUPTED_MARK = '… — interrupted';

/** Transcript text as it may appear in a caption: one line, markdown and mentions escaped. */
export function captionText(text: string): string {
  const oneLine = text.replace(/[\r\n\u2028\u2029\u0085]+/g, ' ').replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim();
  const escaped = escapeMarkdown(oneLine).replace(/</g, '\\<').replace(/@(everyone|here)/gi, '@\u200b$1');
  return escaped.length > MAX_LINE_LENGTH ? `${escaped.slice(0, MAX_LINE_LENGTH - 1)}…` : escaped;
}

/** A caption line: the speakers' mentions, then what they said (marked when it was cut off). */
export function captionLine(userIds: readonly string[], text: string, interrupted = false): string {
  const line = `${userIds.map((id) => `<@${id}>`).join(', ')}: ${captionText(text)}`;
  return interrupted ? `${line}${INTERRUPTED_MARK}` : line;
}

const joinLines = (lines: readonly FormattedLine[]) => lines.map((line) => line.text).join('\n');

/** The captions of one voice session. */
export class Captions {
  readonly #options: CaptionsOptions;
  readonly #now: () => number;
  readonly #intervalMs: number;
  #lines: Line[] = [];
  #current: PostedMessage | null = null;
  #lastRequestAt = -Infinity;
  #inFlight = false;
  #timer: NodeJS.Timeout | null = null;
  #retry: NodeJS.Timeout | null = null;
  /** Formatted lines waiting for the next request, in order. */
  #ready: FormattedLine[] = [];
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
    this.#lines.push({ key, userIds, text: null, interrupted: false, at: this.#now() });
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

  /**
   * A finished line (the bot's answer); `key` lets {@link amend} find it again, `interrupted` marks
   * a line the listeners heard only part of.
   */
  say(userIds: readonly string[], text: string, options: { key?: string; interrupted?: boolean } = {}): void {
    const interrupted = options.interrupted === true;
    if ((text.trim() === '' && !interrupted) || !this.#options.enabled()) return;
    this.#lines.push({ key: options.key ?? null, userIds, text, interrupted, at: this.#now() });
    if (this.#lines.length > 100) this.#lines.shift();
    this.#schedule();
  }

  /**
   * Rewrites the line said with `key` (the listeners heard only part of it), wherever it is: waiting,
   * queued, or posted in the message captions add to now (that message is edited). A line in an
   * older message is left as posted. Returns whether the line was found.
   */
  amend(key: string, text: string, options: { interrupted: boolean }): boolean {
    const waiting = this.#lines.find((line) => line.key === key && line.text !== null);
    if (waiting) {
      waiting.text = text;
      waiting.interrupted = options.interrupted;
      return true;
    }
    const queued = this.#ready.find((line) => line.key === key);
    if (queued) {
      queued.text = captionLine(queued.userIds, text, options.interrupted);
      return true;
    }
    const current = this.#current;
    const posted = current?.lines.find((line) => line.key === key);
    if (!current || !posted) return false;
    const amended = captionLine(posted.userIds, text, options.interrupted);
    // An amended line longer than the message can hold (a cut line plus the mark) stays as posted.
    if (joinLines(current.lines).length - posted.text.length + amended.length > MAX_MESSAGE_LENGTH) return false;
    posted.text = amended;
    current.amended = true;
    this.#schedule();
    return true;
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
      this.#ready.push({ key: line.key, userIds: line.userIds, text: captionLine(line.userIds, line.text!, line.interrupted) });
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

  /** `base` and the longest run of `lines` from the start that fits after it in one message. */
  static #fit(base: readonly FormattedLine[], lines: readonly FormattedLine[]): { lines: FormattedLine[]; count: number } {
    const fitted = [...base];
    let length = joinLines(base).length;
    let count = 0;
    for (const line of lines) {
      const next = fitted.length === 0 ? line.text.length : length + 1 + line.text.length;
      if (next > MAX_MESSAGE_LENGTH) break;
      fitted.push(line);
      length = next;
      count++;
    }
    return { lines: fitted, count };
  }

  async #flush(): Promise<void> {
    if (this.#destroyed) return;
    const channel = this.#options.channel();
    if (!channel || this.#refused.has(channel.id) || !this.#options.enabled()) {
      this.#lines = this.#lines.filter((line) => line.text === null);
      this.#ready = [];
      if (this.#current) this.#current.amended = false;
      return;
    }
    this.#collectReady();
    const amended = this.#current?.amended ? this.#current : null;
    if (this.#ready.length === 0 && !amended) return;
    const now = this.#now();
    const current = this.#current?.channelId === channel.id && now - this.#current.createdAt < CONTINUE_MS ? this.#current : null;
    const appended = current ? Captions.#fit(current.lines, this.#ready) : null;
    // An amended message is edited first, with whatever new lines fit in it (none if it may not grow).
    let target: PostedMessage | null = null;
    let batch: { lines: FormattedLine[]; count: number };
    if (current && appended && (appended.count > 0 || current === amended)) [target, batch] = [current, appended];
    else if (amended) [target, batch] = [amended, { lines: [...amended.lines], count: 0 }];
    else batch = Captions.#fit([], this.#ready);
    this.#ready.splice(0, batch.count);
    const content = joinLines(batch.lines);
    this.#inFlight = true;
    this.#lastRequestAt = now;
    try {
      if (target) {
        await target.message.edit({ content, allowedMentions: NO_PINGS });
        target.lines = batch.lines;
        // Posted lines are shared objects: a line amended while this edit was in flight still differs.
        target.amended = joinLines(target.lines) !== content;
        this.counts.edited++;
      } else {
        const message = await channel.send({ content, allowedMentions: NO_PINGS });
        this.#current = { channelId: channel.id, message, lines: batch.lines, createdAt: now, amended: false };
        this.counts.created++;
      }
    } catch (error) {
      this.counts.failed++;
      if (target) target.amended = false; // an amendment that failed is not tried again
      const channelId = target?.channelId ?? channel.id;
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'number' && FATAL_CODES.has(code)) {
        this.#refused.add(channelId);
        this.#options.logger.warn({ channelId, code }, 'captions cannot be posted in this channel: no more captions here');
      } else {
        // The message was deleted (10008) or the request failed: those lines are lost, the next start a new message.
        this.#current = null;
        this.#options.logger.warn({ channelId, err: error instanceof Error ? error.message : String(error) }, 'a caption could not be posted');
      }
    } finally {
      this.#inFlight = false;
      this.#lastRequestAt = this.#now(); // the next request waits a full interval after this one ended
    }
    if (this.#ready.length > 0 || this.#lines.some((line) => line.text !== null) || this.#current?.amended) this.#schedule();
  }
}
