/**
 * The input audio buffer of one simulated session: appended audio counted, energy VAD announcing
 * speech start and stop (committing the turn, interrupting or starting a response as the session's
 * turn detection says), manual commits refused below 100 ms as the service does, and committed
 * turns transcribed (scripted transcripts first) with the usage the service reports.
 */
import { realtimeBytesToMs } from '../../src/audio/format.ts';
import type { SimResponse } from './responder.ts';
import type { SimItem } from './replies.ts';
import type { SimConfig } from './sessionConfig.ts';
import { EnergyVad } from './vad.ts';

/** What the transcriber "hears" in one committed turn, and how long after the commit it says so. */
export interface ScriptedTranscript {
  text: string;
  /** Delay of the transcription events after the commit (default: the simulator's `transcriptDelayMs`). */
  delayMs?: number;
}
import { SimRequestError, type SimDialect } from './wire.ts';

/**
 * The transcription model that streams words while the person speaks (OpenAI, 2026: partial
 * `…input_audio_transcription.delta` events before the turn's `.completed`, livekit/agents-js#1581).
 * whisper-1 sends the whole transcript once, and the gpt-4o transcribe models transcribe a turn only
 * after it is committed (livekit/agents: "transcribed only after the user stops speaking").
 */
export const STREAMING_TRANSCRIPTION_MODEL = 'gpt-realtime-whisper';

/** How the streaming transcriber's words follow the speech (not published: both are settings). */
export interface StreamingTranscription {
  /** Speech per word, ms (default 300: about 200 words a minute). */
  msPerWord: number;
  /** How long after its audio a word is sent, ms (default 300). */
  lagMs: number;
}

/** What the buffer needs of its session. */
export interface InputBufferSession {
  readonly id: string;
  readonly dialect: SimDialect;
  readonly config: SimConfig;
  readonly items: SimItem[];
  readonly activeResponse: SimResponse | null;
  send(gaName: string, body: Record<string, unknown>): void;
  newItemId(): string;
}

/** Options of {@link SimInputBuffer}. */
export interface InputBufferOptions {
  session: InputBufferSession;
  /** Transcripts scripted by a test, taken in order by the next committed turns. */
  transcripts: ScriptedTranscript[];
  /** Delay of transcription events after a commit unless the scripted transcript sets one, ms. */
  transcriptDelayMs(): number;
  /** Pace of a streaming transcriber's words (see {@link STREAMING_TRANSCRIPTION_MODEL}). */
  streaming?: () => StreamingTranscription;
  /** Sees every appended chunk (the fidelity benchmark's probe). */
  onInputAudio?: (pcm: Buffer, sessionId: string) => void;
  /** Starts the session's response to a turn (server VAD with create_response). */
  respond: () => void;
}

/** One session's input audio buffer. */
export class SimInputBuffer {
  readonly #opts: InputBufferOptions;
  readonly #vad = new EnergyVad();
  #totalMs = 0;
  #bufferStartMs = 0;
  #speechItemId: string | null = null;
  #speechStartMs = 0;
  /** Words of the turn being spoken already sent by a streaming transcriber. */
  #streamed: { itemId: string; words: string[]; sent: number } | null = null;

  constructor(options: InputBufferOptions) {
    this.#opts = options;
  }

  /** Milliseconds of audio appended in this session. */
  get appendedMs(): number {
    return this.#totalMs;
  }

