import { EventEmitter } from 'node:events';
import { RealtimeClient, transcriptionAsTokenUsage, type ResponseHandle, type NoiseReductionType, type SessionConfig, type TokenUsage } from '../realtime/index.ts';
import { SpendRecorder } from '../budget/index.ts';
import type { GuildSettings } from '../store/index.ts';
import type { ConversationTools } from '../tools/runtime.ts';
import type { Requester } from '../tools/types.ts';
import { ConversationProblems, rateLimitText } from './conversationProblems.ts';
import { sessionConfigFor } from './conversationSettings.ts';
import { ConversationUnavailableError, type ConversationState, type GuildConversationEvents, type GuildConversationOptions } from './guildConversationTypes.ts';
import { guildModel, urlForModel } from './guildModel.ts';
import type { SpeakerLabel } from './speakerLabels.ts';
import { TextQuestions } from './textQuestions.ts';
import { neutralizeText } from './untrustedText.ts';
import { modelUnavailableReason, problemFromError } from './userFacingErrors.ts';

export { ConversationUnavailableError, type ConversationState, type GuildConversationEvents, type GuildConversationOptions } from './guildConversationTypes.ts';

/**
 * One conversation with the realtime model per guild, shared by the voice channel and text
 * mentions so both see the same context. It applies the guild's saved settings, records usage and
 * cost (in the ledger and the database), and keeps the last problem (rate limit, error) for /status.
 */
export class GuildConversation extends EventEmitter<GuildConversationEvents> {
  readonly guildId: string;
  /** The conversation's realtime model client. */
  readonly realtime: RealtimeClient;
  /** The conversation's tool runner and activity (null without tools). */
  readonly tools: ConversationTools | null;
  readonly #options: GuildConversationOptions;
  #state: ConversationState = 'connecting';
  #mode: 'voice' | 'text';
  readonly #problems = new ConversationProblems();
  /** Why the conversation failed for good (the last fatal error), once it has: for the log and for people. */
  #failure: { detail: string; forPeople: string } | null = null;
  /** The guild's settings as this conversation applies them (kept current by the setters). */
  #settings: GuildSettings;
  #lastActivityAt = Date.now();
  #noiseReduction: NoiseReductionType | null;
  /** Text questions, answered one at a time in order. */
  readonly #questions: TextQuestions;
  readonly #spend: SpendRecorder;

