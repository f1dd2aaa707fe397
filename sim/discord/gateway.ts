import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { constants as zlibConstants, createDeflate, type Deflate } from 'node:zlib';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { sessionId as newSessionId, shardOf } from './ids.ts';

/** Gateway opcodes (API v10). */
export const GatewayOp = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  PresenceUpdate: 3,
  VoiceStateUpdate: 4,
  Resume: 6,
  Reconnect: 7,
  RequestGuildMembers: 8,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
} as const;

/** Intent bits that gate events the simulator sends. */
export const Intent = { Guilds: 1 << 0, GuildVoiceStates: 1 << 7, GuildMessages: 1 << 9, MessageContent: 1 << 15 } as const;

/** One dispatched event, kept for replay on resume. */
interface LoggedEvent {
  s: number;
  t: string;
  d: unknown;
}

/** A gateway session: survives its socket so that op 6 Resume can replay missed events. */
export interface GatewaySession {
  id: string;
  /** `[shard id, shard count]` from Identify (`[0, 1]` when the client does not shard). */
  shard: [number, number];
  intents: number;
  seq: number;
  log: LoggedEvent[];
  ws: WebSocket | null;
  deflate: Deflate | null;
}

/** What the gateway needs from the rest of the simulator. */
export interface GatewayHooks {
  token: string;
  logger: Logger;
  /** READY `d` for a new session (without session_id/resume url, added here): the guilds of its shard. */
  readyPayload(session: GatewaySession): Record<string, unknown>;
  /** Dispatches to send right after READY (GUILD_CREATE per guild of the session's shard). */
  afterReady(session: GatewaySession): { t: string; d: unknown }[];
  /** Guilds the bot is in (Discord refuses to serve more than 2500 per shard: close 4011). */
  guildCount(): number;
  onVoiceStateUpdate(session: GatewaySession, d: { guild_id: string; channel_id: string | null; self_mute?: boolean; self_deaf?: boolean }): void;
  /** GUILD_MEMBERS_CHUNK `d` for op 8, or undefined for a guild the bot is not in (nothing is sent). */
  membersChunk(guildId: string): object | undefined;
}

const MAX_LOG = 2000;

/**
 * The main gateway (`ws://127.0.0.1:PORT/gateway`): Hello, Identify → READY + GUILD_CREATE,
 * heartbeats, op 4 voice state updates, and op 6 Resume replaying events after the given seq.
 * Supports `compress=zlib-stream` (one deflate context per socket, each message ends with a
 * Z_SYNC_FLUSH) for clients that have zlib-sync installed.
 */
export class GatewayServer extends EventEmitter {
  readonly wss = new WebSocketServer({ noServer: true });
  readonly sessions = new Map<string, GatewaySession>();
  readonly heartbeatIntervalMs: number;
  readonly #hooks: GatewayHooks;
  #url = '';

