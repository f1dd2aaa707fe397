/**
 * What the simulated model says: a deterministic text that tests can check (the demo does not depend
 * on it: it passes with any reply) and a recognisable audio signal (a repeating C–E–G arpeggio)
 * standing in for speech.
 */
import { REALTIME_SAMPLE_RATE } from '../../src/audio/format.ts';

/** A conversation item as the simulator keeps it. */
export interface SimItem {
  id: string;
  type: 'message' | 'function_call' | 'function_call_output' | 'mcp_list_tools' | 'mcp_call' | 'mcp_approval_request' | 'mcp_approval_response';
  /** Messages' role; tool items count as the model's (calls, approval requests) or the client's (outputs, approvals). */
  role: 'user' | 'assistant' | 'system';
  /** Text of the item: typed text, or the (possibly truncated) transcript of assistant audio. */
  text: string;
  /** Audio length for audio items (user input audio, assistant output audio). */
  audioMs: number | null;
  /** Audio length before any truncation (assistant items). */
  fullAudioMs?: number;
  status: 'in_progress' | 'completed' | 'incomplete';
  /** What a tool item carries. */
  tool?: SimToolItem;
}

/** The tool part of a {@link SimItem}. */
export interface SimToolItem {
  callId?: string;
  name?: string;
  arguments?: string;
  output?: string;
  error?: string;
  serverLabel?: string;
  approvalRequestId?: string;
  approve?: boolean;
}

/** What the reply generator gets. */
export interface ReplyContext {
  /** 1-based number of the response in its session. */
  n: number;
  /** The items the response sees: the conversation, or the `input` of an out-of-band response. */
  items: readonly SimItem[];
  outOfBand: boolean;
  modalities: readonly ('audio' | 'text')[];
  instructions: string;
}

/**
 * Produces the reply: its text, or its text and the length of its audio (default: the simulator's
 * `replyAudioMs`), so a test can make a service that answers at any length.
 */
export type ReplyGenerator = (context: ReplyContext) => string | { text: string; audioMs?: number };

const SPEAKERS = /\[speakers?: ([^\]]+)\]/i;
const ONLY_LABEL = /^\s*\[speakers?: [^\]]+\]\s*$/i;

/**
 * Default replies: `Reply N. <greeting>I heard X.X seconds of audio.` for an audio turn,
 * `Reply N. <greeting>You said: "<text>"` for a text turn (about 4,500 characters when the text asks for
 * a "long answer"). The greeting is `Hello NAMES. ` when a user item of the current turn (since the last
 * assistant item) names speakers like "[speaker: Alice]" or "[speakers: Alice, Bob]".
 */
export const defaultReplyGenerator: (context: ReplyContext) => string = ({ n, items }) => {
  const afterTools = toolReply(n, items);
  if (afterTools !== null) return afterTools;
  let lastAssistant = -1;
  for (let i = items.length - 1; i >= 0; i--) {
    if (items[i]?.role === 'assistant') {
      lastAssistant = i;
      break;
    }
  }
  const turn = items.slice(lastAssistant + 1).filter((item) => item.role === 'user');
  let greeting = '';
  for (let i = turn.length - 1; i >= 0; i--) {
    const match = SPEAKERS.exec(turn[i]!.text);
    if (match?.[1]) {
      greeting = `Hello ${match[1].trim()}. `;
      break;
    }
  }
  const users = items.filter((item) => item.role === 'user' && !(item.audioMs === null && ONLY_LABEL.test(item.text)));
  const subject = users.at(-1);
  if (!subject) return `Reply ${n}. ${greeting}I have nothing to answer yet.`;
  if (subject.audioMs !== null) return `Reply ${n}. ${greeting}I heard ${(subject.audioMs / 1000).toFixed(1)} seconds of audio.`;
  const reply = `Reply ${n}. ${greeting}You said: "${subject.text}"`;
  return /\blong answer\b/i.test(subject.text) ? lengthen(reply, 4500) : reply;
};

