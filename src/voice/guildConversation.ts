import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { RealtimeClient, estimateCost, type RealtimeClientOptions, type ResponseHandle, type SessionConfig, type TurnDetection } from '../realtime/index.ts';
import type { BotStore, GuildSettings, StoredTurnDetection } from '../store/index.ts';

/**
 * Where a guild's conversation with the model stands: `connecting` → `ready` ⇄ `reconnecting`, then
 * `failed` (the model connection ended for good: a revoked key, the service down beyond retries) or
 * `closed` (closed on purpose; also a conversation that never started). Both are final.
 */
export type ConversationState = 'connecting' | 'ready' | 'reconnecting' | 'failed' | 'closed';

/** A request on a conversation that failed or was closed: settles at once with this error. */
export class ConversationUnavailableError extends Error {
  override name = 'ConversationUnavailableError';
}

/** Options of {@link GuildConversation}. */
export interface GuildConversationOptions {
  guildId: string;
  config: Config;
  store: BotStore;
  /** The guild's saved settings, read by whoever creates the conversation. */
  settings: GuildSettings;
  logger: Logger;
  /** Voice conversations take audio and answer by voice; text-only ones answer mentions. */
  mode: 'voice' | 'text';
  /** How the model connection's TCP/TLS socket is made (default: to the URL's host; tests reroute it). */
  createConnection?: RealtimeClientOptions['createConnection'];
}

/** Events of a {@link GuildConversation}. */
export interface GuildConversationEvents {
  stateChange: [previous: ConversationState, next: ConversationState];
  /** The conversation failed for good (emitted once), with the reason shown to people. */
  failed: [reason: string];
}

/** Transcription model for user speech (used for history re-seeding and shown in logs at debug). */
const TRANSCRIPTION_MODEL = 'whisper-1';

/**
 * A person's name as it appears in a `[speaker: …]` label: brackets become parentheses and control
 * characters spaces, so a display name can neither close the label early nor forge another one.
 */
export function labelName(name: string): string {
  const clean = name
    .replaceAll('[', '(')
    .replaceAll(']', ')')
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 64);
  return clean.length > 0 ? clean : 'someone';
}

/** The turn detection the bot runs with: the server finds turns, the bot decides when to answer. */
export function toTurnDetection(stored: StoredTurnDetection | null): TurnDetection {
  const chosen = stored ?? { type: 'server_vad' as const };
  if (chosen.type === 'manual') return { type: 'manual' };
  if (chosen.type === 'semantic_vad') {
    return { type: 'semantic_vad', eagerness: chosen.eagerness ?? 'auto', createResponse: false, interruptResponse: false };
  }
  return {
    type: 'server_vad',
    threshold: chosen.threshold ?? 0.5,
    prefixPaddingMs: chosen.prefixPaddingMs ?? 300,
    silenceDurationMs: chosen.silenceDurationMs ?? 500,
    createResponse: false,
    interruptResponse: false,
  };
}

/**
 * One conversation with the realtime model per guild, shared by the voice channel and text
 * mentions so both see the same context. It applies the guild's saved settings, records usage and
 * cost (in the ledger and the database), and keeps the last problem (rate limit, error) for /status.
 */
export class GuildConversation extends EventEmitter<GuildConversationEvents> {
  readonly guildId: string;
  /** The conversation's realtime model client. */
  readonly realtime: RealtimeClient;
  readonly #options: GuildConversationOptions;
  #state: ConversationState = 'connecting';
  #mode: 'voice' | 'text';
  #problem: string | null = null;
  /** Why the conversation failed for good (the last fatal error), once it has. */
  #failure: string | null = null;
  /** The guild's settings as this conversation applies them (kept current by the setters). */
  #settings: GuildSettings;
  #lastActivityAt = Date.now();
  /** Settles when the latest text question has been answered (questions are taken in order). */
  #textTurn: Promise<void> = Promise.resolve();

