/**
 * Routing of parsed server events of the current session to the client's state and events. Kept
 * apart from the client so the connection lifecycle (client.ts) and the protocol reactions stay small.
 */
import type { Logger } from 'pino';
import type { InputAttribution } from './attribution.ts';
import { DialectError, RealtimeError } from './errors.ts';
import type { ConversationHistory } from './history.ts';
import { retryAfterFromMessage, transcriptionUsageFromWire, type ServerEvent } from './protocol.ts';
import { isRateLimitCode } from './requestErrors.ts';
import type { ResponseTracker } from './responses.ts';
import type { ToolCallTracker } from './toolCalls.ts';
import type { RealtimeEventMap } from './types.ts';
import type { TranscriptionUsage } from './usage.ts';

/** What the dispatcher may touch. */
export interface DispatchContext {
  log: Logger;
  responses: ResponseTracker;
  tools: ToolCallTracker;
  attribution: InputAttribution;
  history: ConversationHistory;
  /** The input transcription model of the session, or null when user speech is not transcribed. */
  transcriptionModel: () => string | null;
  /** Prices and counts an input transcription; returns its cost in USD. */
  countTranscription: (usage: TranscriptionUsage, model: string) => number;
  /** Type of a client event sent in this session, by its `event_id` (for matching errors). */
  sentEventType: (eventId: string) => string | undefined;
  emit: <K extends keyof RealtimeEventMap>(name: K, ...args: RealtimeEventMap[K]) => void;
  emitError: (err: RealtimeError) => void;
  setSpeechActive: (active: boolean) => void;
  /** A response finished: rotate if due, send the next queued one. */
  afterResponse: () => void;
  /** The service rate-limits us: pause responses for the hinted time and say so. */
  rateLimited: (retryAfterMs: number, message: string) => void;
  retrySoon: () => void;
  /** The service refused a voice change (it has assistant audio): apply it through a fresh session. */
  voiceChangeRefused: () => void;
  /** The server announced why it is about to close the socket. */
  expecting: (reason: string) => void;
  /** Stop the client for good. */
  fatal: (err: RealtimeError) => void;
}

/** Applies one server event. Never throws for any well-formed event. */
export function dispatchServerEvent(ctx: DispatchContext, event: ServerEvent): void {
  switch (event.type) {
    case 'session.updated':
      ctx.emit('session_updated');
      break;
    case 'error':
      onError(ctx, event.error);
      break;
    case 'input_audio_buffer.speech_started': {
      // Without a usable time the turn is taken to start where the uncommitted audio starts.
      const audioStartMs = event.audio_start_ms ?? ctx.attribution.appendedMs - ctx.attribution.uncommittedMs;
      ctx.attribution.speechStarted(event.item_id, audioStartMs);
      ctx.setSpeechActive(true);
      ctx.emit('speech_started', { itemId: event.item_id, audioStartMs });
      break;
    }
    case 'input_audio_buffer.speech_stopped': {
      const audioEndMs = event.audio_end_ms ?? ctx.attribution.appendedMs;
      const contributors = ctx.attribution.speechStopped(event.item_id, audioEndMs);
      ctx.emit('speech_stopped', { itemId: event.item_id, audioEndMs, contributors });
      break;
    }
    case 'input_audio_buffer.committed': {
      if (!ctx.attribution.firstCommit(event.item_id)) {
        ctx.log.debug('input_audio_buffer.committed repeated for an item; ignored');
        break;
      }
      const contributors = ctx.attribution.committed(event.item_id);
      // A placeholder keeps the turn's place in history until its transcript arrives.
      if (ctx.transcriptionModel() !== null) ctx.history.add({ role: 'user', text: '', kind: 'transcript', itemId: event.item_id });
      ctx.emit('input_committed', { itemId: event.item_id, previousItemId: event.previous_item_id ?? null, contributors });
      ctx.setSpeechActive(false);
      break;
    }
    case 'conversation.item.input_audio_transcription.delta':
      if (event.delta) ctx.emit('input_transcript_delta', { itemId: event.item_id, delta: event.delta });
      break;
    case 'conversation.item.input_audio_transcription.completed': {
      const text = event.transcript ?? '';
      const entry = ctx.history.byItemId(event.item_id);
      if (entry && entry.role === 'user') entry.text = text;
      ctx.emit('input_transcript', { itemId: event.item_id, text });
      // Billed apart, by the transcription model (reference "Usage and price").
      const usage = transcriptionUsageFromWire(event.usage);
      const model = ctx.transcriptionModel();
      if (usage && model !== null) {
        const costUsd = ctx.countTranscription(usage, model);
        ctx.emit('transcription_usage', { itemId: event.item_id, model, usage, costUsd });
      }
      break;
    }
    case 'conversation.item.truncated':
      ctx.emit('item_truncated', { itemId: event.item_id, audioEndMs: event.audio_end_ms ?? 0 });
      break;
    case 'response.created':
      ctx.responses.onCreated(event);
      break;
    case 'response.output_item.added':
      ctx.responses.stream.onOutputItem(event);
      ctx.tools.onOutputItemAdded(event);
      break;
    case 'response.output_item.done':
      ctx.tools.onOutputItemDone(event);
      break;
    case 'response.function_call_arguments.done':
      ctx.tools.onArgumentsDone(event);
      break;
    case 'conversation.item.added':
      ctx.tools.onConversationItem(event.item, 'added');
      break;
    case 'conversation.item.done':
      ctx.tools.onConversationItem(event.item, 'done');
      break;
    case 'mcp_list_tools.in_progress':
      ctx.tools.onListStatus(event.item_id, 'in_progress');
      break;
    case 'mcp_list_tools.completed':
      ctx.tools.onListStatus(event.item_id, 'completed');
      break;
    case 'mcp_list_tools.failed':
      ctx.tools.onListStatus(event.item_id, 'failed');
      break;
    case 'response.mcp_call.failed':
      ctx.tools.onMcpCallFailed(event.item_id);
      break;
    case 'response.output_audio.delta':
      ctx.responses.stream.onAudioDelta(event);
      break;
    case 'response.output_audio.done':
      ctx.emit('audio_done', { responseId: event.response_id, itemId: event.item_id });
      break;
    case 'response.output_audio_transcript.delta':
      ctx.responses.stream.onTranscriptDelta(event);
      break;
    case 'response.output_text.delta':
      ctx.responses.stream.onTextDelta(event);
      break;
    case 'response.done':
      ctx.tools.onResponseDone(event.response.id);
      ctx.responses.onDone(event);
      ctx.afterResponse();
      break;
    case 'rate_limits.updated':
      ctx.log.debug({ limits: event.rate_limits.length }, 'rate limits updated');
      break;
    case 'session.created':
    case 'input_audio_buffer.cleared':
      break;
    case 'unknown':
      ctx.log.debug({ type: event.originalType }, 'ignored server event');
      break;
  }
}

