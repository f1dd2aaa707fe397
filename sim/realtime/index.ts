/**
 * Local realtime simulator: a WebSocket server speaking both dialects of the realtime API closely
 * enough for tests, the demo and benchmarks. Start it in-process on port 0, or standalone via cli.ts.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { pino, type Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { garbageFrame, prng } from './garbage.ts';
import { defaultReplyGenerator, type ReplyGenerator } from './replies.ts';
import { SimMcpNetwork, type SimMcpServer } from './mcp.ts';
import type { FaultState } from './faultState.ts';
import { SimSession, type ReceivedEvent, type ScriptedTranscript } from './session.ts';
import type { StreamingTranscription } from './inputBuffer.ts';
import type { SimToolTrigger } from './tools.ts';
import type { BetaNaming, SimError } from './wire.ts';

export { defaultReplyGenerator, replySignal, type ReplyContext, type ReplyGenerator, type SimItem } from './replies.ts';
export type { ReceivedEvent, ScriptedTranscript } from './session.ts';
export { SimSession } from './session.ts';
export { SimMcpNetwork, type SimMcpError, type SimMcpRequest, type SimMcpServer, type SimMcpServerTool } from './mcp.ts';
export type { SimToolTrigger } from './tools.ts';

/** Options of {@link startRealtimeSimulator}. */
export interface RealtimeSimulatorOptions {
  /** TCP port (default 0: any free port). */
  port?: number;
  host?: string;
  /** The only accepted key (default 'sim-key'). */
  apiKey?: string;
  /** Length of audio replies, ms (default 1500). */
  replyAudioMs?: number;
  replyGenerator?: ReplyGenerator;
  /** The audio of every audio reply (24 kHz mono PCM16), instead of the default arpeggio (the fidelity benchmark plays known signals). */
  replyAudio?: () => Buffer;
  /** Called with every chunk of input audio a client appends, as received (the fidelity benchmark records what the bot sends). */
  onInputAudio?: (pcm: Buffer, sessionId: string) => void;
  /** Audio per delta, ms (default 100). */
  deltaMs?: number;
  /** Deltas are sent this many times faster than real time (default 4). */
  burstFactor?: number;
  /** Delay before a response's first delta, ms (default 0). */
  firstDeltaDelayMs?: number;
  /** Delay of each input transcription after its commit, ms (default 0; a real transcriber takes a few hundred). */
  transcriptDelayMs?: number;
  /**
   * Sessions transcribing with gpt-realtime-whisper get each word of a scripted transcript while the
   * person speaks, `lagMs` after its audio, one word per `msPerWord` of speech (defaults 300 and 300);
   * the rest, and the completed event, `transcriptDelayMs` after the commit.
   */
  streamingTranscription?: Partial<StreamingTranscription>;
  /** Sessions get `session_expired` and are closed after this long. */
  expireSessionsAfterMs?: number;
  /** Refuse beta-header connections with `beta_api_shape_disabled`, like OpenAI since May 2026. */
  rejectBeta?: boolean;
  /**
   * How a wrong key is refused: `'http'` (default) answers the upgrade with 401; `'after-upgrade'`
   * accepts it, sends one `error` with code `invalid_api_key` and closes with 3000
   * "invalid_request_error.invalid_api_key" — both seen from OpenAI (openai/openai-realtime-api-beta#2:
   * 403 at the upgrade for a key without access, a WebSocket error message for a random string;
   * twilio-samples/speech-assistant-openai-realtime-api-python#4: close 3000 invalid_api_key).
   */
  badKeyRefusal?: 'http' | 'after-upgrade';
  /** Event names used on beta connections (default 'beta'; 'mixed' imitates CometAPI). */
  betaNaming?: BetaNaming;
  /**
   * Error codes sent with `event_id: null` although a client event with an id caused them (the real
   * service does this for `cannot_update_voice`, which is always anonymous here; add e.g.
   * `conversation_already_has_active_response` to test that the client copes without ids).
   */
  errorsWithoutEventId?: readonly string[];
  /** Phrases that make the simulated model call a tool (besides the inline `⟦call …⟧` syntax; see tools.ts). */
  toolTriggers?: SimToolTrigger[];
  /** Remote MCP servers the simulated service can reach, by URL. */
  mcpServers?: Record<string, SimMcpServer>;
  /** Cap of the global received-event log (default 20 000; oldest dropped). */
  maxReceived?: number;
  logger?: Logger;
}