  constructor(options: GuildConversationOptions) {
    super();
    this.#options = options;
    this.guildId = options.guildId;
    this.#mode = options.mode;
    const { config } = options;
    this.#settings = { ...options.settings };
    const settings = this.#settings;
    this.realtime = new RealtimeClient({
      url: config.realtime.url,
      model: config.realtime.model,
      dialect: config.realtime.dialect,
      apiKey: config.realtime.apiKey ?? '',
      session: this.#sessionConfig(settings, options.mode),
      logger: options.logger.child({ component: 'realtime' }),
      rotateAfterMs: config.sessionRotateMs,
      historyTokenBudget: config.historyTokenBudget,
      usageKey: options.guildId,
      createConnection: options.createConnection,
    });
    this.realtime.on('reconnecting', ({ reason }) => {
      this.#problem = `reconnecting to the model (${reason})`;
      this.#setState('reconnecting');
    });
    this.realtime.on('reconnected', () => {
      this.#problem = null;
      this.#setState('ready');
    });
    this.realtime.on('rate_limited', ({ retryAfterMs }) => {
      this.#problem = `rate limited by the model service, retrying in ${Math.ceil(retryAfterMs / 1000)} s`;
    });
    this.realtime.on('error', (error) => {
      this.#problem = `${error.code ?? error.type ?? 'error'}: ${error.message}`;
      options.logger.warn({ code: error.code, type: error.type, fatal: error.fatal }, 'realtime error');
      if (error.fatal) this.#failure = error.message;
    });
    this.realtime.on('closed', (reason) => {
      // The client closes itself only when it cannot go on (fatal error, reconnecting given up).
      if (this.#state !== 'closed') this.#fail(this.#failure ?? reason);
    });
    this.realtime.on('response_done', (result) => {
      this.#lastActivityAt = Date.now();
      if (!result.usage) return;
      const usage = result.usage;
      const model = config.realtime.model;
      options.store.addUsage(options.guildId, model, usage, estimateCost(usage, model)).catch((error: unknown) => {
        options.logger.error({ err: error instanceof Error ? error.message : String(error), model }, 'could not save usage');
      });
    });
  }

  /** Current state. */
  get state(): ConversationState {
    return this.#state;
  }

  /** Whether this conversation carries voice. */
  get mode(): 'voice' | 'text' {
    return this.#mode;
  }

  /** Why the conversation failed for good, or null. */
  get failure(): string | null {
    return this.#state === 'failed' ? this.#failure : null;
  }

  /** Whether requests can still be made (not failed, not closed). */
  get usable(): boolean {
    return this.#state !== 'failed' && this.#state !== 'closed';
  }

  /** The last problem worth showing in /status, or null when all is well. */
  get problem(): string | null {
    return this.#problem;
  }

  /** When a reply last finished or a request was last made (for closing idle text sessions). */
  get lastActivityAt(): number {
    return this.#lastActivityAt;
  }

  /**
   * Connects to the model; rejects with the client's error (bad key, wrong dialect, unreachable).
   * A conversation that could not start is closed (nothing of it lingers) and keeps its problem.
   */
  async start(): Promise<void> {
    try {
      await this.realtime.connect();
    } catch (error) {
      this.#problem = error instanceof Error ? error.message : String(error);
      await this.close();
      throw error;
    }
    if (this.#state !== 'connecting') return; // closed while connecting
    this.#problem = null;
    this.#setState('ready');
  }

  /** Switches between voice and text-only use, reconfiguring the live session. */
  setMode(mode: 'voice' | 'text'): void {
    if (mode === this.#mode) return;
    this.#mode = mode;
    const session = this.#sessionConfig(this.#settings, mode);
    this.realtime.updateSession({ outputModalities: session.outputModalities, turnDetection: session.turnDetection, inputTranscription: session.inputTranscription });
  }

  /** Applies new instructions to the live session (and to every later session). */
  setInstructions(instructions: string): void {
    this.#settings.instructions = instructions;
    this.realtime.updateSession({ instructions });
  }

  /**
   * Applies a new voice. The model cannot change voice once it has spoken in a session, so the
   * conversation moves to a fresh session (carrying the transcript) after the current reply.
   */
  setVoice(voice: string): 'rotating' | 'next-session' {
    this.#settings.voice = voice;
    this.realtime.updateSession({ voice });
    if (this.#state !== 'ready') return 'next-session';
    this.realtime.rotate();
    return 'rotating';
  }

  /**
   * A text message from a person, answered in text in the same conversation. Questions are taken one
   * at a time: each is added to the conversation only once the previous text answer is done, so a
   * queued response never answers a later question instead of its own.
   */
  async askText(authorName: string, text: string): Promise<ResponseHandle> {
    this.#assertUsable();
    this.#lastActivityAt = Date.now();
    const previous = this.#textTurn;
    let release!: () => void;
    this.#textTurn = new Promise<void>((resolve) => (release = resolve));
    await previous;
    this.#lastActivityAt = Date.now();
    try {
      this.#assertUsable(); // it may have failed or closed while the previous question was answered
      this.realtime.addUserText(`[speaker: ${labelName(authorName)}] ${text}`, { name: authorName });
      const handle = this.realtime.createResponse({ modalities: ['text'] });
      void handle.done.finally(release);
      return handle;
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Closes the model session (pending requests settle). Safe to call twice. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    await this.realtime.close();
  }

  #assertUsable(): void {
    if (this.usable) return;
    throw new ConversationUnavailableError(
      this.#state === 'failed' ? `the conversation with the AI model failed (${this.#failure ?? 'unknown reason'})` : 'the conversation with the AI model is closed',
    );
  }

  #fail(reason: string): void {
    if (!this.usable) return;
    this.#failure = reason;
    this.#problem = reason;
    this.#options.logger.warn({ reason }, 'conversation with the model failed');
    this.#setState('failed');
    this.emit('failed', reason);
  }

  #sessionConfig(settings: GuildSettings, mode: 'voice' | 'text'): SessionConfig {
    const { config } = this.#options;
    return {
      instructions: settings.instructions ?? config.defaultInstructions,
      voice: settings.voice ?? config.realtime.voice,
      outputModalities: mode === 'voice' ? ['audio'] : ['text'],
      inputTranscription: mode === 'voice' ? { model: TRANSCRIPTION_MODEL } : null,
      turnDetection: mode === 'voice' ? toTurnDetection(settings.turnDetection) : { type: 'manual' },
    };
  }

  #setState(next: ConversationState): void {
    if (next === this.#state) return;
    const previous = this.#state;
    this.#state = next;
    this.emit('stateChange', previous, next);
  }
}