  constructor(options: GuildConversationOptions) {
    super();
    this.#options = options;
    this.guildId = options.guildId;
    this.#mode = options.mode;
    const { config } = options;
    this.#settings = { ...options.settings };
    this.#noiseReduction = options.noiseReduction ?? null;
    const settings = this.#settings;
    this.#questions = new TextQuestions({ answerOver: (handle) => this.#answered(handle), settled: () => (this.#lastActivityAt = Date.now()) });
    this.#spend = new SpendRecorder({ store: options.store, budget: options.budget, logger: options.logger });
    // The guild's own model (/model) from this conversation on; prices follow the model dialed.
    const model = guildModel(config, settings.model);
    this.realtime = new RealtimeClient({
      url: urlForModel(config.realtime.url, model),
      model,
      dialect: config.realtime.dialect,
      apiKey: config.realtime.apiKey ?? '',
      session: this.#sessionConfig(settings, options.mode),
      logger: options.logger.child({ component: 'realtime' }),
      rotateAfterMs: config.sessionRotateMs,
      historyTokenBudget: config.historyTokenBudget,
      usageKey: options.guildId,
      createConnection: options.createConnection,
    });
    const realtime = this.realtime;
    this.tools = options.tools?.attach(options.guildId, realtime, options.logger) ?? null;
    realtime.on('reconnecting', ({ reason }) => {
      // People see that it reconnects; why (host, socket error) goes to the log.
      this.#problems.set('connection', 'reconnecting to the model service');
      options.logger.info({ reason }, 'reconnecting to the model service');
      this.#setState('reconnecting');
    });
    // A fresh session (after a drop or a rotation): the old session's errors and a voice change
    // waiting for it are behind us.
    realtime.on('reconnected', () => {
      this.#problems.clear('connection', 'error', 'voice');
      this.#setState('ready');
    });
    realtime.on('rotated', () => this.#problems.clear('connection', 'error', 'voice'));
    realtime.on('rate_limited', ({ message }) => {
      this.#problems.set('rate_limit', () => rateLimitText(message, realtime.pausedUntil, realtime.responseInFlight || realtime.queuedResponses > 0));
    });
    realtime.on('error', (error) => {
      // People see the error code only: the service's message may quote a URL or other details.
      this.#problems.set(error.fatal ? 'failure' : 'error', problemFromError(error));
      options.logger.warn({ code: error.code, type: error.type, fatal: error.fatal, eventType: error.eventType }, 'realtime error');
      if (error.fatal) this.#failure = { detail: error.message, forPeople: problemFromError(error) };
    });
    realtime.on('closed', (reason) => {
      // The client closes itself only when it cannot go on (fatal error, reconnecting given up).
      if (this.#state !== 'closed') this.#fail(this.#failure ?? { detail: reason, forPeople: 'the AI model service is unavailable right now' });
    });
    realtime.on('response_done', (result) => {
      this.#lastActivityAt = Date.now();
      if (result.status === 'completed') this.#problems.clear('error', 'rate_limit');
      if (result.usage) this.#saveUsage(realtime.model, result.usage, result.costUsd, 1);
    });
    // Input transcription is billed apart, under the transcription model (not a reply).
    realtime.on('transcription_usage', ({ model, usage, costUsd }) => this.#saveUsage(model, transcriptionAsTokenUsage(usage), costUsd, 0));
  }

  /**
   * Adds usage (priced once, by the client) to the guild's totals and lets the budget see it; a
   * failing database is retried, then logged, never thrown (see SpendRecorder).
   */
  #saveUsage(model: string, usage: TokenUsage, costUsd: number, responses: number): void {
    void this.#spend.record(this.guildId, model, usage, costUsd, { responses });
  }

  /**
   * Whether a response may start now: false while the guild (or the deployment) has used up its
   * spend limit. Asked where responses start; synchronous.
   */
  mayRespond(): boolean {
    return this.#options.budget?.allows(this.guildId) ?? true;
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
    return this.#state === 'failed' ? (this.#failure?.forPeople ?? null) : null;
  }

  /** Whether requests can still be made (not failed, not closed). */
  get usable(): boolean {
    return this.#state !== 'failed' && this.#state !== 'closed';
  }

  /** What is wrong right now, for /status (each problem clears when its cause is gone), or null. */
  get problem(): string | null {
    return this.#problems.summary;
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
      this.#problems.set('failure', modelUnavailableReason(error));
      await this.close();
      throw error;
    }
    if (this.#state !== 'connecting') return; // closed while connecting
    this.#problems.clear('failure', 'connection', 'error');
    this.#setState('ready');
  }

  /** Switches between voice and text-only use, reconfiguring the live session. */
  setMode(mode: 'voice' | 'text'): void {
    if (mode === this.#mode) return;
    this.#mode = mode;
    const session = this.#sessionConfig(this.#settings, mode);
    this.realtime.updateSession({ outputModalities: session.outputModalities, turnDetection: session.turnDetection, inputTranscription: session.inputTranscription });
  }

  /** Applies the guild's turn detection to the live session (voice only: text conversations find no turns) and every later one. */
  setTurnDetection(turnDetection: GuildSettings['turnDetection']): void {
    this.#settings.turnDetection = turnDetection;
    if (this.#mode === 'voice') this.realtime.updateSession({ turnDetection: this.#sessionConfig(this.#settings, 'voice').turnDetection });
  }

  /**
   * Applies the guild's input noise reduction: switched on or changed in the live session at once;
   * switched off from the next server session (the wire can only leave it out, not send null).
   */
  setNoiseReduction(value: NoiseReductionType | null): 'applied' | 'next-session' {
    const previous = this.#noiseReduction;
    this.#noiseReduction = value;
    if (this.#mode !== 'voice') return 'next-session';
    if (value) {
      this.realtime.updateSession({ noiseReduction: value });
      return 'applied';
    }
    this.realtime.updateSession({ noiseReduction: null }); // remembered for the next session
    return previous ? 'next-session' : 'applied';
  }

  /** Applies new instructions to the live session (and to every later session). */
  setInstructions(instructions: string): void {
    this.#settings.instructions = instructions;
    this.realtime.updateSession({ instructions });
  }

  /**
   * Applies a new voice. The service refuses a voice change once the session has assistant audio, so
   * the client sends it at once only when there is none (and no reply in flight): `'applied'`.
   * Otherwise the conversation moves to a fresh session carrying the transcript after the current
   * reply (`'after-reply'`), or the voice waits for the next session (`'next-session'`, no live one).
   */
  setVoice(voice: string): 'applied' | 'after-reply' | 'next-session' {
    this.#settings.voice = voice;
    const outcome = this.realtime.updateSession({ voice });
    if (outcome === 'now') return 'applied';
    if (this.#state !== 'ready') return 'next-session';
    this.#problems.set('voice', `the voice changes to ${voice} after the current reply (in a fresh model session)`);
    return 'after-reply';
  }

  /**
   * A text message from a person, answered in text in the same conversation. Questions are taken one
   * at a time: each is added to the conversation only once the previous text answer is done, so a
   * queued response never answers a later question instead of its own. `author` is the writer's
   * label (`speakerLabel`: told apart from look-alike names); `text` is neutralized (`neutralizeText`).
   */
  async askText(author: SpeakerLabel, text: string, requester?: Requester): Promise<ResponseHandle> {
    this.#assertUsable();
    this.#lastActivityAt = Date.now();
    return this.#questions.ask(() => {
      this.#lastActivityAt = Date.now();
      this.#assertUsable(); // it may have failed or closed while the previous question was answered
      // The label comes from Discord (speakerLabel); the text is data: no label or role tag survives in it.
      this.realtime.addUserText(`[speaker: ${author}] ${neutralizeText(text)}`, { name: author });
      const maxOutputTokens = this.#options.config.textMaxOutputTokens;
      const handle = this.realtime.createResponse({ modalities: ['text'], ...(maxOutputTokens ? { maxOutputTokens } : {}) });
      // Tools it calls run with the author's rights; the next question waits for the whole answer.
      this.tools?.runner.register(handle, requester ?? null);
      return handle;
    });
  }

  /** The response that goes on with `handle`'s answer after its tool calls, or null when the answer is over. */
  continuationOf(handle: ResponseHandle): Promise<ResponseHandle | null> {
    return this.tools?.runner.continuationOf(handle) ?? Promise.resolve(null);
  }

  /** Resolves when the whole answer begun by `handle` is over (its follow-ups after tool calls included). */
  async #answered(handle: ResponseHandle): Promise<void> {
    for (let current: ResponseHandle | null = handle; current; current = await this.continuationOf(current)) await current.done;
  }

  /** Text questions asked and not yet answered (waiting for their turn or being answered). */
  get pendingQuestions(): number {
    return this.#questions.pending;
  }

  /** Closes the model session (pending requests settle). Safe to call twice. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    this.tools?.runner.close();
    await this.realtime.close();
  }

  #assertUsable(): void {
    if (this.usable) return;
    throw new ConversationUnavailableError(
      this.#state === 'failed' ? `the conversation with the AI model failed (${this.#failure?.detail ?? 'unknown reason'})` : 'the conversation with the AI model is closed',
    );
  }

  /** Fails for good: `detail` goes to the log, `forPeople` to /status and channel notices. */
  #fail(failure: { detail: string; forPeople: string }): void {
    if (!this.usable) return;
    this.#failure = failure;
    this.#problems.set('failure', failure.forPeople);
    this.#options.logger.warn({ reason: failure.detail }, 'conversation with the model failed');
    this.#setState('failed');
    this.emit('failed', failure.forPeople);
  }

  #sessionConfig(settings: GuildSettings, mode: 'voice' | 'text'): SessionConfig {
    const session = sessionConfigFor(this.#options.config, settings, mode);
    return mode === 'voice' && this.#noiseReduction ? { ...session, noiseReduction: this.#noiseReduction } : session;
  }

  #setState(next: ConversationState): void {
    if (next === this.#state) return;
    const previous = this.#state;
    this.#state = next;
    this.emit('stateChange', previous, next);
  }
}