/** A fault to inject. */
export interface SimFault {
  /** Drop (terminate) the socket after this many more server events. */
  dropAfterEvents?: number;
  /** Delay every following server event by this much (0 to stop). */
  delayMs?: number;
  /** Send this error now to the most recent open session (`session_expired` also closes it). */
  error?: SimError;
  /** Send this many garbage frames now to the most recent open session. */
  garbage?: number;
  /** Answer the next client event of `eventType` with `error` instead of processing it (`withoutEventId`: `event_id: null`). */
  failNext?: { eventType: string; error: SimError; withoutEventId?: boolean };
  /**
   * Refuse the next `count` (default 1) response.create events for rate limiting, in one of the two
   * forms of the real service: an `error` (code `rate_limit_exceeded`) or a response that ends at once
   * with `status: "failed"`; both hint "Please try again in …" (1m26.4s / 6s / 20ms style). Until that
   * time has passed every response.create is refused the same way.
   */
  rateLimit?: { form: 'error' | 'response'; retryAfterMs: number; count?: number; code?: string; withoutEventId?: boolean };
  /** Refuse the next `count` WebSocket upgrades with this HTTP status. */
  refuseUpgrades?: { count: number; status: number };
}

/** An HTTP upgrade request as the simulator received it (refused ones too). */
export interface UpgradeRequest {
  /** Path and query, as sent (`/v1/realtime?model=gpt-realtime`). */
  path: string;
  /** The Host header. */
  host: string;
  /** HTTP status of the answer (101 = accepted). */
  status: number;
}