type WireErrorFields = { type: string | null; code: string | null; message: string; param: string | null; event_id: string | null };

function onError(ctx: DispatchContext, error: WireErrorFields): void {
  const code = error.code ?? 'unknown';
  const eventId = error.event_id;
  // Errors are matched to what caused them by the event_id the client stamped on every event.
  const about = eventId === null ? undefined : ctx.sentEventType(eventId);
  const init = { code, type: error.type ?? undefined, param: error.param, eventId, ...(about ? { eventType: about } : {}) };
  const info = { code, type: error.type, message: error.message, param: error.param, eventId };
  if (isRateLimitCode(code)) {
    // A refused request of ours waits at the head of the queue; the pause applies either way.
    if (ctx.responses.requestError(info) === 'unrelated') ctx.rateLimited(retryAfterFromMessage(error.message), error.message);
    return;
  }
  switch (code) {
    case 'beta_api_shape_disabled':
      ctx.fatal(new DialectError(`the service has disabled the beta API shape: use dialect "ga" (${error.message})`, { ...init, fatal: true }));
      return;
    case 'session_expired':
      // The server closes right after; the client reconnects at once and re-seeds.
      ctx.expecting('session_expired');
      ctx.emitError(new RealtimeError(error.message, init));
      return;
    case 'response_cancel_not_active':
      // Benign race: the response ended (or was cancelled by the server) before our cancel arrived.
      ctx.log.debug('cancel arrived after the response ended');
      return;
    case 'cannot_update_voice':
      // The client never sends a voice to a session with assistant audio; if a service still refuses
      // one (it counts audio differently), the voice applies through a fresh session instead.
      ctx.log.warn({ eventType: about }, 'the service refused a voice change; applying it through a new session');
      ctx.voiceChangeRefused();
      return;
    case 'conversation_already_has_active_response':
      // The server started a response of its own (server VAD) just before ours: ours waits for it.
      if (ctx.responses.requestError(info) === 'unrelated') ctx.log.debug('active response conflict');
      if (!ctx.responses.busy) ctx.retrySoon();
      return;
    default:
      ctx.responses.requestError(info);
      ctx.emitError(new RealtimeError(error.message, init));
  }
}