/**
 * The reply to tool results, when the conversation ends with them: `The NAME tool answered: OUTPUT` for
 * each function result just sent, an MCP call's output or failure, or a refused MCP approval.
 */
function toolReply(n: number, items: readonly SimItem[]): string | null {
  const relevant = items.filter((item) => item.type !== 'mcp_list_tools');
  const last = relevant.at(-1);
  if (!last) return null;
  if (last.type === 'function_call_output') {
    const outputs: SimItem[] = [];
    for (let i = relevant.length - 1; i >= 0 && relevant[i]!.type === 'function_call_output'; i--) outputs.unshift(relevant[i]!);
    const said = outputs.map((output) => {
      const call = items.find((item) => item.type === 'function_call' && item.tool?.callId === output.tool?.callId);
      return `The ${call?.tool?.name ?? 'unknown'} tool answered: ${output.tool?.output ?? ''}`;
    });
    return `Reply ${n}. ${said.join(' ')}`;
  }
  if (last.type === 'mcp_call') {
    const { serverLabel, name, output, error } = last.tool ?? {};
    return error === undefined ? `Reply ${n}. The ${serverLabel} ${name} tool answered: ${output ?? ''}` : `Reply ${n}. The ${serverLabel} ${name} tool failed: ${error}`;
  }
  if (last.type === 'mcp_approval_response' && last.tool?.approve === false) {
    const request = items.find((item) => item.id === last.tool?.approvalRequestId);
    return `Reply ${n}. The ${request?.tool?.name ?? 'tool'} call was not approved.`;
  }
  return null;
}

function lengthen(text: string, target: number): string {
  let out = text;
  for (let i = 1; out.length < target; i++) {
    out += ` This is sentence ${i} of the long answer, written to test how replies are split into messages.`;
  }
  return out;
}

/** Notes of the reply signal (C5, E5, G5), each this long. */
const NOTES_HZ = [523.25, 659.25, 783.99] as const;
const NOTE_MS = 150;
const FADE_MS = 10;
const AMPLITUDE = 0.3;

/** The reply signal: `durationMs` of 24 kHz mono PCM16 arpeggio with short fades between notes. */
export function replySignal(durationMs: number): Buffer {
  return Buffer.from(sharedReplySignal(durationMs));
}

/** Signals made so far, by duration (a session's replies mostly share one length). */
const signals = new Map<number, Buffer>();
const SIGNALS_KEPT = 16;

/**
 * {@link replySignal}, made once per duration and shared: the same bytes, without computing 48,000
 * sines per 2 s reply (a tenth of the simulators' CPU in the load bench, 40 sessions). Callers only
 * read it (the responder sends slices of it); the 16 most recently made durations are kept.
 */
export function sharedReplySignal(durationMs: number): Buffer {
  let signal = signals.get(durationMs);
  if (!signal) {
    signal = makeReplySignal(durationMs);
    if (signals.size >= SIGNALS_KEPT) signals.delete(signals.keys().next().value!);
    signals.set(durationMs, signal);
  }
  return signal;
}

function makeReplySignal(durationMs: number): Buffer {
  const samples = Math.round((durationMs * REALTIME_SAMPLE_RATE) / 1000);
  const noteSamples = (NOTE_MS * REALTIME_SAMPLE_RATE) / 1000;
  const fadeSamples = (FADE_MS * REALTIME_SAMPLE_RATE) / 1000;
  const out = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) {
    const note = Math.floor(i / noteSamples);
    const inNote = i - note * noteSamples;
    const hz = NOTES_HZ[note % NOTES_HZ.length]!;
    const fade = Math.min(1, inNote / fadeSamples, (noteSamples - inNote) / fadeSamples);
    const value = Math.sin((2 * Math.PI * hz * i) / REALTIME_SAMPLE_RATE) * AMPLITUDE * fade;
    out.writeInt16LE(Math.round(value * 32767), i * 2);
  }
  return out;
}