/** A running simulator. */
export interface RealtimeSimulator {
  /**
   * `ws://127.0.0.1:PORT/v1/realtime`: the endpoint without a model. Like the real service, the
   * simulator refuses an upgrade without `?model=` (clients add it: RealtimeClient does).
   */
  url: string;
  port: number;
  apiKey: string;
  /** Every session so far, oldest first. */
  sessions: SimSession[];
  /** Client events received by all sessions (audio payloads replaced by their size). */
  received: ReceivedEvent[];
  /** Count of upgrade requests (including refused ones). */
  readonly handshakes: number;
  /** The last 1,000 upgrade requests, oldest first. */
  readonly upgrades: UpgradeRequest[];
  injectFault(fault: SimFault): void;
  /** Tool triggers in use (tests may add some). */
  toolTriggers: SimToolTrigger[];
  /** The simulated MCP servers and the requests the service made to them. */
  mcp: SimMcpNetwork;
  /**
   * The transcripts of the next committed audio turns, in order (else `[speech N.NN s]`): what the
   * simulated members "said", for tool triggers and addressing in voice. Each may set its own delay
   * after the commit (else `transcriptDelayMs`).
   */
  scriptTranscript(...texts: (string | ScriptedTranscript)[]): void;
  /** Changes the delay of input transcriptions after their commit (ms). */
  setTranscriptDelay(ms: number): void;
  /** Sessions still open. */
  openSessions(): SimSession[];
  close(): Promise<void>;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' };

/** Answers an upgrade request with an HTTP error and the service's JSON error body, then closes. */
function rejectUpgrade(socket: Duplex, status: number, error: { message: string; type: string; code: string | null; param?: string | null }): void {
  const body = JSON.stringify({ error: { message: error.message, type: error.type, param: error.param ?? null, code: error.code } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Starts the simulator. */
export async function startRealtimeSimulator(options: RealtimeSimulatorOptions = {}): Promise<RealtimeSimulator> {
  const log = options.logger ?? pino({ level: 'silent' });
  const apiKey = options.apiKey ?? 'sim-key';
  const faults: FaultState = {
    dropAfter: null,
    delayMs: 0,
    failNext: new Map(),
    errorsWithoutEventId: new Set(options.errorsWithoutEventId ?? []),
    rateLimit: null,
    rateLimitedUntil: 0,
    lastRateLimit: null,
  };
  let refuse: { count: number; status: number } | null = null;
  let sessionCounter = 0;
  let handshakes = 0;
  const upgrades: UpgradeRequest[] = [];
  const sessions: SimSession[] = [];
  const received: ReceivedEvent[] = [];
  const maxReceived = options.maxReceived ?? 20_000;
  const stream = {
    replyAudioMs: options.replyAudioMs ?? 1500,
    deltaMs: options.deltaMs ?? 100,
    burstFactor: options.burstFactor ?? 4,
    firstDeltaDelayMs: options.firstDeltaDelayMs ?? 0,
    transcriptDelayMs: options.transcriptDelayMs ?? 0,
    streamingTranscription: { msPerWord: 300, lagMs: 300, ...options.streamingTranscription },
    replyGenerator: options.replyGenerator ?? defaultReplyGenerator,
    replyAudio: options.replyAudio,
  };
  const random = prng(12345);
  const toolTriggers = [...(options.toolTriggers ?? [])];
  const mcp = new SimMcpNetwork(options.mcpServers);
  const transcripts: ScriptedTranscript[] = [];
  let garbageIndex = 0;

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'WebSocket upgrade required' } }));
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    handshakes++;
    socket.on('error', () => {});
    const upgrade: UpgradeRequest = { path: req.url ?? '/', host: String(req.headers.host ?? ''), status: 101 };
    upgrades.push(upgrade);
    if (upgrades.length > 1000) upgrades.shift();
    const reject = (status: number, error: { message: string; type: string; code: string | null; param?: string | null }) => {
      upgrade.status = status;
      rejectUpgrade(socket, status, error);
    };
    const url = new URL(req.url ?? '/', 'http://sim');
    if (!url.pathname.startsWith('/v1/realtime')) return reject(404, { message: 'Not found', type: 'invalid_request_error', code: null });
    if (refuse && refuse.count > 0) {
      refuse.count--;
      return reject(refuse.status, { message: 'Injected refusal', type: 'server_error', code: null });
    }
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      const error = { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' };
      if (options.badKeyRefusal !== 'after-upgrade') return reject(401, error);
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        ws.send(JSON.stringify({ type: 'error', event_id: `event_badkey_${handshakes}`, error: { ...error, param: null, event_id: null } }));
        ws.close(3000, 'invalid_request_error.invalid_api_key');
      });
      return;
    }
    // The model is chosen in the URL: real endpoints and OpenAI-compatible gateways route the upgrade
    // by it and refuse a URL without it (reference "Two dialects"; livekit/agents-js#1467,
    // BerriAI/litellm#25437; OpenAI documents `?model=` or `?call_id=`, and this simulator has no
    // calls). The body is OpenAI's JSON error object with its missing-parameter code and wording.
    const model = url.searchParams.get('model');
    if (!model) {
      return reject(400, {
        message: model === null ? "Missing required parameter: 'model'." : "Invalid value for 'model': expected a model name.",
        type: 'invalid_request_error',
        code: model === null ? 'missing_required_parameter' : 'invalid_value',
        param: 'model',
      });
    }
    const beta = /realtime=v1/.test(String(req.headers['openai-beta'] ?? ''));
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const id = `sess_${++sessionCounter}`;
      const session = new SimSession(ws, {
        id,
        dialect: beta ? 'beta' : 'ga',
        model,
        naming: options.betaNaming ?? 'beta',
        stream,
        faults,
        log,
        onInputAudio: options.onInputAudio,
        tools: { triggers: toolTriggers, mcp },
        transcripts,
        record: (entry) => {
          received.push(entry);
          if (received.length > maxReceived) received.splice(0, received.length - maxReceived);
        },
      });
      sessions.push(session);
      log.info({ session: id, dialect: session.dialect }, 'realtime session opened');
      if (beta && options.rejectBeta) {
        session.sendError({ type: 'invalid_request_error', code: 'beta_api_shape_disabled', message: 'The Realtime API beta shape has been disabled. Remove the "OpenAI-Beta: realtime=v1" header and use the GA interface.' });
        setTimeout(() => session.close(4000, 'beta_api_shape_disabled'), 5);
        return;
      }
      if (options.expireSessionsAfterMs !== undefined) {
        const timer = setTimeout(() => session.expire(), options.expireSessionsAfterMs);
        ws.on('close', () => clearTimeout(timer));
      }
    });
  });

  await new Promise<void>((resolve, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const openSessions = () => sessions.filter((s) => !s.closed);

  return {
    url: `ws://${options.host ?? '127.0.0.1'}:${port}/v1/realtime`,
    port,
    apiKey,
    sessions,
    received,
    get handshakes() {
      return handshakes;
    },
    upgrades,
    openSessions,
    toolTriggers,
    mcp,
    scriptTranscript(...texts: (string | ScriptedTranscript)[]) {
      transcripts.push(...texts.map((entry) => (typeof entry === 'string' ? { text: entry } : entry)));
    },
    setTranscriptDelay(ms: number) {
      stream.transcriptDelayMs = ms;
    },
    injectFault(fault: SimFault) {
      if (fault.delayMs !== undefined) faults.delayMs = fault.delayMs;
      if (fault.dropAfterEvents !== undefined) faults.dropAfter = fault.dropAfterEvents;
      if (fault.failNext) faults.failNext.set(fault.failNext.eventType, { error: fault.failNext.error, withoutEventId: fault.failNext.withoutEventId ?? false });
      if (fault.rateLimit) {
        const { form, retryAfterMs, count, code, withoutEventId } = fault.rateLimit;
        faults.rateLimit = { form, retryAfterMs, code: code ?? 'rate_limit_exceeded', withoutEventId: withoutEventId ?? false, left: count ?? 1 };
      }
      if (fault.refuseUpgrades) refuse = { ...fault.refuseUpgrades };
      const target = openSessions().at(-1);
      if (fault.error && target) {
        if (fault.error.code === 'session_expired') target.expire();
        else target.sendError(fault.error);
      }
      if (fault.garbage && target) {
        for (let i = 0; i < fault.garbage; i++) target.sendRaw(garbageFrame(garbageIndex++, random));
      }
    },
    async close() {
      for (const session of sessions) if (!session.closed) session.drop();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