  /** `input_audio_buffer.append`. */
  append(pcm: Buffer): void {
    const session = this.#opts.session;
    this.#opts.onInputAudio?.(pcm, session.id);
    this.#totalMs += realtimeBytesToMs(pcm.length - (pcm.length % 2));
    const td = session.config.turnDetection;
    if (!td) return;
    for (const vad of this.#vad.feed(pcm, td, this.#bufferStartMs)) {
      if (vad.kind === 'start') {
        this.#speechItemId = session.newItemId();
        this.#speechStartMs = vad.audioStartMs;
        session.send('input_audio_buffer.speech_started', { audio_start_ms: vad.audioStartMs, item_id: this.#speechItemId });
        const active = session.activeResponse;
        if (td.interruptResponse && active && !active.params.outOfBand) active.cancel('turn_detected');
        const scripted = this.#opts.transcripts[0];
        this.#streamed = session.config.transcription?.model === STREAMING_TRANSCRIPTION_MODEL && scripted ? { itemId: this.#speechItemId, words: scripted.text.split(/\s+/).filter(Boolean), sent: 0 } : null;
      } else if (this.#speechItemId) {
        const itemId = this.#speechItemId;
        this.#speechItemId = null;
        session.send('input_audio_buffer.speech_stopped', { audio_end_ms: vad.audioEndMs, item_id: itemId });
        this.#commit(itemId, vad.audioEndMs - this.#speechStartMs, vad.audioEndMs);
        if (td.createResponse && !session.activeResponse) this.#opts.respond();
      }
    }
    this.#streamWords();
  }

  /** A streaming transcriber sends each word of the turn being spoken `lagMs` after its audio. */
  #streamWords(): void {
    const streamed = this.#streamed;
    if (!streamed || streamed.itemId !== this.#speechItemId || !this.#opts.streaming) return;
    const { msPerWord, lagMs } = this.#opts.streaming();
    const due = Math.min(streamed.words.length, Math.floor((this.#totalMs - this.#speechStartMs - lagMs) / msPerWord));
    if (due <= streamed.sent) return;
    // Incremental text, as the service's deltas are (a leading space before every word but the first).
    const delta = streamed.words.slice(streamed.sent, due).map((word, i) => (streamed.sent + i === 0 ? word : ` ${word}`)).join('');
    streamed.sent = due;
    this.#opts.session.send('conversation.item.input_audio_transcription.delta', { item_id: streamed.itemId, content_index: 0, delta });
  }

  /** `input_audio_buffer.commit` (manual turn detection); refused below 100 ms with the service's wording. */
  commit(): void {
    const bufferedMs = this.#totalMs - this.#bufferStartMs;
    if (bufferedMs < 100) {
      throw new SimRequestError({
        code: 'input_audio_buffer_commit_empty',
        message: `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${bufferedMs.toFixed(2)}ms of audio.`,
      });
    }
    const itemId = this.#speechItemId ?? this.#opts.session.newItemId();
    this.#speechItemId = null;
    this.#vad.reset();
    this.#commit(itemId, bufferedMs, this.#totalMs);
  }

  /** `input_audio_buffer.clear`. */
  clear(): void {
    this.#bufferStartMs = this.#totalMs;
    this.#vad.reset();
    this.#speechItemId = null;
    this.#opts.session.send('input_audio_buffer.cleared', {});
  }

  /** Commits input audio as a user item, then transcribes it if configured. */
  #commit(itemId: string, audioMs: number, endMs: number): void {
    const session = this.#opts.session;
    this.#bufferStartMs = endMs;
    const previous = session.items.at(-1)?.id ?? null;
    const item: SimItem = { id: itemId, type: 'message', role: 'user', text: '', audioMs, status: 'completed' };
    session.items.push(item);
    session.send('input_audio_buffer.committed', { previous_item_id: previous, item_id: itemId });
    const wire = { id: itemId, object: 'realtime.item', type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_audio', transcript: null }] };
    session.send('conversation.item.added', { previous_item_id: previous, item: wire });
    if (session.dialect === 'ga') session.send('conversation.item.done', { previous_item_id: previous, item: wire });
    const transcription = session.config.transcription;
    if (transcription) {
      const scripted = this.#opts.transcripts.shift();
      const transcript = scripted?.text ?? `[speech ${(audioMs / 1000).toFixed(2)} s]`;
      // The model hears the audio itself; only the transcription events wait for the transcriber.
      item.text = transcript;
      const streamed = this.#streamed?.itemId === itemId ? this.#streamed : null;
      this.#streamed = null;
      const transcribe = () => {
        // The rest of the words (a streaming transcriber sent the first ones while the person spoke).
        const rest = streamed ? streamed.words.slice(streamed.sent).map((word, i) => (streamed.sent + i === 0 ? word : ` ${word}`)).join('') : transcript;
        if (rest) session.send('conversation.item.input_audio_transcription.delta', { item_id: itemId, content_index: 0, delta: rest });
        session.send('conversation.item.input_audio_transcription.completed', {
          item_id: itemId,
          content_index: 0,
          transcript,
          usage: transcriptionUsage(transcription.model, audioMs, transcript),
          logprobs: null,
        });
      };
      // The real service transcribes asynchronously, apart from the model: the completed event comes
      // some hundreds of ms after the commit, often after the response has started (OpenAI's Realtime
      // guide: input transcription "runs asynchronously" and is "a rough guide"; API reference of
      // conversation.item.input_audio_transcription.completed).
      const delayMs = scripted?.delayMs ?? this.#opts.transcriptDelayMs();
      if (delayMs > 0) setTimeout(transcribe, delayMs).unref();
      else transcribe();
    }
  }
}

/**
 * Transcription models billed by audio duration: whisper-1 (reference "Usage and price"), and by
 * OpenAI's model pages gpt-realtime-whisper ("priced by audio duration rather than text tokens"),
 * gpt-live-transcribe and gpt-transcribe (per minute). Their usage is taken to come as a duration,
 * as whisper-1's does (inferred from the pricing: no captured event of theirs here).
 */
const DURATION_BILLED = new Set(['whisper-1', 'gpt-realtime-whisper', 'gpt-live-transcribe', 'gpt-transcribe']);

/**
 * Usage of an input transcription, in the two shapes of the `openai` package's
 * ConversationItemInputAudioTranscriptionCompletedEvent: duration for the models billed by the minute,
 * tokens for the gpt-4o transcribe models (about 10 audio tokens per second in, 4 characters per token out).
 */
function transcriptionUsage(model: string, audioMs: number, transcript: string): Record<string, unknown> {
  if (DURATION_BILLED.has(model)) return { type: 'duration', seconds: Math.round(audioMs) / 1000 };
  const audioTokens = Math.max(1, Math.round(audioMs / 100));
  const outputTokens = Math.ceil(transcript.length / 4);
  return { type: 'tokens', input_tokens: audioTokens, output_tokens: outputTokens, total_tokens: audioTokens + outputTokens, input_token_details: { audio_tokens: audioTokens, text_tokens: 0 } };
}
