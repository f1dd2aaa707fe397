/**
 * The output of the active response as it streams in: output items, audio, transcript and text
 * deltas applied to the response's handle and re-emitted as client events; the audio received per
 * assistant item (to clamp truncation) and whether the session has any assistant audio (the service
 * then refuses a voice change). Events of a response that is not the active one never reach its
 * handle (audio of one would never end and the next reply would queue behind it).
 */
import type { Logger } from 'pino';
import type { KnownServerEvent } from './protocol.ts';
import { DECODED_AUDIO, type AudioDeltaEvent } from './audioDeltaFrame.ts';
import type { ResponseHandle } from './responseHandle.ts';
import type { RealtimeEventMap } from './types.ts';

/** A known server event by its type. */
export type EventOf<T extends KnownServerEvent['type']> = Extract<KnownServerEvent, { type: T }>;

/** Dependencies of {@link ResponseStream}. */
export interface ResponseStreamDeps {
  log: Logger;
  emit: <K extends keyof RealtimeEventMap>(name: K, ...args: RealtimeEventMap[K]) => void;
  /** The handle of the active response with this id, or null when it is not the active one. */
  current: (responseId: string) => ResponseHandle | null;
  /** The active response produced something (its stall watchdog starts again). */
  activity: () => void;
}

/** Items remembered with their audio size; the oldest are forgotten beyond this. */
const MAX_TRACKED_ITEMS = 256;

/** Applies the streamed output of the active response. */
export class ResponseStream {
  readonly #deps: ResponseStreamDeps;
  /** Bytes of audio received per assistant item (bounded), to clamp truncation. */
  readonly #itemAudioBytes = new Map<string, number>();
  /** Whether this session has produced assistant audio (the service then refuses a voice change). */
  #sessionHasAudio = false;

  constructor(deps: ResponseStreamDeps) {
    this.#deps = deps;
  }

  /** Audio received for an assistant item in this session, in bytes (undefined if unknown). */
  itemAudioBytes(itemId: string): number | undefined {
    return this.#itemAudioBytes.get(itemId);
  }

  /** Whether the current server session has produced assistant audio. */
  get hasAssistantAudio(): boolean {
    return this.#sessionHasAudio;
  }

  /** A new server session starts: item ids of the previous one mean nothing there. */
  newSession(): void {
    this.#itemAudioBytes.clear();
    this.#sessionHasAudio = false;
  }

  /** The session is gone: its items cannot be truncated any more. */
  forgetItems(): void {
    this.#itemAudioBytes.clear();
  }

  onOutputItem(event: EventOf<'response.output_item.added'>): void {
    const handle = this.#deps.current(event.response_id);
    if (handle) this.#deps.activity();
    // Only messages are reply items (played, truncated, remembered); tool items are the tracker's.
    if (event.item.type !== undefined && event.item.type !== 'message') return;
    if (handle && !handle.itemIds.includes(event.item.id)) handle.itemIds.push(event.item.id);
  }

  onAudioDelta(event: AudioDeltaEvent): void {
    const handle = this.#deps.current(event.response_id);
    if (!handle) {
      // Audio of a response that is not the active one (stale after a drop, or forged) must never
      // reach playback: its item would never end and the next reply would queue behind it.
      this.#deps.log.debug({ responseId: event.response_id }, 'audio delta of an unknown response ignored');
      return;
    }
    // Decoded from the frame's bytes by the fast path (audioDeltaFrame.ts), else from the parsed string.
    let pcm = event[DECODED_AUDIO] ?? Buffer.from(event.delta, 'base64');
    if (pcm.length % 2 !== 0) pcm = pcm.subarray(0, pcm.length - 1);
    this.#sessionHasAudio = true;
    this.#itemAudioBytes.set(event.item_id, (this.#itemAudioBytes.get(event.item_id) ?? 0) + pcm.length);
    if (this.#itemAudioBytes.size > MAX_TRACKED_ITEMS) this.#itemAudioBytes.delete(this.#itemAudioBytes.keys().next().value!);
    this.#deps.activity();
    handle.audioBytes += pcm.length;
    if (!handle.itemIds.includes(event.item_id)) handle.itemIds.push(event.item_id);
    handle.emit('audio', pcm);
    this.#deps.emit('audio_delta', { responseId: event.response_id, itemId: event.item_id, pcm });
  }

  onTranscriptDelta(event: EventOf<'response.output_audio_transcript.delta'>): void {
    const handle = this.#deps.current(event.response_id);
    if (handle) {
      this.#deps.activity();
      handle.transcript += event.delta;
      handle.emit('transcript', event.delta);
    }
    this.#deps.emit('transcript_delta', { responseId: event.response_id, itemId: event.item_id, delta: event.delta });
  }

  onTextDelta(event: EventOf<'response.output_text.delta'>): void {
    const handle = this.#deps.current(event.response_id);
    if (handle) {
      this.#deps.activity();
      handle.text += event.delta;
      handle.emit('text', event.delta);
    }
    this.#deps.emit('text_delta', { responseId: event.response_id, itemId: event.item_id, delta: event.delta });
  }
}
