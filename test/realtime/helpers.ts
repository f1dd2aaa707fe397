/** Shared test helpers: a simulator per test, clients with small timeouts, audio, waiting for events. */
import { once, type EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { silentLogger } from '../../src/log.ts';
import { RealtimeClient, type RealtimeClientOptions, type Dialect, type SessionConfig } from '../../src/realtime/index.ts';
import { startRealtimeSimulator, type RealtimeSimulator, type RealtimeSimulatorOptions } from '../../sim/realtime/index.ts';

/** A loud 440 Hz tone of `ms` (24 kHz mono PCM16), speech for the simulator's VAD. */
export function tone(ms: number, amplitude = 0.3): Buffer {
  const samples = ms * 24;
  const out = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) out.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / 24000) * amplitude * 32767), i * 2);
  return out;
}

/** Digital silence of `ms`. */
export function silence(ms: number): Buffer {
  return Buffer.alloc(ms * 48);
}

/** A session config for tests: server VAD that neither answers nor interrupts on its own (like the bot). */
export function botSession(overrides: Partial<SessionConfig> = {}): SessionConfig {
  return {
    instructions: 'You are a test.',
    voice: 'alloy', // a voice of both dialects (beta endpoints refuse marin and cedar)
    outputModalities: ['audio'],
    inputTranscription: { model: 'whisper-1' },
    turnDetection: { type: 'server_vad', createResponse: false, interruptResponse: false, silenceDurationMs: 300, prefixPaddingMs: 100 },
    ...overrides,
  };
}

/** Starts a simulator with fast replies. */
export function startSim(options: RealtimeSimulatorOptions = {}): Promise<RealtimeSimulator> {
  return startRealtimeSimulator({ replyAudioMs: 600, deltaMs: 100, burstFactor: 20, ...options });
}

/** A client on the simulator with small timeouts and backoffs. */
export function makeClient(sim: RealtimeSimulator, dialect: Dialect, overrides: Partial<RealtimeClientOptions> = {}): RealtimeClient {
  return new RealtimeClient({
    url: sim.url, // the client adds ?model= (and the simulator refuses an upgrade without it)
    model: 'gpt-realtime',
    dialect,
    apiKey: sim.apiKey,
    session: botSession(),
    logger: silentLogger,
    reconnect: { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 5 },
    handshakeTimeoutMs: 2000,
    sessionTimeoutMs: 2000,
    ...overrides,
  });
}

/** Waits for an event whose first argument satisfies `predicate`, with a safety timeout (not a timing assertion). */
export function waitFor<T = unknown>(emitter: EventEmitter, name: string, predicate: (arg: T) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
  // Not events.once: that rejects on any 'error' event, and these tests provoke errors on purpose.
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, listener);
      reject(new Error(`no ${name} event in time`));
    }, timeoutMs);
    const listener = (arg: T) => {
      if (!predicate(arg)) return;
      clearTimeout(timer);
      emitter.off(name, listener);
      resolve(arg);
    };
    emitter.on(name, listener);
  });
}

/** Polls a condition (for simulator-side state), with a safety timeout. */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A raw WebSocket client of the simulator that collects parsed server events. */
export interface RawClient {
  ws: WebSocket;
  events: Array<Record<string, unknown> & { type: string }>;
  /** Every frame received, including unparseable ones. */
  frames: { total: number };
  send(event: Record<string, unknown>): void;
  /** Waits for the next event of a type (after those already consumed by previous calls). */
  next(type: string, predicate?: (event: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  close(): void;
}

/** Opens a raw client on `?model=gpt-realtime` (or `model`); `beta` adds the beta header. */
export async function rawClient(sim: RealtimeSimulator, options: { beta?: boolean; key?: string; model?: string } = {}): Promise<RawClient> {
  const headers: Record<string, string> = { Authorization: `Bearer ${options.key ?? sim.apiKey}` };
  if (options.beta) headers['OpenAI-Beta'] = 'realtime=v1';
  const ws = new WebSocket(`${sim.url}?model=${encodeURIComponent(options.model ?? 'gpt-realtime')}`, { headers });
  const events: RawClient['events'] = [];
  const waiters = new Set<() => void>();
  const frames = { total: 0 };
  ws.on('message', (data) => {
    frames.total++;
    try {
      const event = JSON.parse(data.toString());
      if (event && typeof event === 'object' && typeof event.type === 'string') events.push(event);
    } catch {
      // garbage frames are counted, not parsed
    }
    for (const wake of waiters) wake();
  });
  await once(ws, 'open');
  let cursor = 0;
  return {
    ws,
    events,
    frames,
    send: (event) => ws.send(JSON.stringify(event)),
    async next(type, predicate = () => true) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        while (cursor < events.length) {
          const event = events[cursor++]!;
          if (event.type === type && predicate(event)) return event;
        }
        if (Date.now() > deadline) throw new Error(`no ${type} event`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
          setTimeout(wake, 50);
        });
      }
    },
    close: () => ws.close(),
  };
}