  constructor(hooks: GatewayHooks, heartbeatIntervalMs = 41_250) {
    super();
    this.#hooks = hooks;
    this.heartbeatIntervalMs = heartbeatIntervalMs;
    this.wss.on('connection', (ws, req) => this.#onConnection(ws, req));
  }

  /** The URL given in /gateway/bot and as resume_gateway_url. */
  set url(url: string) {
    this.#url = url;
  }

  get url(): string {
    return this.#url;
  }

  #send(session: Pick<GatewaySession, 'ws' | 'deflate'>, payload: unknown): void {
    const ws = session.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const text = JSON.stringify(payload);
    if (!session.deflate) {
      ws.send(text);
      return;
    }
    const deflate = session.deflate;
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => chunks.push(chunk);
    deflate.on('data', onData);
    deflate.write(text);
    deflate.flush(zlibConstants.Z_SYNC_FLUSH, () => {
      deflate.off('data', onData);
      if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat(chunks));
    });
  }

  #onConnection(ws: WebSocket, req: IncomingMessage): void {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const conn = { ws, deflate: query.get('compress') === 'zlib-stream' ? createDeflate() : null, session: null as GatewaySession | null };
    this.#send(conn, { op: GatewayOp.Hello, d: { heartbeat_interval: this.heartbeatIntervalMs }, s: null, t: null });
    ws.on('message', (raw) => {
      let packet: { op: number; d: any };
      try {
        packet = JSON.parse(String(raw));
      } catch {
        ws.close(4002, 'Error while decoding payload.');
        return;
      }
      this.#onPacket(conn, packet);
    });
    ws.on('close', () => {
      if (conn.session && conn.session.ws === ws) conn.session.ws = null;
    });
  }

  #onPacket(conn: { ws: WebSocket; deflate: Deflate | null; session: GatewaySession | null }, packet: { op: number; d: any }): void {
    const { ws } = conn;
    switch (packet.op) {
      case GatewayOp.Heartbeat:
        this.#send(conn, { op: GatewayOp.HeartbeatAck, d: null, s: null, t: null });
        return;
      case GatewayOp.Identify: {
        if (packet.d?.token !== this.#hooks.token) {
          ws.close(4004, 'Authentication failed.');
          return;
        }
        // Sharding as Discord does it: Identify's `shard: [id, count]` picks the guilds this session gets,
        // (guild_id >> 22) % count == id; an impossible pair closes with 4010, too many guilds for the
        // count with 4011 (https://discord.com/developers/docs/events/gateway#sharding).
        const shard: unknown = packet.d.shard ?? [0, 1];
        const shardId = Array.isArray(shard) ? Number(shard[0]) : NaN;
        const shardCount = Array.isArray(shard) ? Number(shard[1]) : NaN;
        if (!Number.isInteger(shardId) || !Number.isInteger(shardCount) || shardCount < 1 || shardId < 0 || shardId >= shardCount) {
          ws.close(4010, 'Invalid shard.');
          return;
        }
        if (this.#hooks.guildCount() / shardCount > 2500) {
          ws.close(4011, 'Sharding required.');
          return;
        }
        const session: GatewaySession = { id: newSessionId(), shard: [shardId, shardCount], intents: Number(packet.d.intents ?? 0), seq: 0, log: [], ws, deflate: conn.deflate };
        this.sessions.set(session.id, session);
        conn.session = session;
        this.#hooks.logger.debug({ sessionId: session.id, shard: session.shard }, 'gateway identify');
        this.dispatchTo(session, 'READY', { ...this.#hooks.readyPayload(session), session_id: session.id, resume_gateway_url: this.#url, shard: session.shard });
        for (const { t, d } of this.#hooks.afterReady(session)) this.dispatchTo(session, t, d);
        this.emit('identify', session);
        return;
      }
      case GatewayOp.Resume: {
        const session = this.sessions.get(packet.d?.session_id);
        if (!session || packet.d?.token !== this.#hooks.token) {
          this.#send(conn, { op: GatewayOp.InvalidSession, d: false, s: null, t: null });
          return;
        }
        if (session.ws && session.ws !== ws) session.ws.terminate();
        session.ws = ws;
        session.deflate = conn.deflate;
        conn.session = session;
        const after = Number(packet.d.seq ?? 0);
        for (const event of session.log) {
          if (event.s > after) this.#send(session, { op: GatewayOp.Dispatch, t: event.t, s: event.s, d: event.d });
        }
        this.dispatchTo(session, 'RESUMED', {});
        this.emit('resume', session);
        return;
      }
      case GatewayOp.VoiceStateUpdate:
        if (conn.session) this.#hooks.onVoiceStateUpdate(conn.session, packet.d);
        else ws.close(4003, 'Not authenticated.');
        return;
      case GatewayOp.RequestGuildMembers: {
        const chunk = conn.session ? this.#hooks.membersChunk(String(packet.d?.guild_id)) : undefined;
        if (conn.session && chunk) this.dispatchTo(conn.session, 'GUILD_MEMBERS_CHUNK', { ...chunk, nonce: packet.d.nonce });
        return;
      }
      default:
        return; // presence updates and others need no answer
    }
  }

  /** Sends a dispatch to one session (logged for replay even while its socket is down). */
  dispatchTo(session: GatewaySession, t: string, d: unknown): void {
    session.seq += 1;
    session.log.push({ s: session.seq, t, d });
    if (session.log.length > MAX_LOG) session.log.shift();
    this.#send(session, { op: GatewayOp.Dispatch, t, s: session.seq, d });
  }

  /**
   * Dispatches to every session whose intents include `intent` (when given) and whose shard owns the
   * event's guild (`d.guild_id`; events without one go to shard 0). Like Discord, events are sent to
   * sessions with no open socket too: they are replayed on resume.
   */
  dispatch(t: string, d: unknown, intent?: number, transform?: (session: GatewaySession, d: unknown) => unknown): void {
    const guildId = (d as { guild_id?: unknown } | null)?.guild_id;
    for (const session of this.sessions.values()) {
      if (intent !== undefined && (session.intents & intent) === 0) continue;
      // A guild's events go to the shard that owns it; the rest (DMs) to shard 0, as on Discord.
      const [shardId, shardCount] = session.shard;
      if ((typeof guildId === 'string' ? shardOf(guildId, shardCount) : 0) !== shardId) continue;
      this.dispatchTo(session, t, transform ? transform(session, d) : d);
    }
  }

  /** Closes every client socket with `code` (sessions are kept, so clients can resume). */
  disconnectAll(code: number): void {
    for (const client of this.wss.clients) {
      if (code === 1006) client.terminate();
      else client.close(code, 'simulated disconnect');
    }
  }

  /** Sends op 7 Reconnect: the client closes and resumes. */
  requestReconnect(): void {
    for (const session of this.sessions.values()) this.#send(session, { op: GatewayOp.Reconnect, d: null, s: null, t: null });
  }

  close(): void {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }
}
